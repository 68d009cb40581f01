//! DescribeGroups handler: state, protocol and members of each group (member
//! metadata and assignments only while Stable; unknown groups are Dead).
//! Maps to `KafkaApis.handleDescribeGroupRequest`.

use crate::security::authorizer::{AclOperation, ResourceType};
use crate::protocol::error;
use crate::protocol::messages::describe_groups::{DescribeGroupsRequest, DescribeGroupsResponse, DescribedGroup, DescribedGroupMember};
use crate::server::kafka_apis::{KafkaApis, RequestContext};

impl KafkaApis {
    pub(crate) async fn handle_describe_groups(&self, ctx: &RequestContext, req: DescribeGroupsRequest) -> DescribeGroupsResponse {
        let groups = req
            .groups
            .iter()
            .map(|id| {
                // Kafka: Describe on each group; KIP-430's authorized operations on request.
                if !self.authorize(ctx, AclOperation::Describe, ResourceType::Group, id) {
                    return DescribedGroup { error_code: error::GROUP_AUTHORIZATION_FAILED, group_id: id.clone(), ..Default::default() };
                }
                let mut g = self.describe_one_group(id);
                if ctx.api_version >= 3 && req.include_authorized_operations {
                    g.authorized_operations = self.authorized_operations(ctx, ResourceType::Group, id);
                }
                g
            })
            .collect();
        DescribeGroupsResponse { throttle_time_ms: 0, groups, ..Default::default() }
    }

    fn describe_one_group(&self, id: &String) -> DescribedGroup {
            match self.group_coordinator.describe_group(id) {
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
            }
    }
}
