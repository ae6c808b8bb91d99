//! File-change notifications on the store's folder (inotify, ReadDirectoryChangesW, kqueue),
//! turned into wake-ups for the watcher. Where the OS gives none (network shares,
//! or platforms built without a backend), the watcher's slow poll carries on alone.

use std::path::Path;

use crossbeam_channel::Sender;

use super::Signal;

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
