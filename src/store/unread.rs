//! GetUnread's counts kept between calls, for both stores. A notifier asks on every chat
//! event; summing every group a user sees each time was the largest cost per listener
//! (PostgreSQL's server, a terminal server's CPU). The store answers with the counts of
//! the groups that changed since the revision this object last counted at and of those
//! whose read mark the user moved since (in any process; each mark keeps the number of
//! its user's last move), or of every group with something unread (`whole`): on the
//! first call, after more than [`CHANGES_AT_MOST`] of either, or when the revision or the
//! moves are beyond the store's. This keeps per group the counts that are not zero.

use std::collections::HashMap;

use crate::chat::Unread;
use crate::store::StoreError;

/// More changes than this since the last call: count every group instead (PostgreSQL:
/// `api_unread`, which a unit test keeps in step).
pub const CHANGES_AT_MOST: usize = 200;

/// One answer of the store (PostgreSQL: `api_unread`; SQLite: `unread_since`).
pub struct Answer {
    /// Every group with something unread (the others have none), not only those changed.
    pub whole: bool,
    /// The revision and the user's read-mark moves the counts were taken at.
    pub at: (i64, i64),
    pub ids: Vec<i64>,
    pub unread: Vec<i64>,
    pub mentions: Vec<i64>,
}

#[derive(Default)]
pub struct UnreadCounts {
    /// What the next call passes: None until a whole count came.
    at: Option<(i64, i64)>,
    /// Group id → (unread, mentions), only groups where either is not zero.
    groups: HashMap<i64, (i64, i64)>,
}

impl UnreadCounts {
    /// The revision and mark moves to ask from (None: count everything).
    pub fn since(&self) -> Option<(i64, i64)> {
        self.at
    }

    /// Takes an answer in; one whose columns disagree in length is refused, and the
    /// next call counts afresh.
    pub fn apply(&mut self, a: Answer) -> Result<(), StoreError> {
        if a.ids.len() != a.unread.len() || a.ids.len() != a.mentions.len() {
            self.at = None;
            return Err(StoreError::Other(
                "GetUnread's answer has columns of different lengths".into(),
            ));
        }
        if a.whole {
            self.groups.clear();
        }
        for ((id, unread), mentions) in a.ids.into_iter().zip(a.unread).zip(a.mentions) {
            if unread == 0 && mentions == 0 {
                self.groups.remove(&id);
            } else {
                self.groups.insert(id, (unread, mentions));
            }
        }
        self.at = Some(a.at);
        Ok(())
    }

    pub fn total(&self) -> Unread {
        let mut t = Unread::default();
        for &(unread, mentions) in self.groups.values() {
            t.unread += unread;
            t.mentions += mentions;
            t.groups += i64::from(unread > 0);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(whole: bool, rev: i64, groups: &[(i64, i64, i64)]) -> Answer {
        Answer {
            whole,
            at: (rev, 0),
            ids: groups.iter().map(|g| g.0).collect(),
            unread: groups.iter().map(|g| g.1).collect(),
            mentions: groups.iter().map(|g| g.2).collect(),
        }
    }

    fn totals(c: &UnreadCounts) -> (i64, i64, i64) {
        let t = c.total();
        (t.unread, t.mentions, t.groups)
    }

    #[test]
    fn changed_groups_replace_their_counts_and_zeros_leave() {
        let mut c = UnreadCounts::default();
        assert_eq!(c.since(), None, "the first call counts everything");
        c.apply(answer(true, 10, &[(1, 3, 1), (2, 0, 2), (3, 5, 0)]))
            .unwrap();
        assert_eq!(
            totals(&c),
            (8, 3, 2),
            "a group with only mentions is no unread group"
        );
        assert_eq!(c.since(), Some((10, 0)));
        c.apply(answer(false, 12, &[(1, 0, 0), (4, 1, 1)])).unwrap();
        assert_eq!(
            totals(&c),
            (6, 3, 2),
            "group 1 read, group 4 new, 2 and 3 kept"
        );
        assert_eq!(
            c.groups.len(),
            3,
            "nothing kept for a group with nothing unread"
        );
        c.apply(answer(true, 13, &[(4, 2, 1)])).unwrap();
        assert_eq!(totals(&c), (2, 1, 1), "a whole count forgets the rest");
    }

    #[test]
    fn postgresql_counts_afresh_past_the_same_number_of_changes() {
        let sql = include_str!("postgres/v5_summaries.sql");
        let f = &sql[sql.find("CREATE FUNCTION chat1c.api_unread").unwrap()..];
        assert!(f.contains(&format!("LIMIT {}", CHANGES_AT_MOST + 1)));
        assert!(f.contains(&format!("cardinality(changed) <= {CHANGES_AT_MOST}")));
    }

    #[test]
    fn an_answer_whose_columns_disagree_is_refused_and_the_next_call_counts_afresh() {
        let mut c = UnreadCounts::default();
        c.apply(answer(true, 10, &[(1, 3, 1)])).unwrap();
        let mut bad = answer(false, 11, &[(2, 1, 0)]);
        bad.mentions.clear();
        assert!(c.apply(bad).is_err());
        assert_eq!(c.since(), None);
        assert_eq!(totals(&c), (3, 1, 1));
    }
}
