//! `kafka-topics`: create, list and describe topics, through ZooKeeper
//! (`--zookeeper`, as Kafka 2.8's ZookeeperTopicService wrote znodes directly)
//! or through a broker (`--bootstrap-server`, CreateTopics and Metadata).
//! Maps to Kafka's `kafka.admin.TopicCommand`.

use clap::Parser;
use std::collections::BTreeMap;

#[derive(Parser, Debug, Default)]
#[command(
    name = "kafka-topics.sh",
    about = "Create, delete, describe, or change a topic.",
    disable_version_flag = true
)]
pub struct TopicCommandOptions {
    /// Create a new topic.
    #[arg(long)]
    pub create: bool,
    /// List all available topics.
    #[arg(long)]
    pub list: bool,
    /// List details for the given topics.
    #[arg(long)]
    pub describe: bool,
    /// Delete a topic.
    #[arg(long)]
    pub delete: bool,
    /// Alter the number of partitions and replica assignment of the new partitions.
    #[arg(long)]
    pub alter: bool,
    /// REQUIRED (unless --zookeeper): the Kafka server to connect to, host:port.
    #[arg(long, value_name = "String: server to connect to")]
    pub bootstrap_server: Option<String>,
    /// DEPRECATED, the connection string for the zookeeper connection in the form host:port[/chroot].
    #[arg(long, value_name = "String: hosts")]
    pub zookeeper: Option<String>,
    /// Property file containing configs to be passed to Admin Client.
    #[arg(long, value_name = "String: command config property file")]
    pub command_config: Option<String>,
    /// The topic to create, describe or list (a regular expression except with --create).
    #[arg(long, value_name = "String: topic")]
    pub topic: Option<String>,
    /// The number of partitions for the topic being created.
    #[arg(long, value_name = "Integer: # of partitions")]
    pub partitions: Option<i32>,
    /// The replication factor for each partition in the topic being created.
    #[arg(long, value_name = "Integer: replication factor")]
    pub replication_factor: Option<i32>,
    /// A list of manual partition-to-broker assignments: broker_id_for_part1_replica1:broker_id_for_part1_replica2,...
    #[arg(long, value_name = "String: broker_id_for_part1_replica1:...")]
    pub replica_assignment: Option<String>,
    /// A topic configuration override, name=value (repeatable).
    #[arg(long, value_name = "String: name=value")]
    pub config: Vec<String>,
    /// If set when creating topics, the action will only execute if the topic does not already exist.
    #[arg(long)]
    pub if_not_exists: bool,
    /// If set when altering or deleting or describing topics, the action will only execute if the topic exists.
    #[arg(long)]
    pub if_exists: bool,
    /// Exclude internal topics when running list or describe command.
    #[arg(long)]
    pub exclude_internal: bool,
    /// If set when describing topics, only show under replicated partitions.
    #[arg(long)]
    pub under_replicated_partitions: bool,
    /// If set when describing topics, only show partitions whose leader is not available.
    #[arg(long)]
    pub unavailable_partitions: bool,
    /// If set when describing topics, only show partitions whose isr count is less than the configured minimum.
    #[arg(long)]
    pub under_min_isr_partitions: bool,
    /// If set when describing topics, only show partitions whose isr count is equal to the configured minimum.
    #[arg(long)]
    pub at_min_isr_partitions: bool,
    /// If set when describing topics, only show topics that have overridden configs.
    #[arg(long)]
    pub topics_with_overrides: bool,
    /// Disable rack aware replica assignment (--zookeeper mode; a broker places replicas itself).
    #[arg(long)]
    pub disable_rack_aware: bool,
    /// Suppress console prompts (a no-op, as in Kafka).
    #[arg(long)]
    pub force: bool,
}

/// One partition as `--describe` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartitionDescription {
    pub partition: i32,
    pub leader: Option<i32>,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub adding_replicas: Vec<i32>,
    pub removing_replicas: Vec<i32>,
    /// Whether the leader is a live broker (for --unavailable-partitions).
    pub leader_alive: bool,
}

/// One topic as `--describe` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicDescription {
    pub name: String,
    /// base64url topic id, when known and non-zero.
    pub topic_id: Option<String>,
    pub partitions: Vec<PartitionDescription>,
    /// Non-default configs, in the order to print them.
    pub configs: Vec<(String, String)>,
    pub marked_for_deletion: bool,
}

/// Which partitions `--describe` prints, per Kafka's filter flags.
#[derive(Debug, Clone, Copy, Default)]
pub struct DescribeFilter {
    pub under_replicated: bool,
    pub unavailable: bool,
    pub under_min_isr: bool,
    pub at_min_isr: bool,
    pub min_isr: i32,
}

