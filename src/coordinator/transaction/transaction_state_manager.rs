//! TransactionStateManager: the transactional ids of the `__transaction_state`
//! partitions this broker leads. It loads a partition's ids from its log when
//! this broker becomes the partition's leader (the leader epoch is the
//! coordinator epoch), drops them when it stops being the leader, and writes
//! transitions to the log with acks=all, applying them once written and only
//! if the partition is still loaded with the same coordinator epoch. Maps to
//! Kafka's `kafka.coordinator.transaction.TransactionStateManager`.

use crate::common::{now_ms, TopicPartition};
use crate::coordinator::transaction::transaction_log::{self as txnlog, TRANSACTION_STATE_TOPIC_NAME};
use crate::coordinator::transaction::transaction_metadata::{TxnMetadata, TxnTransit};
use crate::protocol::error::{self, ErrorCode};
use crate::server::replica_manager::ReplicaManager;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionStatus {
    Loading(i32),
    Loaded(i32),
}

#[derive(Default)]
pub struct Inner {
    pub partitions: HashMap<i32, PartitionStatus>,
    pub txns: HashMap<String, TxnMetadata>,
}

pub struct TransactionStateManager {
    pub broker_id: i32,
    pub num_partitions: i32,
    /// How long a write to the log may wait for the ISR.
    pub append_timeout: Duration,
    replica_manager: Arc<ReplicaManager>,
    inner: Mutex<Inner>,
}

/// Kafka's mapping of a failed append to what the client is told.
fn map_append_error(code: ErrorCode) -> ErrorCode {
    match code {
        error::NONE => error::NONE,
        error::UNKNOWN_TOPIC_OR_PARTITION | error::NOT_ENOUGH_REPLICAS | error::NOT_ENOUGH_REPLICAS_AFTER_APPEND | error::REQUEST_TIMED_OUT => {
            error::COORDINATOR_NOT_AVAILABLE
        }
        error::NOT_LEADER_OR_FOLLOWER | error::KAFKA_STORAGE_ERROR => error::NOT_COORDINATOR,
        _ => error::UNKNOWN_SERVER_ERROR,
    }
}

