//! File-change notifications on the store's folder, turned into wake-ups for the
//! watcher. On Linux the watcher thread waits on its own inotify descriptor, beside a
//! waker that this process's signals poke: one commit wakes one thread (with `notify`
//! it woke notify's thread, then the watcher, once per WAL write), and once writers
//! mark their commits, only when the commit is visible. Elsewhere (ReadDirectoryChangesW,
//! kqueue) notify's thread sends wake-ups down the channel. Where the OS gives none
//! (network shares, platforms built without a backend), the watcher's slow poll
//! carries on alone.

use std::ffi::OsStr;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::{Signal, Woken};

/// Ends the watcher thread's wait from another thread.
pub(super) type Interrupt = Box<dyn Fn() + Send + Sync>;

/// Whether `name`, a file in the store's folder, is one of the store's own files (the
/// database, its WAL, WAL index, journal and commit records, all named after it). Other
/// files there — a 1C file infobase beside it, whatever else the folder holds — are
/// written far more often than the chat, and must not make every reader of the store
/// look at it (Linux still wakes the thread: inotify watches the folder as a whole).
/// File names compare ignoring case where the file system does (Windows, macOS).
pub(super) fn is_store_file(store: &OsStr, name: &OsStr) -> bool {
    if cfg!(any(target_os = "windows", target_os = "macos")) {
        let (store, name) = (store.to_string_lossy(), name.to_string_lossy());
        name.to_lowercase().starts_with(&store.to_lowercase())
    } else {
        name.as_encoded_bytes()
            .starts_with(store.as_encoded_bytes())
    }
}

/// Waits on the channel alone: signals of this process (and, off Linux, notify's).
pub(super) fn wait_channel(rx: &Receiver<Signal>, timeout: Duration) -> Woken {
    match rx.recv_timeout(timeout) {
        Ok(Signal::Stop) | Err(RecvTimeoutError::Disconnected) => Woken::Stop,
        Ok(signal) => signal.into(),
        Err(RecvTimeoutError::Timeout) => Woken::Idle,
    }
}

#[cfg(target_os = "linux")]
pub(super) use linux::Files;
#[cfg(not(target_os = "linux"))]
pub(super) use other::Files;

#[cfg(target_os = "linux")]
mod linux {
    use std::ffi::OsString;
    use std::os::fd::AsRawFd;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use crossbeam_channel::{Receiver, Sender, TryRecvError};
    use inotify::{EventMask, Inotify, WatchMask};
    use mio::{unix::SourceFd, Events, Interest, Poll, Token, Waker};

    use super::{is_store_file, Interrupt, Signal, Woken};

    const FILES: Token = Token(0);
    const SIGNALS: Token = Token(1);

    /// How long the thread rests between the first write it is woken for and reading
    /// the events. A commit is several WAL writes; left unread, the kernel merges
    /// them into the queued event, so they wake no one, and the commit is most
    /// likely visible when the round reads it.
    const REST: Duration = Duration::from_millis(1);

    /// How long a commit the slow poll found may wait for its mark (the poll can read
    /// a commit between its writer's commit and mark) before it counts as unmarked.
    const MARK_GRACE: Duration = Duration::from_millis(100);

    /// Writes, and files appearing, going or renamed (a journal deleted ends a
    /// rollback-mode commit). Opens, closes and attribute changes are left out: every
    /// client opening the store would otherwise wake every other.
    const WRITES: WatchMask = WatchMask::MODIFY
        .union(WatchMask::CREATE)
        .union(WatchMask::DELETE)
        .union(WatchMask::MOVED_FROM)
        .union(WatchMask::MOVED_TO);
    /// The folder itself opened and closed: a commit mark (see [`Files::mark`]).
    const MARKS: WatchMask = WatchMask::CLOSE_NOWRITE.union(WatchMask::ONLYDIR);

    /// Bytes of the read buffer, and of the largest inotify event (its header and a
    /// name of NAME_MAX bytes, NUL-terminated and padded to 16).
    const BUFFER: usize = 4096;
    const EVENT_MAX: usize = 16 + 256;
    /// A read of at most this many events left room for one more: the kernel stops
    /// a read only when the queue is empty or its next event does not fit.
    const ROOMY_READ: usize = BUFFER / EVENT_MAX - 2;

