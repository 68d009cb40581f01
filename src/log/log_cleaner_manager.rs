//! The log cleaner's bookkeeping (Kafka's `LogCleanerManager`): which log to
//! clean next (the filthiest compacted log whose dirty ratio reaches
//! `min.cleanable.dirty.ratio`, or one overdue by `max.compaction.lag.ms`),
//! which offsets are cleanable (never the active segment, nothing within
//! `min.compaction.lag.ms`), the `cleaner-offset-checkpoint` file of each log
//! dir, and the per-partition cleaning states (in progress, aborted,
//! paused) through which retention, log deletion, truncation and log-dir
//! moves keep the cleaner off a partition. The decisions are pure
//! functions over `CleanerSegment` summaries; the state and files sit in
//! `LogCleanerManager`.

use crate::common::TopicPartition;
use crate::log::checkpoint::OffsetCheckpointFile;
use crate::log::log::{CleanerSegment, CleanerView, Log};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// File name of the cleaner's checkpoint in each log dir.
pub const CLEANER_OFFSET_CHECKPOINT: &str = "cleaner-offset-checkpoint";

/// Kafka's `LogCleaningState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogCleaningState {
    InProgress,
    Aborted,
    Paused(u32),
}

/// Kafka's `OffsetsToClean`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetsToClean {
    pub first_dirty_offset: i64,
    pub first_uncleanable_dirty_offset: i64,
    /// The checkpoint was invalid and must be reset to `first_dirty_offset`.
    pub force_update_checkpoint: bool,
}

/// Kafka's `cleanableOffsets`: from the checkpointed clean offset (reset to
/// the log start if it is below it or past the log end), up to the first of:
/// the first unstable offset, the active segment, the first dirty segment holding a record newer than
/// `now - min.compaction.lag.ms`.
pub fn cleanable_offsets(view: &CleanerView, last_clean_offset: Option<i64>, now: i64) -> OffsetsToClean {
    let lso = view.log_start_offset;
    let checkpoint = last_clean_offset.unwrap_or(lso);
    let (first_dirty, force) = if checkpoint < lso || checkpoint > view.log_end_offset {
        (lso, last_clean_offset.is_some())
    } else {
        (checkpoint, false)
    };
    let mut uncleanable = view.active_base_offset();
    // Never beyond the first unstable offset (open transactions).
    if let Some(fu) = view.first_unstable_offset {
        uncleanable = uncleanable.min(fu);
    }
    let lag = view.config.min_compaction_lag_ms.max(0);
    if lag > 0 {
        if let Some(s) = non_active_segments_from(&view.segments, first_dirty)
            .find(|s| s.largest_timestamp > now.saturating_sub(lag))
        {
            uncleanable = uncleanable.min(s.base_offset);
        }
    }
    OffsetsToClean {
        first_dirty_offset: first_dirty,
        first_uncleanable_dirty_offset: first_dirty.max(uncleanable),
        force_update_checkpoint: force,
    }
}

/// Kafka's `nonActiveLogSegmentsFrom`: the segments holding offsets >= `from`
/// (the one containing it included), the active one excluded.
fn non_active_segments_from(segments: &[CleanerSegment], from: i64) -> impl Iterator<Item = &CleanerSegment> {
    let n = segments.len().saturating_sub(1);
    segments[..n].iter().enumerate().filter(move |(i, s)| {
        let upper = segments.get(i + 1).map_or(s.next_offset, |next| next.base_offset);
        upper > from
    }).map(|(_, s)| s)
}

/// Kafka's `maxCompactionDelay`: how long past `max.compaction.lag.ms` the
/// oldest dirty non-active segment's first batch is (0 if not overdue).
pub fn max_compaction_delay(view: &CleanerView, first_dirty_offset: i64, now: i64) -> i64 {
    let earliest = non_active_segments_from(&view.segments, first_dirty_offset)
        .map(|s| s.first_batch_timestamp)
        .filter(|t| *t > 0)
        .min()
        .unwrap_or(i64::MAX);
    let clean_until = now.saturating_sub(view.config.max_compaction_lag_ms.max(0));
    if earliest < clean_until {
        clean_until - earliest
    } else {
        0
    }
}

