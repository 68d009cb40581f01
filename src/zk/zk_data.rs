//! ZkData: Kafka's znode paths and the JSON stored in them (Kafka's
//! `kafka.zk.ZkData`). Encoders write the exact JSON a 2.8 broker writes;
//! decoders accept what every 2.x version wrote and never panic on bad bytes.

use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

// ---------------------------------------------------------------- paths

pub const BROKERS_PATH: &str = "/brokers";
pub const BROKER_IDS_PATH: &str = "/brokers/ids";
pub const BROKER_TOPICS_PATH: &str = "/brokers/topics";
pub const BROKER_SEQ_ID_PATH: &str = "/brokers/seqid";
pub const CONTROLLER_PATH: &str = "/controller";
pub const CONTROLLER_EPOCH_PATH: &str = "/controller_epoch";
pub const ADMIN_PATH: &str = "/admin";
pub const DELETE_TOPICS_PATH: &str = "/admin/delete_topics";
pub const REASSIGN_PARTITIONS_PATH: &str = "/admin/reassign_partitions";
pub const PREFERRED_REPLICA_ELECTION_PATH: &str = "/admin/preferred_replica_election";
pub const ISR_CHANGE_NOTIFICATION_PATH: &str = "/isr_change_notification";
pub const ISR_CHANGE_NOTIFICATION_PREFIX: &str = "isr_change_";
pub const LOG_DIR_EVENT_NOTIFICATION_PATH: &str = "/log_dir_event_notification";
pub const CONFIG_PATH: &str = "/config";
pub const CONFIG_CHANGES_PATH: &str = "/config/changes";
pub const CONFIG_CHANGE_PREFIX: &str = "config_change_";
pub const CLUSTER_ID_PATH: &str = "/cluster/id";
pub const CONSUMERS_PATH: &str = "/consumers";
pub const LATEST_PRODUCER_ID_BLOCK_PATH: &str = "/latest_producer_id_block";
pub const FEATURE_PATH: &str = "/feature";

/// Config entity types under `/config` (Kafka's `ConfigType`).
pub const CONFIG_TYPES: &[&str] = &["topics", "clients", "users", "brokers", "ips"];

/// Persistent paths every broker creates (if missing) at startup.
pub fn persistent_zk_paths() -> Vec<String> {
    let mut v: Vec<String> = vec![
        CONSUMERS_PATH.into(),
        BROKER_IDS_PATH.into(),
        BROKER_TOPICS_PATH.into(),
        CONFIG_CHANGES_PATH.into(),
        DELETE_TOPICS_PATH.into(),
        BROKER_SEQ_ID_PATH.into(),
        ISR_CHANGE_NOTIFICATION_PATH.into(),
        LATEST_PRODUCER_ID_BLOCK_PATH.into(),
        LOG_DIR_EVENT_NOTIFICATION_PATH.into(),
    ];
    v.extend(CONFIG_TYPES.iter().map(|t| config_entity_type_path(t)));
    v
}

pub fn broker_id_path(id: i32) -> String {
    format!("{BROKER_IDS_PATH}/{id}")
}
pub fn topic_path(topic: &str) -> String {
    format!("{BROKER_TOPICS_PATH}/{topic}")
}
pub fn topic_partitions_path(topic: &str) -> String {
    format!("{BROKER_TOPICS_PATH}/{topic}/partitions")
}
pub fn topic_partition_path(topic: &str, partition: i32) -> String {
    format!("{BROKER_TOPICS_PATH}/{topic}/partitions/{partition}")
}
pub fn topic_partition_state_path(topic: &str, partition: i32) -> String {
    format!("{BROKER_TOPICS_PATH}/{topic}/partitions/{partition}/state")
}
pub fn config_entity_type_path(entity_type: &str) -> String {
    format!("{CONFIG_PATH}/{entity_type}")
}
pub fn config_entity_path(entity_type: &str, name: &str) -> String {
    format!("{CONFIG_PATH}/{entity_type}/{name}")
}
pub fn delete_topic_path(topic: &str) -> String {
    format!("{DELETE_TOPICS_PATH}/{topic}")
}
pub fn isr_change_notification_sequence_path() -> String {
    format!("{ISR_CHANGE_NOTIFICATION_PATH}/{ISR_CHANGE_NOTIFICATION_PREFIX}")
}
pub fn config_change_sequence_path() -> String {
    format!("{CONFIG_CHANGES_PATH}/{CONFIG_CHANGE_PREFIX}")
}

// ---------------------------------------------------------------- errors

/// Znode bytes that do not hold what their path promises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for DecodeError {}

type DResult<T> = std::result::Result<T, DecodeError>;

fn bad(what: impl Into<String>) -> DecodeError {
    DecodeError(what.into())
}

fn parse(bytes: &[u8]) -> DResult<Map<String, Value>> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(bad("znode JSON is not an object")),
        Err(e) => Err(bad(format!("znode data is not JSON: {e}"))),
    }
}

