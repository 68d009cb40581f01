//! PartitionStateMachine (Kafka's `ZkPartitionStateMachine`): NonExistent →
//! New → Online ⇄ Offline. Going Online from New creates the `state` znode
//! (first live replica leads, ISR = live replicas, epoch 0); from Offline or
//! Online it elects a leader and rewrites the znode with leader_epoch + 1.
//! Every write is fenced by the controller epoch.

use super::channel_manager::ControllerBrokerRequestBatch;
use super::controller_context::ControllerContext;
use super::election::{self, ElectionStrategy};
use crate::common::TopicPartition;
use crate::zk::kafka_zk_client::{KafkaZkClient, ZkError};
use crate::zk::zk_data::{LeaderAndIsr, LeaderIsrAndControllerEpoch};
use super::event_log::{some, Kind};
use log::{error, info, warn};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartitionState {
    NewPartition,
    OnlinePartition,
    OfflinePartition,
    NonExistentPartition,
}

/// After a failover: no state znode → New; live leader → Online; else Offline.
pub fn initialize_partition_states(ctx: &mut ControllerContext) {
    for tp in ctx.all_partitions() {
        let s = match ctx.partition_leadership_info.get(&tp) {
            None => PartitionState::NewPartition,
            Some(l) if ctx.is_replica_online(l.leader_and_isr.leader, &tp) => PartitionState::OnlinePartition,
            Some(_) => PartitionState::OfflinePartition,
        };
        ctx.partition_states.insert(tp, s);
    }
}

/// The partitions Kafka's `triggerOnlinePartitionStateChange` works on: New
/// or Offline, of topics not queued for deletion, only `topic`'s if given
/// (the `TopicUncleanLeaderElectionEnable` case), in a stable order.
pub fn partitions_to_bring_online(ctx: &ControllerContext, topic: Option<&str>) -> Vec<TopicPartition> {
    let mut partitions: Vec<TopicPartition> = ctx
        .partitions_in_states(&[PartitionState::NewPartition, PartitionState::OfflinePartition])
        .into_iter()
        .filter(|tp| topic.is_none_or(|t| tp.topic == t))
        .filter(|tp| !ctx.is_topic_queued_for_deletion(&tp.topic))
        .collect();
    partitions.sort();
    partitions
}

/// Pushes every New/Offline partition (not queued for deletion) towards Online.
pub async fn trigger_online_partition_state_change(
    ctx: &mut ControllerContext,
    zk: &KafkaZkClient,
    batch: &mut ControllerBrokerRequestBatch,
) -> Result<(), ZkError> {
    let partitions = partitions_to_bring_online(ctx, None);
    // Unclean is resolved per topic over `ctx.unclean_leader_election_default`.
    handle_state_changes(ctx, zk, batch, &partitions, PartitionState::OnlinePartition, ElectionStrategy::Offline { allow_unclean: false })
        .await
}

pub async fn handle_state_changes(
    ctx: &mut ControllerContext,
    zk: &KafkaZkClient,
    batch: &mut ControllerBrokerRequestBatch,
    partitions: &[TopicPartition],
    target: PartitionState,
    strategy: ElectionStrategy,
) -> Result<(), ZkError> {
    match target {
        PartitionState::OnlinePartition => {
            let (new, existing): (Vec<TopicPartition>, Vec<TopicPartition>) = partitions
                .iter()
                .cloned()
                .partition(|tp| ctx.partition_states.get(tp).copied().unwrap_or(PartitionState::NonExistentPartition) == PartitionState::NewPartition);
            initialize_leader_and_isr_for_partitions(ctx, zk, batch, &new).await?;
            elect_leader_for_partitions(ctx, zk, batch, &existing, strategy).await?;
        }
        other => {
            if !partitions.is_empty() {
                crate::record_event!(Kind::StateChange, "ZkPartitionStateMachine", "{} partition(s) → {other:?}: {}", partitions.len(), some(partitions.iter().map(|tp| format!("{tp} (was {:?})", ctx.partition_states.get(tp).copied().unwrap_or(PartitionState::NonExistentPartition))), 12));
            }
            for tp in partitions {
                ctx.partition_states.insert(tp.clone(), other);
            }
        }
    }
    Ok(())
}

