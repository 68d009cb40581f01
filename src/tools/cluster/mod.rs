//! `zkafka-cluster`: the whole cluster's health in one screen (what Kafka
//! never shipped — KIP-59 was abandoned — and operators piece together from
//! JMX, `zookeeper-shell` and `kafka-topics --describe`). With
//! `--bootstrap-server` it reads the cluster as a client (Metadata,
//! DescribeConfigs, ListPartitionReassignments, DescribeLogDirs, the group
//! APIs); with `--zookeeper` it reads Kafka's znodes directly (as Kafka's
//! 2.8 `--zookeeper` tools did) and asks the registered brokers only for what
//! ZooKeeper does not hold (log dir sizes, consumer groups). The health
//! computation is the pure `health::compute`; the text and JSON are in
//! `render`; this file parses the flags, gathers, and runs `--watch`.

pub mod health;
pub mod render;

use crate::client::KafkaClient;
use crate::common::TopicPartition;
use crate::protocol::error::{self, error_name};
use crate::protocol::messages::describe_configs::{DescribeConfigsRequest, DescribeConfigsResource, RESOURCE_BROKER, RESOURCE_TOPIC};
use crate::protocol::messages::describe_groups::DescribeGroupsRequest;
use crate::protocol::messages::offset_fetch::OffsetFetchRequest;
use crate::zk::{KafkaZkClient, ZkClientConfig};
use clap::Parser;
use health::{BrokerInfo, GroupInfo, LogDirInfo, PartitionInfo, ReassignmentInfo, Snapshot};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::Duration;

const ABOUT: &str = "Shows the whole cluster's health in one screen: brokers, controller, partition problems, reassignments, log dirs and consumer groups.";

