//! EndTxn handler: the TransactionCoordinator prepares the commit or abort,
//! answers once that is in `__transaction_state`, and writes the markers
//! afterwards. Maps to `KafkaApis.handleEndTxnRequest`.

use crate::protocol::messages::end_txn::{EndTxnRequest, EndTxnResponse};
use crate::server::apis::add_partitions_to_txn::fenced_for_version;
use crate::server::kafka_apis::{KafkaApis, RequestContext};

impl KafkaApis {
    pub(crate) async fn handle_end_txn(&self, ctx: &RequestContext, req: EndTxnRequest) -> EndTxnResponse {
        // Authorization: TransactionalId Write on req.transactional_id goes here.
        let code = self.txn_coordinator.end_txn(&req.transactional_id, req.producer_id, req.producer_epoch, req.committed).await;
        EndTxnResponse { throttle_time_ms: 0, error_code: fenced_for_version(code, ctx.api_version, 2), ..Default::default() }
    }
}
