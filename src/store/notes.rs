//! Notes: what a store's writers say about each change (revision, group, message),
//! so a watcher learns which conversation changed without a query. On PostgreSQL the
//! NOTIFY of each change carries `rev:group:id` (`v5_notes.sql`); on SQLite writers
//! record each commit in a ring beside the store (`sqlite/records.rs`). Revisions
//! are store-wide and contiguous (writers take the change lock), so a watcher that
//! holds a note for every revision of a range knows which groups changed, and asks
//! the store only which of the groups it has not met yet its users see. The work per
//! message then grows with the groups' audiences, not with every watching process.
//!
//! Anyone who can connect can NOTIFY the channel, and anyone who can write a SQLite
//! store can write its ring, so notes are hints. A forged note for the next revision,
//! naming a group the user cannot see, would make the watcher pass over the real
//! change. Defence: the watcher checks what it told against the store (the list of
//! changes after a revision) when two notes for one revision differ, after every new
//! connection (a forger may end the session before the real note arrives), and at
//! least every `CheckPace::every` while anything is unchecked; on a difference it retracts
//! ([`Hints::take_retraction`]): the watcher scans again, from the store, from below
//! the first revision told wrongly. How often is the store's ([`CheckPace`]): on
//! PostgreSQL the real NOTIFY always reaches a listening connection after a forged one
//! and contests it, so the periodic check is a backstop and may be long; in a SQLite
//! ring a forger may overwrite the real record before a reader reads it, so there the
//! periodic check is the defence itself. A check at once is asked by notes anyone can
//! send, and so is a question about a group the watcher has not met, so on PostgreSQL
//! the store is asked at most once per `urgent_gap` (notes that name unmet groups wait
//! for it): every listening client would otherwise query the server as fast as a forger
//! NOTIFYs.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::store::{GroupChanges, Viewer};

/// Notes kept above the last checked revision; a flood beyond is dropped (the
/// revisions it would cover are then asked for).
const WINDOW: i64 = 20_000;
/// Groups whose visibility a viewer's entry keeps at most.
const KNOWN_GROUPS_MAX: usize = 100_000;

/// What one NOTIFY said about a revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Note {
    pub group: i64,
    pub id: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// What a note said, and when it arrived (the inbox's count of notes then).
    Said(Note, u64),
    /// Two notes for this revision differed: only the server can tell.
    Contested,
}

/// The notes a connection received, shared by the process's handles on it (the
/// connection's driver fills it, the watcher's feed reads it).
#[derive(Debug, Default)]
pub struct Inbox {
    notes: BTreeMap<i64, Entry>,
    /// Revisions at or below this one are checked: their notes are no longer kept.
    floor: i64,
    /// The lowest revision contested since the feed last looked.
    contested: Option<i64>,
    /// A wake-up without a readable note (an older writer, or noise): ask the server.
    unexplained: bool,
    /// Connections made while listening; a new one may have missed notes.
    pub epoch: u64,
    /// Notes received so far (each note's arrival).
    arrived: u64,
}

impl Inbox {
    /// Takes one NOTIFY's payload.
    pub fn receive(&mut self, payload: &str) {
        match parse(payload) {
            Some((rev, note)) => self.record(rev, note),
            None => self.unexplained = true,
        }
    }

    /// Takes what a writer said about revision `rev`.
    pub fn record(&mut self, rev: i64, note: Note) {
        if rev <= self.floor || rev > self.floor + WINDOW {
            return;
        }
        self.arrived += 1;
        match self.notes.get(&rev) {
            None => {
                self.notes.insert(rev, Entry::Said(note, self.arrived));
            }
            Some(Entry::Said(said, _)) if *said == note => {}
            Some(_) => {
                self.notes.insert(rev, Entry::Contested);
                self.contested = Some(self.contested.map_or(rev, |c| c.min(rev)));
            }
        }
    }

    fn note(&self, rev: i64) -> Option<Note> {
        match self.notes.get(&rev) {
            Some(Entry::Said(note, _)) => Some(*note),
            _ => None,
        }
    }
}

/// `rev:group:id`, three positive decimal numbers.
fn parse(payload: &str) -> Option<(i64, Note)> {
    let mut parts = payload.split(':');
    let mut number = || -> Option<i64> {
        let part = parts.next()?;
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok().filter(|n| *n > 0)
    };
    let (rev, group, id) = (number()?, number()?, number()?);
    if parts.next().is_some() {
        return None;
    }
    Some((rev, Note { group, id }))
}