fn get_i64(m: &Map<String, Value>, key: &str) -> DResult<i64> {
    m.get(key).and_then(Value::as_i64).ok_or_else(|| bad(format!("missing or non-integer \"{key}\"")))
}

fn get_i32(m: &Map<String, Value>, key: &str) -> DResult<i32> {
    let v = get_i64(m, key)?;
    i32::try_from(v).map_err(|_| bad(format!("\"{key}\" out of range: {v}")))
}

fn int_list(v: &Value, what: &str) -> DResult<Vec<i32>> {
    let arr = v.as_array().ok_or_else(|| bad(format!("{what} is not a list")))?;
    arr.iter()
        .map(|x| x.as_i64().and_then(|x| i32::try_from(x).ok()).ok_or_else(|| bad(format!("{what} holds a non-integer"))))
        .collect()
}

/// `{"0":[1,2],...}` → partition → replica list.
fn partition_map(v: Option<&Value>, what: &str) -> DResult<BTreeMap<i32, Vec<i32>>> {
    let mut out = BTreeMap::new();
    match v {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let p: i32 = k.parse().map_err(|_| bad(format!("{what}: bad partition id {k:?}")))?;
                out.insert(p, int_list(v, what)?);
            }
        }
        Some(_) => return Err(bad(format!("{what} is not an object"))),
    }
    Ok(out)
}


/// Writes a JSON object with keys in the given order (serde_json's `Map`
/// sorts keys; Kafka's Jackson output has its own order, which we mirror).
fn ordered_object(fields: &[(&str, Value)]) -> Vec<u8> {
    let mut out = String::from("{");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::String((*k).to_string()).to_string());
        out.push(':');
        out.push_str(&v.to_string());
    }
    out.push('}');
    out.into_bytes()
}

/// A nested string-keyed map (written in sorted key order; readers ignore order).
fn ordered_map(entries: &[(String, Value)]) -> Value {
    Value::Object(entries.iter().cloned().collect())
}

// ---------------------------------------------------------------- uuid / base64url

/// Kafka's `Uuid` as 16 raw bytes; its text form is URL-safe base64 without padding.
pub type Uuid = [u8; 16];

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

pub fn base64url_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity((data.len() * 4 + 2) / 3);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

pub fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = B64.iter().position(|&x| x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

pub fn uuid_to_string(id: &Uuid) -> String {
    base64url_encode(id)
}

pub fn uuid_from_string(s: &str) -> Option<Uuid> {
    let v = base64url_decode(s)?;
    if s.trim_end_matches('=').len() != 22 {
        return None;
    }
    v.try_into().ok()
}

/// A random version-4 UUID, as Kafka's `Uuid.randomUuid` (never all-zero,
/// never the metadata-topic id 1, never one whose text starts with '-').
pub fn random_uuid() -> Uuid {
    use rand::RngCore;
    loop {
        let mut u = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut u);
        u[6] = (u[6] & 0x0f) | 0x40;
        u[8] = (u[8] & 0x3f) | 0x80;
        let zeroish = u[..15].iter().all(|b| *b == 0) && u[15] <= 1;
        if !zeroish && !uuid_to_string(&u).starts_with('-') {
            return u;
        }
    }
}

// ---------------------------------------------------------------- broker registration

/// Kafka's `SecurityProtocol`, with its wire ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub fn id(self) -> i16 {
        match self {
            SecurityProtocol::Plaintext => 0,
            SecurityProtocol::Ssl => 1,
            SecurityProtocol::SaslPlaintext => 2,
            SecurityProtocol::SaslSsl => 3,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }
    pub fn from_id(id: i16) -> Option<Self> {
        match id {
            0 => Some(SecurityProtocol::Plaintext),
            1 => Some(SecurityProtocol::Ssl),
            2 => Some(SecurityProtocol::SaslPlaintext),
            3 => Some(SecurityProtocol::SaslSsl),
            _ => None,
        }
    }
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "PLAINTEXT" => Some(SecurityProtocol::Plaintext),
            "SSL" => Some(SecurityProtocol::Ssl),
            "SASL_PLAINTEXT" => Some(SecurityProtocol::SaslPlaintext),
            "SASL_SSL" => Some(SecurityProtocol::SaslSsl),
            _ => None,
        }
    }
}

/// One advertised listener (Kafka's `EndPoint`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndPoint {
    pub host: String,
    pub port: i32,
    pub listener_name: String,
    pub security_protocol: SecurityProtocol,
}

impl EndPoint {
    pub fn new(listener: &str, protocol: SecurityProtocol, host: &str, port: i32) -> Self {
        EndPoint { host: host.into(), port, listener_name: listener.into(), security_protocol: protocol }
    }

    /// `LISTENER://host:port`, IPv6 hosts bracketed.
    pub fn connection_string(&self) -> String {
        if self.host.contains(':') {
            format!("{}://[{}]:{}", self.listener_name, self.host, self.port)
        } else {
            format!("{}://{}:{}", self.listener_name, self.host, self.port)
        }
    }

