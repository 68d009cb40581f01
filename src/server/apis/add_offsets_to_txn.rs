//! AddOffsetsToTxn handler: adds the group's `__consumer_offsets` partition
//! to the transaction (so that its markers reach the group coordinator).
//! Maps to `KafkaApis.handleAddOffsetsToTxnRequest`.

use crate::common::TopicPartition;
use crate::coordinator::GROUP_METADATA_TOPIC_NAME;
use crate::protocol::messages::add_offsets_to_txn::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};
use crate::server::apis::add_partitions_to_txn::fenced_for_version;
use crate::server::kafka_apis::{KafkaApis, RequestContext};

impl KafkaApis {
    pub(crate) async fn handle_add_offsets_to_txn(&self, ctx: &RequestContext, req: AddOffsetsToTxnRequest) -> AddOffsetsToTxnResponse {
        // Authorization: TransactionalId Write on req.transactional_id and
        // Group Read on req.group_id go here.
        let tp = TopicPartition::new(GROUP_METADATA_TOPIC_NAME, self.group_coordinator.partition_for(&req.group_id));
        let code = self.txn_coordinator.add_partitions(&req.transactional_id, req.producer_id, req.producer_epoch, &[tp]).await;
        AddOffsetsToTxnResponse { throttle_time_ms: 0, error_code: fenced_for_version(code, ctx.api_version, 2), ..Default::default() }
    }
}
