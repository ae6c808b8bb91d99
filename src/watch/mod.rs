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
use std::time::Duration;

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
const JOIN_WAIT: Duration = Duration::from_millis(50);

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
        let _ = self.shared.signal.send(Signal::Wake);
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
            let _ = w.shared.signal.send(Signal::Stop);
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
    let mut watchers = lock(&WATCHERS);
    if !watchers.contains_key(key) {
        let (store, _) = store::open(location)?;
        watchers.insert(key.to_string(), start(store, plan.clone()));
    }
    let Some(w) = watchers.get(key) else {
        return Err(StoreError::Other("watcher vanished".into()));
    };
    lock(&w.shared.subscribers).push(subscriber.clone());
    let _ = w.shared.signal.send(Signal::Wake);
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
    });
    let thread_shared = shared.clone();
    let thread = std::thread::Builder::new()
        .name("chat1c-watch".into())
        .spawn(move || {
            // The file watcher lives as long as this thread; it only sends wake-ups.
            let _files = plan.dir.as_deref().and_then(|dir| files::watch(dir, tx));
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

fn run(mut store: Box<dyn Store>, plan: &WatchPlan, shared: &Shared, rx: &Receiver<Signal>) {
    let mut progress: HashMap<u64, Progress> = HashMap::new();
    let mut token = store.change_token().ok();
    let mut retry = RETRY_FIRST;
    loop {
        let owed = progress.values().any(|p| p.owed.is_some());
        let wait = if owed { retry } else { plan.poll };
        match rx.recv_timeout(wait) {
            Ok(Signal::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            Ok(Signal::Wake) => {}
            Err(RecvTimeoutError::Timeout) => {
                // The slow poll: a changed data_version means another process committed.
                let now = store.change_token().ok();
                if now == token && !owed {
                    continue;
                }
                token = now;
            }
        }
        // Coalesce a burst of wake-ups into one round.
        while let Ok(signal) = rx.try_recv() {
            if let Signal::Stop = signal {
                return;
            }
        }
        let subscribers: Vec<Arc<Subscriber>> = lock(&shared.subscribers).clone();
        progress.retain(|id, _| subscribers.iter().any(|s| s.id == *id));
        let mut refused = false;
        for sub in &subscribers {
            let p = progress.entry(sub.id).or_insert_with(|| Progress {
                scanned: sub.start_cursor,
                owed: None,
            });
            if let Ok(news) = store.news(&sub.user_key, p.scanned) {
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
