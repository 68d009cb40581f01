//! OffsetFetch handler: a group's committed offsets (-1 where none), for the
//! partitions asked or, with null topics (v2+), for all of them; with
//! `require_stable` (v7+), UNSTABLE_OFFSET_COMMIT for partitions with offsets
//! of an unfinished transaction. Maps to
//! `KafkaApis.handleOffsetFetchRequest`.

use crate::common::TopicPartition;
use crate::protocol::error;
use crate::protocol::messages::offset_fetch::{
    OffsetFetchRequest, OffsetFetchResponse, OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use std::collections::BTreeMap;

impl KafkaApis {
    pub(crate) async fn handle_offset_fetch(&self, ctx: &RequestContext, req: OffsetFetchRequest) -> OffsetFetchResponse {
        let wanted: Option<Vec<TopicPartition>> = req.topics.as_ref().map(|ts| {
            ts.iter().flat_map(|t| t.partition_indexes.iter().map(|p| TopicPartition::new(t.name.clone(), *p))).collect()
        });
        match self.group_coordinator.fetch_offsets(&req.group_id, wanted.clone()) {
            Ok(offsets) => {
                let mut by_topic: BTreeMap<String, Vec<OffsetFetchResponsePartition>> = BTreeMap::new();
                for (tp, o) in offsets {
                    // v7+ require_stable: offsets a transaction has not
                    // committed yet are "unstable" (KIP-447); the client retries.
                    if req.require_stable && self.group_coordinator.has_pending_txn_offsets(&req.group_id, &tp) {
                        let p = OffsetFetchResponsePartition {
                            partition_index: tp.partition,
                            error_code: error::UNSTABLE_OFFSET_COMMIT,
                            ..Default::default()
                        };
                        by_topic.entry(tp.topic).or_default().push(p);
                        continue;
                    }
                    let p = match o {
                        Some(o) => OffsetFetchResponsePartition {
                            partition_index: tp.partition,
                            committed_offset: o.offset,
                            committed_leader_epoch: o.leader_epoch,
                            metadata: Some(o.metadata),
                            error_code: error::NONE,
                        },
                        None => OffsetFetchResponsePartition { partition_index: tp.partition, ..Default::default() },
                    };
                    by_topic.entry(tp.topic).or_default().push(p);
                }
                let topics = by_topic.into_iter().map(|(name, partitions)| OffsetFetchResponseTopic { name, partitions }).collect();
                OffsetFetchResponse { topics, ..Default::default() }
            }
            Err(code) => {
                if ctx.api_version >= 2 {
                    return OffsetFetchResponse { error_code: code, ..Default::default() };
                }
                // v0-1 have no top-level error: report it on every partition.
                let topics = req
                    .topics
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| OffsetFetchResponseTopic {
                        name: t.name,
                        partitions: t
                            .partition_indexes
                            .into_iter()
                            .map(|p| OffsetFetchResponsePartition { partition_index: p, error_code: code, ..Default::default() })
                            .collect(),
                    })
                    .collect();
                OffsetFetchResponse { topics, ..Default::default() }
            }
        }
    }
}
