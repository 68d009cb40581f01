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
    UnknownTopicOrPartition(String),
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
            AdminError::Zk(_) => codes::UNKNOWN_SERVER_ERROR,
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
            | AdminError::UnknownTopicOrPartition(m) => m.clone(),
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

/// Kafka's rack-unaware `AdminUtils.assignReplicasToBrokers`. `broker_ids` in
/// the order to use (the ZK tooling sorts them); `fixed_start_index` makes the
/// result deterministic (both the start and the shift), otherwise random.
pub fn assign_replicas_to_brokers(
    broker_ids: &[i32],
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
    let n = broker_ids.len();
    if replication_factor as usize > n {
        return Err(AdminError::InvalidReplicationFactor(format!(
            "Replication factor: {replication_factor} larger than available brokers: {n}."
        )));
    }
    let mut rng = rand::thread_rng();
    let start_index = fixed_start_index.unwrap_or_else(|| rng.gen_range(0..n));
    let mut shift = fixed_start_index.unwrap_or_else(|| rng.gen_range(0..n));
    let mut out = BTreeMap::new();
    let mut partition = start_partition_id.max(0);
    for _ in 0..n_partitions {
        if partition > 0 && (partition as usize) % n == 0 {
            shift += 1;
        }
        let first = (partition as usize + start_index) % n;
        let mut replicas = vec![broker_ids[first]];
        for j in 0..(replication_factor as usize - 1) {
            let offset = 1 + (shift + j) % (n - 1);
            replicas.push(broker_ids[(first + offset) % n]);
        }
        out.insert(partition, replicas);
        partition += 1;
    }
    Ok(out)
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
    /// (sorted by id) unless `assignment` is given (then `partitions` and
    /// `replication_factor` are ignored), writes `/config/topics/<t>`, then
    /// creates `/brokers/topics/<t>` with a new topic id. Returns the assignment.
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
        validate_topic_name(topic)?;
        self.check_topic_does_not_exist(topic).await?;
        let assignment = match assignment {
            Some(a) => a,
            None => {
                let brokers = self.zk.get_all_broker_ids().await?;
                assign_replicas_to_brokers(&brokers, partitions, replication_factor, None, 0)?
            }
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

    /// Marks a topic for deletion (`/admin/delete_topics/<t>`); the controller does the rest.
    pub async fn delete_topic(&self, topic: &str) -> Result<()> {
        if !self.zk.topic_exists(topic).await? {
            return Err(AdminError::Zk(ZkError::NoNode(format!("Topic \"{topic}\" does not exist"))));
        }
        match self.zk.create_recursive(&delete_topic_path(topic), &[]).await {
            Ok(()) => Ok(()),
            Err(ZkError::NodeExists(_)) => {
                Err(AdminError::TopicAlreadyExists(format!("Topic {topic} is already marked for deletion")))
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

    /// The topic's config overrides (`/config/topics/<t>`).
    pub async fn fetch_topic_config(&self, topic: &str) -> Result<std::collections::HashMap<String, String>> {
        Ok(self.zk.get_entity_config("topics", topic).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let got = assign_replicas_to_brokers(&[0, 1, 2, 3, 4], 10, 3, Some(0), 0).unwrap();
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
            let a = assign_replicas_to_brokers(&[1, 2, 3], 7, 3, None, 0).unwrap();
            assert_eq!(a.len(), 7);
            assert!(validate_replica_assignment(&a).is_ok());
            let a = assign_replicas_to_brokers(&[5], 3, 1, None, 0).unwrap();
            assert!(a.values().all(|r| r == &vec![5]));
        }
        // leaders spread evenly with a fixed start
        let a = assign_replicas_to_brokers(&[1, 2, 3], 6, 2, Some(1), 0).unwrap();
        let leaders: Vec<i32> = a.values().map(|r| r[0]).collect();
        assert_eq!(leaders, vec![2, 3, 1, 2, 3, 1]);
        let a = assign_replicas_to_brokers(&[1, 2, 3], 2, 1, Some(0), 3).unwrap();
        assert_eq!(a.keys().copied().collect::<Vec<_>>(), vec![3, 4]);
        assert_eq!(assign_replicas_to_brokers(&[1], 0, 1, None, 0).unwrap_err().error_code(), codes::INVALID_PARTITIONS);
        assert_eq!(assign_replicas_to_brokers(&[1], 1, 0, None, 0).unwrap_err().error_code(), codes::INVALID_REPLICATION_FACTOR);
        let e = assign_replicas_to_brokers(&[1, 2], 1, 3, None, 0).unwrap_err();
        assert_eq!(e.error_code(), codes::INVALID_REPLICATION_FACTOR);
        assert_eq!(e.message(), "Replication factor: 3 larger than available brokers: 2.");
        assert_eq!(assign_replicas_to_brokers(&[], 1, 1, None, 0).unwrap_err().error_code(), codes::INVALID_REPLICATION_FACTOR);
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
