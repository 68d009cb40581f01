//! `kafka-acls`: adds, removes and lists ACLs, through a broker
//! (`--bootstrap-server`: DescribeAcls/CreateAcls/DeleteAcls) or directly in
//! ZooKeeper (`--authorizer-properties zookeeper.connect=...`, the store the
//! brokers' AclAuthorizer follows). Maps to Kafka's `kafka.admin.AclCommand`
//! (2.8 flags, `--producer`/`--consumer` conveniences and output).

use crate::security::authorizer::{
    zk_acl_store, AccessControlEntry, AclBinding, AclBindingFilter, AclOperation, PatternType, PermissionType, ResourcePattern,
    ResourceType, AUTHORIZER_CLASS_NAMES, CLUSTER_NAME,
};
use crate::security::KafkaPrincipal;
use clap::Parser;
use std::collections::BTreeMap;
use std::io::BufRead;

#[derive(Parser, Debug, Default)]
#[command(name = "kafka-acls.sh", about = "This tool helps to manage acls on kafka.", disable_version_flag = true)]
pub struct AclCommandOptions {
    /// A list of host/port pairs to use for establishing the connection to the Kafka cluster.
    #[arg(long, value_name = "server to connect to")]
    pub bootstrap_server: Option<String>,
    /// A property file containing configs to be passed to Admin Client.
    #[arg(long, value_name = "command-config")]
    pub command_config: Option<String>,
    /// Fully qualified class name of the authorizer, defaults to kafka.security.authorizer.AclAuthorizer.
    #[arg(long, value_name = "authorizer")]
    pub authorizer: Option<String>,
    /// REQUIRED: properties required to configure an instance of Authorizer (key=val, e.g. zookeeper.connect=localhost:2181).
    #[arg(long, value_name = "authorizer-properties", action = clap::ArgAction::Append)]
    pub authorizer_properties: Vec<String>,
    /// topic to which ACLs should be added or removed. A value of * indicates ACL should apply to all topics.
    #[arg(long, value_name = "topic", action = clap::ArgAction::Append)]
    pub topic: Vec<String>,
    /// Add/Remove cluster ACLs.
    #[arg(long)]
    pub cluster: bool,
    /// Consumer Group to which the ACLs should be added or removed. A value of * indicates the ACLs should apply to all groups.
    #[arg(long, value_name = "group", action = clap::ArgAction::Append)]
    pub group: Vec<String>,
    /// The transactionalId to which ACLs should be added or removed. A value of * indicates the ACLs should apply to all transactionalIds.
    #[arg(long, value_name = "transactional-id", action = clap::ArgAction::Append)]
    pub transactional_id: Vec<String>,
    /// Enable idempotence for the producer. This should be used in combination with the --producer option.
    #[arg(long)]
    pub idempotent: bool,
    /// Delegation token to which ACLs should be added or removed. A value of * indicates ACL should apply to all tokens.
    #[arg(long, value_name = "delegation-token", action = clap::ArgAction::Append)]
    pub delegation_token: Vec<String>,
    /// The type of the resource pattern or pattern filter: literal, prefixed (adding), any or match (listing/removing).
    #[arg(long, value_name = "ANY|MATCH|LITERAL|PREFIXED")]
    pub resource_pattern_type: Option<String>,
    /// Indicates you are trying to add ACLs.
    #[arg(long)]
    pub add: bool,
    /// Indicates you are trying to remove ACLs.
    #[arg(long)]
    pub remove: bool,
    /// List ACLs for the specified resource, use --topic <topic> or --group <group> or --cluster to specify a resource.
    #[arg(long)]
    pub list: bool,
    /// Operation that is being allowed or denied (Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All).
    #[arg(long, value_name = "operation", action = clap::ArgAction::Append)]
    pub operation: Vec<String>,
    /// principal is in principalType:name format. For example, User:* is the wild card indicating all users.
    #[arg(long, value_name = "allow-principal", action = clap::ArgAction::Append)]
    pub allow_principal: Vec<String>,
    /// principal is in principalType:name format. DENY RULES TAKE PRECEDENCE OVER ALLOW RULES.
    #[arg(long, value_name = "deny-principal", action = clap::ArgAction::Append)]
    pub deny_principal: Vec<String>,
    /// List ACLs for the specified principal (principalType:name). Multiple --principal options can be passed.
    #[arg(long, value_name = "principal", action = clap::ArgAction::Append)]
    pub principal: Vec<String>,
    /// Host from which principals listed in --allow-principal will have access (default *).
    #[arg(long, value_name = "allow-host", action = clap::ArgAction::Append)]
    pub allow_host: Vec<String>,
    /// Host from which principals listed in --deny-principal will be denied access (default *).
    #[arg(long, value_name = "deny-host", action = clap::ArgAction::Append)]
    pub deny_host: Vec<String>,
    /// Convenience option to add/remove ACLs for producer role. This will generate ACLs that allows WRITE,DESCRIBE and CREATE on topic.
    #[arg(long)]
    pub producer: bool,
    /// Convenience option to add/remove ACLs for consumer role. This will generate ACLs that allows READ,DESCRIBE on topic and READ on group.
    #[arg(long)]
    pub consumer: bool,
    /// Assume Yes to all queries and do not prompt.
    #[arg(long)]
    pub force: bool,
    /// Identifies the file where ZooKeeper client TLS connectivity properties for the authorizer are defined (not supported).
    #[arg(long, value_name = "Authorizer ZooKeeper TLS configuration")]
    pub zk_tls_config_file: Option<String>,
}

