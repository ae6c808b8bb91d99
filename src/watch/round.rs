//! One watcher's rounds: what it has examined, what it still owes each subscriber,
//! and how long it may wait before looking again. A round reads the feed's head
//! once, asks the feed what changed for each subscriber since its last round, and
//! raises one coalesced hint per subscriber: `{"cursor":N,"rev":R,"groups":[..]}`.
//! A hint 1C refuses (event queue full) stays owed and is offered again, refreshed,
//! with backoff. An object is not hinted about its own changes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{lock, Subscriber, EVENT_NAME};
use crate::store::{Feed, GroupChanges, Viewer};

/// First and longest wait before re-offering a refused hint.
const RETRY_FIRST: Duration = Duration::from_millis(5);
const RETRY_MAX: Duration = Duration::from_millis(500);

/// Re-checks after a write that found nothing: a file event can arrive before the
/// commit it belongs to is visible (WAL frames are written before the index moves;
/// a loaded machine can deschedule the writer in between).
const SETTLE: [Duration; 4] = [
    Duration::from_millis(2),
    Duration::from_millis(10),
    Duration::from_millis(50),
    Duration::from_millis(250),
];

/// Least time between two rounds. A stream of commits (each with several file events)
/// is then read in at most one round per gap instead of one per wake-up, so a busy
/// sender does not spend a second core re-reading the store; a lone message after a
/// quiet spell is still read at once.
const MIN_ROUND_GAP: Duration = Duration::from_millis(1);

/// A hint not yet accepted by 1C.
#[derive(Debug, Default, PartialEq, Eq)]
struct Hint {
    /// The highest message id among the changes.
    cursor: i64,
    /// The highest revision among the changes.
    rev: i64,
    /// Ascending, each once.
    groups: Vec<i64>,
}

impl Hint {
    fn add(&mut self, c: &GroupChanges) {
        self.cursor = self.cursor.max(c.last_id);
        self.rev = self.rev.max(c.last_rev);
        if let Err(k) = self.groups.binary_search(&c.group) {
            self.groups.insert(k, c.group);
        }
    }

    /// `{"cursor":N,"rev":R,"groups":[..]}`, written directly (not through `fmt`,
    /// and in one allocation): a hint per reader per message is the watcher's hot path.
    fn data(&self) -> String {
        let mut text = String::with_capacity(40 + 21 * self.groups.len());
        text.push_str("{\"cursor\":");
        push_number(&mut text, self.cursor);
        text.push_str(",\"rev\":");
        push_number(&mut text, self.rev);
        text.push_str(",\"groups\":[");
        for (k, g) in self.groups.iter().enumerate() {
            if k > 0 {
                text.push(',');
            }
            push_number(&mut text, *g);
        }
        text.push_str("]}");
        text
    }
}

/// Appends `n` in decimal.
fn push_number(text: &mut String, n: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        text.push('-');
    }
    text.extend(digits[at..].iter().map(|d| char::from(*d)));
}

/// Per-subscriber progress.
struct Progress {
    /// The subscriber's id.
    id: u64,
    /// Every revision up to this one has been examined for the subscriber.
    scanned: i64,
    owed: Option<Hint>,
}

pub(super) struct Rounds {
    /// One per subscriber, in no order: a process has a few objects, and a list
    /// searched from the front touches less memory per round than a hash map.
    progress: Vec<Progress>,
    /// The newest revision a round has examined.
    head: i64,
    /// The feed's change token at the last look (see [`Rounds::look_when_idle`]).
    token: Option<i64>,
    retry: Duration,
    /// Index into [`SETTLE`]; its length when not settling.
    settle: usize,
    last_round: Instant,
    /// Some subscriber's hints were held back in the last round.
    held: bool,
}

