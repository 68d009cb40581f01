//! Produce handler: validates `acks`, appends each partition's batches
//! through the ReplicaManager and answers per partition (nothing for acks=0).
//! Maps to `KafkaApis.handleProduceRequest`.

use crate::security::authorizer::{AclOperation, ResourceType};
use crate::common::TopicPartition;
use crate::protocol::error;
use crate::protocol::{legacy_records, records};
use crate::protocol::messages::produce::{
    ProduceRequest, ProduceResponse, ProduceResponsePartition, ProduceResponseTopic,
};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use std::time::Duration;

impl KafkaApis {
    /// Returns `Ok(None)` when the client asked for no response (acks=0),
    /// and `Err(reason)` when the connection must be closed instead.
    pub(crate) async fn handle_produce(&self, ctx: &RequestContext, req: ProduceRequest) -> Result<Option<ProduceResponse>, String> {
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
        // Kafka's authorization: transactional records need Write on the
        // transactional id (else every partition fails), each topic Write.
        let txn_error = if entries.iter().any(|(_, r)| r.as_ref().is_some_and(|b| has_transactional_records(b)))
            && !req.transactional_id.as_deref().is_some_and(|id| self.authorize(ctx, AclOperation::Write, ResourceType::TransactionalId, id))
        {
            Some(error::TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
        } else {
            None
        };
        let writable = self.filter_authorized(ctx, AclOperation::Write, ResourceType::Topic, order.iter().map(|(t, _)| t.as_str()));
        let (entries, unauthorized): (Vec<_>, Vec<_>) =
            entries.into_iter().partition(|(tp, _)| txn_error.is_none() && writable.contains(&tp.topic));
        let unauthorized: Vec<_> = unauthorized
            .into_iter()
            .map(|(tp, _)| (tp, txn_error.unwrap_or(error::TOPIC_AUTHORIZATION_FAILED), -1i64, -1i64, -1i64, None::<String>))
            .collect();
        let mut results = if !matches!(acks, -1 | 0 | 1) {
            entries
                .into_iter()
                .map(|(tp, _)| (tp, error::INVALID_REQUIRED_ACKS, -1, -1, -1, None))
                .collect::<Vec<_>>()
        } else {
            // Kafka's ProduceRequest.validateRecords: v3+ carries exactly
            // one magic 2 batch per partition (zstd from v7 only); v0-2 carry
            // message sets of any magic. Refused ones are not appended.
            let version = ctx.api_version;
            let (single, refused): (Vec<_>, Vec<_>) = entries
                .into_iter()
                .map(|(tp, r)| {
                    let why = r.as_ref().and_then(|b| validate_produce_records(version, b));
                    (tp, r, why)
                })
                .partition(|(_, _, why)| why.is_none());
            let single: Vec<_> = single.into_iter().map(|(tp, r, _)| (tp, r)).collect();
            let multi: Vec<_> = refused.into_iter().filter_map(|(tp, _, why)| why.map(|w| (tp, w))).collect();
            let timeout = Duration::from_millis(req.timeout_ms.max(0) as u64);
            let mut results: Vec<_> = self
                .replica_manager
                .append_records_then_wait(timeout, acks, single, crate::protocol::records::AppendOrigin::Client, ctx.appended.as_deref())
                .await
                .into_iter()
                .map(|(tp, r)| (tp, r.error, r.base_offset, r.log_append_time, r.log_start_offset, r.error_message))
                .collect();
            results.extend(multi.into_iter().map(|(tp, (code, msg))| (tp, code, -1, -1, -1, Some(msg))));
            results
        };
        results.extend(unauthorized);
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

/// Kafka's `RequestUtils.hasTransactionalRecords` for one partition: a v2
/// batch whose attributes have the transactional bit.
fn has_transactional_records(recs: &bytes::Bytes) -> bool {
    // baseOffset 8, length 4, partitionLeaderEpoch 4, magic 1, crc 4, attributes 2
    recs.len() >= 23 && recs[16] == 2 && (u16::from_be_bytes([recs[21], recs[22]]) & 0x10) != 0
}

/// Kafka's `ProduceRequest.validateRecords` for one partition's records.
fn validate_produce_records(version: i16, recs: &bytes::Bytes) -> Option<(error::ErrorCode, String)> {
    if version < 3 {
        return None;
    }
    let mut it = legacy_records::entries(recs.clone());
    let first = match it.next() {
        Some(Ok(e)) => e,
        // no whole entry or a bad size: the log's validation answers
        _ => return None,
    };
    if legacy_records::entry_magic(&first) != Some(records::MAGIC_V2) {
        return Some((
            error::INVALID_RECORD,
            format!("Produce requests with version {version} are only allowed to contain record batches with magic version 2"),
        ));
    }
    let zstd = records::RecordBatch::parse(first).ok().and_then(|b| b.compression()) == Some(crate::protocol::compression::Compression::Zstd);
    if version < 7 && zstd {
        return Some((
            error::UNSUPPORTED_COMPRESSION_TYPE,
            format!("Produce requests with version {version} are not allowed to use ZStandard compression"),
        ));
    }
    if it.next().is_some() {
        return Some((
            error::INVALID_RECORD,
            format!("Produce requests with version {version} are only allowed to contain exactly one record batch"),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::compression::Compression;
    use crate::protocol::records::RecordBatchBuilder;

    fn batch(c: Compression) -> bytes::Bytes {
        let mut b = RecordBatchBuilder::new(c);
        b.append(1, None, Some(b"v"), &[]);
        b.build().unwrap()
    }

    #[test]
    fn produce_request_records_rules_by_version() {
        let v2 = batch(Compression::None);
        let legacy = records::legacy_message_for_test(1, 0, b"old");
        let two = bytes::Bytes::from([v2.to_vec(), v2.to_vec()].concat());
        for v in 0..=2 {
            assert_eq!(validate_produce_records(v, &legacy), None, "v{v} carries message sets");
            assert_eq!(validate_produce_records(v, &two), None);
        }
        for v in 3..=9 {
            assert_eq!(validate_produce_records(v, &v2), None);
            assert_eq!(validate_produce_records(v, &legacy).map(|e| e.0), Some(error::INVALID_RECORD), "v{v}");
            assert_eq!(validate_produce_records(v, &two).map(|e| e.0), Some(error::INVALID_RECORD), "v{v}");
            let zstd = validate_produce_records(v, &batch(Compression::Zstd)).map(|e| e.0);
            assert_eq!(zstd, if v < 7 { Some(error::UNSUPPORTED_COMPRESSION_TYPE) } else { None }, "v{v}");
        }
        // nothing whole: left to the log's validation (CORRUPT_MESSAGE)
        assert_eq!(validate_produce_records(5, &v2.slice(..20)), None);
    }
}
