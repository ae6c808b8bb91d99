//! Where the register lives. Two traits split what the add-in needs from a backend:
//! [`Store`], the queries behind the 1C methods, and [`Feed`], the plumbing the
//! watcher follows (revisions, wake-ups). SQLite is the embedded backend, PostgreSQL
//! the one for many machines; what they share (row shapes, paging, schema history)
//! is written once in `shape` and `schema`.

mod location;
mod notes;
mod postgres;
mod schema;
mod shape;
mod sqlite;
mod unread;

use std::time::Duration;

use crate::chat::files::NewFile;
use crate::chat::{Group, Message, NewMessage, Unread};

pub use location::{default_location, is_network_path};
pub use postgres::{is_postgres, provision, PgStore};
pub use schema::{POSTGRES_VERSION, SQLITE_VERSION};
pub use shape::Page;
pub use sqlite::SqliteStore;

/// What went wrong in the store, without the backend's types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The group does not exist or the user may not see it (never tell which).
    UnknownGroup(i64),
    /// The message does not exist or the user may not see it (never tell which).
    UnknownMessage(i64),
    /// The file does not exist, went with its deleted message, or may not be seen.
    UnknownFile(i64),
    /// The message is someone else's: only its publisher may edit or delete it.
    NotAuthor(i64),
    /// The message was deleted: it cannot be edited.
    Deleted(i64),
    /// The message replied to is not in the conversation of the reply.
    BadReply(i64),
    /// Another process held the store's lock longer than the busy timeout.
    Busy,
    /// The store (file or directory) cannot be written.
    ReadOnly,
    /// The file exists but is not an SQLite database.
    NotADatabase,
    /// The file is another application's SQLite database (left untouched).
    Foreign,
    /// The Store string is a SQLite URI, an in-memory name or has `?` options.
    NotAPlainPath,
    /// The shared default folder is another user's and lacks the sticky bit.
    UnsafeFolder(String),
    /// A symbolic link where the shared default store or its journal would be.
    SymbolicLink(String),
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
    /// The PostgreSQL server has no free connection (max_connections).
    ServerFull,
    /// The store's schema is newer than this build knows (made by a later chat1c).
    TooNew(u32),
    /// The store needs a schema upgrade that this connection may not make.
    UpgradeNeedsOwner { found: u32, to: u32 },
    /// The store requires a ticket from the 1C server, and none was given.
    TicketRequired,
    /// The ticket is forged, signed with another secret, or names another user.
    TicketInvalid,
    /// The ticket was genuine but has expired.
    TicketExpired,
    /// The server-side session ended (idle for a week, or the secret was rotated).
    SessionEnded,
    /// Provision refused: with the reason.
    CannotProvision(String),
    /// The server refused a call the add-in itself should have refused (a client
    /// that skipped the add-in's checks), with the server's words.
    Refused(String),
    /// Anything else, with the backend's text.
    Other(String),
}

/// Who reads, as the store knows them: the user key (SQLite, whose users all share
/// the file anyway) or a server-side session (PostgreSQL). Never shown anywhere.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Viewer(pub(crate) String);

impl std::fmt::Debug for Viewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Viewer(…)")
    }
}

/// The user a store accepted at Open.
#[derive(Debug, Clone)]
pub struct Identity {
    pub viewer: Viewer,
    /// The name as the store shows it (a ticket's name on a provisioned store).
    pub shown: String,
}

/// A change a method made: the message, its group, and the revision it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub id: i64,
    pub group: i64,
    /// The revision of this change (see [`Feed`]).
    pub rev: i64,
}

/// A page of messages, ascending by id.
pub type Messages = Result<Vec<Message>, StoreError>;

/// A change made, or why not.
pub type Changed = Result<Change, StoreError>;

/// The register behind the 1C methods, as one user sees it (the user it was opened
/// for). One value is one connection, used by one thread.
pub trait Store: Send {
    /// The location in use, as shown in the `Store` property (no secrets).
    fn location(&self) -> &str;
    /// Groups visible to the user, newest activity first: the `limit` newest (None: all).
    fn groups(&mut self, limit: Option<i64>) -> Result<Vec<Group>, StoreError>;
    /// One group the user may read (listed for them or not), as `groups` shows it.
    fn group(&mut self, id: i64) -> Result<Group, StoreError>;
    /// The user's unread messages and mentions summed over every group they see.
    fn unread(&mut self) -> Result<Unread, StoreError>;
    /// One page of a group's messages, ascending by id.
    fn messages(&mut self, group: i64, page: Page, limit: i64) -> Messages;
    /// Writes one message from the user (and its group when new), with its file, in
    /// one transaction; resolves its mentions.
    fn send(&mut self, message: &NewMessage, file: Option<&NewFile>, period: i64) -> Changed;
    /// A file of a message the user can see.
    fn file(&mut self, id: i64) -> Result<Vec<u8>, StoreError>;
    /// Messages the user can see whose live text contains `text` (folded to one case,
    /// ё as е), newest first; `group` 0: every group.
    fn search(&mut self, text: &str, group: i64, limit: i64) -> Messages;
    /// The discussion of `context` (made when missing, renamed to `title` when it has
    /// another): a public group that is listed for those who took part.
    fn discussion(&mut self, context: &str, title: &str) -> Result<i64, StoreError>;
    /// Replaces the text of one of the user's own messages (at `at`, UTC ms).
    fn edit(&mut self, id: i64, text: &str, at: i64) -> Changed;
    /// Leaves a tombstone of one of the user's own messages; None when it already was one.
    fn delete(&mut self, id: i64) -> Result<Option<Change>, StoreError>;
    /// The group's messages changed after revision `after` (new, edited, deleted),
    /// ascending by revision.
    fn updates(&mut self, group: i64, after: i64, limit: i64) -> Messages;
    /// Moves the user's read mark in a group forward (never back).
    fn mark_read(&mut self, group: i64, up_to: i64) -> Result<(), StoreError>;
}

