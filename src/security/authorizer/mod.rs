//! ACL vocabulary: Kafka's `ResourceType`, `AclOperation`, `PatternType`,
//! `AclPermissionType`, `ResourcePattern`, `AccessControlEntry`, `AclBinding`
//! and `AclBindingFilter` (org.apache.kafka.common.acl / .resource), with their
//! wire codes, the names Kafka writes to ZooKeeper (`SecurityUtils`), and the
//! ZooKeeper layout of `ZkAclStore` / `ZkAclChangeStore` (`ZkData.scala`).
//!
//! `acl_authorizer` holds the decision (Kafka's `AclAuthorizer`), pure;
//! `zk_acl_store` reads and writes the ACL znodes and follows the change
//! notifications.

pub mod acl_authorizer;
pub mod zk_acl_store;

pub use acl_authorizer::{AclAuthorizer, AuthorizationResult};

/// The resource name of the single Cluster resource (`Resource.CLUSTER_NAME`).
pub const CLUSTER_NAME: &str = "kafka-cluster";
/// `ResourcePattern.WILDCARD_RESOURCE`.
pub const WILDCARD_RESOURCE: &str = "*";
/// `AclEntry.WildcardHost`.
pub const WILDCARD_HOST: &str = "*";
/// `AclEntry.WildcardPrincipalString`.
pub const WILDCARD_PRINCIPAL: &str = "User:*";

/// The accepted values of `authorizer.class.name` that switch the ACL authorizer on.
pub const AUTHORIZER_CLASS_NAMES: &[&str] =
    &["kafka.security.authorizer.AclAuthorizer", "kafka.security.auth.SimpleAclAuthorizer"];

/// Kafka's `ResourceType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceType {
    Unknown = 0,
    Any = 1,
    Topic = 2,
    Group = 3,
    Cluster = 4,
    TransactionalId = 5,
    DelegationToken = 6,
}

impl ResourceType {
    pub const CONCRETE: [ResourceType; 5] = [
        ResourceType::Topic,
        ResourceType::Group,
        ResourceType::Cluster,
        ResourceType::TransactionalId,
        ResourceType::DelegationToken,
    ];

    pub fn code(self) -> i8 {
        self as i8
    }

    pub fn from_code(c: i8) -> ResourceType {
        use ResourceType::*;
        match c {
            1 => Any,
            2 => Topic,
            3 => Group,
            4 => Cluster,
            5 => TransactionalId,
            6 => DelegationToken,
            _ => Unknown,
        }
    }

    /// `SecurityUtils.resourceTypeName`: the camel-case name of ZooKeeper paths and tool output.
    pub fn name(self) -> &'static str {
        use ResourceType::*;
        match self {
            Unknown => "Unknown",
            Any => "Any",
            Topic => "Topic",
            Group => "Group",
            Cluster => "Cluster",
            TransactionalId => "TransactionalId",
            DelegationToken => "DelegationToken",
        }
    }

    /// The Java enum name (`TOPIC`, `TRANSACTIONAL_ID`), as the change notifications carry it.
    pub fn enum_name(self) -> &'static str {
        use ResourceType::*;
        match self {
            Unknown => "UNKNOWN",
            Any => "ANY",
            Topic => "TOPIC",
            Group => "GROUP",
            Cluster => "CLUSTER",
            TransactionalId => "TRANSACTIONAL_ID",
            DelegationToken => "DELEGATION_TOKEN",
        }
    }

    /// Parses either spelling, case-insensitively (`Topic`, `TOPIC`,
    /// `TransactionalId`, `TRANSACTIONAL_ID`).
    pub fn parse(s: &str) -> Option<ResourceType> {
        let norm: String = s.chars().filter(|c| *c != '_').collect::<String>().to_ascii_lowercase();
        Self::CONCRETE.into_iter().chain([ResourceType::Any]).find(|t| t.name().to_ascii_lowercase() == norm)
    }

    /// `AclEntry.supportedOperations`.
    pub fn supported_operations(self) -> &'static [AclOperation] {
        use AclOperation::*;
        match self {
            ResourceType::Topic => &[Read, Write, Create, Describe, Delete, Alter, DescribeConfigs, AlterConfigs],
            ResourceType::Group => &[Read, Describe, Delete],
            ResourceType::Cluster => &[Create, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, Alter, Describe],
            ResourceType::TransactionalId => &[Describe, Write],
            ResourceType::DelegationToken => &[Describe],
            _ => &[],
        }
    }

    /// `AclEntry.authorizationError`.
    pub fn authorization_error(self) -> crate::protocol::error::ErrorCode {
        use crate::protocol::error::*;
        match self {
            ResourceType::Topic => TOPIC_AUTHORIZATION_FAILED,
            ResourceType::Group => GROUP_AUTHORIZATION_FAILED,
            ResourceType::TransactionalId => TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            ResourceType::DelegationToken => DELEGATION_TOKEN_AUTHORIZATION_FAILED,
            _ => CLUSTER_AUTHORIZATION_FAILED,
        }
    }
}

