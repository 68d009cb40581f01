//! TransactionMarkerChannelManager: sends the COMMIT/ABORT markers of a
//! transaction (WriteTxnMarkers, key 27) to the leaders of its partitions,
//! grouped per leader, and retries the partitions whose leader refused or
//! could not be reached (leader moved, not enough replicas, broker down)
//! until every partition has accepted or its topic is gone. Markers for one
//! broker wait in that broker's queue; one request carries every marker
//! queued for the broker (of many transactions) while the previous request
//! was in flight. Keeps a few idle connections per broker. Maps to Kafka's
//! `TransactionMarkerChannelManager` (its per-broker queues drained into one
//! request each) and `TransactionMarkerRequestCompletionHandler`.

use crate::client::BrokerConnection;
use crate::common::TopicPartition;
use crate::protocol::error::{self, ErrorCode};
use crate::protocol::messages::write_txn_markers::{
    WritableTxnMarker, WritableTxnMarkerTopic, WriteTxnMarkersRequest, WriteTxnMarkersResponse,
};
use crate::server::metadata_cache::MetadataCache;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

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

/// The per-partition answers to one transaction's marker, or why the
/// request failed.
type MarkerReply = Result<Vec<(TopicPartition, ErrorCode)>, String>;

/// One transaction's marker for one broker, waiting in its queue.
struct QueuedMarker {
    marker: WritableTxnMarker,
    reply: oneshot::Sender<MarkerReply>,
}

#[derive(Default)]
struct BrokerQueue {
    queued: VecDeque<QueuedMarker>,
    /// A sender task is draining this queue.
    sending: bool,
}

/// Takes the markers for one request from a broker's queue, in order: all
/// of them, except that a producer id appears once (its answer is found by
/// producer id); a second marker of a producer waits for the next request.
pub fn drain_batch<T>(queue: &mut VecDeque<T>, producer_id: impl Fn(&T) -> i64) -> Vec<T> {
    let mut taken = Vec::new();
    let mut kept = VecDeque::new();
    let mut seen = std::collections::HashSet::new();
    while let Some(m) = queue.pop_front() {
        if seen.insert(producer_id(&m)) {
            taken.push(m);
        } else {
            kept.push_back(m);
        }
    }
    *queue = kept;
    taken
}

/// The request carrying `markers` (of several transactions).
pub fn batch_request(markers: Vec<WritableTxnMarker>) -> WriteTxnMarkersRequest {
    WriteTxnMarkersRequest { markers, ..Default::default() }
}

/// The answers in `resp` to `marker`'s partitions (found by producer id);
/// a partition the broker did not answer is left out (it is retried).
pub fn results_for(resp: &WriteTxnMarkersResponse, marker: &WritableTxnMarker) -> Vec<(TopicPartition, ErrorCode)> {
    let asked: BTreeSet<(&str, i32)> =
        marker.topics.iter().flat_map(|t| t.partition_indexes.iter().map(move |p| (t.name.as_str(), *p))).collect();
    let mut out = Vec::new();
    for r in resp.markers.iter().filter(|r| r.producer_id == marker.producer_id) {
        for t in &r.topics {
            for p in &t.partitions {
                if asked.contains(&(t.name.as_str(), p.partition_index)) {
                    out.push((TopicPartition::new(t.name.clone(), p.partition_index), p.error_code));
                }
            }
        }
    }
    out
}

pub struct TransactionMarkerChannelManager {
    inner: Arc<ChannelInner>,
}

struct ChannelInner {
    broker_id: i32,
    metadata_cache: Arc<MetadataCache>,
    idle: Mutex<HashMap<i32, Vec<BrokerConnection>>>,
    queues: Mutex<HashMap<i32, BrokerQueue>>,
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
            inner: Arc::new(ChannelInner {
                broker_id,
                metadata_cache,
                idle: Mutex::new(HashMap::new()),
                queues: Mutex::new(HashMap::new()),
                request_timeout,
                listener_name,
                channel,
            }),
        }
    }

    /// Queues `marker` for `broker` and waits for its answer; a sender task
    /// per broker puts everything queued into one request.
    async fn send_marker(&self, broker: i32, marker: WritableTxnMarker) -> MarkerReply {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut q = self.inner.queues.lock().unwrap_or_else(|p| p.into_inner());
            let bq = q.entry(broker).or_default();
            bq.queued.push_back(QueuedMarker { marker, reply: tx });
            !std::mem::replace(&mut bq.sending, true)
        };
        if start {
            let inner = self.inner.clone();
            tokio::spawn(async move { inner.drain(broker).await });
        }
        rx.await.map_err(|_| "the marker sender stopped".to_string())?
    }
}

