//! The log of one partition (Kafka's `kafka.log.Log`): an ordered set of
//! segments in the directory `<topic>-<partition>`, with log start/end
//! offsets, high watermark, recovery point and the leader epoch cache.
//! Leader appends are validated (and converted) by `LogValidator` and get
//! offsets assigned by patching batch headers; follower appends keep the
//! leader's offsets. Transactions: producer state tracks the open ones; the
//! last stable offset (LSO) is the first offset of the oldest open (or not
//! yet replicated) transaction, capped by the high watermark; ABORT markers
//! add an entry to the segment's `.txnindex`, which read_committed fetches
//! consult (Kafka's `collectAbortedTransactions`). `Log` is
//! `Send + Sync`: state sits behind one mutex and fetches read file bytes
//! after releasing it.

use crate::common::{now_ms, TopicPartition};
use crate::log::errors::{LogError, LogResult};
use crate::log::file_records::FileRecords;
use crate::log::leader_epoch_cache::{EpochEntry, LeaderEpochFileCache};
use crate::log::log_config::LogConfig;
use crate::log::producer_state::{self, CompletedTxn, ProducerBatch, ProducerStateManager, TxnMarker};
use crate::log::transaction_index::{AbortedTxn, TXN_INDEX_FILE_SUFFIX};
use crate::log::retention::{self, DeletionReason, RetentionDecision, RetentionInput, SegmentSummary};
use crate::log::log_segment::{LogSegment, ReadPlan, INDEX_FILE_SUFFIX, LOG_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX};
use crate::log::segment_file_name;
use crate::log::log_validator::{self, AppendOrigin, ValidationConfig};
use crate::protocol::records::{self, RecordBatch};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use crate::log::log_flush::RollFlush;
use std::sync::{Arc, Mutex, MutexGuard};

#[path = "log_swap.rs"]
pub mod swap;
pub use self::swap::{CleanerSegment, CleanerView, CLEANED_FILE_SUFFIX, SWAP_FILE_SUFFIX};

/// Suffix of files renamed for deletion (Kafka's `Log.DeletedFileSuffix`).
pub const DELETED_FILE_SUFFIX: &str = ".deleted";

/// ListOffsets special timestamps.
pub const LATEST_TIMESTAMP: i64 = -1;
pub const EARLIEST_TIMESTAMP: i64 = -2;

/// What an append did (Kafka's `LogAppendInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogAppendInfo {
    /// First offset appended (-1 if nothing was appended).
    pub first_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
    pub offset_of_max_timestamp: i64,
    /// Broker time stamped into the batches, -1 for CreateTime.
    pub log_append_time: i64,
    pub log_start_offset: i64,
    pub num_records: i64,
    pub num_batches: usize,
    pub valid_bytes: usize,
}

/// Result of a read (Kafka's `FetchDataInfo` plus the offsets a fetch
/// response carries).
#[derive(Debug, Clone)]
pub struct FetchDataInfo {
    /// Whole batches; empty if nothing is available (or if they are in
    /// `file_records`).
    pub records: Bytes,
    /// With `read_with(.., zero_copy = true)`: the batches as a slice of the
    /// segment file, to be sent without reading them (`records` is empty).
    pub file_records: Option<FileRecords>,
    pub high_watermark: i64,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
}

/// ListOffsets answer (Kafka's `TimestampAndOffset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampAndOffset {
    pub timestamp: i64,
    pub offset: i64,
    pub leader_epoch: Option<i32>,
}

struct LogInner {
    dir: PathBuf,
    config: LogConfig,
    segments: BTreeMap<i64, LogSegment>,
    log_start_offset: i64,
    log_end_offset: i64,
    high_watermark: i64,
    recovery_point: i64,
    epoch_cache: LeaderEpochFileCache,
    /// Idempotent producers' epochs and last batches.
    producer_state: ProducerStateManager,
    unflushed_messages: i64,
    last_flush_ms: i64,
    closed: bool,
    /// Bumped when segments go other than by the cleaner's swap
    /// (truncation, a future log swapped in, closing): the log cleaner
    /// refuses to swap in what it cleaned from an older generation.
    segments_generation: u64,
    /// Rolls' fsyncs and snapshots not yet handed to a background thread
    /// (`log_flush`); dispatched before the method that rolled returns.
    pending_roll_flushes: Vec<RollFlush>,
    /// Tests: keep rolls' flushes here until `run_held_roll_flushes`.
    #[cfg(test)]
    held_roll_flushes: Option<Vec<RollFlush>>,
}

pub struct Log {
    tp: TopicPartition,
    /// Shared with the background flushes of rolls, which finish under it.
    inner: Arc<Mutex<LogInner>>,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Log({})", self.tp)
    }
}

/// Checkpointed offsets a log is opened with.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogOpenState {
    pub recovery_point: i64,
    pub log_start_offset: Option<i64>,
    pub high_watermark: Option<i64>,
    /// `.kafka_cleanshutdown` was present: trust files (indexes still checked).
    pub had_clean_shutdown: bool,
}

