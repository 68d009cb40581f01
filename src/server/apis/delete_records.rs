//! DeleteRecords handler (v0-2): partitions unknown to the metadata cache
//! get UNKNOWN_TOPIC_OR_PARTITION, known ones not hosted here
//! NOT_LEADER_OR_FOLLOWER; the rest go to `ReplicaManager::delete_records`,
//! which moves each leader's log start offset and answers with the low
//! watermark once the ISR has it. Maps to `KafkaApis.handleDeleteRecordsRequest`.

use crate::security::authorizer::{AclOperation, ResourceType};
use crate::common::TopicPartition;
use crate::protocol::error;
use crate::protocol::messages::delete_records::{
    DeleteRecordsPartitionResult, DeleteRecordsRequest, DeleteRecordsResponse, DeleteRecordsTopicResult,
};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use std::collections::HashMap;
use std::time::Duration;

impl KafkaApis {
    pub(crate) async fn handle_delete_records(&self, ctx: &RequestContext, req: DeleteRecordsRequest) -> DeleteRecordsResponse {
        let mut answers: HashMap<TopicPartition, (i64, i16)> = HashMap::new();
        let mut to_delete = Vec::new();
        let deletable = self.filter_authorized(ctx, AclOperation::Delete, ResourceType::Topic, req.topics.iter().map(|t| t.name.as_str()));
        for t in &req.topics {
            for p in &t.partitions {
                let tp = TopicPartition::new(t.name.clone(), p.partition_index);
                if !deletable.contains(&t.name) {
                    answers.insert(tp, (-1, error::TOPIC_AUTHORIZATION_FAILED));
                } else if self.metadata_cache.partition(&t.name, p.partition_index).is_none() {
                    answers.insert(tp, (-1, error::UNKNOWN_TOPIC_OR_PARTITION));
                } else if self.replica_manager.get_partition(&tp).is_none() {
                    answers.insert(tp, (-1, error::NOT_LEADER_OR_FOLLOWER));
                } else if !to_delete.iter().any(|(x, _)| x == &tp) {
                    to_delete.push((tp, p.offset));
                }
            }
        }
        let timeout = Duration::from_millis(req.timeout_ms.max(0) as u64);
        for r in self.replica_manager.delete_records(timeout, to_delete).await {
            answers.insert(r.tp, (r.low_watermark, r.error));
        }
        let topics = req
            .topics
            .iter()
            .map(|t| DeleteRecordsTopicResult {
                name: t.name.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| {
                        let (low_watermark, error_code) = answers
                            .get(&TopicPartition::new(t.name.clone(), p.partition_index))
                            .copied()
                            .unwrap_or((-1, error::UNKNOWN_SERVER_ERROR));
                        DeleteRecordsPartitionResult { partition_index: p.partition_index, low_watermark, error_code }
                    })
                    .collect(),
            })
            .collect();
        DeleteRecordsResponse { throttle_time_ms: 0, topics, ..Default::default() }
    }
}
