//! Concurrency: 8 writer processes and 4 watcher processes (all host CLIs) on one store.
//! Every watcher ends with every message visible to its user exactly once, by cursor,
//! and nothing else; no write fails (no SQLITE_BUSY or any other text reaches 1C).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use serde_json::{json, Value as Json};

use crate::common::*;
use crate::util::{hint_groups, pull, size};

const WATCHERS: usize = 4;
const WRITERS: usize = 8;

/// Who writer `w`'s message `n` goes to: public, one watcher, two watchers, or nobody watching.
fn audience(w: usize, n: usize) -> (String, &'static str) {
    match (w + n) % 5 {
        0 => ("news".into(), ""),
        1 => (format!("deal {}", n % 3), "watcher0"),
        2 => ("pair".into(), "watcher1; watcher2"),
        3 => ("solo".into(), "watcher3"),
        _ => ("hidden".into(), "outsider"),
    }
}

fn visible_to(watcher: usize, participants: &str) -> bool {
    participants.is_empty()
        || participants
            .split(';')
            .any(|p| p.trim() == format!("watcher{watcher}"))
}

#[test]
fn eight_writers_four_watchers_every_message_once_by_cursor() {
    let store = TempStore::new();
    // PostgreSQL serialises sends (ids commit in order): a smaller CI size keeps it quick.
    let ci = if store.is_pg() { 100 } else { 300 };
    let per_writer = size("CHAT1C_CONCURRENCY_MESSAGES", ci, 2000);
    println!("{WRITERS} writers × {per_writer} messages, {WATCHERS} watchers (CHAT1C_RELIABILITY_FULL=1: 2000)");
    let loc = store.location();
    // Watchers open first: they start from the store's beginning (cursor 0 = empty store).
    let watchers: Vec<_> = (0..WATCHERS)
        .map(|k| Client::opened(&[], &loc, &format!("watcher{k}")))
        .collect();
    let done_writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let loc = loc.clone();
            std::thread::spawn(move || {
                let mut c = Client::opened(&[], &loc, &format!("writer{w}"));
                let mut sent = Vec::new();
                for n in 0..per_writer {
                    let (topic, who) = audience(w, n);
                    let r = c.call("SendMessage", json!([topic, who, format!("w{w} n{n}")]));
                    assert_eq!(r["ok"], true, "writer {w} message {n}: {r}");
                    sent.push((r["value"].as_i64().unwrap(), who.to_string()));
                }
                let fin = c.finish();
                assert_eq!(fin["violations"], json!([]), "{fin}");
                assert_eq!(fin["leaks"], 0, "{fin}");
                sent
            })
        })
        .collect();
    let watching: Vec<_> = watchers
        .into_iter()
        .enumerate()
        .map(|(k, mut c)| {
            let done = done_writing.clone();
            std::thread::spawn(move || {
                let mut seen = BTreeMap::new();
                let mut got = Vec::new();
                let mut events = 0;
                let mut quiet = 0;
                // Until the writers are done and two seconds pass without news.
                while quiet < 10 {
                    let r = c.cmd(json!({"cmd": "wait_event", "ms": 200}));
                    assert_eq!(r["ok"], true, "{r}");
                    let evs: Vec<Json> = std::mem::take(&mut c.events);
                    if evs.is_empty() && done.load(std::sync::atomic::Ordering::SeqCst) {
                        quiet += 1;
                    } else {
                        quiet = 0;
                    }
                    for e in evs {
                        events += 1;
                        let groups = hint_groups(e["event"]["data"].as_str().unwrap());
                        let mut call = |name: &str, args: Json| {
                            let r = c.call(name, args);
                            assert_eq!(r["ok"], true, "watcher{k} {name}: {r}");
                            serde_json::from_str(r["value"].as_str().unwrap()).unwrap()
                        };
                        pull(&mut call, &groups, &mut seen, &mut got);
                    }
                }
                let fin = c.finish();
                assert_eq!(fin["violations"], json!([]), "{fin}");
                (got, events)
            })
        })
        .collect();
    let mut sent = Vec::new();
    for w in writers {
        sent.extend(w.join().expect("a writer failed"));
    }
    let elapsed = started.elapsed();
    done_writing.store(true, std::sync::atomic::Ordering::SeqCst);
    println!(
        "{} messages written in {:.1} s ({:.0}/s, debug build)",
        sent.len(),
        elapsed.as_secs_f64(),
        sent.len() as f64 / elapsed.as_secs_f64()
    );
    let all: BTreeSet<i64> = sent.iter().map(|(id, _)| *id).collect();
    assert_eq!(all.len(), sent.len(), "ids are unique");
    for (k, h) in watching.into_iter().enumerate() {
        let (got, events) = h.join().expect("a watcher failed");
        let expected: BTreeSet<i64> = sent
            .iter()
            .filter(|(_, who)| visible_to(k, who))
            .map(|(id, _)| *id)
            .collect();
        let unique: BTreeSet<i64> = got.iter().copied().collect();
        assert_eq!(
            unique.len(),
            got.len(),
            "watcher{k}: a message was pulled twice"
        );
        let missing: Vec<_> = expected.difference(&unique).take(10).collect();
        let extra: Vec<_> = unique.difference(&expected).take(10).collect();
        assert!(missing.is_empty(), "watcher{k} never saw {missing:?}");
        assert!(
            extra.is_empty(),
            "watcher{k} saw messages not meant for it: {extra:?}"
        );
        println!(
            "watcher{k}: {} messages exactly once after {events} events",
            got.len()
        );
    }
}

