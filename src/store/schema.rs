//! The schema's history, shared by both stores: each backend lists its steps (SQL
//! differs), this decides which of them a store still needs. A version means the same
//! on both stores; a backend's history ends at the last version that changed it, so a
//! change for one store does not make the other's files "too new" for older releases.
//! Versions:
//! 1. release 0.1.0: groups, members, the register, read marks;
//! 2. the change feed: every register row carries the revision of its last change;
//! 3. trust: a writer of release 0.1.0 still gets its changes numbered; on PostgreSQL,
//!    the chat's API of server functions, sessions and the secret for tickets;
//! 4. messages that live: edits, tombstones, replies, mentions, the users a store knows;
//! 5. find, share, link: discussions keyed by an object, files, message search;
//! 6. PostgreSQL only: the server functions keep their plans for the connection;
//! 7. PostgreSQL only: search reads the trigram index for older messages.

use super::StoreError;

/// The SQLite store's schema this build writes and reads.
pub const SQLITE_VERSION: u32 = 5;
/// The PostgreSQL store's.
pub const POSTGRES_VERSION: u32 = 7;

/// One step: the SQL that takes a store from the version of the step before to `to`.
pub(super) struct Migration {
    pub to: u32,
    pub sql: &'static str,
}

/// The version a history brings a store to: its last step's.
pub(super) fn version_of(history: &[Migration]) -> u32 {
    history.last().map_or(0, |m| m.to)
}

/// The steps a store found at version `found` still needs (0: a new, empty store).
pub(super) fn pending(
    history: &'static [Migration],
    found: u32,
) -> Result<&'static [Migration], StoreError> {
    if found > version_of(history) {
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

    /// Steps from version 1 up, each version once; a version that changed only the
    /// other store may be missing.
    fn check(history: &'static [Migration], version: u32) {
        let versions: Vec<u32> = history.iter().map(|m| m.to).collect();
        assert_eq!(versions.first(), Some(&1), "{versions:?}");
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
        assert_eq!(version_of(history), version);
    }

    #[test]
    fn both_histories_are_complete() {
        check(super::super::sqlite::HISTORY, SQLITE_VERSION);
        check(super::super::postgres::HISTORY, POSTGRES_VERSION);
    }

    #[test]
    fn pending_steps() {
        let h = super::super::sqlite::HISTORY;
        let v = SQLITE_VERSION;
        assert_eq!(pending(h, 0).unwrap().len(), v as usize);
        assert_eq!(pending(h, 1).unwrap()[0].to, 2);
        assert_eq!(pending(h, 2).unwrap().len(), v as usize - 2);
        assert!(pending(h, v).unwrap().is_empty());
        assert_eq!(pending(h, v + 1).err(), Some(StoreError::TooNew(v + 1)));
        // A PostgreSQL-only version is news to PostgreSQL alone.
        let pg = super::super::postgres::HISTORY;
        assert_eq!(pending(pg, SQLITE_VERSION).unwrap().len(), 2);
    }
}
