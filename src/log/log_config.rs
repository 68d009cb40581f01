//! Per-topic log settings (Kafka's `kafka.log.LogConfig`) with Kafka's topic
//! config names and defaults, built from broker defaults plus topic overrides.

use crate::protocol::records::TimestampType;
use std::collections::HashMap;

/// Settings of one log. Field names follow the topic-level config names.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// `segment.bytes`
    pub segment_bytes: u64,
    /// `segment.ms`
    pub segment_ms: i64,
    /// `segment.jitter.ms`
    pub segment_jitter_ms: i64,
    /// `segment.index.bytes`
    pub segment_index_bytes: u64,
    /// `index.interval.bytes`
    pub index_interval_bytes: u64,
    /// `flush.messages`
    pub flush_messages: i64,
    /// `flush.ms`
    pub flush_ms: i64,
    /// `max.message.bytes`
    pub max_message_bytes: usize,
    /// `message.timestamp.type`
    pub message_timestamp_type: TimestampType,
    /// `message.timestamp.difference.max.ms` (CreateTime topics refuse records further from now)
    pub message_timestamp_difference_max_ms: i64,
    /// `min.insync.replicas`
    pub min_insync_replicas: i32,
    /// `retention.ms` (-1 = unlimited; enforced by `Log::delete_old_segments`)
    pub retention_ms: i64,
    /// `retention.bytes` (-1 = unlimited)
    pub retention_bytes: i64,
    /// `cleanup.policy`
    pub cleanup_policy: String,
    /// `compression.type`
    pub compression_type: String,
    /// `unclean.leader.election.enable`
    pub unclean_leader_election_enable: bool,
    /// `file.delete.delay.ms`
    pub file_delete_delay_ms: i64,
    /// `min.cleanable.dirty.ratio` (log cleaner)
    pub min_cleanable_dirty_ratio: f64,
    /// `min.compaction.lag.ms`
    pub min_compaction_lag_ms: i64,
    /// `max.compaction.lag.ms`
    pub max_compaction_lag_ms: i64,
    /// `delete.retention.ms`: how long the cleaner keeps tombstones
    pub delete_retention_ms: i64,
    /// Any other override, kept verbatim.
    pub other: HashMap<String, String>,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1024 * 1024 * 1024,
            segment_ms: 7 * 24 * 60 * 60 * 1000,
            segment_jitter_ms: 0,
            segment_index_bytes: 10 * 1024 * 1024,
            index_interval_bytes: 4096,
            flush_messages: i64::MAX,
            flush_ms: i64::MAX,
            max_message_bytes: 1024 * 1024 + 12,
            message_timestamp_type: TimestampType::CreateTime,
            message_timestamp_difference_max_ms: i64::MAX,
            min_insync_replicas: 1,
            retention_ms: 7 * 24 * 60 * 60 * 1000,
            retention_bytes: -1,
            cleanup_policy: "delete".to_string(),
            compression_type: "producer".to_string(),
            unclean_leader_election_enable: false,
            file_delete_delay_ms: 60_000,
            min_cleanable_dirty_ratio: 0.5,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
            delete_retention_ms: 86_400_000,
            other: HashMap::new(),
        }
    }
}

fn parse<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, String> {
    v.trim().parse::<T>().map_err(|_| format!("invalid value {v:?} for {name}"))
}

fn at_least(name: &str, v: i64, min: i64) -> Result<i64, String> {
    if v < min {
        Err(format!("{name} must be at least {min}, got {v}"))
    } else {
        Ok(v)
    }
}

impl LogConfig {
    /// `defaults` with the topic-level overrides (`segment.bytes`, ...) applied.
    pub fn from_overrides(defaults: &LogConfig, overrides: &HashMap<String, String>) -> Result<LogConfig, String> {
        let mut c = defaults.clone();
        for (k, v) in overrides {
            c.set(k, v)?;
        }
        Ok(c)
    }

