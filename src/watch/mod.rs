//! The watcher: one background thread per store per process, shared by every Chat
//! object open on that store. It notices commits from any process (file-change
//! notifications, plus a slow poll where those cannot be trusted) and sends each
//! subscriber a small coalesced hint: `{"cursor":N,"groups":[..]}`. A hint that 1C
//! refuses (event queue full) stays owed and is retried, refreshed, with backoff.

mod files;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender};
use once_cell::sync::Lazy;

use crate::store::{self, Store, StoreError, WatchPlan};

/// The event's message name, as the form's ВнешнееСобытие sees it.
pub const EVENT_NAME: &str = "NewMessages";

/// Where hints go: the 1C connection of one Chat object.
pub trait EventSink: Send + Sync {
    /// Raises the event; false when 1C refused it (queue full) or the object is gone.
    fn raise(&self, message: &str, data: &str) -> bool;
}

/// First and longest wait before re-offering a refused hint.
const RETRY_FIRST: Duration = Duration::from_millis(5);
const RETRY_MAX: Duration = Duration::from_millis(500);
/// How long Close/Done waits for the thread of the store's last subscriber to end.
/// Poll period when the store's folder cannot be watched for changes.
const POLL_WITHOUT_EVENTS: Duration = Duration::from_millis(300);
const JOIN_WAIT: Duration = Duration::from_millis(5);

enum Signal {
    /// Something may have changed (file event, a send in this process, a new subscriber).
    Wake,
    Stop,
}

struct Subscriber {
    id: u64,
    user_key: String,
    /// Emitting happens only under this lock; None once the subscriber has left.
    sink: Mutex<Option<Arc<dyn EventSink>>>,
    start_cursor: i64,
}

struct Shared {
    subscribers: Mutex<Vec<Arc<Subscriber>>>,
    signal: Sender<Signal>,
    /// Ends the store's own wait (PostgreSQL LISTEN) so a signal is seen at once.
    interrupt: Option<Box<dyn Fn() + Send + Sync>>,
}

impl Shared {
    fn send(&self, signal: Signal) {
        let _ = self.signal.send(signal);
        if let Some(interrupt) = &self.interrupt {
            interrupt();
        }
    }
}

struct Watcher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    done: Receiver<()>,
}

static WATCHERS: Lazy<Mutex<HashMap<String, Watcher>>> = Lazy::new(|| Mutex::new(HashMap::new()));
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not stop the watcher: the data behind these locks stays valid.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A Chat object's registration with the watcher of its store. Dropping it (Close,
/// Done) guarantees that no event is raised for it afterwards.
pub struct Subscription {
    key: String,
    subscriber: Arc<Subscriber>,
    shared: Arc<Shared>,
}

impl Subscription {
    /// Wakes the watcher at once (after a send from this process).
    pub fn poke(&self) {
        self.shared.send(Signal::Wake);
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // Taking the sink under its lock waits out an event being raised right now.
        lock(&self.subscriber.sink).take();
        lock(&self.shared.subscribers).retain(|s| s.id != self.subscriber.id);
        let finished = {
            let mut watchers = lock(&WATCHERS);
            let last = watchers.get(&self.key).is_some_and(|w| {
                Arc::ptr_eq(&w.shared, &self.shared) && lock(&w.shared.subscribers).is_empty()
            });
            if last {
                watchers.remove(&self.key)
            } else {
                None
            }
        };
        if let Some(mut w) = finished {
            w.shared.send(Signal::Stop);
            // Join when the thread ends promptly; otherwise let it finish on its own
            // (it can no longer reach any subscriber) rather than block 1C.
            if w.done.recv_timeout(JOIN_WAIT).is_ok() {
                if let Some(t) = w.thread.take() {
                    let _ = t.join();
                }
            }
        }
    }
}

