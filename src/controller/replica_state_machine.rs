//! ReplicaStateMachine (Kafka's `ZkReplicaStateMachine`): the state of every
//! (partition, broker) replica and the requests each transition sends. The
//! deletion states exist for the topic-deletion work that comes later.

use super::channel_manager::ControllerBrokerRequestBatch;
use super::controller_context::ControllerContext;
use crate::common::TopicPartition;
use crate::zk::kafka_zk_client::{KafkaZkClient, ZkError};
use crate::zk::zk_data::{LeaderAndIsr, LeaderIsrAndControllerEpoch};
use log::{info, warn};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplicaState {
    NewReplica,
    OnlineReplica,
    OfflineReplica,
    ReplicaDeletionStarted,
    ReplicaDeletionSuccessful,
    ReplicaDeletionIneligible,
    NonExistentReplica,
}

/// Replicas on live brokers start Online, the rest ReplicaDeletionIneligible.
pub fn initialize_replica_states(ctx: &mut ControllerContext) {
    for tp in ctx.all_partitions() {
        for r in ctx.replicas(&tp) {
            let s = if ctx.is_replica_online(r, &tp) { ReplicaState::OnlineReplica } else { ReplicaState::ReplicaDeletionIneligible };
            ctx.replica_states.insert((tp.clone(), r), s);
        }
    }
}

/// Moves `replicas` to `target`, adding the requests to `batch`.
pub async fn handle_state_changes(
    ctx: &mut ControllerContext,
    zk: &KafkaZkClient,
    batch: &mut ControllerBrokerRequestBatch,
    replicas: &[(TopicPartition, i32)],
    target: ReplicaState,
) -> Result<(), ZkError> {
    if !replicas.is_empty() {
        crate::record_event!(super::event_log::Kind::StateChange, "ZkReplicaStateMachine", "{} replica(s) → {target:?}: {}", replicas.len(), super::event_log::some(replicas.iter().map(|(tp, r)| format!("{tp} on broker {r} (was {:?})", ctx.replica_states.get(&(tp.clone(), *r)).copied().unwrap_or(ReplicaState::NonExistentReplica))), 12));
    }
    match target {
        ReplicaState::NewReplica => {
            for (tp, r) in replicas {
                if let Some(l) = ctx.partition_leadership_info.get(tp).cloned() {
                    if l.leader_and_isr.leader == *r {
                        warn!("Replica {r} of {tp} is the leader; cannot move it to NewReplica");
                        continue;
                    }
                    let a = ctx.assignment(tp).cloned().unwrap_or_default();
                    batch.add_leader_and_isr_request_for_brokers(ctx, &[*r], tp, &l, &a, true);
                }
                ctx.replica_states.insert((tp.clone(), *r), ReplicaState::NewReplica);
            }
        }
        ReplicaState::OnlineReplica => {
            for (tp, r) in replicas {
                let prev = ctx.replica_states.get(&(tp.clone(), *r)).copied().unwrap_or(ReplicaState::NonExistentReplica);
                if prev != ReplicaState::NewReplica {
                    if let Some(l) = ctx.partition_leadership_info.get(tp).cloned() {
                        let a = ctx.assignment(tp).cloned().unwrap_or_default();
                        batch.add_leader_and_isr_request_for_brokers(ctx, &[*r], tp, &l, &a, false);
                    }
                }
                ctx.replica_states.insert((tp.clone(), *r), ReplicaState::OnlineReplica);
            }
        }
        ReplicaState::OfflineReplica => {
            for (tp, r) in replicas {
                batch.add_stop_replica_request_for_brokers(&[*r], tp, false);
            }
            remove_replicas_from_isr(ctx, zk, batch, replicas).await?;
            for (tp, r) in replicas {
                ctx.replica_states.insert((tp.clone(), *r), ReplicaState::OfflineReplica);
            }
        }
        other => {
            for (tp, r) in replicas {
                ctx.replica_states.insert((tp.clone(), *r), other);
            }
        }
    }
    Ok(())
}