/// Kafka's `ResourcePattern.toString`.
pub fn pattern_string(p: &ResourcePattern) -> String {
    format!("ResourcePattern(resourceType={}, name={}, patternType={})", p.resource_type.enum_name(), p.name, p.pattern_type.enum_name())
}

/// Kafka's `ResourcePatternFilter.toString`.
pub fn filter_string(f: &AclBindingFilter) -> String {
    format!(
        "ResourcePattern(resourceType={}, name={}, patternType={})",
        f.resource_type.enum_name(),
        f.name.as_deref().unwrap_or("<any>"),
        f.pattern_type.enum_name()
    )
}

/// Kafka's `AccessControlEntry.toString`.
pub fn entry_string(e: &AccessControlEntry) -> String {
    format!(
        "(principal={}, host={}, operation={}, permissionType={})",
        e.principal,
        e.host,
        e.operation.enum_name(),
        e.permission_type.enum_name()
    )
}

/// The ` \n \t<acl>\n\t<acl> \n` block AclCommand prints after a resource.
fn acl_block(acls: &[AccessControlEntry]) -> String {
    let lines: Vec<String> = acls.iter().map(|a| format!("\t{}", entry_string(a))).collect();
    format!("\n {} \n", lines.join("\n"))
}

/// What went wrong: a usage error (message, exit 1, nothing changed) or a
/// failure while executing ("Error while executing ACL command: ...").
#[derive(Debug, PartialEq, Eq)]
pub enum AclCommandError {
    Usage(String),
    Execution(String),
}

use AclCommandError::{Execution, Usage};

fn resource_pattern_type(opts: &AclCommandOptions) -> Result<PatternType, AclCommandError> {
    match &opts.resource_pattern_type {
        None => Ok(PatternType::Literal),
        Some(v) => PatternType::parse(v.trim()).ok_or_else(|| Usage(format!("Unknown resource-pattern-type: {v}"))),
    }
}

