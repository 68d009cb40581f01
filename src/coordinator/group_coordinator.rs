//! GroupCoordinator: serves the consumer-group APIs for the groups whose
//! `__consumer_offsets` partition this broker leads. It parks JoinGroup and
//! SyncGroup requests until the group's state machine answers them, runs the
//! group timers, appends offset and group records through the ReplicaManager
//! (acks=all), loads a partition's groups from its log on becoming leader and
//! drops them on losing it, and expires old offsets. Maps to Kafka's
//! `kafka.coordinator.group.GroupCoordinator` (with the loading and storing
//! parts of `GroupMetadataManager`).

use crate::common::{now_ms, TopicPartition};
use crate::coordinator::group_metadata::{Effect, GroupMetadata, GroupState, JoinRequest, JoinResult, OffsetAndMetadata, SyncResult};
use crate::coordinator::group_metadata_manager::{self as gmm, LoadedPartition};
use crate::coordinator::offset_config::{GroupConfig, OffsetConfig, GROUP_METADATA_TOPIC_NAME};
use crate::protocol::error::{self, ErrorCode};
use crate::server::replica_manager::ReplicaManager;
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// Error codes the shared error table does not name yet.
pub const NON_EMPTY_GROUP: ErrorCode = 68;
pub const GROUP_ID_NOT_FOUND: ErrorCode = 69;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PartitionStatus {
    Loading(i32),
    Loaded(i32),
}

#[derive(Default)]
struct Inner {
    groups: HashMap<String, GroupMetadata>,
    partitions: HashMap<i32, PartitionStatus>,
    join_waiters: HashMap<u64, oneshot::Sender<JoinResult>>,
    sync_waiters: HashMap<u64, oneshot::Sender<SyncResult>>,
    /// Offsets committed in transactions whose marker has not come yet:
    /// producer id -> group -> offsets (Kafka's `pendingTransactionalOffsetCommits`).
    pending_txn: HashMap<i64, HashMap<String, BTreeMap<TopicPartition, OffsetAndMetadata>>>,
    /// Pending transactional offsets whose append to the log has not
    /// finished: (producer id, group, partition). A marker that comes
    /// meanwhile drops them without committing them, and the append's end
    /// then leaves them alone (Kafka's `CommitRecordMetadataAndOffset`
    /// without an `appendedBatchOffset`).
    txn_appending: std::collections::HashSet<(i64, String, TopicPartition)>,
}

/// A summary of one group for DescribeGroups / ListGroups.
#[derive(Debug, Clone)]
pub struct GroupSummary {
    pub state: String,
    pub protocol_type: String,
    pub protocol: String,
    /// (member id, instance id, client id, client host, metadata, assignment)
    pub members: Vec<(String, Option<String>, String, String, Bytes, Bytes)>,
}

pub struct GroupCoordinator {
    pub broker_id: i32,
    pub offset_config: OffsetConfig,
    pub group_config: GroupConfig,
    replica_manager: Arc<ReplicaManager>,
    inner: Mutex<Inner>,
    next_request: AtomicU64,
    events_tx: mpsc::UnboundedSender<(i32, bool, i32)>,
    events_rx: Mutex<Option<mpsc::UnboundedReceiver<(i32, bool, i32)>>>,
    /// Wakes the group timer when a deadline may have moved earlier.
    timer_wake: tokio::sync::Notify,
}

fn map_store_error(code: ErrorCode) -> ErrorCode {
    match code {
        error::NONE => error::NONE,
        error::UNKNOWN_TOPIC_OR_PARTITION | error::NOT_ENOUGH_REPLICAS | error::NOT_ENOUGH_REPLICAS_AFTER_APPEND | error::REQUEST_TIMED_OUT => {
            error::COORDINATOR_NOT_AVAILABLE
        }
        error::NOT_LEADER_OR_FOLLOWER | error::KAFKA_STORAGE_ERROR => error::NOT_COORDINATOR,
        error::MESSAGE_TOO_LARGE | error::RECORD_LIST_TOO_LARGE | error::INVALID_FETCH_SIZE => error::INVALID_COMMIT_OFFSET_SIZE,
        _ => error::UNKNOWN_SERVER_ERROR,
    }
}

