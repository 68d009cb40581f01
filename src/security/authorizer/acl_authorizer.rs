//! AclAuthorizer: Kafka's `kafka.security.authorizer.AclAuthorizer` decision
//! over a cache of ACLs, without effects (the cache is filled and kept
//! current by `zk_acl_store`).
//!
//! For a request by `principal` from `host` to do `operation` on a
//! resource: super users are allowed; otherwise the ACLs that apply are
//! those on the literal name, on the literal wildcard `*` and on every
//! prefixed pattern the name starts with. With none at all, the answer is
//! `allow.everyone.if.no.acl.found`. Otherwise a matching Deny wins over any
//! Allow, and an Allow must match: principal (or `User:*`), host (or `*`)
//! and operation (or `All`); Describe is implied by Read, Write, Delete and
//! Alter, DescribeConfigs by AlterConfigs.

use super::{
    AccessControlEntry, AclBinding, AclBindingFilter, AclOperation, PatternType, PermissionType, ResourcePattern,
    ResourceType, WILDCARD_HOST, WILDCARD_PRINCIPAL, WILDCARD_RESOURCE,
};
use crate::security::KafkaPrincipal;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, RwLock};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthorizationResult {
    Allowed,
    Denied,
}

/// The ACLs of every resource pattern (Kafka's `aclCache`).
pub type AclCache = BTreeMap<ResourcePattern, BTreeSet<AccessControlEntry>>;

pub struct AclAuthorizer {
    super_users: HashSet<KafkaPrincipal>,
    allow_everyone_if_no_acl_found: bool,
    cache: RwLock<Arc<AclCache>>,
}

/// The operations an Allow for `op` also grants (`AclAuthorizer.allowAclExists`).
fn implying(op: AclOperation) -> &'static [AclOperation] {
    use AclOperation::*;
    match op {
        Describe => &[Describe, Read, Write, Delete, Alter],
        DescribeConfigs => &[DescribeConfigs, AlterConfigs],
        Read => &[Read],
        Write => &[Write],
        Create => &[Create],
        Delete => &[Delete],
        Alter => &[Alter],
        ClusterAction => &[ClusterAction],
        AlterConfigs => &[AlterConfigs],
        IdempotentWrite => &[IdempotentWrite],
        _ => &[],
    }
}

fn entry_matches(e: &AccessControlEntry, principal: &str, host: &str, op: AclOperation, perm: PermissionType) -> bool {
    e.permission_type == perm
        && (e.principal == principal || e.principal == WILDCARD_PRINCIPAL)
        && (e.operation == op || e.operation == AclOperation::All)
        && (e.host == host || e.host == WILDCARD_HOST)
}

impl AclAuthorizer {
    /// `super_users` is the `super.users` value (`User:a;User:b`).
    pub fn new(super_users: &str, allow_everyone_if_no_acl_found: bool) -> AclAuthorizer {
        let super_users = super_users.split(';').filter_map(|s| KafkaPrincipal::parse(s.trim())).collect();
        AclAuthorizer { super_users, allow_everyone_if_no_acl_found, cache: RwLock::new(Arc::new(AclCache::new())) }
    }

    /// The authorizer `authorizer.class.name` asks for, if any; an unknown
    /// class name is an error.
    pub fn from_config(get: impl Fn(&str) -> Option<String>) -> Result<Option<AclAuthorizer>, String> {
        let class = get("authorizer.class.name").unwrap_or_default();
        let class = class.trim();
        if class.is_empty() {
            return Ok(None);
        }
        if !super::AUTHORIZER_CLASS_NAMES.contains(&class) {
            return Err(format!(
                "authorizer.class.name={class} is not supported (use kafka.security.authorizer.AclAuthorizer)"
            ));
        }
        let allow = match get("allow.everyone.if.no.acl.found").as_deref().map(str::trim) {
            None | Some("") | Some("false") => false,
            Some("true") => true,
            Some(v) => return Err(format!("allow.everyone.if.no.acl.found={v} is not a boolean")),
        };
        Ok(Some(AclAuthorizer::new(&get("super.users").unwrap_or_default(), allow)))
    }

    pub fn is_super_user(&self, principal: &KafkaPrincipal) -> bool {
        self.super_users.contains(principal)
    }

