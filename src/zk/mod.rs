//! ZooKeeper access, as Kafka's `kafka.zk` package: `zk_data` (znode paths and
//! JSON codecs, Kafka's `ZkData`), `kafka_zk_client` (Kafka's `KafkaZkClient`:
//! sessions, broker registration, controller election and fenced writes) and
//! `admin_zk_client` (Kafka's `AdminZkClient` + `AdminUtils`: topic creation,
//! validation and replica placement), `zk_security` (the JAAS `Client`
//! login, SASL DIGEST-MD5 and Kafka's znode ACLs: `ZkData.defaultAcls`).

pub mod admin_zk_client;
pub mod kafka_zk_client;
pub mod zk_data;
pub mod zk_security;

pub use admin_zk_client::{AdminError, AdminZkClient, BrokerMetadata, RackAwareMode};
pub use kafka_zk_client::{KafkaZkClient, ZkClientConfig, ZkError};
pub use zk_security::{ZkSecurity, ZkSecuritySysProps};
pub use zk_data::{BrokerInfo, EndPoint, LeaderAndIsr, LeaderIsrAndControllerEpoch, ReplicaAssignment, SecurityProtocol, TopicAssignment};
