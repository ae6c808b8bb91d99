//! chat1c benchmarks: every figure goes through the real add-in library and the
//! 1C-faithful host (chat1c_host), cross-process where it matters, and is printed
//! beside its reference, the ratio and the machine's load average at that moment.
//!
//!   chat1c-bench [--smoke|--full] [--only latency,idle,throughput,scale,calls,pg] [--pg URL]
//!
//! Child processes are this same binary with `--role ...` (see `roles`).

mod gen;
mod roles;
mod stats;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use chat1c_host::{Library, Object, Options, Value};
use stats::{load, Report, Summary};

pub struct Cfg {
    full: bool,
    /// Tiny sizes: checks that every section runs (CI), figures not meaningful.
    smoke: bool,
    only: Vec<String>,
    pg: Option<String>,
}

impl Cfg {
    /// The size for this run: smoke, default or full.
    pub fn size<T>(&self, smoke: T, default: T, full: T) -> T {
        if self.smoke {
            smoke
        } else if self.full {
            full
        } else {
            default
        }
    }

    fn wants(&self, section: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == section)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--role") {
        roles::run(&args[1..]);
        return;
    }
    let mut cfg = Cfg {
        full: false,
        smoke: false,
        only: Vec::new(),
        pg: std::env::var("CHAT1C_PG_URL")
            .ok()
            .filter(|u| !u.is_empty()),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--full" => cfg.full = true,
            "--smoke" => cfg.smoke = true,
            "--only" => {
                cfg.only = it
                    .next()
                    .map(|s| s.split(',').map(str::to_string).collect())
                    .unwrap_or_default()
            }
            "--pg" => cfg.pg = it.next().cloned(),
            other => {
                eprintln!("unknown argument {other}\nusage: chat1c-bench [--smoke|--full] [--only latency,idle,throughput,scale,calls,pg] [--pg URL]");
                std::process::exit(2);
            }
        }
    }
    let mut report = Report::default();
    println!(
        "chat1c benchmarks ({} size) — library {}, host CLI {}",
        cfg.size("smoke", "default", "full"),
        chat1c_host::addin_path().display(),
        chat1c_host::cli_path().display()
    );
    println!("machine: {}", stats::machine());
    let lib = Library::load(chat1c_host::addin_path()).expect("load libchat1c");
    let started = Instant::now();
    if cfg.wants("latency") {
        let dir = tempdir("latency");
        let store = dir.join("chat.sqlite").display().to_string();
        latency(&lib, &cfg, &mut report, "SQLite", &store);
        polling(&cfg, &mut report, &store);
    }
    if cfg.wants("idle") {
        idle(&lib, &cfg, &mut report);
    }
    if cfg.wants("throughput") {
        throughput_sqlite(&lib, &cfg, &mut report);
    }
    if cfg.wants("scale") {
        gen::scale(&lib, &cfg, &mut report);
    }
    if cfg.wants("calls") {
        calls(&lib, &mut report);
    }
    if cfg.wants("pg") {
        postgres(&lib, &cfg, &mut report);
    }
    println!(
        "\n==== summary (markdown) — total {:.0} s ====",
        started.elapsed().as_secs_f64()
    );
    report.print_markdown();
    let _ = std::fs::remove_dir_all(scratch_root());
}

/// The run's scratch folder under /tmp (removed at the end of a run).
fn scratch_root() -> PathBuf {
    std::env::temp_dir().join(format!("chat1c-bench-{}", std::process::id()))
}

