//! The SQLite store's writes that others must hear of: send, edit, delete. Each runs
//! in one write transaction, which also numbers the change (the write lock is held,
//! so the next revision is the newest plus one) and keeps the mentions index.

use rusqlite::{params, OptionalExtension, Transaction};

use super::map_err;
use crate::chat::files::NewFile;
use crate::chat::{mentions, user_key, NewMessage};
use crate::store::shape::SendRow;
use crate::store::{Change, StoreError};

/// The next revision, inside the write transaction (a macro for `concat!`).
macro_rules! next_rev {
    () => {
        "(SELECT coalesce(max(rev), 0) + 1 FROM chat_register)"
    };
}

/// Who a message in this group may mention: its members (a private group, given as
/// shown names) or every user the store knows (a public topic).
fn mentioned(
    tx: &Transaction<'_>,
    text: &str,
    members: &[String],
) -> Result<Vec<String>, StoreError> {
    if !members.is_empty() {
        return Ok(mentions::resolve(text, |key| {
            members.iter().find(|m| user_key(m) == key).cloned()
        }));
    }
    let mut known = tx
        .prepare_cached("SELECT shown FROM chat_users WHERE user_key = ?1")
        .map_err(map_err)?;
    Ok(mentions::resolve(text, |key| {
        known
            .query_row(params![key], |r| r.get::<_, String>(0))
            .optional()
            .ok()
            .flatten()
    }))
}

/// Records who a message mentions (not its publisher), replacing what it mentioned.
fn index_mentions(
    tx: &Transaction<'_>,
    id: i64,
    group: i64,
    publisher_key: &str,
    names: &[String],
) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM chat_mentions WHERE message_id = ?1")
        .and_then(|mut s| s.execute(params![id]))
        .map_err(map_err)?;
    let mut add = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO chat_mentions(user_key, group_id, message_id) VALUES (?1, ?2, ?3)",
        )
        .map_err(map_err)?;
    for key in names.iter().map(|n| user_key(n)) {
        if key != publisher_key {
            add.execute(params![key, group, id]).map_err(map_err)?;
        }
    }
    Ok(())
}

fn names_json(names: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(names).map_err(|e| StoreError::Other(e.to_string()))
}

/// The users this store now knows, for later mentions in public topics.
pub fn remember_users<'a>(
    tx: &Transaction<'_>,
    names: impl IntoIterator<Item = &'a String>,
) -> Result<(), StoreError> {
    let mut add = tx
        .prepare_cached("INSERT OR IGNORE INTO chat_users(user_key, shown) VALUES (?1, ?2)")
        .map_err(map_err)?;
    for name in names {
        add.execute(params![user_key(name), name])
            .map_err(map_err)?;
    }
    Ok(())
}

/// The conversation a message goes to, as a send needs it.
struct Target {
    id: i64,
    topic: String,
    /// Members' shown names ([] for a public topic or a discussion).
    members: Vec<String>,
    /// The JSON the register row keeps.
    participants: String,
    /// A discussion lists those who take part: the publisher and who it mentions.
    discussion: bool,
}

/// The group named by topic and participants, made when missing.
fn named_group(
    tx: &Transaction<'_>,
    m: &NewMessage,
    row: &SendRow<'_>,
) -> Result<Target, StoreError> {
    let existing: Option<i64> = tx
        .prepare_cached("SELECT id FROM chat_groups WHERE topic = ?1 AND members_key = ?2")
        .and_then(|mut s| {
            s.query_row(params![m.topic, row.members_key], |r| r.get(0))
                .optional()
        })
        .map_err(map_err)?;
    let id = match existing {
        Some(id) => id,
        None => {
            tx.prepare_cached(
                "INSERT INTO chat_groups(topic, members_key, participants, is_public) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| {
                s.execute(params![m.topic, row.members_key, row.participants, row.is_public()])
            })
            .map_err(map_err)?;
            let id = tx.last_insert_rowid();
            let mut add = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO chat_members(user_key, group_id) VALUES (?1, ?2)",
                )
                .map_err(map_err)?;
            for key in row.member_keys() {
                add.execute(params![key, id]).map_err(map_err)?;
            }
            id
        }
    };
    Ok(Target {
        id,
        topic: m.topic.clone(),
        members: m.participants.clone(),
        participants: row.participants.clone(),
        discussion: false,
    })
}

