//! One file per API the broker serves, each adding its handler to `KafkaApis`
//! (the way mini-redis keeps one file per command).

pub mod alter_client_quotas;
pub mod alter_configs;
pub mod alter_replica_log_dirs;
pub mod alter_partition_reassignments;
pub mod api_versions;
pub mod controlled_shutdown;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_records;
pub mod delete_topics;
pub mod describe_client_quotas;
pub mod describe_configs;
pub mod elect_leaders;
pub mod describe_log_dirs;
pub mod fetch;
pub mod init_producer_id;
pub mod leader_and_isr;
pub mod list_offsets;
pub mod list_partition_reassignments;
pub mod metadata;
pub mod offset_for_leader_epoch;
pub mod produce;
pub mod stop_replica;
pub mod update_metadata;
// Transactions (issue 12): markers from the transaction coordinator.
pub mod write_txn_markers;
// Group coordinator APIs.
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
// Transaction coordinator APIs.
pub mod add_offsets_to_txn;
pub mod add_partitions_to_txn;
pub mod end_txn;
pub mod txn_offset_commit;
