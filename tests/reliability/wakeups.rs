//! Wake-ups under attack: another local user plays with the store's folder (creates,
//! opens, removes and fills files, forges commit marks by opening the folder) while a
//! writer process sends and edits; another program commits without marking. The reader,
//! at event-queue depth 1, still gets every change: the marked ones well before the
//! slow safety-net poll (10 s) would have found them, an unmarked one by that poll at
//! the latest, and the next ones by their writes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use crate::common::*;
use crate::sqlite_only;
#[cfg(target_os = "linux")]
use crate::util::io;

/// Shorter than the slow poll of a local store: a change announced within this came
/// through a wake-up, not the poll.
const ANNOUNCED_WITHIN: Duration = Duration::from_secs(8);

/// Until `stop`: files created, filled with garbage, opened and removed in `dir`, and
/// the folder itself opened and closed, as fast as one thread can.
fn flood(dir: PathBuf, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut n = 0u64;
        let side = |name: &str| -> PathBuf { dir.join(name) };
        while !stop.load(Ordering::Relaxed) {
            n += 1;
            let junk = side(&format!("junk{}", n % 64));
            let _ = std::fs::write(&junk, n.to_le_bytes().repeat(64));
            let _ = std::fs::read(&junk);
            let _ = std::fs::remove_file(&junk);
            // Garbage where a store's side files would be, under names a watcher might
            // take for a commit, or for none.
            let _ = std::fs::write(side("chat.sqlite-feed"), [0xA5u8; 512]);
            let _ = std::fs::write(side("chat.sqlite-x-shm"), [0x5Au8; 64]);
            let _ = std::fs::File::open(&dir);
        }
        n
    })
}

/// Waits for events and follows until `seen` is `expected`; how long the last change
/// took to arrive, or None when it never did within the bound.
fn until_seen(
    reader: &mut Object,
    group: i64,
    rev: &mut i64,
    seen: &mut BTreeMap<i64, String>,
    expected: &BTreeMap<i64, String>,
) -> Option<Duration> {
    let started = Instant::now();
    while seen != expected && started.elapsed() < ANNOUNCED_WITHIN {
        if reader.events().wait(Duration::from_millis(200)).is_some() {
            follow(reader, group, rev, seen);
        }
    }
    (seen == expected).then(|| started.elapsed())
}

fn group_id(o: &mut Object, topic: &str) -> i64 {
    let groups = json(o.call("GetGroups", &[]).unwrap());
    groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["topic"] == topic)
        .unwrap_or_else(|| panic!("no group {topic}: {groups}"))["id"]
        .as_i64()
        .unwrap()
}

fn ok(r: Json) -> i64 {
    assert_eq!(r["ok"], true, "{r}");
    r["value"].as_i64().unwrap_or(0)
}

/// A reader object in this process at event-queue depth 1, and a writer process.
fn reader_and_writer(lib: &Library, store: &TempStore) -> (Object, Client) {
    let reader = open_at_depth(lib, store, "reader", 1);
    let writer = Client::opened(&[], &store.location(), "writer");
    (reader, writer)
}

#[test]
fn a_flooded_store_folder_delays_and_loses_no_change() {
    let lib = library();
    let store = TempStore::new();
    sqlite_only!(store);
    let (mut reader, mut writer) = reader_and_writer(&lib, &store);
    let first = ok(writer.call("SendMessage", json!(["flood", "reader", "m0 v0"])));
    let group = group_id(&mut reader, "flood");
    let (mut rev, mut seen) = (0, BTreeMap::new());
    follow(&mut reader, group, &mut rev, &mut seen);
    reader.events().pump();

    let stop = Arc::new(AtomicBool::new(false));
    let flooder = flood(store.dir.path().to_path_buf(), stop.clone());
    let mut expected: BTreeMap<i64, String> = [(first, "m0 v0".to_string())].into();
    // One at a time: each must arrive by a wake-up despite the flood.
    let mut slowest = Duration::ZERO;
    for n in 1..=10 {
        let text = format!("m{n} v0");
        let id = ok(writer.call("SendMessage", json!(["flood", "reader", text])));
        expected.insert(id, text);
        let took = until_seen(&mut reader, group, &mut rev, &mut seen, &expected);
        slowest = slowest.max(took.unwrap_or_else(|| panic!("message {n} lost: {seen:?}")));
    }
    // Then a burst of edits and deletes while the reader's queue holds one event.
    let ids: Vec<i64> = expected.keys().copied().collect();
    for round in 1..=5 {
        for (n, id) in ids.iter().enumerate() {
            ok(writer.call("EditMessage", json!([id, format!("m{n} v{round}")])));
            expected.insert(*id, format!("m{n} v{round}"));
        }
    }
    for id in &ids[..3] {
        ok(writer.call("DeleteMessage", json!([id])));
        expected.insert(*id, String::new());
    }
    let took = until_seen(&mut reader, group, &mut rev, &mut seen, &expected);
    stop.store(true, Ordering::Relaxed);
    let files_touched = flooder.join().unwrap();
    assert_eq!(seen, expected, "every change reached the reader");
    println!(
        "flooded folder ({files_touched} rounds of junk): slowest message {slowest:?}, \
         the burst's last change {took:?}"
    );
    let fin = writer.finish();
    assert_eq!(fin["violations"], json!([]), "{fin}");
}

