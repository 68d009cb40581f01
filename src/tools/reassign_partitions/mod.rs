//! `kafka-reassign-partitions`: moves partition replicas between brokers
//! (and between a broker's log directories), with Kafka 2.8's flags, JSON and
//! output. Maps to Kafka's `kafka.admin.ReassignPartitionsCommand`:
//! `--bootstrap-server` mode over AlterPartitionReassignments,
//! ListPartitionReassignments, IncrementalAlterConfigs, DescribeLogDirs and
//! AlterReplicaLogDirs; the deprecated `--zookeeper` mode over
//! `/admin/reassign_partitions` and the config znodes. Beyond Kafka:
//! `--verify`/`--list` show each moving replica's progress, and `--generate`
//! proposes a minimal-move plan (`planner`).

pub mod json;
pub mod planner;
pub mod progress;

use self::json::{
    format_as_reassignment_json, parse_execute_assignment_args, parse_generate_assignment_args,
    parse_partition_reassignment_data, TopicPartitionReplica,
};
use crate::client::admin::{error_message, PartitionReassignment};
use crate::client::KafkaClient;
use crate::common::TopicPartition;
use crate::protocol::error;
use crate::zk::{AdminZkClient, KafkaZkClient, ZkClientConfig};
use clap::Parser;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- options

#[derive(Parser, Debug, Default)]
#[command(
    name = "kafka-reassign-partitions.sh",
    about = "This tool helps to move topic partitions between replicas.",
    disable_version_flag = true
)]
pub struct ReassignOptions {
    /// Verify if the reassignment completed as specified by the --reassignment-json-file option. If there is a throttle engaged for the replicas specified, and the rebalance has completed, the throttle will be removed
    #[arg(long)]
    pub verify: bool,
    /// Generate a candidate partition reassignment configuration. Note that this only generates a candidate assignment, it does not execute it.
    #[arg(long)]
    pub generate: bool,
    /// Kick off the reassignment as specified by the --reassignment-json-file option.
    #[arg(long)]
    pub execute: bool,
    /// Cancel an active reassignment.
    #[arg(long)]
    pub cancel: bool,
    /// List all active partition reassignments.
    #[arg(long)]
    pub list: bool,
    /// the server(s) to use for bootstrapping. REQUIRED if an absolute path of the log directory is specified for any replica in the reassignment json file, or if --zookeeper is not given.
    #[arg(long, value_name = "Server(s) to use for bootstrapping")]
    pub bootstrap_server: Option<String>,
    /// Property file containing configs to be passed to Admin Client.
    #[arg(long, value_name = "Admin client property file")]
    pub command_config: Option<String>,
    /// DEPRECATED: The connection string for the zookeeper connection in the form host:port. Multiple URLS can be given to allow fail-over.  Please use --bootstrap-server instead.
    #[arg(long, value_name = "urls")]
    pub zookeeper: Option<String>,
    /// The JSON file with the partition reassignment configuration: {"partitions": [{"topic": "foo", "partition": 1, "replicas": [1,2,3], "log_dirs": ["dir1","dir2","dir3"]}], "version":1}. "log_dirs" is optional; each entry is "any" or an absolute log directory path on the broker.
    #[arg(long, value_name = "manual assignment json file path")]
    pub reassignment_json_file: Option<String>,
    /// Generate a reassignment configuration to move the partitions of the specified topics to the list of brokers specified by the --broker-list option: {"topics": [{"topic": "foo"},{"topic": "foo1"}], "version":1}
    #[arg(long, value_name = "topics to reassign json file path")]
    pub topics_to_move_json_file: Option<String>,
    /// The list of brokers to which the partitions need to be reassigned in the form "0,1,2". This is required if --topics-to-move-json-file is used to generate reassignment configuration
    #[arg(long, value_name = "brokerlist")]
    pub broker_list: Option<String>,
    /// Disable rack aware replica assignment
    #[arg(long)]
    pub disable_rack_aware: bool,
    /// The movement of partitions between brokers will be throttled to this value (bytes/sec). This option can be included with --execute when a reassignment is started, and it can be altered by resubmitting the current reassignment along with the --additional flag. The throttle rate should be at least 1 KB/s.
    #[arg(long, value_name = "throttle", allow_hyphen_values = true)]
    pub throttle: Option<i64>,
    /// The movement of replicas between log directories on the same broker will be throttled to this value (bytes/sec). This option can be included with --execute when a reassignment is started, and it can be altered by resubmitting the current reassignment along with the --additional flag. The throttle rate should be at least 1 KB/s.
    #[arg(long, value_name = "replicaAlterLogDirsThrottle", allow_hyphen_values = true)]
    pub replica_alter_log_dirs_throttle: Option<i64>,
    /// The maximum time in ms to wait for log directory replica assignment to begin. (default: 10000)
    #[arg(long, value_name = "timeout")]
    pub timeout: Option<i64>,
    /// Execute this reassignment in addition to any other ongoing ones. This option can also be used to change the throttle of an ongoing reassignment.
    #[arg(long)]
    pub additional: bool,
    /// Do not modify broker or topic throttles.
    #[arg(long)]
    pub preserve_throttles: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Generate,
    Execute,
    Verify,
    Cancel,
    List,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Generate => "generate",
            Action::Execute => "execute",
            Action::Verify => "verify",
            Action::Cancel => "cancel",
            Action::List => "list",
        }
    }
}

/// Why the arguments were refused: the message and whether Kafka prints the
/// usage after it (`printUsageAndDie`) or fails with an exception.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError {
    pub message: String,
    pub print_usage: bool,
}

fn usage(message: String) -> UsageError {
    UsageError { message, print_usage: true }
}

