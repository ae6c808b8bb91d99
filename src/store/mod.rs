//! Where the register lives. The [`Store`] trait is what the add-in needs from a
//! backend; SQLite is the embedded one (PostgreSQL follows behind the same trait).

mod location;
mod postgres;
mod sqlite;

use crate::chat::{Group, Message, NewMessage};

pub use location::{default_location, is_network_path};
pub use postgres::{is_postgres, PgStore};

pub use sqlite::SqliteStore;

/// What went wrong in the store, without the backend's types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The group does not exist or the user may not see it (never tell which).
    UnknownGroup(i64),
    /// Another process held the store's lock longer than the busy timeout.
    Busy,
    /// The store (file or directory) cannot be written.
    ReadOnly,
    /// The file exists but is not a chat store / SQLite database.
    NotADatabase,
    /// The file is damaged.
    Corrupt,
    /// No space left for the store.
    Full,
    /// The disk refused a read or write (a file-size limit, a failing disk or share).
    Io,
    /// The store cannot be opened or created at this location.
    CannotOpen(String),
    /// The store file was deleted or replaced while open (reopen to continue).
    Replaced,
    /// The server did not answer within this many seconds (the connection is dropped).
    Timeout(u64),
    /// Anything else, with the backend's text.
    Other(String),
}

/// Messages visible to a user that were committed after a cursor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct News {
    /// The highest visible message id found, or the old cursor when none.
    pub cursor: i64,
    /// Groups with visible news, ascending.
    pub groups: Vec<i64>,
    /// Everything up to this id has been examined (visible or not).
    pub scanned: i64,
}

/// The register behind the add-in. One value is one connection, used by one thread.
pub trait Store: Send {
    /// The location in use, as shown in the `Store` property (no secrets).
    fn location(&self) -> &str;
    /// Groups visible to the user, newest activity first.
    fn groups(&mut self, user_key: &str) -> Result<Vec<Group>, StoreError>;
    /// Messages of a group after `after` (or the newest when `after` is 0), ascending.
    fn messages(
        &mut self,
        user_key: &str,
        group: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Message>, StoreError>;
    /// The newest `limit` messages with id < `before`, ascending.
    fn history(
        &mut self,
        user_key: &str,
        group: i64,
        before: i64,
        limit: i64,
    ) -> Result<Vec<Message>, StoreError>;
    /// Writes one message (and its group when new) atomically.
    fn send(&mut self, message: &NewMessage, period: i64) -> Result<Message, StoreError>;
    /// Moves the user's read mark in a group forward (never back).
    fn mark_read(&mut self, user_key: &str, group: i64, up_to: i64) -> Result<(), StoreError>;
    /// The id of the newest committed message (0 when empty).
    fn latest_id(&mut self) -> Result<i64, StoreError>;
    /// Per group, the highest message id in (`after`, `up_to`] visible to the user.
    fn visible_news(
        &mut self,
        user_key: &str,
        after: i64,
        up_to: i64,
    ) -> Result<Vec<(i64, i64)>, StoreError>;
    /// What is new for a user in (`cursor`, `up_to`] (used by the watcher). The caller
    /// reads `up_to` once per round (`latest_id`), so a commit landing meanwhile is left
    /// for the next round, not skipped.
    fn news(&mut self, user_key: &str, cursor: i64, up_to: i64) -> Result<News, StoreError> {
        let mut news = News {
            cursor,
            groups: Vec::new(),
            scanned: up_to.max(cursor),
        };
        if up_to <= cursor {
            return Ok(news);
        }
        for (group, max_id) in self.visible_news(user_key, cursor, up_to)? {
            news.groups.push(group);
            news.cursor = news.cursor.max(max_id);
        }
        Ok(news)
    }
    /// A cheap value that changes whenever another connection commits.
    fn change_token(&mut self) -> Result<i64, StoreError>;
    /// Starts listening for commits on this connection; false when the backend
    /// cannot (the watcher then relies on file events and its poll).
    fn listen(&mut self) -> Result<bool, StoreError> {
        Ok(false)
    }
    /// Waits up to `timeout` for a commit notification (only after `listen` said true).
    fn wait_change(&mut self, timeout: std::time::Duration) -> Result<bool, StoreError> {
        std::thread::sleep(timeout);
        Ok(false)
    }
    /// A way for another thread to end a `wait_change` early (None: not listening).
    fn interrupter(&self) -> Option<Box<dyn Fn() + Send + Sync>> {
        None
    }
    /// Replaces a broken connection.
    fn reconnect(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// How a store is watched for commits made by other processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchPlan {
    /// Directory whose files change on every commit (None: poll only).
    pub dir: Option<std::path::PathBuf>,
    /// Fallback poll period; short where change notifications cannot be trusted.
    pub poll: std::time::Duration,
}

/// Opens (creating if absent) the store named by `location`: a PostgreSQL
/// connection string, or a SQLite file path ("" = the machine-wide default).
pub fn open(location: &str) -> Result<(Box<dyn Store>, WatchPlan), StoreError> {
    if is_postgres(location) {
        let (store, plan) = PgStore::open(location)?;
        Ok((Box::new(store), plan))
    } else {
        let (store, plan) = SqliteStore::open(location)?;
        Ok((Box::new(store), plan))
    }
}

/// How a location is shown in texts (Store property, errors): never a password.
pub fn shown(location: &str) -> String {
    if is_postgres(location) {
        postgres::shown(location)
    } else if location.trim().is_empty() {
        default_location().display().to_string()
    } else {
        location.trim().to_string()
    }
}

/// The identity of a group's member set: sorted user keys joined by LF ("" = public).
fn members_key(participants: &[String]) -> String {
    let mut keys: Vec<String> = participants
        .iter()
        .map(|p| crate::chat::user_key(p))
        .collect();
    keys.sort();
    keys.dedup();
    keys.join("\n")
}
