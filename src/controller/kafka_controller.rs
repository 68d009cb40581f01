//! KafkaController (Kafka's `kafka.controller.KafkaController`): every broker
//! starts one after registering; it watches `/controller`, competes in the
//! election, and while active rebuilds the ControllerContext from ZooKeeper and
//! reacts to broker and topic changes by driving the state machines and
//! sending LeaderAndIsr / UpdateMetadata to brokers. All work runs on one task
//! fed by the ControllerEventManager queue.

use super::channel_manager::{ControllerBrokerRequestBatch, ControllerChannelManager};
use super::controller_context::ControllerContext;
use super::election::{self, ElectionStrategy, PartitionLeadership};
use super::event_manager::{ControllerEvent, ControllerEventManager, ElectionType, ReassignmentListing};
use super::reassignment::{self, Effect, PartitionView};
use super::partition_state_machine::{self as psm, PartitionState};
use super::replica_state_machine::{self as rsm, ReplicaState};
use super::ControllerConfig;
use crate::common::TopicPartition;
use crate::zk::kafka_zk_client::{KafkaZkClient, ZkError};
use crate::zk::zk_data::*;
use super::event_log::Kind;
use log::{error, info, warn};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use crate::protocol::error as codes;
use crate::protocol::ErrorCode;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use zookeeper_client::{EventType, OneshotWatcher};

/// What the broker can ask its controller at any time, without the queue.
#[derive(Debug)]
struct Shared {
    active: AtomicBool,
    /// -1 when unknown.
    active_controller_id: AtomicI32,
    epoch: AtomicI32,
    broker_epoch: AtomicI64,
    /// The broker default of `unclean.leader.election.enable` as it stands
    /// now (server.properties, then dynamic broker configs).
    unclean_default: AtomicBool,
}

/// Handle to the controller of one broker. Cheap to clone.
#[derive(Clone)]
pub struct KafkaController {
    shared: Arc<Shared>,
    events: ControllerEventManager,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
    broker_id: i32,
}

impl std::fmt::Debug for KafkaController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaController").field("broker_id", &self.broker_id).field("shared", &self.shared).finish()
    }
}

impl KafkaController {
    /// Starts the controller of a broker that has registered `broker_info`
    /// (with `broker_epoch` from `register_broker`). It elects itself if no
    /// controller exists; after a ZooKeeper session expiry it re-registers the
    /// broker itself (see `broker_epoch`) and runs for controller again.
    pub fn startup(zk: KafkaZkClient, broker_info: BrokerInfo, broker_epoch: i64, config: ControllerConfig) -> KafkaController {
        let (events, rx) = ControllerEventManager::new();
        let shared = Arc::new(Shared {
            active: AtomicBool::new(false),
            active_controller_id: AtomicI32::new(-1),
            epoch: AtomicI32::new(0),
            broker_epoch: AtomicI64::new(broker_epoch),
            unclean_default: AtomicBool::new(config.unclean_leader_election_enable),
        });
        let config = Arc::new(config);
        let broker_id = config.broker_id;
        // Session re-initialisations become events.
        let mut sessions = zk.subscribe_session_reinit();
        let ev = events.clone();
        tokio::spawn(async move {
            while sessions.changed().await.is_ok() {
                ev.put(ControllerEvent::SessionReinitialized);
            }
        });
        let process = ControllerProcess {
            channel: ControllerChannelManager::new(config.clone(), events.clone()),
            zk,
            config,
            broker_info,
            shared: shared.clone(),
            ctx: ControllerContext::default(),
            events: events.clone(),
            rebalance_task: None,
        };
        events.put(ControllerEvent::Startup);
        let task = tokio::spawn(process.run(rx));
        KafkaController { shared, events, task: Arc::new(Mutex::new(Some(task))), broker_id }
    }

    /// True while this broker is the active controller.
    pub fn is_active(&self) -> bool {
        self.shared.active.load(Ordering::SeqCst)
    }

    /// A new broker default of `unclean.leader.election.enable` (a dynamic
    /// broker config). Turned on, the active controller elects out-of-sync
    /// leaders for offline partitions of topics that do not override it
    /// (Kafka's `enableDefaultUncleanLeaderElection` / `UncleanLeaderElectionEnable`).
    pub fn set_default_unclean_leader_election(&self, enabled: bool) {
        let before = self.shared.unclean_default.swap(enabled, Ordering::SeqCst);
        if before != enabled {
            self.events.put(ControllerEvent::UncleanLeaderElectionEnable);
        }
    }

    /// A topic's `unclean.leader.election.enable` was set to true: the active
    /// controller tries its offline partitions again (Kafka's
    /// `enableTopicUncleanLeaderElection` / `TopicUncleanLeaderElectionEnable`).
    pub fn enable_topic_unclean_leader_election(&self, topic: &str) {
        self.events.put(ControllerEvent::TopicUncleanLeaderElectionEnable(topic.to_string()));
    }

    /// The active controller's broker id as last seen in `/controller`.
    pub fn active_controller_id(&self) -> Option<i32> {
        let id = self.shared.active_controller_id.load(Ordering::SeqCst);
        (id >= 0).then_some(id)
    }

    /// The epoch this controller holds (meaningful while active).
    pub fn epoch(&self) -> i32 {
        self.shared.epoch.load(Ordering::SeqCst)
    }

    /// This broker's current epoch (czxid of its registration; changes after a
    /// session expiry forces re-registration).
    pub fn broker_epoch(&self) -> i64 {
        self.shared.broker_epoch.load(Ordering::SeqCst)
    }

    /// Kafka's controlled shutdown, run on the controller's event queue for the
    /// ControlledShutdown API: moves leadership of `broker_id`'s replicated
    /// partitions to other in-sync replicas (ControlledShutdown election),
    /// takes it out of the ISR of the partitions it follows (StopReplica with
    /// delete=false to it), and returns the replicated partitions it still
    /// leads (no other live in-sync replica; the broker retries while this is
    /// not empty). Partitions with one replica cannot move and are not listed.
    /// Errors: NOT_CONTROLLER when this broker is not the active controller,
    /// STALE_BROKER_EPOCH for an epoch older than the registration the
    /// controller knows, BROKER_NOT_AVAILABLE for an unknown broker.
    pub async fn controlled_shutdown(&self, broker_id: i32, broker_epoch: i64) -> std::result::Result<Vec<TopicPartition>, ErrorCode> {
        if !self.is_active() {
            return Err(codes::NOT_CONTROLLER);
        }
        let (reply, rx) = oneshot::channel();
        self.events.put(ControllerEvent::ControlledShutdown { broker_id, broker_epoch, reply });
        // A dropped reply means the controller resigned or stopped first.
        rx.await.unwrap_or(Err(codes::NOT_CONTROLLER))
    }

    /// AlterPartitionReassignments (Kafka's `KafkaController.alterPartitionReassignments`):
    /// per partition a target replica list, or `None` to cancel its
    /// reassignment. Per-partition result code and message; NOT_CONTROLLER
    /// when this broker is not the active controller.
    pub async fn alter_partition_reassignments(
        &self,
        reassignments: BTreeMap<TopicPartition, Option<Vec<i32>>>,
    ) -> std::result::Result<BTreeMap<TopicPartition, (ErrorCode, Option<String>)>, ErrorCode> {
        if !self.is_active() {
            return Err(codes::NOT_CONTROLLER);
        }
        let (reply, rx) = oneshot::channel();
        self.events.put(ControllerEvent::ApiPartitionReassignment { reassignments, reply });
        rx.await.unwrap_or(Err(codes::NOT_CONTROLLER))
    }

    /// ListPartitionReassignments: the named partitions (or all) that are
    /// being reassigned, with (replicas, adding, removing).
    pub async fn list_partition_reassignments(
        &self,
        partitions: Option<Vec<TopicPartition>>,
    ) -> std::result::Result<BTreeMap<TopicPartition, ReassignmentListing>, ErrorCode> {
        if !self.is_active() {
            return Err(codes::NOT_CONTROLLER);
        }
        let (reply, rx) = oneshot::channel();
        self.events.put(ControllerEvent::ListPartitionReassignments { partitions, reply });
        rx.await.unwrap_or(Err(codes::NOT_CONTROLLER))
    }

    /// ElectLeaders (Kafka's `KafkaController.electLeaders`): PREFERRED or
    /// UNCLEAN election of the named partitions (None = all), with Kafka's
    /// per-partition codes (NONE, ELECTION_NOT_NEEDED,
    /// PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE,
    /// UNKNOWN_TOPIC_OR_PARTITION, INVALID_TOPIC_EXCEPTION).
    pub async fn elect_leaders(
        &self,
        election_type: ElectionType,
        partitions: Option<Vec<TopicPartition>>,
    ) -> std::result::Result<BTreeMap<TopicPartition, (ErrorCode, Option<String>)>, ErrorCode> {
        if !self.is_active() {
            return Err(codes::NOT_CONTROLLER);
        }
        let (reply, rx) = oneshot::channel();
        self.events.put(ControllerEvent::ReplicaLeaderElection { election_type, partitions, reply });
        rx.await.unwrap_or(Err(codes::NOT_CONTROLLER))
    }

    /// Enqueues an event (used by tests and by broker-side triggers).
    pub fn put_event(&self, event: ControllerEvent) {
        self.events.put(event);
    }

    /// Resigns if active and stops the event loop.
    pub async fn shutdown(&self) {
        self.events.put(ControllerEvent::Shutdown);
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = task {
            let _ = t.await;
        }
        info!("Controller of broker {} shut down", self.broker_id);
    }
}

struct ControllerProcess {
    zk: KafkaZkClient,
    config: Arc<ControllerConfig>,
    broker_info: BrokerInfo,
    shared: Arc<Shared>,
    ctx: ControllerContext,
    channel: ControllerChannelManager,
    events: ControllerEventManager,
    /// The periodic imbalance check, while active with `auto.leader.rebalance.enable`.
    rebalance_task: Option<JoinHandle<()>>,
}

type Result<T> = std::result::Result<T, ZkError>;

/// The API error code for a ZooKeeper failure while serving an admin request.
fn zk_error_code(e: &ZkError) -> ErrorCode {
    if matches!(e, ZkError::ControllerMoved(_)) {
        codes::NOT_CONTROLLER
    } else {
        codes::UNKNOWN_SERVER_ERROR
    }
}

