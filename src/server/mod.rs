//! The broker: start-up and shutdown (`KafkaServer`), the network layer
//! (`SocketServer`), request dispatch (`KafkaApis`, one file per API under
//! `apis/`), the hosted partitions (`ReplicaManager`, `Partition`), follower
//! replication (`ReplicaFetcherManager`), leader ISR writes (`IsrManager`), moves
//! between log dirs (`ReplicaAlterLogDirsManager`), the cluster view
//! (`MetadataCache`), replication throttles (`ReplicationQuotaManager`), client
//! quotas (`ClientQuotaManager`), dynamic configs from ZooKeeper
//! (`DynamicConfigManager`) and the live broker configuration they make
//! (`DynamicBrokerConfig`). Maps to Kafka's `kafka.server` and `kafka.network`.

pub mod apis;
pub mod auth_helper;
pub mod client_quota_manager;
pub mod dynamic_broker_config;
pub mod dynamic_config_manager;
pub mod http_server;
pub mod isr_manager;
pub mod kafka_apis;
pub mod kafka_server;
pub mod metadata_cache;
pub mod partition;
pub mod producer_id_manager;
pub mod replica_alter_log_dirs;
pub mod replica_fetcher;
pub mod replica_manager;
pub mod replication_quota_manager;
pub mod socket_server;
