//! Idle cost (BENCHMARKS.md section 2): CPU and memory of open objects while nothing
//! is sent.

use std::time::{Duration, Instant};

use chat1c_host::testing::s;
use chat1c_host::Library;

use crate::kid::Kid;
use crate::stats::Report;
use crate::{open, tempdir, Cfg};

/// On-CPU time of one thread (`/proc/<pid>/task/<tid>`), in ns (schedstat is exact,
/// unlike the 10 ms ticks of /proc/<pid>/stat).
pub fn task_cpu_ns(task: &std::path::Path) -> u64 {
    std::fs::read_to_string(task.join("schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// On-CPU time of every thread of a process, in ns.
pub fn proc_cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .map(|t| task_cpu_ns(&t.path()))
        .sum()
}

pub fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// 2. Idle cost: 50 host CLI processes, one open object each, watching one store.
pub fn run(lib: &Library, cfg: &Cfg, report: &mut Report) {
    let dir = tempdir("idle");
    let store = dir.join("chat.sqlite").display().to_string();
    let clients = idle_objects(lib, cfg, report, "idle", &store, None);
    finish(clients);
    // The same in one process: 50 objects, RSS growth per object.
    let mut k = Kid::spawn(&["objects", &store, "50"]);
    let per = k.line();
    report.figure(
        "idle",
        "memory per object, 50 objects in one process (RSS growth / 50)",
        format!("{per} KiB"),
        "—".into(),
        "—".into(),
    );
}

/// 2b. The same 50 idle objects on PostgreSQL (`url`, a database of their own), with what
/// their backends spend on the server and how many transactions they run there.
pub fn postgres(lib: &Library, cfg: &Cfg, report: &mut Report, url: &str) {
    let clients = idle_objects(lib, cfg, report, "pgidle", url, Some(url));
    finish(clients);
}

fn finish(clients: Vec<chat1c_host::Client>) {
    for mut c in clients {
        let _ = c.child().kill();
        let _ = c.child().wait();
    }
}

/// Transactions committed in the database of `url` so far (pg_stat_database).
fn transactions(url: &str) -> u64 {
    crate::pg::psql_values(
        url,
        "SELECT pg_stat_force_next_flush(); SELECT xact_commit FROM pg_stat_database
          WHERE datname = current_database()",
    )
    .last()
    .copied()
    .unwrap_or(0)
}

/// Opens 50 objects in 50 host processes on `store`, lets them idle and reports their
/// CPU (and, on PostgreSQL, their backends' CPU and transactions); returns the processes.
fn idle_objects(
    lib: &Library,
    cfg: &Cfg,
    report: &mut Report,
    section: &str,
    store: &str,
    pg: Option<&str>,
) -> Vec<chat1c_host::Client> {
    let n = 50;
    let secs = cfg.size(2, 10, 30);
    let kind = if pg.is_some() { "PostgreSQL" } else { "SQLite" };
    println!(
        "\n-- {section}: {n} objects in {n} host processes watching one {kind} store for {secs} s"
    );
    {
        let mut o = open(lib, store, "seed");
        o.call("SendMessage", &[s("t"), s(""), s("seed")]).unwrap();
        o.destroy();
    }
    let mut clients: Vec<chat1c_host::Client> =
        (0..=n).map(|_| chat1c_host::Client::start(&[])).collect();
    let pids: Vec<u32> = clients.iter_mut().map(|c| c.child().id()).collect();
    let rss_closed = rss_kb(pids[n]);
    for (k, c) in clients.iter_mut().take(n).enumerate() {
        let r = c.call("Open", serde_json::json!([store, format!("user{k}")]));
        assert_eq!(r["ok"], true, "{r}");
    }
    // On PostgreSQL until the backends have reported the Opens' transactions (an idle
    // backend flushes its statistics 10 s after its last transaction at the latest).
    std::thread::sleep(Duration::from_secs(if pg.is_some() { 11 } else { 1 }));
    let rss_open: u64 = pids[..n].iter().map(|p| rss_kb(*p)).sum::<u64>() / n as u64;
    let backends = pg.map(crate::fanout::backends).unwrap_or_default();
    let server_cpu = || -> u64 { backends.iter().map(|p| proc_cpu_ns(*p)).sum() };
    // Each CLI now blocks reading its stdin, as 1C idles between events: only the
    // watcher threads can spend CPU from here on.
    let before: u64 = pids[..n].iter().map(|p| proc_cpu_ns(*p)).sum();
    let (server_before, xacts_before) = (server_cpu(), pg.map_or(0, transactions));
    let unopened_before = proc_cpu_ns(pids[n]);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let after: u64 = pids[..n].iter().map(|p| proc_cpu_ns(*p)).sum();
    let unopened = proc_cpu_ns(pids[n]) - unopened_before;
    let wall = t0.elapsed().as_nanos() as f64;
    let (server, xacts) = (
        server_cpu() - server_before,
        pg.map_or(0, transactions).saturating_sub(xacts_before),
    );
    let cpu = (after - before) as f64;
    let share = cpu / wall * 100.0;
    let wakeups: Vec<String> = pids[..3]
        .iter()
        .map(|p| {
            std::fs::read_dir(format!("/proc/{p}/task"))
                .map(|d| d.count().to_string())
                .unwrap_or_default()
        })
        .collect();
    report.figure(
        section,
        &format!("CPU of {n} idle open objects ({n} processes), {secs} s"),
        format!("{:.1} ms CPU = {:.4} % of one core", cpu / 1e6, share),
        format!(
            "goal < 0.1 % of one core; a host process with no object open: {:.3} ms",
            unopened as f64 / 1e6
        ),
        format!("{:.2}× the goal", share / 0.1),
    );
    if pg.is_some() {
        report.figure(
            section,
            &format!("PostgreSQL server: the {n} idle processes' backends, {secs} s"),
            format!(
                "{:.1} ms CPU = {:.4} % of one core; {xacts} transactions ({:.2} a second)",
                server as f64 / 1e6,
                server as f64 / wall * 100.0,
                xacts as f64 / (wall / 1e9)
            ),
            format!("{} backends", backends.len()),
            String::new(),
        );
    }
    println!(
        "   threads per host process (first 3): {}",
        wakeups.join(", ")
    );
    report.figure(
        section,
        "memory per open object (RSS of an opened host process − an unopened one)",
        format!("{} KiB", rss_open.saturating_sub(rss_closed)),
        format!("unopened host process {rss_closed} KiB"),
        format!("{:.2}×", rss_open as f64 / rss_closed.max(1) as f64),
    );
    clients
}
