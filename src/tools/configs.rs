//! `kafka-configs`: describes and changes the dynamic configs of topics,
//! brokers, broker loggers and the quotas of users and clients, through a
//! broker (`--bootstrap-server`: DescribeConfigs, IncrementalAlterConfigs,
//! AlterConfigs, DescribeClientQuotas, AlterClientQuotas) or directly in ZooKeeper
//! (`--zookeeper`, deprecated: `/config/<type>/<name>` plus a change
//! notification through AdminZkClient). Maps to Kafka 2.8's
//! `kafka.admin.ConfigCommand` (its flags, checks and output lines).

use crate::client::KafkaClient;
use crate::protocol::messages::describe_configs::{
    DescribeConfigsResourceResult, RESOURCE_BROKER, RESOURCE_BROKER_LOGGER, RESOURCE_TOPIC, SOURCE_DEFAULT_CONFIG,
    SOURCE_DYNAMIC_BROKER_CONFIG, SOURCE_DYNAMIC_BROKER_LOGGER_CONFIG, SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG,
    SOURCE_STATIC_BROKER_CONFIG, SOURCE_TOPIC_CONFIG,
};
use crate::protocol::messages::describe_client_quotas::{ComponentData, EntityData, EntryData, MATCH_ANY, MATCH_DEFAULT, MATCH_EXACT};
use crate::zk::{AdminZkClient, KafkaZkClient, ZkClientConfig};
use clap::Parser;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Parser, Debug, Default)]
#[command(
    name = "kafka-configs.sh",
    about = "This tool helps to manipulate and describe entity config for a topic, client, user, broker or ip",
    disable_version_flag = true
)]
pub struct ConfigCommandOptions {
    /// DEPRECATED. The connection string for the zookeeper connection in the form host:port. Replaced by --bootstrap-server, REQUIRED unless --bootstrap-server is given.
    #[arg(long, value_name = "urls")]
    pub zookeeper: Option<String>,
    /// The Kafka server to connect to. This is required for describing and altering broker configs.
    #[arg(long, value_name = "server to connect to")]
    pub bootstrap_server: Option<String>,
    /// Property file containing configs to be passed to Admin Client.
    #[arg(long, value_name = "command config property file")]
    pub command_config: Option<String>,
    /// Alter the configuration for the entity.
    #[arg(long)]
    pub alter: bool,
    /// List configs for the given entity.
    #[arg(long)]
    pub describe: bool,
    /// List all configs for the given topic, broker, or broker-logger entity (includes static configuration when the entity type is brokers)
    #[arg(long)]
    pub all: bool,
    /// Type of entity (topics/clients/users/brokers/broker-loggers/ips)
    #[arg(long, value_name = "String")]
    pub entity_type: Vec<String>,
    /// Name of entity (topic name/client id/user principal name/broker id/ip)
    #[arg(long, value_name = "String")]
    pub entity_name: Vec<String>,
    /// Default entity name for clients/users/brokers/ips (applies to corresponding entity type in command line)
    #[arg(long, action = clap::ArgAction::Count)]
    pub entity_default: u8,
    /// Key Value pairs of configs to add. Square brackets can be used to group values which contain commas: 'k1=v1,k2=[v1,v2,v2],k3=v3'.
    #[arg(long, value_name = "String")]
    pub add_config: Option<String>,
    /// Path to a properties file with configs to add.
    #[arg(long, value_name = "String")]
    pub add_config_file: Option<String>,
    /// config keys to remove 'k1,k2'
    #[arg(long, value_name = "String", value_delimiter = ',')]
    pub delete_config: Vec<String>,
    /// Suppress console prompts
    #[arg(long)]
    pub force: bool,
    /// The topic's name.
    #[arg(long, value_name = "String")]
    pub topic: Option<String>,
    /// The client's ID.
    #[arg(long, value_name = "String")]
    pub client: Option<String>,
    /// The config defaults for all clients.
    #[arg(long)]
    pub client_defaults: bool,
    /// The user's principal name.
    #[arg(long, value_name = "String")]
    pub user: Option<String>,
    /// The config defaults for all users.
    #[arg(long)]
    pub user_defaults: bool,
    /// The broker's ID.
    #[arg(long, value_name = "String")]
    pub broker: Option<String>,
    /// The default cluster-wide broker configs.
    #[arg(long)]
    pub broker_defaults: bool,
    /// The broker's ID (broker loggers).
    #[arg(long, value_name = "String")]
    pub broker_logger: Option<String>,
}

/// The entity types the tool accepts (`ConfigType.all` + broker-loggers in
/// bootstrap mode), in Kafka's order for its messages.
const ZK_TYPES: &[&str] = &["topics", "clients", "users", "brokers", "ips"];
const BOOTSTRAP_TYPES: &[&str] = &["topics", "clients", "users", "brokers", "ips", "broker-loggers"];
/// Broker keys `--zookeeper` may change while the broker runs (Kafka's
/// `BrokerConfigsUpdatableUsingZooKeeperWhileBrokerRunning`).
const ZK_UPDATABLE_WHILE_RUNNING: &[&str] =
    &["leader.replication.throttled.rate", "follower.replication.throttled.rate", "replica.alter.log.dirs.io.max.bytes.per.second"];

/// An error the way ConfigCommand ends: a "handled" one (IllegalArgument /
/// InvalidConfiguration: its message alone on stderr) or any other
/// exception (the "Error while executing config command" line, then the
/// exception).
#[derive(Debug, PartialEq)]
pub enum CommandError {
    Usage(String),
    Other(String),
}

fn usage(s: impl Into<String>) -> CommandError {
    CommandError::Usage(s.into())
}

/// The parsed entity: types and names in command-line order (`""` = default).
#[derive(Debug, Clone, PartialEq)]
pub struct Entities {
    pub types: Vec<String>,
    pub names: Vec<String>,
}

/// Kafka's `entityTypes` / `entityNames`: `--entity-name` and
/// `--entity-default` in the order given, then the shorthand flags.
pub fn entities(o: &ConfigCommandOptions, args: &[String]) -> Entities {
    let mut types = o.entity_type.clone();
    let mut names = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--entity-name" {
            if let Some(v) = args.get(i + 1) {
                names.push(v.clone());
            }
            i += 1;
        } else if let Some(v) = a.strip_prefix("--entity-name=") {
            names.push(v.to_string());
        } else if a == "--entity-default" {
            names.push(String::new());
        }
        i += 1;
    }
    // Kafka's entityFlags, then entityDefaultsFlags, in its order.
    for (flag, t) in [(&o.topic, "topics"), (&o.client, "clients"), (&o.user, "users"), (&o.broker, "brokers"), (&o.broker_logger, "broker-loggers")] {
        if let Some(n) = flag {
            types.push(t.to_string());
            names.push(n.clone());
        }
    }
    for (set, t) in [(o.client_defaults, "clients"), (o.user_defaults, "users"), (o.broker_defaults, "brokers")] {
        if set {
            types.push(t.into());
            names.push(String::new());
        }
    }
    Entities { types, names }
}

