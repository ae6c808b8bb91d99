//! Throughput (BENCHMARKS.md section 3): SendMessage/s through the Native API from one
//! and from 8 writer processes, against raw inserts of the same rows.

use chat1c_host::testing::s;
use chat1c_host::Library;

use crate::kid::Kid;
use crate::pg::psql;
use crate::stats::Report;
use crate::{open, tempdir, Cfg};

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

/// SQLite: SendMessage against raw rusqlite INSERTs and the add-in's own transaction.
pub fn sqlite(lib: &Library, cfg: &Cfg, report: &mut Report) {
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

/// PostgreSQL at `url`: SendMessage against a raw INSERT loop.
pub fn postgres(lib: &Library, cfg: &Cfg, report: &mut Report, url: &str) {
    let count = cfg.size(200, 2_000, 10_000);
    for k in [1usize, 8] {
        let per = count / k;
        psql(url, "DROP SCHEMA IF EXISTS chat1c, chat1c_private CASCADE");
        seed_topics(lib, url);
        let (floor, ferr, _) = parallel(&["rawpg", url, "writer", "reader"], k, per, "n");
        let (rate, errs, first) = parallel(&["writer", url, "writer", "reader"], k, per, "n");
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
}