/// The default message of Kafka's authorization exceptions (`Errors`).
pub fn authorization_error_message(code: crate::protocol::error::ErrorCode) -> &'static str {
    use crate::protocol::error::*;
    match code {
        TOPIC_AUTHORIZATION_FAILED => "Topic authorization failed.",
        GROUP_AUTHORIZATION_FAILED => "Group authorization failed.",
        TRANSACTIONAL_ID_AUTHORIZATION_FAILED => "Transactional Id authorization failed.",
        DELEGATION_TOKEN_AUTHORIZATION_FAILED => "Delegation Token authorization failed.",
        _ => "Cluster authorization failed.",
    }
}

/// Kafka's `AclOperation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AclOperation {
    Unknown = 0,
    Any = 1,
    All = 2,
    Read = 3,
    Write = 4,
    Create = 5,
    Delete = 6,
    Alter = 7,
    Describe = 8,
    ClusterAction = 9,
    DescribeConfigs = 10,
    AlterConfigs = 11,
    IdempotentWrite = 12,
}

impl AclOperation {
    /// The concrete operations plus `All` (what an ACL may carry).
    pub const ACL_OPERATIONS: [AclOperation; 11] = [
        AclOperation::All,
        AclOperation::Read,
        AclOperation::Write,
        AclOperation::Create,
        AclOperation::Delete,
        AclOperation::Alter,
        AclOperation::Describe,
        AclOperation::ClusterAction,
        AclOperation::DescribeConfigs,
        AclOperation::AlterConfigs,
        AclOperation::IdempotentWrite,
    ];

    pub fn code(self) -> i8 {
        self as i8
    }

    pub fn from_code(c: i8) -> AclOperation {
        if c == 1 {
            return AclOperation::Any;
        }
        Self::ACL_OPERATIONS.into_iter().find(|o| o.code() == c).unwrap_or(AclOperation::Unknown)
    }

    /// `SecurityUtils.operationName` (`Read`, `ClusterAction`, ...).
    pub fn name(self) -> &'static str {
        use AclOperation::*;
        match self {
            Unknown => "Unknown",
            Any => "Any",
            All => "All",
            Read => "Read",
            Write => "Write",
            Create => "Create",
            Delete => "Delete",
            Alter => "Alter",
            Describe => "Describe",
            ClusterAction => "ClusterAction",
            DescribeConfigs => "DescribeConfigs",
            AlterConfigs => "AlterConfigs",
            IdempotentWrite => "IdempotentWrite",
        }
    }

    /// The Java enum name (`READ`, `CLUSTER_ACTION`), as `AccessControlEntry.toString` prints it.
    pub fn enum_name(self) -> &'static str {
        use AclOperation::*;
        match self {
            Unknown => "UNKNOWN",
            Any => "ANY",
            All => "ALL",
            Read => "READ",
            Write => "WRITE",
            Create => "CREATE",
            Delete => "DELETE",
            Alter => "ALTER",
            Describe => "DESCRIBE",
            ClusterAction => "CLUSTER_ACTION",
            DescribeConfigs => "DESCRIBE_CONFIGS",
            AlterConfigs => "ALTER_CONFIGS",
            IdempotentWrite => "IDEMPOTENT_WRITE",
        }
    }

    /// Either spelling, case-insensitively.
    pub fn parse(s: &str) -> Option<AclOperation> {
        let norm: String = s.chars().filter(|c| *c != '_').collect::<String>().to_ascii_lowercase();
        Self::ACL_OPERATIONS.into_iter().find(|o| o.name().to_ascii_lowercase() == norm)
    }
}

/// Kafka's `PatternType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PatternType {
    Unknown = 0,
    Any = 1,
    Match = 2,
    Literal = 3,
    Prefixed = 4,
}

