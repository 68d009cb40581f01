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
    /// `message.timestamp.difference.max.ms` (stored, not enforced yet)
    pub message_timestamp_difference_max_ms: i64,
    /// `min.insync.replicas`
    pub min_insync_replicas: i32,
    /// `retention.ms` (stored; retention is not enforced yet)
    pub retention_ms: i64,
    /// `retention.bytes`
    pub retention_bytes: i64,
    /// `cleanup.policy`
    pub cleanup_policy: String,
    /// `compression.type`
    pub compression_type: String,
    /// `unclean.leader.election.enable`
    pub unclean_leader_election_enable: bool,
    /// `file.delete.delay.ms`
    pub file_delete_delay_ms: i64,
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
            "compression.type" => self.compression_type = v.trim().to_string(),
            "unclean.leader.election.enable" => self.unclean_leader_election_enable = parse(key, v)?,
            "file.delete.delay.ms" => self.file_delete_delay_ms = at_least(key, parse(key, v)?, 0)?,
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
        if let Some(v) = get("log.flush.interval.ms") {
            c.set("flush.ms", v)?;
        }
        if let Some(v) = get("message.max.bytes") {
            c.set("max.message.bytes", v)?;
        }
        if let Some(v) = get("log.message.timestamp.type") {
            c.set("message.timestamp.type", v)?;
        }
        if let Some(v) = get("min.insync.replicas") {
            c.set("min.insync.replicas", v)?;
        }
        if let Some(v) = get("log.retention.hours") {
            c.retention_ms = parse::<i64>("log.retention.hours", v)?.saturating_mul(3_600_000);
        }
        if let Some(v) = get("log.retention.minutes") {
            c.retention_ms = parse::<i64>("log.retention.minutes", v)?.saturating_mul(60_000);
        }
        if let Some(v) = get("log.retention.ms") {
            c.set("retention.ms", v)?;
        }
        if let Some(v) = get("log.retention.bytes") {
            c.set("retention.bytes", v)?;
        }
        if let Some(v) = get("log.cleanup.policy") {
            c.set("cleanup.policy", v)?;
        }
        if let Some(v) = get("compression.type") {
            c.set("compression.type", v)?;
        }
        if let Some(v) = get("unclean.leader.election.enable") {
            c.set("unclean.leader.election.enable", v)?;
        }
        Ok(c)
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
}
