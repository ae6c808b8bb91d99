//! Where the store lives when the 1C developer does not say, and whether a path is
//! on a network file system (where WAL is unsafe and change events may not arrive).

use std::path::{Path, PathBuf};

/// The machine-wide default store, writable by every OS user of the machine, so the
/// users of one terminal server share it:
/// - Linux and other Unix: `/var/tmp/chat1c/chat1c.sqlite` (folder mode 1777, file 0666)
/// - Windows: `%ProgramData%\chat1c\chat1c.sqlite`
/// - macOS: `/Users/Shared/chat1c/chat1c.sqlite`
///
/// The environment variable `CHAT1C_DEFAULT_DIR` moves the folder (an administrator's
/// setting for the whole machine; the tests use it too).
pub fn default_location() -> PathBuf {
    std::env::var_os("CHAT1C_DEFAULT_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(default_dir, PathBuf::from)
        .join("chat1c.sqlite")
}

/// Why a Store string cannot be a SQLite file path. SQLite's own URI forms and
/// in-memory names would let a caller choose its locking or journal (one such store
/// corrupted its index with three writers), so the add-in takes plain paths only.
pub fn not_a_plain_path(location: &str) -> bool {
    let l = location.trim();
    l.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("file:"))
        || l.starts_with(':')
        || l.contains('?')
}

#[cfg(target_os = "windows")]
fn default_dir() -> PathBuf {
    let base = std::env::var_os("ProgramData").unwrap_or_else(|| "C:\\ProgramData".into());
    PathBuf::from(base).join("chat1c")
}

#[cfg(target_os = "macos")]
fn default_dir() -> PathBuf {
    PathBuf::from("/Users/Shared/chat1c")
}

#[cfg(not(any(target_os = "windows", target_os = "macos")))]
fn default_dir() -> PathBuf {
    PathBuf::from("/var/tmp/chat1c")
}

/// True when the path (or its nearest existing ancestor) is on a network file system.
pub fn is_network_path(path: &Path) -> bool {
    let mut probe = path;
    loop {
        if probe.exists() {
            return fs_is_remote(probe);
        }
        match probe.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => probe = parent,
            _ => return false,
        }
    }
}

#[cfg(target_os = "linux")]
fn fs_is_remote(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    const NFS: i64 = 0x6969;
    const SMB: i64 = 0x517B;
    const CIFS: i64 = 0xFF53_4D42;
    const SMB2: i64 = 0xFE53_4D42;
    const FUSE: i64 = 0x6573_5546; // sshfs and friends
    const CEPH: i64 = 0x00C3_6400;
    const AFS: i64 = 0x5346_414F;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: zeroed statfs is a valid out-buffer; c_path is NUL-terminated.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the duration of the call.
    if unsafe { libc::statfs(c_path.as_ptr(), &mut st) } != 0 {
        return false;
    }
    #[allow(clippy::unnecessary_cast)]
    let magic = (st.f_type as i64) & 0xFFFF_FFFF;
    [NFS, SMB, CIFS, SMB2, FUSE, CEPH, AFS].contains(&magic)
}

#[cfg(target_os = "windows")]
fn fs_is_remote(path: &Path) -> bool {
    use std::path::{Component, Prefix};
    #[link(name = "kernel32")]
    extern "system" {
        fn GetDriveTypeW(root: *const u16) -> u32;
    }
    const DRIVE_REMOTE: u32 = 4;
    match path.components().next() {
        Some(Component::Prefix(p)) => match p.kind() {
            Prefix::UNC(..) | Prefix::VerbatimUNC(..) => true,
            Prefix::Disk(letter) | Prefix::VerbatimDisk(letter) => {
                let root: Vec<u16> = format!("{}:\\", letter as char)
                    .encode_utf16()
                    .chain(Some(0))
                    .collect();
                // SAFETY: root is a NUL-terminated UTF-16 string that outlives the call.
                unsafe { GetDriveTypeW(root.as_ptr()) == DRIVE_REMOTE }
            }
            _ => false,
        },
        _ => false,
    }
}

#[cfg(not(any(target_os = "linux", target_os = "windows")))]
fn fs_is_remote(_path: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths() {
        for bad in [
            "file:/x/n.db?vfs=unix-none",
            "FILE:chat.db",
            ":memory:",
            "file::memory:",
            "/x/n.db?nolock=1",
            "/x/n.db?mode=memory",
        ] {
            assert!(not_a_plain_path(bad), "{bad}");
        }
        for good in [
            "/var/tmp/chat.sqlite",
            "C:\\chat\\c.db",
            "chat.db",
            "./file.db",
            "\\\\srv\\share\\c.db",
        ] {
            assert!(!not_a_plain_path(good), "{good}");
        }
    }

    #[test]
    fn local_temp_is_not_remote() {
        let dir = std::env::temp_dir();
        assert!(!is_network_path(&dir.join("missing/deeper/file.sqlite")));
        assert!(default_location().ends_with("chat1c.sqlite"));
    }
}
