//! SyncGroup handler: members wait for the leader's assignment; the
//! coordinator persists it before answering. Maps to `KafkaApis.handleSyncGroupRequest`.

use crate::security::authorizer::{AclOperation, ResourceType};
use crate::protocol::error;
use crate::protocol::messages::sync_group::{SyncGroupRequest, SyncGroupResponse};
use crate::server::kafka_apis::{KafkaApis, RequestContext};

impl KafkaApis {
    pub(crate) async fn handle_sync_group(&self, ctx: &RequestContext, req: SyncGroupRequest) -> SyncGroupResponse {
        if req.group_instance_id.is_some() && ctx.api_version < 3 {
            return SyncGroupResponse { error_code: error::UNSUPPORTED_VERSION, ..Default::default() };
        }
        if !self.authorize(ctx, AclOperation::Read, ResourceType::Group, &req.group_id) {
            return SyncGroupResponse { error_code: error::GROUP_AUTHORIZATION_FAILED, ..Default::default() };
        }
        let assignments = req.assignments.into_iter().map(|a| (a.member_id, a.assignment)).collect();
        let r = self
            .group_coordinator
            .sync_group(
                &req.group_id,
                req.generation_id,
                &req.member_id,
                req.group_instance_id.as_deref(),
                req.protocol_type.as_deref(),
                req.protocol_name.as_deref(),
                assignments,
            )
            .await;
        SyncGroupResponse {
            throttle_time_ms: 0,
            error_code: r.error,
            protocol_type: r.protocol_type,
            protocol_name: r.protocol_name,
            assignment: r.assignment,
            ..Default::default()
        }
    }
}
