//! Heartbeat handler: keeps a member's session alive and tells it when to
//! rejoin. Maps to `KafkaApis.handleHeartbeatRequest`.

use crate::protocol::messages::heartbeat::{HeartbeatRequest, HeartbeatResponse};
use crate::server::kafka_apis::{KafkaApis, RequestContext};

impl KafkaApis {
    pub(crate) async fn handle_heartbeat(&self, _ctx: &RequestContext, req: HeartbeatRequest) -> HeartbeatResponse {
        let code = self.group_coordinator.heartbeat(&req.group_id, &req.member_id, req.group_instance_id.as_deref(), req.generation_id);
        HeartbeatResponse { throttle_time_ms: 0, error_code: code, ..Default::default() }
    }
}