async fn initialize_leader_and_isr_for_partitions(
    ctx: &mut ControllerContext,
    zk: &KafkaZkClient,
    batch: &mut ControllerBrokerRequestBatch,
    partitions: &[TopicPartition],
) -> Result<(), ZkError> {
    let mut to_create = Vec::new();
    for tp in partitions {
        let replicas = ctx.replicas(tp);
        let live: Vec<i32> = replicas.iter().copied().filter(|r| ctx.is_replica_online(*r, tp)).collect();
        if live.is_empty() {
            error!(
                "Controller epoch {}: cannot move {tp} from NewPartition to OnlinePartition: assigned replicas {replicas:?}, \
                 live brokers {:?}; no assigned replica is alive",
                ctx.epoch,
                ctx.live_brokers.keys().collect::<Vec<_>>()
            );
            continue;
        }
        let state = LeaderIsrAndControllerEpoch { leader_and_isr: LeaderAndIsr::new(live[0], live), controller_epoch: ctx.epoch };
        to_create.push((tp.clone(), state));
    }
    if to_create.is_empty() {
        return Ok(());
    }
    let results = zk.create_partition_states(ctx.epoch_zk_version, &to_create).await?;
    for ((tp, result), (_, state)) in results.into_iter().zip(to_create.into_iter()) {
        let state = match result {
            Ok(v) => LeaderIsrAndControllerEpoch { leader_and_isr: LeaderAndIsr { zk_version: v, ..state.leader_and_isr }, ..state },
            Err(ZkError::NodeExists(_)) => {
                warn!("State znode of {tp} already exists; adopting it");
                match zk.get_partition_state(&tp.topic, tp.partition).await? {
                    Some(s) => s,
                    None => continue,
                }
            }
            Err(e) => {
                error!("Could not create the state znode of {tp}: {e}");
                continue;
            }
        };
        info!("Initialized {tp}: leader {} isr {:?} controller epoch {}", state.leader_and_isr.leader, state.leader_and_isr.isr, state.controller_epoch);
        crate::record_event!(Kind::Election, "ZkPartitionStateMachine", "{tp}: NewPartition → OnlinePartition, leader {} (the first live assigned replica), ISR {:?} (the live assigned replicas), leader epoch 0", state.leader_and_isr.leader, state.leader_and_isr.isr);
        let a = ctx.assignment(&tp).cloned().unwrap_or_default();
        let recipients: Vec<i32> = state.leader_and_isr.isr.clone();
        ctx.partition_leadership_info.insert(tp.clone(), state.clone());
        batch.add_leader_and_isr_request_for_brokers(ctx, &recipients, &tp, &state, &a, true);
        let online = ctx.is_replica_online(state.leader_and_isr.leader, &tp);
        ctx.partition_states.insert(tp, if online { PartitionState::OnlinePartition } else { PartitionState::OfflinePartition });
    }
    Ok(())
}

