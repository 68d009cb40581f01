//! The leader epoch cache of one partition (Kafka's `LeaderEpochFileCache`
//! persisted as `leader-epoch-checkpoint`): the ordered history of
//! (leader epoch, start offset) pairs, used to answer OffsetForLeaderEpoch and
//! to decide how far a follower must truncate.

use crate::log::checkpoint::{commit_temp, read_entries, render, write_atomic, write_temp};
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
    /// Bumped by every change of `epochs`; `persisted` is the version the
    /// checkpoint file holds (they differ only between `assign_deferred`
    /// and the batch that makes it durable).
    version: u64,
    persisted: u64,
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
        LeaderEpochFileCache { path, epochs, version: 0, persisted: 0 }
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
        if self.assign_deferred(epoch, start_offset) {
            self.flush()?;
        }
        Ok(())
    }

    /// `assign` without writing the file: true if the entries changed and
    /// the checkpoint is now behind them (`pending_checkpoint`). The caller
    /// makes it durable (`write_pending_temp`, then `commit_pending`) before
    /// anything is appended in the new epoch.
    pub fn assign_deferred(&mut self, epoch: i32, start_offset: i64) -> bool {
        if epoch < 0 || start_offset < 0 {
            return false;
        }
        let needed = match self.epochs.last() {
            Some(l) => epoch != l.epoch || start_offset < l.start_offset,
            None => true,
        };
        if !needed {
            return false;
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
        self.version += 1;
        true
    }

    /// True when the entries changed since the checkpoint file was written.
    pub fn pending_checkpoint(&self) -> bool {
        self.version != self.persisted
    }

    /// First step of a deferred write: the current entries to
    /// `<file>.tmp`, not yet fsynced. Returns the version written, or None
    /// when the file is already current.
    pub fn write_pending_temp(&self) -> LogResult<Option<u64>> {
        if !self.pending_checkpoint() {
            return Ok(None);
        }
        write_temp(&self.path, self.render().as_bytes())?;
        Ok(Some(self.version))
    }

    /// Last step of a deferred write, once the temp file is durable: renames
    /// it over the checkpoint, unless a `flush` since wrote a newer file (it
    /// used the same temp file and renamed it itself).
    pub fn commit_pending(&mut self, version: u64) -> LogResult<bool> {
        if self.version != version || self.persisted == version {
            return Ok(false);
        }
        commit_temp(&self.path)?;
        self.persisted = version;
        Ok(true)
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
        self.version += 1;
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
        self.version += 1;
        self.flush()
    }

    /// Forgets everything (log truncated fully).
    pub fn clear_and_flush(&mut self) -> LogResult<()> {
        self.epochs.clear();
        self.version += 1;
        self.flush()
    }

    /// Writes the checkpoint file (durably: tmp file, fsync, rename, fsync dir).
    pub fn flush(&mut self) -> LogResult<()> {
        write_atomic(&self.path, self.render().as_bytes())?;
        self.persisted = self.version;
        Ok(())
    }

    fn render(&self) -> String {
        let lines: Vec<String> = self.epochs.iter().map(|e| format!("{} {}", e.epoch, e.start_offset)).collect();
        render(&lines)
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

    #[test]
    fn deferred_assign_is_written_in_steps_and_yields_to_a_newer_flush() {
        let dir = std::env::temp_dir().join(format!("zk-lec-d-{}-{}", std::process::id(), rand::random::<u32>()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(LEADER_EPOCH_CHECKPOINT);
        let tmp = dir.join(format!("{LEADER_EPOCH_CHECKPOINT}.tmp"));
        let mut c = LeaderEpochFileCache::load(&dir);
        c.assign(0, 0).unwrap();
        assert!(!c.pending_checkpoint());
        assert_eq!(c.write_pending_temp().unwrap(), None, "nothing pending, nothing written");
        // Deferred: memory first, the file only once committed.
        assert!(c.assign_deferred(1, 0));
        assert!(!c.assign_deferred(1, 0), "the same entry again changes nothing");
        assert!(c.pending_checkpoint());
        assert_eq!(c.latest_epoch(), Some(1));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "0\n1\n0 0\n");
        let v = c.write_pending_temp().unwrap().unwrap();
        assert_eq!(std::fs::read_to_string(&tmp).unwrap(), "0\n1\n1 0\n");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "0\n1\n0 0\n", "the checkpoint is untouched until the commit");
        assert!(c.commit_pending(v).unwrap());
        assert!(!c.pending_checkpoint() && !tmp.exists());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "0\n1\n1 0\n");
        assert!(!c.commit_pending(v).unwrap(), "committed once");
        // A flush between the temp file and the commit wrote a newer file
        // (through the same temp file): the commit keeps it.
        assert!(c.assign_deferred(2, 5));
        let v = c.write_pending_temp().unwrap().unwrap();
        c.truncate_from_start(3).unwrap();
        assert!(!c.commit_pending(v).unwrap());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "0\n2\n1 3\n2 5\n");
        assert_eq!(LeaderEpochFileCache::load(&dir).entries(), c.entries());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
