//! Broker configuration: `server.properties` parsing, Kafka's key names and
//! defaults, and validation. Maps to Kafka's `kafka.server.KafkaConfig`.
//!
//! An invalid value stops start-up with a message naming the key; an unknown
//! key is logged as a warning, as Kafka does.

use crate::zk::SecurityProtocol;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// A configuration problem, always naming the key it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// One `listener_name://host:port` entry of `listeners`/`advertised.listeners`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndPoint {
    pub listener_name: String,
    pub host: String,
    pub port: u16,
}

impl EndPoint {
    /// Parses `NAME://host:port`; an empty host means all interfaces.
    pub fn parse(s: &str) -> Option<EndPoint> {
        let (name, rest) = s.trim().split_once("://")?;
        let (host, port) = rest.rsplit_once(':')?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return None;
        }
        Some(EndPoint {
            // Kafka's `ListenerName.normalised`: listener names are upper case.
            listener_name: name.to_ascii_uppercase(),
            host: host.to_string(),
            port: port.parse().ok()?,
        })
    }

    /// `NAME://host:port`, with IPv6 hosts bracketed, as Kafka writes it.
    pub fn connection_string(&self) -> String {
        if self.host.contains(':') {
            format!("{}://[{}]:{}", self.listener_name, self.host, self.port)
        } else {
            format!("{}://{}:{}", self.listener_name, self.host, self.port)
        }
    }
}

/// Whether `key` is one of the broker configs this broker knows (a Kafka
/// `KafkaConfig` name), as opposed to a custom key.
pub fn is_known_broker_key(key: &str) -> bool {
    KNOWN_KEYS.iter().any(|(k, _)| *k == key)
}

/// Kafka 2.8's built-in default of a broker key zkafka reads, if it has one.
pub fn broker_key_default(key: &str) -> Option<&'static str> {
    KNOWN_KEYS.iter().find(|(k, _)| *k == key).and_then(|(_, d)| *d)
}

/// Every broker key zkafka reads that has a built-in default.
pub fn broker_key_defaults() -> impl Iterator<Item = (&'static str, &'static str)> {
    KNOWN_KEYS.iter().filter_map(|(k, d)| d.map(|d| (*k, d)))
}

