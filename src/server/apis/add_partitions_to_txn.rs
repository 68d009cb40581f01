//! AddPartitionsToTxn handler: partitions of unknown topics fail with
//! UNKNOWN_TOPIC_OR_PARTITION and the others with OPERATION_NOT_ATTEMPTED;
//! otherwise the TransactionCoordinator adds them to the transaction and one
//! error answers every partition. PRODUCER_FENCED is INVALID_PRODUCER_EPOCH
//! below v2. Maps to `KafkaApis.handleAddPartitionToTxnRequest`.

use crate::common::TopicPartition;
use crate::protocol::error::{self, ErrorCode};
use crate::protocol::messages::add_partitions_to_txn::{AddPartitionsToTxnRequest, AddPartitionsToTxnResponse};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use std::collections::HashMap;

/// Older clients do not know PRODUCER_FENCED (KIP-588).
pub(crate) fn fenced_for_version(code: ErrorCode, version: i16, first_with_fenced: i16) -> ErrorCode {
    if code == error::PRODUCER_FENCED && version < first_with_fenced {
        error::INVALID_PRODUCER_EPOCH
    } else {
        code
    }
}

impl KafkaApis {
    pub(crate) async fn handle_add_partitions_to_txn(&self, ctx: &RequestContext, req: AddPartitionsToTxnRequest) -> AddPartitionsToTxnResponse {
        // Authorization: TransactionalId Write on req.transactional_id and
        // Topic Write on each topic go here (TRANSACTIONAL_ID_AUTHORIZATION_FAILED /
        // TOPIC_AUTHORIZATION_FAILED), before anything else.
        let mut errors: HashMap<TopicPartition, ErrorCode> = HashMap::new();
        let mut partitions = Vec::new();
        for (topic, ps) in &req.topics {
            for p in ps {
                let tp = TopicPartition::new(topic.clone(), *p);
                if self.metadata_cache.partition(topic, *p).is_none() {
                    errors.insert(tp, error::UNKNOWN_TOPIC_OR_PARTITION);
                } else {
                    partitions.push(tp);
                }
            }
        }
        let all = if !errors.is_empty() {
            for tp in partitions {
                errors.insert(tp, error::OPERATION_NOT_ATTEMPTED);
            }
            None
        } else {
            let code = self.txn_coordinator.add_partitions(&req.transactional_id, req.producer_id, req.producer_epoch, &partitions).await;
            Some(fenced_for_version(code, ctx.api_version, 2))
        };
        let results = req
            .topics
            .iter()
            .map(|(topic, ps)| {
                let rs = ps
                    .iter()
                    .map(|p| {
                        let code = all.unwrap_or_else(|| errors.get(&TopicPartition::new(topic.clone(), *p)).copied().unwrap_or(error::NONE));
                        (*p, code)
                    })
                    .collect();
                (topic.clone(), rs)
            })
            .collect();
        AddPartitionsToTxnResponse { throttle_time_ms: 0, results, ..Default::default() }
    }
}
