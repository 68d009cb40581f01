//! AdminZkClient: topic administration straight through ZooKeeper (Kafka's
//! `kafka.zk.AdminZkClient`, the `kafka.admin.AdminUtils` replica placement and
//! `org.apache.kafka.common.internals.Topic` name rules). Used by the
//! CreateTopics handler, Metadata auto-creation and `kafka-topics --zookeeper`.

use super::kafka_zk_client::{KafkaZkClient, ZkError};
use super::zk_data::{delete_topic_path, random_uuid, TopicAssignment};
use crate::protocol::error as codes;
use crate::protocol::ErrorCode;
use log::info;
use rand::Rng;
use std::collections::BTreeMap;
use std::fmt;

/// Longest legal topic name.
pub const MAX_TOPIC_NAME_LENGTH: usize = 249;

/// Why a topic could not be created; `error_code` gives the Kafka error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminError {
    TopicAlreadyExists(String),
    InvalidTopic(String),
    InvalidPartitions(String),
    InvalidReplicationFactor(String),
    InvalidReplicaAssignment(String),
    InvalidConfig(String),
    /// Kafka's `UnknownTopicOrPartitionException`.
    UnknownTopicOrPartition(String),
    /// Kafka's `ReassignmentInProgressException`.
    ReassignmentInProgress(String),
    /// Kafka's `BrokerNotAvailableException`.
    BrokerNotAvailable(String),
    /// Kafka's `TopicAlreadyMarkedForDeletionException` (not an API error).
    TopicAlreadyMarkedForDeletion(String),
    /// Kafka's `AdminOperationException` (UNKNOWN_SERVER_ERROR on the wire).
    AdminOperation(String),
    /// Kafka's `InvalidRequestException`.
    InvalidRequest(String),
    /// This broker is not the active controller.
    NotController,
    Zk(ZkError),
}

impl AdminError {
    pub fn error_code(&self) -> ErrorCode {
        match self {
            AdminError::TopicAlreadyExists(_) => codes::TOPIC_ALREADY_EXISTS,
            AdminError::InvalidTopic(_) => codes::INVALID_TOPIC_EXCEPTION,
            AdminError::InvalidPartitions(_) => codes::INVALID_PARTITIONS,
            AdminError::InvalidReplicationFactor(_) => codes::INVALID_REPLICATION_FACTOR,
            AdminError::InvalidReplicaAssignment(_) => codes::INVALID_REPLICA_ASSIGNMENT,
            AdminError::InvalidConfig(_) => codes::INVALID_CONFIG,
            AdminError::UnknownTopicOrPartition(_) => codes::UNKNOWN_TOPIC_OR_PARTITION,
            AdminError::ReassignmentInProgress(_) => codes::REASSIGNMENT_IN_PROGRESS,
            AdminError::BrokerNotAvailable(_) => codes::BROKER_NOT_AVAILABLE,
            AdminError::InvalidRequest(_) => codes::INVALID_REQUEST,
            AdminError::NotController => codes::NOT_CONTROLLER,
            AdminError::TopicAlreadyMarkedForDeletion(_) | AdminError::AdminOperation(_) | AdminError::Zk(_) => {
                codes::UNKNOWN_SERVER_ERROR
            }
        }
    }

    /// The human-readable message (CreateTopics `ErrorMessage`).
    pub fn message(&self) -> String {
        match self {
            AdminError::TopicAlreadyExists(m)
            | AdminError::InvalidTopic(m)
            | AdminError::InvalidPartitions(m)
            | AdminError::InvalidReplicationFactor(m)
            | AdminError::InvalidReplicaAssignment(m)
            | AdminError::InvalidConfig(m)
            | AdminError::UnknownTopicOrPartition(m)
            | AdminError::ReassignmentInProgress(m)
            | AdminError::BrokerNotAvailable(m)
            | AdminError::TopicAlreadyMarkedForDeletion(m)
            | AdminError::AdminOperation(m)
            | AdminError::InvalidRequest(m) => m.clone(),
            AdminError::NotController => "This is not the correct controller for this cluster.".into(),
            AdminError::Zk(e) => e.to_string(),
        }
    }
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message())
    }
}

impl std::error::Error for AdminError {}

impl From<ZkError> for AdminError {
    fn from(e: ZkError) -> Self {
        AdminError::Zk(e)
    }
}

type Result<T> = std::result::Result<T, AdminError>;

/// Kafka's `Topic.validate`: non-empty, not "." or "..", at most 249 chars of `[a-zA-Z0-9._-]`.
pub fn validate_topic_name(topic: &str) -> Result<()> {
    if topic.is_empty() {
        return Err(AdminError::InvalidTopic("Topic name is illegal, it can't be empty".into()));
    }
    if topic == "." || topic == ".." {
        return Err(AdminError::InvalidTopic("Topic name cannot be \".\" or \"..\"".into()));
    }
    if topic.len() > MAX_TOPIC_NAME_LENGTH {
        return Err(AdminError::InvalidTopic(format!(
            "Topic name is illegal, it can't be longer than {MAX_TOPIC_NAME_LENGTH} characters, topic name: {topic}"
        )));
    }
    if !topic.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-') {
        return Err(AdminError::InvalidTopic(format!(
            "Topic name \"{topic}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        )));
    }
    Ok(())
}

/// Kafka's `Topic.hasCollisionChars`.
pub fn has_collision_chars(topic: &str) -> bool {
    topic.contains('.') || topic.contains('_')
}

/// Kafka's `Topic.hasCollision`: equal once '.' is read as '_'.
pub fn has_collision(a: &str, b: &str) -> bool {
    a.replace('.', "_") == b.replace('.', "_")
}

/// A broker as replica placement sees it (Kafka's `kafka.admin.BrokerMetadata`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BrokerMetadata {
    pub id: i32,
    pub rack: Option<String>,
}

impl BrokerMetadata {
    pub fn new(id: i32, rack: Option<&str>) -> Self {
        BrokerMetadata { id, rack: rack.map(str::to_string) }
    }

    /// Brokers without rack information (rack-unaware placement).
    pub fn without_racks(ids: &[i32]) -> Vec<BrokerMetadata> {
        ids.iter().map(|id| BrokerMetadata { id: *id, rack: None }).collect()
    }
}

/// Kafka's `RackAwareMode`: whether placement honours `broker.rack`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RackAwareMode {
    /// Ignore racks (`--disable-rack-aware`).
    Disabled,
    /// Use racks; refuse when only some brokers have one (the default).
    #[default]
    Enforced,
    /// Use racks when every broker has one, otherwise ignore them.
    Safe,
}

/// Kafka's `AdminZkClient.getBrokerMetadatas` over already-read brokers:
/// restricted to `broker_list` when given, racks kept or dropped by `mode`,
/// sorted by id. `Enforced` with racks on only some brokers is an error.
pub fn broker_metadatas_for_mode(
    all: &[BrokerMetadata],
    mode: RackAwareMode,
    broker_list: Option<&[i32]>,
) -> Result<Vec<BrokerMetadata>> {
    let brokers: Vec<&BrokerMetadata> = all.iter().filter(|b| broker_list.is_none_or(|l| l.contains(&b.id))).collect();
    let with_rack = brokers.iter().filter(|b| b.rack.is_some()).count();
    if mode == RackAwareMode::Enforced && with_rack > 0 && with_rack < brokers.len() {
        return Err(AdminError::AdminOperation(
            "Not all brokers have rack information. Add --disable-rack-aware in command line to make replica assignment without rack information.".into(),
        ));
    }
    let keep_racks = match mode {
        RackAwareMode::Disabled => false,
        RackAwareMode::Safe => with_rack == brokers.len(),
        RackAwareMode::Enforced => true,
    };
    let mut out: Vec<BrokerMetadata> = brokers
        .into_iter()
        .map(|b| BrokerMetadata { id: b.id, rack: if keep_racks { b.rack.clone() } else { None } })
        .collect();
    out.sort_by_key(|b| b.id);
    Ok(out)
}

