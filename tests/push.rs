//! Push: the watcher raises ExternalEvent hints for messages committed by
//! any process; the form pulls by cursor; nothing is lost when 1C refuses an event;
//! nothing reaches 1C after Done.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

fn hint(e: &Event) -> (i64, Vec<i64>) {
    assert_eq!(
        (e.source.as_str(), e.message.as_str()),
        ("Chat", "NewMessages")
    );
    let d: serde_json::Value = serde_json::from_str(&e.data).expect("event data is JSON");
    let groups = d["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g.as_i64().unwrap())
        .collect();
    (d["cursor"].as_i64().expect("cursor"), groups)
}

#[test]
fn same_process_send_raises_a_hint_for_members_only() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Ann");
    let bob = open(&lib, &store, "Bob");
    let eve = open(&lib, &store, "Eve");
    let id = send(&mut ann, "deal", "Bob", "hi");
    let e = bob
        .events()
        .wait(Duration::from_secs(5))
        .expect("Bob is told");
    let (cursor, groups) = hint(&e);
    assert_eq!(cursor, id);
    assert_eq!(groups.len(), 1);
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        eve.events().pump().is_empty(),
        "Eve is not a member: no event"
    );
}

#[test]
fn another_process_sees_a_message_within_milliseconds() {
    let lib = library();
    let store = TempStore::new();
    let reader = open(&lib, &store, "reader");
    let mut writer = Client::opened(&[], &store.location(), "writer");
    let mut latencies = Vec::new();
    for n in 0..50 {
        let r = writer.call("SendMessage", json!(["t", "reader", format!("m{n}")]));
        assert_eq!(r["ok"], true, "{r}");
        let committed = r["mono_ns"].as_u64().unwrap();
        let e = reader
            .events()
            .wait(Duration::from_secs(10))
            .expect("the reader gets an event");
        let (cursor, _) = hint(&e);
        assert_eq!(cursor, r["value"].as_i64().unwrap());
        latencies.push(e.mono_ns.saturating_sub(committed) as f64 / 1e6);
    }
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "cross-process delivery over 50 messages: p50 {:.3} ms, max {:.3} ms",
        latencies[25], latencies[49]
    );
    let fin = writer.finish();
    assert_eq!(fin["violations"], json!([]), "{fin}");
}

/// Pulls every new message for the hint, the way the form's ВнешнееСобытие does:
/// by cursor for a group it knows; for a group new to it, the newest page and then
/// older pages (GetHistory) until the beginning.
fn pull(o: &mut Object, groups: &[i64], seen: &mut BTreeMap<i64, i64>, got: &mut Vec<i64>) {
    for g in groups {
        let gi = i(*g as i32);
        if let Some(mut after) = seen.get(g).copied() {
            loop {
                let page = ids(&json(
                    o.call("GetMessages", &[gi.clone(), i(after as i32), i(100)])
                        .unwrap(),
                ));
                let Some(last) = page.last().copied() else {
                    break;
                };
                after = last;
                got.extend(page);
            }
            seen.insert(*g, after);
        } else {
            let page = ids(&json(
                o.call("GetMessages", &[gi.clone(), i(0), i(100)]).unwrap(),
            ));
            let (Some(first), Some(last)) = (page.first().copied(), page.last().copied()) else {
                continue;
            };
            got.extend(page);
            seen.insert(*g, last);
            let mut before = first;
            loop {
                let older = ids(&json(
                    o.call("GetHistory", &[gi.clone(), i(before as i32), i(100)])
                        .unwrap(),
                ));
                let Some(oldest) = older.first().copied() else {
                    break;
                };
                before = oldest;
                got.extend(older);
            }
        }
    }
}

