//! Helpers of the reliability suite: sizes, a small RNG, and the form's pull by cursor.

use std::collections::BTreeMap;

use serde_json::Value as Json;

pub use chat1c_host::testing::ids;

/// True when the full sizes are asked for (CHAT1C_RELIABILITY_FULL=1).
pub fn full() -> bool {
    std::env::var("CHAT1C_RELIABILITY_FULL").is_ok_and(|v| v == "1")
}

/// A size from an environment variable, else the CI or full default.
pub fn size(var: &str, ci: usize, full_size: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full() { full_size } else { ci })
}

/// xorshift64*: reproducible and dependency-free; the seed is printed so a failure can be replayed.
pub struct Rng(pub u64);

impl Rng {
    pub fn seeded(var: &str) -> Rng {
        let seed = std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        println!("{var}={seed}");
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Pulls what a hint announces, as the form's ВнешнееСобытие does: by cursor for a
/// known group; for a new group, the newest page and then older pages until the start.
/// `call(name, args)` returns the method's JSON result.
pub fn pull(
    call: &mut dyn FnMut(&str, Json) -> Json,
    groups: &[i64],
    seen: &mut BTreeMap<i64, i64>,
    got: &mut Vec<i64>,
) {
    for &g in groups {
        if let Some(mut after) = seen.get(&g).copied() {
            loop {
                let page = ids(&call("GetMessages", serde_json::json!([g, after, 100])));
                let Some(last) = page.last().copied() else {
                    break;
                };
                after = last;
                got.extend(page);
            }
            seen.insert(g, after);
        } else {
            let page = ids(&call("GetMessages", serde_json::json!([g, 0, 100])));
            let (Some(first), Some(last)) = (page.first().copied(), page.last().copied()) else {
                continue;
            };
            got.extend(page);
            seen.insert(g, last);
            let mut before = first;
            loop {
                let older = ids(&call("GetHistory", serde_json::json!([g, before, 100])));
                let Some(oldest) = older.first().copied() else {
                    break;
                };
                before = oldest;
                got.extend(older);
            }
        }
    }
}

/// The hint's groups (panics on a malformed event: that is a contract failure).
pub fn hint_groups(data: &str) -> Vec<i64> {
    let d: Json = serde_json::from_str(data).expect("event data is JSON");
    d["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g.as_i64().expect("group id"))
        .collect()
}

/// A field of `/proc/<who>/io`: bytes read or written by system calls, or the calls.
#[cfg(target_os = "linux")]
pub fn io(who: &str, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{who}/io")).expect("read /proc io");
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(": ")?.parse().ok())
        .expect("an io field")
}