impl ControllerProcess {
    fn me(&self) -> i32 {
        self.config.broker_id
    }

    fn is_active(&self) -> bool {
        self.shared.active.load(Ordering::SeqCst)
    }

    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<ControllerEvent>) {
        while let Some(event) = rx.recv().await {
            if matches!(event, ControllerEvent::Shutdown) {
                if self.is_active() {
                    self.on_controller_resignation();
                }
                break;
            }
            let name = format!("{event:?}");
            crate::record_event!(Kind::Event, "ControllerEventManager", "Processing {}{}", event_name(&event), if self.is_active() { "" } else { " (not the active controller)" });
            let timer = crate::server::metrics::controller_metrics::event_started(&event, rx.len());
            let result = self.process(event).await;
            timer.done(&self.ctx, self.is_active(), rx.len());
            if let Err(e) = result {
                match e {
                    ZkError::ControllerMoved(m) => {
                        warn!("Controller {} moved while processing {name}: {m}", self.me());
                        self.maybe_resign().await;
                    }
                    e => error!("Controller {} failed processing {name}: {e}", self.me()),
                }
            }
        }
    }

    async fn process(&mut self, event: ControllerEvent) -> Result<()> {
        match event {
            ControllerEvent::Startup => {
                self.watch_controller().await?;
                self.elect().await
            }
            ControllerEvent::ControllerChange => {
                self.maybe_resign().await;
                Ok(())
            }
            ControllerEvent::Reelect => {
                let was_active = self.is_active();
                self.watch_controller().await?;
                if was_active && self.shared.active_controller_id.load(Ordering::SeqCst) != self.me() {
                    self.on_controller_resignation();
                }
                self.elect().await
            }
            ControllerEvent::SessionReinitialized => {
                if self.is_active() {
                    self.on_controller_resignation();
                }
                self.broker_info.timestamp = crate::common::now_ms();
                match self.zk.register_broker(&self.broker_info).await {
                    Ok(epoch) => {
                        crate::record_event!(Kind::Broker, "KafkaController (RegisterBrokerAndReelect)", "ZooKeeper session expired; re-registered /brokers/ids/{} with new broker epoch {epoch}", self.me());
                        self.shared.broker_epoch.store(epoch, Ordering::SeqCst)
                    }
                    Err(e) => error!("Re-registering broker {} after session expiry failed: {e}", self.me()),
                }
                self.watch_controller().await?;
                self.elect().await
            }
            ControllerEvent::ControlledShutdown { broker_id, broker_epoch, reply } => {
                if !self.is_active() {
                    let _ = reply.send(Err(codes::NOT_CONTROLLER));
                    return Ok(());
                }
                // The reply is sent from inside; on an error before it, here.
                let mut reply = Some(reply);
                match self.process_controlled_shutdown(broker_id, broker_epoch, &mut reply).await {
                    Ok(()) => Ok(()),
                    Err(e) => {
                        let code = if matches!(e, ZkError::ControllerMoved(_)) { codes::NOT_CONTROLLER } else { codes::UNKNOWN_SERVER_ERROR };
                        if let Some(reply) = reply.take() {
                            let _ = reply.send(Err(code));
                        }
                        Err(e)
                    }
                }
            }
            ControllerEvent::ApiPartitionReassignment { reassignments, reply } => {
                if !self.is_active() {
                    let _ = reply.send(Err(codes::NOT_CONTROLLER));
                    return Ok(());
                }
                let r = self.process_api_partition_reassignment(reassignments).await;
                let _ = reply.send(match &r { Ok(m) => Ok(m.clone()), Err(e) => Err(zk_error_code(e)) });
                r.map(|_| ())
            }
            ControllerEvent::ListPartitionReassignments { partitions, reply } => {
                if !self.is_active() {
                    let _ = reply.send(Err(codes::NOT_CONTROLLER));
                    return Ok(());
                }
                let _ = reply.send(Ok(self.list_partition_reassignments(partitions)));
                Ok(())
            }
            ControllerEvent::ReplicaLeaderElection { election_type, partitions, reply } => {
                if !self.is_active() {
                    let _ = reply.send(Err(codes::NOT_CONTROLLER));
                    return Ok(());
                }
                let r = self.process_replica_leader_election(election_type, partitions).await;
                let _ = reply.send(match &r { Ok(m) => Ok(m.clone()), Err(e) => Err(zk_error_code(e)) });
                r.map(|_| ())
            }
            _ if !self.is_active() => Ok(()),
            ControllerEvent::ZkPartitionReassignment { created } => self.process_zk_partition_reassignment_event(created).await,
            ControllerEvent::PartitionReassignmentIsrChange(tp) => self.process_partition_reassignment_isr_change(tp).await,
            ControllerEvent::PreferredReplicaElection => self.process_preferred_replica_election_znode().await,
            ControllerEvent::UncleanLeaderElectionEnable => self.process_unclean_leader_election_enable(None).await,
            ControllerEvent::TopicUncleanLeaderElectionEnable(t) => self.process_unclean_leader_election_enable(Some(&t)).await,
            ControllerEvent::AutoPreferredReplicaLeaderElection => self.process_auto_preferred_replica_leader_election().await,
            ControllerEvent::BrokerChange => self.process_broker_change().await,
            ControllerEvent::BrokerModifications(id) => self.process_broker_modification(id).await,
            ControllerEvent::TopicChange => self.process_topic_change().await,
            ControllerEvent::PartitionModifications(t) => self.process_partition_modifications(&t).await,
            ControllerEvent::IsrChangeNotification => self.process_isr_change_notification().await,
            ControllerEvent::TopicDeletion => self.process_topic_deletion().await,
            ControllerEvent::TopicDeletionStopReplicaResponseReceived { broker_id, error_code, partition_errors } => {
                self.process_topic_deletion_stop_replica_response(broker_id, error_code, partition_errors).await
            }
            ControllerEvent::LeaderAndIsrResponseReceived { broker_id, response } => {
                self.log_leader_and_isr_errors(broker_id, &response);
                Ok(())
            }
            ControllerEvent::Shutdown => Ok(()),
        }
    }

    /// One line per error code of a LeaderAndIsr response, naming a few of its
    /// partitions (v5 responses name topics by id). STALE_CONTROLLER_EPOCH is
    /// the broker's expected answer for a partition whose leader epoch it
    /// already has (a new controller re-sends every partition's state), so it
    /// is logged at info; other errors at warn.
    fn log_leader_and_isr_errors(&self, broker_id: i32, response: &crate::protocol::messages::leader_and_isr::LeaderAndIsrResponse) {
        let mut by_code: BTreeMap<i16, Vec<String>> = BTreeMap::new();
        for e in response.partition_errors.iter().filter(|e| e.error_code != 0) {
            by_code.entry(e.error_code).or_default().push(format!("{}-{}", e.topic_name, e.partition_index));
        }
        for t in &response.topics {
            let name = self.ctx.topic_ids.iter().find(|(_, id)| **id == t.topic_id).map(|(n, _)| n.as_str()).unwrap_or("?");
            for e in t.partition_errors.iter().filter(|e| e.error_code != 0) {
                by_code.entry(e.error_code).or_default().push(format!("{name}-{}", e.partition_index));
            }
        }
        for (code, parts) in by_code {
            let shown: Vec<&str> = parts.iter().take(5).map(String::as_str).collect();
            let more = if parts.len() > shown.len() { format!(" and {} more", parts.len() - shown.len()) } else { String::new() };
            let line = format!(
                "Broker {broker_id} answered LeaderAndIsr with {} for {} partition(s): {}{more}",
                crate::protocol::error::error_name(code),
                parts.len(),
                shown.join(", ")
            );
            if code == crate::protocol::error::STALE_CONTROLLER_EPOCH {
                info!("{line}");
            } else {
                warn!("{line}");
            }
        }
    }

    // ------------------------------------------------------------ watches

    fn spawn_watch(&self, watcher: OneshotWatcher, to_event: impl FnOnce(EventType) -> Option<ControllerEvent> + Send + 'static) {
        let events = self.events.clone();
        tokio::spawn(async move {
            let ev = watcher.changed().await;
            if ev.event_type == EventType::Session {
                return; // session loss: SessionReinitialized re-arms everything
            }
            if let Some(e) = to_event(ev.event_type) {
                crate::record_event!(Kind::Watch, "KafkaController (ZNodeChangeHandler)", "ZooKeeper watch fired: {:?} on {} → queued {}", ev.event_type, ev.path, event_name(&e));
                events.put(e);
            }
        });
    }

    /// (Re-)arms the `/controller` watch and records who is controller.
    async fn watch_controller(&mut self) -> Result<()> {
        let (stat, w) = self.zk.exists_and_watch(CONTROLLER_PATH).await?;
        self.spawn_watch(w, |t| match t {
            EventType::NodeDeleted => Some(ControllerEvent::Reelect),
            _ => Some(ControllerEvent::ControllerChange),
        });
        let id = if stat.is_some() { self.read_controller_id().await? } else { -1 };
        self.shared.active_controller_id.store(id, Ordering::SeqCst);
        Ok(())
    }

    async fn read_controller_id(&self) -> Result<i32> {
        match self.zk.get_controller_id().await {
            Ok(id) => Ok(id.unwrap_or(-1)),
            Err(ZkError::InvalidData { path, reason }) => {
                warn!("Unreadable {path}: {reason}");
                Ok(-1)
            }
            Err(e) => Err(e),
        }
    }

    async fn watch_children(&self, path: &str, event: fn() -> ControllerEvent) -> Result<Vec<String>> {
        let (children, w) = self.zk.get_children_and_watch(path).await?;
        self.spawn_watch(w, move |t| (t == EventType::NodeChildrenChanged).then(event));
        Ok(children)
    }

    async fn watch_broker(&self, id: i32) -> Result<()> {
        let (_, w) = self.zk.exists_and_watch(&broker_id_path(id)).await?;
        self.spawn_watch(w, move |ty| (ty == EventType::NodeDataChanged).then_some(ControllerEvent::BrokerModifications(id)));
        Ok(())
    }

    // ------------------------------------------------------------ election

    async fn elect(&mut self) -> Result<()> {
        let current = self.read_controller_id().await?;
        self.shared.active_controller_id.store(current, Ordering::SeqCst);
        if current != -1 {
            info!("Broker {current} has been elected as the controller, so stopping the election process.");
            return Ok(());
        }
        match self.zk.register_controller_and_increment_controller_epoch(self.me()).await {
            Ok((epoch, version)) => {
                self.ctx.epoch = epoch;
                self.ctx.epoch_zk_version = version;
                self.shared.epoch.store(epoch, Ordering::SeqCst);
                self.shared.active_controller_id.store(self.me(), Ordering::SeqCst);
                self.shared.active.store(true, Ordering::SeqCst);
                info!("Broker {} is the controller (epoch {epoch}); starting failover", self.me());
                crate::record_event!(Kind::Controller, "KafkaController", "Broker {} won the election: created /controller and set /controller_epoch to {epoch} (zkVersion {version}); starting failover", self.me());
                match self.on_controller_failover().await {
                    Ok(()) => Ok(()),
                    Err(ZkError::ControllerMoved(m)) => Err(ZkError::ControllerMoved(m)),
                    Err(e) => {
                        error!("Controller failover failed: {e}; resigning and forcing a new election");
                        self.trigger_controller_move().await;
                        Ok(())
                    }
                }
            }
            Err(ZkError::ControllerMoved(m)) => {
                info!("Broker {} lost the controller election: {m}", self.me());
                self.maybe_resign().await;
                Ok(())
            }
            Err(e) => {
                error!("Controller election by broker {} failed: {e}", self.me());
                Err(e)
            }
        }
    }

    /// Re-reads `/controller` (re-arming its watch); resigns if we were active and no longer are.
    async fn maybe_resign(&mut self) {
        let was_active = self.is_active();
        if let Err(e) = self.watch_controller().await {
            warn!("Could not re-read /controller: {e}");
        }
        let now = self.shared.active_controller_id.load(Ordering::SeqCst);
        if was_active && now != self.me() {
            self.on_controller_resignation();
        }
    }

    async fn trigger_controller_move(&mut self) {
        let v = self.ctx.epoch_zk_version;
        self.on_controller_resignation();
        if let Err(e) = self.zk.delete_controller(v).await {
            warn!("Could not delete /controller: {e}");
        }
    }

    fn on_controller_resignation(&mut self) {
        info!("Broker {} resigns as controller (epoch {})", self.me(), self.ctx.epoch);
        crate::record_event!(Kind::Controller, "KafkaController", "Broker {} resigns as controller (epoch {})", self.me(), self.ctx.epoch);
        self.shared.active.store(false, Ordering::SeqCst);
        if let Some(t) = self.rebalance_task.take() {
            t.abort();
        }
        self.channel.shutdown();
        self.ctx.reset();
    }

    // ------------------------------------------------------------ failover

    async fn on_controller_failover(&mut self) -> Result<()> {
        self.watch_children(BROKER_IDS_PATH, || ControllerEvent::BrokerChange).await?;
        self.watch_children(BROKER_TOPICS_PATH, || ControllerEvent::TopicChange).await?;
        let notifications = self.watch_children(ISR_CHANGE_NOTIFICATION_PATH, || ControllerEvent::IsrChangeNotification).await?;
        self.zk.delete_isr_change_notifications(self.ctx.epoch_zk_version, &notifications).await?;
        let pending_preferred_election = self.watch_preferred_replica_election().await?;
        let marked_for_deletion = self.watch_children(DELETE_TOPICS_PATH, || ControllerEvent::TopicDeletion).await?;
        self.ctx.unclean_leader_election_default = self.shared.unclean_default.load(Ordering::SeqCst);
        self.initialize_controller_context().await?;
        self.queue_topic_deletions(marked_for_deletion).await?;
        // Brokers learn every live endpoint before any leadership.
        let live: Vec<i32> = self.ctx.live_brokers.keys().copied().collect();
        self.send_update_metadata(&live, &[]);
        // Replica state machine startup.
        rsm::initialize_replica_states(&mut self.ctx);
        let online: Vec<(TopicPartition, i32)> = self
            .ctx
            .replica_states
            .iter()
            .filter(|(_, s)| **s == ReplicaState::OnlineReplica)
            .map(|(k, _)| k.clone())
            .collect();
        let mut batch = ControllerBrokerRequestBatch::new();
        rsm::handle_state_changes(&mut self.ctx, &self.zk, &mut batch, &online, ReplicaState::OnlineReplica).await?;
        self.send(&mut batch);
        let mut offline: Vec<(TopicPartition, i32)> = self
            .ctx
            .replica_states
            .iter()
            .filter(|(_, s)| **s == ReplicaState::ReplicaDeletionIneligible)
            .map(|(k, _)| k.clone())
            .collect();
        offline.sort();
        rsm::handle_state_changes(&mut self.ctx, &self.zk, &mut batch, &offline, ReplicaState::OfflineReplica).await?;
        self.send(&mut batch);
        // Partition state machine startup.
        psm::initialize_partition_states(&mut self.ctx);
        psm::trigger_online_partition_state_change(&mut self.ctx, &self.zk, &mut batch).await?;
        self.send(&mut batch);
        self.initialize_partition_reassignments().await?;
        self.resume_deletions().await?;
        if pending_preferred_election {
            self.events.put(ControllerEvent::PreferredReplicaElection);
        }
        self.schedule_auto_rebalance();
        info!(
            "Controller {} epoch {} ready: live brokers {:?}, {} topics",
            self.me(),
            self.ctx.epoch,
            self.ctx.live_brokers.keys().collect::<Vec<_>>(),
            self.ctx.all_topics.len()
        );
        Ok(())
    }

    async fn initialize_controller_context(&mut self) -> Result<()> {
        for (id, (info, epoch)) in self.zk.get_all_brokers_and_epochs().await? {
            self.channel.add_broker(&info);
            self.ctx.live_brokers.insert(id, info);
            self.ctx.live_broker_epochs.insert(id, epoch);
            self.watch_broker(id).await?;
        }
        let topics = self.zk.get_all_topics().await?;
        let listed: Vec<String> = topics.iter().cloned().collect();
        self.load_topics(&listed).await?;
        self.ctx.all_topics = topics;
        let partitions = self.ctx.all_partitions();
        self.ctx.partition_leadership_info = self.zk.get_partition_states(partitions.iter()).await?;
        self.ctx.partitions_being_reassigned =
            partitions.into_iter().filter(|tp| self.ctx.assignment(tp).is_some_and(|a| a.is_being_reassigned())).collect();
        Ok(())
    }

    /// Watches a topic znode and loads its assignment (assigning a topic id if missing).
    async fn load_topic(&mut self, topic: &str) -> Result<Vec<TopicPartition>> {
        self.load_topics(&[topic.to_string()]).await
    }

    /// `load_topic` for many topics with pipelined ZooKeeper requests (a
    /// failover of 100 topics was 200 sequential round trips; 10,000 small
    /// topics 20,000). Returns the partitions new to the context.
    async fn load_topics(&mut self, topics: &[String]) -> Result<Vec<TopicPartition>> {
        let loaded = self.zk.get_topic_assignments_and_watch(topics).await?;
        let mut added = Vec::new();
        for (topic, watcher, r) in loaded {
            let t = topic.clone();
            self.spawn_watch(watcher, move |ty| (ty == EventType::NodeDataChanged).then(|| ControllerEvent::PartitionModifications(t)));
            let (mut assignment, version) = match r {
                Ok(Some(a)) => a,
                Ok(None) => continue,
                Err(ZkError::InvalidData { path, reason }) => {
                    error!("Ignoring topic {topic}: bad data in {path}: {reason}");
                    continue;
                }
                Err(e) => return Err(e),
            };
            if assignment.topic_id.is_none() {
                assignment.topic_id = Some(random_uuid());
                self.zk.set_topic_assignment_fenced(&topic, &assignment, Some(version), self.ctx.epoch_zk_version).await?;
                info!("Assigned topic id {} to {topic}", uuid_to_string(&assignment.topic_id.unwrap_or_default()));
            }
            added.extend(merge_topic_assignment(&mut self.ctx, &topic, assignment));
        }
        Ok(added)
    }

    fn send(&self, batch: &mut ControllerBrokerRequestBatch) {
        batch.send_requests_to_brokers(&self.ctx, &self.channel, &self.config);
    }

    fn send_update_metadata(&self, brokers: &[i32], partitions: &[TopicPartition]) {
        let mut batch = ControllerBrokerRequestBatch::new();
        batch.add_update_metadata_request_for_brokers(brokers, partitions);
        batch.send_requests_to_brokers(&self.ctx, &self.channel, &self.config);
    }

    // ------------------------------------------------------------ events

    async fn process_broker_change(&mut self) -> Result<()> {
        self.watch_children(BROKER_IDS_PATH, || ControllerEvent::BrokerChange).await?;
        let current = self.zk.get_all_brokers_and_epochs().await?;
        let live: BTreeSet<i32> = self.ctx.live_brokers.keys().copied().collect();
        let cur_ids: BTreeSet<i32> = current.keys().copied().collect();
        let new: BTreeSet<i32> = cur_ids.difference(&live).copied().collect();
        let dead: BTreeSet<i32> = live.difference(&cur_ids).copied().collect();
        let bounced: BTreeSet<i32> = live
            .intersection(&cur_ids)
            .copied()
            .filter(|id| current[id].1 > self.ctx.live_broker_epochs.get(id).copied().unwrap_or(i64::MAX))
            .collect();
        info!("Broker change: new {new:?}, dead {dead:?}, bounced {bounced:?}, all live {cur_ids:?}");
        crate::record_event!(Kind::Event, "KafkaController", "BrokerChange: new {new:?}, dead {dead:?}, bounced {bounced:?}, live now {cur_ids:?}");
        for id in dead.iter().chain(bounced.iter()) {
            self.channel.remove_broker(*id);
            self.ctx.live_brokers.remove(id);
            self.ctx.live_broker_epochs.remove(id);
            self.ctx.shutting_down_broker_ids.remove(id);
        }
        if !bounced.is_empty() {
            self.on_broker_failure(&bounced).await?;
        }
        for id in new.iter().chain(bounced.iter()) {
            let (info, epoch) = current[id].clone();
            self.channel.add_broker(&info);
            self.ctx.live_brokers.insert(*id, info);
            self.ctx.live_broker_epochs.insert(*id, epoch);
        }
        let started: BTreeSet<i32> = new.union(&bounced).copied().collect();
        if !started.is_empty() {
            self.on_broker_startup(&started).await?;
        }
        if !dead.is_empty() {
            self.on_broker_failure(&dead).await?;
        }
        Ok(())
    }

    /// Kafka's `processUncleanLeaderElectionEnable` (all topics, after the
    /// broker default changed) and `processTopicUncleanLeaderElectionEnable`:
    /// offline partitions get another election, which may now pick a live
    /// replica outside the ISR (`partition_state_machine` resolves the topic
    /// override over the default).
    async fn process_unclean_leader_election_enable(&mut self, topic: Option<&str>) -> Result<()> {
        self.ctx.unclean_leader_election_default = self.shared.unclean_default.load(Ordering::SeqCst);
        if !self.is_active() {
            return Ok(());
        }
        let partitions = psm::partitions_to_bring_online(&self.ctx, topic);
        info!(
            "Unclean leader election enabled for {}: {} offline partitions to elect (broker default now {})",
            topic.map_or("every topic".to_string(), |t| format!("topic {t}")),
            partitions.len(),
            self.ctx.unclean_leader_election_default
        );
        if partitions.is_empty() {
            return Ok(());
        }
        let mut batch = ControllerBrokerRequestBatch::new();
        psm::handle_state_changes(
            &mut self.ctx,
            &self.zk,
            &mut batch,
            &partitions,
            PartitionState::OnlinePartition,
            ElectionStrategy::Offline { allow_unclean: false },
        )
        .await?;
        self.send(&mut batch);
        Ok(())
    }

    async fn on_broker_startup(&mut self, new: &BTreeSet<i32>) -> Result<()> {
        info!("New broker startup callback for {new:?}");
        let existing: Vec<i32> = self.ctx.live_brokers.keys().copied().filter(|b| !new.contains(b)).collect();
        self.send_update_metadata(&existing, &[]);
        let all = self.ctx.all_partitions();
        let new_list: Vec<i32> = new.iter().copied().collect();
        self.send_update_metadata(&new_list, &all);
        type Replicas = Vec<(TopicPartition, i32)>;
        let (being_deleted, replicas): (Replicas, Replicas) =
            self.ctx.replicas_on_brokers(new).into_iter().partition(|(tp, _)| self.ctx.is_topic_queued_for_deletion(&tp.topic));
        let mut batch = ControllerBrokerRequestBatch::new();
        rsm::handle_state_changes(&mut self.ctx, &self.zk, &mut batch, &replicas, ReplicaState::OnlineReplica).await?;
        self.send(&mut batch);
        psm::trigger_online_partition_state_change(&mut self.ctx, &self.zk, &mut batch).await?;
        self.send(&mut batch);
        if !being_deleted.is_empty() {
            for (tp, _) in &being_deleted {
                self.ctx.topics_ineligible_for_deletion.remove(&tp.topic);
            }
            self.resume_deletions().await?;
        }
        // Reassignments waiting for one of these brokers continue.
        self.maybe_resume_reassignments(|_, a| reassignment::resume_on_broker_startup(a, new)).await?;
        for id in new {
            self.watch_broker(*id).await?;
        }
        Ok(())
    }

    /// Partitions led by dead brokers go Offline and are re-elected; replicas
    /// on them go OfflineReplica (ISR shrink); everyone learns the new live set.
    async fn on_broker_failure(&mut self, dead: &BTreeSet<i32>) -> Result<()> {
        info!("Broker failure callback for {dead:?}");
        let led = self.ctx.partitions_led_by(dead);
        let mut batch = ControllerBrokerRequestBatch::new();
        psm::handle_state_changes(&mut self.ctx, &self.zk, &mut batch, &led, PartitionState::OfflinePartition, ElectionStrategy::Offline { allow_unclean: false })
            .await?;
        psm::trigger_online_partition_state_change(&mut self.ctx, &self.zk, &mut batch).await?;
        self.send(&mut batch);
        let replicas = self.ctx.replicas_on_brokers(dead);
        rsm::handle_state_changes(&mut self.ctx, &self.zk, &mut batch, &replicas, ReplicaState::OfflineReplica).await?;
        self.send(&mut batch);
        if led.is_empty() {
            let live: Vec<i32> = self.ctx.live_brokers.keys().copied().collect();
            self.send_update_metadata(&live, &[]);
        }
        // Replicas of topics being deleted on dead brokers become ineligible.
        self.resume_deletions().await
    }

    async fn process_broker_modification(&mut self, id: i32) -> Result<()> {
        self.watch_broker(id).await?;
        let Some((info, epoch)) = self.zk.get_broker(id).await? else { return Ok(()) };
        if !self.ctx.live_brokers.contains_key(&id) {
            return Ok(());
        }
        if self.ctx.live_brokers.get(&id) != Some(&info) {
            info!("Broker {id} changed its registration; updating metadata");
            self.channel.add_broker(&info);
            self.ctx.live_brokers.insert(id, info);
            self.ctx.live_broker_epochs.insert(id, epoch);
            let live: Vec<i32> = self.ctx.live_brokers.keys().copied().collect();
            self.send_update_metadata(&live, &[]);
        }
        Ok(())
    }

    async fn process_topic_change(&mut self) -> Result<()> {
        let topics: BTreeSet<String> = self.watch_children(BROKER_TOPICS_PATH, || ControllerEvent::TopicChange).await?.into_iter().collect();
        let new: Vec<String> = topics.difference(&self.ctx.all_topics).cloned().collect();
        let deleted: Vec<String> = self.ctx.all_topics.difference(&topics).cloned().collect();
        for t in &deleted {
            self.ctx.remove_topic(t);
        }
        self.ctx.all_topics = topics;
        let added = self.load_topics(&new).await?;
        if !new.is_empty() || !deleted.is_empty() {
            info!("Topic change: new {new:?}, deleted {deleted:?}");
        }
        self.on_new_partition_creation(&added).await
    }

    async fn process_partition_modifications(&mut self, topic: &str) -> Result<()> {
        if !self.ctx.all_topics.contains(topic) {
            return Ok(());
        }
        let added = self.load_topic(topic).await?;
        if !added.is_empty() {
            info!("New partitions {added:?} for topic {topic}");
        }
        self.on_new_partition_creation(&added).await
    }

    /// Kafka's `onNewPartitionCreation`.
    async fn on_new_partition_creation(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        if partitions.is_empty() {
            return Ok(());
        }
        let replicas: Vec<(TopicPartition, i32)> =
            partitions.iter().flat_map(|tp| self.ctx.replicas(tp).into_iter().map(move |r| (tp.clone(), r))).collect();
        let mut batch = ControllerBrokerRequestBatch::new();
        let offline = ElectionStrategy::Offline { allow_unclean: false };
        psm::handle_state_changes(&mut self.ctx, &self.zk, &mut batch, partitions, PartitionState::NewPartition, offline).await?;
        rsm::handle_state_changes(&mut self.ctx, &self.zk, &mut batch, &replicas, ReplicaState::NewReplica).await?;
        self.send(&mut batch);
        psm::handle_state_changes(&mut self.ctx, &self.zk, &mut batch, partitions, PartitionState::OnlinePartition, offline).await?;
        self.send(&mut batch);
        rsm::handle_state_changes(&mut self.ctx, &self.zk, &mut batch, &replicas, ReplicaState::OnlineReplica).await?;
        self.send(&mut batch);
        Ok(())
    }

    /// Legacy ISR propagation: refresh the named partitions from ZooKeeper,
    /// tell every broker, delete the notifications.
    async fn process_isr_change_notification(&mut self) -> Result<()> {
        let names = self.watch_children(ISR_CHANGE_NOTIFICATION_PATH, || ControllerEvent::IsrChangeNotification).await?;
        if names.is_empty() {
            return Ok(());
        }
        let tps = self.zk.get_partitions_from_isr_change_notifications(&names).await?;
        let known: Vec<TopicPartition> = tps.into_iter().filter(|tp| self.ctx.assignment(tp).is_some()).collect();
        let states = self.zk.get_partition_states(known.iter()).await?;
        self.ctx.partition_leadership_info.extend(states);
        let live: Vec<i32> = self.ctx.live_brokers.keys().copied().collect();
        self.send_update_metadata(&live, &known);
        for tp in known.iter().filter(|tp| self.ctx.partitions_being_reassigned.contains(*tp)).cloned().collect::<Vec<_>>() {
            self.maybe_complete_reassignment(&tp).await?;
        }
        self.zk.delete_isr_change_notifications(self.ctx.epoch_zk_version, &names).await
    }

    // ------------------------------------------------------------ controlled shutdown

    /// Kafka's `doControlledShutdown`. The outer error is a ZooKeeper failure
    /// (ControllerMoved resigns); the API's error code or the partitions still
    /// led go to `reply`.
    ///
    /// Order (Kafka's, except when (2)'s requests are queued): (1) elect new
    /// leaders for the partitions the broker leads (fenced, conditional
    /// writes) and send their LeaderAndIsr and UpdateMetadata; (2) take it
    /// out of the ISR of the partitions it follows (fenced conditional ISR
    /// writes); (3) answer with the replicated partitions it still leads,
    /// then queue (2)'s StopReplica to it and LeaderAndIsr to the other
    /// replicas (Kafka queues them before answering; both go out
    /// asynchronously). The states the ISR removal decides from are read
    /// while the election runs (the two sets of partitions are disjoint): reading them
    /// earlier than Kafka does is safe because every write is conditional on
    /// the zkVersion read (a state changed meanwhile gets BADVERSION, is
    /// re-read and retried, as before).
    async fn process_controlled_shutdown(
        &mut self,
        id: i32,
        broker_epoch: i64,
        reply: &mut Option<oneshot::Sender<std::result::Result<Vec<TopicPartition>, ErrorCode>>>,
    ) -> Result<()> {
        let mut answer = |r: std::result::Result<Vec<TopicPartition>, ErrorCode>| {
            if let Some(reply) = reply.take() {
                let _ = reply.send(r);
            }
        };
        info!("Shutting down broker {id} (broker epoch {broker_epoch})");
        let Some(&cached) = self.ctx.live_broker_epochs.get(&id) else {
            warn!("Controlled shutdown of unknown broker {id}");
            answer(Err(codes::BROKER_NOT_AVAILABLE));
            return Ok(());
        };
        if broker_epoch != -1 && broker_epoch < cached {
            warn!("Ignoring controlled shutdown of broker {id}: broker epoch {broker_epoch} is older than {cached}");
            answer(Err(codes::STALE_BROKER_EPOCH));
            return Ok(());
        }
        self.ctx.shutting_down_broker_ids.insert(id);
        // Which partitions the broker leads is the controller's own decision,
        // so the cache answers it (as Kafka's doControlledShutdown). The ISR is
        // not: leaders change it in ZooKeeper themselves, so the election
        // and the ISR removal decide from the state znodes, read first.
        let (led, followed) = controlled_shutdown_partitions(&self.ctx, id);
        let started = std::time::Instant::now();
        let mut batch = ControllerBrokerRequestBatch::new();
        let (elected, states) = tokio::join!(
            psm::handle_state_changes(&mut self.ctx, &self.zk, &mut batch, &led, PartitionState::OnlinePartition, ElectionStrategy::ControlledShutdown),
            self.zk.get_partition_states(followed.iter())
        );
        elected?;
        self.send(&mut batch);
        let elected = started.elapsed();
        let states = states?;
        let followed: Vec<(TopicPartition, i32)> = followed.into_iter().map(|tp| (tp, id)).collect();
        rsm::offline_replicas_with_states(&mut self.ctx, &self.zk, &mut batch, &followed, states).await?;
        // The ISR removal is committed in ZooKeeper: answer, then queue its
        // LeaderAndIsr, StopReplica and UpdateMetadata. Kafka queues them
        // first, but they go out asynchronously either way; building and
        // encoding them for 6,667 partitions took ~0.17 s, which the stopping
        // broker no longer waits for.
        let remaining = partitions_still_led(&self.ctx, id);
        info!(
            "Controlled shutdown of broker {id}: moved {} leaderships in {} ms, removed it from the ISR of {} followed partitions in {} ms more; {} replicated partitions still led",
            led.len() - remaining.len().min(led.len()),
            elected.as_millis(),
            followed.len(),
            (started.elapsed() - elected).as_millis(),
            remaining.len()
        );
        answer(Ok(remaining));
        self.send(&mut batch);
        Ok(())
    }

    // ------------------------------------------------------------ preferred election

    /// Arms the exists/data watch on `/admin/preferred_replica_election`;
    /// returns whether the znode exists now.
    async fn watch_preferred_replica_election(&self) -> Result<bool> {
        let (stat, w) = self.zk.exists_and_watch(PREFERRED_REPLICA_ELECTION_PATH).await?;
        self.spawn_watch(w, |t| matches!(t, EventType::NodeCreated | EventType::NodeDataChanged).then_some(ControllerEvent::PreferredReplicaElection));
        Ok(stat.is_some())
    }

    /// The admin znode: elect the preferred replicas it names, delete it
    /// (fenced) and re-arm the watch.
    async fn process_preferred_replica_election_znode(&mut self) -> Result<()> {
        let partitions = match self.zk.get_preferred_replica_election().await {
            Ok(Some(p)) => p,
            Ok(None) => {
                if self.watch_preferred_replica_election().await? {
                    self.events.put(ControllerEvent::PreferredReplicaElection);
                }
                return Ok(());
            }
            Err(ZkError::InvalidData { path, reason }) => {
                error!("Ignoring unreadable {path}: {reason}");
                BTreeSet::new()
            }
            Err(e) => return Err(e),
        };
        let partitions: Vec<TopicPartition> = partitions.into_iter().collect();
        info!("Preferred replica election requested for {partitions:?}");
        let result = self.on_preferred_replica_election(&partitions).await;
        if !matches!(result, Err(ZkError::ControllerMoved(_))) {
            self.zk.delete_preferred_replica_election(self.ctx.epoch_zk_version).await?;
            if self.watch_preferred_replica_election().await? {
                self.events.put(ControllerEvent::PreferredReplicaElection);
            }
        }
        result
    }

    /// Kafka's `onReplicaElection` for PREFERRED: partitions that exist, are
    /// not being deleted and are not led by their preferred replica get a
    /// Preferred election (which succeeds only if it is live and in the ISR).
    async fn on_preferred_replica_election(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        let electable: Vec<TopicPartition> = partitions
            .iter()
            .filter(|tp| {
                let Some(a) = self.ctx.assignment(tp) else {
                    warn!("Skipping preferred replica election for unknown partition {tp}");
                    return false;
                };
                let Some(l) = self.ctx.partition_leadership_info.get(tp) else { return false };
                !self.ctx.is_topic_queued_for_deletion(&tp.topic) && a.replicas.first() != Some(&l.leader_and_isr.leader)
            })
            .cloned()
            .collect();
        if electable.is_empty() {
            return Ok(());
        }
        let mut batch = ControllerBrokerRequestBatch::new();
        psm::handle_state_changes(&mut self.ctx, &self.zk, &mut batch, &electable, PartitionState::OnlinePartition, ElectionStrategy::Preferred).await?;
        self.send(&mut batch);
        Ok(())
    }

    fn schedule_auto_rebalance(&mut self) {
        if let Some(t) = self.rebalance_task.take() {
            t.abort();
        }
        if !self.config.auto_leader_rebalance_enable {
            return;
        }
        let events = self.events.clone();
        let (first, every) = (self.config.first_imbalance_check_delay, self.config.leader_imbalance_check_interval);
        self.rebalance_task = Some(tokio::spawn(async move {
            tokio::time::sleep(first).await;
            loop {
                events.put(ControllerEvent::AutoPreferredReplicaLeaderElection);
                tokio::time::sleep(every).await;
            }
        }));
    }

    /// Kafka's `checkAndTriggerAutoLeaderRebalance`.
    async fn process_auto_preferred_replica_leader_election(&mut self) -> Result<()> {
        if self.ctx.partition_assignments.values().flat_map(|m| m.values()).any(|a| a.is_being_reassigned()) {
            return Ok(());
        }
        let infos: Vec<PartitionLeadership<TopicPartition>> = self
            .ctx
            .all_partitions()
            .into_iter()
            .filter(|tp| !self.ctx.is_topic_queued_for_deletion(&tp.topic))
            .map(|tp| PartitionLeadership {
                replicas: self.ctx.replicas(&tp),
                leader_and_isr: self.ctx.partition_leadership_info.get(&tp).map(|l| (l.leader_and_isr.leader, l.leader_and_isr.isr.clone())),
                partition: tp,
            })
            .collect();
        let chosen = election::partitions_to_rebalance(&infos, |b| self.ctx.is_broker_live(b), self.config.leader_imbalance_per_broker_percentage);
        if chosen.is_empty() {
            return Ok(());
        }
        info!("Leader imbalance: moving {chosen:?} back to their preferred replicas");
        self.on_preferred_replica_election(&chosen).await
    }

    // ------------------------------------------------------------ topic deletion

    async fn process_topic_deletion(&mut self) -> Result<()> {
        let marked = self.watch_children(DELETE_TOPICS_PATH, || ControllerEvent::TopicDeletion).await?;
        self.queue_topic_deletions(marked).await?;
        self.resume_deletions().await
    }

    /// Kafka's `TopicDeletion` event: markers of unknown topics are dropped
    /// (all of them when `delete.topic.enable=false`); the rest are queued.
    async fn queue_topic_deletions(&mut self, marked: Vec<String>) -> Result<()> {
        let (known, unknown): (Vec<String>, Vec<String>) = marked.into_iter().partition(|t| self.ctx.all_topics.contains(t));
        if !unknown.is_empty() {
            info!("Deleting markers of non-existent topics {unknown:?}");
            self.zk.delete_topic_deletions(self.ctx.epoch_zk_version, &unknown).await?;
        }
        if known.is_empty() {
            return Ok(());
        }
        if !self.config.delete_topic_enable {
            info!("delete.topic.enable is false: ignoring deletion of {known:?}");
            return self.zk.delete_topic_deletions(self.ctx.epoch_zk_version, &known).await;
        }
        for t in known {
            if self.ctx.topics_to_be_deleted.insert(t.clone()) {
                info!("Topic {t} queued for deletion");
            }
        }
        Ok(())
    }

    /// Drives every queued topic as far as it can go: replicas on live
    /// brokers that have not started deleting are stopped and deleted,
    /// replicas on dead brokers wait (ReplicaDeletionIneligible), and a topic
    /// whose replicas are all deleted has its znodes removed.
    async fn resume_deletions(&mut self) -> Result<()> {
        for topic in self.ctx.topics_to_be_deleted.clone() {
            let replicas: Vec<(TopicPartition, i32)> = self
                .ctx
                .partitions_for_topic(&topic)
                .into_iter()
                .flat_map(|tp| self.ctx.replicas(&tp).into_iter().map(move |r| (tp.clone(), r)))
                .collect();
            let state = |ctx: &ControllerContext, k: &(TopicPartition, i32)| {
                ctx.replica_states.get(k).copied().unwrap_or(ReplicaState::NonExistentReplica)
            };
            if replicas.iter().all(|k| state(&self.ctx, k) == ReplicaState::ReplicaDeletionSuccessful) {
                self.complete_delete_topic(&topic).await?;
                continue;
            }
            for k in &replicas {
                let s = state(&self.ctx, k);
                if !self.ctx.is_replica_online(k.1, &k.0) && s != ReplicaState::ReplicaDeletionSuccessful {
                    self.ctx.replica_states.insert(k.clone(), ReplicaState::ReplicaDeletionIneligible);
                }
            }
            if self.ctx.topics_ineligible_for_deletion.contains(&topic) {
                continue;
            }
            if self.ctx.is_topic_being_reassigned(&topic) {
                info!("Deletion of topic {topic} waits: a partition of it is being reassigned");
                continue;
            }
            let to_start: Vec<(TopicPartition, i32)> = replicas
                .into_iter()
                .filter(|k| {
                    self.ctx.is_replica_online(k.1, &k.0)
                        && !matches!(state(&self.ctx, k), ReplicaState::ReplicaDeletionStarted | ReplicaState::ReplicaDeletionSuccessful)
                })
                .collect();
            if !to_start.is_empty() {
                self.on_topic_deletion(&topic, &to_start).await?;
            }
        }
        Ok(())
    }

    /// Kafka's `onTopicDeletion` + `startReplicaDeletion`.
    async fn on_topic_deletion(&mut self, topic: &str, replicas: &[(TopicPartition, i32)]) -> Result<()> {
        info!("Deleting topic {topic}: replicas {replicas:?}");
        let partitions = self.ctx.partitions_for_topic(topic);
        // Brokers stop serving it (leader -2 in UpdateMetadata).
        let live: Vec<i32> = self.ctx.live_brokers.keys().copied().collect();
        self.send_update_metadata(&live, &partitions);
        let mut batch = ControllerBrokerRequestBatch::new();
        let offline = ElectionStrategy::Offline { allow_unclean: false };
        psm::handle_state_changes(&mut self.ctx, &self.zk, &mut batch, &partitions, PartitionState::OfflinePartition, offline).await?;
        psm::handle_state_changes(&mut self.ctx, &self.zk, &mut batch, &partitions, PartitionState::NonExistentPartition, offline).await?;
        rsm::handle_state_changes(&mut self.ctx, &self.zk, &mut batch, replicas, ReplicaState::OfflineReplica).await?;
        for (tp, r) in replicas {
            batch.add_stop_replica_request_for_brokers(&[*r], tp, true);
            self.ctx.replica_states.insert((tp.clone(), *r), ReplicaState::ReplicaDeletionStarted);
        }
        self.send(&mut batch);
        Ok(())
    }

    async fn process_topic_deletion_stop_replica_response(
        &mut self,
        broker_id: i32,
        error_code: ErrorCode,
        partition_errors: Vec<(TopicPartition, ErrorCode)>,
    ) -> Result<()> {
        for (tp, code) in partition_errors {
            let key = (tp.clone(), broker_id);
            if self.ctx.replica_states.get(&key) != Some(&ReplicaState::ReplicaDeletionStarted) {
                continue;
            }
            let code = if code != 0 { code } else { error_code };
            if code == 0 {
                self.ctx.replica_states.insert(key, ReplicaState::ReplicaDeletionSuccessful);
            } else {
                warn!("Broker {broker_id} failed to delete {tp}: {}; deletion of {} paused", codes::error_name(code), tp.topic);
                self.ctx.replica_states.insert(key, ReplicaState::ReplicaDeletionIneligible);
                self.ctx.topics_ineligible_for_deletion.insert(tp.topic.clone());
            }
        }
        self.resume_deletions().await
    }

    /// Kafka's `completeDeleteTopic`: forget the replicas, remove the topic's
    /// znodes (fenced) and the topic from the context.
    async fn complete_delete_topic(&mut self, topic: &str) -> Result<()> {
        self.zk.delete_topic_znodes(self.ctx.epoch_zk_version, topic).await?;
        self.ctx.remove_topic(topic);
        info!("Deletion of topic {topic} successfully completed");
        Ok(())
    }
}