/// Kafka's `ConfigCommandOptions.checkArgs`, in its order.
pub fn check_args(o: &ConfigCommandOptions, e: &Entities) -> Result<(), CommandError> {
    if o.alter == o.describe {
        return Err(usage("Command must include exactly one action: --describe, --alter"));
    }
    if o.describe && (o.add_config.is_some() || !o.delete_config.is_empty()) {
        let bad = if o.add_config.is_some() { "add-config" } else { "delete-config" };
        return Err(usage(format!("Option \"[describe]\" can't be used with option \"[{bad}]\"")));
    }
    let mut seen: Vec<&String> = Vec::new();
    let mut dups: Vec<&String> = Vec::new();
    for t in &e.types {
        if seen.contains(&t) {
            dups.push(t);
        }
        seen.push(t);
    }
    if !dups.is_empty() {
        return Err(usage(format!("Duplicate entity type(s) specified: {}", dups.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","))));
    }
    let (allowed, connect) = if o.bootstrap_server.is_some() { (BOOTSTRAP_TYPES, "--bootstrap-server") } else { (ZK_TYPES, "--zookeeper") };
    for t in &e.types {
        if !allowed.contains(&t.as_str()) {
            return Err(usage(format!(
                "Invalid entity type {t}, the entity type must be one of {} with the {connect} argument",
                allowed.join(",")
            )));
        }
    }
    if e.types.is_empty() {
        return Err(usage("At least one entity type must be specified"));
    }
    if e.types.len() > 1 && !(e.types.len() == 2 && e.types.iter().any(|t| t == "users") && e.types.iter().any(|t| t == "clients")) {
        return Err(usage("Only 'users' and 'clients' entity types may be specified together"));
    }
    let specific = o.topic.is_some()
        || o.broker.is_some()
        || o.broker_logger.is_some()
        || o.broker_defaults
        || o.client.is_some()
        || o.user.is_some()
        || o.client_defaults
        || o.user_defaults;
    if (!o.entity_name.is_empty() || !o.entity_type.is_empty() || o.entity_default > 0) && specific {
        return Err(usage("--entity-{type,name,default} should not be used in conjunction with specific entity flags"));
    }
    let has_name = e.names.iter().any(|n| !n.is_empty());
    let has_default = e.names.iter().any(|n| n.is_empty());
    match (&o.bootstrap_server, &o.zookeeper) {
        (None, None) => return Err(usage("One of the required --bootstrap-server or --zookeeper arguments must be specified")),
        (Some(_), Some(_)) => return Err(usage("Only one of --bootstrap-server or --zookeeper must be specified")),
        _ => {}
    }
    if o.all && o.zookeeper.is_some() {
        return Err(usage("--bootstrap-server must be specified for --all"));
    }
    if has_name && e.types.iter().any(|t| t == "brokers" || t == "broker-loggers") {
        for id in o.entity_name.iter().chain(o.broker.iter()).chain(o.broker_logger.iter()) {
            if id.parse::<i32>().is_err() {
                return Err(usage(format!("The entity name for {} must be a valid integer broker id, but it is: {id}", e.types[0])));
            }
        }
    }
    if o.describe && e.types.iter().any(|t| t == "broker-loggers") && !has_name {
        return Err(usage(format!("an entity name must be specified with --describe of {}", e.types.join(","))));
    }
    if o.alter {
        if e.types.iter().any(|t| ["users", "clients", "brokers", "ips"].contains(&t.as_str())) {
            if !has_name && !has_default {
                return Err(usage("an entity-name or default entity must be specified with --alter of users, clients, brokers or ips"));
            }
        } else if !has_name {
            return Err(usage(format!("an entity name must be specified with --alter of {}", e.types.join(","))));
        }
        if o.add_config.is_some() && o.add_config_file.is_some() {
            return Err(usage("Only one of --add-config or --add-config-file must be specified"));
        }
        if o.add_config.is_none() && o.add_config_file.is_none() && o.delete_config.is_empty() {
            return Err(usage("At least one of --add-config, --add-config-file, or --delete-config must be specified with --alter"));
        }
    }
    Ok(())
}

/// Kafka's `--add-config` syntax: pairs split at commas outside `[...]`,
/// each `key=value` (spaces around `=` allowed, exactly one `=` outside
/// brackets); the brackets are removed from values.
pub fn parse_add_config(text: &str) -> Result<BTreeMap<String, String>, CommandError> {
    let bad = || usage("requirement failed: Invalid entity config: all configs to be added must be in the format \"key=val\".");
    let mut pairs: Vec<String> = vec![String::new()];
    let mut depth = 0i32;
    for c in text.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = (depth - 1).max(0),
            _ => {}
        }
        if c == ',' && depth == 0 {
            pairs.push(String::new());
        } else if let Some(last) = pairs.last_mut() {
            last.push(c);
        }
    }
    let mut out = BTreeMap::new();
    for p in pairs {
        let mut parts: Vec<String> = vec![String::new()];
        let mut depth = 0i32;
        for c in p.chars() {
            match c {
                '[' => depth += 1,
                ']' => depth = (depth - 1).max(0),
                _ => {}
            }
            if c == '=' && depth == 0 {
                parts.push(String::new());
            } else if let Some(last) = parts.last_mut() {
                last.push(c);
            }
        }
        if parts.len() != 2 {
            return Err(bad());
        }
        let value: String = parts[1].chars().filter(|c| *c != '[' && *c != ']').collect();
        out.insert(parts[0].trim().to_string(), value.trim().to_string());
    }
    Ok(out)
}

/// A Java properties file as `Utils.loadProps` reads it (`key=value` or
/// `key:value` or `key value`, `#`/`!` comments, blank lines ignored).
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let l = line.trim_start();
        if l.is_empty() || l.starts_with('#') || l.starts_with('!') {
            continue;
        }
        let cut = l.find(['=', ':']).or_else(|| l.find(char::is_whitespace));
        match cut {
            Some(i) => {
                out.insert(l[..i].trim().to_string(), l[i + 1..].trim().to_string());
            }
            None => {
                out.insert(l.trim().to_string(), String::new());
            }
        }
    }
    out
}

fn configs_to_add(o: &ConfigCommandOptions) -> Result<BTreeMap<String, String>, CommandError> {
    let mut props = BTreeMap::new();
    if let Some(f) = &o.add_config_file {
        let text = std::fs::read_to_string(f).map_err(|e| CommandError::Other(format!("java.nio.file.NoSuchFileException: {f} ({e})")))?;
        props.extend(parse_properties(&text));
    }
    if let Some(a) = &o.add_config {
        props.extend(parse_add_config(a)?);
    }
    if let Some(v) = props.get("message.format.version") {
        println!("WARNING: The configuration message.format.version={v} is specified. This configuration will be ignored if the version is newer than the inter.broker.protocol.version specified in the broker.");
    }
    Ok(props)
}

fn configs_to_delete(o: &ConfigCommandOptions) -> Vec<String> {
    o.delete_config.iter().map(|s| s.trim().to_string()).collect()
}

/// The name of a config source as Java's `ConfigEntry.ConfigSource` prints.
pub fn source_name(source: i8) -> &'static str {
    match source {
        SOURCE_TOPIC_CONFIG => "DYNAMIC_TOPIC_CONFIG",
        SOURCE_DYNAMIC_BROKER_CONFIG => "DYNAMIC_BROKER_CONFIG",
        SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        SOURCE_STATIC_BROKER_CONFIG => "STATIC_BROKER_CONFIG",
        SOURCE_DEFAULT_CONFIG => "DEFAULT_CONFIG",
        SOURCE_DYNAMIC_BROKER_LOGGER_CONFIG => "DYNAMIC_BROKER_LOGGER_CONFIG",
        _ => "UNKNOWN",
    }
}

/// One `--describe` line of bootstrap mode.
pub fn entry_line(e: &DescribeConfigsResourceResult) -> String {
    let synonyms: Vec<String> = e
        .synonyms
        .iter()
        .map(|s| format!("{}:{}={}", source_name(s.source), s.name, s.value.as_deref().unwrap_or("null")))
        .collect();
    format!("  {}={} sensitive={} synonyms={{{}}}", e.name, e.value.as_deref().unwrap_or("null"), e.is_sensitive, synonyms.join(", "))
}

