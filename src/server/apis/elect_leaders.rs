//! ElectLeaders handler (key 43, v0-2; Kafka's `KafkaApis.handleElectReplicaLeader`
//! with `ReplicaManager.electLeaders` and `DelayedElectLeader`): the
//! controller runs a PREFERRED (v0 always) or UNCLEAN election of the named
//! partitions (null = every partition this broker knows); elected partitions
//! are answered once this broker's metadata shows their new leader (or
//! REQUEST_TIMED_OUT after `timeout_ms`). On a broker that is not the
//! controller every partition gets NOT_CONTROLLER. With null partitions,
//! partitions that needed no election are left out of the answer.

use crate::common::TopicPartition;
use crate::controller::ElectionType;
use crate::protocol::error;
use crate::protocol::messages::elect_leaders::{ElectLeadersRequest, ElectLeadersResponse, PartitionResult, ReplicaElectionResult};
use crate::protocol::ErrorCode;
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

impl KafkaApis {
    pub(crate) async fn handle_elect_leaders(&self, ctx: &RequestContext, req: ElectLeadersRequest) -> ElectLeadersResponse {
        let all = req.topic_partitions.is_none();
        let election_type = if ctx.api_version == 0 { Some(ElectionType::Preferred) } else { ElectionType::from_i8(req.election_type) };
        let Some(election_type) = election_type else {
            return ElectLeadersResponse { error_code: error::INVALID_REQUEST, ..Default::default() };
        };
        let partitions: Vec<TopicPartition> = match req.topic_partitions {
            Some(ts) => {
                ts.into_iter().flat_map(|t| t.partition_id.into_iter().map(move |p| TopicPartition::new(t.topic.clone(), p))).collect()
            }
            None => self
                .metadata_cache
                .topic_names()
                .into_iter()
                .flat_map(|t| {
                    self.metadata_cache.partitions(&t).unwrap_or_default().into_iter().map(move |(p, _)| TopicPartition::new(t.clone(), p))
                })
                .collect(),
        };
        let authorized = self.authorize_cluster(ctx, crate::security::authorizer::AclOperation::Alter);
        let result = match self.controller.get() {
            _ if !authorized => Err(error::CLUSTER_AUTHORIZATION_FAILED),
            Some(c) => c.elect_leaders(election_type, Some(partitions.clone())).await,
            None => Err(error::NOT_CONTROLLER),
        };
        let mut results: BTreeMap<TopicPartition, (ErrorCode, Option<String>)> = match result {
            Ok(r) => r,
            Err(code) => partitions.into_iter().map(|tp| (tp, (code, None))).collect(),
        };
        // DelayedElectLeader: wait until the new leaders are in this broker's metadata.
        let elected: Vec<TopicPartition> = results.iter().filter(|(_, (c, _))| *c == error::NONE).map(|(tp, _)| tp.clone()).collect();
        if !elected.is_empty() {
            let deadline = Instant::now() + Duration::from_millis(req.timeout_ms.clamp(0, 300_000) as u64);
            loop {
                let done = elected.iter().all(|tp| {
                    self.metadata_cache.partition(&tp.topic, tp.partition).is_some_and(|p| match election_type {
                        ElectionType::Preferred => p.replicas.first() == Some(&p.leader),
                        ElectionType::Unclean => p.leader >= 0,
                    })
                });
                if done {
                    break;
                }
                if Instant::now() >= deadline {
                    for tp in &elected {
                        results.insert(tp.clone(), (error::REQUEST_TIMED_OUT, None));
                    }
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        if all {
            results.retain(|_, (c, _)| *c != error::ELECTION_NOT_NEEDED);
        }
        let mut by_topic: BTreeMap<String, Vec<PartitionResult>> = BTreeMap::new();
        for (tp, (code, message)) in results {
            by_topic.entry(tp.topic).or_default().push(PartitionResult {
                partition_id: tp.partition,
                error_code: code,
                error_message: message,
                ..Default::default()
            });
        }
        ElectLeadersResponse {
            error_code: if authorized { error::NONE } else { error::CLUSTER_AUTHORIZATION_FAILED },
            replica_election_results: by_topic
                .into_iter()
                .map(|(topic, partition_result)| ReplicaElectionResult { topic, partition_result, ..Default::default() })
                .collect(),
            ..Default::default()
        }
    }
}
