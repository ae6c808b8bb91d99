//! The embedded store: one SQLite file shared by every process on the machine.
//! WAL where the file is local; a rollback journal on network file systems, where
//! WAL's shared memory cannot work across hosts.

mod change;
mod checkpoint;
mod file;
mod records;
mod schema;
mod sql;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension};

use super::shape::{self, SendRow};
use super::{
    location, Change, Changed, Changes, Feed, GroupChanges, Identity, Messages, Page, Store,
    StoreError, Viewer, WatchPlan,
};
use crate::chat::files::NewFile;
use crate::chat::{Group, NewMessage, Unread};
use crate::store::notes::{Answer, CheckPace, Hints, Inbox, Note};
use crate::store::unread::{self, UnreadCounts};
use checkpoint::Checkpoints;
use file::FileId;
use records::{Record, Records};

#[cfg(test)]
pub(super) use schema::HISTORY;

/// How long a call waits for another process's write lock before failing with Busy.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(3);
/// Poll period when change notifications work: a safety net only, kept long so that
/// idle clients cost nothing (measured in BENCHMARKS.md).
const LOCAL_POLL: Duration = Duration::from_secs(10);
/// What the commit records told is checked against the store this long after, at the
/// latest (see `notes`): whoever may write the ring may overwrite a real record before a
/// reader reads it, so this check is the defence itself; it reads the local store only.
const CHECK_NOTES: Duration = Duration::from_secs(2);
/// A check that the records ask for at once (two that differ) is made at once: only
/// those who may write the store can write them, and the check reads the local store.
const CHECK_PACE: CheckPace = CheckPace {
    every: CHECK_NOTES,
    urgent_gap: Duration::ZERO,
};
/// Poll period on network shares, where change notifications may never come.
const NETWORK_POLL: Duration = Duration::from_millis(300);

pub struct SqliteStore {
    conn: Connection,
    location: String,
    path: PathBuf,
    /// The file this connection opened; another file at the path means the store
    /// was deleted or replaced, and writing on would lose messages.
    identity: Option<FileId>,
    /// The user key of the user this store was opened for (methods only).
    me: String,
    /// Where this process records its commits for the other processes (None: not
    /// yet opened, or the store is on a network share); opened at the first change.
    records: Option<Option<Records>>,
    /// A watcher's: the records it read and what it told from them.
    notes: Option<Notes>,
    /// The round's read transaction: wanted by `begin_round`, begun at the first
    /// query (a round answered from the records reads nothing).
    round: Round,
    network: bool,
    /// WAL mode: who checkpoints, and when (see `checkpoint.rs`).
    checkpoints: Option<Checkpoints>,
    /// GetUnread's counts between calls: what changed since is added.
    unread: UnreadCounts,
}

/// The watcher side of the records (see `store/notes.rs`).
struct Notes {
    ring: Option<Records>,
    inbox: Inbox,
    hints: Hints,
    /// The records the last read found since the last check (a round re-reads them
    /// all, and only a changed one is news), and a buffer for the next read.
    read: Vec<Record>,
    reading: Vec<Record>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Round {
    Off,
    Wanted,
    Open,
}

/// What a write transaction returns, and the change it made, if any (recorded for the
/// watchers of other processes).
trait Recorded {
    fn change(&self) -> Option<Change> {
        None
    }
}

impl Recorded for Change {
    fn change(&self) -> Option<Change> {
        Some(*self)
    }
}

impl Recorded for Option<Change> {
    fn change(&self) -> Option<Change> {
        *self
    }
}

impl Recorded for () {}
impl Recorded for i64 {}

/// Rows of the register after a revision one check reads at most.
const CHECK_ROWS: usize = 1000;

fn map_err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Busy,
            ErrorCode::ReadOnly => StoreError::ReadOnly,
            ErrorCode::NotADatabase => StoreError::NotADatabase,
            ErrorCode::DatabaseCorrupt => StoreError::Corrupt,
            ErrorCode::DiskFull => StoreError::Full,
            ErrorCode::SystemIoFailure => StoreError::Io,
            ErrorCode::CannotOpen => StoreError::CannotOpen(e.to_string()),
            ErrorCode::PermissionDenied => StoreError::ReadOnly,
            _ => StoreError::Other(e.to_string()),
        },
        _ => StoreError::Other(e.to_string()),
    }
}