// ---------------------------------------------------------------- reassignment

impl ControllerProcess {
    /// Arms the exists/data watch on `/admin/reassign_partitions`; returns
    /// whether the znode exists now.
    async fn watch_reassign_partitions(&self) -> Result<bool> {
        let (stat, w) = self.zk.exists_and_watch(REASSIGN_PARTITIONS_PATH).await?;
        self.spawn_watch(w, |t| Some(ControllerEvent::ZkPartitionReassignment { created: t == EventType::NodeCreated }));
        Ok(stat.is_some())
    }

    /// Arms the data watch on a reassigning partition's `state` znode (once).
    async fn watch_reassignment_isr(&mut self, tp: &TopicPartition) -> Result<()> {
        if !self.ctx.reassignment_isr_watched.insert(tp.clone()) {
            return Ok(());
        }
        let w = self.zk.watch_partition_state(tp).await?;
        let t = tp.clone();
        self.spawn_watch(w, move |_| Some(ControllerEvent::PartitionReassignmentIsrChange(t)));
        Ok(())
    }

    /// The legacy znode's watch fired. Like Kafka (which only handles its
    /// creation) our own rewrites and deletion just re-arm the watch; a znode
    /// that exists after a deletion event was re-created by a tool in between.
    async fn process_zk_partition_reassignment_event(&mut self, created: bool) -> Result<()> {
        if !self.watch_reassign_partitions().await? {
            return Ok(());
        }
        if created {
            self.process_zk_partition_reassignment().await.map(|_| ())
        } else {
            self.process_zk_partition_reassignment_if_new().await
        }
    }