    /// `host:port` for a TCP connect.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Parses `LISTENER://host:port` (host may be bracketed IPv6 or empty).
    pub fn parse(s: &str, protocol_map: &HashMap<String, SecurityProtocol>) -> DResult<EndPoint> {
        let (listener, rest) = s.split_once("://").ok_or_else(|| bad(format!("bad endpoint {s:?}")))?;
        let (host, port) = rest.rsplit_once(':').ok_or_else(|| bad(format!("bad endpoint {s:?}")))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port: i32 = port.parse().map_err(|_| bad(format!("bad endpoint port in {s:?}")))?;
        let protocol = match protocol_map.get(listener) {
            Some(p) => *p,
            None => SecurityProtocol::from_name(listener)
                .ok_or_else(|| bad(format!("no security protocol for listener {listener:?}")))?,
        };
        Ok(EndPoint::new(listener, protocol, host, port))
    }
}

/// What a broker writes at `/brokers/ids/<id>` (Kafka's `BrokerInfo` + `Broker`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    pub id: i32,
    pub endpoints: Vec<EndPoint>,
    pub rack: Option<String>,
    pub jmx_port: i32,
    /// Supported features: name → (min_version, max_version). Empty in stock 2.8.
    pub features: BTreeMap<String, (i16, i16)>,
    /// Registration wall-clock ms (written as a string).
    pub timestamp: i64,
    /// Schema version read or to be written (5 for IBP 2.8).
    pub version: i32,
    /// zkafka's own addition: the port of the broker's HTTP endpoint
    /// (`metrics.port`), written as `"zkafka_http_port"` only when set, so
    /// that the live view on any broker can reach the others. Kafka's readers
    /// ignore keys they do not know.
    pub http_port: Option<u16>,
}

impl BrokerInfo {
    pub fn new(id: i32, endpoints: Vec<EndPoint>, rack: Option<String>) -> Self {
        BrokerInfo {
            id,
            endpoints,
            rack,
            jmx_port: -1,
            features: BTreeMap::new(),
            timestamp: crate::common::now_ms(),
            version: 5,
            http_port: None,
        }
    }

    /// The endpoint for `listener_name`, if the broker advertises it.
    pub fn endpoint(&self, listener_name: &str) -> Option<&EndPoint> {
        self.endpoints.iter().find(|e| e.listener_name == listener_name)
    }

    /// Encodes the registration JSON (version 5; key order as Kafka writes it).
    pub fn encode(&self) -> Vec<u8> {
        let plaintext = self.endpoints.iter().find(|e| e.security_protocol == SecurityProtocol::Plaintext);
        let features: Map<String, Value> = self
            .features
            .iter()
            .map(|(k, (lo, hi))| (k.clone(), json!({"min_version": lo, "max_version": hi})))
            .collect();
        let lsp = ordered_map(
            &self
                .endpoints
                .iter()
                .map(|e| (e.listener_name.clone(), Value::String(e.security_protocol.name().into())))
                .collect::<Vec<_>>(),
        );
        let mut fields = vec![
            ("features", Value::Object(features)),
            ("listener_security_protocol_map", lsp),
            ("endpoints", Value::Array(self.endpoints.iter().map(|e| Value::String(e.connection_string())).collect())),
            ("jmx_port", json!(self.jmx_port)),
        ];
        if let Some(r) = &self.rack {
            fields.push(("rack", json!(r)));
        }
        fields.push(("port", json!(plaintext.map(|e| e.port).unwrap_or(-1))));
        fields.push(("host", plaintext.map(|e| json!(e.host)).unwrap_or(Value::Null)));
        fields.push(("version", json!(5)));
        fields.push(("timestamp", json!(self.timestamp.to_string())));
        if let Some(p) = self.http_port {
            fields.push(("zkafka_http_port", json!(p)));
        }
        ordered_object(&fields)
    }

