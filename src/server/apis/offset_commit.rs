//! OffsetCommit handler: partitions of unknown topics are refused, the rest
//! go to the GroupCoordinator, which appends them to `__consumer_offsets`.
//! v2-4 retention times become explicit expire timestamps (value v1), as in
//! Kafka. Maps to `KafkaApis.handleOffsetCommitRequest`.

use crate::security::authorizer::{AclOperation, ResourceType};
use crate::common::{now_ms, TopicPartition};
use crate::coordinator::group_metadata::OffsetAndMetadata;
use crate::protocol::error;
use crate::protocol::messages::offset_commit::{OffsetCommitRequest, OffsetCommitResponse, OffsetCommitResponseTopic};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use std::collections::HashMap;

impl KafkaApis {
    pub(crate) async fn handle_offset_commit(&self, ctx: &RequestContext, req: OffsetCommitRequest) -> OffsetCommitResponse {
        let v = ctx.api_version;
        let now = now_ms();
        let mut results: HashMap<TopicPartition, i16> = HashMap::new();
        let mut to_commit = Vec::new();
        // Kafka: Read on the group, then Read on each topic.
        let group_ok = self.authorize(ctx, AclOperation::Read, ResourceType::Group, &req.group_id);
        let readable = if group_ok {
            self.filter_authorized(ctx, AclOperation::Read, ResourceType::Topic, req.topics.iter().map(|t| t.name.as_str()))
        } else {
            Default::default()
        };
        for t in &req.topics {
            for p in &t.partitions {
                let tp = TopicPartition::new(t.name.clone(), p.partition_index);
                if !group_ok {
                    results.insert(tp, error::GROUP_AUTHORIZATION_FAILED);
                    continue;
                }
                if !readable.contains(&t.name) {
                    results.insert(tp, error::TOPIC_AUTHORIZATION_FAILED);
                    continue;
                }
                if self.metadata_cache.partition(&t.name, p.partition_index).is_none() {
                    results.insert(tp, error::UNKNOWN_TOPIC_OR_PARTITION);
                    continue;
                }
                let commit_timestamp = if v == 1 && p.commit_timestamp >= 0 { p.commit_timestamp } else { now };
                let expire_timestamp =
                    if (2..=4).contains(&v) && req.retention_time_ms >= 0 { Some(now + req.retention_time_ms) } else { None };
                to_commit.push((
                    tp,
                    OffsetAndMetadata {
                        offset: p.committed_offset,
                        leader_epoch: p.committed_leader_epoch,
                        metadata: p.committed_metadata.clone().unwrap_or_default(),
                        commit_timestamp,
                        expire_timestamp,
                    },
                ));
            }
        }
        if req.group_instance_id.is_some() && v < 7 {
            for (tp, _) in to_commit.drain(..) {
                results.insert(tp, error::UNSUPPORTED_VERSION);
            }
        }
        if !to_commit.is_empty() {
            let generation = if v == 0 { -1 } else { req.generation_id };
            let r = self
                .group_coordinator
                .commit_offsets(&req.group_id, &req.member_id, req.group_instance_id.as_deref(), generation, to_commit)
                .await;
            results.extend(r);
        }
        let topics = req
            .topics
            .iter()
            .map(|t| OffsetCommitResponseTopic {
                name: t.name.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| {
                        let code = results.get(&TopicPartition::new(t.name.clone(), p.partition_index)).copied();
                        (p.partition_index, code.unwrap_or(error::UNKNOWN_SERVER_ERROR))
                    })
                    .collect(),
            })
            .collect();
        OffsetCommitResponse { throttle_time_ms: 0, topics, ..Default::default() }
    }
}
