//! PostgreSQL faults, through the host as 1C calls: connections killed
//! and the server restarted in the middle of a stream lose nothing and duplicate
//! nothing; an unreachable or silent server and a wrong password fail clearly
//! within the documented timeout; the password never shows; a process holds one
//! connection, and a NOTIFY wakes one of its threads; the server plans a connection's
//! queries once, not at every call; Search reads the trigram index for older messages
//! instead of every one of them. Needs CHAT1C_TEST_PG
//! (tests/pg/cluster.sh start prints it); without it each test says so and passes.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// Faults hit the whole server: they run alone, the other tests share it.
static SERVER: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn shared() -> std::sync::RwLockReadGuard<'static, ()> {
    SERVER.read().unwrap_or_else(|p| p.into_inner())
}

fn exclusive() -> std::sync::RwLockWriteGuard<'static, ()> {
    SERVER.write().unwrap_or_else(|p| p.into_inner())
}

fn server() -> Option<String> {
    let url = std::env::var("CHAT1C_TEST_PG")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        println!("CHAT1C_TEST_PG is not set: PostgreSQL tests not run (tests/pg/cluster.sh start)");
    }
    url
}

/// Pulls everything after `after` in `group`, following the cursor.
fn pull_all(o: &mut Object, group: i64, after: &mut i64, got: &mut Vec<i64>) {
    loop {
        let Ok(page) = o.call("GetMessages", &[i(group as i32), i(*after as i32), i(500)]) else {
            return;
        };
        let page = ids(&json(page));
        let Some(last) = page.last().copied() else {
            return;
        };
        *after = last;
        got.extend(page);
    }
}

/// A writer process streams `n` messages while `fault` runs after `at` of them; a
/// reader in this process follows by events and cursor. Every id the writer got back
/// must reach the reader exactly once.
fn stream_through_fault(fault: impl FnOnce(&str) + Send + 'static, label: &str) {
    let Some(_) = server() else { return };
    let _alone = exclusive();
    let store = TempStore::new();
    let url = store.location();
    let mut reader = open(&library(), &store, "reader");
    let mut writer = Client::opened(&[], &url, "writer");
    let first = writer.call("SendMessage", json!(["stream", "reader", "first"]));
    let group = {
        let g = json(reader.call("GetGroups", &[]).unwrap());
        g[0]["id"].as_i64().unwrap()
    };
    let mut sent = vec![first["value"].as_i64().unwrap()];
    let (n, at) = (200, 80);
    let mut fault = Some(fault);
    let mut running = None;
    let mut failures = Vec::new();
    for k in 1..n {
        if k == at {
            // The fault runs beside the stream, so sends also meet the server while it is down.
            if let Some(f) = fault.take() {
                let url = url.clone();
                running = Some(std::thread::spawn(move || f(&url)));
            }
        }
        let r = writer.call("SendMessage", json!(["stream", "reader", format!("m{k}")]));
        if r["ok"] == true {
            sent.push(r["value"].as_i64().unwrap());
        } else {
            let e = r["error"].as_str().unwrap_or("").to_string();
            assert!(!e.contains("chat1c-pw"), "no password in errors: {e}");
            failures.push(e);
        }
    }
    if let Some(t) = running {
        t.join().expect("the fault ran");
    }
    let mut got = Vec::new();
    let mut after = 0;
    let last = *sent.last().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while after < last && Instant::now() < deadline {
        let _ = reader.events().wait(Duration::from_millis(500));
        pull_all(&mut reader, group, &mut after, &mut got);
    }
    let unique: BTreeSet<i64> = got.iter().copied().collect();
    assert_eq!(unique.len(), got.len(), "{label}: no duplicates");
    assert_eq!(
        unique,
        sent.iter().copied().collect::<BTreeSet<_>>(),
        "{label}: every acknowledged message arrives"
    );
    // The watcher came back too: a message after the fault is announced by an event.
    reader.events().pump();
    let r = writer.call(
        "SendMessage",
        json!(["stream", "reader", "after the fault"]),
    );
    let id = r["value"].as_i64().expect("send after the fault");
    let announced = eventually(Duration::from_secs(15), || {
        reader.events().pump().iter().any(|e| {
            let hint: serde_json::Value = serde_json::from_str(&e.data).unwrap_or_default();
            hint["cursor"].as_i64().unwrap_or(0) >= id
        })
    });
    assert!(
        announced,
        "{label}: the watcher reconnected and announces message {id}"
    );
    println!(
        "{label}: {} acknowledged, {} refused with a clear error: {:?}",
        sent.len(),
        failures.len(),
        failures.first()
    );
    assert_eq!(writer.finish()["violations"], json!([]));
}

