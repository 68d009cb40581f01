//! Moving replicas between this broker's log directories while they keep
//! serving (KIP-113): the `-future` replica created by AlterReplicaLogDirs, the
//! mover that copies record batches from a partition's current log into its
//! future log, throttled by `replica.alter.log.dirs.io.max.bytes.per.second`,
//! until the future log has caught up and the partition swaps it in. Maps to
//! Kafka's `ReplicaAlterLogDirsManager` / `ReplicaAlterLogDirsThread` (and the
//! `replicaAlterLogDirsQuota` of `ReplicationQuotaManager`), plus
//! `ReplicaManager.alterReplicaLogDirs` / `describeLogDirs`.
//!
//! The mover is one thread (Kafka runs `num.replica.alter.log.dirs.threads`,
//! by default one per log dir). Each round it copies at most
//! `replica.fetch.max.bytes` per moving partition: first it makes the future
//! log agree with the current one (a current log that was truncated, e.g. a
//! follower truncating to its new leader, or whose start offset moved, is
//! followed by truncating the future log, by leader epoch as a follower
//! does), then it appends what the current log has beyond the future log's
//! end. When both ends meet, `Partition::maybe_replace_current_with_future`
//! checks that again under the partition's write lock (no append can run) and
//! swaps the logs.

use crate::common::TopicPartition;
use crate::log::{Log, LogManager, LogResult};
use crate::protocol::error::{self, ErrorCode};
use crate::protocol::messages::describe_log_dirs::{DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic};
use crate::server::partition::Partition;
use crate::server::replica_manager::ReplicaManager;
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

/// The dynamic broker config key of the throttle.
pub const IO_MAX_BYTES_PER_SECOND: &str = "replica.alter.log.dirs.io.max.bytes.per.second";

/// What the mover reads a partition's current log through (the partition,
/// which owns it; in unit tests, a plain log).
pub trait ReplicaSource {
    fn source_log_start_offset(&self) -> i64;
    fn source_log_end_offset(&self) -> i64;
    /// (largest epoch <= `epoch`, its end offset); (-1, -1) if none.
    fn source_end_offset_for_epoch(&self, epoch: i32) -> (i32, i64);
    /// Whole batches from `offset`, at most `max_bytes` (at least one batch).
    fn source_read(&self, offset: i64, max_bytes: usize) -> LogResult<Bytes>;
}

impl ReplicaSource for Log {
    fn source_log_start_offset(&self) -> i64 {
        self.log_start_offset()
    }
    fn source_log_end_offset(&self) -> i64 {
        self.log_end_offset()
    }
    fn source_end_offset_for_epoch(&self, epoch: i32) -> (i32, i64) {
        self.end_offset_for_epoch(epoch)
    }
    fn source_read(&self, offset: i64, max_bytes: usize) -> LogResult<Bytes> {
        Ok(self.read(offset, max_bytes, None, true)?.records)
    }
}

/// One round of copying for one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CopyStep {
    pub copied_bytes: usize,
    /// The future log ends where the current one does.
    pub caught_up: bool,
}

