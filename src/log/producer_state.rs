//! Per-partition producer state for idempotent producers (Kafka's
//! `kafka.log.ProducerStateManager`, `ProducerStateEntry`, `ProducerAppendInfo`
//! and `BatchMetadata`): for every producer id seen in the log, its epoch and
//! the metadata of its last 5 batches. Leader appends check the producer
//! epoch and sequence of each batch against it and recognise retried
//! duplicates; follower appends and log replay only record. Snapshots
//! (`<offset>.snapshot`, version 1) hold the last batch of each producer.
//!
//! Transactions (KIP-98): a producer's first transactional batch opens its
//! transaction (`current_txn_first_offset`, Kafka's `ongoingTxns`); a COMMIT
//! or ABORT marker closes it, yielding a `CompletedTxn` that the log writes to
//! the segment's `.txnindex` if aborted; a completed transaction holds the
//! last stable offset back until the high watermark passes its marker
//! (Kafka's `unreplicatedTxns`).
//!
//! This module is pure bookkeeping plus the snapshot codec and files; the
//! `Log` decides when to validate, commit, replay and snapshot.

use crate::log::errors::{LogError, LogResult};
use crate::log::segment_file_name;
use crate::protocol::records::{crc32c, NO_PRODUCER_EPOCH, NO_SEQUENCE};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Batches remembered per producer for duplicate detection
/// (`ProducerStateEntry.NumBatchesToRetain`; producers keep at most 5 in flight).
pub const NUM_BATCHES_TO_RETAIN: usize = 5;
pub const SNAPSHOT_SUFFIX: &str = ".snapshot";
const SNAPSHOT_VERSION: i16 = 1;
/// version + crc + entry count.
const SNAPSHOT_HEADER: usize = 2 + 4 + 4;
/// producerId, epoch, lastSequence, lastOffset, offsetDelta, timestamp,
/// coordinatorEpoch, currentTxnFirstOffset.
const SNAPSHOT_ENTRY: usize = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8;

/// `baseSequence + increment`, wrapping past `i32::MAX` to 0 like Kafka.
pub fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    if sequence > i32::MAX - increment {
        increment - (i32::MAX - sequence) - 1
    } else {
        sequence + increment
    }
}

/// `sequence - decrement` with the same wrap-around.
pub fn decrement_sequence(sequence: i32, decrement: i32) -> i32 {
    if sequence < decrement {
        i32::MAX - (decrement - sequence) + 1
    } else {
        sequence - decrement
    }
}

fn in_sequence(last_seq: i32, next_seq: i32) -> bool {
    next_seq as i64 == last_seq as i64 + 1 || (next_seq == 0 && last_seq == i32::MAX)
}

/// One appended batch of a producer (Kafka's `BatchMetadata`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMetadata {
    pub last_seq: i32,
    pub last_offset: i64,
    /// `last_offset - first_offset`.
    pub offset_delta: i32,
    /// The batch's max timestamp (append time for LogAppendTime topics).
    pub timestamp: i64,
}

impl BatchMetadata {
    pub fn first_seq(&self) -> i32 {
        decrement_sequence(self.last_seq, self.offset_delta)
    }
    pub fn first_offset(&self) -> i64 {
        self.last_offset - self.offset_delta as i64
    }
}

/// What the log knows of one producer (Kafka's `ProducerStateEntry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerStateEntry {
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// Oldest first, at most `NUM_BATCHES_TO_RETAIN`, all of `producer_epoch`.
    pub batches: VecDeque<BatchMetadata>,
    /// Epoch of the transaction coordinator that wrote the last marker.
    pub coordinator_epoch: i32,
    pub last_timestamp: i64,
    /// First offset of the producer's open transaction, -1 if none.
    pub current_txn_first_offset: i64,
}

impl ProducerStateEntry {
    pub fn empty(producer_id: i64) -> ProducerStateEntry {
        ProducerStateEntry {
            producer_id,
            producer_epoch: NO_PRODUCER_EPOCH,
            batches: VecDeque::new(),
            coordinator_epoch: -1,
            last_timestamp: -1,
            current_txn_first_offset: -1,
        }
    }
    pub fn last_seq(&self) -> i32 {
        self.batches.back().map_or(NO_SEQUENCE, |b| b.last_seq)
    }
    pub fn last_offset(&self) -> i64 {
        self.batches.back().map_or(-1, |b| b.last_offset)
    }

    /// Records a batch; a new epoch forgets the old epoch's batches.
    fn add_batch(&mut self, epoch: i16, meta: BatchMetadata) {
        if self.producer_epoch != epoch {
            self.batches.clear();
            self.producer_epoch = epoch;
        }
        if self.batches.len() == NUM_BATCHES_TO_RETAIN {
            self.batches.pop_front();
        }
        self.batches.push_back(meta);
        self.last_timestamp = meta.timestamp;
    }

    /// The remembered batch with exactly this epoch and sequence range.
    pub fn find_duplicate(&self, epoch: i16, first_seq: i32, last_seq: i32) -> Option<BatchMetadata> {
        if epoch != self.producer_epoch {
            return None;
        }
        self.batches.iter().find(|b| b.first_seq() == first_seq && b.last_seq == last_seq).copied()
    }
}

/// The end of a transaction written as a control batch (Kafka's
/// `EndTransactionMarker`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnMarker {
    pub commit: bool,
    pub coordinator_epoch: i32,
}

/// Control record types (Kafka's `ControlRecordType`): the key of a control
/// record is version (i16, 0) and type (i16).
pub const CONTROL_TYPE_ABORT: i16 = 0;
pub const CONTROL_TYPE_COMMIT: i16 = 1;