/// A fresh folder for one section's store.
pub fn tempdir(name: &str) -> PathBuf {
    let dir = scratch_root().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

pub fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

pub fn open(lib: &Library, store: &str, user: &str) -> Object {
    let mut o = lib
        .create(
            "Chat",
            &Options {
                lang: "en".into(),
                ..Default::default()
            },
        )
        .expect("create Chat");
    o.call("Open", &[s(store), s(user)])
        .unwrap_or_else(|e| panic!("Open {store}: {}", e.message));
    o
}

pub fn number(v: &Value) -> i64 {
    match v {
        Value::I4(n) => i64::from(*n),
        Value::R8(f) => *f as i64,
        other => panic!("expected a number, got {other:?}"),
    }
}

/// A child process of this binary in some role, spoken to by lines.
pub struct Kid {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Kid {
    pub fn spawn(role: &[&str]) -> Kid {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .arg("--role")
            .args(role)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn a bench child");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut k = Kid {
            child,
            stdin,
            stdout,
        };
        let ready = k.line();
        assert_eq!(ready, "ready", "child {role:?} did not start");
        k
    }

    pub fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    pub fn line(&mut self) -> String {
        let mut b = String::new();
        let n = self.stdout.read_line(&mut b).unwrap();
        assert!(n > 0, "bench child ended");
        b.trim_end().to_string()
    }

    pub fn ask(&mut self, line: &str) -> String {
        self.send(line);
        self.line()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Kid {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "q");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}

/// Events seen by the receiving object: (cursor, mono_ns at ExternalEvent entry).
#[derive(Default)]
struct Seen {
    events: Mutex<Vec<(i64, u64)>>,
    cv: Condvar,
}

impl Seen {
    fn wait_for(&self, id: i64, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut ev = self.events.lock().unwrap();
        while ev.last().is_none_or(|e| e.0 < id) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            ev = self.cv.wait_timeout(ev, left).unwrap().0;
        }
        true
    }

    /// When the first event announcing `id` (cursor >= id) arrived.
    fn delivered(&self, id: i64) -> Option<u64> {
        let ev = self.events.lock().unwrap();
        let i = ev.partition_point(|e| e.0 < id);
        ev.get(i).map(|e| e.1)
    }
}

/// Receives events on `o` in a thread until `stop` is set.
fn collect(
    o: &Object,
    seen: Arc<Seen>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let events = o.events();
    std::thread::spawn(move || {
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            if let Some(e) = events.wait(Duration::from_millis(50)) {
                let d: serde_json::Value = serde_json::from_str(&e.data).unwrap_or_default();
                let cursor = d["cursor"].as_i64().unwrap_or(0);
                seen.events.lock().unwrap().push((cursor, e.mono_ns));
                seen.cv.notify_all();
            }
        }
    })
}

fn parse_send(line: &str) -> (i64, u64, u64) {
    let mut p = line.split(' ');
    let id = p
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("send failed: {line}"));
    let t0 = p.next().unwrap().parse().unwrap();
    let t1 = p.next().unwrap().parse().unwrap();
    (id, t0, t1)
}

