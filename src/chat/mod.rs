//! The chat domain: what a group and a message are, the limits, and how input is
//! validated and shaped. Free of FFI and of storage details.

pub mod files;
pub mod mentions;
mod names;
mod participants;
mod time;

use std::collections::BTreeMap;

use serde::Serialize;

pub use names::{is_invisible, shown_form, user_key, BadChar};
pub use participants::parse_participants;
pub use time::{format_period, now_millis};

/// Limits a 1C developer can rely on (documented in README.md).
pub mod limits {
    /// Characters (Unicode scalar values) in one message.
    pub const TEXT_MAX_CHARS: usize = 10_000;
    /// Characters in a topic.
    pub const TOPIC_MAX_CHARS: usize = 200;
    /// Characters in one user name (publisher or participant).
    pub const NAME_MAX_CHARS: usize = 100;
    /// Participants in one group, the sender included.
    pub const PARTICIPANTS_MAX: usize = 100;
    /// Characters of the raw Participants argument.
    pub const PARTICIPANTS_ARG_MAX_CHARS: usize = 20_000;
    /// Largest Limit accepted by GetMessages and GetHistory; larger values are capped.
    pub const PAGE_MAX: i64 = 1_000;
    /// Groups FillChat puts in the page's list; the page asks for more as the user
    /// scrolls (GetGroups with a larger Limit).
    pub const GROUPS_FIRST: i64 = 50;
    /// Characters in a store location.
    pub const STORE_MAX_CHARS: usize = 4_096;
    /// The shortest text Search looks for (substrings are found by three-letter pieces).
    pub const SEARCH_MIN_CHARS: usize = 3;
    /// Largest Limit accepted by Search; larger values are capped.
    pub const SEARCH_MAX: i64 = 200;
    /// Characters in a discussion's context (an object's navigation link).
    pub const CONTEXT_MAX_CHARS: usize = 1_000;
    pub use super::files::{FILE_MAX_BYTES, NAME_MAX_CHARS as FILE_NAME_MAX_CHARS};
}

/// One row of the register "Чат": period, publisher, participants, topic, message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub id: i64,
    pub group: i64,
    #[serde(serialize_with = "time::serialize_period")]
    pub period: i64,
    pub publisher: String,
    /// "" once deleted.
    pub text: String,
    /// The store-wide revision of its last change (a cursor for GetUpdates).
    pub rev: i64,
    /// When it was last edited (UTC milliseconds), if ever.
    #[serde(serialize_with = "time::serialize_optional_period")]
    pub edited: Option<i64>,
    /// A tombstone: deleted by its publisher; the id stays valid.
    pub deleted: bool,
    /// The message it answers, in the same group.
    pub reply_to: Option<i64>,
    /// The names it mentions (shown form), as resolved when it was sent or edited.
    pub mentions: Vec<String>,
    /// Files sent with it (none once it is deleted).
    pub files: Vec<FileInfo>,
}

/// A file of a message, as the message shows it (its data comes from GetFile).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FileInfo {
    pub id: i64,
    pub name: String,
    pub size: i64,
    /// The MIME type read from the content.
    #[serde(rename = "type")]
    pub mime: String,
}

/// A conversation: a topic and a set of participants (empty = public).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    pub id: i64,
    pub topic: String,
    pub participants: Vec<String>,
    pub unread: i64,
    /// Unread messages in it that mention the user.
    pub mentions: i64,
    pub last: Option<Message>,
    /// Every member's read mark (private groups; None for a public topic).
    pub reads: Option<BTreeMap<String, i64>>,
    /// The object a discussion is about (OpenDiscussion's Context), None otherwise.
    pub context: Option<String>,
}

/// What is unread for a user over every group they see (GetUnread).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Unread {
    /// Unread messages.
    pub unread: i64,
    /// Unread messages that mention the user.
    pub mentions: i64,
    /// Groups with an unread message.
    pub groups: i64,
}

/// Input rejected by the domain rules, before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    EmptyText,
    TextTooLong,
    EmptyTopic,
    TopicTooLong,
    NameTooLong(String),
    EmptyUser,
    TooManyParticipants,
    ParticipantsMalformed,
    /// Participants were given, but they name nobody (only "" means a public topic).
    NoParticipants,
    ControlCharInName,
    ControlCharInTopic,
    /// A zero-width, direction-control or other invisible character in a name or topic.
    InvisibleChar,
    /// U+0000 inside a text or topic: PostgreSQL cannot store it, so no store takes it.
    NulChar,
    /// A file name that is empty, too long, or holds a path separator or control character.
    BadFileName,
    /// A file above [`limits::FILE_MAX_BYTES`].
    FileTooLarge,
    /// A search text shorter than [`limits::SEARCH_MIN_CHARS`].
    SearchTooShort,
    /// A discussion's context that is empty or too long.
    BadContext,
}

