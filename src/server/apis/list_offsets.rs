//! ListOffsets handler: the earliest offset (timestamp -2), the latest (-1;
//! the high watermark for consumers, the last stable offset for read_committed
//! ones (isolation level 1, v2+), the log end for replicas), or the first
//! offset whose timestamp is at or after a given time. Maps to
//! `KafkaApis.handleListOffsetRequest` and `Log.fetchOffsetByTimestamp`.

use crate::security::authorizer::{AclOperation, ResourceType};
use crate::common::TopicPartition;
use crate::protocol::error;
use crate::protocol::messages::list_offsets::{
    ListOffsetsPartitionResponse, ListOffsetsRequest, ListOffsetsResponse, ListOffsetsTopicResponse,
};
use crate::server::kafka_apis::{KafkaApis, RequestContext};

pub const EARLIEST_TIMESTAMP: i64 = -2;
pub const LATEST_TIMESTAMP: i64 = -1;

impl KafkaApis {
    pub(crate) async fn handle_list_offsets(&self, ctx: &RequestContext, req: ListOffsetsRequest) -> ListOffsetsResponse {
        let describable = self.filter_authorized(ctx, AclOperation::Describe, ResourceType::Topic, req.topics.iter().map(|t| t.name.as_str()));
        let topics = req
            .topics
            .iter()
            .map(|t| ListOffsetsTopicResponse {
                name: t.name.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| {
                        let tp = TopicPartition::new(t.name.clone(), p.partition_index);
                        let (error_code, offset, timestamp, leader_epoch) = if describable.contains(&t.name) {
                            self.list_offset(req.replica_id, &tp, p.current_leader_epoch, p.timestamp, req.isolation_level == 1)
                        } else {
                            (error::TOPIC_AUTHORIZATION_FAILED, -1, -1, -1)
                        };
                        ListOffsetsPartitionResponse {
                            partition_index: p.partition_index,
                            error_code,
                            old_style_offsets: if ctx.api_version == 0 && offset >= 0 { vec![offset] } else { vec![] },
                            timestamp,
                            offset,
                            leader_epoch,
                            ..Default::default()
                        }
                    })
                    .collect(),
                ..Default::default()
            })
            .collect();
        ListOffsetsResponse { throttle_time_ms: 0, topics, ..Default::default() }
    }

    /// (error, offset, timestamp, leader epoch) for one partition.
    fn list_offset(
        &self,
        replica_id: i32,
        tp: &TopicPartition,
        current_epoch: i32,
        timestamp: i64,
        read_committed: bool,
    ) -> (i16, i64, i64, i32) {
        let fail = |code| (code, -1, -1, -1);
        let Some(partition) = self.replica_manager.get_partition(tp) else {
            return fail(error::UNKNOWN_TOPIC_OR_PARTITION);
        };
        partition.fetch_offset_for_timestamp(replica_id, current_epoch, timestamp, read_committed)
    }
}
