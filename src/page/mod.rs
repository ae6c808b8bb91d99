//! The chat page that `FillChat` hands to 1C's HTML field.
//!
//! chat.html, chat.css and chat.js are real files embedded at build time, deflated by
//! build.rs (133 KB of text ship as 37 KB) and inflated here on the first `render`; `render`
//! fills the template's three slots and injects the initial state (user, language, groups) as
//! JSON escaped so that no input can leave the `<script>` block. FFI-free and panic-free.

use once_cell::sync::Lazy;
use serde_json::Value;

/// chat.html, chat.css and chat.js one after another, as one raw DEFLATE stream (build.rs).
static PACKED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/page.deflate"));
include!(concat!(env!("OUT_DIR"), "/page_lens.rs"));

/// The three files, inflated once per process. build.rs checked the round trip, so the
/// empty fallback (a blank page rather than a panic) is never expected to be taken.
static FILES: Lazy<[String; 3]> = Lazy::new(|| {
    let all = miniz_oxide::inflate::decompress_to_vec(PACKED)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|all| all.len() == LENS.iter().sum::<usize>());
    let Some(all) = all else {
        return Default::default();
    };
    let (html, rest) = all.split_at(LENS[0]);
    let (css, js) = rest.split_at(LENS[1]);
    [html.to_string(), css.to_string(), js.to_string()]
});

/// What the first paint needs, so the page shows the chat without calling back.
pub struct PageState<'a> {
    /// The 1C user name the chat was opened with.
    pub user: &'a str,
    /// UI language: "ru" (any "ru…" code) or anything else for English.
    pub lang: &'a str,
    /// The GetGroups JSON array; treated as untrusted (re-parsed, never pasted).
    pub groups_json: &'a str,
    /// The Limit the groups were listed with (0: all of them): the page offers more.
    pub groups_limit: i64,
    /// FillChat(Group): the one conversation the page shows, without the list.
    pub group: Option<i64>,
}

/// Returns the whole self-contained HTML document.
pub fn render(state: &PageState) -> String {
    let [template, css, js] = &*FILES;
    let lang = normalize_lang(state.lang);
    let mut out = String::with_capacity(template.len() + css.len() + js.len() + 256);
    // Slots are looked up in the template only, so text inside CSS/JS/state never
    // gets mistaken for a slot.
    let mut rest = template.as_str();
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let slot = &rest[start + 2..start + len];
        let fill = match slot {
            "LANG" => lang.to_string(),
            "CSS" => css.clone(),
            "JS" => js.clone(),
            "STATE" => state_json(state, lang),
            // Not a slot: keep the text as it is.
            _ => rest[start..start + len + 2].to_string(),
        };
        out.push_str(&rest[..start]);
        out.push_str(&fill);
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

fn normalize_lang(lang: &str) -> &'static str {
    if lang.trim().to_ascii_lowercase().starts_with("ru") {
        "ru"
    } else {
        "en"
    }
}

/// The initial state as a JS-safe JSON literal. Groups that are not a JSON array
/// become `[]`: a broken store answer must not break the page.
fn state_json(state: &PageState, lang: &str) -> String {
    let groups = match serde_json::from_str::<Value>(state.groups_json) {
        Ok(v @ Value::Array(_)) => v,
        _ => Value::Array(Vec::new()),
    };
    let state = serde_json::json!({
        "user": state.user,
        "lang": lang,
        "groups": groups,
        "groupsLimit": state.groups_limit,
        "group": state.group,
    });
    escape_for_script(&state.to_string())
}

