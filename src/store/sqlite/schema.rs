//! The SQLite store's schema: its history, and how a file is recognised before
//! anything is written to it. Our files carry `PRAGMA application_id` = [`APP_ID`]
//! and `PRAGMA user_version` = the schema version; files made by release 0.1.0
//! carry neither and are recognised by their exact set of tables.

use rusqlite::Connection;

use super::map_err;
use crate::store::schema::{pending, Migration, SQLITE_VERSION as SCHEMA_VERSION};
use crate::store::StoreError;

/// "ch1c": marks a SQLite file as a chat1c store.
pub const APP_ID: i32 = 0x6368_3163;

/// A message's files as message JSON shows them (`msg`: the SQL of its id).
macro_rules! files_json {
    ($($msg:tt)+) => {
        concat!(
            "(SELECT json_group_array(json_object('id', f.id, 'name', f.name, 'size', f.size,
                                                  'type', f.type))
                FROM chat_files f WHERE f.message_id = ",
            $($msg)+,
            ")"
        )
    };
}
pub(super) use files_json;

/// A trigger's update of the newest message's files, after a file of message
/// `$row.message_id` came or went.
macro_rules! files_of_newest {
    ($row:literal) => {
        concat!(
            "UPDATE chat_summary SET files = ",
            files_json!(concat!($row, ".message_id")),
            " WHERE group_id = (SELECT group_id FROM chat_register WHERE id = ",
            $row,
            ".message_id) AND last_id = ",
            $row,
            ".message_id;"
        )
    };
}

/// A trigger's recount of a reader's row (`new`) from the messages after the mark.
macro_rules! recount {
    () => {
        "UPDATE chat_reads SET
            seen = coalesce((SELECT s.live FROM chat_summary s WHERE s.group_id = new.group_id), 0)
                 - (SELECT count(*) FROM chat_register r
                     WHERE r.group_id = new.group_id AND r.id > new.up_to
                       AND r.publisher_key <> new.user_key AND r.deleted = 0),
            mentioned = (SELECT count(*) FROM chat_mentions m
                          WHERE m.user_key = new.user_key AND m.group_id = new.group_id
                            AND m.message_id > new.up_to)
          WHERE "
    };
}

/// A read mark moved (`new`): its user's count of moves goes up, and the mark keeps it.
macro_rules! mark_moved {
    () => {
        "    INSERT INTO chat_mark_moves(user_key, moves) VALUES (new.user_key, 1)
        ON CONFLICT(user_key) DO UPDATE SET moves = moves + 1;
    UPDATE chat_reads SET moved = (SELECT moves FROM chat_mark_moves WHERE user_key = new.user_key)
     WHERE user_key = new.user_key AND group_id = new.group_id;"
    };
}

