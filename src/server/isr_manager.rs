//! Leader-written ISR changes, the legacy (pre-AlterIsr) ZooKeeper path:
//! Kafka's `kafka.server.ZkIsrManager` with `ReplicationUtils.updateLeaderAndIsr`.
//!
//! A leader that shrinks or expands a partition's ISR rewrites the partition
//! `state` znode itself, conditionally on the zkVersion it holds (same leader,
//! same leader epoch, the controller epoch of the last LeaderAndIsr). On a
//! version mismatch it keeps its old ISR and waits for a fresher LeaderAndIsr,
//! unless the znode already says what it wanted ("already equal" succeeds).
//! Changed partitions are announced in batches as
//! `/isr_change_notification/isr_change_<seq>`: checked every 2500 ms and
//! written when nothing changed for 5000 ms or 60000 ms passed since the last
//! announcement.

use crate::common::{now_ms, TopicPartition};
use crate::server::partition::{IsrChange, Partition};
use crate::zk::{KafkaZkClient, LeaderAndIsr, LeaderIsrAndControllerEpoch, ZkError};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch, Notify};

pub const ISR_CHANGE_PROPAGATION_INTERVAL_MS: u64 = 2500;
pub const ISR_CHANGE_PROPAGATION_BLACKOUT_MS: i64 = 5000;
pub const ISR_CHANGE_MAX_DELAY_MS: i64 = 60000;
/// At most this many ISR writes are in flight at once.
const MAX_PIPELINED_ISR_WRITES: usize = 1024;

struct Request {
    partition: Arc<Partition>,
    change: IsrChange,
}

struct Pending {
    partitions: BTreeSet<TopicPartition>,
    last_change_ms: i64,
    last_propagation_ms: i64,
}

/// Hands ISR changes to a background writer. Cheap to clone.
#[derive(Clone)]
pub struct IsrManager {
    broker_id: i32,
    tx: mpsc::UnboundedSender<Request>,
}

impl IsrManager {
    /// Starts the writer and the notification task; both stop when
    /// `shutdown` turns true. `hw_moved` is notified after every applied
    /// change (the high watermark may have moved).
    pub fn start(
        broker_id: i32,
        zk: KafkaZkClient,
        hw_moved: Arc<Notify>,
        shutdown: watch::Receiver<bool>,
    ) -> IsrManager {
        let (tx, rx) = mpsc::unbounded_channel();
        let pending = Arc::new(Mutex::new(Pending { partitions: BTreeSet::new(), last_change_ms: 0, last_propagation_ms: now_ms() }));
        tokio::spawn(writer(broker_id, zk.clone(), rx, pending.clone(), hw_moved, shutdown.clone()));
        tokio::spawn(propagator(zk, pending, shutdown));
        IsrManager { broker_id, tx }
    }

    /// A manager that drops every request (for tests without ZooKeeper).
    pub fn disabled(broker_id: i32) -> IsrManager {
        let (tx, _rx) = mpsc::unbounded_channel();
        IsrManager { broker_id, tx }
    }

    /// Queues `change` for `partition` if no other change is in flight.
    pub fn submit(&self, partition: &Arc<Partition>, change: IsrChange) {
        if !change.new_isr.contains(&self.broker_id) {
            log::error!("refusing ISR change of {} without the leader: {:?}", partition.tp, change.new_isr);
            return;
        }
        if !partition.begin_isr_change(&change) {
            return;
        }
        if self.tx.send(Request { partition: partition.clone(), change }).is_err() {
            partition.abort_isr_change();
        }
    }
}

