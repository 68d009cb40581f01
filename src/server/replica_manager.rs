//! The partitions this broker hosts and the produce and fetch paths over
//! them: leader checks, `acks` and `min.insync.replicas`, delayed produce and
//! delayed (long-poll) fetch, and applying the controller's LeaderAndIsr and
//! StopReplica. Maps to Kafka's `kafka.server.ReplicaManager` (with its
//! purgatories reduced to waiting on a notification of new data).

use crate::common::TopicPartition;
use crate::log::{LogConfig, LogManager};
use crate::protocol::error::{self, ErrorCode};
use crate::protocol::records::AppendOrigin;
use crate::server::partition::{Partition, PartitionState};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The result of appending to one partition.
#[derive(Debug, Clone)]
pub struct ProducePartitionResult {
    pub error: ErrorCode,
    pub base_offset: i64,
    pub log_append_time: i64,
    pub log_start_offset: i64,
    pub error_message: Option<String>,
}

impl ProducePartitionResult {
    fn error(code: ErrorCode, message: Option<String>) -> Self {
        ProducePartitionResult { error: code, base_offset: -1, log_append_time: -1, log_start_offset: -1, error_message: message }
    }
}

/// One partition of a fetch request.
#[derive(Debug, Clone)]
pub struct FetchPartitionRequest {
    pub tp: TopicPartition,
    pub fetch_offset: i64,
    pub partition_max_bytes: i32,
    pub current_leader_epoch: i32,
}

/// One partition of a fetch response.
#[derive(Debug, Clone)]
pub struct FetchPartitionResult {
    pub tp: TopicPartition,
    pub error: ErrorCode,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
    pub records: Option<Bytes>,
}

/// Told when this broker becomes (true) or stops being (false) the leader of
/// a partition, with the leader epoch (the group coordinator's hook).
pub type LeadershipListener = Box<dyn Fn(&TopicPartition, bool, i32) + Send + Sync>;

pub struct ReplicaManager {
    /// See `LeadershipListener`.
    leadership_listener: RwLock<Option<LeadershipListener>>,
    broker_id: i32,
    pub log_manager: Arc<LogManager>,
    partitions: RwLock<HashMap<TopicPartition, Arc<Partition>>>,
    /// Highest controller epoch seen in a controller request.
    controller_epoch: AtomicI32,
    /// This broker's epoch: the czxid of its `/brokers/ids/<id>` znode.
    broker_epoch: AtomicI64,
    /// Woken on every append and high-watermark move; delayed fetches and
    /// delayed produces wait on it.
    data_notify: Notify,
    default_log_config: LogConfig,
    default_min_isr: i32,
    /// Per-topic config overrides, read from ZooKeeper when a log is created.
    topic_configs: RwLock<HashMap<String, HashMap<String, String>>>,
}

impl ReplicaManager {
    pub fn new(broker_id: i32, log_manager: Arc<LogManager>, default_log_config: LogConfig, default_min_isr: i32) -> Self {
        ReplicaManager {
            leadership_listener: RwLock::new(None),
            broker_id,
            log_manager,
            partitions: RwLock::new(HashMap::new()),
            controller_epoch: AtomicI32::new(-1),
            broker_epoch: AtomicI64::new(-1),
            data_notify: Notify::new(),
            default_log_config,
            default_min_isr,
            topic_configs: RwLock::new(HashMap::new()),
        }
    }

    pub fn set_leadership_listener(&self, l: LeadershipListener) {
        *self.leadership_listener.write().unwrap_or_else(|p| p.into_inner()) = Some(l);
    }

