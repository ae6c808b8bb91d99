//! The host against the real chat1c library: creation is clean (names, counts, memory), one
//! message goes round in process, and a second host process (the CLI) receives the event.
//! The add-in's own conformance tests live in the workspace's tests/; this only proves the host
//! and the library fit together. Skips, printing why, when the library is not built.
#![cfg(unix)]

use chat1c_host::{Library, Options, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

fn lib() -> Option<Library> {
    let path = chat1c_host::addin_path();
    if !path.exists() {
        say(&format!(
            "chat_smoke SKIPPED: {} is not built (cargo build -p chat1c)",
            path.display()
        ));
        return None;
    }
    Some(Library::load(path).expect("load libchat1c"))
}

#[test]
fn chat_library_creates_cleanly_and_pushes_across_processes() {
    let Some(lib) = lib() else { return };
    assert_eq!(lib.class_names(), vec!["Chat"]);
    assert_eq!(lib.attach_type(), Some(3));
    let dir = std::env::temp_dir().join(format!("chat1c-host-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = dir.join("chat.db").to_string_lossy().into_owned();

    let mut chat = lib.create("Chat", &Options::default()).expect("create");
    assert_eq!(chat.info(), 2000);
    assert_eq!(chat.extension_name(), "Chat");
    assert!(chat.violations().is_empty(), "{:?}", chat.violations());

    // A second process: the CLI opens the same store as bob and waits for one event.
    let mut bob = Command::new(env!("CARGO_BIN_EXE_chat1c-host"))
        .arg("--lib")
        .arg(chat1c_host::addin_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn CLI");
    let mut to_bob = bob.stdin.take().unwrap();
    let mut from_bob = BufReader::new(bob.stdout.take().unwrap()).lines();
    let mut next = || -> serde_json::Value {
        serde_json::from_str(&from_bob.next().expect("a line").expect("read")).expect("JSON")
    };
    assert_eq!(next()["ready"], true);
    writeln!(
        to_bob,
        "{{\"cmd\":\"call\",\"name\":\"Open\",\"args\":[{store:?},\"bob\"]}}"
    )
    .unwrap();
    assert_eq!(next()["ok"], true);
    writeln!(to_bob, "{{\"cmd\":\"wait_event\",\"ms\":5000}}").unwrap();
    std::thread::sleep(Duration::from_millis(100));

    chat.call("Open", &[Value::str(&store), Value::str("alice")])
        .expect("Open");
    let id = chat
        .call(
            "SendMessage",
            &[Value::str("smoke"), Value::str("bob"), Value::str("hello")],
        )
        .expect("SendMessage");
    let sent = chat1c_host::mono_ns();
    let id = id.as_i64().expect("a numeric id");
    let ev = next();
    assert_eq!(ev["event"]["message"], "NewMessages", "{ev}");
    let latency_ms = (ev["event"]["mono_ns"].as_u64().unwrap() as f64 - sent as f64).max(0.0) / 1e6;
    say(&format!(
        "chat_smoke: cross-process event {latency_ms:.2} ms after SendMessage returned"
    ));
    assert!(latency_ms < 2000.0);
    assert_eq!(next()["pumped"], 1);
    assert!(
        chat.events().pump().is_empty(),
        "the sender is not told about its own message"
    );

    let group = chat.call("GetGroups", &[]).unwrap().as_str().unwrap();
    let groups: serde_json::Value = serde_json::from_str(&group).unwrap();
    let gid = groups[0]["id"].as_i64().unwrap() as i32;
    let msgs = chat.call("GetMessages", &[Value::I4(gid)]).unwrap();
    let msgs: serde_json::Value = serde_json::from_str(&msgs.as_str().unwrap()).unwrap();
    assert_eq!(msgs[0]["id"].as_i64(), Some(id));
    assert_eq!(msgs[0]["text"], "hello");

    drop(to_bob);
    let out = bob.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "bob's host reported violations or leaks"
    );

    chat.call("Close", &[]).unwrap();
    let oid = chat.id();
    let d = chat.destroy();
    assert_eq!(d.leaks, 0);
    assert!(
        chat1c_host::violations_of(oid).is_empty(),
        "{:?}",
        d.violations
    );
    let _ = std::fs::remove_dir_all(&dir);
}
