//! Child processes of the benchmark (this binary with `--role`), spoken to by lines
//! on stdin/stdout. Each prints "ready" first.
//!
//!   writer <store> <user> <participants>   one Chat object through the host:
//!       "s TOPIC"      -> "ID T0 T1" (mono ns before/after SendMessage)
//!       "b N TOPIC"    -> N such lines, sent back to back
//!       "n N TOPIC"    -> "OK ERRORS START END [first error]" (as fast as possible)
//!       "p"            -> mono ns at receipt (the pipe floor)
//!   rawsqlite <file> <user> <participants> / rawpg <url> <user> <participants>:
//!       "n N TOPIC"    -> the same rows inserted with plain SQL, one commit each
//!   objects <store> <count>  -> prints the RSS growth per opened object (KiB)
//!   wakefloor <dir>          -> a thread reads every close of <dir> (the floor's wake-up), nothing else

use std::io::{BufRead, Write};
use std::time::Duration;

use chat1c_host::testing::{number, s};
use chat1c_host::Library;

use crate::idle::rss_kb;
use crate::open;

fn lines() -> impl Iterator<Item = String> {
    std::io::stdin().lock().lines().map_while(Result::ok)
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

pub fn run(args: &[String]) {
    let role = args[0].as_str();
    match role {
        "writer" => writer(&args[1], &args[2], &args[3]),
        "rawsqlite" => raw_sqlite(&args[1], &args[2], &args[3]),
        "rawpg" => raw_pg(&args[1], &args[2], &args[3]),
        "objects" => objects(&args[1], args[2].parse().unwrap()),
        "wakefloor" => wake_floor(&args[1]),
        _ => panic!("unknown role {role}"),
    }
}

fn writer(store: &str, user: &str, participants: &str) {
    let lib = Library::load(chat1c_host::addin_path()).expect("load libchat1c");
    let mut o = open(&lib, store, user);
    let mut send = |topic: &str, text: &str| -> Result<(i64, u64, u64), String> {
        let t0 = chat1c_host::mono_ns();
        let r = o.call("SendMessage", &[s(topic), s(participants), s(text)]);
        let t1 = chat1c_host::mono_ns();
        r.map(|v| (number(v), t0, t1)).map_err(|e| e.message)
    };
    say("ready");
    let mut seq = 0u64;
    for line in lines() {
        let p: Vec<&str> = line.split(' ').collect();
        match p[0] {
            "p" => say(&chat1c_host::mono_ns().to_string()),
            "s" => {
                seq += 1;
                match send(p[1], &format!("message {seq} from {user}")) {
                    Ok((id, t0, t1)) => say(&format!("{id} {t0} {t1}")),
                    Err(e) => say(&format!("E {e}")),
                }
            }
            "b" => {
                let n: usize = p[1].parse().unwrap();
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    seq += 1;
                    out.push(match send(p[2], &format!("burst {seq} from {user}")) {
                        Ok((id, t0, t1)) => format!("{id} {t0} {t1}"),
                        Err(e) => format!("E {e}"),
                    });
                }
                say(&out.join("\n"));
            }
            "n" => {
                let n: usize = p[1].parse().unwrap();
                let (mut ok, mut errors, mut first) = (0u64, 0u64, String::new());
                let (main0, other0) = thread_cpu();
                let start = chat1c_host::mono_ns();
                for _ in 0..n {
                    seq += 1;
                    match send(
                        p[2],
                        &format!("message {seq} from {user}: some ordinary text"),
                    ) {
                        Ok(_) => ok += 1,
                        Err(e) => {
                            errors += 1;
                            if first.is_empty() {
                                first = e.replace('\n', " ");
                            }
                        }
                    }
                }
                let end = chat1c_host::mono_ns();
                let (main_ns, other_ns) = thread_cpu();
                eprintln!(
                    "   writer {}: CPU {:.0} ms in the calling thread, {:.0} ms in other threads (watcher, inotify) during {:.0} ms",
                    std::process::id(),
                    (main_ns - main0) as f64 / 1e6,
                    (other_ns - other0) as f64 / 1e6,
                    (end - start) as f64 / 1e6
                );
                say(&format!("{ok} {errors} {start} {end} {first}"));
            }
            "q" => break,
            other => panic!("writer: unknown command {other}"),
        }
    }
    o.destroy();
}

/// The add-in's participants JSON and members key for `user` writing to `participants`.
fn row_parts(user: &str, participants: &str) -> (String, String) {
    let mut names: Vec<String> = participants
        .split(';')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    if !names.is_empty()
        && !names
            .iter()
            .any(|n| n.to_lowercase() == user.to_lowercase())
    {
        names.push(user.to_string());
    }
    let mut keys: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
    keys.sort();
    (serde_json::to_string(&names).unwrap(), keys.join("\n"))
}

