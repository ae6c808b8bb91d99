//! Commit records: what a writer tells the other processes watching its store about
//! each commit (the SQLite side of `store/notes.rs`), so that a reader woken by the
//! commit mark learns which group changed without reading the store. A small file
//! beside the store (`<store>-feed`) holds a ring of 1,024 slots of 32 bytes, slot =
//! revision mod 1,024: the revision, the message id, the group, and a check that binds
//! them to this store file (device, inode, birth time) and catches a torn or stale slot.
//!
//! Records are hints about hints: a reader that finds a revision missing (written by an
//! older release, by a writer that died before recording it, or a file it may not
//! open) reads the store instead, as it always did; whoever may write the store may
//! write the ring, so what it says is checked against the store (see `notes`).

// Windows has no commit marks, so nothing there writes or reads the ring.
#![cfg_attr(not(unix), allow(dead_code))]

pub use ring::Records;

const SLOTS: i64 = 1024;
const SLOT: usize = 32;
/// Slots read at once.
const CHUNK: usize = 16;
const MAGIC: u64 = 0x6368_6174_3163_7276;

/// One commit: its revision, the message's id and group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub rev: i64,
    pub id: i64,
    pub group: i64,
}

/// splitmix64's finaliser: every bit of the input moves every bit of the output.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Record {
    fn check(&self, tag: u64) -> u64 {
        mix(tag ^ MAGIC ^ mix(self.rev as u64 ^ mix(self.id as u64 ^ mix(self.group as u64))))
    }

    fn encode(&self, tag: u64) -> [u8; SLOT] {
        let mut bytes = [0; SLOT];
        let fields = [
            self.rev as u64,
            self.id as u64,
            self.group as u64,
            self.check(tag),
        ];
        for (k, field) in fields.iter().enumerate() {
            bytes[k * 8..k * 8 + 8].copy_from_slice(&field.to_le_bytes());
        }
        bytes
    }

    /// The record in `bytes` when it is whole and made for this store.
    fn decode(bytes: &[u8], tag: u64) -> Option<Record> {
        let field = |k: usize| -> Option<u64> {
            Some(u64::from_le_bytes(
                bytes.get(k * 8..k * 8 + 8)?.try_into().ok()?,
            ))
        };
        let record = Record {
            rev: field(0)? as i64,
            id: field(1)? as i64,
            group: field(2)? as i64,
        };
        (field(3)? == record.check(tag)).then_some(record)
    }
}

/// The ring on disk; only where commits are marked (see `files::mark_commit`).
#[cfg(unix)]
mod ring {
    use std::fs::File;
    use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
    use std::path::{Path, PathBuf};
    use std::time::UNIX_EPOCH;

    use super::{mix, Record, CHUNK, SLOT, SLOTS};

    fn slot_offset(rev: i64) -> u64 {
        (rev.rem_euclid(SLOTS) as usize * SLOT) as u64
    }

    /// The ring file of a store file.
    fn ring_of(store: &Path) -> PathBuf {
        let mut name = store.as_os_str().to_owned();
        name.push("-feed");
        name.into()
    }

    /// A regular file: a FIFO or a device planted at the ring's path would block or
    /// take the writes (a symbolic link is refused by O_NOFOLLOW).
    fn is_plain_file(file: &File) -> bool {
        file.metadata().is_ok_and(|m| m.is_file())
    }

    /// The store file's identity: a record made for another file at this path (a store
    /// deleted and made again) fails its check.
    fn tag_of(store: &Path) -> Option<u64> {
        let meta = std::fs::metadata(store).ok()?;
        // Birth time where the file system keeps one (an inode reused by a new store).
        let born = meta
            .created()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .unwrap_or_default();
        Some(mix(
            meta.dev() ^ mix(meta.ino() ^ mix(born.as_nanos() as u64))
        ))
    }

    /// A store's ring, open for reading or for writing.
    pub struct Records {
        file: File,
        tag: u64,
    }

    impl Records {
        /// For a writer: makes the ring when absent, with the store file's permissions, so
        /// whoever may write the store may write it too (as SQLite does for the WAL).
        pub fn for_writing(store: &Path) -> Option<Records> {
            let tag = tag_of(store)?;
            let mode = std::fs::metadata(store).ok()?.permissions().mode() & 0o666;
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .mode(mode)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
                .open(ring_of(store))
                .ok()
                .filter(is_plain_file)?;
            // The umask may have taken rights away from a ring made just now.
            let made_now = file.metadata().is_ok_and(|m| m.len() == 0);
            if made_now {
                let _ = file.set_permissions(std::fs::Permissions::from_mode(mode));
            }
            Some(Records { file, tag })
        }

