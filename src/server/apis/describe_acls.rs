//! DescribeAcls handler: the authorizer's ACLs matching a filter, grouped
//! by resource pattern; needs Describe on the cluster. Maps to
//! `KafkaApis.handleDescribeAcls`.

use crate::protocol::error;
use crate::protocol::messages::describe_acls::{AclDescription, DescribeAclsRequest, DescribeAclsResource, DescribeAclsResponse};
use crate::security::authorizer::{AclBindingFilter, AclOperation, PatternType, PermissionType, ResourceType};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use std::collections::BTreeMap;

/// A wire filter as Kafka's `AclBindingFilter`; `Err` for a filter with
/// UNKNOWN values (Kafka's `DescribeAclsRequest.validate`).
pub fn filter_from_wire(
    resource_type: i8,
    name: Option<String>,
    pattern_type: i8,
    principal: Option<String>,
    host: Option<String>,
    operation: i8,
    permission_type: i8,
) -> Result<AclBindingFilter, String> {
    let f = AclBindingFilter {
        resource_type: ResourceType::from_code(resource_type),
        name,
        pattern_type: PatternType::from_code(pattern_type),
        principal,
        host,
        operation: AclOperation::from_code(operation),
        permission_type: PermissionType::from_code(permission_type),
    };
    if f.resource_type == ResourceType::Unknown {
        return Err("Filter contains UNKNOWN elements".to_string());
    }
    if f.pattern_type == PatternType::Unknown || f.operation == AclOperation::Unknown || f.permission_type == PermissionType::Unknown {
        return Err("Filter contains UNKNOWN elements".to_string());
    }
    Ok(f)
}

impl KafkaApis {
    pub(crate) async fn handle_describe_acls(&self, ctx: &RequestContext, req: DescribeAclsRequest) -> DescribeAclsResponse {
        let fail = |code, msg: &str| DescribeAclsResponse { error_code: code, error_message: Some(msg.to_string()), ..Default::default() };
        if !self.authorize_cluster(ctx, AclOperation::Describe) {
            return fail(error::CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.");
        }
        let Some(authorizer) = self.authorizer.get() else {
            return fail(error::SECURITY_DISABLED, "No Authorizer is configured on the broker");
        };
        let filter = match filter_from_wire(
            req.resource_type_filter,
            req.resource_name_filter,
            req.pattern_type_filter,
            req.principal_filter,
            req.host_filter,
            req.operation,
            req.permission_type,
        ) {
            Ok(f) => f,
            Err(m) => return fail(error::INVALID_REQUEST, &m),
        };
        let mut by_pattern: BTreeMap<(i8, String, i8), Vec<AclDescription>> = BTreeMap::new();
        for b in authorizer.acls(&filter) {
            by_pattern
                .entry((b.pattern.resource_type.code(), b.pattern.name.clone(), b.pattern.pattern_type.code()))
                .or_default()
                .push(AclDescription {
                    principal: b.entry.principal,
                    host: b.entry.host,
                    operation: b.entry.operation.code(),
                    permission_type: b.entry.permission_type.code(),
                });
        }
        // v0 knows literal patterns only.
        let resources = by_pattern
            .into_iter()
            .filter(|((_, _, pt), _)| ctx.api_version >= 1 || *pt == PatternType::Literal.code())
            .map(|((resource_type, resource_name, pattern_type), acls)| DescribeAclsResource { resource_type, resource_name, pattern_type, acls })
            .collect();
        DescribeAclsResponse { resources, ..Default::default() }
    }
}
