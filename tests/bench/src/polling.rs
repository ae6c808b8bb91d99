//! The design the add-in replaces, the reference of BENCHMARKS.md section 1: a reader
//! that queries the register every second, measured and by formula.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::kid::Kid;
use crate::latency::parse_send;
use crate::stats::{self, Report, Summary};
use crate::Cfg;

/// 1b. The design the add-in replaces: a reader that queries the register every second.
pub fn run(cfg: &Cfg, report: &mut Report, store: &str) {
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
