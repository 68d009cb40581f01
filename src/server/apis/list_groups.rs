//! ListGroups handler: the groups this broker coordinates (filtered by state
//! from v4). Maps to `KafkaApis.handleListGroupsRequest`.

use crate::protocol::messages::list_groups::{ListGroupsRequest, ListGroupsResponse, ListedGroup};
use crate::server::kafka_apis::{KafkaApis, RequestContext};

impl KafkaApis {
    pub(crate) async fn handle_list_groups(&self, _ctx: &RequestContext, req: ListGroupsRequest) -> ListGroupsResponse {
        let (code, groups) = self.group_coordinator.list_groups(&req.states_filter);
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