/// Kafka's `validateAndParseArgs`: exactly one action, a connection, the
/// action's required and permitted options, and the options that need
/// `--bootstrap-server`. Option names print as joptsimple does (`[name]`).
pub fn validate_args(o: &ReassignOptions) -> Result<Action, UsageError> {
    let actions: Vec<Action> = [
        (o.generate, Action::Generate),
        (o.execute, Action::Execute),
        (o.verify, Action::Verify),
        (o.cancel, Action::Cancel),
        (o.list, Action::List),
    ]
    .into_iter()
    .filter_map(|(set, a)| set.then_some(a))
    .collect();
    let [action] = actions[..] else {
        return Err(usage("Command must include exactly one action: --generate, --execute, --verify, --cancel, --list".into()));
    };
    if o.zookeeper.is_none() && o.bootstrap_server.is_none() {
        return Err(usage("Please specify --bootstrap-server".into()));
    }
    let required: &[(&str, bool)] = match action {
        Action::Verify | Action::Execute | Action::Cancel => &[("reassignment-json-file", o.reassignment_json_file.is_some())],
        Action::Generate => &[
            ("topics-to-move-json-file", o.topics_to_move_json_file.is_some()),
            ("broker-list", o.broker_list.is_some()),
        ],
        Action::List => &[],
    };
    for (name, present) in required {
        if !present {
            return Err(usage(format!("Missing required argument \"[{name}]\"")));
        }
    }
    // Every option given, with the actions that permit it.
    use Action::*;
    let given: [(&str, bool, &[Action]); 14] = [
        ("bootstrap-server", o.bootstrap_server.is_some(), &[Generate, Execute, Verify, Cancel, List]),
        ("command-config", o.command_config.is_some(), &[Generate, Execute, Verify, Cancel, List]),
        ("zookeeper", o.zookeeper.is_some(), &[Generate, Execute, Verify]),
        ("reassignment-json-file", o.reassignment_json_file.is_some(), &[Execute, Verify, Cancel]),
        ("topics-to-move-json-file", o.topics_to_move_json_file.is_some(), &[Generate]),
        ("broker-list", o.broker_list.is_some(), &[Generate]),
        ("disable-rack-aware", o.disable_rack_aware, &[Generate]),
        ("throttle", o.throttle.is_some(), &[Execute]),
        ("replica-alter-log-dirs-throttle", o.replica_alter_log_dirs_throttle.is_some(), &[Execute]),
        ("timeout", o.timeout.is_some(), &[Execute, Cancel]),
        ("additional", o.additional, &[Execute]),
        ("preserve-throttles", o.preserve_throttles, &[Verify, Cancel]),
        ("verify", false, &[]),
        ("list", false, &[]),
    ];
    for (name, present, permitted) in given {
        if present && !permitted.contains(&action) {
            return Err(usage(format!("Option \"[{name}]\" can't be used with action \"[{}]\"", action.name())));
        }
    }
    if o.bootstrap_server.is_none() {
        let bootstrap_only = [
            ("additional", o.additional),
            ("cancel", o.cancel),
            ("command-config", o.command_config.is_some()),
            ("replica-alter-log-dirs-throttle", o.replica_alter_log_dirs_throttle.is_some()),
            ("list", o.list),
            ("timeout", o.timeout.is_some()),
        ];
        for (name, present) in bootstrap_only {
            if present {
                return Err(UsageError {
                    message: format!("You must specify --bootstrap-server when using \"[{name}]\""),
                    print_usage: false,
                });
            }
        }
    }
    Ok(action)
}

// ---------------------------------------------------------------- messages

pub const CANNOT_EXECUTE_BECAUSE_OF_EXISTING_MESSAGE: &str = "Cannot execute because there is an existing partition assignment.  Use --additional to override this and create a new partition assignment in addition to the existing one. The --additional flag can also be used to change the throttle by resubmitting the current reassignment.";
pub const YOU_MUST_RUN_VERIFY_PERIODICALLY_MESSAGE: &str =
    "Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.";
const UNKNOWN_TOPIC_MESSAGE: &str =
    "org.apache.kafka.common.errors.UnknownTopicOrPartitionException: This server does not host this topic-partition.";

pub const BROKER_LEADER_THROTTLE: &str = "leader.replication.throttled.rate";
pub const BROKER_FOLLOWER_THROTTLE: &str = "follower.replication.throttled.rate";
pub const BROKER_LOG_DIR_THROTTLE: &str = "replica.alter.log.dirs.io.max.bytes.per.second";
pub const BROKER_THROTTLES: [&str; 3] = [BROKER_LEADER_THROTTLE, BROKER_FOLLOWER_THROTTLE, BROKER_LOG_DIR_THROTTLE];
pub const TOPIC_LEADER_THROTTLE: &str = "leader.replication.throttled.replicas";
pub const TOPIC_FOLLOWER_THROTTLE: &str = "follower.replication.throttled.replicas";
pub const TOPIC_THROTTLES: [&str; 2] = [TOPIC_LEADER_THROTTLE, TOPIC_FOLLOWER_THROTTLE];

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn join<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    items.into_iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

// ---------------------------------------------------------------- pure logic

/// One partition's movement: where the data is and where it goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionMove {
    pub sources: BTreeSet<i32>,
    pub destinations: BTreeSet<i32>,
}

pub type MoveMap = BTreeMap<String, BTreeMap<i32, PartitionMove>>;

/// Kafka's `calculateProposedMoveMap`: the ongoing moves, overridden by the
/// proposed ones; a partition already moving keeps its original sources
/// (so the throttle covers the replicas that really hold the data).
pub fn calculate_proposed_move_map(
    current_reassignments: &BTreeMap<TopicPartition, PartitionReassignment>,
    proposed: &BTreeMap<TopicPartition, Vec<i32>>,
    current_parts: &BTreeMap<TopicPartition, Vec<i32>>,
) -> Result<MoveMap, String> {
    let mut moves: MoveMap = BTreeMap::new();
    for (tp, o) in current_reassignments {
        moves.entry(tp.topic.clone()).or_default().insert(
            tp.partition,
            PartitionMove { sources: o.sources().into_iter().collect(), destinations: o.adding.iter().copied().collect() },
        );
    }
    for (tp, replicas) in proposed {
        let part_moves = moves.entry(tp.topic.clone()).or_default();
        let sources: BTreeSet<i32> = match part_moves.get(&tp.partition) {
            Some(m) => m.sources.clone(),
            None => current_parts
                .get(tp)
                .ok_or_else(|| format!("Trying to reassign a topic partition {tp} with 0 replicas"))?
                .iter()
                .copied()
                .collect(),
        };
        let destinations = replicas.iter().copied().filter(|r| !sources.contains(r)).collect();
        part_moves.insert(tp.partition, PartitionMove { sources, destinations });
    }
    Ok(moves)
}

/// `leader.replication.throttled.replicas` per topic: every source replica,
/// as `partition:broker` entries in string order (Kafka's TreeSet[String]).
pub fn leader_throttles(moves: &MoveMap) -> BTreeMap<String, String> {
    moves
        .iter()
        .map(|(topic, parts)| {
            let set: BTreeSet<String> =
                parts.iter().flat_map(|(p, m)| m.sources.iter().map(move |b| format!("{p}:{b}"))).collect();
            (topic.clone(), set.into_iter().collect::<Vec<_>>().join(","))
        })
        .collect()
}

/// `follower.replication.throttled.replicas` per topic: the destinations
/// that are not sources.
pub fn follower_throttles(moves: &MoveMap) -> BTreeMap<String, String> {
    moves
        .iter()
        .map(|(topic, parts)| {
            let set: BTreeSet<String> = parts
                .iter()
                .flat_map(|(p, m)| m.destinations.iter().filter(|d| !m.sources.contains(d)).map(move |b| format!("{p}:{b}")))
                .collect();
            (topic.clone(), set.into_iter().collect::<Vec<_>>().join(","))
        })
        .collect()
}

/// Every broker a move reads from or writes to.
pub fn reassigning_brokers(moves: &MoveMap) -> BTreeSet<i32> {
    moves.values().flat_map(|p| p.values()).flat_map(|m| m.sources.iter().chain(m.destinations.iter()).copied()).collect()
}

