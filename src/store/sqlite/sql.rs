//! The SQLite store's read queries. Messages come in the columns `shape::message`
//! reads; groups in those `shape::group` reads.

use super::schema::files_json;
use crate::store::Page;

/// A message's columns, from the register aliased `r` (a macro for `concat!`).
macro_rules! message_columns {
    () => {
        concat!(
            "r.id, r.group_id, r.period, r.publisher, r.message, r.rev, r.edited, r.deleted,
             r.reply_to, r.mentions, ",
            files_json!("r.id")
        )
    };
}

/// The query of each kind of [`Page`], nearest message first: (group, bound, limit).
pub fn page(page: Page) -> &'static str {
    macro_rules! select {
        ($cmp:literal, $order:literal) => {
            concat!(
                "SELECT ",
                message_columns!(),
                " FROM chat_register r WHERE r.group_id = ?1",
                " AND r.id ",
                $cmp,
                " ?2 ORDER BY r.id ",
                $order,
                " LIMIT ?3"
            )
        };
    }
    match page {
        Page::Newest => select!(">", "DESC"),
        Page::After(_) => select!(">", "ASC"),
        Page::Before(_) => select!("<", "DESC"),
    }
}

/// (group, after revision, limit)
pub const UPDATES: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM chat_register r WHERE r.group_id = ?1 AND r.rev > ?2 ORDER BY r.rev LIMIT ?3"
);

/// (FTS5 phrase, user key, group or 0 for every visible group, limit); newest first.
pub const SEARCH: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM chat_search s JOIN chat_register r ON r.id = -s.rowid
      WHERE chat_search MATCH ?1 AND r.deleted = 0 AND (?3 = 0 OR r.group_id = ?3)
        AND r.group_id IN (SELECT id FROM chat_groups WHERE is_public = 1
                           UNION ALL SELECT group_id FROM chat_members WHERE user_key = ?2)
      ORDER BY s.rowid LIMIT ?4"
);

/// The groups the user (?1) sees in the list, as `visible(id)`: public topics, the
/// private groups they belong to, and the discussions they took part in (any discussion
/// may be read by id, but only those are listed). A macro for `concat!`.
macro_rules! visible_groups {
    () => {
        // `+context`: not by the unique index on context, where SQLite takes IS NULL for
        // one row (it is every group that is not a discussion), but by is_public.
        "WITH visible(id) AS (
            SELECT id FROM chat_groups WHERE is_public = 1 AND +context IS NULL
            UNION ALL
            SELECT g.id FROM chat_members m JOIN chat_groups g ON g.id = m.group_id
             WHERE m.user_key = ?1 AND (g.is_public = 0 OR g.context IS NOT NULL))"
    };
}

/// The groups `shown(id)` for the user ?1, in the columns `shape::group` reads: per
/// group its row (with its members' read marks), its row of `chat_summary` (the count
/// and the newest message) and the user's row of `chat_reads`; nothing is counted.
macro_rules! group_rows {
    () => {
        "
    SELECT g.id, g.topic, g.participants,
           max(coalesce(s.live, 0) - coalesce(rd.seen, 0), 0), coalesce(rd.mentioned, 0),
           CASE WHEN g.is_public THEN NULL ELSE coalesce(g.marks, '{}') END, g.context,
           s.last_id, g.id, s.period, s.publisher, s.message, s.rev, s.edited, s.deleted,
           s.reply_to, s.mentions, s.files
      FROM shown v
      JOIN chat_groups g ON g.id = v.id
      LEFT JOIN chat_summary s ON s.group_id = v.id
      LEFT JOIN chat_reads rd ON rd.user_key = ?1 AND rd.group_id = v.id"
    };
}

/// The ?2 most recently active visible groups (-1: all), as `group_rows!`. The newest
/// are picked by two index walks, ?2 rows each: the public topics by their summary's
/// newest id, the user's other groups by their member row's; so a short list reads the
/// other columns of the groups it returns only. `shape::newest_first` orders them.
pub const GROUPS: &str = concat!(
    "WITH newest(id, last_id) AS (
        SELECT * FROM (
            SELECT group_id, coalesce(last_id, 0) FROM chat_summary WHERE listed
             ORDER BY coalesce(last_id, 0) DESC, group_id DESC LIMIT ?2)
        UNION ALL
        SELECT * FROM (
            SELECT m.group_id, m.last_id FROM chat_members m JOIN chat_groups g ON g.id = m.group_id
             WHERE m.user_key = ?1 AND (g.is_public = 0 OR g.context IS NOT NULL)
             ORDER BY m.last_id DESC, m.group_id DESC LIMIT ?2)),
    shown(id) AS (SELECT id FROM newest ORDER BY last_id DESC, id DESC LIMIT ?2)",
    group_rows!()
);

/// One group (?2) as `group_rows!`, whether listed for the user ?1 or not: the caller
/// has checked that they may read it.
pub const GROUP: &str = concat!("WITH shown(id) AS (SELECT ?2)", group_rows!());

/// The store's head: the newest revision (0: none yet).
pub const HEAD: &str = "SELECT coalesce(max(rev), 0) FROM chat_register";

/// GetUnread counted afresh: per visible group of the user ?1 with something unread or
/// mentioning them, its id, unread messages and unread mentions (`store/unread.rs`).
pub const UNREAD: &str = concat!(
    visible_groups!(),
    "
    SELECT id, u, m FROM (
        SELECT v.id, max(coalesce(s.live, 0) - coalesce(rd.seen, 0), 0) AS u,
               coalesce(rd.mentioned, 0) AS m
          FROM visible v
          LEFT JOIN chat_summary s ON s.group_id = v.id
          LEFT JOIN chat_reads rd ON rd.user_key = ?1 AND rd.group_id = v.id)
     WHERE u > 0 OR m > 0"
);

/// The groups of the changes after revision ?1, at most ?2 (`unread::CHANGES_AT_MOST`
/// + 1, so the caller sees when there are more).
pub const UNREAD_CHANGED: &str =
    "SELECT group_id FROM chat_register WHERE rev > ?1 ORDER BY rev LIMIT ?2";

/// The groups where the user ?1's read mark moved after their ?2-th move, at most ?3.
pub const UNREAD_MARKS_MOVED: &str =
    "SELECT group_id FROM chat_reads WHERE user_key = ?1 AND moved > ?2 LIMIT ?3";

/// GetUnread of one group ?2, when the user ?1 has it listed (as `visible_groups!`):
/// unread messages, unread mentions; no row when they do not see it.
pub const UNREAD_OF_GROUP: &str = "
    SELECT max(coalesce(s.live, 0) - coalesce(rd.seen, 0), 0), coalesce(rd.mentioned, 0)
      FROM chat_groups g
      LEFT JOIN chat_summary s ON s.group_id = g.id
      LEFT JOIN chat_reads rd ON rd.user_key = ?1 AND rd.group_id = g.id
     WHERE g.id = ?2
       AND ((g.is_public = 1 AND g.context IS NULL)
            OR EXISTS(SELECT 1 FROM chat_members m WHERE m.user_key = ?1 AND m.group_id = g.id))";