impl TxnMarker {
    /// The control record's key and value (Kafka's `EndTransactionMarker`:
    /// value = version (i16, 0) and coordinator epoch (i32)).
    pub fn key_value(&self) -> ([u8; 4], [u8; 6]) {
        let t = if self.commit { CONTROL_TYPE_COMMIT } else { CONTROL_TYPE_ABORT };
        let mut k = [0u8; 4];
        k[2..].copy_from_slice(&t.to_be_bytes());
        let mut v = [0u8; 6];
        v[2..].copy_from_slice(&self.coordinator_epoch.to_be_bytes());
        (k, v)
    }

    /// Reads the marker of a control batch's first record; `None` for other
    /// control records (or a malformed one).
    pub fn from_batch(batch: &crate::protocol::records::RecordBatch) -> Option<TxnMarker> {
        let recs = batch.records().ok()?;
        let r = recs.first()?;
        TxnMarker::from_key_value(r.key.as_deref()?, r.value.as_deref()?)
    }

    pub fn from_key_value(key: &[u8], value: &[u8]) -> Option<TxnMarker> {
        if key.len() < 4 || value.len() < 6 {
            return None;
        }
        let commit = match i16::from_be_bytes([key[2], key[3]]) {
            CONTROL_TYPE_ABORT => false,
            CONTROL_TYPE_COMMIT => true,
            _ => return None,
        };
        Some(TxnMarker { commit, coordinator_epoch: i32::from_be_bytes([value[2], value[3], value[4], value[5]]) })
    }

    /// A control batch holding this marker for producer `pid`/`epoch`
    /// (transactional and control flags set, no sequence), offset 0.
    pub fn build_batch(&self, pid: i64, epoch: i16, timestamp: i64) -> std::io::Result<bytes::Bytes> {
        let (k, v) = self.key_value();
        let mut b = crate::protocol::records::RecordBatchBuilder::new(crate::protocol::compression::Compression::None)
            .producer(pid, epoch, NO_SEQUENCE)
            .transactional(true)
            .control(true);
        b.append(timestamp, Some(&k), Some(&v), &[]);
        b.build()
    }
}

/// A batch with a producer id as producer state sees it, offsets assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerBatch {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub base_offset: i64,
    pub last_offset_delta: i32,
    pub max_timestamp: i64,
    pub is_transactional: bool,
    /// A control batch: the marker it carries (`None` for data batches).
    pub marker: Option<TxnMarker>,
}

/// A transaction closed by a marker (Kafka's `CompletedTxn`): data from
/// `first_offset`, marker at `last_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    pub last_offset: i64,
    pub is_aborted: bool,
}

impl ProducerBatch {
    pub fn last_sequence(&self) -> i32 {
        increment_sequence(self.base_sequence, self.last_offset_delta)
    }
    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }
    fn metadata(&self) -> BatchMetadata {
        BatchMetadata {
            last_seq: self.last_sequence(),
            last_offset: self.last_offset(),
            offset_delta: self.last_offset_delta,
            timestamp: self.max_timestamp,
        }
    }
}

/// Checks an appended batch against `entry` (Kafka's `checkProducerEpoch` and
/// `checkSequence`); `validate` is false for replication and replay, where an
/// older epoch is only logged; `check_sequence` is false for the
/// coordinator's own writes (Kafka checks sequences of client appends only:
/// the group coordinator writes every TxnOffsetCommit batch at sequence 0).
fn check_batch(entry: &ProducerStateEntry, b: &ProducerBatch, validate: bool, check_sequence: bool) -> LogResult<()> {
    let epoch = b.producer_epoch;
    if epoch < entry.producer_epoch {
        let msg = format!(
            "epoch of producer {} at offset {} is {epoch}, which is smaller than the last seen epoch {}",
            b.producer_id, b.base_offset, entry.producer_epoch
        );
        if validate {
            return Err(LogError::InvalidProducerEpoch(msg));
        }
        log::warn!("{msg}");
    }
    if !validate || !check_sequence {
        return Ok(());
    }
    let first_seq = b.base_sequence;
    if epoch != entry.producer_epoch {
        // A new epoch starts at sequence 0, unless the producer is unknown.
        if first_seq != 0 && entry.producer_epoch != NO_PRODUCER_EPOCH {
            return Err(LogError::OutOfOrderSequence(format!(
                "invalid sequence number for new epoch of producer {} at offset {}: {epoch} (request epoch), \
                 {first_seq} (seq. number), {} (current producer epoch)",
                b.producer_id, b.base_offset, entry.producer_epoch
            )));
        }
    } else {
        let last_seq = entry.last_seq();
        if !(entry.producer_epoch == NO_PRODUCER_EPOCH || in_sequence(last_seq, first_seq)) {
            return Err(LogError::OutOfOrderSequence(format!(
                "out of order sequence number for producer {} at offset {}: {first_seq} (incoming seq. number), \
                 {last_seq} (current end sequence number)",
                b.producer_id, b.base_offset
            )));
        }
    }
    Ok(())
}

/// Updated entries for the producers of one append, to commit once the
/// records are written (Kafka's `ProducerAppendInfo`s).
#[derive(Debug, Default)]
pub struct PendingUpdates {
    entries: Vec<ProducerStateEntry>,
    /// Transactions opened: (first offset, producer id).
    started: Vec<(i64, i64)>,
    completed: Vec<CompletedTxn>,
}