/// OfflineReplica for `replicas` whose partitions' states were just read from
/// ZooKeeper (`states`, e.g. while a controlled shutdown's election ran): as
/// `handle_state_changes(.., OfflineReplica)` but the ISR removal's first
/// round decides from `states` instead of reading them again. Its writes are
/// conditional on those states' zkVersions, so a state changed since the read
/// fails with BADVERSION and is re-read and retried, as always.
pub async fn offline_replicas_with_states(
    ctx: &mut ControllerContext,
    zk: &KafkaZkClient,
    batch: &mut ControllerBrokerRequestBatch,
    replicas: &[(TopicPartition, i32)],
    states: std::collections::HashMap<TopicPartition, LeaderIsrAndControllerEpoch>,
) -> Result<(), ZkError> {
    if !replicas.is_empty() {
        crate::record_event!(super::event_log::Kind::StateChange, "ZkReplicaStateMachine", "{} replica(s) → {:?}: {}", replicas.len(), ReplicaState::OfflineReplica, super::event_log::some(replicas.iter().map(|(tp, r)| format!("{tp} on broker {r} (was {:?})", ctx.replica_states.get(&(tp.clone(), *r)).copied().unwrap_or(ReplicaState::NonExistentReplica))), 12));
    }
    for (tp, r) in replicas {
        batch.add_stop_replica_request_for_brokers(&[*r], tp, false);
    }
    remove_replicas_from_isr_read(ctx, zk, batch, replicas, Some(states)).await?;
    for (tp, r) in replicas {
        ctx.replica_states.insert((tp.clone(), *r), ReplicaState::OfflineReplica);
    }
    Ok(())
}

/// The new (leader, ISR) once `replica` is offline: it leaves the ISR unless
/// it is the last member (the ISR is never empty), and loses leadership.
/// `None` when nothing changes.
pub fn isr_without_replica(leader: i32, isr: &[i32], replica: i32) -> Option<(i32, Vec<i32>)> {
    let new_isr: Vec<i32> = if isr.len() <= 1 { isr.to_vec() } else { isr.iter().copied().filter(|x| *x != replica).collect() };
    let new_leader = if leader == replica { LeaderAndIsr::NO_LEADER } else { leader };
    (new_isr != isr || new_leader != leader).then_some((new_leader, new_isr))
}

/// Kafka's `doRemoveReplicasFromIsr`: for each (partition, replica) rewrite
/// the state znode (leader_epoch + 1, fenced, conditional on its zkVersion;
/// a BADVERSION re-reads the znode and retries), then tell the partition's
/// other replicas with LeaderAndIsr. Partitions of topics being deleted are
/// left alone.
async fn remove_replicas_from_isr(
    ctx: &mut ControllerContext,
    zk: &KafkaZkClient,
    batch: &mut ControllerBrokerRequestBatch,
    replicas: &[(TopicPartition, i32)],
) -> Result<(), ZkError> {
    remove_replicas_from_isr_read(ctx, zk, batch, replicas, None).await
}

