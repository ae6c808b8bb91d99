//! Shutdown races: create / Open / Close / Done cycles while another process sends.
//! No call into the connection after Done (the host records it as a violation), no
//! leak; the slowest Close and Done are printed.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;
use crate::util::size;

#[test]
fn open_close_done_cycles_while_another_process_sends() {
    let store = TempStore::new();
    // A PostgreSQL Open logs in twice (SCRAM, slow in a debug build): fewer cycles there.
    let cycles = if store.is_pg() {
        size("CHAT1C_SHUTDOWN_CYCLES", 100, 1000)
    } else {
        size("CHAT1C_SHUTDOWN_CYCLES", 1000, 1000)
    };
    let lib = library();
    let loc = store.location();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let (stop, loc) = (stop.clone(), loc.clone());
        std::thread::spawn(move || {
            let mut c = Client::opened(&[], &loc, "sender");
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r = c.call("SendMessage", json!(["t", "", format!("{n}")]));
                assert_eq!(r["ok"], true, "{r}");
                n += 1;
            }
            (n, c.finish())
        })
    };
    let (mut max_close, mut max_done) = (Duration::ZERO, Duration::ZERO);
    let mut events = 0;
    let mut objects = Vec::with_capacity(cycles);
    for k in 0..cycles {
        let mut o = create(&lib, "en");
        objects.push(o.id());
        o.events().set_depth(1 + (k % 3) as i32);
        o.call("Open", &[s(&loc), s(&format!("u{}", k % 7))])
            .expect("Open");
        // Let some cycles receive (or be refused) events before closing.
        if k % 4 == 0 {
            // A PostgreSQL watcher needs a few ms more to LISTEN and make its first round.
            let ms = if store.is_pg() { 30 } else { 3 };
            events += o.events().wait(Duration::from_millis(ms)).map_or(0, |_| 1);
        }
        let t = Instant::now();
        if k % 2 == 0 {
            o.call("Close", &[]).expect("Close");
        }
        max_close = max_close.max(t.elapsed());
        let t = Instant::now();
        let d = o.destroy();
        max_done = max_done.max(t.elapsed());
        assert_eq!(d.leaks, 0, "cycle {k}: leaked blocks");
        assert!(d.violations.is_empty(), "cycle {k}: {:?}", d.violations);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (sent, fin) = sender.join().unwrap();
    assert_eq!(fin["violations"], json!([]), "{fin}");
    // Late watcher threads had time to misbehave by now: look again.
    std::thread::sleep(Duration::from_millis(200));
    let late: Vec<String> = objects
        .iter()
        .flat_map(|id| chat1c_host::violations_of(*id))
        .collect();
    assert!(late.is_empty(), "{late:?}");
    println!(
        "{cycles} cycles while another process sent {sent} messages; {events} events received; \
         max Close {:.3} ms, max Done+DestroyObject {:.3} ms",
        max_close.as_secs_f64() * 1e3,
        max_done.as_secs_f64() * 1e3
    );
}
