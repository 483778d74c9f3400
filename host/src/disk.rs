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
//!   the directory. A blob file is synced again whenever its length differs from the one
//!   last synced, so a blob that sled was still writing while one `sync` listed it is
//!   synced whole by the next.
//!
//! A leaf: both the queue and the store flush through it.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The log and blob files of one sled database, and the length each blob had when last
/// synced.
#[derive(Debug)]
pub struct Disk {
    log: PathBuf,
    dir: PathBuf,
    synced: Mutex<HashMap<OsString, u64>>,
}

impl Disk {
    /// The files of the sled database at `db_dir`.
    pub fn new(db_dir: &Path) -> Disk {
        Disk {
            log: db_dir.join("db"),
            dir: db_dir.join("blobs"),
            synced: Mutex::new(HashMap::new()),
        }
    }

    /// Syncs the log, then every blob file not synced at its present length, then their
    /// directory if any was (D1). Files that sled removes meanwhile are skipped.
    ///
    /// # Errors
    ///
    /// The I/O error of a listing, an open or an fsync, naming the file.
    pub fn sync(&self) -> io::Result<()> {
        // One sync at a time: two flushes may end together, and the map is their record.
        let mut synced = self.synced.lock().unwrap_or_else(|e| e.into_inner());
        match File::open(&self.log) {
            Ok(log) => log
                .sync_data()
                .map_err(|err| named(err, "cannot sync", &self.log))?,
            // A temporary database keeps its log elsewhere, and syncs nothing anyway.
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(named(err, "cannot open", &self.log)),
        }
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(named(err, "cannot list", &self.dir)),
        };
        let mut now = HashMap::with_capacity(synced.len() + 1);
        let mut fresh = false;
        for entry in entries {
            let entry = entry.map_err(|err| named(err, "cannot list", &self.dir))?;
            let path = entry.path();
            let len = match entry.metadata() {
                Ok(meta) => meta.len(),
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(named(err, "cannot read the length of", &path)),
            };
            let name = entry.file_name();
            if synced.get(&name) != Some(&len) {
                match File::open(&path) {
                    Ok(file) => file
                        .sync_all()
                        .map_err(|err| named(err, "cannot sync", &path))?,
                    Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                    Err(err) => return Err(named(err, "cannot open", &path)),
                }
                fresh = true;
            }
            now.insert(name, len);
        }
        if fresh {
            File::open(&self.dir)
                .and_then(|dir| dir.sync_all())
                .map_err(|err| named(err, "cannot sync", &self.dir))?;
        }
        *synced = now;
        Ok(())
    }

    /// How many blob files are on record as synced: for tests.
    #[cfg(test)]
    pub(crate) fn synced(&self) -> usize {
        self.synced.lock().map_or(0, |synced| synced.len())
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

/// `err`, with what was being done to which path.
fn named(err: io::Error, doing: &str, path: &Path) -> io::Error {
    io::Error::new(err.kind(), format!("{doing} {}: {err}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::Disk;

    /// Values over sled's blob threshold land in files of their own, each of which the
    /// first sync records, at its length; a file that grows is synced again, and one
    /// that goes is forgotten.
    #[test]
    fn every_blob_sled_writes_is_synced_and_one_that_changes_again() {
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
        assert_eq!(disk.synced(), 2);

        // A blob written meanwhile (as sled appends it) has a length the record lacks:
        // shown on a directory of its own, which sled does not clean up under the test.
        let other = tempfile::tempdir().unwrap();
        std::fs::create_dir(other.path().join("blobs")).unwrap();
        let disk = Disk::new(other.path());
        let torn = other.path().join("blobs").join("7");
        let len = |disk: &Disk| {
            disk.synced
                .lock()
                .unwrap()
                .get(torn.file_name().unwrap())
                .copied()
        };
        std::fs::write(&torn, b"part").unwrap();
        disk.sync().unwrap();
        assert_eq!(len(&disk), Some(4));
        std::fs::write(&torn, b"partial, then whole").unwrap();
        disk.sync().unwrap();
        assert_eq!(len(&disk), Some(19));
        std::fs::remove_file(&torn).unwrap();
        disk.sync().unwrap();
        assert_eq!(disk.synced(), 0);
    }
}
