//! ControllerContext (Kafka's `ControllerContext`): the active controller's
//! in-memory view of the cluster, rebuilt from ZooKeeper on every failover.

use super::partition_state_machine::PartitionState;
use super::replica_state_machine::ReplicaState;
use crate::common::TopicPartition;
use crate::zk::zk_data::{BrokerInfo, LeaderIsrAndControllerEpoch, ReplicaAssignment, Uuid};
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Debug, Default)]
pub struct ControllerContext {
    /// Our controller epoch and the zkVersion of `/controller_epoch` that fences our writes.
    pub epoch: i32,
    pub epoch_zk_version: i32,
    pub live_brokers: BTreeMap<i32, BrokerInfo>,
    /// Broker epoch (czxid of `/brokers/ids/<id>`) per live broker.
    pub live_broker_epochs: BTreeMap<i32, i64>,
    pub shutting_down_broker_ids: BTreeSet<i32>,
    pub all_topics: BTreeSet<String>,
    pub topic_ids: HashMap<String, Uuid>,
    pub partition_assignments: BTreeMap<String, BTreeMap<i32, ReplicaAssignment>>,
    pub partition_leadership_info: HashMap<TopicPartition, LeaderIsrAndControllerEpoch>,
    pub partition_states: HashMap<TopicPartition, PartitionState>,
    pub replica_states: HashMap<(TopicPartition, i32), ReplicaState>,
    pub topics_to_be_deleted: BTreeSet<String>,
    /// Queued topics whose deletion is paused after a broker failed to delete a
    /// replica; resumed when a broker hosting one of its replicas starts.
    pub topics_ineligible_for_deletion: BTreeSet<String>,
    /// The broker default of `unclean.leader.election.enable` (topics may override it).
    pub unclean_leader_election_default: bool,
    /// Kafka's `partitionsBeingReassigned`: partitions with AR or RR.
    pub partitions_being_reassigned: BTreeSet<TopicPartition>,
    /// Reassigning partitions whose `state` znode has a data watch armed.
    pub reassignment_isr_watched: BTreeSet<TopicPartition>,
}

impl ControllerContext {
    /// Forgets everything (on resignation); epoch fields are kept.
    pub fn reset(&mut self) {
        let (epoch, v, u) = (self.epoch, self.epoch_zk_version, self.unclean_leader_election_default);
        *self = ControllerContext { epoch, epoch_zk_version: v, unclean_leader_election_default: u, ..Default::default() };
    }

    pub fn is_broker_live(&self, id: i32) -> bool {
        self.live_brokers.contains_key(&id) && !self.shutting_down_broker_ids.contains(&id)
    }

    pub fn live_or_shutting_down_broker_ids(&self) -> BTreeSet<i32> {
        self.live_brokers.keys().copied().collect()
    }

    /// A replica is online when its broker is live (log-dir failures are not tracked yet).
    pub fn is_replica_online(&self, broker_id: i32, _tp: &TopicPartition) -> bool {
        self.live_brokers.contains_key(&broker_id)
    }

    pub fn assignment(&self, tp: &TopicPartition) -> Option<&ReplicaAssignment> {
        self.partition_assignments.get(&tp.topic).and_then(|m| m.get(&tp.partition))
    }

    pub fn replicas(&self, tp: &TopicPartition) -> Vec<i32> {
        self.assignment(tp).map(|a| a.replicas.clone()).unwrap_or_default()
    }

    pub fn update_partition_assignment(&mut self, tp: &TopicPartition, a: ReplicaAssignment) {
        self.partition_assignments.entry(tp.topic.clone()).or_default().insert(tp.partition, a);
    }

    pub fn all_partitions(&self) -> Vec<TopicPartition> {
        self.partition_assignments
            .iter()
            .flat_map(|(t, m)| m.keys().map(move |p| TopicPartition::new(t.clone(), *p)))
            .collect()
    }

    pub fn partitions_for_topic(&self, topic: &str) -> Vec<TopicPartition> {
        self.partition_assignments
            .get(topic)
            .map(|m| m.keys().map(|p| TopicPartition::new(topic, *p)).collect())
            .unwrap_or_default()
    }

    /// (partition, broker) for every replica hosted on one of `brokers`.
    pub fn replicas_on_brokers(&self, brokers: &BTreeSet<i32>) -> Vec<(TopicPartition, i32)> {
        let mut out = Vec::new();
        for (t, m) in &self.partition_assignments {
            for (p, a) in m {
                for r in &a.replicas {
                    if brokers.contains(r) {
                        out.push((TopicPartition::new(t.clone(), *p), *r));
                    }
                }
            }
        }
        out
    }

    /// Partitions whose current leader is one of `brokers`.
    pub fn partitions_led_by(&self, brokers: &BTreeSet<i32>) -> Vec<TopicPartition> {
        let mut v: Vec<TopicPartition> = self
            .partition_leadership_info
            .iter()
            .filter(|(_, l)| brokers.contains(&l.leader_and_isr.leader))
            .map(|(tp, _)| tp.clone())
            .collect();
        v.sort();
        v
    }

    pub fn partitions_in_states(&self, states: &[PartitionState]) -> Vec<TopicPartition> {
        let mut v: Vec<TopicPartition> =
            self.partition_states.iter().filter(|(_, s)| states.contains(s)).map(|(tp, _)| tp.clone()).collect();
        v.sort();
        v
    }

    pub fn offline_replicas(&self, tp: &TopicPartition) -> Vec<i32> {
        self.replicas(tp).into_iter().filter(|r| !self.is_replica_online(*r, tp)).collect()
    }

    /// Partitions with a replica on `broker`.
    pub fn partitions_on_broker(&self, broker: i32) -> Vec<TopicPartition> {
        let mut v: Vec<TopicPartition> = self
            .partition_assignments
            .iter()
            .flat_map(|(t, m)| m.iter().filter(|(_, a)| a.replicas.contains(&broker)).map(move |(p, _)| TopicPartition::new(t.clone(), *p)))
            .collect();
        v.sort();
        v
    }

    pub fn replication_factor(&self, tp: &TopicPartition) -> usize {
        self.assignment(tp).map(|a| a.replicas.len()).unwrap_or(0)
    }

    pub fn is_topic_queued_for_deletion(&self, topic: &str) -> bool {
        self.topics_to_be_deleted.contains(topic)
    }

    pub fn remove_topic(&mut self, topic: &str) {
        self.all_topics.remove(topic);
        self.topic_ids.remove(topic);
        self.partition_assignments.remove(topic);
        self.partition_leadership_info.retain(|tp, _| tp.topic != topic);
        self.partition_states.retain(|tp, _| tp.topic != topic);
        self.replica_states.retain(|(tp, _), _| tp.topic != topic);
        self.topics_to_be_deleted.remove(topic);
        self.topics_ineligible_for_deletion.remove(topic);
        self.partitions_being_reassigned.retain(|tp| tp.topic != topic);
        self.reassignment_isr_watched.retain(|tp| tp.topic != topic);
    }

    /// A topic with a partition being reassigned must not be deleted yet.
    pub fn is_topic_being_reassigned(&self, topic: &str) -> bool {
        self.partitions_being_reassigned.iter().any(|tp| tp.topic == topic)
    }

    /// Live broker ids, without the ones shutting down (Kafka's `liveBrokerIds`).
    pub fn live_broker_ids(&self) -> BTreeSet<i32> {
        self.live_brokers.keys().copied().filter(|b| !self.shutting_down_broker_ids.contains(b)).collect()
    }
}