#[derive(Parser, Debug, Default)]
#[command(name = "zkafka-cluster.sh", about = ABOUT, disable_version_flag = true)]
pub struct ClusterOptions {
    /// The server(s) to connect to (host:port,...). Exactly one of --bootstrap-server or --zookeeper is required.
    #[arg(long, value_name = "host:port")]
    pub bootstrap_server: Option<String>,
    /// Read the cluster's state from ZooKeeper directly (host:port[/chroot]).
    #[arg(long, value_name = "host:port[/chroot]")]
    pub zookeeper: Option<String>,
    /// Refresh every SECS seconds (default 2) like `top`, until Ctrl-C.
    #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "2")]
    pub watch: Option<f64>,
    /// Print the report as JSON (with --watch: one JSON document per line per refresh).
    #[arg(long)]
    pub json: bool,
    /// How long to wait for each broker or ZooKeeper answer, in ms.
    #[arg(long, value_name = "ms", default_value_t = 10_000)]
    pub timeout_ms: u64,
    /// A Kafka client properties file (security.protocol, ssl.*, sasl.*) for the connections to the brokers, as kafka-topics' --command-config.
    #[arg(long, value_name = "command config property file")]
    pub command_config: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Bootstrap(String),
    Zookeeper(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterArgs {
    pub mode: Mode,
    pub watch: Option<Duration>,
    pub json: bool,
    pub timeout: Duration,
    pub command_config: Option<String>,
}

pub fn validate(o: ClusterOptions) -> Result<ClusterArgs, String> {
    let mode = match (o.bootstrap_server, o.zookeeper) {
        (Some(b), None) if !b.trim().is_empty() => Mode::Bootstrap(b),
        (None, Some(z)) if !z.trim().is_empty() => Mode::Zookeeper(z),
        (Some(_), None) | (None, Some(_)) => return Err("The connection string must not be empty".into()),
        _ => return Err("Exactly one of --bootstrap-server or --zookeeper must be specified".into()),
    };
    let watch = match o.watch {
        None => None,
        Some(s) if s.is_finite() && (0.1..=86_400.0).contains(&s) => Some(Duration::from_secs_f64(s)),
        Some(s) => return Err(format!("--watch takes a refresh interval between 0.1 and 86400 seconds, not {s}")),
    };
    if o.timeout_ms == 0 {
        return Err("--timeout-ms must be positive".into());
    }
    Ok(ClusterArgs { mode, watch, json: o.json, timeout: Duration::from_millis(o.timeout_ms), command_config: o.command_config })
}

pub fn main(mut args: Vec<String>) -> i32 {
    // Usage lines name the script, not the binary.
    if let Some(a0) = args.first_mut() {
        *a0 = "zkafka-cluster.sh".into();
    }
    let opts: ClusterOptions = match super::parse_args(&args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let args = match validate(opts) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            eprintln!("{ABOUT}");
            eprintln!("Usage: zkafka-cluster.sh (--bootstrap-server host:port | --zookeeper host:port[/chroot]) [--watch [secs]] [--json]");
            return 1;
        }
    };
    let security = match crate::client::client_config::channel_security_from_file(args.command_config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let rt = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    rt.block_on(run(args, security))
}

/// Exit codes: 0 healthy, 2 problems found, 1 the cluster could not be read
/// (or bad usage). `--watch` exits 0 on Ctrl-C.
async fn run(args: ClusterArgs, security: crate::client::ChannelSecurity) -> i32 {
    let mut g = Gatherer::new(&args, security);
    let Some(every) = args.watch else {
        return match g.snapshot().await {
            Ok(s) => {
                let r = health::compute(&s);
                print!("{}", if args.json { render::json(&r) + "\n" } else { render::text(&r) });
                if r.healthy {
                    0
                } else {
                    2
                }
            }
            Err(e) => {
                eprintln!("{e}");
                1
            }
        };
    };
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut first = true;
    let mut stdout = std::io::stdout();
    loop {
        let result = tokio::select! {
            _ = &mut ctrl_c => break,
            r = g.snapshot() => r,
        };
        let screen = match result {
            Ok(s) => {
                let r = health::compute(&s);
                if args.json {
                    serde_json::to_string(&r).unwrap_or_default() + "\n"
                } else {
                    render::text(&r)
                }
            }
            Err(e) if first => {
                eprintln!("{e}");
                return 1;
            }
            Err(e) if args.json => format!("{}\n", serde_json::json!({ "error": e })),
            Err(e) => format!("ERROR: {e}\n(retrying)\n"),
        };
        first = false;
        let framed = if args.json {
            screen
        } else {
            // Home, clear screen, the report, the footer (like `top`).
            format!("\x1b[H\x1b[2J{screen}\nEvery {:.1}s; Ctrl-C to quit.\n", every.as_secs_f64())
        };
        if stdout.write_all(framed.as_bytes()).and_then(|_| stdout.flush()).is_err() {
            return 0; // stdout closed (e.g. piped into head)
        }
        tokio::select! {
            _ = &mut ctrl_c => break,
            _ = tokio::time::sleep(every) => {}
        }
    }
    let _ = writeln!(stdout);
    0
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Reads the cluster, keeping its connections across `--watch` rounds.
struct Gatherer {
    mode: Mode,
    timeout: Duration,
    client: Option<KafkaClient>,
    zk: Option<KafkaZkClient>,
    /// Bootstrap mode: where ZooKeeper was looked for and why it failed, if it did.
    zk_failure: Option<String>,
    zk_connect: Option<String>,
    /// How the brokers are reached (`--command-config`).
    security: crate::client::ChannelSecurity,
}

impl Gatherer {
    fn new(a: &ClusterArgs, security: crate::client::ChannelSecurity) -> Gatherer {
        Gatherer { mode: a.mode.clone(), timeout: a.timeout, client: None, zk: None, zk_failure: None, zk_connect: None, security }
    }

    async fn snapshot(&mut self) -> Result<Snapshot, String> {
        match self.mode.clone() {
            Mode::Bootstrap(b) => self.read_through_brokers(&b).await,
            Mode::Zookeeper(z) => self.read_from_zookeeper(&z).await,
        }
    }

    async fn connect_zk(&mut self, connect: &str) -> Result<&KafkaZkClient, String> {
        if self.zk.is_none() {
            let config = ZkClientConfig { connect: connect.to_string(), session_timeout: Duration::from_secs(30), connection_timeout: self.timeout };
            let zk = tokio::time::timeout(self.timeout + Duration::from_secs(1), KafkaZkClient::connect(config))
                .await
                .map_err(|_| format!("cannot connect to ZooKeeper at {connect}: timed out"))?
                .map_err(|e| format!("cannot connect to ZooKeeper at {connect}: {e}"))?;
            self.zk = Some(zk);
        }
        self.zk.as_ref().ok_or_else(|| "no ZooKeeper session".to_string())
    }

    // ------------------------------------------------------------ --bootstrap-server

    async fn read_through_brokers(&mut self, bootstrap: &str) -> Result<Snapshot, String> {
        let timeout = self.timeout;
        let security = self.security.clone();
        let client = self.client.get_or_insert_with(|| KafkaClient::new(bootstrap, "zkafka-cluster", timeout).with_security(security));
        let md = client
            .metadata(None, false)
            .await
            .map_err(|e| format!("cannot read the cluster's metadata through {bootstrap}: {e}"))?;
        let mut s = Snapshot {
            source: format!("--bootstrap-server {bootstrap}"),
            cluster_id: md.cluster_id.clone(),
            time_ms: now_ms(),
            controller: (md.controller_id >= 0).then_some(md.controller_id),
            ..Default::default()
        };
        s.brokers = md
            .brokers
            .iter()
            .map(|b| BrokerInfo { id: b.node_id, endpoint: format!("{}:{}", b.host, b.port), rack: b.rack.clone(), ..Default::default() })
            .collect();
        s.brokers.sort_by_key(|b| b.id);
        let mut topics = Vec::new();
        for t in &md.topics {
            if t.error_code != error::NONE {
                s.notes.push(format!("topic {}: {}", t.name, error_name(t.error_code)));
                continue;
            }
            topics.push(t.name.clone());
            for p in &t.partitions {
                s.partitions.push(PartitionInfo {
                    tp: TopicPartition::new(t.name.clone(), p.partition_index),
                    replicas: p.replica_nodes.clone(),
                    leader: (p.leader_id >= 0).then_some(p.leader_id),
                    leader_epoch: (p.leader_epoch >= 0).then_some(p.leader_epoch),
                    isr: p.isr_nodes.clone(),
                    offline_replicas: p.offline_replicas.clone(),
                });
            }
        }
        // min.insync.replicas of every topic, in one DescribeConfigs.
        if !topics.is_empty() {
            let req = DescribeConfigsRequest {
                resources: topics
                    .iter()
                    .map(|t| DescribeConfigsResource {
                        resource_type: RESOURCE_TOPIC,
                        resource_name: t.clone(),
                        configuration_keys: Some(vec!["min.insync.replicas".into()]),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            };
            match client.describe_configs(&req, timeout).await {
                Ok(resp) => {
                    for r in resp.results {
                        let v = r.configs.iter().find(|c| c.name == "min.insync.replicas").and_then(|c| c.value.as_deref()?.parse::<i32>().ok());
                        match v {
                            Some(v) if r.error_code == error::NONE => {
                                s.min_isr.insert(r.resource_name, v);
                            }
                            _ => s.notes.push(format!("min.insync.replicas of {} unknown ({}), taken as 1", r.resource_name, error_name(r.error_code))),
                        }
                    }
                }
                Err(e) => s.notes.push(format!("min.insync.replicas unknown (DescribeConfigs failed: {e}); taken as 1")),
            }
        }
        match client.list_partition_reassignments(None).await {
            Ok(m) => {
                s.reassignments = m
                    .into_iter()
                    .map(|(tp, r)| ReassignmentInfo { tp, replicas: r.replicas, adding: r.adding, removing: r.removing })
                    .collect()
            }
            Err(e) => s.notes.push(format!("reassignments unknown (ListPartitionReassignments at the controller failed: {e})")),
        }
        let ids: Vec<i32> = s.brokers.iter().map(|b| b.id).collect();
        let leaders: BTreeMap<TopicPartition, i32> = s.partitions.iter().filter_map(|p| Some((p.tp.clone(), p.leader?))).collect();
        broker_side(client, &ids, &leaders, &mut s).await;
        self.epochs_read_from_zookeeper(&mut s).await;
        Ok(s)
    }

    /// Broker epochs, registration times and the controller epoch are not in
    /// any Kafka API answer: they live in ZooKeeper. The brokers' own
    /// `zookeeper.connect` (DescribeConfigs) says where; if that ZooKeeper
    /// cannot be reached from here the report says so.
    async fn epochs_read_from_zookeeper(&mut self, s: &mut Snapshot) {
        const WHY: &str = "broker epoch, up since and the controller epoch are not in the Kafka protocol's answers";
        if self.zk.is_none() && self.zk_failure.is_none() {
            let asked = s.controller.or_else(|| s.brokers.first().map(|b| b.id));
            let connect = match (self.client.as_mut(), asked) {
                (Some(c), Some(id)) => match c.describe_resource_configs(RESOURCE_BROKER, &id.to_string(), false).await {
                    Ok(r) => r
                        .configs
                        .iter()
                        .find(|c| c.name == "zookeeper.connect")
                        .and_then(|c| c.value.clone())
                        .map(|v| (id, v))
                        .ok_or_else(|| format!("broker {id} does not show zookeeper.connect")),
                    Err(e) => Err(format!("DescribeConfigs of broker {id} failed: {e}")),
                },
                _ => Err("no broker to ask for zookeeper.connect".into()),
            };
            match connect {
                Ok((id, zk)) => match self.connect_zk(&zk).await {
                    Ok(_) => self.zk_connect = Some(format!("{zk} (zookeeper.connect of broker {id})")),
                    Err(e) => self.zk_failure = Some(e),
                },
                Err(e) => self.zk_failure = Some(e),
            }
        }
        if let Some(f) = &self.zk_failure {
            s.notes.push(format!("{WHY}, and ZooKeeper could not be read ({f}): they are shown as '-'; --zookeeper shows them"));
            return;
        }
        let (Some(zk), Some(at)) = (self.zk.as_ref(), self.zk_connect.as_ref()) else { return };
        match zk.get_all_brokers_and_epochs().await {
            Ok(regs) => {
                for b in &mut s.brokers {
                    if let Some((info, epoch)) = regs.get(&b.id) {
                        b.epoch = Some(*epoch);
                        b.registered_at_ms = Some(info.timestamp);
                    }
                }
            }
            Err(e) => s.notes.push(format!("{WHY}; reading /brokers/ids from ZooKeeper at {at} failed: {e}")),
        }
        match zk.get_controller_epoch().await {
            Ok(e) => s.controller_epoch = e.map(|(epoch, _)| epoch),
            Err(e) => s.notes.push(format!("reading /controller_epoch from ZooKeeper at {at} failed: {e}")),
        }
        s.notes.push(format!("{WHY}; they were read from ZooKeeper at {at}"));
    }

    // ------------------------------------------------------------ --zookeeper

    async fn read_from_zookeeper(&mut self, connect: &str) -> Result<Snapshot, String> {
        let timeout = self.timeout;
        let protocol = self.security.protocol;
        let zk = self.connect_zk(connect).await?;
        let zerr = |what: &str, e: crate::zk::ZkError| format!("cannot read {what} from ZooKeeper at {connect}: {e}");
        if zk.exists(crate::zk::zk_data::BROKER_IDS_PATH).await.map_err(|e| zerr("/brokers/ids", e))?.is_none() {
            return Err(format!("no Kafka cluster at ZooKeeper {connect}: /brokers/ids does not exist (wrong chroot?)"));
        }
        let mut s = Snapshot { source: format!("--zookeeper {connect}"), time_ms: now_ms(), ..Default::default() };
        s.cluster_id = zk.get_cluster_id().await.map_err(|e| zerr("/cluster/id", e))?;
        let regs = zk.get_all_brokers_and_epochs().await.map_err(|e| zerr("/brokers/ids", e))?;
        let mut addrs: BTreeMap<i32, Option<String>> = BTreeMap::new();
        for (id, (info, epoch)) in &regs {
            // The first listener of the protocol --command-config asks for
            // (PLAINTEXT without one).
            let ep = info.endpoints.iter().find(|e| e.security_protocol == protocol);
            addrs.insert(*id, ep.map(|e| e.address()));
            s.brokers.push(BrokerInfo {
                id: *id,
                endpoint: info.endpoints.iter().map(|e| e.connection_string()).collect::<Vec<_>>().join(","),
                rack: info.rack.clone(),
                epoch: Some(*epoch),
                registered_at_ms: Some(info.timestamp),
            });
        }
        s.controller = zk.get_controller_id().await.map_err(|e| zerr("/controller", e))?;
        s.controller_epoch = zk.get_controller_epoch().await.map_err(|e| zerr("/controller_epoch", e))?.map(|(e, _)| e);
        let topics = zk.get_all_topics().await.map_err(|e| zerr("/brokers/topics", e))?;
        let default_min_isr = zk
            .get_entity_config("brokers", "<default>")
            .await
            .ok()
            .and_then(|c| c.get("min.insync.replicas").and_then(|v| v.parse::<i32>().ok()));
        let mut assignments = BTreeMap::new();
        for t in &topics {
            let Some(a) = zk.get_topic_assignment(t).await.map_err(|e| zerr(&format!("/brokers/topics/{t}"), e))? else { continue };
            let config = zk.get_entity_config("topics", t).await.map_err(|e| zerr(&format!("/config/topics/{t}"), e))?;
            if let Some(v) = config.get("min.insync.replicas").and_then(|v| v.parse::<i32>().ok()).or(default_min_isr) {
                s.min_isr.insert(t.clone(), v);
            }
            for (p, ra) in a.partitions {
                assignments.insert(TopicPartition::new(t.clone(), p), ra);
            }
        }
        let states = zk.get_partition_states(assignments.keys()).await.map_err(|e| zerr("partition states", e))?;
        for (tp, ra) in &assignments {
            let st = states.get(tp);
            s.partitions.push(PartitionInfo {
                tp: tp.clone(),
                replicas: ra.replicas.clone(),
                leader: st.map(|x| x.leader_and_isr.leader).filter(|l| *l >= 0),
                leader_epoch: st.map(|x| x.leader_and_isr.leader_epoch),
                isr: st.map(|x| x.leader_and_isr.isr.clone()).unwrap_or_default(),
                offline_replicas: vec![],
            });
            if !ra.adding_replicas.is_empty() || !ra.removing_replicas.is_empty() {
                s.reassignments.push(ReassignmentInfo {
                    tp: tp.clone(),
                    replicas: ra.replicas.clone(),
                    adding: ra.adding_replicas.clone(),
                    removing: ra.removing_replicas.clone(),
                });
            }
        }
        match zk.get_partition_reassignment().await {
            Ok(Some(m)) => {
                let started: BTreeSet<&TopicPartition> = s.reassignments.iter().map(|r| &r.tp).collect();
                s.reassignments_requested = m.into_keys().filter(|tp| !started.contains(tp)).collect();
            }
            Ok(None) => {}
            Err(e) => s.notes.push(format!("/admin/reassign_partitions unreadable: {e}")),
        }
        if default_min_isr.is_none() {
            s.notes.push(
                "min.insync.replicas: topic overrides from /config/topics; topics without one are taken as 1 \
                 (the brokers' server.properties are not in ZooKeeper)"
                    .into(),
            );
        }
        // Log dir sizes and groups are not in ZooKeeper: ask the registered brokers.
        let security = self.security.clone();
        let client = self.client.get_or_insert_with(|| KafkaClient::new("", "zkafka-cluster", timeout).with_security(security));
        let mut ids = Vec::new();
        for (id, addr) in &addrs {
            match addr {
                Some(a) => {
                    client.add_known_broker(*id, a);
                    ids.push(*id);
                }
                None => {
                    s.notes.push(format!(
                        "broker {id} has no {} listener: its log dirs and groups are not shown",
                        self.security.protocol.name()
                    ));
                }
            }
        }
        let leaders: BTreeMap<TopicPartition, i32> = s.partitions.iter().filter_map(|p| Some((p.tp.clone(), p.leader?))).collect();
        broker_side(client, &ids, &leaders, &mut s).await;
        s.notes.push(
            "log dir sizes and consumer groups are not in ZooKeeper: they were asked of the registered brokers \
             (DescribeLogDirs, ListGroups, DescribeGroups, OffsetFetch, ListOffsets)"
                .into(),
        );
        Ok(s)
    }
}

/// What only the brokers know: their log dirs (DescribeLogDirs) and the
/// consumer groups they coordinate with their lag (ListGroups,
/// DescribeGroups, OffsetFetch, then ListOffsets at the partitions'
/// leaders). A broker that does not answer is recorded in `unreachable`.
async fn broker_side(client: &mut KafkaClient, brokers: &[i32], leaders: &BTreeMap<TopicPartition, i32>, s: &mut Snapshot) {
    let timeout = client.timeout();
    let mut dirs = Vec::new();
    for &id in brokers {
        match client.describe_log_dirs(id, None, timeout).await {
            Ok(resp) => {
                for d in resp.results {
                    let mut size = 0u64;
                    let mut replicas = 0usize;
                    for t in &d.topics {
                        for p in &t.partitions {
                            let bytes = p.partition_size.max(0) as u64;
                            size += bytes;
                            replicas += 1;
                            if !p.is_future_key {
                                s.replica_sizes.insert((id, TopicPartition::new(t.name.clone(), p.partition_index)), bytes);
                            }
                        }
                    }
                    let error = (d.error_code != error::NONE).then(|| error_name(d.error_code).to_string());
                    dirs.push(LogDirInfo { broker: id, path: d.log_dir, error, size_bytes: size, replicas });
                }
            }
            Err(e) => {
                s.unreachable.insert(id, format!("DescribeLogDirs: {e}"));
            }
        }
    }
    s.log_dirs = Some(dirs);

    // Groups, by coordinator: ListGroups answers with the groups a broker coordinates.
    let mut groups: Vec<GroupInfo> = Vec::new();
    let mut committed: Vec<(usize, BTreeMap<TopicPartition, i64>)> = Vec::new();
    let mut groups_complete = true;
    for &id in brokers {
        if s.unreachable.contains_key(&id) {
            groups_complete = false;
            continue;
        }
        let listed = match client.list_groups(id, timeout).await {
            Ok(r) if r.error_code == error::NONE => r.groups,
            Ok(r) => {
                s.notes.push(format!("ListGroups at broker {id}: {}", error_name(r.error_code)));
                groups_complete = false;
                continue;
            }
            Err(e) => {
                s.unreachable.insert(id, format!("ListGroups: {e}"));
                groups_complete = false;
                continue;
            }
        };
        if listed.is_empty() {
            continue;
        }
        let req = DescribeGroupsRequest { groups: listed.iter().map(|g| g.group_id.clone()).collect(), ..Default::default() };
        let described = client.describe_groups(id, &req, timeout).await.map(|r| r.groups).unwrap_or_default();
        for l in listed {
            let d = described.iter().find(|d| d.group_id == l.group_id && d.error_code == error::NONE);
            let mut g = GroupInfo {
                group: l.group_id.clone(),
                state: d.map_or_else(|| l.group_state.clone(), |d| d.group_state.clone()),
                coordinator: id,
                members: d.map_or(0, |d| d.members.len()),
                ..Default::default()
            };
            if g.state.is_empty() {
                g.state = "?".into();
            }
            let req = OffsetFetchRequest { group_id: l.group_id.clone(), topics: None, ..Default::default() };
            match client.offset_fetch(id, &req, timeout).await {
                Ok(r) if r.error_code == error::NONE => {
                    let mut offsets = BTreeMap::new();
                    for t in r.topics {
                        for p in t.partitions {
                            if p.error_code == error::NONE && p.committed_offset >= 0 {
                                offsets.insert(TopicPartition::new(t.name.clone(), p.partition_index), p.committed_offset);
                            }
                        }
                    }
                    g.partitions = offsets.len();
                    committed.push((groups.len(), offsets));
                }
                Ok(r) => s.notes.push(format!("offsets of group {}: {}", l.group_id, error_name(r.error_code))),
                Err(e) => s.notes.push(format!("offsets of group {}: {e}", l.group_id)),
            }
            groups.push(g);
        }
    }
    // End offsets of every committed partition, one ListOffsets per leader.
    let mut by_leader: BTreeMap<i32, Vec<TopicPartition>> = BTreeMap::new();
    let all: BTreeSet<&TopicPartition> = committed.iter().flat_map(|(_, m)| m.keys()).collect();
    for tp in all {
        if let Some(l) = leaders.get(tp) {
            by_leader.entry(*l).or_default().push(tp.clone());
        }
    }
    let ends = client.latest_offsets(&by_leader).await;
    for (i, offsets) in committed {
        let g = &mut groups[i];
        let mut lag = None;
        for (tp, c) in offsets {
            match ends.get(&tp) {
                Some(Ok(end)) => *lag.get_or_insert(0i64) += (end - c).max(0),
                _ => g.lag_unknown_partitions += 1,
            }
        }
        g.total_lag = if g.partitions == 0 { Some(0) } else { lag };
    }
    groups.sort_by(|a, b| a.group.cmp(&b.group));
    if !groups_complete {
        s.notes.push("consumer groups of brokers that did not answer are missing".into());
    }
    s.groups = Some(groups);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Result<ClusterArgs, String> {
        let mut v = vec!["zkafka-cluster.sh".to_string()];
        v.extend(a.iter().map(|s| s.to_string()));
        validate(ClusterOptions::try_parse_from(v).map_err(|e| e.to_string())?)
    }

    #[test]
    fn arguments() {
        let a = args(&["--bootstrap-server", "h:1"]).unwrap();
        assert_eq!(a.mode, Mode::Bootstrap("h:1".into()));
        assert_eq!((a.watch, a.json, a.timeout), (None, false, Duration::from_secs(10)));
        let a = args(&["--zookeeper", "z:2/c", "--watch", "--json"]).unwrap();
        assert_eq!(a.mode, Mode::Zookeeper("z:2/c".into()));
        assert_eq!((a.watch, a.json), (Some(Duration::from_secs(2)), true));
        assert_eq!(args(&["--zookeeper", "z:2", "--watch", "0.5"]).unwrap().watch, Some(Duration::from_millis(500)));
        let both = "Exactly one of --bootstrap-server or --zookeeper must be specified";
        assert_eq!(args(&[]).unwrap_err(), both);
        assert_eq!(args(&["--zookeeper", "z:2", "--bootstrap-server", "h:1"]).unwrap_err(), both);
        assert!(args(&["--zookeeper", "z:2", "--watch", "0"]).unwrap_err().contains("--watch"));
        assert!(args(&["--zookeeper", "z:2", "--watch", "x"]).is_err());
        assert!(args(&["--zookeeper", "z:2", "--bogus"]).is_err());
        assert!(args(&["--bootstrap-server", ""]).is_err());
    }
}
