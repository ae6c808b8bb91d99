//! WAL checkpoints off the 1C thread. SQLite's auto-checkpoint runs inside the commit
//! that brings the WAL to 1,000 pages: one send in ~80 waited ~6 ms for it
//! (BENCHMARKS.md section 7). The add-in's connections turn it off; after every
//! [`EVERY`] commits of this process a thread of its own checkpoints, through its own
//! connection. Not the watcher: a commit made while it checkpoints would reach other
//! processes only after that. A process that only reads never starts the thread.
//!
//! The committing thread checkpoints only when that thread cannot run, or when a long
//! burst keeps overtaking its checkpoints: the WAL starts over only at a commit that
//! finds all of it copied, and grows until then.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::{Arc, Mutex, Weak};

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use once_cell::sync::Lazy;
use rusqlite::{Connection, OpenFlags};

/// This process's commits between two checkpoints: about SQLite's own 1,000 pages
/// at the 8–12 pages a send writes.
const EVERY: u32 = 100;
/// Commits of this process after which, if the WAL has not started over meanwhile
/// (commits kept coming while the thread's checkpoints ran), the committing thread
/// checkpoints itself. By then the thread has copied most of the WAL: this one is short.
const TOO_LONG: u32 = 3 * EVERY;

/// What the connections of this process on one store share.
struct Counts {
    /// Commits since a checkpoint was last asked for.
    commits: AtomicU32,
    /// Commits since the WAL was last seen to start over.
    since_restart: AtomicU32,
    /// Wakes the checkpoint thread (None until the first checkpoint). Dropped with
    /// the last connection, which ends the thread.
    wake: Mutex<Option<Sender<()>>>,
}

/// Per store location.
static STORES: Lazy<Mutex<HashMap<String, Weak<Counts>>>> =
    Lazy::new(|| Mutex::new(HashMap::new()));

/// One connection's part in checkpointing its store (WAL mode only).
pub struct Checkpoints {
    counts: Arc<Counts>,
    /// How the checkpoint thread opens the file: as this connection did, never creating it.
    path: PathBuf,
    flags: OpenFlags,
}

impl Checkpoints {
    /// Turns SQLite's auto-checkpoint off on `conn`, opened on `path` with `flags`.
    pub fn new(
        conn: &Connection,
        location: &str,
        path: &Path,
        flags: OpenFlags,
    ) -> rusqlite::Result<Checkpoints> {
        conn.execute_batch("PRAGMA wal_autocheckpoint=0;")?;
        let mut stores = STORES.lock().unwrap_or_else(|p| p.into_inner());
        stores.retain(|_, c| c.strong_count() > 0);
        let counts = match stores.get(location).and_then(Weak::upgrade) {
            Some(c) => c,
            None => {
                let c = Arc::new(Counts {
                    commits: AtomicU32::new(0),
                    since_restart: AtomicU32::new(0),
                    wake: Mutex::new(None),
                });
                stores.insert(location.to_string(), Arc::downgrade(&c));
                c
            }
        };
        Ok(Checkpoints {
            counts,
            path: path.to_path_buf(),
            flags: flags - OpenFlags::SQLITE_OPEN_CREATE,
        })
    }

    /// After a commit on `conn`.
    pub fn committed(&self, conn: &Connection) {
        let c = &self.counts;
        let commits = c.commits.fetch_add(1, Relaxed) + 1;
        let since_restart = c.since_restart.fetch_add(1, Relaxed) + 1;
        // With no commit of this process beside it, this one lets the next commit
        // start the WAL over. Tried again soon when the thread's checkpoint was
        // running or another process committed meanwhile.
        if since_restart >= TOO_LONG {
            c.commits.store(0, Relaxed);
            let again = if checkpoint(conn) { 0 } else { TOO_LONG - 10 };
            c.since_restart.store(again, Relaxed);
        } else if commits >= EVERY {
            c.commits.store(0, Relaxed);
            if !self.wake() {
                c.since_restart.store(0, Relaxed);
                checkpoint(conn);
            }
        }
    }

    /// Asks the checkpoint thread, starting it the first time; false when it cannot run.
    fn wake(&self) -> bool {
        let mut wake = self.counts.wake.lock().unwrap_or_else(|p| p.into_inner());
        if wake.is_none() {
            let (tx, rx) = bounded(1);
            let (path, flags) = (self.path.clone(), self.flags);
            let counts = Arc::downgrade(&self.counts);
            let started = std::thread::Builder::new()
                .name("chat1c-checkpoint".into())
                .spawn(move || run(&path, flags, &rx, &counts))
                .is_ok();
            if !started {
                return false;
            }
            *wake = Some(tx);
        }
        match wake.as_ref().map(|tx| tx.try_send(())) {
            // Full: a checkpoint is asked for already.
            Some(Ok(()) | Err(TrySendError::Full(()))) => true,
            _ => false,
        }
    }
}

/// The checkpoint thread: one checkpoint per wake-up, until the store's last
/// connection in this process closes. Ends at once when the file cannot be opened.
fn run(path: &Path, flags: OpenFlags, wake: &Receiver<()>, counts: &Weak<Counts>) {
    let Ok(conn) = Connection::open_with_flags(path, flags) else {
        return;
    };
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let mut restarts = restarts_of(Path::new(&wal));
    while wake.recv().is_ok() {
        checkpoint(&conn);
        let now = restarts_of(Path::new(&wal));
        if now != restarts {
            if let Some(c) = counts.upgrade() {
                c.since_restart.store(0, Relaxed);
            }
            restarts = now;
        }
    }
}

/// The WAL's checkpoint sequence number (its header, bytes 12–15), which SQLite moves
/// on each time the WAL starts over.
fn restarts_of(wal: &Path) -> Option<[u8; 4]> {
    use std::io::Read;
    let mut header = [0u8; 16];
    std::fs::File::open(wal)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    header[12..].try_into().ok()
}

/// A passive checkpoint (it waits for nobody); true when it copied all of the WAL.
fn checkpoint(conn: &Connection) -> bool {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        let (busy, log, copied): (i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        Ok(busy == 0 && log == copied)
    })
    .unwrap_or(false)
}