    /// Applies one topic-level setting.
    pub fn set(&mut self, key: &str, v: &str) -> Result<(), String> {
        match key {
            "segment.bytes" => self.segment_bytes = at_least(key, parse(key, v)?, 14)? as u64,
            "segment.ms" => self.segment_ms = at_least(key, parse(key, v)?, 1)?,
            "segment.jitter.ms" => self.segment_jitter_ms = at_least(key, parse(key, v)?, 0)?,
            "segment.index.bytes" => self.segment_index_bytes = at_least(key, parse(key, v)?, 8)? as u64,
            "index.interval.bytes" => self.index_interval_bytes = at_least(key, parse(key, v)?, 0)? as u64,
            "flush.messages" => self.flush_messages = at_least(key, parse(key, v)?, 1)?,
            "flush.ms" => self.flush_ms = at_least(key, parse(key, v)?, 0)?,
            "max.message.bytes" => self.max_message_bytes = at_least(key, parse(key, v)?, 0)? as usize,
            "message.timestamp.type" => {
                self.message_timestamp_type =
                    TimestampType::from_name(v.trim()).ok_or_else(|| format!("invalid value {v:?} for {key}"))?
            }
            "message.timestamp.difference.max.ms" => {
                self.message_timestamp_difference_max_ms = at_least(key, parse(key, v)?, 0)?
            }
            "min.insync.replicas" => self.min_insync_replicas = at_least(key, parse(key, v)?, 1)? as i32,
            "retention.ms" => self.retention_ms = at_least(key, parse(key, v)?, -1)?,
            "retention.bytes" => self.retention_bytes = parse(key, v)?,
            "cleanup.policy" => self.cleanup_policy = v.trim().to_string(),
            "compression.type" => {
                if crate::log::log_validator::BrokerCompression::from_name(v).is_none() {
                    return Err(format!("invalid value {v:?} for {key}: one of producer, uncompressed, gzip, snappy, lz4, zstd"));
                }
                self.compression_type = v.trim().to_string()
            }
            "unclean.leader.election.enable" => self.unclean_leader_election_enable = parse(key, v)?,
            "file.delete.delay.ms" => self.file_delete_delay_ms = at_least(key, parse(key, v)?, 0)?,
            "min.cleanable.dirty.ratio" => {
                let r: f64 = parse(key, v)?;
                if !(0.0..=1.0).contains(&r) {
                    return Err(format!("{key} must be between 0 and 1, got {v}"));
                }
                self.min_cleanable_dirty_ratio = r;
            }
            "min.compaction.lag.ms" => self.min_compaction_lag_ms = at_least(key, parse(key, v)?, 0)?,
            "max.compaction.lag.ms" => self.max_compaction_lag_ms = at_least(key, parse(key, v)?, 1)?,
            "delete.retention.ms" => self.delete_retention_ms = at_least(key, parse(key, v)?, 0)?,
            _ => {
                self.other.insert(key.to_string(), v.to_string());
            }
        }
        Ok(())
    }