#[test]
fn killed_connections_lose_nothing() {
    stream_through_fault(
        |url| {
            let killed = psql(
                url,
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            );
            println!("terminated {killed} backends");
        },
        "pg_terminate_backend",
    );
}

#[test]
fn a_server_restart_loses_nothing() {
    stream_through_fault(
        |_| {
            let root = env!("CARGO_MANIFEST_DIR");
            let ok = std::process::Command::new("bash")
                .arg(format!("{root}/tests/pg/cluster.sh"))
                .arg("restart")
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "restart the test cluster");
        },
        "server restart",
    );
}

#[test]
fn wrong_password_and_the_password_never_shows() {
    let Some(base) = server() else { return };
    let _server = shared();
    let bad = base.replace("chat1c-pw", "not-the-password");
    let mut o = create(&library(), "en");
    let started = Instant::now();
    let msg = fails(
        &mut o,
        "Open",
        &[s(&bad), s("u")],
        "password authentication failed",
    );
    assert!(!msg.contains("not-the-password"), "{msg}");
    println!("wrong password refused in {:?}: {msg}", started.elapsed());
    let store = TempStore::new();
    o.call("Open", &[s(&store.location()), s("u")]).unwrap();
    let shown = text(o.get("Store").unwrap());
    assert!(
        !shown.contains("chat1c-pw") && shown.starts_with("postgresql://chat1c@"),
        "{shown}"
    );
    let kv = format!(
        "host=127.0.0.1 port={} user=chat1c password=chat1c-pw dbname=postgres sslmode=disable",
        port(&base)
    );
    o.call("Open", &[s(&kv), s("u")]).unwrap();
    assert!(!text(o.get("Store").unwrap()).contains("chat1c-pw"));
}

