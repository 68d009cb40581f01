//! WriteTxnMarkers handler (Kafka's `KafkaApis.handleWriteTxnMarkersRequest`):
//! a transaction coordinator asks this broker, as leader of the partitions a
//! transaction wrote to, to append its COMMIT or ABORT marker (a control
//! batch with the coordinator epoch and the producer's id and epoch) with
//! acks=all semantics. Answers per partition: NONE, NOT_LEADER_OR_FOLLOWER,
//! UNKNOWN_TOPIC_OR_PARTITION, INVALID_PRODUCER_EPOCH,
//! TRANSACTION_COORDINATOR_FENCED, NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT.
//! Markers written to `__consumer_offsets` also complete the producer's
//! pending transactional offsets in the group coordinator.

use crate::common::TopicPartition;
use crate::coordinator::GROUP_METADATA_TOPIC_NAME;
use crate::protocol::error;
use crate::protocol::messages::write_txn_markers::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult, WriteTxnMarkersRequest,
    WriteTxnMarkersResponse,
};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use std::time::Duration;

impl KafkaApis {
    pub(crate) async fn handle_write_txn_markers(&self, ctx: &RequestContext, req: WriteTxnMarkersRequest) -> WriteTxnMarkersResponse {
        // AUTHORIZATION: Kafka requires ClusterAction on the Cluster resource
        // (only brokers send this); without it every partition answers
        // CLUSTER_AUTHORIZATION_FAILED and nothing is appended (always
        // allowed when no authorizer is configured).
        let authorized = self.authorize_cluster(ctx, crate::security::authorizer::AclOperation::ClusterAction);
        let timeout = Duration::from_millis(self.config.get_i64("request.timeout.ms", 30_000).clamp(1, 300_000) as u64);
        let mut markers = Vec::with_capacity(req.markers.len());
        for m in &req.markers {
            let entries: Vec<(TopicPartition, i64, i16, i32, bool)> = m
                .topics
                .iter()
                .flat_map(|t| {
                    t.partition_indexes.iter().map(move |p| {
                        (TopicPartition::new(t.name.clone(), *p), m.producer_id, m.producer_epoch, m.coordinator_epoch, m.transaction_result)
                    })
                })
                .collect();
            let codes = if authorized {
                self.replica_manager.append_txn_markers(timeout, &entries).await
            } else {
                vec![error::CLUSTER_AUTHORIZATION_FAILED; entries.len()]
            };
            // Kafka's maybeSendResponseCallback: offsets of the transaction
            // become visible (or are dropped) once the marker is in the
            // __consumer_offsets partitions that took it.
            let offsets_partitions: Vec<i32> = entries
                .iter()
                .zip(&codes)
                .filter(|((tp, ..), code)| tp.topic == GROUP_METADATA_TOPIC_NAME && **code == error::NONE)
                .map(|((tp, ..), _)| tp.partition)
                .collect();
            if !offsets_partitions.is_empty() {
                self.group_coordinator.handle_txn_completion(m.producer_id, &offsets_partitions, m.transaction_result);
            }
            let mut codes = codes.into_iter();
            let topics = m
                .topics
                .iter()
                .map(|t| WritableTxnMarkerTopicResult {
                    name: t.name.clone(),
                    partitions: t
                        .partition_indexes
                        .iter()
                        .map(|p| WritableTxnMarkerPartitionResult {
                            partition_index: *p,
                            error_code: codes.next().unwrap_or(error::UNKNOWN_SERVER_ERROR),
                        })
                        .collect(),
                })
                .collect();
            markers.push(WritableTxnMarkerResult { producer_id: m.producer_id, topics });
        }
        WriteTxnMarkersResponse { markers, ..Default::default() }
    }
}
