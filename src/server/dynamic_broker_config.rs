//! DynamicBrokerConfig: the broker's configuration as it stands now, Kafka's
//! `kafka.server.DynamicBrokerConfig` in ZooKeeper mode. server.properties
//! (STATIC_BROKER_CONFIG) is overlaid with the cluster default
//! `/config/brokers/<default>` (DYNAMIC_DEFAULT_BROKER_CONFIG) and then this
//! broker's `/config/brokers/<id>` (DYNAMIC_BROKER_CONFIG), for the keys Kafka
//! 2.8 lets change without a restart. The merge and the value checks are pure
//! functions; the `DynamicBrokerConfig` holder publishes each new effective
//! config on a watch channel so the parts that reconfigure themselves (logs'
//! defaults, the replica fetcher pool, the controller's unclean default, the
//! log cleaner) can follow it (Kafka's `BrokerReconfigurable`s).

use crate::log::LogConfig;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Broker configs Kafka 2.8 can change without a restart (`DynamicBrokerConfig.AllDynamicConfigs`
/// without the SSL/SASL ones, plus `DynamicConfig.Broker`'s three quota keys).
pub const DYNAMIC_BROKER_CONFIGS: &[&str] = &[
    "leader.replication.throttled.rate",
    "follower.replication.throttled.rate",
    "replica.alter.log.dirs.io.max.bytes.per.second",
    // DynamicThreadPool
    "num.io.threads",
    "num.network.threads",
    "num.replica.fetchers",
    "num.recovery.threads.per.data.dir",
    "background.threads",
    // LogCleaner.ReconfigurableConfigs
    "log.cleaner.threads",
    "log.cleaner.dedupe.buffer.size",
    "log.cleaner.io.buffer.load.factor",
    "log.cleaner.io.buffer.size",
    "log.cleaner.io.max.bytes.per.second",
    "log.cleaner.backoff.ms",
    // DynamicLogConfig (the broker synonyms of the topic configs, without log.message.format.version)
    "log.segment.bytes",
    "log.roll.ms",
    "log.roll.jitter.ms",
    "log.index.size.max.bytes",
    "log.flush.interval.messages",
    "log.flush.interval.ms",
    "log.retention.bytes",
    "log.retention.ms",
    "message.max.bytes",
    "log.index.interval.bytes",
    "log.cleaner.delete.retention.ms",
    "log.cleaner.min.compaction.lag.ms",
    "log.cleaner.max.compaction.lag.ms",
    "log.segment.delete.delay.ms",
    "log.cleaner.min.cleanable.ratio",
    "log.cleanup.policy",
    "unclean.leader.election.enable",
    "min.insync.replicas",
    "compression.type",
    "log.preallocate",
    "log.message.timestamp.type",
    "log.message.timestamp.difference.max.ms",
    "log.message.downconversion.enable",
    // DynamicListenerConfig (per broker only)
    "listeners",
    "advertised.listeners",
    "listener.security.protocol.map",
    // DynamicMetricsReporters, DynamicConnectionQuota
    "metric.reporters",
    "max.connections",
    "max.connections.per.ip",
    "max.connections.per.ip.overrides",
    "max.connection.creation.rate",
];

/// Dynamic broker configs that cannot be set at the cluster default level (Kafka's `PerBrokerConfigs`).
pub const PER_BROKER_ONLY: &[&str] = &["listeners", "advertised.listeners", "listener.security.protocol.map"];

/// Kafka 2.8 broker keys that zkafka's `KafkaConfig` does not read but that
/// Kafka knows as static: refused dynamically like the known static keys.
const OTHER_STATIC_KAFKA_KEYS: &[&str] = &[
    "log.cleaner.enable",
    "log.roll.jitter.hours",
    "log.dir",
    "replica.selector.class",
    "replica.socket.timeout.ms",
    "replica.socket.receive.buffer.bytes",
    "controller.socket.timeout.ms",
    "replication.quota.window.num",
    "replication.quota.window.size.seconds",
    "quota.window.num",
    "quota.window.size.seconds",
    "alter.log.dirs.replication.quota.window.num",
    "alter.log.dirs.replication.quota.window.size.seconds",
    "queued.max.requests",
    "connections.max.idle.ms",
    "security.inter.broker.protocol",
    "zookeeper.max.in.flight.requests",
];

/// Whether `key` may be set in `/config/brokers/...`.
pub fn is_dynamic_broker_config(key: &str) -> bool {
    DYNAMIC_BROKER_CONFIGS.contains(&key)
}

/// Whether `key` is a broker config Kafka knows and refuses to change dynamically.
pub fn is_static_broker_config(key: &str) -> bool {
    !is_dynamic_broker_config(key) && (crate::config::is_known_broker_key(key) || OTHER_STATIC_KAFKA_KEYS.contains(&key))
}

#[derive(Clone, Copy)]
enum Ty {
    Int(i64),
    Long(i64),
    /// a LONG without lower bound
    AnyLong,
    Double,
    Bool,
    OneOf(&'static [&'static str]),
    /// a list whose every element is one of these
    ListOf(&'static [&'static str]),
}