/// A message ready to be stored: validated and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub topic: String,
    /// Display names, sender included, deduplicated by [`user_key`]; empty = public.
    pub participants: Vec<String>,
    pub publisher: String,
    pub text: String,
    /// The message it answers (checked by the store: same group).
    pub reply_to: Option<i64>,
    /// An existing conversation to post into (a discussion, say), instead of the one
    /// the topic and participants name.
    pub group: Option<i64>,
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Checks a user name (given to Open, or in a ticket); returns its shown form.
pub fn validate_user(user: &str) -> Result<String, Invalid> {
    let user = shown_form(user).map_err(name_char)?;
    if user.is_empty() {
        return Err(Invalid::EmptyUser);
    }
    check_name(&user)?;
    Ok(user)
}

fn name_char(bad: BadChar) -> Invalid {
    match bad {
        BadChar::Control => Invalid::ControlCharInName,
        BadChar::Invisible => Invalid::InvisibleChar,
    }
}

fn check_name(name: &str) -> Result<(), Invalid> {
    if chars(name) > limits::NAME_MAX_CHARS {
        return Err(Invalid::NameTooLong(name.chars().take(40).collect()));
    }
    Ok(())
}

/// Checks a message text (SendMessage, EditMessage).
pub fn check_text(text: &str) -> Result<(), Invalid> {
    if text.trim().is_empty() {
        return Err(Invalid::EmptyText);
    }
    if text.contains('\0') {
        return Err(Invalid::NulChar);
    }
    if chars(text) > limits::TEXT_MAX_CHARS {
        return Err(Invalid::TextTooLong);
    }
    Ok(())
}

/// Validates SendMessage's arguments and shapes the group: the sender is always a
/// member of a private group; no participants means a public topic.
pub fn new_message(
    publisher: &str,
    topic: &str,
    participants: &str,
    text: &str,
) -> Result<NewMessage, Invalid> {
    check_text(text)?;
    shape_message(publisher, topic, participants, text)
}

/// SendFile's message: as [`new_message`], but the text may be empty.
pub fn new_file_message(
    publisher: &str,
    topic: &str,
    participants: &str,
    text: &str,
) -> Result<NewMessage, Invalid> {
    if !text.is_empty() {
        check_text(text)?;
    }
    shape_message(publisher, topic, participants, text)
}

fn shape_message(
    publisher: &str,
    topic: &str,
    participants: &str,
    text: &str,
) -> Result<NewMessage, Invalid> {
    if topic.contains('\0') {
        return Err(Invalid::NulChar);
    }
    let topic = check_title(topic)?;
    if chars(participants) > limits::PARTICIPANTS_ARG_MAX_CHARS {
        return Err(Invalid::TooManyParticipants);
    }
    let mut names = parse_participants(participants)?;
    for name in &names {
        check_name(name)?;
    }
    if !names.is_empty() {
        let me = user_key(publisher);
        if !names.iter().any(|n| user_key(n) == me) {
            names.push(publisher.to_string());
        }
    }
    if names.len() > limits::PARTICIPANTS_MAX {
        return Err(Invalid::TooManyParticipants);
    }
    Ok(NewMessage {
        topic,
        participants: names,
        publisher: publisher.to_string(),
        text: text.to_string(),
        reply_to: None,
        group: None,
    })
}

/// A message into an existing conversation (PostMessage, PostFile): the group decides
/// who reads it. An empty text is allowed when a file goes with it.
pub fn post(
    publisher: &str,
    group: i64,
    text: &str,
    with_file: bool,
) -> Result<NewMessage, Invalid> {
    if !(with_file && text.is_empty()) {
        check_text(text)?;
    }
    Ok(NewMessage {
        topic: String::new(),
        participants: Vec::new(),
        publisher: publisher.to_string(),
        text: text.to_string(),
        reply_to: None,
        group: Some(group),
    })
}

/// What Search looks for: at least three characters, compared as the store folds them.
pub fn search_text(text: &str) -> Result<String, Invalid> {
    let text = text.trim();
    if text.contains('\0') {
        return Err(Invalid::NulChar);
    }
    if chars(text) < limits::SEARCH_MIN_CHARS {
        return Err(Invalid::SearchTooShort);
    }
    Ok(text.chars().take(limits::TEXT_MAX_CHARS).collect())
}

/// Checks a discussion's context (an object's navigation link, typically).
pub fn check_context(context: &str) -> Result<String, Invalid> {
    let context = context.trim();
    if context.is_empty() || chars(context) > limits::CONTEXT_MAX_CHARS {
        return Err(Invalid::BadContext);
    }
    if context.chars().any(char::is_control) {
        return Err(Invalid::BadContext);
    }
    Ok(context.to_string())
}

