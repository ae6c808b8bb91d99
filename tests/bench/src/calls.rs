//! Call overhead (BENCHMARKS.md section 5): property reads through the vtable, and
//! FillChat with 100 groups beside GetGroups of the same groups.

use std::time::{Duration, Instant};

use chat1c_host::testing::s;
use chat1c_host::{Library, Value};

use crate::stats::{Report, Summary};
use crate::{open, tempdir};

pub fn run(lib: &Library, report: &mut Report) {
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