    /// Decodes versions 1-5.
    pub fn decode(id: i32, bytes: &[u8]) -> DResult<BrokerInfo> {
        let m = parse(bytes)?;
        let version = get_i32(&m, "version")?;
        if version < 1 {
            return Err(bad(format!("unsupported broker registration version {version}")));
        }
        let jmx_port = m.get("jmx_port").and_then(Value::as_i64).unwrap_or(-1) as i32;
        let timestamp = match m.get("timestamp") {
            Some(Value::String(s)) => s.parse().unwrap_or(0),
            Some(v) => v.as_i64().unwrap_or(0),
            None => 0,
        };
        let rack = m.get("rack").and_then(Value::as_str).map(str::to_string);
        let endpoints = if version == 1 {
            let host = m.get("host").and_then(Value::as_str).ok_or_else(|| bad("v1 registration without host"))?;
            let port = get_i32(&m, "port")?;
            vec![EndPoint::new("PLAINTEXT", SecurityProtocol::Plaintext, host, port)]
        } else {
            let mut protocol_map = HashMap::new();
            if let Some(Value::Object(lsp)) = m.get("listener_security_protocol_map") {
                for (k, v) in lsp {
                    let p = v
                        .as_str()
                        .and_then(SecurityProtocol::from_name)
                        .ok_or_else(|| bad(format!("unknown security protocol for listener {k}")))?;
                    protocol_map.insert(k.clone(), p);
                }
            }
            let eps = m.get("endpoints").and_then(Value::as_array).ok_or_else(|| bad("missing \"endpoints\""))?;
            eps.iter()
                .map(|e| {
                    let s = e.as_str().ok_or_else(|| bad("endpoint is not a string"))?;
                    EndPoint::parse(s, &protocol_map)
                })
                .collect::<DResult<Vec<_>>>()?
        };
        let mut features = BTreeMap::new();
        if let Some(Value::Object(f)) = m.get("features") {
            for (name, range) in f {
                let lo = range.get("min_version").and_then(Value::as_i64).unwrap_or(0) as i16;
                let hi = range.get("max_version").and_then(Value::as_i64).unwrap_or(0) as i16;
                features.insert(name.clone(), (lo, hi));
            }
        }
        let http_port = m.get("zkafka_http_port").and_then(Value::as_u64).and_then(|p| u16::try_from(p).ok());
        Ok(BrokerInfo { id, endpoints, rack, jmx_port, features, timestamp, version, http_port })
    }
}

// ---------------------------------------------------------------- topic assignment

/// One partition's replicas (Kafka's `ReplicaAssignment`): RS, AR, RR.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplicaAssignment {
    pub replicas: Vec<i32>,
    pub adding_replicas: Vec<i32>,
    pub removing_replicas: Vec<i32>,
}

impl ReplicaAssignment {
    pub fn new(replicas: Vec<i32>) -> Self {
        ReplicaAssignment { replicas, ..Default::default() }
    }
    pub fn is_being_reassigned(&self) -> bool {
        !self.adding_replicas.is_empty() || !self.removing_replicas.is_empty()
    }
    /// TRS = RS − RR.
    pub fn target_replicas(&self) -> Vec<i32> {
        self.replicas.iter().copied().filter(|r| !self.removing_replicas.contains(r)).collect()
    }
    /// ORS = RS − AR.
    pub fn original_replicas(&self) -> Vec<i32> {
        self.replicas.iter().copied().filter(|r| !self.adding_replicas.contains(r)).collect()
    }
}

/// The content of `/brokers/topics/<topic>` (Kafka's `TopicZNode`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicAssignment {
    pub topic_id: Option<Uuid>,
    pub partitions: BTreeMap<i32, ReplicaAssignment>,
}

impl TopicAssignment {
    pub fn from_replicas(topic_id: Option<Uuid>, replicas: &BTreeMap<i32, Vec<i32>>) -> Self {
        TopicAssignment {
            topic_id,
            partitions: replicas.iter().map(|(p, r)| (*p, ReplicaAssignment::new(r.clone()))).collect(),
        }
    }

    /// Encodes version 3: both adding/removing maps always present (only
    /// partitions with a non-empty list in them), `topic_id` when known.
    pub fn encode(&self) -> Vec<u8> {
        let mut partitions = Map::new();
        let mut adding = Map::new();
        let mut removing = Map::new();
        for (p, a) in &self.partitions {
            partitions.insert(p.to_string(), json!(a.replicas));
            if !a.adding_replicas.is_empty() {
                adding.insert(p.to_string(), json!(a.adding_replicas));
            }
            if !a.removing_replicas.is_empty() {
                removing.insert(p.to_string(), json!(a.removing_replicas));
            }
        }
        let mut fields = vec![
            ("version", json!(3)),
            ("partitions", Value::Object(partitions)),
            ("adding_replicas", Value::Object(adding)),
            ("removing_replicas", Value::Object(removing)),
        ];
        if let Some(id) = &self.topic_id {
            fields.push(("topic_id", json!(uuid_to_string(id))));
        }
        ordered_object(&fields)
    }

    /// Decodes versions 1-3 (missing maps or keys mean empty).
    pub fn decode(bytes: &[u8]) -> DResult<TopicAssignment> {
        let m = parse(bytes)?;
        let topic_id = match m.get("topic_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(uuid_from_string(s).ok_or_else(|| bad(format!("bad topic_id {s:?}")))?),
            Some(_) => return Err(bad("topic_id is not a string")),
        };
        let replicas = partition_map(m.get("partitions"), "partitions")?;
        let mut adding = partition_map(m.get("adding_replicas"), "adding_replicas")?;
        let mut removing = partition_map(m.get("removing_replicas"), "removing_replicas")?;
        let partitions = replicas
            .into_iter()
            .map(|(p, r)| {
                (
                    p,
                    ReplicaAssignment {
                        replicas: r,
                        adding_replicas: adding.remove(&p).unwrap_or_default(),
                        removing_replicas: removing.remove(&p).unwrap_or_default(),
                    },
                )
            })
            .collect();
        Ok(TopicAssignment { topic_id, partitions })
    }
}

// ---------------------------------------------------------------- partition state

