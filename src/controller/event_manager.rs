//! ControllerEventManager (Kafka's `ControllerEventManager`): the one queue all
//! controller work goes through. ZooKeeper watches, session changes, broker
//! responses and API calls only enqueue events; a single task processes them
//! in order, so controller state is never touched concurrently.

use crate::protocol::messages::leader_and_isr::LeaderAndIsrResponse;
use crate::common::TopicPartition;
use crate::protocol::ErrorCode;
use std::collections::BTreeMap;
use tokio::sync::{mpsc, oneshot};

/// (replicas, adding replicas, removing replicas) of a moving partition.
pub type ReassignmentListing = (Vec<i32>, Vec<i32>, Vec<i32>);

/// Kafka's `ElectionType` (ElectLeaders: PREFERRED = 0, UNCLEAN = 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionType {
    Preferred,
    Unclean,
}

impl ElectionType {
    pub fn from_i8(v: i8) -> Option<ElectionType> {
        match v {
            0 => Some(ElectionType::Preferred),
            1 => Some(ElectionType::Unclean),
            _ => None,
        }
    }
}

/// Kafka's `ControllerEvent`s (the subset implemented so far).
#[derive(Debug)]
pub enum ControllerEvent {
    /// Watch `/controller` and try to become controller.
    Startup,
    /// `/controller` was created or changed.
    ControllerChange,
    /// `/controller` was deleted: re-elect.
    Reelect,
    /// A new ZooKeeper session replaced an expired one: resign, re-register the
    /// broker (new broker epoch), re-elect (Kafka's Expire + RegisterBrokerAndReelect).
    SessionReinitialized,
    /// `/brokers/ids` children changed.
    BrokerChange,
    /// `/brokers/ids/<id>` data changed.
    BrokerModifications(i32),
    /// `/brokers/topics` children changed.
    TopicChange,
    /// `/brokers/topics/<topic>` data changed (partitions added).
    PartitionModifications(String),
    /// `/isr_change_notification` children changed.
    IsrChangeNotification,
    /// `/admin/preferred_replica_election` was created or changed (or must be re-checked).
    PreferredReplicaElection,
    /// The broker default of `unclean.leader.election.enable` changed
    /// dynamically (Kafka's `UncleanLeaderElectionEnable`).
    UncleanLeaderElectionEnable,
    /// A topic's `unclean.leader.election.enable` was set to true (Kafka's
    /// `TopicUncleanLeaderElectionEnable`).
    TopicUncleanLeaderElectionEnable(String),
    /// The periodic `auto.leader.rebalance.enable` imbalance check.
    AutoPreferredReplicaLeaderElection,
    /// A broker asked to shut down in a controlled way (ControlledShutdown API).
    /// The reply carries the replicated partitions it still leads, or an error code.
    ControlledShutdown {
        broker_id: i32,
        broker_epoch: i64,
        reply: oneshot::Sender<Result<Vec<TopicPartition>, ErrorCode>>,
    },
    /// `/admin/delete_topics` children changed.
    TopicDeletion,
    /// A broker answered a StopReplica request that deleted partitions:
    /// per partition, its error code (the top-level error applies to all).
    TopicDeletionStopReplicaResponseReceived { broker_id: i32, error_code: ErrorCode, partition_errors: Vec<(TopicPartition, ErrorCode)> },
    /// `/admin/reassign_partitions` was created, changed or deleted
    /// (`created`: it exists and was just created, so its targets are read).
    ZkPartitionReassignment { created: bool },
    /// The `state` znode of a partition being reassigned changed (Kafka's
    /// PartitionReassignmentIsrChange): check whether TRS is in the ISR.
    PartitionReassignmentIsrChange(TopicPartition),
    /// AlterPartitionReassignments: per partition a target (None = cancel).
    ApiPartitionReassignment {
        reassignments: BTreeMap<TopicPartition, Option<Vec<i32>>>,
        reply: oneshot::Sender<Result<BTreeMap<TopicPartition, (ErrorCode, Option<String>)>, ErrorCode>>,
    },
    /// ListPartitionReassignments (None = every partition being reassigned).
    ListPartitionReassignments {
        partitions: Option<Vec<TopicPartition>>,
        reply: oneshot::Sender<Result<BTreeMap<TopicPartition, ReassignmentListing>, ErrorCode>>,
    },
    /// ElectLeaders from the admin API (None = every partition).
    ReplicaLeaderElection {
        election_type: ElectionType,
        partitions: Option<Vec<TopicPartition>>,
        reply: oneshot::Sender<Result<BTreeMap<TopicPartition, (ErrorCode, Option<String>)>, ErrorCode>>,
    },
    /// A broker answered a LeaderAndIsr request.
    LeaderAndIsrResponseReceived { broker_id: i32, response: LeaderAndIsrResponse },
    /// Stop processing (resigning first if active).
    Shutdown,
}

/// The sending side of the controller's event queue.
#[derive(Clone, Debug)]
pub struct ControllerEventManager {
    tx: mpsc::UnboundedSender<ControllerEvent>,
}

impl ControllerEventManager {
    pub fn new() -> (Self, mpsc::UnboundedReceiver<ControllerEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (ControllerEventManager { tx }, rx)
    }

    /// Enqueues an event; silently dropped once the controller has stopped.
    pub fn put(&self, event: ControllerEvent) {
        let _ = self.tx.send(event);
    }
}
