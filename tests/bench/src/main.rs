//! chat1c benchmarks: every figure goes through the real add-in library and the
//! 1C-faithful host (chat1c_host), cross-process where it matters, and is printed
//! beside its reference, the ratio and the machine's load average at that moment.
//!
//!   chat1c-bench [--smoke|--full] [--only latency,idle,throughput,scale,calls,fanout,pg,pgwrite,pgfanout,pgidle]
//!                [--pg URL] [--readers N]
//!
//! Each section is a module (`latency`, `polling`, `idle`, `throughput`, `scale`, `calls`,
//! `fanout`, `pg`, `pgfanout`); child processes are this same binary with `--role ...` (see `roles`, `kid`).

mod calls;
mod fanout;
mod idle;
mod kid;
mod latency;
mod pg;
mod polling;
mod roles;
mod scale;
mod stats;
mod throughput;
mod users;

use std::path::PathBuf;
use std::time::Instant;

use chat1c_host::testing::s;
use chat1c_host::{Library, Object, Options};
use stats::Report;

pub struct Cfg {
    full: bool,
    /// Tiny sizes: checks that every section runs (CI), figures not meaningful.
    smoke: bool,
    only: Vec<String>,
    pg: Option<String>,
    /// Reader processes of the fan-out section (else by size).
    readers: Option<usize>,
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
        readers: None,
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
            "--readers" => cfg.readers = it.next().and_then(|n| n.parse().ok()),
            other => {
                eprintln!("unknown argument {other}\nusage: chat1c-bench [--smoke|--full] [--only latency,idle,throughput,scale,calls,fanout,pg,pgwrite,pgfanout,pgidle] [--pg URL] [--readers N]");
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
        latency::run(&lib, &cfg, &mut report, "SQLite", &store);
        polling::run(&cfg, &mut report, &store);
    }
    if cfg.wants("idle") {
        idle::run(&lib, &cfg, &mut report);
    }
    if cfg.wants("throughput") {
        throughput::sqlite(&lib, &cfg, &mut report);
    }
    if cfg.wants("scale") {
        scale::sqlite(&lib, &cfg, &mut report);
    }
    if cfg.wants("calls") {
        calls::run(&lib, &mut report);
    }
    if cfg.wants("fanout") {
        fanout::run(&lib, &cfg, &mut report);
    }
    if cfg.wants("pg") || cfg.wants("pgwrite") {
        // pgwrite: latency and throughput only, without the scale store's 3 minutes.
        pg::run(&lib, &cfg, &mut report, cfg.wants("pg"));
    }
    if cfg.wants("pgfanout") {
        pg::fanout(&cfg, &mut report);
    }
    if cfg.wants("pgidle") {
        pg::idle(&lib, &cfg, &mut report);
    }
    println!(
        "\n==== summary (markdown) — total {:.0} s ====",
        started.elapsed().as_secs_f64()
    );
    report.print_markdown();
    let _ = std::fs::remove_dir_all(scratch_root());
}

/// The run's scratch folder under /tmp (removed at the end of a run).
pub fn scratch_root() -> PathBuf {
    std::env::temp_dir().join(format!("chat1c-bench-{}", std::process::id()))
}

/// A fresh folder for one section's store.
pub fn tempdir(name: &str) -> PathBuf {
    let dir = scratch_root().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A Chat object (English) opened on `store` as `user`.
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
