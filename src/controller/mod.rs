//! The controller, as Kafka's `kafka.controller` package: one broker at a time
//! wins `/controller` and then drives partition leadership for the cluster.
//! `kafka_controller` (KafkaController: election, failover, event handling),
//! `event_manager` (ControllerEventManager: the single event queue),
//! `controller_context` (ControllerContext: the in-memory cluster view),
//! `partition_state_machine` / `replica_state_machine` (Kafka's state machines),
//! `election` (leader selection rules), `reassignment` (the KIP-455
//! partition reassignment decisions, pure) and `channel_manager`
//! (ControllerChannelManager + ControllerBrokerRequestBatch: ordered sends of
//! LeaderAndIsr / UpdateMetadata / StopReplica to each broker).

pub mod channel_manager;
pub mod controller_context;
pub mod election;
pub mod event_log;
pub mod event_manager;
pub mod kafka_controller;
pub mod partition_state_machine;
pub mod reassignment;
pub mod replica_state_machine;

pub use controller_context::ControllerContext;
pub use event_manager::{ControllerEvent, ControllerEventManager, ElectionType, ReassignmentListing};
pub use kafka_controller::KafkaController;
pub use partition_state_machine::PartitionState;
pub use replica_state_machine::ReplicaState;

use crate::config::KafkaConfig;
use std::time::Duration;

/// The controller-relevant broker settings.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// `broker.id`
    pub broker_id: i32,
    /// `inter.broker.listener.name` (or the listener of `security.inter.broker.protocol`).
    pub inter_broker_listener_name: String,
    /// The listener the controller's requests to brokers go to
    /// (`control.plane.listener.name`, else the inter-broker listener), and
    /// how to connect to it.
    pub control_listener_name: String,
    pub channel: crate::client::ChannelSecurity,
    /// `controller.socket.timeout.ms` (default 30000): per request to a broker.
    pub request_timeout: Duration,
    /// Backoff between retries of a failed send to a live broker.
    pub retry_backoff: Duration,
    /// Request versions (IBP 2.8-IV1: LeaderAndIsr 5, UpdateMetadata 7, StopReplica 3).
    pub leader_and_isr_version: i16,
    pub update_metadata_version: i16,
    pub stop_replica_version: i16,
    /// `unclean.leader.election.enable` (default false); `/config/topics/<t>` overrides it per topic.
    pub unclean_leader_election_enable: bool,
    /// `auto.leader.rebalance.enable` (default true).
    pub auto_leader_rebalance_enable: bool,
    /// `leader.imbalance.per.broker.percentage` (default 10).
    pub leader_imbalance_per_broker_percentage: i64,
    /// `leader.imbalance.check.interval.seconds` (default 300).
    pub leader_imbalance_check_interval: Duration,
    /// Delay of the first imbalance check after a failover (Kafka: 5 s).
    pub first_imbalance_check_delay: Duration,
    /// `delete.topic.enable` (default true).
    pub delete_topic_enable: bool,
}

impl ControllerConfig {
    pub fn new(broker_id: i32) -> Self {
        ControllerConfig {
            broker_id,
            inter_broker_listener_name: "PLAINTEXT".into(),
            control_listener_name: "PLAINTEXT".into(),
            channel: crate::client::ChannelSecurity::plaintext(),
            request_timeout: Duration::from_millis(30000),
            retry_backoff: Duration::from_millis(100),
            leader_and_isr_version: 5,
            update_metadata_version: 7,
            stop_replica_version: 3,
            unclean_leader_election_enable: false,
            auto_leader_rebalance_enable: true,
            leader_imbalance_per_broker_percentage: 10,
            leader_imbalance_check_interval: Duration::from_secs(300),
            first_imbalance_check_delay: Duration::from_secs(5),
            delete_topic_enable: true,
        }
    }

    /// The controller settings of a broker's configuration.
    pub fn from_kafka_config(c: &KafkaConfig) -> Self {
        ControllerConfig {
            inter_broker_listener_name: c.inter_broker_listener_name.clone(),
            control_listener_name: c.control_plane_listener_name.clone().unwrap_or_else(|| c.inter_broker_listener_name.clone()),
            request_timeout: Duration::from_millis(c.get_i64("controller.socket.timeout.ms", 30000).max(1) as u64),
            unclean_leader_election_enable: c.unclean_leader_election_enable,
            auto_leader_rebalance_enable: c.auto_leader_rebalance_enable,
            leader_imbalance_per_broker_percentage: c.get_i64("leader.imbalance.per.broker.percentage", 10).clamp(0, 100),
            leader_imbalance_check_interval: Duration::from_secs(
                c.get_i64("leader.imbalance.check.interval.seconds", 300).max(1) as u64,
            ),
            delete_topic_enable: c.delete_topic_enable,
            ..ControllerConfig::new(c.broker_id)
        }
    }
}
