//! What both stores share, written once: how a message and a group are read from a
//! row (SQLite's queries and PostgreSQL's API functions answer in the same columns),
//! the columns a send derives, the paging rule, and the visibility verdict.

use std::collections::BTreeMap;

use super::StoreError;
use crate::chat::{user_key, Group, Message, NewMessage};

/// A result row of either backend, read by position.
pub(super) trait Columns {
    fn int(&self, i: usize) -> Result<i64, StoreError>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError>;
    fn text(&self, i: usize) -> Result<String, StoreError>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError>;
    fn flag(&self, i: usize) -> Result<bool, StoreError>;
}

/// Implements [`Columns`] for a backend's row type with its typed getter (the
/// backend's `map_err` in scope turns its errors into [`StoreError`]).
macro_rules! columns_by {
    ($row:ty, $get:ident) => {
        impl shape::Columns for $row {
            fn int(&self, i: usize) -> Result<i64, StoreError> {
                self.$get(i).map_err(map_err)
            }
            fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
                self.$get(i).map_err(map_err)
            }
            fn text(&self, i: usize) -> Result<String, StoreError> {
                self.$get(i).map_err(map_err)
            }
            fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
                self.$get(i).map_err(map_err)
            }
            fn flag(&self, i: usize) -> Result<bool, StoreError> {
                self.$get(i).map_err(map_err)
            }
        }
    };
}
pub(super) use columns_by;

/// How many columns a message is read from: id, group, period, publisher, text, rev,
/// edited, deleted, reply_to, mentions (JSON), files (JSON).
#[cfg(test)]
pub(super) const MESSAGE_COLUMNS: usize = 11;

/// A message from its [`MESSAGE_COLUMNS`] columns, starting at column `at`.
pub(super) fn message(row: &impl Columns, at: usize) -> Result<Message, StoreError> {
    Ok(Message {
        id: row.int(at)?,
        group: row.int(at + 1)?,
        period: row.int(at + 2)?,
        publisher: row.text(at + 3)?,
        text: row.text(at + 4)?,
        rev: row.int(at + 5)?,
        edited: row.opt_int(at + 6)?,
        deleted: row.flag(at + 7)?,
        reply_to: row.opt_int(at + 8)?,
        mentions: list(&row.text(at + 9)?),
        files: list(&row.text(at + 10)?),
    })
}

/// A JSON array column; most are empty, and those need no parser.
fn list<T: serde::de::DeserializeOwned>(json: &str) -> Vec<T> {
    if json == "[]" {
        Vec::new()
    } else {
        serde_json::from_str(json).unwrap_or_default()
    }
}

/// The columns a group is read from, before its newest message's columns.
pub(super) const GROUP_OWN_COLUMNS: usize = 7;

/// A group from `id, topic, participants (JSON), unread, mentions, reads, context` —
/// reads as a JSON object user key → read mark, NULL for a public topic — then its
/// newest message's [`MESSAGE_COLUMNS`] (all NULL when the group has none).
pub(super) fn group(row: &impl Columns) -> Result<Group, StoreError> {
    let participants: Vec<String> = list(&row.text(2)?);
    let reads = match row.opt_text(5)? {
        Some(marks) => {
            let by_key: BTreeMap<String, i64> = serde_json::from_str(&marks).unwrap_or_default();
            Some(
                participants
                    .iter()
                    .map(|name| {
                        (
                            name.clone(),
                            by_key.get(&user_key(name)).copied().unwrap_or(0),
                        )
                    })
                    .collect(),
            )
        }
        None => None,
    };
    let last = match row.opt_int(GROUP_OWN_COLUMNS)? {
        Some(_) => Some(message(row, GROUP_OWN_COLUMNS)?),
        None => None,
    };
    Ok(Group {
        id: row.int(0)?,
        topic: row.text(1)?,
        participants,
        unread: row.int(3)?,
        mentions: row.int(4)?,
        last,
        reads,
        context: row.opt_text(6)?,
    })
}

/// GetGroups' order: newest activity first (a group with no message last), then the
/// newer group first. Both stores read the rows unordered: sorting them here costs
/// less than a sort in the query, which would carry every column through its sorter.
pub(super) fn newest_first(mut groups: Vec<Group>) -> Vec<Group> {
    groups.sort_unstable_by_key(|g| std::cmp::Reverse((g.last.as_ref().map_or(0, |m| m.id), g.id)));
    groups
}

/// Which page of a group's messages to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The newest messages.
    Newest,
    /// The oldest messages with an id above this one.
    After(i64),
    /// The newest messages with an id below this one.
    Before(i64),
}

impl Page {
    /// GetMessages' rule: After 0 (or below) asks for the newest page.
    pub fn after(after: i64) -> Page {
        if after <= 0 {
            Page::Newest
        } else {
            Page::After(after)
        }
    }

    /// The id bound the page's query takes (unused by [`Page::Newest`]).
    pub(super) fn bound(self) -> i64 {
        match self {
            Page::Newest => 0,
            Page::After(id) | Page::Before(id) => id,
        }
    }
}

/// Pages are read nearest-first; 1C always gets them ascending by id.
pub(super) fn ascending(mut list: Vec<Message>) -> Vec<Message> {
    list.sort_by_key(|m| m.id);
    list
}

/// The verdict of a visibility query: a group the user may not see is reported
/// exactly like one that does not exist.
pub(super) fn visible(found: Option<bool>, group: i64) -> Result<(), StoreError> {
    match found {
        Some(true) => Ok(()),
        _ => Err(StoreError::UnknownGroup(group)),
    }
}

