//! Crash safety: a writer process killed with SIGKILL in the middle of a stream of sends.
//! Every send that returned an id is in the store, the file passes integrity_check, and
//! a watcher in another process keeps receiving.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value as Json;

use crate::common::*;
use crate::util::{hint_groups, ids};

#[test]
fn sigkill_mid_stream_loses_no_acknowledged_message() {
    let lib = library();
    let store = TempStore::new();
    let mut watcher = open(&lib, &store, "watcher");
    watcher.events().set_depth(1000);
    let mut child = Command::new(chat1c_host::cli_path())
        .arg("--lib")
        .arg(chat1c_host::addin_path())
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the host CLI");
    let mut stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let open = serde_json::json!({"cmd":"call","name":"Open","args":[store.location(),"writer"]});
    writeln!(stdin, "{open}").unwrap();
    // Queue far more sends than will finish: the kill lands in the middle of one.
    let feeder = std::thread::spawn(move || {
        for n in 0..20_000 {
            let c = serde_json::json!({"cmd":"call","name":"SendMessage","args":["stream","watcher",format!("m{n}")]});
            if writeln!(stdin, "{c}").is_err() {
                break;
            }
        }
    });
    let mut acked = Vec::new();
    let mut line = String::new();
    while acked.len() < 400 {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "CLI ended early");
        let v: Json = serde_json::from_str(&line).unwrap();
        if let Some(id) = v["value"].as_i64() {
            acked.push(id);
        }
    }
    child.kill().expect("SIGKILL the writer");
    // Whatever the CLI printed before dying was acknowledged too.
    loop {
        line.clear();
        if out.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        if let Ok(v) = serde_json::from_str::<Json>(&line) {
            if let Some(id) = v["value"].as_i64() {
                acked.push(id);
            }
        }
    }
    let _ = child.wait();
    let _ = feeder.join();
    println!("{} sends acknowledged before SIGKILL", acked.len());

    // The watcher continues: a message from a new writer process reaches it.
    let mut w2 = Client::opened(&[], &store.location(), "writer2");
    let after = w2.call(
        "SendMessage",
        serde_json::json!(["stream", "watcher", "after the crash"]),
    );
    assert_eq!(after["ok"], true, "{after}");
    let after_id = after["value"].as_i64().unwrap();
    let mut announced = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while announced < after_id && std::time::Instant::now() < deadline {
        if let Some(e) = watcher.events().wait(Duration::from_millis(200)) {
            let d: Json = serde_json::from_str(&e.data).unwrap();
            announced = announced.max(d["cursor"].as_i64().unwrap());
            assert!(!hint_groups(&e.data).is_empty());
        }
    }
    assert!(
        announced >= after_id,
        "the watcher was not told about the message sent after the crash"
    );
    w2.finish();

    // Every acknowledged id is in the store (read back through the add-in).
    let groups = json(watcher.call("GetGroups", &[]).unwrap());
    let mut stored = std::collections::BTreeSet::new();
    for g in groups.as_array().unwrap() {
        let g = g["id"].as_i64().unwrap() as i32;
        let mut before = i32::MAX;
        loop {
            let page = ids(&json(
                watcher
                    .call("GetHistory", &[i(g), i(before), i(100)])
                    .unwrap(),
            ));
            let Some(first) = page.first().copied() else {
                break;
            };
            stored.extend(page);
            before = first as i32;
        }
    }
    let lost: Vec<_> = acked
        .iter()
        .filter(|id| !stored.contains(id))
        .take(10)
        .collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    let d = watcher.destroy();
    assert_eq!(d.leaks, 0);
    assert!(d.violations.is_empty(), "{:?}", d.violations);

    if !store.is_pg() {
        let c = rusqlite::Connection::open(&store.path).unwrap();
        let check: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        // python3's sqlite3, an independent reader, agrees when it is installed.
        let py = Command::new("python3")
            .arg("-c")
            .arg("import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])")
            .arg(&store.path)
            .output();
        match py {
            Ok(o) if o.status.success() => {
                assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "ok")
            }
            _ => println!("python3 sqlite3 unavailable: checked with the bundled SQLite only"),
        }
    }
}