/// `ConfigCommand.Entity.toString` for the ZooKeeper mode's messages.
pub fn zk_entity_string(entity_type: &str, name: &str) -> String {
    let type_name = match entity_type {
        "users" => "user-principal",
        "clients" => "client-id",
        "topics" => "topic",
        t => t,
    };
    if name == "<default>" {
        format!("default {type_name}")
    } else {
        format!("{type_name} '{name}'")
    }
}

/// A Java exception as ConfigCommand's generic handler prints it (the admin
/// client wraps broker errors in an ExecutionException).
fn broker_error(code: crate::protocol::ErrorCode, message: Option<String>) -> CommandError {
    CommandError::Other(format!("java.util.concurrent.ExecutionException: {}", super::kafka_exception(code, message.as_deref())))
}

// ---- bootstrap mode

fn resource_of(entity_type: &str, name: &str) -> Result<(i8, Option<i8>), CommandError> {
    Ok(match entity_type {
        "topics" => (RESOURCE_TOPIC, Some(SOURCE_TOPIC_CONFIG)),
        "brokers" if name.is_empty() => (RESOURCE_BROKER, Some(SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG)),
        "brokers" => {
            if name.parse::<i32>().is_err() {
                return Err(usage(format!("The entity name for {entity_type} must be a valid integer broker id, found: {name}")));
            }
            (RESOURCE_BROKER, Some(SOURCE_DYNAMIC_BROKER_CONFIG))
        }
        "broker-loggers" => (RESOURCE_BROKER_LOGGER, None),
        t => return Err(usage(format!("Invalid entity type: {t}"))),
    })
}

/// Kafka's `getResourceConfig`: the entries of one resource, only those of
/// the entity's dynamic source unless `all`.
async fn resource_config(
    client: &mut KafkaClient,
    entity_type: &str,
    name: &str,
    synonyms: bool,
    all: bool,
) -> Result<Vec<DescribeConfigsResourceResult>, CommandError> {
    let (rtype, source) = resource_of(entity_type, name)?;
    let r = client.describe_resource_configs(rtype, name, synonyms).await.map_err(CommandError::Other)?;
    if r.error_code != crate::protocol::error::NONE {
        return Err(broker_error(r.error_code, r.error_message));
    }
    Ok(r.configs.into_iter().filter(|e| all || source.is_none_or(|s| e.config_source == s)).collect())
}

// ---- client quotas in bootstrap mode (Kafka's describeQuotaConfigs /
// alterQuotaConfigs over DescribeClientQuotas / AlterClientQuotas)

/// The `ClientQuotaEntity` type of a config entity type.
fn quota_entity_type(entity_type: &str) -> Result<&'static str, CommandError> {
    match entity_type {
        "users" => Ok("user"),
        "clients" => Ok("client-id"),
        "ips" => Ok("ip"),
        t => Err(usage(format!("Unexpected entity type {t}"))),
    }
}

/// Kafka's `getAllClientQuotasConfigs` filter: one component per entity
/// type, with its name (exact), `""` (the default) or none (any).
pub fn quota_filter(e: &Entities) -> Result<Vec<ComponentData>, CommandError> {
    if e.names.len() > e.types.len() {
        return Err(usage("More entity names specified than entity types"));
    }
    e.types
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let entity_type = quota_entity_type(t)?.to_string();
            Ok(match e.names.get(i).map(String::as_str) {
                Some("") => ComponentData { entity_type, match_type: MATCH_DEFAULT, match_: None },
                Some(n) => ComponentData { entity_type, match_type: MATCH_EXACT, match_: Some(n.to_string()) },
                None => ComponentData { entity_type, match_type: MATCH_ANY, match_: None },
            })
        })
        .collect()
}

/// The `Quota configs for ... are ...` lines, in the order Kafka's
/// `describeQuotaConfigs` prints them: it iterates the admin client's
/// `HashMap<ClientQuotaEntity, HashMap<String, Double>>`, so entities and
/// keys come in Java hash order.
pub fn quota_lines(entries: &[EntryData]) -> Vec<String> {
    use crate::utils::{java_double_to_string, java_hash_map_order, java_string_map_hash};
    let entity_hashes: Vec<i32> = entries
        .iter()
        .map(|en| {
            // ClientQuotaEntity.hashCode = Objects.hash(entries) = 31 + entries.hashCode()
            let mut seen: Vec<(&str, Option<&str>)> = Vec::new();
            for d in &en.entity {
                match seen.iter_mut().find(|(t, _)| *t == d.entity_type) {
                    Some(slot) => slot.1 = d.entity_name.as_deref(),
                    None => seen.push((d.entity_type.as_str(), d.entity_name.as_deref())),
                }
            }
            31i32.wrapping_add(java_string_map_hash(seen))
        })
        .collect();
    let mut out = Vec::new();
    for i in java_hash_map_order(&entity_hashes, Some(entries.len())) {
        let en = &entries[i];
        let part = |t: &str, shown: &str| {
            en.entity.iter().rev().find(|d| d.entity_type == t).map(|d| match &d.entity_name {
                Some(n) => format!("{shown} '{n}'"),
                None => format!("the default {shown}"),
            })
        };
        let entity: Vec<String> =
            [part("user", "user-principal"), part("client-id", "client-id"), part("ip", "ip")].into_iter().flatten().collect();
        let key_hashes: Vec<i32> = en.values.iter().map(|v| crate::common::java_string_hash(&v.key)).collect();
        let values: Vec<String> = java_hash_map_order(&key_hashes, Some(en.values.len()))
            .into_iter()
            .map(|j| format!("{}={}", en.values[j].key, java_double_to_string(en.values[j].value)))
            .collect();
        out.push(format!("Quota configs for {} are {}", entity.join(", "), values.join(", ")));
    }
    out
}

async fn describe_quotas_bootstrap(client: &mut KafkaClient, e: &Entities) -> Result<Vec<EntryData>, CommandError> {
    let filter = quota_filter(e)?;
    client
        .describe_client_quotas(filter, true)
        .await
        .map_err(CommandError::Other)?
        .map_err(|(c, m)| broker_error(c, m))
}