/// Checks a discussion's title by the topic rule; its shown form.
pub fn check_title(title: &str) -> Result<String, Invalid> {
    let title = shown_form(title).map_err(|bad| match bad {
        BadChar::Control => Invalid::ControlCharInTopic,
        BadChar::Invisible => Invalid::InvisibleChar,
    })?;
    if title.is_empty() {
        return Err(Invalid::EmptyTopic);
    }
    if chars(&title) > limits::TOPIC_MAX_CHARS {
        return Err(Invalid::TopicTooLong);
    }
    Ok(title)
}

/// Clamps a requested page size into 1..=PAGE_MAX.
pub fn page_size(limit: i64) -> i64 {
    limit.clamp(1, limits::PAGE_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_joins_private_groups_only() {
        let m = new_message("Ann", "Sales", "Bob; Carl", "hi").unwrap();
        assert_eq!(m.participants, vec!["Bob", "Carl", "Ann"]);
        let public = new_message("Ann", "News", "", "hi").unwrap();
        assert!(public.participants.is_empty());
        let already = new_message("ann", "Sales", "ANN, bob", "hi").unwrap();
        assert_eq!(already.participants, vec!["ANN", "bob"]);
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(new_message("a", "t", "", "  \n"), Err(Invalid::EmptyText));
        assert_eq!(new_message("a", " ", "", "x"), Err(Invalid::EmptyTopic));
        let long = "я".repeat(limits::TEXT_MAX_CHARS + 1);
        assert_eq!(new_message("a", "t", "", &long), Err(Invalid::TextTooLong));
        let ok = "я".repeat(limits::TEXT_MAX_CHARS);
        assert!(new_message("a", "t", "", &ok).is_ok());
        let topic = "t".repeat(limits::TOPIC_MAX_CHARS + 1);
        assert_eq!(
            new_message("a", &topic, "", "x"),
            Err(Invalid::TopicTooLong)
        );
        let many: Vec<String> = (0..limits::PARTICIPANTS_MAX)
            .map(|i| format!("u{i}"))
            .collect();
        assert_eq!(
            new_message("a", "t", &many.join(";"), "x"),
            Err(Invalid::TooManyParticipants)
        );
        assert!(new_message("a", "t", &many[1..].join(";"), "x").is_ok());
        assert!(matches!(
            new_message("a", "t", &"n".repeat(101), "x"),
            Err(Invalid::NameTooLong(_))
        ));
        assert_eq!(validate_user("  "), Err(Invalid::EmptyUser));
        assert_eq!(validate_user(" Иван "), Ok("Иван".to_string()));
    }

    #[test]
    fn page_size_is_capped() {
        assert_eq!(page_size(0), 1);
        assert_eq!(page_size(50), 50);
        assert_eq!(page_size(i64::MAX), limits::PAGE_MAX);
    }

    #[test]
    fn json_shapes() {
        let m = Message {
            id: 7,
            group: 3,
            period: 1_700_000_000_123,
            publisher: "Ann".into(),
            text: "<b>\"hi\"</b>".into(),
            rev: 9,
            edited: Some(1_700_000_000_456),
            deleted: false,
            reply_to: Some(5),
            mentions: vec!["Bob".into()],
            files: vec![FileInfo {
                id: 2,
                name: "a.pdf".into(),
                size: 10,
                mime: "application/pdf".into(),
            }],
        };
        let g = Group {
            id: 3,
            topic: "T".into(),
            participants: vec!["Ann".into(), "Bob".into()],
            unread: 2,
            mentions: 1,
            last: Some(m.clone()),
            reads: Some([("Ann".to_string(), 7), ("Bob".to_string(), 5)].into()),
            context: None,
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"id":7,"group":3,"period":"2023-11-14T22:13:20.123Z","publisher":"Ann","text":"<b>\"hi\"</b>","rev":9,"edited":"2023-11-14T22:13:20.456Z","deleted":false,"reply_to":5,"mentions":["Bob"],"files":[{"id":2,"name":"a.pdf","size":10,"type":"application/pdf"}]}"#
        );
        let v: serde_json::Value = serde_json::to_value(&g).unwrap();
        assert_eq!(v["last"]["id"], 7);
        assert_eq!(v["unread"], 2);
        assert_eq!(v["mentions"], 1);
        assert_eq!(v["reads"], serde_json::json!({"Ann": 7, "Bob": 5}));
        let plain = Message {
            edited: None,
            reply_to: None,
            ..m
        };
        let v = serde_json::to_value(&plain).unwrap();
        assert_eq!(
            (v["edited"].is_null(), v["reply_to"].is_null()),
            (true, true)
        );
        let none = Group {
            last: None,
            reads: None,
            ..g
        };
        let v = serde_json::to_value(&none).unwrap();
        assert_eq!((v["last"].is_null(), v["reads"].is_null()), (true, true));
    }
}
