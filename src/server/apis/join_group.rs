//! JoinGroup handler: hands the join to the GroupCoordinator and waits for
//! the rebalance to answer it. Maps to `KafkaApis.handleJoinGroupRequest`.

use crate::security::authorizer::{AclOperation, ResourceType};
use crate::coordinator::group_metadata::JoinRequest;
use crate::protocol::error;
use crate::protocol::messages::join_group::{JoinGroupRequest, JoinGroupResponse, JoinGroupResponseMember};
use crate::server::kafka_apis::{KafkaApis, RequestContext};

impl KafkaApis {
    pub(crate) async fn handle_join_group(&self, ctx: &RequestContext, req: JoinGroupRequest) -> JoinGroupResponse {
        let v = ctx.api_version;
        if req.group_instance_id.is_some() && v < 5 {
            return JoinGroupResponse { error_code: error::UNSUPPORTED_VERSION, ..Default::default() };
        }
        if !self.authorize(ctx, AclOperation::Read, ResourceType::Group, &req.group_id) {
            return JoinGroupResponse { error_code: error::GROUP_AUTHORIZATION_FAILED, generation_id: -1, ..Default::default() };
        }
        let join = JoinRequest {
            member_id: req.member_id.clone(),
            group_instance_id: req.group_instance_id.clone(),
            require_known_member_id: v >= 4,
            client_id: ctx.client_id().to_string(),
            client_host: format!("/{}", ctx.peer.ip()),
            rebalance_timeout_ms: if v == 0 { req.session_timeout_ms } else { req.rebalance_timeout_ms },
            session_timeout_ms: req.session_timeout_ms,
            protocol_type: req.protocol_type.clone(),
            protocols: req.protocols.iter().map(|p| (p.name.clone(), p.metadata.clone())).collect(),
        };
        let r = self.group_coordinator.join_group(&req.group_id, join).await;
        JoinGroupResponse {
            throttle_time_ms: 0,
            error_code: r.error,
            generation_id: r.generation_id,
            protocol_type: r.protocol_type,
            // Before v7 the protocol name cannot be null.
            protocol_name: if v >= 7 { r.protocol_name } else { Some(r.protocol_name.unwrap_or_default()) },
            leader: r.leader_id,
            member_id: r.member_id,
            members: r
                .members
                .into_iter()
                .map(|(member_id, group_instance_id, metadata)| JoinGroupResponseMember { member_id, group_instance_id, metadata })
                .collect(),
            ..Default::default()
        }
    }
}