/// Kafka's `checkArgs`.
pub fn check_args(opts: &AclCommandOptions) -> Result<(), AclCommandError> {
    let die = |m: &str| Err(Usage(m.to_string()));
    if opts.bootstrap_server.is_some() && opts.authorizer.is_some() {
        return die("Only one of --bootstrap-server or --authorizer must be specified");
    }
    if opts.bootstrap_server.is_none() && opts.authorizer_properties.is_empty() {
        return die("Missing required argument \"[authorizer-properties]\"");
    }
    if opts.command_config.is_some() && opts.bootstrap_server.is_none() {
        return die("The --command-config option can only be used with --bootstrap-server option");
    }
    if !opts.authorizer_properties.is_empty() && opts.bootstrap_server.is_some() {
        return die("The --authorizer-properties option can only be used with --authorizer option");
    }
    if [opts.add, opts.remove, opts.list].iter().filter(|b| **b).count() != 1 {
        return die("Command must include exactly one action: --list, --add, --remove. ");
    }
    if opts.list
        && (opts.producer || opts.consumer || !opts.allow_host.is_empty() || !opts.allow_principal.is_empty() || !opts.deny_host.is_empty() || !opts.deny_principal.is_empty())
    {
        return die("Option \"[list]\" can't be used with option \"[producer, consumer, allow-host, allow-principal, deny-host, deny-principal]\"");
    }
    for (on, name) in [(opts.producer, "producer"), (opts.consumer, "consumer")] {
        if on && (!opts.operation.is_empty() || !opts.deny_principal.is_empty() || !opts.deny_host.is_empty()) {
            return die(&format!("Option \"[{name}]\" can't be used with option \"[operation, deny-principal, deny-host]\""));
        }
    }
    if !opts.principal.is_empty() && !opts.list {
        return die("The --principal option is only available if --list is set");
    }
    if opts.producer && opts.topic.is_empty() {
        return die("With --producer you must specify a --topic");
    }
    if opts.idempotent && !opts.producer {
        return die("The --idempotent option is only available if --producer is set");
    }
    if opts.consumer && (opts.topic.is_empty() || opts.group.is_empty() || (!opts.producer && (opts.cluster || !opts.transactional_id.is_empty()))) {
        return die("With --consumer you must specify a --topic and a --group and no --cluster or --transactional-id option should be specified.");
    }
    resource_pattern_type(opts)?;
    Ok(())
}

fn filter(rt: ResourceType, name: &str, pt: PatternType) -> AclBindingFilter {
    AclBindingFilter { resource_type: rt, name: Some(name.to_string()), pattern_type: pt, ..AclBindingFilter::ANY }
}

fn cluster_filter() -> AclBindingFilter {
    filter(ResourceType::Cluster, CLUSTER_NAME, PatternType::Literal)
}

/// Kafka's `getResourceFilter`.
pub fn resource_filters(opts: &AclCommandOptions, die_if_none: bool) -> Result<Vec<AclBindingFilter>, AclCommandError> {
    let pt = resource_pattern_type(opts)?;
    let mut out: Vec<AclBindingFilter> = Vec::new();
    let mut push = |f: AclBindingFilter| {
        if !out.contains(&f) {
            out.push(f);
        }
    };
    for t in &opts.topic {
        push(filter(ResourceType::Topic, t.trim(), pt));
    }
    if pt == PatternType::Literal && (opts.cluster || opts.idempotent) {
        push(cluster_filter());
    }
    for g in &opts.group {
        push(filter(ResourceType::Group, g.trim(), pt));
    }
    for t in &opts.transactional_id {
        push(filter(ResourceType::TransactionalId, t, pt));
    }
    for t in &opts.delegation_token {
        push(filter(ResourceType::DelegationToken, t.trim(), pt));
    }
    if out.is_empty() && die_if_none {
        return Err(Usage(
            "You must provide at least one resource: --topic <topic> or --cluster or --group <group> or --delegation-token <Delegation Token ID>".into(),
        ));
    }
    Ok(out)
}

fn parse_principal(s: &str) -> Result<KafkaPrincipal, AclCommandError> {
    KafkaPrincipal::parse(s.trim())
        .ok_or_else(|| Execution(format!("expected a string in format principalType:principalName but got {}", s.trim())))
}

