//! ListPartitionReassignments handler (key 46, v0; Kafka's
//! `KafkaApis.handleListPartitionReassignmentsRequest`): the controller's
//! moving partitions (all, or the named ones that are moving) with their
//! replicas, adding and removing replicas; NOT_CONTROLLER is a top-level error.

use crate::common::TopicPartition;
use crate::protocol::error;
use crate::protocol::messages::list_partition_reassignments::{
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, OngoingPartitionReassignment,
    OngoingTopicReassignment,
};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use std::collections::BTreeMap;

impl KafkaApis {
    pub(crate) async fn handle_list_partition_reassignments(
        &self,
        ctx: &RequestContext,
        req: ListPartitionReassignmentsRequest,
    ) -> ListPartitionReassignmentsResponse {
        if !self.authorize_cluster(ctx, crate::security::authorizer::AclOperation::Describe) {
            let code = error::CLUSTER_AUTHORIZATION_FAILED;
            return ListPartitionReassignmentsResponse { error_code: code, error_message: error::default_message(code).map(String::from), ..Default::default() };
        }
        let partitions: Option<Vec<TopicPartition>> = req.topics.map(|ts| {
            ts.into_iter().flat_map(|t| t.partition_indexes.into_iter().map(move |p| TopicPartition::new(t.name.clone(), p))).collect()
        });
        let result = match self.controller.get() {
            Some(c) => c.list_partition_reassignments(partitions).await,
            None => Err(error::NOT_CONTROLLER),
        };
        match result {
            Err(code) => ListPartitionReassignmentsResponse {
                error_code: code,
                error_message: error::default_message(code).map(String::from),
                ..Default::default()
            },
            Ok(listing) => {
                let mut by_topic: BTreeMap<String, Vec<OngoingPartitionReassignment>> = BTreeMap::new();
                for (tp, (replicas, adding_replicas, removing_replicas)) in listing {
                    by_topic.entry(tp.topic).or_default().push(OngoingPartitionReassignment {
                        partition_index: tp.partition,
                        replicas,
                        adding_replicas,
                        removing_replicas,
                        ..Default::default()
                    });
                }
                ListPartitionReassignmentsResponse {
                    topics: by_topic
                        .into_iter()
                        .map(|(name, partitions)| OngoingTopicReassignment { name, partitions, ..Default::default() })
                        .collect(),
                    ..Default::default()
                }
            }
        }
    }
}
