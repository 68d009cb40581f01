//! LeaderAndIsr handler: the controller tells this broker which partitions it
//! leads or follows, with leader epochs, ISR and replicas. Stale controller or
//! broker epochs are refused. Maps to `KafkaApis.handleLeaderAndIsrRequest`
//! and `ReplicaManager.becomeLeaderOrFollower`.

use crate::common::TopicPartition;
use crate::protocol::error;
use crate::protocol::messages::leader_and_isr::{
    LeaderAndIsrPartitionError, LeaderAndIsrRequest, LeaderAndIsrResponse, LeaderAndIsrTopicError,
};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use crate::server::partition::PartitionState;
use std::collections::BTreeMap;

impl KafkaApis {
    pub(crate) async fn handle_leader_and_isr(&self, ctx: &RequestContext, req: LeaderAndIsrRequest) -> LeaderAndIsrResponse {
        if !self.authorize_cluster(ctx, crate::security::authorizer::AclOperation::ClusterAction) {
            return LeaderAndIsrResponse { error_code: error::CLUSTER_AUTHORIZATION_FAILED, ..Default::default() };
        }
        let rm = &self.replica_manager;
        let whole_error = if rm.is_stale_broker_epoch(req.broker_epoch) {
            Some(error::STALE_BROKER_EPOCH)
        } else if !rm.check_controller_epoch(req.controller_epoch) {
            Some(error::STALE_CONTROLLER_EPOCH)
        } else {
            None
        };
        let topic_ids: BTreeMap<String, [u8; 16]> =
            req.topic_states.iter().map(|t| (t.topic_name.clone(), t.topic_id)).collect();
        if let Some(code) = whole_error {
            log::warn!(
                "ignoring LeaderAndIsr from controller {} epoch {} (broker epoch {}): {}",
                req.controller_id,
                req.controller_epoch,
                req.broker_epoch,
                error::error_name(code)
            );
            return LeaderAndIsrResponse { error_code: code, ..Default::default() };
        }
        // A topic's config is read from ZooKeeper once per request, not once
        // per new partition (3,000 new partitions were 3,000 round trips).
        let mut topic_configs: std::collections::HashMap<String, Option<_>> = std::collections::HashMap::new();
        let mut entries = Vec::new();
        for ps in req.partition_states() {
            let tp = TopicPartition::new(ps.topic_name.clone(), ps.partition_index);
            let topic_config = if rm.get_partition(&tp).is_none() {
                if !topic_configs.contains_key(&ps.topic_name) {
                    let c = match self.zk.get_entity_config("topics", &ps.topic_name).await {
                        Ok(c) => Some(c.into_iter().collect()),
                        Err(e) => {
                            log::warn!("cannot read config of topic {}: {e}", ps.topic_name);
                            None
                        }
                    };
                    topic_configs.insert(ps.topic_name.clone(), c);
                }
                topic_configs.get(&ps.topic_name).cloned().flatten()
            } else {
                None
            };
            let state = PartitionState {
                leader: ps.leader,
                leader_epoch: ps.leader_epoch,
                isr: ps.isr.clone(),
                replicas: ps.replicas.clone(),
                zk_version: ps.zk_version,
                controller_epoch: ps.controller_epoch,
            };
            entries.push((tp, state, topic_config));
        }
        // The whole request at once, off the executor's worker threads: log
        // creation and the new leaders' epoch checkpoints (fsyncs) are disk
        // waits, done for many partitions concurrently. A 10,000-partition
        // request applied one partition at a time on a worker took longer than
        // the controller's 30 s request timeout and starved the other tasks
        // (the controller's own event loop among them) on this 2-core machine.
        let applied: Vec<(TopicPartition, i32, i32, Vec<i32>)> =
            entries.iter().map(|(tp, s, _)| (tp.clone(), s.leader, s.leader_epoch, s.isr.clone())).collect();
        let rm2 = rm.clone();
        let codes = match tokio::task::spawn_blocking(move || rm2.become_leader_or_follower_many(entries)).await {
            Ok(c) => c,
            Err(e) => {
                log::error!("LeaderAndIsr application failed: {e}");
                vec![error::UNKNOWN_SERVER_ERROR; applied.len()]
            }
        };
        let mut errors: Vec<LeaderAndIsrPartitionError> = Vec::with_capacity(applied.len());
        for ((tp, leader, leader_epoch, isr), code) in applied.into_iter().zip(codes) {
            if code == error::NONE {
                log::info!(
                    "{} partition {tp} with leader epoch {leader_epoch} (leader {leader}, isr {isr:?})",
                    if leader == self.broker_id { "leading" } else { "following" },
                );
            }
            errors.push(LeaderAndIsrPartitionError {
                topic_name: tp.topic,
                partition_index: tp.partition,
                error_code: code,
                ..Default::default()
            });
        }
        if ctx.api_version >= 5 {
            let mut by_topic: BTreeMap<String, Vec<LeaderAndIsrPartitionError>> = BTreeMap::new();
            for e in errors {
                by_topic.entry(e.topic_name.clone()).or_default().push(e);
            }
            let topics = by_topic
                .into_iter()
                .map(|(name, partition_errors)| LeaderAndIsrTopicError {
                    topic_id: topic_ids.get(&name).copied().unwrap_or([0; 16]),
                    partition_errors,
                    ..Default::default()
                })
                .collect();
            LeaderAndIsrResponse { error_code: error::NONE, topics, ..Default::default() }
        } else {
            LeaderAndIsrResponse { error_code: error::NONE, partition_errors: errors, ..Default::default() }
        }
    }
}
