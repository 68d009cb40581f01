//! The leader epoch cache of one partition (Kafka's `LeaderEpochFileCache`
//! persisted as `leader-epoch-checkpoint`): the ordered history of
//! (leader epoch, start offset) pairs, used to answer OffsetForLeaderEpoch and
//! to decide how far a follower must truncate.

use crate::log::checkpoint::{read_entries, render, write_atomic};
use crate::log::errors::LogResult;
use std::path::{Path, PathBuf};

pub const LEADER_EPOCH_CHECKPOINT: &str = "leader-epoch-checkpoint";
pub const UNDEFINED_EPOCH: i32 = -1;
pub const UNDEFINED_EPOCH_OFFSET: i64 = -1;

/// One epoch and the first offset written in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEntry {
    pub epoch: i32,
    pub start_offset: i64,
}

/// Epoch history, strictly increasing in both epoch and start offset.
#[derive(Debug)]
pub struct LeaderEpochFileCache {
    path: PathBuf,
    epochs: Vec<EpochEntry>,
}

impl LeaderEpochFileCache {
    /// Loads `<dir>/leader-epoch-checkpoint`. A missing file is an empty cache;
    /// a malformed one is logged and treated as empty (it is rebuilt from
    /// later appends), never a panic.
    pub fn load(dir: &Path) -> LeaderEpochFileCache {
        let path = dir.join(LEADER_EPOCH_CHECKPOINT);
        let mut epochs = Vec::new();
        match read_entries(&path) {
            Ok(Some(entries)) => {
                for e in entries {
                    let parsed = match e.as_slice() {
                        [a, b] => a.parse::<i32>().ok().zip(b.parse::<i64>().ok()),
                        _ => None,
                    };
                    match parsed {
                        Some((epoch, start_offset))
                            if epoch >= 0
                                && start_offset >= 0
                                && epochs.last().map_or(true, |l: &EpochEntry| {
                                    epoch > l.epoch && start_offset >= l.start_offset
                                }) =>
                        {
                            epochs.push(EpochEntry { epoch, start_offset })
                        }
                        _ => {
                            log::warn!("ignoring bad or non-monotonic entry {e:?} in {}", path.display());
                        }
                    }
                }
            }
            Ok(None) => {}
            Err(e) => log::warn!("{e}; starting with an empty leader epoch cache"),
        }
        LeaderEpochFileCache { path, epochs }
    }

    pub fn entries(&self) -> &[EpochEntry] {
        &self.epochs
    }

    pub fn is_empty(&self) -> bool {
        self.epochs.is_empty()
    }

    pub fn latest_entry(&self) -> Option<EpochEntry> {
        self.epochs.last().copied()
    }

    pub fn latest_epoch(&self) -> Option<i32> {
        self.epochs.last().map(|e| e.epoch)
    }

    pub fn earliest_entry(&self) -> Option<EpochEntry> {
        self.epochs.first().copied()
    }

    /// Records that `epoch` starts at `start_offset`. Entries that would break
    /// monotonicity (epoch >= new epoch, or start offset >= new start offset)
    /// are dropped first. Persists when something changed.
    pub fn assign(&mut self, epoch: i32, start_offset: i64) -> LogResult<()> {
        if epoch < 0 || start_offset < 0 {
            return Ok(());
        }
        let needed = match self.epochs.last() {
            Some(l) => epoch != l.epoch || start_offset < l.start_offset,
            None => true,
        };
        if !needed {
            return Ok(());
        }
        if let Some(l) = self.epochs.last() {
            if epoch < l.epoch || start_offset < l.start_offset {
                log::warn!(
                    "epoch {epoch}@{start_offset} is not after latest {}@{}; dropping conflicting entries",
                    l.epoch,
                    l.start_offset
                );
            }
        }
        self.epochs.retain(|e| e.epoch < epoch && e.start_offset < start_offset);
        self.epochs.push(EpochEntry { epoch, start_offset });
        self.flush()
    }