const COMPRESSION_TYPES: &[&str] = &["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"];

/// The type and lower bound of the dynamic keys whose value zkafka checks
/// (Kafka's `KafkaConfig` definitions).
fn value_type(key: &str) -> Option<Ty> {
    Some(match key {
        "leader.replication.throttled.rate" | "follower.replication.throttled.rate" | "replica.alter.log.dirs.io.max.bytes.per.second" => {
            Ty::Long(0)
        }
        "num.io.threads" | "num.network.threads" | "num.replica.fetchers" | "num.recovery.threads.per.data.dir" | "background.threads" => {
            Ty::Int(1)
        }
        "log.cleaner.threads" => Ty::Int(0),
        "log.cleaner.dedupe.buffer.size" => Ty::AnyLong,
        "log.cleaner.io.buffer.size" => Ty::Int(0),
        "log.cleaner.io.buffer.load.factor" | "log.cleaner.io.max.bytes.per.second" | "log.cleaner.min.cleanable.ratio" => Ty::Double,
        "log.cleaner.backoff.ms" => Ty::Long(0),
        "log.segment.bytes" => Ty::Int(14),
        "log.roll.ms" | "log.roll.jitter.ms" | "log.flush.interval.ms" | "log.retention.bytes" | "log.retention.ms" => Ty::AnyLong,
        "log.index.size.max.bytes" => Ty::Int(4),
        "log.flush.interval.messages" => Ty::Long(1),
        "message.max.bytes" | "log.index.interval.bytes" => Ty::Int(0),
        "log.cleaner.delete.retention.ms" | "log.cleaner.min.compaction.lag.ms" | "log.cleaner.max.compaction.lag.ms" => Ty::AnyLong,
        "log.segment.delete.delay.ms" => Ty::Long(0),
        "log.cleanup.policy" => Ty::ListOf(&["compact", "delete"]),
        "unclean.leader.election.enable" | "log.preallocate" | "log.message.downconversion.enable" => Ty::Bool,
        "min.insync.replicas" => Ty::Int(1),
        "compression.type" => Ty::OneOf(COMPRESSION_TYPES),
        "log.message.timestamp.type" => Ty::OneOf(&["CreateTime", "LogAppendTime"]),
        "log.message.timestamp.difference.max.ms" => Ty::AnyLong,
        "max.connections" | "max.connections.per.ip" | "max.connection.creation.rate" => Ty::Int(0),
        _ => return None,
    })
}