async fn alter_quotas_bootstrap(
    client: &mut KafkaClient,
    e: &Entities,
    add: &BTreeMap<String, String>,
    delete: &[String],
) -> Result<(), CommandError> {
    use crate::zk::admin_zk_client::CLIENT_QUOTA_KEYS;
    let head = e.types[0].as_str();
    let is_quota = |k: &str| CLIENT_QUOTA_KEYS.contains(&k);
    let is_scram = |k: &str| ScramMechanism::from_name(k).is_some();
    let users_only = !(head == "clients" || e.types.len() == 2);
    let unknown_add: Vec<&String> = add.keys().filter(|k| !is_quota(k) && !(users_only && is_scram(k))).collect();
    let unknown_delete: Vec<&String> = delete.iter().filter(|k| !is_quota(k) && !(users_only && is_scram(k))).collect();
    if !users_only {
        if !unknown_add.is_empty() {
            return Err(usage(format!(
                "Only quota configs can be added for 'clients' using --bootstrap-server. Unexpected config names: {}",
                super::scala_set_string(&unknown_add)
            )));
        }
        if !unknown_delete.is_empty() {
            return Err(usage(format!(
                "Only quota configs can be deleted for 'clients' using --bootstrap-server. Unexpected config names: ArrayBuffer({})",
                unknown_delete.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
    } else {
        if !unknown_add.is_empty() {
            return Err(usage(format!(
                "Only quota and SCRAM credential configs can be added for 'users' using --bootstrap-server. Unexpected config names: {}",
                super::scala_set_string(&unknown_add)
            )));
        }
        if !unknown_delete.is_empty() {
            return Err(usage(format!(
                "Only quota and SCRAM credential configs can be deleted for 'users' using --bootstrap-server. Unexpected config names: ArrayBuffer({})",
                unknown_delete.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let scram_add = add.keys().any(|k| is_scram(k));
    let scram_delete = delete.iter().any(|k| is_scram(k));
    if users_only && (scram_add || scram_delete) {
        if e.names.iter().any(|n| n.is_empty()) {
            return Err(usage("The use of --entity-default or --user-defaults is not allowed with User SCRAM Credentials using --bootstrap-server."));
        }
        if add.keys().any(|k| is_quota(k)) || delete.iter().any(|k| is_quota(k)) {
            return Err(usage("Cannot alter both quota and SCRAM credential configs simultaneously for 'users' using --bootstrap-server."));
        }
        return alter_scram_bootstrap(client, &e.names[0], add, delete).await;
    }
    // Kafka's alterQuotaConfigs.
    if e.types.len() != e.names.len() {
        return Err(usage("Exactly one entity name must be specified for every entity type"));
    }
    let old = describe_quotas_bootstrap(client, e).await?;
    let old_keys: Vec<&String> = old.first().map(|en| en.values.iter().map(|v| &v.key).collect()).unwrap_or_default();
    let invalid: Vec<&str> = delete.iter().filter(|k| !old_keys.contains(k)).map(|s| s.as_str()).collect();
    if !invalid.is_empty() {
        return Err(usage(format!("Invalid config(s): {}", invalid.join(","))));
    }
    let mut ops: Vec<(String, Option<f64>)> = Vec::new();
    for (k, v) in add {
        let value = parse_java_double(v).ok_or_else(|| usage(format!("Cannot parse quota configuration value for {k}: {v}")))?;
        ops.push((k.clone(), Some(value)));
    }
    ops.extend(delete.iter().map(|k| (k.clone(), None)));
    let mut entity: Vec<EntityData> = Vec::new();
    for (t, n) in e.types.iter().zip(&e.names) {
        let entity_type = quota_entity_type(t)?.to_string();
        let entity_name = if n.is_empty() { None } else { Some(n.clone()) };
        entity.push(EntityData { entity_type, entity_name });
    }
    client
        .alter_client_quotas(entity, &ops, false)
        .await
        .map_err(CommandError::Other)?
        .map_err(|(c, m)| broker_error(c, m))
}

/// Java's `String.toDouble` (`Double.parseDouble`): trimmed, decimal or
/// scientific, an optional `d`/`f` suffix; NaN/Infinity spelled out.
pub fn parse_java_double(s: &str) -> Option<f64> {
    let t = s.trim();
    let t = t.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(t);
    if t.is_empty() || t.eq_ignore_ascii_case("inf") || t.eq_ignore_ascii_case("infinity") || t.eq_ignore_ascii_case("nan") {
        return match t {
            "Infinity" | "+Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            "NaN" => Some(f64::NAN),
            _ => None,
        };
    }
    t.parse::<f64>().ok()
}

async fn describe_bootstrap(client: &mut KafkaClient, o: &ConfigCommandOptions, e: &Entities) -> Result<(), CommandError> {
    let entity_type = e.types[0].as_str();
    if entity_type == "users" || entity_type == "clients" {
        for line in quota_lines(&describe_quotas_bootstrap(client, e).await?) {
            println!("{line}");
        }
        // then the SCRAM credentials of named users (or all users)
        return describe_scram_bootstrap(client, e).await;
    }
    if entity_type == "ips" {
        return Err(CommandError::Other("java.lang.UnsupportedOperationException: describing ips quotas is not supported by zkafka yet".into()));
    }
    let names: Vec<String> = match e.names.first() {
        Some(n) => vec![n.clone()],
        None if entity_type == "topics" => {
            let md = client.metadata(None, false).await.map_err(|x| CommandError::Other(x.to_string()))?;
            let mut ts: Vec<String> = md.topics.into_iter().map(|t| t.name).collect();
            ts.sort();
            ts
        }
        None => {
            let md = client.metadata(Some(&[]), false).await.map_err(|x| CommandError::Other(x.to_string()))?;
            let mut ids: Vec<String> = md.brokers.iter().map(|b| b.node_id.to_string()).collect();
            ids.push(String::new());
            ids
        }
    };
    for name in names {
        if name.is_empty() {
            println!("Default configs for {entity_type} in the cluster are:");
        } else {
            let what = if o.all { "All" } else { "Dynamic" };
            println!("{what} configs for {} {name} are:", &entity_type[..entity_type.len() - 1]);
        }
        for entry in resource_config(client, entity_type, &name, true, o.all).await? {
            println!("{}", entry_line(&entry));
        }
    }
    Ok(())
}

async fn alter_bootstrap(client: &mut KafkaClient, o: &ConfigCommandOptions, e: &Entities) -> Result<(), CommandError> {
    if e.types.len() != e.names.len() {
        return Err(usage("An entity name must be specified for every entity type"));
    }
    let entity_type = e.types[0].as_str();
    let name = e.names[0].as_str();
    let add = configs_to_add(o)?;
    let delete = configs_to_delete(o);
    match entity_type {
        "topics" | "broker-loggers" => {
            let old = resource_config(client, entity_type, name, entity_type == "broker-loggers", false).await?;
            if entity_type == "broker-loggers" {
                let valid: Vec<&String> = old.iter().map(|c| &c.name).collect();
                let invalid: Vec<&String> = delete.iter().chain(add.keys()).filter(|k| !valid.contains(k)).collect();
                if !invalid.is_empty() {
                    return Err(usage(format!("Invalid broker logger(s): {}", invalid.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","))));
                }
            } else {
                let invalid: Vec<&str> = delete.iter().filter(|k| !old.iter().any(|c| &c.name == *k)).map(|s| s.as_str()).collect();
                if !invalid.is_empty() {
                    return Err(usage(format!("Invalid config(s): {}", invalid.join(","))));
                }
            }
            let ops: Vec<(String, Option<String>)> =
                add.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).chain(delete.iter().map(|k| (k.clone(), None))).collect();
            let (rtype, _) = resource_of(entity_type, name)?;
            client
                .incremental_alter_resource(rtype, name, &ops)
                .await
                .map_err(CommandError::Other)?
                .map_err(|(c, m)| broker_error(c, m))?;
        }
        "brokers" => {
            let old = resource_config(client, entity_type, name, false, false).await?;
            let invalid: Vec<&str> = delete.iter().filter(|k| !old.iter().any(|c| &c.name == *k)).map(|s| s.as_str()).collect();
            if !invalid.is_empty() {
                return Err(usage(format!("Invalid config(s): {}", invalid.join(","))));
            }
            let mut new: BTreeMap<String, Option<String>> = old.into_iter().map(|c| (c.name, c.value)).collect();
            for (k, v) in &add {
                new.insert(k.clone(), Some(v.clone()));
            }
            for k in &delete {
                new.remove(k);
            }
            let missing: Vec<&String> = new.iter().filter(|(_, v)| v.is_none()).map(|(k, _)| k).collect();
            if !missing.is_empty() {
                return Err(usage(format!(
                    "All sensitive broker config entries must be specified for --alter, missing entries: {}",
                    super::scala_set_string(&missing)
                )));
            }
            let full: BTreeMap<String, String> = new.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
            client
                .alter_resource_configs(RESOURCE_BROKER, name, &full)
                .await
                .map_err(CommandError::Other)?
                .map_err(|(c, m)| broker_error(c, m))?;
        }
        "users" | "clients" => alter_quotas_bootstrap(client, e, &add, &delete).await?,
        t => {
            return Err(CommandError::Other(format!("java.lang.UnsupportedOperationException: altering {t} quotas is not supported by zkafka yet")));
        }
    }
    if !name.is_empty() {
        println!("Completed updating config for {} {name}.", &entity_type[..entity_type.len() - 1]);
    } else {
        println!("Completed updating default config for {entity_type} in the cluster.");
    }
    Ok(())
}

// ---- ZooKeeper mode

fn admin_error(err: crate::zk::AdminError) -> CommandError {
    use crate::zk::AdminError as E;
    match err {
        // LogConfig's unknown-name check throws InvalidConfigurationException,
        // which ConfigCommand reports by its message.
        E::InvalidConfig(m) if m.starts_with("Unknown topic config name") => usage(m),
        E::InvalidConfig(m) => CommandError::Other(format!("org.apache.kafka.common.config.ConfigException: {m}")),
        E::UnknownTopicOrPartition(m) => CommandError::Other(format!("org.apache.kafka.common.errors.UnknownTopicOrPartitionException: {m}")),
        E::InvalidRequest(m) if m.starts_with("Unknown Dynamic Configuration") => usage(format!("requirement failed: {m}")),
        E::InvalidTopic(m) => CommandError::Other(format!("org.apache.kafka.common.errors.InvalidTopicException: {m}")),
        other => CommandError::Other(other.to_string()),
    }
}

pub use crate::utils::{desanitize, sanitize};

/// One level of a ZooKeeper config entity (Kafka's `ConfigCommand.Entity`):
/// its type and its sanitized name (`<default>` for the default; `None` =
/// all of that type).
#[derive(Debug, Clone, PartialEq)]
pub struct ZkEntity {
    pub entity_type: String,
    pub name: Option<String>,
}

impl ZkEntity {
    fn path(&self) -> String {
        match &self.name {
            Some(n) => format!("{}/{n}", self.entity_type),
            None => self.entity_type.clone(),
        }
    }
}

impl std::fmt::Display for ZkEntity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            None => write!(f, "{}", self.entity_type),
            Some(n) => {
                let shown = if self.entity_type == "users" || self.entity_type == "clients" { desanitize(n) } else { n.clone() };
                if n == "<default>" {
                    write!(f, "{}", zk_entity_string(&self.entity_type, n))
                } else {
                    write!(f, "{}", zk_entity_string(&self.entity_type, &shown))
                }
            }
        }
    }
}

/// Kafka's `ConfigEntity`: a root (user, client, topic, broker) and, for
/// `<user, client>`, a child client.
#[derive(Debug, Clone, PartialEq)]
pub struct ZkConfigEntity {
    pub root: ZkEntity,
    pub child: Option<ZkEntity>,
}

impl ZkConfigEntity {
    /// The name under `/config/<root type>/` (`u/clients/c` for a pair).
    pub fn full_sanitized_name(&self) -> String {
        let mut s = self.root.name.clone().unwrap_or_default();
        if let Some(c) = &self.child {
            s.push('/');
            s.push_str(&c.path());
        }
        s
    }
}

impl std::fmt::Display for ZkConfigEntity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.root)?;
        if let Some(c) = &self.child {
            write!(f, ", {c}")?;
        }
        Ok(())
    }
}

/// Kafka's `parseEntity` / `parseClientQuotaEntity`: names sanitized,
/// `""` = `<default>`, a `clients, users` pair put in `users, clients` order.
pub fn parse_zk_entity(alter: bool, e: &Entities) -> Result<ZkConfigEntity, CommandError> {
    let head = e.types[0].as_str();
    if head != "users" && head != "clients" {
        let name = e.names.first().map(|n| if n.is_empty() { "<default>".to_string() } else { n.clone() });
        return Ok(ZkConfigEntity { root: ZkEntity { entity_type: head.to_string(), name }, child: None });
    }
    if alter && e.names.len() != e.types.len() {
        return Err(usage("--entity-name or --entity-default must be specified with each --entity-type for --alter"));
    }
    let reverse = e.types.len() == 2 && head == "clients";
    let types: Vec<String> = if reverse { e.types.iter().rev().cloned().collect() } else { e.types.clone() };
    let names: Vec<String> = if reverse && e.names.len() == 2 { e.names.iter().rev().cloned().collect() } else { e.names.clone() };
    let mut it = names.into_iter();
    let ents: Vec<ZkEntity> = types
        .into_iter()
        .map(|t| {
            let name = it.next().map(|n| if n.is_empty() { "<default>".to_string() } else { sanitize(&n) });
            ZkEntity { entity_type: t, name }
        })
        .collect();
    let mut ents = ents.into_iter();
    let root = ents.next().ok_or_else(|| usage("At least one entity type must be specified"))?;
    Ok(ZkConfigEntity { root, child: ents.next() })
}

/// Kafka's `ConfigEntity.getAllEntities`: expands the unnamed levels with
/// the children of `/config/...`.
async fn all_zk_entities(admin: &AdminZkClient, e: &ZkConfigEntity) -> Result<Vec<ZkConfigEntity>, CommandError> {
    let children = |path: String| async move {
        match admin.zk().get_children(&format!("/config/{path}")).await {
            Ok(mut c) => {
                c.sort();
                Ok::<Vec<String>, CommandError>(c)
            }
            Err(_) => Ok(Vec::new()),
        }
    };
    match (&e.root.name, &e.child) {
        (None, child) => {
            let mut out = Vec::new();
            for name in children(e.root.entity_type.clone()).await? {
                let root = ZkEntity { entity_type: e.root.entity_type.clone(), name: Some(name) };
                match child {
                    Some(c) => {
                        let sub = ZkConfigEntity { root: root.clone(), child: Some(ZkEntity { entity_type: c.entity_type.clone(), name: None }) };
                        out.extend(Box::pin(all_zk_entities(admin, &sub)).await?);
                    }
                    None => out.push(ZkConfigEntity { root, child: None }),
                }
            }
            Ok(out)
        }
        (Some(_), Some(c)) if c.name.is_none() => {
            let mut out = Vec::new();
            for name in children(format!("{}/{}", e.root.path(), c.entity_type)).await? {
                out.push(ZkConfigEntity { root: e.root.clone(), child: Some(ZkEntity { entity_type: c.entity_type.clone(), name: Some(name) }) });
            }
            Ok(out)
        }
        _ => Ok(vec![e.clone()]),
    }
}

/// The `iterations`/`password` of a SCRAM `--add-config` value, as Kafka's
/// `(?:iterations=([0-9]*),)?password=(.*)` (`bootstrap`: `-1` too, meaning
/// the default 4096). `None` when the value does not match.
pub fn parse_scram_value(value: &str, bootstrap: bool) -> Option<(i32, String)> {
    let (iterations, rest) = match value.strip_prefix("iterations=") {
        Some(r) => {
            let (num, rest) = r.split_once(',')?;
            let digits = num.strip_prefix('-').filter(|_| bootstrap).unwrap_or(num);
            if !digits.chars().all(|c| c.is_ascii_digit()) || digits.is_empty() {
                // `iterations=,password=x` matches the regex but Integer.parseInt("") fails
                return None;
            }
            let n: i64 = num.parse().ok()?;
            let n = if bootstrap && n == -1 { DEFAULT_SCRAM_ITERATIONS as i64 } else { n };
            (i32::try_from(n).ok()?, rest)
        }
        None => (DEFAULT_SCRAM_ITERATIONS, value),
    };
    let password = rest.strip_prefix("password=")?;
    Some((iterations, password.to_string()))
}

/// Kafka's `ConfigCommand.DefaultScramIterations`.
pub const DEFAULT_SCRAM_ITERATIONS: i32 = 4096;

/// The Java enum constant name of Kafka's internal `ScramMechanism`, which
/// ZooKeeper-mode messages print.
fn scram_enum_name(m: ScramMechanism) -> &'static str {
    match m {
        ScramMechanism::Sha256 => "SCRAM_SHA_256",
        ScramMechanism::Sha512 => "SCRAM_SHA_512",
    }
}

