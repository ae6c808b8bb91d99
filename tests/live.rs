//! Messages that live, through the host as 1C calls, on both stores: edits and
//! tombstones by their publisher only, replies within a conversation, mentions
//! resolved and counted until MarkRead, every member's read mark, GetUpdates, and the
//! events that announce edits and deletes (nothing lost at event-queue depth 1).

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value as Json};

fn group_of(o: &mut Object, topic: &str) -> Json {
    json(o.call("GetGroups", &[]).unwrap())
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["topic"] == topic)
        .cloned()
        .unwrap_or_else(|| panic!("no group {topic}"))
}

/// Message `id` of `group`, as the user sees it now.
fn message(o: &mut Object, group: i64, id: i64) -> Json {
    let page = json(
        o.call("GetHistory", &[i(group as i32), i(id as i32 + 1), i(1)])
            .unwrap(),
    );
    assert_eq!(page[0]["id"], json!(id), "message {id} is in group {group}");
    page[0].clone()
}

#[test]
fn only_the_publisher_edits_and_deletes_and_a_tombstone_stays() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Ann");
    let mut bob = open(&lib, &store, "Bob");
    let mut eve = open(&lib, &store, "Eve");
    let id = send(&mut ann, "Deal", "Bob", "typo hre");
    let g = group_of(&mut bob, "Deal")["id"].as_i64().unwrap();
    ann.call("EditMessage", &[i(id as i32), s("typo here")])
        .expect("the publisher edits");
    let m = message(&mut bob, g, id);
    assert_eq!(m["text"], "typo here");
    assert!(m["edited"].as_str().unwrap().ends_with('Z'));
    assert_eq!(m["deleted"], false);
    fails(
        &mut bob,
        "EditMessage",
        &[i(id as i32), s("mine now")],
        "only its author",
    );
    fails(
        &mut bob,
        "DeleteMessage",
        &[i(id as i32)],
        "only its author",
    );
    // Eve cannot see the group: the same text as for a message that does not exist.
    let hidden = fails(
        &mut eve,
        "DeleteMessage",
        &[i(id as i32)],
        "not available to you",
    );
    let missing = fails(
        &mut eve,
        "DeleteMessage",
        &[i(999_999)],
        "not available to you",
    );
    assert_eq!(
        hidden.replace(&id.to_string(), "N"),
        missing.replace("999999", "N")
    );
    fails(&mut ann, "EditMessage", &[i(id as i32), s("  ")], "empty");
    ann.call("DeleteMessage", &[i(id as i32)]).expect("delete");
    ann.call("DeleteMessage", &[i(id as i32)])
        .expect("deleting a tombstone again changes nothing");
    let m = message(&mut bob, g, id);
    assert_eq!(
        (m["deleted"].clone(), m["text"].clone()),
        (json!(true), json!(""))
    );
    fails(
        &mut ann,
        "EditMessage",
        &[i(id as i32), s("back")],
        "was deleted",
    );
    let mut ru = create(&lib, "ru");
    ru.call("Open", &[s(&store.location()), s("Bob")]).unwrap();
    fails(
        &mut ru,
        "ИзменитьСообщение",
        &[i(id as i32), s("x")],
        "другой пользователь",
    );
    // The ids around it stay valid cursors.
    let next = send(&mut ann, "Deal", "Bob", "after");
    let after = json(
        bob.call("GetMessages", &[i(g as i32), i(id as i32)])
            .unwrap(),
    );
    assert_eq!(ids(&after), vec![next]);
}

#[test]
fn replies_stay_in_their_conversation() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Ann");
    let first = send(&mut ann, "Deal", "Bob", "question");
    let other = send(&mut ann, "Other", "Carl", "elsewhere");
    let reply = number(
        ann.call(
            "SendMessage",
            &[s("Deal"), s("Bob"), s("answer"), i(first as i32)],
        )
        .unwrap(),
    );
    let g = group_of(&mut ann, "Deal")["id"].as_i64().unwrap();
    assert_eq!(message(&mut ann, g, reply)["reply_to"], json!(first));
    assert_eq!(message(&mut ann, g, first)["reply_to"], Json::Null);
    fails(
        &mut ann,
        "SendMessage",
        &[s("Deal"), s("Bob"), s("x"), i(other as i32)],
        "not in this conversation",
    );
    fails(
        &mut ann,
        "SendMessage",
        &[s("Deal"), s("Bob"), s("x"), i(999_999)],
        "not in this conversation",
    );
}

