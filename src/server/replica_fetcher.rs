//! Follower replication: Kafka's `ReplicaFetcherManager` and
//! `ReplicaFetcherThread` (with the parts of `AbstractFetcherThread` they use).
//!
//! The manager runs one fetcher task per (leader broker, fetcher index), the
//! index being a hash of the partition modulo `num.replica.fetchers`. A
//! partition added to a fetcher first truncates (KIP-101/279): it asks the
//! leader, with OffsetForLeaderEpoch, where the follower's latest epoch ends,
//! truncates to the smaller of that and its own end of that epoch, and asks
//! again with an older epoch when the leader answers with an epoch the
//! follower does not have. Then it fetches (Fetch v12 with its broker id as
//! replica id and the current leader epoch), appends the leader's batches
//! unchanged and takes min(leader HW, own LEO) as its high watermark, only
//! after truncation (KAFKA-14704). A fenced leader epoch drops the partition
//! until the next LeaderAndIsr; an offset out of range resets the fetch
//! position as Kafka does; connection errors back off `replica.fetch.backoff.ms`.

use crate::client::{BrokerStream, ChannelSecurity, ClientError, MAX_RESPONSE_BYTES};
use crate::common::TopicPartition;
use crate::config::KafkaConfig;
use crate::protocol::error::{self, ErrorCode};
use crate::protocol::messages::fetch::{FetchRequest, FetchRequestPartition, FetchRequestTopic, FetchResponse};
use crate::protocol::messages::list_offsets::{
    ListOffsetsPartition, ListOffsetsRequest, ListOffsetsResponse, ListOffsetsTopic, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP,
};
use crate::protocol::messages::offset_for_leader_epoch::{
    OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use crate::server::partition::Partition;
use crate::server::replication_quota_manager::ReplicationQuotas;
use crate::protocol::{encode_request_frame, Message, Reader, ResponseHeader};
use crate::zk::KafkaZkClient;
use bytes::{Buf, BytesMut};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{watch, Notify};

pub const FETCH_VERSION: i16 = 12;
pub const OFFSET_FOR_LEADER_EPOCH_VERSION: i16 = 4;
pub const LIST_OFFSETS_VERSION: i16 = 6;

/// The follower fetch settings (`replica.*`).
#[derive(Debug, Clone)]
pub struct FetcherConfig {
    pub broker_id: i32,
    pub num_fetchers: usize,
    pub fetch_max_bytes: i32,
    pub fetch_response_max_bytes: i32,
    pub fetch_wait_max_ms: i32,
    pub fetch_min_bytes: i32,
    pub fetch_backoff_ms: u64,
    pub socket_timeout_ms: u64,
    /// The inter-broker listener: the leader's endpoint the fetchers use,
    /// and how to connect to it (TLS, SASL).
    pub listener_name: String,
    pub channel: crate::client::ChannelSecurity,
}

impl FetcherConfig {
    pub fn from_kafka_config(c: &KafkaConfig) -> FetcherConfig {
        FetcherConfig {
            broker_id: c.broker_id,
            num_fetchers: c.num_replica_fetchers.max(1) as usize,
            fetch_max_bytes: c.replica_fetch_max_bytes,
            fetch_response_max_bytes: c.get_i64("replica.fetch.response.max.bytes", 10 * 1024 * 1024).clamp(0, i32::MAX as i64)
                as i32,
            fetch_wait_max_ms: c.replica_fetch_wait_max_ms,
            fetch_min_bytes: c.get_i64("replica.fetch.min.bytes", 1).clamp(0, i32::MAX as i64) as i32,
            fetch_backoff_ms: c.get_i64("replica.fetch.backoff.ms", 1000).max(0) as u64,
            socket_timeout_ms: c.get_i64("replica.socket.timeout.ms", 30_000).max(1) as u64,
            listener_name: c.inter_broker_listener_name.clone(),
            channel: crate::client::ChannelSecurity::plaintext(),
        }
    }

    pub fn defaults(broker_id: i32) -> FetcherConfig {
        FetcherConfig {
            broker_id,
            num_fetchers: 1,
            fetch_max_bytes: 1024 * 1024,
            fetch_response_max_bytes: 10 * 1024 * 1024,
            fetch_wait_max_ms: 500,
            fetch_min_bytes: 1,
            fetch_backoff_ms: 1000,
            socket_timeout_ms: 30_000,
            listener_name: "PLAINTEXT".into(),
            channel: crate::client::ChannelSecurity::plaintext(),
        }
    }
}

/// A fetcher's connection to its leader: `BrokerConnection`'s framing (one
/// request at a time, correlation ids checked), reading every response into
/// one receive buffer kept for the connection's life. A fetch response's
/// records are slices of that buffer; once they are appended and dropped,
/// the next response reuses the same memory (`BytesMut::reserve` reclaims a
/// buffer nothing else refers to), where a fresh zero-filled buffer per
/// response cost a page fault per 4 KiB on the follower's critical path.
struct LeaderConnection {
    stream: Box<dyn BrokerStream>,
    next_correlation_id: i32,
    client_id: String,
    buf: BytesMut,
}

impl LeaderConnection {
    const INITIAL_BUFFER: usize = 64 * 1024;

    async fn connect(addr: &str, client_id: &str, timeout: Duration, security: &ChannelSecurity) -> Result<Self, ClientError> {
        let stream = tokio::time::timeout(timeout, security.open(addr)).await.map_err(|_| ClientError::Timeout)??;
        Ok(LeaderConnection {
            stream,
            next_correlation_id: 0,
            client_id: client_id.to_string(),
            buf: BytesMut::with_capacity(Self::INITIAL_BUFFER),
        })
    }

    /// Reads until the buffer holds at least `n` bytes.
    async fn fill(&mut self, n: usize) -> Result<(), ClientError> {
        if self.buf.len() < n {
            self.buf.reserve(n - self.buf.len());
        }
        while self.buf.len() < n {
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(ClientError::Io(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "leader closed the connection")));
            }
        }
        Ok(())
    }

    async fn send<Req: Message, Resp: Message>(&mut self, version: i16, req: &Req) -> Result<Resp, ClientError> {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let frame = encode_request_frame(correlation_id, version, Some(&self.client_id), req)?;
        self.stream.write_all(&frame).await?;
        self.fill(4).await?;
        let size = self.buf.get_i32();
        if size < 0 || size as usize > MAX_RESPONSE_BYTES {
            return Err(ClientError::BadFrameSize(size));
        }
        self.fill(size as usize).await?;
        let mut r = Reader::new(self.buf.split_to(size as usize).freeze());
        let header = ResponseHeader::decode(&mut r, Resp::API_KEY.response_header_version(version))?;
        if header.correlation_id != correlation_id {
            return Err(ClientError::CorrelationMismatch { expected: correlation_id, got: header.correlation_id });
        }
        Ok(Resp::decode(&mut r, version)?)
    }

    async fn send_timeout<Req: Message, Resp: Message>(&mut self, version: i16, req: &Req, timeout: Duration) -> Result<Resp, ClientError> {
        tokio::time::timeout(timeout, self.send(version, req)).await.map_err(|_| ClientError::Timeout)?
    }
}