    /// Broker-level defaults from server.properties names (`log.segment.bytes`,
    /// `log.roll.hours`, `message.max.bytes`, ...); unknown keys are ignored.
    pub fn from_broker_props(props: &HashMap<String, String>) -> Result<LogConfig, String> {
        let mut c = LogConfig::default();
        let get = |k: &str| props.get(k).map(|s| s.as_str());
        if let Some(v) = get("log.segment.bytes") {
            c.set("segment.bytes", v)?;
        }
        if let Some(v) = get("log.roll.hours") {
            c.segment_ms = at_least("log.roll.hours", parse::<i64>("log.roll.hours", v)?, 1)? * 3_600_000;
        }
        if let Some(v) = get("log.roll.ms") {
            c.set("segment.ms", v)?;
        }
        if let Some(v) = get("log.index.size.max.bytes") {
            c.set("segment.index.bytes", v)?;
        }
        if let Some(v) = get("log.index.interval.bytes") {
            c.set("index.interval.bytes", v)?;
        }
        if let Some(v) = get("log.flush.interval.messages") {
            c.set("flush.messages", v)?;
        }
        // Kafka's logFlushIntervalMs: log.flush.interval.ms, else
        // log.flush.scheduler.interval.ms (both default to never).
        if let Some(v) = get("log.flush.interval.ms").or_else(|| get("log.flush.scheduler.interval.ms")) {
            c.set("flush.ms", v)?;
        }
        if let Some(v) = get("message.max.bytes") {
            c.set("max.message.bytes", v)?;
        }
        if let Some(v) = get("log.message.timestamp.difference.max.ms") {
            c.set("message.timestamp.difference.max.ms", v)?;
        }
        if let Some(v) = get("log.message.downconversion.enable") {
            c.set("message.downconversion.enable", v)?;
        }
        if let Some(v) = get("log.message.timestamp.type") {
            c.set("message.timestamp.type", v)?;
        }
        if let Some(v) = get("min.insync.replicas") {
            c.set("min.insync.replicas", v)?;
        }
        // Kafka's KafkaConfig.logRetentionTimeMillis: log.retention.ms, else
        // log.retention.minutes, else log.retention.hours (168); any negative
        // value means unlimited (-1).
        let retention = if let Some(v) = get("log.retention.ms") {
            Some(parse::<i64>("log.retention.ms", v)?)
        } else if let Some(v) = get("log.retention.minutes") {
            Some((parse::<i32>("log.retention.minutes", v)? as i64).saturating_mul(60_000))
        } else if let Some(v) = get("log.retention.hours") {
            Some((parse::<i32>("log.retention.hours", v)? as i64).saturating_mul(3_600_000))
        } else {
            None
        };
        if let Some(ms) = retention {
            c.retention_ms = if ms < 0 { -1 } else { ms };
        }
        if let Some(v) = get("log.retention.bytes") {
            c.set("retention.bytes", v)?;
        }
        if let Some(v) = get("log.segment.delete.delay.ms") {
            c.file_delete_delay_ms = at_least("log.segment.delete.delay.ms", parse("log.segment.delete.delay.ms", v)?, 0)?;
        }
        if let Some(v) = get("log.cleanup.policy") {
            c.set("cleanup.policy", v)?;
        }
        if let Some(v) = get("compression.type") {
            c.set("compression.type", v)?;
        }
        // The log cleaner's broker defaults for the topic keys.
        for (broker_key, topic_key) in [
            ("log.cleaner.min.cleanable.ratio", "min.cleanable.dirty.ratio"),
            ("log.cleaner.min.compaction.lag.ms", "min.compaction.lag.ms"),
            ("log.cleaner.max.compaction.lag.ms", "max.compaction.lag.ms"),
            ("log.cleaner.delete.retention.ms", "delete.retention.ms"),
        ] {
            if let Some(v) = get(broker_key) {
                c.set(topic_key, v).map_err(|e| e.replace(topic_key, broker_key))?;
            }
        }
        if let Some(v) = get("unclean.leader.election.enable") {
            c.set("unclean.leader.election.enable", v)?;
        }
        // The other broker synonyms of topic configs (Kafka's
        // `LogConfig.TopicConfigSynonyms`), same unit on both sides.
        for (broker_key, topic_key) in [
            ("log.roll.jitter.ms", "segment.jitter.ms"),
            ("log.preallocate", "preallocate"),
            ("log.message.timestamp.difference.max.ms", "message.timestamp.difference.max.ms"),
            ("log.message.downconversion.enable", "message.downconversion.enable"),
            ("log.cleaner.delete.retention.ms", "delete.retention.ms"),
            ("log.cleaner.min.compaction.lag.ms", "min.compaction.lag.ms"),
            ("log.cleaner.max.compaction.lag.ms", "max.compaction.lag.ms"),
            ("log.cleaner.min.cleanable.ratio", "min.cleanable.dirty.ratio"),
        ] {
            if let Some(v) = get(broker_key) {
                c.set(topic_key, v)?;
            }
        }
        Ok(c)
    }

    /// `cleanup.policy` contains `compact`: the log cleaner compacts the log.
    pub fn compact(&self) -> bool {
        self.cleanup_policy.split(',').any(|p| p.trim() == "compact")
    }

    /// `cleanup.policy` contains `delete`: retention deletes old segments.
    pub fn delete(&self) -> bool {
        self.cleanup_policy.split(',').any(|p| p.trim() == "delete")
    }

    /// Maximum number of entries an offset index may hold.
    pub fn max_offset_index_entries(&self) -> usize {
        (self.segment_index_bytes / 8) as usize
    }

    /// Maximum number of entries a time index may hold.
    pub fn max_time_index_entries(&self) -> usize {
        (self.segment_index_bytes / 12) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let d = LogConfig::default();
        assert_eq!(d.segment_bytes, 1 << 30);
        assert_eq!(d.max_message_bytes, 1048588);
        let mut o = HashMap::new();
        o.insert("segment.bytes".to_string(), "1000".to_string());
        o.insert("message.timestamp.type".to_string(), "LogAppendTime".to_string());
        o.insert("some.future.key".to_string(), "x".to_string());
        let c = LogConfig::from_overrides(&d, &o).unwrap();
        assert_eq!(c.segment_bytes, 1000);
        assert_eq!(c.message_timestamp_type, TimestampType::LogAppendTime);
        assert_eq!(c.other.get("some.future.key").unwrap(), "x");
        o.insert("flush.messages".to_string(), "abc".to_string());
        assert!(LogConfig::from_overrides(&d, &o).is_err());
        let mut b = HashMap::new();
        b.insert("log.roll.hours".to_string(), "1".to_string());
        assert_eq!(LogConfig::from_broker_props(&b).unwrap().segment_ms, 3_600_000);
    }