/// Kafka's `calculateCleanableBytes`: the base of the first uncleanable
/// segment and the bytes of the segments in `[first_dirty, it)`.
pub fn calculate_cleanable_bytes(view: &CleanerView, first_dirty: i64, uncleanable: i64) -> (i64, u64) {
    let first_uncleanable = non_active_segments_from(&view.segments, uncleanable)
        .next()
        .map_or_else(|| view.active_base_offset(), |s| s.base_offset);
    let from = first_dirty.min(first_uncleanable);
    let bytes = segments_in_range(&view.segments, from, first_uncleanable).map(|s| s.size).sum();
    (first_uncleanable, bytes)
}

/// Kafka's `logSegments(from, to)`: the segments overlapping `[from, to)`.
pub fn segments_in_range(segments: &[CleanerSegment], from: i64, to: i64) -> impl Iterator<Item = &CleanerSegment> {
    segments.iter().enumerate().filter(move |(i, s)| {
        let upper = segments.get(i + 1).map_or(i64::MAX, |next| next.base_offset);
        s.base_offset < to && upper > from
    }).map(|(_, s)| s)
}

/// Kafka's `LogToClean`: a candidate with its dirty ratio.
#[derive(Debug, Clone)]
pub struct LogToClean {
    pub tp: TopicPartition,
    pub log: Arc<Log>,
    pub first_dirty_offset: i64,
    pub first_uncleanable_offset: i64,
    pub clean_bytes: u64,
    pub cleanable_bytes: u64,
    pub need_compaction_now: bool,
    pub min_cleanable_ratio: f64,
}

impl LogToClean {
    /// Evaluates a log (Kafka's `LogToClean` constructor).
    pub fn new(tp: TopicPartition, log: Arc<Log>, view: &CleanerView, offsets: OffsetsToClean, delay_ms: i64) -> LogToClean {
        let clean_bytes = segments_in_range(&view.segments, -1, offsets.first_dirty_offset).map(|s| s.size).sum();
        let (first_uncleanable, cleanable_bytes) =
            calculate_cleanable_bytes(view, offsets.first_dirty_offset, offsets.first_uncleanable_dirty_offset);
        LogToClean {
            tp,
            log,
            first_dirty_offset: offsets.first_dirty_offset,
            first_uncleanable_offset: first_uncleanable,
            clean_bytes,
            cleanable_bytes,
            need_compaction_now: delay_ms > 0,
            min_cleanable_ratio: view.config.min_cleanable_dirty_ratio,
        }
    }
    pub fn total_bytes(&self) -> u64 {
        self.clean_bytes + self.cleanable_bytes
    }
    pub fn cleanable_ratio(&self) -> f64 {
        self.cleanable_bytes as f64 / self.total_bytes().max(1) as f64
    }
    /// Kafka's filter in `grabFilthiestCompactedLog`.
    pub fn is_cleanable(&self) -> bool {
        (self.need_compaction_now && self.cleanable_bytes > 0) || self.cleanable_ratio() > self.min_cleanable_ratio
    }
}

/// Picks the filthiest cleanable candidate (index into `candidates`).
pub fn choose_filthiest(candidates: &[LogToClean]) -> Option<usize> {
    candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| c.total_bytes() > 0 && c.is_cleanable())
        .max_by(|a, b| a.1.cleanable_ratio().partial_cmp(&b.1.cleanable_ratio()).unwrap_or(std::cmp::Ordering::Equal))
        .map(|(i, _)| i)
}

/// What a segment-grouping decision needs of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupingInput {
    pub base_offset: i64,
    pub size: u64,
    pub offset_index_bytes: u64,
    pub time_index_bytes: u64,
}