/// Keys the broker reads, with the value Kafka 2.8 uses when the key is absent.
/// `None` means "no default" (required, or derived from another key).
const KNOWN_KEYS: &[(&str, Option<&str>)] = &[
    ("broker.id", Some("-1")),
    ("broker.id.generation.enable", Some("true")),
    ("reserved.broker.max.id", Some("1000")),
    ("broker.rack", None),
    ("listeners", Some("PLAINTEXT://:9092")),
    ("advertised.listeners", None),
    ("listener.security.protocol.map", None),
    ("inter.broker.listener.name", None),
    ("security.inter.broker.protocol", Some("PLAINTEXT")),
    ("control.plane.listener.name", None),
    // TLS (`ssl.*`, also as `listener.name.<listener>.ssl.*`; security::ssl).
    ("ssl.keystore.type", Some("JKS")),
    ("ssl.keystore.location", None),
    ("ssl.keystore.password", None),
    ("ssl.key.password", None),
    ("ssl.keystore.certificate.chain", None),
    ("ssl.keystore.key", None),
    ("ssl.truststore.type", Some("JKS")),
    ("ssl.truststore.location", None),
    ("ssl.truststore.password", None),
    ("ssl.truststore.certificates", None),
    ("ssl.client.auth", Some("none")),
    ("ssl.protocol", Some("TLSv1.3")),
    ("ssl.enabled.protocols", Some("TLSv1.2,TLSv1.3")),
    ("ssl.endpoint.identification.algorithm", Some("https")),
    ("ssl.principal.mapping.rules", Some("DEFAULT")),
    ("ssl.cipher.suites", None),
    ("log.dirs", None),
    ("log.dir", Some("/tmp/kafka-logs")),
    ("zookeeper.connect", None),
    ("zookeeper.session.timeout.ms", Some("18000")),
    ("zookeeper.connection.timeout.ms", None),
    ("zookeeper.set.acl", Some("false")),
    ("authorizer.class.name", Some("")),
    ("super.users", None),
    ("allow.everyone.if.no.acl.found", None),
    ("num.partitions", Some("1")),
    ("default.replication.factor", Some("1")),
    ("auto.create.topics.enable", Some("true")),
    ("message.max.bytes", Some("1048588")),
    ("socket.request.max.bytes", Some("104857600")),
    ("socket.send.buffer.bytes", Some("102400")),
    ("socket.receive.buffer.bytes", Some("102400")),
    ("num.network.threads", Some("3")),
    ("num.io.threads", Some("8")),
    ("num.recovery.threads.per.data.dir", Some("1")),
    ("log.segment.bytes", Some("1073741824")),
    ("log.roll.ms", None),
    ("log.roll.hours", Some("168")),
    ("log.index.interval.bytes", Some("4096")),
    ("log.index.size.max.bytes", Some("10485760")),
    ("log.flush.interval.messages", Some("9223372036854775807")),
    ("log.flush.interval.ms", None),
    ("log.flush.scheduler.interval.ms", Some("9223372036854775807")),
    ("log.flush.offset.checkpoint.interval.ms", Some("60000")),
    ("log.retention.hours", Some("168")),
    ("log.retention.minutes", None),
    ("log.retention.ms", None),
    ("log.retention.bytes", Some("-1")),
    ("log.retention.check.interval.ms", Some("300000")),
    ("log.segment.delete.delay.ms", Some("60000")),
    ("log.flush.start.offset.checkpoint.interval.ms", Some("60000")),
    ("log.cleanup.policy", Some("delete")),
    ("log.message.timestamp.type", Some("CreateTime")),
    ("min.insync.replicas", Some("1")),
    ("unclean.leader.election.enable", Some("false")),
    ("auto.leader.rebalance.enable", Some("true")),
    ("leader.imbalance.per.broker.percentage", Some("10")),
    ("leader.imbalance.check.interval.seconds", Some("300")),
    ("controlled.shutdown.enable", Some("true")),
    ("controlled.shutdown.max.retries", Some("3")),
    ("controlled.shutdown.retry.backoff.ms", Some("5000")),
    ("replica.lag.time.max.ms", Some("30000")),
    ("num.replica.fetchers", Some("1")),
    ("replica.fetch.max.bytes", Some("1048576")),
    ("replica.fetch.wait.max.ms", Some("500")),
    ("replica.fetch.min.bytes", Some("1")),
    ("replica.fetch.response.max.bytes", Some("10485760")),
    ("replica.fetch.backoff.ms", Some("1000")),
    ("replica.high.watermark.checkpoint.interval.ms", Some("5000")),
    // Client quotas (ClientQuotaManagerConfig).
    ("quota.window.num", Some("11")),
    ("quota.window.size.seconds", Some("1")),
    ("delete.topic.enable", Some("true")),
    ("offsets.topic.num.partitions", Some("50")),
    ("offsets.topic.replication.factor", Some("3")),
    ("offsets.topic.segment.bytes", Some("104857600")),
    ("offsets.retention.minutes", Some("10080")),
    ("offsets.retention.check.interval.ms", Some("600000")),
    ("offsets.commit.timeout.ms", Some("5000")),
    ("offset.metadata.max.bytes", Some("4096")),
    ("group.initial.rebalance.delay.ms", Some("3000")),
    ("group.min.session.timeout.ms", Some("6000")),
    ("group.max.session.timeout.ms", Some("1800000")),
    ("group.max.size", Some("2147483647")),
    ("transaction.state.log.replication.factor", Some("3")),
    ("transaction.state.log.min.isr", Some("2")),
    ("transaction.state.log.num.partitions", Some("50")),
    ("transaction.state.log.segment.bytes", Some("104857600")),
    ("transaction.max.timeout.ms", Some("900000")),
    ("transactional.id.expiration.ms", Some("604800000")),
    ("transaction.abort.timed.out.transaction.cleanup.interval.ms", Some("10000")),
    ("transaction.remove.expired.transaction.cleanup.interval.ms", Some("3600000")),
    ("inter.broker.protocol.version", Some("2.8-IV1")),
    ("log.message.format.version", Some("2.8-IV1")),
    ("file.delete.delay.ms", Some("60000")),
    ("compression.type", Some("producer")),
    ("log.cleaner.enable", Some("true")),
    ("log.cleaner.threads", Some("1")),
    ("log.cleaner.dedupe.buffer.size", Some("134217728")),
    ("log.cleaner.io.buffer.size", Some("524288")),
    ("log.cleaner.io.buffer.load.factor", Some("0.9")),
    ("log.cleaner.io.max.bytes.per.second", Some("1.7976931348623157E308")),
    ("log.cleaner.backoff.ms", Some("15000")),
    ("log.cleaner.min.cleanable.ratio", Some("0.5")),
    ("log.cleaner.delete.retention.ms", Some("86400000")),
    ("log.cleaner.min.compaction.lag.ms", Some("0")),
    ("log.cleaner.max.compaction.lag.ms", Some("9223372036854775807")),
];