/// 1. Delivery latency: SendMessage commit in a writer process → ExternalEvent here.
fn latency(lib: &Library, cfg: &Cfg, report: &mut Report, store_name: &str, store: &str) {
    let n = cfg.size(100, 1000, 5000);
    println!("\n-- delivery latency through {store_name} ({n} one at a time, {n} in bursts of 50)");
    let reader = open(lib, store, "reader");
    let seen = Arc::new(Seen::default());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let t = collect(&reader, seen.clone(), stop.clone());
    let mut w = Kid::spawn(&["writer", store, "writer", "reader"]);

    // The floor: a one-way pipe hop between the same two processes.
    let mut pipe = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = chat1c_host::mono_ns();
        let got: u64 = w.ask("p").parse().unwrap();
        pipe.push(got.saturating_sub(t0));
    }
    let floor = Summary::of(&pipe);
    report.add(
        "latency",
        "pipe one-way hop between two processes (the floor)",
        &floor,
        None,
    );

    for _ in 0..20 {
        let (id, ..) = parse_send(&w.ask("s warmup"));
        seen.wait_for(id, Duration::from_secs(10));
    }
    let mut one = Vec::with_capacity(n);
    let mut one_from_call = Vec::with_capacity(n);
    let mut lost = 0;
    let mut rng = stats::Rng(7);
    for _ in 0..n {
        let (id, t0, t1) = parse_send(&w.ask("s single"));
        if !seen.wait_for(id, Duration::from_secs(10)) {
            lost += 1;
            continue;
        }
        let at = seen.delivered(id).unwrap();
        one.push(at.saturating_sub(t1));
        one_from_call.push(at.saturating_sub(t0));
        // A random pause so sends do not lock into the watcher's rhythm.
        std::thread::sleep(Duration::from_micros(rng.below(3000)));
    }
    let s1 = Summary::of(&one);
    report.add(
        "latency",
        &format!("{store_name}: SendMessage returned (A) → ExternalEvent (B), one at a time"),
        &s1,
        Some(("pipe hop", &floor)),
    );
    report.add(
        "latency",
        &format!("{store_name}: SendMessage called (A) → ExternalEvent (B), one at a time"),
        &Summary::of(&one_from_call),
        Some(("pipe hop", &floor)),
    );
    let mut burst = Vec::with_capacity(n);
    for _ in 0..n / 50 {
        w.send("b 50 burst");
        let sends: Vec<(i64, u64, u64)> = (0..50).map(|_| parse_send(&w.line())).collect();
        let last = sends.last().unwrap().0;
        if !seen.wait_for(last, Duration::from_secs(10)) {
            lost += 1;
        }
        for (id, _, t1) in sends {
            if let Some(at) = seen.delivered(id) {
                burst.push(at.saturating_sub(t1));
            }
        }
        std::thread::sleep(Duration::from_millis(rng.below(20) + 5));
    }
    report.add(
        "latency",
        &format!("{store_name}: bursts of 50, each message commit → first event announcing it"),
        &Summary::of(&burst),
        Some(("pipe hop", &floor)),
    );
    if lost > 0 {
        println!("!! {lost} messages/bursts were not announced within 10 s");
    }
    // A delivery near 2 s is the watcher's safety-net poll: a lost wake-up (bug B1).
    let late = one
        .iter()
        .chain(&burst)
        .filter(|ns| **ns > 1_000_000_000)
        .count();
    report.note(format!(
        "{store_name}: {late} of {} deliveries took over 1 s (a lost wake-up, caught by the safety-net poll)",
        one.len() + burst.len()
    ));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    t.join().unwrap();
    drop(w);
    reader.destroy();
}

/// 1b. The design the add-in replaces: a reader that queries the register every second.
fn polling(cfg: &Cfg, report: &mut Report, store: &str) {
    let period = Duration::from_secs(1);
    let k = cfg.size(3, 12, 60);
    println!("\n-- the 1 s polling design ({k} messages at random times)");
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let polls: Arc<Mutex<Vec<(i64, u64)>>> = Arc::default();
    let query_ns: Arc<Mutex<Vec<u64>>> = Arc::default();
    let poller = {
        let (done, polls, query_ns, store) = (
            done.clone(),
            polls.clone(),
            query_ns.clone(),
            store.to_string(),
        );
        std::thread::spawn(move || {
            let c = rusqlite::Connection::open(&store).unwrap();
            c.busy_timeout(Duration::from_secs(3)).unwrap();
            let mut next = Instant::now();
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let t0 = chat1c_host::mono_ns();
                let max: i64 = c
                    .query_row("SELECT coalesce(max(id),0) FROM chat_register", [], |r| {
                        r.get(0)
                    })
                    .unwrap();
                let t1 = chat1c_host::mono_ns();
                query_ns.lock().unwrap().push(t1 - t0);
                polls.lock().unwrap().push((max, t1));
                next += period;
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
        })
    };
    let mut w = Kid::spawn(&["writer", store, "writer", "reader"]);
    let mut rng = stats::Rng(11);
    let mut sent = Vec::new();
    for _ in 0..k {
        std::thread::sleep(Duration::from_millis(300 + rng.below(1400)));
        sent.push(parse_send(&w.ask("s polled")));
    }
    std::thread::sleep(period + Duration::from_millis(100));
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    poller.join().unwrap();
    let polls = polls.lock().unwrap();
    let lat: Vec<u64> = sent
        .iter()
        .filter_map(|(id, _, t1)| {
            polls
                .iter()
                .find(|p| p.0 >= *id)
                .map(|p| p.1.saturating_sub(*t1))
        })
        .collect();
    let q = Summary::of(&query_ns.lock().unwrap());
    println!(
        "   formula: latency = wait for the next tick (uniform 0..T) + query; T = 1 s, query p50 {:.3} ms → p50 ≈ {:.0} ms, p99 ≈ {:.0} ms, max ≈ {:.0} ms",
        q.p50_ms(),
        500.0 + q.p50_ms(),
        990.0 + q.p50_ms(),
        1000.0 + q.max_ms()
    );
    report.note(format!(
        "1 s polling formula: p50 ≈ T/2 + q = {:.0} ms, p99 ≈ 0.99·T + q = {:.0} ms (q = query time p50 {:.3} ms)",
        500.0 + q.p50_ms(),
        990.0 + q.p50_ms(),
        q.p50_ms()
    ));
    report.add(
        "latency",
        "1 s polling reader, measured (commit → poll that sees it)",
        &Summary::of(&lat),
        None,
    );
}

