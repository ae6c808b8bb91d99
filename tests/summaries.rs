//! GetGroups' summaries (per group the count and the newest message, per reader what is
//! not unread and the unread mentions, per private group the read marks), kept by
//! triggers on every write: after each kind of write, from several users and from
//! another process, on both stores, they equal a recomputation from scratch, and
//! GetGroups shows what the old counting queries would have shown. GetUnread, asked of
//! the same long-lived objects after every step (on PostgreSQL it adds what changed
//! since its last call), gives the totals of that recount too.

mod common;

sqlite_helper!();

use std::collections::BTreeMap;

use common::*;
use serde_json::{json, Value as Json};

/// What the counting queries GetGroups ran before the summaries give for `user`
/// (a lower-case user key): group id → (unread, mentions, newest message id or 0).
fn counted(store: &TempStore, user: &str) -> BTreeMap<i64, (i64, i64, i64)> {
    let (public, live, flag) = if store.is_pg() {
        ("g.is_public", "NOT c.deleted", "NOT g.is_public")
    } else {
        ("g.is_public = 1", "c.deleted = 0", "g.is_public = 0")
    };
    let (groups, register, mentions, reads, members) = if store.is_pg() {
        (
            "chat1c.groups",
            "chat1c.register",
            "chat1c.mentions",
            "chat1c.reads",
            "chat1c.members",
        )
    } else {
        (
            "chat_groups",
            "chat_register",
            "chat_mentions",
            "chat_reads",
            "chat_members",
        )
    };
    let mark = format!(
        "coalesce((SELECT rd.up_to FROM {reads} rd WHERE rd.user_key = '{user}' AND rd.group_id = g.id), 0)"
    );
    let sql = format!(
        "SELECT g.id || ' ' ||
                (SELECT count(*) FROM {register} c WHERE c.group_id = g.id
                    AND c.publisher_key <> '{user}' AND {live} AND c.id > {mark}) || ' ' ||
                (SELECT count(*) FROM {mentions} mm WHERE mm.user_key = '{user}'
                    AND mm.group_id = g.id AND mm.message_id > {mark}) || ' ' ||
                coalesce((SELECT max(c.id) FROM {register} c WHERE c.group_id = g.id), 0)
           FROM {groups} g
          WHERE ({public} AND g.context IS NULL)
             OR EXISTS(SELECT 1 FROM {members} m WHERE m.user_key = '{user}' AND m.group_id = g.id
                        AND ({flag} OR g.context IS NOT NULL))"
    );
    rows(store, &sql)
        .iter()
        .map(|line| {
            let n: Vec<i64> = line.split(' ').map(|x| x.parse().unwrap()).collect();
            (n[0], (n[1], n[2], n[3]))
        })
        .collect()
}

/// The summaries equal their recomputation, and each user's GetGroups shows the counts
/// of the old queries and the newest message exactly as GetMessages shows it.
fn check(store: &TempStore, users: &mut [(&str, &mut Object)], step: &str) {
    assert_eq!(summary_drift(store), Vec::<String>::new(), "after {step}");
    for (user, o) in users.iter_mut() {
        let expected = counted(store, &user.to_lowercase());
        let groups = json(o.call("GetGroups", &[]).unwrap());
        let shown: BTreeMap<i64, (i64, i64, i64)> = groups
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                let last = g["last"]["id"].as_i64().unwrap_or(0);
                (
                    g["id"].as_i64().unwrap(),
                    (
                        g["unread"].as_i64().unwrap(),
                        g["mentions"].as_i64().unwrap(),
                        last,
                    ),
                )
            })
            .collect();
        assert_eq!(shown, expected, "{user}'s GetGroups after {step}");
        let unread = json(o.call("GetUnread", &[]).unwrap());
        let totals = expected.values().fold((0, 0, 0), |t, &(u, m, _)| {
            (t.0 + u, t.1 + m, t.2 + i64::from(u > 0))
        });
        assert_eq!(
            unread,
            json!({"unread": totals.0, "mentions": totals.1, "groups": totals.2}),
            "{user}'s GetUnread after {step}"
        );
        let order: Vec<i64> = groups
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["last"]["id"].as_i64().unwrap_or(0))
            .collect();
        let mut sorted = order.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(order, sorted, "newest activity first after {step}");
        // A short list is the head of the whole list (PostgreSQL picks it by other
        // indexes than the whole list's).
        let ids: Vec<i64> = groups
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].as_i64().unwrap())
            .collect();
        for limit in 1..=ids.len().min(4) {
            let head: Vec<i64> = json(o.call("GetGroups", &[i(limit as i32)]).unwrap())
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["id"].as_i64().unwrap())
                .collect();
            assert_eq!(
                head,
                ids[..limit],
                "{user}'s GetGroups({limit}) after {step}"
            );
        }
        for g in groups.as_array().unwrap() {
            let newest = json(
                o.call(
                    "GetMessages",
                    &[i(g["id"].as_i64().unwrap() as i32), i(0), i(1)],
                )
                .unwrap(),
            );
            let newest = newest.as_array().unwrap().first().cloned();
            assert_eq!(
                Some(g["last"].clone()).filter(|l| !l.is_null()),
                newest,
                "{user}'s newest message of {} after {step}",
                g["topic"]
            );
        }
    }
}

