//! One file per Kafka API: the request and response bodies of each, typed and
//! versioned, with round-trip tests for every version. Maps to Kafka's
//! generated `org.apache.kafka.common.message.*Data` classes.

pub mod api_versions;
pub mod create_topics;
pub mod describe_configs;
pub mod fetch;
pub mod init_producer_id;
pub mod list_offsets;
pub mod metadata;
pub mod offset_for_leader_epoch;
pub mod produce;
// Controller-to-broker messages (KafkaController / ControllerChannelManager).
pub mod controlled_shutdown;
pub mod leader_and_isr;
pub mod stop_replica;
pub mod update_metadata;
// Transactions (issue 12): coordinator-to-leader markers.
pub mod write_txn_markers;
// Admin APIs of the controller and brokers (issue 7: operating the cluster).
pub mod alter_client_quotas;
pub mod alter_configs;
pub mod alter_partition_reassignments;
pub mod alter_replica_log_dirs;
pub mod create_partitions;
pub mod delete_records;
pub mod delete_topics;
pub mod describe_client_quotas;
pub mod describe_log_dirs;
pub mod elect_leaders;
pub mod incremental_alter_configs;
pub mod list_partition_reassignments;
// Group coordinator APIs (GroupCoordinator).
pub mod delete_groups;
pub mod describe_groups;
pub mod find_coordinator;
pub mod heartbeat;
pub mod join_group;
pub mod leave_group;
pub mod list_groups;
pub mod offset_commit;
pub mod offset_delete;
pub mod offset_fetch;
pub mod sync_group;
// Transaction coordinator APIs (TransactionCoordinator).
pub mod add_offsets_to_txn;
pub mod add_partitions_to_txn;
pub mod end_txn;
pub mod txn_offset_commit;

#[cfg(test)]
mod test_util;
