//! The partitions this broker hosts and the produce and fetch paths over
//! them: leader checks, `acks` and `min.insync.replicas`, delayed produce and
//! delayed (long-poll) fetch, and applying the controller's LeaderAndIsr and
//! StopReplica: becoming leader (stop fetching, new epoch start in the epoch
//! cache) or follower (hand the partition to the replica fetchers, which
//! truncate first), the ISR expiration task, and ISR expansion on follower
//! fetches. Maps to Kafka's `kafka.server.ReplicaManager` (with its
//! purgatories reduced to waiting on notifications: followers' fetches on new
//! data, consumers' fetches and delayed produces on a moved high watermark,
//! all of them on role and config changes).

use crate::common::TopicPartition;
use crate::log::file_records::FileRecords;
use crate::log::{LogConfig, LogManager};
use crate::protocol::error::{self, ErrorCode};
use crate::protocol::records::AppendOrigin;
use crate::server::isr_manager::IsrManager;
use crate::server::partition::{FetchParams, Partition, PartitionState, RoleChange};
use crate::server::replica_alter_log_dirs::ReplicaAlterLogDirsManager;
use crate::server::replica_fetcher::{FetcherConfig, ReplicaFetcherManager};
use crate::server::replication_quota_manager::{parse_throttled_partitions, ReplicationQuotas};
use crate::zk::admin_zk_client::{FOLLOWER_THROTTLED_REPLICAS, LEADER_THROTTLED_REPLICAS};
use crate::zk::KafkaZkClient;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};

/// Threads applying a LeaderAndIsr request's role changes at once (a new
/// leader's `leader-epoch-checkpoint` write is two fsyncs: disk waits, so
/// more threads than cores pay).
pub const ROLE_CHANGE_THREADS: usize = 16;
/// From this many partitions in one LeaderAndIsr, role changes may be made
/// in batches (`Partition::make_leaders_or_followers`) of `ROLE_CHANGE_BATCH`
/// (see `batch_role_changes`).
pub const BATCHED_ROLE_CHANGES_MIN: usize = 32;
pub const ROLE_CHANGE_BATCH: usize = 1024;

/// Whether `n` role changes are made in batches whose epoch checkpoints are
/// synced together (`syncfs`), given the kernel's dirty page cache in bytes
/// (`None`: unknown). A `syncfs` also writes out every other dirty page of
/// the file system: under a producer keeping ~2.2 GB dirty, 200 new leaders
/// took 1.3-1.6 s batched against 0.5-0.9 s fsynced one by one
/// (`bench/leader_burst.sh`), while with little dirty data the batch wins at
/// any size (10,000-partition controlled shutdown: 0.7 s against 1.6 s). So
/// batch only when the writeout (~1 GB/s here) is likely shorter than the
/// fsyncs it saves (~0.2 ms per partition, 16 at a time): at most 32 MB
/// plus 200 KB per partition dirty.
pub fn batch_role_changes(n: usize, dirty_bytes: Option<u64>) -> bool {
    match dirty_bytes {
        Some(d) => n >= BATCHED_ROLE_CHANGES_MIN && d <= (32 << 20) + n as u64 * (200 << 10),
        None => false,
    }
}

/// The kernel's dirty page cache (`Dirty:` of /proc/meminfo), in bytes.
fn dirty_page_cache_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("Dirty:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The result of appending to one partition.
#[derive(Debug, Clone)]
pub struct ProducePartitionResult {
    pub error: ErrorCode,
    pub base_offset: i64,
    pub log_append_time: i64,
    pub log_start_offset: i64,
    pub error_message: Option<String>,
}

impl ProducePartitionResult {
    fn error(code: ErrorCode, message: Option<String>) -> Self {
        ProducePartitionResult { error: code, base_offset: -1, log_append_time: -1, log_start_offset: -1, error_message: message }
    }
}

/// One partition of a fetch request.
#[derive(Debug, Clone)]
pub struct FetchPartitionRequest {
    pub tp: TopicPartition,
    pub fetch_offset: i64,
    pub partition_max_bytes: i32,
    pub current_leader_epoch: i32,
    /// Fetch v12+: epoch of the requester's last fetched batch (-1 = none).
    pub last_fetched_epoch: i32,
    /// Fetch v5+: the requester's log start offset (followers; -1 otherwise).
    pub log_start_offset: i64,
    /// The requester can be sent the records as they are stored (v2 batches,
    /// Fetch v4+): they may come back as `FetchPartitionResult::file_records`.
    pub zero_copy: bool,
    /// A consumer's isolation_level=read_committed (Fetch v4+).
    pub read_committed: bool,
}

/// One partition's answer to DeleteRecords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteRecordsPartitionResult {
    pub tp: TopicPartition,
    pub low_watermark: i64,
    pub error: ErrorCode,
}

/// One partition of a fetch response.
#[derive(Debug, Clone)]
pub struct FetchPartitionResult {
    pub tp: TopicPartition,
    pub error: ErrorCode,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
    /// read_committed fetches: the aborted transactions of the fetched range.
    pub aborted_transactions: Option<Vec<crate::log::transaction_index::AbortedTxn>>,
    pub records: Option<Bytes>,
    /// The records as a slice of a segment file, sent with `sendfile`
    /// (then `records` is empty); only for `zero_copy` requests.
    pub file_records: Option<FileRecords>,
    /// Fetch v12: (epoch, end offset) where the requester's log diverges.
    pub diverging_epoch: Option<(i32, i64)>,
    /// Answered by this broker as a follower (KIP-392 consumer fetch).
    pub served_by_follower: bool,
}

impl FetchPartitionResult {
    /// Bytes of records in the answer, in memory or in a file slice.
    pub fn records_len(&self) -> usize {
        self.records.as_ref().map_or(0, |b| b.len()) + self.file_records.as_ref().map_or(0, |f| f.len)
    }
}

/// Told when this broker becomes (true) or stops being (false) the leader of
/// a partition, with the leader epoch (the group coordinator's hook).
pub type LeadershipListener = Box<dyn Fn(&TopicPartition, bool, i32) + Send + Sync>;