/// Makes `future` agree with `source`, then appends at most `max_bytes` of
/// what `source` has beyond `future`'s end (Kafka's ReplicaAlterLogDirsThread
/// truncation and `processPartitionData`).
pub fn copy_step(source: &dyn ReplicaSource, future: &Log, max_bytes: usize) -> LogResult<CopyStep> {
    let start = source.source_log_start_offset();
    // Divergence by leader epoch: the source's end of the future's latest
    // epoch must not be before the future's end.
    if let Some(epoch) = future.latest_epoch() {
        let (e, end) = source.source_end_offset_for_epoch(epoch);
        let fleo = future.log_end_offset();
        if e < 0 || end < 0 {
            future.truncate_fully_and_start_at(start)?;
        } else if e < epoch || end < fleo {
            future.truncate_to(end.min(fleo))?;
        }
    }
    let leo = source.source_log_end_offset();
    if future.log_end_offset() > leo {
        future.truncate_to(leo)?;
    }
    if future.log_end_offset() < start || future.log_start_offset() > future.log_end_offset() {
        future.truncate_fully_and_start_at(start)?;
    }
    if future.log_start_offset() < start {
        future.maybe_increment_log_start_offset(start)?;
    }
    let from = future.log_end_offset();
    if from >= leo {
        return Ok(CopyStep { copied_bytes: 0, caught_up: from == leo });
    }
    let records = source.source_read(from, max_bytes.max(1))?;
    if records.is_empty() {
        return Ok(CopyStep { copied_bytes: 0, caught_up: false });
    }
    future.append_as_follower(records.clone())?;
    Ok(CopyStep { copied_bytes: records.len(), caught_up: future.log_end_offset() == source.source_log_end_offset() })
}

/// The byte-rate limit of the mover (Kafka's `replicaAlterLogDirsQuota`):
/// a token bucket refilled at the rate, holding at most one second's worth;
/// copying may run into debt, which the next round waits off, so the average
/// rate stays at the limit whatever the batch sizes.
pub struct ReplicaAlterLogDirsQuota {
    /// Bytes per second; <= 0 means unlimited.
    rate: AtomicI64,
    bucket: Mutex<(f64, Instant)>,
}

impl Default for ReplicaAlterLogDirsQuota {
    fn default() -> Self {
        ReplicaAlterLogDirsQuota { rate: AtomicI64::new(0), bucket: Mutex::new((0.0, Instant::now())) }
    }
}

impl ReplicaAlterLogDirsQuota {
    /// `None` (or a value <= 0) removes the limit.
    pub fn set_rate(&self, bytes_per_second: Option<i64>) {
        let r = bytes_per_second.unwrap_or(0).max(0);
        if self.rate.swap(r, Ordering::SeqCst) != r {
            log::info!("{IO_MAX_BYTES_PER_SECOND} is now {}", if r > 0 { r.to_string() } else { "unlimited".into() });
        }
    }

    pub fn rate(&self) -> Option<i64> {
        let r = self.rate.load(Ordering::SeqCst);
        (r > 0).then_some(r)
    }

    /// How long to wait before copying more (zero when unlimited or in credit).
    pub fn delay(&self, now: Instant) -> Duration {
        let Some(rate) = self.rate() else { return Duration::ZERO };
        let mut b = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
        let elapsed = now.saturating_duration_since(b.1).as_secs_f64();
        b.0 = (b.0 + elapsed * rate as f64).min(rate as f64);
        b.1 = now;
        if b.0 >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.0 / rate as f64)
        }
    }

    /// Counts `bytes` copied.
    pub fn record(&self, bytes: usize) {
        if self.rate().is_some() {
            self.bucket.lock().unwrap_or_else(|p| p.into_inner()).0 -= bytes as f64;
        }
    }

    /// The most to copy in one round: a tenth of a second's worth (so the
    /// pacing is smooth), at most `max`.
    pub fn chunk(&self, max: usize) -> usize {
        match self.rate() {
            Some(r) => ((r / 10).max(1) as usize).min(max),
            None => max,
        }
    }
}

/// A replica the mover can copy and swap (the `Partition`).
pub trait MovableReplica: ReplicaSource + Send + Sync {
    fn topic_partition(&self) -> &TopicPartition;
    /// Under the partition's write lock: if the future log still ends where
    /// the current one does, swap them (`LogManager::replace_current_with_future_log`).
    /// True if swapped.
    fn maybe_replace_current_with_future(&self, log_manager: &LogManager) -> LogResult<bool>;
}

struct MoverState {
    moving: BTreeMap<TopicPartition, Arc<dyn MovableReplica>>,
    shutdown: bool,
}

