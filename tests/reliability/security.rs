//! Security: visibility through every method and event, SQL injection stored literally,
//! and no JSON string breaking out of the page's script block in FillChat.

use std::time::Duration;

use serde_json::json;

use crate::common::*;

/// The text with every number replaced by N, so two group ids compare equal.
fn digits_to_n(t: &str) -> String {
    let mut out = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            if !out.ends_with('N') {
                out.push('N');
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn private_groups_are_invisible_to_outsiders_through_every_method_and_event() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Ann");
    let mut eve = open(&lib, &store, "Eve");
    // Eve's watcher in another process too.
    let mut eve2 = Client::opened(&[], &store.location(), "Eve");
    let secret = "the secret plan";
    let id = send(&mut ann, "private deal", "Bob", secret);
    let groups = json(ann.call("GetGroups", &[]).unwrap());
    let g = groups[0]["id"].as_i64().unwrap() as i32;
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        eve.events().pump().is_empty(),
        "Eve got an event for a private group"
    );
    let r = eve2.cmd(json!({"cmd": "pump_for", "ms": 300}));
    assert_eq!(r["ok"], true);
    assert!(
        eve2.events.is_empty(),
        "Eve's other process got an event: {:?}",
        eve2.events
    );

    assert_eq!(json(eve.call("GetGroups", &[]).unwrap()), json!([]));
    let html = text(eve.call("FillChat", &[]).unwrap());
    assert!(!html.contains(secret) && !html.contains("private deal"));
    // The private group and a group that does not exist fail alike (never tell which).
    let missing = 999_999;
    for (m, args, args_missing) in [
        (
            "GetMessages",
            vec![i(g), i(0), i(50)],
            vec![i(missing), i(0), i(50)],
        ),
        (
            "GetMessages",
            vec![i(g), i(id as i32 - 1), i(50)],
            vec![i(missing), i(id as i32 - 1), i(50)],
        ),
        (
            "GetHistory",
            vec![i(g), i(id as i32 + 1), i(50)],
            vec![i(missing), i(id as i32 + 1), i(50)],
        ),
        (
            "MarkRead",
            vec![i(g), i(id as i32)],
            vec![i(missing), i(id as i32)],
        ),
    ] {
        let e = eve
            .call(m, &args)
            .expect_err(&format!("Eve's {m} must fail"));
        assert!(!e.message.contains(secret));
        let e2 = eve.call(m, &args_missing).expect_err("missing group");
        assert_eq!(
            digits_to_n(&e.message),
            digits_to_n(&e2.message),
            "{m}: a private group must look like a missing one"
        );
    }
    // Sending to the same topic creates Eve's own group, not a way in.
    let mine = send(&mut eve, "private deal", "Bob", "let me in");
    let eg = json(eve.call("GetGroups", &[]).unwrap());
    assert_eq!(eg.as_array().unwrap().len(), 1);
    assert_ne!(eg[0]["id"].as_i64().unwrap(), g as i64);
    let page = json(
        eve.call(
            "GetMessages",
            &[i(eg[0]["id"].as_i64().unwrap() as i32), i(0), i(50)],
        )
        .unwrap(),
    );
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0]["id"].as_i64().unwrap(), mine);
    eve2.finish();
}

const EVIL: &[&str] = &[
    "'); DROP TABLE chat_register; --",
    "\" OR 1=1 --",
    "x'||(SELECT sqlite_version())||'",
    "Robert'); DELETE FROM chat_groups WHERE ('1'='1",
    "%_\\' ; SELECT pg_sleep(10); --",
    "$1 $$ $tag$ E'\\x00'",
];

#[test]
fn sql_injection_strings_are_stored_literally_in_every_field() {
    let lib = library();
    let store = TempStore::new();
    for (n, evil) in EVIL.iter().enumerate() {
        let user = format!("{evil} user");
        let mut o = open(&lib, &store, &user);
        assert_eq!(text(o.get("User").unwrap()), user);
        let peer = format!("peer {n} {evil}");
        let topic = format!("topic {evil}");
        // A JSON array keeps the ';' inside the name (a plain list would split on it).
        let id = send(&mut o, &topic, &json!([peer]).to_string(), evil);
        let groups = json(o.call("GetGroups", &[]).unwrap());
        let g = groups
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["topic"] == json!(topic))
            .unwrap_or_else(|| panic!("topic {topic:?} stored literally: {groups}"));
        let parts: Vec<&str> = g["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert!(
            parts.contains(&peer.as_str()) && parts.contains(&user.as_str()),
            "{parts:?}"
        );
        let page = json(
            o.call(
                "GetMessages",
                &[i(g["id"].as_i64().unwrap() as i32), i(0), i(10)],
            )
            .unwrap(),
        );
        assert_eq!(page[0]["id"].as_i64().unwrap(), id);
        assert_eq!(page[0]["text"], json!(evil));
        assert_eq!(page[0]["publisher"], json!(user));
    }
    // The tables are all still there: a new message and read-back work.
    let mut o = open(&lib, &store, "plain");
    send(&mut o, "after", "", "still fine");
    assert!(!json(o.call("GetGroups", &[]).unwrap())
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn json_strings_cannot_break_out_of_the_page_script_block() {
    let lib = library();
    let store = TempStore::new();
    let nasty = [
        "</script><script>alert(1)</script>",
        "</SCRIPT ><img src=x onerror=alert(2)>",
        "<!--<script>",
        "a\u{2028}b\u{2029}c",
        "]]></x>",
        "${alert(3)}`",
        "\\\"};alert(4);//",
    ];
    let user = "</script><b>user";
    let mut o = open(&lib, &store, user);
    for (n, t) in nasty.iter().enumerate() {
        // Names and topics may not hold line or paragraph separators (the names rule);
        // the message text keeps them.
        let named = t.replace(['\u{2028}', '\u{2029}'], " ");
        send(
            &mut o,
            &format!("{named} topic {n}"),
            &format!("{named} peer"),
            t,
        );
    }
    let html = text(o.call("FillChat", &[]).unwrap());
    // The same page with harmless data: the count of script tags must not change.
    let clean_store = TempStore::new();
    let mut c = open(&lib, &clean_store, "user");
    send(&mut c, "topic", "peer", "text");
    let clean = text(c.call("FillChat", &[]).unwrap());
    let count = |h: &str, needle: &str| h.to_ascii_lowercase().matches(needle).count();
    for needle in ["</script", "<script", "<!--", "<img"] {
        assert_eq!(
            count(&html, needle),
            count(&clean, needle),
            "{needle:?} count changed: injected text leaks into the page markup"
        );
    }
    assert!(!html.contains('\u{2028}') && !html.contains('\u{2029}'));
}