impl Rounds {
    pub fn new() -> Rounds {
        Rounds {
            progress: Vec::new(),
            head: 0,
            token: None,
            retry: RETRY_FIRST,
            settle: SETTLE.len(),
            last_round: Instant::now()
                .checked_sub(MIN_ROUND_GAP)
                .unwrap_or_else(Instant::now),
            held: false,
        }
    }

    fn owed(&self) -> bool {
        self.progress.iter().any(|p| p.owed.is_some())
    }

    fn settling(&self) -> bool {
        self.settle < SETTLE.len()
    }

    /// Settling, owing or holding back: the next look is a re-check, not the slow poll.
    pub fn busy(&self) -> bool {
        self.settling() || self.owed() || self.held
    }

    /// How long the next wait may last when nothing wakes the watcher.
    pub fn period(&self, poll: Duration) -> Duration {
        match SETTLE.get(self.settle) {
            Some(d) => *d,
            None if self.owed() || self.held => self.retry,
            None => poll,
        }
    }

    /// When the next round may start after a wake-up (see [`MIN_ROUND_GAP`]).
    pub fn next_round(&self) -> Instant {
        self.last_round + MIN_ROUND_GAP
    }

    /// After a wait that nothing ended: whether to look anyway. Yes while settling
    /// or owing; otherwise (the slow poll) only when another process committed.
    pub fn look_when_idle(&mut self, feed: &mut dyn Feed, subscribers: &[Arc<Subscriber>]) -> bool {
        if self.busy() {
            return true;
        }
        // The feed answers a subscriber only (on PostgreSQL, a live session).
        let Some(anyone) = subscribers.first() else {
            return false;
        };
        let now = feed.change_token(&anyone.viewer).ok();
        if now == self.token {
            return false;
        }
        self.token = now;
        true
    }

    /// One round; `written` when a file event started it (its commit may not be
    /// visible yet). True when the head moved.
    pub fn round(
        &mut self,
        feed: &mut dyn Feed,
        subscribers: &[Arc<Subscriber>],
        written: bool,
    ) -> bool {
        self.last_round = Instant::now();
        let Some(anyone) = subscribers.first() else {
            self.progress.clear();
            return false;
        };
        let before = self.head;
        // One snapshot for the whole round: on SQLite each read transaction takes a
        // lock on the WAL index that every process of the store shares. Hints are
        // raised after it ends.
        feed.begin_round();
        let news = self.read(feed, subscribers, &anyone.viewer, written);
        feed.end_round();
        if news {
            self.offer(subscribers);
        }
        self.head > before
    }

    /// Reads the head and, when it moved (or something is owed, held back or new),
    /// each subscriber's changes up to it; false when there is nothing to offer.
    fn read(
        &mut self,
        feed: &mut dyn Feed,
        subscribers: &[Arc<Subscriber>],
        viewer: &Viewer,
        written: bool,
    ) -> bool {
        let settling = self.settling();
        if self.token.is_none() {
            // Taken before the head: a commit after this round changes it.
            self.token = feed.change_token(viewer).ok();
        }
        let Ok(head) = feed.head(viewer) else {
            return false;
        };
        self.progress
            .retain(|p| subscribers.iter().any(|s| s.id == p.id));
        let retracted = feed.retracted();
        if let Some(rev) = retracted {
            for p in &mut self.progress {
                p.scanned = p.scanned.min(rev - 1);
            }
        }
        let newcomer = subscribers
            .iter()
            .any(|s| !self.progress.iter().any(|p| p.id == s.id));
        if head == self.head && !self.owed() && !self.held && !newcomer && retracted.is_none() {
            // Nothing visible yet: a fresh write restarts the settle checks.
            self.settle = if written {
                0
            } else if settling {
                self.settle + 1
            } else {
                SETTLE.len()
            };
            return false;
        }
        self.settle = SETTLE.len();
        self.head = head;
        self.held = false;
        for sub in subscribers {
            let k = match self.progress.iter().position(|p| p.id == sub.id) {
                Some(k) => k,
                None => {
                    self.progress.push(Progress {
                        id: sub.id,
                        scanned: sub.start,
                        owed: None,
                    });
                    self.progress.len() - 1
                }
            };
            let p = &mut self.progress[k];
            // A change of its own that is committed (so at or below `head`) but not
            // yet recorded would be taken for someone else's: wait until it is.
            if lock(&sub.own).writing {
                self.held = true;
            } else {
                scan(feed, sub, p, head);
            }
        }
        true
    }

