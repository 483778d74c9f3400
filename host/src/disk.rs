//! What makes a sled flush reach the disk: an fsync of its log and of its blob files.
//!
//! sled 0.34's flush writes its log with `sync_file_range` (`pagecache/iobuf.rs`), which
//! neither flushes the drive's write cache nor syncs the file's size as the log grows. And
//! it keeps a value larger than a quarter of its segment (128 KiB by default) in a file of
//! its own, `DIR/blobs/<lsn>`, which it writes and never syncs (`pagecache/blob_io.rs`). A
//! killed process loses nothing either way, since the kernel still holds the pages; but
//! after a power loss or a kernel crash a flushed write could be gone, or the log could
//! point at a blob that is empty or torn, and the store would not open. commute writes
//! such values: a checkpoint's chunks, an installed module, the queue chunk of a large
//! argument, a journal part holding one large write. So every flush that reports
//! something durable is followed by [`Disk::sync`].
//!
//! # Invariant
//!
//! - (D1) Once `sync` returns, the log file is synced (`fdatasync`) and so is every blob
//!   file whose write finished before the flush it follows began, its data and its name in
//!   the directory.
//! - (D2) A blob file is written once and never changed: sled creates it, writes its CRC,
//!   kind byte and bytes, and later removes it (`pagecache/blob_io.rs`). So a file whose
//!   CRC matches its bytes is whole, and once synced whole it is *settled*: never looked
//!   at again, not even its length. A file that is not whole yet (sled is still writing
//!   it) is synced as it is and looked at again by every `sync` whose listing finds it
//!   longer; once it is whole and synced, D1 holds for it.
//!
//! A directory listing per sync (a few syscalls) finds new and removed files; a store
//! keeps dozens to hundreds of blobs (sled's pages of journal leaves), so one `stat` per
//! blob per flush used to cost more than the `fdatasync` itself.
//!
//! A leaf: both the queue and the store flush through it.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The log and blob files of one sled database, and what is known of each blob.
#[derive(Debug)]
pub struct Disk {
    log: PathBuf,
    dir: PathBuf,
    state: Mutex<Synced>,
}

/// What the syncs so far have done.
#[derive(Debug, Default)]
struct Synced {
    /// The log, open once it exists.
    log: Option<File>,
    /// Every blob file of the last listing: whole and synced (D2), or not whole yet and
    /// synced at this length.
    blobs: HashMap<OsString, Blob>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blob {
    Settled,
    Partial(u64),
}

impl Disk {
    /// The files of the sled database at `db_dir`.
    pub fn new(db_dir: &Path) -> Disk {
        Disk {
            log: db_dir.join("db"),
            dir: db_dir.join("blobs"),
            state: Mutex::new(Synced::default()),
        }
    }

    /// Syncs the log, then every blob file not settled and longer than when last synced,
    /// then their directory if any was (D1, D2). Files that sled removes meanwhile are
    /// skipped.
    ///
    /// # Errors
    ///
    /// The I/O error of a listing, an open, a read or an fsync, naming the file.
    pub fn sync(&self) -> io::Result<()> {
        // One sync at a time: two flushes may end together, and the map is their record.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.log.is_none() {
            match File::open(&self.log) {
                Ok(log) => state.log = Some(log),
                // A temporary database keeps its log elsewhere, and syncs nothing anyway.
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(named(err, "cannot open", &self.log)),
            }
        }
        if let Some(log) = &state.log {
            log.sync_data()
                .map_err(|err| named(err, "cannot sync", &self.log))?;
        }
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(named(err, "cannot list", &self.dir)),
        };
        let mut now = HashMap::with_capacity(state.blobs.len() + 1);
        let mut fresh = false;
        for entry in entries {
            let entry = entry.map_err(|err| named(err, "cannot list", &self.dir))?;
            let name = entry.file_name();
            let known = state.blobs.get(&name).copied();
            if known == Some(Blob::Settled) {
                now.insert(name, Blob::Settled);
                continue;
            }
            let path = entry.path();
            let len = match entry.metadata() {
                Ok(meta) => meta.len(),
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(named(err, "cannot read the length of", &path)),
            };
            if known == Some(Blob::Partial(len)) {
                // No byte more since it was synced: still not whole, nothing to sync.
                now.insert(name, Blob::Partial(len));
                continue;
            }
            let mut file = match File::open(&path) {
                Ok(file) => file,
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(named(err, "cannot open", &path)),
            };
            // Read before the sync, so that the sync covers every byte found whole.
            let (whole, read) =
                whole_blob(&mut file).map_err(|err| named(err, "cannot read", &path))?;
            file.sync_all()
                .map_err(|err| named(err, "cannot sync", &path))?;
            fresh = true;
            now.insert(
                name,
                if whole {
                    Blob::Settled
                } else {
                    Blob::Partial(read)
                },
            );
        }
        if fresh {
            File::open(&self.dir)
                .and_then(|dir| dir.sync_all())
                .map_err(|err| named(err, "cannot sync", &self.dir))?;
        }
        state.blobs = now;
        Ok(())
    }

    /// How many blob files are on record, settled or not: for tests.
    #[cfg(test)]
    pub(crate) fn synced(&self) -> usize {
        self.state.lock().map_or(0, |state| state.blobs.len())
    }

    /// A sled database in a fresh directory, with its files: for tests. Flushed only when
    /// asked, so that what a test's flush syncs is what it wrote.
    #[cfg(test)]
    pub(crate) fn temporary() -> (tempfile::TempDir, sled::Db, std::sync::Arc<Disk>) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = (sled::Config::new().path(dir.path()))
            .flush_every_ms(None)
            .open()
            .expect("a fresh sled database");
        let disk = std::sync::Arc::new(Disk::new(dir.path()));
        (dir, db, disk)
    }

    /// How many blob files the database at `dir` holds: for tests.
    #[cfg(test)]
    pub(crate) fn blob_files(dir: &Path) -> usize {
        std::fs::read_dir(dir.join("blobs")).map_or(0, Iterator::count)
    }
}

