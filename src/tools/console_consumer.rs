//! `kafka-console-consumer`: prints the records of a topic (or one
//! partition) from the earliest, the latest or a given offset, formatted as
//! Kafka 2.8's DefaultMessageFormatter does, and `Processed a total of N
//! messages` on exit. Maps to Kafka's `kafka.tools.ConsoleConsumer`.
//! With `--group` it is a member of a consumer group (range assignor,
//! heartbeats, rejoining on rebalance, auto-commit every 5 s and on exit,
//! starting from the committed offsets) like the Java consumer it wraps.

use crate::client::KafkaClient;
use crate::protocol::error::{self, error_name};
use crate::protocol::messages::fetch::{FetchRequest, FetchRequestPartition, FetchRequestTopic, FetchResponse};
use crate::protocol::records::{batches, Record, TimestampType};
use clap::Parser;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

const FETCH_VERSION: i16 = 11;

#[derive(Parser, Debug)]
#[command(name = "kafka-console-consumer.sh", about = "Consume messages from Kafka and print them to standard output.", disable_version_flag = true)]
pub struct ConsumerOptions {
    /// REQUIRED: The server(s) to connect to.
    #[arg(long)]
    pub bootstrap_server: Option<String>,
    /// The topic id to consume on.
    #[arg(long)]
    pub topic: Option<String>,
    /// The partition to consume from. Consumption starts from the end of the partition unless '--offset' is specified.
    #[arg(long)]
    pub partition: Option<i32>,
    /// The offset id to consume from (a non-negative number), or 'earliest' or 'latest' (default).
    #[arg(long)]
    pub offset: Option<String>,
    /// If the consumer does not already have an established offset to consume from, start with the earliest message present in the log rather than the latest message.
    #[arg(long)]
    pub from_beginning: bool,
    /// The consumer group id of the consumer.
    #[arg(long)]
    pub group: Option<String>,
    /// The maximum number of messages to consume before exiting. If not set, consumption is continual.
    #[arg(long)]
    pub max_messages: Option<u64>,
    /// If specified, exit if no message is available for consumption for the specified interval.
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// The properties to initialize the message formatter: print.timestamp, print.key, print.value, print.partition, print.offset, print.headers, key.separator, line.separator, headers.separator, null.literal.
    #[arg(long)]
    pub property: Vec<String>,
    /// A mechanism to pass user-defined properties in the form key=value to the consumer (group.id, security.protocol, ssl.*, sasl.* are honoured).
    #[arg(long)]
    pub consumer_property: Vec<String>,
    /// Consumer config properties file (group.id, security.protocol, ssl.*, sasl.* are honoured). Note that [consumer-property] takes precedence over this config.
    #[arg(long = "consumer.config", value_name = "config file")]
    pub consumer_config: Option<String>,
    /// Set to read_committed in order to filter out transactional messages which are not committed.
    #[arg(long, default_value = "read_uncommitted")]
    pub isolation_level: String,
    /// If there is an error when processing a message, skip it instead of halt.
    #[arg(long)]
    pub skip_message_on_error: bool,
}

/// Kafka's DefaultMessageFormatter settings.
#[derive(Debug, Clone)]
pub struct Formatter {
    pub print_timestamp: bool,
    pub print_key: bool,
    pub print_value: bool,
    pub print_partition: bool,
    pub print_offset: bool,
    pub print_headers: bool,
    pub key_separator: String,
    pub line_separator: String,
    pub headers_separator: String,
    pub null_literal: String,
}

impl Default for Formatter {
    fn default() -> Self {
        Formatter {
            print_timestamp: false,
            print_key: false,
            print_value: true,
            print_partition: false,
            print_offset: false,
            print_headers: false,
            key_separator: "\t".into(),
            line_separator: "\n".into(),
            headers_separator: ",".into(),
            null_literal: "null".into(),
        }
    }
}

fn unescape(s: &str) -> String {
    s.replace("\\t", "\t").replace("\\n", "\n").replace("\\r", "\r")
}

