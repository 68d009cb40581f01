//! zkafka: a Kafka broker in the architecture Apache Kafka had before 3.0,
//! coordinated by ZooKeeper. The modules follow Kafka's own components:
//!
//! - `protocol`: the wire codec (`org.apache.kafka.common.protocol`, `common.message`, `common.record`)
//! - `log`: the segment-file store (`kafka.log`: Log, LogSegment, OffsetIndex, TimeIndex, LogManager)
//! - `zk`: ZooKeeper access (`kafka.zk`: KafkaZkClient, ZkData, AdminZkClient)
//! - `coordinator`: the group coordinator (`kafka.coordinator.group`: GroupCoordinator, GroupMetadata, GroupMetadataManager)
//! - `controller`: the controller (`kafka.controller`: KafkaController, state machines, ControllerChannelManager)
//! - `server`: the broker (`kafka.server` and `kafka.network`: KafkaServer, SocketServer, KafkaApis, ReplicaManager, MetadataCache)
//! - `tools`: the command-line tools (`kafka.admin`, `kafka.tools`)
//! - `client`: a small Kafka client the tools use to talk to brokers

pub mod client;
pub mod common;
pub mod config;
pub mod controller;
pub mod coordinator;
pub mod log;
pub mod log4j_controller;
pub mod protocol;
pub mod security;
pub mod server;
pub mod tools;
pub mod utils;
pub mod zk;