/// The broker's configuration, typed. `props` keeps every key as given, for
/// keys a component reads on its own.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    pub props: BTreeMap<String, String>,
    pub broker_id: i32,
    pub listeners: Vec<EndPoint>,
    pub advertised_listeners: Vec<EndPoint>,
    /// `listener.security.protocol.map`, listener names normalised (upper case).
    pub listener_security_protocol_map: Vec<(String, SecurityProtocol)>,
    /// `inter.broker.listener.name`, or the listener named after
    /// `security.inter.broker.protocol`: the controller's and the replica
    /// fetchers' listener.
    pub inter_broker_listener_name: String,
    /// `control.plane.listener.name`: when set, the controller's requests
    /// to brokers use this listener instead of the inter-broker one.
    pub control_plane_listener_name: Option<String>,
    pub log_dirs: Vec<PathBuf>,
    pub zookeeper_connect: String,
    pub zookeeper_session_timeout_ms: u64,
    pub zookeeper_connection_timeout_ms: u64,
    pub num_partitions: i32,
    pub default_replication_factor: i16,
    pub auto_create_topics_enable: bool,
    pub message_max_bytes: i32,
    pub socket_request_max_bytes: i32,
    pub log_segment_bytes: i64,
    pub log_roll_ms: i64,
    pub log_index_interval_bytes: i32,
    pub log_index_size_max_bytes: i32,
    pub log_flush_interval_messages: i64,
    pub log_flush_interval_ms: i64,
    /// `log.flush.scheduler.interval.ms`: how often the flusher looks for logs due (never by default).
    pub log_flush_scheduler_interval_ms: i64,
    /// `log.retention.check.interval.ms`: how often the retention task runs.
    pub log_retention_check_interval_ms: i64,
    pub min_insync_replicas: i32,
    pub unclean_leader_election_enable: bool,
    pub auto_leader_rebalance_enable: bool,
    pub delete_topic_enable: bool,
    pub controlled_shutdown_enable: bool,
    pub replica_lag_time_max_ms: i64,
    pub num_replica_fetchers: i32,
    /// `num.network.threads`: zkafka's async runtime has this many worker
    /// threads (at most one per core), which read, handle and answer every
    /// connection's requests (Kafka's network and request handler threads).
    pub num_network_threads: i32,
    pub replica_fetch_max_bytes: i32,
    pub replica_fetch_wait_max_ms: i32,
    pub log_flush_offset_checkpoint_interval_ms: u64,
    pub replica_high_watermark_checkpoint_interval_ms: u64,
    /// `metrics.port`: the port of the broker's HTTP endpoint (Prometheus
    /// `/metrics` and the live view); no endpoint when unset. 0 picks a free port.
    pub metrics_port: Option<u16>,
}

/// Parses Java `.properties` text: `key=value`, `key: value` or `key value`,
/// `#`/`!` comments, backslash line continuations and escapes.
pub fn parse_properties(text: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    let mut logical = String::new();
    let mut lines = text.lines().peekable();
    while let Some(raw) = lines.next() {
        let line = raw.trim_start();
        if logical.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!')) {
            continue;
        }
        // A line ending in an odd number of backslashes continues.
        let trailing = line.chars().rev().take_while(|c| *c == '\\').count();
        if trailing % 2 == 1 {
            logical.push_str(&line[..line.len() - 1]);
            if lines.peek().is_some() {
                continue;
            }
        } else {
            logical.push_str(line);
        }
        let entry = std::mem::take(&mut logical);
        let (k, v) = split_key_value(&entry);
        out.push((unescape(&k), unescape(v.trim_start())));
    }
    Ok(out)
}

fn split_key_value(s: &str) -> (String, &str) {
    let mut key = String::new();
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            key.push('\\');
            key.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | ':' => return (key, &s[i + 1..]),
            c if c.is_whitespace() => {
                let rest = s[i..].trim_start();
                let rest = rest.strip_prefix(['=', ':']).unwrap_or(rest);
                return (key, rest);
            }
            c => key.push(c),
        }
    }
    (key, "")
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out.trim_end().to_string()
}

fn parse_num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, ConfigError> {
    v.trim().parse::<T>().map_err(|_| {
        ConfigError(format!("Invalid value {v} for configuration {key}: Not a number of the right type"))
    })
}

fn parse_bool(key: &str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ConfigError(format!(
            "Invalid value {v} for configuration {key}: Expected value to be either true or false"
        ))),
    }
}

fn at_least<T: PartialOrd + fmt::Display + Copy>(key: &str, v: T, min: T) -> Result<T, ConfigError> {
    if v < min {
        Err(ConfigError(format!("Invalid value {v} for configuration {key}: Value must be at least {min}")))
    } else {
        Ok(v)
    }
}

fn parse_listeners(key: &str, v: &str) -> Result<Vec<EndPoint>, ConfigError> {
    let mut out: Vec<EndPoint> = Vec::new();
    for part in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let ep = EndPoint::parse(part).ok_or_else(|| {
            ConfigError(format!(
                "Invalid value {v} for configuration {key}: Unable to parse {part} to a broker endpoint"
            ))
        })?;
        if out.iter().any(|e| e.listener_name == ep.listener_name) {
            return Err(ConfigError(format!(
                "Invalid value {v} for configuration {key}: Each listener must have a different name"
            )));
        }
        out.push(ep);
    }
    if out.is_empty() {
        return Err(ConfigError(format!("Invalid value {v} for configuration {key}: no listener given")));
    }
    Ok(out)
}