    /// A write says that a commit is under way, not that it is visible: the WAL index
    /// in shared memory moves last, without a file event. So a writer of this add-in
    /// marks each commit once it is visible, by opening and closing the store's
    /// folder (an event every watcher of the folder gets, that needs no right to write
    /// anything). Writes wake this thread until the first mark; from then on writers
    /// are taken to mark, and only marks wake it, once per commit. A commit that no
    /// mark announced (another program, an older release, a writer that died before
    /// marking), found by the slow poll and not marked within [`MARK_GRACE`], makes
    /// writes wake it again for good. Anyone can open the folder, and SQLite itself does on a new journal's
    /// first sync, before its commit is visible: so a mark is only a reason to look,
    /// like a write, and a round it starts that finds nothing looks again (settles).
    pub struct Files {
        inotify: Inotify,
        poll: Poll,
        ready: Events,
        waker: Arc<Waker>,
        buffer: [u8; BUFFER],
        dir: PathBuf,
        /// The store file's name: only writes to files named after it count.
        store: OsString,
        /// Whether writes wake this thread (until the first mark).
        writes: bool,
        /// A commit went unmarked: writes wake this thread from now on.
        unmarked: bool,
        /// The slow poll found a commit: unmarked unless a mark comes by then.
        suspect: Option<Instant>,
    }

    impl Files {
        /// Watches the folder of `store`, the store's file.
        pub fn watch(store: &Path, _wake: &Sender<Signal>) -> Option<Files> {
            let (dir, name) = (store.parent()?, store.file_name()?);
            let inotify = Inotify::init().ok()?;
            inotify.watches().add(dir, WRITES | MARKS).ok()?;
            let poll = Poll::new().ok()?;
            let fd = inotify.as_raw_fd();
            poll.registry()
                .register(&mut SourceFd(&fd), FILES, Interest::READABLE)
                .ok()?;
            let waker = Waker::new(poll.registry(), SIGNALS).ok()?;
            Some(Files {
                inotify,
                poll,
                ready: Events::with_capacity(4),
                waker: Arc::new(waker),
                buffer: [0; BUFFER],
                dir: dir.to_path_buf(),
                store: name.to_os_string(),
                writes: true,
                unmarked: false,
                suspect: None,
            })
        }

        /// Tells the other processes' watchers that a commit of this one is visible.
        pub fn mark(&mut self) {
            let _ = std::fs::File::open(&self.dir);
            if !self.writes {
                // Not woken by its own mark: only marks are queued, so what they
                // announce is visible now, and the round that follows reads it.
                if self.drain().0 {
                    self.suspect = None;
                }
            }
        }

        /// The slow poll found a commit that nothing announced: unless its mark comes
        /// within [`MARK_GRACE`], writes wake this thread again.
        pub fn unannounced_commit(&mut self) {
            if !self.writes && self.suspect.is_none() {
                self.suspect = Some(Instant::now() + MARK_GRACE);
            }
        }

        /// A commit went unmarked: writes wake this thread from now on.
        fn unmarked_commit(&mut self) {
            self.unmarked = true;
            self.suspect = None;
            if !self.writes {
                self.writes = self.watch_writes(true);
            }
        }

        /// Replaces the watch's mask; whether writes are watched now.
        fn watch_writes(&mut self, on: bool) -> bool {
            let mask = if on { WRITES | MARKS } else { MARKS };
            match self.inotify.watches().add(&self.dir, mask) {
                Ok(_) => on,
                Err(_) => self.writes,
            }
        }

        /// What a signal's sender calls so that the wait ends at once.
        pub fn interrupter(&self) -> Option<Interrupt> {
            let waker = self.waker.clone();
            Some(Box::new(move || {
                let _ = waker.wake();
            }))
        }

        /// Waits up to `timeout` for a signal or a file event.
        pub fn wait(&mut self, rx: &Receiver<Signal>, timeout: Duration) -> Woken {
            // One clock read per wait that an event ends (the common case).
            let mut now = Instant::now();
            let deadline = now + timeout;
            loop {
                // A signal is sent before the waker is poked: taken here, or the poke
                // ends the poll below at once.
                match rx.try_recv() {
                    Ok(signal) => return signal.into(),
                    Err(TryRecvError::Disconnected) => return Woken::Stop,
                    Err(TryRecvError::Empty) => {}
                }
                if self.suspect.is_some_and(|due| due <= now) {
                    self.unmarked_commit();
                }
                let left = deadline.saturating_duration_since(now);
                if left.is_zero() {
                    return Woken::Idle;
                }
                let left = self.suspect.map_or(left, |due| left.min(due - now));
                if self.poll.poll(&mut self.ready, Some(left)).is_err() {
                    now = Instant::now();
                    continue; // interrupted by a signal of the OS
                }
                if self.ready.iter().any(|e| e.token() == FILES) {
                    if self.writes {
                        std::thread::sleep(REST);
                    }
                    let (marked, written) = self.drain();
                    if marked {
                        self.suspect = None;
                        if self.writes && !self.unmarked {
                            self.writes = self.watch_writes(false);
                        }
                    }
                    if marked || written {
                        return Woken::Written;
                    }
                }
                now = Instant::now();
            }
        }