/// Kafka's `preProcessScramCredentials` (ZooKeeper mode): each
/// `SCRAM-SHA-*=[iterations=n,password=p]` becomes the stored credential
/// (random salt, PBKDF2), never the password.
fn pre_process_scram_credentials(add: &mut BTreeMap<String, String>) -> Result<(), CommandError> {
    for m in ScramMechanism::ALL {
        let Some(value) = add.get(m.mechanism_name()).cloned() else { continue };
        let (iterations, password) = parse_scram_value(&value, false)
            .ok_or_else(|| usage(format!("Invalid credential property {}={value}", scram_enum_name(m))))?;
        if iterations < m.min_iterations() {
            return Err(usage(format!(
                "Iterations {iterations} is less than the minimum {} required for {}",
                m.min_iterations(),
                scram_enum_name(m)
            )));
        }
        let salt = crate::security::scram::secure_random_string().into_bytes();
        let cred = ScramCredential::generate(m, &password, &salt, iterations);
        add.insert(m.mechanism_name().to_string(), cred.to_config_string());
    }
    Ok(())
}

/// Kafka's `alterUserScramCredentialConfigs` (bootstrap mode).
async fn alter_scram_bootstrap(
    client: &mut KafkaClient,
    user: &str,
    add: &BTreeMap<String, String>,
    delete: &[String],
) -> Result<(), CommandError> {
    use crate::client::admin::ScramAlteration;
    let mut changes = Vec::new();
    for k in delete {
        if let Some(m) = ScramMechanism::from_name(k) {
            changes.push(ScramAlteration::Delete { mechanism: m });
        }
    }
    for (k, v) in add {
        let Some(m) = ScramMechanism::from_name(k) else { continue };
        let (iterations, password) =
            parse_scram_value(v, true).ok_or_else(|| usage(format!("Invalid credential property {}={v}", scram_enum_name(m))))?;
        if iterations < m.min_iterations() {
            return Err(usage(format!(
                "Iterations {iterations} is less than the minimum {} required for {}",
                m.min_iterations(),
                m.mechanism_name()
            )));
        }
        changes.push(ScramAlteration::Upsert { mechanism: m, iterations, password });
    }
    let resp = client.alter_user_scram_credentials(user, &changes).await.map_err(CommandError::Other)?;
    match resp.results.into_iter().find(|r| r.error_code != crate::protocol::error::NONE) {
        Some(r) => Err(broker_error(r.error_code, r.error_message)),
        None => Ok(()),
    }
}