/// How the feed answers a range of revisions for a viewer.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// From the notes.
    Told(Vec<GroupChanges>),
    /// The notes name groups whose visibility for this viewer is not known yet.
    Unknown(Vec<i64>),
    /// A revision of the range has no usable note: ask the server.
    Ask,
}

/// How often a store checks what the notes told against itself.
#[derive(Debug, Clone, Copy)]
pub struct CheckPace {
    /// Longest time a change told from notes stays unchecked.
    pub every: Duration,
    /// Shortest time from one question to the store (a check, or which of the groups
    /// the notes named a viewer sees) to the next that notes ask for at once: a check
    /// for two that differ, an unreadable one, a new connection, or a question.
    pub urgent_gap: Duration,
}

/// The watcher's side: what it told from notes and what the server confirmed.
#[derive(Debug)]
pub struct Hints {
    /// Every revision up to here matches the server.
    checked: i64,
    /// The newest revision told to the watcher.
    told: i64,
    /// When a revision above `checked` was first told.
    unchecked_since: Option<Instant>,
    pace: CheckPace,
    /// When the store was last asked (a check, made or tried, or a question about groups).
    last_asked: Option<Instant>,
    /// `head` stopped before a note naming a group not met yet, until the next question
    /// may be asked.
    held: bool,
    epoch: u64,
    /// Per viewer, the groups met so far and whether the viewer sees them.
    visible: HashMap<Viewer, HashMap<i64, bool>>,
    /// Scan again from the server, from this revision up.
    retraction: Option<i64>,
    /// Changes whenever a check finds something new (the idle poll's token).
    news: i64,
}

impl Hints {
    /// Starts at the server's head, read after LISTEN (so no note is missed); what the
    /// notes tell is checked at `pace`.
    pub fn new(head: i64, inbox: &mut Inbox, pace: CheckPace) -> Hints {
        inbox.floor = head;
        inbox.notes = inbox.notes.split_off(&(head + 1));
        Hints {
            checked: head,
            told: head,
            unchecked_since: None,
            pace,
            last_asked: None,
            held: false,
            epoch: inbox.epoch,
            visible: HashMap::new(),
            retraction: None,
            news: 0,
        }
    }

    /// The revision a check asks the server from, and the inbox's arrivals as the
    /// check starts (for [`Hints::settle`]).
    pub fn checking(&self, inbox: &Inbox) -> (i64, u64) {
        (self.checked, inbox.arrived)
    }

    /// How long the watcher may wait before a check is due (None: nothing is
    /// unchecked, only the slow poll is due).
    pub fn check_due(&self, inbox: &Inbox, now: Instant) -> Option<Duration> {
        let periodic = self.unchecked_since.map(|t| t + self.pace.every);
        let urgent = self.urgent(inbox).then(|| self.may_ask_from(now));
        [periodic, urgent]
            .into_iter()
            .flatten()
            .min()
            .map(|at| at.saturating_duration_since(now))
    }

    /// How long the watcher may wait before the notes `head` held back may be told
    /// (None: none held).
    pub fn held_due(&self, now: Instant) -> Option<Duration> {
        self.held
            .then(|| self.may_ask_from(now).saturating_duration_since(now))
    }

    /// The held notes' turn came: the next `head` decides again.
    pub fn release_held(&mut self) {
        self.held = false;
    }

    /// A check failed (the server refused or is gone): the next one is due a full
    /// period from now, not at once again.
    pub fn postpone_check(&mut self, now: Instant) {
        self.last_asked = Some(now);
        if self.unchecked_since.is_some() {
            self.unchecked_since = Some(now);
        }
    }

    /// Whether the server must be asked before the next answer.
    pub fn must_check(&self, inbox: &Inbox, now: Instant) -> bool {
        (self.urgent(inbox) && now >= self.may_ask_from(now))
            || self
                .unchecked_since
                .is_some_and(|t| now.duration_since(t) >= self.pace.every)
    }

    /// The notes asked for a check at once.
    fn urgent(&self, inbox: &Inbox) -> bool {
        inbox.contested.is_some() || inbox.unexplained || inbox.epoch != self.epoch
    }

    /// When the notes may have the store asked again.
    fn may_ask_from(&self, now: Instant) -> Instant {
        self.last_asked.map_or(now, |t| t + self.pace.urgent_gap)
    }