/// GetGroups without a scan (part of schema version 5): per group its newest message
/// and how many live messages it has; per reader, beside the read mark, how many of
/// those are not unread for them and how many unread ones mention them. Triggers keep
/// them on every write, whoever writes (an older release during an update too), so a
/// call reads one row per group. Filled here for the messages already stored.
/// `tests/summaries.rs` recomputes them from scratch after every kind of write.
macro_rules! summaries {
    () => {
        concat!(
            "
-- One row per group. `live`: its messages that are not tombstones; then the newest
-- message's columns as GetGroups shows them (last_id NULL: no message yet).
CREATE TABLE chat_summary(
    group_id INTEGER PRIMARY KEY,
    live INTEGER NOT NULL DEFAULT 0,
    last_id INTEGER,
    period INTEGER,
    publisher TEXT,
    message TEXT,
    rev INTEGER,
    edited INTEGER,
    deleted INTEGER,
    reply_to INTEGER,
    mentions TEXT,
    files TEXT,
    -- A public topic (listed for everyone), so the newest of them are one index walk.
    listed INTEGER NOT NULL DEFAULT 0);
CREATE INDEX chat_summary_listed_newest ON chat_summary(coalesce(last_id, 0) DESC, group_id DESC)
    WHERE listed;
-- Per member the group's newest message id (0: none yet), so a member's newest groups
-- are one index walk too: GetGroups(50) reads 50 rows of each, not every visible group.
ALTER TABLE chat_members ADD COLUMN last_id INTEGER NOT NULL DEFAULT 0;
CREATE INDEX chat_members_newest ON chat_members(user_key, last_id DESC, group_id DESC);
CREATE INDEX chat_members_group ON chat_members(group_id);
-- A reader's counts: `seen`, the live messages that are not unread for them (up to the
-- mark, and their own after it), so unread = live - seen; `mentioned`, the live
-- messages after the mark that mention them. A row exists for every (user, group)
-- where the user has posted or was mentioned, so a missing row counts nothing.
ALTER TABLE chat_reads ADD COLUMN seen INTEGER;
ALTER TABLE chat_reads ADD COLUMN mentioned INTEGER NOT NULL DEFAULT 0;
-- A private group's read marks {user key: id}, for its ticks (NULL: a public topic or
-- a discussion). Beside the group, not in its summary: a PostgreSQL MarkRead then
-- locks the read mark and this row, a send the summary and then the sender's mark.
ALTER TABLE chat_groups ADD COLUMN marks TEXT;

INSERT INTO chat_summary(group_id) SELECT id FROM chat_groups;
UPDATE chat_summary SET
    live = (SELECT count(*) FROM chat_register r WHERE r.group_id = chat_summary.group_id AND r.deleted = 0),
    last_id = (SELECT max(id) FROM chat_register r WHERE r.group_id = chat_summary.group_id);
UPDATE chat_summary
   SET (period, publisher, message, rev, edited, deleted, reply_to, mentions, files) =
       (SELECT r.period, r.publisher, r.message, r.rev, r.edited, r.deleted, r.reply_to, r.mentions,
               ",
            files_json!("r.id"),
            "
          FROM chat_register r WHERE r.id = chat_summary.last_id)
 WHERE last_id IS NOT NULL;
UPDATE chat_groups SET marks = '{}' WHERE is_public = 0;
UPDATE chat_summary SET listed = (SELECT g.is_public = 1 AND g.context IS NULL
                                    FROM chat_groups g WHERE g.id = chat_summary.group_id);
UPDATE chat_members SET last_id = coalesce((SELECT s.last_id FROM chat_summary s
                                             WHERE s.group_id = chat_members.group_id), 0);

CREATE TRIGGER chat_summary_group AFTER INSERT ON chat_groups BEGIN
    INSERT OR IGNORE INTO chat_summary(group_id, listed)
        VALUES (new.id, new.is_public = 1 AND new.context IS NULL);
    UPDATE chat_groups SET marks = '{}' WHERE id = new.id AND is_public = 0 AND marks IS NULL;
END;
CREATE TRIGGER chat_summary_add AFTER INSERT ON chat_register BEGIN
    UPDATE chat_summary SET live = live + (new.deleted = 0) WHERE group_id = new.group_id;
    UPDATE chat_summary
       SET last_id = new.id, period = new.period, publisher = new.publisher,
           message = new.message, edited = new.edited, deleted = new.deleted,
           reply_to = new.reply_to, mentions = new.mentions, files = '[]',
           -- A writer of release 0.1.0 has its revision numbered by a trigger.
           rev = CASE WHEN new.rev <> 0 THEN new.rev
                      ELSE (SELECT rev FROM chat_register WHERE id = new.id) END
     WHERE group_id = new.group_id AND coalesce(last_id, 0) < new.id;
    UPDATE chat_members SET last_id = new.id WHERE group_id = new.group_id AND last_id < new.id;
    -- A message is never unread for its publisher.
    INSERT INTO chat_reads(user_key, group_id, up_to, seen)
        VALUES (new.publisher_key, new.group_id, 0, new.deleted = 0)
        ON CONFLICT(user_key, group_id) DO UPDATE SET seen = seen + (new.deleted = 0);
END;
-- A member added (a new group, who takes part in a discussion): the group's newest id.
CREATE TRIGGER chat_member_newest AFTER INSERT ON chat_members BEGIN
    UPDATE chat_members
       SET last_id = coalesce((SELECT last_id FROM chat_summary WHERE group_id = new.group_id), 0)
     WHERE user_key = new.user_key AND group_id = new.group_id;
END;
-- An edit, a tombstone, a revision numbered late: the newest message's copy follows.
CREATE TRIGGER chat_summary_change AFTER UPDATE ON chat_register BEGIN
    UPDATE chat_summary
       SET period = new.period, publisher = new.publisher, message = new.message,
           rev = new.rev, edited = new.edited, deleted = new.deleted,
           reply_to = new.reply_to, mentions = new.mentions
     WHERE group_id = new.group_id AND last_id = new.id;
END;
-- A tombstone is not unread for anyone: it leaves the count, and the `seen` of those
-- it was not unread for (who had read past it, and its publisher).
CREATE TRIGGER chat_summary_tombstone AFTER UPDATE OF deleted ON chat_register
WHEN new.deleted <> old.deleted BEGIN
    UPDATE chat_summary SET live = live + old.deleted - new.deleted WHERE group_id = new.group_id;
    UPDATE chat_reads SET seen = seen + old.deleted - new.deleted
     WHERE group_id = new.group_id AND up_to >= new.id;
    UPDATE chat_reads SET seen = seen + old.deleted - new.deleted
     WHERE user_key = new.publisher_key AND group_id = new.group_id AND up_to < new.id;
END;
CREATE TRIGGER chat_summary_file_add AFTER INSERT ON chat_files BEGIN
",
            files_of_newest!("new"),
            "
END;
CREATE TRIGGER chat_summary_file_gone AFTER DELETE ON chat_files BEGIN
",
            files_of_newest!("old"),
            "
END;
CREATE TRIGGER chat_reads_mention AFTER INSERT ON chat_mentions BEGIN
    INSERT INTO chat_reads(user_key, group_id, up_to, seen, mentioned)
        VALUES (new.user_key, new.group_id, 0, 0, 1)
        ON CONFLICT(user_key, group_id)
        DO UPDATE SET mentioned = mentioned + (new.message_id > up_to);
END;
CREATE TRIGGER chat_reads_unmention AFTER DELETE ON chat_mentions BEGIN
    UPDATE chat_reads SET mentioned = mentioned - 1
     WHERE user_key = old.user_key AND group_id = old.group_id AND up_to < old.message_id;
END;
-- A read mark set without its counts (MarkRead, an older release), moved, or with its
-- counts cleared: they are counted again from the messages after it (few: marks are
-- set near the newest).
CREATE TRIGGER chat_reads_new AFTER INSERT ON chat_reads BEGIN
",
            recount!(),
            "new.seen IS NULL AND user_key = new.user_key AND group_id = new.group_id;
    UPDATE chat_groups SET marks = json_patch(marks, json_object(new.user_key, new.up_to))
     WHERE id = new.group_id AND marks IS NOT NULL;
END;
CREATE TRIGGER chat_reads_moved AFTER UPDATE OF up_to, seen ON chat_reads
WHEN new.up_to <> old.up_to OR new.seen IS NULL BEGIN
",
            recount!(),
            "user_key = new.user_key AND group_id = new.group_id;
    UPDATE chat_groups SET marks = json_patch(marks, json_object(new.user_key, new.up_to))
     WHERE id = new.group_id AND marks IS NOT NULL;
END;
-- How many times each user's read marks moved, whoever moved them, and on each read
-- mark the count at its last move: GetUnread counts again the groups whose mark moved
-- since it last counted (`store/unread.rs`).
CREATE TABLE chat_mark_moves(
    user_key TEXT PRIMARY KEY,
    moves INTEGER NOT NULL);
ALTER TABLE chat_reads ADD COLUMN moved INTEGER NOT NULL DEFAULT 0;
CREATE INDEX chat_reads_by_move ON chat_reads(user_key, moved);
CREATE TRIGGER chat_reads_move_new AFTER INSERT ON chat_reads WHEN new.up_to > 0 BEGIN
",
            mark_moved!(),
            "
END;
CREATE TRIGGER chat_reads_move AFTER UPDATE OF up_to ON chat_reads
WHEN new.up_to <> old.up_to BEGIN
",
            mark_moved!(),
            "
END;
-- The counts of the read marks already stored, and of whoever posted or was
-- mentioned, through the triggers above (which also fill the private groups' marks).
INSERT OR IGNORE INTO chat_reads(user_key, group_id, up_to)
    SELECT DISTINCT publisher_key, group_id, 0 FROM chat_register
    UNION SELECT user_key, group_id, 0 FROM chat_mentions;
UPDATE chat_reads SET seen = NULL WHERE seen IS NULL;
"
        )
    };
}

