//! DeleteGroups handler: removes Empty groups with their offsets
//! (NON_EMPTY_GROUP otherwise, GROUP_ID_NOT_FOUND for unknown ones). Maps to
//! `KafkaApis.handleDeleteGroupsRequest`.

use crate::security::authorizer::{AclOperation, ResourceType};
use crate::protocol::messages::delete_groups::{DeletableGroupResult, DeleteGroupsRequest, DeleteGroupsResponse};
use crate::server::kafka_apis::{KafkaApis, RequestContext};

impl KafkaApis {
    pub(crate) async fn handle_delete_groups(&self, ctx: &RequestContext, req: DeleteGroupsRequest) -> DeleteGroupsResponse {
        let mut results = Vec::with_capacity(req.groups_names.len());
        for g in req.groups_names {
            let error_code = if self.authorize(ctx, AclOperation::Delete, ResourceType::Group, &g) {
                self.group_coordinator.delete_group(&g).await
            } else {
                crate::protocol::error::GROUP_AUTHORIZATION_FAILED
            };
            results.push(DeletableGroupResult { group_id: g, error_code });
        }
        DeleteGroupsResponse { throttle_time_ms: 0, results, ..Default::default() }
    }
}
