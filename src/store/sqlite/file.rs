//! The store's file on disk: its folder, who may use it, and whether the file at
//! the path is still the one the connection opened.
//!
//! The machine-wide default folder is shared by every OS user of the machine, so it
//! is kept like /tmp: writable by all with the sticky bit, so that nobody may delete
//! or replace another user's files there; a folder another user made without it is
//! refused, and no symbolic link in it is followed.

use std::path::Path;

use crate::store::StoreError;

/// Creates the store's folder when missing; for the shared default folder, also
/// checks (and, when it is ours, mends) its mode.
pub fn prepare_dir(path: &Path, shared: bool) -> Result<(), StoreError> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    let cannot = |e: std::io::Error| StoreError::CannotOpen(format!("{}: {e}", dir.display()));
    if !shared {
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(cannot)?;
        }
        return Ok(());
    }
    if std::fs::symlink_metadata(dir).is_err() {
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent).map_err(cannot)?;
        }
        match std::fs::create_dir(dir) {
            Ok(()) => make_shared_dir(dir).map_err(cannot)?,
            // Someone made it meanwhile: checked below like any existing folder.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(cannot(e)),
        }
    }
    check_shared_dir(dir)
}

#[cfg(unix)]
fn make_shared_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o1777))
}

#[cfg(not(unix))]
fn make_shared_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn my_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(unix)]
fn check_shared_dir(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::symlink_metadata(dir)
        .map_err(|e| StoreError::CannotOpen(format!("{}: {e}", dir.display())))?;
    if meta.file_type().is_symlink() {
        return Err(StoreError::SymbolicLink(dir.display().to_string()));
    }
    if !meta.is_dir() {
        return Err(StoreError::CannotOpen(format!(
            "{} is not a folder",
            dir.display()
        )));
    }
    if meta.mode() & 0o1000 != 0 {
        return Ok(());
    }
    if meta.uid() == my_uid() {
        // Ours (made by an older release, say): give it the sticky bit now.
        return std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o1777))
            .map_err(|e| StoreError::CannotOpen(format!("{}: {e}", dir.display())));
    }
    Err(StoreError::UnsafeFolder(dir.display().to_string()))
}

#[cfg(not(unix))]
fn check_shared_dir(_dir: &Path) -> Result<(), StoreError> {
    Ok(())
}

/// Refuses a symbolic link at the store's path or at one of its journal files or its
/// commit records: the add-in would create or write whatever file it points to
/// (another user's, say).
pub fn refuse_links(path: &Path) -> Result<(), StoreError> {
    for suffix in ["", "-wal", "-shm", "-journal", "-feed"] {
        let mut name = path.as_os_str().to_os_string();
        name.push(suffix);
        let candidate = Path::new(&name);
        if std::fs::symlink_metadata(candidate).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(StoreError::SymbolicLink(candidate.display().to_string()));
        }
    }
    Ok(())
}

/// Lets every user of the machine use a store file this process has just created
/// (SQLite gives -wal/-shm the main file's mode). A file that was there before, or
/// that belongs to someone else, keeps its mode.
#[cfg(unix)]
pub fn share_new_file(path: &Path, existed_before: bool) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if existed_before {
        return;
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.is_file() && meta.uid() == my_uid() && meta.mode() & 0o666 != 0o666 {
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666));
        }
    }
}

#[cfg(not(unix))]
pub fn share_new_file(_path: &Path, _existed_before: bool) {}

/// A file's identity (device, inode).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FileId(u64, u64);

#[cfg(unix)]
pub fn file_id(path: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| FileId(m.dev(), m.ino()))
}

/// Windows keeps an open SQLite file from being deleted or replaced.
#[cfg(not(unix))]
pub fn file_id(_path: &Path) -> Option<FileId> {
    None
}