pub static HISTORY: &[Migration] = &[
    Migration {
        to: 1,
        sql: "
CREATE TABLE chat_groups(
    id INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    members_key TEXT NOT NULL,      -- sorted user keys joined by LF; '' = public
    participants TEXT NOT NULL,     -- JSON array of display names
    is_public INTEGER NOT NULL,
    UNIQUE(topic, members_key));
CREATE INDEX chat_groups_public ON chat_groups(is_public);
CREATE TABLE chat_members(
    user_key TEXT NOT NULL,
    group_id INTEGER NOT NULL,
    PRIMARY KEY(user_key, group_id)) WITHOUT ROWID;
-- The register 'Чат': Период, Публикатор, Участники, Тема -> Сообщение.
CREATE TABLE chat_register(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id INTEGER NOT NULL,
    period INTEGER NOT NULL,        -- UTC milliseconds
    publisher TEXT NOT NULL,
    publisher_key TEXT NOT NULL,
    participants TEXT NOT NULL,
    topic TEXT NOT NULL,
    message TEXT NOT NULL);
CREATE INDEX chat_register_group ON chat_register(group_id, id, publisher_key);
CREATE TABLE chat_reads(
    user_key TEXT NOT NULL,
    group_id INTEGER NOT NULL,
    up_to INTEGER NOT NULL,
    PRIMARY KEY(user_key, group_id)) WITHOUT ROWID;
",
    },
    Migration {
        to: 2,
        sql: "
-- The change feed: the store-wide revision of each row's last change.
ALTER TABLE chat_register ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
UPDATE chat_register SET rev = id;
CREATE INDEX chat_register_rev ON chat_register(rev);
",
    },
    Migration {
        to: 3,
        sql: "
-- A writer that does not number its change (release 0.1.0, still running somewhere
-- during an update) gets the next revision here, so watchers still see it. SQLite
-- writes one transaction at a time, so the numbers commit in order.
CREATE TRIGGER chat_register_number AFTER INSERT ON chat_register WHEN NEW.rev = 0
BEGIN
    UPDATE chat_register SET rev = (SELECT max(rev) FROM chat_register) + 1 WHERE id = NEW.id;
END;
",
    },
    Migration {
        to: 4,
        sql: "
-- Messages that live: edits, tombstones, replies, mentions.
ALTER TABLE chat_register ADD COLUMN edited INTEGER;          -- UTC ms of the last edit
ALTER TABLE chat_register ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chat_register ADD COLUMN reply_to INTEGER;
ALTER TABLE chat_register ADD COLUMN mentions TEXT NOT NULL DEFAULT '[]';  -- shown names
CREATE INDEX chat_register_updates ON chat_register(group_id, rev);
-- Who a live message mentions (not its publisher), to count unread mentions.
CREATE TABLE chat_mentions(
    user_key TEXT NOT NULL,
    group_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    PRIMARY KEY(user_key, group_id, message_id)) WITHOUT ROWID;
CREATE INDEX chat_mentions_message ON chat_mentions(message_id);
-- Everyone's read mark in a group, for the ticks of a private group in GetGroups.
CREATE INDEX chat_reads_group ON chat_reads(group_id, up_to);
-- The users the store knows (publishers, participants, who opened it): who a public
-- topic's message may mention.
CREATE TABLE chat_users(
    user_key TEXT PRIMARY KEY,
    shown TEXT NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO chat_users(user_key, shown)
    SELECT publisher_key, publisher FROM chat_register ORDER BY id DESC;
",
    },
    Migration {
        to: 5,
        sql: concat!(
            "
-- Find, share, link: discussions keyed by an object, files, message search.
ALTER TABLE chat_groups ADD COLUMN context TEXT;       -- a discussion's object; NULL otherwise
CREATE UNIQUE INDEX chat_groups_context ON chat_groups(context);
CREATE TABLE chat_files(
    id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    type TEXT NOT NULL,                                 -- MIME type read from the content
    data BLOB NOT NULL);
CREATE INDEX chat_files_message ON chat_files(message_id);
-- Substrings of the live text, by three-character pieces folded to one case; ё is е.
-- A message's row is minus its id: the index reads forward about twice as fast as
-- backward, and a search wants the newest first. Nothing ranks results, so no sizes
-- are kept (columnsize=0: a WAL page less per message; contentless_delete needs them,
-- so the trigger deletes with the text it indexed).
CREATE VIRTUAL TABLE chat_search USING fts5(body, content='', columnsize=0,
    tokenize='trigram');
INSERT INTO chat_search(rowid, body)
    SELECT -id, replace(replace(message, 'ё', 'е'), 'Ё', 'Е') FROM chat_register WHERE deleted = 0;
CREATE TRIGGER chat_search_add AFTER INSERT ON chat_register BEGIN
    INSERT INTO chat_search(rowid, body)
        VALUES (-new.id, replace(replace(new.message, 'ё', 'е'), 'Ё', 'Е'));
END;
CREATE TRIGGER chat_search_change AFTER UPDATE OF message ON chat_register BEGIN
    INSERT INTO chat_search(chat_search, rowid, body)
        SELECT 'delete', -old.id, replace(replace(old.message, 'ё', 'е'), 'Ё', 'Е')
         WHERE old.deleted = 0;
    INSERT INTO chat_search(rowid, body)
        SELECT -new.id, replace(replace(new.message, 'ё', 'е'), 'Ё', 'Е') WHERE new.deleted = 0;
END;
",
            summaries!()
        ),
    },
];

/// The schema objects of release 0.1.0, which did not mark its files.
const RELEASE_0_1_OBJECTS: [&str; 6] = [
    "chat_groups",
    "chat_groups_public",
    "chat_members",
    "chat_reads",
    "chat_register",
    "chat_register_group",
];

/// What a file holds, judged by reading only.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// A chat store at this schema version (0: an empty file, nothing in it yet).
    Chat(u32),
    /// Another application's database.
    Foreign,
}

