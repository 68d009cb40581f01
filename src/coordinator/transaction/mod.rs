//! The transaction coordinator: transactional ids, their producer ids and
//! epochs and their transactions, kept in the internal topic
//! `__transaction_state`. Maps to Kafka's `kafka.coordinator.transaction`
//! package: `TransactionCoordinator`, `TransactionStateManager`,
//! `TransactionMarkerChannelManager`, `TransactionLog`, `TransactionMetadata`.

pub mod transaction_coordinator;
pub mod transaction_log;
pub mod transaction_marker_channel_manager;
pub mod transaction_metadata;
pub mod transaction_state_manager;

pub use transaction_coordinator::{TransactionConfig, TransactionCoordinator};
pub use transaction_log::TRANSACTION_STATE_TOPIC_NAME;