    #[test]
    fn broker_retention_precedence_as_kafka() {
        let props = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let rc = |pairs: &[(&str, &str)]| LogConfig::from_broker_props(&props(pairs)).unwrap();
        assert_eq!(rc(&[]).retention_ms, 168 * 3_600_000);
        assert_eq!(rc(&[("log.retention.hours", "1")]).retention_ms, 3_600_000);
        assert_eq!(rc(&[("log.retention.hours", "1"), ("log.retention.minutes", "2")]).retention_ms, 120_000);
        assert_eq!(
            rc(&[("log.retention.hours", "1"), ("log.retention.minutes", "2"), ("log.retention.ms", "5")]).retention_ms,
            5
        );
        assert_eq!(rc(&[("log.retention.ms", "-5")]).retention_ms, -1);
        assert_eq!(rc(&[("log.retention.hours", "-1")]).retention_ms, -1);
        assert_eq!(rc(&[("log.retention.bytes", "1000")]).retention_bytes, 1000);
        assert_eq!(rc(&[]).file_delete_delay_ms, 60_000);
        assert_eq!(rc(&[("log.segment.delete.delay.ms", "10")]).file_delete_delay_ms, 10);
        assert!(LogConfig::from_broker_props(&props(&[("log.segment.delete.delay.ms", "-1")])).is_err());
        assert!(LogConfig::from_broker_props(&props(&[("log.retention.minutes", "x")])).is_err());
        // flush.ms falls back to the flusher's interval.
        assert_eq!(rc(&[("log.flush.scheduler.interval.ms", "100")]).flush_ms, 100);
        assert_eq!(rc(&[("log.flush.scheduler.interval.ms", "100"), ("log.flush.interval.ms", "7")]).flush_ms, 7);
        // Topic overrides.
        let mut o = HashMap::new();
        o.insert("retention.ms".to_string(), "-1".to_string());
        o.insert("retention.bytes".to_string(), "2048".to_string());
        o.insert("file.delete.delay.ms".to_string(), "5".to_string());
        let c = LogConfig::from_overrides(&rc(&[]), &o).unwrap();
        assert_eq!((c.retention_ms, c.retention_bytes, c.file_delete_delay_ms), (-1, 2048, 5));
        o.insert("retention.ms".to_string(), "-2".to_string());
        assert!(LogConfig::from_overrides(&rc(&[]), &o).is_err());
    }

    #[test]
    fn cleaner_keys_and_broker_defaults() {
        let d = LogConfig::default();
        assert_eq!((d.min_cleanable_dirty_ratio, d.min_compaction_lag_ms), (0.5, 0));
        assert_eq!((d.max_compaction_lag_ms, d.delete_retention_ms), (i64::MAX, 86_400_000));
        let props: HashMap<String, String> = [
            ("log.cleaner.min.cleanable.ratio", "0.01"),
            ("log.cleaner.delete.retention.ms", "1000"),
            ("log.cleaner.min.compaction.lag.ms", "5"),
            ("log.cleaner.max.compaction.lag.ms", "60000"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let b = LogConfig::from_broker_props(&props).unwrap();
        assert_eq!((b.min_cleanable_dirty_ratio, b.delete_retention_ms), (0.01, 1000));
        assert_eq!((b.min_compaction_lag_ms, b.max_compaction_lag_ms), (5, 60000));
        let mut o = HashMap::new();
        o.insert("cleanup.policy".to_string(), "compact,delete".to_string());
        o.insert("min.cleanable.dirty.ratio".to_string(), "0.2".to_string());
        let c = LogConfig::from_overrides(&b, &o).unwrap();
        assert!(c.compact() && c.delete());
        assert_eq!(c.min_cleanable_dirty_ratio, 0.2);
        assert!(!LogConfig::default().compact());
        for (k, v) in [("min.cleanable.dirty.ratio", "1.5"), ("min.cleanable.dirty.ratio", "x"), ("delete.retention.ms", "-1"), ("max.compaction.lag.ms", "0")] {
            let o: HashMap<String, String> = [(k.to_string(), v.to_string())].into_iter().collect();
            assert!(LogConfig::from_overrides(&d, &o).is_err(), "{k}={v}");
        }
        let bad: HashMap<String, String> = [("log.cleaner.min.cleanable.ratio".to_string(), "2".to_string())].into_iter().collect();
        assert!(LogConfig::from_broker_props(&bad).unwrap_err().contains("log.cleaner.min.cleanable.ratio"));
    }
}