impl PendingUpdates {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Applies one batch's transaction effect to `e` (Kafka's `appendDataBatch`
/// transaction part and `appendEndTxnMarker`); `validate` is false for
/// replication and replay, where fencing is only logged.
fn apply_txn(
    e: &mut ProducerStateEntry,
    b: &ProducerBatch,
    validate: bool,
    started: &mut Vec<(i64, i64)>,
    completed: &mut Vec<CompletedTxn>,
) -> LogResult<()> {
    match b.marker {
        Some(m) => {
            if e.coordinator_epoch > m.coordinator_epoch {
                let msg = format!(
                    "invalid coordinator epoch for producer {} at offset {}: {} (zombie), {} (current)",
                    b.producer_id, b.base_offset, m.coordinator_epoch, e.coordinator_epoch
                );
                if validate {
                    return Err(LogError::TransactionCoordinatorFenced(msg));
                }
                log::info!("{msg}");
            }
            if e.current_txn_first_offset >= 0 {
                completed.push(CompletedTxn {
                    producer_id: b.producer_id,
                    first_offset: e.current_txn_first_offset,
                    last_offset: b.base_offset,
                    is_aborted: !m.commit,
                });
            }
            if e.producer_epoch != b.producer_epoch {
                e.batches.clear();
                e.producer_epoch = b.producer_epoch;
            }
            e.current_txn_first_offset = -1;
            e.coordinator_epoch = m.coordinator_epoch;
            e.last_timestamp = b.max_timestamp;
        }
        None if b.is_transactional => {
            if e.current_txn_first_offset < 0 {
                e.current_txn_first_offset = b.base_offset;
                started.push((b.base_offset, b.producer_id));
            }
        }
        None => {
            if e.current_txn_first_offset >= 0 && validate {
                return Err(LogError::InvalidTxnState(format!(
                    "expected a transactional write from producer {} at offset {}",
                    b.producer_id, b.base_offset
                )));
            }
        }
    }
    Ok(())
}

/// The producers of one partition's log.
#[derive(Debug, Default, Clone)]
pub struct ProducerStateManager {
    producers: HashMap<i64, ProducerStateEntry>,
    /// Offset up to which the log has been applied (exclusive).
    map_end_offset: i64,
    /// Offset of the newest snapshot of this state known to be on disk
    /// (Kafka's `lastSnapOffset`): `take_snapshot` writes only past it.
    last_snap_offset: i64,
    /// Open transactions: first offset -> producer id (Kafka's `ongoingTxns`).
    ongoing_txns: BTreeMap<i64, i64>,
    /// Completed transactions whose marker is not below the high watermark
    /// yet, by first offset (Kafka's `unreplicatedTxns`).
    unreplicated_txns: BTreeMap<i64, CompletedTxn>,
}

impl ProducerStateManager {
    pub fn new() -> ProducerStateManager {
        ProducerStateManager::default()
    }
    pub fn map_end_offset(&self) -> i64 {
        self.map_end_offset
    }
    pub fn update_map_end_offset(&mut self, offset: i64) {
        self.map_end_offset = offset;
    }
    pub fn last_snap_offset(&self) -> i64 {
        self.last_snap_offset
    }
    /// Records which snapshot is the newest on disk (after loading, or after
    /// snapshots were deleted with old segments).
    pub fn set_last_snap_offset(&mut self, offset: i64) {
        self.last_snap_offset = offset;
    }
    pub fn last_entry(&self, producer_id: i64) -> Option<&ProducerStateEntry> {
        self.producers.get(&producer_id)
    }
    pub fn producers(&self) -> &HashMap<i64, ProducerStateEntry> {
        &self.producers
    }
    pub fn len(&self) -> usize {
        self.producers.len()
    }
    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }

    /// The already-written batch that `b` retries, if any (same producer,
    /// epoch and sequence range as one of its last 5 batches).
    pub fn find_duplicate(&self, b: &ProducerBatch) -> Option<BatchMetadata> {
        self.producers.get(&b.producer_id)?.find_duplicate(b.producer_epoch, b.base_sequence, b.last_sequence())
    }

    /// Checks `batches` in order (several may belong to one producer) and
    /// returns the entries to commit; nothing changes yet.
    pub fn prepare(&self, batches: &[ProducerBatch], validate_sequence: bool) -> LogResult<PendingUpdates> {
        self.prepare_checked(batches, validate_sequence, true)
    }

    /// `prepare` for an append of the given origin: `validate` (leader
    /// appends) refuses stale epochs and invalid transaction states;
    /// `check_sequence` (client appends only, as Kafka's
    /// `ProducerAppendInfo` does for `AppendOrigin.Client`) also requires
    /// sequences in order.
    pub fn prepare_checked(&self, batches: &[ProducerBatch], validate_sequence: bool, check_sequence: bool) -> LogResult<PendingUpdates> {
        let mut staged: Vec<ProducerStateEntry> = Vec::new();
        let (mut started, mut completed) = (Vec::new(), Vec::new());
        for b in batches {
            if b.producer_id < 0 {
                continue;
            }
            let idx = match staged.iter().position(|e| e.producer_id == b.producer_id) {
                Some(i) => i,
                None => {
                    let e = self.producers.get(&b.producer_id).cloned().unwrap_or_else(|| ProducerStateEntry::empty(b.producer_id));
                    staged.push(e);
                    staged.len() - 1
                }
            };
            if b.marker.is_some() {
                if b.producer_epoch < staged[idx].producer_epoch {
                    let msg = format!(
                        "epoch of producer {} at offset {} is {}, which is smaller than the last seen epoch {}",
                        b.producer_id, b.base_offset, b.producer_epoch, staged[idx].producer_epoch
                    );
                    if validate_sequence {
                        return Err(LogError::InvalidProducerEpoch(msg));
                    }
                    log::warn!("{msg}");
                }
            } else {
                check_batch(&staged[idx], b, validate_sequence, check_sequence)?;
                staged[idx].add_batch(b.producer_epoch, b.metadata());
            }
            apply_txn(&mut staged[idx], b, validate_sequence, &mut started, &mut completed)?;
        }
        Ok(PendingUpdates { entries: staged, started, completed })
    }

    /// Applies prepared updates; `end_offset` is the log end after the append.
    /// Returns the transactions the append completed, each with the last
    /// stable offset right after it (Kafka's `lastStableOffset(completedTxn)`:
    /// the first other open transaction before its marker, else the offset
    /// after the marker) — the log indexes the aborted ones.
    pub fn commit(&mut self, updates: PendingUpdates, end_offset: i64) -> Vec<(CompletedTxn, i64)> {
        for e in updates.entries {
            self.producers.insert(e.producer_id, e);
        }
        for (first, pid) in updates.started {
            self.ongoing_txns.insert(first, pid);
        }
        let mut done = Vec::with_capacity(updates.completed.len());
        for c in updates.completed {
            let lso = self
                .ongoing_txns
                .iter()
                .find(|(f, p)| **p != c.producer_id && **f < c.last_offset)
                .map_or(c.last_offset + 1, |(f, _)| *f);
            self.ongoing_txns.remove(&c.first_offset);
            self.unreplicated_txns.insert(c.first_offset, c);
            done.push((c, lso));
        }
        self.map_end_offset = self.map_end_offset.max(end_offset);
        done
    }

