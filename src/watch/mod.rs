//! The watcher: one background thread per store per process, shared by every Chat
//! object open on that store. It notices commits from any process (file-change
//! notifications, LISTEN on PostgreSQL, plus a slow poll where those cannot be
//! trusted) and runs [`round::Rounds`], which sends each subscriber small coalesced
//! hints. This file holds the registry of watchers, subscriptions and the thread.

mod files;
mod round;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver, Sender};
use once_cell::sync::Lazy;

use crate::store::{self, Feed, StoreError, Viewer, WatchPlan};
use files::Files;
use round::Rounds;

/// The event's message name, as the form's ВнешнееСобытие sees it.
pub const EVENT_NAME: &str = "NewMessages";

/// Where hints go: the 1C connection of one Chat object.
pub trait EventSink: Send + Sync {
    /// Raises the event; false when 1C refused it (queue full) or the object is gone.
    fn raise(&self, message: &str, data: &str) -> bool;
}

/// Poll period when the store's folder cannot be watched for changes.
const POLL_WITHOUT_EVENTS: Duration = Duration::from_millis(300);
/// How long Close/Done waits for the thread of the store's last subscriber to end.
const JOIN_WAIT: Duration = Duration::from_millis(5);
/// Backoff between reconnection attempts of a listening store (server restarts).
const RECONNECT_MAX: Duration = Duration::from_secs(5);

enum Signal {
    /// Something may have changed (a new subscriber).
    Wake,
    /// A file of the store was written (off Linux: notify's thread).
    #[cfg_attr(target_os = "linux", allow(dead_code))]
    Written,
    /// This process committed a change others must hear of: mark it (see `files.rs`).
    Committed,
    Stop,
}

/// The changes an object made itself, so that it is not hinted about them.
#[derive(Default)]
struct OwnChanges {
    /// A change is being written: its revision is not known yet.
    writing: bool,
    /// (revision, group) of committed changes not yet passed by the watcher.
    changes: Vec<(i64, i64)>,
}

impl OwnChanges {
    /// Per group, how many own changes have a revision in (`after`, `up_to`]; every
    /// change up to `up_to` is forgotten.
    fn take(&mut self, after: i64, up_to: i64) -> BTreeMap<i64, i64> {
        let mut counts = BTreeMap::new();
        self.changes.retain(|&(rev, group)| {
            if rev > after && rev <= up_to {
                *counts.entry(group).or_insert(0) += 1;
            }
            rev > up_to
        });
        counts
    }
}

struct Subscriber {
    id: u64,
    /// Whose changes it may see, as the store knows them.
    viewer: Viewer,
    /// Emitting happens only under this lock; None once the subscriber has left.
    sink: Mutex<Option<Arc<dyn EventSink>>>,
    /// The revision the object had read when it subscribed.
    start: i64,
    own: Mutex<OwnChanges>,
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
    /// Announces a change this object is about to write; see [`OwnChange`].
    pub fn own_change(&self) -> OwnChange<'_> {
        lock(&self.subscriber.own).writing = true;
        OwnChange {
            subscription: self,
            committed: std::cell::Cell::new(false),
        }
    }
}

/// A change the object is writing. While it lives, the watcher holds back this
/// object's hints; [`OwnChange::committed`] records the change so the object is not
/// hinted about it. Dropping it wakes the watcher at once.
pub struct OwnChange<'a> {
    subscription: &'a Subscription,
    committed: std::cell::Cell<bool>,
}

impl OwnChange<'_> {
    pub fn committed(&self, rev: i64, group: i64) {
        lock(&self.subscription.subscriber.own)
            .changes
            .push((rev, group));
        self.committed.set(true);
    }
}