impl Formatter {
    pub fn from_properties(props: &[String]) -> Result<Formatter, String> {
        let mut f = Formatter::default();
        for p in props {
            let (k, v) = p.split_once('=').ok_or_else(|| format!("Invalid property '{p}': expected key=value"))?;
            let b = v.trim().eq_ignore_ascii_case("true");
            match k.trim() {
                "print.timestamp" => f.print_timestamp = b,
                "print.key" => f.print_key = b,
                "print.value" => f.print_value = b,
                "print.partition" => f.print_partition = b,
                "print.offset" => f.print_offset = b,
                "print.headers" => f.print_headers = b,
                "key.separator" => f.key_separator = unescape(v),
                "line.separator" => f.line_separator = unescape(v),
                "headers.separator" => f.headers_separator = unescape(v),
                "null.literal" => f.null_literal = v.to_string(),
                _ => {}
            }
        }
        Ok(f)
    }

    /// Writes one record the way Kafka's formatter does.
    pub fn write(&self, out: &mut Vec<u8>, partition: i32, ts_type: TimestampType, r: &Record) {
        let sep = self.key_separator.as_bytes();
        if self.print_timestamp {
            if r.timestamp >= 0 {
                out.extend_from_slice(format!("{}:{}", ts_type.name(), r.timestamp).as_bytes());
            } else {
                out.extend_from_slice(b"NO_TIMESTAMP");
            }
            out.extend_from_slice(sep);
        }
        if self.print_partition {
            out.extend_from_slice(format!("Partition:{partition}").as_bytes());
            out.extend_from_slice(sep);
        }
        if self.print_offset {
            out.extend_from_slice(format!("Offset:{}", r.offset).as_bytes());
            out.extend_from_slice(sep);
        }
        if self.print_headers {
            if r.headers.is_empty() {
                out.extend_from_slice(b"NO_HEADERS");
            } else {
                for (i, h) in r.headers.iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(self.headers_separator.as_bytes());
                    }
                    out.extend_from_slice(h.key.as_bytes());
                    out.push(b':');
                    match &h.value {
                        Some(v) => out.extend_from_slice(v),
                        None => out.extend_from_slice(self.null_literal.as_bytes()),
                    }
                }
            }
            out.extend_from_slice(sep);
        }
        if self.print_key {
            match &r.key {
                Some(k) => out.extend_from_slice(k),
                None => out.extend_from_slice(self.null_literal.as_bytes()),
            }
            out.extend_from_slice(sep);
        }
        if self.print_value {
            match &r.value {
                Some(v) => out.extend_from_slice(v),
                None => out.extend_from_slice(self.null_literal.as_bytes()),
            }
            out.extend_from_slice(self.line_separator.as_bytes());
        }
    }
}

pub fn main(args: Vec<String>) -> i32 {
    let opts: ConsumerOptions = match super::parse_args(&args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let Some(servers) = opts.bootstrap_server.clone() else {
        eprintln!("Missing required argument \"[bootstrap-server]\"");
        return 1;
    };
    let Some(topic) = opts.topic.clone() else {
        eprintln!("Exactly one of whitelist/topic is required.");
        return 1;
    };
    // The client properties: the file's, then --consumer-property's.
    let mut client_props = crate::client::client_config::ClientProperties::new();
    if let Some(f) = &opts.consumer_config {
        if let Err(e) = client_props.load_file(f) {
            eprintln!("{e}");
            return 1;
        }
    }
    for p in &opts.consumer_property {
        if let Err(e) = client_props.add_assignment(p) {
            eprintln!("{e}");
            return 1;
        }
    }
    let security = match client_props.channel_security() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ERROR {e}");
            return 1;
        }
    };
    // group.id from the properties, as Kafka's ConsoleConsumer; --group and
    // a different group.id together are refused.
    let mut opts = opts;
    if let Some(g) = client_props.get("group.id").map(str::trim).filter(|g| !g.is_empty()) {
        match &opts.group {
            Some(og) if og != g => {
                eprintln!("Group id specified in both --group ({og}) and the consumer properties (group.id={g}); they must be the same.");
                return 1;
            }
            _ => opts.group = Some(g.to_string()),
        }
    }
    if opts.group.is_some() && opts.partition.is_some() {
        eprintln!("Options group and partition cannot be specified together.");
        return 1;
    }
    if opts.offset.is_some() && opts.partition.is_none() {
        eprintln!("The partition is required when offset is specified.");
        return 1;
    }
    if opts.offset.is_some() && opts.from_beginning {
        eprintln!("Options from-beginning and offset cannot be specified together.");
        return 1;
    }
    let start = match opts.offset.as_deref() {
        None if opts.from_beginning => Start::Earliest,
        None => Start::Latest,
        Some("earliest") => Start::Earliest,
        Some("latest") => Start::Latest,
        Some(n) => match n.parse::<i64>() {
            Ok(o) if o >= 0 => Start::Offset(o),
            _ => {
                eprintln!("The provided offset value '{n}' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long.");
                return 1;
            }
        },
    };
    let formatter = match Formatter::from_properties(&opts.property) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let isolation: i8 = if opts.isolation_level == "read_committed" { 1 } else { 0 };
    let rt = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let mut count = 0u64;
    let result = rt.block_on(async {
        let mut member = opts.group.as_deref().map(|g| GroupMember::new(&servers, g, &topic, security.clone()));
        let mut positions: BTreeMap<i32, i64> = BTreeMap::new();
        let r = tokio::select! {
            r = consume(&servers, &security, &topic, opts.partition, start, &formatter, opts.max_messages, opts.timeout_ms, isolation, &mut count, member.as_mut(), &mut positions) => r,
            _ = tokio::signal::ctrl_c() => Ok(()),
        };
        if let Some(m) = member.as_mut() {
            m.close(topic.as_str(), &positions).await;
        }
        r
    });
    let _ = std::io::stdout().flush();
    eprintln!("Processed a total of {count} messages");
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("ERROR {e}");
            1
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Start {
    Earliest,
    Latest,
    Offset(i64),
}

