//! The schema's history, shared by both stores: each backend lists its steps (SQL
//! differs), this decides which of them a store still needs. Versions:
//! 1. release 0.1.0: groups, members, the register, read marks;
//! 2. the change feed: every register row carries the revision of its last change;
//! 3. trust: a writer of release 0.1.0 still gets its changes numbered; on PostgreSQL,
//!    the chat's API of server functions, sessions and the secret for tickets;
//! 4. messages that live: edits, tombstones, replies, mentions, the users a store knows;
//! 5. find, share, link: discussions keyed by an object, files, message search.

use super::StoreError;

/// The schema this build writes and reads.
pub const SCHEMA_VERSION: u32 = 5;

/// One step: the SQL that takes a store from version `to - 1` to `to`.
pub(super) struct Migration {
    pub to: u32,
    pub sql: &'static str,
}

/// The steps a store found at version `found` still needs (0: a new, empty store).
pub(super) fn pending(
    history: &'static [Migration],
    found: u32,
) -> Result<&'static [Migration], StoreError> {
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew(found));
    }
    let first = history
        .iter()
        .position(|m| m.to > found)
        .unwrap_or(history.len());
    Ok(&history[first..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(history: &'static [Migration]) {
        let versions: Vec<u32> = history.iter().map(|m| m.to).collect();
        let expected: Vec<u32> = (1..=SCHEMA_VERSION).collect();
        assert_eq!(versions, expected, "every version has exactly one step");
    }

    #[test]
    fn both_histories_are_complete() {
        check(super::super::sqlite::HISTORY);
        check(super::super::postgres::HISTORY);
    }

    #[test]
    fn pending_steps() {
        let h = super::super::sqlite::HISTORY;
        assert_eq!(pending(h, 0).unwrap().len(), SCHEMA_VERSION as usize);
        assert_eq!(pending(h, 1).unwrap()[0].to, 2);
        assert_eq!(pending(h, 2).unwrap().len(), SCHEMA_VERSION as usize - 2);
        assert!(pending(h, SCHEMA_VERSION).unwrap().is_empty());
        assert_eq!(
            pending(h, SCHEMA_VERSION + 1).err(),
            Some(StoreError::TooNew(SCHEMA_VERSION + 1))
        );
    }
}
