//! OffsetConfig and GroupConfig: the broker settings of the group coordinator
//! (`offsets.*` and `group.*` keys), with Kafka 2.8's defaults. Maps to
//! Kafka's `kafka.coordinator.group.OffsetConfig` and `GroupConfig`.

use crate::config::KafkaConfig;

/// The name of the internal topic holding offsets and group metadata.
pub const GROUP_METADATA_TOPIC_NAME: &str = "__consumer_offsets";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetConfig {
    /// `offset.metadata.max.bytes` (4096)
    pub max_metadata_size: usize,
    /// `offsets.topic.num.partitions` (50)
    pub offsets_topic_num_partitions: i32,
    /// `offsets.topic.replication.factor` (3)
    pub offsets_topic_replication_factor: i16,
    /// `offsets.topic.segment.bytes` (104857600)
    pub offsets_topic_segment_bytes: i64,
    /// `offsets.retention.minutes` (10080) in ms
    pub offsets_retention_ms: i64,
    /// `offsets.retention.check.interval.ms` (600000)
    pub offsets_retention_check_interval_ms: i64,
    /// `offsets.commit.timeout.ms` (5000)
    pub offset_commit_timeout_ms: i64,
}

impl Default for OffsetConfig {
    fn default() -> Self {
        OffsetConfig {
            max_metadata_size: 4096,
            offsets_topic_num_partitions: 50,
            offsets_topic_replication_factor: 3,
            offsets_topic_segment_bytes: 104_857_600,
            offsets_retention_ms: 10080 * 60 * 1000,
            offsets_retention_check_interval_ms: 600_000,
            offset_commit_timeout_ms: 5000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    /// `group.min.session.timeout.ms` (6000)
    pub group_min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms` (1800000)
    pub group_max_session_timeout_ms: i32,
    /// `group.initial.rebalance.delay.ms` (3000)
    pub group_initial_rebalance_delay_ms: i32,
    /// `group.max.size` (unlimited)
    pub group_max_size: i32,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            group_min_session_timeout_ms: 6000,
            group_max_session_timeout_ms: 1_800_000,
            group_initial_rebalance_delay_ms: 3000,
            group_max_size: i32::MAX,
        }
    }
}

impl OffsetConfig {
    pub fn from_broker(c: &KafkaConfig) -> OffsetConfig {
        let d = OffsetConfig::default();
        OffsetConfig {
            max_metadata_size: c.get_i64("offset.metadata.max.bytes", d.max_metadata_size as i64).max(0) as usize,
            offsets_topic_num_partitions: c.get_i64("offsets.topic.num.partitions", 50).clamp(1, i32::MAX as i64) as i32,
            offsets_topic_replication_factor: c.get_i64("offsets.topic.replication.factor", 3).clamp(1, i16::MAX as i64) as i16,
            offsets_topic_segment_bytes: c.get_i64("offsets.topic.segment.bytes", d.offsets_topic_segment_bytes),
            offsets_retention_ms: c.get_i64("offsets.retention.minutes", 10080).saturating_mul(60_000),
            offsets_retention_check_interval_ms: c.get_i64("offsets.retention.check.interval.ms", 600_000).max(1),
            offset_commit_timeout_ms: c.get_i64("offsets.commit.timeout.ms", 5000).max(1),
        }
    }
}

impl GroupConfig {
    pub fn from_broker(c: &KafkaConfig) -> GroupConfig {
        let get = |k: &str, d: i32| c.get_i64(k, d as i64).clamp(0, i32::MAX as i64) as i32;
        GroupConfig {
            group_min_session_timeout_ms: get("group.min.session.timeout.ms", 6000),
            group_max_session_timeout_ms: get("group.max.session.timeout.ms", 1_800_000),
            group_initial_rebalance_delay_ms: get("group.initial.rebalance.delay.ms", 3000),
            group_max_size: get("group.max.size", i32::MAX).max(1),
        }
    }
}
