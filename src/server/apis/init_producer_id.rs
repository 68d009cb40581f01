//! InitProducerId handler (Kafka's `KafkaApis.handleInitProducerIdRequest`
//! and `TransactionCoordinator.handleInitProducerId`) for idempotent
//! producers: a null `transactional_id` gets a fresh id from the
//! `ProducerIdManager` with epoch 0.
//!
//! There is no transaction coordinator (no `__transaction_state`), so a
//! transactional id gets the answers a 2.8 broker gives before and instead of
//! serving it: INVALID_REQUEST for an empty id, INVALID_TRANSACTION_TIMEOUT for
//! a timeout outside (0, 15 min], otherwise NOT_COORDINATOR (this broker
//! coordinates no transactional id).

use crate::protocol::error;
use crate::protocol::messages::init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
use crate::server::kafka_apis::{KafkaApis, RequestContext};

/// `transaction.max.timeout.ms` default.
const TRANSACTION_MAX_TIMEOUT_MS: i32 = 900_000;

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
        // Kafka: Write on the transactional id; an idempotent producer needs
        // IdempotentWrite on the cluster or Write on some topic.
        use crate::security::authorizer::{AclOperation, ResourceType};
        match req.transactional_id.as_deref() {
            Some(id) if !self.authorize(ctx, AclOperation::Write, ResourceType::TransactionalId, id) => {
                return error_response(error::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
            }
            None if !self.authorize_cluster(ctx, AclOperation::IdempotentWrite)
                && !self.authorize_by_resource_type(ctx, AclOperation::Write, ResourceType::Topic) =>
            {
                return error_response(error::CLUSTER_AUTHORIZATION_FAILED);
            }
            _ => {}
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
            Some("") => error_response(error::INVALID_REQUEST),
            Some(_) if req.transaction_timeout_ms <= 0 || req.transaction_timeout_ms > TRANSACTION_MAX_TIMEOUT_MS => {
                error_response(error::INVALID_TRANSACTION_TIMEOUT)
            }
            Some(tid) => {
                log::debug!("transactional id {tid:?} from {:?}: transactions are not served", ctx.client_id());
                error_response(error::NOT_COORDINATOR)
            }
        }
    }
}