    async fn process_zk_partition_reassignment_if_new(&mut self) -> Result<()> {
        let Ok(Some(targets)) = self.zk.get_partition_reassignment().await else { return Ok(()) };
        let all_known = targets.iter().all(|(tp, t)| {
            self.ctx.partitions_being_reassigned.contains(tp) && self.ctx.assignment(tp).map(|a| a.target_replicas()) == Some(t.clone())
        });
        if all_known {
            return Ok(());
        }
        self.process_zk_partition_reassignment().await.map(|_| ())
    }

    /// Kafka's `processZkPartitionReassignment`: starts every entry of
    /// `/admin/reassign_partitions`; entries that cannot start (unknown
    /// partition, topic being deleted, invalid target: empty, duplicate,
    /// negative or dead added broker) are removed from the znode, which is
    /// deleted when nothing is left. An unparsable znode is deleted. Returns
    /// the partitions started.
    async fn process_zk_partition_reassignment(&mut self) -> Result<BTreeSet<TopicPartition>> {
        let targets = match self.zk.get_partition_reassignment().await {
            Ok(Some(t)) => t,
            Ok(None) => return Ok(BTreeSet::new()),
            Err(ZkError::InvalidData { path, reason }) => {
                error!("Deleting unreadable {path}: {reason}");
                self.zk.set_or_delete_partition_reassignment(self.ctx.epoch_zk_version, &BTreeMap::new()).await?;
                return Ok(BTreeSet::new());
            }
            Err(e) => return Err(e),
        };
        let live = self.ctx.live_broker_ids();
        let mut failed: BTreeMap<TopicPartition, (ErrorCode, Option<String>)> = BTreeMap::new();
        let mut to_reassign = Vec::new();
        for (tp, target) in targets {
            let Some(current) = self.ctx.assignment(&tp).cloned() else {
                failed.insert(tp, (codes::UNKNOWN_TOPIC_OR_PARTITION, Some("The partition does not exist.".into())));
                continue;
            };
            if let Err((code, msg)) = reassignment::validate_replicas(&current, &target, &live) {
                failed.insert(tp, (code, Some(msg)));
                continue;
            }
            match reassignment::build_reassignment(&current, Some(&target)) {
                Some(r) => to_reassign.push((tp, r)),
                None => {
                    failed.insert(tp, (codes::NO_REASSIGNMENT_IN_PROGRESS, codes::default_message(codes::NO_REASSIGNMENT_IN_PROGRESS).map(String::from)));
                }
            }
        }
        let results = self.maybe_trigger_partition_reassignment(to_reassign).await?;
        let mut started = BTreeSet::new();
        for (tp, (code, msg)) in results {
            if code == codes::NONE {
                started.insert(tp);
            } else {
                failed.insert(tp, (code, msg));
            }
        }
        if !failed.is_empty() {
            for (tp, (code, msg)) in &failed {
                warn!("Dropping reassignment of {tp} from {REASSIGN_PARTITIONS_PATH}: {} {}", codes::error_name(*code), msg.as_deref().unwrap_or(""));
            }
            self.maybe_remove_from_zk_reassignment(|tp, _| failed.contains_key(tp)).await?;
        }
        Ok(started)
    }