/// Leader, epoch, ISR and the state znode's zkVersion (Kafka's `LeaderAndIsr`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderAndIsr {
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    pub zk_version: i32,
}

impl LeaderAndIsr {
    pub const NO_LEADER: i32 = -1;
    pub const LEADER_DURING_DELETE: i32 = -2;

    /// A fresh partition: epoch 0, zkVersion 0.
    pub fn new(leader: i32, isr: Vec<i32>) -> Self {
        LeaderAndIsr { leader, leader_epoch: 0, isr, zk_version: 0 }
    }

    /// The next leadership decision: epoch + 1, same zkVersion (the write bumps it).
    pub fn new_leader_and_isr(&self, leader: i32, isr: Vec<i32>) -> Self {
        LeaderAndIsr { leader, leader_epoch: self.leader_epoch + 1, isr, zk_version: self.zk_version }
    }
}

/// The content of a partition `state` znode (Kafka's `LeaderIsrAndControllerEpoch`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderIsrAndControllerEpoch {
    pub leader_and_isr: LeaderAndIsr,
    pub controller_epoch: i32,
}

impl LeaderIsrAndControllerEpoch {
    /// `{"controller_epoch":7,"leader":1,"version":1,"leader_epoch":12,"isr":[1,2,3]}`
    pub fn encode(&self) -> Vec<u8> {
        format!(
            "{{\"controller_epoch\":{},\"leader\":{},\"version\":1,\"leader_epoch\":{},\"isr\":{}}}",
            self.controller_epoch,
            self.leader_and_isr.leader,
            self.leader_and_isr.leader_epoch,
            serde_json::to_string(&self.leader_and_isr.isr).unwrap_or_else(|_| "[]".into())
        )
        .into_bytes()
    }

    /// Decodes the state JSON; `zk_version` comes from the znode's Stat.
    pub fn decode(bytes: &[u8], zk_version: i32) -> DResult<Self> {
        let m = parse(bytes)?;
        let isr = int_list(m.get("isr").unwrap_or(&Value::Null), "isr")?;
        Ok(LeaderIsrAndControllerEpoch {
            leader_and_isr: LeaderAndIsr {
                leader: get_i32(&m, "leader")?,
                leader_epoch: get_i32(&m, "leader_epoch")?,
                isr,
                zk_version,
            },
            controller_epoch: get_i32(&m, "controller_epoch")?,
        })
    }
}

// ---------------------------------------------------------------- controller

/// `{"version":1,"brokerid":2,"timestamp":"1620000000000"}`
pub fn encode_controller(broker_id: i32, timestamp_ms: i64) -> Vec<u8> {
    format!("{{\"version\":1,\"brokerid\":{broker_id},\"timestamp\":\"{timestamp_ms}\"}}").into_bytes()
}

pub fn decode_controller(bytes: &[u8]) -> DResult<i32> {
    get_i32(&parse(bytes)?, "brokerid")
}

/// `/controller_epoch` holds a decimal integer.
pub fn encode_controller_epoch(epoch: i32) -> Vec<u8> {
    epoch.to_string().into_bytes()
}

pub fn decode_controller_epoch(bytes: &[u8]) -> DResult<i32> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| bad("controller epoch is not an integer"))
}

// ---------------------------------------------------------------- cluster id

/// `{"version":"1","id":"<id>"}` — the version is a JSON string.
pub fn encode_cluster_id(id: &str) -> Vec<u8> {
    ordered_object(&[("version", json!("1")), ("id", json!(id))])
}

pub fn decode_cluster_id(bytes: &[u8]) -> DResult<String> {
    parse(bytes)?
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| bad("cluster id znode without \"id\""))
}

// ---------------------------------------------------------------- entity config

/// `{"version":1,"config":{...}}`, all values strings.
pub fn encode_entity_config(config: &BTreeMap<String, String>) -> Vec<u8> {
    ordered_object(&[("version", json!(1)), ("config", json!(config))])
}

/// Empty or null data means no overrides.
pub fn decode_entity_config(bytes: &[u8]) -> DResult<HashMap<String, String>> {
    if bytes.is_empty() {
        return Ok(HashMap::new());
    }
    let m = parse(bytes)?;
    let mut out = HashMap::new();
    match m.get("config") {
        None | Some(Value::Null) => {}
        Some(Value::Object(c)) => {
            for (k, v) in c {
                let s = match v {
                    Value::String(s) => s.clone(),
                    Value::Null => continue,
                    other => other.to_string(),
                };
                out.insert(k.clone(), s);
            }
        }
        Some(_) => return Err(bad("\"config\" is not an object")),
    }
    Ok(out)
}

/// `{"version":2,"entity_path":"topics/foo"}`
pub fn encode_config_change_notification(entity_path: &str) -> Vec<u8> {
    ordered_object(&[("version", json!(2)), ("entity_path", json!(entity_path))])
}

// ---------------------------------------------------------------- partition lists

