//! File-change notifications on the store's folder (inotify, ReadDirectoryChangesW, kqueue),
//! turned into wake-ups for the watcher. Where the OS gives none (network shares,
//! or platforms built without a backend), the watcher's slow poll carries on alone.

use std::path::Path;

use crossbeam_channel::Sender;

use super::Signal;

/// How long this thread rests after passing an event on (see below). Short: when an
/// event arrives before its commit is visible, the next one is what reveals it.
#[cfg(any(target_os = "linux", target_os = "windows", target_os = "macos"))]
const PAUSE: std::time::Duration = std::time::Duration::from_micros(250);

#[cfg(any(target_os = "linux", target_os = "windows", target_os = "macos"))]
pub(super) fn watch(dir: &Path, wake: Sender<Signal>) -> Option<notify::RecommendedWatcher> {
    use notify::{EventKind, RecursiveMode, Watcher};
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            // Only writes matter: the WAL, the journal or the database changed.
            if matches!(
                event.kind,
                EventKind::Modify(_) | EventKind::Create(_) | EventKind::Remove(_)
            ) {
                let _ = wake.send(Signal::Wake);
                // Every WAL write of a commit is an event. Pausing this thread lets the
                // kernel merge the next ones into one, and spares the writing process
                // (often this one) a wake-up of this thread per write. Nothing is
                // lost: events queue meanwhile and each batch still sends a wake-up.
                std::thread::sleep(PAUSE);
            }
        }
    })
    .ok()?;
    watcher.watch(dir, RecursiveMode::NonRecursive).ok()?;
    Some(watcher)
}

#[cfg(not(any(target_os = "linux", target_os = "windows", target_os = "macos")))]
pub(super) fn watch(_dir: &Path, _wake: Sender<Signal>) -> Option<()> {
    None
}