    /// Kafka's `processApiPartitionReassignment`.
    async fn process_api_partition_reassignment(
        &mut self,
        reassignments: BTreeMap<TopicPartition, Option<Vec<i32>>>,
    ) -> Result<BTreeMap<TopicPartition, (ErrorCode, Option<String>)>> {
        let live = self.ctx.live_broker_ids();
        let mut results = BTreeMap::new();
        let mut to_reassign = Vec::new();
        for (tp, target) in reassignments {
            let current = self.ctx.assignment(&tp).cloned().unwrap_or_default();
            if let Some(t) = &target {
                if let Err((code, msg)) = reassignment::validate_replicas(&current, t, &live) {
                    results.insert(tp, (code, Some(msg)));
                    continue;
                }
            }
            match reassignment::build_reassignment(&current, target.as_deref()) {
                Some(r) => to_reassign.push((tp, r)),
                None => {
                    results.insert(tp, (codes::NO_REASSIGNMENT_IN_PROGRESS, codes::default_message(codes::NO_REASSIGNMENT_IN_PROGRESS).map(String::from)));
                }
            }
        }
        // The latest reassignment wins over an entry in the legacy znode.
        let api: BTreeSet<TopicPartition> = to_reassign.iter().map(|(tp, _)| tp.clone()).collect();
        self.maybe_remove_from_zk_reassignment(|tp, _| api.contains(tp)).await?;
        results.extend(self.maybe_trigger_partition_reassignment(to_reassign).await?);
        Ok(results)
    }