/// Kafka's `getAcl(opts, operations)`: allow entries for every allowed
/// principal x operation x host, then deny entries likewise.
fn acls_for(opts: &AclCommandOptions, operations: &[AclOperation]) -> Result<Vec<AccessControlEntry>, AclCommandError> {
    let hosts = |given: &[String], principals: &[String]| -> Vec<String> {
        if !given.is_empty() {
            given.iter().map(|h| h.trim().to_string()).collect()
        } else if !principals.is_empty() {
            vec!["*".to_string()]
        } else {
            Vec::new()
        }
    };
    let mut out = Vec::new();
    for (principals, given_hosts, perm) in
        [(&opts.allow_principal, &opts.allow_host, PermissionType::Allow), (&opts.deny_principal, &opts.deny_host, PermissionType::Deny)]
    {
        let hs = hosts(given_hosts, principals);
        for p in principals {
            let p = parse_principal(p)?.to_string();
            for op in operations {
                for h in &hs {
                    let e = AccessControlEntry::new(&p, h, *op, perm);
                    if !out.contains(&e) {
                        out.push(e);
                    }
                }
            }
        }
    }
    Ok(out)
}

fn cli_operations(opts: &AclCommandOptions) -> Result<Vec<AclOperation>, AclCommandError> {
    if opts.operation.is_empty() {
        return Ok(vec![AclOperation::All]);
    }
    let mut ops = Vec::new();
    for o in &opts.operation {
        let op = AclOperation::parse(o.trim()).ok_or_else(|| Usage(format!("Unknown operation: {}", o.trim())))?;
        if !ops.contains(&op) {
            ops.push(op);
        }
    }
    Ok(ops)
}

type FilterAcls = Vec<(AclBindingFilter, Vec<AccessControlEntry>)>;

fn merge(into: &mut FilterAcls, f: AclBindingFilter, acls: Vec<AccessControlEntry>) {
    match into.iter_mut().find(|(g, _)| *g == f) {
        Some((_, existing)) => {
            for a in acls {
                if !existing.contains(&a) {
                    existing.push(a);
                }
            }
        }
        None => into.push((f, acls)),
    }
}

/// Kafka's `getResourceFilterToAcls` with `validateOperation`.
pub fn resource_filter_to_acls(opts: &AclCommandOptions) -> Result<FilterAcls, AclCommandError> {
    let mut out: FilterAcls = Vec::new();
    let filters = resource_filters(opts, true)?;
    if !opts.producer && !opts.consumer {
        let acls = acls_for(opts, &cli_operations(opts)?)?;
        for f in &filters {
            merge(&mut out, f.clone(), acls.clone());
        }
    }
    if opts.producer {
        use AclOperation::*;
        let topic_acls = acls_for(opts, &[Write, Describe, Create])?;
        let txn_acls = acls_for(opts, &[Write, Describe])?;
        for f in filters.iter().filter(|f| f.resource_type == ResourceType::Topic) {
            merge(&mut out, f.clone(), topic_acls.clone());
        }
        for f in filters.iter().filter(|f| f.resource_type == ResourceType::TransactionalId) {
            merge(&mut out, f.clone(), txn_acls.clone());
        }
        if opts.idempotent {
            merge(&mut out, cluster_filter(), acls_for(opts, &[IdempotentWrite])?);
        }
    }
    if opts.consumer {
        use AclOperation::*;
        let topic_acls = acls_for(opts, &[Read, Describe])?;
        let group_acls = acls_for(opts, &[Read])?;
        for f in filters.iter().filter(|f| f.resource_type == ResourceType::Topic) {
            merge(&mut out, f.clone(), topic_acls.clone());
        }
        for f in filters.iter().filter(|f| f.resource_type == ResourceType::Group) {
            merge(&mut out, f.clone(), group_acls.clone());
        }
    }
    for (f, acls) in &out {
        let valid = f.resource_type.supported_operations();
        if acls.iter().any(|a| a.operation != AclOperation::All && !valid.contains(&a.operation)) {
            let mut names: Vec<&str> = valid.iter().map(|o| o.enum_name()).collect();
            names.push("ALL");
            return Err(Usage(format!("ResourceType {} only supports operations {}", f.resource_type.enum_name(), names.join(","))));
        }
    }
    Ok(out)
}