/// The state `--verify` reports for one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionReassignmentState {
    pub current_replicas: Vec<i32>,
    pub target_replicas: Vec<i32>,
    pub done: bool,
    /// Brokers the move waits for that are not alive (zkafka's addition).
    pub dead_brokers: Vec<i32>,
}

/// `partitionReassignmentStatesToString`, with a partition that waits on a
/// dead broker saying so.
pub fn partition_reassignment_states_to_string(states: &BTreeMap<TopicPartition, PartitionReassignmentState>) -> String {
    let mut lines = vec!["Status of partition reassignment:".to_string()];
    for (tp, s) in states {
        if s.done {
            if s.current_replicas == s.target_replicas {
                lines.push(format!("Reassignment of partition {tp} is complete."));
            } else {
                lines.push(format!(
                    "There is no active reassignment of partition {tp}, but replica set is {} rather than {}.",
                    join(&s.current_replicas),
                    join(&s.target_replicas)
                ));
            }
        } else if !s.dead_brokers.is_empty() {
            lines.push(format!(
                "Reassignment of partition {tp} is still in progress: waiting for broker{} {}, which {} not alive.",
                plural(s.dead_brokers.len()),
                join(&s.dead_brokers),
                if s.dead_brokers.len() == 1 { "is" } else { "are" }
            ));
        } else {
            lines.push(format!("Reassignment of partition {tp} is still in progress."));
        }
    }
    lines.join("\n")
}

/// `curReassignmentsToString` (`--list`).
pub fn cur_reassignments_to_string(current: &BTreeMap<TopicPartition, PartitionReassignment>) -> String {
    if current.is_empty() {
        return "No partition reassignments found.".into();
    }
    let mut lines = vec!["Current partition reassignments:".to_string()];
    for (tp, o) in current {
        let mut line = format!("{tp}: replicas: {}.", join(&o.replicas));
        if !o.adding.is_empty() {
            line.push_str(&format!(" adding: {}.", join(&o.adding)));
        }
        if !o.removing.is_empty() {
            line.push_str(&format!(" removing: {}.", join(&o.removing)));
        }
        lines.push(line);
    }
    lines.join("\n")
}

/// `currentPartitionReplicaAssignmentToString` (printed by `--execute`).
pub fn current_partition_replica_assignment_to_string(
    proposed: &BTreeMap<TopicPartition, Vec<i32>>,
    current: &BTreeMap<TopicPartition, Vec<i32>>,
) -> String {
    let shown: BTreeMap<TopicPartition, Vec<i32>> =
        current.iter().filter(|(tp, _)| proposed.contains_key(*tp)).map(|(k, v)| (k.clone(), v.clone())).collect();
    format!(
        "Current partition replica assignment\n\n{}\n\nSave this to use as the --reassignment-json-file option during rollback",
        format_as_reassignment_json(&shown, &BTreeMap::new())
    )
}

/// The extra lines `--generate` prints after Kafka's: what the plan moves.
pub fn plan_summary(plan: &planner::Plan, sizes_known: bool) -> String {
    let counts = |m: BTreeMap<i32, usize>| m.iter().map(|(b, n)| format!("{b}:{n}")).collect::<Vec<_>>().join(", ");
    let bytes = if sizes_known {
        format!("{} bytes ({})", plan.moved_bytes, progress::human_bytes(plan.moved_bytes))
    } else {
        "an unknown number of bytes (the brokers did not answer DescribeLogDirs)".to_string()
    };
    format!(
        "Minimal-move plan: moves {} of {} replicas and {bytes}; the preferred leader changes for {} partition{}.\nReplicas per broker: {}\nPreferred leaders per broker: {}",
        plan.moved_replicas,
        plan.total_replicas,
        plan.leader_changes,
        plural(plan.leader_changes),
        counts(plan.replica_counts()),
        counts(plan.leader_counts()),
    )
}

// ---------------------------------------------------------------- entry point

/// How a run failed: Kafka prints a `TerseReassignmentFailureException` as
/// is and anything else as `Error: <message>`, both on stdout, exit 1.
#[derive(Debug)]
pub enum Failure {
    Terse(String),
    Error(String),
}

impl From<String> for Failure {
    fn from(e: String) -> Self {
        Failure::Error(e)
    }
}

type Res<T> = std::result::Result<T, Failure>;

pub fn main(args: Vec<String>) -> i32 {
    let opts: ReassignOptions = match super::parse_args(&args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let action = match validate_args(&opts) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{}", e.message);
            if e.print_usage {
                use clap::CommandFactory;
                eprintln!("{}", ReassignOptions::command().render_help());
            }
            return 1;
        }
    };
    let rt = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    match rt.block_on(run(&opts, action)) {
        Ok(()) => 0,
        Err(Failure::Terse(m)) => {
            println!("{m}");
            1
        }
        Err(Failure::Error(m)) => {
            println!("Error: {m}");
            1
        }
    }
}

async fn run(o: &ReassignOptions, action: Action) -> Res<()> {
    if let Some(bs) = &o.bootstrap_server {
        if o.zookeeper.is_some() {
            println!("Warning: ignoring deprecated --zookeeper option because --bootstrap-server was specified.  The --zookeeper option will be removed in a future version of Kafka.");
        }
        let client = KafkaClient::with_config_file(bs, "reassign-partitions-tool", Duration::from_secs(30), o.command_config.as_deref())?;
        let mut admin = AdminMode { client };
        match action {
            Action::Verify => admin.verify(&read_file(o.reassignment_json_file.as_deref())?, o.preserve_throttles).await,
            Action::Generate => {
                admin
                    .generate(
                        &read_file(o.topics_to_move_json_file.as_deref())?,
                        o.broker_list.as_deref().unwrap_or(""),
                        !o.disable_rack_aware,
                    )
                    .await
            }
            Action::Execute => {
                admin
                    .execute(
                        o.additional,
                        &read_file(o.reassignment_json_file.as_deref())?,
                        o.throttle.unwrap_or(-1),
                        o.replica_alter_log_dirs_throttle.unwrap_or(-1),
                        o.timeout.unwrap_or(10_000),
                    )
                    .await
            }
            Action::Cancel => {
                admin.cancel(&read_file(o.reassignment_json_file.as_deref())?, o.preserve_throttles, o.timeout.unwrap_or(10_000)).await
            }
            Action::List => admin.list().await,
        }
    } else {
        println!("Warning: --zookeeper is deprecated, and will be removed in a future version of Kafka.");
        let connect = o.zookeeper.clone().unwrap_or_default();
        let config = ZkClientConfig { connect, session_timeout: Duration::from_secs(30), connection_timeout: Duration::from_secs(30) };
        let zk = KafkaZkClient::connect(config).await.map_err(|e| e.to_string())?;
        let mut zkm = ZkMode { zk: AdminZkClient::new(zk.clone()) };
        let result = match action {
            Action::Verify => zkm.verify(&read_file(o.reassignment_json_file.as_deref())?, o.preserve_throttles).await,
            Action::Generate => {
                zkm.generate(
                    &read_file(o.topics_to_move_json_file.as_deref())?,
                    o.broker_list.as_deref().unwrap_or(""),
                    !o.disable_rack_aware,
                )
                .await
            }
            Action::Execute => zkm.execute(&read_file(o.reassignment_json_file.as_deref())?, o.throttle.unwrap_or(-1)).await,
            Action::Cancel | Action::List => Err(Failure::Error("Unsupported action.".into())),
        };
        zk.close();
        result
    }
}