/// Senders that make the same new group at the same moment (PostgreSQL makes groups
/// outside its change lock) all succeed, and their messages land in one group.
#[test]
fn senders_making_one_new_group_at_once_share_it() {
    const SENDERS: usize = 6;
    const ROUNDS: usize = 15;
    let store = TempStore::new();
    let loc = store.location();
    // The store exists before the race, as a deployed one does: six first Opens of a new
    // file wait for whichever creates its schema, and a CI run fresh from a build (its
    // disk busy writing the build back) once saw that take over the 3 s busy timeout.
    let lib = library();
    let mut o = open(&lib, &store, "sender0");
    let start = std::sync::Arc::new(std::sync::Barrier::new(SENDERS));
    let senders: Vec<_> = (0..SENDERS)
        .map(|w| {
            let (loc, start) = (loc.clone(), start.clone());
            std::thread::spawn(move || {
                let mut c = Client::opened(&[], &loc, &format!("sender{w}"));
                for round in 0..ROUNDS {
                    // A private group of everyone, and a public topic, both new this round.
                    let everyone: Vec<String> =
                        (0..SENDERS).map(|k| format!("sender{k}")).collect();
                    for (topic, who) in [
                        (format!("race {round}"), everyone.join("; ")),
                        (format!("open race {round}"), String::new()),
                    ] {
                        start.wait();
                        let r = c.call("SendMessage", json!([topic, who, format!("{w}")]));
                        assert_eq!(r["ok"], true, "sender{w} round {round}: {r}");
                    }
                }
                let fin = c.finish();
                assert_eq!(fin["violations"], json!([]), "{fin}");
            })
        })
        .collect();
    for s in senders {
        s.join().expect("a sender failed");
    }
    let groups = json(o.call("GetGroups", &[]).unwrap());
    let mut by_topic: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for g in groups.as_array().unwrap() {
        by_topic
            .entry(g["topic"].as_str().unwrap().to_string())
            .or_default()
            .push(g["id"].as_i64().unwrap());
    }
    assert_eq!(by_topic.len(), 2 * ROUNDS, "{by_topic:?}");
    for (topic, ids) in by_topic {
        assert_eq!(ids.len(), 1, "{topic}: one group, not {ids:?}");
        let got = json(
            o.call("GetMessages", &[i(ids[0] as i32), i(0), i(100)])
                .unwrap(),
        );
        assert_eq!(got.as_array().unwrap().len(), SENDERS, "{topic}: {got}");
    }
    assert_eq!(summary_drift(&store), Vec::<String>::new());
}