/// Kafka's `AbstractFetcherManager.getFetcherId`.
pub fn fetcher_id(tp: &TopicPartition, num_fetchers: usize) -> usize {
    let h = crate::common::java_string_hash(&tp.topic).wrapping_mul(31).wrapping_add(tp.partition);
    crate::common::kafka_abs(h) as usize % num_fetchers.max(1)
}

/// Where truncation stands for one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TruncationState {
    /// Ask the leader where this epoch ends (-1: no epoch, truncate to HW).
    Truncating { ask_epoch: i32 },
    Fetching,
}

#[derive(Clone)]
struct FetchState {
    partition: Arc<Partition>,
    leader_epoch: i32,
    fetch_offset: i64,
    truncation: TruncationState,
    delayed_until: Option<Instant>,
    generation: u64,
    /// The leader's high watermark minus our log end after the last fetch
    /// (Kafka's `PartitionFetchState.lag`); in sync when known and <= 0.
    lag: Option<i64>,
    /// Errors in a row saying the leader has not taken its role yet (see
    /// `partition_error_backoff`); 0 after an answer without error.
    not_ready_errors: u32,
}

/// The first retry after the leader answered that it does not lead the
/// partition yet; doubled on each further such error up to
/// `replica.fetch.backoff.ms`.
pub const NOT_READY_FIRST_BACKOFF_MS: u64 = 10;

/// How long a partition waits after a fetch or OffsetForLeaderEpoch error.
/// Kafka's fetcher delays the partition `replica.fetch.backoff.ms` (1 s by
/// default) on any error. Most of them after a LeaderAndIsr only mean the
/// leader has not applied the same LeaderAndIsr yet (UNKNOWN_TOPIC_OR_PARTITION
/// for a partition it does not host yet, UNKNOWN_LEADER_EPOCH,
/// NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE): a whole second of backoff
/// then stalls every acks=all produce to the partition (a new topic's first
/// second, a failover). Those retry after 10 ms, doubling with each such
/// error in a row (`errors_in_row` counts the previous ones), up to the
/// configured backoff; any other error waits the full backoff.
pub fn partition_error_backoff(code: ErrorCode, errors_in_row: u32, backoff_ms: u64) -> Duration {
    let not_ready = matches!(
        code,
        error::UNKNOWN_TOPIC_OR_PARTITION | error::UNKNOWN_LEADER_EPOCH | error::NOT_LEADER_OR_FOLLOWER | error::LEADER_NOT_AVAILABLE
    );
    if !not_ready {
        return Duration::from_millis(backoff_ms);
    }
    let ms = NOT_READY_FIRST_BACKOFF_MS.checked_shl(errors_in_row.min(20)).unwrap_or(u64::MAX);
    Duration::from_millis(ms.min(backoff_ms))
}

/// The result of comparing the leader's end offset for an epoch with ours
/// (Kafka's `OffsetTruncationState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TruncationDecision {
    pub offset: i64,
    pub completed: bool,
    /// The epoch to ask about next when not completed.
    pub next_epoch: i32,
}

/// Kafka's `AbstractFetcherThread.getOffsetTruncationState`. `ours(epoch)`
/// is the follower's (largest epoch <= epoch, its end offset), (-1, -1) if
/// unknown.
pub fn truncation_decision(
    leader_epoch: i32,
    leader_end_offset: i64,
    log_end_offset: i64,
    high_watermark: i64,
    ours: impl Fn(i32) -> (i32, i64),
) -> TruncationDecision {
    if leader_end_offset < 0 {
        // The leader knows nothing of our epochs: fall back to the high watermark.
        return TruncationDecision { offset: high_watermark.min(log_end_offset), completed: true, next_epoch: -1 };
    }
    if leader_epoch < 0 {
        return TruncationDecision { offset: leader_end_offset.min(log_end_offset), completed: true, next_epoch: -1 };
    }
    let (follower_epoch, follower_end) = ours(leader_epoch);
    if follower_epoch < 0 || follower_end < 0 {
        return TruncationDecision { offset: leader_end_offset.min(log_end_offset), completed: true, next_epoch: -1 };
    }
    if follower_epoch != leader_epoch {
        // We do not have the epoch the leader answered with: cut to the end of
        // our largest older epoch and ask again about that one.
        return TruncationDecision { offset: follower_end.min(log_end_offset), completed: false, next_epoch: follower_epoch };
    }
    TruncationDecision { offset: leader_end_offset.min(follower_end).min(log_end_offset), completed: true, next_epoch: -1 }
}