/// Kafka's SCRAM part of `describeClientQuotaAndUserScramCredentialConfigs`.
async fn describe_scram_bootstrap(client: &mut KafkaClient, e: &Entities) -> Result<(), CommandError> {
    if e.types.iter().any(|t| t == "clients") || e.names.iter().any(|n| n.is_empty()) {
        return Ok(());
    }
    let resp = client.describe_user_scram_credentials(&e.names).await.map_err(CommandError::Other)?;
    if resp.error_code != crate::protocol::error::NONE {
        return Err(broker_error(resp.error_code, resp.error_message));
    }
    for r in resp.results {
        if r.error_code == crate::protocol::error::RESOURCE_NOT_FOUND {
            continue;
        }
        if r.error_code != crate::protocol::error::NONE {
            let ex = super::kafka_exception(r.error_code, r.error_message.as_deref());
            let simple = ex.trim_start_matches("org.apache.kafka.common.errors.");
            println!("Error retrieving SCRAM credential configs for user-principal '{}': {simple}", r.user);
            continue;
        }
        let text: Vec<String> = r
            .credential_infos
            .iter()
            .map(|c| {
                let name = ScramMechanism::from_type_id(c.mechanism).map(|m| m.mechanism_name()).unwrap_or("UNKNOWN");
                format!("{name}=iterations={}", c.iterations)
            })
            .collect();
        println!("SCRAM credential configs for user-principal '{}' are {}", r.user, text.join(", "));
    }
    Ok(())
}

async fn alter_zk(admin: &AdminZkClient, o: &ConfigCommandOptions, e: &Entities) -> Result<(), CommandError> {
    let add = configs_to_add(o)?;
    let delete = configs_to_delete(o);
    let entity = parse_zk_entity(true, e)?;
    let entity_type = entity.root.entity_type.as_str();
    let name = entity.full_sanitized_name();
    if entity_type == "ips" {
        return Err(CommandError::Other("java.lang.UnsupportedOperationException: ips configs are not supported by zkafka yet".into()));
    }
    let mut add = add;
    if entity_type == "users" {
        pre_process_scram_credentials(&mut add)?;
    }
    if entity_type == "brokers" {
        let dynamic: Vec<&String> = add.keys().filter(|k| !ZK_UPDATABLE_WHILE_RUNNING.contains(&k.as_str())).collect();
        if !dynamic.is_empty() {
            let msg = format!("--bootstrap-server option must be specified to update broker configs {}.", super::scala_set_string(&dynamic));
            let info = "Broker configuration updates using ZooKeeper are supported for bootstrapping before brokers are started to enable encrypted password configs to be stored in ZooKeeper.";
            let zk = admin.zk();
            if name != "<default>" {
                if let Ok(id) = name.parse::<i32>() {
                    if zk.get_broker(id).await.map_err(|x| CommandError::Other(x.to_string()))?.is_some() {
                        return Err(usage(format!("requirement failed: {msg} when broker {name} is running. {info}")));
                    }
                }
            } else if !zk.get_all_broker_ids().await.map_err(|x| CommandError::Other(x.to_string()))?.is_empty() {
                return Err(usage(format!("requirement failed: {msg} for default cluster if any broker is running. {info}")));
            }
        }
    }
    let mut configs = admin.fetch_entity_config(entity_type, &name).await.map_err(admin_error)?;
    let invalid: Vec<&str> = delete.iter().filter(|k| !configs.contains_key(*k)).map(|s| s.as_str()).collect();
    if !invalid.is_empty() {
        return Err(usage(format!("Invalid config(s): {}", invalid.join(","))));
    }
    configs.extend(add);
    for k in &delete {
        configs.remove(k);
    }
    if entity_type == "topics" {
        admin.change_topic_config(&name, configs).await.map_err(admin_error)?;
    } else if entity_type == "users" || entity_type == "clients" {
        admin.change_client_quota_config(entity_type, &name, configs).await.map_err(admin_error)?;
    } else {
        let id = if name == "<default>" {
            None
        } else {
            Some(name.parse::<i32>().map_err(|_| usage(format!("The entity name for brokers must be a valid integer broker id, but it is: {name}")))?)
        };
        admin.change_broker_config(id, configs).await.map_err(admin_error)?;
    }
    println!("Completed updating config for entity: {entity}.");
    Ok(())
}

async fn describe_zk(admin: &AdminZkClient, e: &Entities) -> Result<(), CommandError> {
    let entity = parse_zk_entity(false, e)?;
    if entity.root.entity_type == "ips" {
        return Err(CommandError::Other("java.lang.UnsupportedOperationException: ips configs are not supported by zkafka yet".into()));
    }
    let describe_all_users = entity.root.entity_type == "users" && entity.root.name.is_none() && entity.child.is_none();
    for ent in all_zk_entities(admin, &entity).await? {
        let configs = admin.fetch_entity_config(&ent.root.entity_type, &ent.full_sanitized_name()).await.map_err(admin_error)?;
        if !configs.is_empty() || !describe_all_users {
            let text: Vec<String> = configs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!("Configs for {ent} are {}", text.join(","));
        }
    }
    Ok(())
}

