//! DescribeGroups handler: state, protocol and members of each group (member
//! metadata and assignments only while Stable; unknown groups are Dead).
//! Maps to `KafkaApis.handleDescribeGroupRequest`.

use crate::protocol::error;
use crate::protocol::messages::describe_groups::{DescribeGroupsRequest, DescribeGroupsResponse, DescribedGroup, DescribedGroupMember};
use crate::server::kafka_apis::{KafkaApis, RequestContext};

impl KafkaApis {
    pub(crate) async fn handle_describe_groups(&self, _ctx: &RequestContext, req: DescribeGroupsRequest) -> DescribeGroupsResponse {
        let groups = req
            .groups
            .iter()
            .map(|id| match self.group_coordinator.describe_group(id) {
                Ok(s) => DescribedGroup {
                    error_code: error::NONE,
                    group_id: id.clone(),
                    group_state: s.state,
                    protocol_type: s.protocol_type,
                    protocol_data: s.protocol,
                    members: s
                        .members
                        .into_iter()
                        .map(|(member_id, group_instance_id, client_id, client_host, member_metadata, member_assignment)| DescribedGroupMember {
                            member_id,
                            group_instance_id,
                            client_id,
                            client_host,
                            member_metadata,
                            member_assignment,
                        })
                        .collect(),
                    ..Default::default()
                },
                Err(code) => DescribedGroup { error_code: code, group_id: id.clone(), group_state: "Dead".into(), ..Default::default() },
            })
            .collect();
        DescribeGroupsResponse { throttle_time_ms: 0, groups, ..Default::default() }
    }
}