/// Subscribes a Chat object to new messages visible to `user_key` after `cursor`.
pub fn subscribe(
    location: &str,
    key: &str,
    plan: &WatchPlan,
    user_key: &str,
    cursor: i64,
    sink: Arc<dyn EventSink>,
) -> Result<Subscription, StoreError> {
    let subscriber = Arc::new(Subscriber {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        user_key: user_key.to_string(),
        sink: Mutex::new(Some(sink)),
        start_cursor: cursor,
    });
    // The watcher's own connection is opened outside the lock: a slow server must not
    // hold up Close/Done of other objects in this process.
    let fresh = if lock(&WATCHERS).contains_key(key) {
        None
    } else {
        Some(store::open(location)?.0)
    };
    let mut watchers = lock(&WATCHERS);
    if let Some(store) = fresh {
        if !watchers.contains_key(key) {
            watchers.insert(key.to_string(), start(store, plan.clone()));
        }
    }
    let w = match watchers.get(key) {
        Some(w) => w,
        None => {
            // Its last subscriber left between the two looks: start one now.
            drop(watchers);
            let store = store::open(location)?.0;
            watchers = lock(&WATCHERS);
            watchers
                .entry(key.to_string())
                .or_insert_with(|| start(store, plan.clone()))
        }
    };
    lock(&w.shared.subscribers).push(subscriber.clone());
    w.shared.send(Signal::Wake);
    Ok(Subscription {
        key: key.to_string(),
        subscriber,
        shared: w.shared.clone(),
    })
}

fn start(store: Box<dyn Store>, plan: WatchPlan) -> Watcher {
    let (tx, rx) = unbounded();
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    let shared = Arc::new(Shared {
        subscribers: Mutex::new(Vec::new()),
        signal: tx.clone(),
        interrupt: store.interrupter(),
    });
    let thread_shared = shared.clone();
    let thread = std::thread::Builder::new()
        .name("chat1c-watch".into())
        .spawn(move || {
            // The file watcher lives as long as this thread; it only sends wake-ups.
            let events = plan.dir.as_deref().and_then(|dir| files::watch(dir, tx));
            let mut plan = plan;
            if plan.dir.is_some() && events.is_none() {
                // No file events after all: the poll has to carry the latency.
                plan.poll = plan.poll.min(POLL_WITHOUT_EVENTS);
            }
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run(store, &plan, &thread_shared, &rx)
            }));
            let _ = done_tx.send(());
        })
        .ok();
    Watcher {
        shared,
        thread,
        done: done_rx,
    }
}

/// Per-subscriber progress, owned by the watcher thread.
#[derive(Default)]
struct Progress {
    /// Every id up to this one has been examined for the subscriber.
    scanned: i64,
    /// A hint not yet accepted by 1C: the highest visible id and its groups.
    owed: Option<(i64, BTreeSet<i64>)>,
}

/// Backoff between reconnection attempts of a listening store (server restarts).
const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// What ended a wait: a possible change, the end, or nothing.
enum Woken {
    Change,
    Stop,
    Idle,
}

/// Waits for a change: on the store's own notifications when it listens
/// (PostgreSQL), else on the channel fed by file events and local sends.
fn wait(
    store: &mut dyn Store,
    listening: &mut bool,
    rx: &Receiver<Signal>,
    wait: Duration,
) -> Woken {
    if *listening {
        let woken = match store.wait_change(wait) {
            Ok(true) => Woken::Change,
            Ok(false) => Woken::Idle,
            Err(_) => {
                // The connection dropped: reconnect with backoff, then catch up by cursor.
                let mut pause = Duration::from_millis(100);
                loop {
                    if let Ok(Signal::Stop) = rx.recv_timeout(pause) {
                        return Woken::Stop;
                    }
                    if store.reconnect().is_ok() && store.listen().is_ok() {
                        break Woken::Change;
                    }
                    pause = (pause * 2).min(RECONNECT_MAX);
                }
            }
        };
        return match rx.try_recv() {
            Ok(Signal::Stop) => Woken::Stop,
            Ok(Signal::Wake) => Woken::Change,
            Err(_) => woken,
        };
    }
    match rx.recv_timeout(wait) {
        Ok(Signal::Stop) | Err(RecvTimeoutError::Disconnected) => Woken::Stop,
        Ok(Signal::Wake) => Woken::Change,
        Err(RecvTimeoutError::Timeout) => Woken::Idle,
    }
}

/// Re-checks after a wake-up that found nothing: a file event can arrive before the
/// commit it belongs to is visible (WAL frames are written before the index moves;
/// a loaded machine can deschedule the writer in between).
const SETTLE: [Duration; 4] = [
    Duration::from_millis(2),
    Duration::from_millis(10),
    Duration::from_millis(50),
    Duration::from_millis(250),
];

