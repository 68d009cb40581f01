//! The admin client's ACL calls (Kafka's `Admin.describeAcls`, `createAcls`,
//! `deleteAcls`) over DescribeAcls, CreateAcls and DeleteAcls (keys 29-31, v2).

use super::KafkaClient;
use crate::protocol::messages::create_acls::{AclCreation, CreateAclsRequest, CreateAclsResponse};
use crate::protocol::messages::delete_acls::{DeleteAclsFilter, DeleteAclsRequest, DeleteAclsResponse};
use crate::protocol::messages::describe_acls::{DescribeAclsRequest, DescribeAclsResponse};
use crate::protocol::{error, ErrorCode};
use crate::security::authorizer::{
    AccessControlEntry, AclBinding, AclBindingFilter, AclOperation, PatternType, PermissionType, ResourcePattern, ResourceType,
};

const VERSION: i16 = 2;

/// An error the broker answered: code and message.
pub type ApiError = (ErrorCode, Option<String>);

fn check(code: ErrorCode, message: Option<String>) -> Result<(), ApiError> {
    if code == error::NONE {
        Ok(())
    } else {
        Err((code, message))
    }
}

impl KafkaClient {
    /// `describeAcls(filter)`: the ACLs matching a filter.
    pub async fn describe_acls(&mut self, f: &AclBindingFilter) -> Result<Result<Vec<AclBinding>, ApiError>, String> {
        let req = DescribeAclsRequest {
            resource_type_filter: f.resource_type.code(),
            resource_name_filter: f.name.clone(),
            pattern_type_filter: f.pattern_type.code(),
            principal_filter: f.principal.clone(),
            host_filter: f.host.clone(),
            operation: f.operation.code(),
            permission_type: f.permission_type.code(),
            ..Default::default()
        };
        let timeout = self.timeout();
        let resp: DescribeAclsResponse = self.send_any(VERSION, &req, timeout).await.map_err(|e| e.to_string())?;
        if let Err(e) = check(resp.error_code, resp.error_message) {
            return Ok(Err(e));
        }
        let mut out = Vec::new();
        for r in resp.resources {
            let pattern = ResourcePattern::new(ResourceType::from_code(r.resource_type), &r.resource_name, PatternType::from_code(r.pattern_type));
            for a in r.acls {
                out.push(AclBinding {
                    pattern: pattern.clone(),
                    entry: AccessControlEntry::new(
                        &a.principal,
                        &a.host,
                        AclOperation::from_code(a.operation),
                        PermissionType::from_code(a.permission_type),
                    ),
                });
            }
        }
        Ok(Ok(out))
    }

    /// `createAcls(bindings)`: one result per binding, in order.
    pub async fn create_acls(&mut self, bindings: &[AclBinding]) -> Result<Vec<Result<(), ApiError>>, String> {
        let req = CreateAclsRequest {
            creations: bindings
                .iter()
                .map(|b| AclCreation {
                    resource_type: b.pattern.resource_type.code(),
                    resource_name: b.pattern.name.clone(),
                    resource_pattern_type: b.pattern.pattern_type.code(),
                    principal: b.entry.principal.clone(),
                    host: b.entry.host.clone(),
                    operation: b.entry.operation.code(),
                    permission_type: b.entry.permission_type.code(),
                })
                .collect(),
            ..Default::default()
        };
        let timeout = self.timeout();
        let resp: CreateAclsResponse = self.send_any(VERSION, &req, timeout).await.map_err(|e| e.to_string())?;
        if resp.results.len() != bindings.len() {
            return Err(format!("CreateAcls answered {} results for {} ACLs", resp.results.len(), bindings.len()));
        }
        Ok(resp.results.into_iter().map(|r| check(r.error_code, r.error_message)).collect())
    }

    /// `deleteAcls(filters)`: per filter, the ACLs deleted or the error.
    pub async fn delete_acls(&mut self, filters: &[AclBindingFilter]) -> Result<Vec<Result<Vec<AclBinding>, ApiError>>, String> {
        let req = DeleteAclsRequest {
            filters: filters
                .iter()
                .map(|f| DeleteAclsFilter {
                    resource_type_filter: f.resource_type.code(),
                    resource_name_filter: f.name.clone(),
                    pattern_type_filter: f.pattern_type.code(),
                    principal_filter: f.principal.clone(),
                    host_filter: f.host.clone(),
                    operation: f.operation.code(),
                    permission_type: f.permission_type.code(),
                })
                .collect(),
            ..Default::default()
        };
        let timeout = self.timeout();
        let resp: DeleteAclsResponse = self.send_any(VERSION, &req, timeout).await.map_err(|e| e.to_string())?;
        if resp.filter_results.len() != filters.len() {
            return Err(format!("DeleteAcls answered {} results for {} filters", resp.filter_results.len(), filters.len()));
        }
        Ok(resp
            .filter_results
            .into_iter()
            .map(|r| {
                check(r.error_code, r.error_message)?;
                Ok(r.matching_acls
                    .into_iter()
                    .map(|m| AclBinding {
                        pattern: ResourcePattern::new(ResourceType::from_code(m.resource_type), &m.resource_name, PatternType::from_code(m.pattern_type)),
                        entry: AccessControlEntry::new(
                            &m.principal,
                            &m.host,
                            AclOperation::from_code(m.operation),
                            PermissionType::from_code(m.permission_type),
                        ),
                    })
                    .collect())
            })
            .collect())
    }
}
