//! The admin calls of the tools, as methods on `KafkaClient` (Kafka's
//! `AdminClient` / `KafkaAdminClient`): topic creation, configs, the group
//! admin calls (list, describe, offsets, delete) and offset lookups. Each call
//! goes to the broker Kafka's admin client would send it to (any broker, a
//! group's coordinator, a partition's leader or the controller) and returns
//! the typed response, or the request's error as text.

use super::KafkaClient;
use crate::protocol::error::{self, error_name};
use crate::protocol::messages::create_topics::{CreateTopicsRequest, CreateTopicsResponse};
use crate::protocol::messages::delete_groups::{DeleteGroupsRequest, DeleteGroupsResponse};
use crate::protocol::messages::describe_configs::{DescribeConfigsRequest, DescribeConfigsResponse};
use crate::protocol::messages::describe_groups::{DescribeGroupsRequest, DescribeGroupsResponse};
use crate::protocol::messages::list_groups::{ListGroupsRequest, ListGroupsResponse};
use crate::protocol::messages::list_offsets::{ListOffsetsPartition, ListOffsetsRequest, ListOffsetsResponse, ListOffsetsTopic};
use crate::protocol::messages::offset_commit::{OffsetCommitRequest, OffsetCommitResponse};
use crate::protocol::messages::offset_delete::{OffsetDeleteRequest, OffsetDeleteResponse};
use crate::protocol::messages::offset_fetch::{OffsetFetchRequest, OffsetFetchResponse};
use std::time::Duration;

pub const CREATE_TOPICS_VERSION: i16 = 5;
pub const DESCRIBE_CONFIGS_VERSION: i16 = 3;
pub const LIST_GROUPS_VERSION: i16 = 4;
pub const DESCRIBE_GROUPS_VERSION: i16 = 5;
pub const OFFSET_FETCH_VERSION: i16 = 7;
pub const OFFSET_COMMIT_VERSION: i16 = 7;
pub const DELETE_GROUPS_VERSION: i16 = 2;
pub const OFFSET_DELETE_VERSION: i16 = 0;
pub const LIST_OFFSETS_VERSION: i16 = 5;

impl KafkaClient {
    /// CreateTopics, sent to any broker; `timeout` bounds the wait for the answer.
    pub async fn create_topics(&mut self, req: &CreateTopicsRequest, timeout: Duration) -> Result<CreateTopicsResponse, String> {
        self.send_any(CREATE_TOPICS_VERSION, req, timeout).await.map_err(|e| e.to_string())
    }

    /// DescribeConfigs, sent to any broker.
    pub async fn describe_configs(&mut self, req: &DescribeConfigsRequest, timeout: Duration) -> Result<DescribeConfigsResponse, String> {
        self.send_any(DESCRIBE_CONFIGS_VERSION, req, timeout).await.map_err(|e| e.to_string())
    }

    /// ListGroups on one broker (Kafka's admin client asks every broker).
    pub async fn list_groups(&mut self, broker: i32, timeout: Duration) -> Result<ListGroupsResponse, String> {
        self.send_to(broker, LIST_GROUPS_VERSION, &ListGroupsRequest::default(), timeout).await.map_err(|e| e.to_string())
    }

    /// DescribeGroups, sent to the groups' coordinator.
    pub async fn describe_groups(&mut self, coordinator: i32, req: &DescribeGroupsRequest, timeout: Duration) -> Result<DescribeGroupsResponse, String> {
        self.send_to(coordinator, DESCRIBE_GROUPS_VERSION, req, timeout).await.map_err(|e| e.to_string())
    }

    /// OffsetFetch, sent to the group's coordinator.
    pub async fn offset_fetch(&mut self, coordinator: i32, req: &OffsetFetchRequest, timeout: Duration) -> Result<OffsetFetchResponse, String> {
        self.send_to(coordinator, OFFSET_FETCH_VERSION, req, timeout).await.map_err(|e| e.to_string())
    }

    /// OffsetCommit, sent to the group's coordinator.
    pub async fn offset_commit(&mut self, coordinator: i32, req: &OffsetCommitRequest, timeout: Duration) -> Result<OffsetCommitResponse, String> {
        self.send_to(coordinator, OFFSET_COMMIT_VERSION, req, timeout).await.map_err(|e| e.to_string())
    }

    /// DeleteGroups, sent to the groups' coordinator.
    pub async fn delete_groups(&mut self, coordinator: i32, req: &DeleteGroupsRequest, timeout: Duration) -> Result<DeleteGroupsResponse, String> {
        self.send_to(coordinator, DELETE_GROUPS_VERSION, req, timeout).await.map_err(|e| e.to_string())
    }

    /// OffsetDelete, sent to the group's coordinator.
    pub async fn offset_delete(&mut self, coordinator: i32, req: &OffsetDeleteRequest, timeout: Duration) -> Result<OffsetDeleteResponse, String> {
        self.send_to(coordinator, OFFSET_DELETE_VERSION, req, timeout).await.map_err(|e| e.to_string())
    }

