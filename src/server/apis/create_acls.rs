//! CreateAcls handler: adds ACLs to ZooKeeper (and this broker's cache; the
//! others follow the change notification); needs Alter on the cluster.
//! Maps to `KafkaApis.handleCreateAcls` and `AclAuthorizer.createAcls`.

use crate::protocol::error;
use crate::protocol::messages::create_acls::{AclCreationResult, CreateAclsRequest, CreateAclsResponse};
use crate::security::authorizer::{
    zk_acl_store, AccessControlEntry, AclBinding, AclBindingFilter, AclOperation, PatternType, PermissionType, ResourcePattern,
    ResourceType, CLUSTER_NAME,
};
use crate::security::KafkaPrincipal;
use crate::server::kafka_apis::{KafkaApis, RequestContext};

impl KafkaApis {
    pub(crate) async fn handle_create_acls(&self, ctx: &RequestContext, req: CreateAclsRequest) -> CreateAclsResponse {
        let all = |code, msg: &str| CreateAclsResponse {
            results: req.creations.iter().map(|_| AclCreationResult { error_code: code, error_message: Some(msg.to_string()) }).collect(),
            ..Default::default()
        };
        if !self.authorize_cluster(ctx, AclOperation::Alter) {
            return all(error::CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.");
        }
        let Some(authorizer) = self.authorizer.get() else {
            return all(error::SECURITY_DISABLED, "No Authorizer is configured on the broker.");
        };
        let mut results: Vec<AclCreationResult> = Vec::with_capacity(req.creations.len());
        let mut valid: Vec<(usize, AclBinding)> = Vec::new();
        for (i, c) in req.creations.iter().enumerate() {
            let f = AclBindingFilter {
                resource_type: ResourceType::from_code(c.resource_type),
                name: Some(c.resource_name.clone()),
                pattern_type: PatternType::from_code(c.resource_pattern_type),
                principal: Some(c.principal.clone()),
                host: Some(c.host.clone()),
                operation: AclOperation::from_code(c.operation),
                permission_type: PermissionType::from_code(c.permission_type),
            };
            let problem = if let Some(why) = f.indefinite_field() {
                Some(why.to_string())
            } else if f.resource_type == ResourceType::Cluster && c.resource_name != CLUSTER_NAME {
                Some(format!("The only valid name for the CLUSTER resource is {CLUSTER_NAME}"))
            } else if c.resource_name.is_empty() {
                Some("Invalid empty resource name".to_string())
            } else if KafkaPrincipal::parse(&c.principal).is_none() {
                Some(format!("Failed to create ACL: invalid principal {}", c.principal))
            } else {
                None
            };
            match problem {
                Some(m) => results.push(AclCreationResult { error_code: error::INVALID_REQUEST, error_message: Some(m) }),
                None => {
                    results.push(AclCreationResult::default());
                    valid.push((
                        i,
                        AclBinding {
                            pattern: ResourcePattern::new(f.resource_type, &c.resource_name, f.pattern_type),
                            entry: AccessControlEntry::new(&c.principal, &c.host, f.operation, f.permission_type),
                        },
                    ));
                }
            }
        }
        let bindings: Vec<AclBinding> = valid.iter().map(|(_, b)| b.clone()).collect();
        if let Err(e) = zk_acl_store::add_acls(&self.zk, &bindings, Some(authorizer)).await {
            log::warn!("CreateAcls failed: {e}");
            for (i, _) in &valid {
                results[*i] = AclCreationResult { error_code: error::UNKNOWN_SERVER_ERROR, error_message: Some(e.to_string()) };
            }
        } else {
            for (_, b) in &valid {
                log::info!("Processing Acl change notification for {:?}, added {:?}", b.pattern, b.entry);
            }
        }
        CreateAclsResponse { results, ..Default::default() }
    }
}