/// Kafka's `getResourceToAcls` (for `--add`).
pub fn resource_to_acls(opts: &AclCommandOptions) -> Result<Vec<(ResourcePattern, Vec<AccessControlEntry>)>, AclCommandError> {
    let pt = resource_pattern_type(opts)?;
    if !pt.is_specific() {
        return Err(Usage(format!("A '--resource-pattern-type' value of '{}' is not valid when adding acls.", pt.enum_name())));
    }
    let out: Vec<(ResourcePattern, Vec<AccessControlEntry>)> = resource_filter_to_acls(opts)?
        .into_iter()
        .map(|(f, acls)| (ResourcePattern::new(f.resource_type, f.name.as_deref().unwrap_or(""), f.pattern_type), acls))
        .collect();
    if out.iter().any(|(_, a)| a.is_empty()) {
        return Err(Usage("You must specify one of: --allow-principal, --deny-principal when trying to add ACLs.".into()));
    }
    Ok(out)
}

/// Where the ACLs are: a broker (admin client) or ZooKeeper (the authorizer's store).
enum Service {
    Admin(Box<crate::client::KafkaClient>),
    Zk(crate::zk::KafkaZkClient),
}

fn api_error((code, message): (crate::protocol::ErrorCode, Option<String>)) -> AclCommandError {
    use crate::protocol::error::*;
    let class = match code {
        CLUSTER_AUTHORIZATION_FAILED => "ClusterAuthorizationException",
        SECURITY_DISABLED => "SecurityDisabledException",
        INVALID_REQUEST => "InvalidRequestException",
        UNSUPPORTED_VERSION => "UnsupportedVersionException",
        _ => "UnknownServerException",
    };
    let msg = message.unwrap_or_else(|| crate::protocol::error::error_name(code).to_string());
    Execution(format!("org.apache.kafka.common.errors.{class}: {msg}"))
}

impl Service {
    async fn acls(&mut self, f: &AclBindingFilter) -> Result<Vec<AclBinding>, AclCommandError> {
        match self {
            Service::Admin(c) => c.describe_acls(f).await.map_err(Execution)?.map_err(api_error),
            Service::Zk(zk) => zk_acl_store::list_acls(zk, f).await.map_err(|e| Execution(e.to_string())),
        }
    }

    async fn add(&mut self, bindings: &[AclBinding]) -> Result<(), AclCommandError> {
        match self {
            Service::Admin(c) => {
                for r in c.create_acls(bindings).await.map_err(Execution)? {
                    r.map_err(api_error)?;
                }
                Ok(())
            }
            Service::Zk(zk) => zk_acl_store::add_acls(zk, bindings, None).await.map_err(|e| Execution(e.to_string())),
        }
    }

    async fn delete(&mut self, filters: &[AclBindingFilter]) -> Result<(), AclCommandError> {
        match self {
            Service::Admin(c) => {
                for r in c.delete_acls(filters).await.map_err(Execution)? {
                    r.map_err(api_error)?;
                }
                Ok(())
            }
            Service::Zk(zk) => zk_acl_store::remove_acls(zk, filters, None).await.map(|_| ()).map_err(|e| Execution(e.to_string())),
        }
    }

