//! Percentiles, the load average beside every figure, and the report.

pub struct Rng(pub u64);

impl Rng {
    /// xorshift64*: reproducible data without a dependency.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0.max(1);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Clone, Copy, Default)]
pub struct Summary {
    pub n: usize,
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
}

impl Summary {
    pub fn of(ns: &[u64]) -> Summary {
        let mut v = ns.to_vec();
        v.sort_unstable();
        let at = |q: f64| -> u64 {
            if v.is_empty() {
                0
            } else {
                v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1]
            }
        };
        Summary {
            n: v.len(),
            p50: at(0.50),
            p99: at(0.99),
            max: v.last().copied().unwrap_or(0),
        }
    }
    pub fn p50_ms(&self) -> f64 {
        self.p50 as f64 / 1e6
    }
    pub fn p99_ms(&self) -> f64 {
        self.p99 as f64 / 1e6
    }
    pub fn max_ms(&self) -> f64 {
        self.max as f64 / 1e6
    }
    pub fn text(&self) -> String {
        format!(
            "p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms (n={})",
            self.p50_ms(),
            self.p99_ms(),
            self.max_ms(),
            self.n
        )
    }
}

/// The 1-minute load average now (the machine is shared: read every figure beside it).
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// CPU time every core spent busy since boot, in ns (/proc/stat counts in 10 ms ticks).
pub fn machine_busy_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: all but idle and iowait.
    let busy: u64 = ticks.iter().take(8).sum::<u64>()
        - ticks.get(3).copied().unwrap_or(0)
        - ticks.get(4).copied().unwrap_or(0);
    busy * 10_000_000
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("").to_string())
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(String::new(), |kb| format!("{} GiB RAM", kb / 1024 / 1024));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpu}, {cores} cores, {mem}, Linux {}", kernel.trim())
}

struct Row {
    section: String,
    name: String,
    value: String,
    reference: String,
    ratio: String,
    load: String,
}

#[derive(Default)]
pub struct Report {
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Report {
    /// A latency-like figure with an optional reference distribution (ratio of p50s).
    pub fn add(
        &mut self,
        section: &str,
        name: &str,
        s: &Summary,
        reference: Option<(&str, &Summary)>,
    ) {
        let (r, ratio) = match reference {
            Some((what, f)) => (
                format!("{what}: p50 {:.3} ms, p99 {:.3} ms", f.p50_ms(), f.p99_ms()),
                format!(
                    "p50 {:.1}×, p99 {:.1}×",
                    s.p50 as f64 / f.p50.max(1) as f64,
                    s.p99 as f64 / f.p99.max(1) as f64
                ),
            ),
            None => ("—".into(), "—".into()),
        };
        self.figure(section, name, s.text(), r, ratio);
    }

    pub fn figure(
        &mut self,
        section: &str,
        name: &str,
        value: String,
        reference: String,
        ratio: String,
    ) {
        let row = Row {
            section: section.into(),
            name: name.into(),
            value,
            reference,
            ratio,
            load: load(),
        };
        println!(
            "   {}: {} | ref: {} | ratio: {} | load {}",
            row.name, row.value, row.reference, row.ratio, row.load
        );
        self.rows.push(row);
    }

    pub fn note(&mut self, text: String) {
        println!("   note: {text}");
        self.notes.push(text);
    }

    pub fn print_markdown(&self) {
        println!("| section | figure | value | reference | ratio | load |");
        println!("|---|---|---|---|---|---|");
        for r in &self.rows {
            println!(
                "| {} | {} | {} | {} | {} | {} |",
                r.section, r.name, r.value, r.reference, r.ratio, r.load
            );
        }
        for n in &self.notes {
            println!("\n- {n}");
        }
    }
}