/// Least time between two rounds. A stream of commits (each with several file events)
/// is then read in at most one round per gap instead of one per wake-up, so a busy
/// sender does not spend a second core re-reading the store; a lone message after a
/// quiet spell is still read at once.
const MIN_ROUND_GAP: Duration = Duration::from_millis(1);

/// Sleeps until `until` (at most [`MIN_ROUND_GAP`]): wake-ups sent meanwhile wait in
/// the channel, so a stream of sends costs the sender no thread switch per message.
/// A Stop sent meanwhile is taken by the drain that follows.
fn hold_until(until: Instant) {
    if let Some(left) = until.checked_duration_since(Instant::now()) {
        std::thread::sleep(left);
    }
}

fn run(mut store: Box<dyn Store>, plan: &WatchPlan, shared: &Shared, rx: &Receiver<Signal>) {
    let mut progress: HashMap<u64, Progress> = HashMap::new();
    let mut listening = store.listen().unwrap_or(false);
    let mut token = store.change_token().ok();
    let mut seen = store.latest_id().unwrap_or(0);
    let mut retry = RETRY_FIRST;
    let mut settle = SETTLE.len();
    let mut last_round = Instant::now()
        .checked_sub(MIN_ROUND_GAP)
        .unwrap_or_else(Instant::now);
    loop {
        let owed = progress.values().any(|p| p.owed.is_some());
        let period = match SETTLE.get(settle) {
            Some(d) => *d,
            None if owed => retry,
            None => plan.poll,
        };
        let woken = wait(store.as_mut(), &mut listening, rx, period);
        let settling = settle < SETTLE.len();
        match woken {
            Woken::Stop => return,
            Woken::Change => {}
            Woken::Idle if settling || owed => {}
            Woken::Idle => {
                // The slow poll: a changed token means another process committed.
                let now = store.change_token().ok();
                if now == token {
                    continue;
                }
                token = now;
            }
        }
        let mut woke = matches!(woken, Woken::Change);
        if woke {
            hold_until(last_round + MIN_ROUND_GAP);
        }
        // Coalesce a burst of wake-ups into one round (a wake-up taken here counts too).
        while let Ok(signal) = rx.try_recv() {
            match signal {
                Signal::Stop => return,
                Signal::Wake => woke = true,
            }
        }
        last_round = Instant::now();
        let Ok(latest) = store.latest_id() else {
            continue;
        };
        let subscribers: Vec<Arc<Subscriber>> = lock(&shared.subscribers).clone();
        progress.retain(|id, _| subscribers.iter().any(|s| s.id == *id));
        let newcomer = subscribers.iter().any(|s| !progress.contains_key(&s.id));
        if latest == seen && !owed && !newcomer {
            // Nothing visible yet: a fresh wake-up restarts the settle checks.
            settle = if woke {
                0
            } else if settling {
                settle + 1
            } else {
                SETTLE.len()
            };
            continue;
        }
        settle = SETTLE.len();
        seen = latest;
        let mut refused = false;
        for sub in &subscribers {
            let p = progress.entry(sub.id).or_insert_with(|| Progress {
                scanned: sub.start_cursor,
                owed: None,
            });
            if let Ok(news) = store.news(&sub.user_key, p.scanned, latest) {
                p.scanned = news.scanned;
                if !news.groups.is_empty() {
                    let owed = p.owed.get_or_insert_with(|| (0, BTreeSet::new()));
                    owed.0 = owed.0.max(news.cursor);
                    owed.1.extend(news.groups);
                }
            }
            if let Some((cursor, groups)) = &p.owed {
                let data = serde_json::json!({ "cursor": cursor, "groups": groups }).to_string();
                let accepted = match lock(&sub.sink).as_ref() {
                    Some(sink) => sink.raise(EVENT_NAME, &data),
                    None => true, // gone: nothing is owed to it any more
                };
                if accepted {
                    p.owed = None;
                } else {
                    refused = true;
                }
            }
        }
        retry = if refused {
            (retry * 2).min(RETRY_MAX)
        } else {
            RETRY_FIRST
        };
    }
}