    pub fn snapshot(&self) -> Arc<AclCache> {
        self.cache.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the ACLs of one pattern (empty: removes it), as Kafka's `updateCache`.
    pub fn update_resource(&self, pattern: ResourcePattern, entries: BTreeSet<AccessControlEntry>) {
        let mut guard = self.cache.write().unwrap_or_else(|p| p.into_inner());
        let cache = Arc::make_mut(&mut guard);
        if entries.is_empty() {
            cache.remove(&pattern);
        } else {
            cache.insert(pattern, entries);
        }
    }

    /// Replaces the whole cache (start-up load).
    pub fn replace_all(&self, all: AclCache) {
        *self.cache.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(all);
    }

    /// The ACLs applying to a resource: literal name, literal wildcard, and prefixes of the name.
    fn matching<'a>(cache: &'a AclCache, rt: ResourceType, name: &str) -> Vec<&'a AccessControlEntry> {
        let mut out = Vec::new();
        for n in [name, WILDCARD_RESOURCE] {
            if let Some(s) = cache.get(&ResourcePattern::new(rt, n, PatternType::Literal)) {
                out.extend(s.iter());
            }
            if name == WILDCARD_RESOURCE {
                break;
            }
        }
        for (p, s) in cache.range(ResourcePattern::new(rt, "", PatternType::Prefixed)..) {
            if p.resource_type != rt {
                break;
            }
            if p.pattern_type == PatternType::Prefixed && name.starts_with(&p.name) {
                out.extend(s.iter());
            }
        }
        out
    }

    /// Kafka's `authorize` for one action on a literal resource.
    pub fn authorize(
        &self,
        principal: &KafkaPrincipal,
        host: &str,
        operation: AclOperation,
        resource_type: ResourceType,
        name: &str,
    ) -> AuthorizationResult {
        if self.is_super_user(principal) {
            return AuthorizationResult::Allowed;
        }
        let cache = self.snapshot();
        let acls = Self::matching(&cache, resource_type, name);
        let allowed = if acls.is_empty() {
            self.allow_everyone_if_no_acl_found
        } else {
            let p = principal.to_string();
            let denied = acls.iter().any(|e| entry_matches(e, &p, host, operation, PermissionType::Deny));
            !denied
                && implying(operation)
                    .iter()
                    .any(|op| acls.iter().any(|e| entry_matches(e, &p, host, *op, PermissionType::Allow)))
        };
        if allowed {
            AuthorizationResult::Allowed
        } else {
            log::debug!("Principal = {principal} is Denied Operation = {operation:?} from host = {host} on resource = {resource_type:?}:LITERAL:{name}");
            AuthorizationResult::Denied
        }
    }

    /// Kafka's `authorizeByResourceType`: may the principal do `op` on at
    /// least one resource of this type (an Allow not cancelled by a Deny)?
    pub fn authorize_by_resource_type(
        &self,
        principal: &KafkaPrincipal,
        host: &str,
        op: AclOperation,
        rt: ResourceType,
    ) -> AuthorizationResult {
        if self.is_super_user(principal) {
            return AuthorizationResult::Allowed;
        }
        let cache = self.snapshot();
        let p = principal.to_string();
        let of = |perm: PermissionType, pt: PatternType| -> Vec<String> {
            cache
                .iter()
                .filter(|(k, s)| {
                    k.resource_type == rt && k.pattern_type == pt && s.iter().any(|e| entry_matches(e, &p, host, op, perm))
                })
                .map(|(k, _)| k.name.clone())
                .collect()
        };
        let deny_lit = of(PermissionType::Deny, PatternType::Literal);
        if deny_lit.iter().any(|n| n == WILDCARD_RESOURCE) {
            return AuthorizationResult::Denied;
        }
        if self.allow_everyone_if_no_acl_found {
            return AuthorizationResult::Allowed;
        }
        let deny_pre = of(PermissionType::Deny, PatternType::Prefixed);
        let allow_lit = of(PermissionType::Allow, PatternType::Literal);
        let allow_pre = of(PermissionType::Allow, PatternType::Prefixed);
        let ok_lit = allow_lit.iter().any(|n| !deny_lit.contains(n) && !deny_pre.iter().any(|d| n.starts_with(d.as_str())));
        let ok_pre = allow_pre.iter().any(|n| !deny_pre.iter().any(|d| n.starts_with(d.as_str())));
        if ok_lit || ok_pre {
            AuthorizationResult::Allowed
        } else {
            AuthorizationResult::Denied
        }
    }

    /// KIP-430's bitfield of the operations the principal may do on a
    /// resource (`AuthHelper.authorizedOperations`: bit `code` set for each
    /// supported operation that is allowed).
    pub fn authorized_operations(&self, principal: &KafkaPrincipal, host: &str, rt: ResourceType, name: &str) -> i32 {
        rt.supported_operations()
            .iter()
            .filter(|op| self.authorize(principal, host, **op, rt, name) == AuthorizationResult::Allowed)
            .fold(0, |bits, op| bits | (1 << op.code()))
    }

    /// The ACLs matching a filter (Kafka's `acls(filter)`).
    pub fn acls(&self, filter: &AclBindingFilter) -> Vec<AclBinding> {
        let cache = self.snapshot();
        let mut out = Vec::new();
        for (p, s) in cache.iter() {
            if !filter.matches_pattern(p) {
                continue;
            }
            for e in s {
                if filter.matches_entry(e) {
                    out.push(AclBinding { pattern: p.clone(), entry: e.clone() });
                }
            }
        }
        out
    }
}

