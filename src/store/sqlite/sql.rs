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

/// (user key) The groups a user sees in the list: public topics, private groups they
/// belong to, and the discussions they took part in (any discussion may be read by
/// id, but only those are listed). Per group its row (with its members' read marks),
/// its row of `chat_summary` (the count and the newest message) and the user's row of
/// `chat_reads`: nothing is counted here. Unordered: `shape::newest_first` sorts them.
pub const GROUPS: &str = "
    WITH visible(id, topic, participants, is_public, context, marks) AS (
        SELECT id, topic, participants, 1, NULL, NULL FROM chat_groups
         WHERE is_public = 1 AND context IS NULL
        UNION ALL
        SELECT g.id, g.topic, g.participants, g.is_public, g.context, g.marks
          FROM chat_members m JOIN chat_groups g ON g.id = m.group_id
         WHERE m.user_key = ?1 AND (g.is_public = 0 OR g.context IS NOT NULL))
    SELECT v.id, v.topic, v.participants,
           max(coalesce(s.live, 0) - coalesce(rd.seen, 0), 0), coalesce(rd.mentioned, 0),
           CASE WHEN v.is_public THEN NULL ELSE coalesce(v.marks, '{}') END, v.context,
           s.last_id, v.id, s.period, s.publisher, s.message, s.rev, s.edited, s.deleted,
           s.reply_to, s.mentions, s.files
      FROM visible v
      LEFT JOIN chat_summary s ON s.group_id = v.id
      LEFT JOIN chat_reads rd ON rd.user_key = ?1 AND rd.group_id = v.id";
