//! AuthHelper: the authorization calls request handlers make, as Kafka's
//! `kafka.server.AuthHelper` (2.8): `authorize`, `authorizeClusterOperation`,
//! `filterByAuthorized`, `authorizedOperations`, `authorizeByResourceType`.
//! Without an authorizer (`authorizer.class.name` unset) everything is
//! allowed. The decision itself is `security::authorizer::AclAuthorizer`.

use crate::security::authorizer::acl_authorizer::all_operations;
use crate::security::authorizer::{AclOperation, AuthorizationResult, ResourceType, CLUSTER_NAME};
use crate::server::kafka_apis::{KafkaApis, RequestContext};

/// The client's address as Kafka's `clientAddress.getHostAddress` (IPv4-mapped
/// IPv6 addresses as IPv4).
pub fn host_of(ctx: &RequestContext) -> String {
    ctx.session.peer.ip().to_canonical().to_string()
}

impl KafkaApis {
    /// May this request's principal, from its host, do `op` on the literal
    /// resource `rt`/`name`? Always true without an authorizer.
    pub fn authorize(&self, ctx: &RequestContext, op: AclOperation, rt: ResourceType, name: &str) -> bool {
        match self.authorizer.get() {
            None => true,
            Some(a) => a.authorize(&ctx.session.principal, &host_of(ctx), op, rt, name) == AuthorizationResult::Allowed,
        }
    }

    /// `authorize` on the Cluster resource (`authorizeClusterOperation`).
    pub fn authorize_cluster(&self, ctx: &RequestContext, op: AclOperation) -> bool {
        self.authorize(ctx, op, ResourceType::Cluster, CLUSTER_NAME)
    }

    /// Kafka's `authorizeByResourceType` (InitProducerId without a transactional id).
    pub fn authorize_by_resource_type(&self, ctx: &RequestContext, op: AclOperation, rt: ResourceType) -> bool {
        match self.authorizer.get() {
            None => true,
            Some(a) => a.authorize_by_resource_type(&ctx.session.principal, &host_of(ctx), op, rt) == AuthorizationResult::Allowed,
        }
    }

    /// The names among `names` the principal may `op` (`filterByAuthorized`).
    pub fn filter_authorized<'a, I>(&self, ctx: &RequestContext, op: AclOperation, rt: ResourceType, names: I) -> std::collections::HashSet<String>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let mut out = std::collections::HashSet::new();
        let mut seen = std::collections::HashSet::new();
        for n in names {
            if seen.insert(n) && self.authorize(ctx, op, rt, n) {
                out.insert(n.to_string());
            }
        }
        out
    }

    /// Kafka's check of a config resource (Describe/AlterConfigs,
    /// IncrementalAlterConfigs): topics on the topic, brokers and broker
    /// loggers on the cluster. The error to answer, if refused.
    pub fn config_resource_denied(&self, ctx: &RequestContext, op: AclOperation, resource_type: i8, name: &str) -> Option<crate::protocol::error::ErrorCode> {
        use crate::protocol::messages::describe_configs::{RESOURCE_BROKER, RESOURCE_BROKER_LOGGER, RESOURCE_TOPIC};
        let (rt, name) = match resource_type {
            RESOURCE_TOPIC => (ResourceType::Topic, name),
            RESOURCE_BROKER | RESOURCE_BROKER_LOGGER => (ResourceType::Cluster, CLUSTER_NAME),
            _ => return None,
        };
        (!self.authorize(ctx, op, rt, name)).then(|| rt.authorization_error())
    }

    /// KIP-430's bitfield of the operations allowed on a resource; every
    /// supported operation without an authorizer.
    pub fn authorized_operations(&self, ctx: &RequestContext, rt: ResourceType, name: &str) -> i32 {
        match self.authorizer.get() {
            None => all_operations(rt),
            Some(a) => a.authorized_operations(&ctx.session.principal, &host_of(ctx), rt, name),
        }
    }
}