fn raw_sqlite(file: &str, user: &str, participants: &str) {
    // The add-in's pragmas: WAL, synchronous=NORMAL, busy_timeout 3 s.
    let c = rusqlite::Connection::open(file).unwrap();
    c.busy_timeout(Duration::from_secs(3)).unwrap();
    c.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))
        .unwrap();
    c.execute_batch("PRAGMA synchronous=NORMAL").unwrap();
    let (pjson, key) = row_parts(user, participants);
    say("ready");
    let mut seq = 0u64;
    for line in lines() {
        let p: Vec<&str> = line.split(' ').collect();
        match p[0] {
            // "n": one INSERT per commit (the floor); "t": the add-in's whole transaction
            // (find the group, insert) in plain SQL.
            "n" | "t" => {
                let whole = p[0] == "t";
                let n: usize = p[1].parse().unwrap();
                let topic = p[2];
                let group: i64 = c
                    .query_row(
                        "SELECT id FROM chat_groups WHERE topic = ?1 AND members_key = ?2",
                        rusqlite::params![topic, key],
                        |r| r.get(0),
                    )
                    .unwrap_or(1);
                let mut st = c
                    .prepare(
                        "INSERT INTO chat_register(group_id, period, publisher, publisher_key, participants, topic, message) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    )
                    .unwrap();
                let (mut ok, mut errors) = (0u64, 0u64);
                let start = chat1c_host::mono_ns();
                for _ in 0..n {
                    seq += 1;
                    let text = format!("message {seq} from {user}: some ordinary text");
                    let period = 1_700_000_000_000i64 + seq as i64;
                    let r = if whole {
                        (|| -> rusqlite::Result<()> {
                            c.execute_batch("BEGIN IMMEDIATE")?;
                            let g: i64 = c
                                .prepare_cached("SELECT id FROM chat_groups WHERE topic = ?1 AND members_key = ?2")?
                                .query_row(rusqlite::params![topic, key], |r| r.get(0))?;
                            st.execute(rusqlite::params![g, period, user, user.to_lowercase(), pjson, topic, text])?;
                            c.execute_batch("COMMIT")
                        })()
                        .inspect_err(|_| {
                            let _ = c.execute_batch("ROLLBACK");
                        })
                    } else {
                        st.execute(rusqlite::params![
                            group,
                            period,
                            user,
                            user.to_lowercase(),
                            pjson,
                            topic,
                            text
                        ])
                        .map(|_| ())
                    };
                    match r {
                        Ok(()) => ok += 1,
                        Err(_) => errors += 1,
                    }
                }
                let end = chat1c_host::mono_ns();
                say(&format!("{ok} {errors} {start} {end}"));
            }
            "q" => break,
            other => panic!("rawsqlite: unknown command {other}"),
        }
    }
}

/// A plain tokio-postgres client on the calling thread (the raw floors' connection).
pub fn raw_pg_client(url: &str) -> (tokio::runtime::Runtime, tokio_postgres::Client) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
    });
    (rt, client)
}

fn raw_pg(url: &str, user: &str, participants: &str) {
    let (rt, client) = raw_pg_client(url);
    let (pjson, key) = row_parts(user, participants);
    say("ready");
    let mut seq = 0u64;
    for line in lines() {
        let p: Vec<&str> = line.split(' ').collect();
        match p[0] {
            "n" => {
                let n: usize = p[1].parse().unwrap();
                let topic = p[2].to_string();
                let out = rt.block_on(async {
                    let group: i64 = client
                        .query_opt(
                            "SELECT id FROM chat1c.groups WHERE topic = $1 AND members_key = $2",
                            &[&topic, &key],
                        )
                        .await
                        .ok()
                        .flatten()
                        .map_or(1, |r| r.get(0));
                    let st = client
                        .prepare(
                            "INSERT INTO chat1c.register(group_id, period, publisher, publisher_key, participants, topic, message) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        )
                        .await
                        .unwrap();
                    let (mut ok, mut errors) = (0u64, 0u64);
                    let start = chat1c_host::mono_ns();
                    let ukey = user.to_lowercase();
                    for _ in 0..n {
                        seq += 1;
                        let text = format!("message {seq} from {user}: some ordinary text");
                        let period = 1_700_000_000_000i64 + seq as i64;
                        match client
                            .execute(&st, &[&group, &period, &user, &ukey, &pjson, &topic, &text])
                            .await
                        {
                            Ok(_) => ok += 1,
                            Err(_) => errors += 1,
                        }
                    }
                    let end = chat1c_host::mono_ns();
                    format!("{ok} {errors} {start} {end}")
                });
                say(&out);
            }
            "q" => break,
            other => panic!("rawpg: unknown command {other}"),
        }
    }
}

fn objects(store: &str, n: usize) {
    let lib = Library::load(chat1c_host::addin_path()).expect("load libchat1c");
    // One object first, so the library's one-time costs are not counted per object.
    let first = open(&lib, store, "warm");
    let pid = std::process::id();
    std::thread::sleep(Duration::from_millis(200));
    let before = rss_kb(pid);
    let objs: Vec<_> = (0..n)
        .map(|k| open(&lib, store, &format!("obj{k}")))
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let after = rss_kb(pid);
    say("ready");
    say(&format!(
        "{:.0}",
        (after.saturating_sub(before)) as f64 / n as f64
    ));
    for o in objs {
        o.destroy();
    }
    first.destroy();
}

/// On-CPU ns of this process: (the main thread, every other thread).
fn thread_cpu() -> (u64, u64) {
    let me = std::process::id().to_string();
    let (mut main, mut other) = (0, 0);
    for t in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let ns: u64 = std::fs::read_to_string(t.path().join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
            .unwrap_or(0);
        if t.file_name().to_string_lossy() == me {
            main += ns;
        } else {
            other += ns;
        }
    }
    (main, other)
}

/// A process that wakes for each close of `dir` and does nothing else: the floor
/// of what a reader process can cost per message.
fn wake_floor(dir: &str) {
    use inotify::{Inotify, WatchMask};
    let mut closes = Inotify::init().expect("inotify");
    closes
        .watches()
        .add(dir, WatchMask::CLOSE_NOWRITE | WatchMask::ONLYDIR)
        .expect("watch the folder");
    std::thread::spawn(move || {
        let mut buffer = [0u8; 1024];
        while closes.read_events_blocking(&mut buffer).is_ok() {}
    });
    say("ready");
    for line in lines() {
        if line == "q" {
            break;
        }
    }
}
