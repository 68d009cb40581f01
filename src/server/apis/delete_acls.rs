//! DeleteAcls handler: removes the ACLs matching each filter from ZooKeeper
//! (and this broker's cache) and returns them; needs Alter on the cluster.
//! Maps to `KafkaApis.handleDeleteAcls` and `AclAuthorizer.deleteAcls`.

use crate::protocol::error;
use crate::protocol::messages::delete_acls::{DeleteAclsFilterResult, DeleteAclsMatchingAcl, DeleteAclsRequest, DeleteAclsResponse};
use crate::security::authorizer::{zk_acl_store, AclOperation, PatternType};
use crate::server::apis::describe_acls::filter_from_wire;
use crate::server::kafka_apis::{KafkaApis, RequestContext};

impl KafkaApis {
    pub(crate) async fn handle_delete_acls(&self, ctx: &RequestContext, req: DeleteAclsRequest) -> DeleteAclsResponse {
        let all = |code, msg: &str| DeleteAclsResponse {
            filter_results: req
                .filters
                .iter()
                .map(|_| DeleteAclsFilterResult { error_code: code, error_message: Some(msg.to_string()), matching_acls: Vec::new() })
                .collect(),
            ..Default::default()
        };
        if !self.authorize_cluster(ctx, AclOperation::Alter) {
            return all(error::CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.");
        }
        let Some(authorizer) = self.authorizer.get() else {
            return all(error::SECURITY_DISABLED, "No Authorizer is configured on the broker.");
        };
        let mut filters = Vec::new();
        let mut invalid = Vec::new();
        for (i, f) in req.filters.iter().enumerate() {
            match filter_from_wire(
                f.resource_type_filter,
                f.resource_name_filter.clone(),
                f.pattern_type_filter,
                f.principal_filter.clone(),
                f.host_filter.clone(),
                f.operation,
                f.permission_type,
            ) {
                Ok(f) => filters.push((i, f)),
                Err(m) => invalid.push((i, m)),
            }
        }
        let only: Vec<_> = filters.iter().map(|(_, f)| f.clone()).collect();
        let mut results: Vec<DeleteAclsFilterResult> = vec![DeleteAclsFilterResult::default(); req.filters.len()];
        for (i, m) in invalid {
            results[i] = DeleteAclsFilterResult { error_code: error::INVALID_REQUEST, error_message: Some(m), matching_acls: Vec::new() };
        }
        match zk_acl_store::remove_acls(&self.zk, &only, Some(authorizer)).await {
            Ok(removed) => {
                for ((i, _), bindings) in filters.iter().zip(removed) {
                    results[*i].matching_acls = bindings
                        .into_iter()
                        .filter(|b| ctx.api_version >= 1 || b.pattern.pattern_type == PatternType::Literal)
                        .map(|b| DeleteAclsMatchingAcl {
                            resource_type: b.pattern.resource_type.code(),
                            resource_name: b.pattern.name,
                            pattern_type: b.pattern.pattern_type.code(),
                            principal: b.entry.principal,
                            host: b.entry.host,
                            operation: b.entry.operation.code(),
                            permission_type: b.entry.permission_type.code(),
                            ..Default::default()
                        })
                        .collect();
                }
            }
            Err(e) => {
                log::warn!("DeleteAcls failed: {e}");
                for (i, _) in &filters {
                    results[*i].error_code = error::UNKNOWN_SERVER_ERROR;
                    results[*i].error_message = Some(e.to_string());
                }
            }
        }
        DeleteAclsResponse { filter_results: results, ..Default::default() }
    }
}