/// Kafka's `ReplicaAlterLogDirsManager` with its one thread.
pub struct ReplicaAlterLogDirsManager {
    log_manager: Arc<LogManager>,
    state: Mutex<MoverState>,
    wake: Condvar,
    pub quota: ReplicaAlterLogDirsQuota,
    fetch_max_bytes: usize,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl ReplicaAlterLogDirsManager {
    /// Starts the mover thread (it holds only a weak reference).
    pub fn start(log_manager: Arc<LogManager>, fetch_max_bytes: usize) -> Arc<Self> {
        let m = Arc::new(ReplicaAlterLogDirsManager {
            log_manager,
            state: Mutex::new(MoverState { moving: BTreeMap::new(), shutdown: false }),
            wake: Condvar::new(),
            quota: ReplicaAlterLogDirsQuota::default(),
            fetch_max_bytes: fetch_max_bytes.max(1),
            thread: Mutex::new(None),
        });
        let weak = Arc::downgrade(&m);
        match std::thread::Builder::new().name("ReplicaAlterLogDirsThread".into()).spawn(move || run(weak)) {
            Ok(h) => *m.thread.lock().unwrap_or_else(|p| p.into_inner()) = Some(h),
            Err(e) => log::error!("cannot start ReplicaAlterLogDirsThread: {e}"),
        }
        m
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MoverState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts (or keeps) moving `replica` into its future log.
    pub fn add_partition(&self, replica: Arc<dyn MovableReplica>) {
        let tp = replica.topic_partition().clone();
        log::info!("[ReplicaAlterLogDirsManager] moving {tp}");
        self.lock().moving.insert(tp, replica);
        self.wake.notify_all();
    }

    /// Stops moving `tp` (the future log stays where it is).
    pub fn remove_partition(&self, tp: &TopicPartition) -> bool {
        self.lock().moving.remove(tp).is_some()
    }

    pub fn is_moving(&self, tp: &TopicPartition) -> bool {
        self.lock().moving.contains_key(tp)
    }

    pub fn moving_partitions(&self) -> Vec<TopicPartition> {
        self.lock().moving.keys().cloned().collect()
    }

    pub fn shutdown(&self) {
        self.lock().shutdown = true;
        self.wake.notify_all();
        let handle = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }

    /// One round over the moving partitions; returns the bytes copied.
    fn round(&self) -> usize {
        let replicas: Vec<Arc<dyn MovableReplica>> = self.lock().moving.values().cloned().collect();
        let mut copied = 0;
        for r in replicas {
            let tp = r.topic_partition().clone();
            if self.lock().shutdown {
                break;
            }
            let Some(future) = self.log_manager.get_future_log(&tp) else {
                // Removed by StopReplica or a new AlterReplicaLogDirs.
                self.lock().moving.remove(&tp);
                continue;
            };
            let wait = self.quota.delay(Instant::now());
            if !wait.is_zero() {
                let g = self.lock();
                let _ = self.wake.wait_timeout(g, wait);
                if self.lock().shutdown {
                    break;
                }
            }
            let chunk = self.quota.chunk(self.fetch_max_bytes);
            match copy_step(r.as_ref(), &future, chunk) {
                Ok(step) => {
                    self.quota.record(step.copied_bytes);
                    copied += step.copied_bytes;
                    if step.caught_up {
                        match r.maybe_replace_current_with_future(&self.log_manager) {
                            Ok(true) => {
                                log::info!("[ReplicaAlterLogDirsThread] {tp} moved to its new log dir");
                                self.lock().moving.remove(&tp);
                            }
                            Ok(false) => {}
                            Err(e) => log::error!("[ReplicaAlterLogDirsThread] cannot swap in the future log of {tp}: {e}"),
                        }
                    }
                }
                Err(e) => {
                    log::warn!("[ReplicaAlterLogDirsThread] copying {tp} to its future log failed: {e}; retrying");
                }
            }
        }
        copied
    }
}

fn run(weak: Weak<ReplicaAlterLogDirsManager>) {
    loop {
        let Some(m) = weak.upgrade() else { return };
        let copied = m.round();
        let g = m.lock();
        if g.shutdown {
            return;
        }
        if copied == 0 {
            // Nothing to copy right now: wait for new data or new partitions.
            let idle = if g.moving.is_empty() { Duration::from_millis(500) } else { Duration::from_millis(20) };
            drop(m.wake.wait_timeout(g, idle));
        }
    }
}

// ------------------------------------------------------------------ Partition's side

impl ReplicaSource for Partition {
    fn source_log_start_offset(&self) -> i64 {
        self.log_start_offset()
    }
    fn source_log_end_offset(&self) -> i64 {
        self.log_end_offset()
    }
    fn source_end_offset_for_epoch(&self, epoch: i32) -> (i32, i64) {
        self.end_offset_for_epoch(epoch)
    }
    fn source_read(&self, offset: i64, max_bytes: usize) -> LogResult<Bytes> {
        self.read_local(offset, max_bytes)
    }
}

impl MovableReplica for Partition {
    fn topic_partition(&self) -> &TopicPartition {
        &self.tp
    }
    fn maybe_replace_current_with_future(&self, log_manager: &LogManager) -> LogResult<bool> {
        self.replace_current_with_future_log(log_manager)
    }
}

// ------------------------------------------------------------------ ReplicaManager's side

/// The log dir of a future or current log, and how it stands.
struct LogDirEntry {
    tp: TopicPartition,
    size: i64,
    offset_lag: i64,
    is_future: bool,
}

impl ReplicaManager {
    /// Kafka's `ReplicaManager.alterReplicaLogDirs`: for each partition and
    /// destination (an absolute path of one of `log.dirs`): a dir not in
    /// `log.dirs` is LOG_DIR_NOT_FOUND; a replica not hosted yet remembers the
    /// dir for its creation and answers REPLICA_NOT_AVAILABLE; a hosted one
    /// gets a future log there (unless it already lives there) and the mover
    /// starts. A move to another dir than a running one replaces it.
    pub fn alter_replica_log_dirs(&self, dirs: Vec<(TopicPartition, String)>) -> Vec<(TopicPartition, ErrorCode)> {
        let mut out = Vec::with_capacity(dirs.len());
        for (tp, dest) in dirs {
            let code = self.alter_replica_log_dir(&tp, &dest);
            if code != error::NONE {
                log::warn!("Unable to alter log dirs for {tp} to {dest}: {}", error::error_name(code));
            }
            out.push((tp, code));
        }
        out
    }

    fn alter_replica_log_dir(&self, tp: &TopicPartition, dest: &str) -> ErrorCode {
        if crate::log::log_manager::future_dir_name(tp).len() > 255 {
            return error::INVALID_TOPIC_EXCEPTION;
        }
        let Some(dir) = self.log_manager.find_log_dir(dest) else {
            return error::LOG_DIR_NOT_FOUND;
        };
        let partition = self.get_partition(tp);
        if partition.is_some() && self.log_manager.get_future_log(tp).is_some_and(|f| LogManager::log_dir_of(&f) != dir) {
            // A move to another dir than the running one: drop that one first.
            self.alter_log_dirs_manager.remove_partition(tp);
            if let Err(e) = self.log_manager.delete_future_log(tp) {
                log::error!("cannot delete the future log of {tp}: {e}");
                return error::KAFKA_STORAGE_ERROR;
            }
        }
        self.log_manager.maybe_update_preferred_log_dir(tp, &dir);
        let Some(p) = partition else {
            return error::REPLICA_NOT_AVAILABLE;
        };
        if p.log_dir().parent() == Some(dir.as_path()) {
            // Already there (Kafka skips the future replica).
            return error::NONE;
        }
        if let Err(e) = self.log_manager.get_or_create_future_log(tp, &dir, p.log_config()) {
            log::error!("cannot create the future log of {tp} in {}: {e}", dir.display());
            return error::KAFKA_STORAGE_ERROR;
        }
        if !self.alter_log_dirs_manager.is_moving(tp) {
            self.alter_log_dirs_manager.add_partition(p);
        }
        error::NONE
    }

    /// After LeaderAndIsr made `p` hosted here: a future log loaded at
    /// start-up (an interrupted move) resumes moving, as Kafka's
    /// `becomeLeaderOrFollower` restarts it.
    pub(crate) fn maybe_resume_log_dir_move(&self, p: &Arc<Partition>) {
        if self.log_manager.get_future_log(&p.tp).is_some() && !self.alter_log_dirs_manager.is_moving(&p.tp) {
            self.alter_log_dirs_manager.add_partition(p.clone());
        }
    }

    /// Kafka's `ReplicaManager.describeLogDirs`: every configured log dir with
    /// the size, offset lag and future flag of the replicas in it among
    /// `partitions` (`None` = all). Offset lag: for a current log, how far its
    /// end is behind the high watermark (0 on a leader); for a future log, how
    /// far its end is behind the current log's; -1 when there is no hosted
    /// partition to compare with.
    pub fn describe_log_dirs(&self, partitions: Option<&BTreeSet<TopicPartition>>) -> Vec<DescribeLogDirsResult> {
        let mut by_dir: BTreeMap<PathBuf, Vec<LogDirEntry>> = BTreeMap::new();
        let current = self.log_manager.all_logs().into_iter().map(|l| (l, false));
        let future = self.log_manager.all_future_logs().into_iter().map(|l| (l, true));
        for (log, is_future) in current.chain(future) {
            let tp = log.topic_partition().clone();
            let leo = log.log_end_offset();
            let offset_lag = match self.get_partition(&tp) {
                Some(p) if is_future => p.source_log_end_offset() - leo,
                Some(_) => (log.high_watermark() - leo).max(0),
                None => -1,
            };
            by_dir.entry(LogManager::log_dir_of(&log)).or_default().push(LogDirEntry {
                tp,
                size: log.size_in_bytes() as i64,
                offset_lag,
                is_future,
            });
        }
        let mut results = Vec::new();
        for dir in self.log_manager.log_dirs() {
            let mut topics: BTreeMap<String, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
            for e in by_dir.remove(dir).unwrap_or_default() {
                // As Kafka: every topic in the dir is listed, with the asked-for partitions.
                let parts = topics.entry(e.tp.topic.clone()).or_default();
                if partitions.is_none_or(|set| set.contains(&e.tp)) {
                    parts.push(DescribeLogDirsPartition {
                        partition_index: e.tp.partition,
                        partition_size: e.size,
                        offset_lag: e.offset_lag,
                        is_future_key: e.is_future,
                        ..Default::default()
                    });
                }
            }
            results.push(DescribeLogDirsResult {
                error_code: error::NONE,
                log_dir: dir.to_string_lossy().into_owned(),
                topics: topics
                    .into_iter()
                    .map(|(name, mut partitions)| {
                        partitions.sort_by_key(|p| (p.partition_index, p.is_future_key));
                        DescribeLogDirsTopic { name, partitions, ..Default::default() }
                    })
                    .collect(),
                ..Default::default()
            });
        }
        results
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::LogConfig;
    use crate::protocol::compression::Compression;
    use crate::protocol::records::{AppendOrigin, RecordBatchBuilder};
    use std::collections::HashMap;
    use std::fs;

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let p = std::env::temp_dir().join(format!("zkafka-raldt-{tag}-{}-{:08x}", std::process::id(), rand::random::<u32>()));
            fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn batch(n: usize, tag: &str) -> Bytes {
        let mut b = RecordBatchBuilder::new(Compression::None);
        for i in 0..n {
            b.append(1_000 + i as i64, None, Some(format!("{tag}-{i}-{}", "v".repeat(30)).as_bytes()), &[]);
        }
        b.build().unwrap()
    }

    fn config() -> LogConfig {
        LogConfig { segment_bytes: 1500, ..Default::default() }
    }

    fn values(log: &Log) -> Vec<String> {
        let mut out = Vec::new();
        let mut off = log.log_start_offset();
        while off < log.log_end_offset() {
            let data = log.read(off, 1 << 20, None, true).unwrap().records;
            for b in crate::protocol::records::batches(data) {
                let b = b.unwrap();
                for r in b.records().unwrap() {
                    out.push(String::from_utf8(r.value.unwrap().to_vec()).unwrap());
                }
                off = b.last_offset() + 1;
            }
        }
        out
    }

    /// A replica over a real LogManager (what Partition does, without roles).
    struct TestReplica {
        tp: TopicPartition,
        lm: Arc<LogManager>,
    }
    impl ReplicaSource for TestReplica {
        fn source_log_start_offset(&self) -> i64 {
            self.lm.get_log(&self.tp).unwrap().log_start_offset()
        }
        fn source_log_end_offset(&self) -> i64 {
            self.lm.get_log(&self.tp).unwrap().log_end_offset()
        }
        fn source_end_offset_for_epoch(&self, epoch: i32) -> (i32, i64) {
            self.lm.get_log(&self.tp).unwrap().end_offset_for_epoch(epoch)
        }
        fn source_read(&self, offset: i64, max_bytes: usize) -> LogResult<Bytes> {
            self.lm.get_log(&self.tp).unwrap().source_read(offset, max_bytes)
        }
    }
    impl MovableReplica for TestReplica {
        fn topic_partition(&self) -> &TopicPartition {
            &self.tp
        }
        fn maybe_replace_current_with_future(&self, lm: &LogManager) -> LogResult<bool> {
            lm.replace_current_with_future_log(&self.tp)
        }
    }

    #[test]
    fn future_dir_names_parse() {
        use crate::log::log_manager::{future_dir_name, parse_future_dir, parse_partition_dir};
        let tp = TopicPartition::new("my-topic", 3);
        let name = future_dir_name(&tp);
        assert!(name.starts_with("my-topic-3.") && name.ends_with("-future"), "{name}");
        assert_eq!(parse_future_dir(&name), Some(tp));
        assert_eq!(parse_partition_dir(&name), None);
        assert_eq!(parse_future_dir("my-topic-3-future"), None);
        assert_eq!(parse_future_dir("my-topic-3.-future"), None);
        assert_eq!(parse_future_dir("my-topic-x.abc-future"), None);
    }

    #[test]
    fn copy_follows_truncation_and_catches_up() {
        let d = TempDir::new("copy");
        let (a, b) = (d.0.join("a"), d.0.join("b"));
        let lm = LogManager::startup(vec![a.clone(), b.clone()], 1, "c", config(), &HashMap::new()).unwrap();
        let tp = TopicPartition::new("t", 0);
        lm.maybe_update_preferred_log_dir(&tp, &a);
        let cur = lm.get_or_create_log(&tp, config()).unwrap();
        assert_eq!(LogManager::log_dir_of(&cur), a);
        cur.assign_epoch_start_offset(1, 0).unwrap();
        for i in 0..10 {
            cur.append_as_leader(batch(3, &format!("e1b{i}")), 1, AppendOrigin::Client).unwrap();
        }
        let fut = lm.get_or_create_future_log(&tp, &b, config()).unwrap();
        assert!(lm.get_or_create_future_log(&tp, &a, config()).is_err(), "a future log in another dir");
        // copy part of it
        let step = copy_step(cur.as_ref(), &fut, 300).unwrap();
        assert!(step.copied_bytes > 0 && !step.caught_up);
        let copied_to = fut.log_end_offset();
        assert!(copied_to > 0 && copied_to < 30);
        // the current log is truncated below what was copied, then diverges under epoch 2
        cur.truncate_to(3).unwrap();
        cur.assign_epoch_start_offset(2, 3).unwrap();
        cur.append_as_leader(batch(4, "e2"), 2, AppendOrigin::Client).unwrap();
        let mut steps = 0;
        loop {
            let s = copy_step(cur.as_ref(), &fut, 300).unwrap();
            steps += 1;
            if s.caught_up {
                break;
            }
            assert!(steps < 100);
        }
        assert_eq!(values(&fut), values(&cur));
        assert_eq!(fut.log_end_offset(), 7);
        // swap: the future becomes current, the old dir is gone
        cur.update_high_watermark(7);
        cur.append_as_leader(batch(1, "late"), 2, AppendOrigin::Client).unwrap();
        assert!(!lm.replace_current_with_future_log(&tp).unwrap(), "behind by one batch: no swap");
        assert!(copy_step(cur.as_ref(), &fut, 300).unwrap().caught_up);
        assert!(lm.replace_current_with_future_log(&tp).unwrap());
        let new = lm.get_log(&tp).unwrap();
        assert!(Arc::ptr_eq(&new, &cur), "holders of the log keep their handle");
        assert_eq!(new.dir(), b.join("t-0"));
        assert_eq!(new.high_watermark(), 7);
        assert!(!a.join("t-0").exists());
        assert!(lm.get_future_log(&tp).is_none());
        assert_eq!(lm.get_log(&tp).unwrap().dir(), b.join("t-0"));
        assert_eq!(values(&new).len(), 8);
        assert_eq!(new.latest_epoch(), Some(2));
        // the moved log keeps working
        new.append_as_leader(batch(1, "after"), 2, AppendOrigin::Client).unwrap();
        lm.shutdown().unwrap();
        drop(lm);
        let lm = LogManager::startup(vec![a.clone(), b.clone()], 1, "c", config(), &HashMap::new()).unwrap();
        let l = lm.get_log(&tp).unwrap();
        assert_eq!((l.dir(), l.log_end_offset()), (b.join("t-0"), 9));
    }

    #[test]
    fn future_log_survives_restart_and_can_be_dropped() {
        let d = TempDir::new("restart");
        let (a, b) = (d.0.join("a"), d.0.join("b"));
        let tp = TopicPartition::new("t", 1);
        {
            let lm = LogManager::startup(vec![a.clone(), b.clone()], 1, "c", config(), &HashMap::new()).unwrap();
            lm.maybe_update_preferred_log_dir(&tp, &a);
            let cur = lm.get_or_create_log(&tp, config()).unwrap();
            cur.append_as_leader(batch(5, "x"), 0, AppendOrigin::Client).unwrap();
            let fut = lm.get_or_create_future_log(&tp, &b, config()).unwrap();
            copy_step(cur.as_ref(), &fut, 1 << 20).unwrap();
            lm.shutdown().unwrap();
        }
        let lm = LogManager::startup(vec![a.clone(), b.clone()], 1, "c", config(), &HashMap::new()).unwrap();
        let fut = lm.get_future_log(&tp).expect("future log reloaded");
        assert_eq!(fut.log_end_offset(), 5);
        assert_eq!(LogManager::log_dir_of(&fut), b);
        assert_eq!(lm.get_log(&tp).unwrap().dir(), a.join("t-1"));
        // the directory names follow Kafka's pattern
        let names: Vec<String> = fs::read_dir(&b).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(names.iter().any(|n| n.starts_with("t-1.") && n.ends_with("-future")), "{names:?}");
        assert!(lm.delete_future_log(&tp).unwrap());
        assert!(lm.get_future_log(&tp).is_none());
        let names: Vec<String> = fs::read_dir(&b).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(!names.iter().any(|n| n.contains("t-1")), "{names:?}");
        // deleting the partition deletes its future log too
        let cur = lm.get_log(&tp).unwrap();
        let f2 = lm.get_or_create_future_log(&tp, &b, config()).unwrap();
        copy_step(cur.as_ref(), &f2, 1 << 20).unwrap();
        assert!(lm.delete_log(&tp).unwrap());
        assert!(lm.get_future_log(&tp).is_none());
        assert!(fs::read_dir(&b).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().contains("t-1")));
    }

    #[test]
    fn find_log_dir_needs_a_configured_absolute_path() {
        let d = TempDir::new("find");
        let (a, b) = (d.0.join("a"), d.0.join("b"));
        let lm = LogManager::startup(vec![a.clone(), b.clone()], 1, "c", config(), &HashMap::new()).unwrap();
        assert_eq!(lm.find_log_dir(a.to_str().unwrap()), Some(a.clone()));
        assert_eq!(lm.find_log_dir(&format!("{}/", b.display())), Some(b.clone()));
        assert_eq!(lm.find_log_dir(d.0.join("c").to_str().unwrap()), None);
        assert_eq!(lm.find_log_dir("a"), None);
        assert_eq!(lm.find_log_dir(""), None);
    }

    #[test]
    fn mover_thread_moves_while_appends_continue() {
        let d = TempDir::new("mover");
        let (a, b) = (d.0.join("a"), d.0.join("b"));
        let lm = Arc::new(LogManager::startup(vec![a.clone(), b.clone()], 1, "c", config(), &HashMap::new()).unwrap());
        let tp = TopicPartition::new("m", 0);
        lm.maybe_update_preferred_log_dir(&tp, &a);
        let cur = lm.get_or_create_log(&tp, config()).unwrap();
        for i in 0..20 {
            cur.append_as_leader(batch(2, &format!("b{i}")), 0, AppendOrigin::Client).unwrap();
        }
        lm.get_or_create_future_log(&tp, &b, config()).unwrap();
        let mover = ReplicaAlterLogDirsManager::start(lm.clone(), 256);
        mover.quota.set_rate(Some(20_000));
        mover.add_partition(Arc::new(TestReplica { tp: tp.clone(), lm: lm.clone() }));
        // appends go on during the move, through the same handle
        let appender = {
            let cur = cur.clone();
            std::thread::spawn(move || {
                for i in 20..120 {
                    cur.append_as_leader(batch(2, &format!("b{i}")), 0, AppendOrigin::Client).unwrap();
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        };
        appender.join().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while mover.is_moving(&tp) {
            assert!(Instant::now() < deadline, "move did not finish");
            std::thread::sleep(Duration::from_millis(10));
        }
        mover.shutdown();
        let l = lm.get_log(&tp).unwrap();
        assert!(Arc::ptr_eq(&l, &cur));
        assert_eq!(l.dir(), b.join("m-0"));
        assert!(!a.join("m-0").exists());
        let want: Vec<String> = (0..120).flat_map(|i| (0..2).map(move |j| format!("b{i}-{j}-{}", "v".repeat(30)))).collect();
        assert_eq!(values(&l), want);
    }

    #[test]
    fn quota_paces_to_the_rate() {
        let q = ReplicaAlterLogDirsQuota::default();
        assert_eq!(q.delay(Instant::now()), Duration::ZERO);
        assert_eq!(q.chunk(1 << 20), 1 << 20);
        q.set_rate(Some(1000));
        assert_eq!(q.chunk(1 << 20), 100);
        let t0 = Instant::now();
        q.delay(t0);
        q.record(2000); // 2 s of debt
        let d = q.delay(t0);
        assert!(d >= Duration::from_millis(1900) && d <= Duration::from_millis(2100), "{d:?}");
        // after the wait, in credit again
        assert_eq!(q.delay(t0 + Duration::from_millis(2100)), Duration::ZERO);
        // credit never exceeds one second's worth
        q.delay(t0 + Duration::from_secs(100));
        q.record(1500);
        assert!(q.delay(t0 + Duration::from_secs(100)) >= Duration::from_millis(400));
        q.set_rate(None);
        assert_eq!(q.delay(t0), Duration::ZERO);
    }
}
