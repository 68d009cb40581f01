//! ControllerChannelManager (Kafka's `ControllerChannelManager`): one ordered
//! sender task per live broker — the controller's own broker included — that
//! delivers LeaderAndIsr / UpdateMetadata / StopReplica over the broker's
//! inter-broker listener and retries with backoff until the broker answers or
//! is removed. `ControllerBrokerRequestBatch` (Kafka's
//! `AbstractControllerBrokerRequestBatch`) collects a state change's requests
//! and builds the wire messages.

use super::controller_context::ControllerContext;
use super::event_manager::{ControllerEvent, ControllerEventManager};
use super::ControllerConfig;
use crate::client::BrokerConnection;
use crate::common::TopicPartition;
use crate::protocol::error::error_name;
use crate::protocol::messages::leader_and_isr::*;
use crate::protocol::messages::stop_replica::*;
use crate::protocol::messages::update_metadata::*;
use crate::protocol::TaggedFields;
use crate::zk::zk_data::{BrokerInfo, LeaderIsrAndControllerEpoch, ReplicaAssignment};
use super::event_log::{some, Kind};
use log::{debug, info, warn};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A request queued for one broker.
#[derive(Debug, Clone)]
pub enum ControllerRequest {
    LeaderAndIsr(LeaderAndIsrRequest),
    UpdateMetadata(UpdateMetadataRequest),
    StopReplica(StopReplicaRequest),
}

struct BrokerSender {
    tx: mpsc::UnboundedSender<ControllerRequest>,
    task: JoinHandle<()>,
}

/// Kafka's `ControllerChannelManager`.
pub struct ControllerChannelManager {
    config: Arc<ControllerConfig>,
    events: ControllerEventManager,
    senders: HashMap<i32, BrokerSender>,
}

impl ControllerChannelManager {
    pub fn new(config: Arc<ControllerConfig>, events: ControllerEventManager) -> Self {
        ControllerChannelManager { config, events, senders: HashMap::new() }
    }

    /// Starts a sender for `broker` (replacing an older one).
    pub fn add_broker(&mut self, broker: &BrokerInfo) {
        self.remove_broker(broker.id);
        let addr = broker.endpoint(&self.config.control_listener_name).map(|e| e.address());
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run_sender(broker.id, addr, rx, self.config.clone(), self.events.clone()));
        self.senders.insert(broker.id, BrokerSender { tx, task });
    }

    /// Stops the sender for `broker_id`, dropping whatever it had queued.
    pub fn remove_broker(&mut self, broker_id: i32) {
        if let Some(s) = self.senders.remove(&broker_id) {
            s.task.abort();
        }
    }

    pub fn has_broker(&self, broker_id: i32) -> bool {
        self.senders.contains_key(&broker_id)
    }

    pub fn send(&self, broker_id: i32, request: ControllerRequest) {
        match self.senders.get(&broker_id) {
            Some(s) => {
                let _ = s.tx.send(request);
            }
            None => warn!("Not sending {} to broker {broker_id}: it has no sender (not live)", kind(&request)),
        }
    }

    /// Stops every sender (on resignation or shutdown).
    pub fn shutdown(&mut self) {
        for (_, s) in self.senders.drain() {
            s.task.abort();
        }
    }
}

impl Drop for ControllerChannelManager {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn kind(r: &ControllerRequest) -> &'static str {
    match r {
        ControllerRequest::LeaderAndIsr(_) => "LeaderAndIsr",
        ControllerRequest::UpdateMetadata(_) => "UpdateMetadata",
        ControllerRequest::StopReplica(_) => "StopReplica",
    }
}

