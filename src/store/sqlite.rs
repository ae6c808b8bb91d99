//! The embedded store: one SQLite file shared by every process on the machine.
//! WAL where the file is local; a rollback journal on network file systems, where
//! WAL's shared memory cannot work across hosts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, ErrorCode, OptionalExtension};

use super::{location, Store, StoreError, WatchPlan};
use crate::chat::{Group, Message, NewMessage};

/// How long a call waits for another process's write lock before failing with Busy.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(3);
/// Poll period when change notifications work: a safety net only, kept long so that
/// idle clients cost nothing (measured in BENCHMARKS.md).
const LOCAL_POLL: Duration = Duration::from_secs(10);
/// Poll period on network shares, where change notifications may never come.
const NETWORK_POLL: Duration = Duration::from_millis(300);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS chat_groups(
    id INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    members_key TEXT NOT NULL,      -- sorted user keys joined by LF; '' = public
    participants TEXT NOT NULL,     -- JSON array of display names
    is_public INTEGER NOT NULL,
    UNIQUE(topic, members_key));
CREATE INDEX IF NOT EXISTS chat_groups_public ON chat_groups(is_public);
CREATE TABLE IF NOT EXISTS chat_members(
    user_key TEXT NOT NULL,
    group_id INTEGER NOT NULL,
    PRIMARY KEY(user_key, group_id)) WITHOUT ROWID;
-- The register 'Чат': Период, Публикатор, Участники, Тема -> Сообщение.
CREATE TABLE IF NOT EXISTS chat_register(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id INTEGER NOT NULL,
    period INTEGER NOT NULL,        -- UTC milliseconds
    publisher TEXT NOT NULL,
    publisher_key TEXT NOT NULL,
    participants TEXT NOT NULL,
    topic TEXT NOT NULL,
    message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chat_register_group ON chat_register(group_id, id, publisher_key);
CREATE TABLE IF NOT EXISTS chat_reads(
    user_key TEXT NOT NULL,
    group_id INTEGER NOT NULL,
    up_to INTEGER NOT NULL,
    PRIMARY KEY(user_key, group_id)) WITHOUT ROWID;
";

pub struct SqliteStore {
    conn: Connection,
    location: String,
    path: PathBuf,
    /// The file this connection opened; another file at the path means the store
    /// was deleted or replaced, and writing on would lose messages.
    identity: Option<FileId>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct FileId(u64, u64);

#[cfg(unix)]
fn file_id(path: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| FileId(m.dev(), m.ino()))
}

/// Windows keeps an open SQLite file from being deleted or replaced.
#[cfg(not(unix))]
fn file_id(_path: &Path) -> Option<FileId> {
    None
}

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

impl SqliteStore {
    /// Opens or creates the store; "" means [`location::default_location`].
    pub fn open(location: &str) -> Result<(SqliteStore, WatchPlan), StoreError> {
        let is_default = location.trim().is_empty();
        let path = if is_default {
            location::default_location()
        } else {
            PathBuf::from(location.trim())
        };
        prepare_dir(&path, is_default)?;
        let network = location::is_network_path(&path);
        let store = Self::open_path(&path, network, is_default)?;
        let plan = WatchPlan {
            dir: path.parent().map(Path::to_path_buf),
            poll: if network { NETWORK_POLL } else { LOCAL_POLL },
        };
        Ok((store, plan))
    }

    fn open_path(path: &Path, network: bool, shared: bool) -> Result<SqliteStore, StoreError> {
        if path.is_dir() {
            return Err(StoreError::CannotOpen(format!(
                "{} is a folder",
                path.display()
            )));
        }
        let conn = Connection::open(path).map_err(map_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(map_err)?;
        // Reading the header first turns "not a database" into a clear error.
        conn.query_row("PRAGMA schema_version", [], |r| r.get::<_, i64>(0))
            .map_err(map_err)?;
        let journal = if network { "DELETE" } else { "WAL" };
        let mode: String = conn
            .query_row(&format!("PRAGMA journal_mode={journal}"), [], |r| r.get(0))
            .map_err(map_err)?;
        let sync = if mode.eq_ignore_ascii_case("wal") {
            "NORMAL"
        } else {
            "FULL"
        };
        conn.execute_batch(&format!("PRAGMA synchronous={sync};"))
            .map_err(map_err)?;
        let has_schema: bool = conn
            .query_row(
                "SELECT count(*) = 5 FROM sqlite_master WHERE name IN \
                 ('chat_groups','chat_members','chat_register','chat_reads','chat_register_group')",
                [],
                |r| r.get(0),
            )
            .map_err(map_err)?;
        if !has_schema {
            conn.execute_batch(&format!("BEGIN IMMEDIATE;{SCHEMA}COMMIT;"))
                .map_err(|e| {
                    let _ = conn.execute_batch("ROLLBACK");
                    map_err(e)
                })?;
        }
        if shared {
            share_with_all_users(path);
        }
        let shown = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        Ok(SqliteStore {
            conn,
            location: shown.display().to_string(),
            identity: file_id(path),
            path: path.to_path_buf(),
        })
    }

    /// Fails once the file at the path is no longer the one this connection has open.
    fn still_there(&self) -> Result<(), StoreError> {
        match self.identity {
            Some(id) if file_id(&self.path) != Some(id) => Err(StoreError::Replaced),
            _ => Ok(()),
        }
    }

    fn visible(&self, user_key: &str, group: i64) -> Result<(), StoreError> {
        let ok: Option<bool> = self
            .conn
            .prepare_cached(
                "SELECT is_public = 1 OR EXISTS(SELECT 1 FROM chat_members \
                 WHERE user_key = ?1 AND group_id = g.id) FROM chat_groups g WHERE id = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![user_key, group], |r| r.get(0))
                    .optional()
            })
            .map_err(map_err)?;
        match ok {
            Some(true) => Ok(()),
            _ => Err(StoreError::UnknownGroup(group)),
        }
    }

    fn select_messages(
        &self,
        sql: &str,
        group: i64,
        bound: i64,
        limit: i64,
    ) -> Result<Vec<Message>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_err)?;
        let rows = stmt
            .query_map(params![group, bound, limit], row_to_message)
            .map_err(map_err)?;
        let mut out = rows.collect::<Result<Vec<_>, _>>().map_err(map_err)?;
        out.sort_by_key(|m| m.id);
        Ok(out)
    }
}