    /// OffsetForLeaderEpoch: the largest epoch <= `requested` and the end
    /// offset of that epoch (the start of the next one, or `log_end_offset`
    /// for the latest). `(-1, -1)` when unknown.
    pub fn end_offset_for(&self, requested: i32, log_end_offset: i64) -> (i32, i64) {
        if requested == UNDEFINED_EPOCH || self.epochs.is_empty() {
            return (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
        }
        if self.latest_epoch() == Some(requested) {
            return (requested, log_end_offset);
        }
        let higher = self.epochs.iter().find(|e| e.epoch > requested);
        let floor = self.epochs.iter().rev().find(|e| e.epoch <= requested);
        match (floor, higher) {
            (_, None) => (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET),
            (None, Some(h)) => (requested, h.start_offset),
            (Some(f), Some(h)) => (f.epoch, h.start_offset),
        }
    }

    /// The epoch that was current when `offset` was written.
    pub fn epoch_for_offset(&self, offset: i64) -> Option<i32> {
        self.epochs.iter().rev().find(|e| e.start_offset <= offset).map(|e| e.epoch)
    }

    /// Drops epochs starting at or after `end_offset` (log truncated to it).
    pub fn truncate_from_end(&mut self, end_offset: i64) -> LogResult<()> {
        if end_offset < 0 || !self.epochs.last().map_or(false, |l| l.start_offset >= end_offset) {
            return Ok(());
        }
        self.epochs.retain(|e| e.start_offset < end_offset);
        self.flush()
    }

    /// Log start moved to `start_offset`: entries wholly before it go, the
    /// last one at or below it is moved up to start there.
    pub fn truncate_from_start(&mut self, start_offset: i64) -> LogResult<()> {
        let below: Vec<usize> =
            (0..self.epochs.len()).filter(|&i| self.epochs[i].start_offset <= start_offset).collect();
        let Some(&last_below) = below.last() else {
            return Ok(());
        };
        if self.epochs[last_below].start_offset == start_offset && last_below == 0 {
            return Ok(());
        }
        let kept_epoch = self.epochs[last_below].epoch;
        self.epochs.drain(..=last_below);
        self.epochs.insert(0, EpochEntry { epoch: kept_epoch, start_offset });
        self.flush()
    }

    /// Forgets everything (log truncated fully).
    pub fn clear_and_flush(&mut self) -> LogResult<()> {
        self.epochs.clear();
        self.flush()
    }

    /// Writes the checkpoint file.
    pub fn flush(&self) -> LogResult<()> {
        let lines: Vec<String> = self.epochs.iter().map(|e| format!("{} {}", e.epoch, e.start_offset)).collect();
        write_atomic(&self.path, render(&lines).as_bytes())?;
        Ok(())
    }

    /// Follows a rename of the partition directory.
    pub fn set_dir(&mut self, dir: &Path) {
        self.path = dir.join(LEADER_EPOCH_CHECKPOINT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_assign_lookup_truncate_persist() {
        let dir = std::env::temp_dir().join(format!("zk-lec-{}-{}", std::process::id(), rand::random::<u32>()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut c = LeaderEpochFileCache::load(&dir);
        assert_eq!(c.end_offset_for(0, 10), (-1, -1));
        c.assign(0, 0).unwrap();
        c.assign(0, 5).unwrap(); // same epoch: no change
        c.assign(1, 10).unwrap();
        c.assign(3, 20).unwrap();
        assert_eq!(c.entries().len(), 3);
        assert_eq!(c.end_offset_for(3, 30), (3, 30));
        assert_eq!(c.end_offset_for(0, 30), (0, 10));
        assert_eq!(c.end_offset_for(2, 30), (1, 20));
        assert_eq!(c.end_offset_for(4, 30), (-1, -1));
        assert_eq!(c.epoch_for_offset(15), Some(1));
        let text = std::fs::read_to_string(dir.join(LEADER_EPOCH_CHECKPOINT)).unwrap();
        assert_eq!(text, "0\n3\n0 0\n1 10\n3 20\n");
        let reloaded = LeaderEpochFileCache::load(&dir);
        assert_eq!(reloaded.entries(), c.entries());

        c.truncate_from_end(20).unwrap();
        assert_eq!(c.latest_entry(), Some(EpochEntry { epoch: 1, start_offset: 10 }));
        c.truncate_from_start(12).unwrap();
        assert_eq!(c.entries(), &[EpochEntry { epoch: 1, start_offset: 12 }]);
        c.assign(5, 12).unwrap(); // same start offset, higher epoch replaces
        assert_eq!(c.entries(), &[EpochEntry { epoch: 5, start_offset: 12 }]);
        c.clear_and_flush().unwrap();
        assert!(LeaderEpochFileCache::load(&dir).is_empty());

        std::fs::write(dir.join(LEADER_EPOCH_CHECKPOINT), "garbage\n\u{1}").unwrap();
        assert!(LeaderEpochFileCache::load(&dir).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