    /// Kafka's `maybeTriggerPartitionReassignment`.
    async fn maybe_trigger_partition_reassignment(
        &mut self,
        reassignments: Vec<(TopicPartition, ReplicaAssignment)>,
    ) -> Result<BTreeMap<TopicPartition, (ErrorCode, Option<String>)>> {
        let mut out = BTreeMap::new();
        for (tp, r) in reassignments {
            let code = if self.ctx.is_topic_queued_for_deletion(&tp.topic) {
                info!("Skipping reassignment of {tp} since the topic is currently being deleted");
                (codes::UNKNOWN_TOPIC_OR_PARTITION, Some("The partition does not exist.".to_string()))
            } else if self.ctx.assignment(&tp).is_none() {
                (codes::UNKNOWN_TOPIC_OR_PARTITION, Some("The partition does not exist.".to_string()))
            } else {
                match self.on_partition_reassignment(&tp, r).await {
                    Ok(()) => (codes::NONE, None),
                    Err(e @ ZkError::ControllerMoved(_)) => return Err(e),
                    Err(e) => {
                        error!("Error completing reassignment of partition {tp}: {e}");
                        (codes::UNKNOWN_SERVER_ERROR, codes::default_message(codes::UNKNOWN_SERVER_ERROR).map(String::from))
                    }
                }
            };
            out.insert(tp, code);
        }
        Ok(out)
    }

