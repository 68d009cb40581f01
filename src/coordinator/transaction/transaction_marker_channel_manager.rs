//! TransactionMarkerChannelManager: sends the COMMIT/ABORT markers of a
//! transaction (WriteTxnMarkers, key 27) to the leaders of its partitions,
//! grouped per leader, and retries the partitions whose leader refused or
//! could not be reached (leader moved, not enough replicas, broker down)
//! until every partition has accepted or its topic is gone. Keeps a few idle
//! connections per broker. Maps to Kafka's
//! `TransactionMarkerChannelManager` and `TransactionMarkerRequestCompletionHandler`.

use crate::client::BrokerConnection;
use crate::common::TopicPartition;
use crate::protocol::error::{self, ErrorCode};
use crate::protocol::messages::write_txn_markers::{
    WritableTxnMarker, WritableTxnMarkerTopic, WriteTxnMarkersRequest, WriteTxnMarkersResponse,
};
use crate::server::metadata_cache::MetadataCache;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The WriteTxnMarkers version sent (Kafka 2.8 with IBP 2.8 sends v1).
const WRITE_TXN_MARKERS_VERSION: i16 = 1;

/// What to do with a partition after its leader answered `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkerOutcome {
    Done,
    Retry,
    /// The partition cannot take markers (topic deleted, old format): drop it.
    Drop,
}

/// Kafka's `TransactionMarkerRequestCompletionHandler` decisions.
pub fn marker_outcome(code: ErrorCode) -> MarkerOutcome {
    match code {
        error::NONE => MarkerOutcome::Done,
        error::UNSUPPORTED_FOR_MESSAGE_FORMAT | error::UNKNOWN_TOPIC_ID => MarkerOutcome::Drop,
        _ => MarkerOutcome::Retry,
    }
}

pub struct TransactionMarkerChannelManager {
    broker_id: i32,
    metadata_cache: Arc<MetadataCache>,
    idle: Mutex<HashMap<i32, Vec<BrokerConnection>>>,
    request_timeout: Duration,
    /// The inter-broker listener's name and security: markers go where the
    /// replica fetchers go (Kafka's `TransactionMarkerChannelManager` uses
    /// `interBrokerListenerName` and the inter-broker channel builder).
    listener_name: String,
    channel: crate::client::ChannelSecurity,
}

/// One transaction's markers.
#[derive(Debug, Clone)]
pub struct TxnMarkers {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub commit: bool,
    pub coordinator_epoch: i32,
}

impl TransactionMarkerChannelManager {
    pub fn new(
        broker_id: i32,
        metadata_cache: Arc<MetadataCache>,
        request_timeout: Duration,
        (listener_name, channel): (String, crate::client::ChannelSecurity),
    ) -> Self {
        TransactionMarkerChannelManager {
            broker_id,
            metadata_cache,
            idle: Mutex::new(HashMap::new()),
            request_timeout,
            listener_name,
            channel,
        }
    }

    fn address(&self, broker: i32) -> Option<String> {
        let b = self.metadata_cache.broker(broker)?;
        let ep = b.endpoint(&self.listener_name)?;
        Some(format!("{}:{}", ep.host, ep.port))
    }