/// `listener.name.<listener in lower case>.<key>`, Kafka's per-listener
/// config prefix (`ListenerName.configPrefix`).
pub fn listener_prefixed(listener: &str, key: &str) -> String {
    format!("listener.name.{}.{key}", listener.to_ascii_lowercase())
}

/// Kafka's default `listener.security.protocol.map`: every protocol as a
/// listener of its own name.
pub const DEFAULT_LISTENER_SECURITY_PROTOCOL_MAP: &str =
    "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL";

/// Parses `listener.security.protocol.map` (`NAME:PROTOCOL,...`).
pub fn parse_listener_security_protocol_map(v: &str) -> Result<Vec<(String, SecurityProtocol)>, ConfigError> {
    let key = "listener.security.protocol.map";
    let mut out: Vec<(String, SecurityProtocol)> = Vec::new();
    for part in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, proto) = part.split_once(':').ok_or_else(|| {
            ConfigError(format!("Invalid value {v} for configuration {key}: Map entry {part} is not NAME:PROTOCOL"))
        })?;
        let name = name.trim().to_ascii_uppercase();
        let proto = proto.trim().to_ascii_uppercase();
        let p = SecurityProtocol::from_name(&proto).ok_or_else(|| {
            ConfigError(format!("Invalid value {v} for configuration {key}: No enum constant for security protocol {proto}"))
        })?;
        if name.is_empty() || out.iter().any(|(n, _)| *n == name) {
            return Err(ConfigError(format!("Invalid value {v} for configuration {key}: listener names must be non-empty and unique")));
        }
        out.push((name, p));
    }
    Ok(out)
}

type ListenerSettings = (Vec<(String, SecurityProtocol)>, String, Option<String>);