    /// ListOffsets for one partition at its leader: `timestamp` -2 is the
    /// earliest offset, -1 the latest, anything else a time.
    pub async fn list_offset(&mut self, leader: i32, topic: &str, partition: i32, timestamp: i64, isolation: i8) -> Result<i64, String> {
        let req = ListOffsetsRequest {
            replica_id: -1,
            isolation_level: isolation,
            topics: vec![ListOffsetsTopic {
                name: topic.to_string(),
                partitions: vec![ListOffsetsPartition { partition_index: partition, current_leader_epoch: -1, timestamp, ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let resp: ListOffsetsResponse =
            self.send_to(leader, LIST_OFFSETS_VERSION, &req, Duration::from_secs(10)).await.map_err(|e| e.to_string())?;
        let p = resp
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter())
            .find(|p| p.partition_index == partition)
            .ok_or_else(|| format!("no ListOffsets answer for {topic}-{partition}"))?;
        if p.error_code != error::NONE {
            return Err(format!("ListOffsets for {topic}-{partition}: {}", error_name(p.error_code)));
        }
        Ok(p.offset)
    }
}

// ---- log directories (KIP-113): sent to the broker whose dirs they are.

use crate::protocol::messages::describe_log_dirs::DescribableLogDirTopic;


impl KafkaClient {
    /// DescribeLogDirs on one broker (`topics` `None` = every replica there).
    pub async fn describe_log_dirs(
        &mut self,
        broker: i32,
        topics: Option<Vec<DescribableLogDirTopic>>,
        timeout: Duration,
    ) -> Result<DescribeLogDirsResponse, String> {
        let req = DescribeLogDirsRequest { topics, ..Default::default() };
        self.send_to(broker, DESCRIBE_LOG_DIRS_VERSION, &req, timeout).await.map_err(|e| e.to_string())
    }
}

// ------------------------------------------------------------ reassignment, configs, log dirs

use crate::common::TopicPartition;
use crate::protocol::error::ErrorCode;
use crate::protocol::messages::alter_partition_reassignments::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ReassignablePartition, ReassignableTopic,
};
use crate::protocol::messages::alter_replica_log_dirs::{
    AlterReplicaLogDir, AlterReplicaLogDirTopic, AlterReplicaLogDirsRequest, AlterReplicaLogDirsResponse,
};
use crate::protocol::messages::describe_configs::{RESOURCE_BROKER, RESOURCE_TOPIC};
use crate::protocol::messages::describe_log_dirs::{DescribeLogDirsRequest, DescribeLogDirsResponse};
use crate::protocol::messages::incremental_alter_configs::{
    AlterConfigsResource, AlterableConfig, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, OP_DELETE, OP_SET,
};
use crate::protocol::messages::list_partition_reassignments::{
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, ListPartitionReassignmentsTopics,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

pub const ALTER_PARTITION_REASSIGNMENTS_VERSION: i16 = 0;
pub const LIST_PARTITION_REASSIGNMENTS_VERSION: i16 = 0;
pub const INCREMENTAL_ALTER_CONFIGS_VERSION: i16 = 0;
pub const DESCRIBE_LOG_DIRS_VERSION: i16 = 2;
pub const ALTER_REPLICA_LOG_DIRS_VERSION: i16 = 1;

/// How long the controller may take over a reassignment request.
const REASSIGNMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// A partition's ongoing reassignment (Kafka's admin `PartitionReassignment`):
/// the full replica set and the replicas being added and removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionReassignment {
    pub replicas: Vec<i32>,
    pub adding: Vec<i32>,
    pub removing: Vec<i32>,
}

impl PartitionReassignment {
    /// ORS: the replicas that hold the data today (RS - AR).
    pub fn sources(&self) -> Vec<i32> {
        self.replicas.iter().copied().filter(|r| !self.adding.contains(r)).collect()
    }
    /// TRS: RS - RR.
    pub fn targets(&self) -> Vec<i32> {
        self.replicas.iter().copied().filter(|r| !self.removing.contains(r)).collect()
    }
}

/// One replica of a partition on one broker (Kafka's `TopicPartitionReplica`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TopicPartitionReplica {
    pub topic: String,
    pub partition: i32,
    pub broker: i32,
}

impl fmt::Display for TopicPartitionReplica {
    /// Kafka's `TopicPartitionReplica.toString`: `topic-partition-broker`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.topic, self.partition, self.broker)
    }
}

impl PartialOrd for TopicPartitionReplica {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TopicPartitionReplica {
    /// Kafka's `compareTopicPartitionReplicas`: broker, then topic, then partition.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.broker, &self.topic, self.partition).cmp(&(other.broker, &other.topic, other.partition))
    }
}

/// Where a replica lives on its broker (Kafka's `ReplicaLogDirInfo`), with sizes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaLogDirInfo {
    pub current_dir: Option<String>,
    /// Size in bytes of the current replica.
    pub size: u64,
    /// The directory a `-future` replica is being copied to, if any.
    pub future_dir: Option<String>,
    pub future_size: Option<u64>,
}

/// The text of the exception Kafka's admin client raises for `code`: the
/// broker's message when it sent one, else the error's default message.
pub fn error_message(code: ErrorCode, message: Option<&str>) -> String {
    if let Some(m) = message.filter(|m| !m.is_empty()) {
        return m.to_string();
    }
    match code {
        error::UNKNOWN_SERVER_ERROR => "The server experienced an unexpected error when processing the request.".into(),
        error::UNKNOWN_TOPIC_OR_PARTITION => "This server does not host this topic-partition.".into(),
        error::REQUEST_TIMED_OUT => "The request timed out.".into(),
        error::INVALID_REPLICATION_FACTOR => "Replication factor is below 1 or larger than the number of available brokers.".into(),
        error::INVALID_REPLICA_ASSIGNMENT => "Replica assignment is invalid.".into(),
        error::INVALID_CONFIG => "Configuration is invalid.".into(),
        error::NOT_CONTROLLER => "This is not the correct controller for this cluster.".into(),
        error::REASSIGNMENT_IN_PROGRESS => "A partition reassignment is in progress.".into(),
        error::NO_REASSIGNMENT_IN_PROGRESS => "No partition reassignment is in progress.".into(),
        error::LOG_DIR_NOT_FOUND => "The user-specified log directory is not found in the broker config.".into(),
        error::KAFKA_STORAGE_ERROR => "Disk error when trying to access log file on the disk.".into(),
        code => error_name(code).to_string(),
    }
}