        /// For a reader: None while no writer has made the ring. Opened for writing
        /// too where allowed, though it only reads: closing a file opened read-only
        /// is a commit mark to every process watching the folder.
        pub fn for_reading(store: &Path) -> Option<Records> {
            let tag = tag_of(store)?;
            let ring = ring_of(store);
            let open = |write: bool| {
                std::fs::OpenOptions::new()
                    .read(true)
                    .write(write)
                    .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
                    .open(&ring)
            };
            let file = open(true)
                .or_else(|_| open(false))
                .ok()
                .filter(is_plain_file)?;
            Some(Records { file, tag })
        }

        pub fn write(&self, record: &Record) {
            let _ = self
                .file
                .write_all_at(&record.encode(self.tag), slot_offset(record.rev));
        }

        /// Into `records`, the records of the revisions after `after`, in order, up to
        /// the first one missing (at most a ring's worth).
        pub fn read_after(&self, after: i64, records: &mut Vec<Record>) {
            let mut buffer = [0u8; CHUNK * SLOT];
            loop {
                let next = after + records.len() as i64 + 1;
                // Up to the ring's end: the next read starts again at its beginning.
                let room = (SLOTS - next.rem_euclid(SLOTS)) as usize;
                let want = CHUNK.min(room) * SLOT;
                let Ok(got) = self.file.read_at(&mut buffer[..want], slot_offset(next)) else {
                    return;
                };
                for (k, bytes) in buffer[..got - got % SLOT].chunks(SLOT).enumerate() {
                    match Record::decode(bytes, self.tag) {
                        Some(r) if r.rev == next + k as i64 => records.push(r),
                        _ => return,
                    }
                }
                if got < want || records.len() as i64 >= SLOTS - 1 {
                    return;
                }
            }
        }
    }
}

#[cfg(not(unix))]
mod ring {
    use std::path::Path;

    use super::Record;

    pub struct Records;

    impl Records {
        pub fn for_writing(_store: &Path) -> Option<Records> {
            None
        }

        pub fn for_reading(_store: &Path) -> Option<Records> {
            None
        }

        pub fn write(&self, _record: &Record) {}

        pub fn read_after(&self, _after: i64, _records: &mut Vec<Record>) {}
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn record(rev: i64) -> Record {
        Record {
            rev,
            id: rev * 10,
            group: rev % 3,
        }
    }

    fn read(reader: &Records, after: i64) -> Vec<Record> {
        let mut records = Vec::new();
        reader.read_after(after, &mut records);
        records
    }

    fn store() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("chat.sqlite");
        std::fs::write(&store, b"a store").unwrap();
        (dir, store)
    }

    #[test]
    fn a_reader_gets_the_records_after_its_revision_up_to_a_gap() {
        let (_dir, store) = store();
        assert!(Records::for_reading(&store).is_none(), "no ring yet");
        let writer = Records::for_writing(&store).unwrap();
        let reader = Records::for_reading(&store).unwrap();
        for rev in [1, 2, 3, 5] {
            writer.write(&record(rev));
        }
        assert_eq!(read(&reader, 0), vec![record(1), record(2), record(3)]);
        assert_eq!(read(&reader, 2), vec![record(3)]);
        assert_eq!(read(&reader, 3), vec![], "4 is missing");
        assert_eq!(read(&reader, 4), vec![record(5)]);
    }

    #[test]
    fn the_ring_wraps_and_an_overwritten_slot_is_no_longer_read() {
        let (_dir, store) = store();
        let writer = Records::for_writing(&store).unwrap();
        for rev in 1..=SLOTS + 20 {
            writer.write(&record(rev));
        }
        let reader = Records::for_reading(&store).unwrap();
        let after = SLOTS - 10;
        let got = read(&reader, after);
        assert_eq!(got.len(), 30, "across the ring's end");
        assert!(got
            .iter()
            .zip(after + 1..)
            .all(|(r, rev)| *r == record(rev)));
        assert_eq!(read(&reader, 5), vec![], "slot 6 holds revision 1,030 now");
    }

    #[test]
    fn records_of_another_store_file_or_torn_ones_are_not_read() {
        let (dir, store) = store();
        Records::for_writing(&store).unwrap().write(&record(1));
        std::fs::remove_file(&store).unwrap();
        std::fs::write(dir.path().join("other"), b"keeps the inode busy").unwrap();
        std::fs::write(&store, b"a new store").unwrap();
        let reader = Records::for_reading(&store).unwrap();
        assert_eq!(read(&reader, 0), vec![], "made for the old file");
        let writer = Records::for_writing(&store).unwrap();
        writer.write(&record(1));
        let ring = dir.path().join("chat.sqlite-feed");
        let mut torn = std::fs::read(&ring).unwrap();
        torn[SLOT + 9] ^= 1; // in the id of revision 1
        std::fs::write(&ring, &torn).unwrap();
        assert_eq!(read(&reader, 0), vec![]);
    }
}