/// Creates the folder; the machine-wide default is made writable for every user.
fn prepare_dir(path: &Path, shared: bool) -> Result<(), StoreError> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if !dir.exists() {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::CannotOpen(format!("{}: {e}", dir.display())))?;
        if shared {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777));
            }
        }
    }
    Ok(())
}

#[cfg(unix)]
fn share_with_all_users(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    // SQLite gives -wal/-shm the main file's mode, so 0666 here lets every user in.
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o666 != 0o666 {
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666));
        }
    }
}

#[cfg(not(unix))]
fn share_with_all_users(_path: &Path) {}

fn row_to_message(r: &rusqlite::Row<'_>) -> rusqlite::Result<Message> {
    Ok(Message {
        id: r.get(0)?,
        group: r.get(1)?,
        period: r.get(2)?,
        publisher: r.get(3)?,
        text: r.get(4)?,
    })
}

const MSG_COLS: &str = "id, group_id, period, publisher, message";

impl Store for SqliteStore {
    fn location(&self) -> &str {
        &self.location
    }

    fn groups(&mut self, user_key: &str) -> Result<Vec<Group>, StoreError> {
        self.still_there()?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "WITH visible(id, topic, participants) AS (
                    SELECT id, topic, participants FROM chat_groups WHERE is_public = 1
                    UNION ALL
                    SELECT g.id, g.topic, g.participants
                      FROM chat_members m JOIN chat_groups g ON g.id = m.group_id
                     WHERE m.user_key = ?1 AND g.is_public = 0),
                 -- The newest message of each group: one seek in chat_register_group,
                 -- materialized so it is not evaluated again for ORDER BY.
                 newest(id, topic, participants, last_id) AS MATERIALIZED (
                    SELECT v.id, v.topic, v.participants,
                           (SELECT max(c.id) FROM chat_register c WHERE c.group_id = v.id)
                      FROM visible v)
                 SELECT v.id, v.topic, v.participants,
                        (SELECT count(*) FROM chat_register c
                          WHERE c.group_id = v.id AND c.publisher_key <> ?1
                            AND c.id > coalesce((SELECT up_to FROM chat_reads
                                                  WHERE user_key = ?1 AND group_id = v.id), 0)),
                        r.id, r.group_id, r.period, r.publisher, r.message
                   FROM newest v LEFT JOIN chat_register r ON r.id = v.last_id
                  ORDER BY coalesce(v.last_id, 0) DESC, v.id DESC",
            )
            .map_err(map_err)?;
        let rows = stmt
            .query_map(params![user_key], |r| {
                let participants: String = r.get(2)?;
                let last = match r.get::<_, Option<i64>>(4)? {
                    Some(id) => Some(Message {
                        id,
                        group: r.get(5)?,
                        period: r.get(6)?,
                        publisher: r.get(7)?,
                        text: r.get(8)?,
                    }),
                    None => None,
                };
                Ok(Group {
                    id: r.get(0)?,
                    topic: r.get(1)?,
                    participants: serde_json::from_str(&participants).unwrap_or_default(),
                    unread: r.get(3)?,
                    last,
                })
            })
            .map_err(map_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(map_err)
    }

    fn messages(
        &mut self,
        user_key: &str,
        group: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Message>, StoreError> {
        self.still_there()?;
        self.visible(user_key, group)?;
        if after <= 0 {
            let sql = format!(
                "SELECT {MSG_COLS} FROM chat_register WHERE group_id = ?1 AND id > ?2 ORDER BY id DESC LIMIT ?3"
            );
            self.select_messages(&sql, group, 0, limit)
        } else {
            let sql = format!(
                "SELECT {MSG_COLS} FROM chat_register WHERE group_id = ?1 AND id > ?2 ORDER BY id ASC LIMIT ?3"
            );
            self.select_messages(&sql, group, after, limit)
        }
    }

    fn history(
        &mut self,
        user_key: &str,
        group: i64,
        before: i64,
        limit: i64,
    ) -> Result<Vec<Message>, StoreError> {
        self.still_there()?;
        self.visible(user_key, group)?;
        let sql = format!(
            "SELECT {MSG_COLS} FROM chat_register WHERE group_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"
        );
        self.select_messages(&sql, group, before, limit)
    }

    fn send(&mut self, m: &NewMessage, period: i64) -> Result<Message, StoreError> {
        self.still_there()?;
        let key = super::members_key(&m.participants);
        let participants_json =
            serde_json::to_string(&m.participants).map_err(|e| StoreError::Other(e.to_string()))?;
        let publisher_key = crate::chat::user_key(&m.publisher);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_err)?;
        let existing: Option<i64> = tx
            .prepare_cached("SELECT id FROM chat_groups WHERE topic = ?1 AND members_key = ?2")
            .and_then(|mut s| s.query_row(params![m.topic, key], |r| r.get(0)).optional())
            .map_err(map_err)?;
        let group = match existing {
            Some(id) => id,
            None => {
                tx.prepare_cached(
                    "INSERT INTO chat_groups(topic, members_key, participants, is_public) VALUES (?1, ?2, ?3, ?4)",
                )
                .and_then(|mut s| s.execute(params![m.topic, key, participants_json, key.is_empty()]))
                .map_err(map_err)?;
                let id = tx.last_insert_rowid();
                let mut add = tx
                    .prepare_cached(
                        "INSERT OR IGNORE INTO chat_members(user_key, group_id) VALUES (?1, ?2)",
                    )
                    .map_err(map_err)?;
                for p in &m.participants {
                    add.execute(params![crate::chat::user_key(p), id])
                        .map_err(map_err)?;
                }
                id
            }
        };
        tx.prepare_cached(
            "INSERT INTO chat_register(group_id, period, publisher, publisher_key, participants, topic, message) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .and_then(|mut s| {
            s.execute(params![group, period, m.publisher, publisher_key, participants_json, m.topic, m.text])
        })
        .map_err(map_err)?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(map_err)?;
        Ok(Message {
            id,
            group,
            period,
            publisher: m.publisher.clone(),
            text: m.text.clone(),
        })
    }

    fn mark_read(&mut self, user_key: &str, group: i64, up_to: i64) -> Result<(), StoreError> {
        self.still_there()?;
        self.visible(user_key, group)?;
        self.conn
            .prepare_cached(
                "INSERT INTO chat_reads(user_key, group_id, up_to)
                 SELECT ?1, ?2, min(?3, coalesce(max(id), 0)) FROM chat_register WHERE group_id = ?2
                 ON CONFLICT(user_key, group_id) DO UPDATE SET up_to = max(up_to, excluded.up_to)",
            )
            .and_then(|mut s| s.execute(params![user_key, group, up_to.max(0)]))
            .map_err(map_err)?;
        Ok(())
    }

    fn latest_id(&mut self) -> Result<i64, StoreError> {
        self.still_there()?;
        self.conn
            .prepare_cached("SELECT coalesce(max(id), 0) FROM chat_register")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(map_err)
    }

    fn visible_news(
        &mut self,
        user_key: &str,
        after: i64,
        up_to: i64,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        self.still_there()?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT r.group_id, max(r.id) FROM chat_register r JOIN chat_groups g ON g.id = r.group_id
                  WHERE r.id > ?2 AND r.id <= ?3
                    AND (g.is_public = 1 OR EXISTS(SELECT 1 FROM chat_members m
                                                    WHERE m.user_key = ?1 AND m.group_id = r.group_id))
                  GROUP BY r.group_id ORDER BY r.group_id",
            )
            .map_err(map_err)?;
        let rows = stmt
            .query_map(params![user_key, after, up_to], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(map_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(map_err)
    }

    fn change_token(&mut self) -> Result<i64, StoreError> {
        self.still_there()?;
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(map_err)
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

    fn send(s: &mut SqliteStore, from: &str, topic: &str, who: &str, text: &str) -> Message {
        s.send(&new_message(from, topic, who, text).unwrap(), 1_000)
            .unwrap()
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
        assert_eq!(n, 2);
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

        let carl: Vec<i64> = s.groups("carl").unwrap().iter().map(|g| g.id).collect();
        assert_eq!(carl, vec![public.group, other.group]);
        let ann = s.groups("ann").unwrap();
        assert_eq!(
            ann.iter().map(|g| g.id).collect::<Vec<_>>(),
            vec![public.group, other.group, a.group]
        );
        let deal = ann.iter().find(|g| g.id == a.group).unwrap();
        assert_eq!(deal.unread, 1, "only Bob's message is unread for Ann");
        assert_eq!(deal.last.as_ref().unwrap().id, b.id);
        assert_eq!(deal.participants, vec!["Bob", "Ann"]);
        assert!(s
            .groups("dave")
            .unwrap()
            .iter()
            .all(|g| g.id == public.group));

        assert_eq!(
            s.messages("carl", a.group, 0, 10),
            Err(StoreError::UnknownGroup(a.group))
        );
        assert_eq!(
            s.mark_read("carl", a.group, 5),
            Err(StoreError::UnknownGroup(a.group))
        );
        assert_eq!(
            s.messages("ann", 999, 0, 10),
            Err(StoreError::UnknownGroup(999))
        );

        s.mark_read("ann", a.group, b.id).unwrap();
        s.mark_read("ann", a.group, 0).unwrap();
        let deal = s
            .groups("ann")
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
        let g = s.groups("a").unwrap()[0].id;
        let newest = s.messages("a", g, 0, 10).unwrap();
        assert_eq!(
            newest.iter().map(|m| m.id).collect::<Vec<_>>(),
            ids[15..].to_vec()
        );
        let after = s.messages("a", g, ids[4], 3).unwrap();
        assert_eq!(
            after.iter().map(|m| m.id).collect::<Vec<_>>(),
            ids[5..8].to_vec()
        );
        let hist = s.history("a", g, ids[15], 10).unwrap();
        assert_eq!(
            hist.iter().map(|m| m.id).collect::<Vec<_>>(),
            ids[5..15].to_vec()
        );
        assert!(s.messages("a", g, ids[24], 10).unwrap().is_empty());
    }

    #[test]
    fn news_is_per_user() {
        let (_d, mut s) = store();
        let start = s.latest_id().unwrap();
        let private = send(&mut s, "a", "x", "b", "1");
        let public = send(&mut s, "c", "pub", "", "2");
        let latest = s.latest_id().unwrap();
        let n = s.news("b", start, latest).unwrap();
        assert_eq!(n.groups, vec![private.group, public.group]);
        assert_eq!(n.cursor, public.id);
        let latest = s.latest_id().unwrap();
        let n = s.news("z", start, latest).unwrap();
        assert_eq!(n.groups, vec![public.group]);
        let hidden = send(&mut s, "a", "x", "b", "3");
        let latest = s.latest_id().unwrap();
        let n = s.news("z", public.id, latest).unwrap();
        assert!(n.groups.is_empty());
        assert_eq!((n.cursor, n.scanned), (public.id, hidden.id));
    }

    #[test]
    fn injection_is_stored_literally() {
        let (_d, mut s) = store();
        let evil = "'); DROP TABLE chat_register; --";
        let m = send(&mut s, evil, evil, evil, evil);
        let got = s
            .messages(&crate::chat::user_key(evil), m.group, 0, 5)
            .unwrap();
        assert_eq!(got[0].text, evil);
        assert_eq!(got[0].publisher, evil);
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
