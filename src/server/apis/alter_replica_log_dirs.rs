//! AlterReplicaLogDirs handler: moves replicas to (or, for replicas not
//! created yet, places them in) the given log dirs of this broker. Maps to
//! `KafkaApis.handleAlterReplicaLogDirsRequest` (the work is
//! `ReplicaManager::alter_replica_log_dirs`, in `replica_alter_log_dirs.rs`).

use crate::common::TopicPartition;
use crate::protocol::error;
use crate::protocol::messages::alter_replica_log_dirs::{
    AlterReplicaLogDirPartitionResult, AlterReplicaLogDirTopicResult, AlterReplicaLogDirsRequest, AlterReplicaLogDirsResponse,
};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use std::collections::BTreeMap;

impl KafkaApis {
    pub(crate) async fn handle_alter_replica_log_dirs(
        &self,
        ctx: &RequestContext,
        req: AlterReplicaLogDirsRequest,
    ) -> AlterReplicaLogDirsResponse {
        let authorized = self.authorize_cluster(ctx, crate::security::authorizer::AclOperation::Alter);
        // Kafka's `partitionDirs`: one destination per partition, the last one named wins.
        let mut dirs: BTreeMap<TopicPartition, String> = BTreeMap::new();
        for d in req.dirs {
            for t in d.topics {
                for p in t.partitions {
                    dirs.insert(TopicPartition::new(t.name.clone(), p), d.path.clone());
                }
            }
        }
        let rm = self.replica_manager.clone();
        let asked: Vec<TopicPartition> = dirs.keys().cloned().collect();
        let outcome = if !authorized {
            asked.into_iter().map(|tp| (tp, error::CLUSTER_AUTHORIZATION_FAILED)).collect()
        } else {
            tokio::task::spawn_blocking(move || rm.alter_replica_log_dirs(dirs.into_iter().collect()))
            .await
            .unwrap_or_else(|_| asked.into_iter().map(|tp| (tp, error::UNKNOWN_SERVER_ERROR)).collect())
        };
        let mut by_topic: BTreeMap<String, Vec<AlterReplicaLogDirPartitionResult>> = BTreeMap::new();
        for (tp, error_code) in outcome {
            by_topic.entry(tp.topic).or_default().push(AlterReplicaLogDirPartitionResult {
                partition_index: tp.partition,
                error_code,
                ..Default::default()
            });
        }
        AlterReplicaLogDirsResponse {
            throttle_time_ms: 0,
            results: by_topic
                .into_iter()
                .map(|(topic_name, partitions)| AlterReplicaLogDirTopicResult { topic_name, partitions, ..Default::default() })
                .collect(),
            ..Default::default()
        }
    }
}
