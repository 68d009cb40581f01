//! Produce handler: validates `acks`, appends each partition's batches
//! through the ReplicaManager and answers per partition (nothing for acks=0).
//! Maps to `KafkaApis.handleProduceRequest`.

use crate::common::TopicPartition;
use crate::protocol::error;
use crate::protocol::records;
use crate::protocol::messages::produce::{
    ProduceRequest, ProduceResponse, ProduceResponsePartition, ProduceResponseTopic,
};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use std::time::Duration;

impl KafkaApis {
    /// Returns `Ok(None)` when the client asked for no response (acks=0),
    /// and `Err(reason)` when the connection must be closed instead.
    pub(crate) async fn handle_produce(&self, _ctx: &RequestContext, req: ProduceRequest) -> Result<Option<ProduceResponse>, String> {
        let acks = req.acks;
        let mut entries = Vec::new();
        let mut order: Vec<(String, Vec<i32>)> = Vec::new();
        for t in req.topic_data {
            let mut ids = Vec::with_capacity(t.partition_data.len());
            for p in t.partition_data {
                ids.push(p.index);
                entries.push((TopicPartition::new(t.name.clone(), p.index), p.records));
            }
            order.push((t.name, ids));
        }
        let results = if !matches!(acks, -1 | 0 | 1) {
            entries
                .into_iter()
                .map(|(tp, _)| (tp, error::INVALID_REQUIRED_ACKS, -1, -1, -1, None))
                .collect::<Vec<_>>()
        } else {
            // Produce v3+ carries exactly one batch per partition (Kafka's
            // ProduceRequest.validateRecords); others are refused unappended.
            let (single, multi): (Vec<_>, Vec<_>) = entries
                .into_iter()
                .partition(|(_, r)| r.as_ref().is_none_or(|b| records::batches(b.clone()).take(2).count() <= 1));
            let timeout = Duration::from_millis(req.timeout_ms.max(0) as u64);
            let mut results: Vec<_> = self
                .replica_manager
                .append_records(timeout, acks, single)
                .await
                .into_iter()
                .map(|(tp, r)| (tp, r.error, r.base_offset, r.log_append_time, r.log_start_offset, r.error_message))
                .collect();
            results.extend(multi.into_iter().map(|(tp, _)| {
                let msg = "Produce requests with version 3 and above must contain exactly one record batch".to_string();
                (tp, error::INVALID_RECORD, -1, -1, -1, Some(msg))
            }));
            results
        };
        if acks == 0 {
            // No response can carry an error, so Kafka closes the connection
            // to tell the client something went wrong.
            if let Some((tp, code, ..)) = results.iter().find(|r| r.1 != error::NONE) {
                return Err(format!("acks=0 produce to {tp} failed with {}", error::error_name(*code)));
            }
            return Ok(None);
        }
        let mut by_tp: std::collections::HashMap<TopicPartition, _> =
            results.into_iter().map(|(tp, code, base, time, start, msg)| (tp, (code, base, time, start, msg))).collect();
        let responses = order
            .into_iter()
            .map(|(name, ids)| ProduceResponseTopic {
                partition_responses: ids
                    .into_iter()
                    .filter_map(|index| {
                        let (error_code, base_offset, log_append_time_ms, log_start_offset, error_message) =
                            by_tp.remove(&TopicPartition::new(name.clone(), index))?;
                        Some(ProduceResponsePartition {
                            index,
                            error_code,
                            base_offset,
                            log_append_time_ms,
                            log_start_offset,
                            error_message,
                            ..Default::default()
                        })
                    })
                    .collect(),
                name,
                ..Default::default()
            })
            .collect();
        Ok(Some(ProduceResponse { responses, ..Default::default() }))
    }
}