/// Kafka's `ConfigDef` parse and validators for one dynamic broker key, with
/// Kafka's `ConfigException` message. Keys without a known type pass.
pub fn validate_dynamic_value(key: &str, value: &str) -> Result<(), String> {
    let v = value.trim();
    let bad = |why: String| Err(format!("Invalid value {value} for configuration {key}: {why}"));
    match value_type(key) {
        None => Ok(()),
        Some(Ty::Int(min)) => match v.parse::<i32>() {
            Ok(n) if (n as i64) < min => bad(format!("Value must be at least {min}")),
            Ok(_) => Ok(()),
            Err(_) => bad("Not a number of type INT".into()),
        },
        Some(Ty::Long(min)) => match v.parse::<i64>() {
            Ok(n) if n < min => bad(format!("Value must be at least {min}")),
            Ok(_) => Ok(()),
            Err(_) => bad("Not a number of type LONG".into()),
        },
        Some(Ty::AnyLong) => v.parse::<i64>().map(|_| ()).or_else(|_| bad("Not a number of type LONG".into())),
        Some(Ty::Double) => match v.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(()),
            _ => bad("Not a number of type DOUBLE".into()),
        },
        Some(Ty::Bool) => {
            if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
                Ok(())
            } else {
                bad("Expected value to be either true or false".into())
            }
        }
        Some(Ty::OneOf(allowed)) => {
            if allowed.contains(&v) {
                Ok(())
            } else {
                bad(format!("String must be one of: {}", allowed.join(", ")))
            }
        }
        Some(Ty::ListOf(allowed)) => {
            let items: Vec<&str> = v.split(',').map(str::trim).collect();
            match items.iter().find(|i| !allowed.contains(i)) {
                Some(_) => bad(format!("String must be one of: {}", allowed.join(", "))),
                None => Ok(()),
            }
        }
    }
}