pub struct ReplicaManager {
    /// See `LeadershipListener`.
    leadership_listener: RwLock<Option<LeadershipListener>>,
    broker_id: i32,
    pub log_manager: Arc<LogManager>,
    partitions: RwLock<HashMap<TopicPartition, Arc<Partition>>>,
    /// Highest controller epoch seen in a controller request.
    controller_epoch: AtomicI32,
    /// This broker's epoch: the czxid of its `/brokers/ids/<id>` znode.
    broker_epoch: AtomicI64,
    /// Woken on anything that may complete any waiting operation (role
    /// changes, StopReplica, config changes, DeleteRecords, transaction
    /// markers); every delayed operation waits on it, and on one of the two
    /// below (Kafka's purgatories complete an operation on the events that
    /// concern it; `Notify::notify_waiters` wakes all waiters of a channel).
    data_notify: Arc<Notify>,
    /// Woken when a leader appends records: only followers' fetches wait on
    /// it (they read to the log end), not consumers' fetches nor produces.
    append_notify: Arc<Notify>,
    /// Woken when a high watermark (or a follower's log start offset) moves:
    /// delayed produces, consumers' fetches (they read to the high
    /// watermark) and DeleteRecords wait on it; followers' fetches do not
    /// (Kafka completes a follower's fetch on new data, not on the HW). The
    /// replica fetchers (follower appends and HW moves) and the ISR writer
    /// signal it.
    hw_notify: Arc<Notify>,
    /// The log defaults topics inherit (server.properties overlaid with the
    /// dynamic broker configs; replaced by `update_default_log_config`).
    default_log_config: RwLock<LogConfig>,
    replica_lag_time_max_ms: i64,
    pub fetcher_manager: ReplicaFetcherManager,
    /// Moves replicas between log dirs (AlterReplicaLogDirs).
    pub alter_log_dirs_manager: Arc<ReplicaAlterLogDirsManager>,
    isr_manager: IsrManager,
    /// Per-topic config overrides, read from ZooKeeper when a log is
    /// created and updated by the DynamicConfigManager.
    topic_configs: RwLock<HashMap<String, HashMap<String, String>>>,
    /// Leader, follower and alter-log-dirs replication throttles.
    quotas: Arc<ReplicationQuotas>,
    /// Kafka's `isShuttingDown`, shared with `KafkaServer`: set when the
    /// broker's shutdown starts (before the controlled shutdown). From then
    /// on a LeaderAndIsr still makes partitions followers, but starts no
    /// fetcher for them: the leaderships the controller moves away would
    /// otherwise be fetched again, the stopping broker taken back into
    /// their ISR, and taken out once more when it is gone.
    shutting_down: std::sync::atomic::AtomicBool,
}

/// Replication settings and the ZooKeeper client the ISR writes and
/// fetchers use.
pub struct ReplicationSettings {
    pub fetcher: FetcherConfig,
    pub replica_lag_time_max_ms: i64,
    pub zk: Option<KafkaZkClient>,
    pub quotas: Arc<ReplicationQuotas>,
}