async fn run(o: &ConfigCommandOptions, e: &Entities) -> Result<(), CommandError> {
    if let Some(zk) = &o.zookeeper {
        println!("Warning: --zookeeper is deprecated and will be removed in a future version of Kafka.");
        println!("Use --bootstrap-server instead to specify a broker to connect to.");
        let config = ZkClientConfig { connect: zk.clone(), session_timeout: Duration::from_secs(30), connection_timeout: Duration::from_secs(30) };
        let zk = KafkaZkClient::connect(config).await.map_err(|x| CommandError::Other(x.to_string()))?;
        let admin = AdminZkClient::new(zk);
        if o.alter {
            alter_zk(&admin, o, e).await
        } else {
            describe_zk(&admin, e).await
        }
    } else {
        let bs = o.bootstrap_server.clone().unwrap_or_default();
        let mut client = KafkaClient::with_config_file(&bs, "adminclient-1", Duration::from_secs(30), o.command_config.as_deref())
            .map_err(CommandError::Other)?;
        if o.alter {
            alter_bootstrap(&mut client, o, e).await
        } else {
            describe_bootstrap(&mut client, o, e).await
        }
    }
}

pub fn main(args: Vec<String>) -> i32 {
    let opts: ConfigCommandOptions = match super::parse_args(&args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let raw = &args[1.min(args.len())..];
    let ents = entities(&opts, raw);
    let result = match check_args(&opts, &ents) {
        Err(e) => Err(e),
        Ok(()) => match super::runtime() {
            Ok(rt) => rt.block_on(run(&opts, &ents)),
            Err(code) => return code,
        },
    };
    match result {
        Ok(()) => 0,
        Err(CommandError::Usage(m)) => {
            eprintln!("{m}");
            1
        }
        Err(CommandError::Other(m)) => {
            eprintln!("Error while executing config command with args '{}'", raw.join(" "));
            eprintln!("{m}");
            1
        }
    }
}

use crate::security::scram::{ScramCredential, ScramMechanism};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scram_values() {
        assert_eq!(parse_scram_value("password=a,b=c", false), Some((4096, "a,b=c".into())));
        assert_eq!(parse_scram_value("iterations=8192,password=x", false), Some((8192, "x".into())));
        assert_eq!(parse_scram_value("iterations=-1,password=x", true), Some((4096, "x".into())));
        assert_eq!(parse_scram_value("iterations=-1,password=x", false), None);
        assert_eq!(parse_scram_value("pass=x", false), None);
        assert_eq!(parse_scram_value("iterations=,password=x", false), None);
        let mut add: BTreeMap<String, String> = [("SCRAM-SHA-256".to_string(), "iterations=100,password=x".to_string())].into();
        assert_eq!(pre_process_scram_credentials(&mut add), Err(usage("Iterations 100 is less than the minimum 4096 required for SCRAM_SHA_256")));
        let mut add: BTreeMap<String, String> = [("SCRAM-SHA-512".to_string(), "password=pw".to_string())].into();
        pre_process_scram_credentials(&mut add).unwrap();
        let c = ScramCredential::from_config_string(&add["SCRAM-SHA-512"]).unwrap();
        assert_eq!(c, ScramCredential::generate(ScramMechanism::Sha512, "pw", &c.salt, 4096));
    }

    fn parse(args: &[&str]) -> (ConfigCommandOptions, Entities) {
        let mut v = vec!["kafka-configs.sh".to_string()];
        v.extend(args.iter().map(|s| s.to_string()));
        let o = ConfigCommandOptions::try_parse_from(&v).unwrap();
        let e = entities(&o, &v[1..]);
        (o, e)
    }

    #[test]
    fn add_config_syntax() {
        let m = parse_add_config("k1=v1,k2=[a,b,c],k3 = v3,empty=").unwrap();
        assert_eq!(m.get("k1").unwrap(), "v1");
        assert_eq!(m.get("k2").unwrap(), "a,b,c");
        assert_eq!(m.get("k3").unwrap(), "v3");
        assert_eq!(m.get("empty").unwrap(), "");
        assert_eq!(
            parse_add_config("leader.replication.throttled.replicas=[0:1,0:2]").unwrap().get("leader.replication.throttled.replicas").unwrap(),
            "0:1,0:2"
        );
        for bad in ["k", "k=v=w", "", "a=1,b"] {
            assert!(matches!(parse_add_config(bad), Err(CommandError::Usage(m)) if m.contains("key=val")), "{bad}");
        }
    }

    #[test]
    fn properties_file() {
        let m = parse_properties("# c\n\nretention.ms=1000\n! x\nsegment.bytes : 2048\n");
        assert_eq!(m.len(), 2);
        assert_eq!(m["retention.ms"], "1000");
        assert_eq!(m["segment.bytes"], "2048");
    }

    #[test]
    fn entity_names_in_order() {
        let (_, e) = parse(&["--bootstrap-server", "x:1", "--describe", "--entity-type", "users", "--entity-default", "--entity-type", "clients", "--entity-name", "c"]);
        assert_eq!(e.types, vec!["users", "clients"]);
        assert_eq!(e.names, vec!["", "c"]);
        let (_, e) = parse(&["--bootstrap-server", "x:1", "--describe", "--user-defaults", "--client", "c"]);
        assert_eq!((e.types, e.names), (vec!["clients".to_string(), "users".to_string()], vec!["c".to_string(), "".to_string()]));
        let (_, e) = parse(&["--zookeeper", "x:1", "--describe", "--topic", "t"]);
        assert_eq!((e.types, e.names), (vec!["topics".to_string()], vec!["t".to_string()]));
    }

    #[test]
    fn kafkas_argument_checks() {
        let err = |a: &[&str]| {
            let (o, e) = parse(a);
            match check_args(&o, &e) {
                Err(CommandError::Usage(m)) => m,
                other => panic!("{a:?}: {other:?}"),
            }
        };
        assert_eq!(err(&["--bootstrap-server", "x:1", "--entity-type", "topics"]), "Command must include exactly one action: --describe, --alter");
        assert_eq!(
            err(&["--bootstrap-server", "x:1", "--alter", "--entity-type", "topics", "--add-config", "a=b"]),
            "an entity name must be specified with --alter of topics"
        );
        assert_eq!(
            err(&["--zookeeper", "x:1", "--describe", "--entity-type", "broker-loggers", "--entity-name", "1"]),
            "Invalid entity type broker-loggers, the entity type must be one of topics,clients,users,brokers,ips with the --zookeeper argument"
        );
        assert_eq!(err(&["--describe", "--entity-type", "topics"]), "One of the required --bootstrap-server or --zookeeper arguments must be specified");
        assert_eq!(
            err(&["--bootstrap-server", "x:1", "--zookeeper", "y:2", "--describe", "--entity-type", "topics"]),
            "Only one of --bootstrap-server or --zookeeper must be specified"
        );
        assert_eq!(err(&["--zookeeper", "x:1", "--describe", "--all", "--entity-type", "topics"]), "--bootstrap-server must be specified for --all");
        assert_eq!(
            err(&["--bootstrap-server", "x:1", "--describe", "--entity-type", "brokers", "--entity-name", "b1"]),
            "The entity name for brokers must be a valid integer broker id, but it is: b1"
        );
        assert_eq!(
            err(&["--bootstrap-server", "x:1", "--alter", "--entity-type", "brokers"]),
            "an entity-name or default entity must be specified with --alter of users, clients, brokers or ips"
        );
        assert_eq!(
            err(&["--bootstrap-server", "x:1", "--alter", "--entity-type", "topics", "--entity-name", "t"]),
            "At least one of --add-config, --add-config-file, or --delete-config must be specified with --alter"
        );
        assert_eq!(
            err(&["--bootstrap-server", "x:1", "--alter", "--entity-type", "topics", "--entity-name", "t", "--add-config", "a=1", "--add-config-file", "f"]),
            "Only one of --add-config or --add-config-file must be specified"
        );
        assert_eq!(
            err(&["--bootstrap-server", "x:1", "--describe", "--entity-type", "topics", "--entity-type", "brokers"]),
            "Only 'users' and 'clients' entity types may be specified together"
        );
        assert_eq!(
            err(&["--bootstrap-server", "x:1", "--describe", "--entity-type", "topics", "--entity-type", "topics"]),
            "Duplicate entity type(s) specified: topics"
        );
        // the shorthand flag adds its type, so Kafka's duplicate check comes first here
        assert_eq!(
            err(&["--bootstrap-server", "x:1", "--describe", "--entity-type", "topics", "--topic", "t"]),
            "Duplicate entity type(s) specified: topics"
        );
        assert_eq!(
            err(&["--bootstrap-server", "x:1", "--describe", "--entity-name", "x", "--topic", "t"]),
            "--entity-{type,name,default} should not be used in conjunction with specific entity flags"
        );
        let (o, e) = parse(&["--bootstrap-server", "x:1", "--alter", "--entity-type", "brokers", "--entity-default", "--add-config", "a=1"]);
        assert_eq!(check_args(&o, &e), Ok(()));
    }

    #[test]
    fn zk_entities() {
        assert_eq!(sanitize("user 1*@x"), "user%201%2A%40x");
        assert_eq!(desanitize("user%201%2A%40x"), "user 1*@x");
        assert_eq!(desanitize("é%"), "é%");
        assert_eq!(desanitize("%é"), "%é");
        let (o, e) = parse(&["--zookeeper", "x:1", "--alter", "--entity-type", "clients", "--entity-name", "c", "--entity-type", "users", "--entity-name", "u 1", "--add-config", "producer_byte_rate=10"]);
        let ent = parse_zk_entity(o.alter, &e).unwrap();
        assert_eq!(ent.full_sanitized_name(), "u%201/clients/c");
        assert_eq!(ent.root.entity_type, "users");
        assert_eq!(ent.to_string(), "user-principal 'u 1', client-id 'c'");
        let (o, e) = parse(&["--zookeeper", "x:1", "--alter", "--entity-type", "users", "--entity-default", "--add-config", "producer_byte_rate=10"]);
        let ent = parse_zk_entity(o.alter, &e).unwrap();
        assert_eq!((ent.full_sanitized_name(), ent.to_string()), ("<default>".to_string(), "default user-principal".to_string()));
        let (o, e) = parse(&["--zookeeper", "x:1", "--alter", "--entity-type", "users", "--entity-type", "clients", "--entity-name", "c", "--add-config", "a=1"]);
        assert!(matches!(parse_zk_entity(o.alter, &e), Err(CommandError::Usage(m)) if m == "--entity-name or --entity-default must be specified with each --entity-type for --alter"));
    }

    #[test]
    fn quota_describe_lines_and_filters() {
        use crate::protocol::messages::describe_client_quotas::ValueData;
        let ent = |pairs: &[(&str, Option<&str>)]| -> Vec<EntityData> {
            pairs.iter().map(|(t, n)| EntityData { entity_type: t.to_string(), entity_name: n.map(str::to_string) }).collect()
        };
        let entries = vec![EntryData {
            // the client-id first on the wire: the line still names the user first
            entity: ent(&[("client-id", Some("app")), ("user", Some("alice"))]),
            values: vec![ValueData { key: "producer_byte_rate".into(), value: 1048576.0 }],
        }];
        assert_eq!(quota_lines(&entries), vec!["Quota configs for user-principal 'alice', client-id 'app' are producer_byte_rate=1048576.0"]);
        let entries = vec![EntryData {
            entity: ent(&[("client-id", None)]),
            values: vec![ValueData { key: "consumer_byte_rate".into(), value: 2e7 }],
        }];
        assert_eq!(quota_lines(&entries), vec!["Quota configs for the default client-id are consumer_byte_rate=2.0E7"]);
        // several values: Java HashMap order (a table of 4 buckets for 3 keys;
        // producer_byte_rate and request_percentage share one, so those two
        // keep the order the broker sent them in)
        let v = |k: &str| ValueData { key: k.into(), value: 1.0 };
        let line = |keys: &[&str]| quota_lines(&[EntryData { entity: ent(&[("user", None)]), values: keys.iter().map(|k| v(k)).collect() }]);
        let all = "Quota configs for the default user-principal are consumer_byte_rate=1.0, producer_byte_rate=1.0, request_percentage=1.0";
        assert_eq!(line(&["consumer_byte_rate", "producer_byte_rate", "request_percentage"]), vec![all]);
        assert_eq!(line(&["producer_byte_rate", "consumer_byte_rate", "request_percentage"]), vec![all]);
        assert_eq!(
            line(&["request_percentage", "consumer_byte_rate", "producer_byte_rate"]),
            vec!["Quota configs for the default user-principal are consumer_byte_rate=1.0, request_percentage=1.0, producer_byte_rate=1.0"]
        );

        let (_, e) = parse(&["--bootstrap-server", "x:1", "--describe", "--entity-type", "users", "--entity-name", "u", "--entity-type", "clients", "--entity-default"]);
        let f = quota_filter(&e).unwrap();
        assert_eq!((f[0].entity_type.as_str(), f[0].match_type, f[0].match_.as_deref()), ("user", MATCH_EXACT, Some("u")));
        assert_eq!((f[1].entity_type.as_str(), f[1].match_type, f[1].match_.as_deref()), ("client-id", MATCH_DEFAULT, None));
        let (_, e) = parse(&["--bootstrap-server", "x:1", "--describe", "--entity-type", "clients"]);
        assert_eq!(quota_filter(&e).unwrap()[0].match_type, MATCH_ANY);
        assert_eq!(parse_java_double("1048576"), Some(1048576.0));
        assert_eq!(parse_java_double(" 1.5e3 "), Some(1500.0));
        assert_eq!(parse_java_double("fast"), None);
        assert_eq!(parse_java_double("inf"), None);
    }

    #[test]
    fn output_strings() {
        use crate::protocol::messages::describe_configs::DescribeConfigsSynonym;
        let e = DescribeConfigsResourceResult {
            name: "retention.ms".into(),
            value: Some("1000".into()),
            config_source: SOURCE_TOPIC_CONFIG,
            synonyms: vec![
                DescribeConfigsSynonym { name: "retention.ms".into(), value: Some("1000".into()), source: SOURCE_TOPIC_CONFIG, ..Default::default() },
                DescribeConfigsSynonym { name: "log.retention.hours".into(), value: Some("168".into()), source: SOURCE_DEFAULT_CONFIG, ..Default::default() },
            ],
            ..Default::default()
        };
        assert_eq!(
            entry_line(&e),
            "  retention.ms=1000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=1000, DEFAULT_CONFIG:log.retention.hours=168}"
        );
        assert_eq!(zk_entity_string("topics", "t"), "topic 't'");
        assert_eq!(zk_entity_string("brokers", "<default>"), "default brokers");
        assert_eq!(zk_entity_string("brokers", "1"), "brokers '1'");
        assert_eq!(zk_entity_string("users", "u"), "user-principal 'u'");
    }
}
