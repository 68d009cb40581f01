//! The file side of the segment indexes (Kafka's `AbstractIndex`): an index
//! file of fixed-size big-endian entries, read whole at open (capped, so a
//! garbage file cannot make us allocate without bound), appended entry by
//! entry, truncated to a number of entries, fsynced, renamed with its
//! directory. `OffsetIndex` and `TimeIndex` keep their entries in memory and
//! use this for the file.
//!
//! The file descriptor is opened only while it is needed: reading at open
//! drops it, the first write opens it again (and keeps it); a truncation
//! (recovery resets every index of the segments it recovers) opens it only
//! for the call, and the next flush syncs it. An index that is never appended to (an idle partition, or any
//! segment but the active one) holds no descriptor, so a broker with 10,000
//! partitions holds about one per partition (the segment's log) instead of
//! three. Kafka gets the same effect by closing the index file after mapping it.

use crate::log::errors::{LogError, LogResult};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug)]
pub struct IndexFile {
    path: PathBuf,
    /// Open only once written to (or modified at open); see the module doc.
    file: Mutex<Option<File>>,
    /// A truncation made through a descriptor opened just for it and not
    /// yet fsynced (the next `flush` syncs it).
    unsynced: std::sync::atomic::AtomicBool,
    entry_size: usize,
    max_entries: usize,
}

/// Reads an index file of `entry_size` entries, capped at `max_bytes`
/// (a longer file is refused).
/// The file is returned only when it was modified (cut to whole entries).
fn read_index_file(path: &Path, entry_size: usize, max_bytes: u64) -> LogResult<(Option<File>, Vec<u8>)> {
    let file = OpenOptions::new().read(true).write(true).create(true).open(path)?;
    let len = file.metadata()?.len();
    if len > max_bytes {
        return Err(LogError::Corrupt(format!("{} is {len} bytes, more than {max_bytes}", path.display())));
    }
    let usable = (len as usize / entry_size) * entry_size;
    let mut buf = vec![0u8; usable];
    file.read_exact_at(&mut buf, 0)?;
    if usable as u64 != len {
        file.set_len(usable as u64)?;
        return Ok((Some(file), buf));
    }
    Ok((None, buf))
}

impl IndexFile {
    /// Opens (or creates) the file; returns it with its raw entries. A file
    /// too large to be an index of `max_index_bytes` is emptied (the caller
    /// rebuilds the index from the log).
    pub fn open(path: &Path, entry_size: usize, max_index_bytes: u64) -> LogResult<(IndexFile, Vec<u8>)> {
        let max_entries = (max_index_bytes as usize / entry_size).max(1);
        let cap = (max_entries * entry_size) as u64;
        let (file, buf) = match read_index_file(path, entry_size, cap.max(64 << 20)) {
            Ok(x) => x,
            Err(LogError::Corrupt(_)) => {
                let f = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(path)?;
                (Some(f), Vec::new())
            }
            Err(e) => return Err(e),
        };
        Ok((IndexFile { path: path.to_path_buf(), file: Mutex::new(file), unsynced: Default::default(), entry_size, max_entries }, buf))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn max_entries(&self) -> usize {
        self.max_entries
    }

    /// Runs `f` on the open file, opening it first if needed.
    fn with_file<T>(&self, f: impl FnOnce(&File) -> std::io::Result<T>) -> LogResult<T> {
        let mut guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = Some(OpenOptions::new().read(true).write(true).create(true).open(&self.path)?);
        }
        match guard.as_ref() {
            Some(file) => Ok(f(file)?),
            None => unreachable!("opened above"),
        }
    }

    /// Whether a descriptor is held (tests).
    pub fn is_open(&self) -> bool {
        self.file.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    /// Writes entry number `index` (the next one to append).
    pub fn write_entry(&self, index: usize, entry: &[u8]) -> LogResult<()> {
        self.with_file(|f| f.write_all_at(entry, (index * self.entry_size) as u64))
    }

    /// Cuts the file to its first `entries` entries. Without a held
    /// descriptor the file is opened for this call only (an unclean start-up
    /// resets the indexes of 10,000 segments; keeping their descriptors ran
    /// out of the fd limit).
    pub fn truncate_entries(&self, entries: usize) -> LogResult<()> {
        let len = (entries * self.entry_size) as u64;
        let guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Some(f) => f.set_len(len)?,
            None => {
                let f = OpenOptions::new().read(true).write(true).create(true).open(&self.path)?;
                f.set_len(len)?;
                self.unsynced.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        Ok(())
    }

    /// Syncs what was written or truncated through this index; a file not
    /// changed since it was read has nothing of ours to sync.
    pub fn flush(&self) -> LogResult<()> {
        let guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let unsynced = self.unsynced.swap(false, std::sync::atomic::Ordering::SeqCst);
        let r = match guard.as_ref() {
            Some(f) => f.sync_data(),
            None if unsynced => OpenOptions::new().write(true).open(&self.path).and_then(|f| f.sync_data()),
            None => Ok(()),
        };
        if r.is_err() && unsynced {
            self.unsynced.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(r?)
    }

    /// What a background flush must sync (`log_flush`): a duplicate of the
    /// held descriptor; else the path if a truncation is unsynced; else
    /// nothing (the file has not changed since it was read).
    pub fn sync_target(&self) -> LogResult<Option<crate::log::log_flush::IndexSync>> {
        use crate::log::log_flush::IndexSync;
        let guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        Ok(match guard.as_ref() {
            Some(f) => Some(IndexSync::File(f.try_clone()?)),
            None if self.unsynced.load(std::sync::atomic::Ordering::SeqCst) => Some(IndexSync::Path(self.path.clone())),
            None => None,
        })
    }

    /// Follows a rename of the directory holding the file.
    pub fn set_path(&mut self, path: PathBuf) {
        self.path = path;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_held_only_once_written() {
        let dir = std::env::temp_dir().join(format!("zkafka-idx-{}-{:?}", std::process::id(), std::thread::current().id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("00000000000000000000.index");
        let (idx, buf) = IndexFile::open(&path, 8, 1024).unwrap();
        assert!(buf.is_empty() && path.exists() && !idx.is_open());
        idx.flush().unwrap();
        assert!(!idx.is_open());
        idx.write_entry(0, &[1; 8]).unwrap();
        idx.write_entry(1, &[2; 8]).unwrap();
        assert!(idx.is_open());
        idx.flush().unwrap();
        drop(idx);
        // A torn entry is cut at open (which keeps the descriptor it wrote with).
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all_at(&[3; 3], 16).unwrap();
        let (idx, buf) = IndexFile::open(&path, 8, 1024).unwrap();
        assert_eq!(buf, [[1u8; 8], [2; 8]].concat());
        assert!(idx.is_open());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 16);
        drop(idx);
        let (idx, _) = IndexFile::open(&path, 8, 1024).unwrap();
        assert!(!idx.is_open());
        // Writing after a rename follows the new path.
        let moved = dir.join("moved.index");
        std::fs::rename(&path, &moved).unwrap();
        let mut idx = idx;
        idx.set_path(moved.clone());
        idx.truncate_entries(1).unwrap();
        assert_eq!(std::fs::metadata(&moved).unwrap().len(), 8);
        assert!(!path.exists());
        // A truncation without a held descriptor keeps none; the flush syncs it.
        assert!(!idx.is_open());
        idx.flush().unwrap();
        assert!(!idx.is_open());
        idx.truncate_entries(0).unwrap();
        assert_eq!(std::fs::metadata(&moved).unwrap().len(), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
