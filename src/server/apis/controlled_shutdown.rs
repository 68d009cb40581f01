//! ControlledShutdown handler (Kafka's `KafkaApis.handleControlledShutdownRequest`):
//! a broker about to stop asks the controller to move its leaderships away.
//! Only the active controller answers with success; the work runs on the
//! controller's event queue (`KafkaController::controlled_shutdown`).

use crate::protocol::error;
use crate::protocol::messages::controlled_shutdown::{
    ControlledShutdownRequest, ControlledShutdownResponse, RemainingPartition,
};
use crate::server::kafka_apis::{KafkaApis, RequestContext};

impl KafkaApis {
    pub(crate) async fn handle_controlled_shutdown(
        &self,
        ctx: &RequestContext,
        req: ControlledShutdownRequest,
    ) -> ControlledShutdownResponse {
        if !self.authorize_cluster(ctx, crate::security::authorizer::AclOperation::ClusterAction) {
            return ControlledShutdownResponse { error_code: error::CLUSTER_AUTHORIZATION_FAILED, ..Default::default() };
        }
        let Some(controller) = self.controller.get() else {
            return ControlledShutdownResponse { error_code: error::NOT_CONTROLLER, ..Default::default() };
        };
        match controller.controlled_shutdown(req.broker_id, req.broker_epoch).await {
            Ok(remaining) => ControlledShutdownResponse {
                error_code: error::NONE,
                remaining_partitions: remaining
                    .into_iter()
                    .map(|tp| RemainingPartition { topic_name: tp.topic, partition_index: tp.partition, ..Default::default() })
                    .collect(),
                ..Default::default()
            },
            Err(code) => ControlledShutdownResponse { error_code: code, ..Default::default() },
        }
    }
}