shape::columns_by!(rusqlite::Row<'_>, get);

impl SqliteStore {
    /// Opens or creates the store; "" means [`location::default_location`].
    pub fn open(location: &str) -> Result<(SqliteStore, WatchPlan), StoreError> {
        if location::not_a_plain_path(location) {
            return Err(StoreError::NotAPlainPath);
        }
        let is_default = location.trim().is_empty();
        let path = if is_default {
            location::default_location()
        } else {
            PathBuf::from(location.trim())
        };
        file::prepare_dir(&path, is_default)?;
        let network = location::is_network_path(&path);
        let store = Self::open_path(&path, network, is_default)?;
        let plan = WatchPlan {
            store_file: Some(path.clone()),
            poll: if network { NETWORK_POLL } else { LOCAL_POLL },
        };
        Ok((store, plan))
    }

    /// `shared`: the machine-wide default store, in a folder every user may write to.
    fn open_path(path: &Path, network: bool, shared: bool) -> Result<SqliteStore, StoreError> {
        if path.is_dir() {
            return Err(StoreError::CannotOpen(format!(
                "{} is a folder",
                path.display()
            )));
        }
        // No URI parsing: the path is a file name, whatever it holds.
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if shared {
            file::refuse_links(path)?;
            flags |= OpenFlags::SQLITE_OPEN_NOFOLLOW;
        }
        let existed = std::fs::symlink_metadata(path).is_ok();
        let conn = Connection::open_with_flags(path, flags).map_err(map_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(map_err)?;
        // Judged by reading only: another application's file is left as it is.
        if schema::recognise(&conn)? == schema::Found::Foreign {
            return Err(StoreError::Foreign);
        }
        let journal = if network { "DELETE" } else { "WAL" };
        let mode: String = conn
            .query_row(&format!("PRAGMA journal_mode={journal}"), [], |r| r.get(0))
            .map_err(map_err)?;
        let wal = mode.eq_ignore_ascii_case("wal");
        let sync = if wal { "NORMAL" } else { "FULL" };
        conn.execute_batch(&format!("PRAGMA synchronous={sync};"))
            .map_err(map_err)?;
        let location = std::path::absolute(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .display()
            .to_string();
        let checkpoints = if wal {
            Some(Checkpoints::new(&conn, &location, path, flags).map_err(map_err)?)
        } else {
            None
        };
        schema::upgrade(&conn)?;
        if shared {
            file::share_new_file(path, existed);
        }
        Ok(SqliteStore {
            conn,
            location,
            identity: file::file_id(path),
            path: path.to_path_buf(),
            me: String::new(),
            records: if network { Some(None) } else { None },
            notes: None,
            round: Round::Off,
            network,
            checkpoints,
            unread: UnreadCounts::default(),
        })
    }

    /// Takes the user as given: every user of a SQLite store can read its file, so
    /// it has nothing to check a ticket against. The user becomes one the store knows
    /// (for mentions), unless the store is read-only.
    pub fn sign_in(&mut self, user: &str) -> Identity {
        self.me = crate::chat::user_key(user);
        let _ = self.write(|tx| change::remember_users(tx, [&user.to_string()]));
        Identity {
            viewer: Viewer(self.me.clone()),
            shown: user.to_string(),
        }
    }

    /// Runs `f` in a write transaction (BEGIN IMMEDIATE: the write lock is taken first,
    /// so a change is numbered under it); a change it made is recorded for the other
    /// processes before anything else (a checkpoint) happens.
    fn write<T: Recorded>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.still_there()?;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_err)?;
        let value = f(&tx)?;
        tx.commit().map_err(map_err)?;
        if let Some(change) = value.change() {
            self.record(&change);
        }
        self.committed();
        Ok(value)
    }

    fn committed(&self) {
        if let Some(c) = &self.checkpoints {
            c.committed(&self.conn);
        }
    }

    fn list(&self, sql: &str, params: impl rusqlite::Params) -> Messages {
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_err)?;
        let mut rows = stmt.query(params).map_err(map_err)?;
        let mut list = Vec::new();
        while let Some(row) = rows.next().map_err(map_err)? {
            list.push(shape::message(row, 0)?);
        }
        Ok(list)
    }

    /// GetUnread's answer (`store/unread.rs`): the groups changed after `since`, or
    /// every group with something unread. In one read transaction, so the head and
    /// the counts are one snapshot.
    fn unread_since(&mut self, since: Option<(i64, i64)>) -> Result<unread::Answer, StoreError> {
        let tx = self.conn.unchecked_transaction().map_err(map_err)?;
        let head: i64 = tx
            .prepare_cached(sql::HEAD)
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(map_err)?;
        let moves: i64 = tx
            .prepare_cached("SELECT moves FROM chat_mark_moves WHERE user_key = ?1")
            .and_then(|mut s| s.query_row([&self.me], |r| r.get(0)).optional())
            .map_err(map_err)?
            .unwrap_or(0);
        let mut answer = unread::Answer {
            whole: true,
            at: (head, moves),
            ids: Vec::new(),
            unread: Vec::new(),
            mentions: Vec::new(),
        };
        let push = |a: &mut unread::Answer, id: i64, u: i64, m: i64| {
            a.ids.push(id);
            a.unread.push(u);
            a.mentions.push(m);
        };
        if let Some((rev, moved)) = since.filter(|&(r, m)| r <= head && m <= moves) {
            let most = unread::CHANGES_AT_MOST as i64 + 1;
            let mut changed: Vec<i64> = Vec::new();
            for (query, args) in [
                (sql::UNREAD_CHANGED, params![rev, most]),
                (sql::UNREAD_MARKS_MOVED, params![self.me, moved, most]),
            ] {
                let mut stmt = tx.prepare_cached(query).map_err(map_err)?;
                let ids = stmt.query_map(args, |r| r.get(0)).map_err(map_err)?;
                for id in ids {
                    changed.push(id.map_err(map_err)?);
                }
            }
            if changed.len() <= unread::CHANGES_AT_MOST {
                changed.sort_unstable();
                changed.dedup();
                answer.whole = false;
                let mut stmt = tx.prepare_cached(sql::UNREAD_OF_GROUP).map_err(map_err)?;
                for id in changed {
                    let counts: Option<(i64, i64)> = stmt
                        .query_row(params![self.me, id], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                        .map_err(map_err)?;
                    if let Some((u, m)) = counts {
                        push(&mut answer, id, u, m);
                    }
                }
                return Ok(answer);
            }
        }
        let mut stmt = tx.prepare_cached(sql::UNREAD).map_err(map_err)?;
        let mut rows = stmt.query([&self.me]).map_err(map_err)?;
        while let Some(r) = rows.next().map_err(map_err)? {
            let get = |i| r.get::<_, i64>(i).map_err(map_err);
            push(&mut answer, get(0)?, get(1)?, get(2)?);
        }
        Ok(answer)
    }

    /// Fails once the file at the path is no longer the one this connection has open.
    fn still_there(&self) -> Result<(), StoreError> {
        match self.identity {
            Some(id) if file::file_id(&self.path) != Some(id) => Err(StoreError::Replaced),
            _ => Ok(()),
        }
    }

    fn visible(&self, group: i64) -> Result<(), StoreError> {
        let found: Option<bool> = self
            .conn
            .prepare_cached(
                "SELECT is_public = 1 OR EXISTS(SELECT 1 FROM chat_members \
                 WHERE user_key = ?1 AND group_id = g.id) FROM chat_groups g WHERE id = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![self.me, group], |r| r.get(0))
                    .optional()
            })
            .map_err(map_err)?;
        shape::visible(found, group)
    }
}

impl Store for SqliteStore {
    fn location(&self) -> &str {
        &self.location
    }

    fn groups(&mut self, limit: Option<i64>) -> Result<Vec<Group>, StoreError> {
        self.still_there()?;
        let mut stmt = self.conn.prepare_cached(sql::GROUPS).map_err(map_err)?;
        // SQLite's LIMIT -1: no limit.
        let mut rows = stmt
            .query(params![self.me, limit.unwrap_or(-1)])
            .map_err(map_err)?;
        let mut groups = Vec::new();
        while let Some(row) = rows.next().map_err(map_err)? {
            groups.push(shape::group(row)?);
        }
        Ok(shape::newest_first(groups))
    }