fn group_id(o: &mut Object, topic: &str) -> i64 {
    json(o.call("GetGroups", &[]).unwrap())
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["topic"] == topic)
        .unwrap_or_else(|| panic!("no group {topic}"))["id"]
        .as_i64()
        .unwrap()
}

fn reads_of(o: &mut Object, topic: &str) -> Json {
    json(o.call("GetGroups", &[]).unwrap())
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["topic"] == topic)
        .unwrap()["reads"]
        .clone()
}

#[test]
fn every_write_keeps_the_summaries_equal_to_a_recount() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Ann");
    let mut bob = open(&lib, &store, "Bob");
    let mut carl = open(&lib, &store, "Carl");
    // Dave writes from another process.
    let mut dave = Client::opened(&[], &store.location(), "Dave");
    // Ann in a second 1C client: her read marks move there too.
    let mut ann_elsewhere = Client::opened(&[], &store.location(), "Ann");
    macro_rules! check {
        ($step:expr) => {
            check(
                &store,
                &mut [("Ann", &mut ann), ("Bob", &mut bob), ("Carl", &mut carl)],
                $step,
            )
        };
    }
    check!("nothing");

    // Sends: private groups, a public topic, mentions, a reply, from two processes.
    let d1 = send(&mut ann, "Deal", "Bob", "hi @Bob");
    let d2 = send(&mut bob, "Deal", "Ann", "hi @Ann");
    let t1 = send(&mut carl, "Trio", "Ann;Bob", "all of us, @Ann and @Bob");
    let n1 = send(&mut ann, "News", "", "for everyone, @Carl");
    let r = dave.call("SendMessage", json!(["News", "", "Dave here, @Ann"]));
    let n2 = r["value"].as_i64().unwrap();
    let reply = number(
        bob.call(
            "SendMessage",
            &[s("Deal"), s("Ann"), s("an answer"), i(d1 as i32)],
        )
        .unwrap(),
    );
    check!("sends");
    let deal = group_id(&mut ann, "Deal");
    let news = group_id(&mut ann, "News");
    let trio = group_id(&mut ann, "Trio");

    // MarkRead: to the middle, to the end, back (never moves back), in a public topic.
    ann.call("MarkRead", &[i(deal as i32), i(d2 as i32)])
        .unwrap();
    check!("a read mark in the middle");
    ann.call("MarkRead", &[i(deal as i32), i(reply as i32)])
        .unwrap();
    ann.call("MarkRead", &[i(deal as i32), i(0)]).unwrap();
    bob.call("MarkRead", &[i(news as i32), i(n1 as i32)])
        .unwrap();
    let r = dave.call("MarkRead", json!([news, n2]));
    assert_eq!(r["ok"], true, "{r}");
    check!("read marks");
    let r = ann_elsewhere.call("MarkRead", json!([trio, t1]));
    assert_eq!(r["ok"], true, "{r}");
    check!("a read mark from the same user's other process");
    assert_eq!(
        reads_of(&mut bob, "Deal"),
        json!({"Bob": 0, "Ann": reply}),
        "the ticks"
    );

    // Edits: of the newest message, of an older one, taking a mention back, adding one.
    ann.call("EditMessage", &[i(n1 as i32), s("for everyone")])
        .unwrap();
    check!("an edit that takes a mention back");
    let r = dave.call("EditMessage", json!([n2, "Dave here, @Bob and @Carl"]));
    assert_eq!(r["ok"], true, "{r}");
    check!("an edit of the newest message, from another process");
    carl.call("EditMessage", &[i(t1 as i32), s("all of us")])
        .unwrap();
    check!("an edit of a message that is not the newest");

    // Deletes: after a reader's mark, before it, the newest message, the sender's own
    // unread-for-nobody message.
    let t2 = send(&mut bob, "Trio", "Ann;Carl", "second @Carl");
    let t3 = send(&mut ann, "Trio", "Bob;Carl", "third");
    carl.call("MarkRead", &[i(trio as i32), i(t2 as i32)])
        .unwrap();
    bob.call("DeleteMessage", &[i(t2 as i32)]).unwrap();
    check!("a delete before a reader's mark");
    ann.call("DeleteMessage", &[i(t3 as i32)]).unwrap();
    check!("a delete of the newest message");
    let r = dave.call("DeleteMessage", json!([n2]));
    assert_eq!(r["ok"], true, "{r}");
    check!("a delete of the newest message of a public topic, from another process");
    bob.call("DeleteMessage", &[i(d2 as i32)]).unwrap();
    check!("a delete after a reader's mark... and before another's");

    // Files: a file message becomes the newest; its tombstone takes the file away.
    let png = b"\x89PNG\r\n\x1a\nimage bytes".to_vec();
    let f1 = number(
        bob.call(
            "SendFile",
            &[s("Deal"), s("Ann"), s("a.png"), Value::Blob(png.clone())],
        )
        .unwrap(),
    );
    check!("a file");
    let f2 = number(
        ann.call(
            "PostFile",
            &[
                i(deal as i32),
                s("b.txt"),
                Value::Blob(b"text".to_vec()),
                s("see @Bob"),
            ],
        )
        .unwrap(),
    );
    check!("a file with a mention, by group");
    ann.call("DeleteMessage", &[i(f2 as i32)]).unwrap();
    check!("a file's message deleted");
    bob.call("MarkRead", &[i(deal as i32), i(f1 as i32)])
        .unwrap();
    check!("read to the end");

    // A discussion: listed for who takes part; mentions make members.
    let disc = number(
        ann.call(
            "OpenDiscussion",
            &[s("e1cib/data/Документ.Счет?ref=7"), s("Счет 7")],
        )
        .unwrap(),
    );
    let r = dave.call("PostMessage", json!([disc, "please look, @Carl"]));
    assert_eq!(r["ok"], true, "{r}");
    bob.call("PostMessage", &[i(disc as i32), s("looking")])
        .unwrap();
    check!("a discussion");
    carl.call("MarkRead", &[i(disc as i32), i(1_000_000)])
        .unwrap();
    check!("a discussion read");
    let fin = dave.finish();
    assert_eq!(fin["violations"], json!([]), "{fin}");
    let fin = ann_elsewhere.finish();
    assert_eq!(fin["violations"], json!([]), "{fin}");
}