/// Kafka's `AdminUtils.assignReplicasToBrokers`. Brokers in the order to use
/// (the callers sort them by id). Without racks: the first replica of each
/// partition round-robin from a start index, the others at an increasing
/// shift. When every broker has a rack the same runs over the
/// rack-alternated broker list and skips, for the followers, brokers whose
/// rack (or which broker) already holds a replica while another rack (or
/// broker) has none. Racks on only some brokers is an error.
/// `fixed_start_index` fixes both the start index and the shift (tests and
/// added partitions), otherwise both are random; numbering starts at
/// `start_partition_id` (negative means 0).
pub fn assign_replicas_to_brokers(
    brokers: &[BrokerMetadata],
    n_partitions: i32,
    replication_factor: i32,
    fixed_start_index: Option<usize>,
    start_partition_id: i32,
) -> Result<BTreeMap<i32, Vec<i32>>> {
    if n_partitions <= 0 {
        return Err(AdminError::InvalidPartitions("Number of partitions must be larger than 0.".into()));
    }
    if replication_factor <= 0 {
        return Err(AdminError::InvalidReplicationFactor("Replication factor must be larger than 0.".into()));
    }
    let n = brokers.len();
    if replication_factor as usize > n {
        return Err(AdminError::InvalidReplicationFactor(format!(
            "Replication factor: {replication_factor} larger than available brokers: {n}."
        )));
    }
    if brokers.iter().all(|b| b.rack.is_none()) {
        let ids: Vec<i32> = brokers.iter().map(|b| b.id).collect();
        return Ok(assign_rack_unaware(&ids, n_partitions, replication_factor as usize, fixed_start_index, start_partition_id));
    }
    if brokers.iter().any(|b| b.rack.is_none()) {
        return Err(AdminError::AdminOperation(
            "Not all brokers have rack information for replica rack aware assignment.".into(),
        ));
    }
    assign_rack_aware(brokers, n_partitions, replication_factor as usize, fixed_start_index, start_partition_id)
}

/// The start index and the initial shift: fixed, or random below `n`.
fn start_and_shift(fixed_start_index: Option<usize>, n: usize) -> (usize, usize) {
    match fixed_start_index {
        Some(i) => (i, i),
        None => {
            let mut rng = rand::thread_rng();
            (rng.gen_range(0..n), rng.gen_range(0..n))
        }
    }
}

/// Kafka's `AdminUtils.replicaIndex`: the position of a follower, never the
/// first replica's own position.
fn replica_index(first_replica_index: usize, second_replica_shift: usize, replica_index: usize, n: usize) -> usize {
    let shift = 1 + (second_replica_shift + replica_index) % (n - 1);
    (first_replica_index + shift) % n
}

fn assign_rack_unaware(
    broker_ids: &[i32],
    n_partitions: i32,
    replication_factor: usize,
    fixed_start_index: Option<usize>,
    start_partition_id: i32,
) -> BTreeMap<i32, Vec<i32>> {
    let n = broker_ids.len();
    let (start_index, mut shift) = start_and_shift(fixed_start_index, n);
    let mut out = BTreeMap::new();
    let mut partition = start_partition_id.max(0);
    for _ in 0..n_partitions {
        if partition > 0 && (partition as usize) % n == 0 {
            shift += 1;
        }
        let first = (partition as usize + start_index) % n;
        let mut replicas = vec![broker_ids[first]];
        for j in 0..replication_factor - 1 {
            replicas.push(broker_ids[replica_index(first, shift, j, n)]);
        }
        out.insert(partition, replicas);
        partition += 1;
    }
    out
}

/// Kafka's `AdminUtils.getRackAlternatedBrokerList`: racks in name order, each
/// rack's brokers in id order, taking one broker from each rack in turn
/// (a rack that ran out is skipped).
pub fn rack_alternated_broker_list(broker_racks: &BTreeMap<i32, String>) -> Vec<i32> {
    let mut by_rack: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (id, rack) in broker_racks {
        by_rack.entry(rack.as_str()).or_default().push(*id); // ids ascend (BTreeMap order)
    }
    let columns: Vec<&Vec<i32>> = by_rack.values().collect();
    let mut out = Vec::with_capacity(broker_racks.len());
    let deepest = columns.iter().map(|c| c.len()).max().unwrap_or(0);
    for row in 0..deepest {
        for c in &columns {
            if let Some(id) = c.get(row) {
                out.push(*id);
            }
        }
    }
    out
}

fn assign_rack_aware(
    brokers: &[BrokerMetadata],
    n_partitions: i32,
    replication_factor: usize,
    fixed_start_index: Option<usize>,
    start_partition_id: i32,
) -> Result<BTreeMap<i32, Vec<i32>>> {
    let rack_of: BTreeMap<i32, String> =
        brokers.iter().filter_map(|b| b.rack.clone().map(|r| (b.id, r))).collect();
    let num_racks = rack_of.values().collect::<std::collections::BTreeSet<_>>().len();
    let arranged = rack_alternated_broker_list(&rack_of);
    let n = arranged.len();
    if replication_factor > n {
        return Err(AdminError::InvalidReplicationFactor(format!(
            "Replication factor: {replication_factor} larger than available brokers: {n}."
        )));
    }
    let (start_index, mut shift) = start_and_shift(fixed_start_index, n);
    let mut out = BTreeMap::new();
    let mut partition = start_partition_id.max(0);
    for _ in 0..n_partitions {
        if partition > 0 && (partition as usize) % n == 0 {
            shift += 1;
        }
        let first = (partition as usize + start_index) % n;
        let leader = arranged[first];
        let mut replicas = vec![leader];
        let mut racks_with_replicas = std::collections::BTreeSet::from([rack_of[&leader].as_str()]);
        let mut brokers_with_replicas = std::collections::BTreeSet::from([leader]);
        let mut k = 0usize;
        for _ in 0..replication_factor - 1 {
            // Every follower is found within one pass over the other n-1
            // positions; the bound only guards against a logic error.
            let mut placed = false;
            for _ in 0..2 * n {
                let broker = arranged[replica_index(first, shift * num_racks, k, n)];
                let rack = rack_of[&broker].as_str();
                k += 1;
                let rack_ok = !racks_with_replicas.contains(rack) || racks_with_replicas.len() == num_racks;
                let broker_ok = !brokers_with_replicas.contains(&broker) || brokers_with_replicas.len() == n;
                if rack_ok && broker_ok {
                    replicas.push(broker);
                    racks_with_replicas.insert(rack);
                    brokers_with_replicas.insert(broker);
                    placed = true;
                    break;
                }
            }
            if !placed {
                return Err(AdminError::AdminOperation(format!("Cannot place replicas of partition {partition} on distinct brokers")));
            }
        }
        out.insert(partition, replicas);
        partition += 1;
    }
    Ok(out)
}