/// Kafka's listener checks (`KafkaConfig.validateValues` and
/// `getInterBrokerListenerNameAndSecurityProtocol`): every listener has a
/// protocol, advertised listeners are a subset of the listeners, the
/// inter-broker listener is advertised, the control-plane listener exists
/// and differs from the inter-broker one.
fn validate_listeners(
    listeners: &[EndPoint],
    advertised: &[EndPoint],
    props: &BTreeMap<String, String>,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<ListenerSettings, ConfigError> {
    let explicit_map = get("listener.security.protocol.map");
    let map = parse_listener_security_protocol_map(
        explicit_map.as_deref().unwrap_or(DEFAULT_LISTENER_SECURITY_PROTOCOL_MAP),
    )?;
    let names: Vec<&str> = listeners.iter().map(|l| l.listener_name.as_str()).collect();
    let valid = names.join(",");
    for l in listeners.iter().chain(advertised) {
        if !map.iter().any(|(n, _)| *n == l.listener_name) {
            return Err(ConfigError(format!(
                "Invalid value {} for configuration listeners: No security protocol defined for listener {}",
                l.connection_string(),
                l.listener_name
            )));
        }
    }
    if let Some(a) = advertised.iter().find(|a| !names.contains(&a.listener_name.as_str())) {
        return Err(ConfigError(format!(
            "advertised.listeners listener names must be equal to or a subset of the ones defined in listeners. Found {}. The valid options based on the current configuration are {valid}",
            a.listener_name
        )));
    }
    if advertised.iter().any(|a| a.host == "0.0.0.0") {
        return Err(ConfigError(
            "advertised.listeners cannot use the nonroutable meta-address 0.0.0.0. Use a routable IP address.".into(),
        ));
    }
    let inter_broker = match (get("inter.broker.listener.name"), props.get("security.inter.broker.protocol").cloned()) {
        (Some(_), Some(_)) => {
            return Err(ConfigError(
                "Only one of inter.broker.listener.name and security.inter.broker.protocol should be set.".into(),
            ))
        }
        (Some(name), None) => {
            let name = name.trim().to_ascii_uppercase();
            if !map.iter().any(|(n, _)| *n == name) {
                return Err(ConfigError(format!(
                    "Listener with name {name} defined in inter.broker.listener.name not found in listener.security.protocol.map."
                )));
            }
            name
        }
        (None, p) => {
            let p = p.or_else(|| get("security.inter.broker.protocol")).unwrap_or_else(|| "PLAINTEXT".into());
            let p = p.trim().to_ascii_uppercase();
            if SecurityProtocol::from_name(&p).is_none() {
                return Err(ConfigError(format!(
                    "Invalid value {p} for configuration security.inter.broker.protocol: must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"
                )));
            }
            p
        }
    };
    if !advertised.iter().any(|a| a.listener_name == inter_broker) {
        return Err(ConfigError(format!(
            "inter.broker.listener.name must be a listener name defined in advertised.listeners. The valid options based on currently configured listeners are {valid}"
        )));
    }
    let control_plane = get("control.plane.listener.name").map(|n| n.trim().to_ascii_uppercase()).filter(|n| !n.is_empty());
    if let Some(cp) = &control_plane {
        if !names.contains(&cp.as_str()) || !advertised.iter().any(|a| a.listener_name == *cp) {
            return Err(ConfigError(format!(
                "control.plane.listener.name must be a listener name defined in listeners and advertised.listeners. The valid options based on currently configured listeners are {valid}"
            )));
        }
        if *cp == inter_broker {
            return Err(ConfigError(format!(
                "control.plane.listener.name, when defined, should have a different value from the inter broker listener name. Currently they both have the value {cp}"
            )));
        }
    }
    // The map written to ZooKeeper and used at run time: the listeners' entries.
    let used = map.into_iter().filter(|(n, _)| names.contains(&n.as_str())).collect();
    Ok((used, inter_broker, control_plane))
}

impl KafkaConfig {
    /// Reads a properties file and applies `overrides` (`key=value` each) on top.
    pub fn from_file(path: &std::path::Path, overrides: &[String]) -> Result<KafkaConfig, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("Cannot read configuration file {}: {e}", path.display())))?;
        let mut props: BTreeMap<String, String> = parse_properties(&text)?.into_iter().collect();
        for o in overrides {
            let (k, v) = o
                .split_once('=')
                .ok_or_else(|| ConfigError(format!("Invalid override '{o}': expected key=value")))?;
            props.insert(k.trim().to_string(), v.trim().to_string());
        }
        KafkaConfig::from_props(props)
    }

    /// Builds and validates the configuration from raw key/value pairs.
    pub fn from_props(props: BTreeMap<String, String>) -> Result<KafkaConfig, ConfigError> {
        for k in props.keys() {
            // `listener.name.<l>.<key>` keys are read per listener (security).
            if !KNOWN_KEYS.iter().any(|(known, _)| known == k) && !k.starts_with("listener.name.") {
                log::warn!("The configuration '{k}' was supplied but isn't a known config.");
            }
        }
        let get = |key: &str| -> Option<String> {
            props.get(key).cloned().or_else(|| {
                KNOWN_KEYS.iter().find(|(k, _)| *k == key).and_then(|(_, d)| d.map(str::to_string))
            })
        };
        let req = |key: &str| -> Result<String, ConfigError> {
            get(key).ok_or_else(|| ConfigError(format!("Missing required configuration \"{key}\" which has no default value.")))
        };

        let broker_id: i32 = parse_num("broker.id", &req("broker.id")?)?;
        if broker_id < 0 {
            return Err(ConfigError(format!(
                "Invalid value {broker_id} for configuration broker.id: broker.id must be set to a non-negative id (automatic id generation is not supported)"
            )));
        }
        let listeners = parse_listeners("listeners", &req("listeners")?)?;
        let advertised_listeners = match get("advertised.listeners") {
            Some(v) => parse_listeners("advertised.listeners", &v)?,
            None => listeners
                .iter()
                .map(|l| EndPoint {
                    listener_name: l.listener_name.clone(),
                    host: if l.host.is_empty() || l.host == "0.0.0.0" {
                        // Kafka advertises the canonical host name; loopback is what we can reach.
                        "127.0.0.1".to_string()
                    } else {
                        l.host.clone()
                    },
                    port: l.port,
                })
                .collect(),
        };
        let (listener_security_protocol_map, inter_broker_listener_name, control_plane_listener_name) =
            validate_listeners(&listeners, &advertised_listeners, &props, &get)?;
        let log_dirs_raw = get("log.dirs").or_else(|| get("log.dir")).unwrap_or_default();
        let log_dirs: Vec<PathBuf> =
            log_dirs_raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(PathBuf::from).collect();
        if log_dirs.is_empty() {
            return Err(ConfigError("Invalid value for configuration log.dirs: no log directory given".into()));
        }
        let zookeeper_connect = req("zookeeper.connect")?;
        if zookeeper_connect.trim().is_empty() {
            return Err(ConfigError("Invalid value for configuration zookeeper.connect: empty".into()));
        }
        let zookeeper_session_timeout_ms =
            at_least("zookeeper.session.timeout.ms", parse_num("zookeeper.session.timeout.ms", &req("zookeeper.session.timeout.ms")?)?, 1u64)?;
        let zookeeper_connection_timeout_ms = match get("zookeeper.connection.timeout.ms") {
            Some(v) => at_least("zookeeper.connection.timeout.ms", parse_num("zookeeper.connection.timeout.ms", &v)?, 1u64)?,
            None => zookeeper_session_timeout_ms,
        };
        let log_roll_ms: i64 = match get("log.roll.ms") {
            Some(v) => at_least("log.roll.ms", parse_num("log.roll.ms", &v)?, 1i64)?,
            None => {
                let h: i64 = at_least("log.roll.hours", parse_num("log.roll.hours", &req("log.roll.hours")?)?, 1)?;
                h.saturating_mul(3_600_000)
            }
        };
        let log_flush_interval_ms: i64 = match get("log.flush.interval.ms") {
            Some(v) => at_least("log.flush.interval.ms", parse_num("log.flush.interval.ms", &v)?, 0i64)?,
            None => i64::MAX,
        };
        let num = |key: &str| -> Result<i64, ConfigError> { parse_num(key, &req(key)?) };
        let boolean = |key: &str| -> Result<bool, ConfigError> { parse_bool(key, &req(key)?) };
        let cfg = KafkaConfig {
            broker_id,
            listeners,
            advertised_listeners,
            listener_security_protocol_map,
            inter_broker_listener_name,
            control_plane_listener_name,
            log_dirs,
            zookeeper_connect,
            zookeeper_session_timeout_ms,
            zookeeper_connection_timeout_ms,
            num_partitions: at_least("num.partitions", num("num.partitions")?, 1)? as i32,
            default_replication_factor: at_least("default.replication.factor", num("default.replication.factor")?, 1)?
                .min(i16::MAX as i64) as i16,
            auto_create_topics_enable: boolean("auto.create.topics.enable")?,
            message_max_bytes: at_least("message.max.bytes", num("message.max.bytes")?, 0)?.min(i32::MAX as i64) as i32,
            socket_request_max_bytes: at_least("socket.request.max.bytes", num("socket.request.max.bytes")?, 1)?
                .min(i32::MAX as i64) as i32,
            log_segment_bytes: at_least("log.segment.bytes", num("log.segment.bytes")?, 14)?.min(i32::MAX as i64),
            log_roll_ms,
            log_index_interval_bytes: at_least("log.index.interval.bytes", num("log.index.interval.bytes")?, 0)?
                .min(i32::MAX as i64) as i32,
            log_index_size_max_bytes: at_least("log.index.size.max.bytes", num("log.index.size.max.bytes")?, 4)?
                .min(i32::MAX as i64) as i32,
            log_flush_interval_messages: at_least("log.flush.interval.messages", num("log.flush.interval.messages")?, 1)?,
            log_flush_interval_ms,
            log_flush_scheduler_interval_ms: num("log.flush.scheduler.interval.ms")?,
            log_retention_check_interval_ms: at_least(
                "log.retention.check.interval.ms",
                num("log.retention.check.interval.ms")?,
                1,
            )?,
            min_insync_replicas: at_least("min.insync.replicas", num("min.insync.replicas")?, 1)? as i32,
            unclean_leader_election_enable: boolean("unclean.leader.election.enable")?,
            auto_leader_rebalance_enable: boolean("auto.leader.rebalance.enable")?,
            delete_topic_enable: boolean("delete.topic.enable")?,
            controlled_shutdown_enable: boolean("controlled.shutdown.enable")?,
            replica_lag_time_max_ms: at_least("replica.lag.time.max.ms", num("replica.lag.time.max.ms")?, 1)?,
            num_replica_fetchers: at_least("num.replica.fetchers", num("num.replica.fetchers")?, 1)? as i32,
            num_network_threads: at_least("num.network.threads", num("num.network.threads")?, 1)?.min(i32::MAX as i64) as i32,
            replica_fetch_max_bytes: at_least("replica.fetch.max.bytes", num("replica.fetch.max.bytes")?, 0)?
                .min(i32::MAX as i64) as i32,
            replica_fetch_wait_max_ms: at_least("replica.fetch.wait.max.ms", num("replica.fetch.wait.max.ms")?, 0)?
                .min(i32::MAX as i64) as i32,
            log_flush_offset_checkpoint_interval_ms: at_least(
                "log.flush.offset.checkpoint.interval.ms",
                num("log.flush.offset.checkpoint.interval.ms")?,
                1,
            )? as u64,
            replica_high_watermark_checkpoint_interval_ms: at_least(
                "replica.high.watermark.checkpoint.interval.ms",
                num("replica.high.watermark.checkpoint.interval.ms")?,
                1,
            )? as u64,
            metrics_port: match get("metrics.port") {
                Some(v) => Some(parse_num::<u16>("metrics.port", &v)?),
                None => None,
            },
            props,
        };
        Ok(cfg)
    }

    /// The raw value of `key`, or Kafka's default for it.
    pub fn get(&self, key: &str) -> Option<String> {
        self.props.get(key).cloned().or_else(|| {
            KNOWN_KEYS.iter().find(|(k, _)| *k == key).and_then(|(_, d)| d.map(str::to_string))
        })
    }

    /// The security protocol of `listener` (a normalised listener name).
    pub fn security_protocol(&self, listener: &str) -> Option<SecurityProtocol> {
        self.listener_security_protocol_map.iter().find(|(l, _)| l == listener).map(|(_, p)| *p)
    }

    /// The security protocol of the inter-broker listener.
    pub fn inter_broker_security_protocol(&self) -> SecurityProtocol {
        self.security_protocol(&self.inter_broker_listener_name).unwrap_or(SecurityProtocol::Plaintext)
    }

    /// A listener's value of `key`: `listener.name.<listener lower case>.<key>`
    /// when set, else `key` (Kafka's `valuesWithPrefixOverride`).
    pub fn listener_prop(&self, listener: &str, key: &str) -> Option<String> {
        self.props
            .get(&listener_prefixed(listener, key))
            .cloned()
            .or_else(|| self.get(key))
    }

    /// An integer key with Kafka's default; a bad value was already rejected
    /// at start-up only for typed keys, so this falls back to `default`.
    pub fn get_i64(&self, key: &str, default: i64) -> i64 {
        self.get(key).and_then(|v| v.trim().parse().ok()).unwrap_or(default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![("broker.id", "0"), ("zookeeper.connect", "localhost:2181"), ("log.dirs", "/tmp/a,/tmp/b")]
    }

    #[test]
    fn parses_properties_syntax() {
        let text = "# comment\n! other\nkey1=value1\nkey2 : value 2\nkey3 value3\nlong=a,\\\n   b\nempty=\nesc\\=key=x\n";
        let got = parse_properties(text).unwrap();
        assert_eq!(
            got,
            vec![
                ("key1".into(), "value1".into()),
                ("key2".into(), "value 2".into()),
                ("key3".into(), "value3".into()),
                ("long".into(), "a,b".into()),
                ("empty".into(), "".into()),
                ("esc=key".into(), "x".into()),
            ]
        );
    }

    #[test]
    fn defaults_follow_kafka() {
        let c = KafkaConfig::from_props(props(&base())).unwrap();
        assert_eq!(c.broker_id, 0);
        assert_eq!(c.num_network_threads, 3);
        assert_eq!(c.listeners, vec![EndPoint { listener_name: "PLAINTEXT".into(), host: "".into(), port: 9092 }]);
        assert_eq!(c.advertised_listeners[0].host, "127.0.0.1");
        assert_eq!(c.log_dirs.len(), 2);
        assert_eq!(c.zookeeper_session_timeout_ms, 18000);
        assert_eq!(c.zookeeper_connection_timeout_ms, 18000);
        assert_eq!(c.message_max_bytes, 1048588);
        assert_eq!(c.socket_request_max_bytes, 104857600);
        assert_eq!(c.log_segment_bytes, 1 << 30);
        assert_eq!(c.log_roll_ms, 168 * 3_600_000);
        assert_eq!(c.log_index_interval_bytes, 4096);
        assert!(c.auto_create_topics_enable);
    }

    #[test]
    fn invalid_values_name_the_key() {
        for (k, v) in [
            ("num.partitions", "zero"),
            ("num.partitions", "0"),
            ("auto.create.topics.enable", "maybe"),
            ("listeners", "nonsense"),
            ("log.segment.bytes", "-5"),
            ("zookeeper.session.timeout.ms", "x"),
            ("num.network.threads", "0"),
            ("num.network.threads", "two"),
        ] {
            let mut p = base();
            p.push((k, v));
            let err = KafkaConfig::from_props(props(&p)).unwrap_err();
            assert!(err.0.contains(k), "{err} should name {k}");
        }
    }

    #[test]
    fn roll_ms_overrides_hours() {
        let mut p = base();
        p.push(("log.roll.ms", "1000"));
        p.push(("log.roll.hours", "1"));
        assert_eq!(KafkaConfig::from_props(props(&p)).unwrap().log_roll_ms, 1000);
    }

    #[test]
    fn missing_zookeeper_connect_is_an_error() {
        let err = KafkaConfig::from_props(props(&[("broker.id", "1")])).unwrap_err();
        assert!(err.0.contains("zookeeper.connect"));
    }

    #[test]
    fn retention_and_flusher_intervals() {
        let c = KafkaConfig::from_props(props(&base())).unwrap();
        assert_eq!(c.log_retention_check_interval_ms, 300_000);
        assert_eq!(c.log_flush_scheduler_interval_ms, i64::MAX);
        assert_eq!(c.get("log.segment.delete.delay.ms").as_deref(), Some("60000"));
        let mut p = base();
        p.push(("log.retention.check.interval.ms", "0"));
        let err = KafkaConfig::from_props(props(&p)).unwrap_err();
        assert!(err.0.contains("log.retention.check.interval.ms"), "{err}");
        let mut p = base();
        p.push(("log.flush.scheduler.interval.ms", "1000"));
        assert_eq!(KafkaConfig::from_props(props(&p)).unwrap().log_flush_scheduler_interval_ms, 1000);
    }

    fn listener_cfg(extra: &[(&'static str, &'static str)]) -> Result<KafkaConfig, ConfigError> {
        let mut p = base();
        p.extend_from_slice(extra);
        KafkaConfig::from_props(props(&p))
    }

    #[test]
    fn several_named_listeners_with_a_protocol_map() {
        let c = listener_cfg(&[
            ("listeners", "internal://127.0.0.1:9093,EXTERNAL://:9094,PLAINTEXT://:9092"),
            ("advertised.listeners", "INTERNAL://b1:9093,external://pub.example:19094,PLAINTEXT://b1:9092"),
            ("listener.security.protocol.map", "INTERNAL:SSL,external:sasl_ssl,PLAINTEXT:PLAINTEXT,UNUSED:SSL"),
            ("inter.broker.listener.name", "internal"),
            ("control.plane.listener.name", "PLAINTEXT"),
        ])
        .unwrap();
        let names: Vec<&str> = c.listeners.iter().map(|l| l.listener_name.as_str()).collect();
        assert_eq!(names, ["INTERNAL", "EXTERNAL", "PLAINTEXT"]);
        assert_eq!(c.advertised_listeners[1].host, "pub.example");
        assert_eq!(c.inter_broker_listener_name, "INTERNAL");
        assert_eq!(c.inter_broker_security_protocol(), SecurityProtocol::Ssl);
        assert_eq!(c.security_protocol("EXTERNAL"), Some(SecurityProtocol::SaslSsl));
        assert_eq!(c.security_protocol("UNUSED"), None, "only the listeners' entries are kept");
        assert_eq!(c.control_plane_listener_name.as_deref(), Some("PLAINTEXT"));
    }

    #[test]
    fn default_map_and_security_inter_broker_protocol() {
        let c = listener_cfg(&[("listeners", "PLAINTEXT://:9092,SSL://:9093"), ("security.inter.broker.protocol", "SSL")])
            .unwrap();
        assert_eq!(c.inter_broker_listener_name, "SSL");
        assert_eq!(c.security_protocol("SSL"), Some(SecurityProtocol::Ssl));
        let c = listener_cfg(&[("listeners", "PLAINTEXT://:9092,SSL://:9093")]).unwrap();
        assert_eq!(c.inter_broker_listener_name, "PLAINTEXT");
    }

    #[test]
    fn listener_prefixed_keys_override_plain_ones() {
        let c = listener_cfg(&[
            ("listeners", "PLAINTEXT://:9092,INTERNAL://:9093"),
            ("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,INTERNAL:SSL"),
            ("ssl.client.auth", "requested"),
            ("listener.name.internal.ssl.client.auth", "required"),
        ])
        .unwrap();
        assert_eq!(c.listener_prop("INTERNAL", "ssl.client.auth").as_deref(), Some("required"));
        assert_eq!(c.listener_prop("PLAINTEXT", "ssl.client.auth").as_deref(), Some("requested"));
        assert_eq!(c.listener_prop("PLAINTEXT", "ssl.keystore.location"), None);
    }

    #[test]
    fn listener_mistakes_are_refused_as_kafka_does() {
        for (extra, needle) in [
            (vec![("listeners", "CLIENT://:9092")], "No security protocol defined for listener CLIENT"),
            (
                vec![("listeners", "PLAINTEXT://:9092"), ("advertised.listeners", "SSL://h:9093")],
                "must be equal to or a subset",
            ),
            (vec![("listeners", "PLAINTEXT://:9092"), ("advertised.listeners", "PLAINTEXT://0.0.0.0:9092")], "0.0.0.0"),
            (
                vec![("listeners", "PLAINTEXT://:9092"), ("inter.broker.listener.name", "PLAINTEXT"), ("security.inter.broker.protocol", "PLAINTEXT")],
                "Only one of inter.broker.listener.name and security.inter.broker.protocol",
            ),
            (vec![("listeners", "PLAINTEXT://:9092"), ("inter.broker.listener.name", "REPL")], "not found in listener.security.protocol.map"),
            (vec![("listeners", "SSL://:9093")], "inter.broker.listener.name must be a listener name defined in advertised.listeners"),
            (
                vec![("listeners", "PLAINTEXT://:9092,SSL://:9093"), ("control.plane.listener.name", "PLAINTEXT")],
                "should have a different value",
            ),
            (vec![("listeners", "PLAINTEXT://:9092"), ("control.plane.listener.name", "CTRL")], "control.plane.listener.name must be"),
            (vec![("listeners", "PLAINTEXT://:9092,plaintext://:9093")], "Each listener must have a different name"),
            (vec![("listeners", "PLAINTEXT://:9092"), ("listener.security.protocol.map", "PLAINTEXT:TLS")], "listener.security.protocol.map"),
        ] {
            let err = listener_cfg(&extra).unwrap_err();
            assert!(err.0.contains(needle), "{extra:?}: {err} should contain {needle}");
        }
    }
}
