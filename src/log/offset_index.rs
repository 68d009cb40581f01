//! The sparse offset index of one segment (Kafka's `OffsetIndex`, the
//! `.index` file): 8-byte big-endian entries `(offset - baseOffset: i32,
//! position: i32)`. Entries live in memory and are appended to the file as
//! they are added, so the file always holds exactly `entries × 8` bytes.

use crate::log::abstract_index::IndexFile;
use crate::log::errors::{LogError, LogResult};
use std::path::{Path, PathBuf};

pub const OFFSET_INDEX_ENTRY_SIZE: usize = 8;

#[derive(Debug)]
pub struct OffsetIndex {
    file: IndexFile,
    base_offset: i64,
    /// (relative offset, position)
    entries: Vec<(i32, i32)>,
}

impl OffsetIndex {
    /// Opens (or creates) the index. Its content is not trusted until
    /// `sanity_check` passes.
    pub fn open(path: &Path, base_offset: i64, max_index_bytes: u64) -> LogResult<OffsetIndex> {
        let (file, buf) = IndexFile::open(path, OFFSET_INDEX_ENTRY_SIZE, max_index_bytes)?;
        let entries = buf
            .chunks_exact(OFFSET_INDEX_ENTRY_SIZE)
            .map(|c| (i32::from_be_bytes([c[0], c[1], c[2], c[3]]), i32::from_be_bytes([c[4], c[5], c[6], c[7]])))
            .collect();
        Ok(OffsetIndex { file, base_offset, entries })
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }
    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    pub fn is_full(&self) -> bool {
        self.entries.len() >= self.file.max_entries()
    }
    pub fn max_entries(&self) -> usize {
        self.file.max_entries()
    }
    /// Absolute offset of the last entry (base offset when empty).
    pub fn last_offset(&self) -> i64 {
        self.entries.last().map_or(self.base_offset, |e| self.base_offset + e.0 as i64)
    }
    /// The last entry as (absolute offset, position).
    pub fn last_entry(&self) -> Option<(i64, u64)> {
        self.entries.last().map(|e| (self.base_offset + e.0 as i64, e.1 as u64))
    }

    /// Checks the entries: offsets strictly increasing and non-negative,
    /// positions non-decreasing and within `log_size`.
    pub fn sanity_check(&self, log_size: u64) -> Result<(), String> {
        let mut prev: Option<(i32, i32)> = None;
        for &(rel, pos) in &self.entries {
            if rel < 0 || pos < 0 || pos as u64 >= log_size.max(1) {
                return Err(format!("entry ({rel}, {pos}) out of range in {}", self.path().display()));
            }
            if let Some((pr, pp)) = prev {
                if rel <= pr || pos < pp {
                    return Err(format!("entries not increasing in {}", self.path().display()));
                }
            }
            prev = Some((rel, pos));
        }
        Ok(())
    }

    /// Greatest entry with offset <= `target`, as (absolute offset, position);
    /// (base offset, 0) if there is none.
    pub fn lookup(&self, target: i64) -> (i64, u64) {
        let rel = target.saturating_sub(self.base_offset);
        let idx = self.entries.partition_point(|e| (e.0 as i64) <= rel);
        if idx == 0 {
            (self.base_offset, 0)
        } else {
            let e = self.entries[idx - 1];
            (self.base_offset + e.0 as i64, e.1 as u64)
        }
    }

    /// Adds an entry; `offset` must be above the last entry's.
    pub fn append(&mut self, offset: i64, position: u64) -> LogResult<()> {
        let rel = offset.saturating_sub(self.base_offset);
        if rel < 0 || rel > i32::MAX as i64 || position > i32::MAX as u64 {
            return Err(LogError::Storage(format!("offset {offset}/position {position} cannot be indexed")));
        }
        if let Some(l) = self.entries.last() {
            if rel as i32 <= l.0 {
                return Err(LogError::Storage(format!(
                    "index entry for offset {offset} is not above the last one {}",
                    self.last_offset()
                )));
            }
        }
        if self.is_full() {
            return Err(LogError::Storage(format!("index {} is full", self.path().display())));
        }
        let mut b = [0u8; OFFSET_INDEX_ENTRY_SIZE];
        b[..4].copy_from_slice(&(rel as i32).to_be_bytes());
        b[4..].copy_from_slice(&(position as i32).to_be_bytes());
        self.file.write_entry(self.entries.len(), &b)?;
        self.entries.push((rel as i32, position as i32));
        Ok(())
    }

    /// Removes every entry with offset >= `offset`.
    pub fn truncate_to(&mut self, offset: i64) -> LogResult<()> {
        let rel = offset.saturating_sub(self.base_offset);
        let keep = self.entries.partition_point(|e| (e.0 as i64) < rel);
        self.entries.truncate(keep);
        self.file.truncate_entries(keep)
    }

    /// Removes every entry.
    pub fn reset(&mut self) -> LogResult<()> {
        self.truncate_to(i64::MIN)
    }

    pub fn flush(&self) -> LogResult<()> {
        self.file.flush()
    }

    pub fn sync_target(&self) -> LogResult<Option<crate::log::log_flush::IndexSync>> {
        self.file.sync_target()
    }

    /// Follows a rename of the directory holding the file.
    pub fn set_path(&mut self, path: PathBuf) {
        self.file.set_path(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_lookup_truncate_reopen() {
        let dir = std::env::temp_dir().join(format!("zk-oi-{}-{}", std::process::id(), rand::random::<u32>()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("00000000000000000100.index");
        let mut idx = OffsetIndex::open(&p, 100, 80).unwrap();
        assert_eq!(idx.lookup(150), (100, 0));
        for i in 1..=5 {
            idx.append(100 + i * 10, (i * 1000) as u64).unwrap();
        }
        assert!(idx.append(120, 9999).is_err());
        assert_eq!(idx.lookup(105), (100, 0));
        assert_eq!(idx.lookup(110), (110, 1000));
        assert_eq!(idx.lookup(135), (130, 3000));
        assert_eq!(idx.lookup(1000), (150, 5000));
        assert!(idx.sanity_check(6000).is_ok());
        assert!(idx.sanity_check(4000).is_err());
        drop(idx);
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 40);
        let mut idx = OffsetIndex::open(&p, 100, 80).unwrap();
        assert_eq!(idx.len(), 5);
        idx.truncate_to(130).unwrap();
        assert_eq!(idx.last_entry(), Some((120, 2000)));
        for i in 3..=10 {
            idx.append(100 + i * 10, (i * 1000) as u64).unwrap();
        }
        assert!(idx.is_full());
        assert!(idx.append(500, 1 << 20).is_err());
        // Torn/garbage file: odd length and non-increasing entries.
        std::fs::write(&p, [0u8; 8 * 3 + 5]).unwrap();
        let idx = OffsetIndex::open(&p, 100, 80).unwrap();
        assert_eq!(idx.len(), 3);
        assert!(idx.sanity_check(100).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