    /// Records batches already in the log (follower appends, replay);
    /// returns the transactions they completed, as `commit` does.
    pub fn replay(&mut self, batches: &[ProducerBatch], end_offset: i64) -> Vec<(CompletedTxn, i64)> {
        // Without validation nothing can fail.
        match self.prepare(batches, false) {
            Ok(u) => self.commit(u, end_offset),
            Err(_) => Vec::new(),
        }
    }

    /// Applies only the transaction effects of `batches` (already in the
    /// log, after a snapshot whose entries were merged with a replay of
    /// their batch metadata); returns the completed transactions.
    pub fn replay_txns(&mut self, batches: &[ProducerBatch]) -> Vec<(CompletedTxn, i64)> {
        let mut out = Vec::new();
        for b in batches {
            if b.producer_id < 0 {
                continue;
            }
            let Some(mut e) = self.producers.get(&b.producer_id).cloned() else { continue };
            let (mut started, mut completed) = (Vec::new(), Vec::new());
            if apply_txn(&mut e, b, false, &mut started, &mut completed).is_ok() {
                out.extend(self.commit(PendingUpdates { entries: vec![e], started, completed }, 0));
            }
        }
        out
    }

    /// Forgets the open and unreplicated transactions and rebuilds the open
    /// ones from the entries (after loading a snapshot).
    pub fn reindex_ongoing_txns(&mut self) {
        self.unreplicated_txns.clear();
        self.ongoing_txns =
            self.producers.values().filter(|e| e.current_txn_first_offset >= 0).map(|e| (e.current_txn_first_offset, e.producer_id)).collect();
    }

    /// The high watermark moved: completed transactions whose marker is now
    /// below it stop holding the last stable offset back.
    pub fn on_high_watermark_updated(&mut self, hw: i64) {
        if !self.unreplicated_txns.is_empty() {
            self.unreplicated_txns.retain(|_, c| c.last_offset >= hw);
        }
    }