#[allow(clippy::too_many_arguments)]
async fn consume(
    servers: &str,
    security: &crate::client::ChannelSecurity,
    topic: &str,
    only_partition: Option<i32>,
    start: Start,
    formatter: &Formatter,
    max_messages: Option<u64>,
    timeout_ms: Option<u64>,
    isolation: i8,
    count: &mut u64,
    mut member: Option<&mut GroupMember>,
    positions: &mut BTreeMap<i32, i64>,
) -> Result<(), String> {
    let mut client = KafkaClient::new(servers, "console-consumer", Duration::from_secs(10)).with_security(security.clone());
    let mut leaders: BTreeMap<i32, i32> = BTreeMap::new();
    refresh_leaders(&mut client, topic, only_partition, &mut leaders).await?;
    match member.as_deref_mut() {
        None => {
            for (&p, &leader) in &leaders {
                let offset = match start {
                    Start::Offset(o) => o,
                    Start::Earliest => client.list_offset(leader, topic, p, -2, isolation).await?,
                    Start::Latest => client.list_offset(leader, topic, p, -1, isolation).await?,
                };
                positions.insert(p, offset);
            }
        }
        Some(m) => {
            let assigned = m.join(topic).await?;
            m.init_positions(&mut client, topic, &assigned, &leaders, start, isolation, positions).await?;
        }
    }
    let mut last_message = Instant::now();
    let stdout = std::io::stdout();
    loop {
        if let Some(m) = member.as_deref_mut() {
            if let Some(assigned) = m.poll(topic, positions).await? {
                refresh_leaders(&mut client, topic, None, &mut leaders).await?;
                m.init_positions(&mut client, topic, &assigned, &leaders, start, isolation, positions).await?;
            }
        }
        let mut by_leader: BTreeMap<i32, Vec<FetchRequestPartition>> = BTreeMap::new();
        for (&p, &offset) in positions.iter() {
            let leader = leaders.get(&p).copied().unwrap_or(-1);
            by_leader.entry(leader).or_default().push(FetchRequestPartition {
                partition: p,
                current_leader_epoch: -1,
                fetch_offset: offset,
                last_fetched_epoch: -1,
                log_start_offset: -1,
                partition_max_bytes: 1024 * 1024,
                ..Default::default()
            });
        }
        let mut need_refresh = by_leader.contains_key(&-1);
        for (leader, parts) in by_leader {
            if leader < 0 {
                continue;
            }
            let req = FetchRequest {
                replica_id: -1,
                max_wait_ms: 500,
                min_bytes: 1,
                max_bytes: 50 * 1024 * 1024,
                isolation_level: isolation,
                session_id: 0,
                session_epoch: -1,
                topics: vec![FetchRequestTopic { topic: topic.to_string(), partitions: parts, ..Default::default() }],
                ..Default::default()
            };
            let resp: FetchResponse = match client.connection(leader).await {
                Ok(conn) => match conn.send_timeout(FETCH_VERSION, &req, Duration::from_secs(30)).await {
                    Ok(r) => r,
                    Err(e) => {
                        log::warn!("fetch from broker {leader} failed: {e}");
                        client.drop_connection(leader);
                        need_refresh = true;
                        continue;
                    }
                },
                Err(e) => {
                    log::warn!("cannot connect to broker {leader}: {e}");
                    need_refresh = true;
                    continue;
                }
            };
            for t in resp.responses {
                for pr in t.partition_responses {
                    match pr.error_code {
                        error::NONE => {}
                        error::NOT_LEADER_OR_FOLLOWER | error::UNKNOWN_TOPIC_OR_PARTITION | error::LEADER_NOT_AVAILABLE
                        | error::FENCED_LEADER_EPOCH | error::UNKNOWN_LEADER_EPOCH => {
                            need_refresh = true;
                            continue;
                        }
                        error::OFFSET_OUT_OF_RANGE => {
                            // Like auto.offset.reset=latest for a position that fell off.
                            let l = leaders.get(&pr.partition).copied().unwrap_or(-1);
                            let o = client.list_offset(l, topic, pr.partition, -1, isolation).await?;
                            positions.insert(pr.partition, o);
                            continue;
                        }
                        code => return Err(format!("fetch of {topic}-{} failed: {}", pr.partition, error_name(code))),
                    }
                    let Some(records) = pr.records else { continue };
                    let Some(pos) = positions.get_mut(&pr.partition) else { continue };
                    let mut out = Vec::new();
                    for batch in batches(records) {
                        let batch = batch.map_err(|e| format!("corrupt batch from {topic}-{}: {e}", pr.partition))?;
                        if batch.last_offset() < *pos {
                            continue;
                        }
                        let ts_type = batch.timestamp_type();
                        let is_control = batch.is_control();
                        let recs = batch.records().map_err(|e| format!("cannot decode records of {topic}-{}: {e}", pr.partition))?;
                        for r in recs {
                            if r.offset < *pos {
                                continue;
                            }
                            *pos = r.offset + 1;
                            if is_control {
                                continue;
                            }
                            formatter.write(&mut out, pr.partition, ts_type, &r);
                            *count += 1;
                            last_message = Instant::now();
                            if max_messages.is_some_and(|m| *count >= m) {
                                let mut lock = stdout.lock();
                                let _ = lock.write_all(&out);
                                return Ok(());
                            }
                        }
                        *pos = (*pos).max(batch.next_offset());
                    }
                    let mut lock = stdout.lock();
                    lock.write_all(&out).map_err(|e| e.to_string())?;
                    let _ = lock.flush();
                }
            }
        }
        if let Some(t) = timeout_ms {
            if last_message.elapsed() >= Duration::from_millis(t) {
                // Kafka logs a TimeoutException here and exits normally.
                log::info!("no message for {t} ms, terminating consumer process");
                return Ok(());
            }
        }
        if need_refresh {
            tokio::time::sleep(Duration::from_millis(200)).await;
            refresh_leaders(&mut client, topic, only_partition, &mut leaders).await?;
        }
    }
}