/// An existing group the publisher can see (PostMessage, PostFile).
fn existing_group(tx: &Transaction<'_>, me: &str, group: i64) -> Result<Target, StoreError> {
    let found: Option<(String, String, bool, bool, bool)> = tx
        .prepare_cached(
            "SELECT g.topic, g.participants, g.is_public, g.context IS NOT NULL,
                    EXISTS(SELECT 1 FROM chat_members m WHERE m.user_key = ?2 AND m.group_id = g.id)
               FROM chat_groups g WHERE g.id = ?1",
        )
        .and_then(|mut s| {
            s.query_row(params![group, me], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()
        })
        .map_err(map_err)?;
    let Some((topic, participants, public, discussion, member)) = found else {
        return Err(StoreError::UnknownGroup(group));
    };
    if !public && !member {
        return Err(StoreError::UnknownGroup(group));
    }
    Ok(Target {
        id: group,
        topic,
        members: if public {
            Vec::new()
        } else {
            serde_json::from_str(&participants).unwrap_or_default()
        },
        participants,
        discussion,
    })
}

pub fn send(
    tx: &Transaction<'_>,
    m: &NewMessage,
    row: &SendRow<'_>,
    file: Option<&NewFile>,
) -> Result<Change, StoreError> {
    let to = match m.group {
        Some(group) => existing_group(tx, &row.publisher_key, group)?,
        None => named_group(tx, m, row)?,
    };
    if let Some(original) = m.reply_to {
        let its_group: Option<i64> = tx
            .prepare_cached("SELECT group_id FROM chat_register WHERE id = ?1")
            .and_then(|mut s| s.query_row(params![original], |r| r.get(0)).optional())
            .map_err(map_err)?;
        if its_group != Some(to.id) {
            return Err(StoreError::BadReply(original));
        }
    }
    // Known before the mentions are read, as on PostgreSQL.
    remember_users(tx, std::iter::once(&m.publisher).chain(&to.members))?;
    let names = mentioned(tx, &m.text, &to.members)?;
    let (id, rev): (i64, i64) = tx
        .prepare_cached(concat!(
            "INSERT INTO chat_register(group_id, period, publisher, publisher_key, participants, topic, message, reply_to, mentions, rev) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ",
            next_rev!(),
            ") RETURNING id, rev"
        ))
        .and_then(|mut s| {
            s.query_row(
                params![
                    to.id,
                    row.period,
                    m.publisher,
                    row.publisher_key,
                    to.participants,
                    to.topic,
                    m.text,
                    m.reply_to,
                    names_json(&names).unwrap_or_default()
                ],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .map_err(map_err)?;
    if !names.is_empty() {
        index_mentions(tx, id, to.id, &row.publisher_key, &names)?;
    }
    if to.discussion {
        let keys =
            std::iter::once(row.publisher_key.clone()).chain(names.iter().map(|n| user_key(n)));
        add_members(tx, to.id, keys)?;
    }
    if let Some(file) = file {
        store_file(tx, id, file)?;
    }
    Ok(Change {
        id,
        group: to.id,
        rev,
    })
}

fn add_members(
    tx: &Transaction<'_>,
    group: i64,
    keys: impl Iterator<Item = String>,
) -> Result<(), StoreError> {
    let mut add = tx
        .prepare_cached("INSERT OR IGNORE INTO chat_members(user_key, group_id) VALUES (?1, ?2)")
        .map_err(map_err)?;
    for key in keys {
        add.execute(params![key, group]).map_err(map_err)?;
    }
    Ok(())
}

/// Writes the file's bytes straight into their pages (a zeroblob filled through
/// incremental I/O): SQLite takes no copy of its own of a 25 MB file.
fn store_file(tx: &Transaction<'_>, message: i64, file: &NewFile) -> Result<(), StoreError> {
    use std::io::Write;
    let size =
        i64::try_from(file.data.len()).map_err(|_| StoreError::Other("file too large".into()))?;
    tx.prepare_cached(
        "INSERT INTO chat_files(message_id, name, size, type, data) VALUES (?1, ?2, ?3, ?4, zeroblob(?3))",
    )
    .and_then(|mut s| s.execute(params![message, file.name, size, file.mime]))
    .map_err(map_err)?;
    let rowid = tx.last_insert_rowid();
    let mut blob = tx
        .blob_open(
            rusqlite::DatabaseName::Main,
            "chat_files",
            "data",
            rowid,
            false,
        )
        .map_err(map_err)?;
    blob.write_all(file.data)
        .map_err(|e| StoreError::Other(e.to_string()))
}

/// The discussion of `context`: found (renamed when the title changed) or made.
pub fn discussion(tx: &Transaction<'_>, context: &str, title: &str) -> Result<i64, StoreError> {
    let found: Option<(i64, String)> = tx
        .prepare_cached("SELECT id, topic FROM chat_groups WHERE context = ?1")
        .and_then(|mut s| {
            s.query_row(params![context], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(map_err)?;
    match found {
        Some((id, topic)) if topic == title => Ok(id),
        Some((id, _)) => {
            tx.prepare_cached("UPDATE chat_groups SET topic = ?2 WHERE id = ?1")
                .and_then(|mut s| s.execute(params![id, title]))
                .map_err(map_err)?;
            Ok(id)
        }
        None => {
            // A members key no real group has (names hold no control characters), so a
            // discussion never collides with a public topic of the same title.
            tx.prepare_cached(
                "INSERT INTO chat_groups(topic, members_key, participants, is_public, context)
                 VALUES (?1, char(1) || ?2, '[]', 1, ?2)",
            )
            .and_then(|mut s| s.execute(params![title, context]))
            .map_err(map_err)?;
            Ok(tx.last_insert_rowid())
        }
    }
}

/// A message the user may change: their own, visible, and (for an edit) not deleted.
struct Own {
    group: i64,
    deleted: bool,
    /// The group's members' shown names ([] for a public topic).
    members: Vec<String>,
}

fn own_message(tx: &Transaction<'_>, me: &str, id: i64) -> Result<Own, StoreError> {
    let found: Option<(i64, String, bool, bool, String, bool)> = tx
        .prepare_cached(
            "SELECT r.group_id, r.publisher_key, r.deleted, g.is_public, g.participants,
                    EXISTS(SELECT 1 FROM chat_members m WHERE m.user_key = ?2 AND m.group_id = g.id)
               FROM chat_register r JOIN chat_groups g ON g.id = r.group_id WHERE r.id = ?1",
        )
        .and_then(|mut s| {
            s.query_row(params![id, me], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .optional()
        })
        .map_err(map_err)?;
    let Some((group, publisher, deleted, public, participants, member)) = found else {
        return Err(StoreError::UnknownMessage(id));
    };
    if !public && !member {
        return Err(StoreError::UnknownMessage(id));
    }
    if publisher != me {
        return Err(StoreError::NotAuthor(id));
    }
    Ok(Own {
        group,
        deleted,
        members: serde_json::from_str(&participants).unwrap_or_default(),
    })
}

pub fn edit(
    tx: &Transaction<'_>,
    me: &str,
    id: i64,
    text: &str,
    at: i64,
) -> Result<Change, StoreError> {
    let own = own_message(tx, me, id)?;
    if own.deleted {
        return Err(StoreError::Deleted(id));
    }
    let names = mentioned(tx, text, &own.members)?;
    let rev: i64 = tx
        .prepare_cached(concat!(
            "UPDATE chat_register SET message = ?2, edited = ?3, mentions = ?4, rev = ",
            next_rev!(),
            " WHERE id = ?1 RETURNING rev"
        ))
        .and_then(|mut s| {
            s.query_row(
                params![id, text, at, names_json(&names).unwrap_or_default()],
                |r| r.get(0),
            )
        })
        .map_err(map_err)?;
    index_mentions(tx, id, own.group, me, &names)?;
    Ok(Change {
        id,
        group: own.group,
        rev,
    })
}

pub fn delete(tx: &Transaction<'_>, me: &str, id: i64) -> Result<Option<Change>, StoreError> {
    let own = own_message(tx, me, id)?;
    if own.deleted {
        return Ok(None);
    }
    let rev: i64 = tx
        .prepare_cached(concat!(
            "UPDATE chat_register SET message = '', deleted = 1, mentions = '[]', rev = ",
            next_rev!(),
            " WHERE id = ?1 RETURNING rev"
        ))
        .and_then(|mut s| s.query_row(params![id], |r| r.get(0)))
        .map_err(map_err)?;
    index_mentions(tx, id, own.group, me, &[])?;
    // Its files go with it.
    tx.prepare_cached("DELETE FROM chat_files WHERE message_id = ?1")
        .and_then(|mut s| s.execute(params![id]))
        .map_err(map_err)?;
    Ok(Some(Change {
        id,
        group: own.group,
        rev,
    }))
}