impl GroupCoordinator {
    pub fn new(broker_id: i32, offset_config: OffsetConfig, group_config: GroupConfig, replica_manager: Arc<ReplicaManager>) -> Arc<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        Arc::new(GroupCoordinator {
            broker_id,
            offset_config,
            group_config,
            replica_manager,
            inner: Mutex::new(Inner::default()),
            next_request: AtomicU64::new(1),
            events_tx: tx,
            events_rx: Mutex::new(Some(rx)),
            timer_wake: tokio::sync::Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn partition_for(&self, group_id: &str) -> i32 {
        gmm::partition_for(group_id, self.offset_config.offsets_topic_num_partitions)
    }

    /// The ReplicaManager's hook: this broker became (or stopped being) the
    /// leader of a partition. Only `__consumer_offsets` matters here.
    pub fn on_leadership_change(&self, tp: &TopicPartition, is_leader: bool, epoch: i32) {
        if tp.topic != GROUP_METADATA_TOPIC_NAME {
            return;
        }
        if is_leader {
            let mut g = self.lock();
            if g.partitions.contains_key(&tp.partition) {
                return;
            }
            g.partitions.insert(tp.partition, PartitionStatus::Loading(epoch));
            drop(g);
            let _ = self.events_tx.send((tp.partition, true, epoch));
        } else {
            // Unloading is immediate, so that a quick follower -> leader
            // sequence always loads again.
            self.unload_partition(tp.partition);
        }
    }

    /// Starts the loader, the group timers and the offset-expiry task.
    pub fn startup(self: &Arc<Self>, shutdown: watch::Receiver<bool>) {
        let rx = self.events_rx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mut rx) = rx {
            let me = self.clone();
            let mut stop = shutdown.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        ev = rx.recv() => match ev {
                            Some((p, true, epoch)) => me.load_partition(p, epoch).await,
                            Some((_, false, _)) => {}
                            None => break,
                        },
                        _ = stop.changed() => break,
                    }
                }
            });
        }
        // The group timers: sleep until the earliest deadline of any group
        // (a member's session, a delayed join, a pending sync), or until a
        // request may have set an earlier one, so that a member is removed
        // at its deadline rather than at the next periodic sweep.
        let me = self.clone();
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            loop {
                let wait = timer_wait(me.next_deadline(), now_ms());
                tokio::select! {
                    _ = tokio::time::sleep(wait) => me.tick_all(),
                    _ = me.timer_wake.notified() => {}
                    _ = stop.changed() => break,
                }
            }
        });
        let me = self.clone();
        let mut stop = shutdown;
        tokio::spawn(async move {
            let every = Duration::from_millis(me.offset_config.offsets_retention_check_interval_ms.max(100) as u64);
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => me.clone().expire_offsets().await,
                    _ = stop.changed() => break,
                }
            }
        });
    }

    /// Answers everything still parked (broker shutdown).
    pub fn shutdown(&self) {
        let mut g = self.lock();
        let ids: Vec<String> = g.groups.keys().cloned().collect();
        for id in ids {
            let fx = g.groups.get_mut(&id).map(|grp| grp.unload(error::NOT_COORDINATOR)).unwrap_or_default();
            Self::deliver(&mut g, fx);
        }
        g.groups.clear();
        g.partitions.clear();
    }

    /// NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS unless this broker serves the group now.
    pub fn check_group(&self, group_id: &str) -> Option<ErrorCode> {
        let p = self.partition_for(group_id);
        Self::check_partition(&self.lock(), p)
    }

    fn check_partition(inner: &Inner, p: i32) -> Option<ErrorCode> {
        match inner.partitions.get(&p) {
            None => Some(error::NOT_COORDINATOR),
            Some(PartitionStatus::Loading(_)) => Some(error::COORDINATOR_LOAD_IN_PROGRESS),
            Some(PartitionStatus::Loaded(_)) => None,
        }
    }

    /// Sends parked responses; returns the store requests left to do.
    fn deliver(inner: &mut Inner, fx: Vec<Effect>) -> Vec<Effect> {
        let mut rest = Vec::new();
        for e in fx {
            match e {
                Effect::Join(id, r) => {
                    if let Some(tx) = inner.join_waiters.remove(&id) {
                        let _ = tx.send(r);
                    }
                }
                Effect::Sync(id, r) => {
                    if let Some(tx) = inner.sync_waiters.remove(&id) {
                        let _ = tx.send(r);
                    }
                }
                other => rest.push(other),
            }
        }
        rest
    }

    /// The earliest deadline of any group served here.
    fn next_deadline(&self) -> i64 {
        self.lock().groups.values().map(GroupMetadata::next_deadline).min().unwrap_or(i64::MAX)
    }

    /// Delivers responses and starts the record writes the effects ask for.
    fn process(self: &Arc<Self>, inner: &mut Inner, group_id: &str, fx: Vec<Effect>) {
        self.timer_wake.notify_one();
        for e in Self::deliver(inner, fx) {
            if let Effect::StoreGroup { sync } = e {
                let Some(group) = inner.groups.get(group_id) else { continue };
                let value = gmm::group_metadata_value(group, sync.as_ref().map(|(_, a)| a));
                let key = gmm::group_metadata_key(group_id);
                let partition = self.partition_for(group_id);
                let me = self.clone();
                let gid = group_id.to_string();
                tokio::spawn(async move {
                    let code = map_store_error(me.append(partition, vec![(key, Some(value))]).await);
                    if code != error::NONE {
                        log::warn!("storing metadata of group {gid} failed: {}", error::error_name(code));
                    }
                    if let Some((generation, assignments)) = sync {
                        let mut g = me.lock();
                        let fx = match g.groups.get_mut(&gid) {
                            Some(grp) => grp.on_sync_stored(generation, assignments, code, now_ms()),
                            None => return,
                        };
                        me.process(&mut g, &gid, fx);
                    }
                });
            }
        }
    }

    /// Appends records to a `__consumer_offsets` partition as its leader,
    /// waiting for the ISR (acks=all) up to `offsets.commit.timeout.ms`.
    async fn append(&self, partition: i32, records: Vec<(Bytes, Option<Bytes>)>) -> ErrorCode {
        if records.is_empty() {
            return error::NONE;
        }
        let batch = match gmm::build_batch(&records, now_ms()) {
            Ok(b) => b,
            Err(e) => {
                log::error!("cannot build a __consumer_offsets batch: {e}");
                return error::UNKNOWN_SERVER_ERROR;
            }
        };
        let tp = TopicPartition::new(GROUP_METADATA_TOPIC_NAME, partition);
        let timeout = Duration::from_millis(self.offset_config.offset_commit_timeout_ms as u64);
        let results = self.replica_manager.append_records(timeout, -1, vec![(tp, Some(batch))]).await;
        results.into_iter().next().map_or(error::UNKNOWN_SERVER_ERROR, |(_, r)| r.error)
    }

    fn tick_all(self: &Arc<Self>) {
        let now = now_ms();
        let mut g = self.lock();
        let ids: Vec<String> = g.groups.keys().cloned().collect();
        for id in ids {
            let fx = match g.groups.get_mut(&id) {
                Some(grp) => grp.tick(now),
                None => continue,
            };
            if !fx.is_empty() {
                self.process(&mut g, &id, fx);
            }
        }
    }

    // ------------------------------------------------------------------ loading

    async fn load_partition(self: &Arc<Self>, partition: i32, epoch: i32) {
        let tp = TopicPartition::new(GROUP_METADATA_TOPIC_NAME, partition);
        let started = std::time::Instant::now();
        let mut loaded = LoadedPartition::default();
        if let Some(p) = self.replica_manager.get_partition(&tp) {
            let mut offset = p.log_start_offset();
            loop {
                let end = p.log_end_offset();
                if offset >= end {
                    break;
                }
                let data = match p.read_local(offset, 4 << 20) {
                    Ok(d) => d,
                    Err(e) => {
                        log::error!("loading {tp} failed at offset {offset}: {e}");
                        break;
                    }
                };
                if data.is_empty() {
                    break;
                }
                match loaded.replay(data) {
                    Ok(next) if next > offset => offset = next,
                    Ok(_) => break,
                    Err(e) => {
                        log::error!("loading {tp} failed at offset {offset}: {e}");
                        break;
                    }
                }
            }
        }
        let now = now_ms();
        let mut g = self.lock();
        if g.partitions.get(&partition) != Some(&PartitionStatus::Loading(epoch)) {
            return;
        }
        let pending = std::mem::take(&mut loaded.pending_txn);
        for (pid, by_group) in &pending {
            for group in by_group.keys() {
                loaded.offsets.entry(group.clone()).or_default();
            }
            let _ = pid;
        }
        let groups = loaded.into_groups(now);
        let n = groups.len();
        for grp in groups {
            g.groups.entry(grp.group_id.clone()).or_insert(grp);
        }
        for (pid, by_group) in pending {
            let e = g.pending_txn.entry(pid).or_default();
            for (group, offsets) in by_group {
                e.entry(group).or_default().extend(offsets);
            }
        }
        self.timer_wake.notify_one();
        g.partitions.insert(partition, PartitionStatus::Loaded(epoch));
        log::info!("[GroupCoordinator {}]: loaded {n} groups of {tp} (leader epoch {epoch}) in {} ms", self.broker_id, started.elapsed().as_millis());
    }

    fn unload_partition(&self, partition: i32) {
        let mut g = self.lock();
        if g.partitions.remove(&partition).is_none() {
            return;
        }
        let ids: Vec<String> = g.groups.keys().filter(|id| self.partition_for(id) == partition).cloned().collect();
        for id in &ids {
            let fx = g.groups.get_mut(id).map(|grp| grp.unload(error::NOT_COORDINATOR)).unwrap_or_default();
            Self::deliver(&mut g, fx);
            g.groups.remove(id);
        }
        let n = self.offset_config.offsets_topic_num_partitions;
        for by_group in g.pending_txn.values_mut() {
            by_group.retain(|group, _| gmm::partition_for(group, n) != partition);
        }
        g.pending_txn.retain(|_, by_group| !by_group.is_empty());
        log::info!("[GroupCoordinator {}]: unloaded {} groups of {GROUP_METADATA_TOPIC_NAME}-{partition}", self.broker_id, ids.len());
    }

    // ------------------------------------------------------------------ APIs

    pub async fn join_group(self: &Arc<Self>, group_id: &str, req: JoinRequest) -> JoinResult {
        let rx = {
            let mut g = self.lock();
            if let Some(e) = Self::check_partition(&g, self.partition_for(group_id)) {
                return JoinResult::error(&req.member_id, e);
            }
            if group_id.is_empty() {
                return JoinResult::error(&req.member_id, error::INVALID_GROUP_ID);
            }
            if !g.groups.contains_key(group_id) {
                if !req.member_id.is_empty() {
                    return JoinResult::error(&req.member_id, error::UNKNOWN_MEMBER_ID);
                }
                g.groups.insert(group_id.to_string(), GroupMetadata::new(group_id, now_ms()));
            }
            let id = self.next_request.fetch_add(1, Ordering::Relaxed);
            let (tx, rx) = oneshot::channel();
            g.join_waiters.insert(id, tx);
            let member_id = req.member_id.clone();
            let fx = match g.groups.get_mut(group_id) {
                Some(grp) => grp.join(req, id, &self.group_config, now_ms()),
                None => vec![Effect::Join(id, JoinResult::error(&member_id, error::UNKNOWN_MEMBER_ID))],
            };
            self.process(&mut g, group_id, fx);
            rx
        };
        rx.await.unwrap_or_else(|_| JoinResult::error("", error::NOT_COORDINATOR))
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn sync_group(
        self: &Arc<Self>,
        group_id: &str,
        generation_id: i32,
        member_id: &str,
        group_instance_id: Option<&str>,
        protocol_type: Option<&str>,
        protocol_name: Option<&str>,
        assignments: BTreeMap<String, Bytes>,
    ) -> SyncResult {
        let rx = {
            let mut g = self.lock();
            match Self::check_partition(&g, self.partition_for(group_id)) {
                Some(error::COORDINATOR_LOAD_IN_PROGRESS) => return SyncResult::error(error::REBALANCE_IN_PROGRESS),
                Some(e) => return SyncResult::error(e),
                None => {}
            }
            let id = self.next_request.fetch_add(1, Ordering::Relaxed);
            let (tx, rx) = oneshot::channel();
            g.sync_waiters.insert(id, tx);
            let fx = match g.groups.get_mut(group_id) {
                Some(grp) => grp.sync(member_id, group_instance_id, generation_id, protocol_type, protocol_name, assignments, id, now_ms()),
                None => vec![Effect::Sync(id, SyncResult::error(error::UNKNOWN_MEMBER_ID))],
            };
            self.process(&mut g, group_id, fx);
            rx
        };
        rx.await.unwrap_or_else(|_| SyncResult::error(error::NOT_COORDINATOR))
    }

    pub fn heartbeat(&self, group_id: &str, member_id: &str, group_instance_id: Option<&str>, generation_id: i32) -> ErrorCode {
        let mut g = self.lock();
        if let Some(e) = Self::check_partition(&g, self.partition_for(group_id)) {
            // A member of a loading group may keep its session (Kafka answers NONE).
            return if e == error::COORDINATOR_LOAD_IN_PROGRESS { error::NONE } else { e };
        }
        match g.groups.get_mut(group_id) {
            Some(grp) => grp.heartbeat(member_id, group_instance_id, generation_id, now_ms()),
            None => error::UNKNOWN_MEMBER_ID,
        }
    }

    /// Returns the group-level error and one error per member.
    pub fn leave_group(self: &Arc<Self>, group_id: &str, members: &[(String, Option<String>)]) -> (ErrorCode, Vec<ErrorCode>) {
        let mut g = self.lock();
        if let Some(e) = Self::check_partition(&g, self.partition_for(group_id)) {
            return (e, Vec::new());
        }
        let Some(grp) = g.groups.get_mut(group_id) else {
            return (error::NONE, vec![error::UNKNOWN_MEMBER_ID; members.len()]);
        };
        let (errors, fx) = grp.leave(members, now_ms());
        self.process(&mut g, group_id, fx);
        (error::NONE, errors)
    }

    /// OffsetCommit: validates membership, appends the offset records and
    /// applies them once written. Returns one error per partition.
    pub async fn commit_offsets(
        self: &Arc<Self>,
        group_id: &str,
        member_id: &str,
        group_instance_id: Option<&str>,
        generation_id: i32,
        offsets: Vec<(TopicPartition, OffsetAndMetadata)>,
    ) -> Vec<(TopicPartition, ErrorCode)> {
        let all = |e: ErrorCode, offsets: &[(TopicPartition, OffsetAndMetadata)]| offsets.iter().map(|(tp, _)| (tp.clone(), e)).collect();
        {
            let mut g = self.lock();
            if let Some(e) = Self::check_partition(&g, self.partition_for(group_id)) {
                return all(e, &offsets);
            }
            if !g.groups.contains_key(group_id) {
                if generation_id >= 0 {
                    return all(error::ILLEGAL_GENERATION, &offsets);
                }
                g.groups.insert(group_id.to_string(), GroupMetadata::new(group_id, now_ms()));
            }
            let Some(grp) = g.groups.get_mut(group_id) else { return all(error::UNKNOWN_MEMBER_ID, &offsets) };
            if let Err(e) = grp.validate_commit(member_id, group_instance_id, generation_id, now_ms()) {
                return all(e, &offsets);
            }
        }
        let mut results = Vec::with_capacity(offsets.len());
        let mut records = Vec::new();
        let mut to_apply = Vec::new();
        for (tp, o) in offsets {
            if o.metadata.len() > self.offset_config.max_metadata_size {
                results.push((tp, error::OFFSET_METADATA_TOO_LARGE));
            } else {
                records.push((gmm::offset_commit_key(group_id, &tp), Some(gmm::offset_commit_value(&o))));
                to_apply.push((tp, o));
            }
        }
        let code = map_store_error(self.append(self.partition_for(group_id), records).await);
        if code == error::NONE {
            let mut g = self.lock();
            if let Some(grp) = g.groups.get_mut(group_id) {
                for (tp, o) in &to_apply {
                    grp.offsets.insert(tp.clone(), o.clone());
                }
            }
        }
        results.extend(to_apply.into_iter().map(|(tp, _)| (tp, code)));
        results
    }

    /// TxnOffsetCommit: checks the group metadata of KIP-447, appends the
    /// offsets as a transactional batch of the producer (so that the
    /// transaction's marker lands after them in `__consumer_offsets`), and
    /// keeps them pending until `handle_txn_completion`. Returns one error
    /// per partition. Maps to `GroupCoordinator.handleTxnCommitOffsets`.
    #[allow(clippy::too_many_arguments)]
    pub async fn commit_txn_offsets(
        self: &Arc<Self>,
        group_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        member_id: &str,
        group_instance_id: Option<&str>,
        generation_id: i32,
        offsets: Vec<(TopicPartition, OffsetAndMetadata)>,
    ) -> Vec<(TopicPartition, ErrorCode)> {
        let all = |e: ErrorCode, offsets: &[(TopicPartition, OffsetAndMetadata)]| offsets.iter().map(|(tp, _)| (tp.clone(), e)).collect();
        {
            let mut g = self.lock();
            if let Some(e) = Self::check_partition(&g, self.partition_for(group_id)) {
                return all(e, &offsets);
            }
            if group_id.is_empty() {
                return all(error::INVALID_GROUP_ID, &offsets);
            }
            let grp = g.groups.entry(group_id.to_string()).or_insert_with(|| GroupMetadata::new(group_id, now_ms()));
            if let Err(e) = grp.validate_txn_commit(member_id, group_instance_id, generation_id) {
                return all(e, &offsets);
            }
        }
        let mut results = Vec::with_capacity(offsets.len());
        let mut records = Vec::new();
        let mut to_apply = Vec::new();
        for (tp, o) in offsets {
            if o.metadata.len() > self.offset_config.max_metadata_size {
                results.push((tp, error::OFFSET_METADATA_TOO_LARGE));
            } else {
                records.push((gmm::offset_commit_key(group_id, &tp), Some(gmm::offset_commit_value(&o))));
                to_apply.push((tp, o));
            }
        }
        if !to_apply.is_empty() {
            // Pending before the append (Kafka's `prepareTxnOffsetCommit`):
            // the producer's transaction may end (a fenced producer's abort)
            // while the append waits for the ISR, and its marker must then
            // find and drop these offsets.
            let mut g = self.lock();
            let pending = g.pending_txn.entry(producer_id).or_default().entry(group_id.to_string()).or_default();
            for (tp, o) in &to_apply {
                pending.insert(tp.clone(), o.clone());
            }
            for (tp, _) in &to_apply {
                g.txn_appending.insert((producer_id, group_id.to_string(), tp.clone()));
            }
        }
        let code = if records.is_empty() {
            error::NONE
        } else {
            let mut b = crate::protocol::records::RecordBatchBuilder::new(crate::protocol::compression::Compression::None)
                .producer(producer_id, producer_epoch, 0)
                .transactional(true);
            let now = now_ms();
            for (k, v) in &records {
                b.append(now, Some(k), v.as_deref(), &[]);
            }
            match b.build() {
                Ok(batch) => {
                    let tp = TopicPartition::new(GROUP_METADATA_TOPIC_NAME, self.partition_for(group_id));
                    let timeout = Duration::from_millis(self.offset_config.offset_commit_timeout_ms as u64);
                    let results = self
                        .replica_manager
                        .append_records_with_origin(timeout, -1, vec![(tp, Some(batch))], crate::protocol::records::AppendOrigin::Coordinator)
                        .await;
                    let code = results.into_iter().next().map_or(error::UNKNOWN_SERVER_ERROR, |(_, r)| r.error);
                    if code != error::NONE {
                        log::info!(
                            "[GroupCoordinator {}]: transactional offsets of group {group_id} (producer {producer_id}, epoch {producer_epoch}) not stored: {}",
                            self.broker_id,
                            error::error_name(code)
                        );
                    }
                    map_store_error(code)
                }
                Err(e) => {
                    log::error!("cannot build a __consumer_offsets batch: {e}");
                    error::UNKNOWN_SERVER_ERROR
                }
            }
        };
        if !to_apply.is_empty() {
            // Kafka's `onTxnOffsetCommitAppend` / `failedTxnOffsetCommitAppend`.
            let mut g = self.lock();
            let g = &mut *g;
            for (tp, o) in &to_apply {
                if !g.txn_appending.remove(&(producer_id, group_id.to_string(), tp.clone())) {
                    continue; // the transaction ended meanwhile
                }
                if code != error::NONE {
                    if let Some(by_group) = g.pending_txn.get_mut(&producer_id) {
                        if let Some(pending) = by_group.get_mut(group_id) {
                            if pending.get(tp) == Some(o) {
                                pending.remove(tp);
                            }
                            if pending.is_empty() {
                                by_group.remove(group_id);
                            }
                        }
                        if by_group.is_empty() {
                            g.pending_txn.remove(&producer_id);
                        }
                    }
                }
            }
        }
        results.extend(to_apply.into_iter().map(|(tp, _)| (tp, code)));
        results
    }

    /// A transaction's marker reached the `__consumer_offsets` partitions
    /// `offsets_partitions`: the offsets `producer_id` committed in it for
    /// groups of those partitions become the groups' committed offsets
    /// (`commit`) or are dropped. Called by the WriteTxnMarkers handler once
    /// the marker is written. Maps to `GroupMetadataManager.handleTxnCompletion`.
    pub fn handle_txn_completion(&self, producer_id: i64, offsets_partitions: &[i32], commit: bool) {
        let mut g = self.lock();
        let Some(mut by_group) = g.pending_txn.remove(&producer_id) else { return };
        let mut done = Vec::new();
        for (group, _) in by_group.iter() {
            if offsets_partitions.contains(&self.partition_for(group)) {
                done.push(group.clone());
            }
        }
        for group in done {
            let Some(offsets) = by_group.remove(&group) else { continue };
            // Offsets whose append has not finished are dropped, never
            // committed (Kafka's `completePendingTxnOffsetCommit`).
            let offsets: Vec<_> =
                offsets.into_iter().filter(|(tp, _)| !g.txn_appending.remove(&(producer_id, group.clone(), tp.clone()))).collect();
            if commit {
                let grp = g.groups.entry(group.clone()).or_insert_with(|| GroupMetadata::new(&group, now_ms()));
                grp.offsets.extend(offsets);
            }
        }
        if !by_group.is_empty() {
            g.pending_txn.insert(producer_id, by_group);
        }
    }

    /// Whether a transaction holds uncommitted offsets for `tp` of the group
    /// (OffsetFetch with `require_stable` answers UNSTABLE_OFFSET_COMMIT).
    pub fn has_pending_txn_offsets(&self, group_id: &str, tp: &TopicPartition) -> bool {
        self.lock().pending_txn.values().any(|m| m.get(group_id).is_some_and(|o| o.contains_key(tp)))
    }

    /// OffsetFetch: committed offsets of `partitions` (all when `None`).
    pub fn fetch_offsets(
        &self,
        group_id: &str,
        partitions: Option<Vec<TopicPartition>>,
    ) -> Result<Vec<(TopicPartition, Option<OffsetAndMetadata>)>, ErrorCode> {
        let g = self.lock();
        if let Some(e) = Self::check_partition(&g, self.partition_for(group_id)) {
            return Err(e);
        }
        let offsets = g.groups.get(group_id).map(|grp| grp.offsets.clone()).unwrap_or_default();
        Ok(match partitions {
            None => offsets.into_iter().map(|(tp, o)| (tp, Some(o))).collect(),
            Some(tps) => tps.into_iter().map(|tp| {
                let o = offsets.get(&tp).cloned();
                (tp, o)
            }).collect(),
        })
    }

    /// ListGroups: (group id, protocol type, state) of every group served here.
    pub fn list_groups(&self, states: &[String]) -> (ErrorCode, Vec<(String, String, String)>) {
        let g = self.lock();
        let loading = g.partitions.values().any(|s| matches!(s, PartitionStatus::Loading(_)));
        let mut out: Vec<(String, String, String)> = g
            .groups
            .values()
            .filter(|grp| !grp.is(GroupState::Dead))
            .filter(|grp| states.is_empty() || states.iter().any(|s| s.eq_ignore_ascii_case(grp.state.name())))
            .map(|grp| (grp.group_id.clone(), grp.protocol_type.clone().unwrap_or_default(), grp.state.name().to_string()))
            .collect();
        out.sort();
        (if loading { error::COORDINATOR_LOAD_IN_PROGRESS } else { error::NONE }, out)
    }

    /// DescribeGroups of one group. Unknown groups are reported as Dead.
    pub fn describe_group(&self, group_id: &str) -> Result<GroupSummary, ErrorCode> {
        let g = self.lock();
        if let Some(e) = Self::check_partition(&g, self.partition_for(group_id)) {
            return Err(e);
        }
        let Some(grp) = g.groups.get(group_id) else {
            return Ok(GroupSummary { state: "Dead".into(), protocol_type: String::new(), protocol: String::new(), members: vec![] });
        };
        let stable = grp.is(GroupState::Stable);
        let protocol = grp.protocol_name.clone().unwrap_or_default();
        Ok(GroupSummary {
            state: grp.state.name().to_string(),
            protocol_type: grp.protocol_type.clone().unwrap_or_default(),
            protocol: if stable { protocol.clone() } else { String::new() },
            members: grp
                .members
                .values()
                .map(|m| {
                    let (md, asg) = if stable { (m.metadata_for(&protocol), m.assignment.clone()) } else { (Bytes::new(), Bytes::new()) };
                    (m.member_id.clone(), m.group_instance_id.clone(), m.client_id.clone(), m.client_host.clone(), md, asg)
                })
                .collect(),
        })
    }

    /// DeleteGroups of one group: only Empty groups; writes tombstones for
    /// its offsets and its metadata.
    pub async fn delete_group(self: &Arc<Self>, group_id: &str) -> ErrorCode {
        let records = {
            let mut g = self.lock();
            if let Some(e) = Self::check_partition(&g, self.partition_for(group_id)) {
                return e;
            }
            let Some(grp) = g.groups.get(group_id) else { return GROUP_ID_NOT_FOUND };
            match grp.state {
                GroupState::Dead => return GROUP_ID_NOT_FOUND,
                GroupState::Empty => {}
                _ => return NON_EMPTY_GROUP,
            }
            let mut records: Vec<(Bytes, Option<Bytes>)> =
                grp.offsets.keys().map(|tp| (gmm::offset_commit_key(group_id, tp), None)).collect();
            records.push((gmm::group_metadata_key(group_id), None));
            g.groups.remove(group_id);
            records
        };
        map_store_error(self.append(self.partition_for(group_id), records).await)
    }

    /// OffsetDelete: removes offsets of partitions the group does not
    /// subscribe to (all of them when the group is Empty).
    pub async fn delete_offsets(
        self: &Arc<Self>,
        group_id: &str,
        partitions: Vec<TopicPartition>,
    ) -> Result<Vec<(TopicPartition, ErrorCode)>, ErrorCode> {
        let (records, results) = {
            let mut g = self.lock();
            if let Some(e) = Self::check_partition(&g, self.partition_for(group_id)) {
                return Err(e);
            }
            let Some(grp) = g.groups.get_mut(group_id) else { return Err(GROUP_ID_NOT_FOUND) };
            if grp.is(GroupState::Dead) {
                return Err(GROUP_ID_NOT_FOUND);
            }
            let subscribed: Vec<String> = if grp.is(GroupState::Empty) {
                Vec::new()
            } else if grp.protocol_type.as_deref() == Some("consumer") {
                let protocol = grp.protocol_name.clone().unwrap_or_default();
                grp.members.values().flat_map(|m| subscribed_topics(&m.metadata_for(&protocol))).collect()
            } else {
                return Err(NON_EMPTY_GROUP);
            };
            let mut records = Vec::new();
            let mut results = Vec::new();
            for tp in partitions {
                if subscribed.contains(&tp.topic) {
                    results.push((tp, error::GROUP_SUBSCRIBED_TO_TOPIC));
                } else {
                    if grp.offsets.remove(&tp).is_some() {
                        records.push((gmm::offset_commit_key(group_id, &tp), None));
                    }
                    results.push((tp, error::NONE));
                }
            }
            (records, results)
        };
        let code = map_store_error(self.append(self.partition_for(group_id), records).await);
        if code != error::NONE {
            return Err(code);
        }
        Ok(results)
    }

    /// Removes expired offsets of Empty groups, and Empty groups left with
    /// no offsets (writing tombstones for both).
    async fn expire_offsets(self: Arc<Self>) {
        let now = now_ms();
        let mut by_partition: HashMap<i32, Vec<(Bytes, Option<Bytes>)>> = HashMap::new();
        {
            let mut g = self.lock();
            let loaded: Vec<i32> =
                g.partitions.iter().filter(|(_, s)| matches!(s, PartitionStatus::Loaded(_))).map(|(p, _)| *p).collect();
            let ids: Vec<String> = g.groups.keys().cloned().collect();
            for id in ids {
                let p = self.partition_for(&id);
                if !loaded.contains(&p) {
                    continue;
                }
                let Some(grp) = g.groups.get_mut(&id) else { continue };
                let expired = grp.remove_expired_offsets(now, self.offset_config.offsets_retention_ms);
                let recs = by_partition.entry(p).or_default();
                for tp in &expired {
                    recs.push((gmm::offset_commit_key(&id, tp), None));
                }
                if grp.is(GroupState::Empty) && grp.offsets.is_empty() {
                    recs.push((gmm::group_metadata_key(&id), None));
                    g.groups.remove(&id);
                }
                if !expired.is_empty() {
                    log::info!("[GroupMetadataManager {}]: removed {} expired offsets of group {id}", self.broker_id, expired.len());
                }
            }
        }
        for (p, recs) in by_partition {
            let code = self.append(p, recs).await;
            if code != error::NONE {
                log::warn!("writing offset-expiry tombstones to {GROUP_METADATA_TOPIC_NAME}-{p} failed: {}", error::error_name(code));
            }
        }
    }
}

