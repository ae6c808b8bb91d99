//! Fan-out (BENCHMARKS.md section 6): one writer and N reader processes on one store
//! (SQLite, or PostgreSQL with `--only pgfanout`), each reader a host CLI with one Chat
//! object (every 1C client is its own process), all in one public topic. Measures the
//! add-in's own CPU per reader per message and when the last reader got each message's
//! event, against a floor: as many processes that only wake for each commit. On
//! PostgreSQL also the server's CPU (the readers' backends) per message.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use chat1c_host::{Client, Library};

use serde_json::json;

use crate::idle::{proc_cpu_ns, rss_kb, task_cpu_ns};
use crate::kid::Kid;
use crate::latency::parse_send;
use crate::stats::{self, Report, Rng, Summary};
use crate::users::{shared_store, Users};
use crate::{scratch_root, tempdir, Cfg};

/// The goals of issue 15: the add-in's CPU per reader per message, the last reader's p99.
const CPU_GOAL_MS: f64 = 0.05;
const P99_GOAL_MS: f64 = 20.0;

/// On-CPU ns of a process's threads other than its main one, by thread name. The host
/// CLI runs on its main thread only, so in a reader these are the threads the add-in
/// started.
fn side_threads_cpu(pid: u32) -> BTreeMap<String, u64> {
    let mut by_name = BTreeMap::new();
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"));
    for task in tasks.into_iter().flatten().flatten() {
        if task.file_name().to_string_lossy() == pid.to_string() {
            continue;
        }
        let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        *by_name.entry(name.trim().to_string()).or_insert(0) += task_cpu_ns(&task.path());
    }
    by_name
}

/// The side threads' CPU of all these processes, by thread name.
fn side_cpu(pids: &[u32]) -> BTreeMap<String, u64> {
    let mut total = BTreeMap::new();
    for pid in pids {
        for (name, ns) in side_threads_cpu(*pid) {
            *total.entry(name).or_insert(0) += ns;
        }
    }
    total
}

