//! The sparse time index of one segment (Kafka's `TimeIndex`, the
//! `.timeindex` file): 12-byte big-endian entries `(timestamp: i64,
//! offset - baseOffset: i32)` meaning "records with a timestamp above T are at
//! or after offset O". Timestamps in the index strictly increase.

use crate::log::abstract_index::IndexFile;
use crate::log::errors::{LogError, LogResult};
use std::path::{Path, PathBuf};

pub const TIME_INDEX_ENTRY_SIZE: usize = 12;

#[derive(Debug)]
pub struct TimeIndex {
    file: IndexFile,
    base_offset: i64,
    /// (timestamp, relative offset)
    entries: Vec<(i64, i32)>,
}

impl TimeIndex {
    pub fn open(path: &Path, base_offset: i64, max_index_bytes: u64) -> LogResult<TimeIndex> {
        let (file, buf) = IndexFile::open(path, TIME_INDEX_ENTRY_SIZE, max_index_bytes)?;
        let entries = buf
            .chunks_exact(TIME_INDEX_ENTRY_SIZE)
            .map(|c| {
                let mut t = [0u8; 8];
                t.copy_from_slice(&c[..8]);
                (i64::from_be_bytes(t), i32::from_be_bytes([c[8], c[9], c[10], c[11]]))
            })
            .collect();
        Ok(TimeIndex { file, base_offset, entries })
    }

    pub fn path(&self) -> &Path {
        self.file.path()
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
    /// Last entry as (timestamp, absolute offset).
    pub fn last_entry(&self) -> Option<(i64, i64)> {
        self.entries.last().map(|e| (e.0, self.base_offset + e.1 as i64))
    }

    /// Timestamps strictly increasing, offsets non-decreasing, non-negative
    /// and below `next_offset`.
    pub fn sanity_check(&self, next_offset: i64) -> Result<(), String> {
        let mut prev: Option<(i64, i32)> = None;
        for &(ts, rel) in &self.entries {
            if rel < 0 || self.base_offset + rel as i64 >= next_offset.max(self.base_offset + 1) {
                return Err(format!("entry ({ts}, {rel}) out of range in {}", self.path().display()));
            }
            if let Some((pt, pr)) = prev {
                if ts <= pt || rel < pr {
                    return Err(format!("entries not increasing in {}", self.path().display()));
                }
            }
            prev = Some((ts, rel));
        }
        Ok(())
    }

    /// Entry with the largest timestamp <= `target`, as (timestamp, absolute
    /// offset); (-1, base offset) when there is none.
    pub fn lookup(&self, target: i64) -> (i64, i64) {
        let idx = self.entries.partition_point(|e| e.0 <= target);
        if idx == 0 {
            (-1, self.base_offset)
        } else {
            let e = self.entries[idx - 1];
            (e.0, self.base_offset + e.1 as i64)
        }
    }

    /// Adds `(timestamp, offset)` if `timestamp` is above the last entry's.
    /// `skip_full_check` is used for the final entry written when a segment
    /// becomes inactive (Kafka allows that one even when full).
    pub fn maybe_append(&mut self, timestamp: i64, offset: i64, skip_full_check: bool) -> LogResult<()> {
        if !skip_full_check && self.is_full() {
            return Err(LogError::Storage(format!("time index {} is full", self.path().display())));
        }
        if let Some(l) = self.entries.last() {
            if timestamp <= l.0 {
                return Ok(());
            }
            if offset < self.base_offset + l.1 as i64 {
                return Err(LogError::Storage(format!("time index offset {offset} goes backwards")));
            }
        }
        let rel = offset.saturating_sub(self.base_offset);
        if rel < 0 || rel > i32::MAX as i64 {
            return Err(LogError::Storage(format!("offset {offset} cannot be time-indexed")));
        }
        let mut b = [0u8; TIME_INDEX_ENTRY_SIZE];
        b[..8].copy_from_slice(&timestamp.to_be_bytes());
        b[8..].copy_from_slice(&(rel as i32).to_be_bytes());
        self.file.write_entry(self.entries.len(), &b)?;
        self.entries.push((timestamp, rel as i32));
        Ok(())
    }

    /// Removes every entry with offset >= `offset`.
    pub fn truncate_to(&mut self, offset: i64) -> LogResult<()> {
        let rel = offset.saturating_sub(self.base_offset);
        let keep = self.entries.partition_point(|e| (e.1 as i64) < rel);
        self.entries.truncate(keep);
        self.file.truncate_entries(keep)
    }

    pub fn reset(&mut self) -> LogResult<()> {
        self.truncate_to(i64::MIN)
    }

    pub fn flush(&self) -> LogResult<()> {
        self.file.flush()
    }

    pub fn sync_target(&self) -> LogResult<Option<crate::log::log_flush::IndexSync>> {
        self.file.sync_target()
    }

    pub fn set_path(&mut self, path: PathBuf) {
        self.file.set_path(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_lookup_truncate() {
        let dir = std::env::temp_dir().join(format!("zk-ti-{}-{}", std::process::id(), rand::random::<u32>()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("00000000000000000000.timeindex");
        let mut t = TimeIndex::open(&p, 0, 120).unwrap();
        assert_eq!(t.lookup(5), (-1, 0));
        t.maybe_append(100, 10, false).unwrap();
        t.maybe_append(100, 20, false).unwrap(); // not above: ignored
        t.maybe_append(200, 30, false).unwrap();
        t.maybe_append(300, 40, false).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t.lookup(99), (-1, 0));
        assert_eq!(t.lookup(250), (200, 30));
        assert_eq!(t.lookup(1000), (300, 40));
        assert!(t.sanity_check(41).is_ok());
        assert!(t.sanity_check(40).is_err());
        drop(t);
        let mut t = TimeIndex::open(&p, 0, 120).unwrap();
        assert_eq!(t.last_entry(), Some((300, 40)));
        t.truncate_to(30).unwrap();
        assert_eq!(t.last_entry(), Some((100, 10)));
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 12);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