struct FetcherShared {
    leader: i32,
    id: usize,
    partitions: Mutex<HashMap<TopicPartition, FetchState>>,
    wake: Notify,
}

impl FetcherShared {
    fn lock(&self) -> MutexGuard<'_, HashMap<TopicPartition, FetchState>> {
        self.partitions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct FetcherHandle {
    shared: Arc<FetcherShared>,
    stop: watch::Sender<bool>,
    join: tokio::task::JoinHandle<()>,
}

/// Runs the fetcher tasks of this broker.
pub struct ReplicaFetcherManager {
    config: FetcherConfig,
    /// `num.replica.fetchers` now (dynamic: `resize_thread_pool`).
    num_fetchers: AtomicUsize,
    zk: Option<KafkaZkClient>,
    fetchers: Mutex<HashMap<(i32, usize), FetcherHandle>>,
    generation: AtomicU64,
    /// Signalled when a follower's high watermark moves (consumers reading
    /// from this follower, KIP-392, wait on it); a follower append alone
    /// completes nothing waiting on this broker.
    on_progress: Arc<Notify>,
    /// The follower replication throttle (`quotas.follower`).
    quotas: Arc<ReplicationQuotas>,
}

impl ReplicaFetcherManager {
    pub fn new(config: FetcherConfig, zk: Option<KafkaZkClient>, on_progress: Arc<Notify>, quotas: Arc<ReplicationQuotas>) -> Self {
        ReplicaFetcherManager {
            num_fetchers: AtomicUsize::new(config.num_fetchers.max(1)),
            config,
            zk,
            fetchers: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(1),
            on_progress,
            quotas,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<(i32, usize), FetcherHandle>> {
        self.fetchers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts fetching `partition` from `leader` under `leader_epoch`, first
    /// truncating from the follower's latest epoch.
    pub fn add_partition(&self, leader: i32, partition: Arc<Partition>, leader_epoch: i32) {
        let mut fetchers = self.lock();
        self.add_partition_locked(&mut fetchers, leader, partition, leader_epoch);
    }

    /// The current `num.replica.fetchers`.
    pub fn num_fetchers(&self) -> usize {
        self.num_fetchers.load(Ordering::SeqCst)
    }

    /// The fetchers running now: (leader, fetcher id).
    pub fn running_fetchers(&self) -> Vec<(i32, usize)> {
        let mut v: Vec<(i32, usize)> = self.lock().keys().copied().collect();
        v.sort();
        v
    }

    /// A new `num.replica.fetchers` (Kafka's `AbstractFetcherManager.resizeThreadPool`):
    /// every partition whose fetcher id changes moves to the fetcher it now
    /// hashes to (keeping its leader epoch, truncating again first), and
    /// fetchers left without partitions stop.
    pub fn resize_thread_pool(&self, new_size: usize) {
        let new_size = new_size.max(1);
        let old = self.num_fetchers.swap(new_size, Ordering::SeqCst);
        if old == new_size {
            return;
        }
        log::info!("[ReplicaFetcherManager on broker {}] resizing fetcher thread pool from {old} to {new_size}", self.config.broker_id);
        {
            let mut fetchers = self.lock();
            let mut moving = Vec::new();
            for (key, h) in fetchers.iter() {
                for (tp, st) in h.shared.lock().iter() {
                    if fetcher_id(tp, new_size) != key.1 {
                        moving.push((key.0, st.partition.clone(), st.leader_epoch));
                    }
                }
            }
            for (leader, partition, epoch) in moving {
                self.add_partition_locked(&mut fetchers, leader, partition, epoch);
            }
        }
        self.shutdown_idle_fetchers();
    }

    fn add_partition_locked(
        &self,
        fetchers: &mut HashMap<(i32, usize), FetcherHandle>,
        leader: i32,
        partition: Arc<Partition>,
        leader_epoch: i32,
    ) {
        let tp = partition.tp.clone();
        let key = (leader, fetcher_id(&tp, self.num_fetchers()));
        let ask_epoch = partition.latest_epoch().unwrap_or(-1);
        let state = FetchState {
            fetch_offset: partition.log_end_offset(),
            partition,
            leader_epoch,
            truncation: TruncationState::Truncating { ask_epoch },
            delayed_until: None,
            generation: self.generation.fetch_add(1, Ordering::SeqCst),
            lag: None,
            not_ready_errors: 0,
        };
        // A partition lives in at most one fetcher.
        for (k, h) in fetchers.iter() {
            if *k != key {
                h.shared.lock().remove(&tp);
            }
        }
        let handle = fetchers.entry(key).or_insert_with(|| {
            log::info!("[ReplicaFetcherManager on broker {}] starting fetcher {} for leader {leader}", self.config.broker_id, key.1);
            let shared = Arc::new(FetcherShared { leader, id: key.1, partitions: Mutex::new(HashMap::new()), wake: Notify::new() });
            let (stop, stop_rx) = watch::channel(false);
            let fetcher = Fetcher {
                shared: shared.clone(),
                config: self.config.clone(),
                zk: self.zk.clone(),
                stop: stop_rx,
                on_progress: self.on_progress.clone(),
                quotas: self.quotas.clone(),
            };
            let join = tokio::spawn(fetcher.run());
            FetcherHandle { shared, stop, join }
        });
        log::debug!(
            "[ReplicaFetcherManager on broker {}] added {tp} (leader {leader}, epoch {leader_epoch}, truncating from epoch {ask_epoch})",
            self.config.broker_id
        );
        handle.shared.lock().insert(tp, state);
        handle.shared.wake.notify_one();
    }

    /// Stops fetching these partitions. Returns once no fetcher is working
    /// on them (an append in progress finishes first).
    pub fn remove_partitions(&self, tps: &[TopicPartition]) {
        let fetchers = self.lock();
        let mut removed = 0usize;
        for h in fetchers.values() {
            let mut m = h.shared.lock();
            for tp in tps {
                if m.remove(tp).is_some() {
                    crate::server::metrics::metrics().fetcher_lag.remove(tp);
                    log::debug!("[ReplicaFetcherManager on broker {}] removed {tp} from fetcher for leader {}", self.config.broker_id, h.shared.leader);
                    removed += 1;
                }
            }
        }
        // One line per call, as Kafka's "Removed fetcher for partitions ...".
        if removed > 0 {
            log::info!(
                "[ReplicaFetcherManager on broker {}] removed fetcher for {removed} partitions (e.g. {})",
                self.config.broker_id,
                tps.iter().take(3).map(|tp| tp.to_string()).collect::<Vec<_>>().join(", ")
            );
        }
    }

    /// The leader a partition is fetched from, if any.
    pub fn fetching_from(&self, tp: &TopicPartition) -> Option<(i32, TruncationState)> {
        let fetchers = self.lock();
        for h in fetchers.values() {
            if let Some(s) = h.shared.lock().get(tp) {
                return Some((h.shared.leader, s.truncation));
            }
        }
        None
    }

    /// Stops fetchers that have no partitions left.
    pub fn shutdown_idle_fetchers(&self) {
        let mut fetchers = self.lock();
        let idle: Vec<(i32, usize)> =
            fetchers.iter().filter(|(_, h)| h.shared.lock().is_empty()).map(|(k, _)| *k).collect();
        for k in idle {
            if let Some(h) = fetchers.remove(&k) {
                log::info!("[ReplicaFetcherManager on broker {}] stopping idle fetcher {} for leader {}", self.config.broker_id, k.1, k.0);
                let _ = h.stop.send(true);
                h.shared.wake.notify_one();
            }
        }
    }

    /// Stops every fetcher and waits for them.
    pub async fn shutdown(&self) {
        let all: Vec<FetcherHandle> = self.lock().drain().map(|(_, h)| h).collect();
        for h in &all {
            let _ = h.stop.send(true);
            h.shared.wake.notify_one();
        }
        for h in all {
            let _ = tokio::time::timeout(Duration::from_secs(10), h.join).await;
        }
    }
}

struct Fetcher {
    shared: Arc<FetcherShared>,
    config: FetcherConfig,
    zk: Option<KafkaZkClient>,
    stop: watch::Receiver<bool>,
    on_progress: Arc<Notify>,
    quotas: Arc<ReplicationQuotas>,
}

#[derive(Clone)]
struct Sent {
    tp: TopicPartition,
    generation: u64,
    fetch_offset: i64,
}

enum Outcome {
    Continue,
    ConnectionFailed(String),
}

impl Fetcher {
    fn name(&self) -> String {
        format!("[ReplicaFetcher replicaId={}, leaderId={}, fetcherId={}]", self.config.broker_id, self.shared.leader, self.shared.id)
    }

    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// Sleeps `d` unless stopped or woken.
    async fn pause(&mut self, d: Duration) {
        let mut stop = self.stop.clone();
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = stop.changed() => {}
            _ = self.shared.wake.notified() => {}
        }
    }

    async fn leader_address(&self) -> Option<String> {
        let zk = self.zk.as_ref()?;
        match zk.get_broker(self.shared.leader).await {
            Ok(Some((info, _))) => match info.endpoint(&self.config.listener_name) {
                Some(e) => Some(e.address()),
                None => {
                    log::warn!("{} leader {} has no {} endpoint (the inter-broker listener)", self.name(), self.shared.leader, self.config.listener_name);
                    None
                }
            },
            Ok(None) => None,
            Err(e) => {
                log::warn!("{} cannot read the leader's registration: {e}", self.name());
                None
            }
        }
    }

    async fn run(mut self) {
        let backoff = Duration::from_millis(self.config.fetch_backoff_ms.max(10));
        let mut conn: Option<LeaderConnection> = None;
        while !self.stopped() {
            let now = Instant::now();
            let (truncating, fetching, next_wake) = self.snapshot(now);
            if truncating.is_empty() && fetching.is_empty() {
                let wait = next_wake.map(|t| t.saturating_duration_since(now)).unwrap_or(Duration::from_secs(1));
                self.pause(wait.max(Duration::from_millis(1))).await;
                continue;
            }
            if conn.is_none() {
                let Some(addr) = self.leader_address().await else {
                    log::warn!("{} leader {} is not registered; backing off", self.name(), self.shared.leader);
                    self.pause(backoff).await;
                    continue;
                };
                let client_id = format!("broker-{}-fetcher-{}", self.config.broker_id, self.shared.id);
                let timeout = Duration::from_millis(self.config.socket_timeout_ms);
                match LeaderConnection::connect(&addr, &client_id, timeout, &self.config.channel).await {
                    Ok(c) => conn = Some(c),
                    Err(e) => {
                        log::warn!("{} cannot connect to leader at {addr}: {e}; backing off", self.name());
                        self.pause(backoff).await;
                        continue;
                    }
                }
            }
            let Some(c) = conn.as_mut() else { continue };
            let outcome = if !truncating.is_empty() {
                self.truncate_round(c, truncating).await
            } else {
                self.fetch_round(c, fetching, next_wake).await
            };
            if let Outcome::ConnectionFailed(e) = outcome {
                if !self.stopped() {
                    log::warn!("{} error talking to leader: {e}; backing off {} ms", self.name(), backoff.as_millis());
                }
                conn = None;
                self.pause(backoff).await;
            }
        }
        log::info!("{} stopped", self.name());
    }

    /// Partitions ready to truncate, ready to fetch, and when the next
    /// delayed one becomes ready.
    fn snapshot(&self, now: Instant) -> (Vec<(TopicPartition, FetchState)>, Vec<(TopicPartition, FetchState)>, Option<Instant>) {
        let m = self.shared.lock();
        let mut trunc = Vec::new();
        let mut fetch = Vec::new();
        let mut next: Option<Instant> = None;
        for (tp, s) in m.iter() {
            if let Some(t) = s.delayed_until {
                if t > now {
                    next = Some(next.map_or(t, |n| n.min(t)));
                    continue;
                }
            }
            match s.truncation {
                TruncationState::Truncating { .. } => trunc.push((tp.clone(), s.clone())),
                TruncationState::Fetching => fetch.push((tp.clone(), s.clone())),
            }
        }
        (trunc, fetch, next)
    }

    fn delay(&self, tp: &TopicPartition, generation: u64) {
        let until = Instant::now() + Duration::from_millis(self.config.fetch_backoff_ms);
        if let Some(s) = self.shared.lock().get_mut(tp) {
            if s.generation == generation {
                s.delayed_until = Some(until);
            }
        }
    }

    /// Handles an error code shared by both request kinds. Returns true if handled.
    fn on_partition_error(&self, m: &mut HashMap<TopicPartition, FetchState>, tp: &TopicPartition, code: ErrorCode, what: &str) {
        if code == error::FENCED_LEADER_EPOCH {
            log::info!("{} {what} of {tp} fenced by the leader's newer epoch; waiting for LeaderAndIsr", self.name());
            m.remove(tp);
            return;
        }
        if let Some(s) = m.get_mut(tp) {
            let backoff = partition_error_backoff(code, s.not_ready_errors, self.config.fetch_backoff_ms);
            log::debug!("{} {what} of {tp} failed with {}; backing off {} ms", self.name(), error::error_name(code), backoff.as_millis());
            s.not_ready_errors = s.not_ready_errors.saturating_add(1);
            s.delayed_until = Some(Instant::now() + backoff);
        }
    }

    /// One OffsetForLeaderEpoch round for the truncating partitions.
    async fn truncate_round(&mut self, conn: &mut LeaderConnection, parts: Vec<(TopicPartition, FetchState)>) -> Outcome {
        // Partitions without any epoch truncate to their high watermark.
        let mut ask: Vec<(TopicPartition, FetchState, i32)> = Vec::new();
        {
            let mut m = self.shared.lock();
            for (tp, s) in parts {
                let TruncationState::Truncating { ask_epoch } = s.truncation else { continue };
                if ask_epoch >= 0 {
                    ask.push((tp, s, ask_epoch));
                    continue;
                }
                let Some(cur) = m.get_mut(&tp) else { continue };
                if cur.generation != s.generation {
                    continue;
                }
                let log = cur.partition.clone();
                let hw = log.high_watermark();
                if let Err(e) = log.truncate_to(hw) {
                    log::error!("{} cannot truncate {tp} to {hw}: {e}", self.name());
                    cur.delayed_until = Some(Instant::now() + Duration::from_millis(self.config.fetch_backoff_ms));
                    continue;
                }
                log::info!("{} truncated {tp} to its high watermark {hw} (no leader epoch known)", self.name());
                cur.truncation = TruncationState::Fetching;
                cur.fetch_offset = log.log_end_offset();
            }
        }
        if ask.is_empty() {
            return Outcome::Continue;
        }
        let mut by_topic: BTreeMap<String, Vec<OffsetForLeaderPartition>> = BTreeMap::new();
        for (tp, s, epoch) in &ask {
            by_topic.entry(tp.topic.clone()).or_default().push(OffsetForLeaderPartition {
                partition: tp.partition,
                current_leader_epoch: s.leader_epoch,
                leader_epoch: *epoch,
                ..Default::default()
            });
        }
        let req = OffsetForLeaderEpochRequest {
            replica_id: self.config.broker_id,
            topics: by_topic
                .into_iter()
                .map(|(topic, partitions)| OffsetForLeaderTopic { topic, partitions, ..Default::default() })
                .collect(),
            ..Default::default()
        };
        let timeout = Duration::from_millis(self.config.socket_timeout_ms);
        let resp: OffsetForLeaderEpochResponse = match conn.send_timeout(OFFSET_FOR_LEADER_EPOCH_VERSION, &req, timeout).await {
            Ok(r) => r,
            Err(e) => return Outcome::ConnectionFailed(format!("OffsetForLeaderEpoch: {e}")),
        };
        let mut answers: HashMap<TopicPartition, (ErrorCode, i32, i64)> = HashMap::new();
        for t in resp.topics {
            for p in t.partitions {
                answers.insert(TopicPartition::new(t.topic.clone(), p.partition), (p.error_code, p.leader_epoch, p.end_offset));
            }
        }
        let mut m = self.shared.lock();
        for (tp, sent, asked) in ask {
            let Some(&(code, leader_epoch, end_offset)) = answers.get(&tp) else {
                self.on_partition_error(&mut m, &tp, error::UNKNOWN_SERVER_ERROR, "OffsetForLeaderEpoch");
                continue;
            };
            let Some(cur) = m.get(&tp) else { continue };
            if cur.generation != sent.generation || cur.truncation != sent.truncation {
                continue;
            }
            if code != error::NONE {
                self.on_partition_error(&mut m, &tp, code, "OffsetForLeaderEpoch");
                continue;
            }
            let Some(cur) = m.get_mut(&tp) else { continue };
            cur.not_ready_errors = 0;
            let log = cur.partition.clone();
            let d = truncation_decision(leader_epoch, end_offset, log.log_end_offset(), log.high_watermark(), |e| {
                log.end_offset_for_epoch(e)
            });
            let before = log.log_end_offset();
            if let Err(e) = log.truncate_to(d.offset) {
                log::error!("{} cannot truncate {tp} to {}: {e}", self.name(), d.offset);
                cur.delayed_until = Some(Instant::now() + Duration::from_millis(self.config.fetch_backoff_ms));
                continue;
            }
            log::info!(
                "{} {tp}: asked epoch {asked}, leader answered epoch {leader_epoch} ends at {end_offset}; truncated from {before} to {}{}",
                self.name(),
                log.log_end_offset(),
                if d.completed { "" } else { " (will ask again)" }
            );
            crate::record_event!(crate::controller::event_log::Kind::Broker, "ReplicaFetcherThread (truncateToEpochEndOffsets)", "{} {tp}: leader epoch {leader_epoch} ends at {end_offset} on the leader; {}", self.name(), if before == log.log_end_offset() { format!("nothing to truncate (LEO {before})") } else { format!("truncated from {before} to {}", log.log_end_offset()) });
            if d.completed {
                cur.truncation = TruncationState::Fetching;
                cur.fetch_offset = log.log_end_offset();
            } else {
                cur.truncation = TruncationState::Truncating { ask_epoch: d.next_epoch };
            }
        }
        Outcome::Continue
    }

    /// One Fetch round for the partitions past truncation. `next_wake`: when
    /// the next delayed partition is due; the long poll ends by then, so a
    /// short retry is not held up by `replica.fetch.wait.max.ms`.
    async fn fetch_round(
        &mut self,
        conn: &mut LeaderConnection,
        parts: Vec<(TopicPartition, FetchState)>,
        next_wake: Option<Instant>,
    ) -> Outcome {
        let mut by_topic: BTreeMap<String, Vec<FetchRequestPartition>> = BTreeMap::new();
        let mut sent: HashMap<TopicPartition, Sent> = HashMap::new();
        let quota = &self.quotas.follower;
        for (tp, s) in &parts {
            // Kafka's shouldFollowerThrottle: leave a throttled partition out
            // of the request while the follower quota is exceeded, unless in sync.
            let in_sync = s.lag.is_some_and(|l| l <= 0);
            if quota.should_throttle(tp, in_sync) {
                continue;
            }
            by_topic.entry(tp.topic.clone()).or_default().push(FetchRequestPartition {
                partition: tp.partition,
                current_leader_epoch: s.leader_epoch,
                fetch_offset: s.fetch_offset,
                last_fetched_epoch: -1,
                log_start_offset: s.partition.log_start_offset(),
                partition_max_bytes: self.config.fetch_max_bytes,
                ..Default::default()
            });
            sent.insert(tp.clone(), Sent { tp: tp.clone(), generation: s.generation, fetch_offset: s.fetch_offset });
        }
        if sent.is_empty() {
            // Everything is throttled: back off as Kafka's fetcher does with an empty request.
            self.pause(Duration::from_millis(self.config.fetch_backoff_ms.clamp(10, 1000))).await;
            return Outcome::Continue;
        }
        let max_wait_ms = match next_wake {
            Some(t) => {
                let until = t.saturating_duration_since(Instant::now()).as_millis().min(i32::MAX as u128) as i32;
                self.config.fetch_wait_max_ms.min(until)
            }
            None => self.config.fetch_wait_max_ms,
        };
        let req = FetchRequest {
            replica_id: self.config.broker_id,
            max_wait_ms,
            min_bytes: self.config.fetch_min_bytes,
            max_bytes: self.config.fetch_response_max_bytes,
            isolation_level: 0,
            session_id: 0,
            session_epoch: -1,
            topics: by_topic
                .into_iter()
                .map(|(topic, partitions)| FetchRequestTopic { topic, partitions, ..Default::default() })
                .collect(),
            ..Default::default()
        };
        let timeout = Duration::from_millis(self.config.socket_timeout_ms + self.config.fetch_wait_max_ms.max(0) as u64);
        let mut stop = self.stop.clone();
        let resp: FetchResponse = tokio::select! {
            r = conn.send_timeout(FETCH_VERSION, &req, timeout) => match r {
                Ok(r) => r,
                Err(e) => return Outcome::ConnectionFailed(format!("Fetch: {e}")),
            },
            _ = stop.changed() => return Outcome::ConnectionFailed("stopping".into()),
        };
        if resp.error_code != error::NONE {
            log::warn!("{} fetch failed with {}", self.name(), error::error_name(resp.error_code));
            for s in sent.values() {
                self.delay(&s.tp, s.generation);
            }
            return Outcome::Continue;
        }
        let mut out_of_range: Vec<Sent> = Vec::new();
        // A follower's high watermark moved: the only change here that can
        // complete an operation waiting on this broker (a consumer's fetch
        // from this follower reads up to it).
        let mut progressed = false;
        {
            let mut m = self.shared.lock();
            for t in resp.responses {
                for p in t.partition_responses {
                    let tp = TopicPartition::new(t.topic.clone(), p.partition);
                    let Some(req) = sent.get(&tp) else { continue };
                    let Some(cur) = m.get(&tp) else { continue };
                    // The partition changed (removed, re-added, truncated) while we waited.
                    if cur.generation != req.generation
                        || cur.fetch_offset != req.fetch_offset
                        || cur.truncation != TruncationState::Fetching
                    {
                        continue;
                    }
                    if p.error_code == error::OFFSET_OUT_OF_RANGE {
                        out_of_range.push(req.clone());
                        continue;
                    }
                    if p.error_code != error::NONE {
                        self.on_partition_error(&mut m, &tp, p.error_code, "fetch");
                        continue;
                    }
                    let Some(cur) = m.get_mut(&tp) else { continue };
                    cur.not_ready_errors = 0;
                    if let Some(div) = p.diverging_epoch.as_ref().filter(|d| d.epoch >= 0 || d.end_offset >= 0) {
                        // Fetch v12 divergence: truncate first, HW later (KAFKA-14704).
                        log::info!("{} {tp}: leader reports diverging epoch {} ending at {}", self.name(), div.epoch, div.end_offset);
                        crate::record_event!(crate::controller::event_log::Kind::Broker, "ReplicaFetcherThread (diverging epoch)", "{} {tp}: leader reports diverging epoch {} ending at {}; truncating", self.name(), div.epoch, div.end_offset);
                        let log = cur.partition.clone();
                        let d = truncation_decision(div.epoch, div.end_offset, log.log_end_offset(), log.high_watermark(), |e| {
                            log.end_offset_for_epoch(e)
                        });
                        if log.truncate_to(d.offset).is_ok() {
                            cur.fetch_offset = log.log_end_offset();
                            if !d.completed {
                                cur.truncation = TruncationState::Truncating { ask_epoch: d.next_epoch };
                            }
                        }
                        continue;
                    }
                    let log = cur.partition.clone();
                    if let Some(records) = p.records.as_ref().filter(|r| !r.is_empty()) {
                        match log.append_records_to_follower(records.clone()) {
                            Ok(info) => {
                                if quota.is_throttled(&tp) {
                                    quota.record(records.len());
                                }
                                crate::server::metrics::metrics().broker_topic_stats.replication_bytes_in.mark(info.valid_bytes as u64);
                            }
                            Err(e) => {
                                log::error!(
                                    "{} follower append to {tp} at {} failed: {} {}",
                                    self.name(),
                                    req.fetch_offset,
                                    error::error_name(e.code),
                                    e.message.unwrap_or_default()
                                );
                                cur.delayed_until = Some(Instant::now() + Duration::from_millis(self.config.fetch_backoff_ms));
                                continue;
                            }
                        }
                    }
                    cur.fetch_offset = log.log_end_offset();
                    if p.high_watermark >= 0 {
                        cur.lag = Some((p.high_watermark - cur.fetch_offset).max(0));
                        crate::server::metrics::metrics().fetcher_lag.set(&tp, self.shared.id, self.shared.leader, p.high_watermark - cur.fetch_offset);
                    }
                    if log.update_follower_high_watermark(p.high_watermark) {
                        progressed = true;
                    }
                    if let Err(e) = log.maybe_increment_log_start_offset(p.log_start_offset) {
                        log::warn!("{} cannot move log start of {tp} to {}: {e}", self.name(), p.log_start_offset);
                    }
                }
            }
        }
        if progressed {
            self.on_progress.notify_waiters();
        }
        for s in out_of_range {
            if let Err(e) = self.handle_out_of_range(conn, &s).await {
                return Outcome::ConnectionFailed(format!("ListOffsets: {e}"));
            }
        }
        Outcome::Continue
    }

    async fn list_offset(&self, conn: &mut LeaderConnection, tp: &TopicPartition, epoch: i32, ts: i64) -> Result<(ErrorCode, i64), String> {
        let req = ListOffsetsRequest {
            replica_id: self.config.broker_id,
            isolation_level: 0,
            topics: vec![ListOffsetsTopic {
                name: tp.topic.clone(),
                partitions: vec![ListOffsetsPartition {
                    partition_index: tp.partition,
                    current_leader_epoch: epoch,
                    timestamp: ts,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let resp: ListOffsetsResponse = conn
            .send_timeout(LIST_OFFSETS_VERSION, &req, Duration::from_millis(self.config.socket_timeout_ms))
            .await
            .map_err(|e| e.to_string())?;
        let p = resp
            .topics
            .into_iter()
            .flat_map(|t| t.partitions)
            .find(|p| p.partition_index == tp.partition)
            .ok_or_else(|| format!("no ListOffsets answer for {tp}"))?;
        Ok((p.error_code, p.offset))
    }

    /// Kafka's `fetchOffsetAndTruncate`: if the leader's log ends before ours
    /// truncate to its end; otherwise start at max(leader log start, our end),
    /// emptying our log if the leader's starts beyond it.
    async fn handle_out_of_range(&self, conn: &mut LeaderConnection, s: &Sent) -> Result<(), String> {
        let epoch = match self.shared.lock().get(&s.tp) {
            Some(cur) if cur.generation == s.generation => cur.leader_epoch,
            _ => return Ok(()),
        };
        let (code, leader_end) = self.list_offset(conn, &s.tp, epoch, LATEST_TIMESTAMP).await?;
        if code != error::NONE {
            let mut m = self.shared.lock();
            self.on_partition_error(&mut m, &s.tp, code, "ListOffsets(latest)");
            return Ok(());
        }
        let (code, leader_start) = self.list_offset(conn, &s.tp, epoch, EARLIEST_TIMESTAMP).await?;
        if code != error::NONE {
            let mut m = self.shared.lock();
            self.on_partition_error(&mut m, &s.tp, code, "ListOffsets(earliest)");
            return Ok(());
        }
        let mut m = self.shared.lock();
        let Some(cur) = m.get_mut(&s.tp) else { return Ok(()) };
        if cur.generation != s.generation {
            return Ok(());
        }
        let log = cur.partition.clone();
        let leo = log.log_end_offset();
        let result = if leader_end < leo {
            log::warn!("{} {}: leader's log ends at {leader_end}, before ours ({leo}); truncating", self.name(), s.tp);
            log.truncate_to(leader_end).map(|_| leader_end)
        } else if leader_start > leo {
            log::warn!("{} {}: leader's log starts at {leader_start}, after our end {leo}; restarting our log there", self.name(), s.tp);
            log.truncate_fully_and_start_at(leader_start).map(|_| leader_start)
        } else {
            Ok(leo.max(leader_start))
        };
        match result {
            Ok(offset) => cur.fetch_offset = offset,
            Err(e) => {
                log::error!("{} cannot reset {} after out of range: {e}", self.name(), s.tp);
                cur.delayed_until = Some(Instant::now() + Duration::from_millis(self.config.fetch_backoff_ms));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetcher_ids_follow_kafka() {
        let tp = TopicPartition::new("topic", 3);
        assert_eq!(fetcher_id(&tp, 1), 0);
        assert_eq!(fetcher_id(&tp, 4), ((110546223i32.wrapping_mul(31).wrapping_add(3)).abs() as usize) % 4);
    }

    #[test]
    fn leader_not_ready_errors_retry_soon_then_back_off() {
        let b = |code, n| partition_error_backoff(code, n, 1000).as_millis();
        for code in [error::UNKNOWN_TOPIC_OR_PARTITION, error::UNKNOWN_LEADER_EPOCH, error::NOT_LEADER_OR_FOLLOWER, error::LEADER_NOT_AVAILABLE] {
            assert_eq!(b(code, 0), 10);
            assert_eq!(b(code, 1), 20);
            assert_eq!(b(code, 3), 80);
            assert_eq!(b(code, 7), 1000, "capped at replica.fetch.backoff.ms");
            assert_eq!(b(code, 200), 1000);
        }
        // Anything else: the full backoff, as Kafka's fetcher does.
        assert_eq!(b(error::KAFKA_STORAGE_ERROR, 0), 1000);
        assert_eq!(b(error::UNKNOWN_SERVER_ERROR, 0), 1000);
        // A configured backoff below the first retry wins.
        assert_eq!(partition_error_backoff(error::UNKNOWN_LEADER_EPOCH, 0, 5).as_millis(), 5);
    }

    #[test]
    fn truncation_rules() {
        // Follower has epochs 0@0, 1@10, 2@20, LEO 30, HW 15.
        let cache = |e: i32| match e {
            0 => (0, 10),
            1 => (1, 20),
            e if e >= 2 => (2, 30),
            _ => (-1, -1),
        };
        // Leader has epoch 2 ending at 25: cut to 25.
        assert_eq!(truncation_decision(2, 25, 30, 15, cache), TruncationDecision { offset: 25, completed: true, next_epoch: -1 });
        // Leader has epoch 1 ending at 18 (we asked about 2): cut to min(18, our end of 1 = 20).
        assert_eq!(truncation_decision(1, 18, 30, 15, cache).offset, 18);
        // Leader's end beyond ours: keep everything.
        assert_eq!(truncation_decision(2, 40, 30, 15, cache).offset, 30);
        // Leader knows nothing: high watermark.
        assert_eq!(truncation_decision(-1, -1, 30, 15, cache), TruncationDecision { offset: 15, completed: true, next_epoch: -1 });
        // Old leader without epoch in its answer: its end offset.
        assert_eq!(truncation_decision(-1, 12, 30, 15, cache).offset, 12);
        // Leader answers an epoch we lack (3 but we have 2 and 4): cut to our end of 2, ask again.
        let gappy = |e: i32| match e {
            3 | 2 => (2, 22),
            4 => (4, 30),
            _ => (-1, -1),
        };
        assert_eq!(truncation_decision(3, 26, 30, 10, gappy), TruncationDecision { offset: 22, completed: false, next_epoch: 2 });
        // We have no epoch at or below the leader's: take the leader's end.
        assert_eq!(truncation_decision(0, 5, 30, 10, |_| (-1, -1)).offset, 5);
    }
}