fn encode_partition_list(tps: &[(String, i32)]) -> Vec<u8> {
    let list: Vec<Value> = tps.iter().map(|(t, p)| json!({"topic": t, "partition": p})).collect();
    ordered_object(&[("version", json!(1)), ("partitions", Value::Array(list))])
}

fn decode_partition_list(bytes: &[u8]) -> DResult<Vec<(String, i32)>> {
    let m = parse(bytes)?;
    let list = m.get("partitions").and_then(Value::as_array).ok_or_else(|| bad("missing \"partitions\""))?;
    list.iter()
        .map(|e| {
            let o = e.as_object().ok_or_else(|| bad("partition entry is not an object"))?;
            let t = o.get("topic").and_then(Value::as_str).ok_or_else(|| bad("entry without topic"))?;
            Ok((t.to_string(), get_i32(o, "partition")?))
        })
        .collect()
}

/// `/isr_change_notification/isr_change_<seq>`.
pub fn encode_isr_change_notification(tps: &[(String, i32)]) -> Vec<u8> {
    encode_partition_list(tps)
}

pub fn decode_isr_change_notification(bytes: &[u8]) -> DResult<Vec<(String, i32)>> {
    decode_partition_list(bytes)
}

/// `/admin/preferred_replica_election`.
pub fn encode_preferred_replica_election(tps: &[(String, i32)]) -> Vec<u8> {
    encode_partition_list(tps)
}

pub fn decode_preferred_replica_election(bytes: &[u8]) -> DResult<Vec<(String, i32)>> {
    decode_partition_list(bytes)
}

/// `/admin/reassign_partitions` (Kafka's `ReassignPartitionsZNode`):
/// `{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[4,5,6]}]}`
/// (a `log_dirs` list, which the tool's input file may carry, is ignored).
pub fn encode_partition_reassignment(entries: &BTreeMap<(String, i32), Vec<i32>>) -> Vec<u8> {
    let list: Vec<String> = entries
        .iter()
        .map(|((t, p), r)| {
            let e = ordered_object(&[("topic", json!(t)), ("partition", json!(p)), ("replicas", json!(r))]);
            String::from_utf8_lossy(&e).into_owned()
        })
        .collect();
    format!("{{\"version\":1,\"partitions\":[{}]}}", list.join(",")).into_bytes()
}