/// On-CPU time of every thread of a process, in ns (schedstat is exact, unlike the
/// 10 ms ticks of /proc/<pid>/stat).
fn proc_cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| {
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
        })
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
fn idle(lib: &Library, cfg: &Cfg, report: &mut Report) {
    let n = 50;
    let secs = cfg.size(2, 10, 30);
    println!("\n-- idle: {n} objects in {n} host processes watching one store for {secs} s");
    let dir = tempdir("idle");
    let store = dir.join("chat.sqlite").display().to_string();
    {
        let mut o = open(lib, &store, "seed");
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
    std::thread::sleep(Duration::from_secs(1));
    let rss_open: u64 = pids[..n].iter().map(|p| rss_kb(*p)).sum::<u64>() / n as u64;
    // Each CLI now blocks reading its stdin, as 1C idles between events: only the
    // watcher threads can spend CPU from here on.
    let before: u64 = pids[..n].iter().map(|p| proc_cpu_ns(*p)).sum();
    let unopened_before = proc_cpu_ns(pids[n]);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let after: u64 = pids[..n].iter().map(|p| proc_cpu_ns(*p)).sum();
    let unopened = proc_cpu_ns(pids[n]) - unopened_before;
    let wall = t0.elapsed().as_nanos() as f64;
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
        "idle",
        &format!("CPU of {n} idle open objects ({n} processes), {secs} s"),
        format!("{:.1} ms CPU = {:.4} % of one core", cpu / 1e6, share),
        format!(
            "goal < 0.1 % of one core; a host process with no object open: {:.3} ms",
            unopened as f64 / 1e6
        ),
        format!("{:.2}× the goal", share / 0.1),
    );
    println!(
        "   threads per host process (first 3): {}",
        wakeups.join(", ")
    );
    report.figure(
        "idle",
        "memory per open object (RSS of an opened host process − an unopened one)",
        format!("{} KiB", rss_open.saturating_sub(rss_closed)),
        format!("unopened host process {rss_closed} KiB"),
        format!("{:.2}×", rss_open as f64 / rss_closed.max(1) as f64),
    );
    for mut c in clients {
        let _ = c.child().kill();
        let _ = c.child().wait();
    }
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

/// Starts `k` writer processes on `store` and has each send `count` messages at once.
/// Returns (messages/s over the whole span, errors, first error text).
fn parallel(role: &[&str], k: usize, count: usize, cmd: &str) -> (f64, u64, String) {
    let mut kids: Vec<Kid> = (0..k).map(|_| Kid::spawn(role)).collect();
    for (i, kid) in kids.iter_mut().enumerate() {
        kid.send(&format!(
            "{cmd} {count} topic{}",
            if k == 1 { 0 } else { i }
        ));
    }
    let (mut start, mut end, mut ok, mut errors, mut first) =
        (u64::MAX, 0u64, 0u64, 0u64, String::new());
    for kid in kids.iter_mut() {
        let l = kid.line();
        let p: Vec<&str> = l.splitn(5, ' ').collect();
        ok += p[0].parse::<u64>().unwrap();
        errors += p[1].parse::<u64>().unwrap();
        start = start.min(p[2].parse().unwrap());
        end = end.max(p[3].parse().unwrap());
        if first.is_empty() && p.len() > 4 {
            first = p[4].to_string();
        }
    }
    let rate = ok as f64 / ((end - start) as f64 / 1e9);
    (rate, errors, first)
}

/// 3. Throughput through the Native API vs raw rusqlite inserts of the same rows.
/// The add-in creates its schema and the 8 groups the writers use, so the raw floor
/// and the add-in write into the same tables.
fn seed_topics(lib: &Library, store: &str) {
    let mut o = open(lib, store, "writer");
    for t in 0..8 {
        o.call(
            "SendMessage",
            &[s(&format!("topic{t}")), s("reader"), s("first")],
        )
        .unwrap();
    }
    o.destroy();
}

fn throughput_sqlite(lib: &Library, cfg: &Cfg, report: &mut Report) {
    let count = cfg.size(400, 4_000, 20_000);
    println!("\n-- throughput: SendMessage/s (SQLite), {count} messages per process");
    let run = |k: usize, raw: bool, cmd: &str| {
        let dir = tempdir(&format!("tp{k}{raw}"));
        let store = dir.join("chat.sqlite").display().to_string();
        seed_topics(lib, &store);
        let role = if raw { "rawsqlite" } else { "writer" };
        let r = parallel(&[role, &store, "writer", "reader"], k, count / k, cmd);
        let _ = std::fs::remove_dir_all(&dir);
        r
    };
    for k in [1usize, 8] {
        let per = count / k;
        let (floor, ferr, _) = run(k, true, "n");
        let (same, serr, _) = run(k, true, "t");
        let (rate, errs, first) = run(k, false, "n");
        report.figure(
            "throughput",
            &format!("SQLite SendMessage/s, {k} process(es) × {per}"),
            format!("{rate:.0} msg/s, {errs} errors"),
            format!("raw rusqlite INSERT {floor:.0} rows/s ({ferr} busy)"),
            format!("{:.0} %", rate / floor * 100.0),
        );
        report.figure(
            "throughput",
            &format!("  the add-in's own transaction in raw rusqlite, {k} process(es)"),
            format!("{same:.0} tx/s ({serr} busy)"),
            format!("raw INSERT {floor:.0} rows/s"),
            format!(
                "{:.0} %; SendMessage = {:.0} % of it",
                same / floor * 100.0,
                rate / same * 100.0
            ),
        );
        if errs > 0 {
            println!("   first error surfaced to 1C: {first}");
        }
    }
}

/// 5. Call overhead through the vtable, and FillChat with 100 groups.
fn calls(lib: &Library, report: &mut Report) {
    println!("\n-- call overhead");
    let dir = tempdir("calls");
    let store = dir.join("chat.sqlite").display().to_string();
    let mut o = open(lib, &store, "bench");
    for g in 0..100 {
        o.call(
            "SendMessage",
            &[
                s(&format!("topic {g}")),
                s(&format!("peer{g}")),
                s("hello <b>&</b> \"quoted\""),
            ],
        )
        .unwrap();
    }
    for prop in ["IsOpen", "Version"] {
        let t0 = Instant::now();
        let mut n = 0u64;
        while t0.elapsed() < Duration::from_secs(1) {
            for _ in 0..1000 {
                o.get(prop).unwrap();
            }
            n += 1000;
        }
        let rate = n as f64 / t0.elapsed().as_secs_f64();
        report.figure(
            "calls",
            &format!("property read {prop} through the vtable"),
            format!("{rate:.0} calls/s ({:.2} µs each)", 1e6 / rate),
            "—".into(),
            "—".into(),
        );
    }
    let mut times = Vec::new();
    let mut len = 0;
    for _ in 0..200 {
        let t0 = chat1c_host::mono_ns();
        let v = o.call("FillChat", &[]).unwrap();
        times.push(chat1c_host::mono_ns() - t0);
        if let Value::Str(h) = v {
            len = h.len();
        }
    }
    let mut gg = Vec::new();
    for _ in 0..200 {
        let t0 = chat1c_host::mono_ns();
        o.call("GetGroups", &[]).unwrap();
        gg.push(chat1c_host::mono_ns() - t0);
    }
    let gs = Summary::of(&gg);
    report.add(
        "calls",
        &format!("FillChat with 100 groups ({} KiB HTML)", len / 1024),
        &Summary::of(&times),
        Some(("GetGroups of the same 100 groups", &gs)),
    );
    o.destroy();
}

/// PostgreSQL: the same latency and throughput through a PG store, with a raw INSERT floor.
fn postgres(lib: &Library, cfg: &Cfg, report: &mut Report) {
    let Some(base) = cfg.pg.clone().or_else(start_cluster) else {
        println!("\n-- PostgreSQL: skipped (no server: tests/pg/cluster.sh start failed and CHAT1C_PG_URL unset)");
        report.note("PostgreSQL: skipped, no server".into());
        return;
    };
    let db = format!("chat1c_bench_{}", std::process::id());
    psql(&base, &format!("CREATE DATABASE {db}"));
    let url = with_db(&base, &db);
    println!(
        "\n-- PostgreSQL at {}",
        with_db(&strip_password(&base), &db)
    );
    // Scale first: the 8-writer run below leaves the machine loaded for a while.
    gen::scale_pg(lib, cfg, report, &url);
    psql(&url, "DROP SCHEMA IF EXISTS chat1c CASCADE");
    latency(lib, cfg, report, "PostgreSQL", &url);
    let count = cfg.size(200, 2_000, 10_000);
    for k in [1usize, 8] {
        let per = count / k;
        psql(&url, "DROP SCHEMA IF EXISTS chat1c CASCADE");
        seed_topics(lib, &url);
        let (floor, ferr, _) = parallel(&["rawpg", &url, "writer", "reader"], k, per, "n");
        let (rate, errs, first) = parallel(&["writer", &url, "writer", "reader"], k, per, "n");
        report.figure(
            "throughput",
            &format!("PostgreSQL SendMessage/s, {k} process(es) × {per}"),
            format!("{rate:.0} msg/s, {errs} errors"),
            format!("raw INSERT loop {floor:.0} rows/s ({ferr} errors)"),
            format!("{:.0} %", rate / floor * 100.0),
        );
        if errs > 0 {
            println!("   first error surfaced to 1C: {first}");
        }
    }
    psql(&base, &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
}

fn start_cluster() -> Option<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pg/cluster.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg("start")
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    String::from_utf8(out.stdout)
        .ok()?
        .lines()
        .last()
        .map(str::to_string)
}

pub fn psql(url: &str, sql: &str) {
    let ok = Command::new("psql")
        .args(["-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "psql failed: {sql}");
}

fn with_db(base: &str, db: &str) -> String {
    let (head, query) = base.split_once('?').unwrap_or((base, ""));
    let slash = head.rfind('/').expect("URL with a database");
    let q = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{}/{db}{q}", &head[..slash])
}

fn strip_password(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(a), Some(b)) if a < b => {
            let creds = &url[a + 3..b];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{}@{}", &url[..a + 3], user, &url[b + 1..])
        }
        _ => url.to_string(),
    }
}

pub fn loadavg() -> String {
    load()
}