impl Drop for OwnChange<'_> {
    fn drop(&mut self) {
        lock(&self.subscription.subscriber.own).writing = false;
        let signal = if self.committed.get() {
            Signal::Committed
        } else {
            Signal::Wake
        };
        self.subscription.shared.send(signal);
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

/// Subscribes a Chat object to the changes visible to `viewer` after revision `start`.
pub fn subscribe(
    location: &str,
    key: &str,
    plan: &WatchPlan,
    viewer: Viewer,
    start: i64,
    sink: Arc<dyn EventSink>,
) -> Result<Subscription, StoreError> {
    let subscriber = Arc::new(Subscriber {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        viewer,
        sink: Mutex::new(Some(sink)),
        start,
        own: Mutex::new(OwnChanges::default()),
    });
    // The watcher's own connection is opened outside the lock: a slow server must not
    // hold up Close/Done of other objects in this process.
    let fresh = if lock(&WATCHERS).contains_key(key) {
        None
    } else {
        Some(store::open_feed(location)?)
    };
    let mut watchers = lock(&WATCHERS);
    if let Some(feed) = fresh {
        if !watchers.contains_key(key) {
            watchers.insert(key.to_string(), start_thread(feed, plan.clone()));
        }
    }
    let w = match watchers.get(key) {
        Some(w) => w,
        None => {
            // Its last subscriber left between the two looks: start one now.
            drop(watchers);
            let feed = store::open_feed(location)?;
            watchers = lock(&WATCHERS);
            watchers
                .entry(key.to_string())
                .or_insert_with(|| start_thread(feed, plan.clone()))
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

fn start_thread(feed: Box<dyn Feed>, plan: WatchPlan) -> Watcher {
    let (tx, rx) = unbounded();
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    // The file watch lives as long as the thread.
    let mut files = plan
        .store_file
        .as_deref()
        .and_then(|file| Files::watch(file, &tx));
    let shared = Arc::new(Shared {
        subscribers: Mutex::new(Vec::new()),
        signal: tx,
        interrupt: feed
            .interrupter()
            .or_else(|| files.as_ref().and_then(Files::interrupter)),
    });
    let thread_shared = shared.clone();
    let thread = std::thread::Builder::new()
        .name("chat1c-watch".into())
        .spawn(move || {
            let mut plan = plan;
            if plan.store_file.is_some() && files.is_none() {
                // No file events after all: the poll has to carry the latency.
                plan.poll = plan.poll.min(POLL_WITHOUT_EVENTS);
            }
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run(feed, &plan, files.as_mut(), &thread_shared, &rx)
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

/// What ended a wait: a possible change, the end, or nothing.
enum Woken {
    /// A change may be visible: a signal of this process, PostgreSQL's NOTIFY.
    Change,
    /// A file was written or the folder marked (anyone can open it): a commit may be
    /// under way, not yet visible, so a round that finds nothing looks again.
    Written,
    /// This process committed: mark it, then look.
    Committed,
    Stop,
    Idle,
}

impl From<Signal> for Woken {
    fn from(signal: Signal) -> Woken {
        match signal {
            Signal::Wake => Woken::Change,
            Signal::Written => Woken::Written,
            Signal::Committed => Woken::Committed,
            Signal::Stop => Woken::Stop,
        }
    }
}

/// Waits for a change: on the store's own notifications when it listens
/// (PostgreSQL), else on file events and this process's signals.
fn wait(
    feed: &mut dyn Feed,
    listening: bool,
    files: Option<&mut Files>,
    rx: &Receiver<Signal>,
    wait: Duration,
) -> Woken {
    if listening {
        let woken = match feed.wait_change(wait) {
            Ok(true) => Woken::Change,
            Ok(false) => Woken::Idle,
            Err(_) => {
                // The connection dropped: reconnect with backoff, then catch up by revision.
                let mut pause = Duration::from_millis(100);
                loop {
                    if let Ok(Signal::Stop) = rx.recv_timeout(pause) {
                        return Woken::Stop;
                    }
                    if feed.reconnect().is_ok() && feed.listen().is_ok() {
                        break Woken::Change;
                    }
                    pause = (pause * 2).min(RECONNECT_MAX);
                }
            }
        };
        return rx.try_recv().map_or(woken, Woken::from);
    }
    match files {
        Some(files) => files.wait(rx, wait),
        None => files::wait_channel(rx, wait),
    }
}

/// Sleeps until `until`: wake-ups sent meanwhile wait in the channel, so a stream of
/// sends costs the sender no thread switch per message. A Stop sent meanwhile is
/// taken by the drain that follows.
fn hold_until(until: Instant) {
    if let Some(left) = until.checked_duration_since(Instant::now()) {
        std::thread::sleep(left);
    }
}

fn run(
    mut feed: Box<dyn Feed>,
    plan: &WatchPlan,
    mut files: Option<&mut Files>,
    shared: &Shared,
    rx: &Receiver<Signal>,
) {
    let listening = feed.listen().unwrap_or(false);
    let mut rounds = Rounds::new();
    // Refilled each round: the list is copied so that no event is raised under its lock.
    let mut subscribers: Vec<Arc<Subscriber>> = Vec::new();
    loop {
        let period = rounds.period(plan.poll);
        let (mut written, mut polled) = (false, false);
        let woke = match wait(feed.as_mut(), listening, files.as_deref_mut(), rx, period) {
            Woken::Stop => return,
            Woken::Idle => {
                polled = !rounds.busy();
                subscribers.clone_from(&lock(&shared.subscribers));
                let look = rounds.look_when_idle(feed.as_mut(), &subscribers);
                subscribers.clear();
                if !look {
                    continue;
                }
                false
            }
            woken => {
                written = take(woken, files.as_deref_mut());
                true
            }
        };
        if woke {
            hold_until(rounds.next_round());
        }
        // Coalesce a burst of wake-ups into one round (those taken here count too).
        while let Ok(signal) = rx.try_recv() {
            match signal {
                Signal::Stop => return,
                signal => written |= take(signal.into(), files.as_deref_mut()),
            }
        }
        subscribers.clone_from(&lock(&shared.subscribers));
        let moved = rounds.round(feed.as_mut(), &subscribers, written);
        subscribers.clear(); // keeps the room, lets go of who left
        if moved && polled {
            // A commit that nothing announced: another program's, or its mark is late.
            if let Some(files) = files.as_deref_mut() {
                files.unannounced_commit();
            }
        }
    }
}

/// Marks this process's commit for the other processes; true when a file was written.
fn take(woken: Woken, files: Option<&mut Files>) -> bool {
    match woken {
        Woken::Written => true,
        Woken::Committed => {
            if let Some(files) = files {
                files.mark();
            }
            false
        }
        _ => false,
    }
}