impl ChannelInner {
    /// Sends the queued markers of `broker`, one request at a time, until
    /// its queue is empty.
    async fn drain(self: Arc<Self>, broker: i32) {
        loop {
            let batch = {
                let mut q = self.queues.lock().unwrap_or_else(|p| p.into_inner());
                let Some(bq) = q.get_mut(&broker) else { return };
                let batch = drain_batch(&mut bq.queued, |m| m.marker.producer_id);
                if batch.is_empty() {
                    bq.sending = false;
                    return;
                }
                batch
            };
            let req = batch_request(batch.iter().map(|m| m.marker.clone()).collect());
            log::debug!("[Transaction Marker Channel Manager {}]: {} markers in one request to broker {broker}", self.broker_id, batch.len());
            match self.send(broker, &req).await {
                Ok(resp) => {
                    for m in batch {
                        let r = results_for(&resp, &m.marker);
                        let _ = m.reply.send(Ok(r));
                    }
                }
                Err(e) => {
                    self.idle.lock().unwrap_or_else(|p| p.into_inner()).remove(&broker);
                    for m in batch {
                        let _ = m.reply.send(Err(e.clone()));
                    }
                }
            }
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
}

impl TransactionMarkerChannelManager {
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
                if !self.inner.metadata_cache.contains_topic(&tp.topic) {
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
                match self.inner.metadata_cache.partition(&tp.topic, tp.partition) {
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
                let marker = WritableTxnMarker {
                    producer_id: m.producer_id,
                    producer_epoch: m.producer_epoch,
                    transaction_result: m.commit,
                    topics: topics.into_iter().map(|(name, partition_indexes)| WritableTxnMarkerTopic { name, partition_indexes }).collect(),
                    coordinator_epoch: m.coordinator_epoch,
                };
                (leader, tps, self.send_marker(leader, marker).await)
            });
            let results = futures_join_all(sends).await;
            for (leader, tps, r) in results {
                match r {
                    Ok(answers) => {
                        for (tp, code) in answers {
                            match marker_outcome(code) {
                                MarkerOutcome::Done => {
                                    pending.remove(&tp);
                                }
                                MarkerOutcome::Drop => {
                                    log::warn!("dropping markers of transactional id {} for {tp}: {}", m.transactional_id, error::error_name(code));
                                    pending.remove(&tp);
                                }
                                MarkerOutcome::Retry => {
                                    if rounds % 50 == 0 {
                                        log::info!(
                                            "markers of transactional id {} for {tp} refused by broker {leader}: {}; retrying",
                                            m.transactional_id,
                                            error::error_name(code)
                                        );
                                    }
                                }
                            }
                        }
                    }
                    Err(e) => {
                        if rounds % 50 == 0 {
                            log::info!("sending markers of {} to broker {leader} ({} partitions) failed: {e}; retrying", m.transactional_id, tps.len());
                        }
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

    fn marker(pid: i64, topics: &[(&str, &[i32])]) -> WritableTxnMarker {
        WritableTxnMarker {
            producer_id: pid,
            producer_epoch: 1,
            transaction_result: true,
            topics: topics.iter().map(|(n, ps)| WritableTxnMarkerTopic { name: n.to_string(), partition_indexes: ps.to_vec() }).collect(),
            coordinator_epoch: 3,
        }
    }

    #[test]
    fn one_request_carries_the_queued_markers_of_many_transactions() {
        let mut q: VecDeque<WritableTxnMarker> = (1..=5).map(|pid| marker(pid, &[("t", &[0])])).collect();
        let batch = drain_batch(&mut q, |m| m.producer_id);
        assert_eq!(batch.iter().map(|m| m.producer_id).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
        assert!(q.is_empty());
        let req = batch_request(batch.clone());
        assert_eq!(req.markers, batch);
        // An empty queue gives no request.
        assert!(drain_batch(&mut q, |m| m.producer_id).is_empty());
    }

    #[test]
    fn a_producer_appears_once_per_request() {
        let mut q: VecDeque<WritableTxnMarker> =
            [marker(1, &[("a", &[0])]), marker(2, &[("a", &[1])]), marker(1, &[("b", &[0])]), marker(3, &[("a", &[2])])].into();
        let first = drain_batch(&mut q, |m| m.producer_id);
        assert_eq!(first.iter().map(|m| m.producer_id).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(first[0].topics[0].name, "a");
        let second = drain_batch(&mut q, |m| m.producer_id);
        assert_eq!(second.len(), 1);
        assert_eq!((second[0].producer_id, second[0].topics[0].name.as_str()), (1, "b"));
        assert!(q.is_empty());
    }

    #[test]
    fn answers_are_split_back_per_transaction() {
        use crate::protocol::messages::write_txn_markers::{
            WritableTxnMarkerPartitionResult as P, WritableTxnMarkerResult as R, WritableTxnMarkerTopicResult as T,
        };
        let m1 = marker(1, &[("a", &[0, 1]), ("b", &[0])]);
        let m2 = marker(2, &[("a", &[2])]);
        let p = |i, e| P { partition_index: i, error_code: e };
        let resp = WriteTxnMarkersResponse {
            markers: vec![
                R { producer_id: 2, topics: vec![T { name: "a".into(), partitions: vec![p(2, error::NOT_LEADER_OR_FOLLOWER)] }] },
                R {
                    producer_id: 1,
                    topics: vec![
                        T { name: "a".into(), partitions: vec![p(0, error::NONE), p(1, error::NONE), p(9, error::NONE)] },
                        // b-0 is not answered: it stays pending and is retried
                    ],
                },
            ],
            ..Default::default()
        };
        assert_eq!(results_for(&resp, &m1), vec![(TopicPartition::new("a", 0), error::NONE), (TopicPartition::new("a", 1), error::NONE)]);
        assert_eq!(results_for(&resp, &m2), vec![(TopicPartition::new("a", 2), error::NOT_LEADER_OR_FOLLOWER)]);
        assert!(results_for(&resp, &marker(7, &[("a", &[0])])).is_empty());
    }
}
