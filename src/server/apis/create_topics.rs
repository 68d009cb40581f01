//! CreateTopics handler: validates and writes each topic to ZooKeeper through
//! AdminZkClient (config znode first, then the assignment), then waits until
//! the controller's UpdateMetadata shows leaders for it or the request's
//! timeout passes. Maps to `KafkaApis.handleCreateTopicsRequest`,
//! `ZkAdminManager.createTopics` and `DelayedCreatePartitions`.

use crate::security::authorizer::{AclOperation, ResourceType};
use crate::protocol::error;
use crate::protocol::messages::create_topics::{CreatableTopicResult, CreateTopicsRequest, CreateTopicsResponse};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use crate::zk::{AdminError, AdminZkClient, BrokerMetadata, RackAwareMode};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

impl KafkaApis {
    pub(crate) async fn handle_create_topics(&self, ctx: &RequestContext, req: CreateTopicsRequest) -> CreateTopicsResponse {
        let admin = AdminZkClient::new(self.zk.clone());
        let mut results: Vec<CreatableTopicResult> = Vec::with_capacity(req.topics.len());
        let mut created: Vec<usize> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        // Kafka: Create on the cluster, or else on each topic.
        let creatable = if self.authorize_cluster(ctx, AclOperation::Create) {
            req.topics.iter().map(|t| t.name.clone()).collect()
        } else {
            self.filter_authorized(ctx, AclOperation::Create, ResourceType::Topic, req.topics.iter().map(|t| t.name.as_str()))
        };
        for t in &req.topics {
            let mut r = CreatableTopicResult {
                name: t.name.clone(),
                num_partitions: -1,
                replication_factor: -1,
                ..Default::default()
            };
            if !seen.insert(t.name.clone()) {
                r.error_code = error::INVALID_REQUEST;
                r.error_message = Some(format!("Create topics request from client `{}` contains multiple entries for the following topics: {}", ctx.client_id(), t.name));
                results.push(r);
                continue;
            }
            if !creatable.contains(&t.name) {
                r.error_code = error::TOPIC_AUTHORIZATION_FAILED;
                r.error_message = Some("Authorization failed.".into());
                results.push(r);
                continue;
            }
            let assignment: Option<BTreeMap<i32, Vec<i32>>> = if t.assignments.is_empty() {
                None
            } else {
                Some(t.assignments.iter().map(|a| (a.partition_index, a.broker_ids.clone())).collect())
            };
            if assignment.is_some() && (t.num_partitions != -1 || t.replication_factor != -1) {
                r.error_code = error::INVALID_REQUEST;
                r.error_message = Some("Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.".into());
                results.push(r);
                continue;
            }
            let partitions = if t.num_partitions == -1 { self.config.num_partitions } else { t.num_partitions };
            let rf = if t.replication_factor == -1 { self.config.default_replication_factor as i32 } else { t.replication_factor as i32 };
            let mut configs = BTreeMap::new();
            for c in &t.configs {
                match &c.value {
                    Some(v) => {
                        configs.insert(c.name.clone(), v.clone());
                    }
                    None => {
                        r.error_code = error::INVALID_REQUEST;
                        r.error_message = Some(format!("Null value not supported for topic configs: {}", c.name));
                    }
                }
            }
            if r.error_code != error::NONE {
                results.push(r);
                continue;
            }
            let brokers = match self.placement_brokers(&admin, assignment.is_some()).await {
                Ok(b) => b,
                Err(e) => {
                    r.error_code = e.error_code();
                    r.error_message = Some(e.to_string());
                    results.push(r);
                    continue;
                }
            };
            match admin
                .create_topic_on_brokers(&t.name, partitions, rf, &configs, assignment.clone(), &brokers, req.validate_only)
                .await
            {
                Ok(assigned) => {
                    r.num_partitions = assigned.len() as i32;
                    r.replication_factor = assigned.values().next().map_or(0, |r| r.len()) as i16;
                    if !req.validate_only {
                        if let Ok(Some(a)) = self.zk.get_topic_assignment(&t.name).await {
                            r.topic_id = a.topic_id.unwrap_or_default();
                        }
                    }
                    if !req.validate_only {
                        created.push(results.len());
                    }
                }
                Err(e) => {
                    r.error_code = e.error_code();
                    r.error_message = Some(e.to_string());
                }
            }
            results.push(r);
        }

        // Wait (like Kafka's DelayedCreatePartitions) for leaders to appear.
        let deadline = Instant::now() + Duration::from_millis(req.timeout_ms.max(0) as u64);
        loop {
            let pending: Vec<usize> =
                created.iter().copied().filter(|i| !self.metadata_cache.topic_has_leaders(&results[*i].name)).collect();
            if pending.is_empty() {
                break;
            }
            if Instant::now() >= deadline {
                for i in pending {
                    results[i].error_code = error::REQUEST_TIMED_OUT;
                    results[i].error_message = Some("Operation timed out waiting for the topic's leaders to be elected.".into());
                }
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        CreateTopicsResponse { throttle_time_ms: 0, topics: results, ..Default::default() }
    }

    /// The brokers replica placement uses: the live brokers of the metadata
    /// cache with their racks (Kafka's `ZkAdminManager` reads
    /// `metadataCache.getAliveBrokers`), or the ZooKeeper registrations while
    /// this broker has not received its first UpdateMetadata yet.
    pub(crate) async fn placement_brokers(&self, admin: &AdminZkClient, manual: bool) -> Result<Vec<BrokerMetadata>, AdminError> {
        if manual {
            return Ok(Vec::new());
        }
        let mut brokers: Vec<BrokerMetadata> =
            self.metadata_cache.alive_brokers().into_iter().map(|b| BrokerMetadata { id: b.id, rack: b.rack }).collect();
        if brokers.is_empty() {
            return admin.get_broker_metadatas(RackAwareMode::Safe, None).await;
        }
        brokers.sort_by_key(|b| b.id);
        Ok(brokers)
    }
}