impl DescribeFilter {
    fn any(&self) -> bool {
        self.under_replicated || self.unavailable || self.under_min_isr || self.at_min_isr
    }

    fn accepts(&self, p: &PartitionDescription) -> bool {
        if self.under_replicated {
            let target = p.replicas.iter().filter(|r| !p.adding_replicas.contains(r)).count();
            return target > p.isr.len();
        }
        if self.unavailable {
            return p.leader.is_none() || !p.leader_alive;
        }
        if self.under_min_isr {
            return p.leader.is_none() || (p.isr.len() as i32) < self.min_isr;
        }
        if self.at_min_isr {
            return p.isr.len() as i32 == self.min_isr;
        }
        true
    }
}

fn join(ids: &[i32]) -> String {
    ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

/// Kafka 2.8's `--describe` text for one topic: the summary line (unless a
/// partition filter is set), then one line per partition with a leading tab.
pub fn format_description(t: &TopicDescription, filter: &DescribeFilter, bootstrap: bool) -> String {
    let mut out = String::new();
    if !filter.any() {
        out.push_str(&format!("Topic: {}", t.name));
        if let Some(id) = &t.topic_id {
            out.push_str(&format!("\tTopicId: {id}"));
        }
        let rf = t
            .partitions
            .first()
            .map(|p| p.replicas.iter().filter(|r| !p.adding_replicas.contains(r)).count())
            .unwrap_or(0);
        let configs = t.configs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
        out.push_str(&format!("\tPartitionCount: {}\tReplicationFactor: {}\tConfigs: {}", t.partitions.len(), rf, configs));
        if t.marked_for_deletion {
            out.push_str("\tMarkedForDeletion: true");
        }
        out.push('\n');
    }
    let mut parts: Vec<&PartitionDescription> = t.partitions.iter().filter(|p| filter.accepts(p)).collect();
    parts.sort_by_key(|p| p.partition);
    for p in parts {
        let leader = p.leader.map(|l| l.to_string()).unwrap_or_else(|| "none".to_string());
        out.push_str(&format!(
            "\tTopic: {}\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}",
            t.name,
            p.partition,
            leader,
            join(&p.replicas),
            join(&p.isr)
        ));
        if bootstrap && (!p.adding_replicas.is_empty() || !p.removing_replicas.is_empty()) {
            out.push_str(&format!(
                "\tAdding Replicas: {}\tRemoving Replicas: {}",
                join(&p.adding_replicas),
                join(&p.removing_replicas)
            ));
        }
        if t.marked_for_deletion {
            out.push_str("\tMarkedForDeletion: true");
        }
        out.push('\n');
    }
    out
}

/// Parses `--replica-assignment 1:2,2:3` into partition → replicas.
pub fn parse_replica_assignment(s: &str) -> Result<BTreeMap<i32, Vec<i32>>, String> {
    let mut out = BTreeMap::new();
    for (p, part) in s.split(',').enumerate() {
        let mut replicas = Vec::new();
        for id in part.split(':') {
            let id: i32 = id.trim().parse().map_err(|_| format!("Invalid replica assignment '{s}': '{id}' is not a broker id"))?;
            if replicas.contains(&id) {
                return Err(format!("Partition replica lists may not contain duplicate entries: {id}"));
            }
            replicas.push(id);
        }
        if p > 0 {
            let first_len = out.get(&0).map(|r: &Vec<i32>| r.len()).unwrap_or(0);
            if replicas.len() != first_len {
                return Err(format!(
                    "Partition {p} has different replication factor: {}",
                    replicas.len()
                ));
            }
        }
        out.insert(p as i32, replicas);
    }
    Ok(out)
}

/// Parses `--config k=v` entries.
pub fn parse_configs(entries: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for e in entries {
        let (k, v) = e
            .split_once('=')
            .ok_or_else(|| format!("Invalid topic config: all configs to be added must be in the format \"key=val\"."))?;
        out.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(out)
}

/// Kafka's `--topic` matching: a regular expression over the whole name, or
/// the literal name. Only `.`, `*` and literal characters are interpreted (a
/// small subset of Java regex, enough for the usual `foo.*` patterns).
pub fn topic_matches(pattern: &str, name: &str) -> bool {
    fn m(p: &[char], n: &[char]) -> bool {
        match p {
            [] => n.is_empty(),
            [c, '*', rest @ ..] => {
                let mut i = 0;
                loop {
                    if m(rest, &n[i..]) {
                        return true;
                    }
                    if i < n.len() && (*c == '.' || n[i] == *c) {
                        i += 1;
                    } else {
                        return false;
                    }
                }
            }
            ['\\', c, rest @ ..] => !n.is_empty() && n[0] == *c && m(rest, &n[1..]),
            [c, rest @ ..] => !n.is_empty() && (*c == '.' || n[0] == *c) && m(rest, &n[1..]),
        }
    }
    if pattern == name {
        return true;
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    m(&p, &n)
}

/// Checks the combination of flags the way TopicCommand does; `Err` is the
/// message to print before the usage.
pub fn check_args(o: &TopicCommandOptions) -> Result<(), String> {
    let actions = [o.create, o.list, o.describe, o.delete, o.alter].iter().filter(|a| **a).count();
    if actions != 1 {
        return Err("Command must include exactly one action: --list, --describe, --create, --alter or --delete".into());
    }
    match (&o.bootstrap_server, &o.zookeeper) {
        (None, None) => return Err("Only one of --bootstrap-server or --zookeeper must be specified".into()),
        (Some(_), Some(_)) => return Err("Only one of --bootstrap-server or --zookeeper must be specified".into()),
        _ => {}
    }
    if o.create || o.delete || o.alter {
        if o.topic.is_none() {
            return Err("Missing required argument \"[topic]\"".into());
        }
    }
    if o.alter {
        if o.bootstrap_server.is_some() && !o.config.is_empty() {
            return Err("Option \"[config]\" can't be used with option \"[alter]\" and \"[bootstrap-server]\" (the kafka-configs CLI supports altering topic configs with a --bootstrap-server option)".into());
        }
        if !o.config.is_empty() {
            return Err("Altering topic configs with kafka-topics is not supported by zkafka; use kafka-configs.sh".into());
        }
        if o.partitions.is_none() {
            return Err("Missing required argument \"[partitions]\"".into());
        }
    }
    if (o.replica_assignment.is_some() || o.disable_rack_aware) && !(o.create || o.alter) {
        let which = if o.replica_assignment.is_some() { "replica-assignment" } else { "disable-rack-aware" };
        return Err(format!("Option \"[{which}]\" can't be used with option \"[list]\", \"[describe]\" or \"[delete]\""));
    }
    if o.if_exists && !(o.alter || o.delete || o.describe) {
        return Err("Option \"[if-exists]\" can't be used with option \"[create]\" or \"[list]\"".into());
    }
    if o.exclude_internal && !(o.list || o.describe) {
        return Err("Option \"[exclude-internal]\" can only be used with option \"[list]\" or \"[describe]\"".into());
    }
    if o.create {
        if o.replica_assignment.is_some() && (o.partitions.is_some() || o.replication_factor.is_some()) {
            return Err("Option \"[replica-assignment]\" can't be used with option \"[partitions]\" or \"[replication-factor]\"".into());
        }
        if o.zookeeper.is_some() && o.replica_assignment.is_none() {
            if o.partitions.is_none() {
                return Err("Missing required argument \"[partitions]\"".into());
            }
            if o.replication_factor.is_none() {
                return Err("Missing required argument \"[replication-factor]\"".into());
            }
        }
        if let Some(p) = o.partitions {
            if p < 1 {
                return Err("The partitions must be greater than 0".into());
            }
        }
        if let Some(rf) = o.replication_factor {
            if !(1..=i16::MAX as i32).contains(&rf) {
                return Err("The replication factor must be between 1 and 32767 inclusive".into());
            }
        }
    } else {
        if o.partitions.is_some() && !o.alter {
            return Err("Option \"[partitions]\" can't be used with option \"[list]\" or \"[describe]\"".into());
        }
        if o.replication_factor.is_some() {
            return Err("Option \"[replication-factor]\" can only be used with option \"[create]\"".into());
        }
        if o.if_not_exists {
            return Err("Option \"[if-not-exists]\" can only be used with option \"[create]\"".into());
        }
    }
    let filters = [o.under_replicated_partitions, o.unavailable_partitions, o.under_min_isr_partitions, o.at_min_isr_partitions, o.topics_with_overrides]
        .iter()
        .filter(|f| **f)
        .count();
    if filters > 0 && !o.describe {
        return Err("Describe filters can only be used with option \"[describe]\"".into());
    }
    if filters > 1 {
        return Err("Only one of the describe filters may be given".into());
    }
    if o.zookeeper.is_some() && (o.under_min_isr_partitions || o.at_min_isr_partitions) {
        return Err("--under-min-isr-partitions and --at-min-isr-partitions are not supported with --zookeeper".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic() -> TopicDescription {
        TopicDescription {
            name: "orders".into(),
            topic_id: Some("s1Xq3lHnQ1ynP2c7y3yZgA".into()),
            partitions: vec![
                PartitionDescription { partition: 1, leader: Some(2), replicas: vec![2, 1], isr: vec![2], leader_alive: true, ..Default::default() },
                PartitionDescription { partition: 0, leader: None, replicas: vec![1, 2], isr: vec![1, 2], leader_alive: false, ..Default::default() },
            ],
            configs: vec![("cleanup.policy".into(), "compact".into()), ("segment.bytes".into(), "1000".into())],
            marked_for_deletion: false,
        }
    }

    #[test]
    fn describe_matches_kafka_28_format() {
        let out = format_description(&topic(), &DescribeFilter::default(), false);
        assert_eq!(
            out,
            "Topic: orders\tTopicId: s1Xq3lHnQ1ynP2c7y3yZgA\tPartitionCount: 2\tReplicationFactor: 2\tConfigs: cleanup.policy=compact,segment.bytes=1000\n\
             \tTopic: orders\tPartition: 0\tLeader: none\tReplicas: 1,2\tIsr: 1,2\n\
             \tTopic: orders\tPartition: 1\tLeader: 2\tReplicas: 2,1\tIsr: 2\n"
        );
    }

    #[test]
    fn filters_drop_the_summary_and_select_partitions() {
        let f = DescribeFilter { under_replicated: true, ..Default::default() };
        assert_eq!(format_description(&topic(), &f, false), "\tTopic: orders\tPartition: 1\tLeader: 2\tReplicas: 2,1\tIsr: 2\n");
        let f = DescribeFilter { unavailable: true, ..Default::default() };
        assert_eq!(format_description(&topic(), &f, false), "\tTopic: orders\tPartition: 0\tLeader: none\tReplicas: 1,2\tIsr: 1,2\n");
    }

    #[test]
    fn replica_assignment_parsing() {
        let a = parse_replica_assignment("1:2,2:3,3:1").unwrap();
        assert_eq!(a[&0], vec![1, 2]);
        assert_eq!(a[&2], vec![3, 1]);
        assert!(parse_replica_assignment("1:1").is_err());
        assert!(parse_replica_assignment("1:2,3").is_err());
        assert!(parse_replica_assignment("x").is_err());
    }

    #[test]
    fn argument_rules() {
        let o = TopicCommandOptions { list: true, describe: true, bootstrap_server: Some("x:1".into()), ..Default::default() };
        assert!(check_args(&o).is_err());
        let o = TopicCommandOptions { create: true, zookeeper: Some("x:1".into()), topic: Some("t".into()), ..Default::default() };
        assert!(check_args(&o).unwrap_err().contains("partitions"));
        let o = TopicCommandOptions { list: true, ..Default::default() };
        assert!(check_args(&o).is_err());
        let o = TopicCommandOptions { create: true, bootstrap_server: Some("x:1".into()), topic: Some("t".into()), ..Default::default() };
        assert!(check_args(&o).is_ok());
    }

    #[test]
    fn topic_patterns() {
        assert!(topic_matches("orders", "orders"));
        assert!(topic_matches("ord.*", "orders"));
        assert!(!topic_matches("ord", "orders"));
        assert!(topic_matches("my.topic", "my_topic"));
        assert!(!topic_matches("my\\.topic", "my_topic"));
    }
}

// ------------------------------------------------------------------ running

use crate::client::KafkaClient;
use crate::protocol::error::{self, error_name};
use crate::protocol::messages::create_topics::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig, CreateTopicsRequest,
};
use crate::zk::{AdminZkClient, KafkaZkClient, ZkClientConfig};
use std::time::Duration;


/// Where the topic command reads and writes: ZooKeeper directly, or a broker.
enum TopicService {
    Zk(KafkaZkClient),
    Admin(KafkaClient),
}

/// Kafka's `opts.rackAwareMode`.
fn rack_aware_mode(o: &TopicCommandOptions) -> crate::zk::RackAwareMode {
    if o.disable_rack_aware {
        crate::zk::RackAwareMode::Disabled
    } else {
        crate::zk::RackAwareMode::Enforced
    }
}

fn internal(name: &str) -> bool {
    name == "__consumer_offsets" || name == "__transaction_state"
}

pub fn main(args: Vec<String>) -> i32 {
    let opts: TopicCommandOptions = match super::parse_args(&args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    if let Err(msg) = check_args(&opts) {
        eprintln!("{msg}");
        eprintln!("Run `kafka-topics.sh --help` for the list of options.");
        return 1;
    }
    let rt = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    match rt.block_on(run(&opts)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Error while executing topic command : {e}");
            1
        }
    }
}

async fn run(o: &TopicCommandOptions) -> Result<(), String> {
    if o.zookeeper.is_some() {
        eprintln!("Warning: --zookeeper is deprecated and will be removed in a future version of Kafka.");
        eprintln!("Use --bootstrap-server instead to specify a broker to connect to.");
    }
    let mut service = match (&o.zookeeper, &o.bootstrap_server) {
        (Some(zk), _) => {
            let config = ZkClientConfig {
                connect: zk.clone(),
                session_timeout: Duration::from_secs(30),
                connection_timeout: Duration::from_secs(30),
            };
            TopicService::Zk(KafkaZkClient::connect(config).await.map_err(|e| e.to_string())?)
        }
        (None, Some(bs)) => TopicService::Admin(KafkaClient::with_config_file(bs, "adminclient-1", Duration::from_secs(30), o.command_config.as_deref())?),
        (None, None) => return Err("no connection given".into()),
    };
    let result = if o.create {
        create(o, &mut service).await
    } else if o.list {
        list(o, &mut service).await
    } else if o.describe {
        describe(o, &mut service).await
    } else if o.alter {
        alter(o, &mut service).await
    } else {
        delete(o, &mut service).await
    };
    if let TopicService::Zk(zk) = &service {
        zk.close();
    }
    result
}

async fn all_topics(service: &mut TopicService) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = match service {
        TopicService::Zk(zk) => zk.get_all_topics().await.map_err(|e| e.to_string())?.into_iter().collect(),
        TopicService::Admin(c) => c.metadata(None, false).await.map_err(|e| e.to_string())?.topics.into_iter().map(|t| t.name).collect(),
    };
    names.sort();
    Ok(names)
}

/// Topics named by `--topic` (a pattern), or all, minus internal ones if asked.
async fn selected_topics(o: &TopicCommandOptions, service: &mut TopicService) -> Result<Vec<String>, String> {
    let all = all_topics(service).await?;
    Ok(all
        .into_iter()
        .filter(|t| o.topic.as_deref().is_none_or(|p| topic_matches(p, t)))
        .filter(|t| !(o.exclude_internal && internal(t)))
        .collect())
}

async fn create(o: &TopicCommandOptions, service: &mut TopicService) -> Result<(), String> {
    let topic = o.topic.clone().unwrap_or_default();
    let configs = parse_configs(&o.config)?;
    let assignment = match &o.replica_assignment {
        Some(s) => Some(parse_replica_assignment(s)?),
        None => None,
    };
    if topic.contains('.') || topic.contains('_') {
        eprintln!("WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.");
    }
    match service {
        TopicService::Zk(zk) => {
            let admin = AdminZkClient::new(zk.clone());
            let r = admin
                .create_topic_with_mode(
                    &topic,
                    o.partitions.unwrap_or(1),
                    o.replication_factor.unwrap_or(1),
                    &configs,
                    assignment,
                    rack_aware_mode(o),
                )
                .await;
            match r {
                Ok(_) => {}
                Err(e) if o.if_not_exists && e.error_code() == error::TOPIC_ALREADY_EXISTS => return Ok(()),
                Err(e) => return Err(e.message()),
            }
        }
        TopicService::Admin(client) => {
            let req = CreateTopicsRequest {
                topics: vec![CreatableTopic {
                    name: topic.clone(),
                    num_partitions: if assignment.is_some() { -1 } else { o.partitions.unwrap_or(-1) },
                    replication_factor: if assignment.is_some() { -1 } else { o.replication_factor.unwrap_or(-1) as i16 },
                    assignments: assignment
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(p, b)| CreatableReplicaAssignment { partition_index: p, broker_ids: b, ..Default::default() })
                        .collect(),
                    configs: configs
                        .into_iter()
                        .map(|(k, v)| CreatableTopicConfig { name: k, value: Some(v), ..Default::default() })
                        .collect(),
                    ..Default::default()
                }],
                timeout_ms: 30_000,
                validate_only: false,
                ..Default::default()
            };
            let timeout = client.timeout() + Duration::from_secs(30);
            let resp = client.create_topics(&req, timeout).await?;
            for t in resp.topics {
                if t.error_code == error::TOPIC_ALREADY_EXISTS && o.if_not_exists {
                    return Ok(());
                }
                if t.error_code != error::NONE {
                    return Err(t.error_message.unwrap_or_else(|| error_name(t.error_code).to_string()));
                }
            }
        }
    }
    println!("Created topic {topic}.");
    Ok(())
}

async fn list(o: &TopicCommandOptions, service: &mut TopicService) -> Result<(), String> {
    let topics = selected_topics(o, service).await?;
    let mut out = String::new();
    for t in topics {
        let marked = match service {
            TopicService::Zk(zk) => zk.is_topic_marked_for_deletion(&t).await.unwrap_or(false),
            TopicService::Admin(_) => false,
        };
        out.push_str(&t);
        if marked {
            out.push_str(" - marked for deletion");
        }
        out.push('\n');
    }
    print!("{out}");
    Ok(())
}

async fn describe(o: &TopicCommandOptions, service: &mut TopicService) -> Result<(), String> {
    let topics = selected_topics(o, service).await?;
    if topics.is_empty() && o.topic.is_some() && !o.if_exists {
        return Err(format!("Topic '{}' does not exist as expected", o.topic.as_deref().unwrap_or_default()));
    }
    let filter = DescribeFilter {
        under_replicated: o.under_replicated_partitions,
        unavailable: o.unavailable_partitions,
        under_min_isr: o.under_min_isr_partitions,
        at_min_isr: o.at_min_isr_partitions,
        min_isr: 1,
    };
    let bootstrap = matches!(service, TopicService::Admin(_));
    let descriptions = match service {
        TopicService::Zk(zk) => describe_from_zk(zk, &topics).await?,
        TopicService::Admin(client) => describe_from_broker(client, &topics).await?,
    };
    let mut out = String::new();
    for d in descriptions {
        if o.topics_with_overrides && d.configs.is_empty() {
            continue;
        }
        let text = format_description(&d, &filter, bootstrap);
        if o.topics_with_overrides {
            // Only the topic lines.
            out.push_str(text.lines().next().unwrap_or_default());
            out.push('\n');
        } else {
            out.push_str(&text);
        }
    }
    print!("{out}");
    Ok(())
}

async fn describe_from_zk(zk: &KafkaZkClient, topics: &[String]) -> Result<Vec<TopicDescription>, String> {
    let live: Vec<i32> = zk.get_all_broker_ids().await.map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for t in topics {
        let Some(assignment) = zk.get_topic_assignment(t).await.map_err(|e| e.to_string())? else { continue };
        let configs = zk.get_entity_config("topics", t).await.map_err(|e| e.to_string())?;
        let mut configs: Vec<(String, String)> = configs.into_iter().collect();
        configs.sort();
        let mut partitions = Vec::new();
        for (p, ra) in &assignment.partitions {
            let state = zk.get_partition_state(t, *p).await.map_err(|e| e.to_string())?;
            let (leader, isr) = match state {
                Some(s) if s.leader_and_isr.leader >= 0 => (Some(s.leader_and_isr.leader), s.leader_and_isr.isr),
                Some(s) => (None, s.leader_and_isr.isr),
                None => (None, vec![]),
            };
            partitions.push(PartitionDescription {
                partition: *p,
                leader_alive: leader.is_some_and(|l| live.contains(&l)),
                leader,
                replicas: ra.replicas.clone(),
                isr,
                adding_replicas: ra.adding_replicas.clone(),
                removing_replicas: ra.removing_replicas.clone(),
            });
        }
        out.push(TopicDescription {
            name: t.clone(),
            topic_id: assignment.topic_id.map(|id| crate::zk::zk_data::uuid_to_string(&id)),
            partitions,
            configs,
            marked_for_deletion: zk.is_topic_marked_for_deletion(t).await.unwrap_or(false),
        });
    }
    Ok(out)
}

async fn describe_from_broker(client: &mut KafkaClient, topics: &[String]) -> Result<Vec<TopicDescription>, String> {
    if topics.is_empty() {
        return Ok(vec![]);
    }
    let md = client.metadata(Some(topics), false).await.map_err(|e| e.to_string())?;
    let names: Vec<String> = md.topics.iter().filter(|t| t.error_code == error::NONE).map(|t| t.name.clone()).collect();
    let mut all_configs = describe_topic_configs(client, &names).await?;
    let live: Vec<i32> = md.brokers.iter().map(|b| b.node_id).collect();
    let mut out = Vec::new();
    for t in md.topics {
        if t.error_code != error::NONE {
            continue;
        }
        let mut partitions: Vec<PartitionDescription> = t
            .partitions
            .iter()
            .map(|p| PartitionDescription {
                partition: p.partition_index,
                leader: if p.leader_id >= 0 { Some(p.leader_id) } else { None },
                leader_alive: p.leader_id >= 0 && live.contains(&p.leader_id),
                replicas: p.replica_nodes.clone(),
                isr: p.isr_nodes.clone(),
                ..Default::default()
            })
            .collect();
        partitions.sort_by_key(|p| p.partition);
        out.push(TopicDescription {
            topic_id: if t.topic_id == [0; 16] { None } else { Some(crate::zk::zk_data::base64url_encode(&t.topic_id)) },
            partitions,
            configs: all_configs.remove(&t.name).unwrap_or_default(),
            name: t.name,
            marked_for_deletion: false,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The non-default configs of each topic, via DescribeConfigs (as the admin
/// client's `describeConfigs`; "default" means source DEFAULT_CONFIG).
async fn describe_topic_configs(
    client: &mut KafkaClient,
    topics: &[String],
) -> Result<BTreeMap<String, Vec<(String, String)>>, String> {
    use crate::protocol::messages::describe_configs::*;
    let mut out = BTreeMap::new();
    if topics.is_empty() {
        return Ok(out);
    }
    let req = DescribeConfigsRequest {
        resources: topics
            .iter()
            .map(|t| DescribeConfigsResource { resource_type: RESOURCE_TOPIC, resource_name: t.clone(), ..Default::default() })
            .collect(),
        ..Default::default()
    };
    let timeout = client.timeout();
    let resp = client.describe_configs(&req, timeout).await?;
    for r in resp.results {
        if r.error_code != error::NONE {
            return Err(r.error_message.unwrap_or_else(|| error::error_name(r.error_code).to_string()));
        }
        let configs = r
            .configs
            .into_iter()
            .filter(|c| c.config_source != SOURCE_DEFAULT_CONFIG)
            .map(|c| (c.name, c.value.unwrap_or_else(|| "null".into())))
            .collect();
        out.insert(r.resource_name, configs);
    }
    Ok(out)
}

/// Kafka's `ensureTopicExists`: a named topic that matched nothing is an
/// error unless `--if-exists`.
fn ensure_topic_exists(o: &TopicCommandOptions, found: &[String]) -> Result<(), String> {
    match &o.topic {
        Some(t) if found.is_empty() && !o.if_exists => Err(format!("Topic '{t}' does not exist as expected")),
        _ => Ok(()),
    }
}

/// `--alter --partitions N [--replica-assignment ...]`: ZooKeeper mode adds the
/// partitions through AdminZkClient (as 2.8's ZookeeperTopicService), bootstrap
/// mode sends CreatePartitions (silent on success, as 2.8's admin client
/// service). `--replica-assignment` lists every partition; only the entries
/// past the current count are used.
async fn alter(o: &TopicCommandOptions, service: &mut TopicService) -> Result<(), String> {
    let topics = selected_topics(o, service).await?;
    ensure_topic_exists(o, &topics)?;
    let count = o.partitions.unwrap_or(1);
    let assignment = match &o.replica_assignment {
        Some(s) => Some(parse_replica_assignment(s)?),
        None => None,
    };
    match service {
        TopicService::Zk(zk) => {
            let admin = AdminZkClient::new(zk.clone());
            for topic in &topics {
                if internal(topic) {
                    return Err(format!("The number of partitions for the internal topic {topic} cannot be changed."));
                }
                println!("WARNING: If partitions are increased for a topic that has a key, the partition logic or ordering of the messages will be affected");
                if zk.is_topic_marked_for_deletion(topic).await.map_err(|e| e.to_string())? {
                    return Err(format!("The topic {topic} is queued for deletion."));
                }
                let Some(existing) = zk.get_topic_assignment(topic).await.map_err(|e| e.to_string())? else {
                    return Err(format!("The topic {topic} does not exist"));
                };
                let current = existing.partitions.len() as i32;
                let manual: Option<BTreeMap<i32, Vec<i32>>> = assignment
                    .as_ref()
                    .map(|a| a.iter().filter(|(p, _)| **p >= current).map(|(p, r)| (*p, r.clone())).collect::<BTreeMap<_, _>>())
                    .filter(|m| !m.is_empty());
                let brokers = admin.get_broker_metadatas(rack_aware_mode(o), None).await.map_err(|e| e.message())?;
                admin.add_partitions(topic, count, manual, &brokers, false).await.map_err(|e| e.message())?;
                println!("Adding partitions succeeded!");
            }
            Ok(())
        }
        TopicService::Admin(client) => alter_via_broker(client, &topics, count, assignment.as_ref()).await,
    }
}

/// `--delete`: ZooKeeper mode writes `/admin/delete_topics/<t>` and prints
/// Kafka's two lines; bootstrap mode sends DeleteTopics (silent on success).
/// Better than Kafka: in ZooKeeper mode the tool watches the marker for a
/// few seconds, and when the controller drops it while the topic stays (it
/// does so when `delete.topic.enable=false`) says that the topic was not
/// deleted, with a non-zero exit, instead of claiming it is marked.
async fn delete(o: &TopicCommandOptions, service: &mut TopicService) -> Result<(), String> {
    let topics = selected_topics(o, service).await?;
    ensure_topic_exists(o, &topics)?;
    match service {
        TopicService::Zk(zk) => {
            for topic in &topics {
                if internal(topic) {
                    return Err(format!("Topic {topic} is a kafka internal topic and is not allowed to be marked for deletion."));
                }
                let admin = AdminZkClient::new(zk.clone());
                match admin.delete_topic(topic).await {
                    Ok(()) => {}
                    Err(crate::zk::AdminError::TopicAlreadyMarkedForDeletion(_)) => {
                        println!("Topic {topic} is already marked for deletion.");
                        continue;
                    }
                    Err(crate::zk::AdminError::UnknownTopicOrPartition(_)) if o.if_exists => continue,
                    Err(e) => return Err(format!("Error while deleting topic {topic}: {}", e.message())),
                }
                if deletion_refused(zk, topic).await {
                    return Err(format!(
                        "Topic {topic} was not deleted: the controller removed its deletion marker and kept the topic, which it does when delete.topic.enable=false. Set delete.topic.enable=true on the brokers to delete topics."
                    ));
                }
                println!("Topic {topic} is marked for deletion.");
                println!("Note: This will have no impact if delete.topic.enable is not set to true.");
            }
            Ok(())
        }
        TopicService::Admin(client) => delete_via_broker(client, &topics).await,
    }
}

/// Whether the controller dropped `/admin/delete_topics/<t>` while the topic
/// stayed (deletion disabled). Waits at most a few seconds; a marker still
/// pending, or a topic gone, is not a refusal.
async fn deletion_refused(zk: &KafkaZkClient, topic: &str) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        let marked = zk.is_topic_marked_for_deletion(topic).await.unwrap_or(true);
        if !marked {
            return zk.topic_exists(topic).await.unwrap_or(false);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Bootstrap `--alter`: CreatePartitions to the controller for every topic
/// (as 2.8's AdminClientTopicService: the assignment entries past each
/// topic's current count become the new partitions' replicas).
async fn alter_via_broker(
    client: &mut KafkaClient,
    topics: &[String],
    count: i32,
    assignment: Option<&BTreeMap<i32, Vec<i32>>>,
) -> Result<(), String> {
    use crate::protocol::messages::create_partitions::{
        CreatePartitionsAssignment, CreatePartitionsRequest, CreatePartitionsTopic,
    };
    if topics.is_empty() {
        return Ok(());
    }
    let md = client.metadata(Some(topics), false).await.map_err(|e| e.to_string())?;
    let mut req = CreatePartitionsRequest { timeout_ms: 30_000, validate_only: false, ..Default::default() };
    for t in topics {
        let current = md.topics.iter().find(|m| &m.name == t).map_or(0, |m| m.partitions.len() as i32);
        let assignments = assignment.map(|a| {
            a.iter()
                .filter(|(p, _)| **p >= current)
                .map(|(_, r)| CreatePartitionsAssignment { broker_ids: r.clone(), ..Default::default() })
                .collect()
        });
        req.topics.push(CreatePartitionsTopic { name: t.clone(), count, assignments, ..Default::default() });
    }
    let resp = client.create_partitions(&req).await?;
    for r in resp.results {
        if r.error_code != error::NONE {
            return Err(api_error_text(r.error_code, r.error_message.as_deref()));
        }
    }
    Ok(())
}

/// Bootstrap `--delete`: DeleteTopics to the controller, silent on success.
async fn delete_via_broker(client: &mut KafkaClient, topics: &[String]) -> Result<(), String> {
    if topics.is_empty() {
        return Ok(());
    }
    let resp = client.delete_topics(topics, 30_000).await?;
    for r in resp.responses {
        if r.error_code != error::NONE {
            return Err(api_error_text(r.error_code, r.error_message.as_deref()));
        }
    }
    Ok(())
}

/// The message of the exception Kafka's admin client raises for an API error
/// (the broker's message, or the error's default text).
fn api_error_text(code: crate::protocol::ErrorCode, message: Option<&str>) -> String {
    let full = super::kafka_exception(code, message);
    match full.split_once(": ") {
        Some((_, msg)) => msg.to_string(),
        None => full,
    }
}