/// Kafka's `groupSegmentsBySize`: consecutive segments are merged into one
/// cleaned segment while the sum of their log sizes stays within
/// `max_size` (`segment.bytes`), their index sizes within `max_index_size`,
/// and the offsets of the group fit 32-bit offsets relative to its base.
/// Returns the groups as index ranges into `segments`.
pub fn group_segments_by_size(
    segments: &[GroupingInput],
    max_size: u64,
    max_index_size: u64,
    first_uncleanable_offset: i64,
) -> Vec<std::ops::Range<usize>> {
    let mut groups = Vec::new();
    let mut i = 0;
    while i < segments.len() {
        let start = i;
        let mut log_size = segments[i].size;
        let mut index_size = segments[i].offset_index_bytes;
        let mut time_index_size = segments[i].time_index_bytes;
        i += 1;
        while i < segments.len() {
            let s = segments[i];
            // The last offset the next segment may hold.
            let last_offset = segments.get(i + 1).map_or(first_uncleanable_offset - 1, |n| n.base_offset - 1);
            if log_size + s.size > max_size
                || index_size + s.offset_index_bytes > max_index_size
                || time_index_size + s.time_index_bytes > max_index_size
                || last_offset - segments[start].base_offset > i32::MAX as i64
            {
                break;
            }
            log_size += s.size;
            index_size += s.offset_index_bytes;
            time_index_size += s.time_index_bytes;
            i += 1;
        }
        groups.push(start..i);
    }
    groups
}

struct ManagerState {
    in_progress: HashMap<TopicPartition, LogCleaningState>,
    /// Partitions whose cleaning failed unexpectedly (Kafka's
    /// `uncleanablePartitions`): skipped until the broker restarts.
    uncleanable: HashSet<TopicPartition>,
    /// The checkpoint of each log dir, in memory (written through).
    checkpoints: HashMap<PathBuf, HashMap<TopicPartition, i64>>,
}

/// Kafka's `LogCleanerManager` (see the module doc).
pub struct LogCleanerManager {
    log_dirs: Vec<PathBuf>,
    state: Mutex<ManagerState>,
    paused: Condvar,
}

impl LogCleanerManager {
    /// Reads each log dir's `cleaner-offset-checkpoint` (a malformed one is
    /// logged and treated as empty: everything is dirty again).
    pub fn new(log_dirs: &[PathBuf]) -> LogCleanerManager {
        let mut checkpoints = HashMap::new();
        for d in log_dirs {
            let f = OffsetCheckpointFile::new(d.join(CLEANER_OFFSET_CHECKPOINT));
            let m = f.read().unwrap_or_else(|e| {
                log::error!("{e}; every compacted log in {} will be cleaned from its start", d.display());
                HashMap::new()
            });
            checkpoints.insert(d.clone(), m);
        }
        LogCleanerManager {
            log_dirs: log_dirs.to_vec(),
            state: Mutex::new(ManagerState { in_progress: HashMap::new(), uncleanable: HashSet::new(), checkpoints }),
            paused: Condvar::new(),
        }
    }

