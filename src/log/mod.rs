//! The segment-file log store (Kafka's `kafka.log` package): per-partition
//! `Log`s made of `LogSegment`s with offset and time indexes, the leader
//! epoch cache, checkpoint files and the `LogManager` owning every log dir.

pub mod abstract_index;
pub mod cleaned_transaction_metadata;
pub mod checkpoint;
pub mod errors;
pub mod file_records;
pub mod leader_epoch_cache;
pub mod log;
pub mod log_cleaner;
pub mod log_cleaner_manager;
pub mod log_config;
pub mod log_flush;
pub mod log_manager;
pub mod log_validator;
pub mod log_segment;
pub mod offset_index;
pub mod producer_state;
pub mod retention;
pub mod time_index;
pub mod transaction_index;

pub use self::errors::{LogError, LogResult};
pub use self::leader_epoch_cache::LeaderEpochFileCache;

pub use self::log_config::LogConfig;


/// File name of a segment (or index) file: the base offset as 20 zero-padded
/// digits followed by `suffix` (e.g. ".log").
pub fn segment_file_name(base_offset: i64, suffix: &str) -> String {
    format!("{base_offset:020}{suffix}")
}
pub use self::log::{FetchDataInfo, Log, LogAppendInfo, LogOpenState, TimestampAndOffset};
pub use self::log_manager::LogManager;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod cleaner_tests;
#[cfg(test)]
mod txn_tests;