#[test]
fn mentions_are_resolved_and_counted_until_read() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Анна");
    let mut ivanov = open(&lib, &store, "Иванов Иван");
    let id = send(
        &mut ann,
        "Склад",
        "Иванов Иван; Борис",
        "@иванов иван, глянь; @Борис тоже; @Ева нет в беседе",
    );
    let g = group_of(&mut ivanov, "Склад");
    assert_eq!(g["mentions"], 1);
    let gid = g["id"].as_i64().unwrap();
    assert_eq!(
        message(&mut ivanov, gid, id)["mentions"],
        json!(["Иванов Иван", "Борис"])
    );
    ivanov
        .call("MarkRead", &[i(gid as i32), i(id as i32)])
        .unwrap();
    assert_eq!(group_of(&mut ivanov, "Склад")["mentions"], 0);
    // Public topic: anyone the store knows.
    let news = send(&mut ann, "Новости", "", "@Иванов Иван, привет");
    let ng = group_of(&mut ivanov, "Новости");
    assert_eq!(ng["mentions"], 1);
    assert_eq!(
        message(&mut ivanov, ng["id"].as_i64().unwrap(), news)["mentions"],
        json!(["Иванов Иван"])
    );
    // An edit that drops the mention takes it back.
    ann.call("EditMessage", &[i(news as i32), s("всем привет")])
        .unwrap();
    assert_eq!(group_of(&mut ivanov, "Новости")["mentions"], 0);
}

#[test]
fn every_members_read_mark_is_in_the_group() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Ann");
    let mut bob = open(&lib, &store, "Bob");
    let id = send(&mut ann, "Deal", "Bob; Carl", "hi");
    let g = group_of(&mut bob, "Deal")["id"].as_i64().unwrap();
    bob.call("MarkRead", &[i(g as i32), i(id as i32)]).unwrap();
    let reads = group_of(&mut ann, "Deal")["reads"].clone();
    assert_eq!(reads, json!({"Bob": id, "Carl": 0, "Ann": 0}));
    send(&mut ann, "News", "", "public");
    assert_eq!(group_of(&mut ann, "News")["reads"], Json::Null);
}

#[test]
fn a_burst_of_edits_at_queue_depth_1_reaches_the_reader_completely() {
    let lib = library();
    let store = TempStore::new();
    let mut reader = open_at_depth(&lib, &store, "reader", 1);
    let mut writer = Client::opened(&[], &store.location(), "writer");
    let mut ids = Vec::new();
    for n in 0..20 {
        let r = writer.call(
            "SendMessage",
            json!(["burst", "reader", format!("m{n} v0")]),
        );
        ids.push(r["value"].as_i64().unwrap());
    }
    let group = group_of(&mut reader, "burst")["id"].as_i64().unwrap();
    let (mut rev, mut seen) = (0, BTreeMap::new());
    follow(&mut reader, group, &mut rev, &mut seen);
    // 200 edits and 5 deletes from another process, while the reader's queue holds one.
    for round in 1..=10 {
        for (n, id) in ids.iter().enumerate() {
            let r = writer.call("EditMessage", json!([id, format!("m{n} v{round}")]));
            assert_eq!(r["ok"], true, "{r}");
        }
    }
    for id in &ids[..5] {
        assert_eq!(writer.call("DeleteMessage", json!([id]))["ok"], true);
    }
    let expected: BTreeMap<i64, String> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| {
            (
                *id,
                if n < 5 {
                    String::new()
                } else {
                    format!("m{n} v10")
                },
            )
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen != expected && Instant::now() < deadline {
        if let Some(e) = reader.events().wait(Duration::from_millis(500)) {
            let d: Json = serde_json::from_str(&e.data).unwrap();
            assert!(d["rev"].as_i64().unwrap() > 0, "{d}");
            follow(&mut reader, group, &mut rev, &mut seen);
        }
    }
    assert_eq!(seen, expected, "every edit and delete reached the reader");
    let stats = reader.events().stats();
    println!("burst of 205 changes at depth 1: {stats:?}");
    let fin = writer.finish();
    assert_eq!(fin["violations"], json!([]), "{fin}");
}

#[test]
fn an_edit_is_announced_to_the_others_not_to_its_own_window() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Ann");
    let ann_elsewhere = open(&lib, &store, "Ann");
    let bob = open(&lib, &store, "Bob");
    let id = send(&mut ann, "Deal", "Bob", "v1");
    for o in [&ann_elsewhere, &bob] {
        assert!(o.events().wait(Duration::from_secs(5)).is_some());
    }
    ann.call("EditMessage", &[i(id as i32), s("v2")]).unwrap();
    for (who, o) in [("Ann's other window", &ann_elsewhere), ("Bob", &bob)] {
        let e = o
            .events()
            .wait(Duration::from_secs(5))
            .unwrap_or_else(|| panic!("{who} hears of the edit"));
        let d: Json = serde_json::from_str(&e.data).unwrap();
        assert_eq!(d["cursor"], json!(id), "{who}: {d}");
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        ann.events().pump().is_empty(),
        "the editing window is not told"
    );
}
