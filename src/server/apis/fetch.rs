//! Fetch handler: consumers and followers read record batches from the
//! leaders' logs, waiting up to `max_wait_ms` for `min_bytes` (long poll).
//! Batches go out exactly as stored, except for Fetch v0-3, which get
//! them down-converted to magic 0/1 message sets. Fetch sessions (KIP-227) are not kept:
//! every response carries session id 0, which clients read as "send full
//! fetches". Maps to `KafkaApis.handleFetchRequest` and `ReplicaManager.fetchMessages`.
//!
//! KIP-392 (fetch from the closest replica): a consumer Fetch v11+ may be
//! answered by a follower, up to its high watermark; and with
//! `replica.selector.class=org.apache.kafka.common.replica.RackAwareReplicaSelector`
//! a leader answers a consumer that sends a `rack_id` with
//! `preferred_read_replica` = the replica in that rack (alive, in the ISR,
//! holding the fetch offset; the most caught-up one) instead of records,
//! unless the leader itself is in that rack (Kafka's `findPreferredReadReplica`).

use crate::security::authorizer::{AclOperation, ResourceType};
use crate::common::TopicPartition;
use crate::log::file_records::FileRecords;
use crate::protocol::error;
use crate::protocol::{legacy_records, records};
use crate::protocol::messages::fetch::{AbortedTransaction, EpochEndOffset, FetchRequest, FetchResponse, FetchResponsePartition, FetchResponseTopic};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use crate::server::replica_manager::FetchPartitionRequest;
use std::collections::HashMap;
use std::time::Duration;

pub const RACK_AWARE_REPLICA_SELECTOR: &str = "org.apache.kafka.common.replica.RackAwareReplicaSelector";

/// Kafka's `RackAwareReplicaSelector.select` over (broker id, rack, log end
/// offset, ms since caught up) views, the leader first: `None` when the
/// leader should serve (no replica in the rack, or the leader is in it).
pub fn select_rack_aware(views: &[(i32, Option<String>, i64, i64)], client_rack: &str) -> Option<i32> {
    if client_rack.is_empty() {
        return None;
    }
    let leader = views.first()?.0;
    let same_rack: Vec<&(i32, Option<String>, i64, i64)> =
        views.iter().filter(|v| v.1.as_deref() == Some(client_rack)).collect();
    if same_rack.is_empty() || same_rack.iter().any(|v| v.0 == leader) {
        return None;
    }
    // Most records first, then the most recently caught up.
    same_rack.into_iter().max_by(|a, b| a.2.cmp(&b.2).then(b.3.cmp(&a.3))).map(|v| v.0)
}