/// ms spent per thread name between two [`side_cpu`] samples.
fn spent(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> Vec<(String, f64)> {
    after
        .iter()
        .map(|(name, ns)| {
            let from = before.get(name).copied().unwrap_or(0);
            (name.clone(), ns.saturating_sub(from) as f64 / 1e6)
        })
        .collect()
}

/// Sends `messages` one at a time, 50–350 ms apart, by `send`.
fn paced(messages: usize, mut send: impl FnMut()) {
    let mut rng = Rng(15);
    for _ in 0..messages {
        send();
        std::thread::sleep(Duration::from_millis(50 + rng.below(300)));
    }
    // The last message's rounds, and any re-check, end inside the window.
    std::thread::sleep(Duration::from_millis(500));
}

/// A reader's events: (cursor, mono_ns at ExternalEvent), in arrival order.
fn events_of(c: &mut Client) -> Vec<(i64, u64)> {
    c.events.clear();
    let r = c.cmd(json!({"cmd": "pump"}));
    assert_eq!(r["ok"], true, "{r}");
    c.events
        .drain(..)
        .map(|l| {
            let e = &l["event"];
            let data: serde_json::Value =
                serde_json::from_str(e["data"].as_str().unwrap_or("")).unwrap_or_default();
            (
                data["cursor"].as_i64().unwrap_or(0),
                e["mono_ns"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// Per message, from the writer's call (readers may hear of the commit before the call
/// has returned) to the first and to the last reader's event; and how many (message,
/// reader) pairs were never announced.
fn delivery(sent: &[(i64, u64, u64)], got: &[Vec<(i64, u64)>]) -> (Summary, Summary, usize) {
    let (mut first, mut last, mut missed) = (Vec::new(), Vec::new(), 0);
    for &(id, called, _) in sent {
        let at: Vec<u64> = got
            .iter()
            .filter_map(|events| events.iter().find(|e| e.0 >= id))
            .map(|e| e.1.saturating_sub(called))
            .collect();
        missed += got.len() - at.len();
        if let (Some(min), Some(max)) = (at.iter().min(), at.iter().max()) {
            first.push(*min);
            last.push(*max);
        }
    }
    (Summary::of(&first), Summary::of(&last), missed)
}

/// The floor: `n` processes that only wake once per message (a close of a folder they
/// watch), paced as the messages. ms of CPU per process per wake-up.
fn wake_floor(users: &Users, n: usize, wakeups: usize) -> f64 {
    let dir = tempdir("floor");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("floor folder");
    let folder = dir.display().to_string();
    let kids: Vec<Kid> = (0..n)
        .map(|k| users.kid(k as u32, &["wakefloor", &folder]))
        .collect();
    let pids: Vec<u32> = kids.iter().map(Kid::pid).collect();
    std::thread::sleep(Duration::from_millis(200));
    let before = side_cpu(&pids);
    paced(wakeups, || wake(&dir));
    let ms: f64 = spent(&before, &side_cpu(&pids))
        .iter()
        .map(|(_, ms)| ms)
        .sum();
    ms / (n * wakeups) as f64
}

/// One wake-up of the floor's processes: the folder opened and closed.
fn wake(dir: &Path) {
    let _ = std::fs::File::open(dir);
}

/// 6. Fan-out: N reader processes on one SQLite store, messages one at a time.
pub fn run(lib: &Library, cfg: &Cfg, report: &mut Report) {
    let dir = tempdir("fanout");
    let store = shared_store(lib, &dir);
    fan_out(cfg, report, &store, None);
}

/// 6b. The same on PostgreSQL (`url`: a database of its own), with the server's CPU.
pub fn postgres(cfg: &Cfg, report: &mut Report, url: &str) {
    fan_out(cfg, report, url, Some(url));
}

/// The backends of the chat's connections to this database (server processes).
pub fn backends(url: &str) -> Vec<u32> {
    crate::pg::psql_values(
        url,
        "SELECT pid FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'chat1c'",
    )
}

fn fan_out(cfg: &Cfg, report: &mut Report, store: &str, pg: Option<&str>) {
    let readers = cfg.readers.unwrap_or(cfg.size(4, 50, 200));
    let messages = cfg.size(10, 100, 200);
    let kind = if pg.is_some() { "PostgreSQL" } else { "SQLite" };
    let section = if pg.is_some() { "pgfanout" } else { "fanout" };
    println!(
        "\n-- fan-out: 1 writer, {readers} reader processes (one object each) on one {kind} store, \
         {messages} messages in a public topic, 50–350 ms apart"
    );
    // The readers themselves raise the load average (each message makes them all
    // runnable at once): what else ran is the load before they started.
    let load_before = stats::load();
    let users = Users::choose(&scratch_root());
    if let Some(limit) = users.describe(readers) {
        report.note(format!("{section}: {limit}"));
    }
    let mut writer = Kid::spawn(&["writer", store, "writer", ""]);
    let writer_backends = pg.map(backends).unwrap_or_default();
    // Deep enough for every event of the run: the readers are pumped at the end only,
    // so nothing they do meanwhile disturbs the figures, and nothing is refused.
    let depth = (messages + 64).to_string();
    let mut clients: Vec<Client> = (0..readers)
        .map(|k| {
            let mut c = users.client(k as u32, &["--depth", &depth]);
            let r = c.call("Open", json!([store, format!("reader{k}")]));
            assert_eq!(r["ok"], true, "{r}");
            c
        })
        .collect();
    let pids: Vec<u32> = clients.iter_mut().map(|c| c.child().id()).collect();
    for _ in 0..3 {
        writer.ask("s warmup");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    clients.iter_mut().for_each(|c| drop(events_of(c)));

    // Everything our processes use, to tell what the rest of the machine used meanwhile.
    let mut ours = pids.clone();
    ours.extend([writer.pid(), std::process::id()]);
    let ours_cpu = |pids: &[u32]| -> u64 { pids.iter().map(|p| proc_cpu_ns(*p)).sum() };
    let (machine0, ours0, t0) = (stats::machine_busy_ns(), ours_cpu(&ours), Instant::now());
    // The readers' backends only: the writer's does the sends.
    let mut server = pg.map(backends).unwrap_or_default();
    server.retain(|pid| !writer_backends.contains(pid));
    let (server0, writer_server0) = (ours_cpu(&server), ours_cpu(&writer_backends));
    let before = side_cpu(&pids);
    let mut sent = Vec::with_capacity(messages);
    paced(messages, || sent.push(parse_send(&writer.ask("s fanout"))));
    let by_thread = spent(&before, &side_cpu(&pids));
    let server_ms = (ours_cpu(&server) - server0) as f64 / 1e6;
    let writer_server_ms = (ours_cpu(&writer_backends) - writer_server0) as f64 / 1e6;
    let others = (stats::machine_busy_ns() - machine0).saturating_sub(ours_cpu(&ours) - ours0);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let others_share = others as f64 / (t0.elapsed().as_nanos() as f64 * cores as f64) * 100.0;

    let rss = pids.iter().map(|p| rss_kb(*p)).sum::<u64>() / readers.max(1) as u64;
    let got: Vec<Vec<(i64, u64)>> = clients.iter_mut().map(events_of).collect();
    clients.into_iter().for_each(|c| drop(c.finish()));
    drop(writer);
    let floor = wake_floor(&users, readers, messages.min(100));

    let pairs = (readers * messages) as f64;
    let all_ms: f64 = by_thread.iter().map(|(_, ms)| ms).sum();
    let per_reader = all_ms / pairs;
    let split: Vec<String> = by_thread
        .iter()
        .map(|(name, ms)| format!("{name} {:.4}", ms / pairs))
        .collect();
    if pg.is_some() {
        report.figure(
            section,
            &format!("PostgreSQL server CPU per message in the readers' backends, {readers} reader processes"),
            format!(
                "{:.3} ms ({:.4} ms per reader; {} readers' backends)",
                server_ms / messages as f64,
                server_ms / pairs,
                server.len()
            ),
            "before NOTIFY said what changed: 0.75–0.90 ms per listening process (BENCHMARKS.md, capacity model)".into(),
            format!("{:.0}× less per reader", 0.8 / (server_ms / pairs).max(1e-9)),
        );
        report.figure(
            section,
            &format!("PostgreSQL server CPU per message in the writer's backend, {readers} readers listening"),
            format!("{:.3} ms", writer_server_ms / messages as f64),
            "the send itself, and its NOTIFY to every listener".into(),
            String::new(),
        );
    }
    report.figure(
        section,
        &format!("add-in threads' CPU per reader per message, {readers} reader processes"),
        format!(
            "{per_reader:.4} ms ({:.2} ms per message for all readers; by thread: {})",
            all_ms / messages as f64,
            split.join(", ")
        ),
        format!(
            "goal ≤ {CPU_GOAL_MS} ms; floor: {readers} processes that only wake once per \
             message {floor:.4} ms"
        ),
        format!(
            "{:.2}× the goal, {:.1}× the floor",
            per_reader / CPU_GOAL_MS,
            per_reader / floor.max(1e-9)
        ),
    );
    let (first, last, missed) = delivery(&sent, &got);
    report.figure(
        section,
        &format!("SendMessage called → the last of {readers} readers' event"),
        last.text(),
        format!(
            "goal p99 ≤ {P99_GOAL_MS} ms; the first reader's event p50 {:.3} ms, p99 {:.3} ms",
            first.p50_ms(),
            first.p99_ms()
        ),
        format!("p99 {:.2}× the goal", last.p99_ms() / P99_GOAL_MS),
    );
    let calls: Vec<u64> = sent
        .iter()
        .map(|&(_, called, done)| done - called)
        .collect();
    let calls = Summary::of(&calls);
    let events: usize = got.iter().map(Vec::len).sum();
    report.note(format!(
        "{section}: {:.2} events per reader per message; {missed} of {pairs} (message, reader) \
         pairs never announced; the writer's SendMessage took p50 {:.3} ms, p99 {:.3} ms; \
         a reader process's RSS {rss} KiB; the load average before the readers started \
         {load_before} (the readers' own wake-ups raise it); other programs used \
         {others_share:.0} % of the {cores} cores while the messages went out",
        events as f64 / pairs,
        calls.p50_ms(),
        calls.p99_ms(),
    ));
}