/// Kafka's `Utils.readFileAsString`; a missing file fails the command.
fn read_file(path: Option<&str>) -> Res<String> {
    let path = path.unwrap_or("");
    std::fs::read_to_string(path).map_err(|e| Failure::Error(format!("{path} ({e})")))
}

/// The brokers' racks for a plan, or Kafka's error when only some have one.
fn plan_brokers(
    wanted: &[i32],
    known: &BTreeMap<i32, Option<String>>,
    rack_aware: bool,
) -> std::result::Result<BTreeMap<i32, Option<String>>, String> {
    let mut out = BTreeMap::new();
    for b in wanted {
        match known.get(b) {
            Some(r) => {
                out.insert(*b, if rack_aware { r.clone() } else { None });
            }
            None => return Err(format!("Unknown broker id {b}")),
        }
    }
    let with_rack = out.values().filter(|r| r.is_some()).count();
    if rack_aware && with_rack != 0 && with_rack != out.len() {
        return Err("Not all brokers have rack information. Add --disable-rack-aware in command line to make replica assignment without rack information.".into());
    }
    Ok(out)
}

/// Prints `--generate`'s output: Kafka's two JSON blocks, then the plan's cost.
fn print_generate(current: &BTreeMap<TopicPartition, Vec<i32>>, plan: &planner::Plan, sizes_known: bool) {
    println!("Current partition replica assignment\n{}\n", format_as_reassignment_json(current, &BTreeMap::new()));
    println!("Proposed partition reassignment configuration\n{}", format_as_reassignment_json(&plan.proposed, &BTreeMap::new()));
    println!();
    println!("{}", plan_summary(plan, sizes_known));
}

/// The partitions' sizes (largest replica), sampled from every broker
/// listed; `None` if no broker answered.
async fn partition_sizes(client: &mut KafkaClient, brokers: &BTreeSet<i32>, topics: &[String]) -> Option<BTreeMap<TopicPartition, u64>> {
    let mut out: BTreeMap<TopicPartition, u64> = BTreeMap::new();
    let mut any = false;
    for &b in brokers {
        if let Ok(sizes) = client.replica_sizes(b, Some(topics)).await {
            any = true;
            for (tp, s) in sizes {
                let e = out.entry(tp).or_insert(0);
                *e = (*e).max(s.size);
            }
        }
    }
    any.then_some(out)
}

// ---------------------------------------------------------------- --bootstrap-server

struct AdminMode {
    client: KafkaClient,
}

impl AdminMode {
    /// Live brokers and their racks (describeCluster).
    async fn brokers(&mut self) -> Res<BTreeMap<i32, Option<String>>> {
        let md = self.client.metadata(Some(&[]), false).await.map_err(|e| e.to_string())?;
        Ok(md.brokers.iter().map(|b| (b.node_id, b.rack.clone())).collect())
    }

    /// The replica lists of `topics` (describeTopics); an unknown topic
    /// fails as Kafka's admin client does.
    async fn describe_topics(&mut self, topics: &BTreeSet<String>) -> Res<BTreeMap<TopicPartition, Vec<i32>>> {
        if topics.is_empty() {
            return Ok(BTreeMap::new());
        }
        let names: Vec<String> = topics.iter().cloned().collect();
        let md = self.client.metadata(Some(&names), false).await.map_err(|e| e.to_string())?;
        let mut out = BTreeMap::new();
        for t in md.topics {
            match t.error_code {
                error::NONE => {}
                error::UNKNOWN_TOPIC_OR_PARTITION => return Err(Failure::Error(UNKNOWN_TOPIC_MESSAGE.into())),
                code => return Err(Failure::Error(error_message(code, None))),
            }
            for p in t.partitions {
                out.insert(TopicPartition::new(t.name.clone(), p.partition_index), p.replica_nodes);
            }
        }
        Ok(out)
    }

    async fn ongoing(&mut self, partitions: Option<&BTreeSet<TopicPartition>>) -> Res<BTreeMap<TopicPartition, PartitionReassignment>> {
        Ok(self.client.list_partition_reassignments(partitions).await?)
    }

    async fn generate(&mut self, topics_json: &str, broker_list: &str, rack_aware: bool) -> Res<()> {
        let (brokers, topics) = parse_generate_assignment_args(topics_json, broker_list)?;
        let current = self.describe_topics(&topics.iter().cloned().collect()).await?;
        let known = self.brokers().await?;
        let plan_brokers = plan_brokers(&brokers, &known, rack_aware)?;
        let holders: BTreeSet<i32> = current.values().flatten().copied().filter(|b| known.contains_key(b)).collect();
        let sizes = partition_sizes(&mut self.client, &holders, &topics).await;
        let input = planner::PlanInput { current: current.clone(), sizes: sizes.clone().unwrap_or_default(), brokers: plan_brokers };
        let plan = planner::plan(&input)?;
        print_generate(&current, &plan, sizes.is_some());
        Ok(())
    }