    /// Kafka's `listAcls`: the ACLs of the command's resource filters (all
    /// without any), grouped by resource, optionally per `--principal`.
    async fn list(&mut self, opts: &AclCommandOptions, out: &mut String) -> Result<(), AclCommandError> {
        let filters = resource_filters(opts, false)?;
        let principals: Vec<String> = opts.principal.iter().map(|p| parse_principal(p).map(|p| p.to_string())).collect::<Result<_, _>>()?;
        let mut bindings = Vec::new();
        if filters.is_empty() {
            bindings = self.acls(&AclBindingFilter::ANY).await?;
        } else {
            for f in &filters {
                bindings.extend(self.acls(f).await?);
            }
        }
        let mut by_resource: BTreeMap<ResourcePattern, Vec<AccessControlEntry>> = BTreeMap::new();
        for b in bindings {
            let v = by_resource.entry(b.pattern).or_default();
            if !v.contains(&b.entry) {
                v.push(b.entry);
            }
        }
        let print = |out: &mut String, m: &BTreeMap<ResourcePattern, Vec<AccessControlEntry>>| {
            for (r, acls) in m {
                out.push_str(&format!("Current ACLs for resource `{}`: {}\n", pattern_string(r), acl_block(acls)));
            }
        };
        if principals.is_empty() {
            print(out, &by_resource);
        } else {
            for p in &principals {
                out.push_str(&format!("ACLs for principal `{p}`\n"));
                let filtered: BTreeMap<ResourcePattern, Vec<AccessControlEntry>> = by_resource
                    .iter()
                    .map(|(r, acls)| (r.clone(), acls.iter().filter(|a| &a.principal == p).cloned().collect::<Vec<_>>()))
                    .filter(|(_, a)| !a.is_empty())
                    .collect();
                print(out, &filtered);
            }
        }
        Ok(())
    }
}

fn flush(out: &mut String) {
    print!("{out}");
    out.clear();
}

/// Kafka's `confirmAction`: `--force` or a "y" on stdin.
fn confirm(opts: &AclCommandOptions, msg: &str) -> bool {
    if opts.force {
        return true;
    }
    println!("{msg}");
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    line.trim().eq_ignore_ascii_case("y")
}

async fn run(opts: &AclCommandOptions, mut service: Service) -> Result<(), AclCommandError> {
    let mut out = String::new();
    if opts.add {
        let to_add = resource_to_acls(opts)?;
        for (resource, acls) in &to_add {
            out.push_str(&format!("Adding ACLs for resource `{}`: {}\n", pattern_string(resource), acl_block(acls)));
            flush(&mut out);
            let bindings: Vec<AclBinding> = acls.iter().map(|a| AclBinding { pattern: resource.clone(), entry: a.clone() }).collect();
            service.add(&bindings).await?;
        }
    } else if opts.remove {
        for (f, acls) in resource_filter_to_acls(opts)? {
            if acls.is_empty() {
                if confirm(opts, &format!("Are you sure you want to delete all ACLs for resource filter `{}`? (y/n)", filter_string(&f))) {
                    service.delete(std::slice::from_ref(&f)).await?;
                }
            } else {
                let msg = format!("Are you sure you want to remove ACLs: {} from resource filter `{}`? (y/n)", acl_block(&acls), filter_string(&f));
                if confirm(opts, &msg) {
                    let filters: Vec<AclBindingFilter> = acls
                        .iter()
                        .map(|a| AclBindingFilter {
                            principal: Some(a.principal.clone()),
                            host: Some(a.host.clone()),
                            operation: a.operation,
                            permission_type: a.permission_type,
                            ..f.clone()
                        })
                        .collect();
                    service.delete(&filters).await?;
                }
            }
        }
    }
    service.list(opts, &mut out).await?;
    flush(&mut out);
    Ok(())
}

/// `key=val` pairs of `--authorizer-properties` (Kafka's `parseKeyValueArgs`, no missing values).
fn parse_properties(args: &[String]) -> Result<BTreeMap<String, String>, AclCommandError> {
    let mut m = BTreeMap::new();
    for a in args {
        for kv in split_props(a).iter().filter(|s| !s.is_empty()) {
            match kv.split_once('=') {
                Some((k, v)) if !v.is_empty() => {
                    m.insert(k.trim().to_string(), v.trim().to_string());
                }
                _ => return Err(Usage(format!("Invalid command line properties: {a}"))),
            }
        }
    }
    Ok(m)
}

