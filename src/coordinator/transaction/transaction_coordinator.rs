//! TransactionCoordinator: serves InitProducerId (with a transactional id),
//! AddPartitionsToTxn, AddOffsetsToTxn and EndTxn for the transactional ids
//! whose `__transaction_state` partition this broker leads. Requests are
//! decided by the pure state machine (`transaction_metadata`) under the
//! state manager's lock, written to the log, and answered; the markers of a
//! PrepareCommit/PrepareAbort go out through the
//! TransactionMarkerChannelManager and the transaction ends with
//! CompleteCommit/CompleteAbort. After a load, transactions found in
//! PrepareCommit/PrepareAbort are completed. Timers abort transactions past
//! their timeout and remove ids idle for `transactional.id.expiration.ms`.
//! Maps to Kafka's `kafka.coordinator.transaction.TransactionCoordinator`.

use crate::common::{now_ms, TopicPartition};
use crate::config::KafkaConfig;
use crate::coordinator::transaction::transaction_log::TRANSACTION_STATE_TOPIC_NAME;
use crate::coordinator::transaction::transaction_marker_channel_manager::{TransactionMarkerChannelManager, TxnMarkers};
use crate::coordinator::transaction::transaction_metadata::{self as tm, EndDecision, InitDecision, TxnMetadata, TxnState};
use crate::coordinator::transaction::transaction_state_manager::{PartitionStatus, TransactionStateManager};
use crate::protocol::error::{self, ErrorCode};
use crate::server::metadata_cache::MetadataCache;
use crate::server::producer_id_manager::ProducerIdManager;
use crate::server::replica_manager::ReplicaManager;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// The broker settings of the transaction coordinator, with Kafka 2.8's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionConfig {
    /// `transactional.id.expiration.ms` (604800000, 7 days)
    pub transactional_id_expiration_ms: i64,
    /// `transaction.max.timeout.ms` (900000)
    pub transaction_max_timeout_ms: i32,
    /// `transaction.state.log.num.partitions` (50)
    pub transaction_log_num_partitions: i32,
    /// `transaction.state.log.replication.factor` (3, capped by live brokers)
    pub transaction_log_replication_factor: i16,
    /// `transaction.state.log.segment.bytes` (104857600)
    pub transaction_log_segment_bytes: i64,
    /// `transaction.state.log.min.isr` (2)
    pub transaction_log_min_isr: i32,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms` (10000)
    pub abort_timed_out_transactions_interval_ms: i64,
    /// `transaction.remove.expired.transaction.cleanup.interval.ms` (3600000)
    pub remove_expired_transactional_ids_interval_ms: i64,
    /// `request.timeout.ms` (30000): writes to the log, marker requests
    pub request_timeout_ms: i64,
}

impl Default for TransactionConfig {
    fn default() -> Self {
        TransactionConfig {
            transactional_id_expiration_ms: 604_800_000,
            transaction_max_timeout_ms: 900_000,
            transaction_log_num_partitions: 50,
            transaction_log_replication_factor: 3,
            transaction_log_segment_bytes: 104_857_600,
            transaction_log_min_isr: 2,
            abort_timed_out_transactions_interval_ms: 10_000,
            remove_expired_transactional_ids_interval_ms: 3_600_000,
            request_timeout_ms: 30_000,
        }
    }
}

impl TransactionConfig {
    pub fn from_broker(c: &KafkaConfig) -> Self {
        let d = TransactionConfig::default();
        TransactionConfig {
            transactional_id_expiration_ms: c.get_i64("transactional.id.expiration.ms", d.transactional_id_expiration_ms).max(1),
            transaction_max_timeout_ms: c.get_i64("transaction.max.timeout.ms", d.transaction_max_timeout_ms as i64).clamp(1, i32::MAX as i64) as i32,
            transaction_log_num_partitions: c
                .get_i64("transaction.state.log.num.partitions", d.transaction_log_num_partitions as i64)
                .clamp(1, i32::MAX as i64) as i32,
            transaction_log_replication_factor: c
                .get_i64("transaction.state.log.replication.factor", d.transaction_log_replication_factor as i64)
                .clamp(1, i16::MAX as i64) as i16,
            transaction_log_segment_bytes: c.get_i64("transaction.state.log.segment.bytes", d.transaction_log_segment_bytes).max(1),
            transaction_log_min_isr: c.get_i64("transaction.state.log.min.isr", d.transaction_log_min_isr as i64).clamp(1, i32::MAX as i64) as i32,
            abort_timed_out_transactions_interval_ms: c
                .get_i64("transaction.abort.timed.out.transaction.cleanup.interval.ms", d.abort_timed_out_transactions_interval_ms)
                .max(1),
            remove_expired_transactional_ids_interval_ms: c
                .get_i64("transaction.remove.expired.transaction.cleanup.interval.ms", d.remove_expired_transactional_ids_interval_ms)
                .max(1),
            request_timeout_ms: c.get_i64("request.timeout.ms", d.request_timeout_ms).max(1),
        }
    }
}

/// The answer to InitProducerId: (error, producer id, epoch).
pub type InitResult = (ErrorCode, i64, i16);

pub struct TransactionCoordinator {
    pub broker_id: i32,
    pub config: TransactionConfig,
    pub state: TransactionStateManager,
    markers: TransactionMarkerChannelManager,
    producer_id_manager: Arc<ProducerIdManager>,
    loads_tx: mpsc::UnboundedSender<(i32, i32)>,
    loads_rx: Mutex<Option<mpsc::UnboundedReceiver<(i32, i32)>>>,
}

impl TransactionCoordinator {
    pub fn new(
        broker_id: i32,
        config: TransactionConfig,
        replica_manager: Arc<ReplicaManager>,
        metadata_cache: Arc<MetadataCache>,
        producer_id_manager: Arc<ProducerIdManager>,
        inter_broker: (String, crate::client::ChannelSecurity),
    ) -> Arc<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let timeout = Duration::from_millis(config.request_timeout_ms as u64);
        Arc::new(TransactionCoordinator {
            broker_id,
            state: TransactionStateManager::new(broker_id, config.transaction_log_num_partitions, timeout, replica_manager),
            markers: TransactionMarkerChannelManager::new(broker_id, metadata_cache, timeout, inter_broker),
            config,
            producer_id_manager,
            loads_tx: tx,
            loads_rx: Mutex::new(Some(rx)),
        })
    }

    pub fn partition_for(&self, transactional_id: &str) -> i32 {
        self.state.partition_for(transactional_id)
    }

    /// The ReplicaManager's hook: only `__transaction_state` matters here.
    pub fn on_leadership_change(&self, tp: &TopicPartition, is_leader: bool, epoch: i32) {
        if tp.topic != TRANSACTION_STATE_TOPIC_NAME {
            return;
        }
        if self.state.on_leadership_change(tp.partition, is_leader, epoch) {
            let _ = self.loads_tx.send((tp.partition, epoch));
        }
    }

    /// Starts the loader and the timers.
    pub fn startup(self: &Arc<Self>, shutdown: watch::Receiver<bool>) {
        let rx = self.loads_rx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mut rx) = rx {
            let me = self.clone();
            let mut stop = shutdown.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        ev = rx.recv() => match ev {
                            Some((p, epoch)) => me.load_partition(p, epoch),
                            None => break,
                        },
                        _ = stop.changed() => break,
                    }
                }
            });
        }
        let me = self.clone();
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(me.config.abort_timed_out_transactions_interval_ms as u64));
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => me.clone().abort_timed_out_transactions().await,
                    _ = stop.changed() => break,
                }
            }
        });
        let me = self.clone();
        let mut stop = shutdown;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(me.config.remove_expired_transactional_ids_interval_ms as u64));
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => me.remove_expired_transactional_ids().await,
                    _ = stop.changed() => break,
                }
            }
        });
    }

    fn load_partition(self: &Arc<Self>, partition: i32, epoch: i32) {
        let Some(loaded) = self.state.load_partition(partition, epoch) else { return };
        // Transactions left half-way by the previous coordinator are finished.
        for md in loaded {
            if matches!(md.state, TxnState::PrepareCommit | TxnState::PrepareAbort) {
                log::info!(
                    "[Transaction Coordinator {}]: completing {} of transactional id {} after loading",
                    self.broker_id,
                    md.state.name(),
                    md.transactional_id
                );
                let me = self.clone();
                tokio::spawn(async move { me.complete_transaction(md.transactional_id, epoch).await });
            }
        }
    }

    fn still_owner(&self, transactional_id: &str, coordinator_epoch: i32) -> bool {
        let p = self.partition_for(transactional_id);
        self.state.lock().partitions.get(&p) == Some(&PartitionStatus::Loaded(coordinator_epoch))
    }

    /// Sends the markers of a transaction in PrepareCommit/PrepareAbort and
    /// writes its CompleteCommit/CompleteAbort once all were accepted.
    async fn complete_transaction(self: Arc<Self>, transactional_id: String, coordinator_epoch: i32) {
        let (markers, partitions) = {
            let g = self.state.lock();
            let Some(md) = g.txns.get(&transactional_id) else { return };
            let commit = match md.state {
                TxnState::PrepareCommit => true,
                TxnState::PrepareAbort => false,
                _ => return,
            };
            (
                TxnMarkers {
                    transactional_id: transactional_id.clone(),
                    producer_id: md.producer_id,
                    producer_epoch: md.producer_epoch,
                    commit,
                    coordinator_epoch,
                },
                md.partitions.clone(),
            )
        };
        if !self.markers.write_markers(&markers, &partitions, || self.still_owner(&transactional_id, coordinator_epoch)).await {
            log::info!("transactional id {transactional_id}: coordinator moved while its markers were being written");
            return;
        }
        let mut backoff = Duration::from_millis(50);
        loop {
            let transit = {
                let mut g = self.state.lock();
                if TransactionStateManager::coordinator_epoch(&g, self.partition_for(&transactional_id)) != Ok(coordinator_epoch) {
                    return;
                }
                let Some(md) = g.txns.get_mut(&transactional_id) else { return };
                if md.pending_state.is_some() {
                    None
                } else {
                    match md.prepare_complete(now_ms()) {
                        Some(t) => {
                            md.begin(&t);
                            Some(t)
                        }
                        None => return,
                    }
                }
            };
            if let Some(t) = transit {
                let code = self.state.append(&transactional_id, coordinator_epoch, &t).await;
                match code {
                    error::NONE => {
                        log::debug!("transactional id {transactional_id}: {}", t.state.name());
                        return;
                    }
                    error::NOT_COORDINATOR => return,
                    e => log::warn!(
                        "transactional id {transactional_id}: writing {} failed: {}; retrying",
                        t.state.name(),
                        error::error_name(e)
                    ),
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(1));
        }
    }

    fn valid_timeout(&self, timeout_ms: i32) -> bool {
        timeout_ms > 0 && timeout_ms <= self.config.transaction_max_timeout_ms
    }

    /// InitProducerId with a transactional id. `expected` is KIP-360's
    /// (producer id, epoch) of a client that already had one.
    pub async fn init_producer_id(self: &Arc<Self>, transactional_id: &str, timeout_ms: i32, expected: Option<(i64, i16)>) -> InitResult {
        let fail = |e| (e, -1, -1);
        if transactional_id.is_empty() {
            return fail(error::INVALID_REQUEST);
        }
        if !self.valid_timeout(timeout_ms) {
            return fail(error::INVALID_TRANSACTION_TIMEOUT);
        }
        let partition = self.partition_for(transactional_id);
        for _ in 0..3 {
            // A new id gets its producer id first (outside the lock).
            let exists = {
                let g = self.state.lock();
                if let Err(e) = TransactionStateManager::coordinator_epoch(&g, partition) {
                    return fail(e);
                }
                g.txns.contains_key(transactional_id)
            };
            if !exists {
                let pid = match self.producer_id_manager.generate_producer_id().await {
                    Ok(p) => p,
                    Err(e) => {
                        log::warn!("cannot allocate a producer id: {e}");
                        return fail(error::COORDINATOR_LOAD_IN_PROGRESS);
                    }
                };
                let mut g = self.state.lock();
                if TransactionStateManager::coordinator_epoch(&g, partition).is_ok() {
                    g.txns.entry(transactional_id.to_string()).or_insert_with(|| TxnMetadata::new(transactional_id, pid, timeout_ms, now_ms()));
                }
                continue;
            }
            let now = now_ms();
            let decided = {
                let mut g = self.state.lock();
                let epoch = match TransactionStateManager::coordinator_epoch(&g, partition) {
                    Ok(e) => e,
                    Err(e) => return fail(e),
                };
                let Some(md) = g.txns.get_mut(transactional_id) else { continue };
                let d = tm::init_producer_id(md, expected, timeout_ms, now);
                if let InitDecision::Write(t) | InitDecision::FenceAndAbort(t) = &d {
                    md.begin(t);
                }
                (d, epoch)
            };
            let (decision, coordinator_epoch) = decided;
            return match decision {
                InitDecision::Error(e) => fail(e),
                InitDecision::Respond(pid, epoch) => (error::NONE, pid, epoch),
                InitDecision::Write(t) => match self.state.append(transactional_id, coordinator_epoch, &t).await {
                    error::NONE => (error::NONE, t.producer_id, t.producer_epoch),
                    e => fail(e),
                },
                InitDecision::FenceAndAbort(t) => {
                    let code = self.state.append(transactional_id, coordinator_epoch, &t).await;
                    if code == error::NONE {
                        log::info!(
                            "[Transaction Coordinator {}]: fenced epoch {} of transactional id {transactional_id}, aborting its ongoing transaction",
                            self.broker_id,
                            t.producer_epoch - 1
                        );
                        let me = self.clone();
                        let id = transactional_id.to_string();
                        tokio::spawn(async move { me.complete_transaction(id, coordinator_epoch).await });
                        fail(error::CONCURRENT_TRANSACTIONS)
                    } else {
                        fail(code)
                    }
                }
                InitDecision::NeedNewProducerId => {
                    let pid = match self.producer_id_manager.generate_producer_id().await {
                        Ok(p) => p,
                        Err(e) => {
                            log::warn!("cannot allocate a producer id: {e}");
                            return fail(error::COORDINATOR_LOAD_IN_PROGRESS);
                        }
                    };
                    let t = {
                        let mut g = self.state.lock();
                        let Some(md) = g.txns.get_mut(transactional_id) else { return fail(error::CONCURRENT_TRANSACTIONS) };
                        if md.pending_state.is_some() || !matches!(md.state, TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort) {
                            return fail(error::CONCURRENT_TRANSACTIONS);
                        }
                        let t = tm::rotate_producer_id(md, pid, timeout_ms, expected.is_some(), now_ms());
                        md.begin(&t);
                        t
                    };
                    match self.state.append(transactional_id, coordinator_epoch, &t).await {
                        error::NONE => (error::NONE, t.producer_id, t.producer_epoch),
                        e => fail(e),
                    }
                }
            };
        }
        fail(error::CONCURRENT_TRANSACTIONS)
    }

    /// AddPartitionsToTxn (and AddOffsetsToTxn with the group's offsets partition).
    pub async fn add_partitions(&self, transactional_id: &str, producer_id: i64, producer_epoch: i16, partitions: &[TopicPartition]) -> ErrorCode {
        if transactional_id.is_empty() {
            return error::INVALID_REQUEST;
        }
        let partition = self.partition_for(transactional_id);
        let (t, coordinator_epoch) = {
            let mut g = self.state.lock();
            let epoch = match TransactionStateManager::coordinator_epoch(&g, partition) {
                Ok(e) => e,
                Err(e) => return e,
            };
            let Some(md) = g.txns.get_mut(transactional_id) else { return error::INVALID_PRODUCER_ID_MAPPING };
            match tm::add_partitions(md, producer_id, producer_epoch, partitions, now_ms()) {
                Err(e) => return e,
                Ok(None) => return error::NONE,
                Ok(Some(t)) => {
                    md.begin(&t);
                    (t, epoch)
                }
            }
        };
        self.state.append(transactional_id, coordinator_epoch, &t).await
    }

    /// EndTxn from the client: writes PrepareCommit/PrepareAbort, answers,
    /// and completes the transaction in the background.
    pub async fn end_txn(self: &Arc<Self>, transactional_id: &str, producer_id: i64, producer_epoch: i16, commit: bool) -> ErrorCode {
        if transactional_id.is_empty() {
            return error::INVALID_REQUEST;
        }
        let partition = self.partition_for(transactional_id);
        let (t, coordinator_epoch) = {
            let mut g = self.state.lock();
            let epoch = match TransactionStateManager::coordinator_epoch(&g, partition) {
                Ok(e) => e,
                Err(e) => return e,
            };
            let Some(md) = g.txns.get_mut(transactional_id) else { return error::INVALID_PRODUCER_ID_MAPPING };
            match tm::end_txn(md, producer_id, producer_epoch, commit, true, now_ms()) {
                EndDecision::Error(e) => return e,
                EndDecision::Done => return error::NONE,
                EndDecision::Write(t) => {
                    md.begin(&t);
                    (t, epoch)
                }
            }
        };
        let code = self.state.append(transactional_id, coordinator_epoch, &t).await;
        if code == error::NONE {
            let me = self.clone();
            let id = transactional_id.to_string();
            tokio::spawn(async move { me.complete_transaction(id, coordinator_epoch).await });
        }
        code
    }

    /// Aborts the Ongoing transactions past their timeout, fencing their
    /// producers (epoch bump).
    pub async fn abort_timed_out_transactions(self: Arc<Self>) {
        let now = now_ms();
        let todo: Vec<(String, i32, tm::TxnTransit)> = {
            let mut g = self.state.lock();
            let loaded: std::collections::HashMap<i32, i32> = g
                .partitions
                .iter()
                .filter_map(|(p, s)| match s {
                    PartitionStatus::Loaded(e) => Some((*p, *e)),
                    PartitionStatus::Loading(_) => None,
                })
                .collect();
            let n = self.state.num_partitions;
            let mut out = Vec::new();
            for (id, md) in g.txns.iter_mut() {
                let Some(epoch) = loaded.get(&crate::coordinator::transaction::transaction_log::partition_for(id, n)) else { continue };
                if let Some(t) = tm::abort_timed_out(md, now) {
                    md.begin(&t);
                    out.push((id.clone(), *epoch, t));
                }
            }
            out
        };
        for (id, epoch, t) in todo {
            log::info!(
                "[Transaction Coordinator {}]: aborting the transaction of transactional id {id} (producer id {}): it passed its timeout",
                self.broker_id,
                t.producer_id
            );
            match self.state.append(&id, epoch, &t).await {
                error::NONE => {
                    let me = self.clone();
                    tokio::spawn(async move { me.complete_transaction(id, epoch).await });
                }
                e => log::warn!("aborting the timed-out transaction of {id} failed: {}", error::error_name(e)),
            }
        }
    }

    /// Removes transactional ids idle for `transactional.id.expiration.ms`
    /// (a tombstone in the log).
    async fn remove_expired_transactional_ids(&self) {
        let now = now_ms();
        let todo: Vec<(String, i32)> = {
            let mut g = self.state.lock();
            let n = self.state.num_partitions;
            let loaded: std::collections::HashMap<i32, i32> = g
                .partitions
                .iter()
                .filter_map(|(p, s)| match s {
                    PartitionStatus::Loaded(e) => Some((*p, *e)),
                    PartitionStatus::Loading(_) => None,
                })
                .collect();
            let mut out = Vec::new();
            for (id, md) in g.txns.iter_mut() {
                let Some(epoch) = loaded.get(&crate::coordinator::transaction::transaction_log::partition_for(id, n)) else { continue };
                if md.is_expired(now, self.config.transactional_id_expiration_ms) {
                    md.pending_state = Some(TxnState::Dead);
                    out.push((id.clone(), *epoch));
                }
            }
            out
        };
        for (id, epoch) in todo {
            match self.state.remove(&id, epoch).await {
                error::NONE => log::info!("[Transaction Coordinator {}]: removed expired transactional id {id}", self.broker_id),
                e => log::warn!("removing expired transactional id {id} failed: {}", error::error_name(e)),
            }
        }
    }

    /// Answers nothing more (broker shutdown): forgets every partition.
    pub fn shutdown(&self) {
        let mut g = self.state.lock();
        g.partitions.clear();
        g.txns.clear();
    }
}