    async fn execute(&mut self, additional: bool, text: &str, throttle: i64, log_dir_throttle: i64, timeout_ms: i64) -> Res<()> {
        let (proposed, proposed_dirs) = parse_execute_assignment_args(text)?;
        // The brokers, topics and partitions are checked first (Kafka checks
        // the ongoing reassignments first), so that bad input is refused the
        // same way whatever else is going on.
        let known = self.brokers().await?;
        let wanted: BTreeSet<i32> = proposed.values().flatten().copied().collect();
        if let Some(b) = wanted.iter().find(|b| !known.contains_key(b)) {
            return Err(Failure::Error(format!("Unknown broker id {b}")));
        }
        let topics: BTreeSet<String> = proposed.keys().map(|tp| tp.topic.clone()).collect();
        let current_parts = self.describe_topics(&topics).await?;
        // Partitions that do not exist: refused before anything changes
        // (Kafka would have started the others and set the throttles).
        let missing: Vec<&TopicPartition> = proposed.keys().filter(|tp| !current_parts.contains_key(*tp)).collect();
        if !missing.is_empty() {
            return Err(Failure::Terse(format!(
                "Error reassigning partition(s):\n{}",
                missing.iter().map(|tp| format!("{tp}: This server does not host this topic-partition.")).collect::<Vec<_>>().join("\n")
            )));
        }
        let current_reassignments = self.ongoing(None).await?;
        if !additional && !current_reassignments.is_empty() {
            return Err(Failure::Terse(CANNOT_EXECUTE_BECAUSE_OF_EXISTING_MESSAGE.into()));
        }
        println!("{}", current_partition_replica_assignment_to_string(&proposed, &current_parts));
        if throttle >= 0 || log_dir_throttle >= 0 {
            println!("{YOU_MUST_RUN_VERIFY_PERIODICALLY_MESSAGE}");
            if throttle >= 0 {
                let moves = calculate_proposed_move_map(&current_reassignments, &proposed, &current_parts)?;
                let mut topic_ops: Vec<(String, Vec<(String, Option<String>)>)> = Vec::new();
                let leaders = leader_throttles(&moves);
                let followers = follower_throttles(&moves);
                for topic in leaders.keys().chain(followers.keys()).collect::<BTreeSet<_>>() {
                    let mut ops = Vec::new();
                    if let Some(v) = leaders.get(topic) {
                        ops.push((TOPIC_LEADER_THROTTLE.to_string(), Some(v.clone())));
                    }
                    if let Some(v) = followers.get(topic) {
                        ops.push((TOPIC_FOLLOWER_THROTTLE.to_string(), Some(v.clone())));
                    }
                    topic_ops.push((topic.clone(), ops));
                }
                self.client.alter_topic_configs(&topic_ops).await?;
                let brokers = reassigning_brokers(&moves);
                let value = Some(throttle.to_string());
                let broker_ops: Vec<(i32, Vec<(String, Option<String>)>)> = brokers
                    .iter()
                    .map(|&b| (b, vec![(BROKER_LEADER_THROTTLE.to_string(), value.clone()), (BROKER_FOLLOWER_THROTTLE.to_string(), value.clone())]))
                    .collect();
                self.client.alter_broker_configs(&broker_ops).await?;
                println!("The inter-broker throttle limit was set to {throttle} B/s");
            }
            if log_dir_throttle >= 0 {
                let moving: BTreeSet<i32> = proposed_dirs.keys().map(|r| r.broker).collect();
                let ops: Vec<(i32, Vec<(String, Option<String>)>)> = moving
                    .iter()
                    .map(|&b| (b, vec![(BROKER_LOG_DIR_THROTTLE.to_string(), Some(log_dir_throttle.to_string()))]))
                    .collect();
                self.client.alter_broker_configs(&ops).await?;
                println!("The replica-alter-dir throttle limit was set to {log_dir_throttle} B/s");
            }
        }
        let request: BTreeMap<TopicPartition, Option<Vec<i32>>> = proposed.iter().map(|(tp, r)| (tp.clone(), Some(r.clone()))).collect();
        let errors = self.client.alter_partition_reassignments(&request).await?;
        if !errors.is_empty() {
            return Err(Failure::Terse(format!(
                "Error reassigning partition(s):\n{}",
                errors.iter().map(|(tp, m)| format!("{tp}: {m}")).collect::<Vec<_>>().join("\n")
            )));
        }
        println!("Successfully started partition reassignment{} for {}", plural(proposed.len()), join(proposed.keys()));
        if !proposed_dirs.is_empty() {
            self.execute_moves(&proposed_dirs, timeout_ms).await?;
        }
        Ok(())
    }