/// Kafka's `AdminZkClient.createNewPartitionsAssignment`: the replicas of the
/// partitions to add so that `topic` has `num_partitions`. Without `manual`
/// they are placed as at creation, with the replication factor of partition
/// 0 and a fixed start index: the position of the first broker whose id is
/// at least partition 0's first replica, numbering on from the current count
/// (so the new partitions continue the topic's round-robin). `manual` (keyed
/// by new partition id) must name only `brokers`, without duplicates, with
/// partition 0's replication factor.
pub fn new_partitions_assignment(
    topic: &str,
    existing: &BTreeMap<i32, Vec<i32>>,
    brokers: &[BrokerMetadata],
    num_partitions: i32,
    manual: Option<BTreeMap<i32, Vec<i32>>>,
) -> Result<BTreeMap<i32, Vec<i32>>> {
    let Some(partition0) = existing.get(&0).filter(|r| !r.is_empty()) else {
        return Err(AdminError::AdminOperation(format!(
            "Unexpected existing replica assignment for topic '{topic}', partition id 0 is missing. Assignment: {existing:?}"
        )));
    };
    let current = existing.len() as i32;
    if num_partitions - current <= 0 {
        return Err(AdminError::InvalidPartitions(format!(
            "The number of partitions for a topic can only be increased. Topic {topic} currently has {current} partitions, {num_partitions} would not be an increase."
        )));
    }
    if let Some(manual) = manual {
        // Kafka's ZooKeeper path writes whatever it is given; a short list
        // would leave the topic below the count asked for, so the broker
        // path's check applies here too.
        let wanted: Vec<i32> = (current..num_partitions).collect();
        if manual.keys().copied().collect::<Vec<_>>() != wanted {
            return Err(AdminError::InvalidReplicaAssignment(format!(
                "Increasing the number of partitions by {} but {} assignments provided.",
                num_partitions - current,
                manual.len()
            )));
        }
        let available: std::collections::BTreeSet<i32> = brokers.iter().map(|b| b.id).collect();
        let rf = partition0.len();
        for (p, replicas) in &manual {
            if replicas.is_empty() {
                return Err(AdminError::InvalidReplicaAssignment(format!(
                    "Cannot have replication factor of 0 for partition id {p}."
                )));
            }
            let distinct: std::collections::BTreeSet<i32> = replicas.iter().copied().collect();
            if distinct.len() != replicas.len() {
                return Err(AdminError::InvalidReplicaAssignment(format!(
                    "Duplicate brokers not allowed in replica assignment: {} for partition id {p}.",
                    join_ids(replicas, ", ")
                )));
            }
            if !distinct.is_subset(&available) {
                return Err(AdminError::BrokerNotAvailable(format!(
                    "Some brokers specified for partition id {p} are not available. Specified brokers: {}, available brokers: {}.",
                    join_ids(replicas, ", "),
                    join_ids(&available.iter().copied().collect::<Vec<_>>(), ", ")
                )));
            }
        }
        let bad: Vec<(i32, usize)> = manual.iter().filter(|(_, r)| r.len() != rf).map(|(p, r)| (*p, r.len())).collect();
        if !bad.is_empty() {
            return Err(AdminError::InvalidReplicaAssignment(format!(
                "Inconsistent replication factor between partitions, partition 0 has {rf} while partitions [{}] have replication factors [{}], respectively.",
                bad.iter().map(|(p, _)| p.to_string()).collect::<Vec<_>>().join(", "),
                bad.iter().map(|(_, n)| n.to_string()).collect::<Vec<_>>().join(", ")
            )));
        }
        return Ok(manual);
    }
    let start_index = brokers.iter().position(|b| b.id >= partition0[0]).unwrap_or(0);
    assign_replicas_to_brokers(brokers, num_partitions - current, partition0.len() as i32, Some(start_index), current)
}

/// The checks the CreatePartitions handler makes before placement (Kafka's
/// `ZkAdminManager.createPartitions`), with its messages: the topic exists
/// and is not being reassigned, the count grows, a manual assignment names
/// known brokers and one replica list per new partition. Returns the manual
/// assignment keyed by new partition id.
pub fn check_create_partitions(
    topic: &str,
    existing: Option<&crate::zk::TopicAssignment>,
    all_broker_ids: &[i32],
    count: i32,
    assignments: Option<&[Vec<i32>]>,
) -> Result<Option<BTreeMap<i32, Vec<i32>>>> {
    let Some(existing) = existing.filter(|a| !a.partitions.is_empty()) else {
        return Err(AdminError::UnknownTopicOrPartition(format!("The topic '{topic}' does not exist.")));
    };
    if existing.partitions.values().any(|a| a.is_being_reassigned()) {
        return Err(AdminError::ReassignmentInProgress(format!(
            "A partition reassignment is in progress for the topic '{topic}'."
        )));
    }
    let old = existing.partitions.len() as i32;
    let increment = count - old;
    if increment < 0 {
        return Err(AdminError::InvalidPartitions(format!(
            "Topic currently has {old} partitions, which is higher than the requested {count}."
        )));
    }
    if increment == 0 {
        return Err(AdminError::InvalidPartitions(format!("Topic already has {old} partitions.")));
    }
    let Some(assignments) = assignments else { return Ok(None) };
    let unknown: std::collections::BTreeSet<i32> =
        assignments.iter().flatten().copied().filter(|b| !all_broker_ids.contains(b)).collect();
    if !unknown.is_empty() {
        return Err(AdminError::InvalidReplicaAssignment(format!(
            "Unknown broker(s) in replica assignment: {}.",
            join_ids(&unknown.into_iter().collect::<Vec<_>>(), ", ")
        )));
    }
    if assignments.len() as i32 != increment {
        return Err(AdminError::InvalidReplicaAssignment(format!(
            "Increasing the number of partitions by {increment} but {} assignments provided.",
            assignments.len()
        )));
    }
    Ok(Some(assignments.iter().enumerate().map(|(i, r)| (old + i as i32, r.clone())).collect()))
}

fn join_ids(ids: &[i32], sep: &str) -> String {
    ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(sep)
}

/// Structural checks of an assignment (Kafka's `validateTopicCreate` part).
pub fn validate_replica_assignment(assignment: &BTreeMap<i32, Vec<i32>>) -> Result<()> {
    let mut sizes: Vec<usize> = assignment.values().map(Vec::len).collect();
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.len() != 1 {
        return Err(AdminError::InvalidReplicaAssignment("All partitions should have the same number of replicas".into()));
    }
    if sizes[0] == 0 {
        return Err(AdminError::InvalidReplicaAssignment("Replica assignment must not be empty".into()));
    }
    for replicas in assignment.values() {
        let mut sorted = replicas.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != replicas.len() {
            return Err(AdminError::InvalidReplicaAssignment(format!("Duplicate replica assignment found: {replicas:?}")));
        }
        if replicas.iter().any(|r| *r < 0) {
            return Err(AdminError::InvalidReplicaAssignment(format!("Invalid broker id in replica assignment: {replicas:?}")));
        }
    }
    let expected: Vec<i32> = (0..assignment.len() as i32).collect();
    if assignment.keys().copied().collect::<Vec<_>>() != expected {
        return Err(AdminError::InvalidReplicaAssignment("partitions should be a consecutive 0-based integer sequence".into()));
    }
    Ok(())
}

enum ConfigType {
    Long(i64),
    Int(i64),
    Bool,
    Ratio,
    OneOf(&'static [&'static str]),
    ListOf(&'static [&'static str]),
    ThrottledReplicas,
    Text,
}

/// Topic-level configs of Kafka 2.8 (`LogConfig`) and their value rules.
fn topic_config_type(name: &str) -> Option<ConfigType> {
    use ConfigType::*;
    Some(match name {
        "cleanup.policy" => ListOf(&["compact", "delete"]),
        "compression.type" => OneOf(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]),
        "message.timestamp.type" => OneOf(&["CreateTime", "LogAppendTime"]),
        "delete.retention.ms" | "file.delete.delay.ms" | "flush.ms" | "max.compaction.lag.ms" | "min.compaction.lag.ms"
        | "segment.jitter.ms" | "message.timestamp.difference.max.ms" => Long(0),
        "segment.ms" | "flush.messages" => Long(1),
        "retention.ms" | "retention.bytes" => Long(-1),
        "segment.bytes" => Int(14),
        "index.interval.bytes" | "max.message.bytes" => Int(0),
        "segment.index.bytes" => Int(4),
        "min.insync.replicas" => Int(1),
        "preallocate" | "unclean.leader.election.enable" | "message.downconversion.enable" => Bool,
        "min.cleanable.dirty.ratio" => Ratio,
        LEADER_THROTTLED_REPLICAS | FOLLOWER_THROTTLED_REPLICAS => ThrottledReplicas,
        "message.format.version" => Text,
        _ => return None,
    })
}