/// Kafka's `DynamicBrokerConfig.validateConfigs` for the new whole config of
/// a broker (`per_broker`) or of the cluster default: static keys refused,
/// values typed and bounded, per-broker-only keys refused at the default.
/// Keys Kafka does not know are accepted (as Kafka's
/// `DynamicConfig.Broker.validate` allows custom properties).
pub fn validate_dynamic_broker_configs(configs: &BTreeMap<String, String>, per_broker: bool) -> Result<(), String> {
    let static_keys: BTreeSet<&str> = configs.keys().map(String::as_str).filter(|k| is_static_broker_config(k)).collect();
    if !static_keys.is_empty() {
        return Err(format!(
            "Cannot update these configs dynamically: Set({})",
            static_keys.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    for (k, v) in configs {
        validate_dynamic_value(k, v)?;
    }
    if !per_broker {
        let per: Vec<&str> = configs.keys().map(String::as_str).filter(|k| PER_BROKER_ONLY.contains(k)).collect();
        if !per.is_empty() {
            return Err(format!(
                "Cannot update these configs at default cluster level, broker id must be specified: Set({})",
                per.join(", ")
            ));
        }
    }
    Ok(())
}

/// Kafka's `DynamicThreadPool.validateReconfiguration`: a pool size may at
/// most double or halve in one change.
pub fn validate_thread_pool_change(key: &str, old: i64, new: i64) -> Result<(), String> {
    let msg = format!("Invalid value {new} for configuration {key}");
    if new <= 0 {
        Err(format!("{msg}, value should be at least 1"))
    } else if new < old / 2 {
        Err(format!("{msg}, value should be at least half the current value {old}"))
    } else if new > old.saturating_mul(2) {
        Err(format!("{msg}, value should not be greater than double the current value {old}"))
    } else {
        Ok(())
    }
}

/// Kafka 2.8's defaults of the dynamic keys zkafka's `KafkaConfig` does not read.
pub const OTHER_DYNAMIC_DEFAULTS: &[(&str, &str)] = &[
    ("background.threads", "10"),
    ("log.cleaner.threads", "1"),
    ("log.cleaner.dedupe.buffer.size", "134217728"),
    ("log.cleaner.io.buffer.load.factor", "0.9"),
    ("log.cleaner.io.buffer.size", "524288"),
    ("log.cleaner.io.max.bytes.per.second", "1.7976931348623157E308"),
    ("log.cleaner.backoff.ms", "15000"),
    ("log.cleaner.delete.retention.ms", "86400000"),
    ("log.cleaner.min.compaction.lag.ms", "0"),
    ("log.cleaner.max.compaction.lag.ms", "9223372036854775807"),
    ("log.cleaner.min.cleanable.ratio", "0.5"),
    ("log.preallocate", "false"),
    ("log.message.timestamp.difference.max.ms", "9223372036854775807"),
    ("log.message.downconversion.enable", "true"),
    ("max.connections", "2147483647"),
    ("max.connections.per.ip", "2147483647"),
    ("max.connection.creation.rate", "2147483647"),
];

/// The built-in default of a broker key (Kafka 2.8's), if any.
pub fn broker_default(key: &str) -> Option<&'static str> {
    crate::config::broker_key_default(key).or_else(|| OTHER_DYNAMIC_DEFAULTS.iter().find(|(k, _)| *k == key).map(|(_, v)| *v))
}

/// The thread-pool keys and their Kafka defaults.
pub const THREAD_POOL_CONFIGS: &[(&str, i64)] =
    &[("num.io.threads", 8), ("num.network.threads", 3), ("num.replica.fetchers", 1), ("num.recovery.threads.per.data.dir", 1), ("background.threads", 10)];

/// The effective broker properties: server.properties, overlaid with the
/// valid dynamic keys of the cluster default, then with those of this
/// broker (Kafka's precedence: DYNAMIC_BROKER_CONFIG, then
/// DYNAMIC_DEFAULT_BROKER_CONFIG, then STATIC_BROKER_CONFIG). Values that are not dynamic, per-broker-only keys
/// in the default, and invalid values are skipped (Kafka's
/// `removeInvalidConfigs`), each reported in the returned warnings.
pub fn effective_broker_props(
    static_props: &BTreeMap<String, String>,
    default: &BTreeMap<String, String>,
    per_broker: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let mut props = static_props.clone();
    let mut warnings = Vec::new();
    for (level, map, is_default) in [("<default>", default, true), ("this broker", per_broker, false)] {
        for (k, v) in map {
            if !is_dynamic_broker_config(k) {
                if is_static_broker_config(k) {
                    warnings.push(format!("{k} of {level} ignored: it cannot be updated dynamically"));
                }
                continue;
            }
            if is_default && PER_BROKER_ONLY.contains(&k.as_str()) {
                warnings.push(format!("{k} of {level} ignored: it can only be set per broker"));
                continue;
            }
            if let Err(e) = validate_dynamic_value(k, v) {
                warnings.push(format!("{k} of {level} ignored: {e}"));
                continue;
            }
            props.insert(k.clone(), v.trim().to_string());
        }
    }
    (props, warnings)
}

/// The log defaults (`LogConfig`) topics inherit from effective broker properties.
pub fn log_defaults(props: &BTreeMap<String, String>) -> Result<LogConfig, String> {
    let m: HashMap<String, String> = props.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    LogConfig::from_broker_props(&m)
}

/// A snapshot of the broker's configuration as it stands.
#[derive(Debug, Clone)]
pub struct BrokerSettings {
    /// server.properties overlaid with the dynamic configs.
    pub props: BTreeMap<String, String>,
    /// The log defaults derived from `props`.
    pub log_config: LogConfig,
}

impl BrokerSettings {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.props.get(key).map(String::as_str)
    }

    /// A numeric key, or `default` when absent or unparsable.
    pub fn get_i64(&self, key: &str, default: i64) -> i64 {
        self.get(key).and_then(|v| v.trim().parse().ok()).unwrap_or(default)
    }

    pub fn get_f64(&self, key: &str, default: f64) -> f64 {
        self.get(key).and_then(|v| v.trim().parse().ok()).unwrap_or(default)
    }

    pub fn get_bool(&self, key: &str, default: bool) -> bool {
        match self.get(key).map(str::trim) {
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            _ => default,
        }
    }

    /// `num.replica.fetchers` (at least 1).
    pub fn num_replica_fetchers(&self) -> usize {
        self.get_i64("num.replica.fetchers", 1).max(1) as usize
    }

    pub fn unclean_leader_election_enable(&self) -> bool {
        self.log_config.unclean_leader_election_enable
    }

    /// The log cleaner's reconfigurable settings (Kafka's `LogCleaner.ReconfigurableConfigs`).
    pub fn cleaner(&self) -> CleanerSettings {
        CleanerSettings {
            threads: self.get_i64("log.cleaner.threads", 1).max(0) as usize,
            dedupe_buffer_size: self.get_i64("log.cleaner.dedupe.buffer.size", 128 * 1024 * 1024),
            io_buffer_load_factor: self.get_f64("log.cleaner.io.buffer.load.factor", 0.9),
            io_buffer_size: self.get_i64("log.cleaner.io.buffer.size", 512 * 1024).max(0) as usize,
            io_max_bytes_per_second: self.get_f64("log.cleaner.io.max.bytes.per.second", f64::MAX),
            backoff_ms: self.get_i64("log.cleaner.backoff.ms", 15_000).max(0),
        }
    }
}

/// The values of Kafka's `LogCleaner.ReconfigurableConfigs` in force
/// (`log.cleaner.enable` is static and not among them).
#[derive(Debug, Clone, PartialEq)]
pub struct CleanerSettings {
    /// `log.cleaner.threads`
    pub threads: usize,
    /// `log.cleaner.dedupe.buffer.size`
    pub dedupe_buffer_size: i64,
    /// `log.cleaner.io.buffer.load.factor`
    pub io_buffer_load_factor: f64,
    /// `log.cleaner.io.buffer.size`
    pub io_buffer_size: usize,
    /// `log.cleaner.io.max.bytes.per.second`
    pub io_max_bytes_per_second: f64,
    /// `log.cleaner.backoff.ms`
    pub backoff_ms: i64,
}

#[derive(Default)]
struct Dynamic {
    default: BTreeMap<String, String>,
    per_broker: BTreeMap<String, String>,
}

/// The broker's live configuration (see the module doc). The
/// DynamicConfigManager feeds it; components read `current()` or follow
/// `subscribe()`.
pub struct DynamicBrokerConfig {
    static_props: BTreeMap<String, String>,
    dynamic: Mutex<Dynamic>,
    tx: watch::Sender<Arc<BrokerSettings>>,
}

impl DynamicBrokerConfig {
    /// From server.properties and the log defaults it gives (already validated at start-up).
    pub fn new(static_props: BTreeMap<String, String>, static_log_config: LogConfig) -> Arc<Self> {
        let (tx, _) = watch::channel(Arc::new(BrokerSettings { props: static_props.clone(), log_config: static_log_config }));
        Arc::new(DynamicBrokerConfig { static_props, dynamic: Mutex::new(Dynamic::default()), tx })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Dynamic> {
        self.dynamic.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn static_props(&self) -> &BTreeMap<String, String> {
        &self.static_props
    }

    /// The settings in force.
    pub fn current(&self) -> Arc<BrokerSettings> {
        self.tx.borrow().clone()
    }

    /// Follows every change of the settings.
    pub fn subscribe(&self) -> watch::Receiver<Arc<BrokerSettings>> {
        self.tx.subscribe()
    }

    /// Calls `f(old, new)` on a task for every later change of the
    /// settings until `shutdown` (a `BrokerReconfigurable`'s hook; the log
    /// cleaner compares `old.cleaner()` with `new.cleaner()`).
    pub fn on_change(
        &self,
        mut shutdown: watch::Receiver<bool>,
        f: impl Fn(&BrokerSettings, &BrokerSettings) + Send + 'static,
    ) {
        let mut rx = self.tx.subscribe();
        let mut old = rx.borrow_and_update().clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    changed = rx.changed() => {
                        if changed.is_err() { return; }
                    }
                    _ = shutdown.changed() => return,
                }
                let new = rx.borrow_and_update().clone();
                f(&old, &new);
                old = new;
            }
        });
    }

    /// The dynamic configs as last read: (this broker's, the cluster default).
    pub fn dynamic_configs(&self) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let d = self.lock();
        (d.per_broker.clone(), d.default.clone())
    }

    /// A new `/config/brokers/<default>` (`is_default`) or `/config/brokers/<id>`
    /// content. Returns the previous and the new settings.
    pub fn update(&self, is_default: bool, config: BTreeMap<String, String>) -> (Arc<BrokerSettings>, Arc<BrokerSettings>) {
        let mut d = self.lock();
        if is_default {
            d.default = config;
        } else {
            d.per_broker = config;
        }
        let (props, warnings) = effective_broker_props(&self.static_props, &d.default, &d.per_broker);
        for w in warnings {
            log::warn!("[DynamicBrokerConfig] {w}");
        }
        let old = self.current();
        let log_config = match log_defaults(&props) {
            Ok(c) => c,
            Err(e) => {
                log::warn!("[DynamicBrokerConfig] the dynamic log defaults are invalid ({e}); keeping the previous ones");
                old.log_config.clone()
            }
        };
        let new = Arc::new(BrokerSettings { props, log_config });
        self.tx.send_replace(new.clone());
        (old, new)
    }

    /// Kafka's trial reconfiguration at AlterConfigs time: the thread pools
    /// of the new effective config may at most double or halve.
    pub fn validate_reconfiguration(&self, is_default: bool, config: &BTreeMap<String, String>) -> Result<(), String> {
        let d = self.lock();
        let (default, per_broker) = if is_default { (config, &d.per_broker) } else { (&d.default, config) };
        let (props, _) = effective_broker_props(&self.static_props, default, per_broker);
        let cur = self.current();
        for (key, dflt) in THREAD_POOL_CONFIGS {
            let old = cur.get_i64(key, *dflt);
            let new = props.get(*key).and_then(|v| v.trim().parse::<i64>().ok()).unwrap_or(*dflt);
            if new != old {
                validate_thread_pool_change(key, old, new)?;
            }
        }
        log_defaults(&props).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn precedence_per_broker_over_default_over_static() {
        let st = m(&[("log.retention.hours", "168"), ("log.segment.bytes", "1000"), ("broker.id", "0"), ("num.replica.fetchers", "1")]);
        let (p, w) = effective_broker_props(&st, &m(&[]), &m(&[]));
        assert_eq!(p, st);
        assert!(w.is_empty());
        let dflt = m(&[("log.retention.ms", "60000"), ("log.segment.bytes", "2000"), ("num.replica.fetchers", "2")]);
        let (p, _) = effective_broker_props(&st, &dflt, &m(&[]));
        assert_eq!(p["log.segment.bytes"], "2000");
        assert_eq!(log_defaults(&p).unwrap().retention_ms, 60000, "log.retention.ms wins over the static hours");
        let (p, _) = effective_broker_props(&st, &dflt, &m(&[("log.segment.bytes", "3000")]));
        assert_eq!((p["log.segment.bytes"].as_str(), p["num.replica.fetchers"].as_str()), ("3000", "2"));
        let lc = log_defaults(&p).unwrap();
        assert_eq!((lc.segment_bytes, lc.retention_ms), (3000, 60000));
    }

    #[test]
    fn invalid_static_and_per_broker_only_values_are_skipped() {
        let st = m(&[("broker.id", "0"), ("min.insync.replicas", "1")]);
        let (p, w) = effective_broker_props(
            &st,
            &m(&[("broker.id", "7"), ("advertised.listeners", "PLAINTEXT://x:1"), ("min.insync.replicas", "zero")]),
            &m(&[("min.insync.replicas", "0"), ("custom.key", "x")]),
        );
        assert_eq!(p, st);
        assert_eq!(w.len(), 4, "{w:?}");
        let (p, _) = effective_broker_props(&st, &m(&[]), &m(&[("advertised.listeners", "PLAINTEXT://x:1")]));
        assert_eq!(p["advertised.listeners"], "PLAINTEXT://x:1");
    }

    #[test]
    fn log_defaults_follow_every_dynamic_log_key() {
        let (p, _) = effective_broker_props(
            &m(&[]),
            &m(&[
                ("log.retention.bytes", "100"),
                ("log.roll.ms", "5000"),
                ("log.flush.interval.messages", "10"),
                ("log.flush.interval.ms", "20"),
                ("log.cleanup.policy", "compact,delete"),
                ("log.index.interval.bytes", "64"),
                ("log.index.size.max.bytes", "4096"),
                ("log.message.timestamp.type", "LogAppendTime"),
                ("log.message.timestamp.difference.max.ms", "1000"),
                ("log.segment.delete.delay.ms", "7"),
                ("compression.type", "gzip"),
                ("min.insync.replicas", "2"),
                ("unclean.leader.election.enable", "true"),
                ("message.max.bytes", "5000"),
                ("log.preallocate", "true"),
                ("log.roll.jitter.ms", "3"),
                ("log.cleaner.delete.retention.ms", "11"),
                ("log.cleaner.min.compaction.lag.ms", "12"),
                ("log.cleaner.max.compaction.lag.ms", "13"),
                ("log.cleaner.min.cleanable.ratio", "0.25"),
                ("log.message.downconversion.enable", "false"),
            ]),
            &m(&[]),
        );
        let c = log_defaults(&p).unwrap();
        assert_eq!((c.retention_bytes, c.segment_ms, c.flush_messages, c.flush_ms), (100, 5000, 10, 20));
        assert_eq!((c.cleanup_policy.as_str(), c.index_interval_bytes, c.segment_index_bytes), ("compact,delete", 64, 4096));
        assert_eq!(c.message_timestamp_type, crate::protocol::records::TimestampType::LogAppendTime);
        assert_eq!((c.message_timestamp_difference_max_ms, c.file_delete_delay_ms), (1000, 7));
        assert_eq!((c.compression_type.as_str(), c.min_insync_replicas, c.unclean_leader_election_enable), ("gzip", 2, true));
        assert_eq!((c.max_message_bytes, c.segment_jitter_ms), (5000, 3));
        for (k, v) in [
            ("preallocate", "true"),
            ("delete.retention.ms", "11"),
            ("min.compaction.lag.ms", "12"),
            ("max.compaction.lag.ms", "13"),
            ("min.cleanable.dirty.ratio", "0.25"),
            ("message.downconversion.enable", "false"),
        ] {
            assert_eq!(topic_value(&c, k).as_deref(), Some(v), "{k}");
        }
        // A topic override still wins over the dynamic default.
        let o: HashMap<String, String> = [("retention.bytes".to_string(), "5".to_string())].into();
        assert_eq!(LogConfig::from_overrides(&c, &o).unwrap().retention_bytes, 5);
    }

    /// A topic-level key not held in a typed field of LogConfig.
    fn topic_value(c: &LogConfig, key: &str) -> Option<String> {
        // The log cleaner's keys are typed fields of LogConfig.
        match key {
            "delete.retention.ms" => Some(c.delete_retention_ms.to_string()),
            "min.compaction.lag.ms" => Some(c.min_compaction_lag_ms.to_string()),
            "max.compaction.lag.ms" => Some(c.max_compaction_lag_ms.to_string()),
            "min.cleanable.dirty.ratio" => Some(c.min_cleanable_dirty_ratio.to_string()),
            _ => c.other.get(key).cloned(),
        }
    }

    #[test]
    fn value_checks_as_kafka() {
        assert!(validate_dynamic_value("log.retention.ms", "-1").is_ok());
        assert_eq!(
            validate_dynamic_value("log.retention.ms", "soon").unwrap_err(),
            "Invalid value soon for configuration log.retention.ms: Not a number of type LONG"
        );
        assert_eq!(
            validate_dynamic_value("min.insync.replicas", "0").unwrap_err(),
            "Invalid value 0 for configuration min.insync.replicas: Value must be at least 1"
        );
        assert!(validate_dynamic_value("log.segment.bytes", "13").is_err());
        assert!(validate_dynamic_value("log.segment.bytes", "99999999999").is_err(), "INT overflow");
        assert!(validate_dynamic_value("unclean.leader.election.enable", "yes").is_err());
        assert!(validate_dynamic_value("unclean.leader.election.enable", "TRUE").is_ok());
        assert!(validate_dynamic_value("compression.type", "brotli").is_err());
        assert!(validate_dynamic_value("log.cleanup.policy", "compact,delete").is_ok());
        assert!(validate_dynamic_value("log.cleanup.policy", "compact,forever").is_err());
        assert!(validate_dynamic_value("log.cleaner.io.max.bytes.per.second", "1e6").is_ok());
        assert!(validate_dynamic_value("log.cleaner.io.max.bytes.per.second", "fast").is_err());
        assert!(validate_dynamic_value("some.custom.key", "anything").is_ok());
    }

    #[test]
    fn whole_config_validation() {
        assert!(validate_dynamic_broker_configs(&m(&[("log.retention.ms", "1000")]), false).is_ok());
        assert_eq!(
            validate_dynamic_broker_configs(&m(&[("log.retention.hours", "1"), ("broker.id", "3")]), true).unwrap_err(),
            "Cannot update these configs dynamically: Set(broker.id, log.retention.hours)"
        );
        assert!(validate_dynamic_broker_configs(&m(&[("log.cleaner.enable", "false")]), true).is_err());
        assert!(validate_dynamic_broker_configs(&m(&[("num.replica.fetchers", "x")]), true).is_err());
        assert!(validate_dynamic_broker_configs(&m(&[("listeners", "PLAINTEXT://:1")]), false)
            .unwrap_err()
            .starts_with("Cannot update these configs at default cluster level"));
        assert!(validate_dynamic_broker_configs(&m(&[("my.custom.thing", "x")]), true).is_ok());
    }

    #[test]
    fn cleaner_settings_follow_the_dynamic_keys() {
        let st = m(&[("log.cleaner.threads", "1")]);
        let d = DynamicBrokerConfig::new(st.clone(), log_defaults(&st).unwrap());
        let c = d.current().cleaner();
        assert_eq!((c.threads, c.dedupe_buffer_size, c.backoff_ms), (1, 128 * 1024 * 1024, 15_000));
        d.update(true, m(&[("log.cleaner.threads", "2"), ("log.cleaner.io.max.bytes.per.second", "1000000"), ("log.cleaner.backoff.ms", "x")]));
        let c = d.current().cleaner();
        assert_eq!((c.threads, c.io_max_bytes_per_second, c.backoff_ms), (2, 1e6, 15_000));
    }

    #[tokio::test]
    async fn on_change_sees_old_and_new() {
        let d = DynamicBrokerConfig::new(BTreeMap::new(), LogConfig::default());
        let (stop_tx, stop_rx) = watch::channel(false);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        d.on_change(stop_rx, move |old, new| {
            let _ = tx.send((old.cleaner().threads, new.cleaner().threads));
        });
        d.update(false, m(&[("log.cleaner.threads", "2")]));
        assert_eq!(rx.recv().await, Some((1, 2)));
        let _ = stop_tx.send(true);
    }

    #[test]
    fn thread_pools_double_or_halve_at_most() {
        assert!(validate_thread_pool_change("num.replica.fetchers", 1, 2).is_ok());
        assert!(validate_thread_pool_change("num.replica.fetchers", 1, 3).unwrap_err().contains("double the current value 1"));
        assert!(validate_thread_pool_change("num.replica.fetchers", 8, 3).unwrap_err().contains("half the current value 8"));
        assert!(validate_thread_pool_change("num.replica.fetchers", 8, 4).is_ok());
        assert!(validate_thread_pool_change("num.io.threads", 8, 0).unwrap_err().contains("at least 1"));
    }

    #[test]
    fn holder_publishes_each_change() {
        let st = m(&[("num.replica.fetchers", "1"), ("log.retention.hours", "1")]);
        let d = DynamicBrokerConfig::new(st.clone(), log_defaults(&st).unwrap());
        let mut rx = d.subscribe();
        assert_eq!(d.current().log_config.retention_ms, 3_600_000);
        let (old, new) = d.update(true, m(&[("log.retention.ms", "500"), ("num.replica.fetchers", "2")]));
        assert_eq!((old.log_config.retention_ms, new.log_config.retention_ms), (3_600_000, 500));
        assert!(rx.has_changed().unwrap());
        assert_eq!(rx.borrow_and_update().num_replica_fetchers(), 2);
        d.update(false, m(&[("log.retention.ms", "700")]));
        assert_eq!(d.current().log_config.retention_ms, 700);
        d.update(false, m(&[]));
        assert_eq!(d.current().log_config.retention_ms, 500, "back to the default once the per-broker value is deleted");
        d.update(true, m(&[]));
        assert_eq!(d.current().log_config.retention_ms, 3_600_000, "back to server.properties");
        // Trial reconfiguration: 2 -> 5 fetchers is more than double.
        d.update(true, m(&[("num.replica.fetchers", "2")]));
        assert!(d.validate_reconfiguration(false, &m(&[("num.replica.fetchers", "5")])).is_err());
        assert!(d.validate_reconfiguration(false, &m(&[("num.replica.fetchers", "4")])).is_ok());
        assert!(d.validate_reconfiguration(true, &m(&[])).is_ok(), "2 -> 1 halves");
    }
}