    fn notify_leadership(&self, tp: &TopicPartition, is_leader: bool, epoch: i32) {
        if let Some(l) = self.leadership_listener.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            l(tp, is_leader, epoch);
        }
    }

    pub fn broker_id(&self) -> i32 {
        self.broker_id
    }

    pub fn set_broker_epoch(&self, epoch: i64) {
        self.broker_epoch.store(epoch, Ordering::SeqCst);
    }

    /// A controller request carrying an older broker epoch was meant for an
    /// earlier life of this broker (KIP-380); -1 means "not sent".
    pub fn is_stale_broker_epoch(&self, epoch: i64) -> bool {
        epoch != -1 && epoch < self.broker_epoch.load(Ordering::SeqCst)
    }

    pub fn controller_epoch(&self) -> i32 {
        self.controller_epoch.load(Ordering::SeqCst)
    }

    /// Rejects a controller request from an older controller; remembers a newer epoch.
    pub fn check_controller_epoch(&self, epoch: i32) -> bool {
        let current = self.controller_epoch.load(Ordering::SeqCst);
        if epoch < current {
            return false;
        }
        self.controller_epoch.fetch_max(epoch, Ordering::SeqCst);
        true
    }

    pub fn get_partition(&self, tp: &TopicPartition) -> Option<Arc<Partition>> {
        self.partitions.read().unwrap_or_else(|p| p.into_inner()).get(tp).cloned()
    }

    pub fn all_partitions(&self) -> Vec<Arc<Partition>> {
        self.partitions.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
    }

    fn min_isr(&self, topic: &str) -> i32 {
        self.topic_configs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(topic)
            .and_then(|c| c.get("min.insync.replicas"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(self.default_min_isr)
    }

    /// Applies one partition of a LeaderAndIsr request: creates the log if
    /// needed (with the topic's config overrides) and takes the given role.
    pub fn become_leader_or_follower(
        &self,
        tp: TopicPartition,
        state: PartitionState,
        topic_config: Option<HashMap<String, String>>,
    ) -> ErrorCode {
        if !state.replicas.contains(&self.broker_id) {
            return error::UNKNOWN_TOPIC_OR_PARTITION;
        }
        let (is_leader, epoch) = (state.leader == self.broker_id, state.leader_epoch);
        if let Some(existing) = self.get_partition(&tp) {
            if !existing.make_leader_or_follower(state) {
                return error::STALE_CONTROLLER_EPOCH;
            }
            self.data_notify.notify_waiters();
            self.notify_leadership(&tp, is_leader, epoch);
            return error::NONE;
        }
        let overrides = topic_config.unwrap_or_default();
        let config = match LogConfig::from_overrides(&self.default_log_config, &overrides) {
            Ok(c) => c,
            Err(e) => {
                log::warn!("ignoring invalid config of topic {}: {e}", tp.topic);
                self.default_log_config.clone()
            }
        };
        self.topic_configs.write().unwrap_or_else(|p| p.into_inner()).insert(tp.topic.clone(), overrides);
        let log = match self.log_manager.get_or_create_log(&tp, config) {
            Ok(l) => l,
            Err(e) => {
                log::error!("cannot create log for {tp}: {e}");
                return error::KAFKA_STORAGE_ERROR;
            }
        };
        let partition = Arc::new(Partition::new(tp.clone(), log, self.broker_id, PartitionState { leader_epoch: -1, ..state.clone() }));
        partition.make_leader_or_follower(state);
        self.partitions.write().unwrap_or_else(|p| p.into_inner()).insert(tp.clone(), partition);
        self.data_notify.notify_waiters();
        self.notify_leadership(&tp, is_leader, epoch);
        error::NONE
    }

    /// Stops serving a partition; deletes its log if `delete`.
    pub fn stop_replica(&self, tp: &TopicPartition, delete: bool) -> ErrorCode {
        self.partitions.write().unwrap_or_else(|p| p.into_inner()).remove(tp);
        self.notify_leadership(tp, false, -1);
        if delete {
            if let Err(e) = self.log_manager.delete_log(tp) {
                log::error!("cannot delete log {tp}: {e}");
                return error::KAFKA_STORAGE_ERROR;
            }
        }
        error::NONE
    }

    /// Appends produced batches to the leaders' logs. With acks=-1 it waits
    /// (delayed produce) until the ISR has the records or `timeout` passes.
    pub async fn append_records(
        &self,
        timeout: Duration,
        acks: i16,
        entries: Vec<(TopicPartition, Option<Bytes>)>,
    ) -> Vec<(TopicPartition, ProducePartitionResult)> {
        let mut results = Vec::with_capacity(entries.len());
        let mut waiting: Vec<(usize, Arc<Partition>, i64)> = Vec::new();
        for (tp, records) in entries {
            let r = self.append_to_partition(&tp, acks, records);
            match r {
                Ok((res, partition, last_offset)) => {
                    if acks == -1 {
                        waiting.push((results.len(), partition, last_offset));
                    }
                    results.push((tp, res));
                }
                Err(res) => results.push((tp, res)),
            }
        }
        if acks == -1 && !waiting.is_empty() {
            let deadline = Instant::now() + timeout;
            loop {
                let notified = self.data_notify.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                waiting.retain(|(idx, p, last)| {
                    if p.log.high_watermark() > *last {
                        return false;
                    }
                    if !p.is_leader() {
                        results[*idx].1 = ProducePartitionResult::error(error::NOT_LEADER_OR_FOLLOWER, None);
                        return false;
                    }
                    true
                });
                if waiting.is_empty() {
                    break;
                }
                let now = Instant::now();
                if now >= deadline {
                    for (idx, _, _) in &waiting {
                        results[*idx].1 = ProducePartitionResult::error(error::REQUEST_TIMED_OUT, None);
                    }
                    break;
                }
                let _ = tokio::time::timeout(deadline - now, notified).await;
            }
        }
        results
    }

    fn append_to_partition(
        &self,
        tp: &TopicPartition,
        acks: i16,
        records: Option<Bytes>,
    ) -> Result<(ProducePartitionResult, Arc<Partition>, i64), ProducePartitionResult> {
        let Some(partition) = self.get_partition(tp) else {
            return Err(ProducePartitionResult::error(error::UNKNOWN_TOPIC_OR_PARTITION, None));
        };
        let state = partition.state();
        if state.leader != self.broker_id {
            return Err(ProducePartitionResult::error(error::NOT_LEADER_OR_FOLLOWER, None));
        }
        let min_isr = self.min_isr(&tp.topic);
        if acks == -1 && (state.isr.len() as i32) < min_isr {
            return Err(ProducePartitionResult::error(
                error::NOT_ENOUGH_REPLICAS,
                Some(format!(
                    "The size of the current ISR {:?} is insufficient to satisfy the min.isr requirement of {min_isr} for partition {tp}",
                    state.isr
                )),
            ));
        }
        let records = records.unwrap_or_default();
        match partition.log.append_as_leader(records, state.leader_epoch, AppendOrigin::Client) {
            Ok(info) => {
                partition.maybe_increment_high_watermark();
                self.data_notify.notify_waiters();
                Ok((
                    ProducePartitionResult {
                        error: error::NONE,
                        base_offset: info.first_offset,
                        log_append_time: info.log_append_time,
                        log_start_offset: partition.log.log_start_offset(),
                        error_message: None,
                    },
                    partition,
                    info.last_offset,
                ))
            }
            Err(e) => {
                log::debug!("append to {tp} refused: {e}");
                Err(ProducePartitionResult::error(e.error_code(), Some(e.to_string())))
            }
        }
    }

    /// Reads from the leaders' logs. Consumers (`replica_id` < 0) see only
    /// offsets below the high watermark; followers read to the log end and
    /// their fetch offset counts as their log end offset. Waits up to
    /// `max_wait` for `min_bytes` to accumulate (long poll).
    pub async fn fetch_messages(
        &self,
        replica_id: i32,
        max_wait: Duration,
        min_bytes: i32,
        max_bytes: i32,
        partitions: &[FetchPartitionRequest],
    ) -> Vec<FetchPartitionResult> {
        let deadline = Instant::now() + max_wait;
        let mut first = true;
        loop {
            let notified = self.data_notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let results = self.read_from_local_logs(replica_id, max_bytes, partitions, first);
            first = false;
            let bytes: usize = results.iter().map(|r| r.records.as_ref().map_or(0, |b| b.len())).sum();
            let any_error = results.iter().any(|r| r.error != error::NONE);
            let now = Instant::now();
            if max_wait.is_zero() || bytes >= min_bytes.max(0) as usize || any_error || now >= deadline {
                return results;
            }
            let _ = tokio::time::timeout(deadline - now, notified).await;
        }
    }

    fn read_from_local_logs(
        &self,
        replica_id: i32,
        max_bytes: i32,
        partitions: &[FetchPartitionRequest],
        record_follower_state: bool,
    ) -> Vec<FetchPartitionResult> {
        let mut remaining = max_bytes.max(0) as usize;
        let mut results = Vec::with_capacity(partitions.len());
        let mut got_any = false;
        for req in partitions {
            let tp = &req.tp;
            let err = |code| FetchPartitionResult {
                tp: tp.clone(),
                error: code,
                high_watermark: -1,
                last_stable_offset: -1,
                log_start_offset: -1,
                records: None,
            };
            let Some(partition) = self.get_partition(tp) else {
                results.push(err(error::UNKNOWN_TOPIC_OR_PARTITION));
                continue;
            };
            let state = partition.state();
            if state.leader != self.broker_id {
                results.push(err(error::NOT_LEADER_OR_FOLLOWER));
                continue;
            }
            if req.current_leader_epoch >= 0 {
                if req.current_leader_epoch < state.leader_epoch {
                    results.push(err(error::FENCED_LEADER_EPOCH));
                    continue;
                }
                if req.current_leader_epoch > state.leader_epoch {
                    results.push(err(error::UNKNOWN_LEADER_EPOCH));
                    continue;
                }
            }
            let log = &partition.log;
            if replica_id >= 0 && record_follower_state {
                partition.update_follower_fetch_state(replica_id, req.fetch_offset);
            }
            let hw = log.high_watermark();
            let leo = log.log_end_offset();
            let lso = log.log_start_offset();
            if req.fetch_offset < lso || req.fetch_offset > leo {
                results.push(FetchPartitionResult { high_watermark: hw, log_start_offset: lso, ..err(error::OFFSET_OUT_OF_RANGE) });
                continue;
            }
            let max_offset = if replica_id >= 0 { None } else { Some(hw) };
            let limit = (req.partition_max_bytes.max(0) as usize).min(remaining);
            let records = match log.read(req.fetch_offset, limit, max_offset, !got_any) {
                Ok(info) => info.records,
                Err(e) => {
                    log::warn!("read from {tp} at {} failed: {e}", req.fetch_offset);
                    results.push(err(e.error_code()));
                    continue;
                }
            };
            if !records.is_empty() {
                got_any = true;
            }
            remaining = remaining.saturating_sub(records.len());
            results.push(FetchPartitionResult {
                tp: tp.clone(),
                error: error::NONE,
                high_watermark: hw,
                last_stable_offset: hw,
                log_start_offset: lso,
                records: Some(records),
            });
        }
        results
    }

    /// Writes the high watermarks and recovery points of all logs.
    pub fn checkpoint(&self) {
        if let Err(e) = self.log_manager.checkpoint_all() {
            log::error!("checkpoint failed: {e}");
        }
    }
}
