//! AlterPartitionReassignments handler (key 45, v0; Kafka's
//! `KafkaApis.handleAlterPartitionReassignmentsRequest`): hands the targets
//! (a null replica list cancels) to the controller's event queue
//! (`KafkaController::alter_partition_reassignments`) and reports each
//! partition's result; NOT_CONTROLLER is a top-level error.

use crate::common::TopicPartition;
use crate::protocol::error;
use crate::protocol::messages::alter_partition_reassignments::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ReassignablePartitionResponse,
    ReassignableTopicResponse,
};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use std::collections::BTreeMap;

impl KafkaApis {
    pub(crate) async fn handle_alter_partition_reassignments(
        &self,
        ctx: &RequestContext,
        req: AlterPartitionReassignmentsRequest,
    ) -> AlterPartitionReassignmentsResponse {
        if !self.authorize_cluster(ctx, crate::security::authorizer::AclOperation::Alter) {
            let code = error::CLUSTER_AUTHORIZATION_FAILED;
            return AlterPartitionReassignmentsResponse { error_code: code, error_message: error::default_message(code).map(String::from), ..Default::default() };
        }
        let mut reassignments: BTreeMap<TopicPartition, Option<Vec<i32>>> = BTreeMap::new();
        for t in req.topics {
            for p in t.partitions {
                reassignments.insert(TopicPartition::new(t.name.clone(), p.partition_index), p.replicas);
            }
        }
        let result = match self.controller.get() {
            Some(c) => c.alter_partition_reassignments(reassignments).await,
            None => Err(error::NOT_CONTROLLER),
        };
        match result {
            Err(code) => AlterPartitionReassignmentsResponse {
                error_code: code,
                error_message: error::default_message(code).map(String::from),
                ..Default::default()
            },
            Ok(results) => {
                let mut by_topic: BTreeMap<String, Vec<ReassignablePartitionResponse>> = BTreeMap::new();
                for (tp, (code, message)) in results {
                    by_topic.entry(tp.topic).or_default().push(ReassignablePartitionResponse {
                        partition_index: tp.partition,
                        error_code: code,
                        error_message: message,
                        ..Default::default()
                    });
                }
                AlterPartitionReassignmentsResponse {
                    responses: by_topic
                        .into_iter()
                        .map(|(name, partitions)| ReassignableTopicResponse { name, partitions, ..Default::default() })
                        .collect(),
                    ..Default::default()
                }
            }
        }
    }
}