    fn group(&mut self, id: i64) -> Result<Group, StoreError> {
        self.still_there()?;
        self.visible(id)?;
        let mut stmt = self.conn.prepare_cached(sql::GROUP).map_err(map_err)?;
        let mut rows = stmt.query(params![self.me, id]).map_err(map_err)?;
        match rows.next().map_err(map_err)? {
            Some(row) => shape::group(row),
            None => Err(StoreError::UnknownGroup(id)),
        }
    }

    fn unread(&mut self) -> Result<Unread, StoreError> {
        self.still_there()?;
        let answer = self.unread_since(self.unread.since())?;
        self.unread.apply(answer)?;
        Ok(self.unread.total())
    }

    fn messages(&mut self, group: i64, page: Page, limit: i64) -> Messages {
        self.still_there()?;
        self.visible(group)?;
        let list = self.list(sql::page(page), params![group, page.bound(), limit])?;
        Ok(shape::ascending(list))
    }

    fn send(&mut self, m: &NewMessage, file: Option<&NewFile>, period: i64) -> Changed {
        let row = SendRow::new(m, period)?;
        self.write(|tx| change::send(tx, m, &row, file))
    }

    fn file(&mut self, id: i64) -> Result<Vec<u8>, StoreError> {
        use std::io::Read;
        self.still_there()?;
        let group: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT r.group_id FROM chat_files f JOIN chat_register r ON r.id = f.message_id
                  WHERE f.id = ?1 AND r.deleted = 0",
            )
            .and_then(|mut s| s.query_row(params![id], |r| r.get(0)).optional())
            .map_err(map_err)?;
        let visible = group.is_some_and(|g| self.visible(g).is_ok());
        if !visible {
            return Err(StoreError::UnknownFile(id));
        }
        let mut data = Vec::new();
        self.conn
            .blob_open(rusqlite::DatabaseName::Main, "chat_files", "data", id, true)
            .map_err(map_err)?
            .read_to_end(&mut data)
            .map_err(|e| StoreError::Other(e.to_string()))?;
        Ok(data)
    }

    fn search(&mut self, text: &str, group: i64, limit: i64) -> Messages {
        self.still_there()?;
        if group != 0 {
            self.visible(group)?;
        }
        // One FTS5 phrase (quotes doubled), folded as the index folds: ё is е.
        let phrase = format!(
            "\"{}\"",
            text.replace('ё', "е")
                .replace('Ё', "Е")
                .replace('"', "\"\"")
        );
        self.list(sql::SEARCH, params![phrase, self.me, group, limit])
    }

    fn discussion(&mut self, context: &str, title: &str) -> Result<i64, StoreError> {
        self.write(|tx| change::discussion(tx, context, title))
    }

    fn edit(&mut self, id: i64, text: &str, at: i64) -> Changed {
        let me = self.me.clone();
        self.write(|tx| change::edit(tx, &me, id, text, at))
    }

    fn delete(&mut self, id: i64) -> Result<Option<Change>, StoreError> {
        let me = self.me.clone();
        self.write(|tx| change::delete(tx, &me, id))
    }

    fn updates(&mut self, group: i64, after: i64, limit: i64) -> Messages {
        self.still_there()?;
        self.visible(group)?;
        self.list(sql::UPDATES, params![group, after, limit])
    }

    fn mark_read(&mut self, group: i64, up_to: i64) -> Result<(), StoreError> {
        self.still_there()?;
        self.visible(group)?;
        self.conn
            .prepare_cached(
                "INSERT INTO chat_reads(user_key, group_id, up_to)
                 SELECT ?1, ?2, min(?3, coalesce(max(id), 0)) FROM chat_register WHERE group_id = ?2
                 ON CONFLICT(user_key, group_id) DO UPDATE SET up_to = max(up_to, excluded.up_to)",
            )
            .and_then(|mut s| s.execute(params![self.me, group, up_to.max(0)]))
            .map_err(map_err)?;
        self.committed();
        Ok(())
    }
}

impl SqliteStore {
    /// Records a committed change for the watchers of other processes.
    fn record(&mut self, c: &Change) {
        let path = &self.path;
        let ring = self
            .records
            .get_or_insert_with(|| Records::for_writing(path));
        if let Some(ring) = ring {
            ring.write(&Record {
                rev: c.rev,
                id: c.id,
                group: c.group,
            });
        }
    }

    /// Before the feed's first query of a round (or a query outside one): checks that
    /// the file is still the one opened, and begins the round's read transaction if
    /// `begin_round` wants one. A round the records answer checks nothing: a record
    /// is bound to the file it was made for.
    fn in_round(&mut self) -> Result<(), StoreError> {
        if self.round == Round::Open {
            return Ok(());
        }
        self.still_there()?;
        if self.round == Round::Wanted {
            let _ = self
                .conn
                .prepare_cached("BEGIN")
                .and_then(|mut s| s.execute([]));
            self.round = Round::Open;
        }
        Ok(())
    }

    fn store_head(&mut self) -> Result<i64, StoreError> {
        self.in_round()?;
        self.conn
            .prepare_cached(sql::HEAD)
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(map_err)
    }

    fn store_changes(&mut self, viewer: &Viewer, after: i64, up_to: i64) -> Changes {
        self.in_round()?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT r.group_id, max(r.id), max(r.rev), count(*)
                   FROM chat_register r JOIN chat_groups g ON g.id = r.group_id
                  WHERE r.rev > ?2 AND r.rev <= ?3
                    AND (g.is_public = 1 OR EXISTS(SELECT 1 FROM chat_members m
                                                    WHERE m.user_key = ?1 AND m.group_id = r.group_id))
                  GROUP BY r.group_id ORDER BY r.group_id",
            )
            .map_err(map_err)?;
        let rows = stmt
            .query_map(params![viewer.0, after, up_to], |r| {
                Ok(GroupChanges {
                    group: r.get(0)?,
                    last_id: r.get(1)?,
                    last_rev: r.get(2)?,
                    count: r.get(3)?,
                })
            })
            .map_err(map_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(map_err)
    }

    /// The watcher's notes, started at the store's head on first use; None where
    /// nothing records commits (a network share).
    fn notes(&mut self) -> Result<Option<&mut Notes>, StoreError> {
        if self.network {
            return Ok(None);
        }
        if self.notes.is_none() {
            let head = self.store_head()?;
            let mut inbox = Inbox::default();
            let hints = Hints::new(head, &mut inbox, CHECK_PACE);
            self.notes = Some(Notes {
                ring: None,
                inbox,
                hints,
                read: Vec::new(),
                reading: Vec::new(),
            });
        }
        Ok(self.notes.as_mut())
    }

