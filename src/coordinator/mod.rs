//! The group coordinator: consumer groups and their committed offsets, kept
//! in the internal topic `__consumer_offsets`. Maps to Kafka's
//! `kafka.coordinator.group` package: `GroupCoordinator`, `GroupMetadata`,
//! `GroupMetadataManager`, `OffsetConfig`/`GroupConfig`.

pub mod group_coordinator;
pub mod group_metadata;
pub mod group_metadata_manager;
pub mod offset_config;
pub mod transaction;

pub use group_coordinator::GroupCoordinator;
pub use offset_config::{GroupConfig, OffsetConfig, GROUP_METADATA_TOPIC_NAME};
