//! ListGroups handler: the groups this broker coordinates (filtered by state
//! from v4). Maps to `KafkaApis.handleListGroupsRequest`.

use crate::security::authorizer::{AclOperation, ResourceType};
use crate::protocol::messages::list_groups::{ListGroupsRequest, ListGroupsResponse, ListedGroup};
use crate::server::kafka_apis::{KafkaApis, RequestContext};

impl KafkaApis {
    pub(crate) async fn handle_list_groups(&self, ctx: &RequestContext, req: ListGroupsRequest) -> ListGroupsResponse {
        let (code, mut groups) = self.group_coordinator.list_groups(&req.states_filter);
        // Kafka: Describe on the cluster lists every group, else those the principal may Describe.
        if !self.authorize_cluster(ctx, AclOperation::Describe) {
            groups.retain(|(g, _, _)| self.authorize(ctx, AclOperation::Describe, ResourceType::Group, g));
        }
        ListGroupsResponse {
            error_code: code,
            groups: groups
                .into_iter()
                .map(|(group_id, protocol_type, group_state)| ListedGroup { group_id, protocol_type, group_state })
                .collect(),
            ..Default::default()
        }
    }
}