#[test]
fn many_messages_and_marks_from_two_processes_stay_counted() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Ann");
    let mut bob = open(&lib, &store, "Bob");
    let mut other = Client::opened(&[], &store.location(), "Carl");
    let mut ids = Vec::new();
    for n in 0..40 {
        let (topic, who) = [("Pair", "Bob"), ("Room", ""), ("Three", "Bob;Carl")][n % 3];
        let id = if n % 4 == 0 {
            let r = other.call(
                "SendMessage",
                json!([
                    topic,
                    if who.is_empty() { "" } else { "Ann;Bob" },
                    format!("m{n} @Ann")
                ]),
            );
            r["value"].as_i64()
        } else {
            Some(send(&mut ann, topic, who, &format!("m{n} @Bob")))
        };
        if let Some(id) = id {
            ids.push(id);
        }
        if n % 7 == 6 {
            let g = group_id(&mut bob, "Room");
            bob.call("MarkRead", &[i(g as i32), i(ids[ids.len() / 2] as i32)])
                .unwrap();
        }
        if n % 9 == 8 {
            ann.call("DeleteMessage", &[i(ids[n / 2] as i32)]).ok();
        }
    }
    check(
        &store,
        &mut [("Ann", &mut ann), ("Bob", &mut bob)],
        "40 messages, marks and deletes",
    );
    other.finish();
}

