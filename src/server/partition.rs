//! One partition hosted on this broker: its log, its role (leader or
//! follower), leader epoch, replicas and ISR as the controller last told us,
//! the followers' fetch positions, the high watermark rule and the leader's
//! ISR shrink/expand decisions. Maps to Kafka's `kafka.cluster.Partition`
//! (with `kafka.cluster.Replica` folded into `FollowerState`).
//!
//! `Partition` owns its `Log`: nothing else reaches the log. The leader
//! path (`append_records_to_leader`, `fetch_records`, the offset lookups)
//! checks role and leader epoch and touches the log while holding the
//! partition's `leader_isr_update_lock` for reading; a LeaderAndIsr
//! (`make_leader_or_follower`) takes it for writing, so it cannot land
//! between a leader check and the append it guards (Kafka's
//! `leaderIsrUpdateLock`).

use crate::common::{now_ms, TopicPartition};
use crate::log::file_records::FileRecords;
use crate::log::transaction_index::AbortedTxn;
use crate::log::{Log, LogAppendInfo, LogConfig, LogResult, TimestampAndOffset};
use crate::protocol::error::{self, ErrorCode};
use crate::protocol::records::AppendOrigin;
use bytes::Bytes;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    pub replicas: Vec<i32>,
    pub zk_version: i32,
    pub controller_epoch: i32,
}

/// What the leader knows of one follower (Kafka's `Replica`).
#[derive(Debug, Clone, Copy)]
pub struct FollowerState {
    /// The follower's log end offset: its last fetch offset (-1 = unknown).
    pub log_end_offset: i64,
    /// Last time the follower had everything the leader had.
    pub last_caught_up_ms: i64,
    /// Leader log end offset and time at the follower's previous fetch.
    pub last_fetch_leader_leo: i64,
    pub last_fetch_ms: i64,
    /// The follower's log start offset, from its fetch requests (-1 = unknown).
    pub log_start_offset: i64,
}

impl FollowerState {
    fn new(now: i64) -> Self {
        FollowerState {
            log_end_offset: -1,
            last_caught_up_ms: now,
            last_fetch_leader_leo: -1,
            last_fetch_ms: now,
            log_start_offset: -1,
        }
    }
}

/// An ISR change the leader wants written to ZooKeeper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsrChange {
    pub leader_epoch: i32,
    pub new_isr: Vec<i32>,
    pub zk_version: i32,
    pub controller_epoch: i32,
}

/// How a LeaderAndIsr state was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleChange {
    /// Leading at the new epoch; `new_leader` is Kafka's `isNewLeader`: this
    /// broker was not the leader before (only then do the coordinators load).
    BecameLeader { new_leader: bool },
    BecameFollower,
    /// The leader epoch was not newer than ours: nothing changed.
    Stale,
}

struct Inner {
    state: PartitionState,
    followers: HashMap<i32, FollowerState>,
    /// Log end offset when this broker became leader in the current epoch.
    leader_epoch_start_offset: i64,
    /// An ISR write is under way (legacy ZK path): no other is started, and
    /// the high watermark uses the union of the old and proposed ISR.
    pending_isr: Option<Vec<i32>>,
}

/// A successful leader append (Kafka's `LogAppendInfo` plus the epoch the
/// records were appended under, which a waiting acks=all produce checks).
#[derive(Debug, Clone)]
pub struct LeaderAppend {
    pub info: LogAppendInfo,
    pub leader_epoch: i32,
    pub log_start_offset: i64,
}

/// A refused append or read: the Kafka error and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionError {
    pub code: ErrorCode,
    pub message: Option<String>,
    /// Offsets a fetch error response still carries (OFFSET_OUT_OF_RANGE).
    pub high_watermark: i64,
    pub log_start_offset: i64,
}

impl PartitionError {
    pub fn new(code: ErrorCode) -> Self {
        PartitionError { code, message: None, high_watermark: -1, log_start_offset: -1 }
    }
    fn msg(code: ErrorCode, message: String) -> Self {
        PartitionError { code, message: Some(message), high_watermark: -1, log_start_offset: -1 }
    }
}

/// Who is reading, and how far they may read (Kafka's `FetchParams` and
/// `FetchIsolation` for one partition).
#[derive(Debug, Clone, Copy)]
pub struct FetchParams {
    /// >= 0: a follower broker; < 0: a consumer.
    pub replica_id: i32,
    pub fetch_offset: i64,
    pub max_bytes: usize,
    pub min_one_message: bool,
    pub current_leader_epoch: i32,
    /// Fetch v12+: the requester's last fetched epoch (-1 = none).
    pub last_fetched_epoch: i32,
    /// Consumers only: a follower may answer (KIP-392), up to its high watermark.
    pub allow_follower: bool,
    /// Record the follower's position (first pass of a fetch only).
    pub record_follower_state: bool,
    /// Leader replication throttle in force: answer without records.
    pub throttled: bool,
    /// The records may come back as a slice of the segment file
    /// (`PartitionRead::file_records`) to be sent without copying.
    pub zero_copy: bool,
    /// Consumers with isolation_level=read_committed (Fetch v4+): read up to
    /// the last stable offset and get the aborted transactions of the range.
    pub read_committed: bool,
}

/// The answer to one partition's fetch.
#[derive(Debug, Clone)]
pub struct PartitionRead {
    pub records: Bytes,
    /// With `FetchParams::zero_copy`: the records as a file slice instead.
    pub file_records: Option<FileRecords>,
    pub high_watermark: i64,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    pub last_stable_offset: i64,
    /// read_committed fetches: the aborted transactions overlapping the range.
    pub aborted_transactions: Option<Vec<AbortedTxn>>,
    /// Fetch v12: (epoch, end offset) where the requester's log diverges.
    pub diverging_epoch: Option<(i32, i64)>,
    /// A follower fetch changed the ISR set to write (to submit) or moved the HW.
    pub isr_change: Option<IsrChange>,
    pub high_watermark_moved: bool,
    /// Whether this broker led the partition when it answered.
    pub from_leader: bool,
}