/// Topic key: replicas whose leader side is throttled (`partition:broker,...` or `*`).
pub const LEADER_THROTTLED_REPLICAS: &str = "leader.replication.throttled.replicas";
/// Topic key: replicas whose follower side is throttled (`partition:broker,...` or `*`).
pub const FOLLOWER_THROTTLED_REPLICAS: &str = "follower.replication.throttled.replicas";
/// Broker key (dynamic only): leader-side replication throttle, bytes/s.
pub const LEADER_THROTTLED_RATE: &str = "leader.replication.throttled.rate";
/// Broker key (dynamic only): follower-side replication throttle, bytes/s.
pub const FOLLOWER_THROTTLED_RATE: &str = "follower.replication.throttled.rate";
/// Broker key (dynamic only): bound on moving replicas between log dirs, bytes/s.
pub const ALTER_LOG_DIRS_IO_MAX_BYTES_PER_SECOND: &str = "replica.alter.log.dirs.io.max.bytes.per.second";
/// The broker keys that only exist as dynamic configs (Kafka's `DynamicConfig.Broker`).
pub const DYNAMIC_BROKER_QUOTA_KEYS: [&str; 3] =
    [LEADER_THROTTLED_RATE, FOLLOWER_THROTTLED_RATE, ALTER_LOG_DIRS_IO_MAX_BYTES_PER_SECOND];
/// The name of the cluster-wide default broker entity (`/config/brokers/<default>`).
pub const DEFAULT_ENTITY_NAME: &str = "<default>";

/// Kafka's `ThrottledReplicaListValidator`: `*`, or comma-separated entries
/// each empty or `<digits>:<digits>` (surrounding blanks ignored).
pub fn is_valid_throttled_replica_list(value: &str) -> bool {
    let entries: Vec<&str> = value.split(',').map(str::trim).collect();
    let entry_ok = |e: &str| {
        e.is_empty()
            || e.split_once(':').is_some_and(|(p, b)| {
                !p.is_empty() && !b.is_empty() && p.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit())
            })
    };
    entries.iter().all(|e| entry_ok(e)) || entries.concat().trim() == "*"
}

/// Kafka's `DynamicConfig.Broker.validate` as used by `AdminZkClient`: custom
/// keys are allowed, the three quota keys must be LONGs of at least 0.
pub fn validate_broker_configs(configs: &BTreeMap<String, String>) -> Result<()> {
    for (name, value) in configs {
        if DYNAMIC_BROKER_QUOTA_KEYS.contains(&name.as_str()) {
            match value.trim().parse::<i64>() {
                Ok(x) if x >= 0 => {}
                Ok(_) => {
                    return Err(AdminError::InvalidConfig(format!(
                        "Invalid value {value} for configuration {name}: Value must be at least 0"
                    )))
                }
                Err(_) => {
                    return Err(AdminError::InvalidConfig(format!(
                        "Invalid value {value} for configuration {name}: Not a number of type LONG"
                    )))
                }
            }
        }
    }
    Ok(())
}

/// The client quota keys of Kafka's `DynamicConfig.Client` / `DynamicConfig.User`.
pub const CLIENT_QUOTA_KEYS: &[&str] = &["producer_byte_rate", "consumer_byte_rate", "request_percentage"];

/// Kafka's `DynamicConfig.Client.validate`: only the quota keys (else
/// `InvalidRequest("Unknown Dynamic Configuration: Set(k).")`, Kafka's
/// `require`), byte rates LONG, `request_percentage` DOUBLE.
pub fn validate_client_quota_configs(configs: &BTreeMap<String, String>) -> Result<()> {
    let unknown: Vec<&str> = configs.keys().map(String::as_str).filter(|k| !CLIENT_QUOTA_KEYS.contains(k)).collect();
    if !unknown.is_empty() {
        return Err(AdminError::InvalidRequest(format!("Unknown Dynamic Configuration: Set({}).", unknown.join(", "))));
    }
    for (name, value) in configs {
        let v = value.trim();
        let ok = if name == "request_percentage" { v.parse::<f64>().is_ok_and(f64::is_finite) } else { v.parse::<i64>().is_ok() };
        if !ok {
            let ty = if name == "request_percentage" { "DOUBLE" } else { "LONG" };
            return Err(AdminError::InvalidConfig(format!("Invalid value {value} for configuration {name}: Not a number of type {ty}")));
        }
    }
    Ok(())
}

/// Kafka's `LogConfig.validate` for topic overrides.
pub fn validate_topic_configs(configs: &BTreeMap<String, String>) -> Result<()> {
    for (name, value) in configs {
        let Some(ty) = topic_config_type(name) else {
            return Err(AdminError::InvalidConfig(format!("Unknown topic config name: {name}")));
        };
        let v = value.trim();
        let bad = |why: &str| Err(AdminError::InvalidConfig(format!("Invalid value {value} for configuration {name}: {why}")));
        match ty {
            ConfigType::Long(min) => match v.parse::<i64>() {
                Ok(x) if x >= min => {}
                Ok(_) => return bad(&format!("Value must be at least {min}")),
                Err(_) => return bad("Not a number of type LONG"),
            },
            ConfigType::Int(min) => match v.parse::<i32>() {
                Ok(x) if x as i64 >= min => {}
                Ok(_) => return bad(&format!("Value must be at least {min}")),
                Err(_) => return bad("Not a number of type INT"),
            },
            ConfigType::Bool => {
                if !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") {
                    return bad("Expected value to be either true or false");
                }
            }
            ConfigType::Ratio => match v.parse::<f64>() {
                Ok(x) if (0.0..=1.0).contains(&x) => {}
                Ok(_) => return bad("Value must be between 0 and 1"),
                Err(_) => return bad("Not a number of type DOUBLE"),
            },
            ConfigType::OneOf(allowed) => {
                if !allowed.contains(&v) {
                    return bad(&format!("String must be one of: {}", allowed.join(", ")));
                }
            }
            ConfigType::ListOf(allowed) => {
                for item in v.split(',').map(str::trim) {
                    if !allowed.contains(&item) {
                        return bad(&format!("Invalid value {item}; must be one of {}", allowed.join(", ")));
                    }
                }
            }
            ConfigType::ThrottledReplicas => {
                if !is_valid_throttled_replica_list(value) {
                    return bad(&format!(
                        "{name} must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],..."
                    ));
                }
            }
            ConfigType::Text => {}
        }
    }
    Ok(())
}

/// Kafka's `AdminZkClient`.
#[derive(Clone, Debug)]
pub struct AdminZkClient {
    zk: KafkaZkClient,
}

impl AdminZkClient {
    pub fn new(zk: KafkaZkClient) -> Self {
        AdminZkClient { zk }
    }

    pub fn zk(&self) -> &KafkaZkClient {
        &self.zk
    }

    /// Creates a topic: validates, places replicas over the registered brokers
    /// (sorted by id; racks used when every broker has one, Kafka's
    /// `RackAwareMode.Safe` of auto-creation) unless `assignment` is given
    /// (then `partitions` and `replication_factor` are ignored), writes
    /// `/config/topics/<t>`, then creates `/brokers/topics/<t>` with a new
    /// topic id. Returns the assignment.
    pub async fn create_topic(
        &self,
        topic: &str,
        partitions: i32,
        replication_factor: i32,
        configs: &BTreeMap<String, String>,
        assignment: Option<BTreeMap<i32, Vec<i32>>>,
    ) -> Result<BTreeMap<i32, Vec<i32>>> {
        self.create_topic_with_options(topic, partitions, replication_factor, configs, assignment, false).await
    }

    /// As `create_topic` with an explicit rack-awareness mode (`kafka-topics
    /// --zookeeper`: Enforced, or Disabled with `--disable-rack-aware`).
    pub async fn create_topic_with_mode(
        &self,
        topic: &str,
        partitions: i32,
        replication_factor: i32,
        configs: &BTreeMap<String, String>,
        assignment: Option<BTreeMap<i32, Vec<i32>>>,
        mode: RackAwareMode,
    ) -> Result<BTreeMap<i32, Vec<i32>>> {
        let brokers = if assignment.is_none() { self.get_broker_metadatas(mode, None).await? } else { Vec::new() };
        self.create_topic_on_brokers(topic, partitions, replication_factor, configs, assignment, &brokers, false).await
    }