/// Makes serialized JSON safe inside an inline `<script>`: `<`, `>` and `&` can only
/// occur inside JSON strings, where `\uXXXX` means the same; U+2028/2029 are line
/// terminators for pre-ES2019 engines (1C's WebKit) and would end the literal.
fn escape_for_script(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = include_str!("chat.html");
    const CSS: &str = include_str!("chat.css");
    const JS: &str = include_str!("chat.js");

    #[test]
    fn inflated_files_are_the_sources_byte_for_byte() {
        let [template, css, js] = &*FILES;
        assert!(template == TEMPLATE, "chat.html");
        assert!(css == CSS, "chat.css");
        assert!(js == JS, "chat.js");
    }

    #[test]
    fn one_conversation_only() {
        let html = render(&PageState {
            user: "u",
            lang: "en",
            groups_json: "[]",
            groups_limit: 50,
            group: Some(42),
        });
        assert!(
            html.contains(r#""group":42"#),
            "the page learns its one conversation"
        );
        assert!(page("u", "en", "[]").contains(r#""group":null"#));
    }

    const XSS_IMG: &str = "<img src=x onerror=alert(1)>";
    const XSS_SCRIPT: &str = "</script><script>window.pwned=1</script>";

    fn page(user: &str, lang: &str, groups: &str) -> String {
        render(&PageState {
            user,
            lang,
            groups_json: groups,
            groups_limit: 0,
            group: None,
        })
    }

    /// The text between the state marker and the end of its script element.
    fn state_of(html: &str) -> Value {
        let start = html.find("window.CHAT1C_STATE = ").expect("state marker") + 22;
        let end = start + html[start..].find(";</script>").expect("state end");
        serde_json::from_str(&html[start..end]).expect("state is JSON")
    }

    fn script_count(html: &str) -> usize {
        html.to_ascii_lowercase().matches("<script").count()
    }

    #[test]
    fn is_one_self_contained_document() {
        let html = page("Anna", "en", "[]");
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("chatTakeActions"));
        assert!(html.contains("id=\"chat1c-root\""));
        assert!(!html.contains("{{"), "every slot filled");
        for bad in ["src=\"http", "href=\"http", "url(http", "@import", "<link"] {
            assert!(!html.contains(bad), "no external resource: {bad}");
        }
    }

    #[test]
    fn shipped_assets_cannot_close_their_own_element() {
        assert!(!JS.to_ascii_lowercase().contains("</script"));
        assert!(!JS.contains("<!--"));
        assert!(!CSS.to_ascii_lowercase().contains("</style"));
    }

    #[test]
    fn languages() {
        for (given, want) in [
            ("ru", "ru"),
            ("RU", "ru"),
            ("ru_RU", "ru"),
            ("en", "en"),
            ("", "en"),
            ("de", "en"),
            ("\"><script>", "en"),
        ] {
            let html = page("u", given, "[]");
            assert_eq!(state_of(&html)["lang"], want, "{given}");
            assert!(html.contains(&format!("<html lang=\"{want}\">")));
        }
    }

    #[test]
    fn user_is_escaped_and_round_trips() {
        let user = format!("{XSS_SCRIPT}{XSS_IMG}&amp;\u{2028}\u{2029}\"\\'");
        let html = page(&user, "en", "[]");
        assert_eq!(script_count(&html), 2, "no extra script element");
        assert!(!html.contains(XSS_SCRIPT) && !html.contains(XSS_IMG));
        assert!(!html.contains('\u{2028}') && !html.contains('\u{2029}'));
        assert_eq!(state_of(&html)["user"], user.as_str());
    }

    #[test]
    fn hostile_groups_are_reserialized() {
        let groups = serde_json::json!([{
            "id": 1, "topic": XSS_SCRIPT, "participants": [XSS_IMG, "Bob"], "unread": 2,
            "last": {"id": 5, "group": 1, "period": "2024-01-02T03:04:05.000Z",
                      "publisher": "<!--", "text": "]]> \u{2028} </SCRIPT >"}
        }])
        .to_string();
        let html = page("Anna", "ru", &groups);
        assert_eq!(script_count(&html), 2);
        assert!(!html.contains("<!--") && !html.contains("</SCRIPT"));
        let state = state_of(&html);
        assert_eq!(state["groups"][0]["topic"], XSS_SCRIPT);
        assert_eq!(state["groups"][0]["participants"][0], XSS_IMG);
        assert_eq!(
            state["groups"][0]["last"]["text"],
            "]]> \u{2028} </SCRIPT >"
        );
    }

    #[test]
    fn groups_that_are_not_a_json_array_become_empty() {
        for bad in [
            "",
            "not json",
            "{\"id\":1}",
            "[1,2",
            "]; window.pwned=1; [",
            "null",
            "\"</script>\"",
        ] {
            let html = page("Anna", "en", bad);
            assert_eq!(script_count(&html), 2, "{bad}");
            assert_eq!(state_of(&html)["groups"], serde_json::json!([]), "{bad}");
        }
    }

    #[test]
    fn template_text_in_input_is_not_a_slot() {
        let html = page("{{JS}}", "en", r#"[{"topic":"{{STATE}}"}]"#);
        let state = state_of(&html);
        assert_eq!(state["user"], "{{JS}}");
        assert_eq!(state["groups"][0]["topic"], "{{STATE}}");
        assert_eq!(html.matches("chatTakeActions = function").count(), 1);
    }
}
