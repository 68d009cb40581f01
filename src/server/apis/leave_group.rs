//! LeaveGroup handler: one member (v0-2) or a batch of members, possibly
//! named by `group.instance.id` (v3+). Maps to `KafkaApis.handleLeaveGroupRequest`.

use crate::security::authorizer::{AclOperation, ResourceType};
use crate::protocol::error;
use crate::protocol::messages::leave_group::{LeaveGroupRequest, LeaveGroupResponse, MemberResponse};
use crate::server::kafka_apis::{KafkaApis, RequestContext};

impl KafkaApis {
    pub(crate) async fn handle_leave_group(&self, ctx: &RequestContext, req: LeaveGroupRequest) -> LeaveGroupResponse {
        if !self.authorize(ctx, AclOperation::Read, ResourceType::Group, &req.group_id) {
            return LeaveGroupResponse { error_code: error::GROUP_AUTHORIZATION_FAILED, ..Default::default() };
        }
        let members: Vec<(String, Option<String>)> = if ctx.api_version <= 2 {
            vec![(req.member_id.clone(), None)]
        } else {
            req.members.iter().map(|m| (m.member_id.clone(), m.group_instance_id.clone())).collect()
        };
        let (top, errors) = self.group_coordinator.leave_group(&req.group_id, &members);
        if ctx.api_version <= 2 {
            let code = if top != error::NONE { top } else { errors.first().copied().unwrap_or(error::NONE) };
            return LeaveGroupResponse { error_code: code, ..Default::default() };
        }
        LeaveGroupResponse {
            error_code: top,
            members: members
                .into_iter()
                .zip(errors)
                .map(|((member_id, group_instance_id), error_code)| MemberResponse { member_id, group_instance_id, error_code })
                .collect(),
            ..Default::default()
        }
    }
}