/// How long the group timer sleeps before the deadline `next` (at most a
/// second, so that a missed wake-up costs little).
pub fn timer_wait(next: i64, now: i64) -> Duration {
    Duration::from_millis(next.saturating_sub(now).clamp(0, 1000) as u64)
}

/// The topics of a ConsumerProtocol subscription (int16 version, [topic]...).
pub fn subscribed_topics(subscription: &[u8]) -> Vec<String> {
    let mut r = crate::protocol::Reader::new(Bytes::copy_from_slice(subscription));
    let Ok(_version) = r.i16() else { return Vec::new() };
    r.array(false, |r| r.string(false)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stable_group_with_member(deadline: i64) -> GroupMetadata {
        use crate::coordinator::group_metadata::MemberMetadata;
        let mut g = GroupMetadata::new("g", 0);
        g.protocol_type = Some("consumer".into());
        g.protocol_name = Some("range".into());
        g.generation_id = 3;
        g.members.insert(
            "m".into(),
            MemberMetadata {
                member_id: "m".into(),
                group_instance_id: Some("i".into()),
                client_id: "c".into(),
                client_host: "/h".into(),
                rebalance_timeout_ms: 300,
                session_timeout_ms: 100,
                protocol_type: "consumer".into(),
                protocols: vec![("range".into(), Bytes::new())],
                assignment: Bytes::new(),
                awaiting_join: None,
                awaiting_sync: None,
                heartbeat_deadline: deadline,
                is_new: false,
            },
        );
        g.static_members.insert("i".into(), "m".into());
        g.state = GroupState::Stable;
        g
    }

    #[test]
    fn a_member_is_removed_at_its_session_deadline() {
        let mut g = stable_group_with_member(1000);
        // the timer wakes exactly at the member's deadline ...
        assert_eq!(g.next_deadline(), 1000);
        assert_eq!(timer_wait(g.next_deadline(), 900), Duration::from_millis(100));
        // ... where the member is gone, not one sweep later
        g.tick(999);
        assert!(g.members.contains_key("m"));
        g.tick(1000);
        assert!(!g.members.contains_key("m"));
    }

    #[test]
    fn txn_offset_commit_checks_of_kip_447() {
        let g = stable_group_with_member(i64::MAX);
        assert_eq!(g.validate_txn_commit("m", Some("i"), 3), Ok(()));
        assert_eq!(g.validate_txn_commit("m", None, 2), Err(error::ILLEGAL_GENERATION));
        assert_eq!(g.validate_txn_commit("x", None, 3), Err(error::UNKNOWN_MEMBER_ID));
        assert_eq!(g.validate_txn_commit("x", Some("i"), 3), Err(error::FENCED_INSTANCE_ID));
        // older clients: no member id, no generation
        assert_eq!(g.validate_txn_commit("", None, -1), Ok(()));
    }

    #[test]
    fn the_timer_sleeps_until_the_deadline() {
        assert_eq!(timer_wait(1_000_250, 1_000_000), Duration::from_millis(250));
        assert_eq!(timer_wait(1_000_000, 1_000_000), Duration::ZERO);
        assert_eq!(timer_wait(999_000, 1_000_000), Duration::ZERO);
        assert_eq!(timer_wait(i64::MAX, 1_000_000), Duration::from_millis(1000));
    }
}