/// A connection of another program (or an older release): its commits are not marked.
/// Never synced, so SQLite does not open the folder either (it does on a new journal's
/// first sync, which a watcher takes for a mark).
fn other_program(store: &TempStore) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(&store.path).unwrap();
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    c.execute_batch("PRAGMA synchronous=OFF").unwrap();
    c
}

/// Edits a message as another program would: a commit that no writer marks.
fn unmarked_edit(c: &rusqlite::Connection, id: i64, text: &str) {
    c.execute(
        "UPDATE chat_register SET message = ?2,
                rev = (SELECT max(rev) FROM chat_register) + 1 WHERE id = ?1",
        rusqlite::params![id, text],
    )
    .unwrap();
}

#[test]
fn a_commit_nobody_marks_still_arrives_and_wakes_by_writes_again() {
    let lib = library();
    let store = TempStore::new();
    sqlite_only!(store);
    let (mut reader, mut writer) = reader_and_writer(&lib, &store);
    let other = other_program(&store);
    // Marked commits: from now on the reader's watcher waits for marks only.
    let mut expected = BTreeMap::new();
    for n in 0..3 {
        let text = format!("m{n}");
        expected.insert(
            ok(writer.call("SendMessage", json!(["unmarked", "reader", text]))),
            text,
        );
    }
    let group = group_id(&mut reader, "unmarked");
    let (mut rev, mut seen) = (0, BTreeMap::new());
    assert!(until_seen(&mut reader, group, &mut rev, &mut seen, &expected).is_some());
    // Nothing owed any more (a refused hint's retries would find the commit early).
    while reader.events().wait(Duration::from_millis(1_500)).is_some() {}
    let id = *expected.keys().next().unwrap();
    // The slow poll (10 s) finds it; writes wake the reader again from then on.
    unmarked_edit(&other, id, "unmarked 1");
    let edited = Instant::now();
    expected.insert(id, "unmarked 1".into());
    while seen != expected && edited.elapsed() < Duration::from_secs(30) {
        if reader.events().wait(Duration::from_millis(500)).is_some() {
            follow(&mut reader, group, &mut rev, &mut seen);
        }
    }
    assert_eq!(seen, expected, "the unmarked commit arrived");
    println!("an unmarked commit after {:?}", edited.elapsed());
    // Its mark would have come by now: it counts as unmarked.
    std::thread::sleep(Duration::from_millis(500));
    unmarked_edit(&other, id, "unmarked 2");
    expected.insert(id, "unmarked 2".into());
    let took = until_seen(&mut reader, group, &mut rev, &mut seen, &expected);
    assert!(took.is_some(), "by a write, before the slow poll: {seen:?}");
    println!("the next unmarked commit after {took:?}");
    let fin = writer.finish();
    assert_eq!(fin["violations"], json!([]), "{fin}");
}

/// The commit record a writer leaves in the ring beside the store (`<store>-feed`,
/// src/store/sqlite/records.rs), made the way anyone who reads that source can.
mod forger {
    use std::os::unix::fs::{FileExt, MetadataExt};
    use std::path::Path;

    const MAGIC: u64 = 0x6368_6174_3163_7276;