impl PatternType {
    pub fn code(self) -> i8 {
        self as i8
    }

    pub fn from_code(c: i8) -> PatternType {
        match c {
            1 => PatternType::Any,
            2 => PatternType::Match,
            3 => PatternType::Literal,
            4 => PatternType::Prefixed,
            _ => PatternType::Unknown,
        }
    }

    /// The Java enum name (`LITERAL`, `PREFIXED`).
    pub fn enum_name(self) -> &'static str {
        match self {
            PatternType::Unknown => "UNKNOWN",
            PatternType::Any => "ANY",
            PatternType::Match => "MATCH",
            PatternType::Literal => "LITERAL",
            PatternType::Prefixed => "PREFIXED",
        }
    }

    pub fn parse(s: &str) -> Option<PatternType> {
        match s.to_ascii_uppercase().as_str() {
            "ANY" => Some(PatternType::Any),
            "MATCH" => Some(PatternType::Match),
            "LITERAL" => Some(PatternType::Literal),
            "PREFIXED" => Some(PatternType::Prefixed),
            _ => None,
        }
    }

    /// A pattern type an ACL can be stored with.
    pub fn is_specific(self) -> bool {
        matches!(self, PatternType::Literal | PatternType::Prefixed)
    }
}

/// Kafka's `AclPermissionType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PermissionType {
    Unknown = 0,
    Any = 1,
    Deny = 2,
    Allow = 3,
}

impl PermissionType {
    pub fn code(self) -> i8 {
        self as i8
    }

    pub fn from_code(c: i8) -> PermissionType {
        match c {
            1 => PermissionType::Any,
            2 => PermissionType::Deny,
            3 => PermissionType::Allow,
            _ => PermissionType::Unknown,
        }
    }

    /// `SecurityUtils.permissionTypeName` (`Allow`, `Deny`).
    pub fn name(self) -> &'static str {
        match self {
            PermissionType::Unknown => "Unknown",
            PermissionType::Any => "Any",
            PermissionType::Deny => "Deny",
            PermissionType::Allow => "Allow",
        }
    }

    pub fn enum_name(self) -> &'static str {
        match self {
            PermissionType::Unknown => "UNKNOWN",
            PermissionType::Any => "ANY",
            PermissionType::Deny => "DENY",
            PermissionType::Allow => "ALLOW",
        }
    }

    pub fn parse(s: &str) -> Option<PermissionType> {
        match s.to_ascii_lowercase().as_str() {
            "allow" => Some(PermissionType::Allow),
            "deny" => Some(PermissionType::Deny),
            _ => None,
        }
    }
}

/// Kafka's `ResourcePattern`: a resource type, a name and how the name matches.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourcePattern {
    pub resource_type: ResourceType,
    pub name: String,
    pub pattern_type: PatternType,
}

impl ResourcePattern {
    pub fn new(resource_type: ResourceType, name: &str, pattern_type: PatternType) -> ResourcePattern {
        ResourcePattern { resource_type, name: name.to_string(), pattern_type }
    }

    /// The znode holding this pattern's ACLs (`ResourceZNode.path`).
    pub fn zk_path(&self) -> String {
        format!("{}/{}/{}", acl_root(self.pattern_type), self.resource_type.name(), self.name)
    }
}

/// The root of a pattern type's ACL znodes (`LiteralAclStore` / `ExtendedAclStore`).
pub fn acl_root(pattern_type: PatternType) -> &'static str {
    match pattern_type {
        PatternType::Prefixed => "/kafka-acl-extended/prefixed",
        _ => "/kafka-acl",
    }
}

/// The change-notification directory of a pattern type's store.
pub fn acl_change_root(pattern_type: PatternType) -> &'static str {
    match pattern_type {
        PatternType::Prefixed => EXTENDED_ACL_CHANGES_PATH,
        _ => LITERAL_ACL_CHANGES_PATH,
    }
}

pub const LITERAL_ACL_CHANGES_PATH: &str = "/kafka-acl-changes";
pub const EXTENDED_ACL_CHANGES_PATH: &str = "/kafka-acl-extended-changes";
/// `ZkAclChangeStore.SequenceNumberPrefix`.
pub const ACL_CHANGE_PREFIX: &str = "acl_changes_";

