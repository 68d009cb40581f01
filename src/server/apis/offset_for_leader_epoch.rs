//! OffsetForLeaderEpoch handler: a leader tells a follower (or a consumer
//! checking for truncation) where a leader epoch ends in its log, from its
//! leader epoch cache (KIP-101/279), after fencing the requester's current
//! leader epoch (KIP-320). Maps to `KafkaApis.handleOffsetForLeaderEpochRequest`,
//! `ReplicaManager.lastOffsetForLeaderEpoch` and `Partition.lastOffsetForLeaderEpoch`.

use crate::common::TopicPartition;
use crate::protocol::error;
use crate::protocol::messages::offset_for_leader_epoch::{
    EpochEndOffset, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, OffsetForLeaderTopicResult,
};
use crate::server::kafka_apis::{KafkaApis, RequestContext};

impl KafkaApis {
    pub(crate) async fn handle_offset_for_leader_epoch(
        &self,
        ctx: &RequestContext,
        req: OffsetForLeaderEpochRequest,
    ) -> OffsetForLeaderEpochResponse {
        use crate::security::authorizer::{AclOperation, ResourceType};
        // Kafka: replicas (ClusterAction) may ask about any topic, clients about those they may Describe.
        let all_ok = self.authorize_cluster(ctx, AclOperation::ClusterAction);
        let ok = if all_ok {
            Default::default()
        } else {
            self.filter_authorized(ctx, AclOperation::Describe, ResourceType::Topic, req.topics.iter().map(|t| t.topic.as_str()))
        };
        let topics = req
            .topics
            .iter()
            .map(|t| OffsetForLeaderTopicResult {
                topic: t.topic.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| {
                        let tp = TopicPartition::new(t.topic.clone(), p.partition);
                        let (error_code, leader_epoch, end_offset) = if all_ok || ok.contains(&t.topic) {
                            self.last_offset_for_leader_epoch(&tp, p.current_leader_epoch, p.leader_epoch)
                        } else {
                            (error::TOPIC_AUTHORIZATION_FAILED, -1, -1)
                        };
                        EpochEndOffset { error_code, partition: p.partition, leader_epoch, end_offset, ..Default::default() }
                    })
                    .collect(),
                ..Default::default()
            })
            .collect();
        OffsetForLeaderEpochResponse { throttle_time_ms: 0, topics, ..Default::default() }
    }

    /// (error, epoch, end offset). Only the leader answers, whoever asks
    /// (Kafka 2.8 serves this API from leaders only).
    fn last_offset_for_leader_epoch(&self, tp: &TopicPartition, current_epoch: i32, epoch: i32) -> (i16, i32, i64) {
        let Some(partition) = self.replica_manager.get_partition(tp) else {
            return (error::UNKNOWN_TOPIC_OR_PARTITION, -1, -1);
        };
        partition.last_offset_for_leader_epoch(current_epoch, epoch)
    }
}
