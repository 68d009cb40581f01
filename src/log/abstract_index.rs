//! The file side of the segment indexes (Kafka's `AbstractIndex`): an index
//! file of fixed-size big-endian entries, read whole at open (capped, so a
//! garbage file cannot make us allocate without bound), appended entry by
//! entry, truncated to a number of entries, fsynced, renamed with its
//! directory. `OffsetIndex` and `TimeIndex` keep their entries in memory and
//! use this for the file.

use crate::log::errors::{LogError, LogResult};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct IndexFile {
    path: PathBuf,
    file: File,
    entry_size: usize,
    max_entries: usize,
}

/// Reads an index file of `entry_size` entries, capped at `max_bytes`
/// (a longer file is refused).
fn read_index_file(path: &Path, entry_size: usize, max_bytes: u64) -> LogResult<(File, Vec<u8>)> {
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
    }
    Ok((file, buf))
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
                (f, Vec::new())
            }
            Err(e) => return Err(e),
        };
        Ok((IndexFile { path: path.to_path_buf(), file, entry_size, max_entries }, buf))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn max_entries(&self) -> usize {
        self.max_entries
    }

    /// Writes entry number `index` (the next one to append).
    pub fn write_entry(&self, index: usize, entry: &[u8]) -> LogResult<()> {
        self.file.write_all_at(entry, (index * self.entry_size) as u64)?;
        Ok(())
    }

    /// Cuts the file to its first `entries` entries.
    pub fn truncate_entries(&self, entries: usize) -> LogResult<()> {
        self.file.set_len((entries * self.entry_size) as u64)?;
        Ok(())
    }

    pub fn flush(&self) -> LogResult<()> {
        self.file.sync_data()?;
        Ok(())
    }

    /// Follows a rename of the directory holding the file.
    pub fn set_path(&mut self, path: PathBuf) {
        self.path = path;
    }
}