    fn st(&self) -> std::sync::MutexGuard<'_, ManagerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every log's checkpointed clean offset (Kafka's `allCleanerCheckpoints`).
    pub fn all_cleaner_checkpoints(&self) -> HashMap<TopicPartition, i64> {
        self.st().checkpoints.values().flat_map(|m| m.iter().map(|(k, v)| (k.clone(), *v))).collect()
    }

    pub fn cleaning_state(&self, tp: &TopicPartition) -> Option<LogCleaningState> {
        self.st().in_progress.get(tp).copied()
    }

    /// Kafka's `grabFilthiestCompactedLog`: evaluates every compacted log not
    /// in any cleaning state, and marks the filthiest cleanable one in progress.
    pub fn grab_filthiest_compacted_log(&self, logs: &[Arc<Log>], now: i64) -> Option<LogToClean> {
        let mut st = self.st();
        let mut candidates = Vec::new();
        let mut resets = Vec::new();
        for log in logs {
            let tp = log.topic_partition().clone();
            if st.in_progress.contains_key(&tp) || st.uncleanable.contains(&tp) {
                continue;
            }
            let Ok(view) = log.cleaner_view() else { continue };
            if !view.config.compact() {
                continue;
            }
            let dir = view.dir.parent().map(Path::to_path_buf).unwrap_or_default();
            let last = st.checkpoints.get(&dir).and_then(|m| m.get(&tp)).copied();
            let offsets = cleanable_offsets(&view, last, now);
            if offsets.force_update_checkpoint {
                if !view.config.delete() {
                    log::warn!(
                        "Resetting first dirty offset of {tp} to log start offset {} since the checkpointed offset {:?} is invalid.",
                        offsets.first_dirty_offset,
                        last
                    );
                }
                resets.push((dir, tp.clone(), offsets.first_dirty_offset));
            }
            let delay = max_compaction_delay(&view, offsets.first_dirty_offset, now);
            candidates.push(LogToClean::new(tp, log.clone(), &view, offsets, delay));
        }
        for (dir, tp, o) in resets {
            Self::update_checkpoint_locked(&mut st, &dir, &tp, Some(o));
        }
        let i = choose_filthiest(&candidates)?;
        let chosen = candidates.swap_remove(i);
        st.in_progress.insert(chosen.tp.clone(), LogCleaningState::InProgress);
        Some(chosen)
    }

    fn update_checkpoint_locked(st: &mut ManagerState, dir: &Path, tp: &TopicPartition, offset: Option<i64>) {
        let Some(m) = st.checkpoints.get_mut(dir) else { return };
        match offset {
            Some(o) => {
                m.insert(tp.clone(), o);
            }
            None => {
                if m.remove(tp).is_none() {
                    return;
                }
            }
        }
        if let Err(e) = OffsetCheckpointFile::new(dir.join(CLEANER_OFFSET_CHECKPOINT)).write(m) {
            log::error!("Failed to write {} in {}: {e}", CLEANER_OFFSET_CHECKPOINT, dir.display());
        }
    }

    /// Kafka's `updateCheckpoints`: sets (or with `None` removes) `tp`'s entry
    /// in `dir`'s `cleaner-offset-checkpoint`.
    pub fn update_checkpoint(&self, dir: &Path, tp: &TopicPartition, offset: Option<i64>) {
        let mut st = self.st();
        Self::update_checkpoint_locked(&mut st, dir, tp, offset);
    }

    /// Kafka's `maybeTruncateCheckpoint`: a truncated log's clean offset
    /// must not stay beyond the truncation point.
    pub fn maybe_truncate_checkpoint(&self, dir: &Path, tp: &TopicPartition, offset: i64) {
        let mut st = self.st();
        let cur = st.checkpoints.get(dir).and_then(|m| m.get(tp)).copied();
        if cur.is_some_and(|c| c > offset) {
            Self::update_checkpoint_locked(&mut st, dir, tp, Some(offset));
        }
    }

    /// Kafka's `alterCheckpointDir`: a replica moved from `from` to `to` takes its entry along.
    pub fn alter_checkpoint_dir(&self, tp: &TopicPartition, from: &Path, to: &Path) {
        let mut st = self.st();
        if let Some(o) = st.checkpoints.get(from).and_then(|m| m.get(tp)).copied() {
            Self::update_checkpoint_locked(&mut st, from, tp, None);
            Self::update_checkpoint_locked(&mut st, to, tp, Some(o));
        }
    }

    /// Kafka's `abortAndPauseCleaning`: pauses `tp` (counting pauses); if it
    /// is being cleaned, marks it aborted and waits until the cleaner has
    /// stopped.
    pub fn abort_and_pause_cleaning(&self, tp: &TopicPartition) {
        let mut st = self.st();
        let next = match st.in_progress.get(tp).copied() {
            None => LogCleaningState::Paused(1),
            Some(LogCleaningState::InProgress) => LogCleaningState::Aborted,
            Some(LogCleaningState::Paused(n)) => LogCleaningState::Paused(n + 1),
            // Someone else is already waiting for the abort: wait too, then add a pause.
            Some(LogCleaningState::Aborted) => LogCleaningState::Aborted,
        };
        let extra_pause = st.in_progress.get(tp) == Some(&LogCleaningState::Aborted);
        st.in_progress.insert(tp.clone(), next);
        while !matches!(st.in_progress.get(tp), Some(LogCleaningState::Paused(_))) {
            st = self.paused.wait_timeout(st, Duration::from_millis(100)).unwrap_or_else(|e| e.into_inner()).0;
        }
        if extra_pause {
            if let Some(LogCleaningState::Paused(n)) = st.in_progress.get(tp).copied() {
                st.in_progress.insert(tp.clone(), LogCleaningState::Paused(n + 1));
            }
        }
    }

    /// Kafka's `resumeCleaning`: undoes one pause of each partition.
    pub fn resume_cleaning(&self, tps: &[TopicPartition]) {
        let mut st = self.st();
        for tp in tps {
            match st.in_progress.get(tp).copied() {
                Some(LogCleaningState::Paused(1)) => {
                    st.in_progress.remove(tp);
                }
                Some(LogCleaningState::Paused(n)) => {
                    st.in_progress.insert(tp.clone(), LogCleaningState::Paused(n - 1));
                }
                other => log::warn!("Compaction for partition {tp} cannot be resumed since it is in state {other:?}"),
            }
        }
    }

    /// Kafka's `abortCleaning`: abort (waiting) and resume.
    pub fn abort_cleaning(&self, tp: &TopicPartition) {
        self.abort_and_pause_cleaning(tp);
        self.resume_cleaning(std::slice::from_ref(tp));
    }

    /// Whether the cleaner must stop cleaning `tp` (Kafka's `checkCleaningAborted`).
    pub fn is_cleaning_aborted(&self, tp: &TopicPartition) -> bool {
        self.st().in_progress.get(tp) == Some(&LogCleaningState::Aborted)
    }

    /// Kafka's `doneCleaning`: checkpoints `end_offset` and clears the
    /// state, or, if aborted meanwhile, pauses the partition and wakes the
    /// waiter. With `end_offset` `None` (the clean failed) nothing is checkpointed.
    pub fn done_cleaning(&self, tp: &TopicPartition, dir: &Path, end_offset: Option<i64>) {
        let mut st = self.st();
        match st.in_progress.get(tp).copied() {
            Some(LogCleaningState::InProgress) => {
                if let Some(o) = end_offset {
                    Self::update_checkpoint_locked(&mut st, dir, tp, Some(o));
                }
                st.in_progress.remove(tp);
            }
            Some(LogCleaningState::Aborted) => {
                st.in_progress.insert(tp.clone(), LogCleaningState::Paused(1));
                self.paused.notify_all();
            }
            other => log::warn!("done cleaning {tp} in unexpected state {other:?}"),
        }
    }

    /// Retention's side (Kafka's `deletableLogs` / `pauseCleaningForNonCompactedPartitions`):
    /// takes `tp` for deleting old segments unless it is in any cleaning state.
    pub fn begin_deleting(&self, tp: &TopicPartition) -> bool {
        let mut st = self.st();
        if st.in_progress.contains_key(tp) {
            return false;
        }
        st.in_progress.insert(tp.clone(), LogCleaningState::InProgress);
        true
    }

    /// Kafka's `doneDeleting`.
    pub fn done_deleting(&self, tp: &TopicPartition) {
        let mut st = self.st();
        match st.in_progress.get(tp).copied() {
            Some(LogCleaningState::InProgress) => {
                st.in_progress.remove(tp);
            }
            Some(LogCleaningState::Aborted) => {
                st.in_progress.insert(tp.clone(), LogCleaningState::Paused(1));
                self.paused.notify_all();
            }
            _ => {}
        }
    }

    /// Kafka's `markPartitionUncleanable`.
    pub fn mark_partition_uncleanable(&self, tp: &TopicPartition) {
        self.st().uncleanable.insert(tp.clone());
    }

    pub fn is_uncleanable(&self, tp: &TopicPartition) -> bool {
        self.st().uncleanable.contains(tp)
    }

    /// A deleted log: its state, uncleanable mark and checkpoint entry go.
    pub fn remove_partition(&self, tp: &TopicPartition, dir: &Path) {
        let mut st = self.st();
        st.uncleanable.remove(tp);
        if matches!(st.in_progress.get(tp), Some(LogCleaningState::Paused(_))) {
            st.in_progress.remove(tp);
        }
        Self::update_checkpoint_locked(&mut st, dir, tp, None);
    }

    pub fn log_dirs(&self) -> &[PathBuf] {
        &self.log_dirs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::log_config::LogConfig;
    use std::fs::File;

    fn seg(base: i64, next: i64, size: u64, largest_ts: i64, first_ts: i64, file: &Arc<File>) -> CleanerSegment {
        CleanerSegment {
            base_offset: base,
            size,
            next_offset: next,
            largest_timestamp: largest_ts,
            last_modified_ms: largest_ts,
            first_batch_timestamp: first_ts,
            offset_index_bytes: 8,
            time_index_bytes: 12,
            file: file.clone(),
            aborted_txns: Vec::new(),
        }
    }

    fn view(segments: Vec<CleanerSegment>, lso: i64, leo: i64, config: LogConfig) -> CleanerView {
        CleanerView {
            generation: 0,
            segments,
            log_start_offset: lso,
            log_end_offset: leo,
            config,
            last_records_of_active_producers: HashMap::new(),
            dir: PathBuf::from("/tmp/x/t-0"),
            first_unstable_offset: None,
        }
    }

    fn file() -> Arc<File> {
        Arc::new(File::open("/dev/null").unwrap())
    }

    fn four_segments(config: LogConfig) -> CleanerView {
        let f = file();
        // [0,100) [100,200) [200,300) active [300,350)
        view(
            vec![
                seg(0, 100, 1000, 1_000, 500, &f),
                seg(100, 200, 1000, 2_000, 1_500, &f),
                seg(200, 300, 1000, 3_000, 2_500, &f),
                seg(300, 350, 500, 4_000, 3_500, &f),
            ],
            0,
            350,
            config,
        )
    }

    #[test]
    fn cleanable_offsets_stop_at_the_active_segment_and_the_lag() {
        let v = four_segments(LogConfig::default());
        let o = cleanable_offsets(&v, None, 10_000);
        assert_eq!(o, OffsetsToClean { first_dirty_offset: 0, first_uncleanable_dirty_offset: 300, force_update_checkpoint: false });
        let o = cleanable_offsets(&v, Some(150), 10_000);
        assert_eq!((o.first_dirty_offset, o.first_uncleanable_dirty_offset), (150, 300));
        // min.compaction.lag.ms: segment [100,200) has a record at 2000 > 10000-8500.
        let v = four_segments(LogConfig { min_compaction_lag_ms: 8_500, ..Default::default() });
        let o = cleanable_offsets(&v, None, 10_000);
        assert_eq!(o.first_uncleanable_dirty_offset, 100);
        // A checkpoint beyond the log end or below the start is reset.
        let v = four_segments(LogConfig::default());
        let o = cleanable_offsets(&v, Some(999), 10_000);
        assert_eq!((o.first_dirty_offset, o.force_update_checkpoint), (0, true));
        let mut v2 = four_segments(LogConfig::default());
        v2.log_start_offset = 120;
        let o = cleanable_offsets(&v2, Some(50), 10_000);
        assert_eq!((o.first_dirty_offset, o.force_update_checkpoint), (120, true));
        // Everything clean: dirty == uncleanable.
        let o = cleanable_offsets(&v, Some(300), 10_000);
        assert_eq!((o.first_dirty_offset, o.first_uncleanable_dirty_offset), (300, 300));
    }

    #[test]
    fn dirty_ratio_and_filthiest_choice() {
        let v = four_segments(LogConfig::default());
        let tp = TopicPartition::new("t", 0);
        let dummy = || {
            let dir = std::env::temp_dir().join(format!("zk-lcm-{}-{}", std::process::id(), rand::random::<u64>()));
            Arc::new(Log::open(&dir, TopicPartition::new("t", 0), LogConfig::default(), Default::default()).unwrap())
        };
        let log = dummy();
        let ltc = |last: Option<i64>| {
            let o = cleanable_offsets(&v, last, 10_000);
            LogToClean::new(tp.clone(), log.clone(), &v, o, max_compaction_delay(&v, o.first_dirty_offset, 10_000))
        };
        let fresh = ltc(None);
        assert_eq!((fresh.clean_bytes, fresh.cleanable_bytes), (0, 3000));
        assert_eq!(fresh.cleanable_ratio(), 1.0);
        let half = ltc(Some(100));
        assert_eq!((half.clean_bytes, half.cleanable_bytes), (1000, 2000));
        let clean = ltc(Some(300));
        assert_eq!(clean.cleanable_bytes, 0);
        assert!(!clean.is_cleanable());
        let cands = vec![half.clone(), fresh.clone(), clean.clone()];
        assert_eq!(choose_filthiest(&cands), Some(1));
        // The ratio must exceed min.cleanable.dirty.ratio.
        let mut strict = half.clone();
        strict.min_cleanable_ratio = 0.9;
        assert_eq!(choose_filthiest(&[strict.clone(), clean]), None);
        // ... unless max.compaction.lag.ms is exceeded.
        let v_lag = four_segments(LogConfig { max_compaction_lag_ms: 1_000, ..Default::default() });
        assert_eq!(max_compaction_delay(&v_lag, 100, 10_000), 9_000 - 1_500);
        assert_eq!(max_compaction_delay(&v, 100, 10_000), 0);
        strict.need_compaction_now = true;
        assert_eq!(choose_filthiest(&[strict]), Some(0));
        let _ = std::fs::remove_dir_all(log.dir());
    }

    #[test]
    fn grouping_by_size_index_size_and_offset_range() {
        let g = |b: i64, size: u64| GroupingInput { base_offset: b, size, offset_index_bytes: 80, time_index_bytes: 120 };
        let segs = vec![g(0, 400), g(100, 400), g(200, 400), g(300, 100), g(400, 900)];
        assert_eq!(group_segments_by_size(&segs, 1000, 10_000, 500), vec![0..2, 2..4, 4..5]);
        // Index limit: each index 120 bytes, at most 250 -> pairs.
        assert_eq!(group_segments_by_size(&segs, 10_000, 250, 500), vec![0..2, 2..4, 4..5]);
        assert_eq!(group_segments_by_size(&segs, 10_000, 10_000, 500), vec![0..5]);
        // Offsets relative to the group's base must fit an i32.
        let big = vec![g(0, 1), g(i32::MAX as i64 - 10, 1), g(i32::MAX as i64 + 100, 1)];
        assert_eq!(group_segments_by_size(&big, 10_000, 10_000, i32::MAX as i64 + 200), vec![0..1, 1..3]);
        assert!(group_segments_by_size(&[], 1, 1, 0).is_empty());
    }

    #[test]
    fn states_pause_abort_resume_and_checkpoints() {
        let dir = std::env::temp_dir().join(format!("zk-lcm-st-{}-{}", std::process::id(), rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let m = Arc::new(LogCleanerManager::new(&[dir.clone()]));
        let tp = TopicPartition::new("t", 0);
        // Pause twice, resume twice.
        m.abort_and_pause_cleaning(&tp);
        m.abort_and_pause_cleaning(&tp);
        assert_eq!(m.cleaning_state(&tp), Some(LogCleaningState::Paused(2)));
        assert!(!m.begin_deleting(&tp));
        m.resume_cleaning(&[tp.clone()]);
        m.resume_cleaning(&[tp.clone()]);
        assert_eq!(m.cleaning_state(&tp), None);
        // In progress, then aborted from another thread: it waits until done.
        assert!(m.begin_deleting(&tp));
        let m2 = m.clone();
        let tp2 = tp.clone();
        let waiter = std::thread::spawn(move || m2.abort_and_pause_cleaning(&tp2));
        while !m.is_cleaning_aborted(&tp) {
            std::thread::sleep(Duration::from_millis(5));
        }
        m.done_cleaning(&tp, &dir, Some(42));
        waiter.join().unwrap();
        assert_eq!(m.cleaning_state(&tp), Some(LogCleaningState::Paused(1)));
        assert!(m.all_cleaner_checkpoints().is_empty(), "an aborted clean checkpoints nothing");
        m.resume_cleaning(&[tp.clone()]);
        // A finished clean checkpoints its end offset, in the file too.
        assert!(m.begin_deleting(&tp));
        m.done_cleaning(&tp, &dir, Some(42));
        assert_eq!(m.all_cleaner_checkpoints().get(&tp), Some(&42));
        let again = LogCleanerManager::new(&[dir.clone()]);
        assert_eq!(again.all_cleaner_checkpoints().get(&tp), Some(&42));
        m.maybe_truncate_checkpoint(&dir, &tp, 50);
        assert_eq!(m.all_cleaner_checkpoints().get(&tp), Some(&42));
        m.maybe_truncate_checkpoint(&dir, &tp, 10);
        assert_eq!(m.all_cleaner_checkpoints().get(&tp), Some(&10));
        m.remove_partition(&tp, &dir);
        assert!(LogCleanerManager::new(&[dir.clone()]).all_cleaner_checkpoints().is_empty());
        // A garbage checkpoint file is survivable.
        std::fs::write(dir.join(CLEANER_OFFSET_CHECKPOINT), b"\xff garbage").unwrap();
        assert!(LogCleanerManager::new(&[dir.clone()]).all_cleaner_checkpoints().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