    /// Kafka's `onPartitionReassignment`: reads the partition's state from
    /// ZooKeeper, plans with `reassignment::on_partition_reassignment` and
    /// executes the plan.
    async fn on_partition_reassignment(&mut self, tp: &TopicPartition, target: ReplicaAssignment) -> Result<()> {
        let current = self.ctx.assignment(tp).cloned().unwrap_or_default();
        let state = self.zk.get_partition_state(&tp.topic, tp.partition).await?;
        if let Some(s) = &state {
            self.ctx.partition_leadership_info.insert(tp.clone(), s.clone());
        }
        let view = PartitionView {
            current,
            leader_and_isr: state.map(|s| (s.leader_and_isr.leader, s.leader_and_isr.isr)),
        };
        let plan = reassignment::on_partition_reassignment(&view, &target, |b| self.ctx.is_broker_live(b));
        info!("Reassignment of {tp}: {:?} -> {:?}: {plan:?}", view.current, target);
        for effect in plan {
            self.execute_reassignment_effect(tp, effect).await?;
        }
        Ok(())
    }

    async fn execute_reassignment_effect(&mut self, tp: &TopicPartition, effect: Effect) -> Result<()> {
        let mut batch = ControllerBrokerRequestBatch::new();
        match effect {
            Effect::WriteAssignment(a) => self.zk.set_partition_assignment_fenced(self.ctx.epoch_zk_version, tp, &a).await?,
            Effect::SetAssignment(a) => self.ctx.update_partition_assignment(tp, a),
            Effect::MarkReassigning => {
                self.ctx.partitions_being_reassigned.insert(tp.clone());
                self.watch_reassignment_isr(tp).await?;
            }
            Effect::BumpLeaderEpoch => self.update_leader_epoch_and_send_request(tp).await?,
            Effect::StartNewReplicas(rs) => {
                let replicas: Vec<(TopicPartition, i32)> = rs.into_iter().map(|r| (tp.clone(), r)).collect();
                rsm::handle_state_changes(&mut self.ctx, &self.zk, &mut batch, &replicas, ReplicaState::NewReplica).await?;
                self.send(&mut batch);
            }
            Effect::OnlineReplicas(rs) => {
                let replicas: Vec<(TopicPartition, i32)> = rs.into_iter().map(|r| (tp.clone(), r)).collect();
                rsm::handle_state_changes(&mut self.ctx, &self.zk, &mut batch, &replicas, ReplicaState::OnlineReplica).await?;
                self.send(&mut batch);
            }
            Effect::ElectLeader => {
                let elected =
                    psm::elect_leader_for_partitions(&mut self.ctx, &self.zk, &mut batch, std::slice::from_ref(tp), ElectionStrategy::Reassign)
                        .await?;
                if elected.is_empty() {
                    warn!("No live in-sync target replica could lead {tp}; its removed replicas are stopped anyway");
                }
                self.send(&mut batch);
            }
            Effect::RemoveReplicas(rs) => self.stop_removed_replicas_of_reassigned_partition(tp, &rs).await?,
            Effect::CompleteReassignment { target } => {
                self.ctx.partitions_being_reassigned.remove(tp);
                self.ctx.reassignment_isr_watched.remove(tp);
                self.maybe_remove_from_zk_reassignment(|t, r| t == tp && reassignment::zk_entry_completed(r, &target)).await?;
                info!("Reassignment of {tp} to {target:?} completed");
            }
            Effect::UpdateMetadata => {
                let live: Vec<i32> = self.ctx.live_brokers.keys().copied().collect();
                self.send_update_metadata(&live, std::slice::from_ref(tp));
            }
            Effect::ResumeTopicDeletion => {
                if self.ctx.is_topic_queued_for_deletion(&tp.topic) {
                    self.resume_deletions().await?;
                }
            }
        }
        Ok(())
    }

    /// Kafka's `updateLeaderEpochAndSendRequest`: leader_epoch + 1 in the
    /// state znode (same leader and ISR, conditional and fenced; re-read on a
    /// concurrent change), then LeaderAndIsr with the in-memory RS/AR/RR to
    /// every replica of the partition.
    async fn update_leader_epoch_and_send_request(&mut self, tp: &TopicPartition) -> Result<()> {
        for _ in 0..5 {
            let Some(cur) = self.zk.get_partition_state(&tp.topic, tp.partition).await? else {
                warn!("No state znode for {tp}; cannot bump its leader epoch");
                return Ok(());
            };
            if cur.controller_epoch > self.ctx.epoch {
                error!("{tp} was last changed by controller epoch {} > ours {}", cur.controller_epoch, self.ctx.epoch);
                return Ok(());
            }
            let lai = &cur.leader_and_isr;
            let update = lai.new_leader_and_isr(lai.leader, lai.isr.clone());
            let mut results = self.zk.update_leader_and_isr(self.ctx.epoch_zk_version, self.ctx.epoch, &[(tp.clone(), update)]).await?;
            match results.pop().map(|(_, r)| r) {
                Some(Ok(lai)) => {
                    let state = LeaderIsrAndControllerEpoch { leader_and_isr: lai, controller_epoch: self.ctx.epoch };
                    self.ctx.partition_leadership_info.insert(tp.clone(), state.clone());
                    let a = self.ctx.assignment(tp).cloned().unwrap_or_default();
                    let mut batch = ControllerBrokerRequestBatch::new();
                    batch.add_leader_and_isr_request_for_brokers(&self.ctx, &a.replicas, tp, &state, &a, false);
                    self.send(&mut batch);
                    return Ok(());
                }
                Some(Err(ZkError::Zk { source: zookeeper_client::Error::BadVersion, .. })) => continue,
                Some(Err(e)) => {
                    error!("Could not bump the leader epoch of {tp}: {e}");
                    return Ok(());
                }
                None => return Ok(()),
            }
        }
        warn!("Gave up bumping the leader epoch of {tp} after repeated conflicts");
        Ok(())
    }

    /// Kafka's `stopRemovedReplicasOfReassignedPartition`: OfflineReplica
    /// (StopReplica delete=false, out of the ISR), then the deletion states
    /// (StopReplica delete=true) and NonExistentReplica.
    async fn stop_removed_replicas_of_reassigned_partition(&mut self, tp: &TopicPartition, removed: &[i32]) -> Result<()> {
        let replicas: Vec<(TopicPartition, i32)> = removed.iter().map(|r| (tp.clone(), *r)).collect();
        let mut batch = ControllerBrokerRequestBatch::new();
        rsm::handle_state_changes(&mut self.ctx, &self.zk, &mut batch, &replicas, ReplicaState::OfflineReplica).await?;
        self.send(&mut batch);
        for (tp, r) in &replicas {
            batch.add_stop_replica_request_for_removed_replicas(&[*r], tp);
        }
        self.send(&mut batch);
        for k in &replicas {
            self.ctx.replica_states.remove(k);
        }
        Ok(())
    }

    /// Kafka's `maybeRemoveFromZkReassignment`: drops the entries of
    /// `/admin/reassign_partitions` matching `remove` (deleting the znode
    /// when it empties).
    async fn maybe_remove_from_zk_reassignment(&mut self, remove: impl Fn(&TopicPartition, &[i32]) -> bool) -> Result<()> {
        let current = match self.zk.get_partition_reassignment().await {
            Ok(Some(c)) => c,
            Ok(None) => return Ok(()),
            Err(ZkError::InvalidData { path, reason }) => {
                error!("Deleting unreadable {path}: {reason}");
                return self.zk.set_or_delete_partition_reassignment(self.ctx.epoch_zk_version, &BTreeMap::new()).await;
            }
            Err(e) => return Err(e),
        };
        let before = current.len();
        let remaining: BTreeMap<TopicPartition, Vec<i32>> = current.into_iter().filter(|(tp, r)| !remove(tp, r)).collect();
        if remaining.len() != before {
            info!("Updating {REASSIGN_PARTITIONS_PATH}: {} of {before} entries remain", remaining.len());
            self.zk.set_or_delete_partition_reassignment(self.ctx.epoch_zk_version, &remaining).await?;
        }
        Ok(())
    }

    /// Kafka's `maybeCompleteReassignment`.
    async fn maybe_complete_reassignment(&mut self, tp: &TopicPartition) -> Result<()> {
        let Some(a) = self.ctx.assignment(tp).cloned() else { return Ok(()) };
        let state = self.zk.get_partition_state(&tp.topic, tp.partition).await?;
        let isr = state.as_ref().map(|s| s.leader_and_isr.isr.as_slice());
        if reassignment::is_reassignment_complete(&a, isr) {
            info!("Target replicas {:?} have all caught up with the leader for reassigning partition {tp}", a.target_replicas());
            self.on_partition_reassignment(tp, a).await?;
        }
        Ok(())
    }

    async fn process_partition_reassignment_isr_change(&mut self, tp: TopicPartition) -> Result<()> {
        self.ctx.reassignment_isr_watched.remove(&tp);
        if !self.ctx.partitions_being_reassigned.contains(&tp) {
            return Ok(());
        }
        self.watch_reassignment_isr(&tp).await?;
        self.maybe_complete_reassignment(&tp).await
    }

    /// Kafka's `maybeResumeReassignments`: drives again every reassignment
    /// the predicate selects (failover: all; broker startup: TRS contains it).
    async fn maybe_resume_reassignments(&mut self, resume: impl Fn(&TopicPartition, &ReplicaAssignment) -> bool) -> Result<()> {
        let selected: Vec<(TopicPartition, ReplicaAssignment)> = self
            .ctx
            .partitions_being_reassigned
            .iter()
            .filter_map(|tp| self.ctx.assignment(tp).map(|a| (tp.clone(), a.clone())))
            .filter(|(tp, a)| resume(tp, a))
            .collect();
        for (tp, a) in selected {
            match self.on_partition_reassignment(&tp, a).await {
                Ok(()) => {}
                Err(e @ ZkError::ControllerMoved(_)) => return Err(e),
                Err(e) => error!("Resuming the reassignment of {tp} failed: {e}"),
            }
        }
        Ok(())
    }

    /// Kafka's `initializePartitionReassignments` (controller failover).
    async fn initialize_partition_reassignments(&mut self) -> Result<()> {
        let resumed = if self.watch_reassign_partitions().await? { self.process_zk_partition_reassignment().await? } else { BTreeSet::new() };
        self.maybe_resume_reassignments(|tp, _| !resumed.contains(tp)).await
    }