impl KafkaApis {
    /// The response, and for each of its partition responses in order the
    /// records to send from a segment file in place of its (empty) `records`
    /// (Fetch v4+, see `FileRecords`; encoded by `KafkaApis::encode_fetch`).
    pub(crate) async fn handle_fetch(&self, ctx: &RequestContext, req: FetchRequest) -> (FetchResponse, Vec<Option<FileRecords>>) {
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
                    // v4+ takes v2 batches as stored: sent from the file.
                    zero_copy: ctx.api_version >= 4,
                    // isolation_level exists from v4 (1 = read_committed).
                    read_committed: ctx.api_version >= 4 && req.isolation_level == 1,
                });
            }
        }
        // Kafka's authorization: a follower (replica_id >= 0) needs ClusterAction
        // on the cluster for every partition, a consumer Read on each topic.
        let denied: std::collections::HashSet<String> = if req.replica_id >= 0 {
            if self.authorize_cluster(ctx, AclOperation::ClusterAction) {
                Default::default()
            } else {
                wanted.iter().map(|w| w.tp.topic.clone()).collect()
            }
        } else {
            let ok = self.filter_authorized(ctx, AclOperation::Read, ResourceType::Topic, wanted.iter().map(|w| w.tp.topic.as_str()));
            wanted.iter().filter(|w| !ok.contains(&w.tp.topic)).map(|w| w.tp.topic.clone()).collect()
        };
        let unauthorized = |tp: &TopicPartition| crate::server::replica_manager::FetchPartitionResult {
            tp: tp.clone(),
            error: error::TOPIC_AUTHORIZATION_FAILED,
            high_watermark: -1,
            last_stable_offset: -1,
            log_start_offset: -1,
            records: None,
            file_records: None,
            diverging_epoch: None,
            served_by_follower: false,
            aborted_transactions: None,
        };
        // KIP-392: consumers (v11+, which carry client metadata) may read
        // from followers; a rack-aware leader redirects them.
        let is_consumer_v11 = req.replica_id < 0 && ctx.api_version >= 11;
        let mut preferred: HashMap<TopicPartition, i32> = HashMap::new();
        if is_consumer_v11 && !req.rack_id.is_empty() && self.rack_aware_selector() {
            for w in wanted.iter().filter(|w| !denied.contains(&w.tp.topic)) {
                if let Some(id) = self.preferred_read_replica(&w.tp, &req.rack_id, w.fetch_offset) {
                    preferred.insert(w.tp.clone(), id);
                }
            }
        }
        // Fetch v0-2 had no response-level limit.
        let max_bytes = if ctx.api_version >= 3 { req.max_bytes } else { i32::MAX };
        // A redirect is answered at once (Kafka's hasPreferredReadReplica).
        let max_wait =
            if preferred.is_empty() && denied.is_empty() { Duration::from_millis(req.max_wait_ms.clamp(0, 300_000) as u64) } else { Duration::ZERO };
        let to_read: Vec<FetchPartitionRequest> =
            wanted.iter().filter(|w| !preferred.contains_key(&w.tp) && !denied.contains(&w.tp.topic)).cloned().collect();
        let read = self
            .replica_manager
            .fetch_messages_with(req.replica_id, max_wait, req.min_bytes, max_bytes, &to_read, is_consumer_v11)
            .await;
        if read.iter().any(|r| r.served_by_follower) {
            log::debug!("served a consumer fetch of {:?} as a follower", read.iter().filter(|r| r.served_by_follower).map(|r| &r.tp).collect::<Vec<_>>());
            self.note_follower_fetch(&read);
        }
        let mut read_by_tp: HashMap<TopicPartition, crate::server::replica_manager::FetchPartitionResult> =
            read.into_iter().map(|r| (r.tp.clone(), r)).collect();
        let results: Vec<(crate::server::replica_manager::FetchPartitionResult, i32)> = wanted
            .iter()
            .filter_map(|w| {
                if denied.contains(&w.tp.topic) {
                    return Some((unauthorized(&w.tp), -1));
                }
                if let Some(id) = preferred.get(&w.tp) {
                    let (hw, lso) = self
                        .replica_manager
                        .get_partition(&w.tp)
                        .map_or((-1, -1), |p| (p.high_watermark(), p.log_start_offset()));
                    Some((
                        crate::server::replica_manager::FetchPartitionResult {
                            tp: w.tp.clone(),
                            error: error::NONE,
                            high_watermark: hw,
                            last_stable_offset: hw,
                            log_start_offset: lso,
                            aborted_transactions: None,
                            records: None,
                            file_records: None,
                            diverging_epoch: None,
                            served_by_follower: false,
                        },
                        *id,
                    ))
                } else {
                    read_by_tp.remove(&w.tp).map(|r| (r, -1))
                }
            })
            .collect();

        // Fetch v0-3 read magic 0/1 message sets only (KafkaApis.maybeConvertFetchedData).
        let results = if req.replica_id < 0 && ctx.api_version < 10 {
            let offsets: HashMap<&TopicPartition, i64> = wanted.iter().map(|w| (&w.tp, w.fetch_offset)).collect();
            results
                .into_iter()
                .map(|(r, pref)| {
                    let off = offsets.get(&r.tp).copied().unwrap_or(0);
                    (self.maybe_convert_fetched_data(ctx.api_version, r, off), pref)
                })
                .collect()
        } else {
            results
        };

        // Answer in request order, grouped by topic as the request was.
        let mut responses: Vec<FetchResponseTopic> = Vec::with_capacity(req.topics.len());
        let mut file_records = Vec::with_capacity(wanted.len());
        let mut it = results.into_iter();
        for t in &req.topics {
            let mut partition_responses = Vec::with_capacity(t.partitions.len());
            for _ in &t.partitions {
                let Some((r, preferred_read_replica)) = it.next() else { break };
                file_records.push(r.file_records);
                partition_responses.push(FetchResponsePartition {
                    partition: r.tp.partition,
                    error_code: r.error,
                    high_watermark: r.high_watermark,
                    last_stable_offset: r.last_stable_offset,
                    log_start_offset: r.log_start_offset,
                    aborted_transactions: if req.isolation_level == 1 {
                        Some(
                            r.aborted_transactions
                                .unwrap_or_default()
                                .into_iter()
                                .map(|a| AbortedTransaction { producer_id: a.producer_id, first_offset: a.first_offset, ..Default::default() })
                                .collect(),
                        )
                    } else {
                        None
                    },
                    preferred_read_replica,
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
        let resp = FetchResponse { throttle_time_ms: 0, error_code: error::NONE, session_id: 0, responses, ..Default::default() };
        (resp, file_records)
    }

    /// Kafka's `maybeConvertFetchedData` for a consumer's Fetch below v10: a
    /// topic with `compression.type=zstd` answers UNSUPPORTED_COMPRESSION_TYPE;
    /// Fetch v0-1 get magic 0 and v2-3 magic 1 message sets, down-converted
    /// from the stored v2 batches (`legacy_records::down_convert`), unless the
    /// topic's `message.downconversion.enable` is false (UNSUPPORTED_VERSION).
    fn maybe_convert_fetched_data(
        &self,
        version: i16,
        mut r: crate::server::replica_manager::FetchPartitionResult,
        fetch_offset: i64,
    ) -> crate::server::replica_manager::FetchPartitionResult {
        let Some(config) = self.replica_manager.get_partition(&r.tp).map(|p| p.log_config()) else { return r };
        let fail = |mut r: crate::server::replica_manager::FetchPartitionResult, code| {
            r.error = code;
            r.records = None;
            r
        };
        if config.compression_type.eq_ignore_ascii_case("zstd") {
            return fail(r, error::UNSUPPORTED_COMPRESSION_TYPE);
        }
        if version > 3 {
            return r;
        }
        let to_magic = if version <= 1 { records::MAGIC_V0 } else { records::MAGIC_V1 };
        let Some(data) = r.records.take().filter(|d| !d.is_empty()) else { return r };
        if legacy_records::has_compatible_magic(&data, to_magic) {
            r.records = Some(data);
            return r;
        }
        if config.other.get("message.downconversion.enable").is_some_and(|v| v.trim().eq_ignore_ascii_case("false")) {
            return fail(r, error::UNSUPPORTED_VERSION);
        }
        if r.error == error::KAFKA_STORAGE_ERROR {
            r.error = error::NOT_LEADER_OR_FOLLOWER;
        }
        match legacy_records::down_convert(&data, to_magic, fetch_offset) {
            Ok(converted) => {
                r.records = Some(converted);
                r
            }
            Err(e) => {
                log::debug!("down-conversion of {} to magic {to_magic} failed: {e}", r.tp);
                fail(r, e.error_code())
            }
        }
    }

    fn rack_aware_selector(&self) -> bool {
        self.config.get("replica.selector.class").is_some_and(|c| c.trim() == RACK_AWARE_REPLICA_SELECTOR)
    }

    /// The replica a consumer in `rack` should read `tp` from, if not this leader.
    fn preferred_read_replica(&self, tp: &TopicPartition, rack: &str, fetch_offset: i64) -> Option<i32> {
        let partition = self.replica_manager.get_partition(tp)?;
        let now = crate::common::now_ms();
        let views: Vec<(i32, Option<String>, i64, i64)> = partition
            .replica_views(now)
            .into_iter()
            .enumerate()
            .filter(|(i, (id, leo, _))| *i == 0 || (*leo >= fetch_offset && partition.is_in_sync(*id)))
            .filter_map(|(_, (id, leo, lag))| {
                let b = self.metadata_cache.broker(id)?;
                Some((id, b.rack.clone(), leo, lag))
            })
            .collect();
        if views.first().map(|v| v.0) != Some(self.broker_id) {
            return None;
        }
        let chosen = select_rack_aware(&views, rack)?;
        log::debug!("preferred read replica of {tp} for rack {rack}: {chosen}");
        Some(chosen)
    }

    /// Logs (once per partition) that this follower serves consumers.
    fn note_follower_fetch(&self, read: &[crate::server::replica_manager::FetchPartitionResult]) {
        static SEEN: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<(i32, TopicPartition)>>> =
            std::sync::OnceLock::new();
        let seen = SEEN.get_or_init(Default::default);
        let mut g = seen.lock().unwrap_or_else(|p| p.into_inner());
        for r in read.iter().filter(|r| r.served_by_follower && r.records_len() > 0) {
            if g.insert((self.broker_id, r.tp.clone())) {
                log::info!("[Broker {}] serving consumer fetches of {} as a follower (KIP-392)", self.broker_id, r.tp);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rack_aware_selection() {
        let r = |s: &str| Some(s.to_string());
        // leader 1 in rack a, followers 2 (b, caught up) and 3 (b, behind)
        let views = vec![(1, r("a"), 100, 0), (2, r("b"), 100, 10), (3, r("b"), 90, 0)];
        assert_eq!(select_rack_aware(&views, "b"), Some(2));
        assert_eq!(select_rack_aware(&views, "a"), None, "the leader is in the client's rack");
        assert_eq!(select_rack_aware(&views, "c"), None, "no replica in the rack");
        assert_eq!(select_rack_aware(&views, ""), None);
        // same LEO: the most recently caught up
        let views = vec![(1, r("a"), 100, 0), (2, r("b"), 100, 500), (3, r("b"), 100, 5)];
        assert_eq!(select_rack_aware(&views, "b"), Some(3));
        assert_eq!(select_rack_aware(&[(1, None, 5, 0)], "b"), None);
    }
}