pub fn main(args: Vec<String>) -> i32 {
    let opts: AclCommandOptions = match super::parse_args(&args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    if let Err(e) = check_args(&opts) {
        return report(e);
    }
    let rt = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let result = rt.block_on(async {
        let service = if let Some(bootstrap) = &opts.bootstrap_server {
            Service::Admin(Box::new(
                crate::client::KafkaClient::with_config_file(
                    bootstrap,
                    "adminclient-1",
                    std::time::Duration::from_secs(30),
                    opts.command_config.as_deref(),
                )
                .map_err(Execution)?,
            ))
        } else {
            let props = parse_properties(&opts.authorizer_properties)?;
            if let Some(class) = &opts.authorizer {
                if !AUTHORIZER_CLASS_NAMES.contains(&class.trim()) {
                    return Err(Execution(format!("{class}")));
                }
            }
            let Some(connect) = props.get("zookeeper.connect") else {
                return Err(Execution("Missing required configuration \"zookeeper.connect\" which has no default value.".into()));
            };
            let config = crate::zk::ZkClientConfig {
                connect: connect.clone(),
                session_timeout: std::time::Duration::from_secs(30),
                connection_timeout: std::time::Duration::from_secs(30),
            };
            let zk = crate::zk::KafkaZkClient::connect(config).await.map_err(|e| Execution(e.to_string()))?;
            zk_acl_store::create_acl_paths(&zk).await.map_err(|e| Execution(e.to_string()))?;
            Service::Zk(zk)
        };
        run(&opts, service).await
    });
    match result {
        Ok(()) => 0,
        Err(e) => report(e),
    }
}

/// `zookeeper.connect=h1:2181,h2:2181/chroot,other=x`: a comma belongs to the
/// value unless what follows it looks like a new `key=`.
fn split_props(a: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in a.split(',') {
        let starts_key = part.split_once('=').is_some_and(|(k, _)| !k.is_empty() && !k.contains(':') && !k.contains('/'));
        match out.last_mut() {
            Some(last) if !starts_key => {
                last.push(',');
                last.push_str(part);
            }
            _ => out.push(part.to_string()),
        }
    }
    out
}

fn report(e: AclCommandError) -> i32 {
    match e {
        Usage(m) => {
            eprintln!("{m}");
            eprintln!("Run `kafka-acls.sh --help` for the list of options.");
        }
        Execution(m) => {
            println!("Error while executing ACL command: {m}");
        }
    }
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(args: &[&str]) -> AclCommandOptions {
        let mut v = vec!["kafka-acls.sh".to_string()];
        v.extend(args.iter().map(|s| s.to_string()));
        AclCommandOptions::try_parse_from(v).unwrap()
    }

    #[test]
    fn output_formats_as_kafka() {
        let p = ResourcePattern::new(ResourceType::Topic, "orders", PatternType::Literal);
        assert_eq!(pattern_string(&p), "ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)");
        let e = AccessControlEntry::new("User:alice", "*", AclOperation::Read, PermissionType::Allow);
        assert_eq!(entry_string(&e), "(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)");
        assert_eq!(acl_block(&[e.clone(), e]), "\n \t(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)\n\t(principal=User:alice, host=*, operation=READ, permissionType=ALLOW) \n");
        let f = AclBindingFilter { resource_type: ResourceType::Group, ..AclBindingFilter::ANY };
        assert_eq!(filter_string(&f), "ResourcePattern(resourceType=GROUP, name=<any>, patternType=ANY)");
    }

    #[test]
    fn args_checked_as_kafka() {
        let bad = [
            (vec!["--bootstrap-server", "x:1", "--list", "--add"], "exactly one action"),
            (vec!["--list"], "authorizer-properties"),
            (vec!["--bootstrap-server", "x:1", "--authorizer-properties", "zookeeper.connect=a:1", "--list"], "only be used with --authorizer"),
            (vec!["--bootstrap-server", "x:1", "--add", "--producer", "--allow-principal", "User:a"], "With --producer you must specify a --topic"),
            (vec!["--bootstrap-server", "x:1", "--add", "--consumer", "--topic", "t", "--allow-principal", "User:a"], "With --consumer"),
            (vec!["--bootstrap-server", "x:1", "--add", "--idempotent", "--topic", "t"], "--idempotent option is only available"),
            (vec!["--bootstrap-server", "x:1", "--list", "--allow-principal", "User:a"], "can't be used"),
            (vec!["--bootstrap-server", "x:1", "--list", "--resource-pattern-type", "bogus"], "Unknown resource-pattern-type"),
        ];
        for (args, want) in bad {
            match check_args(&opts(&args)) {
                Err(Usage(m)) => assert!(m.contains(want), "{args:?}: {m}"),
                other => panic!("{args:?}: {other:?}"),
            }
        }
        assert!(check_args(&opts(&["--bootstrap-server", "x:1", "--list"])).is_ok());
    }

    #[test]
    fn producer_consumer_and_cli_acls() {
        let o = opts(&["--bootstrap-server", "x:1", "--add", "--producer", "--consumer", "--topic", "t", "--group", "g", "--idempotent", "--allow-principal", "User:a"]);
        let m = resource_to_acls(&o).unwrap();
        let ops = |rt: ResourceType| -> Vec<AclOperation> {
            m.iter().find(|(p, _)| p.resource_type == rt).map(|(_, a)| a.iter().map(|e| e.operation).collect()).unwrap_or_default()
        };
        use AclOperation::*;
        assert_eq!(ops(ResourceType::Topic), vec![Write, Describe, Create, Read]);
        assert_eq!(ops(ResourceType::Group), vec![Read]);
        assert_eq!(ops(ResourceType::Cluster), vec![IdempotentWrite]);
        // CLI: --operation x principals x hosts, deny as well
        let o = opts(&["--authorizer-properties", "zookeeper.connect=z:1", "--add", "--topic", "t", "--resource-pattern-type", "prefixed",
            "--allow-principal", "User:a", "--allow-host", "10.0.0.1", "--deny-principal", "User:b", "--operation", "Read", "--operation", "write"]);
        let m = resource_to_acls(&o).unwrap();
        assert_eq!(m[0].0.pattern_type, PatternType::Prefixed);
        assert_eq!(m[0].1.len(), 4);
        assert!(m[0].1.contains(&AccessControlEntry::new("User:b", "*", Write, PermissionType::Deny)));
        assert!(m[0].1.contains(&AccessControlEntry::new("User:a", "10.0.0.1", Read, PermissionType::Allow)));
        // adding needs a principal, a specific pattern type, valid operations
        assert!(matches!(resource_to_acls(&opts(&["--bootstrap-server", "x:1", "--add", "--topic", "t"])), Err(Usage(_))));
        assert!(matches!(
            resource_to_acls(&opts(&["--bootstrap-server", "x:1", "--add", "--topic", "t", "--allow-principal", "User:a", "--resource-pattern-type", "match"])),
            Err(Usage(m)) if m.contains("'MATCH' is not valid")
        ));
        assert!(matches!(
            resource_to_acls(&opts(&["--bootstrap-server", "x:1", "--add", "--group", "g", "--allow-principal", "User:a", "--operation", "Write"])),
            Err(Usage(m)) if m.starts_with("ResourceType GROUP only supports operations")
        ));
        assert!(matches!(
            resource_to_acls(&opts(&["--bootstrap-server", "x:1", "--add", "--topic", "t", "--allow-principal", "alice"])),
            Err(Execution(m)) if m.contains("principalType:principalName")
        ));
    }

    #[test]
    fn authorizer_properties() {
        assert_eq!(split_props("zookeeper.connect=a:1,b:2/chroot,zookeeper.set.acl=true"), vec!["zookeeper.connect=a:1,b:2/chroot", "zookeeper.set.acl=true"]);
        let p = parse_properties(&["zookeeper.connect=a:1".to_string()]).unwrap();
        assert_eq!(p["zookeeper.connect"], "a:1");
        assert!(parse_properties(&["novalue".to_string()]).is_err());
    }
}