/// `remove_replicas_from_isr`; `read` holds the states of the first round if
/// they were already read.
async fn remove_replicas_from_isr_read(
    ctx: &mut ControllerContext,
    zk: &KafkaZkClient,
    batch: &mut ControllerBrokerRequestBatch,
    replicas: &[(TopicPartition, i32)],
    mut read: Option<std::collections::HashMap<TopicPartition, LeaderIsrAndControllerEpoch>>,
) -> Result<(), ZkError> {
    let mut pending: Vec<(TopicPartition, i32)> =
        replicas.iter().filter(|(tp, _)| !ctx.is_topic_queued_for_deletion(&tp.topic)).cloned().collect();
    // Decide from the states in ZooKeeper, not the cache: leaders change the
    // ISR there themselves (legacy path) and announce it seconds later, so the
    // cached ISR may not name a replica that has rejoined it. Kafka's
    // doRemoveReplicasFromIsr reads the state znodes first too. One pipelined
    // batch per round.
    let mut to_read: Vec<TopicPartition> = pending.iter().map(|(tp, _)| tp.clone()).collect();
    for attempt in 0..5 {
        if pending.is_empty() {
            break;
        }
        to_read.sort();
        to_read.dedup();
        let t = std::time::Instant::now();
        let states = match read.take() {
            Some(s) => s,
            None => zk.get_partition_states(to_read.iter()).await?,
        };
        for (tp, s) in states {
            ctx.partition_leadership_info.insert(tp, s);
        }
        log::debug!("doRemoveReplicasFromIsr: read {} partition states in {} ms", to_read.len(), t.elapsed().as_millis());
        to_read.clear();
        let mut updates = Vec::new();
        let mut replica_of = std::collections::HashMap::new();
        let mut retry_later = Vec::new();
        for (tp, r) in pending.drain(..) {
            if replica_of.contains_key(&tp) {
                // One write per partition per round; the next round handles the other replica.
                retry_later.push((tp, r));
                continue;
            }
            let Some(l) = ctx.partition_leadership_info.get(&tp) else { continue };
            if l.controller_epoch > ctx.epoch {
                warn!("{tp} was changed by a newer controller epoch {}; not removing replica {r} from its ISR", l.controller_epoch);
                continue;
            }
            let lai = &l.leader_and_isr;
            if let Some((leader, isr)) = isr_without_replica(lai.leader, &lai.isr, r) {
                updates.push((tp.clone(), lai.new_leader_and_isr(leader, isr)));
                replica_of.insert(tp, r);
            }
        }
        to_read.extend(retry_later.iter().map(|(tp, _)| tp.clone()));
        pending = retry_later;
        if updates.is_empty() {
            continue;
        }
        let t = std::time::Instant::now();
        let results = zk.update_leader_and_isr(ctx.epoch_zk_version, ctx.epoch, &updates).await?;
        log::debug!("doRemoveReplicasFromIsr: wrote {} partition states in {} ms", updates.len(), t.elapsed().as_millis());
        let mut removed = 0usize;
        for (tp, result) in results {
            let r = replica_of.get(&tp).copied().unwrap_or(-1);
            match result {
                Ok(lai) => {
                    log::debug!("Replica {r} of {tp} is offline: now leader {} isr {:?} leader epoch {}", lai.leader, lai.isr, lai.leader_epoch);
                    removed += 1;
                    crate::record_event!(super::event_log::Kind::StateChange, "ZkReplicaStateMachine (doRemoveReplicasFromIsr)", "Replica {r} of {tp} is offline: removed from the ISR, now leader {} ISR {:?} leader epoch {}", lai.leader, lai.isr, lai.leader_epoch);
                    let l = LeaderIsrAndControllerEpoch { leader_and_isr: lai, controller_epoch: ctx.epoch };
                    ctx.partition_leadership_info.insert(tp.clone(), l.clone());
                    let a = ctx.assignment(&tp).cloned().unwrap_or_default();
                    let recipients: Vec<i32> = a.replicas.iter().copied().filter(|b| *b != r && ctx.is_replica_online(*b, &tp)).collect();
                    batch.add_leader_and_isr_request_for_brokers(ctx, &recipients, &tp, &l, &a, false);
                }
                Err(ZkError::Zk { source: zookeeper_client::Error::BadVersion, .. }) => {
                    info!("State of {tp} changed under us (attempt {attempt}); re-reading it");
                    to_read.push(tp.clone());
                    pending.push((tp, r));
                }
                Err(e) => warn!("Could not remove replica {r} from the ISR of {tp}: {e}"),
            }
        }
        if removed > 0 {
            // Per partition at debug (Kafka's state-change log: trace).
            info!("Removed {removed} offline replicas from ISRs (attempt {attempt})");
        }
    }
    for (tp, r) in pending {
        warn!("Gave up removing replica {r} from the ISR of {tp} after repeated conflicts");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_replica_isr_rules() {
        assert_eq!(isr_without_replica(1, &[1, 2, 3], 2), Some((1, vec![1, 3])));
        assert_eq!(isr_without_replica(1, &[1, 2, 3], 1), Some((-1, vec![2, 3])));
        // The last ISR member stays, the partition loses its leader.
        assert_eq!(isr_without_replica(1, &[1], 1), Some((-1, vec![1])));
        assert_eq!(isr_without_replica(-1, &[1], 1), None);
        assert_eq!(isr_without_replica(2, &[2, 3], 1), None);
    }
}