async fn writer(
    broker_id: i32,
    zk: KafkaZkClient,
    mut rx: mpsc::UnboundedReceiver<Request>,
    pending: Arc<Mutex<Pending>>,
    hw_moved: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let first = tokio::select! {
            r = rx.recv() => match r { Some(r) => r, None => return },
            _ = shutdown.changed() => return,
        };
        // Everything queued by now goes out together: the writes are for
        // distinct partitions (at most one change in flight per partition,
        // `Partition::begin_isr_change`), so they are independent and are
        // pipelined on the session instead of one round trip each (a broker
        // rejoining 1,000 ISRs would otherwise wait for 1,000 round trips).
        let mut batch = vec![first];
        while batch.len() < MAX_PIPELINED_ISR_WRITES {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let mut writes = tokio::task::JoinSet::new();
        for req in batch {
            let zk = zk.clone();
            writes.spawn(async move {
                let r = write_isr(&zk, broker_id, &req.partition.tp, &req.change).await;
                (req, r)
            });
        }
        while let Some(done) = writes.join_next().await {
            let Ok((req, result)) = done else { continue };
            let tp = req.partition.tp.clone();
            match result {
                Ok(new_version) => {
                    crate::record_event!(crate::controller::event_log::Kind::Broker, "Partition (legacy ISR path: expandIsr/shrinkIsr)", "Leader {broker_id} of {tp} changed its ISR to {:?}: setData of the state znode if zkVersion {} (now {new_version}); /isr_change_notification follows", req.change.new_isr, req.change.zk_version);
                    if req.partition.complete_isr_change(&req.change, new_version) {
                        let mut p = pending.lock().unwrap_or_else(|e| e.into_inner());
                        p.partitions.insert(tp);
                        p.last_change_ms = now_ms();
                    }
                    hw_moved.notify_waiters();
                }
                Err(e) => {
                    log::warn!(
                        "[IsrManager] ISR update of {tp} to {:?} (zkVersion {}) failed: {e}; keeping the old ISR until a newer LeaderAndIsr",
                        req.change.new_isr,
                        req.change.zk_version
                    );
                    req.partition.abort_isr_change();
                    crate::server::metrics::metrics().replica_manager.failed_isr_updates.mark(1);
                }
            }
        }
    }
}

/// Writes the state znode conditionally on the cached zkVersion (not fenced
/// on the controller epoch: this is the leader's write, as in Kafka's legacy
/// path); returns the new zkVersion.
async fn write_isr(zk: &KafkaZkClient, broker_id: i32, tp: &TopicPartition, change: &IsrChange) -> Result<i32, ZkError> {
    let state = LeaderIsrAndControllerEpoch {
        leader_and_isr: LeaderAndIsr {
            leader: broker_id,
            leader_epoch: change.leader_epoch,
            isr: change.new_isr.clone(),
            zk_version: change.zk_version,
        },
        controller_epoch: change.controller_epoch,
    };
    zk.conditional_update_partition_state(tp, &state).await
}

/// Every 2500 ms: announce the changed partitions when no change happened
/// for 5000 ms or 60000 ms passed since the last announcement.
async fn propagator(zk: KafkaZkClient, pending: Arc<Mutex<Pending>>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(ISR_CHANGE_PROPAGATION_INTERVAL_MS));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let now = now_ms();
        let batch: Vec<(String, i32)> = {
            let mut p = pending.lock().unwrap_or_else(|e| e.into_inner());
            if p.partitions.is_empty()
                || (now - p.last_change_ms < ISR_CHANGE_PROPAGATION_BLACKOUT_MS
                    && now - p.last_propagation_ms < ISR_CHANGE_MAX_DELAY_MS)
            {
                continue;
            }
            p.last_propagation_ms = now;
            std::mem::take(&mut p.partitions).into_iter().map(|tp| (tp.topic, tp.partition)).collect()
        };
        if let Err(e) = announce(&zk, &batch).await {
            log::warn!("[IsrManager] cannot write ISR change notification for {batch:?}: {e}; retrying later");
            let mut p = pending.lock().unwrap_or_else(|e| e.into_inner());
            p.partitions.extend(batch.into_iter().map(|(t, n)| TopicPartition::new(t, n)));
        }
    }
}

async fn announce(zk: &KafkaZkClient, batch: &[(String, i32)]) -> Result<(), ZkError> {
    let tps: Vec<TopicPartition> = batch.iter().map(|(t, p)| TopicPartition::new(t.clone(), *p)).collect();
    let name = zk.create_isr_change_notification(&tps).await?;
    log::debug!("[IsrManager] announced ISR changes of {batch:?} as {name}");
    Ok(())
}