impl ReplicaManager {
    /// A replica manager without replication (no ZooKeeper, fetchers that
    /// cannot resolve leaders): for tests of the single-broker paths.
    pub fn new(broker_id: i32, log_manager: Arc<LogManager>, default_log_config: LogConfig, default_min_isr: i32) -> Self {
        let notify = Arc::new(Notify::new());
        let hw_notify = Arc::new(Notify::new());
        let quotas = Arc::new(ReplicationQuotas::default());
        ReplicaManager {
            leadership_listener: RwLock::new(None),
            broker_id,
            log_manager: log_manager.clone(),
            partitions: RwLock::new(HashMap::new()),
            controller_epoch: AtomicI32::new(-1),
            broker_epoch: AtomicI64::new(-1),
            fetcher_manager: ReplicaFetcherManager::new(FetcherConfig::defaults(broker_id), None, hw_notify.clone(), quotas.clone()),
            quotas,
            alter_log_dirs_manager: ReplicaAlterLogDirsManager::start(log_manager.clone(), 1 << 20),
            isr_manager: IsrManager::disabled(broker_id),
            data_notify: notify,
            append_notify: Arc::new(Notify::new()),
            hw_notify,
            default_log_config: RwLock::new(LogConfig { min_insync_replicas: default_min_isr, ..default_log_config }),
            replica_lag_time_max_ms: 30_000,
            topic_configs: RwLock::new(HashMap::new()),
            shutting_down: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The full replica manager: fetchers, the ISR writer and the
    /// `isr-expiration` task (stopped by `shutdown`). Needs a tokio runtime.
    pub fn start(
        broker_id: i32,
        log_manager: Arc<LogManager>,
        default_log_config: LogConfig,
        default_min_isr: i32,
        settings: ReplicationSettings,
        shutdown: watch::Receiver<bool>,
    ) -> Arc<Self> {
        let notify = Arc::new(Notify::new());
        let hw_notify = Arc::new(Notify::new());
        let isr_manager = match &settings.zk {
            Some(zk) => IsrManager::start(broker_id, zk.clone(), hw_notify.clone(), shutdown.clone()),
            None => IsrManager::disabled(broker_id),
        };
        let rm = Arc::new(ReplicaManager {
            leadership_listener: RwLock::new(None),
            broker_id,
            log_manager: log_manager.clone(),
            partitions: RwLock::new(HashMap::new()),
            controller_epoch: AtomicI32::new(-1),
            broker_epoch: AtomicI64::new(-1),
            alter_log_dirs_manager: ReplicaAlterLogDirsManager::start(log_manager.clone(), settings.fetcher.fetch_max_bytes.max(1) as usize),
            fetcher_manager: ReplicaFetcherManager::new(settings.fetcher, settings.zk.clone(), hw_notify.clone(), settings.quotas.clone()),
            quotas: settings.quotas.clone(),
            isr_manager,
            data_notify: notify,
            append_notify: Arc::new(Notify::new()),
            hw_notify,
            default_log_config: RwLock::new(LogConfig { min_insync_replicas: default_min_isr, ..default_log_config }),
            replica_lag_time_max_ms: settings.replica_lag_time_max_ms.max(1),
            topic_configs: RwLock::new(HashMap::new()),
            shutting_down: std::sync::atomic::AtomicBool::new(false),
        });
        // Kafka's "isr-expiration" task, every replica.lag.time.max.ms / 2.
        let every = Duration::from_millis((rm.replica_lag_time_max_ms / 2).max(1) as u64);
        let weak = Arc::downgrade(&rm);
        let mut stop = shutdown;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.changed() => return,
                }
                let Some(rm) = weak.upgrade() else { return };
                rm.maybe_shrink_isr();
            }
        });
        rm
    }

    /// One pass of the ISR expiration check over the partitions we lead.
    pub fn maybe_shrink_isr(&self) {
        let now = crate::common::now_ms();
        for p in self.all_partitions() {
            if let Some(change) = p.maybe_shrink_isr(now) {
                self.isr_manager.submit(&p, change);
            }
        }
    }

    /// Wakes delayed produces and fetches (data or high watermark moved).
    pub fn notify_progress(&self) {
        self.data_notify.notify_waiters();
    }

    /// After a leader append: wakes the followers' fetches, and the waiters
    /// on the high watermark if the append moved it (an ISR of the leader
    /// alone, acks=1 on RF=1).
    fn notify_appended(&self, hw_before: i64, partition: &Partition) {
        self.append_notify.notify_waiters();
        if partition.high_watermark() != hw_before {
            self.hw_notify.notify_waiters();
        }
    }


    pub fn set_leadership_listener(&self, l: LeadershipListener) {
        *self.leadership_listener.write().unwrap_or_else(|p| p.into_inner()) = Some(l);
    }

    fn notify_leadership(&self, tp: &TopicPartition, is_leader: bool, epoch: i32) {
        if let Some(l) = self.leadership_listener.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            l(tp, is_leader, epoch);
        }
    }

    pub fn broker_id(&self) -> i32 {
        self.broker_id
    }

    pub fn broker_epoch(&self) -> i64 {
        self.broker_epoch.load(Ordering::SeqCst)
    }

    pub fn set_broker_epoch(&self, epoch: i64) {
        self.broker_epoch.store(epoch, Ordering::SeqCst);
    }

    /// A controller request carrying an older broker epoch was meant for an
    /// earlier life of this broker (KIP-380); -1 means "not sent".
    pub fn is_stale_broker_epoch(&self, epoch: i64) -> bool {
        epoch != -1 && epoch < self.broker_epoch.load(Ordering::SeqCst)
    }

    pub fn controller_epoch(&self) -> i32 {
        self.controller_epoch.load(Ordering::SeqCst)
    }

    /// Rejects a controller request from an older controller; remembers a newer epoch.
    pub fn check_controller_epoch(&self, epoch: i32) -> bool {
        let current = self.controller_epoch.load(Ordering::SeqCst);
        if epoch < current {
            return false;
        }
        self.controller_epoch.fetch_max(epoch, Ordering::SeqCst);
        true
    }

    pub fn get_partition(&self, tp: &TopicPartition) -> Option<Arc<Partition>> {
        self.partitions.read().unwrap_or_else(|p| p.into_inner()).get(tp).cloned()
    }

    pub fn all_partitions(&self) -> Vec<Arc<Partition>> {
        self.partitions.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
    }

    /// The replication throttles (the DynamicConfigManager sets their bounds
    /// and throttled partitions; the log-dir mover uses `alter_log_dirs`).
    pub fn quotas(&self) -> &Arc<ReplicationQuotas> {
        &self.quotas
    }

    /// A topic's config overrides changed (Kafka's `TopicConfigHandler`):
    /// new LogConfig for its logs here, `min.insync.replicas`, and the
    /// leader/follower throttled-replica lists for this broker.
    pub fn update_topic_config(&self, topic: &str, overrides: HashMap<String, String>) {
        let config = match LogConfig::from_overrides(&self.default_log_config(), &overrides) {
            Ok(c) => Some(c),
            Err(e) => {
                log::warn!("ignoring invalid log config of topic {topic}: {e}");
                None
            }
        };
        if let Some(config) = config {
            for p in self.all_partitions().into_iter().filter(|p| p.tp.topic == topic) {
                p.update_log_config(config.clone());
            }
        }
        for (key, quota) in [(LEADER_THROTTLED_REPLICAS, &self.quotas.leader), (FOLLOWER_THROTTLED_REPLICAS, &self.quotas.follower)] {
            match overrides.get(key).and_then(|v| parse_throttled_partitions(v, self.broker_id)) {
                Some(replicas) => quota.mark_throttled(topic, replicas),
                None => quota.remove_throttle(topic),
            }
        }
        self.topic_configs.write().unwrap_or_else(|p| p.into_inner()).insert(topic.to_string(), overrides);
        // min.insync.replicas may have changed for waiting produces.
        self.data_notify.notify_waiters();
    }

    pub fn min_isr(&self, topic: &str) -> i32 {
        self.topic_configs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(topic)
            .and_then(|c| c.get("min.insync.replicas"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| self.default_log_config.read().unwrap_or_else(|p| p.into_inner()).min_insync_replicas)
    }

    /// The log defaults topics inherit now.
    pub fn default_log_config(&self) -> LogConfig {
        self.default_log_config.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// New broker-level log defaults (Kafka's `DynamicLogConfig.reconfigure`):
    /// every hosted log (and future log) is given its topic's overrides over
    /// the new defaults, so keys a topic does not override follow the broker.
    /// Waiting produces re-check `min.insync.replicas`.
    pub fn update_default_log_config(&self, defaults: LogConfig) {
        *self.default_log_config.write().unwrap_or_else(|p| p.into_inner()) = defaults.clone();
        self.log_manager.set_default_config(defaults.clone());
        let topic_configs = self.topic_configs.read().unwrap_or_else(|p| p.into_inner()).clone();
        let mut by_topic: HashMap<String, LogConfig> = HashMap::new();
        for p in self.all_partitions() {
            let config = by_topic.entry(p.tp.topic.clone()).or_insert_with(|| {
                let overrides = topic_configs.get(&p.tp.topic).cloned().unwrap_or_default();
                LogConfig::from_overrides(&defaults, &overrides).unwrap_or_else(|e| {
                    log::warn!("ignoring invalid log config of topic {}: {e}", p.tp.topic);
                    defaults.clone()
                })
            });
            p.update_log_config(config.clone());
        }
        for log in self.log_manager.all_future_logs() {
            if let Some(config) = by_topic.get(&log.topic_partition().topic) {
                log.update_config(config.clone());
            }
        }
        self.data_notify.notify_waiters();
    }

    /// Marks the broker as shutting down (Kafka's `isShuttingDown` set by
    /// `KafkaServer.shutdown`): LeaderAndIsr starts no more fetchers.
    pub fn mark_shutting_down(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// Applies one partition of a LeaderAndIsr request: creates the log if
    /// needed (with the topic's config overrides) and takes the given role.
    /// Becoming leader stops fetching first; becoming follower hands the
    /// partition to the fetcher for its leader (which truncates first).
    pub fn become_leader_or_follower(
        &self,
        tp: TopicPartition,
        state: PartitionState,
        topic_config: Option<HashMap<String, String>>,
    ) -> ErrorCode {
        self.become_leader_or_follower_many(vec![(tp, state, topic_config)]).pop().unwrap_or(error::UNKNOWN_SERVER_ERROR)
    }

    /// Kafka's `becomeLeaderOrFollower` for a whole LeaderAndIsr request: one
    /// error code per entry, in order. The partitions are independent, so the
    /// disk work is done for many at once: the missing logs are created on
    /// `LOG_IO_THREADS` threads (`LogManager::get_or_create_logs`). A new
    /// leader's `leader-epoch-checkpoint` is written and made durable before
    /// the partition's write lock is released, so no append runs in the new
    /// epoch before it is on disk. From `BATCHED_ROLE_CHANGES_MIN` partitions
    /// on, and while little data is dirty (`batch_role_changes`), the role
    /// changes are made in batches whose checkpoints are synced together
    /// (`Partition::make_leaders_or_followers`: two file system syncs per
    /// batch, where each file costs two fsyncs); otherwise they run on
    /// `ROLE_CHANGE_THREADS` threads, each partition under its own lock
    /// (serially a new leader cost ~6.7 ms here, 16 at a time ~0.3 ms each).
    /// Fetcher changes are made once per request.
    /// Blocking: call it off the async executor (`spawn_blocking`).
    pub fn become_leader_or_follower_many(
        &self,
        entries: Vec<(TopicPartition, PartitionState, Option<HashMap<String, String>>)>,
    ) -> Vec<ErrorCode> {
        let mut codes: Vec<ErrorCode> = vec![error::NONE; entries.len()];
        // 1. Missing logs, created in parallel.
        let mut to_create: Vec<(usize, TopicPartition, LogConfig)> = Vec::new();
        for (i, (tp, state, topic_config)) in entries.iter().enumerate() {
            if !state.replicas.contains(&self.broker_id) {
                codes[i] = error::UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            if self.get_partition(tp).is_some() {
                continue;
            }
            let overrides = topic_config.clone().unwrap_or_default();
            let defaults = self.default_log_config();
            let config = match LogConfig::from_overrides(&defaults, &overrides) {
                Ok(c) => c,
                Err(e) => {
                    log::warn!("ignoring invalid config of topic {}: {e}", tp.topic);
                    defaults
                }
            };
            self.topic_configs.write().unwrap_or_else(|p| p.into_inner()).insert(tp.topic.clone(), overrides);
            to_create.push((i, tp.clone(), config));
        }
        if !to_create.is_empty() {
            let wanted: Vec<(TopicPartition, LogConfig)> = to_create.iter().map(|(_, tp, c)| (tp.clone(), c.clone())).collect();
            let logs = self.log_manager.get_or_create_logs(wanted);
            for ((i, tp, config), r) in to_create.into_iter().zip(logs) {
                let log = match r {
                    Ok(l) => l,
                    Err(e) => {
                        log::error!("cannot create log for {tp}: {e}");
                        codes[i] = error::KAFKA_STORAGE_ERROR;
                        continue;
                    }
                };
                // A log loaded at start-up got the static defaults; the
                // dynamic broker configs read since then apply to it too.
                if log.config() != config {
                    log.update_config(config);
                }
                let state = &entries[i].1;
                let p = Arc::new(Partition::with_lag(
                    tp.clone(),
                    log,
                    self.broker_id,
                    PartitionState { leader_epoch: -1, leader: -1, ..state.clone() },
                    self.replica_lag_time_max_ms,
                ));
                self.partitions.write().unwrap_or_else(|p| p.into_inner()).entry(tp).or_insert(p);
            }
        }
        // 2. No follower append may run once we lead: stop fetching the
        //    partitions this request makes us lead, in one call.
        let mut work: Vec<(usize, Arc<Partition>, PartitionState)> = Vec::new();
        let mut unfetch: Vec<TopicPartition> = Vec::new();
        for (i, (tp, state, _)) in entries.iter().enumerate() {
            if codes[i] != error::NONE {
                continue;
            }
            let Some(partition) = self.get_partition(tp) else {
                codes[i] = error::KAFKA_STORAGE_ERROR;
                continue;
            };
            if state.leader == self.broker_id && (partition.leader_epoch() < state.leader_epoch || partition.leader_epoch() < 0) {
                unfetch.push(tp.clone());
            }
            work.push((i, partition, state.clone()));
        }
        if !unfetch.is_empty() {
            self.fetcher_manager.remove_partitions(&unfetch);
        }
        // 3. The role changes, each under its partition's lock. Many at once
        //    are made in batches whose new epoch checkpoints are synced
        //    together; a few, one at a time on parallel threads (a file
        //    system sync also writes out every other dirty file).
        // (The size test first: small requests do not read /proc/meminfo.)
        let batched = work.len() >= BATCHED_ROLE_CHANGES_MIN && batch_role_changes(work.len(), dirty_page_cache_bytes());
        let changed: Vec<(usize, Arc<Partition>, RoleChange, i32, i32)> = if batched {
            let mut out = Vec::with_capacity(work.len());
            for chunk in work.chunks(ROLE_CHANGE_BATCH) {
                let items: Vec<(Arc<Partition>, PartitionState)> = chunk.iter().map(|(_, p, s)| (p.clone(), s.clone())).collect();
                let changes = Partition::make_leaders_or_followers(&items);
                for ((i, partition, state), change) in chunk.iter().zip(changes) {
                    out.push((*i, partition.clone(), change, state.leader, state.leader_epoch));
                }
            }
            out
        } else {
            crate::log::log_manager::parallel_map(work, ROLE_CHANGE_THREADS, |(i, partition, state)| {
                let (leader, epoch) = (state.leader, state.leader_epoch);
                let change = partition.make_leader_or_follower(state);
                (i, partition, change, leader, epoch)
            })
        };
        // 4. New followers fetch from their leaders; fetcher changes batched.
        let new_followers: Vec<TopicPartition> = changed
            .iter()
            .filter(|(_, _, c, ..)| matches!(c, RoleChange::BecameFollower))
            .map(|(_, p, ..)| p.tp.clone())
            .collect();
        if !new_followers.is_empty() {
            self.fetcher_manager.remove_partitions(&new_followers);
        }
        // As Kafka's makeFollowers: a broker that is shutting down takes the
        // follower role but does not fetch (it would rejoin the ISR of the
        // partitions its controlled shutdown just moved away).
        let fetch = !self.is_shutting_down();
        if !fetch && !new_followers.is_empty() {
            log::info!(
                "skipped the adding-fetcher step of the become-follower state change for {} partitions: shutting down",
                new_followers.len()
            );
        }
        for (i, partition, change, leader, epoch) in &changed {
            let tp = &partition.tp;
            let (leader, epoch) = (*leader, *epoch);
            codes[*i] = match change {
                RoleChange::Stale => error::STALE_CONTROLLER_EPOCH,
                RoleChange::BecameLeader { new_leader } => {
                    crate::record_event!(crate::controller::event_log::Kind::Broker, "ReplicaManager (makeLeaders)", "Broker {}: LeaderAndIsr makes it leader of {tp} at leader epoch {epoch}", self.broker_id);
                    // As Kafka's makeLeaders: only new leadership goes to the
                    // coordinators. A new epoch for a leader that stays (the
                    // controller removing a dead follower from the ISR) must
                    // not reload `__transaction_state`: an EndTxn whose
                    // PrepareCommit was just written would be answered
                    // NOT_COORDINATOR, and its retry CONCURRENT_TRANSACTIONS
                    // until every marker is written.
                    if *new_leader {
                        self.notify_leadership(tp, true, epoch);
                    }
                    error::NONE
                }
                RoleChange::BecameFollower => {
                    crate::record_event!(crate::controller::event_log::Kind::Broker, "ReplicaManager (makeFollowers)", "Broker {}: LeaderAndIsr makes it a follower of {tp}, leader {leader}, leader epoch {epoch}", self.broker_id);
                    self.notify_leadership(tp, false, epoch);
                    if leader >= 0 && fetch {
                        self.fetcher_manager.add_partition(leader, partition.clone(), epoch);
                    } else if leader >= 0 {
                        log::debug!("partition {tp} follows {leader} (epoch {epoch}); not fetching: shutting down");
                    } else {
                        log::info!("partition {tp} has no leader (epoch {epoch}); not fetching");
                    }
                    error::NONE
                }
            };
        }
        let fetching: Vec<&TopicPartition> = changed
            .iter()
            .filter(|(_, _, c, leader, _)| fetch && *leader >= 0 && matches!(c, RoleChange::BecameFollower))
            .map(|(_, p, ..)| &p.tp)
            .collect();
        if !fetching.is_empty() {
            // One line per request, as Kafka's "Added fetcher to broker ... for partitions ...".
            log::info!(
                "[ReplicaFetcherManager on broker {}] added fetchers for {} partitions (e.g. {})",
                self.broker_id,
                fetching.len(),
                fetching.iter().take(3).map(|tp| tp.to_string()).collect::<Vec<_>>().join(", ")
            );
        }
        self.fetcher_manager.shutdown_idle_fetchers();
        for (_, partition, ..) in &changed {
            self.maybe_resume_log_dir_move(partition);
        }
        self.data_notify.notify_waiters();
        codes
    }

    /// Stops serving a partition (and fetching it); deletes its log if `delete`.
    pub fn stop_replica(&self, tp: &TopicPartition, delete: bool) -> ErrorCode {
        self.alter_log_dirs_manager.remove_partition(tp);
        self.fetcher_manager.remove_partitions(std::slice::from_ref(tp));
        self.fetcher_manager.shutdown_idle_fetchers();
        self.partitions.write().unwrap_or_else(|p| p.into_inner()).remove(tp);
        self.notify_leadership(tp, false, -1);
        self.data_notify.notify_waiters();
        if delete {
            if let Err(e) = self.log_manager.delete_log(tp) {
                log::error!("cannot delete log {tp}: {e}");
                return error::KAFKA_STORAGE_ERROR;
            }
            if !self.all_partitions().iter().any(|p| p.tp.topic == tp.topic) {
                crate::server::metrics::metrics().broker_topic_stats.remove_topic(&tp.topic);
            }
        }
        error::NONE
    }

    /// Appends produced batches to the leaders' logs (each through
    /// `Partition::append_records_to_leader`). With acks=-1 it waits
    /// (delayed produce) until the ISR has the records or `timeout` passes;
    /// a waiting produce succeeds only while the partition is still led here
    /// under the epoch it was appended in.
    pub async fn append_records(
        &self,
        timeout: Duration,
        acks: i16,
        entries: Vec<(TopicPartition, Option<Bytes>)>,
    ) -> Vec<(TopicPartition, ProducePartitionResult)> {
        self.append_records_with_origin(timeout, acks, entries, AppendOrigin::Client).await
    }

    /// As `append_records`, for a given append origin.
    pub async fn append_records_with_origin(
        &self,
        timeout: Duration,
        acks: i16,
        entries: Vec<(TopicPartition, Option<Bytes>)>,
        origin: AppendOrigin,
    ) -> Vec<(TopicPartition, ProducePartitionResult)> {
        self.append_records_then_wait(timeout, acks, entries, origin, None).await
    }

    /// As `append_records_with_origin`; once every append is done and the
    /// produce is about to wait for the ISR (acks=-1), sets `appended`, so
    /// the connection may read its next Produce meanwhile (see
    /// `socket_server`'s pipelined produce).
    pub async fn append_records_then_wait(
        &self,
        timeout: Duration,
        acks: i16,
        entries: Vec<(TopicPartition, Option<Bytes>)>,
        origin: AppendOrigin,
        appended: Option<&std::sync::atomic::AtomicBool>,
    ) -> Vec<(TopicPartition, ProducePartitionResult)> {
        let mut results = Vec::with_capacity(entries.len());
        // (result index, partition, last offset, epoch appended in, min ISR)
        let mut waiting: Vec<(usize, Arc<Partition>, i64, i32, i32)> = Vec::new();
        let stats = &crate::server::metrics::metrics().broker_topic_stats;
        for (tp, records) in entries {
            let size = records.as_ref().map_or(0, |r| r.len());
            let Some(partition) = self.get_partition(&tp) else {
                stats.record_produce(&tp, size, 0, error::UNKNOWN_TOPIC_OR_PARTITION);
                results.push((tp, ProducePartitionResult::error(error::UNKNOWN_TOPIC_OR_PARTITION, None)));
                continue;
            };
            let min_isr = self.min_isr(&tp.topic);
            let hw_before = partition.high_watermark();
            match partition.append_records_to_leader(records.unwrap_or_default(), origin, acks, min_isr) {
                Ok(appended) => {
                    stats.record_produce(&tp, appended.info.valid_bytes, appended.info.num_records, error::NONE);
                    self.notify_appended(hw_before, &partition);
                    if acks == -1 {
                        waiting.push((results.len(), partition, appended.info.last_offset, appended.leader_epoch, min_isr));
                    }
                    results.push((
                        tp,
                        ProducePartitionResult {
                            error: error::NONE,
                            base_offset: appended.info.first_offset,
                            log_append_time: appended.info.log_append_time,
                            log_start_offset: appended.log_start_offset,
                            error_message: None,
                        },
                    ));
                }
                Err(e) => {
                    stats.record_produce(&tp, size, 0, e.code);
                    log::debug!("append to {tp} refused: {}", error::error_name(e.code));
                    results.push((tp, ProducePartitionResult::error(e.code, e.message)));
                }
            }
        }
        if acks == -1 && !waiting.is_empty() {
            if let Some(flag) = appended {
                flag.store(true, std::sync::atomic::Ordering::Release);
            }
            let _delayed = crate::server::metrics::purgatory_metrics::delayed(crate::server::metrics::purgatory_metrics::DelayedOperation::Produce);
            let deadline = Instant::now() + timeout;
            loop {
                // Kafka's DelayedProduce: completed when a high watermark
                // moves (or anything else changes), not on every append.
                let all = self.data_notify.notified();
                let hw = self.hw_notify.notified();
                tokio::pin!(all);
                tokio::pin!(hw);
                all.as_mut().enable();
                hw.as_mut().enable();
                waiting.retain(|(idx, p, last, epoch, min_isr)| match p.check_enough_replicas_reach_offset(*last, *epoch, *min_isr) {
                    None => true,
                    Some(Ok(())) => false,
                    Some(Err(e)) => {
                        results[*idx].1 = ProducePartitionResult::error(e.code, e.message);
                        false
                    }
                });
                if waiting.is_empty() {
                    break;
                }
                let now = Instant::now();
                if now >= deadline {
                    for (idx, ..) in &waiting {
                        results[*idx].1 = ProducePartitionResult::error(error::REQUEST_TIMED_OUT, None);
                    }
                    break;
                }
                let _ = tokio::time::timeout(deadline - now, async {
                    tokio::select! {
                        _ = all => {}
                        _ = hw => {}
                    }
                })
                .await;
            }
        }
        if origin == AppendOrigin::Client {
            crate::server::metrics::broker_topic_stats::produce_answered(&results);
        }
        results
    }

    /// WriteTxnMarkers' append (Kafka's `appendRecords` with
    /// `requiredAcks = -1`, origin Coordinator): each marker goes to its
    /// partition's leader log (`Partition::append_end_txn_marker`); the
    /// answer waits until the ISR has it or `timeout` passes. One error code
    /// per entry, in order.
    pub async fn append_txn_markers(&self, timeout: Duration, markers: &[(TopicPartition, i64, i16, i32, bool)]) -> Vec<ErrorCode> {
        let mut results = Vec::with_capacity(markers.len());
        let mut waiting: Vec<(usize, Arc<Partition>, i64, i32, i32)> = Vec::new();
        for (tp, pid, epoch, coordinator_epoch, commit) in markers {
            let Some(partition) = self.get_partition(tp) else {
                results.push(error::UNKNOWN_TOPIC_OR_PARTITION);
                continue;
            };
            let min_isr = self.min_isr(&tp.topic);
            match partition.append_end_txn_marker(*pid, *epoch, *coordinator_epoch, *commit, min_isr) {
                Ok(appended) => {
                    self.data_notify.notify_waiters();
                    waiting.push((results.len(), partition, appended.info.last_offset, appended.leader_epoch, min_isr));
                    results.push(error::NONE);
                }
                Err(e) => {
                    log::info!(
                        "[ReplicaManager broker={}] {} marker of producer {pid} refused by {tp}: {} {}",
                        self.broker_id,
                        if *commit { "COMMIT" } else { "ABORT" },
                        error::error_name(e.code),
                        e.message.unwrap_or_default()
                    );
                    results.push(e.code);
                }
            }
        }
        let deadline = Instant::now() + timeout;
        while !waiting.is_empty() {
            let all = self.data_notify.notified();
            let hw = self.hw_notify.notified();
            tokio::pin!(all);
            tokio::pin!(hw);
            all.as_mut().enable();
            hw.as_mut().enable();
            waiting.retain(|(idx, p, last, epoch, min_isr)| match p.check_enough_replicas_reach_offset(*last, *epoch, *min_isr) {
                None => true,
                Some(Ok(())) => false,
                Some(Err(e)) => {
                    results[*idx] = e.code;
                    false
                }
            });
            if waiting.is_empty() {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                for (idx, ..) in &waiting {
                    results[*idx] = error::REQUEST_TIMED_OUT;
                }
                break;
            }
            let _ = tokio::time::timeout(deadline - now, async {
                tokio::select! {
                    _ = all => {}
                    _ = hw => {}
                }
            })
            .await;
        }
        results
    }

    /// Reads from the leaders' logs. Consumers (`replica_id` < 0) see only
    /// offsets below the high watermark; followers read to the log end and
    /// their fetch offset counts as their log end offset. Waits up to
    /// `max_wait` for `min_bytes` to accumulate (long poll).
    pub async fn fetch_messages(
        &self,
        replica_id: i32,
        max_wait: Duration,
        min_bytes: i32,
        max_bytes: i32,
        partitions: &[FetchPartitionRequest],
    ) -> Vec<FetchPartitionResult> {
        self.fetch_messages_with(replica_id, max_wait, min_bytes, max_bytes, partitions, false).await
    }

    /// As `fetch_messages`; `allow_follower`: a consumer fetch may be
    /// answered by a follower, up to its high watermark (KIP-392).
    pub async fn fetch_messages_with(
        &self,
        replica_id: i32,
        max_wait: Duration,
        min_bytes: i32,
        max_bytes: i32,
        partitions: &[FetchPartitionRequest],
        allow_follower: bool,
    ) -> Vec<FetchPartitionResult> {
        let deadline = Instant::now() + max_wait;
        let mut first = true;
        let mut delayed = None;
        // Kafka's DelayedFetch: a follower's fetch (reading to the log end)
        // completes on new data, a consumer's (reading to the high
        // watermark) when a high watermark moves; both on anything else.
        let own: &Notify = if replica_id >= 0 { &self.append_notify } else { &self.hw_notify };
        loop {
            let all = self.data_notify.notified();
            let mine = own.notified();
            tokio::pin!(all);
            tokio::pin!(mine);
            all.as_mut().enable();
            mine.as_mut().enable();
            let results = self.read_from_local_logs(replica_id, max_bytes, partitions, first, allow_follower);
            first = false;
            let bytes: usize = results.iter().map(|r| r.records_len()).sum();
            let any_error = results.iter().any(|r| r.error != error::NONE);
            let now = Instant::now();
            if max_wait.is_zero() || bytes >= min_bytes.max(0) as usize || any_error || now >= deadline {
                if replica_id >= 0 {
                    // Kafka's sizeOfThrottledPartitions: the leader quota
                    // counts what throttled partitions send to followers.
                    let throttled: usize = results
                        .iter()
                        .filter(|r| self.quotas.leader.is_throttled(&r.tp))
                        .map(|r| r.records_len())
                        .sum();
                    if throttled > 0 {
                        self.quotas.leader.record(throttled);
                    }
                }
                crate::server::metrics::broker_topic_stats::fetch_answered(replica_id, &results);
                return results;
            }
            delayed.get_or_insert_with(|| crate::server::metrics::purgatory_metrics::delayed(crate::server::metrics::purgatory_metrics::DelayedOperation::Fetch));
            let _ = tokio::time::timeout(deadline - now, async {
                tokio::select! {
                    _ = all => {}
                    _ = mine => {}
                }
            })
            .await;
        }
    }

    fn read_from_local_logs(
        &self,
        replica_id: i32,
        max_bytes: i32,
        partitions: &[FetchPartitionRequest],
        record_follower_state: bool,
        allow_follower: bool,
    ) -> Vec<FetchPartitionResult> {
        let mut remaining = max_bytes.max(0) as usize;
        let mut results = Vec::with_capacity(partitions.len());
        let mut got_any = false;
        for req in partitions {
            let tp = &req.tp;
            let err = |code, hw, lso| FetchPartitionResult {
                tp: tp.clone(),
                error: code,
                high_watermark: hw,
                last_stable_offset: -1,
                log_start_offset: lso,
                aborted_transactions: None,
                records: None,
                file_records: None,
                diverging_epoch: None,
                served_by_follower: false,
            };
            let Some(partition) = self.get_partition(tp) else {
                results.push(err(error::UNKNOWN_TOPIC_OR_PARTITION, -1, -1));
                continue;
            };
            let params = FetchParams {
                replica_id,
                fetch_offset: req.fetch_offset,
                max_bytes: (req.partition_max_bytes.max(0) as usize).min(remaining),
                min_one_message: !got_any,
                current_leader_epoch: req.current_leader_epoch,
                last_fetched_epoch: req.last_fetched_epoch,
                allow_follower,
                record_follower_state: record_follower_state && replica_id >= 0,
                // Kafka's shouldLeaderThrottle: a throttled partition to a
                // follower not in the ISR, while the leader quota is exceeded.
                throttled: replica_id >= 0
                    && self.quotas.leader.is_throttled(tp)
                    && !partition.is_in_sync(replica_id)
                    && self.quotas.leader.is_quota_exceeded(),
                zero_copy: req.zero_copy,
                read_committed: req.read_committed && replica_id < 0,
            };
            let read = match partition.fetch_records(&params) {
                Ok(r) => r,
                Err(e) => {
                    if e.code != error::OFFSET_OUT_OF_RANGE && e.code != error::NOT_LEADER_OR_FOLLOWER {
                        log::debug!("read from {tp} at {} failed: {}", req.fetch_offset, error::error_name(e.code));
                    }
                    results.push(err(e.code, e.high_watermark, e.log_start_offset));
                    continue;
                }
            };
            if let Some(change) = read.isr_change {
                self.isr_manager.submit(&partition, change);
            }
            // Kafka's updateFollowerFetchState also takes the follower's log
            // start offset (DeleteRecords waits on it).
            let start_moved = replica_id >= 0
                && record_follower_state
                && partition.update_follower_log_start_offset(replica_id, req.log_start_offset);
            if read.high_watermark_moved || start_moved {
                self.hw_notify.notify_waiters();
            }
            let read_len = read.records.len() + read.file_records.as_ref().map_or(0, |f| f.len);
            if read_len > 0 {
                got_any = true;
            }
            remaining = remaining.saturating_sub(read_len);
            results.push(FetchPartitionResult {
                tp: tp.clone(),
                error: error::NONE,
                high_watermark: read.high_watermark,
                last_stable_offset: read.last_stable_offset,
                log_start_offset: read.log_start_offset,
                aborted_transactions: read.aborted_transactions,
                records: Some(read.records),
                file_records: read.file_records,
                diverging_epoch: read.diverging_epoch,
                served_by_follower: !read.from_leader,
            });
        }
        results
    }

    /// DeleteRecords (Kafka's `ReplicaManager.deleteRecords` with its
    /// `DelayedDeleteRecords`): each partition's leader moves its log start
    /// offset (`Partition::delete_records_on_leader`); the answer waits until
    /// the low watermark (the smallest log start offset in the ISR) has
    /// reached the offset on every partition that succeeded, or `timeout`
    /// passes (REQUEST_TIMED_OUT). Internal topics get INVALID_TOPIC_EXCEPTION.
    /// Segments below the new start go at the next retention check.
    pub async fn delete_records(&self, timeout: Duration, offsets: Vec<(TopicPartition, i64)>) -> Vec<DeleteRecordsPartitionResult> {
        let mut results = Vec::with_capacity(offsets.len());
        let mut waiting: Vec<(usize, Arc<Partition>, i64)> = Vec::new();
        for (tp, offset) in offsets {
            let fail = |error| DeleteRecordsPartitionResult { tp: tp.clone(), low_watermark: -1, error };
            if crate::server::apis::metadata::is_internal_topic(&tp.topic) {
                results.push(fail(error::INVALID_TOPIC_EXCEPTION));
                continue;
            }
            let Some(partition) = self.get_partition(&tp) else {
                results.push(fail(error::UNKNOWN_TOPIC_OR_PARTITION));
                continue;
            };
            match partition.delete_records_on_leader(offset) {
                Ok((requested, low)) => {
                    log::info!("[ReplicaManager broker={}] DeleteRecords moved the log start offset of {tp} to {requested}", self.broker_id);
                    if low < requested {
                        waiting.push((results.len(), partition, requested));
                    }
                    results.push(DeleteRecordsPartitionResult { tp, low_watermark: low, error: error::NONE });
                }
                Err((code, msg)) => {
                    log::debug!("DeleteRecords on {tp} refused: {msg}");
                    results.push(fail(code));
                }
            }
        }
        // Followers see the new start in their next fetch response and
        // report theirs in the fetch after: wake the fetch long-polls now.
        self.data_notify.notify_waiters();
        if waiting.is_empty() {
            return results;
        }
        let deadline = Instant::now() + timeout;
        loop {
            let all = self.data_notify.notified();
            let hw = self.hw_notify.notified();
            tokio::pin!(all);
            tokio::pin!(hw);
            all.as_mut().enable();
            hw.as_mut().enable();
            waiting.retain(|(idx, p, required)| match p.low_watermark_if_leader() {
                Ok(low) => {
                    results[*idx].low_watermark = low;
                    low < *required
                }
                Err(code) => {
                    results[*idx].error = code;
                    results[*idx].low_watermark = -1;
                    false
                }
            });
            if waiting.is_empty() {
                return results;
            }
            let now = Instant::now();
            if now >= deadline {
                for (idx, _, _) in &waiting {
                    results[*idx].error = error::REQUEST_TIMED_OUT;
                }
                return results;
            }
            // Re-check at least every 100 ms (a follower's start offset moves
            // without always waking the notifier).
            let wait = (deadline - now).min(Duration::from_millis(100));
            let _ = tokio::time::timeout(wait, async {
                tokio::select! {
                    _ = all => {}
                    _ = hw => {}
                }
            })
            .await;
        }
    }

    /// Writes the high watermarks and recovery points of all logs.
    pub fn checkpoint(&self) {
        if let Err(e) = self.log_manager.checkpoint_all() {
            log::error!("checkpoint failed: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex as StdMutex;

    /// The coordinators load a partition only when this broker newly leads
    /// it (Kafka's `isNewLeader`), not when a leader that stays gets a new
    /// epoch (the controller removing a dead follower from the ISR).
    #[test]
    fn coordinators_hear_only_of_new_leadership() {
        let dir = std::env::temp_dir().join(format!("zkafka-rm-lead-{}-{:08x}", std::process::id(), rand::random::<u32>()));
        std::fs::create_dir_all(&dir).unwrap();
        let lm = Arc::new(LogManager::startup(vec![dir.clone()], 1, "c", LogConfig::default(), &HashMap::new()).unwrap());
        let rm = ReplicaManager::new(1, lm, LogConfig::default(), 1);
        let heard: Arc<StdMutex<Vec<(bool, i32)>>> = Arc::default();
        let h = heard.clone();
        rm.set_leadership_listener(Box::new(move |_, leader, epoch| h.lock().unwrap().push((leader, epoch))));
        let tp = TopicPartition::new("__transaction_state", 0);
        let st = |leader: i32, epoch: i32, isr: Vec<i32>| PartitionState { leader, leader_epoch: epoch, isr, replicas: vec![1, 2, 3], zk_version: epoch, controller_epoch: 1 };
        assert_eq!(rm.become_leader_or_follower(tp.clone(), st(1, 0, vec![1, 2, 3]), None), error::NONE);
        // Same leader, new epoch (ISR shrink by the controller): no reload.
        assert_eq!(rm.become_leader_or_follower(tp.clone(), st(1, 1, vec![1, 3]), None), error::NONE);
        assert_eq!(*heard.lock().unwrap(), vec![(true, 0)]);
        // Not leading (no leader: nothing to fetch from), then leading again: both heard.
        assert_eq!(rm.become_leader_or_follower(tp.clone(), st(-1, 2, vec![3]), None), error::NONE);
        assert_eq!(rm.become_leader_or_follower(tp.clone(), st(1, 3, vec![1, 2, 3]), None), error::NONE);
        assert_eq!(*heard.lock().unwrap(), vec![(true, 0), (false, 2), (true, 3)]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn role_changes_are_batched_only_with_little_dirty_data() {
        const MB: u64 = 1 << 20;
        assert!(!batch_role_changes(31, Some(0)), "few partitions: one fsync pair each");
        assert!(batch_role_changes(32, Some(0)));
        assert!(batch_role_changes(200, Some(64 * MB)));
        assert!(!batch_role_changes(200, Some(2200 * MB)), "a producer's gigabytes would be written out first");
        assert!(batch_role_changes(3333, Some(600 * MB)));
        assert!(!batch_role_changes(3333, Some(2200 * MB)));
        assert!(!batch_role_changes(10_000, None), "unknown: the safe way");
    }

    /// Kafka's makeFollowers under `isShuttingDown`: the leaderships a
    /// controlled shutdown moves away become follower roles, not fetched
    /// (the broker would rejoin their ISR on its way out); what it already
    /// fetched stays until StopReplica.
    #[tokio::test]
    async fn a_broker_shutting_down_takes_the_follower_role_without_fetching() {
        let dir = std::env::temp_dir().join(format!("zkafka-rm-stop-{}-{:08x}", std::process::id(), rand::random::<u32>()));
        std::fs::create_dir_all(&dir).unwrap();
        let lm = Arc::new(LogManager::startup(vec![dir.clone()], 1, "c", LogConfig::default(), &HashMap::new()).unwrap());
        let rm = ReplicaManager::new(1, lm, LogConfig::default(), 1);
        let st = |leader: i32, epoch: i32, isr: Vec<i32>| PartitionState { leader, leader_epoch: epoch, isr, replicas: vec![1, 2], zk_version: epoch, controller_epoch: 1 };
        let (followed, led) = (TopicPartition::new("t", 0), TopicPartition::new("t", 1));
        assert_eq!(rm.become_leader_or_follower(followed.clone(), st(2, 1, vec![2, 1]), None), error::NONE);
        assert_eq!(rm.become_leader_or_follower(led.clone(), st(1, 1, vec![1, 2]), None), error::NONE);
        assert!(rm.fetcher_manager.fetching_from(&followed).is_some());
        assert!(!rm.is_shutting_down());
        rm.mark_shutting_down();
        assert_eq!(rm.become_leader_or_follower(led.clone(), st(2, 2, vec![2]), None), error::NONE);
        let p = rm.get_partition(&led).unwrap();
        assert!(!p.is_leader() && p.leader_epoch() == 2, "the follower role is taken");
        assert!(rm.fetcher_manager.fetching_from(&led).is_none(), "but not fetched");
        assert!(rm.fetcher_manager.fetching_from(&followed).is_some());
        rm.fetcher_manager.shutdown().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