    /// Offers each subscriber what it is owed.
    fn offer(&mut self, subscribers: &[Arc<Subscriber>]) {
        let mut refused = false;
        for sub in subscribers {
            if let Some(p) = self.progress.iter_mut().find(|p| p.id == sub.id) {
                refused |= !offer(sub, p);
            }
        }
        self.retry = if refused {
            (self.retry * 2).min(RETRY_MAX)
        } else {
            RETRY_FIRST
        };
    }
}

/// Adds to what the subscriber is owed the changes up to `head` that are not its own.
fn scan(feed: &mut dyn Feed, sub: &Subscriber, p: &mut Progress, head: i64) {
    if p.scanned >= head {
        return;
    }
    if let Ok(changes) = feed.changes(&sub.viewer, p.scanned, head) {
        let own = lock(&sub.own).take(p.scanned, head);
        for c in &changes {
            let theirs = c.count - own.get(&c.group).copied().unwrap_or(0);
            if theirs > 0 {
                p.owed.get_or_insert_with(Hint::default).add(c);
            }
        }
        p.scanned = head;
    }
}

/// Raises the owed hint, if any; false when 1C refused it (it stays owed).
fn offer(sub: &Subscriber, p: &mut Progress) -> bool {
    let Some(hint) = &p.owed else {
        return true;
    };
    let accepted = match lock(&sub.sink).as_ref() {
        Some(sink) => sink.raise(EVENT_NAME, &hint.data()),
        None => true, // gone: nothing is owed to it any more
    };
    if accepted {
        p.owed = None;
    }
    accepted
}

#[cfg(test)]
mod tests {
    use super::super::{EventSink, OwnChanges};
    use super::*;
    use crate::store::{Changes, StoreError, Viewer};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;