/// Decodes the legacy reassignment znode. A partition listed twice keeps its
/// last entry (Kafka reads the list into a map). Any structural error fails
/// the whole znode.
pub fn decode_partition_reassignment(bytes: &[u8]) -> DResult<BTreeMap<(String, i32), Vec<i32>>> {
    let m = parse(bytes)?;
    let list = m.get("partitions").and_then(Value::as_array).ok_or_else(|| bad("missing \"partitions\" list"))?;
    let mut out = BTreeMap::new();
    for e in list {
        let e = e.as_object().ok_or_else(|| bad("partitions entry is not an object"))?;
        let topic = e.get("topic").and_then(Value::as_str).ok_or_else(|| bad("missing \"topic\""))?;
        let partition = get_i32(e, "partition")?;
        let replicas = int_list(e.get("replicas").ok_or_else(|| bad("missing \"replicas\""))?, "replicas")?;
        out.insert((topic.to_string(), partition), replicas);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_reassignment_znode() {
        let mut m = BTreeMap::new();
        m.insert(("foo".to_string(), 0), vec![4, 5, 6]);
        m.insert(("bar".to_string(), 2), vec![1]);
        let enc = encode_partition_reassignment(&m);
        assert_eq!(
            String::from_utf8(enc.clone()).unwrap(),
            r#"{"version":1,"partitions":[{"topic":"bar","partition":2,"replicas":[1]},{"topic":"foo","partition":0,"replicas":[4,5,6]}]}"#
        );
        assert_eq!(decode_partition_reassignment(&enc).unwrap(), m);
        let with_dirs = br#"{"version":1,"partitions":[{"topic":"foo","partition":0,"replicas":[4,5,6],"log_dirs":["any","any","any"]}]}"#;
        assert_eq!(decode_partition_reassignment(with_dirs).unwrap()[&("foo".to_string(), 0)], vec![4, 5, 6]);
        assert!(decode_partition_reassignment(b"{\"version\":1}").is_err());
        assert!(decode_partition_reassignment(br#"{"version":1,"partitions":[{"topic":"a","partition":"x","replicas":[1]}]}"#).is_err());
        assert!(decode_partition_reassignment(b"garbage").is_err());
    }

    #[test]
    fn paths() {
        assert_eq!(broker_id_path(3), "/brokers/ids/3");
        assert_eq!(topic_partition_state_path("foo", 2), "/brokers/topics/foo/partitions/2/state");
        assert_eq!(config_entity_path("topics", "foo"), "/config/topics/foo");
        assert_eq!(delete_topic_path("foo"), "/admin/delete_topics/foo");
        assert!(persistent_zk_paths().contains(&"/config/ips".to_string()));
        assert_eq!(isr_change_notification_sequence_path(), "/isr_change_notification/isr_change_");
    }

    #[test]
    fn base64url_and_uuid() {
        assert_eq!(base64url_encode(b"f"), "Zg");
        assert_eq!(base64url_encode(b"fo"), "Zm8");
        assert_eq!(base64url_encode(b"foo"), "Zm9v");
        assert_eq!(base64url_encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(base64url_decode("-_8").unwrap(), vec![0xfb, 0xff]);
        for _ in 0..100 {
            let u = random_uuid();
            let s = uuid_to_string(&u);
            assert_eq!(s.len(), 22);
            assert!(!s.starts_with('-'));
            assert_eq!(uuid_from_string(&s), Some(u));
        }
        // Kafka-written example from the reference.
        assert!(uuid_from_string("s1Xq3lHnQ1ynP2c7y3yZgA").is_some());
        assert!(uuid_from_string("short").is_none());
        assert!(uuid_from_string("s1Xq3lHnQ1ynP2c7y3yZg!").is_none());
    }

    #[test]
    fn broker_registration_v5_encode_and_decode() {
        let mut b = BrokerInfo::new(
            1,
            vec![
                EndPoint::new("PLAINTEXT", SecurityProtocol::Plaintext, "b1", 9092),
                EndPoint::new("REPL", SecurityProtocol::Ssl, "b1", 9093),
            ],
            None,
        );
        b.timestamp = 1620000000000;
        let s = String::from_utf8(b.encode()).unwrap();
        assert_eq!(
            s,
            r#"{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT","REPL":"SSL"},"endpoints":["PLAINTEXT://b1:9092","REPL://b1:9093"],"jmx_port":-1,"port":9092,"host":"b1","version":5,"timestamp":"1620000000000"}"#
        );
        assert_eq!(BrokerInfo::decode(1, s.as_bytes()).unwrap(), b);
        // rack, IPv6 and no PLAINTEXT endpoint
        let mut b = BrokerInfo::new(2, vec![EndPoint::new("INTERNAL", SecurityProtocol::SaslSsl, "::1", 9094)], Some("r1".into()));
        b.timestamp = 5;
        let s = String::from_utf8(b.encode()).unwrap();
        assert!(s.contains(r#""endpoints":["INTERNAL://[::1]:9094"]"#), "{s}");
        assert!(s.contains(r#""host":null"#) && s.contains(r#""port":-1"#) && s.contains(r#""rack":"r1""#));
        assert_eq!(BrokerInfo::decode(2, s.as_bytes()).unwrap(), b);
    }

    #[test]
    fn broker_registration_older_versions() {
        let v1 = br#"{"jmx_port":-1,"timestamp":"1","host":"h","version":1,"port":9092}"#;
        let b = BrokerInfo::decode(0, v1).unwrap();
        assert_eq!(b.endpoints, vec![EndPoint::new("PLAINTEXT", SecurityProtocol::Plaintext, "h", 9092)]);
        let v2 = br#"{"jmx_port":-1,"timestamp":"2","endpoints":["PLAINTEXT://h:9092","SSL://h:9093"],"host":"h","version":2,"port":9092}"#;
        let b = BrokerInfo::decode(0, v2).unwrap();
        assert_eq!(b.endpoints[1].security_protocol, SecurityProtocol::Ssl);
        assert_eq!(b.timestamp, 2);
        let v4 = br#"{"listener_security_protocol_map":{"CLIENT":"SASL_PLAINTEXT"},"endpoints":["CLIENT://:9092"],"rack":"x","jmx_port":9999,"host":null,"timestamp":"3","port":-1,"version":4}"#;
        let b = BrokerInfo::decode(0, v4).unwrap();
        assert_eq!(b.endpoints[0].host, "");
        assert_eq!(b.endpoints[0].security_protocol, SecurityProtocol::SaslPlaintext);
        assert_eq!(b.rack.as_deref(), Some("x"));
        assert_eq!(b.jmx_port, 9999);
        // garbage never panics
        for junk in [&b""[..], b"{", b"[]", b"{\"version\":0}", b"{\"version\":2}", b"{\"version\":2,\"endpoints\":[\"X://h:1\"]}", b"\xff\xfe"] {
            assert!(BrokerInfo::decode(0, junk).is_err());
        }
    }

    #[test]
    fn topic_assignment_v3_and_older() {
        let mut a = TopicAssignment::default();
        a.partitions.insert(0, ReplicaAssignment { replicas: vec![4, 2, 3, 1], adding_replicas: vec![4], removing_replicas: vec![1] });
        a.partitions.insert(1, ReplicaAssignment::new(vec![2, 3, 1]));
        a.topic_id = uuid_from_string("s1Xq3lHnQ1ynP2c7y3yZgA");
        let s = String::from_utf8(a.encode()).unwrap();
        assert_eq!(
            s,
            r#"{"version":3,"partitions":{"0":[4,2,3,1],"1":[2,3,1]},"adding_replicas":{"0":[4]},"removing_replicas":{"0":[1]},"topic_id":"s1Xq3lHnQ1ynP2c7y3yZgA"}"#
        );
        assert_eq!(TopicAssignment::decode(s.as_bytes()).unwrap(), a);
        assert_eq!(a.partitions[&0].target_replicas(), vec![4, 2, 3]);
        assert_eq!(a.partitions[&0].original_replicas(), vec![2, 3, 1]);
        let fresh = TopicAssignment::from_replicas(None, &BTreeMap::from([(0, vec![1])]));
        assert_eq!(
            String::from_utf8(fresh.encode()).unwrap(),
            r#"{"version":3,"partitions":{"0":[1]},"adding_replicas":{},"removing_replicas":{}}"#
        );
        let v1 = br#"{"version":1,"partitions":{"1":[1,2],"0":[2,1]}}"#;
        let d = TopicAssignment::decode(v1).unwrap();
        assert_eq!(d.topic_id, None);
        assert_eq!(d.partitions[&1].replicas, vec![1, 2]);
        assert!(!d.partitions[&0].is_being_reassigned());
        let v2 = br#"{"version":2,"partitions":{"0":[1,2]},"adding_replicas":{},"removing_replicas":{}}"#;
        assert_eq!(TopicAssignment::decode(v2).unwrap().partitions.len(), 1);
        for junk in [&b"x"[..], b"{\"partitions\":{\"a\":[1]}}", b"{\"partitions\":{\"0\":[\"x\"]}}", b"{\"topic_id\":\"bad\",\"partitions\":{}}"] {
            assert!(TopicAssignment::decode(junk).is_err());
        }
    }

    #[test]
    fn partition_state() {
        let st = LeaderIsrAndControllerEpoch {
            leader_and_isr: LeaderAndIsr { leader: 1, leader_epoch: 12, isr: vec![1, 2, 3], zk_version: 4 },
            controller_epoch: 7,
        };
        let s = String::from_utf8(st.encode()).unwrap();
        assert_eq!(s, r#"{"controller_epoch":7,"leader":1,"version":1,"leader_epoch":12,"isr":[1,2,3]}"#);
        assert_eq!(LeaderIsrAndControllerEpoch::decode(s.as_bytes(), 4).unwrap(), st);
        let kafka = br#"{"controller_epoch":1,"leader":-1,"version":1,"leader_epoch":3,"isr":[2]}"#;
        assert_eq!(LeaderIsrAndControllerEpoch::decode(kafka, 0).unwrap().leader_and_isr.leader, -1);
        assert!(LeaderIsrAndControllerEpoch::decode(b"{\"leader\":1}", 0).is_err());
        let next = st.leader_and_isr.new_leader_and_isr(2, vec![2, 3]);
        assert_eq!((next.leader_epoch, next.zk_version), (13, 4));
    }

    #[test]
    fn controller_cluster_config_notifications() {
        assert_eq!(encode_controller(2, 1620000000000), br#"{"version":1,"brokerid":2,"timestamp":"1620000000000"}"#.to_vec());
        assert_eq!(decode_controller(br#"{"version":1,"brokerid":2,"timestamp":"1620000000000"}"#).unwrap(), 2);
        assert!(decode_controller(b"2x").is_err());
        assert_eq!(decode_controller_epoch(b"7").unwrap(), 7);
        assert!(decode_controller_epoch(b"seven").is_err());
        assert_eq!(encode_cluster_id("abc"), br#"{"version":"1","id":"abc"}"#.to_vec());
        assert_eq!(decode_cluster_id(br#"{"version":"1","id":"MkU3OEVBNTcwNTJENDM2Qk"}"#).unwrap(), "MkU3OEVBNTcwNTJENDM2Qk");
        let cfg = BTreeMap::from([("cleanup.policy".to_string(), "compact".to_string()), ("retention.ms".to_string(), "86400000".to_string())]);
        assert_eq!(
            String::from_utf8(encode_entity_config(&cfg)).unwrap(),
            r#"{"version":1,"config":{"cleanup.policy":"compact","retention.ms":"86400000"}}"#
        );
        let back = decode_entity_config(&encode_entity_config(&cfg)).unwrap();
        assert_eq!(back.get("retention.ms").map(String::as_str), Some("86400000"));
        assert!(decode_entity_config(b"").unwrap().is_empty());
        assert!(decode_entity_config(b"{\"config\":3}").is_err());
        assert_eq!(encode_config_change_notification("topics/foo"), br#"{"version":2,"entity_path":"topics/foo"}"#.to_vec());
        let tps = vec![("foo".to_string(), 0), ("bar".to_string(), 3)];
        let n = encode_isr_change_notification(&tps);
        assert_eq!(n, br#"{"version":1,"partitions":[{"partition":0,"topic":"foo"},{"partition":3,"topic":"bar"}]}"#.to_vec());
        assert_eq!(decode_isr_change_notification(&n).unwrap(), tps);
        assert!(decode_isr_change_notification(b"{\"partitions\":[{\"topic\":1}]}").is_err());
    }
}