    async fn send(&self, broker: i32, req: &WriteTxnMarkersRequest) -> Result<WriteTxnMarkersResponse, String> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).get_mut(&broker).and_then(Vec::pop);
        let mut conn = match pooled {
            Some(c) => c,
            None => {
                let addr = self.address(broker).ok_or_else(|| format!("broker {broker} is not known"))?;
                let client_id = format!("broker-{}-txn-marker-sender", self.broker_id);
                BrokerConnection::connect_secured(&addr, &client_id, self.request_timeout, &self.channel).await.map_err(|e| e.to_string())?
            }
        };
        let resp = conn
            .send_timeout::<_, WriteTxnMarkersResponse>(WRITE_TXN_MARKERS_VERSION, req, self.request_timeout)
            .await
            .map_err(|e| e.to_string())?;
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let v = idle.entry(broker).or_default();
        if v.len() < 4 {
            v.push(conn);
        }
        Ok(resp)
    }

    /// Writes the markers to every partition of `partitions`, retrying with
    /// a backoff while `still_owner()` holds. Returns true when all were
    /// written (or dropped), false when the coordinator lost the id.
    pub async fn write_markers(&self, m: &TxnMarkers, partitions: &BTreeSet<TopicPartition>, still_owner: impl Fn() -> bool) -> bool {
        let mut pending: BTreeSet<TopicPartition> = partitions.clone();
        let mut backoff = Duration::from_millis(20);
        let mut rounds: u64 = 0;
        // Rounds each partition's topic has been missing from the metadata.
        let mut missing: HashMap<TopicPartition, u32> = HashMap::new();
        while !pending.is_empty() {
            if !still_owner() {
                return false;
            }
            // Group by leader; partitions of deleted topics are dropped.
            let mut by_leader: BTreeMap<i32, Vec<TopicPartition>> = BTreeMap::new();
            let mut gone = Vec::new();
            for tp in &pending {
                if !self.metadata_cache.contains_topic(&tp.topic) {
                    // Only a topic missing for a long while is taken as
                    // deleted: a coordinator that just took over may not
                    // have the metadata yet.
                    let n = missing.entry(tp.clone()).or_default();
                    *n += 1;
                    if *n > 100 {
                        gone.push(tp.clone());
                    }
                    continue;
                }
                match self.metadata_cache.partition(&tp.topic, tp.partition) {
                    Some(s) if s.leader >= 0 => by_leader.entry(s.leader).or_default().push(tp.clone()),
                    _ => {}
                }
            }
            for tp in gone {
                log::info!("dropping markers of transactional id {} for {tp}: the topic no longer exists", m.transactional_id);
                pending.remove(&tp);
            }
            let sends = by_leader.into_iter().map(|(leader, tps)| async move {
                let mut topics: BTreeMap<String, Vec<i32>> = BTreeMap::new();
                for tp in &tps {
                    topics.entry(tp.topic.clone()).or_default().push(tp.partition);
                }
                let req = WriteTxnMarkersRequest {
                    markers: vec![WritableTxnMarker {
                        producer_id: m.producer_id,
                        producer_epoch: m.producer_epoch,
                        transaction_result: m.commit,
                        topics: topics.into_iter().map(|(name, partition_indexes)| WritableTxnMarkerTopic { name, partition_indexes }).collect(),
                        coordinator_epoch: m.coordinator_epoch,
                    }],
                    ..Default::default()
                };
                (leader, tps, self.send(leader, &req).await)
            });
            let results = futures_join_all(sends).await;
            for (leader, tps, r) in results {
                match r {
                    Ok(resp) => {
                        for marker in resp.markers.iter().filter(|x| x.producer_id == m.producer_id) {
                            for t in &marker.topics {
                                for p in &t.partitions {
                                    let tp = TopicPartition::new(t.name.clone(), p.partition_index);
                                    match marker_outcome(p.error_code) {
                                        MarkerOutcome::Done => {
                                            pending.remove(&tp);
                                        }
                                        MarkerOutcome::Drop => {
                                            log::warn!(
                                                "dropping markers of transactional id {} for {tp}: {}",
                                                m.transactional_id,
                                                error::error_name(p.error_code)
                                            );
                                            pending.remove(&tp);
                                        }
                                        MarkerOutcome::Retry => {
                                            if rounds % 50 == 0 {
                                                log::info!(
                                                    "markers of transactional id {} for {tp} refused by broker {leader}: {}; retrying",
                                                    m.transactional_id,
                                                    error::error_name(p.error_code)
                                                );
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    Err(e) => {
                        if rounds % 50 == 0 {
                            log::info!("sending markers of {} to broker {leader} ({} partitions) failed: {e}; retrying", m.transactional_id, tps.len());
                        }
                        self.idle.lock().unwrap_or_else(|p| p.into_inner()).remove(&leader);
                    }
                }
            }
            if !pending.is_empty() {
                rounds += 1;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_millis(500));
            }
        }
        true
    }
}

/// Runs the futures concurrently and collects their outputs in order.
async fn futures_join_all<F: std::future::Future>(futs: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let futs: Vec<_> = futs.into_iter().map(Box::pin).collect();
    let mut outs: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    let mut futs: Vec<Option<_>> = futs.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, slot) in futs.iter_mut().enumerate() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        outs[i] = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    outs.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retriable_and_final_answers() {
        assert_eq!(marker_outcome(error::NONE), MarkerOutcome::Done);
        for code in [error::NOT_LEADER_OR_FOLLOWER, error::NOT_ENOUGH_REPLICAS, error::REQUEST_TIMED_OUT, error::UNKNOWN_TOPIC_OR_PARTITION] {
            assert_eq!(marker_outcome(code), MarkerOutcome::Retry);
        }
        assert_eq!(marker_outcome(error::UNSUPPORTED_FOR_MESSAGE_FORMAT), MarkerOutcome::Drop);
    }
}