fn port(url: &str) -> u16 {
    url.split(':')
        .nth(3)
        .and_then(|p| p.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("port in URL")
}

#[test]
fn an_unreachable_or_silent_server_fails_within_the_timeout() {
    if server().is_none() {
        return;
    }
    let _server = shared();
    let mut o = create(&library(), "ru");
    // Nothing listens: refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let started = Instant::now();
    let msg = fails(
        &mut o,
        "Открыть",
        &[
            s(&format!("postgresql://u:secret@127.0.0.1:{port}/db")),
            s("u"),
        ],
        "Не удалось открыть",
    );
    assert!(!msg.contains("secret"));
    println!("refused port: {:?}: {msg}", started.elapsed());
    // Accepts the TCP connection but never answers: the client-side timeout ends it.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let started = Instant::now();
    let msg = fails(
        &mut o,
        "Открыть",
        &[
            s(&format!(
                "postgresql://u:secret@127.0.0.1:{port}/db?sslmode=disable"
            )),
            s("u"),
        ],
        "5 с",
    );
    let took = started.elapsed();
    println!("silent server: refused after {took:?}: {msg}");
    assert!(
        took >= Duration::from_secs(4),
        "the timeout is the documented one, not an early failure"
    );
    drop(silent);
}

/// The grants README.md documents are enough for day-to-day use; without the schema, or
/// with a schema an update must bring up to date, such a user gets a clear error
/// instead of a half-made store.
#[test]
fn a_user_with_the_documented_grants_can_chat() {
    let Some(base) = server() else { return };
    let _server = shared();
    let store = TempStore::new();
    let owner_url = store.location();
    let mut owner = open(&library(), &store, "owner");
    send(&mut owner, "t", "", "made by the owner");
    let role = format!("chat_user_{}", std::process::id());
    psql(
        &base,
        &format!("DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN PASSWORD 'user-pw'"),
    );
    psql(
        &owner_url,
        &format!(
            "GRANT USAGE ON SCHEMA chat1c TO {role};
             GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA chat1c TO {role};
             GRANT USAGE ON ALL SEQUENCES IN SCHEMA chat1c TO {role};"
        ),
    );
    let user_url = owner_url.replacen("chat1c:chat1c-pw@", &format!("{role}:user-pw@"), 1);
    let mut u = create(&library(), "en");
    u.call("Open", &[s(&user_url), s("user")])
        .expect("Open with read/write grants only");
    let id = send(&mut u, "t", "", "from a plain user");
    let g = json(u.call("GetGroups", &[]).unwrap());
    assert_eq!(g[0]["last"]["id"], id);
    u.call(
        "MarkRead",
        &[i(g[0]["id"].as_i64().unwrap() as i32), i(id as i32)],
    )
    .unwrap();
    // A store made by an earlier build (schema 5, two steps behind, as after updating the
    // add-in): the plain user may not take it, and is told who may; once the owner has
    // opened it (steps 6 and 7 run again over what they made), the user chats on.
    psql(&owner_url, "UPDATE chat1c.schema_version SET version = 5");
    let mut behind = create(&library(), "en");
    fails(
        &mut behind,
        "Open",
        &[s(&user_url), s("user")],
        "(schema 5) must be upgraded to schema 7, and this user may not do it",
    );
    drop(open(&library(), &store, "owner"));
    behind
        .call("Open", &[s(&user_url), s("user")])
        .expect("Open after the owner upgraded the store");
    send(&mut behind, "t", "", "after the upgrade");
    drop(behind);
    // A database without the schema: the plain user may not create it.
    let empty = TempStore::new();
    psql(
        &empty.location(),
        &format!(
            "GRANT CONNECT ON DATABASE {} TO {role}",
            db_name(&empty.location())
        ),
    );
    let url = empty
        .location()
        .replacen("chat1c:chat1c-pw@", &format!("{role}:user-pw@"), 1);
    fails(&mut u, "Open", &[s(&url), s("user")], "may not create it");
    drop(u);
    drop(owner);
    psql(&owner_url, &format!("DROP OWNED BY {role}"));
    psql(&empty.location(), &format!("DROP OWNED BY {role}"));
    psql(&base, &format!("DROP ROLE {role}"));
}

fn db_name(url: &str) -> String {
    let head = url.split('?').next().unwrap_or(url);
    head.rsplit('/').next().unwrap_or("").to_string()
}

/// Every object of a process and its watcher share one connection: a server with the
/// default max_connections serves about ninety 1C clients, not fifty.
#[test]
fn one_process_holds_one_connection_for_all_its_objects_and_its_watcher() {
    let Some(_) = server() else { return };
    let _server = shared();
    let store = TempStore::new();
    let lib = library();
    let count = || {
        psql(
            &store.location(),
            "SELECT count(*) FROM pg_stat_activity
              WHERE datname = current_database() AND application_name = 'chat1c'",
        )
    };
    let mut objects: Vec<Object> = ["Ann", "Bob", "Carl"]
        .iter()
        .map(|u| open(&lib, &store, u))
        .collect();
    send(&mut objects[0], "t", "Bob; Carl", "hello");
    let e = objects[1]
        .events()
        .wait(Duration::from_secs(5))
        .expect("the watcher on the shared connection delivers");
    assert_eq!(hint_cursor(&e), number_of(&mut objects[1]));
    assert_eq!(count(), "1", "three objects and a watcher: one connection");
    // Another process (another 1C client) is another connection.
    let other = Client::opened(&[], &store.location(), "Dan");
    assert_eq!(count(), "2");
    drop(objects);
    other.finish();
}

/// A NOTIFY wakes one thread of a listening process: its watcher reads the shared
/// connection while it waits and raises the event itself. With a thread of its own
/// for the connection, every message woke two threads of every reader.
#[cfg(target_os = "linux")]
#[test]
fn a_notify_wakes_one_thread_of_a_reader_process() {
    let Some(_) = server() else { return };
    let _server = shared();
    let store = TempStore::new();
    let url = store.location();
    let n = 100;
    let depth = (n + 10).to_string();
    let mut reader = Client::opened(&["--depth", &depth], &url, "reader");
    let mut writer = Client::opened(&[], &url, "writer");
    let mut send = |k: usize| {
        let r = writer.call("SendMessage", json!(["wake", "", format!("m{k}")]));
        assert_eq!(r["ok"], true, "{r}");
    };
    // The reader meets the group once (a query); then every message is a NOTIFY.
    send(0);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(reader.cmd(json!({"cmd": "pump"}))["pumped"], 1);
    let pid = reader.child().id();
    let before = background_wakeups(pid);
    for k in 1..=n {
        send(k);
        // Apart, so that each message is a wake-up of its own.
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let woken = background_wakeups(pid) - before;
    // One event per message, unless a loaded machine put two into one wake-up.
    let events = reader.cmd(json!({"cmd": "pump"}))["pumped"]
        .as_u64()
        .unwrap_or(0);
    println!("{n} messages: {events} events, the reader's own threads woken {woken} times");
    assert!(events > n as u64 / 2, "{events} events for {n} messages");
    assert!(
        woken < events * 3 / 2,
        "{events} events woke the reader's threads {woken} times: more than one thread each"
    );
    writer.finish();
    reader.finish();
}

/// How often the threads of process `pid` other than its main one (1C's) went to sleep
/// and woke again: their voluntary context switches.
#[cfg(target_os = "linux")]
fn background_wakeups(pid: u32) -> u64 {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the process's threads");
    tasks
        .flatten()
        .filter(|t| t.file_name().to_string_lossy() != pid.to_string())
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .filter_map(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
        .sum()
}

fn hint_cursor(e: &Event) -> i64 {
    let d: serde_json::Value = serde_json::from_str(&e.data).unwrap();
    d["cursor"].as_i64().unwrap()
}

/// The newest message id the object sees.
fn number_of(o: &mut Object) -> i64 {
    let g = json(o.call("GetGroups", &[]).unwrap());
    g[0]["last"]["id"].as_i64().unwrap()
}

/// A full server refuses Open at once, with a text that says so (a role limited to one
/// connection stands in for max_connections: the server answers both with 53300).
#[test]
fn a_full_server_refuses_open_at_once_and_says_so() {
    let Some(base) = server() else { return };
    let _server = shared();
    let store = TempStore::new();
    drop(open(&library(), &store, "owner"));
    let role = format!("chat_one_{}", std::process::id());
    psql(
        &base,
        &format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN PASSWORD 'one-pw' CONNECTION LIMIT 1"
        ),
    );
    psql(
        &store.location(),
        &format!("GRANT USAGE ON SCHEMA chat1c TO {role}"),
    );
    let url = store
        .location()
        .replacen("chat1c:chat1c-pw@", &format!("{role}:one-pw@"), 1);
    let first = Client::opened(&[], &url, "Ann");
    let mut second = Client::start(&[]);
    // The server's refusal itself, not the client's connect timeout ("did not answer").
    let r = second.call("Open", json!([url, "Bob"]));
    assert_eq!(r["ok"], false, "{r}");
    assert!(
        r["error"].as_str().unwrap().contains("no free connection"),
        "{r}"
    );
    first.finish();
    second.finish();
    psql(&store.location(), &format!("DROP OWNED BY {role}"));
    psql(&base, &format!("DROP ROLE {role}"));
}

// ---- wake-ups that say what changed (notes), and forged ones ----

/// A reader (Bob, an object of this process) and a writer process (Ann), with one
/// conversation Bob is in and one he is not; returns the ids of their first messages.
struct Notes {
    store: TempStore,
    reader: Object,
    writer: Client,
    carl_group: i64,
}

fn notes_setup(before_open: &str) -> Option<Notes> {
    server()?;
    let store = TempStore::new();
    if !before_open.is_empty() {
        psql(&store.location(), before_open);
    }
    let reader = open(&library(), &store, "Bob");
    let writer = Client::opened(&[], &store.location(), "Ann");
    let mut n = Notes {
        store,
        reader,
        writer,
        carl_group: 0,
    };
    let first = n.send("deal", "Bob", "hello");
    n.told(first);
    let secret = n.send("secret", "Carl", "not for Bob");
    n.carl_group = psql(
        &n.store.location(),
        &format!("SELECT group_id FROM chat1c.register WHERE id = {secret}"),
    )
    .parse()
    .unwrap();
    Some(n)
}

impl Notes {
    fn send(&mut self, topic: &str, to: &str, text: &str) -> i64 {
        let r = self.writer.call("SendMessage", json!([topic, to, text]));
        r["value"].as_i64().unwrap_or_else(|| panic!("send: {r}"))
    }

    /// Waits until Bob is told of message `id`.
    fn told(&mut self, id: i64) -> bool {
        self.told_within(id, Duration::from_secs(10))
    }

    fn told_within(&mut self, id: i64, wait: Duration) -> bool {
        eventually(wait, || {
            self.reader
                .events()
                .pump()
                .iter()
                .any(|e| hint_cursor(e) >= id)
        })
    }

    fn head(&self) -> i64 {
        psql(
            &self.store.location(),
            "SELECT max(rev) FROM chat1c.register",
        )
        .parse()
        .unwrap()
    }

    /// NOTIFYs the next `n` revisions as changes in Carl's conversation. Any role
    /// that may connect can do this (NOTIFY needs no privilege).
    fn forge(&self, n: i64) {
        let head = self.head();
        psql(
            &self.store.location(),
            &format!(
                "SELECT pg_notify('chat1c_new', r || ':{}:1') FROM generate_series({}, {}) r",
                self.carl_group,
                head + 1,
                head + n
            ),
        );
        // Give the reader's watcher time to take them as told.
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Forged notes for the next revisions, naming a conversation the reader is not in,
/// do not make it pass over the real change that takes one of those revisions.
#[test]
fn forged_notifications_hide_no_message() {
    let _server = shared();
    let Some(mut n) = notes_setup("") else { return };
    for forged in [1, 50] {
        n.forge(forged);
        let real = n.send("deal", "Bob", &format!("after {forged} forged notes"));
        assert!(
            n.told(real),
            "Bob is told of message {real} despite {forged} forged notes"
        );
    }
    assert_eq!(n.writer.finish()["violations"], json!([]));
}

/// A forger who also ends the reader's session, so that the real note never reaches
/// it, still hides nothing: after reconnecting, the reader checks with the server.
#[test]
fn a_forged_notification_and_a_killed_session_hide_no_message() {
    let _alone = exclusive();
    let Some(mut n) = notes_setup("") else { return };
    // Bob's backend: the older of the two chat1c connections (the writer's is newer).
    let reader_pid = psql(
        &n.store.location(),
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()
            AND application_name = 'chat1c' ORDER BY backend_start LIMIT 1",
    );
    n.forge(1);
    psql(
        &n.store.location(),
        &format!("SELECT pg_terminate_backend({reader_pid})"),
    );
    let real = n.send("deal", "Bob", "while Bob reconnects");
    assert!(
        n.told(real),
        "Bob is told of message {real} after his session was killed"
    );
    assert_eq!(n.writer.finish()["violations"], json!([]));
}

/// The server's work per message grows with a conversation's audience, not with
/// every listening process: a reader learns from the notes which conversation
/// changed, and asks the server nothing per message, in his conversations or not.
#[test]
fn a_reader_asks_the_server_nothing_per_message() {
    let _server = shared();
    let Some(mut n) = notes_setup("") else { return };
    let first = n.send("deal", "Bob", "counted from here");
    assert!(n.told(first));
    n.send("secret", "Carl", "counted from here");
    let calls = counting_calls(&n.store, &["api_head", "api_changes", "api_visible"]);
    let rounds = 30;
    for k in 0..rounds {
        n.send("secret", "Carl", &format!("s{k}"));
        let id = n.send("deal", "Bob", &format!("d{k}"));
        assert!(n.told(id), "Bob is told of message {id}");
    }
    let asked = calls();
    println!("{} messages, the reader asked {asked} times", 2 * rounds);
    assert!(
        asked <= 3,
        "the reader asked the server {asked} times for {} messages",
        2 * rounds
    );
    assert_eq!(n.writer.finish()["violations"], json!([]));
}

/// Counts the clients' calls of `functions` in the store's database from now on
/// (pg_stat_statements counts each statement as it ends; track_functions reports a
/// session's counts up to 10 s late).
fn counting_calls(store: &TempStore, functions: &[&str]) -> impl Fn() -> i64 {
    let url = store.location();
    let this_db = statements_counted(&url);
    let named = functions
        .iter()
        .map(|f| format!("query LIKE '%{f}(%'"))
        .collect::<Vec<_>>()
        .join(" OR ");
    move || -> i64 {
        psql(
            &url,
            &format!(
                "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements
                  WHERE dbid = {this_db} AND toplevel AND ({named})"
            ),
        )
        .parse()
        .unwrap()
    }
}

/// A reader asks the server nothing per message, nor every few seconds while messages
/// come: what the NOTIFYs told is checked once in 30 s (`CHECK_NOTES`, the slow poll's
/// period). A check every 2 s made 1,000 clients run 500 calls a second while messages
/// came, and was a third of a reader's CPU per message (BENCHMARKS.md, section 6b); before
/// that, a poll every 2 s did the same to idle clients (section 2b).
#[test]
fn a_reader_checks_the_notes_once_in_30_seconds_while_messages_come() {
    let _server = shared();
    let Some(mut n) = notes_setup("") else { return };
    let checks = counting_calls(&n.store, &["api_notes"]);
    let started = Instant::now();
    for k in 0..10 {
        let id = n.send("deal", "Bob", &format!("message {k}"));
        assert!(n.told(id), "Bob is told of message {id}");
        std::thread::sleep(Duration::from_millis(1000));
    }
    let asked = checks();
    let within = started.elapsed().as_secs_f64();
    println!("10 messages over {within:.1} s: the reader asked api_notes {asked} times");
    assert!(
        within < 29.0,
        "the test took {within:.1} s: not within one period"
    );
    assert_eq!(asked, 0, "nothing asked within 30 s of the first message");
    assert_eq!(n.writer.finish()["violations"], json!([]));
}

/// The periodic check is the backstop for a change committed without its NOTIFY, the one
/// case a forged note is never contested on a live connection: here the owner turns the
/// trigger off for one send, after a forged note took its revision. The reader is told
/// within the check's period (30 s) all the same.
#[test]
fn a_change_without_its_notify_behind_a_forged_note_is_found_by_the_check() {
    let _server = shared();
    let Some(mut n) = notes_setup("") else { return };
    let url = n.store.location();
    n.forge(1);
    psql(
        &url,
        "ALTER TABLE chat1c.register DISABLE TRIGGER register_notify",
    );
    let started = Instant::now();
    let real = n.send("deal", "Bob", "committed without a NOTIFY");
    psql(
        &url,
        "ALTER TABLE chat1c.register ENABLE TRIGGER register_notify",
    );
    let told = n.told_within(real, Duration::from_secs(45));
    println!(
        "told of message {real} after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(told, "Bob is told of message {real} by the periodic check");
    assert_eq!(n.writer.finish()["violations"], json!([]));
}

/// A forger who NOTIFYs without pause — notes that cannot be read, or two that differ
/// for one revision — makes a listener check with the server at most once a second, not
/// at every note: otherwise every listening client would query the server as fast as the
/// forger sends, a load on the server that grows with every client.
#[test]
fn a_stream_of_forged_notes_makes_a_listener_check_once_a_second_at_most() {
    let _server = shared();
    let Some(n) = notes_setup("") else { return };
    // Junk, then two different notes for the next revision.
    n.forged_stream(
        "CASE WHEN i % 2 = 0 THEN 'junk ' || i ELSE (head + 1) || ':' || (i % 7 + 1) || ':' || i END",
        &["api_notes"],
    );
}

/// A forger who NOTIFYs the next revisions one by one, each naming a conversation the
/// listener has not met, makes it ask the server which of them it sees at most once a
/// second, not at every note.
#[test]
fn forged_notes_naming_new_groups_make_a_listener_ask_once_a_second_at_most() {
    let _server = shared();
    let Some(n) = notes_setup("") else { return };
    n.forged_stream(
        "(head + i) || ':' || (1000000 + i) || ':' || i",
        &["api_visible", "api_changes"],
    );
}

impl Notes {
    /// NOTIFYs `payload` (SQL of `i`, 1 to 400, and `head`, the store's head) 400 times,
    /// each in a transaction of its own, 5 ms apart; then the two listening processes
    /// (Bob's and the writer's) must have called `functions` at most once a second each,
    /// and Bob must be told of the next real message.
    fn forged_stream(mut self, payload: &str, functions: &[&str]) {
        let calls = counting_calls(&self.store, functions);
        let started = Instant::now();
        psql(
            &self.store.location(),
            &format!(
                "DO $$ DECLARE head BIGINT := {}; BEGIN
                   FOR i IN 1..400 LOOP
                     PERFORM pg_notify('chat1c_new', {payload});
                     COMMIT;
                     PERFORM pg_sleep(0.005);
                   END LOOP;
                 END $$",
                self.head()
            ),
        );
        let took = started.elapsed().as_secs_f64();
        std::thread::sleep(Duration::from_millis(1500));
        let asked = calls();
        println!("400 forged NOTIFYs over {took:.1} s: {functions:?} called {asked} times");
        // Once a second in each process, and once more after the last note.
        let most = 2 * (took.ceil() as i64 + 2);
        assert!(
            asked <= most,
            "{asked} calls of {functions:?} for 400 forged NOTIFYs in {took:.1} s (at most {most})"
        );
        let real = self.send("deal", "Bob", "after the forged stream");
        assert!(
            self.told(real),
            "Bob is told of message {real} after the stream"
        );
        assert_eq!(self.writer.finish()["violations"], json!([]));
    }
}

/// A store that has grown: `n` messages "message <i>" from Ann to Bob in `group` (topic
/// "big"), written as the owner without the triggers, with `then` run while they are
/// off; then counted afresh, and its statistics.
fn grow(url: &str, group: i64, n: u32, then: &str) {
    psql(
        url,
        &format!(
            "SET session_replication_role = replica;
             INSERT INTO chat1c.register(group_id, period, publisher, publisher_key,
                                         participants, topic, message, rev)
             SELECT {group}, 1700000000000 + i, 'Ann', 'ann', '[\"Ann\",\"Bob\"]', 'big',
                    'message ' || i, 1000 + i FROM generate_series(1, {n}) i;
             {then}
             SET session_replication_role = origin;
             SELECT chat1c_private.count_afresh();
             ANALYZE;"
        ),
    );
}

/// pg_stat_statements counts the store's database's statements from here on (it fails
/// where the server does not load the module; tests/pg/cluster.sh does); returns the
/// database's oid as SQL.
fn statements_counted(url: &str) -> String {
    psql(
        url,
        "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT count(*) FROM pg_stat_statements",
    );
    let this_db = format!(
        "(SELECT oid FROM pg_database WHERE datname = '{}')",
        db_name(url)
    );
    psql(
        url,
        &format!("SELECT pg_stat_statements_reset(0, {this_db}, 0)"),
    );
    this_db
}

/// The server plans each of a connection's queries once, not at every call. A SQL
/// function with a sub-select (`visible`, asked by every call that names a group) was
/// parsed and planned at each call, and api_messages' query, once the store had grown,
/// was planned anew for its values every time: ~1.0 ms of server time for the newest 50
/// messages, 0.3 ms with its plan kept (BENCHMARKS.md, section 4c). pg_stat_statements
/// (loaded by tests/pg/cluster.sh) counts the plans of every statement, nested too.
#[test]
fn the_server_plans_a_connections_queries_once() {
    let Some(_) = server() else { return };
    let _server = shared();
    let store = TempStore::new();
    let url = store.location();
    let lib = library();
    let mut ann = open(&lib, &store, "Ann");
    send(&mut ann, "big", "Bob", "first");
    send(&mut ann, "small", "Bob", "first");
    let groups = json(ann.call("GetGroups", &[]).unwrap());
    let id_of = |topic: &str| {
        groups
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["topic"] == json!(topic))
            .and_then(|g| g["id"].as_i64())
            .unwrap()
    };
    let (big, small) = (id_of("big"), id_of("small"));
    grow(&url, big, 100_000, "");
    // A connection of its own, from here on.
    drop(ann);
    let mut ann = open(&lib, &store, "Ann");
    let this_db = statements_counted(&url);
    let rounds = 20;
    for k in 0..rounds {
        let newest = json(
            ann.call("GetMessages", &[i(big as i32), i(0), i(50)])
                .unwrap(),
        );
        assert_eq!(newest.as_array().unwrap().len(), 50);
        let after = json(
            ann.call("GetMessages", &[i(big as i32), i(90_000 + k), i(50)])
                .unwrap(),
        );
        assert_eq!(after.as_array().unwrap().len(), 50);
        let before = json(
            ann.call("GetHistory", &[i(big as i32), i(50_000 + k), i(50)])
                .unwrap(),
        );
        assert_eq!(before.as_array().unwrap().len(), 50);
        let changed = json(
            ann.call("GetUpdates", &[i(big as i32), i(60_000 + k), i(50)])
                .unwrap(),
        );
        assert_eq!(changed.as_array().unwrap().len(), 50);
        ann.call("MarkRead", &[i(big as i32), i(90_000 + k)])
            .unwrap();
        let posted = number(
            ann.call("PostMessage", &[i(small as i32), s(&format!("s{k}"))])
                .unwrap(),
        );
        let mine = json(
            ann.call("GetMessages", &[i(small as i32), i(0), i(50)])
                .unwrap(),
        );
        let last = mine.as_array().unwrap().last().cloned().unwrap_or_default();
        assert_eq!(
            last["id"],
            json!(posted),
            "the small group's newest: {mine}"
        );
        ann.call("GetGroups", &[i(50)]).unwrap();
    }
    // Five plans for the values, then one kept: 6 for a statement run 20 times (twice
    // that in a trigger function compiled for two triggers); one planned at every call
    // has as many plans as calls.
    let replanned = psql(
        &url,
        &format!(
            "SELECT coalesce(string_agg(plans || ' plans for ' || calls || ' calls: '
                                        || left(regexp_replace(query, '\\s+', ' ', 'g'), 90),
                                        E'\\n'), '')
               FROM pg_stat_statements
              WHERE dbid = {this_db} AND calls >= {rounds} AND plans * 2 > calls"
        ),
    );
    assert_eq!(replanned, "", "statements planned at (nearly) every call");
    ann.call("Close", &[]).unwrap();
}

/// Messages older than the newest 5,000 are found through the trigram index, never by
/// reading every one of them. The planner, asked for them in order, walked the store
/// newest first whenever it guessed a few hundred matches (it guesses from the text's
/// length alone): a word in no message, or only in the oldest, read all 300,000 (0.2 s;
/// BENCHMARKS.md, section 4d). Counted in buffers, which do not depend on the machine.
#[test]
fn search_reads_the_index_not_every_older_message() {
    let Some(_) = server() else { return };
    let _server = shared();
    let store = TempStore::new();
    let url = store.location();
    let lib = library();
    let mut ann = open(&lib, &store, "Ann");
    let mut carol = open(&lib, &store, "Carol");
    send(&mut ann, "big", "Bob", "first");
    let hidden = send(&mut carol, "secret", "Dave", "first");
    let big = json(ann.call("GetGroups", &[]).unwrap())[0]["id"]
        .as_i64()
        .unwrap();
    // The word in three of the oldest messages Ann may see, and in one of Carol and
    // Dave's, which Ann may not.
    grow(
        &url,
        big,
        300_000,
        &format!(
            "UPDATE chat1c.register SET message = 'the word quasar in ' || id
              WHERE id IN (SELECT id FROM chat1c.register WHERE group_id = {big}
                            ORDER BY id LIMIT 3 OFFSET 1)
                 OR id = {hidden};"
        ),
    );
    let planted: Vec<i64> = psql(
        &url,
        &format!(
            "SELECT id FROM chat1c.register WHERE group_id = {big} AND message LIKE '%quasar%'
              ORDER BY id DESC"
        ),
    )
    .lines()
    .map(|l| l.parse().unwrap())
    .collect();
    assert_eq!(planted.len(), 3);
    let pages: i64 = psql(
        &url,
        "SELECT relpages FROM pg_class WHERE oid = 'chat1c.register'::regclass",
    )
    .parse()
    .unwrap();
    drop(ann);
    let mut ann = open(&lib, &store, "Ann");
    let this_db = statements_counted(&url);
    let search = |o: &mut Object, text: &str, group: i64, limit: i32| -> Vec<i64> {
        ids(&json(
            o.call("Search", &[s(text), i(group as i32), i(limit)])
                .unwrap(),
        ))
    };
    assert_eq!(search(&mut ann, "quasar", 0, 5), planted);
    assert_eq!(search(&mut ann, "QUASAR", big, 2), planted[..2]);
    assert_eq!(search(&mut ann, "zebra", 0, 5), Vec::<i64>::new());
    assert_eq!(search(&mut ann, "zebra", big, 5), Vec::<i64>::new());
    assert_eq!(search(&mut carol, "quasar", 0, 5), vec![hidden]);
    let read: i64 = psql(
        &url,
        &format!(
            "SELECT coalesce(sum(shared_blks_hit + shared_blks_read), 0) FROM pg_stat_statements
              WHERE dbid = {this_db} AND toplevel AND query LIKE '%api_search%'"
        ),
    )
    .parse()
    .unwrap();
    println!(
        "five searches over 300,000 messages read {read} buffers; the register has {pages} pages"
    );
    assert!(
        read < pages,
        "five searches read {read} buffers, more than the register's {pages} pages: they walked it"
    );
    ann.call("Close", &[]).unwrap();
}