    /// Kafka's `executeMoves`: AlterReplicaLogDirs until every replica's move
    /// has started (a replica not on its broker yet answers
    /// REPLICA_NOT_AVAILABLE and is retried), or the timeout.
    async fn execute_moves(&mut self, moves: &BTreeMap<TopicPartitionReplica, String>, timeout_ms: i64) -> Res<()> {
        let start = Instant::now();
        let mut pending = moves.clone();
        loop {
            let completed = self.client.alter_replica_log_dirs(&pending).await?;
            if !completed.is_empty() {
                println!("Successfully started log directory move{} for: {}", plural(completed.len()), join(&completed));
            }
            for r in &completed {
                pending.remove(r);
            }
            if pending.is_empty() {
                return Ok(());
            }
            if start.elapsed() >= Duration::from_millis(timeout_ms.max(0) as u64) {
                return Err(Failure::Terse(format!(
                    "Timed out before log directory move{} could be started for: {}",
                    plural(pending.len()),
                    join(pending.keys())
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn verify(&mut self, text: &str, preserve_throttles: bool) -> Res<()> {
        let (targets, target_dirs) = parse_partition_reassignment_data(text)?;
        let live = self.brokers().await?;
        let current = self.ongoing(None).await?;
        let missing_topics: BTreeSet<String> =
            targets.iter().filter(|(tp, _)| !current.contains_key(tp)).map(|(tp, _)| tp.topic.clone()).collect();
        let mut described: BTreeMap<TopicPartition, Vec<i32>> = BTreeMap::new();
        for t in &missing_topics {
            // One topic at a time: an unknown topic only affects its own partitions.
            if let Ok(d) = self.describe_topics(&BTreeSet::from([t.clone()])).await {
                described.extend(d);
            }
        }
        let mut states = BTreeMap::new();
        for (tp, target) in &targets {
            let state = match current.get(tp) {
                Some(o) => PartitionReassignmentState {
                    current_replicas: o.replicas.clone(),
                    target_replicas: target.clone(),
                    done: false,
                    dead_brokers: o.replicas.iter().copied().filter(|b| !live.contains_key(b)).filter(|b| target.contains(b)).collect(),
                },
                None => PartitionReassignmentState {
                    current_replicas: described.get(tp).cloned().unwrap_or_default(),
                    target_replicas: target.clone(),
                    done: true,
                    dead_brokers: vec![],
                },
            };
            states.insert(tp.clone(), state);
        }
        println!("{}", partition_reassignment_states_to_string(&states));
        let parts_ongoing = !current.is_empty();
        let move_states = progress::log_dir_move_states(&mut self.client, &target_dirs).await?;
        println!("{}", progress::replica_move_states_to_string(&move_states));
        let moves_ongoing = move_states.values().any(|s| !s.done());
        if !parts_ongoing && !moves_ongoing && !preserve_throttles {
            let brokers: BTreeSet<i32> = live.keys().copied().chain(targets.iter().flat_map(|(_, r)| r.iter().copied())).collect();
            let topics: BTreeSet<String> = targets.iter().map(|(tp, _)| tp.topic.clone()).collect();
            self.clear_all_throttles(&brokers, &topics).await?;
        }
        self.print_progress(&current, &live, Some(&targets.iter().map(|(tp, _)| tp.clone()).collect())).await;
        Ok(())
    }

    async fn clear_all_throttles(&mut self, brokers: &BTreeSet<i32>, topics: &BTreeSet<String>) -> Res<()> {
        println!("Clearing broker-level throttles on broker{} {}", plural(brokers.len()), join(brokers));
        let ops: Vec<(i32, Vec<(String, Option<String>)>)> =
            brokers.iter().map(|&b| (b, BROKER_THROTTLES.iter().map(|k| (k.to_string(), None)).collect())).collect();
        self.client.alter_broker_configs(&ops).await?;
        println!("Clearing topic-level throttles on topic{} {}", plural(topics.len()), join(topics));
        let ops: Vec<(String, Vec<(String, Option<String>)>)> =
            topics.iter().map(|t| (t.clone(), TOPIC_THROTTLES.iter().map(|k| (k.to_string(), None)).collect())).collect();
        self.client.alter_topic_configs(&ops).await?;
        Ok(())
    }

    /// The progress section (zkafka's addition) for the ongoing
    /// reassignments (only those in `only`, when given).
    async fn print_progress(
        &mut self,
        current: &BTreeMap<TopicPartition, PartitionReassignment>,
        live: &BTreeMap<i32, Option<String>>,
        only: Option<&BTreeSet<TopicPartition>>,
    ) {
        let moving: BTreeMap<TopicPartition, PartitionReassignment> =
            current.iter().filter(|(tp, _)| only.is_none_or(|o| o.contains(*tp))).map(|(k, v)| (k.clone(), v.clone())).collect();
        let live: BTreeSet<i32> = live.keys().copied().collect();
        let lines = progress::sample_and_describe(&mut self.client, &moving, &live).await;
        if !lines.is_empty() {
            println!();
            println!("{}", lines.join("\n"));
        }
    }

    async fn cancel(&mut self, text: &str, preserve_throttles: bool, timeout_ms: i64) -> Res<()> {
        let (targets, target_dirs) = parse_partition_reassignment_data(text)?;
        let set: BTreeSet<TopicPartition> = targets.iter().map(|(tp, _)| tp.clone()).collect();
        let current = self.ongoing(Some(&set)).await?;
        let reassigning: BTreeSet<TopicPartition> = current
            .iter()
            .filter(|(tp, o)| set.contains(*tp) && (!o.adding.is_empty() || !o.removing.is_empty()))
            .map(|(tp, _)| tp.clone())
            .collect();
        if !reassigning.is_empty() {
            let request: BTreeMap<TopicPartition, Option<Vec<i32>>> = reassigning.iter().map(|tp| (tp.clone(), None)).collect();
            let errors = self.client.alter_partition_reassignments(&request).await?;
            if !errors.is_empty() {
                return Err(Failure::Terse(format!(
                    "Error cancelling partition reassignment{} for:\n{}",
                    plural(errors.len()),
                    errors.iter().map(|(tp, m)| format!("{tp}: {m}")).collect::<Vec<_>>().join("\n")
                )));
            }
            println!("Successfully cancelled partition reassignment{} for: {}", plural(reassigning.len()), join(&reassigning));
        } else {
            println!("None of the specified partition reassignments are active.");
        }
        let move_states = progress::log_dir_move_states(&mut self.client, &target_dirs).await?;
        let active: BTreeMap<TopicPartitionReplica, String> = move_states
            .iter()
            .filter_map(|(r, s)| match s {
                progress::LogDirMoveState::Active { current, .. } => Some((r.clone(), current.clone())),
                _ => None,
            })
            .collect();
        if active.is_empty() {
            println!("None of the specified partition moves are active.");
        } else {
            self.execute_moves(&active, timeout_ms).await?;
        }
        if !preserve_throttles {
            let live = self.brokers().await?;
            let brokers: BTreeSet<i32> = live.keys().copied().chain(targets.iter().flat_map(|(_, r)| r.iter().copied())).collect();
            let topics: BTreeSet<String> = targets.iter().map(|(tp, _)| tp.topic.clone()).collect();
            self.clear_all_throttles(&brokers, &topics).await?;
        }
        Ok(())
    }

    async fn list(&mut self) -> Res<()> {
        let current = self.ongoing(None).await?;
        println!("{}", cur_reassignments_to_string(&current));
        let live = self.brokers().await?;
        self.print_progress(&current, &live, None).await;
        Ok(())
    }
}

// ---------------------------------------------------------------- --zookeeper

struct ZkMode {
    zk: AdminZkClient,
}

fn zk_err(e: impl std::fmt::Display) -> Failure {
    Failure::Error(e.to_string())
}

impl ZkMode {
    fn zk(&self) -> &KafkaZkClient {
        self.zk.zk()
    }

    /// Registered brokers: rack and address.
    async fn brokers(&self) -> Res<BTreeMap<i32, (Option<String>, Option<String>)>> {
        let all = self.zk().get_all_brokers().await.map_err(zk_err)?;
        Ok(all.into_iter().map(|b| (b.id, (b.rack.clone(), b.endpoints.first().map(|e| e.address())))).collect())
    }

    /// The replica assignments (with adding/removing) of `topics`; unknown
    /// topics are left out.
    async fn assignments(&self, topics: &BTreeSet<String>) -> Res<BTreeMap<TopicPartition, crate::zk::ReplicaAssignment>> {
        let mut out = BTreeMap::new();
        for t in topics {
            if let Some(a) = self.zk().get_topic_assignment(t).await.map_err(zk_err)? {
                for (p, ra) in a.partitions {
                    out.insert(TopicPartition::new(t.clone(), p), ra);
                }
            }
        }
        Ok(out)
    }

    /// A client that reaches the registered brokers directly (for sizes).
    async fn broker_client(&self) -> Res<(KafkaClient, BTreeSet<i32>)> {
        let mut client = KafkaClient::new("", "reassign-partitions-tool", Duration::from_secs(10));
        let mut live = BTreeSet::new();
        for (id, (_, addr)) in self.brokers().await? {
            live.insert(id);
            if let Some(a) = addr {
                client.add_known_broker(id, &a);
            }
        }
        Ok((client, live))
    }

    async fn generate(&mut self, topics_json: &str, broker_list: &str, rack_aware: bool) -> Res<()> {
        let (brokers, topics) = parse_generate_assignment_args(topics_json, broker_list)?;
        let topic_set: BTreeSet<String> = topics.iter().cloned().collect();
        let current: BTreeMap<TopicPartition, Vec<i32>> =
            self.assignments(&topic_set).await?.into_iter().map(|(tp, a)| (tp, a.replicas)).collect();
        if let Some(t) = topics.iter().find(|t| !current.keys().any(|tp| &tp.topic == *t)) {
            let _ = t;
            return Err(Failure::Error(UNKNOWN_TOPIC_MESSAGE.into()));
        }
        let known: BTreeMap<i32, Option<String>> = self.brokers().await?.into_iter().map(|(id, (rack, _))| (id, rack)).collect();
        let plan_brokers = plan_brokers(&brokers, &known, rack_aware)?;
        let (mut client, live) = self.broker_client().await?;
        let holders: BTreeSet<i32> = current.values().flatten().copied().filter(|b| live.contains(b)).collect();
        let sizes = partition_sizes(&mut client, &holders, &topics).await;
        let input = planner::PlanInput { current: current.clone(), sizes: sizes.clone().unwrap_or_default(), brokers: plan_brokers };
        let plan = planner::plan(&input)?;
        print_generate(&current, &plan, sizes.is_some());
        Ok(())
    }

    async fn execute(&mut self, text: &str, throttle: i64) -> Res<()> {
        let (proposed, proposed_dirs) = parse_execute_assignment_args(text)?;
        if !proposed_dirs.is_empty() {
            return Err(Failure::Error("bootstrap-server needs to be provided when replica reassignments are present.".into()));
        }
        let topics: BTreeSet<String> = proposed.keys().map(|tp| tp.topic.clone()).collect();
        let existing = self.assignments(&topics).await?;
        let non_existent: Vec<String> = proposed.keys().filter(|tp| !existing.contains_key(*tp)).map(|tp| tp.to_string()).collect();
        if !non_existent.is_empty() {
            return Err(Failure::Error(format!(
                "The proposed assignment contains non-existent partitions: List({})",
                non_existent.join(", ")
            )));
        }
        let broker_ids: BTreeSet<i32> = self.zk().get_all_broker_ids().await.map_err(zk_err)?.into_iter().collect();
        let non_existing: BTreeSet<i32> = proposed.values().flatten().copied().filter(|b| !broker_ids.contains(b)).collect();
        if !non_existing.is_empty() {
            return Err(Failure::Error(format!("The proposed assignment contains non-existent brokerIDs: {}", join(&non_existing))));
        }
        if self.zk().exists(crate::zk::zk_data::REASSIGN_PARTITIONS_PATH).await.map_err(zk_err)?.is_some() {
            return Err(Failure::Terse(CANNOT_EXECUTE_BECAUSE_OF_EXISTING_MESSAGE.into()));
        }
        let current_parts: BTreeMap<TopicPartition, Vec<i32>> = existing.iter().map(|(tp, a)| (tp.clone(), a.replicas.clone())).collect();
        println!("{}", current_partition_replica_assignment_to_string(&proposed, &current_parts));
        if throttle >= 0 {
            println!("{YOU_MUST_RUN_VERIFY_PERIODICALLY_MESSAGE}");
            let moves = calculate_proposed_move_map(&BTreeMap::new(), &proposed, &current_parts)?;
            let leaders = leader_throttles(&moves);
            let followers = follower_throttles(&moves);
            for topic in leaders.keys().chain(followers.keys()).collect::<BTreeSet<_>>() {
                let mut configs = self.zk.fetch_entity_config("topics", topic).await.map_err(zk_err)?;
                if let Some(v) = leaders.get(topic) {
                    configs.insert(TOPIC_LEADER_THROTTLE.to_string(), v.clone());
                }
                if let Some(v) = followers.get(topic) {
                    configs.insert(TOPIC_FOLLOWER_THROTTLE.to_string(), v.clone());
                }
                self.zk.change_topic_config(topic, configs).await.map_err(|e| Failure::Error(e.message()))?;
            }
            for b in reassigning_brokers(&moves) {
                let mut configs = self.zk.fetch_entity_config("brokers", &b.to_string()).await.map_err(zk_err)?;
                configs.insert(BROKER_LEADER_THROTTLE.to_string(), throttle.to_string());
                configs.insert(BROKER_FOLLOWER_THROTTLE.to_string(), throttle.to_string());
                self.zk.change_broker_config(Some(b), configs).await.map_err(|e| Failure::Error(e.message()))?;
            }
            println!("The inter-broker throttle limit was set to {throttle} B/s");
        }
        match self.zk().create_partition_reassignment(&proposed).await {
            Ok(()) => {}
            Err(crate::zk::ZkError::NodeExists(_)) => return Err(Failure::Terse(CANNOT_EXECUTE_BECAUSE_OF_EXISTING_MESSAGE.into())),
            Err(e) => return Err(zk_err(e)),
        }
        println!("Successfully started partition reassignment{} for {}", plural(proposed.len()), join(proposed.keys()));
        Ok(())
    }

    async fn verify(&mut self, text: &str, preserve_throttles: bool) -> Res<()> {
        let (targets, target_dirs) = parse_partition_reassignment_data(text)?;
        if !target_dirs.is_empty() {
            return Err(Failure::Error("bootstrap-server needs to be provided when replica reassignments are present.".into()));
        }
        println!("Warning: because you are using the deprecated --zookeeper option, the results may be incomplete.  Use --bootstrap-server instead for more accurate results.");
        let in_znode = self.zk().get_partition_reassignment().await.map_err(zk_err)?.unwrap_or_default();
        let topics: BTreeSet<String> = targets.iter().map(|(tp, _)| tp.topic.clone()).collect();
        let assignments = self.assignments(&topics).await?;
        let brokers = self.brokers().await?;
        let mut states = BTreeMap::new();
        let mut ongoing: BTreeMap<TopicPartition, PartitionReassignment> = BTreeMap::new();
        for (tp, target) in &targets {
            let a = assignments.get(tp);
            // Moving while named in the znode (Kafka's test) or while the
            // topic znode still lists replicas being added or removed.
            let moving = in_znode.contains_key(tp) || a.is_some_and(|a| a.is_being_reassigned());
            let current = a.map(|a| a.replicas.clone()).unwrap_or_default();
            if let Some(a) = a.filter(|a| a.is_being_reassigned()) {
                ongoing.insert(
                    tp.clone(),
                    PartitionReassignment { replicas: a.replicas.clone(), adding: a.adding_replicas.clone(), removing: a.removing_replicas.clone() },
                );
            }
            let dead_brokers =
                if moving { target.iter().copied().filter(|b| !brokers.contains_key(b)).collect() } else { vec![] };
            states.insert(
                tp.clone(),
                PartitionReassignmentState { current_replicas: current, target_replicas: target.clone(), done: !moving, dead_brokers },
            );
        }
        println!("{}", partition_reassignment_states_to_string(&states));
        let parts_ongoing = !in_znode.is_empty() || states.values().any(|s| !s.done);
        if !parts_ongoing && !preserve_throttles {
            let all: BTreeSet<i32> = brokers.keys().copied().chain(targets.iter().flat_map(|(_, r)| r.iter().copied())).collect();
            println!("Clearing broker-level throttles on broker{} {}", plural(all.len()), join(&all));
            for b in &all {
                let mut configs = self.zk.fetch_entity_config("brokers", &b.to_string()).await.map_err(zk_err)?;
                let before = configs.len();
                configs.retain(|k, _| !BROKER_THROTTLES.contains(&k.as_str()));
                if configs.len() != before {
                    self.zk.change_broker_config(Some(*b), configs).await.map_err(|e| Failure::Error(e.message()))?;
                }
            }
            println!("Clearing topic-level throttles on topic{} {}", plural(topics.len()), join(&topics));
            for t in &topics {
                let mut configs = self.zk.fetch_entity_config("topics", t).await.map_err(zk_err)?;
                let before = configs.len();
                configs.retain(|k, _| !TOPIC_THROTTLES.contains(&k.as_str()));
                if configs.len() != before {
                    self.zk.change_topic_config(t, configs).await.map_err(|e| Failure::Error(e.message()))?;
                }
            }
        }
        if !ongoing.is_empty() {
            let (mut client, live) = self.broker_client().await?;
            let lines = progress::sample_and_describe(&mut client, &ongoing, &live).await;
            if !lines.is_empty() {
                println!();
                println!("{}", lines.join("\n"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(t: &str, p: i32) -> TopicPartition {
        TopicPartition::new(t, p)
    }

    fn opts(args: &[&str]) -> ReassignOptions {
        let mut v = vec!["kafka-reassign-partitions.sh".to_string()];
        v.extend(args.iter().map(|s| s.to_string()));
        ReassignOptions::try_parse_from(v).unwrap()
    }

    #[test]
    fn argument_checks_have_kafkas_messages() {
        let err = |a: &[&str]| validate_args(&opts(a)).unwrap_err().message;
        assert_eq!(err(&["--bootstrap-server", "h:1"]), "Command must include exactly one action: --generate, --execute, --verify, --cancel, --list");
        assert_eq!(err(&["--list", "--verify", "--bootstrap-server", "h:1"]), "Command must include exactly one action: --generate, --execute, --verify, --cancel, --list");
        assert_eq!(err(&["--list"]), "Please specify --bootstrap-server");
        assert_eq!(err(&["--execute", "--bootstrap-server", "h:1"]), "Missing required argument \"[reassignment-json-file]\"");
        assert_eq!(err(&["--generate", "--bootstrap-server", "h:1", "--broker-list", "1"]), "Missing required argument \"[topics-to-move-json-file]\"");
        assert_eq!(
            err(&["--verify", "--bootstrap-server", "h:1", "--reassignment-json-file", "f", "--throttle", "10"]),
            "Option \"[throttle]\" can't be used with action \"[verify]\""
        );
        assert_eq!(err(&["--cancel", "--zookeeper", "z:1", "--reassignment-json-file", "f"]), "Option \"[zookeeper]\" can't be used with action \"[cancel]\"");
        let e = validate_args(&opts(&["--execute", "--zookeeper", "z:1", "--reassignment-json-file", "f", "--additional"])).unwrap_err();
        assert_eq!(e.message, "You must specify --bootstrap-server when using \"[additional]\"");
        assert!(!e.print_usage);
        assert_eq!(validate_args(&opts(&["--list", "--bootstrap-server", "h:1"])), Ok(Action::List));
        assert_eq!(
            validate_args(&opts(&["--execute", "--zookeeper", "z:1", "--reassignment-json-file", "f", "--throttle", "100"])),
            Ok(Action::Execute)
        );
    }

    #[test]
    fn throttles_cover_sources_and_destinations() {
        // {1,2,3} -> {2,3,4} for two partitions; foo-1 is already moving
        // from {5,6} (adding 1), so its sources stay {5,6}.
        let mut current = BTreeMap::new();
        current.insert(tp("foo", 0), vec![1, 2, 3]);
        current.insert(tp("foo", 10), vec![1, 2, 3]);
        let mut proposed = BTreeMap::new();
        proposed.insert(tp("foo", 0), vec![2, 3, 4]);
        proposed.insert(tp("foo", 10), vec![2, 3, 4]);
        let mut ongoing = BTreeMap::new();
        ongoing.insert(tp("bar", 1), PartitionReassignment { replicas: vec![1, 5, 6], adding: vec![1], removing: vec![5] });
        let moves = calculate_proposed_move_map(&ongoing, &proposed, &current).unwrap();
        let l = leader_throttles(&moves);
        let f = follower_throttles(&moves);
        assert_eq!(l["foo"], "0:1,0:2,0:3,10:1,10:2,10:3");
        assert_eq!(f["foo"], "0:4,10:4");
        assert_eq!(l["bar"], "1:5,1:6");
        assert_eq!(f["bar"], "1:1");
        assert_eq!(reassigning_brokers(&moves), BTreeSet::from([1, 2, 3, 4, 5, 6]));
        let err = calculate_proposed_move_map(&BTreeMap::new(), &BTreeMap::from([(tp("x", 0), vec![1])]), &BTreeMap::new()).unwrap_err();
        assert_eq!(err, "Trying to reassign a topic partition x-0 with 0 replicas");
    }

    #[test]
    fn verify_and_list_lines() {
        let mut states = BTreeMap::new();
        let st = |cur: Vec<i32>, tgt: Vec<i32>, done: bool, dead: Vec<i32>| PartitionReassignmentState {
            current_replicas: cur,
            target_replicas: tgt,
            done,
            dead_brokers: dead,
        };
        states.insert(tp("foo", 0), st(vec![2, 3, 4], vec![2, 3, 4], true, vec![]));
        states.insert(tp("foo", 1), st(vec![1, 2], vec![3, 4], true, vec![]));
        states.insert(tp("foo", 2), st(vec![1, 2, 3, 4], vec![2, 3, 4], false, vec![]));
        states.insert(tp("foo", 3), st(vec![1, 2, 3, 4], vec![2, 3, 4], false, vec![4]));
        assert_eq!(
            partition_reassignment_states_to_string(&states),
            "Status of partition reassignment:\n\
             Reassignment of partition foo-0 is complete.\n\
             There is no active reassignment of partition foo-1, but replica set is 1,2 rather than 3,4.\n\
             Reassignment of partition foo-2 is still in progress.\n\
             Reassignment of partition foo-3 is still in progress: waiting for broker 4, which is not alive."
        );
        assert_eq!(cur_reassignments_to_string(&BTreeMap::new()), "No partition reassignments found.");
        let mut cur = BTreeMap::new();
        cur.insert(tp("foo", 0), PartitionReassignment { replicas: vec![4, 1, 2, 3], adding: vec![4], removing: vec![1] });
        cur.insert(tp("foo", 1), PartitionReassignment { replicas: vec![1, 2], adding: vec![], removing: vec![] });
        assert_eq!(
            cur_reassignments_to_string(&cur),
            "Current partition reassignments:\nfoo-0: replicas: 4,1,2,3. adding: 4. removing: 1.\nfoo-1: replicas: 1,2."
        );
        let proposed = BTreeMap::from([(tp("foo", 0), vec![2, 3, 4])]);
        let current = BTreeMap::from([(tp("foo", 0), vec![1, 2, 3]), (tp("foo", 1), vec![1, 2, 3])]);
        assert_eq!(
            current_partition_replica_assignment_to_string(&proposed, &current),
            "Current partition replica assignment\n\n{\"version\":1,\"partitions\":[{\"topic\":\"foo\",\"partition\":0,\"replicas\":[1,2,3],\"log_dirs\":[\"any\",\"any\",\"any\"]}]}\n\nSave this to use as the --reassignment-json-file option during rollback"
        );
    }

    #[test]
    fn plan_brokers_checks() {
        let known = BTreeMap::from([(1, Some("a".to_string())), (2, None), (3, Some("b".to_string()))]);
        assert_eq!(plan_brokers(&[1, 9], &known, true).unwrap_err(), "Unknown broker id 9");
        assert!(plan_brokers(&[1, 2], &known, true).unwrap_err().starts_with("Not all brokers have rack information."));
        assert_eq!(plan_brokers(&[1, 2], &known, false).unwrap(), BTreeMap::from([(1, None), (2, None)]));
        assert_eq!(plan_brokers(&[1, 3], &known, true).unwrap()[&3], Some("b".to_string()));
    }
}