#[test]
fn a_burst_of_500_at_queue_depth_1_loses_nothing() {
    let lib = library();
    let store = TempStore::new();
    let mut reader = open(&lib, &store, "reader");
    reader.events().set_depth(1);
    // Prime the per-group cursors the way a form does after FillChat: from now on.
    let mut seen = BTreeMap::new();
    let mut writer = Client::opened(&[], &store.location(), "writer");
    let script: Vec<serde_json::Value> = (0..500)
        .map(|n| {
            let topic = if n % 3 == 0 { "public" } else { "private" };
            let who = if n % 3 == 0 { "" } else { "reader" };
            json!({"cmd": "call", "name": "SendMessage", "args": [topic, who, format!("burst {n}")]})
        })
        .collect();
    let mut sent = Vec::new();
    for cmd in script {
        let r = writer.cmd(cmd);
        assert_eq!(r["ok"], true, "{r}");
        sent.push(r["value"].as_i64().unwrap());
    }
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut events = 0;
    while got.len() < sent.len() && Instant::now() < deadline {
        if let Some(e) = reader.events().wait(Duration::from_millis(200)) {
            events += 1;
            let (_, groups) = hint(&e);
            pull(&mut reader, &groups, &mut seen, &mut got);
        }
    }
    let unique: BTreeSet<i64> = got.iter().copied().collect();
    assert_eq!(unique.len(), got.len(), "no duplicates");
    assert_eq!(
        unique,
        sent.iter().copied().collect::<BTreeSet<_>>(),
        "all 500 arrive"
    );
    println!("500 messages pulled after {events} accepted events at depth 1");
    writer.finish();
}

#[test]
fn no_event_after_done_while_another_process_sends() {
    let lib = library();
    let store = TempStore::new();
    let mut writer = Client::opened(&[], &store.location(), "writer");
    let stream: Vec<serde_json::Value> = (0..2000)
        .map(|n| json!({"cmd": "call", "name": "SendMessage", "args": ["t", "", format!("{n}")]}))
        .collect();
    let feeder = std::thread::spawn(move || {
        for cmd in stream {
            let r = writer.cmd(cmd);
            assert_eq!(r["ok"], true, "{r}");
        }
        writer.finish()
    });
    for _ in 0..40 {
        let o = open(&lib, &store, "reader");
        let _ = o.events().wait(Duration::from_millis(20));
        let started = Instant::now();
        o.destroy();
        println!("Done + DestroyObject took {:?}", started.elapsed());
    }
    let fin = feeder.join().unwrap();
    assert_eq!(fin["violations"], json!([]));
    assert!(
        chat1c_host::violations().is_empty(),
        "{:?}",
        chat1c_host::violations()
    );
}

#[test]
fn close_stops_events_and_reopen_resumes() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Ann");
    let mut bob = open(&lib, &store, "Bob");
    bob.call("Close", &[]).unwrap();
    send(&mut ann, "t", "", "while closed");
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        bob.events().pump().is_empty(),
        "no event for a closed object"
    );
    bob.call("Open", &[s(&store.location()), s("Bob")]).unwrap();
    let id = send(&mut ann, "t", "", "after reopen");
    let e = bob
        .events()
        .wait(Duration::from_secs(5))
        .expect("event after reopen");
    assert_eq!(hint(&e).0, id);
}

#[test]
fn the_sending_object_is_not_hinted_about_its_own_message_but_the_users_other_window_is() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Ann");
    let second_window = open(&lib, &store, "Ann");
    let bob = open(&lib, &store, "Bob");
    let id = send(&mut ann, "deal", "Bob", "hi");
    for (who, o) in [("Ann's other window", &second_window), ("Bob", &bob)] {
        let e = o.events().wait(Duration::from_secs(5));
        assert_eq!(e.map(|e| hint(&e).0), Some(id), "{who} is told");
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        ann.events().pump().is_empty(),
        "the sender already has its message: no event"
    );
    // A message from someone else still reaches the sender.
    let mut bob = bob;
    let reply = send(&mut bob, "deal", "Ann", "hello");
    let e = ann
        .events()
        .wait(Duration::from_secs(5))
        .expect("Ann is told");
    assert_eq!(hint(&e).0, reply);
}