    /// First offset of the oldest open or unreplicated transaction (Kafka's
    /// `firstUnstableOffset`); the LSO is the minimum of it and the HW.
    pub fn first_unstable_offset(&self) -> Option<i64> {
        let a = self.ongoing_txns.keys().next().copied();
        let b = self.unreplicated_txns.keys().next().copied();
        match (a, b) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        }
    }

    /// Open transactions as (first offset, producer id), oldest first.
    pub fn ongoing_txns(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.ongoing_txns.iter().map(|(f, p)| (*f, *p))
    }

    /// Forgets everything (the log was emptied and its snapshots deleted;
    /// Kafka's `truncateFullyAndStartAt`).
    pub fn clear(&mut self, map_end_offset: i64) {
        self.producers.clear();
        self.ongoing_txns.clear();
        self.unreplicated_txns.clear();
        self.map_end_offset = map_end_offset;
        self.last_snap_offset = 0;
    }

    /// Drops producers whose last batch is below the log start offset
    /// (Kafka's `truncateHead`).
    pub fn truncate_head(&mut self, log_start_offset: i64) {
        self.producers.retain(|_, e| e.last_offset() >= log_start_offset);
        let producers = &self.producers;
        self.ongoing_txns.retain(|_, pid| producers.contains_key(pid));
        self.unreplicated_txns.retain(|_, c| c.last_offset >= log_start_offset);
        if self.map_end_offset < log_start_offset {
            self.map_end_offset = log_start_offset;
        }
    }

    /// Merges state replayed from the log into state loaded from a snapshot.
    /// The replay may start before the snapshot offset, so both may know the
    /// same batches: for a producer known to both with one epoch, the union of
    /// their batches (the last 5) is kept; otherwise the side with the later
    /// batch wins.
    pub fn merge_replayed(&mut self, replayed: ProducerStateManager) {
        for (id, e) in replayed.producers {
            match self.producers.get_mut(&id) {
                None => {
                    let mut e = e;
                    e.current_txn_first_offset = -1;
                    e.coordinator_epoch = -1;
                    self.producers.insert(id, e);
                }
                Some(old) if old.producer_epoch == e.producer_epoch => {
                    let mut all: Vec<BatchMetadata> = old.batches.iter().chain(e.batches.iter()).copied().collect();
                    all.sort_by_key(|b| b.last_offset);
                    all.dedup_by_key(|b| b.last_offset);
                    let skip = all.len().saturating_sub(NUM_BATCHES_TO_RETAIN);
                    old.batches = all.into_iter().skip(skip).collect();
                    old.last_timestamp = old.batches.back().map_or(old.last_timestamp, |b| b.timestamp);
                }
                Some(old) => {
                    if e.last_offset() >= old.last_offset() {
                        let (txn, ce) = (old.current_txn_first_offset, old.coordinator_epoch);
                        *old = e;
                        old.current_txn_first_offset = txn;
                        old.coordinator_epoch = ce;
                    }
                }
            }
        }
        self.map_end_offset = self.map_end_offset.max(replayed.map_end_offset);
    }

    // ---------------------------------------------------------------- snapshots

    /// The snapshot bytes (version 1; last batch of each producer, by id).
    pub fn encode_snapshot(&self) -> Vec<u8> {
        let mut entries: Vec<&ProducerStateEntry> = self.producers.values().filter(|e| !e.batches.is_empty()).collect();
        entries.sort_by_key(|e| e.producer_id);
        let mut body = Vec::with_capacity(4 + entries.len() * SNAPSHOT_ENTRY);
        body.extend_from_slice(&(entries.len() as i32).to_be_bytes());
        for e in entries {
            let last = e.batches.back().copied().unwrap_or(BatchMetadata { last_seq: -1, last_offset: -1, offset_delta: 0, timestamp: -1 });
            body.extend_from_slice(&e.producer_id.to_be_bytes());
            body.extend_from_slice(&e.producer_epoch.to_be_bytes());
            body.extend_from_slice(&last.last_seq.to_be_bytes());
            body.extend_from_slice(&last.last_offset.to_be_bytes());
            body.extend_from_slice(&last.offset_delta.to_be_bytes());
            body.extend_from_slice(&last.timestamp.to_be_bytes());
            body.extend_from_slice(&e.coordinator_epoch.to_be_bytes());
            body.extend_from_slice(&e.current_txn_first_offset.to_be_bytes());
        }
        let mut out = Vec::with_capacity(6 + body.len());
        out.extend_from_slice(&SNAPSHOT_VERSION.to_be_bytes());
        out.extend_from_slice(&crc32c(&body).to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Parses a snapshot taken at `offset` (which becomes the map end offset).
    pub fn decode_snapshot(data: &[u8], offset: i64) -> Result<ProducerStateManager, String> {
        if data.len() < SNAPSHOT_HEADER {
            return Err(format!("{} bytes are too few for a snapshot", data.len()));
        }
        let version = i16::from_be_bytes([data[0], data[1]]);
        if version != SNAPSHOT_VERSION {
            return Err(format!("unknown snapshot version {version}"));
        }
        let crc = u32::from_be_bytes([data[2], data[3], data[4], data[5]]);
        let body = &data[6..];
        if crc32c(body) != crc {
            return Err("snapshot CRC mismatch".into());
        }
        let n = i32::from_be_bytes([body[0], body[1], body[2], body[3]]);
        if n < 0 || (body.len() - 4) != n as usize * SNAPSHOT_ENTRY {
            return Err(format!("snapshot holds {} bytes for {n} entries", body.len() - 4));
        }
        let mut m = ProducerStateManager { map_end_offset: offset, last_snap_offset: offset, ..Default::default() };
        for chunk in body[4..].chunks_exact(SNAPSHOT_ENTRY) {
            let i64_at = |at: usize| {
                let mut a = [0u8; 8];
                a.copy_from_slice(&chunk[at..at + 8]);
                i64::from_be_bytes(a)
            };
            let i32_at = |at: usize| i32::from_be_bytes([chunk[at], chunk[at + 1], chunk[at + 2], chunk[at + 3]]);
            let producer_id = i64_at(0);
            let producer_epoch = i16::from_be_bytes([chunk[8], chunk[9]]);
            let meta = BatchMetadata { last_seq: i32_at(10), last_offset: i64_at(14), offset_delta: i32_at(22), timestamp: i64_at(26) };
            let mut e = ProducerStateEntry::empty(producer_id);
            e.producer_epoch = producer_epoch;
            e.coordinator_epoch = i32_at(34);
            e.current_txn_first_offset = i64_at(38);
            e.batches.push_back(meta);
            e.last_timestamp = meta.timestamp;
            m.producers.insert(producer_id, e);
        }
        m.reindex_ongoing_txns();
        Ok(m)
    }

    /// Kafka's `takeSnapshot`: writes `<map_end_offset>.snapshot` only if the
    /// state has moved past the newest snapshot on disk (`map_end_offset >
    /// last_snap_offset`). An empty log, or one whose producer state was loaded
    /// from the snapshot at its end and has not changed since, writes nothing.
    /// Returns the path written, if any.
    pub fn take_snapshot(&mut self, dir: &Path) -> LogResult<Option<PathBuf>> {
        if self.map_end_offset <= self.last_snap_offset {
            return Ok(None);
        }
        let path = self.write_snapshot(dir)?;
        self.last_snap_offset = self.map_end_offset;
        Ok(Some(path))
    }

    /// `take_snapshot` with the writing left to a background flush
    /// (`log_flush::RollFlush`): the snapshot's bytes and where they go, if
    /// the state moved past the newest snapshot. Counted as taken now; if the
    /// write never lands, recovery replays from an older snapshot.
    pub fn snapshot_for_later(&mut self, dir: &Path) -> Option<crate::log::log_flush::PendingSnapshot> {
        if self.map_end_offset <= self.last_snap_offset {
            return None;
        }
        let (path, tmp) = snapshot_paths(dir, self.map_end_offset);
        let snap = crate::log::log_flush::PendingSnapshot { tmp, path, bytes: self.encode_snapshot() };
        self.last_snap_offset = self.map_end_offset;
        Some(snap)
    }

    /// Writes `<map_end_offset>.snapshot` in `dir` (via a temporary file).
    pub fn write_snapshot(&self, dir: &Path) -> LogResult<PathBuf> {
        let (path, tmp) = snapshot_paths(dir, self.map_end_offset);
        {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&self.encode_snapshot())?;
            f.sync_all()?;
        }
        fs::rename(&tmp, &path)?;
        Ok(path)
    }
}

/// `<offset>.snapshot` in `dir`, and the temporary file it is written to first.
fn snapshot_paths(dir: &Path, offset: i64) -> (PathBuf, PathBuf) {
    let path = dir.join(segment_file_name(offset, SNAPSHOT_SUFFIX));
    let tmp = crate::log::checkpoint::temp_path(&path);
    (path, tmp)
}

/// Offsets of the snapshot files in `dir`, ascending.
pub fn list_snapshots(dir: &Path) -> Vec<i64> {
    let mut out: Vec<i64> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let stem = name.strip_suffix(SNAPSHOT_SUFFIX)?.to_string();
                if stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()) {
                    stem.parse().ok()
                } else {
                    None
                }
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    out.sort_unstable();
    out
}

