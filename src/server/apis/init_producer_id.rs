//! InitProducerId handler (Kafka's `KafkaApis.handleInitProducerIdRequest`):
//! a null `transactional_id` (idempotent producer) gets a fresh id from the
//! `ProducerIdManager` with epoch 0; a transactional id goes to the
//! TransactionCoordinator, which bumps the epoch (fencing older producers of
//! the id), with KIP-360's bump when the client sends its current id and
//! epoch. PRODUCER_FENCED is INVALID_PRODUCER_EPOCH below v4.

use crate::protocol::error;
use crate::protocol::messages::init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
use crate::server::apis::add_partitions_to_txn::fenced_for_version;
use crate::server::kafka_apis::{KafkaApis, RequestContext};

fn error_response(code: i16) -> InitProducerIdResponse {
    InitProducerIdResponse { error_code: code, producer_id: -1, producer_epoch: -1, ..Default::default() }
}

impl KafkaApis {
    pub(crate) async fn handle_init_producer_id(
        &self,
        ctx: &RequestContext,
        req: InitProducerIdRequest,
    ) -> InitProducerIdResponse {
        // v3+: id and epoch must both be set or both be unset.
        if (req.producer_id == -1) != (req.producer_epoch == -1) {
            return error_response(error::INVALID_REQUEST);
        }
        match req.transactional_id.as_deref() {
            None => match self.producer_id_manager.generate_producer_id().await {
                Ok(id) => {
                    log::debug!("producer id {id} for client {:?}", ctx.client_id());
                    InitProducerIdResponse { producer_id: id, producer_epoch: 0, ..Default::default() }
                }
                Err(e) => {
                    log::warn!("cannot allocate a producer id: {e}");
                    // Retriable, as newer Kafka answers when no block can be had.
                    error_response(error::COORDINATOR_LOAD_IN_PROGRESS)
                }
            },
            Some(tid) => {
                // Authorization: TransactionalId Write on `tid` goes here.
                let expected = (req.producer_id != -1).then_some((req.producer_id, req.producer_epoch));
                let (code, pid, epoch) = self.txn_coordinator.init_producer_id(tid, req.transaction_timeout_ms, expected).await;
                if code != error::NONE {
                    return error_response(fenced_for_version(code, ctx.api_version, 4));
                }
                log::debug!("transactional id {tid:?}: producer id {pid} epoch {epoch} for client {:?}", ctx.client_id());
                InitProducerIdResponse { producer_id: pid, producer_epoch: epoch, ..Default::default() }
            }
        }
    }
}
