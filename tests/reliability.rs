//! The reliability suite: hostile input, concurrency, crash safety, shutdown
//! races, store faults, security, wake-ups under attack and the WAL's checkpoints, all
//! through the 1C-faithful host. Sized for CI;
//! `CHAT1C_RELIABILITY_FULL=1` runs the full sizes (8 × 2,000 messages, 10,000 hostile calls).
//! Timing is printed, never asserted.

mod common;

sqlite_helper!();

#[path = "reliability/concurrency.rs"]
mod concurrency;
#[path = "reliability/crash.rs"]
mod crash;
#[path = "reliability/faults.rs"]
mod faults;
#[path = "reliability/hostile.rs"]
mod hostile;
#[path = "reliability/security.rs"]
mod security;
#[path = "reliability/shutdown.rs"]
mod shutdown;
#[path = "reliability/util.rs"]
mod util;
#[path = "reliability/wakeups.rs"]
mod wakeups;
#[path = "reliability/wal.rs"]
mod wal;