/// The bytes of a change notification for `pattern` (`LiteralAclChangeStore.encode`:
/// `TOPIC:name`; `ExtendedAclChangeStore.encode`: a version-1 JSON event).
pub fn encode_change_notification(pattern: &ResourcePattern) -> Vec<u8> {
    if pattern.pattern_type == PatternType::Literal {
        format!("{}:{}", pattern.resource_type.enum_name(), pattern.name).into_bytes()
    } else {
        serde_json::json!({
            "version": 1,
            "resourceType": pattern.resource_type.enum_name(),
            "name": pattern.name,
            "patternType": pattern.pattern_type.enum_name(),
        })
        .to_string()
        .into_bytes()
    }
}

/// Decodes a change notification of the store at `change_root`; `None` for
/// bytes Kafka would reject.
pub fn decode_change_notification(change_root: &str, bytes: &[u8]) -> Option<ResourcePattern> {
    let s = std::str::from_utf8(bytes).ok()?;
    if change_root == LITERAL_ACL_CHANGES_PATH {
        let (t, name) = s.split_once(':')?;
        return Some(ResourcePattern::new(ResourceType::parse(t)?, name, PatternType::Literal));
    }
    let v: serde_json::Value = serde_json::from_str(s).ok()?;
    if v.get("version")?.as_i64()? > 1 {
        return None;
    }
    let t = ResourceType::parse(v.get("resourceType")?.as_str()?)?;
    let p = PatternType::parse(v.get("patternType")?.as_str()?)?;
    if !p.is_specific() {
        return None;
    }
    Some(ResourcePattern::new(t, v.get("name")?.as_str()?, p))
}

/// Kafka's `AccessControlEntry`: who, from where, what, allowed or denied.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccessControlEntry {
    /// `User:alice`, `User:*`.
    pub principal: String,
    pub host: String,
    pub operation: AclOperation,
    pub permission_type: PermissionType,
}

impl AccessControlEntry {
    pub fn new(principal: &str, host: &str, operation: AclOperation, permission_type: PermissionType) -> Self {
        AccessControlEntry { principal: principal.to_string(), host: host.to_string(), operation, permission_type }
    }
}

/// An ACL: a resource pattern and an entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AclBinding {
    pub pattern: ResourcePattern,
    pub entry: AccessControlEntry,
}

/// Kafka's `AclBindingFilter` (`ResourcePatternFilter` + `AccessControlEntryFilter`):
/// `None` fields match anything; `Any` enum values match anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclBindingFilter {
    pub resource_type: ResourceType,
    pub name: Option<String>,
    pub pattern_type: PatternType,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: AclOperation,
    pub permission_type: PermissionType,
}

impl AclBindingFilter {
    pub const ANY: AclBindingFilter = AclBindingFilter {
        resource_type: ResourceType::Any,
        name: None,
        pattern_type: PatternType::Any,
        principal: None,
        host: None,
        operation: AclOperation::Any,
        permission_type: PermissionType::Any,
    };

    /// `ResourcePatternFilter.matches`: `MATCH` takes the literal name, the
    /// literal wildcard and every prefix of the name.
    pub fn matches_pattern(&self, p: &ResourcePattern) -> bool {
        if self.resource_type != ResourceType::Any && self.resource_type != p.resource_type {
            return false;
        }
        match self.pattern_type {
            PatternType::Any => self.name.as_deref().is_none_or(|n| n == p.name),
            PatternType::Match => match self.name.as_deref() {
                None => true,
                Some(n) => match p.pattern_type {
                    PatternType::Literal => n == p.name || p.name == WILDCARD_RESOURCE,
                    PatternType::Prefixed => n.starts_with(&p.name),
                    _ => false,
                },
            },
            t => t == p.pattern_type && self.name.as_deref().is_none_or(|n| n == p.name),
        }
    }

    /// `AccessControlEntryFilter.matches`.
    pub fn matches_entry(&self, e: &AccessControlEntry) -> bool {
        self.principal.as_deref().is_none_or(|p| p == e.principal)
            && self.host.as_deref().is_none_or(|h| h == e.host)
            && (self.operation == AclOperation::Any || self.operation == e.operation)
            && (self.permission_type == PermissionType::Any || self.permission_type == e.permission_type)
    }

    pub fn matches(&self, b: &AclBinding) -> bool {
        self.matches_pattern(&b.pattern) && self.matches_entry(&b.entry)
    }