    /// As `create_topic`; with `validate_only` nothing is written (CreateTopics `validateOnly`).
    pub async fn create_topic_with_options(
        &self,
        topic: &str,
        partitions: i32,
        replication_factor: i32,
        configs: &BTreeMap<String, String>,
        assignment: Option<BTreeMap<i32, Vec<i32>>>,
        validate_only: bool,
    ) -> Result<BTreeMap<i32, Vec<i32>>> {
        let brokers =
            if assignment.is_none() { self.get_broker_metadatas(RackAwareMode::Safe, None).await? } else { Vec::new() };
        self.create_topic_on_brokers(topic, partitions, replication_factor, configs, assignment, &brokers, validate_only)
            .await
    }

    /// Creates a topic placing replicas over the given brokers (the
    /// CreateTopics handler passes the live brokers of its metadata cache
    /// with their racks, as Kafka's `ZkAdminManager.createTopics`).
    #[allow(clippy::too_many_arguments)]
    pub async fn create_topic_on_brokers(
        &self,
        topic: &str,
        partitions: i32,
        replication_factor: i32,
        configs: &BTreeMap<String, String>,
        assignment: Option<BTreeMap<i32, Vec<i32>>>,
        brokers: &[BrokerMetadata],
        validate_only: bool,
    ) -> Result<BTreeMap<i32, Vec<i32>>> {
        validate_topic_name(topic)?;
        self.check_topic_does_not_exist(topic).await?;
        let assignment = match assignment {
            Some(a) => a,
            None => assign_replicas_to_brokers(brokers, partitions, replication_factor, None, 0)?,
        };
        validate_replica_assignment(&assignment)?;
        validate_topic_configs(configs)?;
        if validate_only {
            return Ok(assignment);
        }
        self.zk.set_or_create_entity_config("topics", topic, configs).await?;
        let znode = TopicAssignment::from_replicas(Some(random_uuid()), &assignment);
        match self.zk.create_topic_assignment(topic, &znode).await {
            Ok(()) => {}
            Err(ZkError::NodeExists(_)) => {
                return Err(AdminError::TopicAlreadyExists(format!("Topic '{topic}' already exists.")))
            }
            Err(e) => return Err(e.into()),
        }
        info!("Topic creation {topic} with assignment {assignment:?} and config {configs:?} written to ZooKeeper");
        Ok(assignment)
    }

