//! Delivery latency (BENCHMARKS.md section 1): SendMessage committed in a writer process
//! → ExternalEvent in this one, against the floor of a pipe hop between them.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use chat1c_host::{Library, Object};

use crate::kid::Kid;
use crate::stats::{self, Report, Summary};
use crate::{open, Cfg};

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

/// A writer's answer to a send: (message id, mono_ns before the call, mono_ns after it).
pub fn parse_send(line: &str) -> (i64, u64, u64) {
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
pub fn run(lib: &Library, cfg: &Cfg, report: &mut Report, store_name: &str, store: &str) {
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
    // A delivery near 2 s is the watcher's safety-net poll: a lost wake-up.
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
