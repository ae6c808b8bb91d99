//! The SQLite store's read queries. Messages come in the columns `shape::message`
//! reads; groups in those `shape::group` reads.

use crate::store::Page;

/// A message's columns, from the register aliased `r` (a macro for `concat!`).
macro_rules! message_columns {
    () => {
        "r.id, r.group_id, r.period, r.publisher, r.message, r.rev, r.edited, r.deleted,
         r.reply_to, r.mentions,
         (SELECT json_group_array(json_object('id', f.id, 'name', f.name, 'size', f.size,
                                              'type', f.type))
            FROM chat_files f WHERE f.message_id = r.id)"
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
/// id, but only those are listed).
pub const GROUPS: &str = concat!(
    "WITH visible(id, topic, participants, is_public, context) AS (
        SELECT id, topic, participants, 1, NULL FROM chat_groups
         WHERE is_public = 1 AND context IS NULL
        UNION ALL
        SELECT g.id, g.topic, g.participants, g.is_public, g.context
          FROM chat_members m JOIN chat_groups g ON g.id = m.group_id
         WHERE m.user_key = ?1 AND (g.is_public = 0 OR g.context IS NOT NULL)),
     -- The newest message of each group (one seek in chat_register_group) and the
     -- user's read mark, materialized so they are not evaluated again.
     newest(id, topic, participants, is_public, context, last_id, up_to) AS MATERIALIZED (
        SELECT v.id, v.topic, v.participants, v.is_public, v.context,
               (SELECT max(c.id) FROM chat_register c WHERE c.group_id = v.id),
               coalesce((SELECT up_to FROM chat_reads WHERE user_key = ?1 AND group_id = v.id), 0)
          FROM visible v)
     SELECT v.id, v.topic, v.participants,
            (SELECT count(*) FROM chat_register c
              WHERE c.group_id = v.id AND c.publisher_key <> ?1 AND c.deleted = 0
                AND c.id > v.up_to),
            (SELECT count(*) FROM chat_mentions mm
              WHERE mm.user_key = ?1 AND mm.group_id = v.id AND mm.message_id > v.up_to),
            CASE WHEN v.is_public THEN NULL
                 ELSE (SELECT json_group_object(rd.user_key, rd.up_to)
                         FROM chat_reads rd WHERE rd.group_id = v.id) END,
            v.context, ",
    message_columns!(),
    " FROM newest v LEFT JOIN chat_register r ON r.id = v.last_id
      ORDER BY coalesce(v.last_id, 0) DESC, v.id DESC"
);
