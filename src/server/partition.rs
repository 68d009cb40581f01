//! One partition hosted on this broker: its log, its role (leader or
//! follower), leader epoch, replicas and ISR as the controller last told us,
//! the followers' fetch positions, the high watermark rule and the leader's
//! ISR shrink/expand decisions. Maps to Kafka's `kafka.cluster.Partition`
//! (with `kafka.cluster.Replica` folded into `FollowerState`).

use crate::common::{now_ms, TopicPartition};
use crate::log::Log;
use crate::protocol::error::{self, ErrorCode};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

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
    BecameLeader,
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

pub struct Partition {
    pub tp: TopicPartition,
    pub log: Arc<Log>,
    local_broker_id: i32,
    replica_lag_time_max_ms: i64,
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
        let mut g = self.lock();
        if new.leader_epoch <= g.state.leader_epoch && g.state.leader_epoch >= 0 {
            return RoleChange::Stale;
        }
        let becoming_leader = new.leader == self.local_broker_id;
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
            if let Err(e) = self.log.assign_epoch_start_offset(epoch, leo) {
                log::error!("cannot record leader epoch {epoch} start {leo} for {}: {e}", self.tp);
            }
            self.maybe_increment_high_watermark();
            RoleChange::BecameLeader
        } else {
            g.leader_epoch_start_offset = -1;
            RoleChange::BecameFollower
        }
    }

    /// Records a follower's fetch (its fetch offset is its log end offset),
    /// advances the high watermark if it can, and returns an ISR expansion to
    /// write if the follower has caught up (LEO >= HW and >= the start offset
    /// of the current leader epoch).
    pub fn update_follower_fetch_state(&self, replica_id: i32, fetch_offset: i64) -> Option<IsrChange> {
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
        self.maybe_increment_high_watermark();
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
                g.state.isr = change.new_isr.clone();
                g.state.zk_version = new_zk_version;
                true
            } else {
                false
            }
        };
        self.maybe_increment_high_watermark();
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
    /// with the partition locked, swaps in the future log if it has caught up.
    pub fn replace_current_with_future_log(&self, log_manager: &crate::log::LogManager) -> crate::log::LogResult<bool> {
        let _g = self.lock();
        log_manager.replace_current_with_future_log(&self.tp)
    }
}