    /// Takes every record after the last checked revision: new ones, and again the
    /// ones told but not yet checked (a record rewritten since is contested).
    fn read_records(&mut self) {
        // Only before the round's snapshot begins: a revision told from a record must
        // be visible to every query of the round that follows.
        if self.round == Round::Open {
            return;
        }
        let path = &self.path;
        let Some(notes) = self.notes.as_mut() else {
            return;
        };
        if notes.ring.is_none() {
            notes.ring = Records::for_reading(path);
        }
        let Some(ring) = &notes.ring else {
            return;
        };
        let mut found = std::mem::take(&mut notes.reading);
        found.clear();
        ring.read_after(notes.hints.checking(&notes.inbox).0, &mut found);
        // What the last read found and recorded, unchanged, is no news: recording it
        // again changes nothing (a check forgets what was read: see `check`).
        let same = notes
            .read
            .iter()
            .zip(&found)
            .take_while(|(a, b)| a == b)
            .count();
        for r in &found[same..] {
            notes.inbox.record(
                r.rev,
                Note {
                    group: r.group,
                    id: r.id,
                },
            );
        }
        notes.reading = std::mem::replace(&mut notes.read, found);
    }

    /// Compares what the records told with the register (see `store/notes.rs`).
    fn check(&mut self) -> Result<(), StoreError> {
        let Some((after, started)) = self.notes.as_ref().map(|n| n.hints.checking(&n.inbox)) else {
            return Ok(());
        };
        self.in_round()?;
        let list = self
            .conn
            .prepare_cached(
                "SELECT rev, group_id, id FROM chat_register WHERE rev > ?1 ORDER BY rev LIMIT ?2",
            )
            .and_then(|mut s| {
                s.query_map(params![after, CHECK_ROWS as i64], |r| {
                    Ok((
                        r.get(0)?,
                        Note {
                            group: r.get(1)?,
                            id: r.get(2)?,
                        },
                    ))
                })?
                .collect::<Result<Vec<(i64, Note)>, _>>()
            })
            .map_err(map_err)?;
        if let Some(n) = self.notes.as_mut() {
            let complete = list.len() < CHECK_ROWS;
            n.hints.settle(&mut n.inbox, &list, complete, started);
            // The notes changed and the revision read after may have moved: the next
            // read records everything it finds, as the first did.
            n.read.clear();
        }
        Ok(())
    }

    /// Which of `groups` the viewer sees.
    fn visible_groups(&mut self, viewer: &Viewer, groups: &[i64]) -> Result<Vec<i64>, StoreError> {
        self.in_round()?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT is_public = 1 OR EXISTS(SELECT 1 FROM chat_members
                                                  WHERE user_key = ?1 AND group_id = g.id)
                   FROM chat_groups g WHERE id = ?2",
            )
            .map_err(map_err)?;
        let mut seen = Vec::new();
        for g in groups {
            let visible: Option<bool> = stmt
                .query_row(params![viewer.0, g], |r| r.get(0))
                .optional()
                .map_err(map_err)?;
            if visible == Some(true) {
                seen.push(*g);
            }
        }
        Ok(seen)
    }
}

impl Feed for SqliteStore {
    fn head(&mut self, _viewer: &Viewer) -> Result<i64, StoreError> {
        if self.notes()?.is_none() {
            return self.store_head();
        }
        self.read_records();
        let now = Instant::now();
        let must_check = self
            .notes
            .as_ref()
            .is_some_and(|n| n.hints.must_check(&n.inbox, now));
        if must_check {
            self.check()?;
        }
        let (told, head) = match self.notes.as_mut() {
            Some(n) => (n.hints.told(), n.hints.head(&n.inbox, now)),
            None => return self.store_head(),
        };
        if head > told {
            return Ok(head);
        }
        // Nothing recorded: a commit without a record (an older release, a writer that
        // could not open the ring) or none yet. The store says.
        if self.store_head()? != head {
            self.check()?;
        }
        Ok(self.notes.as_ref().map_or(head, |n| n.hints.told()))
    }

    fn changes(&mut self, viewer: &Viewer, after: i64, up_to: i64) -> Changes {
        // Twice at most: once more after learning which groups the viewer sees.
        for _ in 0..2 {
            let Some(n) = self.notes.as_ref() else {
                break;
            };
            match n.hints.answer(&n.inbox, viewer, after, up_to) {
                Answer::Told(changes) => return Ok(changes),
                Answer::Unknown(groups) => {
                    let seen = self.visible_groups(viewer, &groups)?;
                    if let Some(n) = self.notes.as_mut() {
                        n.hints.learn(viewer, &groups, &seen);
                    }
                }
                Answer::Ask => break,
            }
        }
        self.store_changes(viewer, after, up_to)
    }

    fn change_token(&mut self, _viewer: &Viewer) -> Result<i64, StoreError> {
        self.still_there()?;
        // Cached: the slow poll asks this every 10 s in every idle process, and a
        // statement prepared afresh each time was most of that wake-up's work.
        self.conn
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(map_err)
    }

    fn retracted(&mut self) -> Option<i64> {
        self.notes.as_mut()?.hints.take_retraction()
    }

    /// One read transaction for the round's queries, instead of one each; begun at
    /// the first query, so a round the records answer reads nothing.
    fn begin_round(&mut self) {
        self.round = Round::Wanted;
    }

    fn end_round(&mut self) {
        if self.round == Round::Open && !self.conn.is_autocommit() {
            let _ = self
                .conn
                .prepare_cached("COMMIT")
                .and_then(|mut s| s.execute([]));
        }
        self.round = Round::Off;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::new_message;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chat.sqlite");
        let (s, plan) = SqliteStore::open(path.to_str().unwrap()).unwrap();
        assert_eq!(plan.poll, LOCAL_POLL);
        (dir, s)
    }

