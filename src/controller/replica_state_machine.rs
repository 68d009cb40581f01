//! ReplicaStateMachine (Kafka's `ZkReplicaStateMachine`): the state of every
//! (partition, broker) replica and the requests each transition sends. The
//! deletion states exist for the topic-deletion work that comes later.

use super::channel_manager::ControllerBrokerRequestBatch;
use super::controller_context::ControllerContext;
use crate::common::TopicPartition;
use crate::zk::kafka_zk_client::{KafkaZkClient, ZkError};
use crate::zk::zk_data::LeaderAndIsr;
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
            let mut updates = Vec::new();
            for (tp, r) in replicas {
                batch.add_stop_replica_request_for_brokers(&[*r], tp, false);
                if let Some(l) = ctx.partition_leadership_info.get(tp) {
                    let lai = &l.leader_and_isr;
                    let isr = if lai.isr.len() <= 1 { lai.isr.clone() } else { lai.isr.iter().copied().filter(|x| x != r).collect() };
                    let leader = if lai.leader == *r { LeaderAndIsr::NO_LEADER } else { lai.leader };
                    if isr != lai.isr || leader != lai.leader {
                        updates.push((tp.clone(), lai.new_leader_and_isr(leader, isr)));
                    }
                }
                ctx.replica_states.insert((tp.clone(), *r), ReplicaState::OfflineReplica);
            }
            if !updates.is_empty() {
                for (tp, result) in zk.update_leader_and_isr(ctx.epoch_zk_version, ctx.epoch, &updates).await? {
                    match result {
                        Ok(lai) => {
                            info!("Removed offline replica from ISR of {tp}: now leader {} isr {:?}", lai.leader, lai.isr);
                            let l = crate::zk::zk_data::LeaderIsrAndControllerEpoch { leader_and_isr: lai, controller_epoch: ctx.epoch };
                            ctx.partition_leadership_info.insert(tp.clone(), l.clone());
                            let a = ctx.assignment(&tp).cloned().unwrap_or_default();
                            let recipients: Vec<i32> = a.replicas.iter().copied().filter(|b| ctx.is_replica_online(*b, &tp)).collect();
                            batch.add_leader_and_isr_request_for_brokers(ctx, &recipients, &tp, &l, &a, false);
                        }
                        Err(e) => warn!("Could not remove offline replica from ISR of {tp}: {e}"),
                    }
                }
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
