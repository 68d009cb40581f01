//! Fetch handler: consumers and followers read record batches from the
//! leaders' logs, waiting up to `max_wait_ms` for `min_bytes` (long poll).
//! Batches go out exactly as stored. Fetch sessions (KIP-227) are not kept:
//! every response carries session id 0, which clients read as "send full
//! fetches". Maps to `KafkaApis.handleFetchRequest` and `ReplicaManager.fetchMessages`.

use crate::common::TopicPartition;
use crate::protocol::error;
use crate::protocol::messages::fetch::{EpochEndOffset, FetchRequest, FetchResponse, FetchResponsePartition, FetchResponseTopic};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use crate::server::replica_manager::FetchPartitionRequest;
use std::time::Duration;

impl KafkaApis {
    pub(crate) async fn handle_fetch(&self, ctx: &RequestContext, req: FetchRequest) -> FetchResponse {
        let mut wanted = Vec::new();
        for t in &req.topics {
            for p in &t.partitions {
                wanted.push(FetchPartitionRequest {
                    tp: TopicPartition::new(t.topic.clone(), p.partition),
                    fetch_offset: p.fetch_offset,
                    partition_max_bytes: p.partition_max_bytes,
                    current_leader_epoch: p.current_leader_epoch,
                    last_fetched_epoch: if ctx.api_version >= 12 { p.last_fetched_epoch } else { -1 },
                    log_start_offset: if ctx.api_version >= 5 { p.log_start_offset } else { -1 },
                });
            }
        }
        // Fetch v0-2 had no response-level limit.
        let max_bytes = if ctx.api_version >= 3 { req.max_bytes } else { i32::MAX };
        let max_wait = Duration::from_millis(req.max_wait_ms.clamp(0, 300_000) as u64);
        let results = self
            .replica_manager
            .fetch_messages(req.replica_id, max_wait, req.min_bytes, max_bytes, &wanted)
            .await;

        // Answer in request order, grouped by topic as the request was.
        let mut responses: Vec<FetchResponseTopic> = Vec::with_capacity(req.topics.len());
        let mut it = results.into_iter();
        for t in &req.topics {
            let mut partition_responses = Vec::with_capacity(t.partitions.len());
            for _ in &t.partitions {
                let Some(r) = it.next() else { break };
                partition_responses.push(FetchResponsePartition {
                    partition: r.tp.partition,
                    error_code: r.error,
                    high_watermark: r.high_watermark,
                    last_stable_offset: r.last_stable_offset,
                    log_start_offset: r.log_start_offset,
                    aborted_transactions: if req.isolation_level == 1 { Some(Vec::new()) } else { None },
                    preferred_read_replica: -1,
                    diverging_epoch: r.diverging_epoch.map(|(epoch, end_offset)| EpochEndOffset {
                        epoch,
                        end_offset,
                        ..Default::default()
                    }),
                    records: Some(r.records.unwrap_or_default()),
                    ..Default::default()
                });
            }
            responses.push(FetchResponseTopic { topic: t.topic.clone(), partition_responses, ..Default::default() });
        }
        FetchResponse { throttle_time_ms: 0, error_code: error::NONE, session_id: 0, responses, ..Default::default() }
    }
}