/// Parses `<20 digits><suffix>` file names.
fn parse_segment_name(name: &str, suffix: &str) -> Option<i64> {
    let stem = name.strip_suffix(suffix)?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

impl Log {
    /// Opens the log in `dir` (creating the directory if needed), recovering
    /// segments after the recovery point unless shutdown was clean.
    pub fn open(dir: &Path, tp: TopicPartition, config: LogConfig, state: LogOpenState) -> LogResult<Log> {
        fs::create_dir_all(dir)?;
        let now = now_ms();
        swap::complete_swap_operations(dir, &tp, &config, now)?;
        let mut bases = Vec::new();
        let mut index_files = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(DELETED_FILE_SUFFIX) || name.ends_with(".cleaned") || name.ends_with(".swap") || name.ends_with(".tmp")
            {
                // Kafka's loadSegmentFiles: leftovers of an interrupted
                // deletion (or clean) go.
                log::info!("{tp}: removing leftover {}", entry.path().display());
                let _ = fs::remove_file(entry.path());
            } else if let Some(b) = parse_segment_name(&name, LOG_FILE_SUFFIX) {
                bases.push(b);
            } else if let Some(b) = parse_segment_name(&name, INDEX_FILE_SUFFIX)
                .or_else(|| parse_segment_name(&name, TIME_INDEX_FILE_SUFFIX))
                .or_else(|| parse_segment_name(&name, TXN_INDEX_FILE_SUFFIX))
            {
                index_files.push((b, entry.path()));
            }
        }
        bases.sort_unstable();
        for (b, p) in index_files {
            if bases.binary_search(&b).is_err() {
                let _ = fs::remove_file(p); // orphaned index
            }
        }
        let mut epoch_cache = LeaderEpochFileCache::load(dir);
        let mut segments: BTreeMap<i64, LogSegment> = BTreeMap::new();
        let mut truncated = false;
        // Segments whose indexes were rebuilt: their `.txnindex` is rebuilt
        // from the producer state replay below.
        let mut first_recovered: Option<i64> = None;
        for (i, &base) in bases.iter().enumerate() {
            if truncated {
                // Everything after a corrupt point goes.
                if let Ok(seg) = LogSegment::open(dir, base, &config, now) {
                    seg.delete_files()?;
                }
                continue;
            }
            let indexes_exist = dir.join(segment_file_name(base, INDEX_FILE_SUFFIX)).exists()
                && dir.join(segment_file_name(base, TIME_INDEX_FILE_SUFFIX)).exists();
            let mut seg = LogSegment::open(dir, base, &config, now)?;
            let next_base = bases.get(i + 1).copied().unwrap_or(i64::MAX);
            let unflushed = next_base > state.recovery_point;
            let mut needs_recovery = (!indexes_exist && seg.size() > 0) || seg.txn_index_unreadable();
            if !needs_recovery && (state.had_clean_shutdown || !unflushed) {
                match seg.load_state().map_err(|e| e.to_string()).and_then(|_| seg.sanity_check()) {
                    Ok(()) => {}
                    Err(e) => {
                        log::warn!("{tp}: segment {base} failed its checks ({e}); rebuilding");
                        needs_recovery = true;
                    }
                }
            } else {
                needs_recovery = true;
            }
            if needs_recovery {
                first_recovered.get_or_insert(base);
                let cut = seg.recover(&mut |epoch, offset| {
                    let _ = epoch_cache.assign(epoch, offset);
                })?;
                if cut > 0 {
                    truncated = true;
                }
            }
            segments.insert(base, seg);
        }
        let start_hint = state.log_start_offset.unwrap_or(0).max(0);
        if segments.is_empty() {
            let seg = LogSegment::open(dir, start_hint, &config, now)?;
            segments.insert(start_hint, seg);
        }
        let log_end_offset = segments.values().next_back().map_or(start_hint, |s| s.next_offset());
        let first_base = segments.keys().next().copied().unwrap_or(0);
        let log_start_offset = start_hint.max(first_base).min(log_end_offset);
        let high_watermark = state.high_watermark.unwrap_or(log_start_offset).clamp(log_start_offset, log_end_offset);
        epoch_cache.truncate_from_end(log_end_offset)?;
        epoch_cache.truncate_from_start(log_start_offset)?;
        if let Some(from) = first_recovered {
            // Snapshots past the first rebuilt segment may not match it; the
            // replay from an older one also yields the aborted transactions
            // the rebuilt `.txnindex` files need.
            producer_state::delete_snapshots(dir, |o| o > from);
        }
        let (mut producer_state, completed) = load_producer_state(&tp, dir, &segments, log_start_offset, log_end_offset);
        if let Some(from) = first_recovered {
            rebuild_txn_indexes(&tp, &mut segments, &completed, from);
        }
        producer_state.on_high_watermark_updated(high_watermark);
        Ok(Log {
            tp,
            inner: Arc::new(Mutex::new(LogInner {
                dir: dir.to_path_buf(),
                config,
                segments,
                log_start_offset,
                log_end_offset,
                high_watermark,
                recovery_point: log_end_offset,
                epoch_cache,
                producer_state,
                unflushed_messages: 0,
                last_flush_ms: now,
                closed: false,
                segments_generation: 0,
                pending_roll_flushes: Vec::new(),
                #[cfg(test)]
                held_roll_flushes: None,
            })),
        })
    }

    fn lock(&self) -> LogResult<MutexGuard<'_, LogInner>> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if g.closed {
            return Err(LogError::Closed);
        }
        Ok(g)
    }

    fn lock_any(&self) -> MutexGuard<'_, LogInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn topic_partition(&self) -> &TopicPartition {
        &self.tp
    }
    pub fn dir(&self) -> PathBuf {
        self.lock_any().dir.clone()
    }
    pub fn config(&self) -> LogConfig {
        self.lock_any().config.clone()
    }
    pub fn update_config(&self, config: LogConfig) {
        let mut g = self.lock_any();
        for s in g.segments.values_mut() {
            s.set_index_interval_bytes(config.index_interval_bytes);
        }
        g.config = config;
    }
    pub fn log_start_offset(&self) -> i64 {
        self.lock_any().log_start_offset
    }
    pub fn log_end_offset(&self) -> i64 {
        self.lock_any().log_end_offset
    }
    pub fn high_watermark(&self) -> i64 {
        self.lock_any().high_watermark
    }
    pub fn recovery_point(&self) -> i64 {
        self.lock_any().recovery_point
    }
    /// Base offset of the first segment (for the log-start-offset checkpoint).
    pub fn first_segment_base_offset(&self) -> i64 {
        self.lock_any().segments.keys().next().copied().unwrap_or(0)
    }
    pub fn segment_base_offsets(&self) -> Vec<i64> {
        self.lock_any().segments.keys().copied().collect()
    }
    pub fn num_segments(&self) -> usize {
        self.lock_any().segments.len()
    }
    pub fn size_in_bytes(&self) -> u64 {
        self.lock_any().segments.values().map(|s| s.size()).sum()
    }

    /// Sets the high watermark, clamped to `[log_start_offset, log_end_offset]`;
    /// returns the value stored.
    pub fn update_high_watermark(&self, hw: i64) -> i64 {
        let mut g = self.lock_any();
        g.high_watermark = hw.clamp(g.log_start_offset, g.log_end_offset);
        let hw = g.high_watermark;
        g.producer_state.on_high_watermark_updated(hw);
        hw
    }

    /// The last stable offset (Kafka's `Log.lastStableOffset`): the first
    /// offset of the oldest open or unreplicated transaction if below the
    /// high watermark, else the high watermark.
    pub fn last_stable_offset(&self) -> i64 {
        last_stable_offset(&self.lock_any())
    }

    /// Base offset of the first segment after the one holding `offset`.
    pub fn next_segment_base_after(&self, offset: i64) -> Option<i64> {
        self.lock_any().segments.range(offset + 1..).next().map(|(b, _)| *b)
    }

    /// Open transactions as (first offset, producer id), oldest first.
    pub fn ongoing_txns(&self) -> Vec<(i64, i64)> {
        self.lock_any().producer_state.ongoing_txns().collect()
    }

    /// Kafka's `collectAbortedTransactions(startOffset, upperBoundOffset)`:
    /// the aborted transactions overlapping `[start_offset, upper_bound)`,
    /// from the `.txnindex` of the segment holding `start_offset` onwards,
    /// until an entry's last stable offset shows that later segments cannot
    /// hold more.
    pub fn collect_aborted_transactions(&self, start_offset: i64, upper_bound: i64) -> Vec<AbortedTxn> {
        let g = self.lock_any();
        collect_aborted(&g, start_offset, upper_bound)
    }

    /// Appends a COMMIT or ABORT marker for `producer_id` as leader (Kafka's
    /// `appendAsLeader(.., origin = Coordinator)` of an end-transaction
    /// marker): a control batch with the transactional flag, one control
    /// record, the producer's epoch and no sequence. The producer epoch
    /// must not be older than the last seen (INVALID_PRODUCER_EPOCH), nor
    /// the coordinator epoch (TRANSACTION_COORDINATOR_FENCED).
    pub fn append_end_txn_marker(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        coordinator_epoch: i32,
        commit: bool,
        leader_epoch: i32,
    ) -> LogResult<LogAppendInfo> {
        let marker = TxnMarker { commit, coordinator_epoch };
        let batch = marker
            .build_batch(producer_id, producer_epoch, now_ms())
            .map_err(|e| LogError::Storage(format!("cannot build a transaction marker: {e}")))?;
        self.append_as_leader(batch, leader_epoch, AppendOrigin::Coordinator)
    }

    /// What producer state knows of `producer_id`.
    pub fn producer_entry(&self, producer_id: i64) -> Option<crate::log::producer_state::ProducerStateEntry> {
        self.lock_any().producer_state.last_entry(producer_id).cloned()
    }

    /// Latest leader epoch in the cache.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.lock_any().epoch_cache.latest_epoch()
    }
    /// OffsetForLeaderEpoch: (epoch, end offset), (-1, -1) if unknown.
    pub fn end_offset_for_epoch(&self, epoch: i32) -> (i32, i64) {
        let g = self.lock_any();
        g.epoch_cache.end_offset_for(epoch, g.log_end_offset)
    }
    pub fn epoch_entries(&self) -> Vec<EpochEntry> {
        self.lock_any().epoch_cache.entries().to_vec()
    }
    /// Records a new leader epoch starting at the log end (on becoming leader).
    pub fn assign_epoch_start_offset(&self, epoch: i32, start_offset: i64) -> LogResult<()> {
        self.lock()?.epoch_cache.assign(epoch, start_offset)
    }

    /// `assign_epoch_start_offset` with the checkpoint left pending: true if
    /// it must be made durable (`persist_pending_epochs`) before anything is
    /// appended in the new epoch.
    pub fn assign_epoch_start_offset_deferred(&self, epoch: i32, start_offset: i64) -> LogResult<bool> {
        Ok(self.lock()?.epoch_cache.assign_deferred(epoch, start_offset))
    }

    /// Leader append: `LogValidator` checks every batch first (nothing is
    /// written if one is bad) and applies the topic's `compression.type`,
    /// `message.timestamp.type` and timestamp range, up-converting v0/v1
    /// message sets; then, under the lock, offsets are assigned from the log
    /// end by patching `baseOffset` and `partitionLeaderEpoch`, and the
    /// bytes are written.
    pub fn append_as_leader(&self, records: Bytes, leader_epoch: i32, origin: AppendOrigin) -> LogResult<LogAppendInfo> {
        let config = self.lock()?.config.clone();
        let vcfg = ValidationConfig::new(&config, now_ms(), origin);
        let mut validated = log_validator::validate(&records, &vcfg)?;
        let valid_bytes = validated.size_in_bytes();
        if valid_bytes as u64 > config.segment_bytes {
            return Err(LogError::RecordListTooLarge { size: valid_bytes, max: config.segment_bytes as usize });
        }
        let mut g = self.lock()?;
        let first_offset = g.log_end_offset;
        let append_time = validated.log_append_time;
        // Idempotent producers: a retried batch is answered with where it
        // went the first time; otherwise epochs and sequences must follow.
        let mut producer_batches = Vec::new();
        for vb in &validated.batches {
            if vb.producer_id >= 0 {
                // Only the coordinator path may carry control batches (the
                // validator refuses them from clients): read their marker.
                let marker = if origin == AppendOrigin::Coordinator {
                    control_marker(validated.original(vb))
                } else {
                    None
                };
                let pb = ProducerBatch {
                    producer_id: vb.producer_id,
                    producer_epoch: vb.producer_epoch,
                    base_sequence: vb.base_sequence,
                    base_offset: first_offset + vb.relative_offset,
                    last_offset_delta: vb.last_offset_delta,
                    max_timestamp: vb.max_timestamp,
                    is_transactional: vb.is_transactional,
                    marker,
                };
                if marker.is_some() {
                    producer_batches.push(pb);
                    continue;
                }
                // Kafka looks for duplicates of client appends only: the
                // group coordinator writes every TxnOffsetCommit at sequence 0.
                let dup = if origin == AppendOrigin::Client { g.producer_state.find_duplicate(&pb) } else { None };
                if let Some(dup) = dup {
                    log::debug!("{}: duplicate batch of producer {} ({}..{})", self.tp, pb.producer_id, dup.first_offset(), dup.last_offset);
                    return Ok(LogAppendInfo {
                        first_offset: dup.first_offset(),
                        last_offset: dup.last_offset,
                        max_timestamp: dup.timestamp,
                        offset_of_max_timestamp: dup.last_offset,
                        log_append_time: dup.timestamp,
                        log_start_offset: g.log_start_offset,
                        num_records: 0,
                        num_batches: 0,
                        valid_bytes: 0,
                    });
                }
                producer_batches.push(pb);
            }
        }
        let producer_updates = g.producer_state.prepare_checked(&producer_batches, true, origin == AppendOrigin::Client)?;
        validated.assign_offsets(first_offset, leader_epoch);
        let max_ts = validated.max_timestamp;
        let offset_of_max_ts = first_offset + validated.offset_of_max_timestamp;
        let offset = first_offset + validated.total_records;
        let last_offset = offset - 1;
        if leader_epoch >= 0 {
            g.epoch_cache.assign(leader_epoch, first_offset)?;
        }
        // Patched headers between the request's unchanged record bytes: one pwritev, no copy.
        append_to_segments(&mut g, &validated.parts(), first_offset, last_offset, max_ts, offset_of_max_ts)?;
        let completed = g.producer_state.commit(producer_updates, last_offset + 1);
        index_aborted(&mut g, &completed)?;
        g.unflushed_messages += validated.total_records;
        maybe_flush(&mut g)?;
        self.dispatch_roll_flushes(&mut g);
        Ok(LogAppendInfo {
            first_offset,
            last_offset,
            max_timestamp: max_ts,
            offset_of_max_timestamp: offset_of_max_ts,
            log_append_time: append_time,
            log_start_offset: g.log_start_offset,
            num_records: validated.total_records,
            num_batches: validated.batches.len(),
            valid_bytes,
        })
    }

    /// Hands the rolls' flushes to the log-flush threads (`log_flush::submit`;
    /// the lock is released before they need it) when called on the broker's
    /// runtime; elsewhere (start-up, tools, tests) they run here, under the
    /// lock, as a roll always did.
    fn dispatch_roll_flushes(&self, g: &mut LogInner) {
        if g.pending_roll_flushes.is_empty() {
            return;
        }
        let jobs = std::mem::take(&mut g.pending_roll_flushes);
        #[cfg(test)]
        if let Some(held) = g.held_roll_flushes.as_mut() {
            held.extend(jobs);
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(_) => {
                for job in jobs {
                    let inner = Arc::downgrade(&self.inner);
                    let tp = self.tp.clone();
                    let queued = crate::log::log_flush::submit(Box::new(move || {
                        let synced = job.sync();
                        if let Some(inner) = inner.upgrade() {
                            let mut g = inner.lock().unwrap_or_else(|e| e.into_inner());
                            complete_roll_flush(&mut g, &tp, job, synced);
                        } else if let Some(snap) = &job.snapshot {
                            let _ = fs::remove_file(&snap.tmp);
                        }
                    }));
                    if queued.is_err() {
                        // Not synced now: the recovery point stays where it
                        // is (a restart recovers more), the snapshot is not
                        // written (recovery replays from an older one), and
                        // the next flush or close syncs these segments.
                        log::error!("{}: no log flush thread; the roll's fsync is left to the next flush", self.tp);
                    }
                }
            }
            Err(_) => {
                for job in jobs {
                    let synced = job.sync();
                    complete_roll_flush(g, &self.tp, job, synced);
                }
            }
        }
    }

    /// Tests: from now on rolls' flushes wait for `run_held_roll_flushes`.
    #[cfg(test)]
    pub(crate) fn hold_roll_flushes(&self) {
        self.lock_any().held_roll_flushes.get_or_insert_with(Vec::new);
    }

    /// Tests: runs the held flushes in the order of `order` (indexes into
    /// the held list), each synced without the lock and completed under it;
    /// the others stay held. Returns how many were held.
    #[cfg(test)]
    pub(crate) fn run_held_roll_flushes(&self, order: &[usize]) -> usize {
        let mut held: Vec<Option<RollFlush>> =
            self.lock_any().held_roll_flushes.as_mut().map(std::mem::take).unwrap_or_default().into_iter().map(Some).collect();
        let n = held.len();
        for &i in order {
            if let Some(job) = held.get_mut(i).and_then(Option::take) {
                let synced = job.sync();
                complete_roll_flush(&mut self.lock_any(), &self.tp, job, synced);
            }
        }
        self.lock_any().held_roll_flushes.get_or_insert_with(Vec::new).extend(held.into_iter().flatten());
        n
    }

    /// Follower append: batches keep the leader's offsets and epochs. Each is
    /// CRC-checked; a partial trailing batch (as fetch responses may end) is
    /// dropped. Offsets must start at or after the log end and increase.
    pub fn append_as_follower(&self, records: Bytes) -> LogResult<LogAppendInfo> {
        drop(self.lock()?);
        let mut it = records::batches(records.clone());
        let mut valid = 0usize;
        let mut first_offset = -1i64;
        let mut last_offset = -1i64;
        let mut max_ts = records::NO_TIMESTAMP;
        let mut offset_of_max_ts = -1i64;
        let mut num_records = 0i64;
        let mut epochs: Vec<(i32, i64)> = Vec::new();
        let mut producer_batches: Vec<ProducerBatch> = Vec::new();
        let mut num_batches = 0;
        for b in &mut it {
            let b: RecordBatch = b?;
            b.ensure_valid()?;
            if b.last_offset_delta() < 0 || b.base_offset() < 0 {
                return Err(LogError::Corrupt(format!("batch with bad offsets {}+{}", b.base_offset(), b.last_offset_delta())));
            }
            if first_offset >= 0 && b.base_offset() <= last_offset {
                return Err(LogError::InvalidRecord(format!(
                    "out of order offsets: batch at {} after {last_offset}",
                    b.base_offset()
                )));
            }
            if first_offset < 0 {
                first_offset = b.base_offset();
            }
            last_offset = b.last_offset();
            if b.max_timestamp() > max_ts {
                max_ts = b.max_timestamp();
                offset_of_max_ts = b.last_offset();
            }
            num_records += b.records_count().max(0) as i64;
            if b.partition_leader_epoch() >= 0 {
                epochs.push((b.partition_leader_epoch(), b.base_offset()));
            }
            if b.producer_id() >= 0 {
                let marker = if b.is_control() { TxnMarker::from_batch(&b) } else { None };
                // A control batch without a marker (cleaned away) changes nothing.
                if !b.is_control() || marker.is_some() {
                    producer_batches.push(ProducerBatch {
                        producer_id: b.producer_id(),
                        producer_epoch: b.producer_epoch(),
                        base_sequence: b.base_sequence(),
                        base_offset: b.base_offset(),
                        last_offset_delta: b.last_offset_delta(),
                        max_timestamp: b.max_timestamp(),
                        is_transactional: b.is_transactional(),
                        marker,
                    });
                }
            }
            valid += b.size_in_bytes();
            num_batches += 1;
        }
        let mut g = self.lock()?;
        let log_start_offset = g.log_start_offset;
        if num_batches == 0 {
            return Ok(LogAppendInfo {
                first_offset: -1,
                last_offset: -1,
                max_timestamp: records::NO_TIMESTAMP,
                offset_of_max_timestamp: -1,
                log_append_time: records::NO_TIMESTAMP,
                log_start_offset,
                num_records: 0,
                num_batches: 0,
                valid_bytes: 0,
            });
        }
        if first_offset < g.log_end_offset {
            return Err(LogError::InvalidRecord(format!(
                "unexpected append offset {first_offset}: log end offset is {}",
                g.log_end_offset
            )));
        }
        for (e, o) in epochs {
            g.epoch_cache.assign(e, o)?;
        }
        append_to_segments(&mut g, &[&records[..valid]], first_offset, last_offset, max_ts, offset_of_max_ts)?;
        let completed = g.producer_state.replay(&producer_batches, last_offset + 1);
        index_aborted(&mut g, &completed)?;
        g.unflushed_messages += num_records;
        maybe_flush(&mut g)?;
        self.dispatch_roll_flushes(&mut g);
        Ok(LogAppendInfo {
            first_offset,
            last_offset,
            max_timestamp: max_ts,
            offset_of_max_timestamp: offset_of_max_ts,
            log_append_time: records::NO_TIMESTAMP,
            log_start_offset,
            num_records,
            num_batches,
            valid_bytes: valid,
        })
    }

    /// Reads whole batches starting with the one containing `start_offset`,
    /// up to `max_bytes` (at least one batch if `min_one_message`), never
    /// including offsets >= `max_offset` (the high watermark for consumers;
    /// `None` = log end). Reads within one segment, like Kafka.
    pub fn read(
        &self,
        start_offset: i64,
        max_bytes: usize,
        max_offset: Option<i64>,
        min_one_message: bool,
    ) -> LogResult<FetchDataInfo> {
        self.read_with(start_offset, max_bytes, max_offset, min_one_message, false)
    }

    /// As `read`; with `zero_copy` the batches come back as a slice of the
    /// segment file (`file_records`) instead of bytes in memory, unless
    /// finding where the last whole batch ends would take too many reads.
    pub fn read_with(
        &self,
        start_offset: i64,
        max_bytes: usize,
        max_offset: Option<i64>,
        min_one_message: bool,
        zero_copy: bool,
    ) -> LogResult<FetchDataInfo> {
        let (plan, hw, lso, leo): (Option<ReadPlan>, i64, i64, i64) = {
            let g = self.lock()?;
            let (lso, leo, hw) = (g.log_start_offset, g.log_end_offset, g.high_watermark);
            if start_offset < lso || start_offset > leo {
                return Err(LogError::OffsetOutOfRange { offset: start_offset, log_start_offset: lso, log_end_offset: leo });
            }
            let max_offset = max_offset.unwrap_or(leo).min(leo);
            let mut plan = None;
            if start_offset < max_offset {
                let floor = g.segments.range(..=start_offset).next_back().map_or(i64::MIN, |(b, _)| *b);
                for (_, seg) in g.segments.range(floor..) {
                    if seg.base_offset() >= max_offset {
                        break;
                    }
                    let max_pos = if max_offset < seg.next_offset() { seg.position_of(max_offset)? } else { seg.size() };
                    if let Some(p) = seg.plan_read(start_offset, max_bytes, max_pos, min_one_message)? {
                        plan = Some(p);
                        break;
                    }
                }
            }
            (plan, hw, lso, leo)
        };
        let (records, file_records) = match plan {
            Some(p) if p.len > 0 => match if zero_copy { p.file_records()? } else { None } {
                Some(f) if f.len > 0 => (Bytes::new(), Some(f)),
                Some(_) => (Bytes::new(), None),
                None => (p.read()?, None),
            },
            _ => (Bytes::new(), None),
        };
        Ok(FetchDataInfo { records, file_records, high_watermark: hw, log_start_offset: lso, log_end_offset: leo })
    }

    /// ListOffsets: `EARLIEST_TIMESTAMP`, `LATEST_TIMESTAMP` (the log end;
    /// callers cap it at the high watermark for consumers) or the first
    /// record with timestamp >= `timestamp`. `None` if no record qualifies.
    pub fn fetch_offset_by_timestamp(&self, timestamp: i64) -> LogResult<Option<TimestampAndOffset>> {
        let g = self.lock()?;
        match timestamp {
            EARLIEST_TIMESTAMP => Ok(Some(TimestampAndOffset {
                timestamp: records::NO_TIMESTAMP,
                offset: g.log_start_offset,
                leader_epoch: g.epoch_cache.epoch_for_offset(g.log_start_offset),
            })),
            LATEST_TIMESTAMP => Ok(Some(TimestampAndOffset {
                timestamp: records::NO_TIMESTAMP,
                offset: g.log_end_offset,
                leader_epoch: g.epoch_cache.latest_epoch(),
            })),
            ts => {
                for seg in g.segments.values() {
                    if seg.max_timestamp_so_far() < ts || seg.next_offset() <= g.log_start_offset {
                        continue;
                    }
                    if let Some((o, t, e)) = seg.find_offset_by_timestamp(ts, g.log_start_offset)? {
                        return Ok(Some(TimestampAndOffset {
                            timestamp: t,
                            offset: o,
                            leader_epoch: if e >= 0 { Some(e) } else { None },
                        }));
                    }
                }
                Ok(None)
            }
        }
    }

    /// Follower truncation: removes every offset >= `target`. Returns whether
    /// anything changed.
    pub fn truncate_to(&self, target: i64) -> LogResult<bool> {
        if target < 0 {
            return Err(LogError::Storage(format!("cannot truncate to negative offset {target}")));
        }
        let mut g = self.lock()?;
        if target >= g.log_end_offset {
            return Ok(false);
        }
        g.segments_generation += 1;
        let first_base = g.segments.keys().next().copied().unwrap_or(0);
        if target < first_base {
            drop(g);
            self.truncate_fully_and_start_at(target)?;
            return Ok(true);
        }
        let doomed: Vec<i64> = g.segments.range(target + 1..).map(|(b, _)| *b).collect();
        for b in doomed {
            if let Some(seg) = g.segments.remove(&b) {
                seg.delete_files()?;
            }
        }
        let leo = match g.segments.values_mut().next_back() {
            Some(active) => {
                active.truncate_to(target)?;
                active.next_offset()
            }
            None => target,
        };
        g.log_end_offset = leo;
        g.epoch_cache.truncate_from_end(leo)?;
        g.high_watermark = g.high_watermark.min(leo);
        g.recovery_point = g.recovery_point.min(leo);
        if g.log_start_offset > leo {
            g.log_start_offset = leo;
        }
        let lso = g.log_start_offset;
        let hw = g.high_watermark;
        g.producer_state = load_producer_state(&self.tp, &g.dir, &g.segments, lso, leo).0;
        g.producer_state.on_high_watermark_updated(hw);
        Ok(true)
    }

    /// Deletes every segment and restarts the log empty at `offset`
    /// (which becomes log start, log end and high watermark).
    pub fn truncate_fully_and_start_at(&self, offset: i64) -> LogResult<()> {
        let mut g = self.lock()?;
        g.segments_generation += 1;
        let all: Vec<i64> = g.segments.keys().copied().collect();
        for b in all {
            if let Some(seg) = g.segments.remove(&b) {
                seg.delete_files()?;
            }
        }
        let seg = LogSegment::open(&g.dir, offset, &g.config, now_ms())?;
        g.segments.insert(offset, seg);
        g.log_end_offset = offset;
        g.log_start_offset = offset;
        g.high_watermark = offset;
        g.recovery_point = offset;
        g.epoch_cache.clear_and_flush()?;
        producer_state::delete_snapshots(&g.dir, |_| true);
        g.producer_state.clear(offset);
        Ok(())
    }

    /// Raises the log start offset (Kafka's `maybeIncrementLogStartOffset`:
    /// DeleteRecords on the leader, the leader's start offset on a
    /// follower). Refused beyond the high watermark. The segments wholly
    /// below it go at the next retention check (`delete_old_segments`).
    pub fn maybe_increment_log_start_offset(&self, new_start: i64) -> LogResult<bool> {
        let mut g = self.lock()?;
        if new_start > g.high_watermark {
            return Err(LogError::OffsetOutOfRange {
                offset: new_start,
                log_start_offset: g.log_start_offset,
                log_end_offset: g.high_watermark,
            });
        }
        if new_start <= g.log_start_offset {
            return Ok(false);
        }
        g.log_start_offset = new_start;
        g.epoch_cache.truncate_from_start(new_start)?;
        g.producer_state.truncate_head(new_start);
        Ok(true)
    }

    /// Retention (Kafka's `Log.deleteOldSegments`): decides with the pure
    /// `retention::deletable_segments` which oldest segments go, rolls the
    /// active segment first if all must go, raises the log start offset to
    /// the first segment left (in memory: readers below it now get
    /// OFFSET_OUT_OF_RANGE) and takes the segments out of the log. Their
    /// files stay under their names: the caller checkpoints the new start,
    /// then renames them (`mark_for_deletion`) and deletes them later.
    pub fn delete_old_segments(&self, now: i64) -> LogResult<(RetentionDecision, Vec<LogSegment>)> {
        let mut g = self.lock()?;
        let summaries: Vec<SegmentSummary> = g
            .segments
            .values()
            .map(|s| {
                let mtime = if s.max_timestamp_so_far() >= 0 { 0 } else { s.last_modified_ms() };
                SegmentSummary::new(s.base_offset(), s.size(), s.max_timestamp_so_far(), mtime)
            })
            .collect();
        let decision = retention::deletable_segments(&RetentionInput {
            segments: &summaries,
            log_end_offset: g.log_end_offset,
            high_watermark: g.high_watermark,
            log_start_offset: g.log_start_offset,
            retention_ms: g.config.retention_ms,
            retention_bytes: g.config.retention_bytes,
            delete_enabled: g.config.cleanup_policy.split(',').any(|p| p.trim() == "delete"),
            now_ms: now,
        });
        if decision.count == 0 {
            return Ok((decision, Vec::new()));
        }
        if decision.roll_first {
            let leo = g.log_end_offset;
            roll_segment(&mut g, leo)?;
            self.dispatch_roll_flushes(&mut g);
        }
        let doomed: Vec<i64> = g.segments.keys().take(decision.count).copied().collect();
        let new_start = decision.new_log_start_offset.max(g.log_start_offset);
        if new_start > g.log_start_offset {
            g.log_start_offset = new_start;
            g.epoch_cache.truncate_from_start(new_start)?;
            g.producer_state.truncate_head(new_start);
        }
        let mut removed = Vec::with_capacity(doomed.len());
        for b in doomed {
            if let Some(seg) = g.segments.remove(&b) {
                removed.push(seg);
            }
        }
        for (seg, reason) in removed.iter().zip(&decision.reasons) {
            let why = match reason {
                DeletionReason::RetentionMsBreach => format!("retention time {}ms breach", g.config.retention_ms),
                DeletionReason::RetentionSizeBreach => format!("retention size in bytes {} breach", g.config.retention_bytes),
                DeletionReason::LogStartOffsetBreach => format!("log start offset {} breach", g.log_start_offset),
            };
            log::info!(
                "[Log partition={}, dir={}] Deleting segment {} ({} bytes, offsets {}..{}) due to {why}; log start offset is now {}",
                self.tp,
                g.dir.parent().map_or_else(String::new, |p| p.display().to_string()),
                seg.base_offset(),
                seg.size(),
                seg.base_offset(),
                seg.next_offset(),
                g.log_start_offset
            );
        }
        Ok((decision, removed))
    }

    /// fsyncs everything up to the log end and moves the recovery point there.
    pub fn flush(&self) -> LogResult<()> {
        let mut g = self.lock()?;
        flush_inner(&mut g)
    }

    /// Flushes if `flush.ms` has passed since the last flush.
    pub fn flush_if_due(&self, now: i64) -> LogResult<()> {
        let mut g = self.lock()?;
        if g.unflushed_messages > 0 && now.saturating_sub(g.last_flush_ms) >= g.config.flush_ms {
            flush_inner(&mut g)?;
        }
        Ok(())
    }

    /// Flushes and finalises the active segment's time index; the log stays usable.
    pub fn close(&self) -> LogResult<()> {
        let mut g = self.lock()?;
        if let Some(active) = g.segments.values_mut().next_back() {
            active.on_become_inactive()?;
        }
        flush_inner(&mut g)?;
        // Kafka snapshots producer state at the log end on close, and only if
        // the state moved past its newest snapshot (`takeSnapshot`): an empty
        // log, or one unchanged since it was opened from the snapshot at its
        // end, writes nothing. (Writing and fsyncing one per log was most of
        // closing 10,000 idle logs.) Recovery never depends on this snapshot:
        // opening replays the log after the newest snapshot found.
        let leo = g.log_end_offset;
        g.producer_state.update_map_end_offset(leo);
        let dir = g.dir.clone();
        if let Err(e) = g.producer_state.take_snapshot(&dir) {
            log::warn!("{}: cannot write producer snapshot: {e}", self.tp);
        }
        Ok(())
    }

    /// Marks the log closed and moves its directory to `new_dir` (used by
    /// deletion); every later operation fails with `LogError::Closed`.
    pub(crate) fn close_and_rename(&self, new_dir: &Path) -> LogResult<()> {
        let mut g = self.lock_any();
        g.closed = true;
        g.segments_generation += 1;
        rename_inner(&mut g, new_dir)
    }

    /// The swap at the end of a log-dir move (Kafka's
    /// `replaceCurrentWithFutureLog`, atomic with respect to every operation
    /// on either log): if `future` ends where this log does, `future`'s
    /// directory is renamed to `current_dir_name` in its log dir, it takes the
    /// high watermark and any newer leader epoch of this log, and the two
    /// logs' contents are exchanged, so this `Log` (the one every holder
    /// already has) now reads and writes the moved files. `future` is left
    /// closed, holding the old files, renamed to `old_dir_name` in the old
    /// log dir for the caller to delete. Returns false (and changes nothing)
    /// if the ends differ.
    pub(crate) fn swap_in_future(&self, future: &Log, current_dir_name: &str, old_dir_name: &str) -> LogResult<bool> {
        let mut cur = self.lock()?;
        let mut fut = future.lock()?;
        if fut.log_end_offset != cur.log_end_offset {
            return Ok(false);
        }
        flush_inner(&mut fut)?;
        let new_dir = fut.dir.with_file_name(current_dir_name);
        rename_inner(&mut fut, &new_dir)?;
        fut.high_watermark = cur.high_watermark.clamp(fut.log_start_offset, fut.log_end_offset);
        let newer: Vec<EpochEntry> = match fut.epoch_cache.latest_epoch() {
            Some(latest) => cur.epoch_cache.entries().iter().copied().filter(|e| e.epoch > latest).collect(),
            None => cur.epoch_cache.entries().to_vec(),
        };
        for e in newer {
            fut.epoch_cache.assign(e.epoch, e.start_offset)?;
        }
        fut.config = cur.config.clone();
        fut.segments_generation = cur.segments_generation.max(fut.segments_generation) + 1;
        std::mem::swap(&mut *cur, &mut *fut);
        // `fut` now holds the old files.
        fut.closed = true;
        let old_dir = fut.dir.with_file_name(old_dir_name);
        if let Err(e) = rename_inner(&mut fut, &old_dir) {
            log::error!("{}: cannot rename the replaced log dir for deletion: {e}", self.tp);
        }
        Ok(true)
    }
}