        /// Reads every queued event (the descriptor is edge-triggered): whether one is
        /// a commit mark, and whether one is a write that may belong to a commit. An
        /// overflowed queue may hide either: a write.
        fn drain(&mut self) -> (bool, bool) {
            let (mut marked, mut written) = (false, false);
            while let Ok(events) = self.inotify.read_events(&mut self.buffer) {
                let mut read = 0;
                for event in events {
                    read += 1;
                    if event.mask.contains(EventMask::Q_OVERFLOW) {
                        written = true;
                    } else if event.mask.contains(EventMask::CLOSE_NOWRITE) {
                        // The folder itself (a file in it closed has a name).
                        marked |= event.name.is_none();
                    } else {
                        written |= event
                            .name
                            .is_some_and(|n| is_store_file(&self.store, n) && !is_wal_index(n));
                    }
                }
                // The buffer had room for one more event of any size: the queue was
                // empty, and an event queued since ends the next wait (a read that
                // would find nothing is a system call per wake-up saved).
                if read <= ROOMY_READ {
                    break;
                }
            }
            (marked, written)
        }
    }

    /// The WAL index (`-shm`) is shared memory: commits change it without a file
    /// event, and its file changes only when it grows, never alone with a commit.
    fn is_wal_index(name: &std::ffi::OsStr) -> bool {
        name.as_encoded_bytes().ends_with(b"-shm")
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn watched() -> (tempfile::TempDir, Files, Sender<Signal>, Receiver<Signal>) {
            let dir = tempfile::tempdir().unwrap();
            let (tx, rx) = crossbeam_channel::unbounded();
            let files = Files::watch(&dir.path().join("chat.sqlite"), &tx).unwrap();
            (dir, files, tx, rx)
        }

        /// Waits for a change, up to `limit` (a bound on the test, not a measure).
        fn changed(files: &mut Files, rx: &Receiver<Signal>, limit: Duration) -> bool {
            matches!(files.wait(rx, limit), Woken::Change | Woken::Written)
        }

        fn write(dir: &tempfile::TempDir) {
            std::fs::write(dir.path().join("chat.sqlite-wal"), b"frame").unwrap();
        }

        #[test]
        fn once_writers_mark_only_marks_wake_until_a_commit_goes_unmarked() {
            let (dir, mut files, tx, rx) = watched();
            write(&dir);
            assert!(changed(&mut files, &rx, Duration::from_secs(5)));
            std::fs::File::open(dir.path()).unwrap();
            assert!(changed(&mut files, &rx, Duration::from_secs(5)));
            write(&dir);
            let _ = std::fs::read(dir.path().join("chat.sqlite-wal"));
            assert!(
                !changed(&mut files, &rx, Duration::from_millis(100)),
                "a write, or a file closed in the folder, is no mark"
            );
            std::fs::File::open(dir.path()).unwrap();
            assert!(
                changed(&mut files, &rx, Duration::from_secs(5)),
                "anyone's mark wakes: it costs a round, hides nothing"
            );
            files.mark();
            assert!(
                !changed(&mut files, &rx, Duration::from_millis(100)),
                "its own mark does not wake the marking process"
            );
            files.unannounced_commit();
            assert!(!changed(&mut files, &rx, MARK_GRACE * 2), "no mark came");
            write(&dir);
            assert!(changed(&mut files, &rx, Duration::from_secs(5)));
            std::fs::File::open(dir.path()).unwrap();
            assert!(changed(&mut files, &rx, Duration::from_secs(5)));
            write(&dir);
            assert!(
                changed(&mut files, &rx, Duration::from_secs(5)),
                "after an unmarked commit, writes wake for good"
            );
            drop(tx);
        }

        #[test]
        fn writes_to_other_files_in_the_folder_are_no_change() {
            let (dir, mut files, _tx, rx) = watched();
            for name in [
                "1Cv8.1CD",
                "chat.sqlit",
                "other.sqlite-wal",
                "Chat.sqlite-wal",
            ] {
                std::fs::write(dir.path().join(name), b"written").unwrap();
                assert!(
                    !changed(&mut files, &rx, Duration::from_millis(50)),
                    "{name}"
                );
            }
            std::fs::write(dir.path().join("chat.sqlite-journal"), b"pages").unwrap();
            assert!(
                changed(&mut files, &rx, Duration::from_secs(5)),
                "the journal"
            );
            std::fs::write(dir.path().join("chat.sqlite"), b"pages").unwrap();
            assert!(
                changed(&mut files, &rx, Duration::from_secs(5)),
                "the database"
            );
        }

        #[test]
        fn writes_wake_and_the_wal_index_alone_does_not() {
            let (dir, mut files, _tx, rx) = watched();
            std::fs::write(dir.path().join("chat.sqlite-shm"), b"index").unwrap();
            assert!(!changed(&mut files, &rx, Duration::from_millis(50)));
            std::fs::write(dir.path().join("chat.sqlite-wal"), b"frame").unwrap();
            assert!(changed(&mut files, &rx, Duration::from_secs(5)));
            assert!(!changed(&mut files, &rx, Duration::from_millis(50)), "read");
        }

        #[test]
        fn an_overflowed_queue_is_a_change() {
            let (dir, mut files, _tx, rx) = watched();
            // Far more events than the queue holds (16,384 by default), none merged.
            for k in 0..20_000 {
                let _ = std::fs::File::create(dir.path().join(format!("f{}-shm", k % 50)));
                let _ = std::fs::remove_file(dir.path().join(format!("f{}-shm", k % 50)));
            }
            assert!(changed(&mut files, &rx, Duration::from_secs(5)));
        }

        #[test]
        fn a_signal_ends_the_wait() {
            let (_dir, mut files, tx, rx) = watched();
            let poke = files.interrupter().unwrap();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                tx.send(Signal::Wake).unwrap();
                poke();
            });
            let started = Instant::now();
            assert!(changed(&mut files, &rx, Duration::from_secs(60)));
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the poke, not the time"
            );
        }
    }
}