/// One broker's sender: requests go out strictly in order; a failed send is
/// retried (new connection, growing backoff) until it succeeds or the task is
/// aborted because the broker left the live set.
async fn run_sender(
    broker_id: i32,
    addr: Option<String>,
    mut rx: mpsc::UnboundedReceiver<ControllerRequest>,
    config: Arc<ControllerConfig>,
    events: ControllerEventManager,
) {
    let Some(addr) = addr else {
        warn!("Broker {broker_id} has no {} endpoint; controller requests to it are dropped", config.control_listener_name);
        while rx.recv().await.is_some() {}
        return;
    };
    let client_id = format!("controller-{}", config.broker_id);
    let mut conn: Option<BrokerConnection> = None;
    while let Some(request) = rx.recv().await {
        let mut backoff = config.retry_backoff;
        loop {
            let c = match conn.as_mut() {
                Some(c) => c,
                None => match BrokerConnection::connect_secured(&addr, &client_id, config.request_timeout, &config.channel).await {
                    Ok(c) => {
                        info!("Controller {} connected to broker {broker_id} at {addr}", config.broker_id);
                        conn.insert(c)
                    }
                    Err(e) => {
                        warn!("Controller {} cannot connect to broker {broker_id} at {addr}: {e}; retrying", config.broker_id);
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                },
            };
            let t = config.request_timeout;
            let outcome = match &request {
                ControllerRequest::LeaderAndIsr(r) => c
                    .send_timeout::<_, LeaderAndIsrResponse>(config.leader_and_isr_version, r, t)
                    .await
                    .map(|resp| {
                        if resp.error_code != 0 {
                            warn!("Broker {broker_id} answered LeaderAndIsr with {}", error_name(resp.error_code));
                        }
                        events.put(ControllerEvent::LeaderAndIsrResponseReceived { broker_id, response: resp });
                    }),
                ControllerRequest::UpdateMetadata(r) => c
                    .send_timeout::<_, UpdateMetadataResponse>(config.update_metadata_version, r, t)
                    .await
                    .map(|resp| {
                        if resp.error_code != 0 {
                            warn!("Broker {broker_id} answered UpdateMetadata with {}", error_name(resp.error_code));
                        }
                    }),
                ControllerRequest::StopReplica(r) => c
                    .send_timeout::<_, StopReplicaResponse>(config.stop_replica_version, r, t)
                    .await
                    .map(|resp| {
                        if resp.error_code != 0 {
                            warn!("Broker {broker_id} answered StopReplica with {}", error_name(resp.error_code));
                        }
                        let deleted: Vec<TopicPartition> = r
                            .topic_states
                            .iter()
                            .flat_map(|t| {
                                t.partition_states
                                    .iter()
                                    .filter(|p| p.delete_partition)
                                    .map(move |p| TopicPartition::new(t.topic_name.clone(), p.partition_index))
                            })
                            .collect();
                        if !deleted.is_empty() {
                            let partition_errors = deleted
                                .into_iter()
                                .map(|tp| {
                                    let code = resp
                                        .partition_errors
                                        .iter()
                                        .find(|e| e.topic_name == tp.topic && e.partition_index == tp.partition)
                                        .map(|e| e.error_code)
                                        .unwrap_or(resp.error_code);
                                    (tp, code)
                                })
                                .collect();
                            events.put(ControllerEvent::TopicDeletionStopReplicaResponseReceived {
                                broker_id,
                                error_code: resp.error_code,
                                partition_errors,
                            });
                        }
                    }),
            };
            match outcome {
                Ok(()) => {
                    debug!("Delivered {} to broker {broker_id}", kind(&request));
                    crate::record_event!(Kind::Response, "ControllerChannelManager (RequestSendThread)", "Broker {broker_id} answered {}", kind(&request));
                    break;
                }
                Err(e) => {
                    warn!("Sending {} to broker {broker_id} at {addr} failed: {e}; reconnecting and retrying", kind(&request));
                    crate::record_event!(Kind::Response, "ControllerChannelManager (RequestSendThread)", "Sending {} to broker {broker_id} failed: {e}; retrying", kind(&request));
                    conn = None;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

/// Collects the requests of one round of state changes.
#[derive(Debug, Default)]
pub struct ControllerBrokerRequestBatch {
    leader_and_isr: BTreeMap<i32, BTreeMap<TopicPartition, LeaderAndIsrPartitionState>>,
    /// Per broker and partition: (delete the log, force: send the epoch
    /// sentinel -2 so the broker deletes whatever epoch it holds).
    stop_replica: BTreeMap<i32, BTreeMap<TopicPartition, (bool, bool)>>,
    update_metadata_brokers: BTreeSet<i32>,
    update_metadata_partitions: BTreeSet<TopicPartition>,
}

impl ControllerBrokerRequestBatch {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.leader_and_isr.is_empty() && self.stop_replica.is_empty() && self.update_metadata_brokers.is_empty()
    }

    /// LeaderAndIsr for `tp` to `brokers`, plus UpdateMetadata for `tp` to every live broker.
    pub fn add_leader_and_isr_request_for_brokers(
        &mut self,
        ctx: &ControllerContext,
        brokers: &[i32],
        tp: &TopicPartition,
        state: &LeaderIsrAndControllerEpoch,
        assignment: &ReplicaAssignment,
        is_new: bool,
    ) {
        for &b in brokers.iter().filter(|b| **b >= 0) {
            let entry = self.leader_and_isr.entry(b).or_default();
            let already_new = entry.get(tp).map(|s| s.is_new).unwrap_or(false);
            let lai = &state.leader_and_isr;
            entry.insert(
                tp.clone(),
                LeaderAndIsrPartitionState {
                    topic_name: tp.topic.clone(),
                    partition_index: tp.partition,
                    controller_epoch: state.controller_epoch,
                    leader: lai.leader,
                    leader_epoch: lai.leader_epoch,
                    isr: lai.isr.clone(),
                    zk_version: lai.zk_version,
                    replicas: assignment.replicas.clone(),
                    adding_replicas: assignment.adding_replicas.clone(),
                    removing_replicas: assignment.removing_replicas.clone(),
                    is_new: is_new || already_new,
                    tagged_fields: TaggedFields::default(),
                },
            );
        }
        let all: Vec<i32> = ctx.live_or_shutting_down_broker_ids().into_iter().collect();
        self.add_update_metadata_request_for_brokers(&all, std::slice::from_ref(tp));
    }

    pub fn add_stop_replica_request_for_brokers(&mut self, brokers: &[i32], tp: &TopicPartition, delete: bool) {
        for &b in brokers.iter().filter(|b| **b >= 0) {
            let e = self.stop_replica.entry(b).or_default().entry(tp.clone()).or_insert((false, false));
            e.0 = e.0 || delete;
        }
    }

    /// StopReplica with delete=true for replicas a reassignment removes,
    /// carrying the epoch sentinel -2 (Kafka's `EpochDuringDelete`). A
    /// replica the reassignment was still adding is not in the ISR, so its
    /// removal bumps no leader epoch, and the broker would ignore a
    /// StopReplica whose epoch equals the one it already has (as Kafka 2.8's
    /// broker does, which leaves a cancelled move's copy on disk). The
    /// controller epoch still fences the request.
    pub fn add_stop_replica_request_for_removed_replicas(&mut self, brokers: &[i32], tp: &TopicPartition) {
        for &b in brokers.iter().filter(|b| **b >= 0) {
            self.stop_replica.entry(b).or_default().insert(tp.clone(), (true, true));
        }
    }

    /// UpdateMetadata to `brokers` carrying `partitions` (may be empty: brokers only).
    pub fn add_update_metadata_request_for_brokers(&mut self, brokers: &[i32], partitions: &[TopicPartition]) {
        self.update_metadata_brokers.extend(brokers.iter().copied().filter(|b| *b >= 0));
        self.update_metadata_partitions.extend(partitions.iter().cloned());
    }

    fn live_brokers(ctx: &ControllerContext) -> Vec<UpdateMetadataBroker> {
        ctx.live_brokers
            .values()
            .map(|b| UpdateMetadataBroker {
                id: b.id,
                v0_host: String::new(),
                v0_port: 0,
                endpoints: b
                    .endpoints
                    .iter()
                    .map(|e| UpdateMetadataEndpoint {
                        port: e.port,
                        host: e.host.clone(),
                        listener: e.listener_name.clone(),
                        security_protocol: e.security_protocol.id(),
                        tagged_fields: TaggedFields::default(),
                    })
                    .collect(),
                rack: b.rack.clone(),
                tagged_fields: TaggedFields::default(),
            })
            .collect()
    }

    /// Builds the wire requests and queues them (LeaderAndIsr, then
    /// UpdateMetadata, then StopReplica), then clears the batch.
    pub fn send_requests_to_brokers(
        &mut self,
        ctx: &ControllerContext,
        channel: &ControllerChannelManager,
        config: &ControllerConfig,
    ) {
        let controller_id = config.broker_id;
        let epoch = ctx.epoch;
        let listener = &config.inter_broker_listener_name;
        for (broker, states) in std::mem::take(&mut self.leader_and_isr) {
            if !ctx.live_brokers.contains_key(&broker) {
                continue;
            }
            let leaders: BTreeSet<i32> = states.values().map(|s| s.leader).collect();
            let live_leaders = leaders
                .iter()
                .filter_map(|l| ctx.live_brokers.get(l))
                .filter_map(|b| b.endpoint(listener).map(|e| (b.id, e)))
                .map(|(id, e)| LeaderAndIsrLiveLeader { broker_id: id, host_name: e.host.clone(), port: e.port, tagged_fields: TaggedFields::default() })
                .collect();
            crate::record_event!(Kind::Request, "ControllerBrokerRequestBatch", "LeaderAndIsr → broker {broker} (controller epoch {epoch}): {}", some(states.iter().map(|(tp, s)| format!("{tp} leader {} epoch {} isr {:?}", s.leader, s.leader_epoch, s.isr)), 8));
            let mut by_topic: BTreeMap<String, Vec<LeaderAndIsrPartitionState>> = BTreeMap::new();
            for (tp, s) in states {
                by_topic.entry(tp.topic).or_default().push(s);
            }
            let topics = by_topic
                .into_iter()
                .map(|(t, s)| {
                    let id = ctx.topic_ids.get(&t).copied().unwrap_or_default();
                    (t, id, s)
                })
                .collect();
            let mut req = LeaderAndIsrRequest {
                controller_id,
                controller_epoch: epoch,
                broker_epoch: ctx.live_broker_epochs.get(&broker).copied().unwrap_or(-1),
                request_type: 0,
                live_leaders,
                ..Default::default()
            };
            req.set_partition_states(config.leader_and_isr_version, topics);
            channel.send(broker, ControllerRequest::LeaderAndIsr(req));
        }

        let brokers = std::mem::take(&mut self.update_metadata_brokers);
        let partitions = std::mem::take(&mut self.update_metadata_partitions);
        if !brokers.is_empty() {
            let mut by_topic: BTreeMap<String, Vec<UpdateMetadataPartitionState>> = BTreeMap::new();
            for tp in &partitions {
                let Some(l) = ctx.partition_leadership_info.get(tp) else { continue };
                let lai = &l.leader_and_isr;
                let leader = if ctx.is_topic_queued_for_deletion(&tp.topic) {
                    crate::zk::zk_data::LeaderAndIsr::LEADER_DURING_DELETE
                } else {
                    lai.leader
                };
                by_topic.entry(tp.topic.clone()).or_default().push(UpdateMetadataPartitionState {
                    topic_name: tp.topic.clone(),
                    partition_index: tp.partition,
                    controller_epoch: l.controller_epoch,
                    leader,
                    leader_epoch: lai.leader_epoch,
                    isr: lai.isr.clone(),
                    zk_version: lai.zk_version,
                    replicas: ctx.replicas(tp),
                    offline_replicas: ctx.offline_replicas(tp),
                    tagged_fields: TaggedFields::default(),
                });
            }
            let topics: Vec<_> = by_topic
                .into_iter()
                .map(|(t, s)| {
                    let id = ctx.topic_ids.get(&t).copied().unwrap_or_default();
                    (t, id, s)
                })
                .collect();
            let live = Self::live_brokers(ctx);
            for broker in brokers {
                if !ctx.live_brokers.contains_key(&broker) {
                    continue;
                }
                let mut req = UpdateMetadataRequest {
                    controller_id,
                    controller_epoch: epoch,
                    broker_epoch: ctx.live_broker_epochs.get(&broker).copied().unwrap_or(-1),
                    live_brokers: live.clone(),
                    ..Default::default()
                };
                crate::record_event!(Kind::Request, "ControllerBrokerRequestBatch", "UpdateMetadata → broker {broker}: live brokers {:?}, {} partition state(s)", ctx.live_brokers.keys().collect::<Vec<_>>(), partitions.len());
                req.set_partition_states(config.update_metadata_version, topics.clone());
                channel.send(broker, ControllerRequest::UpdateMetadata(req));
            }
        }

        for (broker, parts) in std::mem::take(&mut self.stop_replica) {
            if !ctx.live_brokers.contains_key(&broker) {
                continue;
            }
            crate::record_event!(Kind::Request, "ControllerBrokerRequestBatch", "StopReplica → broker {broker}: {}", some(parts.iter().map(|(tp, (delete, _))| format!("{tp}{}", if *delete { " (delete)" } else { "" })), 8));
            let mut by_topic: BTreeMap<String, Vec<StopReplicaPartitionState>> = BTreeMap::new();
            for (tp, (delete, force)) in parts {
                let leader_epoch = if force || ctx.is_topic_queued_for_deletion(&tp.topic) {
                    -2
                } else {
                    ctx.partition_leadership_info.get(&tp).map(|l| l.leader_and_isr.leader_epoch).unwrap_or(-1)
                };
                by_topic.entry(tp.topic.clone()).or_default().push(StopReplicaPartitionState {
                    partition_index: tp.partition,
                    leader_epoch,
                    delete_partition: delete,
                    tagged_fields: TaggedFields::default(),
                });
            }
            let req = StopReplicaRequest {
                controller_id,
                controller_epoch: epoch,
                broker_epoch: ctx.live_broker_epochs.get(&broker).copied().unwrap_or(-1),
                topic_states: by_topic
                    .into_iter()
                    .map(|(t, s)| StopReplicaTopicState { topic_name: t, partition_states: s, tagged_fields: TaggedFields::default() })
                    .collect(),
                ..Default::default()
            };
            channel.send(broker, ControllerRequest::StopReplica(req));
        }
    }
}