    /// A change: group, message id, revision; who may see the group (None: public).
    struct Row(i64, i64, i64, Option<&'static [&'static str]>);

    #[derive(Default)]
    struct FakeFeed {
        rows: Vec<Row>,
    }

    impl FakeFeed {
        fn add(&mut self, group: i64, id: i64, seen_by: Option<&'static [&'static str]>) -> i64 {
            let rev = self.rows.len() as i64 + 1;
            self.rows.push(Row(group, id, rev, seen_by));
            rev
        }
    }

    impl Feed for FakeFeed {
        fn head(&mut self, _viewer: &Viewer) -> Result<i64, StoreError> {
            Ok(self.rows.len() as i64)
        }
        fn changes(&mut self, viewer: &Viewer, after: i64, up_to: i64) -> Changes {
            let user = viewer.0.as_str();
            let mut by_group: std::collections::BTreeMap<i64, GroupChanges> = Default::default();
            for Row(group, id, rev, seen_by) in &self.rows {
                if *rev <= after || *rev > up_to || seen_by.is_some_and(|s| !s.contains(&user)) {
                    continue;
                }
                let c = by_group.entry(*group).or_insert(GroupChanges {
                    group: *group,
                    last_id: 0,
                    last_rev: 0,
                    count: 0,
                });
                c.last_id = c.last_id.max(*id);
                c.last_rev = c.last_rev.max(*rev);
                c.count += 1;
            }
            Ok(by_group.into_values().collect())
        }
        fn change_token(&mut self, viewer: &Viewer) -> Result<i64, StoreError> {
            self.head(viewer)
        }
    }

    #[derive(Default)]
    struct FakeSink {
        events: Mutex<Vec<serde_json::Value>>,
        refuse: AtomicBool,
    }

    impl EventSink for FakeSink {
        fn raise(&self, message: &str, data: &str) -> bool {
            assert_eq!(message, EVENT_NAME);
            if self.refuse.load(Ordering::SeqCst) {
                return false;
            }
            self.events
                .lock()
                .unwrap()
                .push(serde_json::from_str(data).unwrap());
            true
        }
    }

    impl FakeSink {
        fn take(&self) -> Vec<serde_json::Value> {
            std::mem::take(&mut *self.events.lock().unwrap())
        }
    }

    fn subscriber(id: u64, user: &str, start: i64) -> (Arc<Subscriber>, Arc<FakeSink>) {
        let sink = Arc::new(FakeSink::default());
        let sub = Arc::new(Subscriber {
            id,
            viewer: Viewer(user.into()),
            sink: Mutex::new(Some(sink.clone())),
            start,
            own: Mutex::new(OwnChanges::default()),
        });
        (sub, sink)
    }

    fn hint(cursor: i64, rev: i64, groups: &[i64]) -> serde_json::Value {
        serde_json::json!({ "cursor": cursor, "rev": rev, "groups": groups })
    }

    const ANN_BOB: Option<&[&str]> = Some(&["ann", "bob"]);

    #[test]
    fn hint_data_is_the_json_of_its_numbers() {
        let mut hint = Hint::default();
        for (group, id, rev) in [(20, i64::MAX, 3), (-5, 1, i64::MIN), (20, 0, 0), (0, 2, 1)] {
            hint.add(&GroupChanges {
                group,
                last_id: id,
                last_rev: rev,
                count: 1,
            });
        }
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&hint.data()).unwrap(),
            serde_json::json!({"cursor": i64::MAX, "rev": 3, "groups": [-5, 0, 20]})
        );
        let mut text = String::new();
        push_number(&mut text, i64::MIN);
        assert_eq!(text, i64::MIN.to_string());
    }

    #[test]
    fn each_subscriber_gets_one_hint_with_what_it_may_see() {
        let mut feed = FakeFeed::default();
        let mut rounds = Rounds::new();
        let (ann, ann_sink) = subscriber(1, "ann", 0);
        let (zed, zed_sink) = subscriber(2, "zed", 0);
        let subs = [ann, zed];
        feed.add(10, 100, ANN_BOB);
        feed.add(20, 101, None);
        feed.add(10, 102, ANN_BOB);
        rounds.round(&mut feed, &subs, true);
        assert_eq!(ann_sink.take(), vec![hint(102, 3, &[10, 20])]);
        assert_eq!(zed_sink.take(), vec![hint(101, 2, &[20])]);
        rounds.round(&mut feed, &subs, true);
        assert!(ann_sink.take().is_empty() && zed_sink.take().is_empty());
    }

    #[test]
    fn a_newcomer_starts_at_its_own_revision() {
        let mut feed = FakeFeed::default();
        feed.add(20, 1, None);
        let mut rounds = Rounds::new();
        let (late, sink) = subscriber(1, "ann", 1);
        rounds.round(&mut feed, std::slice::from_ref(&late), false);
        assert!(sink.take().is_empty(), "what it read at Open is not news");
        feed.add(20, 2, None);
        rounds.round(&mut feed, &[late], true);
        assert_eq!(sink.take(), vec![hint(2, 2, &[20])]);
    }

    #[test]
    fn a_refused_hint_is_offered_again_refreshed_with_backoff() {
        let mut feed = FakeFeed::default();
        let mut rounds = Rounds::new();
        let (ann, sink) = subscriber(1, "ann", 0);
        let subs = [ann];
        let poll = Duration::from_secs(10);
        sink.refuse.store(true, Ordering::SeqCst);
        feed.add(10, 1, ANN_BOB);
        rounds.round(&mut feed, &subs, true);
        assert_eq!(rounds.period(poll), RETRY_FIRST * 2, "owed: retry soon");
        rounds.round(&mut feed, &subs, false);
        assert_eq!(rounds.period(poll), RETRY_FIRST * 4, "backs off");
        assert!(
            rounds.look_when_idle(&mut feed, &subs),
            "owing: look without a change"
        );
        feed.add(20, 2, None);
        sink.refuse.store(false, Ordering::SeqCst);
        rounds.round(&mut feed, &subs, false);
        assert_eq!(
            sink.take(),
            vec![hint(2, 2, &[10, 20])],
            "one refreshed hint"
        );
        assert_eq!(rounds.period(poll), poll, "nothing owed: the slow poll");
    }

    #[test]
    fn an_object_is_not_hinted_about_its_own_change_but_its_users_other_objects_are() {
        let mut feed = FakeFeed::default();
        let mut rounds = Rounds::new();
        let (writer, writer_sink) = subscriber(1, "ann", 0);
        let (other_window, other_sink) = subscriber(2, "ann", 0);
        let subs = [writer.clone(), other_window];
        let rev = feed.add(10, 1, ANN_BOB);
        lock(&writer.own).changes.push((rev, 10));
        rounds.round(&mut feed, &subs, true);
        assert!(writer_sink.take().is_empty());
        assert_eq!(other_sink.take(), vec![hint(1, 1, &[10])]);
        // Someone else's message in the same group, with the writer's next one.
        feed.add(10, 2, ANN_BOB);
        let rev = feed.add(10, 3, ANN_BOB);
        lock(&writer.own).changes.push((rev, 10));
        rounds.round(&mut feed, &subs, true);
        assert_eq!(writer_sink.take(), vec![hint(3, 3, &[10])]);
        assert!(
            lock(&writer.own).changes.is_empty(),
            "recorded changes are dropped once seen"
        );
    }

    #[test]
    fn a_change_in_flight_holds_its_writers_hints_until_recorded() {
        let mut feed = FakeFeed::default();
        let mut rounds = Rounds::new();
        let (writer, sink) = subscriber(1, "ann", 0);
        let subs = [writer.clone()];
        lock(&writer.own).writing = true;
        let rev = feed.add(10, 1, ANN_BOB);
        rounds.round(&mut feed, &subs, true);
        assert!(sink.take().is_empty());
        assert_eq!(
            rounds.period(Duration::from_secs(10)),
            RETRY_FIRST,
            "held: look again soon"
        );
        {
            let mut own = lock(&writer.own);
            own.writing = false;
            own.changes.push((rev, 10));
        }
        rounds.round(&mut feed, &subs, true);
        assert!(
            sink.take().is_empty(),
            "its own change, once recorded, is not news to it"
        );
    }

    #[test]
    fn a_wake_up_that_finds_nothing_settles_then_returns_to_the_slow_poll() {
        let mut feed = FakeFeed::default();
        let mut rounds = Rounds::new();
        let (ann, _sink) = subscriber(1, "ann", 0);
        let subs = [ann];
        let poll = Duration::from_secs(10);
        rounds.round(&mut feed, &subs, false); // the newcomer's first round
        rounds.round(&mut feed, &subs, true);
        assert_eq!(rounds.period(poll), SETTLE[0]);
        for expected in &SETTLE[1..] {
            assert!(rounds.look_when_idle(&mut feed, &subs));
            rounds.round(&mut feed, &subs, false);
            assert_eq!(rounds.period(poll), *expected);
        }
        rounds.round(&mut feed, &subs, false);
        assert_eq!(rounds.period(poll), poll);
        assert!(
            !rounds.look_when_idle(&mut feed, &subs),
            "same token: no look"
        );
        feed.add(20, 1, None);
        assert!(
            rounds.look_when_idle(&mut feed, &subs),
            "another process committed"
        );
    }
}