impl TransactionStateManager {
    pub fn new(broker_id: i32, num_partitions: i32, append_timeout: Duration, replica_manager: Arc<ReplicaManager>) -> Self {
        TransactionStateManager { broker_id, num_partitions, append_timeout, replica_manager, inner: Mutex::new(Inner::default()) }
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn partition_for(&self, transactional_id: &str) -> i32 {
        txnlog::partition_for(transactional_id, self.num_partitions)
    }

    /// The coordinator epoch when this broker serves `transactional_id` now;
    /// NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS otherwise.
    pub fn coordinator_epoch(inner: &Inner, partition: i32) -> Result<i32, ErrorCode> {
        match inner.partitions.get(&partition) {
            None => Err(error::NOT_COORDINATOR),
            Some(PartitionStatus::Loading(_)) => Err(error::COORDINATOR_LOAD_IN_PROGRESS),
            Some(PartitionStatus::Loaded(e)) => Ok(*e),
        }
    }

    /// Starts loading (returns true) or unloads a partition.
    pub fn on_leadership_change(&self, partition: i32, is_leader: bool, epoch: i32) -> bool {
        let mut g = self.lock();
        if is_leader {
            if g.partitions.get(&partition).is_some_and(|s| matches!(s, PartitionStatus::Loading(e) | PartitionStatus::Loaded(e) if *e == epoch)) {
                return false;
            }
            g.partitions.insert(partition, PartitionStatus::Loading(epoch));
            // What an earlier term of leadership held is stale now: the log is
            // loaded again.
            let n = self.num_partitions;
            g.txns.retain(|id, _| txnlog::partition_for(id, n) != partition);
            true
        } else {
            if g.partitions.remove(&partition).is_some() {
                let n = self.num_partitions;
                let before = g.txns.len();
                g.txns.retain(|id, _| txnlog::partition_for(id, n) != partition);
                log::info!(
                    "[Transaction State Manager {}]: unloaded {} transactional ids of {TRANSACTION_STATE_TOPIC_NAME}-{partition}",
                    self.broker_id,
                    before - g.txns.len()
                );
            }
            false
        }
    }

    /// Replays the partition's log; returns the loaded ids (in the state the
    /// log left them) once the partition is marked loaded, or `None` when
    /// leadership moved meanwhile.
    pub fn load_partition(&self, partition: i32, epoch: i32) -> Option<Vec<TxnMetadata>> {
        let tp = TopicPartition::new(TRANSACTION_STATE_TOPIC_NAME, partition);
        let started = std::time::Instant::now();
        let mut loaded = HashMap::new();
        if let Some(p) = self.replica_manager.get_partition(&tp) {
            let mut offset = p.log_start_offset();
            loop {
                let end = p.log_end_offset();
                if offset >= end {
                    break;
                }
                let data = match p.read_local(offset, 5 << 20) {
                    Ok(d) if !d.is_empty() => d,
                    Ok(_) => break,
                    Err(e) => {
                        log::error!("loading {tp} failed at offset {offset}: {e}");
                        break;
                    }
                };
                match txnlog::replay(data, &mut loaded) {
                    Ok(next) if next > offset => offset = next,
                    Ok(_) => break,
                    Err(e) => {
                        log::error!("loading {tp} failed at offset {offset}: {e}");
                        break;
                    }
                }
            }
        }
        let mut g = self.lock();
        if g.partitions.get(&partition) != Some(&PartitionStatus::Loading(epoch)) {
            return None;
        }
        let mut out = Vec::new();
        for (id, t) in loaded {
            let md = TxnMetadata::from_transit(&id, &t);
            out.push(md.clone());
            g.txns.insert(id, md);
        }
        g.partitions.insert(partition, PartitionStatus::Loaded(epoch));
        log::info!(
            "[Transaction State Manager {}]: loaded {} transactional ids of {tp} (coordinator epoch {epoch}) in {} ms",
            self.broker_id,
            out.len(),
            started.elapsed().as_millis()
        );
        Some(out)
    }

    /// Writes `transit` of `transactional_id` (whose pending state was set
    /// under the lock) and applies it if this broker is still its coordinator
    /// with `coordinator_epoch`. On any failure the pending state is cleared.
    pub async fn append(&self, transactional_id: &str, coordinator_epoch: i32, transit: &TxnTransit) -> ErrorCode {
        self.append_record(transactional_id, coordinator_epoch, Some(transit)).await
    }

    /// Writes a tombstone for an expired transactional id and forgets it.
    pub async fn remove(&self, transactional_id: &str, coordinator_epoch: i32) -> ErrorCode {
        self.append_record(transactional_id, coordinator_epoch, None).await
    }

    async fn append_record(&self, transactional_id: &str, coordinator_epoch: i32, transit: Option<&TxnTransit>) -> ErrorCode {
        let partition = self.partition_for(transactional_id);
        let record = (txnlog::key_to_bytes(transactional_id), transit.map(txnlog::value_to_bytes));
        let code = match txnlog::build_batch(&[record], now_ms()) {
            Ok(batch) => {
                let tp = TopicPartition::new(TRANSACTION_STATE_TOPIC_NAME, partition);
                let results = self.replica_manager.append_records(self.append_timeout, -1, vec![(tp, Some(batch))]).await;
                map_append_error(results.into_iter().next().map_or(error::UNKNOWN_SERVER_ERROR, |(_, r)| r.error))
            }
            Err(e) => {
                log::error!("cannot build a {TRANSACTION_STATE_TOPIC_NAME} batch: {e}");
                error::UNKNOWN_SERVER_ERROR
            }
        };
        let mut g = self.lock();
        let still_owner = Self::coordinator_epoch(&g, partition) == Ok(coordinator_epoch);
        let code = if code == error::NONE && !still_owner { error::NOT_COORDINATOR } else { code };
        match (transit, g.txns.get_mut(transactional_id)) {
            (Some(t), Some(md)) => {
                if code == error::NONE {
                    if !md.complete(t) {
                        log::error!("transactional id {transactional_id}: invalid transition {:?} -> {:?} after it was written", md.state, t.state);
                        return error::UNKNOWN_SERVER_ERROR;
                    }
                } else {
                    md.pending_state = None;
                }
            }
            (None, Some(md)) => {
                if code == error::NONE {
                    g.txns.remove(transactional_id);
                } else {
                    md.pending_state = None;
                }
            }
            _ => {}
        }
        code
    }
}