    /// Takes the server's list of changes after `checked` (`api_notes`, ascending;
    /// `complete` when it holds every one up to the server's head): what was told
    /// wrongly is retracted, and the notes become the server's.
    ///
    /// A note that arrived before the check started is for a commit the server's list
    /// includes: beyond the list's end it was forged, and is dropped.
    pub fn settle(
        &mut self,
        inbox: &mut Inbox,
        server: &[(i64, Note)],
        complete: bool,
        started: u64,
    ) {
        let truth: BTreeMap<i64, Note> = server.iter().copied().collect();
        let head = truth.keys().next_back().copied().unwrap_or(self.checked);
        // Beyond a partial list nothing can be judged yet: the next check goes on.
        let judged = if complete {
            self.told
        } else {
            self.told.min(head)
        };
        let wrong = (self.checked + 1..=judged).find(|rev| {
            !matches!((inbox.notes.get(rev), truth.get(rev)),
                      (Some(Entry::Said(said, _)), Some(real)) if said == real)
        });
        if let Some(rev) = wrong {
            self.retraction = Some(self.retraction.map_or(rev, |r| r.min(rev)));
        }
        // The server's word replaces every note up to its head; the notes of the
        // range just checked stay for the scans that follow (a retraction's).
        let mut above = inbox.notes.split_off(&(head + 1));
        if complete {
            above.retain(|_, e| matches!(e, Entry::Said(_, when) if *when > started));
        }
        inbox.notes = truth
            .iter()
            .filter(|(rev, _)| **rev > self.checked)
            .map(|(rev, note)| (*rev, Entry::Said(*note, 0)))
            .collect();
        inbox.notes.extend(above);
        inbox.floor = self.checked;
        inbox.contested = None;
        inbox.unexplained = false;
        self.epoch = inbox.epoch;
        if head != self.checked || wrong.is_some() {
            self.news += 1;
        }
        self.checked = head;
        self.told = head;
        self.unchecked_since = None;
        self.last_asked = Some(Instant::now());
    }

    /// The newest revision the notes vouch for: `told`, moved through every note
    /// that follows it without a gap. Within `urgent_gap` of the last question to the
    /// store it stops before a note naming a group some viewer has not met.
    pub fn head(&mut self, inbox: &Inbox, now: Instant) -> i64 {
        let before = self.told;
        let may_ask = now >= self.may_ask_from(now);
        self.held = false;
        while let Some(note) = inbox.note(self.told + 1) {
            if !may_ask && self.visible.values().any(|m| !m.contains_key(&note.group)) {
                self.held = true;
                break;
            }
            self.told += 1;
        }
        if self.told > before && self.unchecked_since.is_none() {
            self.unchecked_since = Some(now);
        }
        self.told
    }

    /// The changes in (`after`, `up_to`] that `viewer` sees, from the notes.
    pub fn answer(&self, inbox: &Inbox, viewer: &Viewer, after: i64, up_to: i64) -> Answer {
        if up_to - after > WINDOW {
            return Answer::Ask;
        }
        let seen = self.visible.get(viewer);
        let mut per_group: BTreeMap<i64, GroupChanges> = BTreeMap::new();
        let mut unknown = Vec::new();
        for rev in after + 1..=up_to {
            let Some(note) = inbox.note(rev) else {
                return Answer::Ask;
            };
            match seen.and_then(|s| s.get(&note.group)) {
                Some(false) => {}
                Some(true) => {
                    let c = per_group.entry(note.group).or_insert(GroupChanges {
                        group: note.group,
                        last_id: 0,
                        last_rev: 0,
                        count: 0,
                    });
                    c.last_id = c.last_id.max(note.id);
                    c.last_rev = c.last_rev.max(rev);
                    c.count += 1;
                }
                None => {
                    if !unknown.contains(&note.group) {
                        unknown.push(note.group);
                    }
                }
            }
        }
        if unknown.is_empty() {
            Answer::Told(per_group.into_values().collect())
        } else {
            Answer::Unknown(unknown)
        }
    }

    /// The store is being asked which groups a viewer sees (see [`Hints::head`]).
    pub fn asking(&mut self, now: Instant) {
        self.last_asked = Some(now);
    }

    /// Records which of `asked` the viewer sees (`seen`, from the server).
    pub fn learn(&mut self, viewer: &Viewer, asked: &[i64], seen: &[i64]) {
        let known = self.visible.entry(viewer.clone()).or_default();
        if known.len() > KNOWN_GROUPS_MAX {
            // Forged notes can name any number: start over rather than grow.
            known.clear();
        }
        for g in asked {
            known.insert(*g, seen.contains(g));
        }
    }

