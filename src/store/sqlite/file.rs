//! The store's file on disk: its folder, who may use it, and whether the file at
//! the path is still the one the connection opened.

use std::path::Path;

use crate::store::StoreError;

/// Creates the folder; the machine-wide default is made writable for every user.
pub fn prepare_dir(path: &Path, shared: bool) -> Result<(), StoreError> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if !dir.exists() {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::CannotOpen(format!("{}: {e}", dir.display())))?;
        if shared {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777));
            }
        }
    }
    Ok(())
}

#[cfg(unix)]
pub fn share_with_all_users(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    // SQLite gives -wal/-shm the main file's mode, so 0666 here lets every user in.
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o666 != 0o666 {
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666));
        }
    }
}

#[cfg(not(unix))]
pub fn share_with_all_users(_path: &Path) {}

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
