//! EndTxn handler: the TransactionCoordinator prepares the commit or abort,
//! answers once that is in `__transaction_state`, and writes the markers
//! afterwards. Maps to `KafkaApis.handleEndTxnRequest`.

use crate::protocol::error;
use crate::security::authorizer::{AclOperation, ResourceType};
use crate::protocol::messages::end_txn::{EndTxnRequest, EndTxnResponse};
use crate::server::apis::add_partitions_to_txn::fenced_for_version;
use crate::server::kafka_apis::{KafkaApis, RequestContext};

impl KafkaApis {
    pub(crate) async fn handle_end_txn(&self, ctx: &RequestContext, req: EndTxnRequest) -> EndTxnResponse {
        // Kafka: Write on the transactional id.
        if !self.authorize(ctx, AclOperation::Write, ResourceType::TransactionalId, &req.transactional_id) {
            return EndTxnResponse { error_code: error::TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ..Default::default() };
        }
        let code = self.txn_coordinator.end_txn(&req.transactional_id, req.producer_id, req.producer_epoch, req.committed).await;
        EndTxnResponse { throttle_time_ms: 0, error_code: fenced_for_version(code, ctx.api_version, 2), ..Default::default() }
    }
}