    /// The store as `user` sees it.
    fn as_<'a>(s: &'a mut SqliteStore, user: &str) -> &'a mut SqliteStore {
        s.sign_in(user);
        s
    }

    fn nobody() -> Viewer {
        Viewer(String::new())
    }

    fn send(s: &mut SqliteStore, from: &str, topic: &str, who: &str, text: &str) -> Change {
        s.send(&new_message(from, topic, who, text).unwrap(), None, 1_000)
            .unwrap()
    }

    /// The lines of SQLite's plan that read a whole stored table (`SCAN t` without an
    /// index), for the queries each call makes.
    fn full_scans(s: &SqliteStore, sql: &str, args: &[&dyn rusqlite::ToSql]) -> Vec<String> {
        plan(s, sql, args)
            .into_iter()
            .filter(|d| {
                d.starts_with("SCAN ")
                    && !d.contains(" USING ")
                    && !d.contains("VIRTUAL TABLE")
                    && d != "SCAN CONSTANT ROW"
                    && !d.starts_with("SCAN v") // the CTE rows, one per visible group
                    // GetGroups' two index walks, read back (at most twice its limit)
                    && !d.starts_with("SCAN (subquery-")
                    && d != "SCAN newest"
            })
            .collect()
    }

    /// SQLite's plan of a statement, one line per step (parameters left unbound).
    fn plan(s: &SqliteStore, sql: &str, args: &[&dyn rusqlite::ToSql]) -> Vec<String> {
        let mut stmt = s
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        for (i, a) in args.iter().enumerate() {
            stmt.raw_bind_parameter(i + 1, a).unwrap();
        }
        let mut rows = stmt.raw_query();
        let mut details = Vec::new();
        while let Some(r) = rows.next().unwrap() {
            details.push(r.get::<_, String>(3).unwrap());
        }
        details
    }

    /// The statements of a trigger's body, `new.x` and `old.x` made parameters.
    fn trigger_statements(sql: &str) -> Vec<String> {
        let body = &sql[sql.find("BEGIN").unwrap() + 5..sql.rfind("END").unwrap()];
        let code: String = body
            .lines()
            .map(|l| l.split("--").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        let mut out = String::new();
        let mut rest = code.as_str();
        let next = |t: &str| {
            let lower = t.to_ascii_lowercase();
            lower
                .find("new.")
                .into_iter()
                .chain(lower.find("old."))
                .min()
        };
        while let Some(at) = next(rest) {
            let word_before = rest[..at]
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
            out.push_str(&rest[..at]);
            let after = &rest[at + 4..];
            let len = after
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if word_before {
                out.push_str(&rest[at..at + 4 + len]);
            } else {
                out.push('?');
            }
            rest = &after[len..];
        }
        out.push_str(rest);
        out.split(';')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn per_call_queries_read_by_index_only() {
        // 1,000 users' read marks: a group's marks must be found by group, not by a
        // scan of everyone's marks (GetGroups once took 40 ms at 1 M messages so).
        let (_d, s) = store();
        let me = "ann";
        let groups = full_scans(&s, sql::GROUPS, &[&me, &-1]);
        assert_eq!(groups, Vec::<String>::new(), "GetGroups");
        let one = full_scans(&s, sql::GROUP, &[&me, &1]);
        assert_eq!(one, Vec::<String>::new(), "FillChat(Group)");
        for page in [Page::Newest, Page::After(1), Page::Before(9)] {
            assert!(full_scans(&s, sql::page(page), &[&1, &0, &50]).is_empty());
        }
        assert!(full_scans(&s, sql::UPDATES, &[&1, &0, &50]).is_empty());
        let search = full_scans(&s, sql::SEARCH, &[&"\"abc\"", &me, &0, &50]);
        assert_eq!(search, Vec::<String>::new(), "Search");
        assert!(full_scans(&s, sql::UNREAD, &[&me]).is_empty(), "GetUnread");
        let changed = full_scans(&s, sql::UNREAD_CHANGED, &[&0, &201]);
        assert_eq!(changed, Vec::<String>::new(), "GetUnread's changes");
        let moved = full_scans(&s, sql::UNREAD_MARKS_MOVED, &[&me, &0, &201]);
        assert_eq!(moved, Vec::<String>::new(), "GetUnread's moved marks");
        let one = full_scans(&s, sql::UNREAD_OF_GROUP, &[&me, &1]);
        assert_eq!(one, Vec::<String>::new(), "GetUnread of one group");
        // GetGroups and GetUnread count nothing: per group one summary row and one read
        // mark. GetGroups picks the newest by two index walks in the list's order and
        // sorts only what they return (50 + 50 ids, a top-N sorter); GetUnread finds
        // the public topics by is_public, not every group without a context. Nothing
        // else is sorted or kept aside.
        let limit = 50;
        type Call<'a> = (
            &'a str,
            &'a str,
            &'a [&'a dyn rusqlite::ToSql],
            &'a [&'a str],
        );
        let calls: [Call; 2] = [
            (
                "GetGroups",
                sql::GROUPS,
                &[&me, &limit],
                &[
                    "INDEX chat_summary_listed_newest",
                    "INDEX chat_members_newest",
                ],
            ),
            (
                "GetUnread",
                sql::UNREAD,
                &[&me],
                &["INDEX chat_groups_public"],
            ),
        ];
        for (name, query, args, indexes) in calls {
            let steps = plan(&s, query, args);
            for index in indexes {
                assert!(
                    steps.iter().any(|d| d.contains(index)),
                    "{name} by {index}: {steps:?}"
                );
            }
            for table in [
                "chat_register",
                "chat_mentions",
                "chat_files",
                "TEMP B-TREE",
            ] {
                let sorts = usize::from(name == "GetGroups" && table == "TEMP B-TREE");
                let found = steps.iter().filter(|d| d.contains(table)).count();
                assert_eq!(found, sorts, "{name} reads {table}: {steps:?}");
            }
        }
        // Every statement of the triggers that keep the summaries reads by index too:
        // they run on every send, edit, delete and MarkRead.
        let triggers: Vec<(String, String)> = s
            .conn
            .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(triggers.len() >= 10, "{triggers:?}");
        for (name, sql) in triggers {
            for statement in trigger_statements(&sql) {
                let scans = full_scans(&s, &statement, &[]);
                assert_eq!(scans, Vec::<String>::new(), "{name}: {statement}");
            }
        }
    }

    #[test]
    fn schema_and_wal() {
        let (_d, s) = store();
        let mode: String = s
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let n: i64 = s
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type='index' AND name LIKE 'chat_%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 12);
        let marks: (i64, i64) = s
            .conn
            .query_row(
                "SELECT * FROM pragma_application_id, pragma_user_version",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(
            marks,
            (
                i64::from(schema::APP_ID),
                i64::from(super::super::SQLITE_VERSION)
            )
        );
    }

    #[test]
    fn grouping_visibility_and_unread() {
        let (_d, mut s) = store();
        let a = send(&mut s, "Ann", "Deal", "Bob", "1");
        let b = send(&mut s, "BOB", "Deal", "ann", "2");
        assert_eq!(a.group, b.group, "same topic and member set is one group");
        let other = send(&mut s, "Ann", "Deal", "Bob;Carl", "3");
        assert_ne!(other.group, a.group);
        let public = send(&mut s, "Carl", "News", "", "4");

        let carl: Vec<i64> = as_(&mut s, "carl")
            .groups(None)
            .unwrap()
            .iter()
            .map(|g| g.id)
            .collect();
        assert_eq!(carl, vec![public.group, other.group]);
        let ann = as_(&mut s, "ann").groups(None).unwrap();
        assert_eq!(
            ann.iter().map(|g| g.id).collect::<Vec<_>>(),
            vec![public.group, other.group, a.group]
        );
        let deal = ann.iter().find(|g| g.id == a.group).unwrap();
        assert_eq!(deal.unread, 1, "only Bob's message is unread for Ann");
        assert_eq!(deal.last.as_ref().unwrap().id, b.id);
        assert_eq!(deal.participants, vec!["Bob", "Ann"]);
        assert!(as_(&mut s, "dave")
            .groups(None)
            .unwrap()
            .iter()
            .all(|g| g.id == public.group));

        assert_eq!(
            as_(&mut s, "carl").messages(a.group, Page::Newest, 10),
            Err(StoreError::UnknownGroup(a.group))
        );
        assert_eq!(
            as_(&mut s, "carl").mark_read(a.group, 5),
            Err(StoreError::UnknownGroup(a.group))
        );
        assert_eq!(
            as_(&mut s, "ann").messages(999, Page::Newest, 10),
            Err(StoreError::UnknownGroup(999))
        );

        as_(&mut s, "ann").mark_read(a.group, b.id).unwrap();
        as_(&mut s, "ann").mark_read(a.group, 0).unwrap();
        let deal = as_(&mut s, "ann")
            .groups(None)
            .unwrap()
            .into_iter()
            .find(|g| g.id == a.group)
            .unwrap();
        assert_eq!(deal.unread, 0, "read marks never move back");
    }

    #[test]
    fn paging() {
        let (_d, mut s) = store();
        let ids: Vec<i64> = (0..25)
            .map(|i| send(&mut s, "a", "t", "", &format!("m{i}")).id)
            .collect();
        let g = as_(&mut s, "a").groups(None).unwrap()[0].id;
        let newest = as_(&mut s, "a").messages(g, Page::Newest, 10).unwrap();
        assert_eq!(
            newest.iter().map(|m| m.id).collect::<Vec<_>>(),
            ids[15..].to_vec()
        );
        let after = as_(&mut s, "a")
            .messages(g, Page::After(ids[4]), 3)
            .unwrap();
        assert_eq!(
            after.iter().map(|m| m.id).collect::<Vec<_>>(),
            ids[5..8].to_vec()
        );
        let hist = as_(&mut s, "a")
            .messages(g, Page::Before(ids[15]), 10)
            .unwrap();
        assert_eq!(
            hist.iter().map(|m| m.id).collect::<Vec<_>>(),
            ids[5..15].to_vec()
        );
        assert!(as_(&mut s, "a")
            .messages(g, Page::After(ids[24]), 10)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_round_reads_one_snapshot_and_lets_go_of_it() {
        let (d, mut s) = store();
        send(&mut s, "a", "x", "", "1");
        let (mut feed, _) =
            SqliteStore::open(d.path().join("chat.sqlite").to_str().unwrap()).unwrap();
        feed.begin_round();
        let head = feed.head(&nobody()).unwrap();
        let first = feed.changes(&nobody(), 0, head).unwrap();
        let later = send(&mut s, "a", "x", "", "2");
        assert_eq!(
            feed.head(&nobody()).unwrap(),
            head,
            "no record is read once the round's snapshot began"
        );
        assert_eq!(
            feed.changes(&nobody(), 0, later.rev).unwrap(),
            first,
            "one snapshot"
        );
        feed.end_round();
        // A round left open would pin the WAL: no checkpoint could ever complete.
        let busy: i64 = s
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
            .unwrap();
        assert_eq!(busy, 0, "the round's read lock is released");
        assert_eq!(feed.head(&nobody()).unwrap(), later.rev);
    }

    /// Once the watcher knows whether its user sees a group, a round about a recorded
    /// commit in it reads nothing from the store (the round's snapshot never begins).
    #[cfg(unix)]
    #[test]
    fn a_round_the_records_answer_reads_nothing() {
        let (d, mut s) = store();
        let (mut feed, _) =
            SqliteStore::open(d.path().join("chat.sqlite").to_str().unwrap()).unwrap();
        let bob = Viewer(crate::chat::user_key("bob"));
        let round = |feed: &mut SqliteStore, after: i64| {
            feed.begin_round();
            let head = feed.head(&bob).unwrap();
            let changes = feed.changes(&bob, after, head).unwrap();
            let read = feed.round == Round::Open;
            feed.end_round();
            (head, changes, read)
        };
        let (start, _, _) = round(&mut feed, 0);
        let first = send(&mut s, "a", "pub", "", "1");
        let (head, changes, read) = round(&mut feed, start);
        assert_eq!(head, first.rev);
        assert_eq!(changes.len(), 1);
        assert!(read, "a group met for the first time is looked up");
        let private = send(&mut s, "a", "x", "c", "not for bob");
        let second = send(&mut s, "a", "pub", "", "2");
        let (head, changes, read) = round(&mut feed, first.rev);
        assert_eq!(head, second.rev);
        assert!(read, "the private group is met for the first time");
        assert_eq!(
            changes,
            vec![GroupChanges {
                group: second.group,
                last_id: second.id,
                last_rev: second.rev,
                count: 1
            }]
        );
        let third = send(&mut s, "a", "pub", "", "3");
        send(&mut s, "a", "x", "c", "still not for bob");
        let (head, changes, read) = round(&mut feed, second.rev);
        assert_eq!(head, third.rev + 1);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].last_id, third.id);
        assert!(!read, "answered from the records alone");
        assert_ne!(private.group, second.group);
    }

    #[test]
    fn changes_are_per_user_and_by_revision() {
        let (_d, mut s) = store();
        let start = s.head(&nobody()).unwrap();
        let private = send(&mut s, "a", "x", "b", "1");
        let public = send(&mut s, "c", "pub", "", "2");
        assert_eq!((private.rev, public.rev), (start + 1, start + 2));
        let head = s.head(&nobody()).unwrap();
        assert_eq!(head, public.rev);
        let groups = |s: &mut SqliteStore, user: &str, after, up_to| -> Vec<(i64, i64, i64, i64)> {
            s.changes(&Viewer(user.into()), after, up_to)
                .unwrap()
                .iter()
                .map(|c| (c.group, c.last_id, c.last_rev, c.count))
                .collect()
        };
        assert_eq!(
            groups(&mut s, "b", start, head),
            vec![
                (private.group, private.id, private.rev, 1),
                (public.group, public.id, public.rev, 1)
            ]
        );
        assert_eq!(
            groups(&mut s, "z", start, head),
            vec![(public.group, public.id, public.rev, 1)]
        );
        let more = send(&mut s, "a", "x", "b", "3");
        assert!(groups(&mut s, "z", head, more.rev).is_empty(), "invisible");
        assert!(groups(&mut s, "b", head, head).is_empty(), "empty range");
        assert_eq!(
            groups(&mut s, "b", start, more.rev)[0],
            (private.group, more.id, more.rev, 2)
        );
    }

    #[test]
    fn edits_tombstones_replies_and_mentions() {
        let (_d, mut s) = store();
        let first = send(&mut s, "Ann", "Deal", "Bob", "hi @bob");
        let second = {
            let mut m = new_message("Bob", "Deal", "Ann", "hi @Ann and @nobody").unwrap();
            m.reply_to = Some(first.id);
            as_(&mut s, "bob").send(&m, None, 2_000).unwrap()
        };
        let list = as_(&mut s, "ann")
            .messages(first.group, Page::Newest, 10)
            .unwrap();
        assert_eq!(list[0].mentions, vec!["Bob"]);
        assert_eq!(
            (list[1].reply_to, list[1].mentions.clone()),
            (Some(first.id), vec!["Ann".to_string()])
        );
        let ann = as_(&mut s, "ann").groups(None).unwrap();
        assert_eq!((ann[0].unread, ann[0].mentions), (1, 1));
        // Only the publisher edits; an edit takes the next revision and re-reads mentions.
        assert_eq!(
            as_(&mut s, "ann").edit(second.id, "x", 3_000),
            Err(StoreError::NotAuthor(second.id))
        );
        let edited = as_(&mut s, "bob")
            .edit(second.id, "no mention now", 3_000)
            .unwrap();
        assert_eq!(edited.rev, second.rev + 1);
        let ann = as_(&mut s, "ann").groups(None).unwrap();
        assert_eq!(ann[0].mentions, 0, "the edit took the mention back");
        let updates = as_(&mut s, "ann")
            .updates(first.group, second.rev, 10)
            .unwrap();
        assert_eq!(updates.len(), 1);
        assert_eq!(
            (updates[0].edited, updates[0].text.as_str()),
            (Some(3_000), "no mention now")
        );
        // Delete: a tombstone, once; then it cannot be edited.
        let gone = as_(&mut s, "bob").delete(second.id).unwrap().unwrap();
        assert!(as_(&mut s, "bob").delete(second.id).unwrap().is_none());
        assert_eq!(
            as_(&mut s, "bob").edit(second.id, "back", 4_000),
            Err(StoreError::Deleted(second.id))
        );
        let stone = &as_(&mut s, "ann")
            .updates(first.group, edited.rev, 10)
            .unwrap()[0];
        assert_eq!(
            (stone.rev, stone.deleted, stone.text.as_str()),
            (gone.rev, true, "")
        );
        assert_eq!(
            as_(&mut s, "ann").groups(None).unwrap()[0].unread,
            0,
            "a tombstone is not unread"
        );
        // Someone who cannot see the group gets the same error as for no message at all.
        assert_eq!(
            as_(&mut s, "eve").delete(first.id),
            Err(StoreError::UnknownMessage(first.id))
        );
        assert_eq!(
            as_(&mut s, "eve").delete(999),
            Err(StoreError::UnknownMessage(999))
        );
        // A reply must stay in its conversation.
        let other = send(&mut s, "Ann", "Other", "Carl", "x");
        let mut m = new_message("Ann", "Deal", "Bob", "y").unwrap();
        m.reply_to = Some(other.id);
        assert_eq!(
            as_(&mut s, "ann").send(&m, None, 5_000),
            Err(StoreError::BadReply(other.id))
        );
        // Read marks of every member, for the page's read ticks.
        as_(&mut s, "bob").mark_read(first.group, first.id).unwrap();
        let reads = as_(&mut s, "ann")
            .groups(None)
            .unwrap()
            .into_iter()
            .find(|g| g.id == first.group)
            .unwrap()
            .reads;
        assert_eq!(
            reads,
            Some([("Bob".to_string(), first.id), ("Ann".to_string(), 0)].into())
        );
    }

    #[test]
    fn public_topics_mention_the_users_the_store_knows() {
        let (_d, mut s) = store();
        as_(&mut s, "Иванов Иван");
        send(&mut s, "Анна", "Новости", "", "hi");
        let m = send(
            &mut s,
            "Борис",
            "Новости",
            "",
            "@Иванов Иван, @анна, @Ева: привет",
        );
        let got = as_(&mut s, "анна")
            .messages(m.group, Page::After(m.id - 1), 1)
            .unwrap();
        assert_eq!(got[0].mentions, vec!["Иванов Иван", "Анна"]);
        assert_eq!(as_(&mut s, "анна").groups(None).unwrap()[0].mentions, 1);
    }

    #[test]
    fn search_folds_case_and_yo_and_sees_only_what_the_user_may() {
        let (_d, mut s) = store();
        let private = send(
            &mut s,
            "Ann",
            "Deal",
            "Bob",
            "Счёт на оплату ПЕРЕДАН в банк",
        );
        let public = send(&mut s, "Bob", "News", "", "новый счет за апрель");
        let ids = |s: &mut SqliteStore, user: &str, q: &str, g: i64| -> Vec<i64> {
            as_(s, user)
                .search(q, g, 10)
                .unwrap()
                .iter()
                .map(|m| m.id)
                .collect()
        };
        assert_eq!(
            ids(&mut s, "ann", "СЧЕТ", 0),
            vec![public.id, private.id],
            "newest first, ё = е"
        );
        assert_eq!(ids(&mut s, "ann", "передан", 0), vec![private.id]);
        assert_eq!(
            ids(&mut s, "eve", "счет", 0),
            vec![public.id],
            "never another user's group"
        );
        assert_eq!(ids(&mut s, "ann", "счет", private.group), vec![private.id]);
        assert_eq!(
            as_(&mut s, "eve").search("счет", private.group, 10),
            Err(StoreError::UnknownGroup(private.group))
        );
        as_(&mut s, "ann")
            .edit(private.id, "уже оплачено", 5)
            .unwrap();
        assert_eq!(
            ids(&mut s, "ann", "передан", 0),
            Vec::<i64>::new(),
            "the old text is gone"
        );
        assert_eq!(ids(&mut s, "ann", "оплачен", 0), vec![private.id]);
        as_(&mut s, "ann").delete(private.id).unwrap();
        assert_eq!(
            ids(&mut s, "ann", "оплачен", 0),
            Vec::<i64>::new(),
            "a tombstone is never found"
        );
        assert_eq!(
            ids(&mut s, "ann", "\"кавычки\" OR x", 0),
            Vec::<i64>::new(),
            "a phrase, not syntax"
        );
    }

    #[test]
    fn files_go_with_their_message_and_only_to_who_may_see_it() {
        let (_d, mut s) = store();
        let png = b"\x89PNG\r\n\x1a\nimage bytes".to_vec();
        let file = crate::chat::files::new_file("снимок.png", &png).unwrap();
        let m = crate::chat::new_file_message("Ann", "Deal", "Bob", "").unwrap();
        let sent = as_(&mut s, "ann").send(&m, Some(&file), 1).unwrap();
        let shown = &as_(&mut s, "bob")
            .messages(sent.group, Page::Newest, 1)
            .unwrap()[0];
        assert_eq!(shown.files.len(), 1);
        let info = &shown.files[0];
        assert_eq!(
            (info.name.as_str(), info.size, info.mime.as_str()),
            ("снимок.png", png.len() as i64, "image/png")
        );
        assert_eq!(as_(&mut s, "bob").file(info.id).unwrap(), png);
        assert_eq!(
            as_(&mut s, "eve").file(info.id),
            Err(StoreError::UnknownFile(info.id))
        );
        as_(&mut s, "ann").delete(sent.id).unwrap();
        assert_eq!(
            as_(&mut s, "bob").file(info.id),
            Err(StoreError::UnknownFile(info.id))
        );
        let stone = &as_(&mut s, "bob")
            .messages(sent.group, Page::Newest, 1)
            .unwrap()[0];
        assert!(stone.files.is_empty());
    }

    #[test]
    fn a_discussion_is_one_group_per_object_listed_for_who_takes_part() {
        let (_d, mut s) = store();
        let g = as_(&mut s, "ann")
            .discussion("e1cib/data/Документ.Счет?ref=1", "Счет 1")
            .unwrap();
        assert_eq!(
            as_(&mut s, "bob")
                .discussion("e1cib/data/Документ.Счет?ref=1", "Счет № 1")
                .unwrap(),
            g
        );
        // Not a public topic of the same title, nor listed before anyone writes.
        let news = send(&mut s, "Ann", "Счет № 1", "", "a public topic");
        assert_ne!(news.group, g);
        assert!(as_(&mut s, "bob")
            .groups(None)
            .unwrap()
            .iter()
            .all(|x| x.id != g));
        let mut post = crate::chat::post("Bob", g, "обсуждаем @ann", false).unwrap();
        post.group = Some(g);
        as_(&mut s, "bob").send(&post, None, 3).unwrap();
        for (user, listed) in [("bob", true), ("ann", true), ("carl", false)] {
            let found = as_(&mut s, user)
                .groups(None)
                .unwrap()
                .into_iter()
                .find(|x| x.id == g);
            assert_eq!(found.is_some(), listed, "{user}");
            if let Some(found) = found {
                assert_eq!(found.topic, "Счет № 1", "renamed");
                assert_eq!(
                    found.context.as_deref(),
                    Some("e1cib/data/Документ.Счет?ref=1")
                );
            }
        }
        // Anyone may read it by id: it is about a document, not a private talk.
        assert_eq!(
            as_(&mut s, "carl")
                .messages(g, Page::Newest, 10)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn injection_is_stored_literally() {
        let (_d, mut s) = store();
        let evil = "'); DROP TABLE chat_register; --";
        let m = send(&mut s, evil, evil, evil, evil);
        let got = as_(&mut s, evil)
            .messages(m.group, Page::Newest, 5)
            .unwrap();
        assert_eq!(got[0].text, evil);
        assert_eq!(got[0].publisher, evil);
    }

    #[test]
    fn a_burst_of_sends_cannot_grow_the_wal_for_ever() {
        // ~55 KB of WAL per send (with GetGroups' summaries: the group's summary and
        // the sender's read count are two pages more): 1,000 sends left in the WAL
        // would be ~55 MB. However the checkpoint thread fares, the sender checkpoints
        // after 300.
        let (d, mut s) = store();
        for i in 0..1_000 {
            send(&mut s, "a", "t", "", &format!("message {i}"));
        }
        let wal = std::fs::metadata(d.path().join("chat.sqlite-wal")).map_or(0, |m| m.len());
        assert!(wal < 30_000_000, "WAL {wal} bytes");
    }

    #[test]
    fn not_a_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.sqlite");
        std::fs::write(&path, vec![b'x'; 4096]).unwrap();
        assert!(matches!(
            SqliteStore::open(path.to_str().unwrap()),
            Err(StoreError::NotADatabase)
        ));
        let d = dir.path().to_str().unwrap().to_string();
        assert!(matches!(
            SqliteStore::open(&d),
            Err(StoreError::CannotOpen(_))
        ));
    }
}