    /// Exists, marked for deletion, or collides with an existing name ('.' vs '_').
    async fn check_topic_does_not_exist(&self, topic: &str) -> Result<()> {
        if self.zk.is_topic_marked_for_deletion(topic).await? {
            return Err(AdminError::TopicAlreadyExists(format!("Topic \"{topic}\" is marked for deletion.")));
        }
        if self.zk.topic_exists(topic).await? {
            return Err(AdminError::TopicAlreadyExists(format!("Topic '{topic}' already exists.")));
        }
        if has_collision_chars(topic) {
            let colliding: Vec<String> =
                self.zk.get_all_topics().await?.into_iter().filter(|t| has_collision(t, topic)).collect();
            if !colliding.is_empty() {
                return Err(AdminError::InvalidTopic(format!(
                    "Topic '{topic}' collides with existing topics: {}",
                    colliding.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Kafka's `getBrokerMetadatas`: the registered brokers (optionally only
    /// `broker_list`) with or without racks per `mode`, sorted by id.
    pub async fn get_broker_metadatas(&self, mode: RackAwareMode, broker_list: Option<&[i32]>) -> Result<Vec<BrokerMetadata>> {
        let all: Vec<BrokerMetadata> =
            self.zk.get_all_brokers().await?.into_iter().map(|b| BrokerMetadata { id: b.id, rack: b.rack }).collect();
        broker_metadatas_for_mode(&all, mode, broker_list)
    }

    /// Marks a topic for deletion (`/admin/delete_topics/<t>`); the controller
    /// does the rest. Kafka's `AdminZkClient.deleteTopic`: an unknown topic is
    /// UNKNOWN_TOPIC_OR_PARTITION, an existing marker
    /// `TopicAlreadyMarkedForDeletion` (callers decide whether that is fine).
    pub async fn delete_topic(&self, topic: &str) -> Result<()> {
        if !self.zk.topic_exists(topic).await? {
            return Err(AdminError::UnknownTopicOrPartition(format!("Topic `{topic}` to delete does not exist")));
        }
        match self.zk.create_recursive(&delete_topic_path(topic), &[]).await {
            Ok(()) => Ok(()),
            Err(ZkError::NodeExists(_)) => {
                Err(AdminError::TopicAlreadyMarkedForDeletion(format!("topic {topic} is already marked for deletion")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Kafka's `AdminZkClient.changeTopicConfig`: `configs` is the topic's whole
    /// new override map (replacing `/config/topics/<t>`), then a change
    /// notification `/config/changes/config_change_<seq>` names `topics/<t>`.
    /// Unknown topic → `UnknownTopicOrPartition`; bad keys/values → `InvalidConfig`.
    pub async fn change_topic_config(&self, topic: &str, configs: BTreeMap<String, String>) -> Result<()> {
        validate_topic_name(topic)?;
        if !self.zk.topic_exists(topic).await? {
            return Err(AdminError::UnknownTopicOrPartition(format!("Topic '{topic}' does not exist.")));
        }
        validate_topic_configs(&configs)?;
        self.change_entity_config("topics", topic, &configs).await
    }

    /// Kafka's `AdminZkClient.changeBrokerConfig(Option[Int], ...)`: replaces
    /// `/config/brokers/<id>` (or `/config/brokers/<default>` for `None`) with
    /// `configs`, then notifies `brokers/<id|<default>>`.
    pub async fn change_broker_config(&self, broker: Option<i32>, configs: BTreeMap<String, String>) -> Result<()> {
        validate_broker_configs(&configs)?;
        let name = broker.map(|b| b.to_string()).unwrap_or_else(|| DEFAULT_ENTITY_NAME.to_string());
        self.change_entity_config("brokers", &name, &configs).await
    }

    /// Kafka's `AdminZkClient.changeClientIdConfig` (`entity_type` "clients",
    /// `name` a sanitized client id or `<default>`) and
    /// `changeUserOrUserClientIdConfig` ("users", `name` = `<user>` or
    /// `<user>/clients/<client>`, sanitized): validates the quota keys
    /// (`validate_client_quota_configs`), replaces the znode and notifies
    /// `<entity_type>/<name>`.
    pub async fn change_client_quota_config(&self, entity_type: &str, name: &str, configs: BTreeMap<String, String>) -> Result<()> {
        if entity_type != "users" && entity_type != "clients" {
            return Err(AdminError::InvalidRequest(format!("Invalid entity type {entity_type}")));
        }
        // A user's SCRAM credentials live in the same znode (Kafka's
        // DynamicConfig.User accepts the ScramMechanism names too).
        let quota_keys: BTreeMap<String, String> = configs
            .iter()
            .filter(|(k, _)| entity_type != "users" || crate::security::scram::ScramMechanism::from_name(k).is_none())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        validate_client_quota_configs(&quota_keys)?;
        self.change_entity_config(entity_type, name, &configs).await
    }

    /// Kafka's `changeEntityConfig`: the config znode first, then the notification.
    async fn change_entity_config(&self, entity_type: &str, name: &str, configs: &BTreeMap<String, String>) -> Result<()> {
        self.zk.set_or_create_entity_config(entity_type, name, configs).await?;
        self.zk.create_config_change_notification(&format!("{entity_type}/{name}")).await?;
        info!("Changed {entity_type} config of {name} to {configs:?}");
        Ok(())
    }

    /// Kafka's `fetchEntityConfig`: `/config/<entity_type>/<name>` (empty if absent).
    pub async fn fetch_entity_config(&self, entity_type: &str, name: &str) -> Result<BTreeMap<String, String>> {
        Ok(self.zk.get_entity_config(entity_type, name).await?.into_iter().collect())
    }

    /// Kafka's `AdminZkClient.addPartitions` (the ZooKeeper part of
    /// CreatePartitions and `kafka-topics --alter --partitions`): places the
    /// partitions `current..num_partitions` (or takes `manual`, keyed by their
    /// new partition ids) and, unless `validate_only`, rewrites
    /// `/brokers/topics/<t>` with the existing partitions unchanged (topic id,
    /// adding/removing replicas kept) plus the new ones, guarded by the
    /// znode's version. The controller's watch on the znode creates the new
    /// partitions. Returns the whole new assignment.
    pub async fn add_partitions(
        &self,
        topic: &str,
        num_partitions: i32,
        manual: Option<BTreeMap<i32, Vec<i32>>>,
        brokers: &[BrokerMetadata],
        validate_only: bool,
    ) -> Result<BTreeMap<i32, Vec<i32>>> {
        // The znode's version guards the write; when someone else (the
        // controller adding a topic id, a reassignment) rewrote it in between,
        // read and decide again.
        for _ in 0..3 {
            let Some((mut znode, version)) = self.zk.get_topic_assignment_with_version(topic).await? else {
                return Err(AdminError::InvalidTopic(format!("The topic {topic} does not exist")));
            };
            let existing: BTreeMap<i32, Vec<i32>> =
                znode.partitions.iter().map(|(p, a)| (*p, a.replicas.clone())).collect();
            let new = new_partitions_assignment(topic, &existing, brokers, num_partitions, manual.clone())?;
            let mut all = existing;
            all.extend(new.iter().map(|(p, r)| (*p, r.clone())));
            if validate_only {
                return Ok(all);
            }
            info!("Creating {} partitions for '{topic}' with the following replica assignment: {new:?}.", new.len());
            for (p, r) in &new {
                znode.partitions.insert(*p, crate::zk::ReplicaAssignment::new(r.clone()));
            }
            let path = crate::zk::zk_data::topic_path(topic);
            match self.zk.conditional_set_data(&path, &znode.encode(), version).await {
                Ok(Some(_)) => return Ok(all),
                Ok(None) => continue,
                Err(ZkError::NoNode(_)) => return Err(AdminError::InvalidTopic(format!("The topic {topic} does not exist"))),
                Err(e) => return Err(AdminError::AdminOperation(e.to_string())),
            }
        }
        Err(AdminError::AdminOperation(format!(
            "The assignment of topic {topic} kept changing while partitions were being added; try again"
        )))
    }

    /// The topic's config overrides (`/config/topics/<t>`).
    pub async fn fetch_topic_config(&self, topic: &str) -> Result<std::collections::HashMap<String, String>> {
        Ok(self.zk.get_entity_config("topics", topic).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(ids: &[i32]) -> Vec<BrokerMetadata> {
        BrokerMetadata::without_racks(ids)
    }

    fn racked(m: &[(i32, &str)]) -> Vec<BrokerMetadata> {
        let mut v: Vec<BrokerMetadata> = m.iter().map(|(id, r)| BrokerMetadata::new(*id, Some(r))).collect();
        v.sort_by_key(|b| b.id);
        v
    }

    fn rack_map(m: &[(i32, &str)]) -> BTreeMap<i32, String> {
        m.iter().map(|(id, r)| (*id, r.to_string())).collect()
    }

    /// The rack of each replica of each partition.
    fn racks_of(a: &BTreeMap<i32, Vec<i32>>, m: &[(i32, &str)]) -> Vec<Vec<String>> {
        let racks = rack_map(m);
        a.values().map(|r| r.iter().map(|b| racks[b].clone()).collect()).collect()
    }

    // The example in the documentation of Kafka's AdminUtils.assignReplicasToBrokers.
    const DOC_RACKS: &[(i32, &str)] = &[(0, "rack1"), (1, "rack3"), (2, "rack3"), (3, "rack2"), (4, "rack2"), (5, "rack1")];

    #[test]
    fn rack_alternated_list_matches_kafka_documentation() {
        assert_eq!(rack_alternated_broker_list(&rack_map(DOC_RACKS)), vec![0, 3, 1, 5, 4, 2]);
        let without5: Vec<(i32, &str)> = DOC_RACKS.iter().copied().filter(|(id, _)| *id != 5).collect();
        assert_eq!(rack_alternated_broker_list(&rack_map(&without5)), vec![0, 3, 1, 4, 2]);
        assert_eq!(rack_alternated_broker_list(&BTreeMap::new()), Vec::<i32>::new());
    }

    #[test]
    fn rack_aware_assignment_matches_kafka_documentation() {
        // 6 partitions RF 3 round-robin over the alternated list, then
        // partition 6 starts shifting the followers: 0,4,2 instead of 0,3,1.
        let got = assign_replicas_to_brokers(&racked(DOC_RACKS), 7, 3, Some(0), 0).unwrap();
        let want: BTreeMap<i32, Vec<i32>> = [
            (0, vec![0, 3, 1]),
            (1, vec![3, 1, 5]),
            (2, vec![1, 5, 4]),
            (3, vec![5, 4, 2]),
            (4, vec![4, 2, 0]),
            (5, vec![2, 0, 3]),
            (6, vec![0, 4, 2]),
        ]
        .into_iter()
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn rack_aware_spreads_replicas_over_racks() {
        let m: &[(i32, &str)] = &[(0, "rack1"), (1, "rack2"), (2, "rack2"), (3, "rack3"), (4, "rack3"), (5, "rack1")];
        for (partitions, rf) in [(6, 3), (13, 3), (12, 2), (96, 3)] {
            for fixed in [None, Some(0), Some(3)] {
                let a = assign_replicas_to_brokers(&racked(m), partitions, rf, fixed, 0).unwrap();
                assert_eq!(a.len(), partitions as usize);
                for racks in racks_of(&a, m) {
                    let distinct: std::collections::BTreeSet<&String> = racks.iter().collect();
                    assert_eq!(distinct.len(), rf as usize, "{racks:?}");
                }
                for r in a.values() {
                    let d: std::collections::BTreeSet<i32> = r.iter().copied().collect();
                    assert_eq!(d.len(), r.len());
                }
            }
        }
        // Even racks and RF = #racks: leaders and replicas even over brokers.
        let a = assign_replicas_to_brokers(&racked(m), 6, 3, Some(0), 0).unwrap();
        let mut replicas_per_broker = BTreeMap::new();
        let mut leaders_per_broker = BTreeMap::new();
        for r in a.values() {
            *leaders_per_broker.entry(r[0]).or_insert(0) += 1;
            for b in r {
                *replicas_per_broker.entry(*b).or_insert(0) += 1;
            }
        }
        assert!(leaders_per_broker.values().all(|n| *n == 1), "{leaders_per_broker:?}");
        assert!(replicas_per_broker.values().all(|n| *n == 3), "{replicas_per_broker:?}");
        // More replicas than racks: every rack gets one, no broker twice.
        let m5: &[(i32, &str)] = &[(0, "rack1"), (1, "rack2"), (2, "rack2"), (3, "rack3"), (4, "rack3"), (5, "rack2")];
        let a = assign_replicas_to_brokers(&racked(m5), 6, 5, None, 0).unwrap();
        for racks in racks_of(&a, m5) {
            assert_eq!(racks.iter().collect::<std::collections::BTreeSet<_>>().len(), 3);
        }
        // A single rack degenerates to distinct brokers.
        let one: &[(i32, &str)] = &[(0, "r"), (1, "r"), (2, "r")];
        let a = assign_replicas_to_brokers(&racked(one), 3, 3, Some(0), 0).unwrap();
        assert!(a.values().all(|r| r.iter().collect::<std::collections::BTreeSet<_>>().len() == 3));
        // RF 1 with one broker needs no follower arithmetic.
        let a = assign_replicas_to_brokers(&racked(&[(7, "r")]), 2, 1, None, 0).unwrap();
        assert_eq!(a.values().cloned().collect::<Vec<_>>(), vec![vec![7], vec![7]]);
    }

    #[test]
    fn partial_rack_information_is_refused() {
        let mixed = vec![BrokerMetadata::new(1, Some("a")), BrokerMetadata::new(2, None), BrokerMetadata::new(3, Some("b"))];
        let e = assign_replicas_to_brokers(&mixed, 3, 2, None, 0).unwrap_err();
        assert_eq!(e.message(), "Not all brokers have rack information for replica rack aware assignment.");
        assert_eq!(e.error_code(), codes::UNKNOWN_SERVER_ERROR);
        let e = broker_metadatas_for_mode(&mixed, RackAwareMode::Enforced, None).unwrap_err();
        assert_eq!(
            e.message(),
            "Not all brokers have rack information. Add --disable-rack-aware in command line to make replica assignment without rack information."
        );
        let d = broker_metadatas_for_mode(&mixed, RackAwareMode::Disabled, None).unwrap();
        assert!(d.iter().all(|b| b.rack.is_none()));
        assert!(assign_replicas_to_brokers(&d, 3, 2, None, 0).is_ok());
        let s = broker_metadatas_for_mode(&mixed, RackAwareMode::Safe, None).unwrap();
        assert!(s.iter().all(|b| b.rack.is_none()));
        // Restricting to the racked brokers makes Enforced fine; output sorted by id.
        let r = broker_metadatas_for_mode(&mixed, RackAwareMode::Enforced, Some(&[3, 1])).unwrap();
        assert_eq!(r, vec![BrokerMetadata::new(1, Some("a")), BrokerMetadata::new(3, Some("b"))]);
        let all = racked(&[(2, "x"), (1, "y")]);
        assert_eq!(broker_metadatas_for_mode(&all, RackAwareMode::Safe, None).unwrap(), racked(&[(1, "y"), (2, "x")]));
    }

    #[test]
    fn added_partitions_continue_the_placement() {
        // Kafka's AddPartitionsTest: the new partitions continue the
        // round-robin from partition 0's leader, numbered on.
        let existing: BTreeMap<i32, Vec<i32>> = [(0, vec![1, 2]), (1, vec![2, 3]), (2, vec![3, 1])].into_iter().collect();
        let b = ids(&[1, 2, 3]);
        let new = new_partitions_assignment("t", &existing, &b, 5, None).unwrap();
        assert_eq!(new.keys().copied().collect::<Vec<_>>(), vec![3, 4]);
        assert_eq!(new, assign_replicas_to_brokers(&b, 2, 2, Some(0), 3).unwrap());
        assert!(new.values().all(|r| r.len() == 2));
        // Start index: the first broker with id >= partition 0's leader.
        let existing2: BTreeMap<i32, Vec<i32>> = [(0, vec![2, 3])].into_iter().collect();
        let new = new_partitions_assignment("t", &existing2, &b, 2, None).unwrap();
        assert_eq!(new, assign_replicas_to_brokers(&b, 1, 2, Some(1), 1).unwrap());
        // Racks honoured for the new partitions.
        let m: &[(i32, &str)] = &[(1, "a"), (2, "b"), (3, "a"), (4, "b")];
        let new = new_partitions_assignment("t", &existing, &racked(m), 9, None).unwrap();
        for racks in racks_of(&new, m) {
            assert_ne!(racks[0], racks[1]);
        }
        // Not an increase.
        for n in [3, 1] {
            let e = new_partitions_assignment("t", &existing, &b, n, None).unwrap_err();
            assert_eq!(e.error_code(), codes::INVALID_PARTITIONS);
            assert_eq!(
                e.message(),
                format!("The number of partitions for a topic can only be increased. Topic t currently has 3 partitions, {n} would not be an increase.")
            );
        }
        // Manual assignments.
        let ok: BTreeMap<i32, Vec<i32>> = [(3, vec![3, 1])].into_iter().collect();
        assert_eq!(new_partitions_assignment("t", &existing, &b, 4, Some(ok.clone())).unwrap(), ok);
        let cases: Vec<(BTreeMap<i32, Vec<i32>>, ErrorCode, &str)> = vec![
            ([(3, vec![])].into_iter().collect(), codes::INVALID_REPLICA_ASSIGNMENT, "Cannot have replication factor of 0 for partition id 3."),
            ([(3, vec![1, 1])].into_iter().collect(), codes::INVALID_REPLICA_ASSIGNMENT, "Duplicate brokers not allowed in replica assignment: 1, 1 for partition id 3."),
            ([(3, vec![1, 9])].into_iter().collect(), codes::BROKER_NOT_AVAILABLE, "Some brokers specified for partition id 3 are not available. Specified brokers: 1, 9, available brokers: 1, 2, 3."),
            ([(3, vec![1, 2, 3])].into_iter().collect(), codes::INVALID_REPLICA_ASSIGNMENT, "Inconsistent replication factor between partitions, partition 0 has 2 while partitions [3] have replication factors [3], respectively."),
        ];
        for (manual, code, msg) in cases {
            let e = new_partitions_assignment("t", &existing, &b, 4, Some(manual)).unwrap_err();
            assert_eq!((e.error_code(), e.message().as_str()), (code, msg));
        }
        let short: BTreeMap<i32, Vec<i32>> = [(3, vec![3, 1])].into_iter().collect();
        let e = new_partitions_assignment("t", &existing, &b, 5, Some(short)).unwrap_err();
        assert_eq!(e.message(), "Increasing the number of partitions by 2 but 1 assignments provided.");
        let e = new_partitions_assignment("t", &BTreeMap::new(), &b, 4, None).unwrap_err();
        assert_eq!(e.error_code(), codes::UNKNOWN_SERVER_ERROR);
    }

    #[test]
    fn create_partitions_request_checks() {
        let t = crate::zk::TopicAssignment::from_replicas(None, &[(0, vec![1, 2]), (1, vec![2, 1])].into_iter().collect());
        let brokers = [1, 2, 3];
        assert_eq!(check_create_partitions("t", Some(&t), &brokers, 4, None).unwrap(), None);
        let m = check_create_partitions("t", Some(&t), &brokers, 4, Some(&[vec![3, 1], vec![1, 2]])).unwrap().unwrap();
        assert_eq!(m, [(2, vec![3, 1]), (3, vec![1, 2])].into_iter().collect());
        let err = |e: AdminError| (e.error_code(), e.message());
        assert_eq!(
            err(check_create_partitions("t", None, &brokers, 4, None).unwrap_err()),
            (codes::UNKNOWN_TOPIC_OR_PARTITION, "The topic 't' does not exist.".to_string())
        );
        assert_eq!(
            err(check_create_partitions("t", Some(&t), &brokers, 1, None).unwrap_err()),
            (codes::INVALID_PARTITIONS, "Topic currently has 2 partitions, which is higher than the requested 1.".to_string())
        );
        assert_eq!(
            err(check_create_partitions("t", Some(&t), &brokers, 2, None).unwrap_err()),
            (codes::INVALID_PARTITIONS, "Topic already has 2 partitions.".to_string())
        );
        assert_eq!(
            err(check_create_partitions("t", Some(&t), &brokers, 3, Some(&[vec![4, 5]])).unwrap_err()),
            (codes::INVALID_REPLICA_ASSIGNMENT, "Unknown broker(s) in replica assignment: 4, 5.".to_string())
        );
        assert_eq!(
            err(check_create_partitions("t", Some(&t), &brokers, 4, Some(&[vec![3, 1]])).unwrap_err()),
            (codes::INVALID_REPLICA_ASSIGNMENT, "Increasing the number of partitions by 2 but 1 assignments provided.".to_string())
        );
        let mut moving = t.clone();
        moving.partitions.get_mut(&1).unwrap().adding_replicas = vec![3];
        assert_eq!(
            err(check_create_partitions("t", Some(&moving), &brokers, 4, None).unwrap_err()),
            (codes::REASSIGNMENT_IN_PROGRESS, "A partition reassignment is in progress for the topic 't'.".to_string())
        );
    }

    #[test]
    fn topic_names() {
        for ok in ["a", "foo.bar", "foo_bar-1", &"x".repeat(249)] {
            assert!(validate_topic_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "foo bar", "foo/bar", "ünï", &"x".repeat(250)] {
            assert_eq!(validate_topic_name(bad).unwrap_err().error_code(), codes::INVALID_TOPIC_EXCEPTION, "{bad}");
        }
        assert!(has_collision("foo.bar", "foo_bar"));
        assert!(!has_collision("foo.bar", "foobar"));
        assert!(has_collision_chars("a_b") && !has_collision_chars("ab"));
    }

    #[test]
    fn placement_matches_kafka_vector() {
        // AdminUtilsTest.testReplicaAssignment: 5 brokers, 10 partitions, RF 3, fixed start 0.
        let got = assign_replicas_to_brokers(&ids(&[0, 1, 2, 3, 4]), 10, 3, Some(0), 0).unwrap();
        let want: BTreeMap<i32, Vec<i32>> = [
            (0, vec![0, 1, 2]),
            (1, vec![1, 2, 3]),
            (2, vec![2, 3, 4]),
            (3, vec![3, 4, 0]),
            (4, vec![4, 0, 1]),
            (5, vec![0, 2, 3]),
            (6, vec![1, 3, 4]),
            (7, vec![2, 4, 0]),
            (8, vec![3, 0, 1]),
            (9, vec![4, 1, 2]),
        ]
        .into_iter()
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn placement_properties_and_errors() {
        for _ in 0..50 {
            let a = assign_replicas_to_brokers(&ids(&[1, 2, 3]), 7, 3, None, 0).unwrap();
            assert_eq!(a.len(), 7);
            assert!(validate_replica_assignment(&a).is_ok());
            let a = assign_replicas_to_brokers(&ids(&[5]), 3, 1, None, 0).unwrap();
            assert!(a.values().all(|r| r == &vec![5]));
        }
        // leaders spread evenly with a fixed start
        let a = assign_replicas_to_brokers(&ids(&[1, 2, 3]), 6, 2, Some(1), 0).unwrap();
        let leaders: Vec<i32> = a.values().map(|r| r[0]).collect();
        assert_eq!(leaders, vec![2, 3, 1, 2, 3, 1]);
        let a = assign_replicas_to_brokers(&ids(&[1, 2, 3]), 2, 1, Some(0), 3).unwrap();
        assert_eq!(a.keys().copied().collect::<Vec<_>>(), vec![3, 4]);
        assert_eq!(assign_replicas_to_brokers(&ids(&[1]), 0, 1, None, 0).unwrap_err().error_code(), codes::INVALID_PARTITIONS);
        assert_eq!(assign_replicas_to_brokers(&ids(&[1]), 1, 0, None, 0).unwrap_err().error_code(), codes::INVALID_REPLICATION_FACTOR);
        let e = assign_replicas_to_brokers(&ids(&[1, 2]), 1, 3, None, 0).unwrap_err();
        assert_eq!(e.error_code(), codes::INVALID_REPLICATION_FACTOR);
        assert_eq!(e.message(), "Replication factor: 3 larger than available brokers: 2.");
        assert_eq!(assign_replicas_to_brokers(&ids(&[]), 1, 1, None, 0).unwrap_err().error_code(), codes::INVALID_REPLICATION_FACTOR);
    }

    #[test]
    fn explicit_assignment_checks() {
        let ok: BTreeMap<i32, Vec<i32>> = [(0, vec![1, 2]), (1, vec![2, 1])].into_iter().collect();
        assert!(validate_replica_assignment(&ok).is_ok());
        let cases: Vec<BTreeMap<i32, Vec<i32>>> = vec![
            BTreeMap::new(),
            [(0, vec![1, 2]), (1, vec![2])].into_iter().collect(),
            [(0, vec![1, 1])].into_iter().collect(),
            [(0, vec![1]), (2, vec![2])].into_iter().collect(),
            [(1, vec![1])].into_iter().collect(),
            [(0, vec![])].into_iter().collect(),
            [(0, vec![-1])].into_iter().collect(),
        ];
        for c in cases {
            assert_eq!(validate_replica_assignment(&c).unwrap_err().error_code(), codes::INVALID_REPLICA_ASSIGNMENT, "{c:?}");
        }
    }

    #[test]
    fn topic_config_validation() {
        let ok: BTreeMap<String, String> = [
            ("cleanup.policy", "compact,delete"),
            ("retention.ms", "-1"),
            ("min.insync.replicas", "2"),
            ("compression.type", "zstd"),
            ("min.cleanable.dirty.ratio", "0.3"),
            ("preallocate", "TRUE"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert!(validate_topic_configs(&ok).is_ok());
        for (k, v) in [
            ("no.such.config", "1"),
            ("retention.ms", "abc"),
            ("min.insync.replicas", "0"),
            ("cleanup.policy", "forever"),
            ("compression.type", "brotli"),
            ("preallocate", "yes"),
            ("min.cleanable.dirty.ratio", "2"),
            (LEADER_THROTTLED_REPLICAS, "0:1,x"),
            (LEADER_THROTTLED_REPLICAS, "0:1,*"),
            (FOLLOWER_THROTTLED_REPLICAS, "0-1"),
            (FOLLOWER_THROTTLED_REPLICAS, "a:1"),
            (FOLLOWER_THROTTLED_REPLICAS, "1:"),
        ] {
            let m = BTreeMap::from([(k.to_string(), v.to_string())]);
            assert_eq!(validate_topic_configs(&m).unwrap_err().error_code(), codes::INVALID_CONFIG, "{k}={v}");
        }
    }

    #[test]
    fn throttled_replica_lists() {
        for ok in ["*", " * ", "", "0:1", "0:1,1:2", " 0:1 , 12:3 ", "0:1,,1:2"] {
            assert!(is_valid_throttled_replica_list(ok), "{ok:?}");
            let m = BTreeMap::from([(LEADER_THROTTLED_REPLICAS.to_string(), ok.to_string())]);
            assert!(validate_topic_configs(&m).is_ok(), "{ok:?}");
        }
        for bad in ["0:1,*", "**", "0:1:2", "-1:2", "0", "x:1", "0 :1x"] {
            assert!(!is_valid_throttled_replica_list(bad), "{bad:?}");
        }
        let m = BTreeMap::from([(FOLLOWER_THROTTLED_REPLICAS.to_string(), "1-2".to_string())]);
        assert_eq!(
            validate_topic_configs(&m).unwrap_err().message(),
            "Invalid value 1-2 for configuration follower.replication.throttled.replicas: \
             follower.replication.throttled.replicas must be the literal '*' or a list of replicas in the following format: \
             [partitionId]:[brokerId],[partitionId]:[brokerId],..."
        );
    }

    #[test]
    fn broker_config_validation() {
        let ok = BTreeMap::from([
            (LEADER_THROTTLED_RATE.to_string(), "1000".to_string()),
            (FOLLOWER_THROTTLED_RATE.to_string(), "0".to_string()),
            ("some.custom.key".to_string(), "anything".to_string()),
        ]);
        assert!(validate_broker_configs(&ok).is_ok());
        for (k, v) in [(LEADER_THROTTLED_RATE, "-1"), (FOLLOWER_THROTTLED_RATE, "1.5"), (ALTER_LOG_DIRS_IO_MAX_BYTES_PER_SECOND, "x")] {
            let m = BTreeMap::from([(k.to_string(), v.to_string())]);
            assert_eq!(validate_broker_configs(&m).unwrap_err().error_code(), codes::INVALID_CONFIG, "{k}={v}");
        }
    }
}