/// The columns a send writes besides the message itself, derived once.
pub(super) struct SendRow<'a> {
    pub message: &'a NewMessage,
    /// The group's identity: sorted user keys joined by LF ("" = public).
    pub members_key: String,
    /// Display names as a JSON array.
    pub participants: String,
    pub publisher_key: String,
    pub period: i64,
}

impl<'a> SendRow<'a> {
    pub fn new(message: &'a NewMessage, period: i64) -> Result<SendRow<'a>, StoreError> {
        let mut keys: Vec<String> = message.participants.iter().map(|p| user_key(p)).collect();
        keys.sort();
        keys.dedup();
        Ok(SendRow {
            message,
            members_key: keys.join("\n"),
            participants: serde_json::to_string(&message.participants)
                .map_err(|e| StoreError::Other(e.to_string()))?,
            publisher_key: user_key(&message.publisher),
            period,
        })
    }

    pub fn is_public(&self) -> bool {
        self.members_key.is_empty()
    }

    /// The user keys of a new group's members.
    pub fn member_keys(&self) -> impl Iterator<Item = String> + '_ {
        self.message.participants.iter().map(|p| user_key(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::new_message;

    /// A row as a plain list of optional values.
    struct Fake(Vec<Option<&'static str>>);

    impl Columns for Fake {
        fn int(&self, i: usize) -> Result<i64, StoreError> {
            self.opt_int(i)?
                .ok_or_else(|| StoreError::Other("null".into()))
        }
        fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
            Ok(self.0[i].map(|v| v.parse().unwrap()))
        }
        fn text(&self, i: usize) -> Result<String, StoreError> {
            Ok(self.0[i].unwrap_or_default().to_string())
        }
        fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
            Ok(self.0[i].map(str::to_string))
        }
        fn flag(&self, i: usize) -> Result<bool, StoreError> {
            Ok(self.0[i] == Some("1"))
        }
    }

    #[test]
    fn rows_become_groups_and_messages() {
        let row = Fake(vec![
            Some("3"),
            Some("Deal"),
            Some(r#"["Ann","Bob"]"#),
            Some("2"),
            Some("1"),
            Some(r#"{"bob":9}"#),
            Some("e1cib/data/x"),
            Some("9"),
            Some("3"),
            Some("1000"),
            Some("Bob"),
            Some("hi @Ann"),
            Some("12"),
            Some("2000"),
            Some("0"),
            Some("4"),
            Some(r#"["Ann"]"#),
            Some(r#"[{"id":5,"name":"a.png","size":3,"type":"image/png"}]"#),
        ]);
        assert_eq!(row.0.len(), GROUP_OWN_COLUMNS + MESSAGE_COLUMNS);
        let g = group(&row).unwrap();
        assert_eq!(
            (g.id, g.topic.as_str(), g.unread, g.mentions),
            (3, "Deal", 2, 1)
        );
        assert_eq!(g.participants, vec!["Ann", "Bob"]);
        assert_eq!(g.reads, Some([("Ann".into(), 0), ("Bob".into(), 9)].into()));
        let last = g.last.unwrap();
        assert_eq!(
            (last.id, last.group, last.period, last.rev),
            (9, 3, 1000, 12)
        );
        assert_eq!(
            (last.publisher.as_str(), last.text.as_str()),
            ("Bob", "hi @Ann")
        );
        assert_eq!(
            (last.edited, last.deleted, last.reply_to),
            (Some(2000), false, Some(4))
        );
        assert_eq!(last.mentions, vec!["Ann"]);
        assert_eq!(
            (last.files.len(), last.files[0].mime.as_str()),
            (1, "image/png")
        );
        assert_eq!(g.context.as_deref(), Some("e1cib/data/x"));

        let mut empty = vec![
            Some("4"),
            Some("T"),
            Some("[]"),
            Some("0"),
            Some("0"),
            None,
            None,
        ];
        empty.extend([None; MESSAGE_COLUMNS]);
        let g = group(&Fake(empty)).unwrap();
        assert_eq!((g.last, g.reads), (None, None));
    }

    #[test]
    fn paging_rule() {
        assert_eq!(Page::after(0), Page::Newest);
        assert_eq!(Page::after(-5), Page::Newest);
        assert_eq!(Page::after(7), Page::After(7));
        assert_eq!(Page::Before(4).bound(), 4);
        let m = |id| Message {
            id,
            group: 1,
            period: 0,
            publisher: String::new(),
            text: String::new(),
            rev: id,
            edited: None,
            deleted: false,
            reply_to: None,
            mentions: Vec::new(),
            files: Vec::new(),
        };
        let ids: Vec<i64> = ascending(vec![m(3), m(1), m(2)])
            .iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, vec![1, 2, 3]);
    }

    #[test]
    fn send_rows_and_group_identity() {
        let private = new_message("Ann", "Deal", "bob; Carl", "x").unwrap();
        let row = SendRow::new(&private, 5).unwrap();
        assert_eq!(row.members_key, "ann\nbob\ncarl");
        assert_eq!(row.participants, r#"["bob","Carl","Ann"]"#);
        assert_eq!(row.publisher_key, "ann");
        assert!(!row.is_public());
        assert_eq!(
            row.member_keys().collect::<Vec<_>>(),
            vec!["bob", "carl", "ann"]
        );
        let public = new_message("Ann", "News", "", "x").unwrap();
        assert!(SendRow::new(&public, 5).unwrap().is_public());
        assert_eq!(visible(Some(false), 8), Err(StoreError::UnknownGroup(8)));
        assert_eq!(visible(None, 8), Err(StoreError::UnknownGroup(8)));
        assert_eq!(visible(Some(true), 8), Ok(()));
    }
}