#[test]
fn more_changes_between_two_calls_than_get_unread_adds_one_by_one() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Ann");
    let mut bob = open(&lib, &store, "Bob");
    send(&mut ann, "Room", "", "first");
    check(&store, &mut [("Ann", &mut ann)], "the first message");
    // 250 changes from another process while Ann's object does not ask (PostgreSQL
    // counts afresh past 200), then a few (added one by one).
    let mut carl = Client::opened(&[], &store.location(), "Carl");
    for n in 0..250 {
        let (topic, who) = if n % 2 == 0 {
            ("Room", "")
        } else {
            ("Pair", "Ann")
        };
        let r = carl.call("SendMessage", json!([topic, who, format!("m{n} @Ann")]));
        assert_eq!(r["ok"], true, "{r}");
    }
    check(
        &store,
        &mut [("Ann", &mut ann), ("Bob", &mut bob)],
        "250 messages",
    );
    for n in 0..3 {
        let r = carl.call("SendMessage", json!(["Pair", "Ann", format!("more {n}")]));
        assert_eq!(r["ok"], true, "{r}");
        check(
            &store,
            &mut [("Ann", &mut ann), ("Bob", &mut bob)],
            "one more message",
        );
    }
    carl.finish();
}

/// Runs SQL on the store as its owner, from another process (see [`rows`]).
fn exec(store: &TempStore, sql: &str) {
    if store.is_pg() {
        psql(&store.location(), sql);
    } else {
        sqlite_in_another_process(&store.path, sql, true);
    }
}

#[test]
fn a_writer_of_release_0_1_is_counted_too() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Ann");
    let mut bob = open(&lib, &store, "Bob");
    send(&mut ann, "Deal", "Bob", "first");
    let g = group_id(&mut ann, "Deal");
    // As release 0.1.0 wrote during an update: no revision, nothing but the register
    // row and its own read mark.
    let (register, reads, greatest) = if store.is_pg() {
        ("chat1c.register", "chat1c.reads", "GREATEST")
    } else {
        ("chat_register", "chat_reads", "max")
    };
    exec(
        &store,
        &format!(
            "INSERT INTO {register}(group_id, period, publisher, publisher_key, participants, topic, message)
                  VALUES ({g}, 0, 'Bob', 'bob', '[\"Bob\",\"Ann\"]', 'Deal', 'from an old writer');
             INSERT INTO {register}(group_id, period, publisher, publisher_key, participants, topic, message)
                  VALUES ({g}, 0, 'Carl', 'carl', '[]', 'Old news', 'made by an old writer');"
        ),
    );
    check(
        &store,
        &mut [("Ann", &mut ann), ("Bob", &mut bob)],
        "an old writer's messages",
    );
    exec(
        &store,
        &format!(
            "INSERT INTO {reads}(user_key, group_id, up_to) VALUES ('ann', {g}, 1000000)
             ON CONFLICT(user_key, group_id) DO UPDATE SET up_to = {greatest}({reads}.up_to, excluded.up_to)"
        ),
    );
    check(
        &store,
        &mut [("Ann", &mut ann), ("Bob", &mut bob)],
        "an old writer's read mark",
    );
}
