//! JSON-producing paths: FillChat's page renderer with an arbitrary user, language and
//! groups JSON, plus the participants parser and the period formatter. Nothing may
//! panic, and no input may add or remove a script tag in the page.
#![no_main]

use std::sync::OnceLock;

use chat1c::page::{render, PageState};
use libfuzzer_sys::fuzz_target;

fn script_tags(html: &str) -> (usize, usize) {
    let lower = html.to_ascii_lowercase();
    (
        lower.matches("<script").count(),
        lower.matches("</script").count(),
    )
}

fn baseline() -> (usize, usize) {
    static B: OnceLock<(usize, usize)> = OnceLock::new();
    *B.get_or_init(|| {
        script_tags(&render(&PageState {
            user: "u",
            lang: "en",
            groups_json: "[]",
            groups_limit: 0,
            group: None,
        }))
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\u{1}');
    let user = parts.next().unwrap_or("");
    let lang = parts.next().unwrap_or("");
    let rest = parts.next().unwrap_or("");
    // Either the raw bytes as the groups JSON, or a well-formed group carrying them as text,
    // which is what GetGroups really produces.
    let well_formed = serde_json::json!([{
        "id": 1, "topic": rest, "participants": [user, rest], "unread": 1,
        "last": {"id": 1, "group": 1, "period": "2024-01-01T00:00:00.000Z", "publisher": user, "text": rest}
    }])
    .to_string();
    for groups_json in [rest, well_formed.as_str()] {
        let html = render(&PageState {
            user,
            lang,
            groups_json,
            groups_limit: 50,
            group: None,
        });
        assert_eq!(
            script_tags(&html),
            baseline(),
            "input changed the page's script tags"
        );
        assert!(!html.contains('\u{2028}') && !html.contains('\u{2029}'));
    }
    let _ = chat1c::chat::parse_participants(&text);
    let _ = chat1c::chat::new_message(user, lang, rest, &text);
    if data.len() >= 8 {
        let n = i64::from_le_bytes(data[..8].try_into().unwrap());
        let _ = chat1c::chat::format_period(n);
    }
});