/// One config change of IncrementalAlterConfigs: `Some(v)` sets, `None` deletes.
pub type ConfigOp = (String, Option<String>);

fn config_resource(resource_type: i8, name: String, ops: &[ConfigOp]) -> AlterConfigsResource {
    AlterConfigsResource {
        resource_type,
        resource_name: name,
        configs: ops
            .iter()
            .map(|(k, v)| AlterableConfig {
                name: k.clone(),
                config_operation: if v.is_some() { OP_SET } else { OP_DELETE },
                value: v.clone(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn check_alter_configs(resp: &IncrementalAlterConfigsResponse) -> Result<(), String> {
    for r in &resp.responses {
        if r.error_code != error::NONE {
            return Err(error_message(r.error_code, r.error_message.as_deref()));
        }
    }
    Ok(())
}

impl KafkaClient {
    /// Registers a broker's address without a Metadata round trip (the
    /// `--zookeeper` tools read them from `/brokers/ids`).
    pub fn add_known_broker(&mut self, id: i32, addr: &str) {
        self.brokers.insert(id, addr.to_string());
    }

    /// ListPartitionReassignments at the controller: all ongoing
    /// reassignments, or those of `partitions`.
    pub async fn list_partition_reassignments(
        &mut self,
        partitions: Option<&BTreeSet<TopicPartition>>,
    ) -> Result<BTreeMap<TopicPartition, PartitionReassignment>, String> {
        let topics = partitions.map(|ps| {
            let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
            for tp in ps {
                by_topic.entry(&tp.topic).or_default().push(tp.partition);
            }
            by_topic
                .into_iter()
                .map(|(t, p)| ListPartitionReassignmentsTopics { name: t.to_string(), partition_indexes: p, ..Default::default() })
                .collect()
        });
        let req = ListPartitionReassignmentsRequest { timeout_ms: REASSIGNMENT_TIMEOUT.as_millis() as i32, topics, ..Default::default() };
        let resp: ListPartitionReassignmentsResponse = self
            .send_to_controller(LIST_PARTITION_REASSIGNMENTS_VERSION, &req, REASSIGNMENT_TIMEOUT + self.timeout())
            .await
            .map_err(|e| e.to_string())?;
        if resp.error_code != error::NONE {
            return Err(error_message(resp.error_code, resp.error_message.as_deref()));
        }
        let mut out = BTreeMap::new();
        for t in resp.topics {
            for p in t.partitions {
                out.insert(
                    TopicPartition::new(t.name.clone(), p.partition_index),
                    PartitionReassignment { replicas: p.replicas, adding: p.adding_replicas, removing: p.removing_replicas },
                );
            }
        }
        Ok(out)
    }

    /// AlterPartitionReassignments at the controller (`None` cancels).
    /// Returns the partitions that failed, with the admin client's message.
    pub async fn alter_partition_reassignments(
        &mut self,
        targets: &BTreeMap<TopicPartition, Option<Vec<i32>>>,
    ) -> Result<BTreeMap<TopicPartition, String>, String> {
        let mut by_topic: BTreeMap<&str, Vec<ReassignablePartition>> = BTreeMap::new();
        for (tp, replicas) in targets {
            by_topic.entry(&tp.topic).or_default().push(ReassignablePartition {
                partition_index: tp.partition,
                replicas: replicas.clone(),
                ..Default::default()
            });
        }
        let req = AlterPartitionReassignmentsRequest {
            timeout_ms: REASSIGNMENT_TIMEOUT.as_millis() as i32,
            topics: by_topic
                .into_iter()
                .map(|(t, partitions)| ReassignableTopic { name: t.to_string(), partitions, ..Default::default() })
                .collect(),
            ..Default::default()
        };
        let resp: AlterPartitionReassignmentsResponse = self
            .send_to_controller(ALTER_PARTITION_REASSIGNMENTS_VERSION, &req, REASSIGNMENT_TIMEOUT + self.timeout())
            .await
            .map_err(|e| e.to_string())?;
        let mut failed = BTreeMap::new();
        if resp.error_code != error::NONE {
            let m = error_message(resp.error_code, resp.error_message.as_deref());
            for tp in targets.keys() {
                failed.insert(tp.clone(), m.clone());
            }
            return Ok(failed);
        }
        for t in resp.responses {
            for p in t.partitions {
                if p.error_code != error::NONE {
                    failed.insert(TopicPartition::new(t.name.clone(), p.partition_index), error_message(p.error_code, p.error_message.as_deref()));
                }
            }
        }
        Ok(failed)
    }

    /// IncrementalAlterConfigs for topics, sent to any broker.
    pub async fn alter_topic_configs(&mut self, topics: &[(String, Vec<ConfigOp>)]) -> Result<(), String> {
        if topics.is_empty() {
            return Ok(());
        }
        let req = IncrementalAlterConfigsRequest {
            resources: topics.iter().map(|(t, ops)| config_resource(RESOURCE_TOPIC, t.clone(), ops)).collect(),
            validate_only: false,
            ..Default::default()
        };
        let timeout = self.timeout();
        let resp: IncrementalAlterConfigsResponse =
            self.send_any(INCREMENTAL_ALTER_CONFIGS_VERSION, &req, timeout).await.map_err(|e| e.to_string())?;
        check_alter_configs(&resp)
    }

    /// IncrementalAlterConfigs for brokers: each sent to that broker, as
    /// Kafka's admin client does (to any broker if it is not known).
    pub async fn alter_broker_configs(&mut self, brokers: &[(i32, Vec<ConfigOp>)]) -> Result<(), String> {
        if brokers.is_empty() {
            return Ok(());
        }
        self.metadata(Some(&[]), false).await.map_err(|e| e.to_string())?;
        let timeout = self.timeout();
        for (id, ops) in brokers {
            let req = IncrementalAlterConfigsRequest {
                resources: vec![config_resource(RESOURCE_BROKER, id.to_string(), ops)],
                validate_only: false,
                ..Default::default()
            };
            let resp: IncrementalAlterConfigsResponse = if self.brokers.contains_key(id) {
                self.send_to(*id, INCREMENTAL_ALTER_CONFIGS_VERSION, &req, timeout).await
            } else {
                self.send_any(INCREMENTAL_ALTER_CONFIGS_VERSION, &req, timeout).await
            }
            .map_err(|e| e.to_string())?;
            check_alter_configs(&resp)?;
        }
        Ok(())
    }

    /// DescribeLogDirs at `broker` for `topics` (all when `None`): each
    /// replica's log directory and size, and its `-future` copy if any.
    pub async fn replica_sizes(
        &mut self,
        broker: i32,
        topics: Option<&[String]>,
    ) -> Result<BTreeMap<TopicPartition, ReplicaLogDirInfo>, String> {
        // Without partition lists per topic, ask for every topic and filter.
        let req = DescribeLogDirsRequest { topics: None, ..Default::default() };
        let timeout = self.timeout();
        let resp: DescribeLogDirsResponse =
            self.send_to(broker, DESCRIBE_LOG_DIRS_VERSION, &req, timeout).await.map_err(|e| e.to_string())?;
        let mut out: BTreeMap<TopicPartition, ReplicaLogDirInfo> = BTreeMap::new();
        for dir in resp.results {
            if dir.error_code != error::NONE {
                continue;
            }
            for t in dir.topics {
                if topics.is_some_and(|ts| !ts.contains(&t.name)) {
                    continue;
                }
                for p in t.partitions {
                    let e = out.entry(TopicPartition::new(t.name.clone(), p.partition_index)).or_default();
                    let size = p.partition_size.max(0) as u64;
                    if p.is_future_key {
                        e.future_dir = Some(dir.log_dir.clone());
                        e.future_size = Some(size);
                    } else {
                        e.current_dir = Some(dir.log_dir.clone());
                        e.size = size;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Kafka's `describeReplicaLogDirs`: where each replica lives on its broker.
    pub async fn describe_replica_log_dirs(
        &mut self,
        replicas: &BTreeSet<TopicPartitionReplica>,
    ) -> Result<BTreeMap<TopicPartitionReplica, ReplicaLogDirInfo>, String> {
        let mut out = BTreeMap::new();
        if replicas.is_empty() {
            return Ok(out);
        }
        self.metadata(Some(&[]), false).await.map_err(|e| e.to_string())?;
        let brokers: BTreeSet<i32> = replicas.iter().map(|r| r.broker).collect();
        for b in brokers {
            let topics: Vec<String> = replicas.iter().filter(|r| r.broker == b).map(|r| r.topic.clone()).collect();
            let infos = self.replica_sizes(b, Some(&topics)).await?;
            for r in replicas.iter().filter(|r| r.broker == b) {
                if let Some(i) = infos.get(&TopicPartition::new(r.topic.clone(), r.partition)) {
                    out.insert(r.clone(), i.clone());
                }
            }
        }
        Ok(out)
    }

    /// AlterReplicaLogDirs: asks each broker to move its replicas to the
    /// given directories. Returns the replicas whose move started; a replica
    /// the broker does not host yet (REPLICA_NOT_AVAILABLE) is left out, any
    /// other error fails as Kafka's tool does.
    pub async fn alter_replica_log_dirs(
        &mut self,
        moves: &BTreeMap<TopicPartitionReplica, String>,
    ) -> Result<BTreeSet<TopicPartitionReplica>, String> {
        let mut started = BTreeSet::new();
        if moves.is_empty() {
            return Ok(started);
        }
        self.metadata(Some(&[]), false).await.map_err(|e| e.to_string())?;
        let mut by_broker: BTreeMap<i32, BTreeMap<&str, BTreeMap<&str, Vec<i32>>>> = BTreeMap::new();
        for (r, dir) in moves {
            by_broker.entry(r.broker).or_default().entry(dir).or_default().entry(&r.topic).or_default().push(r.partition);
        }
        let timeout = self.timeout();
        for (broker, dirs) in by_broker {
            let req = AlterReplicaLogDirsRequest {
                dirs: dirs
                    .into_iter()
                    .map(|(path, topics)| AlterReplicaLogDir {
                        path: path.to_string(),
                        topics: topics
                            .into_iter()
                            .map(|(t, partitions)| AlterReplicaLogDirTopic { name: t.to_string(), partitions, ..Default::default() })
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            };
            let resp: AlterReplicaLogDirsResponse =
                self.send_to(broker, ALTER_REPLICA_LOG_DIRS_VERSION, &req, timeout).await.map_err(|e| e.to_string())?;
            for t in resp.results {
                for p in t.partitions {
                    let r = TopicPartitionReplica { topic: t.topic_name.clone(), partition: p.partition_index, broker };
                    match p.error_code {
                        error::NONE => {
                            started.insert(r);
                        }
                        error::REPLICA_NOT_AVAILABLE => {}
                        code => return Err(format!("Failed to alter dir for {r}: {}", error_message(code, None))),
                    }
                }
            }
        }
        Ok(started)
    }
}

// ------------------------------------------------ topic deletion, partitions, elections

pub const DELETE_TOPICS_VERSION: i16 = 5;
pub const CREATE_PARTITIONS_VERSION: i16 = 3;
pub const ELECT_LEADERS_VERSION: i16 = 2;

/// How often a controller-bound call is retried when the controller moved
/// (NOT_CONTROLLER), as Kafka's admin client does.
const CONTROLLER_RETRIES: usize = 3;

impl KafkaClient {
    /// DeleteTopics (by name), sent to the controller; the broker waits up to
    /// `timeout_ms` for the topics to be gone.
    pub async fn delete_topics(
        &mut self,
        topics: &[String],
        timeout_ms: i32,
    ) -> Result<crate::protocol::messages::delete_topics::DeleteTopicsResponse, String> {
        use crate::protocol::messages::delete_topics::{DeleteTopicsRequest, DeleteTopicsResponse};
        let req = DeleteTopicsRequest { topic_names: topics.to_vec(), timeout_ms, ..Default::default() };
        let wait = Duration::from_millis(timeout_ms.max(0) as u64) + self.timeout();
        let mut attempt = 0;
        loop {
            let resp: DeleteTopicsResponse =
                self.send_to_controller(DELETE_TOPICS_VERSION, &req, wait).await.map_err(|e| e.to_string())?;
            attempt += 1;
            if attempt < CONTROLLER_RETRIES && resp.responses.iter().any(|r| r.error_code == error::NOT_CONTROLLER) {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            return Ok(resp);
        }
    }

    /// CreatePartitions, sent to the controller.
    pub async fn create_partitions(
        &mut self,
        req: &crate::protocol::messages::create_partitions::CreatePartitionsRequest,
    ) -> Result<crate::protocol::messages::create_partitions::CreatePartitionsResponse, String> {
        use crate::protocol::messages::create_partitions::CreatePartitionsResponse;
        let wait = Duration::from_millis(req.timeout_ms.max(0) as u64) + self.timeout();
        let mut attempt = 0;
        loop {
            let resp: CreatePartitionsResponse =
                self.send_to_controller(CREATE_PARTITIONS_VERSION, req, wait).await.map_err(|e| e.to_string())?;
            attempt += 1;
            if attempt < CONTROLLER_RETRIES && resp.results.iter().any(|r| r.error_code == error::NOT_CONTROLLER) {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            return Ok(resp);
        }
    }

    /// ElectLeaders (`election_type` 0 preferred, 1 unclean) for `partitions`
    /// (all partitions when `None`), sent to the controller. Returns each
    /// partition's error code and message; a top-level error is an `Err`.
    pub async fn elect_leaders(
        &mut self,
        election_type: i8,
        partitions: Option<&[crate::common::TopicPartition]>,
        timeout_ms: i32,
    ) -> Result<std::collections::BTreeMap<crate::common::TopicPartition, (crate::protocol::ErrorCode, Option<String>)>, String> {
        use crate::protocol::messages::elect_leaders::{ElectLeadersRequest, ElectLeadersResponse, TopicPartitions};
        let topic_partitions = partitions.map(|ps| {
            let mut by_topic: std::collections::BTreeMap<&str, Vec<i32>> = std::collections::BTreeMap::new();
            for tp in ps {
                by_topic.entry(tp.topic.as_str()).or_default().push(tp.partition);
            }
            by_topic
                .into_iter()
                .map(|(t, p)| TopicPartitions { topic: t.to_string(), partition_id: p, ..Default::default() })
                .collect()
        });
        let req = ElectLeadersRequest { election_type, topic_partitions, timeout_ms, ..Default::default() };
        let wait = Duration::from_millis(timeout_ms.max(0) as u64) + self.timeout();
        let mut attempt = 0;
        loop {
            let resp: ElectLeadersResponse =
                self.send_to_controller(ELECT_LEADERS_VERSION, &req, wait).await.map_err(|e| e.to_string())?;
            attempt += 1;
            if resp.error_code == error::NOT_CONTROLLER && attempt < CONTROLLER_RETRIES {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            if resp.error_code != error::NONE {
                return Err(format!("{} ({})", error_name(resp.error_code), resp.error_code));
            }
            let mut out = std::collections::BTreeMap::new();
            for t in resp.replica_election_results {
                for p in t.partition_result {
                    out.insert(crate::common::TopicPartition::new(t.topic.clone(), p.partition_id), (p.error_code, p.error_message));
                }
            }
            return Ok(out);
        }
    }
}

// ---- DeleteRecords: sent to each partition's leader.

pub const DELETE_RECORDS_VERSION: i16 = 2;

/// The Java exception (class and message) Kafka's admin client raises for a
/// partition's error code, as `ExecutionException.getMessage` prints it.
pub fn java_exception(code: ErrorCode) -> String {
    let (class, msg) = match code {
        error::OFFSET_OUT_OF_RANGE => {
            ("OffsetOutOfRangeException", "The requested offset is not within the range of offsets maintained by the server.")
        }
        error::UNKNOWN_TOPIC_OR_PARTITION => ("UnknownTopicOrPartitionException", "This server does not host this topic-partition."),
        error::LEADER_NOT_AVAILABLE => (
            "LeaderNotAvailableException",
            "There is no leader for this topic-partition as we are in the middle of a leadership election.",
        ),
        error::NOT_LEADER_OR_FOLLOWER => (
            "NotLeaderOrFollowerException",
            "For requests intended only for the leader, this error indicates that the broker is not the current leader. For requests intended for any replica, this error indicates that the broker is not a replica of the topic partition.",
        ),
        error::REQUEST_TIMED_OUT => ("TimeoutException", "The request timed out."),
        error::POLICY_VIOLATION => ("PolicyViolationException", "Request parameters do not satisfy the configured policy."),
        error::INVALID_TOPIC_EXCEPTION => {
            ("InvalidTopicException", "The request attempted to perform an operation on an invalid topic.")
        }
        other => return format!("org.apache.kafka.common.errors.UnknownServerException: {}", error_message(other, None)),
    };
    format!("org.apache.kafka.common.errors.{class}: {msg}")
}

impl KafkaClient {
    /// Kafka's `AdminClient.deleteRecords`: looks up each partition's leader
    /// in Metadata and sends it DeleteRecords for its partitions (`offset`
    /// -1 = the high watermark). Returns, in the order given, each
    /// partition's low watermark or error code (a topic Metadata does not
    /// know is UNKNOWN_TOPIC_OR_PARTITION, a partition without a known
    /// leader LEADER_NOT_AVAILABLE, as in Kafka's admin client). `Err` only when no broker answers.
    pub async fn delete_records(
        &mut self,
        offsets: &[(crate::common::TopicPartition, i64)],
        timeout_ms: i32,
    ) -> Result<Vec<(crate::common::TopicPartition, Result<i64, ErrorCode>)>, String> {
        use crate::common::TopicPartition;
        use crate::protocol::messages::delete_records::{
            DeleteRecordsPartition, DeleteRecordsRequest, DeleteRecordsResponse, DeleteRecordsTopic,
        };
        use std::collections::{BTreeMap, HashMap};
        let mut topics: Vec<String> = offsets.iter().map(|(tp, _)| tp.topic.clone()).collect();
        topics.sort();
        topics.dedup();
        let md = self.metadata(Some(&topics), false).await.map_err(|e| e.to_string())?;
        let mut answers: HashMap<TopicPartition, Result<i64, ErrorCode>> = HashMap::new();
        let mut by_leader: BTreeMap<i32, Vec<(TopicPartition, i64)>> = BTreeMap::new();
        for (tp, offset) in offsets {
            let topic = md.topics.iter().find(|t| t.name == tp.topic);
            let partition = topic.and_then(|t| t.partitions.iter().find(|p| p.partition_index == tp.partition));
            match (topic, partition) {
                (Some(t), _) if t.error_code != error::NONE => {
                    answers.insert(tp.clone(), Err(t.error_code));
                }
                (None, _) => {
                    answers.insert(tp.clone(), Err(error::UNKNOWN_TOPIC_OR_PARTITION));
                }
                // Kafka's admin client: no leader known (a partition the
                // topic does not have included) is LEADER_NOT_AVAILABLE.
                (_, None) => {
                    answers.insert(tp.clone(), Err(error::LEADER_NOT_AVAILABLE));
                }
                (_, Some(p)) if p.leader_id < 0 => {
                    answers.insert(tp.clone(), Err(error::LEADER_NOT_AVAILABLE));
                }
                (_, Some(p)) => by_leader.entry(p.leader_id).or_default().push((tp.clone(), *offset)),
            }
        }
        let wait = Duration::from_millis(timeout_ms.max(0) as u64) + self.timeout();
        for (leader, parts) in by_leader {
            let mut grouped: BTreeMap<String, Vec<DeleteRecordsPartition>> = BTreeMap::new();
            for (tp, offset) in &parts {
                grouped
                    .entry(tp.topic.clone())
                    .or_default()
                    .push(DeleteRecordsPartition { partition_index: tp.partition, offset: *offset });
            }
            let req = DeleteRecordsRequest {
                topics: grouped.into_iter().map(|(name, partitions)| DeleteRecordsTopic { name, partitions }).collect(),
                timeout_ms,
                ..Default::default()
            };
            match self.send_to::<_, DeleteRecordsResponse>(leader, DELETE_RECORDS_VERSION, &req, wait).await {
                Ok(resp) => {
                    for t in resp.topics {
                        for p in t.partitions {
                            let r = if p.error_code == error::NONE { Ok(p.low_watermark) } else { Err(p.error_code) };
                            answers.insert(TopicPartition::new(t.name.clone(), p.partition_index), r);
                        }
                    }
                }
                Err(e) => {
                    log::warn!("DeleteRecords to broker {leader} failed: {e}");
                    for (tp, _) in parts {
                        answers.insert(tp, Err(error::REQUEST_TIMED_OUT));
                    }
                }
            }
        }
        Ok(offsets
            .iter()
            .map(|(tp, _)| (tp.clone(), answers.get(tp).copied().unwrap_or(Err(error::UNKNOWN_SERVER_ERROR))))
            .collect())
    }
}

// ---- kafka-configs: DescribeConfigs / AlterConfigs / IncrementalAlterConfigs
// sent where Kafka's admin client sends them (a broker resource with a
// numeric name to that broker, everything else to any broker), with the
// response returned whole so the tool can print each error the Java way.

use crate::protocol::messages::alter_configs::{AlterConfigsRequest, AlterConfigsResponse};

pub const ALTER_CONFIGS_VERSION: i16 = 1;

impl KafkaClient {
    /// The broker a request about `(resource_type, name)` goes to: the broker
    /// itself for BROKER / BROKER_LOGGER resources named by an id, else any.
    async fn config_target(&mut self, resource_type: i8, name: &str) -> Result<Option<i32>, String> {
        use crate::protocol::messages::describe_configs::RESOURCE_BROKER_LOGGER;
        if resource_type != RESOURCE_BROKER && resource_type != RESOURCE_BROKER_LOGGER {
            return Ok(None);
        }
        let Ok(id) = name.parse::<i32>() else { return Ok(None) };
        self.metadata(Some(&[]), false).await.map_err(|e| e.to_string())?;
        Ok(if self.brokers.contains_key(&id) { Some(id) } else { None })
    }

    /// DescribeConfigs of one resource, sent to the broker it names (if any).
    pub async fn describe_resource_configs(
        &mut self,
        resource_type: i8,
        name: &str,
        include_synonyms: bool,
    ) -> Result<crate::protocol::messages::describe_configs::DescribeConfigsResult, String> {
        use crate::protocol::messages::describe_configs::DescribeConfigsResource;
        let req = DescribeConfigsRequest {
            resources: vec![DescribeConfigsResource {
                resource_type,
                resource_name: name.to_string(),
                configuration_keys: None,
                ..Default::default()
            }],
            include_synonyms,
            ..Default::default()
        };
        let timeout = self.timeout();
        let resp: DescribeConfigsResponse = match self.config_target(resource_type, name).await? {
            Some(id) => self.send_to(id, DESCRIBE_CONFIGS_VERSION, &req, timeout).await,
            None => self.send_any(DESCRIBE_CONFIGS_VERSION, &req, timeout).await,
        }
        .map_err(|e| e.to_string())?;
        resp.results.into_iter().next().ok_or_else(|| "DescribeConfigs: empty response".to_string())
    }

    /// IncrementalAlterConfigs of one resource (`ops`: `Some` = SET, `None` =
    /// DELETE); `Err((code, message))` is the resource's error.
    pub async fn incremental_alter_resource(
        &mut self,
        resource_type: i8,
        name: &str,
        ops: &[ConfigOp],
    ) -> Result<Result<(), (ErrorCode, Option<String>)>, String> {
        let req = IncrementalAlterConfigsRequest {
            resources: vec![config_resource(resource_type, name.to_string(), ops)],
            validate_only: false,
            ..Default::default()
        };
        let timeout = self.timeout();
        let resp: IncrementalAlterConfigsResponse = match self.config_target(resource_type, name).await? {
            Some(id) => self.send_to(id, INCREMENTAL_ALTER_CONFIGS_VERSION, &req, timeout).await,
            None => self.send_any(INCREMENTAL_ALTER_CONFIGS_VERSION, &req, timeout).await,
        }
        .map_err(|e| e.to_string())?;
        Ok(match resp.responses.into_iter().find(|r| r.error_code != error::NONE) {
            Some(r) => Err((r.error_code, r.error_message)),
            None => Ok(()),
        })
    }

    /// AlterConfigs (the whole new config map of one resource, Kafka's legacy
    /// `alterConfigs` that `kafka-configs` uses for brokers).
    pub async fn alter_resource_configs(
        &mut self,
        resource_type: i8,
        name: &str,
        configs: &BTreeMap<String, String>,
    ) -> Result<Result<(), (ErrorCode, Option<String>)>, String> {
        use crate::protocol::messages::alter_configs::{AlterConfigsResource as LegacyResource, AlterableConfig as LegacyConfig};
        let req = AlterConfigsRequest {
            resources: vec![LegacyResource {
                resource_type,
                resource_name: name.to_string(),
                configs: configs
                    .iter()
                    .map(|(k, v)| LegacyConfig { name: k.clone(), value: Some(v.clone()), ..Default::default() })
                    .collect(),
                ..Default::default()
            }],
            validate_only: false,
            ..Default::default()
        };
        let timeout = self.timeout();
        let resp: AlterConfigsResponse = match self.config_target(resource_type, name).await? {
            Some(id) => self.send_to(id, ALTER_CONFIGS_VERSION, &req, timeout).await,
            None => self.send_any(ALTER_CONFIGS_VERSION, &req, timeout).await,
        }
        .map_err(|e| e.to_string())?;
        Ok(match resp.responses.into_iter().find(|r| r.error_code != error::NONE) {
            Some(r) => Err((r.error_code, r.error_message)),
            None => Ok(()),
        })
    }
}

// ---- client quotas (kafka-configs --entity-type users/clients):
// DescribeClientQuotas and AlterClientQuotas, sent to any broker as
// Kafka's admin client does (least loaded node).

use crate::protocol::messages::alter_client_quotas::{AlterClientQuotasRequest, AlterClientQuotasResponse, AlterEntryData, OpData};
use crate::protocol::messages::describe_client_quotas::{
    ComponentData, DescribeClientQuotasRequest, DescribeClientQuotasResponse, EntityData, EntryData,
};

pub const DESCRIBE_CLIENT_QUOTAS_VERSION: i16 = 1;
pub const ALTER_CLIENT_QUOTAS_VERSION: i16 = 1;

impl KafkaClient {
    /// DescribeClientQuotas with a filter (`strict`: Kafka's `containsOnly`);
    /// `Err((code, message))` is the broker's error.
    pub async fn describe_client_quotas(
        &mut self,
        components: Vec<ComponentData>,
        strict: bool,
    ) -> Result<Result<Vec<EntryData>, (ErrorCode, Option<String>)>, String> {
        let req = DescribeClientQuotasRequest { components, strict, ..Default::default() };
        let timeout = self.timeout();
        let resp: DescribeClientQuotasResponse =
            self.send_any(DESCRIBE_CLIENT_QUOTAS_VERSION, &req, timeout).await.map_err(|e| e.to_string())?;
        if resp.error_code != error::NONE {
            return Ok(Err((resp.error_code, resp.error_message)));
        }
        Ok(Ok(resp.entries.unwrap_or_default()))
    }

    /// AlterClientQuotas of one entity (`ops`: key and `Some(value)` to set,
    /// `None` to remove).
    pub async fn alter_client_quotas(
        &mut self,
        entity: Vec<EntityData>,
        ops: &[(String, Option<f64>)],
        validate_only: bool,
    ) -> Result<Result<(), (ErrorCode, Option<String>)>, String> {
        let ops = ops
            .iter()
            .map(|(key, value)| OpData { key: key.clone(), value: value.unwrap_or(0.0), remove: value.is_none() })
            .collect();
        let req = AlterClientQuotasRequest { entries: vec![AlterEntryData { entity, ops }], validate_only, ..Default::default() };
        let timeout = self.timeout();
        let resp: AlterClientQuotasResponse =
            self.send_any(ALTER_CLIENT_QUOTAS_VERSION, &req, timeout).await.map_err(|e| e.to_string())?;
        Ok(match resp.entries.into_iter().find(|r| r.error_code != error::NONE) {
            Some(r) => Err((r.error_code, r.error_message)),
            None => Ok(()),
        })
    }
}

// ---- end offsets of many partitions at once (the cluster tool's group lag):
// one ListOffsets per leader, as Kafka's admin client `listOffsets` batches.

impl KafkaClient {
    /// The latest offset (log end offset, `timestamp` -1) of each partition
    /// in `by_leader` (leader -> partitions), one request per leader. A
    /// partition whose leader did not answer, or answered with an error, is
    /// `Err(code)` (REQUEST_TIMED_OUT when the leader did not answer).
    pub async fn latest_offsets(
        &mut self,
        by_leader: &BTreeMap<i32, Vec<TopicPartition>>,
    ) -> BTreeMap<TopicPartition, Result<i64, ErrorCode>> {
        let mut out = BTreeMap::new();
        let timeout = self.timeout();
        for (leader, tps) in by_leader {
            let mut by_topic: BTreeMap<&str, Vec<ListOffsetsPartition>> = BTreeMap::new();
            for tp in tps {
                by_topic.entry(&tp.topic).or_default().push(ListOffsetsPartition {
                    partition_index: tp.partition,
                    current_leader_epoch: -1,
                    timestamp: -1,
                    ..Default::default()
                });
            }
            let req = ListOffsetsRequest {
                replica_id: -1,
                isolation_level: 0,
                topics: by_topic
                    .into_iter()
                    .map(|(name, partitions)| ListOffsetsTopic { name: name.to_string(), partitions, ..Default::default() })
                    .collect(),
                ..Default::default()
            };
            match self.send_to::<_, ListOffsetsResponse>(*leader, LIST_OFFSETS_VERSION, &req, timeout).await {
                Ok(resp) => {
                    for t in resp.topics {
                        for p in t.partitions {
                            let r = if p.error_code == error::NONE { Ok(p.offset) } else { Err(p.error_code) };
                            out.insert(TopicPartition::new(t.name.clone(), p.partition_index), r);
                        }
                    }
                }
                Err(e) => log::debug!("ListOffsets at broker {leader} failed: {e}"),
            }
            for tp in tps {
                out.entry(tp.clone()).or_insert(Err(error::REQUEST_TIMED_OUT));
            }
        }
        out
    }
}

use crate::protocol::messages::alter_user_scram_credentials::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, ScramCredentialDeletion, ScramCredentialUpsertion,
};
use crate::protocol::messages::describe_user_scram_credentials::{
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};

/// One change of `alter_user_scram_credentials`: Kafka's
/// `UserScramCredentialUpsertion` (password, iterations) or `UserScramCredentialDeletion`.
pub enum ScramAlteration {
    Upsert { mechanism: crate::security::scram::ScramMechanism, iterations: i32, password: String },
    Delete { mechanism: crate::security::scram::ScramMechanism },
}

impl KafkaClient {
    /// DescribeUserScramCredentials (any broker); `users` empty = every user.
    pub async fn describe_user_scram_credentials(&mut self, users: &[String]) -> Result<DescribeUserScramCredentialsResponse, String> {
        let req = DescribeUserScramCredentialsRequest { users: Some(users.to_vec()), ..Default::default() };
        let timeout = self.timeout();
        self.send_any(0, &req, timeout).await.map_err(|e| e.to_string())
    }

    /// AlterUserScramCredentials (the controller) for one user, as Kafka's
    /// admin client builds it: a fresh random salt per upsertion and the
    /// salted password computed here, never the password on the wire.
    pub async fn alter_user_scram_credentials(
        &mut self,
        user: &str,
        changes: &[ScramAlteration],
    ) -> Result<AlterUserScramCredentialsResponse, String> {
        let mut req = AlterUserScramCredentialsRequest::default();
        for c in changes {
            match c {
                ScramAlteration::Delete { mechanism } => {
                    req.deletions.push(ScramCredentialDeletion { name: user.to_string(), mechanism: mechanism.type_id() })
                }
                ScramAlteration::Upsert { mechanism, iterations, password } => {
                    let salt = crate::security::scram::secure_random_string().into_bytes();
                    let salted = mechanism.hi(password.as_bytes(), &salt, (*iterations).max(1) as u32);
                    req.upsertions.push(ScramCredentialUpsertion {
                        name: user.to_string(),
                        mechanism: mechanism.type_id(),
                        iterations: *iterations,
                        salt: salt.into(),
                        salted_password: salted.into(),
                    });
                }
            }
        }
        let timeout = self.timeout();
        self.send_to_controller(0, &req, timeout).await.map_err(|e| e.to_string())
    }
}