/// The changes visible to a user in one group, within a range of revisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupChanges {
    pub group: i64,
    /// The highest message id among them (a cursor for GetMessages).
    pub last_id: i64,
    /// The highest revision among them.
    pub last_rev: i64,
    /// How many changes.
    pub count: i64,
}

/// Per group, the changes in a range of revisions.
pub type Changes = Result<Vec<GroupChanges>, StoreError>;

/// The change feed the watcher follows. Every change (a send, an edit, a delete) gets
/// the next store-wide revision in the transaction that makes it,
/// so "everything up to revision R" is a cursor that never skips a commit.
/// One connection serves the subscribers of several users, so each call says for whom.
pub trait Feed: Send {
    /// The newest revision (0 for an empty store).
    fn head(&mut self, viewer: &Viewer) -> Result<i64, StoreError>;
    /// Per group visible to the viewer, the changes with revision in (`after`, `up_to`],
    /// ascending by group.
    fn changes(&mut self, viewer: &Viewer, after: i64, up_to: i64) -> Changes;
    /// A cheap value that changes whenever another connection commits.
    fn change_token(&mut self, viewer: &Viewer) -> Result<i64, StoreError>;
    /// A revision the feed takes back (asked after `head`): what it said about it and
    /// the revisions after may have been wrong (a forged notification), so every
    /// subscriber scans again from there.
    fn retracted(&mut self) -> Option<i64> {
        None
    }
    /// Starts one round of reads (`head`, then `changes`) in one snapshot where the
    /// backend can; [`Feed::end_round`] ends it.
    fn begin_round(&mut self) {}
    fn end_round(&mut self) {}
    /// Starts listening for commits on this connection; false when the backend
    /// cannot (the watcher then relies on file events and its poll).
    fn listen(&mut self) -> Result<bool, StoreError> {
        Ok(false)
    }
    /// Waits up to `timeout` for a commit notification (only after `listen` said true).
    fn wait_change(&mut self, timeout: Duration) -> Result<bool, StoreError> {
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
    /// The store's file, changed on every commit: its folder is watched, and writes to
    /// the store's own files wake the watcher (None: poll only).
    pub store_file: Option<std::path::PathBuf>,
    /// Fallback poll period; short where change notifications cannot be trusted.
    pub poll: Duration,
}

/// A store just opened for a Chat object.
pub struct Opened {
    pub store: Box<dyn Store>,
    pub plan: WatchPlan,
    pub identity: Identity,
    /// The newest revision at Open: the object's watcher subscription starts there.
    pub revision: i64,
}

/// Opens (creating if absent) the store named by `location` for `user`: a PostgreSQL
/// connection string, or a SQLite file path ("" = the machine-wide default). A
/// provisioned PostgreSQL store takes the user only with a ticket for them; a SQLite
/// store cannot check one (it keeps no secret from its users) and ignores it.
pub fn open(location: &str, user: &str, ticket: &str) -> Result<Opened, StoreError> {
    fn opened<S: Store + Feed + 'static>(
        mut store: S,
        plan: WatchPlan,
        identity: Identity,
    ) -> Result<Opened, StoreError> {
        let revision = store.head(&identity.viewer)?;
        Ok(Opened {
            store: Box::new(store),
            plan,
            identity,
            revision,
        })
    }
    if is_postgres(location) {
        let (mut store, plan) = PgStore::open(location)?;
        let identity = store.sign_in(user, ticket)?;
        opened(store, plan, identity)
    } else {
        let (mut store, plan) = SqliteStore::open(location)?;
        let identity = store.sign_in(user);
        opened(store, plan, identity)
    }
}

/// Opens the same store again as the watcher's own connection.
pub fn open_feed(location: &str) -> Result<Box<dyn Feed>, StoreError> {
    if is_postgres(location) {
        Ok(Box::new(PgStore::open(location)?.0))
    } else {
        Ok(Box::new(SqliteStore::open(location)?.0))
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
