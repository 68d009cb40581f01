//! StopReplica handler: the controller tells this broker to stop serving
//! partitions, and to delete them when a topic is deleted or a replica moved.
//! A partition entry applies only if its leader epoch is -1, -2 or newer than
//! ours (KIP-570). Maps to `KafkaApis.handleStopReplicaRequest`.

use crate::common::TopicPartition;
use crate::protocol::error;
use crate::protocol::messages::stop_replica::{StopReplicaPartitionError, StopReplicaRequest, StopReplicaResponse};
use crate::server::kafka_apis::{KafkaApis, RequestContext};

impl KafkaApis {
    pub(crate) async fn handle_stop_replica(&self, ctx: &RequestContext, req: StopReplicaRequest) -> StopReplicaResponse {
        if !self.authorize_cluster(ctx, crate::security::authorizer::AclOperation::ClusterAction) {
            return StopReplicaResponse { error_code: error::CLUSTER_AUTHORIZATION_FAILED, ..Default::default() };
        }
        let rm = &self.replica_manager;
        if rm.is_stale_broker_epoch(req.broker_epoch) {
            return StopReplicaResponse { error_code: error::STALE_BROKER_EPOCH, ..Default::default() };
        }
        if !rm.check_controller_epoch(req.controller_epoch) {
            return StopReplicaResponse { error_code: error::STALE_CONTROLLER_EPOCH, ..Default::default() };
        }
        let mut partition_errors = Vec::new();
        for (topic, partition, leader_epoch, delete) in req.partitions() {
            let tp = TopicPartition::new(topic.clone(), partition);
            let local_epoch = rm.get_partition(&tp).map(|p| p.leader_epoch()).unwrap_or(-1);
            let code = if leader_epoch == -1 || leader_epoch == -2 || leader_epoch > local_epoch {
                rm.stop_replica(&tp, delete)
            } else {
                error::FENCED_LEADER_EPOCH
            };
            partition_errors.push(StopReplicaPartitionError {
                topic_name: topic,
                partition_index: partition,
                error_code: code,
                ..Default::default()
            });
        }
        StopReplicaResponse { error_code: error::NONE, partition_errors, ..Default::default() }
    }
}