pub struct Partition {
    pub tp: TopicPartition,
    log: Arc<Log>,
    local_broker_id: i32,
    replica_lag_time_max_ms: i64,
    /// Held for reading by every leader-path operation, for writing by role
    /// changes (Kafka's `leaderIsrUpdateLock`). Always taken before `inner`.
    leader_isr_update_lock: RwLock<()>,
    inner: Mutex<Inner>,
}

impl Partition {
    pub fn new(tp: TopicPartition, log: Arc<Log>, local_broker_id: i32, state: PartitionState) -> Partition {
        Partition::with_lag(tp, log, local_broker_id, state, 30_000)
    }

    pub fn with_lag(
        tp: TopicPartition,
        log: Arc<Log>,
        local_broker_id: i32,
        state: PartitionState,
        replica_lag_time_max_ms: i64,
    ) -> Partition {
        Partition {
            tp,
            log,
            local_broker_id,
            replica_lag_time_max_ms,
            leader_isr_update_lock: RwLock::new(()),
            inner: Mutex::new(Inner {
                state,
                followers: HashMap::new(),
                leader_epoch_start_offset: -1,
                pending_isr: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read_guard(&self) -> RwLockReadGuard<'_, ()> {
        self.leader_isr_update_lock.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_guard(&self) -> RwLockWriteGuard<'_, ()> {
        self.leader_isr_update_lock.write().unwrap_or_else(|p| p.into_inner())
    }

    // ------------------------------------------------------------ log facts

    pub fn log_end_offset(&self) -> i64 {
        self.log.log_end_offset()
    }

    pub fn high_watermark(&self) -> i64 {
        self.log.high_watermark()
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log.log_start_offset()
    }

    pub fn latest_epoch(&self) -> Option<i32> {
        self.log.latest_epoch()
    }

    /// (largest epoch <= `epoch`, its end offset) in the local log.
    pub fn end_offset_for_epoch(&self, epoch: i32) -> (i32, i64) {
        self.log.end_offset_for_epoch(epoch)
    }

    pub fn log_dir(&self) -> PathBuf {
        self.log.dir()
    }

    pub fn log_size_in_bytes(&self) -> u64 {
        self.log.size_in_bytes()
    }

    pub fn log_config(&self) -> LogConfig {
        self.log.config()
    }

    /// A dynamic topic config change (Kafka's `Log.updateConfig`).
    pub fn update_log_config(&self, config: LogConfig) {
        self.log.update_config(config)
    }

    pub fn flush_log(&self) -> LogResult<()> {
        self.log.flush()
    }

    /// Reads the local log without role checks (the group coordinator
    /// loading `__consumer_offsets`, which it leads).
    pub fn read_local(&self, offset: i64, max_bytes: usize) -> LogResult<Bytes> {
        Ok(self.log.read(offset, max_bytes, None, true)?.records)
    }

    // ------------------------------------------------------------ leader path

    /// Kafka's `Partition.appendRecordsToLeader`: under the read lock, checks
    /// that this broker leads, that acks=all has `min_isr` in-sync replicas,
    /// appends under the current leader epoch and advances the high
    /// watermark. Returns the epoch appended under.
    pub fn append_records_to_leader(
        &self,
        records: Bytes,
        origin: AppendOrigin,
        required_acks: i16,
        min_isr: i32,
    ) -> Result<LeaderAppend, PartitionError> {
        let _guard = self.read_guard();
        let (leader_epoch, isr) = {
            let g = self.lock();
            if g.state.leader != self.local_broker_id {
                return Err(PartitionError::new(error::NOT_LEADER_OR_FOLLOWER));
            }
            (g.state.leader_epoch, g.state.isr.clone())
        };
        if required_acks == -1 && (isr.len() as i32) < min_isr {
            return Err(PartitionError::msg(
                error::NOT_ENOUGH_REPLICAS,
                format!(
                    "The size of the current ISR {isr:?} is insufficient to satisfy the min.isr requirement of {min_isr} for partition {}",
                    self.tp
                ),
            ));
        }
        let info = self
            .log
            .append_as_leader(records, leader_epoch, origin)
            .map_err(|e| PartitionError::msg(e.error_code(), e.to_string()))?;
        self.increment_high_watermark_locked();
        Ok(LeaderAppend { info, leader_epoch, log_start_offset: self.log.log_start_offset() })
    }

    /// Appends a COMMIT/ABORT marker as leader (Kafka's WriteTxnMarkers path:
    /// `appendRecordsToLeader` with origin Coordinator and acks=-1), under the
    /// read lock like any leader append; the caller waits for replication
    /// with `check_enough_replicas_reach_offset`.
    pub fn append_end_txn_marker(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        coordinator_epoch: i32,
        commit: bool,
        min_isr: i32,
    ) -> Result<LeaderAppend, PartitionError> {
        let _guard = self.read_guard();
        let (leader_epoch, isr) = {
            let g = self.lock();
            if g.state.leader != self.local_broker_id {
                return Err(PartitionError::new(error::NOT_LEADER_OR_FOLLOWER));
            }
            (g.state.leader_epoch, g.state.isr.len() as i32)
        };
        if isr < min_isr {
            return Err(PartitionError::msg(
                error::NOT_ENOUGH_REPLICAS,
                format!("the ISR of {} ({isr}) is below min.insync.replicas {min_isr}", self.tp),
            ));
        }
        let info = self
            .log
            .append_end_txn_marker(producer_id, producer_epoch, coordinator_epoch, commit, leader_epoch)
            .map_err(|e| PartitionError::msg(e.error_code(), e.to_string()))?;
        self.increment_high_watermark_locked();
        Ok(LeaderAppend { info, leader_epoch, log_start_offset: self.log.log_start_offset() })
    }

    pub fn last_stable_offset(&self) -> i64 {
        self.log.last_stable_offset()
    }

    /// Kafka's `checkEnoughReplicasReachOffset` for a waiting acks=all
    /// produce appended under `leader_epoch`. `None`: keep waiting. The
    /// partition must still be led here, and the records must still be the
    /// ones appended in that epoch: either the epoch is unchanged, or the
    /// epoch cache still says `leader_epoch` covers `last_offset` (this
    /// broker led again without truncating them). Otherwise
    /// NOT_LEADER_OR_FOLLOWER: a leader that became follower and refetched
    /// past the offset must not acknowledge a record the new leader may have
    /// overwritten. Then the high watermark must have passed the records,
    /// and the ISR must still be at least `min_isr`.
    pub fn check_enough_replicas_reach_offset(
        &self,
        last_offset: i64,
        leader_epoch: i32,
        min_isr: i32,
    ) -> Option<Result<(), PartitionError>> {
        let _guard = self.read_guard();
        let g = self.lock();
        if g.state.leader != self.local_broker_id {
            return Some(Err(PartitionError::new(error::NOT_LEADER_OR_FOLLOWER)));
        }
        if g.state.leader_epoch != leader_epoch {
            let (epoch, end) = self.log.end_offset_for_epoch(leader_epoch);
            if epoch != leader_epoch || end <= last_offset {
                return Some(Err(PartitionError::new(error::NOT_LEADER_OR_FOLLOWER)));
            }
        }
        if self.log.high_watermark() <= last_offset {
            return None;
        }
        let isr = g.state.isr.len() as i32;
        if isr < min_isr {
            return Some(Err(PartitionError::msg(
                error::NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                format!("the ISR of {} shrank to {isr} below min.insync.replicas {min_isr}", self.tp),
            )));
        }
        Some(Ok(()))
    }

    /// Kafka's `Partition.readRecords` (with `fetchOffsetSnapshot`'s checks):
    /// leader (or, for consumers with `allow_follower`, follower) and epoch
    /// checks, the v12 divergence check, the offset range, recording a
    /// follower's position, then the read: followers to the log end,
    /// consumers to the high watermark.
    pub fn fetch_records(&self, p: &FetchParams) -> Result<PartitionRead, PartitionError> {
        let _guard = self.read_guard();
        let (leader, leader_epoch) = {
            let g = self.lock();
            (g.state.leader, g.state.leader_epoch)
        };
        let is_leader = leader == self.local_broker_id;
        if !is_leader && (p.replica_id >= 0 || !p.allow_follower) {
            return Err(PartitionError::new(error::NOT_LEADER_OR_FOLLOWER));
        }
        if p.current_leader_epoch >= 0 {
            if p.current_leader_epoch < leader_epoch {
                return Err(PartitionError::new(error::FENCED_LEADER_EPOCH));
            }
            if p.current_leader_epoch > leader_epoch {
                return Err(PartitionError::new(error::UNKNOWN_LEADER_EPOCH));
            }
        }
        let log = &self.log;
        // Fetch v12 (KIP-595 style divergence check, as Kafka 2.7+ leaders
        // do): the requester's last fetched epoch must end at or after its
        // fetch offset in our log, else tell it where the epoch ends.
        if p.last_fetched_epoch >= 0 {
            let (epoch, end) = log.end_offset_for_epoch(p.last_fetched_epoch);
            if epoch < p.last_fetched_epoch || end < p.fetch_offset {
                return Ok(PartitionRead {
                    records: Bytes::new(),
                    file_records: None,
                    high_watermark: log.high_watermark(),
                    log_start_offset: log.log_start_offset(),
                    log_end_offset: log.log_end_offset(),
                    last_stable_offset: log.last_stable_offset(),
                    aborted_transactions: None,
                    diverging_epoch: Some((epoch, end)),
                    isr_change: None,
                    high_watermark_moved: false,
                    from_leader: is_leader,
                });
            }
        }
        let leo = log.log_end_offset();
        let lso = log.log_start_offset();
        if p.fetch_offset < lso || p.fetch_offset > leo {
            return Err(PartitionError {
                code: error::OFFSET_OUT_OF_RANGE,
                message: None,
                high_watermark: log.high_watermark(),
                log_start_offset: lso,
            });
        }
        let mut isr_change = None;
        let mut high_watermark_moved = false;
        if p.replica_id >= 0 && p.record_follower_state {
            let before = log.high_watermark();
            isr_change = self.update_follower_fetch_state_locked(p.replica_id, p.fetch_offset);
            high_watermark_moved = log.high_watermark() != before;
        }
        let hw = log.high_watermark();
        // Read after the HW: never above the HW this answer reports.
        let last_stable = log.last_stable_offset().min(hw);
        // Kafka's FetchIsolation: followers to the log end, consumers to the
        // high watermark, read_committed consumers to the last stable offset.
        let max_offset = if p.replica_id >= 0 {
            None
        } else if p.read_committed {
            Some(last_stable)
        } else {
            Some(hw)
        };
        let mut aborted_transactions = None;
        let (records, file_records) = if p.throttled {
            (Bytes::new(), None)
        } else {
            let read = log
                .read_with(p.fetch_offset, p.max_bytes, max_offset, p.min_one_message, p.zero_copy)
                .map_err(|e| PartitionError::msg(e.error_code(), e.to_string()))?;
            if p.read_committed {
                // Kafka's addAbortedTransactions: up to where the segment of
                // the fetch offset ends (reads stay within one segment).
                let has_data = !read.records.is_empty() || read.file_records.as_ref().is_some_and(|f| f.len > 0);
                aborted_transactions = Some(if has_data {
                    let upper = log.next_segment_base_after(p.fetch_offset).unwrap_or(leo).min(last_stable);
                    log.collect_aborted_transactions(p.fetch_offset, upper)
                } else {
                    Vec::new()
                });
            }
            (read.records, read.file_records)
        };
        Ok(PartitionRead {
            records,
            file_records,
            high_watermark: hw,
            log_start_offset: lso,
            log_end_offset: leo,
            last_stable_offset: last_stable,
            aborted_transactions,
            diverging_epoch: None,
            isr_change,
            high_watermark_moved,
            from_leader: is_leader,
        })
    }

    /// Kafka's `Partition.fetchOffsetForTimestamp` (ListOffsets): (error,
    /// offset, timestamp, leader epoch). Only the leader answers, except the
    /// "debugging" replica id -2.
    /// `read_committed` (isolation level 1): "latest" is the last stable offset.
    pub fn fetch_offset_for_timestamp(
        &self,
        replica_id: i32,
        current_epoch: i32,
        timestamp: i64,
        read_committed: bool,
    ) -> (ErrorCode, i64, i64, i32) {
        use crate::protocol::messages::list_offsets::{EARLIEST_TIMESTAMP, LATEST_TIMESTAMP};
        let fail = |code| (code, -1, -1, -1);
        let _guard = self.read_guard();
        let state = self.state();
        if state.leader != self.local_broker_id && replica_id != -2 {
            return fail(error::NOT_LEADER_OR_FOLLOWER);
        }
        if current_epoch >= 0 {
            if current_epoch < state.leader_epoch {
                return fail(error::FENCED_LEADER_EPOCH);
            }
            if current_epoch > state.leader_epoch {
                return fail(error::UNKNOWN_LEADER_EPOCH);
            }
        }
        let log = &self.log;
        let epoch = state.leader_epoch;
        match timestamp {
            EARLIEST_TIMESTAMP => (error::NONE, log.log_start_offset(), -1, epoch),
            LATEST_TIMESTAMP => {
                let offset = if replica_id >= 0 || replica_id == -2 {
                    log.log_end_offset()
                } else if read_committed {
                    log.last_stable_offset()
                } else {
                    log.high_watermark()
                };
                (error::NONE, offset, -1, epoch)
            }
            ts => match log.fetch_offset_by_timestamp(ts) {
                Ok(Some(TimestampAndOffset { offset, timestamp, leader_epoch, .. }))
                    if replica_id >= 0
                        || offset < if read_committed { log.last_stable_offset() } else { log.high_watermark() } =>
                {
                    (error::NONE, offset, timestamp, leader_epoch.unwrap_or(epoch))
                }
                Ok(_) => (error::NONE, -1, -1, -1),
                Err(e) => fail(e.error_code()),
            },
        }
    }

    /// Kafka's `Partition.lastOffsetForLeaderEpoch`: (error, epoch, end
    /// offset), answered by the leader only.
    pub fn last_offset_for_leader_epoch(&self, current_epoch: i32, epoch: i32) -> (ErrorCode, i32, i64) {
        let _guard = self.read_guard();
        let state = self.state();
        if current_epoch >= 0 {
            if current_epoch < state.leader_epoch {
                return (error::FENCED_LEADER_EPOCH, -1, -1);
            }
            if current_epoch > state.leader_epoch {
                return (error::UNKNOWN_LEADER_EPOCH, -1, -1);
            }
        }
        if state.leader != self.local_broker_id {
            return (error::NOT_LEADER_OR_FOLLOWER, -1, -1);
        }
        let (e, end) = self.log.end_offset_for_epoch(epoch);
        (error::NONE, e, end)
    }

    // ------------------------------------------------------------ follower path

    /// Kafka's `appendRecordsToFollowerOrFutureReplica`: refused once this
    /// broker leads (a fetcher answer that arrives after a LeaderAndIsr).
    pub fn append_records_to_follower(&self, records: Bytes) -> Result<LogAppendInfo, PartitionError> {
        let _guard = self.read_guard();
        if self.lock().state.leader == self.local_broker_id {
            return Err(PartitionError::new(error::NOT_LEADER_OR_FOLLOWER));
        }
        self.log.append_as_follower(records).map_err(|e| PartitionError::msg(e.error_code(), e.to_string()))
    }

    /// A follower takes min(leader's high watermark, own log end) as its
    /// high watermark. Returns true if it moved.
    pub fn update_follower_high_watermark(&self, leader_hw: i64) -> bool {
        let _guard = self.read_guard();
        if self.lock().state.leader == self.local_broker_id || leader_hw < 0 {
            return false;
        }
        let new_hw = leader_hw.min(self.log.log_end_offset());
        if new_hw != self.log.high_watermark() {
            self.log.update_high_watermark(new_hw);
            true
        } else {
            false
        }
    }

    /// Follower: the leader's log start moved past ours (within our HW).
    pub fn maybe_increment_log_start_offset(&self, new_start: i64) -> LogResult<bool> {
        let _guard = self.read_guard();
        if new_start > self.log.log_start_offset() && new_start <= self.log.high_watermark() {
            self.log.maybe_increment_log_start_offset(new_start)
        } else {
            Ok(false)
        }
    }

    /// Follower truncation (Kafka's `Partition.truncateTo`).
    pub fn truncate_to(&self, offset: i64) -> LogResult<bool> {
        let _guard = self.read_guard();
        self.log.truncate_to(offset)
    }

    /// Follower: empty the log and restart it at `offset` (Kafka's `truncateFullyAndStartAt`).
    pub fn truncate_fully_and_start_at(&self, offset: i64) -> LogResult<()> {
        let _guard = self.read_guard();
        self.log.truncate_fully_and_start_at(offset)
    }

    pub fn state(&self) -> PartitionState {
        self.lock().state.clone()
    }

    pub fn is_leader(&self) -> bool {
        self.lock().state.leader == self.local_broker_id
    }

    pub fn leader_epoch(&self) -> i32 {
        self.lock().state.leader_epoch
    }

    pub fn leader_epoch_start_offset(&self) -> i64 {
        self.lock().leader_epoch_start_offset
    }

    pub fn follower_state(&self, replica_id: i32) -> Option<FollowerState> {
        self.lock().followers.get(&replica_id).copied()
    }

    /// Applies a LeaderAndIsr state. A state whose leader epoch is not newer
    /// than ours changes nothing (`Stale`). Becoming leader records the new
    /// epoch's start offset (the log end) in the epoch cache (KAFKA-7415) and
    /// resets the followers' positions.
    pub fn make_leader_or_follower(&self, new: PartitionState) -> RoleChange {
        let _guard = self.write_guard();
        self.make_leader_or_follower_locked(new, false).0
    }

    /// `make_leader_or_follower` for many partitions, their new leaders'
    /// epoch checkpoints made durable together (`persist_pending_epochs`):
    /// every partition's write lock is held from its role change until the
    /// batch is durable, so, as one at a time, nothing is appended in a new
    /// epoch before its checkpoint is on disk. One result per item, in order.
    /// Blocking (file system syncs).
    pub fn make_leaders_or_followers(items: &[(Arc<Partition>, PartitionState)]) -> Vec<RoleChange> {
        let mut guards = Vec::with_capacity(items.len());
        let mut changes: Vec<Option<RoleChange>> = Vec::with_capacity(items.len());
        let mut pending: Vec<(usize, Arc<Log>)> = Vec::new();
        // A partition named twice is changed again after the batch: taking
        // its write lock a second time here would never return.
        let mut locked: std::collections::HashSet<*const Partition> = std::collections::HashSet::new();
        for (i, (p, state)) in items.iter().enumerate() {
            if !locked.insert(Arc::as_ptr(p)) {
                changes.push(None);
                continue;
            }
            guards.push(p.write_guard());
            let (change, epoch_pending) = p.make_leader_or_follower_locked(state.clone(), true);
            if epoch_pending {
                pending.push((i, p.log.clone()));
            }
            changes.push(Some(change));
        }
        let logs: Vec<Arc<Log>> = pending.iter().map(|(_, l)| l.clone()).collect();
        for ((i, _), r) in pending.iter().zip(crate::log::log::persist_pending_epochs(&logs)) {
            if let Err(e) = r {
                let (p, state) = &items[*i];
                log::error!("cannot record leader epoch {} for {}: {e}", state.leader_epoch, p.tp);
            }
        }
        drop(guards);
        changes
            .into_iter()
            .zip(items)
            .map(|(c, (p, state))| c.unwrap_or_else(|| p.make_leader_or_follower(state.clone())))
            .collect()
    }

    /// The role change, under the write lock the caller holds. With `defer`,
    /// a new leader epoch's checkpoint is left pending (true in the result)
    /// for the caller to make durable before it releases the lock.
    fn make_leader_or_follower_locked(&self, new: PartitionState, defer: bool) -> (RoleChange, bool) {
        let mut g = self.lock();
        if new.leader_epoch <= g.state.leader_epoch && g.state.leader_epoch >= 0 {
            return (RoleChange::Stale, false);
        }
        let becoming_leader = new.leader == self.local_broker_id;
        let was_leader = g.state.leader == self.local_broker_id;
        g.state = new;
        g.followers.clear();
        g.pending_isr = None;
        if becoming_leader {
            let now = now_ms();
            for r in g.state.replicas.clone() {
                if r != self.local_broker_id {
                    g.followers.insert(r, FollowerState::new(now));
                }
            }
            let leo = self.log.log_end_offset();
            g.leader_epoch_start_offset = leo;
            let epoch = g.state.leader_epoch;
            drop(g);
            let pending = if defer {
                self.log.assign_epoch_start_offset_deferred(epoch, leo)
            } else {
                self.log.assign_epoch_start_offset(epoch, leo).map(|()| false)
            };
            let pending = pending.unwrap_or_else(|e| {
                log::error!("cannot record leader epoch {epoch} start {leo} for {}: {e}", self.tp);
                false
            });
            self.increment_high_watermark_locked();
            (RoleChange::BecameLeader { new_leader: !was_leader }, pending)
        } else {
            g.leader_epoch_start_offset = -1;
            (RoleChange::BecameFollower, false)
        }
    }

    /// Records a follower's fetch (its fetch offset is its log end offset),
    /// advances the high watermark if it can, and returns an ISR expansion to
    /// write if the follower has caught up (LEO >= HW and >= the start offset
    /// of the current leader epoch).
    pub fn update_follower_fetch_state(&self, replica_id: i32, fetch_offset: i64) -> Option<IsrChange> {
        let _guard = self.read_guard();
        self.update_follower_fetch_state_locked(replica_id, fetch_offset)
    }

    /// As `update_follower_fetch_state`; the caller holds the read lock.
    fn update_follower_fetch_state_locked(&self, replica_id: i32, fetch_offset: i64) -> Option<IsrChange> {
        let change = {
            let mut g = self.lock();
            if g.state.leader != self.local_broker_id {
                return None;
            }
            let now = now_ms();
            let leo = self.log.log_end_offset();
            let entry = g.followers.entry(replica_id).or_insert_with(|| FollowerState::new(now));
            // Kafka's rule: caught up now if it has the leader's log end; caught
            // up as of the previous fetch if it has what the leader had then.
            if fetch_offset >= leo {
                entry.last_caught_up_ms = now;
            } else if entry.last_fetch_leader_leo >= 0 && fetch_offset >= entry.last_fetch_leader_leo {
                entry.last_caught_up_ms = entry.last_caught_up_ms.max(entry.last_fetch_ms);
            }
            entry.log_end_offset = fetch_offset;
            entry.last_fetch_leader_leo = leo;
            entry.last_fetch_ms = now;
            self.maybe_expand_isr(&g, replica_id, fetch_offset)
        };
        self.increment_high_watermark_locked();
        change
    }

    fn maybe_expand_isr(&self, g: &Inner, replica_id: i32, follower_leo: i64) -> Option<IsrChange> {
        if g.pending_isr.is_some()
            || g.state.isr.contains(&replica_id)
            || !g.state.replicas.contains(&replica_id)
            || g.leader_epoch_start_offset < 0
        {
            return None;
        }
        let hw = self.log.high_watermark();
        if follower_leo >= hw && follower_leo >= g.leader_epoch_start_offset {
            let mut new_isr = g.state.isr.clone();
            new_isr.push(replica_id);
            return Some(IsrChange {
                leader_epoch: g.state.leader_epoch,
                new_isr,
                zk_version: g.state.zk_version,
                controller_epoch: g.state.controller_epoch,
            });
        }
        None
    }

    /// The `isr-expiration` check: drops followers that have not caught up
    /// for `replica.lag.time.max.ms` and whose LEO differs from ours. The
    /// leader itself always stays.
    pub fn maybe_shrink_isr(&self, now: i64) -> Option<IsrChange> {
        let g = self.lock();
        if g.state.leader != self.local_broker_id || g.pending_isr.is_some() {
            return None;
        }
        let leo = self.log.log_end_offset();
        let out_of_sync: Vec<i32> = g
            .state
            .isr
            .iter()
            .copied()
            .filter(|r| *r != self.local_broker_id)
            .filter(|r| match g.followers.get(r) {
                Some(f) => f.log_end_offset != leo && now - f.last_caught_up_ms > self.replica_lag_time_max_ms,
                None => true,
            })
            .collect();
        if out_of_sync.is_empty() {
            return None;
        }
        let mut new_isr: Vec<i32> = g.state.isr.iter().copied().filter(|r| !out_of_sync.contains(r)).collect();
        if !new_isr.contains(&self.local_broker_id) {
            new_isr.push(self.local_broker_id);
        }
        log::info!(
            "[Partition {}] shrinking ISR from {:?} to {:?}: out of sync {:?} (leader LEO {leo}, HW {})",
            self.tp,
            g.state.isr,
            new_isr,
            out_of_sync,
            self.log.high_watermark()
        );
        Some(IsrChange {
            leader_epoch: g.state.leader_epoch,
            new_isr,
            zk_version: g.state.zk_version,
            controller_epoch: g.state.controller_epoch,
        })
    }

    /// Marks an ISR write as started. Returns false if another one is under
    /// way or the partition's epoch/version moved since `change` was made.
    pub fn begin_isr_change(&self, change: &IsrChange) -> bool {
        let mut g = self.lock();
        if g.pending_isr.is_some()
            || g.state.leader != self.local_broker_id
            || g.state.leader_epoch != change.leader_epoch
            || g.state.zk_version != change.zk_version
        {
            return false;
        }
        g.pending_isr = Some(change.new_isr.clone());
        true
    }

    /// The ISR write succeeded with `new_zk_version`: adopt it (unless a
    /// newer LeaderAndIsr arrived meanwhile). Returns true if applied.
    pub fn complete_isr_change(&self, change: &IsrChange, new_zk_version: i32) -> bool {
        let _guard = self.read_guard();
        let applied = {
            let mut g = self.lock();
            g.pending_isr = None;
            if g.state.leader_epoch == change.leader_epoch && g.state.zk_version == change.zk_version {
                log::info!(
                    "[Partition {}] ISR updated from {:?} to {:?} (zkVersion {new_zk_version})",
                    self.tp,
                    g.state.isr,
                    change.new_isr
                );
                crate::server::metrics::replica_manager_metrics::isr_changed(g.state.isr.len(), change.new_isr.len());
                g.state.isr = change.new_isr.clone();
                g.state.zk_version = new_zk_version;
                true
            } else {
                false
            }
        };
        self.increment_high_watermark_locked();
        applied
    }

    /// The ISR write failed (e.g. zkVersion mismatch): keep the old ISR and
    /// wait for a newer LeaderAndIsr.
    pub fn abort_isr_change(&self) {
        self.lock().pending_isr = None;
    }

    /// High watermark = the smallest log end offset among the ISR (the
    /// leader included; while an ISR write is in flight, among the old ISR
    /// plus the proposed members). It never moves backwards. Returns true if
    /// it moved.
    pub fn maybe_increment_high_watermark(&self) -> bool {
        let _guard = self.read_guard();
        self.increment_high_watermark_locked()
    }

    /// As `maybe_increment_high_watermark`; the caller holds the update lock.
    fn increment_high_watermark_locked(&self) -> bool {
        let g = self.lock();
        if g.state.leader != self.local_broker_id {
            return false;
        }
        let current = self.log.high_watermark();
        let mut hw = self.log.log_end_offset();
        let extra: &[i32] = g.pending_isr.as_deref().unwrap_or(&[]);
        for r in g.state.isr.iter().chain(extra.iter()) {
            if *r == self.local_broker_id {
                continue;
            }
            match g.followers.get(r) {
                Some(f) if f.log_end_offset >= 0 => hw = hw.min(f.log_end_offset),
                _ => hw = hw.min(current),
            }
        }
        drop(g);
        if hw > current {
            self.log.update_high_watermark(hw);
            true
        } else {
            false
        }
    }

    /// The leader's view of every replica (KIP-392's `ReplicaView`):
    /// (broker id, log end offset, ms since caught up), the leader first.
    /// Empty unless this broker leads.
    pub fn replica_views(&self, now: i64) -> Vec<(i32, i64, i64)> {
        let g = self.lock();
        if g.state.leader != self.local_broker_id {
            return Vec::new();
        }
        let mut out = vec![(self.local_broker_id, self.log.log_end_offset(), 0)];
        for (id, f) in &g.followers {
            out.push((*id, f.log_end_offset, (now - f.last_caught_up_ms).max(0)));
        }
        out
    }

    /// Whether `replica_id` is in the ISR (Kafka's `inSyncReplicaIds.contains`).
    pub fn is_in_sync(&self, replica_id: i32) -> bool {
        self.lock().state.isr.contains(&replica_id)
    }

    pub fn isr_size(&self) -> usize {
        self.lock().state.isr.len()
    }

    /// Records the log start offset a follower sent in its fetch (Kafka's
    /// `Replica.logStartOffset`). Returns true if it changed.
    pub fn update_follower_log_start_offset(&self, replica_id: i32, log_start_offset: i64) -> bool {
        let mut g = self.lock();
        if g.state.leader != self.local_broker_id {
            return false;
        }
        match g.followers.get_mut(&replica_id) {
            Some(f) if f.log_start_offset != log_start_offset => {
                f.log_start_offset = log_start_offset;
                true
            }
            _ => false,
        }
    }

    /// Kafka's `Partition.deleteRecordsOnLeader`: on the leader, moves the
    /// log start offset to `offset` (-1 = the high watermark). Returns the
    /// offset asked for and the low watermark now. Errors: not the leader
    /// (NOT_LEADER_OR_FOLLOWER), a policy without `delete`
    /// (POLICY_VIOLATION), an offset below 0 or beyond the high watermark
    /// (OFFSET_OUT_OF_RANGE).
    pub fn delete_records_on_leader(&self, offset: i64) -> Result<(i64, i64), (ErrorCode, String)> {
        let _guard = self.read_guard();
        let g = self.lock();
        if g.state.leader != self.local_broker_id {
            return Err((error::NOT_LEADER_OR_FOLLOWER, format!("Leader not local for partition {}", self.tp)));
        }
        let config = self.log.config();
        if !config.cleanup_policy.split(',').any(|p| p.trim() == "delete") {
            return Err((
                error::POLICY_VIOLATION,
                format!("Records of partition {} can not be deleted due to the configured policy", self.tp),
            ));
        }
        let hw = self.log.high_watermark();
        let converted = if offset == crate::protocol::messages::delete_records::HIGH_WATERMARK { hw } else { offset };
        if converted < 0 || converted > hw {
            return Err((
                error::OFFSET_OUT_OF_RANGE,
                format!("Cannot increment the log start offset to {converted} of partition {} since it is larger than the high watermark {hw}", self.tp),
            ));
        }
        if let Err(e) = self.log.maybe_increment_log_start_offset(converted) {
            return Err((e.error_code(), e.to_string()));
        }
        let low = Self::low_watermark(&g, self.log.log_start_offset(), self.local_broker_id);
        Ok((converted, low))
    }

    /// Kafka's `lowWatermarkIfLeader`: the smallest log start offset among
    /// the leader and the followers in the ISR (a follower not heard from
    /// yet counts as -1), or NOT_LEADER_OR_FOLLOWER.
    pub fn low_watermark_if_leader(&self) -> Result<i64, ErrorCode> {
        let g = self.lock();
        if g.state.leader != self.local_broker_id {
            return Err(error::NOT_LEADER_OR_FOLLOWER);
        }
        Ok(Self::low_watermark(&g, self.log.log_start_offset(), self.local_broker_id))
    }

    fn low_watermark(g: &Inner, leader_start: i64, local: i32) -> i64 {
        let mut low = leader_start;
        for r in &g.state.isr {
            if *r == local {
                continue;
            }
            low = low.min(g.followers.get(r).map_or(-1, |f| f.log_start_offset));
        }
        low
    }

    /// The end of a log-dir move (Kafka's `maybeReplaceCurrentWithFutureReplica`):
    /// with the partition's update lock held for writing (no append or read
    /// runs meanwhile), swaps in the future log if it has caught up.
    pub fn replace_current_with_future_log(&self, log_manager: &crate::log::LogManager) -> crate::log::LogResult<bool> {
        let _g = self.write_guard();
        log_manager.replace_current_with_future_log(&self.tp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::LogOpenState;
    use crate::protocol::compression::Compression;
    use crate::protocol::records::RecordBatchBuilder;

    fn batch(v: &str) -> Bytes {
        let mut b = RecordBatchBuilder::new(Compression::None);
        b.append(0, None, Some(v.as_bytes()), &[]);
        b.build().unwrap()
    }

    fn state(leader: i32, epoch: i32, isr: Vec<i32>) -> PartitionState {
        PartitionState { leader, leader_epoch: epoch, isr, replicas: vec![1, 2], zk_version: 0, controller_epoch: 1 }
    }

    fn partition(tag: &str) -> (Partition, PathBuf) {
        let dir = std::env::temp_dir().join(format!("zkafka-partition-{tag}-{}-{:08x}", std::process::id(), rand::random::<u32>()));
        let tp = TopicPartition::new("t", 0);
        let log = Log::open(&dir.join("t-0"), tp.clone(), LogConfig::default(), LogOpenState::default()).unwrap();
        let p = Partition::new(tp, Arc::new(log), 1, state(-1, -1, vec![]));
        (p, dir)
    }

    #[test]
    fn leader_append_checks_role_and_min_isr() {
        let (p, dir) = partition("append");
        assert_eq!(p.append_records_to_leader(batch("a"), AppendOrigin::Client, 1, 1).unwrap_err().code, error::NOT_LEADER_OR_FOLLOWER);
        assert_eq!(p.make_leader_or_follower(state(1, 1, vec![1])), RoleChange::BecameLeader { new_leader: true });
        let a = p.append_records_to_leader(batch("a"), AppendOrigin::Client, -1, 1).unwrap();
        assert_eq!((a.info.first_offset, a.leader_epoch), (0, 1));
        // alone in the ISR: the high watermark moves at once
        assert_eq!(p.check_enough_replicas_reach_offset(0, 1, 1), Some(Ok(())));
        assert_eq!(p.check_enough_replicas_reach_offset(0, 1, 2).unwrap().unwrap_err().code, error::NOT_ENOUGH_REPLICAS_AFTER_APPEND);
        let e = p.append_records_to_leader(batch("b"), AppendOrigin::Client, -1, 2).unwrap_err();
        assert_eq!(e.code, error::NOT_ENOUGH_REPLICAS);
        // acks=1 ignores min.insync.replicas
        assert!(p.append_records_to_leader(batch("b"), AppendOrigin::Client, 1, 2).is_ok());
        // a follower refuses leader appends and consumer fetches (unless allowed)
        assert_eq!(p.make_leader_or_follower(state(2, 2, vec![1, 2])), RoleChange::BecameFollower);
        assert_eq!(p.append_records_to_leader(batch("c"), AppendOrigin::Client, 1, 1).unwrap_err().code, error::NOT_LEADER_OR_FOLLOWER);
        let fetch = FetchParams {
            replica_id: -1,
            fetch_offset: 0,
            max_bytes: 1 << 20,
            min_one_message: true,
            current_leader_epoch: -1,
            last_fetched_epoch: -1,
            allow_follower: false,
            record_follower_state: false,
            throttled: false,
            zero_copy: false,
            read_committed: false,
        };
        assert_eq!(p.fetch_records(&fetch).unwrap_err().code, error::NOT_LEADER_OR_FOLLOWER);
        let r = p.fetch_records(&FetchParams { allow_follower: true, ..fetch }).unwrap();
        assert!(!r.from_leader && !r.records.is_empty());
        assert_eq!(p.fetch_records(&FetchParams { current_leader_epoch: 1, allow_follower: true, ..fetch }).unwrap_err().code, error::FENCED_LEADER_EPOCH);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn batched_role_changes_make_the_new_epochs_durable_and_take_a_partition_named_twice() {
        let (p1, d1) = partition("batch1");
        let (p2, d2) = partition("batch2");
        let (p1, p2) = (Arc::new(p1), Arc::new(p2));
        p1.make_leader_or_follower(state(1, 1, vec![1, 2]));
        p1.append_records_to_leader(batch("a"), AppendOrigin::Client, 1, 1).unwrap();
        let items = vec![
            (p1.clone(), state(1, 2, vec![1])),
            (p2.clone(), state(2, 1, vec![2, 1])),
            (p1.clone(), state(1, 3, vec![1])),
        ];
        let changes = Partition::make_leaders_or_followers(&items);
        assert_eq!(
            changes,
            vec![
                RoleChange::BecameLeader { new_leader: false },
                RoleChange::BecameFollower,
                RoleChange::BecameLeader { new_leader: false },
            ]
        );
        assert_eq!(p1.leader_epoch(), 3);
        // Each new epoch was on disk before the batch returned, no temp file left.
        let dir1 = d1.join("t-0");
        assert_eq!(std::fs::read_to_string(dir1.join("leader-epoch-checkpoint")).unwrap(), "0\n2\n1 0\n3 1\n");
        assert!(!dir1.join("leader-epoch-checkpoint.tmp").exists());
        assert!(!d2.join("t-0").join("leader-epoch-checkpoint.tmp").exists());
        let a = p1.append_records_to_leader(batch("b"), AppendOrigin::Client, 1, 1).unwrap();
        assert_eq!((a.info.first_offset, a.leader_epoch), (1, 3));
        // A stale request changes nothing.
        assert_eq!(Partition::make_leaders_or_followers(&[(p1.clone(), state(1, 3, vec![1]))]), vec![RoleChange::Stale]);
        let _ = std::fs::remove_dir_all(d1);
        let _ = std::fs::remove_dir_all(d2);
    }

    #[test]
    fn waiting_produce_is_not_acknowledged_after_losing_its_records() {
        let (p, dir) = partition("ack");
        p.make_leader_or_follower(state(1, 1, vec![1, 2]));
        let a = p.append_records_to_leader(batch("mine"), AppendOrigin::Client, -1, 1).unwrap();
        assert_eq!(p.check_enough_replicas_reach_offset(a.info.last_offset, a.leader_epoch, 1), None, "follower 2 lacks it");
        // Becomes follower: never acknowledged, whatever the high watermark does.
        p.make_leader_or_follower(state(2, 2, vec![2]));
        assert!(p.update_follower_high_watermark(1));
        assert_eq!(p.high_watermark(), 1);
        assert_eq!(
            p.check_enough_replicas_reach_offset(a.info.last_offset, a.leader_epoch, 1).unwrap().unwrap_err().code,
            error::NOT_LEADER_OR_FOLLOWER
        );
        // The new leader's log differs: truncated, then leader again with other records at offset 0.
        p.truncate_to(0).unwrap();
        p.make_leader_or_follower(state(1, 3, vec![1]));
        p.append_records_to_leader(batch("theirs"), AppendOrigin::Client, -1, 1).unwrap();
        assert_eq!(p.high_watermark(), 1);
        assert_eq!(
            p.check_enough_replicas_reach_offset(a.info.last_offset, a.leader_epoch, 1).unwrap().unwrap_err().code,
            error::NOT_LEADER_OR_FOLLOWER,
            "offset 0 now holds another epoch's record"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn waiting_produce_survives_a_reelection_that_kept_its_records() {
        let (p, dir) = partition("reelect");
        p.make_leader_or_follower(state(1, 1, vec![1, 2]));
        let a = p.append_records_to_leader(batch("mine"), AppendOrigin::Client, -1, 1).unwrap();
        assert_eq!(p.check_enough_replicas_reach_offset(a.info.last_offset, 1, 1), None);
        // Re-elected with a new epoch (ISR shrunk to itself): the records are still epoch 1's.
        assert_eq!(p.make_leader_or_follower(state(1, 2, vec![1])), RoleChange::BecameLeader { new_leader: false });
        assert_eq!(p.check_enough_replicas_reach_offset(a.info.last_offset, 1, 1), Some(Ok(())));
        let _ = std::fs::remove_dir_all(dir);
    }
}
