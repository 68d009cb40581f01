//! The controller, as Kafka's `kafka.controller` package: one broker at a time
//! wins `/controller` and then drives partition leadership for the cluster.
//! `kafka_controller` (KafkaController: election, failover, event handling),
//! `event_manager` (ControllerEventManager: the single event queue),
//! `controller_context` (ControllerContext: the in-memory cluster view),
//! `partition_state_machine` / `replica_state_machine` (Kafka's state machines),
//! `election` (leader selection rules) and `channel_manager`
//! (ControllerChannelManager + ControllerBrokerRequestBatch: ordered sends of
//! LeaderAndIsr / UpdateMetadata / StopReplica to each broker).

pub mod channel_manager;
pub mod controller_context;
pub mod election;
pub mod event_manager;
pub mod kafka_controller;
pub mod partition_state_machine;
pub mod replica_state_machine;

pub use controller_context::ControllerContext;
pub use event_manager::{ControllerEvent, ControllerEventManager};
pub use kafka_controller::KafkaController;
pub use partition_state_machine::PartitionState;
pub use replica_state_machine::ReplicaState;

use std::time::Duration;

/// The controller-relevant broker settings.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// `broker.id`
    pub broker_id: i32,
    /// `inter.broker.listener.name` (or the listener of `security.inter.broker.protocol`).
    pub inter_broker_listener_name: String,
    /// `controller.socket.timeout.ms` (default 30000): per request to a broker.
    pub request_timeout: Duration,
    /// Backoff between retries of a failed send to a live broker.
    pub retry_backoff: Duration,
    /// Request versions (IBP 2.8-IV1: LeaderAndIsr 5, UpdateMetadata 7, StopReplica 3).
    pub leader_and_isr_version: i16,
    pub update_metadata_version: i16,
    pub stop_replica_version: i16,
}

impl ControllerConfig {
    pub fn new(broker_id: i32) -> Self {
        ControllerConfig {
            broker_id,
            inter_broker_listener_name: "PLAINTEXT".into(),
            request_timeout: Duration::from_millis(30000),
            retry_backoff: Duration::from_millis(100),
            leader_and_isr_version: 5,
            update_metadata_version: 7,
            stop_replica_version: 3,
        }
    }
}
