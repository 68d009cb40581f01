//! OffsetDelete handler: deletes a group's offsets of partitions it does not
//! consume (GROUP_SUBSCRIBED_TO_TOPIC for subscribed topics). Maps to
//! `KafkaApis.handleOffsetDeleteRequest`.

use crate::security::authorizer::{AclOperation, ResourceType};
use crate::common::TopicPartition;
use crate::protocol::error;
use crate::protocol::messages::offset_delete::{OffsetDeleteRequest, OffsetDeleteResponse, OffsetDeleteResponseTopic};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use std::collections::HashMap;

impl KafkaApis {
    pub(crate) async fn handle_offset_delete(&self, ctx: &RequestContext, req: OffsetDeleteRequest) -> OffsetDeleteResponse {
        let mut codes: HashMap<TopicPartition, i16> = HashMap::new();
        let mut wanted = Vec::new();
        // Kafka: Delete on the group, Read on each topic.
        if !self.authorize(ctx, AclOperation::Delete, ResourceType::Group, &req.group_id) {
            return OffsetDeleteResponse { error_code: error::GROUP_AUTHORIZATION_FAILED, ..Default::default() };
        }
        let readable = self.filter_authorized(ctx, AclOperation::Read, ResourceType::Topic, req.topics.iter().map(|t| t.name.as_str()));
        for t in &req.topics {
            for p in &t.partitions {
                let tp = TopicPartition::new(t.name.clone(), *p);
                if !readable.contains(&t.name) {
                    codes.insert(tp, error::TOPIC_AUTHORIZATION_FAILED);
                } else if self.metadata_cache.partition(&t.name, *p).is_none() {
                    codes.insert(tp, error::UNKNOWN_TOPIC_OR_PARTITION);
                } else {
                    wanted.push(tp);
                }
            }
        }
        match self.group_coordinator.delete_offsets(&req.group_id, wanted).await {
            Ok(r) => codes.extend(r),
            Err(code) => return OffsetDeleteResponse { error_code: code, ..Default::default() },
        }
        let topics = req
            .topics
            .iter()
            .map(|t| OffsetDeleteResponseTopic {
                name: t.name.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| (*p, codes.get(&TopicPartition::new(t.name.clone(), *p)).copied().unwrap_or(error::NONE)))
                    .collect(),
            })
            .collect();
        OffsetDeleteResponse { error_code: error::NONE, throttle_time_ms: 0, topics }
    }
}
