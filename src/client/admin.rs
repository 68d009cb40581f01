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
