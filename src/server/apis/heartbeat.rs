//! Heartbeat handler: keeps a member's session alive and tells it when to
//! rejoin. Maps to `KafkaApis.handleHeartbeatRequest`.

use crate::security::authorizer::{AclOperation, ResourceType};
use crate::protocol::messages::heartbeat::{HeartbeatRequest, HeartbeatResponse};
use crate::server::kafka_apis::{KafkaApis, RequestContext};

impl KafkaApis {
    pub(crate) async fn handle_heartbeat(&self, ctx: &RequestContext, req: HeartbeatRequest) -> HeartbeatResponse {
        if !self.authorize(ctx, AclOperation::Read, ResourceType::Group, &req.group_id) {
            return HeartbeatResponse { error_code: crate::protocol::error::GROUP_AUTHORIZATION_FAILED, ..Default::default() };
        }
        let code = self.group_coordinator.heartbeat(&req.group_id, &req.member_id, req.group_instance_id.as_deref(), req.generation_id);
        HeartbeatResponse { throttle_time_ms: 0, error_code: code, ..Default::default() }
    }
}