/// Elects leaders for partitions that have a state znode (Online/Offline →
/// Online) and returns those whose election was written to ZooKeeper.
/// Kafka's `doElectLeaderForPartitions`.
pub async fn elect_leader_for_partitions(
    ctx: &mut ControllerContext,
    zk: &KafkaZkClient,
    batch: &mut ControllerBrokerRequestBatch,
    partitions: &[TopicPartition],
    strategy: ElectionStrategy,
) -> Result<Vec<TopicPartition>, ZkError> {
    let mut elected = Vec::new();
    let mut pending: Vec<TopicPartition> = partitions.to_vec();
    for _attempt in 0..3 {
        if pending.is_empty() {
            break;
        }
        // Elect from the state in ZooKeeper, not the cached one: leaders
        // change the ISR there themselves (legacy ISR path) and the
        // controller hears of it only later (Kafka's doElectLeaderForPartitions
        // reads the state znodes first too).
        let t = std::time::Instant::now();
        for (tp, s) in zk.get_partition_states(pending.iter()).await? {
            ctx.partition_leadership_info.insert(tp, s);
        }
        log::debug!("elect_leader_for_partitions: read {} partition states in {} ms", pending.len(), t.elapsed().as_millis());
        let mut updates = Vec::new();
        for tp in &pending {
            let Some(cur) = ctx.partition_leadership_info.get(tp).cloned() else {
                warn!("No leadership information for {tp}; cannot elect a leader");
                continue;
            };
            if cur.controller_epoch > ctx.epoch {
                error!("{tp} was last changed by controller epoch {} > ours {}; aborting election", cur.controller_epoch, ctx.epoch);
                continue;
            }
            let a = ctx.assignment(tp).cloned().unwrap_or_default();
            let isr = &cur.leader_and_isr.isr;
            let live = |r: i32| ctx.is_broker_live(r);
            let mut chosen = match strategy {
                ElectionStrategy::Offline { allow_unclean } => {
                    election::offline_partition_leader_election(&a.replicas, isr, live, allow_unclean)
                }
                ElectionStrategy::Reassign => election::reassign_partition_leader_election(&a.target_replicas(), isr, live),
                ElectionStrategy::Preferred => election::preferred_replica_partition_leader_election(&a.replicas, isr, live),
                ElectionStrategy::ControlledShutdown => election::controlled_shutdown_partition_leader_election(
                    &a.replicas,
                    isr,
                    |r| ctx.live_brokers.contains_key(&r),
                    |r| ctx.shutting_down_broker_ids.contains(&r),
                ),
            };
            if chosen.is_none() {
                if let ElectionStrategy::Offline { allow_unclean } = strategy {
                    let cfg = match zk.get_entity_config("topics", &tp.topic).await {
                        Ok(c) => c,
                        Err(e @ ZkError::ControllerMoved(_)) => return Err(e),
                        Err(e) => {
                            warn!("Cannot read the config of topic {}: {e}; using the broker default", tp.topic);
                            Default::default()
                        }
                    };
                    let override_ = cfg.get("unclean.leader.election.enable").map(String::as_str);
                    if election::unclean_election_allowed(allow_unclean, override_, ctx.unclean_leader_election_default) {
                        chosen = election::offline_partition_leader_election(&a.replicas, isr, |r| ctx.is_broker_live(r), true);
                        if let Some((l, _)) = &chosen {
                            warn!("Unclean leader election for {tp}: replica {l} (not in ISR {isr:?}) becomes leader; data may be lost");
                            crate::server::metrics::metrics().controller.unclean_leader_elections.mark(1);
                            crate::record_event!(Kind::Election, "OfflinePartitionLeaderElectionStrategy", "{tp}: no live replica in ISR {isr:?}; unclean election allowed, so live replica {l} leads (data may be lost)");
                        }
                    }
                }
            }
            match chosen {
                Some((leader, new_isr)) => updates.push((tp.clone(), cur.leader_and_isr.new_leader_and_isr(leader, new_isr))),
                None => match strategy {
                    ElectionStrategy::Offline { .. } => {
                        error!("No eligible leader for {tp} (replicas {:?}, isr {:?}); it stays offline", a.replicas, isr);
                        crate::record_event!(Kind::Election, "OfflinePartitionLeaderElectionStrategy", "{tp}: no live replica in ISR {isr:?} (replicas {:?}); it stays OfflinePartition", a.replicas);
                        ctx.partition_states.insert(tp.clone(), PartitionState::OfflinePartition);
                    }
                    other => {
                        // The current leader keeps the partition (Kafka leaves its state unchanged).
                        warn!("{other:?} election for {tp} found no eligible leader (replicas {:?}, isr {:?}); leader stays {}", a.replicas, isr, cur.leader_and_isr.leader);
                    }
                },
            }
        }
        pending.clear();
        if updates.is_empty() {
            break;
        }
        let t = std::time::Instant::now();
        let results = zk.update_leader_and_isr(ctx.epoch_zk_version, ctx.epoch, &updates).await?;
        log::debug!("elect_leader_for_partitions: wrote {} partition states in {} ms", updates.len(), t.elapsed().as_millis());
        let before = elected.len();
        for (tp, result) in results {
            match result {
                Ok(lai) => {
                    // Per partition at debug (Kafka's state-change log: trace); one info line per round below.
                    log::debug!("Elected leader {} for {tp} (epoch {}, isr {:?})", lai.leader, lai.leader_epoch, lai.isr);
                    crate::record_event!(Kind::Election, election::kafka_strategy_name(strategy), "{tp}: {:?} → OnlinePartition, leader {} → {} ({}), leader epoch {}, ISR {:?}", ctx.partition_states.get(&tp).copied().unwrap_or(PartitionState::NonExistentPartition), ctx.partition_leadership_info.get(&tp).map(|s| s.leader_and_isr.leader).unwrap_or(-1), lai.leader, election::why(strategy), lai.leader_epoch, lai.isr);
                    let state = LeaderIsrAndControllerEpoch { leader_and_isr: lai, controller_epoch: ctx.epoch };
                    ctx.partition_leadership_info.insert(tp.clone(), state.clone());
                    let a = ctx.assignment(&tp).cloned().unwrap_or_default();
                    let recipients: Vec<i32> = a.replicas.iter().copied().filter(|r| ctx.is_replica_online(*r, &tp)).collect();
                    batch.add_leader_and_isr_request_for_brokers(ctx, &recipients, &tp, &state, &a, false);
                    ctx.partition_states.insert(tp.clone(), PartitionState::OnlinePartition);
                    elected.push(tp);
                }
                Err(ZkError::Zk { source: zookeeper_client::Error::BadVersion, .. }) => {
                    // Someone changed the state znode: re-read and retry.
                    if let Some(s) = zk.get_partition_state(&tp.topic, tp.partition).await? {
                        ctx.partition_leadership_info.insert(tp.clone(), s);
                    }
                    pending.push(tp);
                }
                Err(e) => error!("Leader election for {tp} failed: {e}"),
            }
        }
        if elected.len() > before {
            info!(
                "{}: elected leaders of {} partitions (e.g. {})",
                election::kafka_strategy_name(strategy),
                elected.len() - before,
                elected[before..].iter().take(3).map(|tp| tp.to_string()).collect::<Vec<_>>().join(", ")
            );
        }
    }
    Ok(elected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_to_bring_online_for_a_topic_or_all() {
        let mut ctx = ControllerContext::default();
        let tp = |t: &str, p: i32| TopicPartition::new(t, p);
        ctx.partition_states.insert(tp("a", 0), PartitionState::OfflinePartition);
        ctx.partition_states.insert(tp("a", 1), PartitionState::OnlinePartition);
        ctx.partition_states.insert(tp("a", 2), PartitionState::NewPartition);
        ctx.partition_states.insert(tp("b", 0), PartitionState::OfflinePartition);
        ctx.partition_states.insert(tp("gone", 0), PartitionState::OfflinePartition);
        ctx.topics_to_be_deleted.insert("gone".to_string());
        assert_eq!(partitions_to_bring_online(&ctx, Some("a")), vec![tp("a", 0), tp("a", 2)]);
        assert_eq!(partitions_to_bring_online(&ctx, None), vec![tp("a", 0), tp("a", 2), tp("b", 0)]);
        assert!(partitions_to_bring_online(&ctx, Some("gone")).is_empty(), "a topic being deleted stays offline");
        assert!(partitions_to_bring_online(&ctx, Some("other")).is_empty());
    }
}
