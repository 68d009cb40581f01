//! TxnOffsetCommit handler: partitions of unknown topics are refused, the
//! rest go to the GroupCoordinator, which checks the group metadata of
//! KIP-447 (generation, member id, group instance id) and stores the offsets
//! as pending until the transaction's marker reaches `__consumer_offsets`.
//! Maps to `KafkaApis.handleTxnOffsetCommitRequest`.

use crate::common::{now_ms, TopicPartition};
use crate::coordinator::group_metadata::OffsetAndMetadata;
use crate::protocol::error;
use crate::protocol::messages::txn_offset_commit::{TxnOffsetCommitRequest, TxnOffsetCommitResponse};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use std::collections::HashMap;

impl KafkaApis {
    pub(crate) async fn handle_txn_offset_commit(&self, _ctx: &RequestContext, req: TxnOffsetCommitRequest) -> TxnOffsetCommitResponse {
        // Authorization: TransactionalId Read on req.transactional_id, Group Read
        // on req.group_id and Topic Read on each topic go here.
        let now = now_ms();
        let mut results: HashMap<TopicPartition, i16> = HashMap::new();
        let mut to_commit = Vec::new();
        for t in &req.topics {
            for p in &t.partitions {
                let tp = TopicPartition::new(t.name.clone(), p.partition_index);
                if self.metadata_cache.partition(&t.name, p.partition_index).is_none() {
                    results.insert(tp, error::UNKNOWN_TOPIC_OR_PARTITION);
                    continue;
                }
                to_commit.push((
                    tp,
                    OffsetAndMetadata {
                        offset: p.committed_offset,
                        leader_epoch: p.committed_leader_epoch,
                        metadata: p.committed_metadata.clone().unwrap_or_default(),
                        commit_timestamp: now,
                        expire_timestamp: None,
                    },
                ));
            }
        }
        if !to_commit.is_empty() {
            let r = self
                .group_coordinator
                .commit_txn_offsets(
                    &req.group_id,
                    req.producer_id,
                    req.producer_epoch,
                    &req.member_id,
                    req.group_instance_id.as_deref(),
                    req.generation_id,
                    to_commit,
                )
                .await;
            results.extend(r);
        }
        let topics = req
            .topics
            .iter()
            .map(|t| {
                let ps = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let code = results.get(&TopicPartition::new(t.name.clone(), p.partition_index)).copied();
                        (p.partition_index, code.unwrap_or(error::UNKNOWN_SERVER_ERROR))
                    })
                    .collect();
                (t.name.clone(), ps)
            })
            .collect();
        TxnOffsetCommitResponse { throttle_time_ms: 0, topics, ..Default::default() }
    }
}