/// Elsewhere: notify's own thread sends file events down the channel.
#[cfg(not(target_os = "linux"))]
mod other {
    use std::path::Path;
    use std::time::Duration;

    use crossbeam_channel::{Receiver, Sender};

    #[cfg(any(target_os = "windows", target_os = "macos"))]
    use super::is_store_file;
    use super::{wait_channel, Interrupt, Signal, Woken};

    pub struct Files {
        /// Kept for its thread and watch; dropping it ends them.
        #[cfg(any(target_os = "windows", target_os = "macos"))]
        _watcher: notify::RecommendedWatcher,
    }

    /// How long notify's thread rests after passing an event on (see below). Short: when
    /// an event arrives before its commit is visible, the next one is what reveals it.
    #[cfg(any(target_os = "windows", target_os = "macos"))]
    const PAUSE: Duration = Duration::from_micros(250);

    impl Files {
        /// Watches the folder of `store`, the store's file.
        #[cfg(any(target_os = "windows", target_os = "macos"))]
        pub fn watch(store: &Path, wake: &Sender<Signal>) -> Option<Files> {
            use notify::{EventKind, RecursiveMode, Watcher};
            let (dir, name) = (store.parent()?, store.file_name()?.to_os_string());
            let wake = wake.clone();
            let mut watcher =
                notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                    if let Ok(event) = event {
                        // Only writes to the store's files matter: the WAL, the journal,
                        // the database or its commit records changed (an event that names
                        // no file, a rescan, counts).
                        let written = matches!(
                            event.kind,
                            EventKind::Modify(_) | EventKind::Create(_) | EventKind::Remove(_)
                        );
                        if written
                            && (event.paths.is_empty()
                                || event.paths.iter().any(|p| {
                                    p.file_name().is_some_and(|n| is_store_file(&name, n))
                                }))
                        {
                            let _ = wake.send(Signal::Written);
                            // Every WAL write of a commit is an event. Pausing this thread
                            // lets the OS merge the next ones into one, and spares the
                            // writing process a wake-up of this thread per write. Nothing
                            // is lost: events queue meanwhile and each batch still wakes.
                            std::thread::sleep(PAUSE);
                        }
                    }
                })
                .ok()?;
            watcher.watch(dir, RecursiveMode::NonRecursive).ok()?;
            Some(Files { _watcher: watcher })
        }

        #[cfg(not(any(target_os = "windows", target_os = "macos")))]
        pub fn watch(_store: &Path, _wake: &Sender<Signal>) -> Option<Files> {
            None
        }

        /// Signals end the channel's wait by themselves.
        pub fn interrupter(&self) -> Option<Interrupt> {
            None
        }

        /// Writes wake the watcher here, always: no mark is needed.
        pub fn mark(&mut self) {}

        pub fn unannounced_commit(&mut self) {}

        pub fn wait(&mut self, rx: &Receiver<Signal>, timeout: Duration) -> Woken {
            wait_channel(rx, timeout)
        }
    }
}