/// Renames the files of a segment taken out of the log in `dir` with the
/// `.deleted` suffix (Kafka's `deleteSegmentFiles`: `.log`, `.index`,
/// `.timeindex` and the producer snapshot at its base offset). Returns the
/// renamed paths, to delete after `file.delete.delay.ms`; start-up removes
/// any that are left (`Log::open`).
pub fn mark_for_deletion(dir: &Path, seg: &mut LogSegment) -> LogResult<Vec<PathBuf>> {
    let mut renamed = seg.add_file_suffix(DELETED_FILE_SUFFIX)?;
    let snap = dir.join(segment_file_name(seg.base_offset(), producer_state::SNAPSHOT_SUFFIX));
    let mut to = snap.as_os_str().to_owned();
    to.push(DELETED_FILE_SUFFIX);
    match fs::rename(&snap, &to) {
        Ok(()) => renamed.push(PathBuf::from(to)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    Ok(renamed)
}

fn rename_inner(g: &mut LogInner, new_dir: &Path) -> LogResult<()> {
    fs::rename(&g.dir, new_dir)?;
    g.dir = new_dir.to_path_buf();
    for s in g.segments.values_mut() {
        s.set_dir(new_dir);
    }
    g.epoch_cache.set_dir(new_dir);
    Ok(())
}

/// Makes the pending leader-epoch checkpoints of `logs` durable together
/// (Kafka writes and fsyncs each `leader-epoch-checkpoint` on its own): every
/// temp file written, one sync of each file system, every rename, one more
/// sync. A LeaderAndIsr making thousands of partitions leader did two fsyncs
/// (device flushes) per partition; most of a controlled shutdown's cost on
/// the brokers taking over. Each log's step runs under its lock; a
/// checkpoint written meanwhile by the log itself (truncation, retention) is
/// newer and is kept. One result per log.
pub fn persist_pending_epochs(logs: &[std::sync::Arc<Log>]) -> Vec<LogResult<()>> {
    let mut results: Vec<LogResult<()>> = Vec::with_capacity(logs.len());
    let mut written: Vec<(usize, u64)> = Vec::new();
    let mut temps: Vec<PathBuf> = Vec::new();
    let mut dirs: Vec<PathBuf> = Vec::new();
    for (i, log) in logs.iter().enumerate() {
        let r = log.lock().and_then(|g| {
            let v = g.epoch_cache.write_pending_temp()?;
            Ok(v.map(|v| (v, g.dir.clone())))
        });
        match r {
            Ok(Some((v, dir))) => {
                temps.push(crate::log::checkpoint::temp_path(&dir.join(crate::log::leader_epoch_cache::LEADER_EPOCH_CHECKPOINT)));
                dirs.push(dir);
                written.push((i, v));
                results.push(Ok(()));
            }
            Ok(None) => results.push(Ok(())),
            Err(e) => results.push(Err(e)),
        }
    }
    if written.is_empty() {
        return results;
    }
    let roots: Vec<PathBuf> = {
        let mut r: Vec<PathBuf> = dirs.iter().filter_map(|d| d.parent().map(Path::to_path_buf)).collect();
        r.sort();
        r.dedup();
        r
    };
    if let Err(e) = crate::log::checkpoint::sync_filesystems(&roots, &temps) {
        for (i, _) in &written {
            results[*i] = Err(LogError::Storage(format!("syncing leader epoch checkpoints: {e}")));
        }
        return results;
    }
    for (i, v) in &written {
        if let Err(e) = logs[*i].lock().and_then(|mut g| g.epoch_cache.commit_pending(*v).map(|_| ())) {
            results[*i] = Err(e);
        }
    }
    if let Err(e) = crate::log::checkpoint::sync_filesystems(&roots, &dirs) {
        for (i, _) in &written {
            if results[*i].is_ok() {
                results[*i] = Err(LogError::Storage(format!("syncing leader epoch checkpoints: {e}")));
            }
        }
    }
    results
}

/// Whether `seg` holds anything above the recovery point `rp` (a flush syncs it).
fn unflushed(seg: &LogSegment, rp: i64) -> bool {
    seg.next_offset() > rp || seg.size() > 0 && seg.base_offset() >= rp
}

fn flush_inner(g: &mut LogInner) -> LogResult<()> {
    let _timer = crate::server::metrics::log_metrics::FlushTimer::start();
    let rp = g.recovery_point;
    for seg in g.segments.values() {
        if unflushed(seg, rp) {
            seg.flush()?;
        }
    }
    g.recovery_point = g.log_end_offset;
    g.unflushed_messages = 0;
    g.last_flush_ms = now_ms();
    Ok(())
}

fn maybe_flush(g: &mut LogInner) -> LogResult<()> {
    if g.unflushed_messages >= g.config.flush_messages {
        flush_inner(g)?;
    }
    Ok(())
}

/// Rolls if needed, then appends `data` (batches `first..=last`) to the active segment.
fn append_to_segments(
    g: &mut LogInner,
    parts: &[&[u8]],
    first_offset: i64,
    last_offset: i64,
    max_ts: i64,
    offset_of_max_ts: i64,
) -> LogResult<()> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let roll = match g.segments.values().next_back() {
        Some(active) => active.should_roll(&g.config, len as u64, max_ts, last_offset),
        None => true,
    };
    if roll {
        roll_segment(g, first_offset)?;
    }
    let active = g
        .segments
        .values_mut()
        .next_back()
        .ok_or_else(|| LogError::Storage("log has no segment".into()))?;
    active.append_parts(last_offset, max_ts, offset_of_max_ts, parts)?;
    g.log_end_offset = last_offset + 1;
    Ok(())
}

/// Starts a new active segment at `new_base` (Kafka's `roll`).
fn roll_segment(g: &mut LogInner, new_base: i64) -> LogResult<()> {
    let old_base = g.segments.keys().next_back().copied();
    if let Some(ob) = old_base {
        let empty = g.segments.get(&ob).map_or(false, |s| s.size() == 0);
        if empty {
            if ob == new_base {
                return Ok(());
            }
            if let Some(s) = g.segments.remove(&ob) {
                s.delete_files()?;
            }
        } else if let Some(s) = g.segments.get_mut(&ob) {
            s.on_become_inactive()?;
        }
    }
    // What the roll closes, to be synced in the background (Kafka's
    // `flush(newSegment.baseOffset)`): every segment above the recovery point.
    let rp = g.recovery_point;
    let mut to_sync = Vec::new();
    for s in g.segments.values() {
        if unflushed(s, rp) {
            to_sync.push(s.sync_handle()?);
        }
    }
    // Leftover files with the new name would be stale.
    for suffix in [LOG_FILE_SUFFIX, INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX, TXN_INDEX_FILE_SUFFIX] {
        let p = g.dir.join(segment_file_name(new_base, suffix));
        if p.exists() {
            log::warn!("removing stale {}", p.display());
            fs::remove_file(&p)?;
        }
    }
    let seg = LogSegment::open(&g.dir, new_base, &g.config, now_ms())?;
    g.segments.insert(new_base, seg);
    // Kafka snapshots producer state at every roll, at the new base offset,
    // and flushes what the roll closed in the background: both are made
    // durable by a `RollFlush`, after the lock is released.
    if old_base.is_some() {
        g.producer_state.update_map_end_offset(new_base);
        let dir = g.dir.clone();
        let snapshot = g.producer_state.snapshot_for_later(&dir);
        let generation = g.segments_generation;
        g.pending_roll_flushes.push(RollFlush { target: new_base, generation, segments: to_sync, snapshot });
    }
    Ok(())
}

/// A roll's flush done (or failed): under the log's lock, the recovery point
/// moves to the new segment's base and the snapshot is renamed into place,
/// unless the segments were replaced since the roll.
fn complete_roll_flush(g: &mut LogInner, tp: &TopicPartition, job: RollFlush, synced: std::io::Result<()>) {
    let applies = job.still_applies(g.segments_generation, g.closed);
    match synced {
        Ok(()) if applies => {
            g.recovery_point = job.recovery_point_after(g.recovery_point).min(g.log_end_offset);
            if let Some(snap) = &job.snapshot {
                if let Err(e) = fs::rename(&snap.tmp, &snap.path) {
                    log::warn!("{tp}: cannot put producer snapshot {} in place: {e}", snap.path.display());
                    let _ = fs::remove_file(&snap.tmp);
                }
            }
            return;
        }
        Ok(()) => log::debug!("{tp}: segments replaced since the roll at {}; its flush counts for nothing", job.target),
        Err(e) if applies => log::error!(
            "{tp}: flushing the segments below {} after a roll failed: {e}; the recovery point stays at {}",
            job.target,
            g.recovery_point
        ),
        Err(e) => log::debug!("{tp}: flush after the roll at {} failed after its segments were replaced: {e}", job.target),
    }
    if let Some(snap) = &job.snapshot {
        let _ = fs::remove_file(&snap.tmp);
    }
}

fn last_stable_offset(g: &LogInner) -> i64 {
    match g.producer_state.first_unstable_offset() {
        Some(f) if f < g.high_watermark => f,
        _ => g.high_watermark,
    }
}

fn collect_aborted(g: &LogInner, start_offset: i64, upper_bound: i64) -> Vec<AbortedTxn> {
    let mut out = Vec::new();
    let floor = g.segments.range(..=start_offset).next_back().map_or(i64::MIN, |(b, _)| *b);
    // A transaction's marker may sit in a later segment than its data: go
    // on until an entry's last stable offset passes the bound (as Kafka).
    for (_, seg) in g.segments.range(floor..) {
        if seg.txn_index().collect_aborted(start_offset, upper_bound, &mut out) {
            break;
        }
    }
    out
}

/// The marker of a control batch given as bytes (the coordinator's append).
fn control_marker(batch: Bytes) -> Option<TxnMarker> {
    let b = RecordBatch::parse(batch).ok()?;
    if b.is_control() {
        TxnMarker::from_batch(&b)
    } else {
        None
    }
}

/// Writes the aborted ones of just-completed transactions to the active
/// segment's `.txnindex` (where their markers went).
fn index_aborted(g: &mut LogInner, completed: &[(CompletedTxn, i64)]) -> LogResult<()> {
    for (c, lso) in completed.iter().filter(|(c, _)| c.is_aborted) {
        let seg = g
            .segments
            .range_mut(..=c.last_offset)
            .next_back()
            .map(|(_, s)| s)
            .ok_or_else(|| LogError::Storage("log has no segment".into()))?;
        seg.append_aborted_txn(AbortedTxn {
            producer_id: c.producer_id,
            first_offset: c.first_offset,
            last_offset: c.last_offset,
            last_stable_offset: *lso,
        })?;
    }
    Ok(())
}

/// Rebuilds the `.txnindex` of the segments from `from` on (reset by their
/// recovery) from the transactions the producer state replay completed.
fn rebuild_txn_indexes(tp: &TopicPartition, segments: &mut BTreeMap<i64, LogSegment>, completed: &[(CompletedTxn, i64)], from: i64) {
    for (c, lso) in completed.iter().filter(|(c, _)| c.is_aborted && c.last_offset >= from) {
        let Some((_, seg)) = segments.range_mut(..=c.last_offset).next_back() else { continue };
        if seg.base_offset() < from {
            continue;
        }
        let t = AbortedTxn { producer_id: c.producer_id, first_offset: c.first_offset, last_offset: c.last_offset, last_stable_offset: *lso };
        if let Err(e) = seg.append_aborted_txn(t) {
            log::warn!("{tp}: cannot rebuild the transaction index of segment {}: {e}", seg.base_offset());
        }
    }
}

/// Producer state of a log being opened or truncated (Kafka's
/// `loadProducerState`): the newest snapshot at or below the log end, merged
/// with a replay of the batch headers after it. Kafka replays from the
/// snapshot offset only; we also replay the segments just before it, until at
/// least 5 producer batches precede the snapshot (at most two segments back),
/// so that a restart keeps more of each producer's last 5 batches for
/// duplicate detection. Without a snapshot the whole log is replayed.
fn load_producer_state(
    tp: &TopicPartition,
    dir: &Path,
    segments: &BTreeMap<i64, LogSegment>,
    log_start_offset: i64,
    log_end_offset: i64,
) -> (ProducerStateManager, Vec<(CompletedTxn, i64)>) {
    producer_state::delete_snapshots(dir, |o| o > log_end_offset);
    let snapshot = producer_state::load_latest_snapshot(dir, log_end_offset);
    let snap_offset = snapshot.as_ref().map(|s| s.map_end_offset());
    let mut chunks: Vec<Vec<ProducerBatch>> = Vec::new();
    let mut before_snapshot = 0usize;
    let mut segments_before = 0;
    for seg in segments.values().rev() {
        if seg.base_offset() >= log_end_offset {
            continue;
        }
        match segment_producer_batches(seg, log_start_offset, log_end_offset) {
            Ok(b) => {
                if let Some(so) = snap_offset {
                    before_snapshot += b.iter().filter(|b| b.base_offset < so).count();
                }
                chunks.push(b);
            }
            Err(e) => {
                log::warn!("{tp}: producer state replay stopped at segment {}: {e}", seg.base_offset());
                break;
            }
        }
        if let Some(so) = snap_offset {
            if seg.base_offset() < so {
                segments_before += 1;
                if before_snapshot >= producer_state::NUM_BATCHES_TO_RETAIN || segments_before >= 3 {
                    break;
                }
            }
        }
    }
    let mut replayed = ProducerStateManager::new();
    let mut completed = Vec::new();
    for chunk in chunks.iter().rev() {
        for b in chunk {
            let done = replayed.replay(std::slice::from_ref(b), b.last_offset() + 1);
            if snap_offset.is_none() {
                completed.extend(done);
            }
        }
    }
    let mut state = match snapshot {
        Some(mut s) => {
            // Batch metadata from the replay (which may start before the
            // snapshot); transactions from the snapshot, then the batches
            // after it.
            s.merge_replayed(replayed);
            s.reindex_ongoing_txns();
            let so = snap_offset.unwrap_or(0);
            for chunk in chunks.iter().rev() {
                let after: Vec<ProducerBatch> = chunk.iter().filter(|b| b.base_offset >= so).copied().collect();
                completed.extend(s.replay_txns(&after));
            }
            s
        }
        None => replayed,
    };
    state.truncate_head(log_start_offset);
    state.update_map_end_offset(log_end_offset);
    // Kafka's `loadFromSnapshot`: the newest snapshot is the one loaded, or
    // with none the state counts as snapshotted at the log start.
    state.set_last_snap_offset(snap_offset.unwrap_or(log_start_offset));
    if !state.is_empty() {
        log::debug!("{tp}: loaded the state of {} producers", state.len());
    }
    (state, completed)
}

/// The batches with a producer id in `seg` that end at or after `from` and
/// start before `to`, from their headers.
fn segment_producer_batches(seg: &LogSegment, from: i64, to: i64) -> LogResult<Vec<ProducerBatch>> {
    let mut out = Vec::new();
    let mut pos = 0u64;
    while let Some(h) = seg.read_header_at(pos)? {
        if h.base_offset >= to {
            break;
        }
        let is_control = h.attributes & 0x20 != 0;
        if h.producer_id >= 0 && h.last_offset >= from {
            // A control batch's marker is in its one record: read the batch.
            let marker = if is_control { seg.read_batch_at(pos, h.size)?.as_ref().and_then(TxnMarker::from_batch) } else { None };
            if !is_control || marker.is_some() {
                out.push(ProducerBatch {
                    producer_id: h.producer_id,
                    producer_epoch: h.producer_epoch,
                    base_sequence: h.base_sequence,
                    base_offset: h.base_offset,
                    last_offset_delta: (h.last_offset - h.base_offset) as i32,
                    max_timestamp: h.max_timestamp,
                    is_transactional: h.attributes & 0x10 != 0,
                    marker,
                });
            }
        }
        pos += h.size;
    }
    Ok(out)
}