/// Whether the blob in `file` is whole: its CRC (little-endian `u32`) matches its kind
/// byte and bytes, as sled checks it when it reads one back. Also how many bytes it has.
fn whole_blob(file: &mut File) -> io::Result<(bool, u64)> {
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let whole = bytes.len() > 4 && {
        let (crc, rest) = bytes.split_at(4);
        crc32fast::hash(rest).to_le_bytes() == crc
    };
    Ok((whole, bytes.len() as u64))
}

/// `err`, with what was being done to which path.
fn named(err: io::Error, doing: &str, path: &Path) -> io::Error {
    io::Error::new(err.kind(), format!("{doing} {}: {err}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::{Blob, Disk};

    /// Values over sled's blob threshold land in files of their own, which the first sync
    /// after they are written finds whole (sled's own format, D2) and settles.
    #[test]
    fn every_blob_sled_writes_is_synced_and_settled_whole() {
        let (dir, db, disk) = Disk::temporary();
        disk.sync().unwrap();
        assert_eq!(disk.synced(), 0, "no blob yet");
        db.insert(b"small", vec![1u8; 100]).unwrap();
        db.insert(b"large", vec![2u8; 300 << 10]).unwrap();
        db.insert(b"larger", vec![3u8; 600 << 10]).unwrap();
        db.flush().unwrap();
        disk.sync().unwrap();
        assert_eq!(
            Disk::blob_files(dir.path()),
            2,
            "the two large values are blobs"
        );
        let state = disk.state.lock().unwrap();
        assert_eq!(state.blobs.len(), 2);
        assert!(
            state.blobs.values().all(|b| *b == Blob::Settled),
            "{:?}",
            state.blobs
        );
    }

    /// A blob that sled is still writing is synced as it is and looked at again once it
    /// is longer; once whole it is settled and its length no longer read; one that goes
    /// is forgotten. Shown on a directory of its own, which sled does not clean up under
    /// the test.
    #[test]
    fn a_blob_written_meanwhile_is_synced_again_until_whole() {
        let other = tempfile::tempdir().unwrap();
        std::fs::create_dir(other.path().join("blobs")).unwrap();
        let disk = Disk::new(other.path());
        let torn = other.path().join("blobs").join("7");
        let state = |disk: &Disk| {
            disk.state
                .lock()
                .unwrap()
                .blobs
                .get(torn.file_name().unwrap())
                .copied()
        };
        let body = b"\x01a page of sled's";
        let mut whole = crc32fast::hash(body).to_le_bytes().to_vec();
        whole.extend_from_slice(body);

        std::fs::write(&torn, &whole[..7]).unwrap();
        disk.sync().unwrap();
        assert_eq!(state(&disk), Some(Blob::Partial(7)));
        std::fs::write(&torn, &whole[..12]).unwrap();
        disk.sync().unwrap();
        assert_eq!(state(&disk), Some(Blob::Partial(12)));
        std::fs::write(&torn, &whole).unwrap();
        disk.sync().unwrap();
        assert_eq!(state(&disk), Some(Blob::Settled));
        // Settled: a change (which sled never makes) goes unread.
        std::fs::write(&torn, b"other").unwrap();
        disk.sync().unwrap();
        assert_eq!(state(&disk), Some(Blob::Settled));
        std::fs::remove_file(&torn).unwrap();
        disk.sync().unwrap();
        assert_eq!(disk.synced(), 0);
    }
}