pub fn recognise(conn: &Connection) -> Result<Found, StoreError> {
    // One statement, so one snapshot: another process may be upgrading the file.
    let (app_id, version, names): (i64, i64, String) = conn
        .query_row(
            "SELECT (SELECT application_id FROM pragma_application_id),
                    (SELECT user_version FROM pragma_user_version),
                    (SELECT coalesce(group_concat(name, ','), '') FROM
                        (SELECT name FROM sqlite_master
                          WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name))",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(map_err)?;
    if app_id == i64::from(APP_ID) {
        return Ok(Found::Chat(u32::try_from(version).unwrap_or(u32::MAX)));
    }
    Ok(if app_id != 0 || version != 0 {
        Found::Foreign
    } else if names.is_empty() {
        Found::Chat(0)
    } else if names == RELEASE_0_1_OBJECTS.join(",") {
        Found::Chat(1)
    } else {
        Found::Foreign
    })
}

/// Brings the store to [`SCHEMA_VERSION`]. Runs under the write lock and looks again
/// there, so two processes opening an old store together upgrade it once.
pub fn upgrade(conn: &Connection) -> Result<(), StoreError> {
    if recognise(conn)? == Found::Chat(SCHEMA_VERSION) {
        return Ok(());
    }
    conn.execute_batch("BEGIN IMMEDIATE").map_err(map_err)?;
    let result = upgrade_locked(conn);
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    let ended = conn.execute_batch(end).map_err(map_err);
    result.and(ended)
}

fn upgrade_locked(conn: &Connection) -> Result<(), StoreError> {
    let found = match recognise(conn)? {
        Found::Chat(v) => v,
        Found::Foreign => return Err(StoreError::Foreign),
    };
    let steps = pending(HISTORY, found)?;
    if steps.is_empty() {
        return Ok(());
    }
    for step in steps {
        conn.execute_batch(step.sql).map_err(map_err)?;
    }
    conn.execute_batch(&format!(
        "PRAGMA application_id = {APP_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
    ))
    .map_err(map_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_0_1_objects_are_what_its_schema_made() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(HISTORY[0].sql).unwrap();
        assert_eq!(recognise(&conn).unwrap(), Found::Chat(1));
        conn.execute_batch("CREATE TABLE other(x)").unwrap();
        assert_eq!(recognise(&conn).unwrap(), Found::Foreign);
    }

    #[test]
    fn empty_new_and_foreign_files() {
        let conn = Connection::open_in_memory().unwrap();
        assert_eq!(recognise(&conn).unwrap(), Found::Chat(0));
        upgrade(&conn).unwrap();
        assert_eq!(recognise(&conn).unwrap(), Found::Chat(SCHEMA_VERSION));
        let other = Connection::open_in_memory().unwrap();
        other.execute_batch("PRAGMA user_version = 7").unwrap();
        assert_eq!(recognise(&other).unwrap(), Found::Foreign);
        assert_eq!(upgrade(&other), Err(StoreError::Foreign));
    }
}