    /// ListPartitionReassignments.
    fn list_partition_reassignments(&self, partitions: Option<Vec<TopicPartition>>) -> BTreeMap<TopicPartition, ReassignmentListing> {
        let to_list: Vec<TopicPartition> = match partitions {
            Some(p) => p,
            None => self.ctx.partitions_being_reassigned.iter().cloned().collect(),
        };
        to_list
            .into_iter()
            .filter_map(|tp| {
                let a = self.ctx.assignment(&tp)?;
                a.is_being_reassigned().then(|| (tp.clone(), (a.replicas.clone(), a.adding_replicas.clone(), a.removing_replicas.clone())))
            })
            .collect()
    }

    // ------------------------------------------------------------ ElectLeaders

    /// Kafka's `processReplicaLeaderElection` for an admin request.
    async fn process_replica_leader_election(
        &mut self,
        election_type: ElectionType,
        partitions: Option<Vec<TopicPartition>>,
    ) -> Result<BTreeMap<TopicPartition, (ErrorCode, Option<String>)>> {
        let partitions = partitions.unwrap_or_else(|| self.ctx.all_partitions());
        let mut results = BTreeMap::new();
        let mut electable = Vec::new();
        for tp in partitions {
            if self.ctx.assignment(&tp).is_none() {
                info!("Skipping replica leader election ({election_type:?}) for partition {tp} by admin client since it doesn't exist.");
                results.insert(tp, (codes::UNKNOWN_TOPIC_OR_PARTITION, Some("The partition does not exist.".to_string())));
                continue;
            }
            if self.ctx.is_topic_queued_for_deletion(&tp.topic) {
                results.insert(tp, (codes::INVALID_TOPIC_EXCEPTION, Some("The topic is being deleted".to_string())));
                continue;
            }
            let leader = self.ctx.partition_leadership_info.get(&tp).map(|l| l.leader_and_isr.leader);
            let needed = match election_type {
                ElectionType::Preferred => leader.is_none() || self.ctx.replicas(&tp).first().copied() != leader,
                ElectionType::Unclean => match leader {
                    None => true,
                    Some(l) => l == LeaderAndIsr::NO_LEADER || !self.ctx.live_broker_ids().contains(&l),
                },
            };
            if needed {
                electable.push(tp);
            } else {
                results.insert(tp, (codes::ELECTION_NOT_NEEDED, codes::default_message(codes::ELECTION_NOT_NEEDED).map(String::from)));
            }
        }
        if !electable.is_empty() {
            let (strategy, name, failure) = match election_type {
                ElectionType::Preferred => {
                    (ElectionStrategy::Preferred, "PreferredReplicaPartitionLeaderElectionStrategy", codes::PREFERRED_LEADER_NOT_AVAILABLE)
                }
                ElectionType::Unclean => (
                    ElectionStrategy::Offline { allow_unclean: true },
                    "OfflinePartitionLeaderElectionStrategy(true)",
                    codes::ELIGIBLE_LEADERS_NOT_AVAILABLE,
                ),
            };
            let mut batch = ControllerBrokerRequestBatch::new();
            let with_state: Vec<TopicPartition> =
                electable.iter().filter(|tp| self.ctx.partition_leadership_info.contains_key(*tp)).cloned().collect();
            let elected: BTreeSet<TopicPartition> =
                psm::elect_leader_for_partitions(&mut self.ctx, &self.zk, &mut batch, &with_state, strategy).await?.into_iter().collect();
            self.send(&mut batch);
            for tp in electable {
                if elected.contains(&tp) {
                    results.insert(tp, (codes::NONE, None));
                } else {
                    let msg = format!("Failed to elect leader for partition {tp} under strategy {name}");
                    results.insert(tp, (failure, Some(msg)));
                }
            }
        }
        Ok(results)
    }
}

/// The variant name of an event with its small arguments, for the event log
/// (not its reply channels or whole responses).
/// Takes a topic znode's assignment into the context: its topic id, and the
/// partitions the context does not know yet (returned). As in Kafka, a
/// rewrite of the topic znode by someone else only adds partitions: existing
/// ones keep the controller's assignment (which changes only through
/// reassignment). Pure: no ZooKeeper.
pub(crate) fn merge_topic_assignment(ctx: &mut ControllerContext, topic: &str, assignment: TopicAssignment) -> Vec<TopicPartition> {
    if let Some(id) = assignment.topic_id {
        ctx.topic_ids.insert(topic.to_string(), id);
    }
    let mut added = Vec::new();
    for (p, a) in assignment.partitions {
        let tp = TopicPartition::new(topic, p);
        match ctx.assignment(&tp) {
            None => {
                added.push(tp.clone());
                ctx.update_partition_assignment(&tp, a);
            }
            Some(known) if *known != a => {
                warn!("Ignoring the change of {tp}'s replicas in {} from {:?} to {:?}: only new partitions are taken from it", topic_path(topic), known, a);
            }
            Some(_) => {}
        }
    }
    added
}

fn event_name(e: &ControllerEvent) -> String {
    match e {
        ControllerEvent::BrokerModifications(id) => format!("BrokerModifications({id})"),
        ControllerEvent::PartitionModifications(t) => format!("PartitionModifications({t})"),
        ControllerEvent::ControlledShutdown { broker_id, .. } => format!("ControlledShutdown(broker {broker_id})"),
        ControllerEvent::LeaderAndIsrResponseReceived { broker_id, .. } => format!("LeaderAndIsrResponseReceived(broker {broker_id})"),
        ControllerEvent::TopicDeletionStopReplicaResponseReceived { broker_id, .. } => {
            format!("TopicDeletionStopReplicaResponseReceived(broker {broker_id})")
        }
        other => {
            let d = format!("{other:?}");
            d.split([' ', '(', '{']).next().unwrap_or("").to_string()
        }
    }
}

/// The partitions a controlled shutdown of `id` acts on (Kafka's
/// `doControlledShutdown`): replicated, with a known leader, of topics not
/// being deleted; split into those `id` leads (to elect anew) and those it
/// follows (to leave the ISR of).
pub fn controlled_shutdown_partitions(ctx: &ControllerContext, id: i32) -> (Vec<TopicPartition>, Vec<TopicPartition>) {
    ctx.partitions_on_broker(id)
        .into_iter()
        .filter(|tp| ctx.replication_factor(tp) > 1 && ctx.partition_leadership_info.contains_key(tp) && !ctx.is_topic_queued_for_deletion(&tp.topic))
        .partition(|tp| ctx.partition_leadership_info.get(tp).is_some_and(|l| l.leader_and_isr.leader == id))
}

/// The ControlledShutdown answer: the replicated partitions `id` still leads
/// (of topics not being deleted).
pub fn partitions_still_led(ctx: &ControllerContext, id: i32) -> Vec<TopicPartition> {
    ctx.partitions_led_by(&BTreeSet::from([id]))
        .into_iter()
        .filter(|tp| ctx.replication_factor(tp) > 1 && !ctx.is_topic_queued_for_deletion(&tp.topic))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controlled_shutdown_splits_led_and_followed_and_answers_what_is_still_led() {
        let mut ctx = ControllerContext::default();
        merge_topic_assignment(&mut ctx, "t", assignment(None, &[(0, &[1, 2]), (1, &[2, 1]), (2, &[1]), (3, &[2, 3]), (4, &[1, 3])]));
        merge_topic_assignment(&mut ctx, "gone", assignment(None, &[(0, &[1, 2])]));
        ctx.topics_to_be_deleted.insert("gone".to_string());
        let lead = |ctx: &mut ControllerContext, t: &str, p: i32, leader: i32| {
            let s = crate::zk::zk_data::LeaderIsrAndControllerEpoch { leader_and_isr: crate::zk::zk_data::LeaderAndIsr::new(leader, vec![leader]), controller_epoch: 1 };
            ctx.partition_leadership_info.insert(TopicPartition::new(t, p), s);
        };
        lead(&mut ctx, "t", 0, 1);
        lead(&mut ctx, "t", 1, 2);
        lead(&mut ctx, "t", 2, 1); // one replica: cannot move, not acted on
        lead(&mut ctx, "t", 3, 2); // not on broker 1
        // t-4 has no leadership yet: not acted on
        lead(&mut ctx, "gone", 0, 1); // being deleted: not acted on
        let (led, followed) = controlled_shutdown_partitions(&ctx, 1);
        assert_eq!(led, vec![TopicPartition::new("t", 0)]);
        assert_eq!(followed, vec![TopicPartition::new("t", 1)]);
        assert_eq!(partitions_still_led(&ctx, 1), vec![TopicPartition::new("t", 0)]);
        // Once t-0 has a new leader nothing replicated is left; the RF=1 t-2 is not reported.
        lead(&mut ctx, "t", 0, 2);
        assert!(partitions_still_led(&ctx, 1).is_empty());
    }

    fn assignment(id: Option<Uuid>, parts: &[(i32, &[i32])]) -> TopicAssignment {
        let m: BTreeMap<i32, Vec<i32>> = parts.iter().map(|(p, r)| (*p, r.to_vec())).collect();
        TopicAssignment::from_replicas(id, &m)
    }

    #[test]
    fn merge_topic_assignment_takes_only_new_partitions() {
        let mut ctx = ControllerContext::default();
        let id = [7u8; 16];
        let added = merge_topic_assignment(&mut ctx, "t", assignment(Some(id), &[(0, &[1, 2]), (1, &[2, 3])]));
        assert_eq!(added, vec![TopicPartition::new("t", 0), TopicPartition::new("t", 1)]);
        assert_eq!(ctx.topic_ids.get("t"), Some(&id));
        // A rewrite adds partition 2 and tries to change partition 0: only 2 is taken.
        let added = merge_topic_assignment(&mut ctx, "t", assignment(Some(id), &[(0, &[3, 1]), (1, &[2, 3]), (2, &[1, 3])]));
        assert_eq!(added, vec![TopicPartition::new("t", 2)]);
        assert_eq!(ctx.assignment(&TopicPartition::new("t", 0)).map(|a| a.replicas.clone()), Some(vec![1, 2]));
        assert_eq!(ctx.assignment(&TopicPartition::new("t", 2)).map(|a| a.replicas.clone()), Some(vec![1, 3]));
        // No topic id in the znode keeps the known one.
        assert!(merge_topic_assignment(&mut ctx, "t", assignment(None, &[(0, &[1, 2])])).is_empty());
        assert_eq!(ctx.topic_ids.get("t"), Some(&id));
    }
}