    /// The newest revision told so far.
    pub fn told(&self) -> i64 {
        self.told
    }

    pub fn take_retraction(&mut self) -> Option<i64> {
        self.retraction.take()
    }

    /// A value that changes whenever a check found something new.
    pub fn news(&self) -> i64 {
        self.news
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECK_EVERY: Duration = Duration::from_secs(2);
    const PACE: CheckPace = CheckPace {
        every: CHECK_EVERY,
        urgent_gap: Duration::ZERO,
    };
    const GAPPED: CheckPace = CheckPace {
        every: CHECK_EVERY,
        urgent_gap: Duration::from_secs(1),
    };

    fn note(group: i64, id: i64) -> Note {
        Note { group, id }
    }

    fn viewer() -> Viewer {
        Viewer("s".into())
    }

    #[test]
    fn payloads_are_three_positive_numbers() {
        assert_eq!(parse("7:2:40"), Some((7, note(2, 40))));
        for bad in [
            "", "7:2", "7:2:40:1", "7:-2:40", "7:2:x", "+7:2:40", "0:2:40", " 7:2:40",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        let mut inbox = Inbox::default();
        inbox.receive("garbage");
        assert!(inbox.unexplained);
    }

    #[test]
    fn contiguous_notes_are_told_and_a_gap_asks() {
        let mut inbox = Inbox::default();
        let mut h = Hints::new(10, &mut inbox, PACE);
        let now = Instant::now();
        inbox.receive("11:1:100");
        inbox.receive("13:2:101");
        assert_eq!(h.head(&inbox, now), 11, "12 is missing: stop before it");
        h.learn(&viewer(), &[1, 2], &[1]);
        assert_eq!(
            h.answer(&inbox, &viewer(), 10, 11),
            Answer::Told(vec![GroupChanges {
                group: 1,
                last_id: 100,
                last_rev: 11,
                count: 1
            }])
        );
        assert_eq!(h.answer(&inbox, &viewer(), 10, 13), Answer::Ask);
        inbox.receive("12:2:102");
        assert_eq!(h.head(&inbox, now), 13);
        assert_eq!(h.answer(&inbox, &viewer(), 11, 13), Answer::Told(vec![]));
        assert_eq!(
            h.answer(&inbox, &Viewer("other".into()), 11, 13),
            Answer::Unknown(vec![2])
        );
    }

    #[test]
    fn a_forged_note_is_retracted_when_the_real_one_differs() {
        let mut inbox = Inbox::default();
        let mut h = Hints::new(10, &mut inbox, PACE);
        let now = Instant::now();
        inbox.receive("11:9:500"); // forged: a group the viewer cannot see
        assert_eq!(h.head(&inbox, now), 11);
        assert!(!h.must_check(&inbox, now));
        inbox.receive("11:1:100"); // the real change
        assert!(h.must_check(&inbox, now));
        let started = h.checking(&inbox).1;
        h.settle(&mut inbox, &[(11, note(1, 100))], true, started);
        assert_eq!(h.take_retraction(), Some(11));
        assert_eq!(h.head(&inbox, now), 11);
        h.learn(&viewer(), &[1], &[1]);
        assert!(matches!(h.answer(&inbox, &viewer(), 10, 11), Answer::Told(c) if c.len() == 1));
    }

    #[test]
    fn the_check_finds_what_a_lost_connection_hid() {
        let mut inbox = Inbox::default();
        let mut h = Hints::new(10, &mut inbox, PACE);
        let now = Instant::now();
        inbox.receive("11:9:500"); // forged, and the session killed before the real one
        h.head(&inbox, now);
        inbox.epoch += 1;
        assert!(h.must_check(&inbox, now));
        let started = h.checking(&inbox).1;
        h.settle(
            &mut inbox,
            &[(11, note(1, 100)), (12, note(1, 101))],
            true,
            started,
        );
        assert_eq!(h.take_retraction(), Some(11));
        assert_eq!(h.head(&inbox, now), 12);
    }

    #[test]
    fn told_notes_fall_due_for_a_check_and_a_failed_check_waits_again() {
        let mut inbox = Inbox::default();
        let mut h = Hints::new(10, &mut inbox, PACE);
        let now = Instant::now();
        assert_eq!(
            h.check_due(&inbox, now),
            None,
            "nothing told: only the slow poll"
        );
        inbox.receive("11:1:100");
        h.head(&inbox, now);
        assert_eq!(h.check_due(&inbox, now), Some(CHECK_EVERY));
        let later = now + CHECK_EVERY + Duration::from_millis(5);
        assert_eq!(h.check_due(&inbox, later), Some(Duration::ZERO));
        h.postpone_check(later);
        assert_eq!(
            h.check_due(&inbox, later),
            Some(CHECK_EVERY),
            "not at once again"
        );
        let started = h.checking(&inbox).1;
        h.settle(&mut inbox, &[(11, note(1, 100))], true, started);
        assert_eq!(h.check_due(&inbox, later), None, "checked");
        h.postpone_check(later);
        assert_eq!(h.check_due(&inbox, later), None);
    }

    #[test]
    fn notes_ahead_of_the_server_are_retracted_and_told_is_pulled_back() {
        let mut inbox = Inbox::default();
        let mut h = Hints::new(10, &mut inbox, PACE);
        let now = Instant::now();
        for rev in 11..=40 {
            inbox.receive(&format!("{rev}:9:{rev}"));
        }
        assert_eq!(h.head(&inbox, now), 40);
        let later = now + CHECK_EVERY;
        assert!(h.must_check(&inbox, later), "unchecked for too long");
        let started = h.checking(&inbox).1;
        h.settle(&mut inbox, &[(11, note(9, 11))], true, started);
        assert_eq!(h.take_retraction(), Some(12));
        assert_eq!(h.head(&inbox, later), 11);
    }

    #[test]
    fn checks_asked_at_once_come_one_gap_apart() {
        let pace = GAPPED;
        let mut inbox = Inbox::default();
        let mut h = Hints::new(10, &mut inbox, pace);
        let now = Instant::now();
        inbox.receive("junk");
        assert!(h.must_check(&inbox, now), "the first: at once");
        let started = h.checking(&inbox).1;
        h.settle(&mut inbox, &[], true, started);
        let checked = Instant::now();
        inbox.receive("11:1:100");
        inbox.receive("11:2:100");
        assert!(!h.must_check(&inbox, checked), "the next: a gap later");
        let due = h.check_due(&inbox, checked).unwrap();
        assert!(
            due > Duration::from_millis(900) && due <= pace.urgent_gap,
            "{due:?}"
        );
        let later = checked + pace.urgent_gap;
        assert!(h.must_check(&inbox, later));
        assert_eq!(h.check_due(&inbox, later), Some(Duration::ZERO));
        h.postpone_check(later);
        assert!(
            !h.must_check(&inbox, later),
            "a failed check waits a gap too"
        );
    }

    #[test]
    fn notes_naming_unmet_groups_wait_a_gap_after_a_question() {
        let pace = GAPPED;
        let mut inbox = Inbox::default();
        let mut h = Hints::new(10, &mut inbox, pace);
        let now = Instant::now();
        inbox.receive("11:1:100");
        assert_eq!(h.head(&inbox, now), 11, "no question yet: told at once");
        assert_eq!(
            h.answer(&inbox, &viewer(), 10, 11),
            Answer::Unknown(vec![1])
        );
        h.asking(now);
        h.learn(&viewer(), &[1], &[1]);
        inbox.receive("12:1:101"); // a group met: told at once
        inbox.receive("13:5:102"); // not met: waits for the gap
        inbox.receive("14:1:103");
        assert_eq!(h.head(&inbox, now), 12);
        let due = h.held_due(now).unwrap();
        assert!(
            due <= pace.urgent_gap && due > Duration::from_millis(900),
            "{due:?}"
        );
        let later = now + pace.urgent_gap;
        assert_eq!(h.head(&inbox, later), 14);
        assert_eq!(h.held_due(later), None);
        assert_eq!(
            h.answer(&inbox, &viewer(), 12, 14),
            Answer::Unknown(vec![5])
        );
    }

    #[test]
    fn the_same_note_twice_is_no_contest_and_a_flood_far_ahead_is_dropped() {
        let mut inbox = Inbox::default();
        let h = Hints::new(10, &mut inbox, PACE);
        inbox.receive("11:1:100");
        inbox.receive("11:1:100");
        assert!(!h.must_check(&inbox, Instant::now()));
        inbox.receive(&format!("{}:1:1", 10 + WINDOW + 1));
        assert_eq!(inbox.notes.len(), 1);
    }
}
