//! The demo behind `./build.sh demo`: two simulated 1C clients (two host processes,
//! each loading the add-in as 1C does) chat over one SQLite store in a temp folder.
//! Each prints the events it receives, what it pulled, and the delivery latency.
//!
//! cargo run -p chat1c-host --example demo [-- --lib PATH --cli PATH]

use std::path::{Path, PathBuf};

use chat1c_host::Client;
use serde_json::{json, Value};

fn arg(name: &str) -> Option<PathBuf> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
}

struct Person {
    name: &'static str,
    client: Client,
    /// Last message id pulled per group: the cursor the form keeps.
    seen: std::collections::BTreeMap<i64, i64>,
}

impl Person {
    fn start(name: &'static str, store: &str, lib: &Path, cli: &Path) -> Person {
        let lang = if name == "Анна" { "ru" } else { "en" };
        let mut client = Client::start_with(cli, lib, &["--lang", lang]);
        let r = client.call("Open", json!([store, name]));
        assert_eq!(r["ok"], true, "Open: {r}");
        Person {
            name,
            client,
            seen: Default::default(),
        }
    }

    fn send(&mut self, topic: &str, to: &str, text: &str) -> (i64, u64) {
        // The form pulls what its own sends announced before the next round.
        let r = self.client.cmd(json!({"cmd": "pump"}));
        assert_eq!(r["ok"], true, "pump: {r}");
        for e in std::mem::take(&mut self.client.events) {
            let data: Value = serde_json::from_str(e["event"]["data"].as_str().unwrap_or("{}"))
                .unwrap_or_default();
            self.pull(&data);
        }
        let r = self.client.call("SendMessage", json!([topic, to, text]));
        assert_eq!(r["ok"], true, "SendMessage: {r}");
        let id = r["value"].as_i64().unwrap_or(0);
        println!(
            "[{}] sent #{id} to {:?} in {topic:?}: {text}",
            self.name,
            if to.is_empty() { "everyone" } else { to }
        );
        (id, r["mono_ns"].as_u64().unwrap_or(0))
    }

    /// Waits for the event announcing message `id`, pulling by cursor after every
    /// event as the form's handler does; returns the delivery latency in ms.
    fn receive(&mut self, id: i64, sent_at: u64) -> f64 {
        loop {
            let before = self.client.events.len();
            let r = self.client.cmd(json!({"cmd": "wait_event", "ms": 5000}));
            assert_eq!(r["ok"], true, "wait_event: {r}");
            let Some(event) = self.client.events.get(before).cloned() else {
                panic!("[{}] no event within 5 s", self.name);
            };
            let e = &event["event"];
            let data: Value =
                serde_json::from_str(e["data"].as_str().unwrap_or("{}")).unwrap_or_default();
            // From the sender's call returning; 0 when the event came even sooner.
            let latency = (e["mono_ns"].as_u64().unwrap_or(0).saturating_sub(sent_at)) as f64 / 1e6;
            println!(
                "[{}] ExternalEvent {} {} ({latency:.3} ms)",
                self.name, e["message"], e["data"]
            );
            self.pull(&data);
            if data["cursor"].as_i64().unwrap_or(0) >= id {
                return latency;
            }
        }
    }

    fn pull(&mut self, hint: &Value) {
        for g in hint["groups"].as_array().cloned().unwrap_or_default() {
            let g = g.as_i64().unwrap_or(0);
            let after = self.seen.get(&g).copied().unwrap_or(0);
            let r = self.client.call("GetMessages", json!([g, after, 100]));
            let list: Value =
                serde_json::from_str(r["value"].as_str().unwrap_or("[]")).unwrap_or_default();
            for m in list.as_array().cloned().unwrap_or_default() {
                let mine = m["publisher"] == self.name;
                if !mine {
                    println!(
                        "[{}]   pulled #{} from {}: {}",
                        self.name, m["id"], m["publisher"], m["text"]
                    );
                }
                self.seen.insert(g, m["id"].as_i64().unwrap_or(after));
            }
        }
    }
}

fn main() {
    let lib = arg("--lib").unwrap_or_else(chat1c_host::addin_path);
    let cli = arg("--cli").unwrap_or_else(chat1c_host::cli_path);
    let dir = std::env::temp_dir().join(format!("chat1c-demo-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let store = dir.join("chat.sqlite").display().to_string();
    println!("store: {store}\nadd-in: {}\n", lib.display());

    let mut anna = Person::start("Анна", &store, &lib, &cli);
    let mut bob = Person::start("Bob", &store, &lib, &cli);
    let mut latencies = Vec::new();

    let (id, t) = anna.send("Поставка №42", "Bob", "Привет! Когда отгрузка?");
    latencies.push(bob.receive(id, t));
    let (id, t) = bob.send("Поставка №42", "Анна", "Tomorrow at 10:00");
    latencies.push(anna.receive(id, t));
    let (id, t) = bob.send("News", "", "A public topic: everyone sees it");
    latencies.push(anna.receive(id, t));

    println!(
        "\n[Анна] ПолучитьГруппы(): {}",
        anna.client.call("ПолучитьГруппы", json!([]))["value"]
            .as_str()
            .unwrap_or("")
    );
    let err = anna
        .client
        .call("ОтправитьСообщение", json!(["Тема", "", "   "]));
    println!(
        "[Анна] an empty message is refused in her language: {}",
        err["error"]
    );

    println!("\n20 round trips:");
    for n in 0..10 {
        let (id, t) = anna.send("Поставка №42", "Bob", &format!("ping {n}"));
        latencies.push(bob.receive(id, t));
        let (id, t) = bob.send("Поставка №42", "Анна", &format!("pong {n}"));
        latencies.push(anna.receive(id, t));
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    println!(
        "\ndelivery latency over {} messages (commit in one process -> ExternalEvent in the other): p50 {:.3} ms, max {:.3} ms",
        latencies.len(),
        pct(0.5),
        pct(1.0)
    );
    for p in [anna, bob] {
        let name = p.name;
        let fin = p.client.finish();
        println!(
            "[{name}] closed: violations {} leaks {}",
            fin["violations"], fin["leaks"]
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