    fn mix(x: u64) -> u64 {
        let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Writes a record saying revision `rev` was message `id` in `group`.
    pub fn record(store: &Path, rev: i64, id: i64, group: i64) {
        let meta = std::fs::metadata(store).unwrap();
        let born = meta
            .created()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .unwrap_or_default();
        let tag = mix(meta.dev() ^ mix(meta.ino() ^ mix(born.as_nanos() as u64)));
        let check = mix(tag ^ MAGIC ^ mix(rev as u64 ^ mix(id as u64 ^ mix(group as u64))));
        let mut slot = Vec::new();
        for field in [rev as u64, id as u64, group as u64, check] {
            slot.extend(field.to_le_bytes());
        }
        let mut ring = store.as_os_str().to_owned();
        ring.push("-feed");
        let file = std::fs::OpenOptions::new().write(true).open(ring).unwrap();
        file.write_all_at(&slot, (rev.rem_euclid(1024) * 32) as u64)
            .unwrap();
    }
}

/// Whoever may write the store may write its commit records. Records for the next
/// revisions that name a conversation the reader is not in, with a commit mark, do not
/// make the reader pass over the real change that takes one of those revisions: it is
/// announced well before the slow poll.
#[cfg(unix)]
#[test]
fn forged_commit_records_hide_no_message() {
    let lib = library();
    let store = TempStore::new();
    sqlite_only!(store);
    let (mut reader, mut writer) = reader_and_writer(&lib, &store);
    let first = ok(writer.call("SendMessage", json!(["deal", "reader", "hello"])));
    let group = group_id(&mut reader, "deal");
    let (mut rev, mut seen) = (0, BTreeMap::new());
    let mut expected: BTreeMap<i64, String> = [(first, "hello".to_string())].into();
    until_seen(&mut reader, group, &mut rev, &mut seen, &expected).expect("the first message");
    let secret = ok(writer.call(
        "SendMessage",
        json!(["secret", "Carl", "not for the reader"]),
    ));
    let look = other_program(&store);
    let carl: i64 = look
        .query_row(
            "SELECT group_id FROM chat_register WHERE id = ?1",
            [secret],
            |r| r.get(0),
        )
        .unwrap();
    for forged in [1, 50] {
        std::thread::sleep(Duration::from_millis(300));
        reader.events().pump();
        let head: i64 = look
            .query_row("SELECT max(rev) FROM chat_register", [], |r| r.get(0))
            .unwrap();
        for r in head + 1..=head + forged {
            forger::record(&store.path, r, secret + r, carl);
        }
        let _ = std::fs::File::open(store.dir.path()); // a commit mark
        std::thread::sleep(Duration::from_millis(300));
        let text = format!("after {forged} forged records");
        let id = ok(writer.call("SendMessage", json!(["deal", "reader", text])));
        expected.insert(id, text);
        let took = until_seen(&mut reader, group, &mut rev, &mut seen, &expected);
        assert!(
            took.is_some(),
            "message {id} announced despite {forged} forged records: {seen:?}"
        );
        println!("{forged} forged records: the real message arrived in {took:?}");
    }
    let fin = writer.finish();
    assert_eq!(fin["violations"], json!([]), "{fin}");
}

/// A file infobase (1Cv8.1CD) or anything else beside the store is written far more
/// often than the chat: it makes no reader look at the store, even one whose writes
/// wake it (after an unmarked commit); the store's own writes still do.
#[cfg(target_os = "linux")]
#[test]
fn writes_to_other_files_in_the_store_folder_run_no_round() {
    const WRITES: u64 = 300;
    let store = TempStore::new();
    sqlite_only!(store);
    let mut writer = Client::opened(&[], &store.location(), "writer");
    let id = ok(writer.call("SendMessage", json!(["beside", "", "m0"])));
    let mut reader = Client::opened(&[], &store.location(), "reader");
    let pid = reader.child().id();
    // An unmarked commit, found by the slow poll: from then on writes wake the reader.
    let other = other_program(&store);
    unmarked_edit(&other, id, "m0 edited");
    let told = |r: &mut Client, within: Duration| {
        r.events.clear();
        r.cmd(json!({"cmd": "wait_event", "ms": within.as_millis() as u64}));
        !r.events.is_empty()
    };
    assert!(
        told(&mut reader, Duration::from_secs(30)),
        "the unmarked commit"
    );
    std::thread::sleep(Duration::from_millis(500));
    reader.cmd(json!({"cmd": "pump"}));
    let reads = || io(&pid.to_string(), "syscr");
    let before = reads();
    let infobase = store.dir.path().join("1Cv8.1CD");
    for k in 0..WRITES {
        std::fs::write(&infobase, format!("page {k}")).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(Duration::from_millis(300));
    let reads = reads() - before;
    // The inotify watch is on the folder, so each write still wakes the watcher, which
    // reads the event (one read); a round would read the store's commit records too.
    assert!(
        reads < WRITES * 3 / 2,
        "{WRITES} writes to another file: {reads} reads, rounds ran"
    );
    unmarked_edit(&other, id, "m0 edited again");
    assert!(
        told(&mut reader, ANNOUNCED_WITHIN),
        "the store's own write still wakes it, before the slow poll"
    );
    let fin = writer.finish();
    assert_eq!(fin["violations"], json!([]), "{fin}");
}