    /// `AclBindingFilter.findIndefiniteField`: why a filter cannot be a
    /// binding to create (an UNKNOWN or ANY value, a missing field).
    pub fn indefinite_field(&self) -> Option<&'static str> {
        if matches!(self.resource_type, ResourceType::Unknown | ResourceType::Any) {
            return Some("Resource type is UNKNOWN or ANY");
        }
        if self.name.is_none() {
            return Some("Resource name is NULL");
        }
        if !self.pattern_type.is_specific() {
            return Some("Resource pattern type is UNKNOWN, ANY or MATCH");
        }
        if self.principal.is_none() {
            return Some("Principal is NULL");
        }
        if self.host.is_none() {
            return Some("Host is NULL");
        }
        if matches!(self.operation, AclOperation::Unknown | AclOperation::Any) {
            return Some("Operation is UNKNOWN or ANY");
        }
        if matches!(self.permission_type, PermissionType::Unknown | PermissionType::Any) {
            return Some("Permission type is UNKNOWN or ANY");
        }
        None
    }
}

/// Encodes a resource's ACL set as Kafka's znode JSON (`AclEntry.toJsonCompatibleMap`).
pub fn encode_acls(entries: &std::collections::BTreeSet<AccessControlEntry>) -> Vec<u8> {
    let acls: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "principal": e.principal,
                "permissionType": e.permission_type.name(),
                "operation": e.operation.name(),
                "host": e.host,
            })
        })
        .collect();
    serde_json::json!({"version": 1, "acls": acls}).to_string().into_bytes()
}