async fn refresh_leaders(
    client: &mut KafkaClient,
    topic: &str,
    only_partition: Option<i32>,
    leaders: &mut BTreeMap<i32, i32>,
) -> Result<(), String> {
    for _ in 0..100 {
        let md = client.metadata(Some(&[topic.to_string()]), false).await.map_err(|e| e.to_string())?;
        let Some(t) = md.topics.iter().find(|t| t.name == topic) else { continue };
        if t.error_code == error::UNKNOWN_TOPIC_OR_PARTITION || t.error_code == error::LEADER_NOT_AVAILABLE {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        if t.error_code != error::NONE {
            return Err(format!("topic {topic}: {}", error_name(t.error_code)));
        }
        leaders.clear();
        for p in &t.partitions {
            if only_partition.is_none_or(|only| only == p.partition_index) {
                leaders.insert(p.partition_index, p.leader_id);
            }
        }
        if let Some(only) = only_partition {
            if !leaders.contains_key(&only) {
                return Err(format!("partition {only} of topic {topic} does not exist"));
            }
        }
        return Ok(());
    }
    Err(format!("topic {topic} not present in metadata"))
}

/// The console consumer as a member of a consumer group: FindCoordinator,
/// JoinGroup (answering MEMBER_ID_REQUIRED), the range assignor when it leads,
/// SyncGroup, heartbeats every 3 s, auto-commit every 5 s, commit and
/// LeaveGroup on close. Maps to the parts of Kafka's `ConsumerCoordinator`
/// the console consumer relies on.
pub struct GroupMember {
    client: KafkaClient,
    group: String,
    client_id: String,
    member_id: String,
    generation: i32,
    coordinator: Option<i32>,
    assigned: Vec<i32>,
    last_heartbeat: Instant,
    last_commit: Instant,
    committed: BTreeMap<i32, i64>,
}

const SESSION_TIMEOUT_MS: i32 = 10_000;
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(3);
const AUTO_COMMIT_INTERVAL: Duration = Duration::from_secs(5);

impl GroupMember {
    pub fn new(servers: &str, group: &str, _topic: &str, security: crate::client::ChannelSecurity) -> GroupMember {
        let client_id = format!("consumer-{group}-1");
        GroupMember {
            client: KafkaClient::new(servers, &client_id, Duration::from_secs(10)).with_security(security),
            group: group.to_string(),
            client_id,
            member_id: String::new(),
            generation: -1,
            coordinator: None,
            assigned: Vec::new(),
            last_heartbeat: Instant::now(),
            last_commit: Instant::now(),
            committed: BTreeMap::new(),
        }
    }

    async fn coordinator(&mut self) -> Result<i32, String> {
        if let Some(c) = self.coordinator {
            return Ok(c);
        }
        let c = self.client.find_coordinator(&self.group, Duration::from_secs(60)).await?;
        self.coordinator = Some(c);
        Ok(c)
    }

    fn coordinator_lost(&mut self) {
        if let Some(c) = self.coordinator.take() {
            self.client.drop_connection(c);
        }
    }

    /// Joins (or rejoins) the group and returns this member's partitions of `topic`.
    pub async fn join(&mut self, topic: &str) -> Result<Vec<i32>, String> {
        use crate::protocol::messages::join_group::{JoinGroupRequest, JoinGroupRequestProtocol};
        use crate::protocol::messages::sync_group::{SyncGroupRequest, SyncGroupRequestAssignment};
        use crate::client::group::{decode_assignment, decode_subscription, encode_assignment, encode_subscription};
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            if Instant::now() >= deadline {
                return Err(format!("cannot join group {}", self.group));
            }
            let coordinator = self.coordinator().await?;
            let req = JoinGroupRequest {
                group_id: self.group.clone(),
                session_timeout_ms: SESSION_TIMEOUT_MS,
                rebalance_timeout_ms: 300_000,
                member_id: self.member_id.clone(),
                protocol_type: "consumer".into(),
                protocols: vec![JoinGroupRequestProtocol { name: "range".into(), metadata: encode_subscription(&[topic.to_string()]) }],
                ..Default::default()
            };
            let resp = self.client.join_group(coordinator, &req, Duration::from_secs(330)).await;
            let resp = match resp {
                Ok(r) => r,
                Err(e) => {
                    log::warn!("JoinGroup failed: {e}");
                    self.coordinator_lost();
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            match resp.error_code {
                error::NONE => {}
                error::MEMBER_ID_REQUIRED => {
                    self.member_id = resp.member_id;
                    continue;
                }
                error::UNKNOWN_MEMBER_ID | error::ILLEGAL_GENERATION => {
                    self.member_id.clear();
                    continue;
                }
                error::NOT_COORDINATOR | error::COORDINATOR_NOT_AVAILABLE | error::COORDINATOR_LOAD_IN_PROGRESS => {
                    self.coordinator_lost();
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                error::REBALANCE_IN_PROGRESS => continue,
                code => return Err(format!("JoinGroup of group {}: {}", self.group, error_name(code))),
            }
            self.member_id = resp.member_id.clone();
            self.generation = resp.generation_id;
            let mut assignments = Vec::new();
            if resp.leader == resp.member_id {
                // The range assignor over every member's subscription.
                let mut topics: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for m in &resp.members {
                    for t in decode_subscription(&m.metadata) {
                        topics.entry(t).or_default().push(m.member_id.clone());
                    }
                }
                let names: Vec<String> = topics.keys().cloned().collect();
                let md = self.client.metadata(Some(&names), false).await.map_err(|e| e.to_string())?;
                let mut per_member: BTreeMap<String, Vec<crate::common::TopicPartition>> =
                    resp.members.iter().map(|m| (m.member_id.clone(), Vec::new())).collect();
                for (t, mut subscribers) in topics {
                    let n = md.topics.iter().find(|x| x.name == t).map_or(0, |x| x.partitions.len()) as i32;
                    subscribers.sort();
                    let k = subscribers.len() as i32;
                    let (each, extra) = (n / k, n % k);
                    for (i, m) in subscribers.iter().enumerate() {
                        let i = i as i32;
                        let start = each * i + i.min(extra);
                        let len = each + if i < extra { 1 } else { 0 };
                        let list = per_member.entry(m.clone()).or_default();
                        for p in start..start + len {
                            list.push(crate::common::TopicPartition::new(t.clone(), p));
                        }
                    }
                }
                assignments = per_member
                    .into_iter()
                    .map(|(member_id, tps)| SyncGroupRequestAssignment { member_id, assignment: encode_assignment(&tps) })
                    .collect();
            }
            let req = SyncGroupRequest {
                group_id: self.group.clone(),
                generation_id: self.generation,
                member_id: self.member_id.clone(),
                assignments,
                ..Default::default()
            };
            let resp = self.client.sync_group(coordinator, &req, Duration::from_secs(330)).await;
            match resp {
                Ok(r) if r.error_code == error::NONE => {
                    let mut parts: Vec<i32> =
                        decode_assignment(&r.assignment).into_iter().filter(|tp| tp.topic == topic).map(|tp| tp.partition).collect();
                    parts.sort();
                    self.assigned = parts.clone();
                    self.last_heartbeat = Instant::now();
                    self.last_commit = Instant::now();
                    return Ok(parts);
                }
                Ok(r) => {
                    if r.error_code == error::UNKNOWN_MEMBER_ID {
                        self.member_id.clear();
                    }
                    if matches!(r.error_code, error::NOT_COORDINATOR | error::COORDINATOR_NOT_AVAILABLE) {
                        self.coordinator_lost();
                    }
                }
                Err(e) => {
                    log::warn!("SyncGroup failed: {e}");
                    self.coordinator_lost();
                }
            }
        }
    }

    /// Positions of newly assigned partitions: the committed offset, else
    /// earliest/latest as `--from-beginning` says (auto.offset.reset).
    #[allow(clippy::too_many_arguments)]
    async fn init_positions(
        &mut self,
        client: &mut KafkaClient,
        topic: &str,
        assigned: &[i32],
        leaders: &BTreeMap<i32, i32>,
        start: Start,
        isolation: i8,
        positions: &mut BTreeMap<i32, i64>,
    ) -> Result<(), String> {
        use crate::protocol::messages::offset_fetch::{OffsetFetchRequest, OffsetFetchRequestTopic};
        positions.clear();
        let coordinator = self.coordinator().await?;
        let req = OffsetFetchRequest {
            group_id: self.group.clone(),
            topics: Some(vec![OffsetFetchRequestTopic { name: topic.to_string(), partition_indexes: assigned.to_vec() }]),
            ..Default::default()
        };
        let resp = self.client.offset_fetch(coordinator, &req, Duration::from_secs(30)).await?;
        if resp.error_code != error::NONE {
            return Err(format!("OffsetFetch of group {}: {}", self.group, error_name(resp.error_code)));
        }
        let committed: BTreeMap<i32, i64> =
            resp.topics.iter().flat_map(|t| t.partitions.iter()).filter(|p| p.committed_offset >= 0).map(|p| (p.partition_index, p.committed_offset)).collect();
        for &p in assigned {
            let offset = match committed.get(&p) {
                Some(o) => *o,
                None => {
                    let leader = leaders.get(&p).copied().unwrap_or(-1);
                    let ts = if matches!(start, Start::Earliest) { -2 } else { -1 };
                    client.list_offset(leader, topic, p, ts, isolation).await?
                }
            };
            positions.insert(p, offset);
        }
        self.committed = committed;
        Ok(())
    }

    /// Heartbeats and auto-commits when due. Returns the new assignment
    /// after a rebalance.
    pub async fn poll(&mut self, topic: &str, positions: &BTreeMap<i32, i64>) -> Result<Option<Vec<i32>>, String> {
        use crate::protocol::messages::heartbeat::HeartbeatRequest;
        if self.last_commit.elapsed() >= AUTO_COMMIT_INTERVAL {
            self.commit(topic, positions).await;
            self.last_commit = Instant::now();
        }
        if self.last_heartbeat.elapsed() < HEARTBEAT_INTERVAL {
            return Ok(None);
        }
        self.last_heartbeat = Instant::now();
        let coordinator = self.coordinator().await?;
        let req = HeartbeatRequest { group_id: self.group.clone(), generation_id: self.generation, member_id: self.member_id.clone(), ..Default::default() };
        let code = match self.client.heartbeat(coordinator, &req, Duration::from_secs(10)).await {
            Ok(r) => r.error_code,
            Err(_) => error::NOT_COORDINATOR,
        };
        match code {
            error::NONE => Ok(None),
            error::NOT_COORDINATOR | error::COORDINATOR_NOT_AVAILABLE => {
                self.coordinator_lost();
                Ok(None)
            }
            error::REBALANCE_IN_PROGRESS => {
                // Commit what was consumed, then rejoin (onPartitionsRevoked + auto-commit).
                self.commit(topic, positions).await;
                Ok(Some(self.join(topic).await?))
            }
            _ => {
                self.member_id.clear();
                Ok(Some(self.join(topic).await?))
            }
        }
    }

    /// Commits the positions that moved since the last commit (errors are logged).
    async fn commit(&mut self, topic: &str, positions: &BTreeMap<i32, i64>) {
        use crate::protocol::messages::offset_commit::{
            OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic,
        };
        let changed: Vec<(i32, i64)> =
            positions.iter().filter(|(p, o)| self.committed.get(p) != Some(o)).map(|(p, o)| (*p, *o)).collect();
        if changed.is_empty() || self.generation < 0 {
            return;
        }
        let Ok(coordinator) = self.coordinator().await else { return };
        let req = OffsetCommitRequest {
            group_id: self.group.clone(),
            generation_id: self.generation,
            member_id: self.member_id.clone(),
            topics: vec![OffsetCommitRequestTopic {
                name: topic.to_string(),
                partitions: changed
                    .iter()
                    .map(|(p, o)| OffsetCommitRequestPartition { partition_index: *p, committed_offset: *o, ..Default::default() })
                    .collect(),
            }],
            ..Default::default()
        };
        let resp = self.client.offset_commit(coordinator, &req, Duration::from_secs(10)).await;
        match resp {
            Ok(r) => {
                for t in r.topics {
                    for (p, code) in t.partitions {
                        if code == error::NONE {
                            if let Some((_, o)) = changed.iter().find(|(cp, _)| *cp == p) {
                                self.committed.insert(p, *o);
                            }
                        } else {
                            log::warn!("offset commit of {topic}-{p} failed: {}", error_name(code));
                        }
                    }
                }
            }
            Err(e) => log::warn!("offset commit failed: {e}"),
        }
    }

    /// Commits the final positions and leaves the group.
    pub async fn close(&mut self, topic: &str, positions: &BTreeMap<i32, i64>) {
        use crate::protocol::messages::leave_group::{LeaveGroupRequest, MemberIdentity};
        if self.member_id.is_empty() {
            return;
        }
        self.commit(topic, positions).await;
        let Ok(coordinator) = self.coordinator().await else { return };
        let req = LeaveGroupRequest {
            group_id: self.group.clone(),
            members: vec![MemberIdentity { member_id: self.member_id.clone(), group_instance_id: None }],
            ..Default::default()
        };
        let _ = self.client.leave_group(coordinator, &req, Duration::from_secs(5)).await;
        let _ = &self.client_id;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn formats_like_kafka() {
        let f = Formatter::from_properties(&[
            "print.timestamp=true".into(),
            "print.key=true".into(),
            "print.partition=true".into(),
            "print.offset=true".into(),
            "print.headers=true".into(),
        ])
        .unwrap();
        let r = Record {
            offset: 7,
            offset_delta: 0,
            timestamp: 1000,
            attributes: 0,
            key: Some(Bytes::from_static(b"k")),
            value: Some(Bytes::from_static(b"v")),
            headers: vec![],
        };
        let mut out = Vec::new();
        f.write(&mut out, 3, TimestampType::CreateTime, &r);
        assert_eq!(String::from_utf8(out).unwrap(), "CreateTime:1000\tPartition:3\tOffset:7\tNO_HEADERS\tk\tv\n");
        let mut out = Vec::new();
        Formatter::default().write(&mut out, 0, TimestampType::CreateTime, &Record { key: None, value: None, ..r });
        assert_eq!(String::from_utf8(out).unwrap(), "null\n");
    }
}