/// Deletes snapshots whose offset satisfies `doomed`.
pub fn delete_snapshots(dir: &Path, doomed: impl Fn(i64) -> bool) {
    for o in list_snapshots(dir) {
        if doomed(o) {
            let _ = fs::remove_file(dir.join(segment_file_name(o, SNAPSHOT_SUFFIX)));
        }
    }
}

/// The newest readable snapshot at or below `max_offset` (unreadable ones are
/// deleted, as Kafka does).
pub fn load_latest_snapshot(dir: &Path, max_offset: i64) -> Option<ProducerStateManager> {
    for o in list_snapshots(dir).into_iter().rev() {
        if o > max_offset {
            continue;
        }
        let path = dir.join(segment_file_name(o, SNAPSHOT_SUFFIX));
        match fs::read(&path).map_err(|e| e.to_string()).and_then(|d| ProducerStateManager::decode_snapshot(&d, o)) {
            Ok(m) => return Some(m),
            Err(e) => {
                log::warn!("deleting unreadable producer snapshot {}: {e}", path.display());
                let _ = fs::remove_file(&path);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(pid: i64, epoch: i16, seq: i32, offset: i64, n: i32) -> ProducerBatch {
        ProducerBatch {
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: seq,
            base_offset: offset,
            last_offset_delta: n - 1,
            max_timestamp: 1000 + offset,
            is_transactional: false,
            marker: None,
        }
    }

    fn append(m: &mut ProducerStateManager, b: ProducerBatch) -> LogResult<()> {
        let u = m.prepare(&[b], true)?;
        m.commit(u, b.last_offset() + 1);
        Ok(())
    }

    #[test]
    fn sequences_in_order_and_out_of_order() {
        let mut m = ProducerStateManager::new();
        // An unknown producer may start anywhere.
        append(&mut m, batch(1, 0, 5, 0, 3)).unwrap();
        assert_eq!(m.last_entry(1).unwrap().last_seq(), 7);
        append(&mut m, batch(1, 0, 8, 3, 2)).unwrap();
        assert_eq!(m.last_entry(1).unwrap().last_seq(), 9);
        // A gap or a step back is out of order.
        assert!(matches!(m.prepare(&[batch(1, 0, 11, 5, 1)], true), Err(LogError::OutOfOrderSequence(_))));
        assert!(matches!(m.prepare(&[batch(1, 0, 9, 5, 1)], true), Err(LogError::OutOfOrderSequence(_))));
        // Several batches of one producer in one append are checked in turn.
        let u = m.prepare(&[batch(1, 0, 10, 5, 1), batch(1, 0, 11, 6, 1)], true).unwrap();
        m.commit(u, 7);
        assert_eq!(m.last_entry(1).unwrap().last_seq(), 11);
        assert!(m.prepare(&[batch(1, 0, 12, 7, 1), batch(1, 0, 14, 8, 1)], true).is_err());
        // Other producers are independent; producer id -1 is ignored.
        append(&mut m, batch(2, 0, 0, 7, 1)).unwrap();
        assert!(m.prepare(&[batch(-1, -1, -1, 8, 1)], true).unwrap().is_empty());
    }

    #[test]
    fn duplicates_of_the_last_five_batches() {
        let mut m = ProducerStateManager::new();
        for i in 0..7 {
            append(&mut m, batch(1, 0, i * 2, (i * 2) as i64, 2)).unwrap();
        }
        let e = m.last_entry(1).unwrap();
        assert_eq!(e.batches.len(), NUM_BATCHES_TO_RETAIN);
        // Batches 2..=6 are remembered with their offsets.
        for i in 2..7 {
            let d = m.find_duplicate(&batch(1, 0, i * 2, 999, 2)).unwrap();
            assert_eq!((d.first_offset(), d.last_offset), ((i * 2) as i64, (i * 2 + 1) as i64));
            assert_eq!(d.timestamp, 1000 + (i * 2) as i64);
        }
        assert_eq!(m.find_duplicate(&batch(1, 0, 2, 999, 2)), None); // too old
        assert_eq!(m.find_duplicate(&batch(1, 0, 4, 999, 1)), None); // other range
        assert_eq!(m.find_duplicate(&batch(1, 1, 4, 999, 2)), None); // other epoch
        assert_eq!(m.find_duplicate(&batch(9, 0, 4, 999, 2)), None); // unknown producer
    }

    #[test]
    fn epochs() {
        let mut m = ProducerStateManager::new();
        append(&mut m, batch(1, 3, 0, 0, 1)).unwrap();
        append(&mut m, batch(1, 3, 1, 1, 1)).unwrap();
        // Older epoch: fenced.
        assert!(matches!(m.prepare(&[batch(1, 2, 2, 2, 1)], true), Err(LogError::InvalidProducerEpoch(_))));
        // Newer epoch must start at 0 ...
        assert!(matches!(m.prepare(&[batch(1, 4, 2, 2, 1)], true), Err(LogError::OutOfOrderSequence(_))));
        // ... and then forgets the old epoch's batches.
        append(&mut m, batch(1, 4, 0, 2, 1)).unwrap();
        let e = m.last_entry(1).unwrap();
        assert_eq!((e.producer_epoch, e.batches.len()), (4, 1));
        // Replication only records, even an older epoch.
        m.replay(&[batch(1, 3, 7, 3, 1)], 4);
        assert_eq!(m.last_entry(1).unwrap().producer_epoch, 3);
    }

    #[test]
    fn coordinator_writes_skip_the_sequence_check_but_not_the_epoch_check() {
        // The group coordinator writes each TxnOffsetCommit of a producer at
        // sequence 0, whatever the number of records before.
        let mut m = ProducerStateManager::new();
        let offsets = |offset: i64, n: i32| ProducerBatch { is_transactional: true, ..batch(1, 2, 0, offset, n) };
        let u = m.prepare_checked(&[offsets(0, 3)], true, false).unwrap();
        m.commit(u, 3);
        assert!(matches!(m.prepare(&[offsets(3, 2)], true), Err(LogError::OutOfOrderSequence(_))));
        let u = m.prepare_checked(&[offsets(3, 2)], true, false).unwrap();
        m.commit(u, 5);
        assert_eq!(m.first_unstable_offset(), Some(0));
        // A stale epoch is still refused.
        let stale = ProducerBatch { is_transactional: true, ..batch(1, 1, 0, 5, 1) };
        assert!(matches!(m.prepare_checked(&[stale], true, false), Err(LogError::InvalidProducerEpoch(_))));
    }

    fn txn(pid: i64, offset: i64, n: i32) -> ProducerBatch {
        ProducerBatch { is_transactional: true, ..batch(pid, 0, (offset as i32) * 0, offset, n) }
    }

    fn marker(pid: i64, offset: i64, commit: bool, coordinator_epoch: i32) -> ProducerBatch {
        ProducerBatch {
            base_sequence: -1,
            is_transactional: true,
            marker: Some(TxnMarker { commit, coordinator_epoch }),
            ..batch(pid, 0, -1, offset, 1)
        }
    }

    #[test]
    fn transactions_open_complete_and_the_first_unstable_offset() {
        let mut m = ProducerStateManager::new();
        m.replay(&[txn(1, 0, 2)], 2);
        m.replay(&[txn(2, 2, 1)], 3);
        // More data of an open transaction does not move its start.
        m.replay(&[ProducerBatch { base_sequence: 2, ..txn(1, 3, 1) }], 4);
        assert_eq!(m.ongoing_txns().collect::<Vec<_>>(), vec![(0, 1), (2, 2)]);
        assert_eq!(m.first_unstable_offset(), Some(0));
        // p1 aborts at 4: LSO after it is p2's start; still unreplicated.
        let done = m.replay(&[marker(1, 4, false, 5)], 5);
        assert_eq!(done, vec![(CompletedTxn { producer_id: 1, first_offset: 0, last_offset: 4, is_aborted: true }, 2)]);
        assert_eq!(m.first_unstable_offset(), Some(0));
        m.on_high_watermark_updated(5);
        assert_eq!(m.first_unstable_offset(), Some(2));
        assert_eq!(m.last_entry(1).unwrap().coordinator_epoch, 5);
        // p2 commits at 5; a transaction opened after the marker (p3 at 6)
        // does not bound the LSO of p2's completion.
        m.replay(&[txn(3, 6, 1)], 7);
        let done = m.replay(&[marker(2, 5, true, 5)], 6);
        assert_eq!(done[0].1, 6);
        assert!(!done[0].0.is_aborted);
        m.on_high_watermark_updated(7);
        assert_eq!(m.first_unstable_offset(), Some(6));
        // A marker without an open transaction completes nothing.
        assert!(m.replay(&[marker(1, 7, true, 5)], 8).is_empty());
        // Leader checks: older coordinator epoch, older producer epoch,
        // non-transactional write inside a transaction.
        assert!(matches!(m.prepare(&[marker(1, 8, true, 4)], true), Err(LogError::TransactionCoordinatorFenced(_))));
        assert!(matches!(m.prepare(&[ProducerBatch { producer_epoch: -1, ..marker(3, 8, true, 5) }], true), Err(LogError::InvalidProducerEpoch(_))));
        assert!(matches!(m.prepare(&[ProducerBatch { base_sequence: 1, ..batch(3, 0, 1, 8, 1) }], true), Err(LogError::InvalidTxnState(_))));
    }

    #[test]
    fn open_transactions_in_snapshots() {
        let mut m = ProducerStateManager::new();
        m.replay(&[txn(1, 0, 2), txn(2, 2, 1)], 3);
        m.replay(&[marker(2, 3, true, 7)], 4);
        m.update_map_end_offset(4);
        let back = ProducerStateManager::decode_snapshot(&m.encode_snapshot(), 4).unwrap();
        assert_eq!(back.ongoing_txns().collect::<Vec<_>>(), vec![(0, 1)]);
        assert_eq!(back.last_entry(2).unwrap().coordinator_epoch, 7);
        assert_eq!(back.first_unstable_offset(), Some(0));
        // Truncating the head past a producer's data forgets its transaction.
        let mut t = back.clone();
        t.truncate_head(3);
        assert_eq!(t.first_unstable_offset(), None);
    }

    #[test]
    fn marker_records() {
        let mk = TxnMarker { commit: false, coordinator_epoch: 9 };
        let (k, v) = mk.key_value();
        assert_eq!(k, [0, 0, 0, 0]);
        assert_eq!(v, [0, 0, 0, 0, 0, 9]);
        assert_eq!(TxnMarker::from_key_value(&k, &v), Some(mk));
        assert_eq!(TxnMarker::from_key_value(&[0, 0, 0, 1], &v).unwrap().commit, true);
        assert_eq!(TxnMarker::from_key_value(&[0, 0, 0, 2], &v), None);
        let b = crate::protocol::records::RecordBatch::parse(mk.build_batch(4, 2, 77).unwrap()).unwrap();
        assert!(b.is_control() && b.is_transactional());
        assert_eq!((b.producer_id(), b.producer_epoch(), b.base_sequence()), (4, 2, -1));
        assert_eq!(TxnMarker::from_batch(&b), Some(mk));
    }

    #[test]
    fn sequence_wraps() {
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
        assert_eq!(decrement_sequence(1, 3), i32::MAX - 1);
        let mut m = ProducerStateManager::new();
        append(&mut m, batch(1, 0, i32::MAX - 1, 0, 2)).unwrap();
        assert_eq!(m.last_entry(1).unwrap().last_seq(), i32::MAX);
        append(&mut m, batch(1, 0, 0, 2, 1)).unwrap();
        let b = batch(1, 0, i32::MAX - 1, 9, 3);
        assert_eq!(b.last_sequence(), 0);
    }

    #[test]
    fn rebuild_by_replay_matches_live_state() {
        let batches: Vec<ProducerBatch> =
            (0..20).map(|i| batch(i % 3, 0, (i / 3) as i32 * 2, i * 2, 2)).collect();
        let mut live = ProducerStateManager::new();
        for b in &batches {
            append(&mut live, *b).unwrap();
        }
        let mut replayed = ProducerStateManager::new();
        for b in &batches {
            replayed.replay(&[*b], b.last_offset() + 1);
        }
        assert_eq!(live.producers, replayed.producers);
        assert_eq!(live.map_end_offset(), 40);
        // Truncating head drops producers with nothing left in the log.
        let mut t = live.clone();
        t.truncate_head(39);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn merge_snapshot_with_overlapping_replay() {
        let batches: Vec<ProducerBatch> = (0..8).map(|i| batch(1, 0, i * 2, (i * 2) as i64, 2)).collect();
        let mut live = ProducerStateManager::new();
        for b in &batches {
            append(&mut live, *b).unwrap();
        }
        // Snapshot after batch 5 (one batch kept), replay of batches 3..8.
        let mut snap_src = ProducerStateManager::new();
        for b in &batches[..6] {
            append(&mut snap_src, *b).unwrap();
        }
        let mut merged = ProducerStateManager::decode_snapshot(&snap_src.encode_snapshot(), 12).unwrap();
        let mut replayed = ProducerStateManager::new();
        replayed.replay(&batches[3..], 16);
        merged.merge_replayed(replayed);
        assert_eq!(merged.last_entry(1), live.last_entry(1));
        // A newer epoch in the replay replaces the snapshot's entry.
        let mut replayed = ProducerStateManager::new();
        replayed.replay(&[batch(1, 1, 0, 16, 1)], 17);
        merged.merge_replayed(replayed);
        assert_eq!(merged.last_entry(1).unwrap().producer_epoch, 1);
        assert_eq!(merged.last_entry(1).unwrap().batches.len(), 1);
    }

    #[test]
    fn take_snapshot_writes_only_past_the_last_snapshot() {
        let dir = std::env::temp_dir().join(format!("zkafka-pstate-take-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        // Nothing applied: nothing to write (Kafka: lastMapOffset > lastSnapOffset).
        let mut m = ProducerStateManager::new();
        assert_eq!(m.take_snapshot(&dir).unwrap(), None);
        assert!(list_snapshots(&dir).is_empty());
        append(&mut m, batch(7, 2, 0, 0, 3)).unwrap();
        m.update_map_end_offset(3);
        assert_eq!(m.take_snapshot(&dir).unwrap(), Some(dir.join("00000000000000000003.snapshot")));
        assert_eq!(m.last_snap_offset(), 3);
        // Unchanged since: no second write.
        assert_eq!(m.take_snapshot(&dir).unwrap(), None);
        // A state loaded from a snapshot counts as snapshotted at its offset.
        let loaded = load_latest_snapshot(&dir, 100).unwrap();
        assert_eq!((loaded.map_end_offset(), loaded.last_snap_offset()), (3, 3));
        let mut loaded = loaded;
        assert_eq!(loaded.take_snapshot(&dir).unwrap(), None);
        append(&mut loaded, batch(7, 2, 3, 3, 1)).unwrap();
        loaded.update_map_end_offset(4);
        assert!(loaded.take_snapshot(&dir).unwrap().is_some());
        assert_eq!(list_snapshots(&dir), vec![3, 4]);
        // After a full truncation (snapshots deleted) the next end is written again.
        delete_snapshots(&dir, |_| true);
        loaded.clear(4);
        assert_eq!(loaded.take_snapshot(&dir).unwrap(), Some(dir.join("00000000000000000004.snapshot")));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn snapshot_round_trip_and_files() {
        let mut m = ProducerStateManager::new();
        append(&mut m, batch(7, 2, 0, 0, 3)).unwrap();
        append(&mut m, batch(7, 2, 3, 3, 2)).unwrap();
        append(&mut m, batch(1, 0, 0, 5, 1)).unwrap();
        let bytes = m.encode_snapshot();
        assert_eq!(bytes.len(), SNAPSHOT_HEADER + 2 * SNAPSHOT_ENTRY);
        assert_eq!(&bytes[..2], &[0, 1]);
        // First entry: producer 1 (sorted by id).
        assert_eq!(&bytes[10..18], &1i64.to_be_bytes());
        let back = ProducerStateManager::decode_snapshot(&bytes, 6).unwrap();
        assert_eq!(back.map_end_offset(), 6);
        let e = back.last_entry(7).unwrap();
        assert_eq!((e.producer_epoch, e.last_seq(), e.last_offset()), (2, 4, 4));
        assert_eq!(back.find_duplicate(&batch(7, 2, 3, 99, 2)).unwrap().first_offset(), 3);
        let mut bad = bytes.clone();
        bad[20] ^= 1;
        assert!(ProducerStateManager::decode_snapshot(&bad, 6).is_err());
        assert!(ProducerStateManager::decode_snapshot(&bytes[..5], 6).is_err());

        let dir = std::env::temp_dir().join(format!("zkafka-pstate-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        m.update_map_end_offset(6);
        m.write_snapshot(&dir).unwrap();
        assert!(dir.join("00000000000000000006.snapshot").exists());
        fs::write(dir.join("00000000000000000009.snapshot"), b"junk").unwrap();
        assert_eq!(list_snapshots(&dir), vec![6, 9]);
        let loaded = load_latest_snapshot(&dir, 100).unwrap();
        assert_eq!(loaded.map_end_offset(), 6);
        assert_eq!(list_snapshots(&dir), vec![6]); // the junk one was deleted
        assert!(load_latest_snapshot(&dir, 5).is_none());
        delete_snapshots(&dir, |o| o > 5);
        assert!(list_snapshots(&dir).is_empty());
        let _ = fs::remove_dir_all(&dir);
    }
}