/// Decodes a resource znode's JSON (`AclEntry.fromBytes`); empty bytes are no ACLs.
pub fn decode_acls(bytes: &[u8]) -> Result<std::collections::BTreeSet<AccessControlEntry>, String> {
    let mut out = std::collections::BTreeSet::new();
    if bytes.is_empty() {
        return Ok(out);
    }
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    if v.get("version").and_then(|v| v.as_i64()) != Some(1) {
        return Err("version is not 1".to_string());
    }
    let acls = v.get("acls").and_then(|a| a.as_array()).ok_or("no acls array")?;
    for a in acls {
        let field = |k: &str| a.get(k).and_then(|v| v.as_str()).ok_or(format!("acl without {k}"));
        let principal = field("principal")?;
        if crate::security::KafkaPrincipal::parse(principal).is_none() {
            return Err(format!("bad principal {principal:?}"));
        }
        let permission_type =
            PermissionType::parse(field("permissionType")?).ok_or_else(|| format!("bad permissionType in {a}"))?;
        let operation = AclOperation::parse(field("operation")?).ok_or_else(|| format!("bad operation in {a}"))?;
        out.insert(AccessControlEntry::new(principal, field("host")?, operation, permission_type));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn names_and_codes_round_trip() {
        for t in ResourceType::CONCRETE {
            assert_eq!(ResourceType::from_code(t.code()), t);
            assert_eq!(ResourceType::parse(t.name()), Some(t));
            assert_eq!(ResourceType::parse(t.enum_name()), Some(t));
        }
        for o in AclOperation::ACL_OPERATIONS {
            assert_eq!(AclOperation::from_code(o.code()), o);
            assert_eq!(AclOperation::parse(o.name()), Some(o));
            assert_eq!(AclOperation::parse(o.enum_name()), Some(o));
        }
        assert_eq!(AclOperation::from_code(99), AclOperation::Unknown);
        assert_eq!(ResourceType::from_code(-1), ResourceType::Unknown);
        assert_eq!(ResourceType::parse("bogus"), None);
    }

    #[test]
    fn zk_paths_as_kafka() {
        let p = ResourcePattern::new(ResourceType::Topic, "orders", PatternType::Literal);
        assert_eq!(p.zk_path(), "/kafka-acl/Topic/orders");
        let p = ResourcePattern::new(ResourceType::TransactionalId, "tx-", PatternType::Prefixed);
        assert_eq!(p.zk_path(), "/kafka-acl-extended/prefixed/TransactionalId/tx-");
    }

    #[test]
    fn change_notifications_round_trip() {
        let lit = ResourcePattern::new(ResourceType::Topic, "a:b", PatternType::Literal);
        assert_eq!(encode_change_notification(&lit), b"TOPIC:a:b");
        assert_eq!(decode_change_notification(LITERAL_ACL_CHANGES_PATH, b"TOPIC:a:b"), Some(lit.clone()));
        assert_eq!(decode_change_notification(LITERAL_ACL_CHANGES_PATH, b"Topic:a:b"), Some(lit));
        let pre = ResourcePattern::new(ResourceType::Group, "g-", PatternType::Prefixed);
        let bytes = encode_change_notification(&pre);
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["resourceType"], "GROUP");
        assert_eq!(v["patternType"], "PREFIXED");
        assert_eq!(decode_change_notification(EXTENDED_ACL_CHANGES_PATH, &bytes), Some(pre));
        assert_eq!(decode_change_notification(EXTENDED_ACL_CHANGES_PATH, b"{"), None);
        assert_eq!(decode_change_notification(LITERAL_ACL_CHANGES_PATH, b"nocolon"), None);
        assert_eq!(decode_change_notification(LITERAL_ACL_CHANGES_PATH, &[0xff, b':']), None);
    }

    #[test]
    fn acl_json_round_trip_and_bad_input() {
        let mut set = BTreeSet::new();
        set.insert(AccessControlEntry::new("User:alice", "*", AclOperation::Read, PermissionType::Allow));
        set.insert(AccessControlEntry::new("User:bob", "10.0.0.1", AclOperation::IdempotentWrite, PermissionType::Deny));
        let bytes = encode_acls(&set);
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(v["acls"][0]["principal"], "User:alice");
        assert_eq!(v["acls"][0]["permissionType"], "Allow");
        assert_eq!(v["acls"][0]["operation"], "Read");
        assert_eq!(v["acls"][0]["host"], "*");
        assert_eq!(v["acls"][1]["operation"], "IdempotentWrite");
        assert_eq!(decode_acls(&bytes).unwrap(), set);
        assert!(decode_acls(b"").unwrap().is_empty());
        let kafka = br#"{"version":1,"acls":[{"host":"host1","permissionType":"Deny","operation":"Read","principal":"User:alice"}]}"#;
        assert_eq!(decode_acls(kafka).unwrap().len(), 1);
        assert!(decode_acls(b"{\"version\":2,\"acls\":[]}").is_err());
        assert!(decode_acls(b"[1,2").is_err());
        assert!(decode_acls(br#"{"version":1,"acls":[{"principal":"alice","permissionType":"Allow","operation":"Read","host":"*"}]}"#).is_err());
        assert!(decode_acls(br#"{"version":1,"acls":[{"principal":"User:a","permissionType":"Maybe","operation":"Read","host":"*"}]}"#).is_err());
    }

    #[test]
    fn filters_match_as_kafka() {
        let lit = ResourcePattern::new(ResourceType::Topic, "foo", PatternType::Literal);
        let wild = ResourcePattern::new(ResourceType::Topic, "*", PatternType::Literal);
        let pre = ResourcePattern::new(ResourceType::Topic, "fo", PatternType::Prefixed);
        let other = ResourcePattern::new(ResourceType::Topic, "bar", PatternType::Prefixed);
        let mut f = AclBindingFilter { resource_type: ResourceType::Topic, name: Some("foo".into()), pattern_type: PatternType::Match, ..AclBindingFilter::ANY };
        assert!(f.matches_pattern(&lit) && f.matches_pattern(&wild) && f.matches_pattern(&pre));
        assert!(!f.matches_pattern(&other));
        f.pattern_type = PatternType::Any;
        assert!(f.matches_pattern(&lit) && !f.matches_pattern(&wild) && !f.matches_pattern(&pre));
        f.pattern_type = PatternType::Prefixed;
        assert!(!f.matches_pattern(&lit));
        f.name = Some("fo".into());
        assert!(f.matches_pattern(&pre));
        assert!(AclBindingFilter::ANY.matches_pattern(&other));
        let g = ResourcePattern::new(ResourceType::Group, "foo", PatternType::Literal);
        f.pattern_type = PatternType::Any;
        f.name = None;
        assert!(!f.matches_pattern(&g));
        let e = AccessControlEntry::new("User:a", "*", AclOperation::Read, PermissionType::Allow);
        let mut ef = AclBindingFilter::ANY;
        assert!(ef.matches_entry(&e));
        ef.operation = AclOperation::Write;
        assert!(!ef.matches_entry(&e));
        ef.operation = AclOperation::Any;
        ef.principal = Some("User:b".into());
        assert!(!ef.matches_entry(&e));
        assert!(AclBindingFilter::ANY.indefinite_field().is_some());
    }
}