/// The bitfield of every supported operation of a resource type (no authorizer configured).
pub fn all_operations(rt: ResourceType) -> i32 {
    rt.supported_operations().iter().fold(0, |bits, op| bits | (1 << op.code()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use AclOperation::*;
    use PermissionType::*;
    use ResourceType::*;

    fn acl(a: &AclAuthorizer, rt: ResourceType, name: &str, pt: PatternType, who: &str, host: &str, op: AclOperation, perm: PermissionType) {
        let p = ResourcePattern::new(rt, name, pt);
        let mut set = a.snapshot().get(&p).cloned().unwrap_or_default();
        set.insert(AccessControlEntry::new(who, host, op, perm));
        a.update_resource(p, set);
    }

    fn alice() -> KafkaPrincipal {
        KafkaPrincipal::user("alice")
    }

    const H: &str = "192.168.0.1";

    #[test]
    fn no_acls_follows_allow_everyone() {
        let a = AclAuthorizer::new("", false);
        assert_eq!(a.authorize(&alice(), H, Read, Topic, "t"), AuthorizationResult::Denied);
        let a = AclAuthorizer::new("", true);
        assert_eq!(a.authorize(&alice(), H, Read, Topic, "t"), AuthorizationResult::Allowed);
        // an ACL on the resource for someone else: no longer "no ACL found"
        acl(&a, Topic, "t", PatternType::Literal, "User:bob", "*", Read, Allow);
        assert_eq!(a.authorize(&alice(), H, Read, Topic, "t"), AuthorizationResult::Denied);
        assert_eq!(a.authorize(&alice(), H, Read, Topic, "u"), AuthorizationResult::Allowed);
    }

    #[test]
    fn super_users_bypass_everything() {
        let a = AclAuthorizer::new("User:admin; User:ops", false);
        acl(&a, Topic, "*", PatternType::Literal, "User:*", "*", All, Deny);
        assert_eq!(a.authorize(&KafkaPrincipal::user("admin"), H, Write, Topic, "t"), AuthorizationResult::Allowed);
        assert_eq!(a.authorize(&KafkaPrincipal::user("ops"), H, ClusterAction, Cluster, "kafka-cluster"), AuthorizationResult::Allowed);
        assert_eq!(a.authorize(&alice(), H, Write, Topic, "t"), AuthorizationResult::Denied);
    }

    #[test]
    fn literal_wildcard_and_prefixed_patterns() {
        let a = AclAuthorizer::new("", false);
        acl(&a, Topic, "orders", PatternType::Literal, "User:alice", "*", Read, Allow);
        acl(&a, Topic, "pay-", PatternType::Prefixed, "User:alice", "*", Write, Allow);
        acl(&a, Group, "*", PatternType::Literal, "User:alice", "*", Read, Allow);
        assert_eq!(a.authorize(&alice(), H, Read, Topic, "orders"), AuthorizationResult::Allowed);
        assert_eq!(a.authorize(&alice(), H, Read, Topic, "orders2"), AuthorizationResult::Denied);
        assert_eq!(a.authorize(&alice(), H, Write, Topic, "pay-1"), AuthorizationResult::Allowed);
        assert_eq!(a.authorize(&alice(), H, Write, Topic, "pay-"), AuthorizationResult::Allowed);
        assert_eq!(a.authorize(&alice(), H, Write, Topic, "pa"), AuthorizationResult::Denied);
        assert_eq!(a.authorize(&alice(), H, Read, Topic, "pay-1"), AuthorizationResult::Denied);
        assert_eq!(a.authorize(&alice(), H, Read, Group, "any-group"), AuthorizationResult::Allowed);
        // a prefix on another resource type does not apply
        assert_eq!(a.authorize(&alice(), H, Write, TransactionalId, "pay-1"), AuthorizationResult::Denied);
    }

    #[test]
    fn deny_overrides_allow() {
        let a = AclAuthorizer::new("", false);
        acl(&a, Topic, "t", PatternType::Literal, "User:alice", "*", All, Allow);
        acl(&a, Topic, "t", PatternType::Prefixed, "User:*", "*", Write, Deny);
        assert_eq!(a.authorize(&alice(), H, Read, Topic, "t"), AuthorizationResult::Allowed);
        assert_eq!(a.authorize(&alice(), H, Write, Topic, "t"), AuthorizationResult::Denied);
        assert_eq!(a.authorize(&alice(), H, Write, Topic, "t2"), AuthorizationResult::Denied);
        // a deny from another host does not apply here
        let b = AclAuthorizer::new("", false);
        acl(&b, Topic, "t", PatternType::Literal, "User:alice", "*", Read, Allow);
        acl(&b, Topic, "t", PatternType::Literal, "User:alice", "10.9.9.9", Read, Deny);
        assert_eq!(b.authorize(&alice(), H, Read, Topic, "t"), AuthorizationResult::Allowed);
        assert_eq!(b.authorize(&alice(), "10.9.9.9", Read, Topic, "t"), AuthorizationResult::Denied);
    }

    #[test]
    fn hosts_and_principals() {
        let a = AclAuthorizer::new("", false);
        acl(&a, Topic, "t", PatternType::Literal, "User:alice", "10.0.0.1", Read, Allow);
        acl(&a, Topic, "u", PatternType::Literal, "User:*", "*", Read, Allow);
        assert_eq!(a.authorize(&alice(), "10.0.0.1", Read, Topic, "t"), AuthorizationResult::Allowed);
        assert_eq!(a.authorize(&alice(), "10.0.0.2", Read, Topic, "t"), AuthorizationResult::Denied);
        assert_eq!(a.authorize(&KafkaPrincipal::user("bob"), "10.0.0.1", Read, Topic, "t"), AuthorizationResult::Denied);
        assert_eq!(a.authorize(&KafkaPrincipal::user("bob"), H, Read, Topic, "u"), AuthorizationResult::Allowed);
        // the principal type counts
        let other = KafkaPrincipal { principal_type: "Group".into(), name: "alice".into() };
        assert_eq!(a.authorize(&other, "10.0.0.1", Read, Topic, "t"), AuthorizationResult::Denied);
    }

    #[test]
    fn implied_operations() {
        let a = AclAuthorizer::new("", false);
        for (name, op) in [("r", Read), ("w", Write), ("d", Delete), ("a", Alter)] {
            acl(&a, Topic, name, PatternType::Literal, "User:alice", "*", op, Allow);
            assert_eq!(a.authorize(&alice(), H, Describe, Topic, name), AuthorizationResult::Allowed, "{op:?}");
        }
        acl(&a, Topic, "c", PatternType::Literal, "User:alice", "*", AlterConfigs, Allow);
        assert_eq!(a.authorize(&alice(), H, DescribeConfigs, Topic, "c"), AuthorizationResult::Allowed);
        assert_eq!(a.authorize(&alice(), H, Describe, Topic, "c"), AuthorizationResult::Denied);
        // Read does not imply Write, Describe does not imply Read
        assert_eq!(a.authorize(&alice(), H, Write, Topic, "r"), AuthorizationResult::Denied);
        acl(&a, Topic, "x", PatternType::Literal, "User:alice", "*", Describe, Allow);
        assert_eq!(a.authorize(&alice(), H, Read, Topic, "x"), AuthorizationResult::Denied);
        // a Deny Describe is not overridden by Read
        acl(&a, Topic, "r", PatternType::Literal, "User:alice", "*", Describe, Deny);
        assert_eq!(a.authorize(&alice(), H, Describe, Topic, "r"), AuthorizationResult::Denied);
        assert_eq!(a.authorize(&alice(), H, Read, Topic, "r"), AuthorizationResult::Allowed);
    }

    #[test]
    fn authorized_operations_bitfield() {
        let a = AclAuthorizer::new("", false);
        acl(&a, Topic, "t", PatternType::Literal, "User:alice", "*", Read, Allow);
        let bits = a.authorized_operations(&alice(), H, Topic, "t");
        assert_eq!(bits, (1 << Read.code()) | (1 << Describe.code()));
        assert_eq!(a.authorized_operations(&alice(), H, Topic, "none"), 0);
        assert_eq!(all_operations(Group), (1 << 3) | (1 << 8) | (1 << 6));
        let s = AclAuthorizer::new("User:alice", false);
        assert_eq!(s.authorized_operations(&alice(), H, Cluster, "kafka-cluster"), all_operations(Cluster));
    }

    #[test]
    fn by_resource_type() {
        let a = AclAuthorizer::new("", false);
        assert_eq!(a.authorize_by_resource_type(&alice(), H, Write, Topic), AuthorizationResult::Denied);
        acl(&a, Topic, "p-", PatternType::Prefixed, "User:alice", "*", Write, Allow);
        assert_eq!(a.authorize_by_resource_type(&alice(), H, Write, Topic), AuthorizationResult::Allowed);
        acl(&a, Topic, "p", PatternType::Prefixed, "User:alice", "*", Write, Deny);
        assert_eq!(a.authorize_by_resource_type(&alice(), H, Write, Topic), AuthorizationResult::Denied);
        let b = AclAuthorizer::new("", false);
        acl(&b, Topic, "x", PatternType::Literal, "User:*", "*", All, Allow);
        assert_eq!(b.authorize_by_resource_type(&alice(), H, Write, Topic), AuthorizationResult::Allowed);
        acl(&b, Topic, "*", PatternType::Literal, "User:alice", "*", Write, Deny);
        assert_eq!(b.authorize_by_resource_type(&alice(), H, Write, Topic), AuthorizationResult::Denied);
    }

    #[test]
    fn config_switch() {
        let cfg = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(a, _)| *a == k).map(|(_, v)| v.to_string())
        };
        assert!(AclAuthorizer::from_config(cfg(&[])).unwrap().is_none());
        let a = AclAuthorizer::from_config(cfg(&[
            ("authorizer.class.name", "kafka.security.auth.SimpleAclAuthorizer"),
            ("super.users", "User:admin"),
        ]))
        .unwrap()
        .unwrap();
        assert!(a.is_super_user(&KafkaPrincipal::user("admin")));
        assert!(AclAuthorizer::from_config(cfg(&[("authorizer.class.name", "com.example.Other")])).is_err());
        assert!(AclAuthorizer::from_config(cfg(&[
            ("authorizer.class.name", "kafka.security.authorizer.AclAuthorizer"),
            ("allow.everyone.if.no.acl.found", "yes"),
        ]))
        .is_err());
    }

    #[test]
    fn acls_by_filter() {
        let a = AclAuthorizer::new("", false);
        acl(&a, Topic, "t", PatternType::Literal, "User:alice", "*", Read, Allow);
        acl(&a, Group, "g", PatternType::Prefixed, "User:bob", "*", Read, Allow);
        assert_eq!(a.acls(&AclBindingFilter::ANY).len(), 2);
        let f = AclBindingFilter { resource_type: Group, ..AclBindingFilter::ANY };
        assert_eq!(a.acls(&f)[0].entry.principal, "User:bob");
    }
}
