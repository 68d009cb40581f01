//! DescribeLogDirs handler: each of this broker's `log.dirs` with the size,
//! offset lag and future flag of its replicas (null topics = all). Maps to
//! `KafkaApis.handleDescribeLogDirsRequest` (the work is
//! `ReplicaManager::describe_log_dirs`, in `replica_alter_log_dirs.rs`).

use crate::common::TopicPartition;
use crate::protocol::messages::describe_log_dirs::{DescribeLogDirsRequest, DescribeLogDirsResponse};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use std::collections::BTreeSet;

impl KafkaApis {
    pub(crate) async fn handle_describe_log_dirs(&self, ctx: &RequestContext, req: DescribeLogDirsRequest) -> DescribeLogDirsResponse {
        // Kafka: without Describe on the cluster the answer is empty.
        if !self.authorize_cluster(ctx, crate::security::authorizer::AclOperation::Describe) {
            return DescribeLogDirsResponse { throttle_time_ms: 0, ..Default::default() };
        }
        let wanted: Option<BTreeSet<TopicPartition>> = req.topics.map(|topics| {
            topics
                .into_iter()
                .flat_map(|t| {
                    let topic = t.topic;
                    t.partition_index.into_iter().map(move |p| TopicPartition::new(topic.clone(), p))
                })
                .collect()
        });
        let rm = self.replica_manager.clone();
        let results = tokio::task::spawn_blocking(move || rm.describe_log_dirs(wanted.as_ref())).await.unwrap_or_default();
        DescribeLogDirsResponse { throttle_time_ms: 0, results, ..Default::default() }
    }
}
