//! ListOffsets handler: the earliest offset (timestamp -2), the latest (-1;
//! the high watermark for consumers, the log end for replicas), or the first
//! offset whose timestamp is at or after a given time. Maps to
//! `KafkaApis.handleListOffsetRequest` and `Log.fetchOffsetByTimestamp`.

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
                        let (error_code, offset, timestamp, leader_epoch) =
                            self.list_offset(req.replica_id, &tp, p.current_leader_epoch, p.timestamp);
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
    fn list_offset(&self, replica_id: i32, tp: &TopicPartition, current_epoch: i32, timestamp: i64) -> (i16, i64, i64, i32) {
        let fail = |code| (code, -1, -1, -1);
        let Some(partition) = self.replica_manager.get_partition(tp) else {
            return fail(error::UNKNOWN_TOPIC_OR_PARTITION);
        };
        let state = partition.state();
        // Replica id -2 is the "debugging" consumer, allowed on followers.
        if state.leader != self.broker_id && replica_id != -2 {
            return fail(error::NOT_LEADER_OR_FOLLOWER);
        }
        if current_epoch >= 0 {
            if current_epoch < state.leader_epoch {
                return fail(error::FENCED_LEADER_EPOCH);
            }
            if current_epoch > state.leader_epoch {
                return fail(error::UNKNOWN_LEADER_EPOCH);
            }
        }
        let log = &partition.log;
        let epoch = state.leader_epoch;
        match timestamp {
            EARLIEST_TIMESTAMP => (error::NONE, log.log_start_offset(), -1, epoch),
            LATEST_TIMESTAMP => {
                let offset = if replica_id >= 0 || replica_id == -2 { log.log_end_offset() } else { log.high_watermark() };
                (error::NONE, offset, -1, epoch)
            }
            ts => match log.fetch_offset_by_timestamp(ts) {
                Ok(Some(found)) if replica_id >= 0 || found.offset < log.high_watermark() => {
                    (error::NONE, found.offset, found.timestamp, found.leader_epoch.unwrap_or(epoch))
                }
                Ok(_) => (error::NONE, -1, -1, -1),
                Err(e) => fail(e.error_code()),
            },
        }
    }
}
