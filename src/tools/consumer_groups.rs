//! `kafka-consumer-groups`: lists, describes (offsets, members, state),
//! deletes consumer groups, resets their offsets and deletes offsets, printing
//! as Kafka 2.8 does. Maps to Kafka's `kafka.admin.ConsumerGroupCommand`.

use crate::client::group::decode_assignment;
use crate::client::KafkaClient;
use crate::common::TopicPartition;
use crate::protocol::error::{self, error_name};
use crate::protocol::messages::delete_groups::DeleteGroupsRequest;
use crate::protocol::messages::describe_groups::{DescribeGroupsRequest, DescribedGroup};
use crate::protocol::messages::offset_commit::{
    OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use crate::protocol::messages::offset_delete::{OffsetDeleteRequest, OffsetDeleteRequestTopic};
use crate::protocol::messages::offset_fetch::OffsetFetchRequest;
use clap::Parser;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const MISSING: &str = "-";

// ---------------------------------------------------------------- options

#[derive(Parser, Debug)]
#[command(name = "kafka-consumer-groups.sh", about = "List all consumer groups, describe a consumer group, delete consumer group info, or reset consumer group offsets.", disable_version_flag = true)]
pub struct Options {
    /// REQUIRED: The server(s) to connect to.
    #[arg(long)]
    bootstrap_server: Option<String>,
    /// Property file containing configs to be passed to Admin Client (accepted, ignored).
    #[arg(long)]
    command_config: Option<String>,
    /// The timeout that some operations can use (ms).
    #[arg(long, default_value_t = 5000)]
    timeout: u64,
    /// List all consumer groups.
    #[arg(long)]
    list: bool,
    /// Describe consumer group and list offset lag related to given group.
    #[arg(long)]
    describe: bool,
    /// Pass in groups to delete topic partition offsets and ownership information.
    #[arg(long)]
    delete: bool,
    /// Reset offsets of consumer group.
    #[arg(long)]
    reset_offsets: bool,
    /// Delete offsets of consumer group.
    #[arg(long)]
    delete_offsets: bool,
    /// The consumer group we wish to act on.
    #[arg(long)]
    group: Vec<String>,
    /// Apply to all consumer groups.
    #[arg(long)]
    all_groups: bool,
    /// The topic whose consumer group information should be deleted or reset (`t` or `t:0,1`).
    #[arg(long)]
    topic: Vec<String>,
    /// Consider all topics assigned to a group in the `reset-offsets` process.
    #[arg(long)]
    all_topics: bool,
    /// Describe members of the group.
    #[arg(long)]
    members: bool,
    /// Describe the group and list all topic partitions in the group along with their offset lag (default).
    #[arg(long)]
    offsets: bool,
    /// When specified with '--describe', includes the state of the group; with '--list', filters by state.
    #[arg(long, num_args = 0..=1, default_missing_value = "")]
    state: Option<String>,
    /// Provide additional information, if any, when describing the group.
    #[arg(long)]
    verbose: bool,
    /// Only show results without executing changes on Consumer Groups (default).
    #[arg(long)]
    dry_run: bool,
    /// Execute operation.
    #[arg(long)]
    execute: bool,
    /// Export operation execution to a CSV file.
    #[arg(long)]
    export: bool,
    /// Reset offsets to a specific offset.
    #[arg(long)]
    to_offset: Option<i64>,
    /// Reset offsets shifting current offset by 'n', where 'n' can be positive or negative.
    #[arg(long, allow_hyphen_values = true)]
    shift_by: Option<i64>,
    /// Reset offsets to offset from datetime. Format: 'YYYY-MM-DDTHH:mm:SS.sss'
    #[arg(long)]
    to_datetime: Option<String>,
    /// Reset offsets to offset by duration from current timestamp. Format: 'PnDTnHnMnS'
    #[arg(long)]
    by_duration: Option<String>,
    /// Reset offsets to earliest offset.
    #[arg(long)]
    to_earliest: bool,
    /// Reset offsets to latest offset.
    #[arg(long)]
    to_latest: bool,
    /// Reset offsets to current offset.
    #[arg(long)]
    to_current: bool,
    /// Reset offsets to values defined in CSV file.
    #[arg(long)]
    from_file: Option<String>,
}

pub fn main(args: Vec<String>) -> i32 {
    let opts: Options = match super::parse_args(&args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let actions = [opts.list, opts.describe, opts.delete, opts.reset_offsets, opts.delete_offsets].iter().filter(|a| **a).count();
    if actions != 1 {
        eprintln!("Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets");
        return 1;
    }
    let Some(servers) = opts.bootstrap_server.clone() else {
        eprintln!("Missing required argument \"[bootstrap-server]\"");
        return 1;
    };
    let rt = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let timeout = Duration::from_millis(opts.timeout.max(1000));
    let mut client = match KafkaClient::with_config_file(&servers, "adminclient-1", timeout, opts.command_config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let r = rt.block_on(async {
        let mut cmd = Command { client: &mut client, opts: &opts, timeout };
        if opts.list {
            cmd.list().await
        } else if opts.describe {
            cmd.describe().await
        } else if opts.delete {
            cmd.delete().await
        } else if opts.reset_offsets {
            cmd.reset_offsets().await
        } else {
            cmd.delete_offsets().await
        }
    });
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: Executing consumer group command failed due to {e}");
            1
        }
    }
}

struct Command<'a> {
    client: &'a mut KafkaClient,
    opts: &'a Options,
    timeout: Duration,
}

/// One row of `--describe` (Kafka's PartitionAssignmentState).
struct Row {
    topic: Option<String>,
    partition: Option<i32>,
    offset: Option<i64>,
    log_end: Option<i64>,
    consumer_id: Option<String>,
    host: Option<String>,
    client_id: Option<String>,
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| MISSING.to_string(), |x| x.to_string())
}

fn pad(s: &str, w: usize) -> String {
    format!("{s:<w$}")
}

fn print_error(msg: &str) {
    eprintln!("\nError: {msg}");
}

impl Command<'_> {
    async fn all_group_listings(&mut self) -> Result<Vec<(String, String, String)>, String> {
        let md = self.client.metadata(Some(&[]), false).await.map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for b in &md.brokers {
            let resp = self.client.list_groups(b.node_id, self.timeout).await?;
            if resp.error_code != error::NONE {
                return Err(format!("ListGroups on broker {}: {}", b.node_id, error_name(resp.error_code)));
            }
            for g in resp.groups {
                if g.protocol_type == "consumer" || g.protocol_type.is_empty() {
                    out.push((g.group_id, g.protocol_type, g.group_state));
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    async fn groups(&mut self) -> Result<Vec<String>, String> {
        if self.opts.all_groups {
            return Ok(self.all_group_listings().await?.into_iter().map(|(g, _, _)| g).collect());
        }
        if self.opts.group.is_empty() {
            return Err("Option [--group] or [--all-groups] is required".into());
        }
        Ok(self.opts.group.clone())
    }

    async fn list(&mut self) -> Result<i32, String> {
        let listings = self.all_group_listings().await?;
        match &self.opts.state {
            None => {
                for (g, _, _) in listings {
                    println!("{g}");
                }
            }
            Some(filter) => {
                let wanted: Vec<String> = filter.split(',').map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()).collect();
                let rows: Vec<(String, String)> = listings
                    .into_iter()
                    .filter(|(_, _, s)| wanted.is_empty() || wanted.contains(&s.to_lowercase()))
                    .map(|(g, _, s)| (g, s))
                    .collect();
                let w = rows.iter().map(|(g, _)| g.len()).max().unwrap_or(0).max(15);
                println!("{} STATE", pad("GROUP", w));
                for (g, s) in rows {
                    println!("{} {s}", pad(&g, w));
                }
            }
        }
        Ok(0)
    }

    async fn describe_group(&mut self, group: &str) -> Result<(i32, DescribedGroup), String> {
        let coordinator = self.client.find_coordinator(group, self.timeout).await?;
        let req = DescribeGroupsRequest { groups: vec![group.to_string()], ..Default::default() };
        let resp = self.client.describe_groups(coordinator, &req, self.timeout).await?;
        let g = resp.groups.into_iter().next().ok_or("empty DescribeGroups response")?;
        if g.error_code != error::NONE {
            return Err(format!("DescribeGroups of {group}: {}", error_name(g.error_code)));
        }
        Ok((coordinator, g))
    }

    async fn committed_offsets(&mut self, coordinator: i32, group: &str) -> Result<BTreeMap<TopicPartition, i64>, String> {
        let req = OffsetFetchRequest { group_id: group.to_string(), topics: None, ..Default::default() };
        let resp = self.client.offset_fetch(coordinator, &req, self.timeout).await?;
        if resp.error_code != error::NONE {
            return Err(format!("OffsetFetch of {group}: {}", error_name(resp.error_code)));
        }
        let mut out = BTreeMap::new();
        for t in resp.topics {
            for p in t.partitions {
                if p.committed_offset >= 0 {
                    out.insert(TopicPartition::new(t.name.clone(), p.partition_index), p.committed_offset);
                }
            }
        }
        Ok(out)
    }

    /// Partition leaders of `topics`.
    async fn leaders(&mut self, topics: &BTreeSet<String>) -> Result<BTreeMap<TopicPartition, i32>, String> {
        let names: Vec<String> = topics.iter().cloned().collect();
        let md = self.client.metadata(Some(&names), false).await.map_err(|e| e.to_string())?;
        let mut out = BTreeMap::new();
        for t in md.topics {
            for p in t.partitions {
                out.insert(TopicPartition::new(t.name.clone(), p.partition_index), p.leader_id);
            }
        }
        Ok(out)
    }

    async fn offsets_at(&mut self, tps: &[TopicPartition], timestamp: i64) -> Result<BTreeMap<TopicPartition, i64>, String> {
        let topics: BTreeSet<String> = tps.iter().map(|tp| tp.topic.clone()).collect();
        let leaders = self.leaders(&topics).await?;
        let mut out = BTreeMap::new();
        for tp in tps {
            let Some(leader) = leaders.get(tp) else { continue };
            let o = self.client.list_offset(*leader, &tp.topic, tp.partition, timestamp, 0).await?;
            out.insert(tp.clone(), o);
        }
        Ok(out)
    }

    /// Prints Kafka's warning for non-Stable groups; false if nothing to print.
    fn should_print(group: &str, state: &str, rows: usize) -> bool {
        match state {
            "Dead" => print_error(&format!("Consumer group '{group}' does not exist.")),
            "Empty" => eprintln!("\nConsumer group '{group}' has no active members."),
            "PreparingRebalance" | "CompletingRebalance" => eprintln!("\nWarning: Consumer group '{group}' is rebalancing."),
            _ => {}
        }
        state != "Dead" && rows > 0
    }

    async fn describe(&mut self) -> Result<i32, String> {
        for group in self.groups().await? {
            let (coordinator, g) = self.describe_group(&group).await?;
            if self.opts.members {
                self.print_members(&group, &g);
            } else if self.opts.state.is_some() {
                self.print_state(&group, coordinator, &g).await?;
            } else {
                self.print_offsets(&group, coordinator, &g).await?;
            }
        }
        Ok(0)
    }

    async fn print_offsets(&mut self, group: &str, coordinator: i32, g: &DescribedGroup) -> Result<(), String> {
        let committed = self.committed_offsets(coordinator, group).await?;
        let mut members: Vec<(&crate::protocol::messages::describe_groups::DescribedGroupMember, Vec<TopicPartition>)> =
            g.members.iter().map(|m| (m, decode_assignment(&m.member_assignment))).collect();
        members.sort_by(|a, b| b.1.len().cmp(&a.1.len()));
        let mut assigned: BTreeSet<TopicPartition> = BTreeSet::new();
        let mut all_tps: Vec<TopicPartition> = Vec::new();
        for (_, tps) in &members {
            for tp in tps {
                assigned.insert(tp.clone());
                all_tps.push(tp.clone());
            }
        }
        for tp in committed.keys() {
            if !assigned.contains(tp) {
                all_tps.push(tp.clone());
            }
        }
        let ends = self.offsets_at(&all_tps, -1).await?;
        let mut rows = Vec::new();
        for (m, tps) in &members {
            let mut tps = tps.clone();
            tps.sort();
            for tp in tps {
                rows.push(Row {
                    offset: committed.get(&tp).copied(),
                    log_end: ends.get(&tp).copied(),
                    topic: Some(tp.topic.clone()),
                    partition: Some(tp.partition),
                    consumer_id: Some(m.member_id.clone()),
                    host: Some(m.client_host.clone()),
                    client_id: Some(m.client_id.clone()),
                });
            }
        }
        for (m, tps) in &members {
            if tps.is_empty() {
                rows.push(Row {
                    topic: None,
                    partition: None,
                    offset: None,
                    log_end: None,
                    consumer_id: Some(m.member_id.clone()),
                    host: Some(m.client_host.clone()),
                    client_id: Some(m.client_id.clone()),
                });
            }
        }
        for (tp, off) in &committed {
            if !assigned.contains(tp) {
                rows.push(Row {
                    topic: Some(tp.topic.clone()),
                    partition: Some(tp.partition),
                    offset: Some(*off),
                    log_end: ends.get(tp).copied(),
                    consumer_id: None,
                    host: None,
                    client_id: None,
                });
            }
        }
        if !Self::should_print(group, &g.group_state, rows.len()) {
            return Ok(());
        }
        let wg = group.len().max(15);
        let wt = rows.iter().map(|r| opt(&r.topic).len()).max().unwrap_or(0).max(15);
        let wc = rows.iter().map(|r| opt(&r.consumer_id).len()).max().unwrap_or(0).max(15);
        let wh = rows.iter().map(|r| opt(&r.host).len()).max().unwrap_or(0).max(15);
        let line = |cols: [&str; 9]| {
            format!(
                "{} {} {:<10} {:<15} {:<15} {:<15} {} {} {}",
                pad(cols[0], wg),
                pad(cols[1], wt),
                cols[2],
                cols[3],
                cols[4],
                cols[5],
                pad(cols[6], wc),
                pad(cols[7], wh),
                cols[8]
            )
        };
        println!();
        println!("{}", line(["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"]));
        for r in &rows {
            let lag = match (r.offset, r.log_end) {
                (Some(o), Some(e)) => Some((e - o).max(0)),
                _ => None,
            };
            println!(
                "{}",
                line([
                    group,
                    &opt(&r.topic),
                    &opt(&r.partition),
                    &opt(&r.offset),
                    &opt(&r.log_end),
                    &opt(&lag),
                    &opt(&r.consumer_id),
                    &opt(&r.host),
                    &opt(&r.client_id),
                ])
            );
        }
        Ok(())
    }

    fn print_members(&self, group: &str, g: &DescribedGroup) {
        if !Self::should_print(group, &g.group_state, g.members.len()) {
            return;
        }
        let with_instance = g.members.iter().any(|m| m.group_instance_id.is_some());
        let wg = group.len().max(15);
        let wc = g.members.iter().map(|m| m.member_id.len()).max().unwrap_or(0).max(15);
        let wi = g.members.iter().map(|m| m.group_instance_id.as_deref().unwrap_or(MISSING).len()).max().unwrap_or(0).max(17);
        let wh = g.members.iter().map(|m| m.client_host.len()).max().unwrap_or(0).max(15);
        let wl = g.members.iter().map(|m| m.client_id.len()).max().unwrap_or(0).max(15);
        let line = |group: &str, id: &str, inst: &str, host: &str, client: &str, n: &str| {
            let mut s = format!("{} {} ", pad(group, wg), pad(id, wc));
            if with_instance {
                s.push_str(&format!("{} ", pad(inst, wi)));
            }
            s.push_str(&format!("{} {} {:<15} ", pad(host, wh), pad(client, wl), n));
            s
        };
        println!();
        let mut header = line("GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "#PARTITIONS");
        if self.opts.verbose {
            header.push_str("ASSIGNMENT");
        }
        println!("{}", header.trim_end());
        for m in &g.members {
            let tps = decode_assignment(&m.member_assignment);
            let mut s = line(
                group,
                &m.member_id,
                m.group_instance_id.as_deref().unwrap_or(MISSING),
                &m.client_host,
                &m.client_id,
                &tps.len().to_string(),
            );
            if self.opts.verbose {
                let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
                for tp in &tps {
                    by_topic.entry(tp.topic.clone()).or_default().push(tp.partition);
                }
                let a: Vec<String> = by_topic
                    .into_iter()
                    .map(|(t, mut ps)| {
                        ps.sort();
                        format!("{t}({})", ps.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(","))
                    })
                    .collect();
                s.push_str(&if a.is_empty() { MISSING.to_string() } else { a.join(", ") });
            }
            println!("{}", s.trim_end());
        }
    }

    async fn print_state(&mut self, group: &str, coordinator: i32, g: &DescribedGroup) -> Result<(), String> {
        if !Self::should_print(group, &g.group_state, 1) {
            return Ok(());
        }
        let md = self.client.metadata(Some(&[]), false).await.map_err(|e| e.to_string())?;
        let coord = md
            .brokers
            .iter()
            .find(|b| b.node_id == coordinator)
            .map(|b| format!("{}:{} ({})", b.host, b.port, b.node_id))
            .unwrap_or_else(|| format!("({coordinator})"));
        let wg = group.len().max(15);
        let wc = coord.len().max(25);
        let line = |a: &str, b: &str, c: &str, d: &str, e: &str| format!("{} {} {:<20} {:<15} {e}", pad(a, wg), pad(b, wc), c, d);
        println!();
        println!("{}", line("GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"));
        println!("{}", line(group, &coord, &g.protocol_data, &g.group_state, &g.members.len().to_string()));
        Ok(())
    }

    async fn delete(&mut self) -> Result<i32, String> {
        let groups = self.groups().await?;
        let mut failed: Vec<(String, i16)> = Vec::new();
        for group in &groups {
            let coordinator = self.client.find_coordinator(group, self.timeout).await?;
            let req = DeleteGroupsRequest { groups_names: vec![group.clone()], ..Default::default() };
            let resp = self.client.delete_groups(coordinator, &req, self.timeout).await?;
            for r in resp.results {
                if r.error_code != error::NONE {
                    failed.push((r.group_id, r.error_code));
                }
            }
        }
        if failed.is_empty() {
            let list: Vec<String> = groups.iter().map(|g| format!("'{g}'")).collect();
            println!("Deletion of requested consumer groups ({}) was successful.", list.join(", "));
            Ok(0)
        } else {
            let ok: Vec<String> = groups.iter().filter(|g| !failed.iter().any(|(f, _)| f == *g)).map(|g| format!("'{g}'")).collect();
            if !ok.is_empty() {
                println!("These consumer groups were deleted successfully: {}", ok.join(", "));
            }
            println!("Deletion of some consumer groups failed:");
            for (g, code) in &failed {
                let why = match *code {
                    68 => "org.apache.kafka.common.errors.GroupNotEmptyException: The group is not empty.".to_string(),
                    69 => "org.apache.kafka.common.errors.GroupIdNotFoundException: The group id does not exist.".to_string(),
                    c => error_name(c).to_string(),
                };
                println!("* Group '{g}' could not be deleted due to: {why}");
            }
            Ok(1)
        }
    }

    /// `--topic t` / `--topic t:0,2` into partitions (all partitions from metadata for `t`).
    async fn topic_partitions(&mut self) -> Result<Vec<TopicPartition>, String> {
        let mut out = Vec::new();
        let mut whole: BTreeSet<String> = BTreeSet::new();
        for t in &self.opts.topic {
            match t.split_once(':') {
                Some((name, ps)) => {
                    for p in ps.split(',').filter(|s| !s.is_empty()) {
                        let p: i32 = p.trim().parse().map_err(|_| format!("invalid partition '{p}' in --topic {t}"))?;
                        out.push(TopicPartition::new(name, p));
                    }
                }
                None => {
                    whole.insert(t.clone());
                }
            }
        }
        if !whole.is_empty() {
            let leaders = self.leaders(&whole).await?;
            for name in &whole {
                if !leaders.keys().any(|tp| &tp.topic == name) {
                    return Err(format!("Topic {name} does not exist"));
                }
            }
            out.extend(leaders.into_keys());
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    async fn reset_offsets(&mut self) -> Result<i32, String> {
        let o = self.opts;
        let scenarios = [o.to_offset.is_some(), o.shift_by.is_some(), o.to_datetime.is_some(), o.by_duration.is_some(), o.to_earliest, o.to_latest, o.to_current, o.from_file.is_some()]
            .iter()
            .filter(|x| **x)
            .count();
        if scenarios != 1 {
            eprintln!("One of the reset scopes should be defined: --to-datetime, --by-duration, --to-earliest, --to-latest, --shift-by, --from-file, --to-current, --to-offset.");
            return Ok(1);
        }
        if o.topic.is_empty() && !o.all_topics && o.from_file.is_none() {
            eprintln!("Option [--reset-offsets] takes one of these options: --all-topics, --topic");
            return Ok(1);
        }
        if !o.dry_run && !o.execute && !o.export {
            eprintln!(
                "WARN: No action will be performed as the --execute option is missing.In a future major release, the default behavior of this command will be to prompt the user before executing the reset rather than doing a dry run. You should add the --dry-run option explicitly if you are scripting this command and want to keep the current default behavior without prompting."
            );
        }
        let file_plan = match &o.from_file {
            Some(path) => Some(read_reset_file(path)?),
            None => None,
        };
        let mut plans: Vec<(String, BTreeMap<TopicPartition, i64>)> = Vec::new();
        for group in self.groups().await? {
            let (coordinator, g) = self.describe_group(&group).await?;
            if g.group_state != "Empty" && g.group_state != "Dead" {
                print_error(&format!(
                    "Assignments can only be reset if the group '{group}' is inactive, but the current state is {}.",
                    g.group_state
                ));
                plans.push((group, BTreeMap::new()));
                continue;
            }
            let committed = self.committed_offsets(coordinator, &group).await?;
            let tps: Vec<TopicPartition> = if let Some(fp) = &file_plan {
                fp.iter().filter(|(g, _, _)| g.as_deref().is_none_or(|g| g == group)).map(|(_, tp, _)| tp.clone()).collect()
            } else if o.all_topics {
                committed.keys().cloned().collect()
            } else {
                self.topic_partitions().await?
            };
            let earliest = self.offsets_at(&tps, -2).await?;
            let latest = self.offsets_at(&tps, -1).await?;
            let clamp = |tp: &TopicPartition, off: i64| -> i64 {
                let lo = earliest.get(tp).copied().unwrap_or(0);
                let hi = latest.get(tp).copied().unwrap_or(off);
                off.clamp(lo, hi.max(lo))
            };
            let mut plan = BTreeMap::new();
            if o.to_earliest {
                plan = earliest.clone();
            } else if o.to_latest {
                plan = latest.clone();
            } else if o.to_current {
                for tp in &tps {
                    if let Some(v) = committed.get(tp).or_else(|| latest.get(tp)) {
                        plan.insert(tp.clone(), *v);
                    }
                }
            } else if let Some(n) = o.to_offset {
                for tp in &tps {
                    plan.insert(tp.clone(), clamp(tp, n));
                }
            } else if let Some(n) = o.shift_by {
                for tp in &tps {
                    let Some(cur) = committed.get(tp).copied() else {
                        return Err(format!("Cannot shift offset for partition {tp} since there is no current committed offset"));
                    };
                    plan.insert(tp.clone(), clamp(tp, cur + n));
                }
            } else if o.to_datetime.is_some() || o.by_duration.is_some() {
                let ts = match (&o.to_datetime, &o.by_duration) {
                    (Some(d), _) => parse_datetime(d)?,
                    (_, Some(d)) => crate::common::now_ms() - parse_duration(d)?,
                    _ => unreachable_ts(),
                };
                let at = self.offsets_at(&tps, ts).await?;
                for tp in &tps {
                    let v = match at.get(tp) {
                        Some(v) if *v >= 0 => *v,
                        _ => latest.get(tp).copied().unwrap_or(0),
                    };
                    plan.insert(tp.clone(), v);
                }
            } else if let Some(fp) = &file_plan {
                for (g, tp, off) in fp {
                    if g.as_deref().is_none_or(|g| g == group) {
                        plan.insert(tp.clone(), clamp(tp, *off));
                    }
                }
            }
            if o.execute {
                self.commit(coordinator, &group, &plan).await?;
            }
            plans.push((group, plan));
        }
        if o.export {
            let multi = plans.len() > 1;
            for (g, plan) in &plans {
                for (tp, off) in plan {
                    if multi {
                        println!("{g},{},{},{off}", tp.topic, tp.partition);
                    } else {
                        println!("{},{},{off}", tp.topic, tp.partition);
                    }
                }
            }
        } else {
            for (g, plan) in &plans {
                if plan.is_empty() {
                    continue;
                }
                println!();
                println!("{:<30} {:<30} {:<10} {:<15}", "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET");
                for (tp, off) in plan {
                    println!("{:<30} {:<30} {:<10} {:<15}", g, tp.topic, tp.partition, off);
                }
            }
        }
        Ok(0)
    }

    async fn commit(&mut self, coordinator: i32, group: &str, plan: &BTreeMap<TopicPartition, i64>) -> Result<(), String> {
        let mut by_topic: BTreeMap<String, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
        for (tp, off) in plan {
            by_topic.entry(tp.topic.clone()).or_default().push(OffsetCommitRequestPartition {
                partition_index: tp.partition,
                committed_offset: *off,
                ..Default::default()
            });
        }
        let req = OffsetCommitRequest {
            group_id: group.to_string(),
            generation_id: -1,
            member_id: String::new(),
            topics: by_topic.into_iter().map(|(name, partitions)| OffsetCommitRequestTopic { name, partitions }).collect(),
            ..Default::default()
        };
        let resp = self.client.offset_commit(coordinator, &req, self.timeout).await?;
        for t in resp.topics {
            for (p, code) in t.partitions {
                if code != error::NONE {
                    return Err(format!("committing the new offset of {}-{p}: {}", t.name, error_name(code)));
                }
            }
        }
        Ok(())
    }

    async fn delete_offsets(&mut self) -> Result<i32, String> {
        let [group] = self.opts.group.as_slice() else {
            eprintln!("Option [--delete-offsets] takes exactly one --group");
            return Ok(1);
        };
        if self.opts.topic.is_empty() {
            eprintln!("Option [--delete-offsets] takes the following options: --topic");
            return Ok(1);
        }
        let tps = self.topic_partitions().await?;
        let coordinator = self.client.find_coordinator(group, self.timeout).await?;
        let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
        for tp in &tps {
            by_topic.entry(tp.topic.clone()).or_default().push(tp.partition);
        }
        let req = OffsetDeleteRequest {
            group_id: group.clone(),
            topics: by_topic.into_iter().map(|(name, partitions)| OffsetDeleteRequestTopic { name, partitions }).collect(),
        };
        let resp = self.client.offset_delete(coordinator, &req, self.timeout).await?;
        if resp.error_code != error::NONE {
            println!("Error: Encounter some unknown error: {}", error_name(resp.error_code));
            return Ok(1);
        }
        let mut rows: Vec<(String, i32, i16)> =
            resp.topics.iter().flat_map(|t| t.partitions.iter().map(move |(p, e)| (t.name.clone(), *p, *e))).collect();
        rows.sort();
        let failed = rows.iter().any(|(_, _, e)| *e != error::NONE);
        if failed {
            println!("Error: Encounter some partition level error, see the follow-up details:");
        } else {
            println!("Request succeed for deleting offsets with topic {} group {group}", self.opts.topic.join(", "));
        }
        println!();
        println!("{:<30} {:<15} {:<15}", "TOPIC", "PARTITION", "STATUS");
        for (t, p, e) in rows {
            let status = if e == error::NONE { "Successful".to_string() } else { format!("Error: {}", error_name(e)) };
            println!("{:<30} {:<15} {:<15}", t, p, status);
        }
        Ok(if failed { 1 } else { 0 })
    }
}

fn unreachable_ts() -> i64 {
    0
}

/// CSV of `topic,partition,offset` or `group,topic,partition,offset` lines.
fn read_reset_file(path: &str) -> Result<Vec<(Option<String>, TopicPartition, i64)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        let (g, t, p, o) = match cols.as_slice() {
            [t, p, o] => (None, *t, *p, *o),
            [g, t, p, o] => (Some(g.to_string()), *t, *p, *o),
            _ => return Err(format!("invalid line in {path}: {line}")),
        };
        let p: i32 = p.parse().map_err(|_| format!("invalid partition in {path}: {line}"))?;
        let o: i64 = o.parse().map_err(|_| format!("invalid offset in {path}: {line}"))?;
        out.push((g, TopicPartition::new(t, p), o));
    }
    Ok(out)
}

/// `YYYY-MM-DDTHH:mm:SS.sss` with an optional `Z` or `±HH:mm` zone (UTC when absent).
pub fn parse_datetime(s: &str) -> Result<i64, String> {
    let bad = || format!("Error parsing timestamp '{s}': expected format 'YYYY-MM-DDTHH:mm:SS.sss'");
    let (dt, offset_min) = if let Some(x) = s.strip_suffix('Z') {
        (x, 0i64)
    } else if s.len() > 23 && (s[23..].starts_with('+') || s[23..].starts_with('-')) {
        let z = &s[23..];
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let hm: Vec<&str> = z[1..].split(':').collect();
        let h: i64 = hm.first().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
        let m: i64 = hm.get(1).and_then(|x| x.parse().ok()).unwrap_or(0);
        (&s[..23], sign * (h * 60 + m))
    } else {
        (s, 0)
    };
    let (date, time) = dt.split_once('T').ok_or_else(bad)?;
    let d: Vec<i64> = date.split('-').map(|x| x.parse().map_err(|_| bad())).collect::<Result<_, _>>()?;
    let (hms, ms) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<i64> = hms.split(':').map(|x| x.parse().map_err(|_| bad())).collect::<Result<_, _>>()?;
    let ms: i64 = ms.parse().map_err(|_| bad())?;
    let [y, mo, day] = d.as_slice() else { return Err(bad()) };
    let [h, mi, sec] = t.as_slice() else { return Err(bad()) };
    // Days from civil (proleptic Gregorian), Howard Hinnant's algorithm.
    let (y, m) = if *mo <= 2 { (y - 1, mo + 9) } else { (*y, mo - 3) };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Ok(((days * 86400 + h * 3600 + mi * 60 + sec) * 1000 + ms) - offset_min * 60_000)
}

/// ISO-8601 duration `PnDTnHnMnS` in ms.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let bad = || format!("Error parsing duration '{s}': expected format 'PnDTnHnMnS'");
    let rest = s.strip_prefix('P').or_else(|| s.strip_prefix('p')).ok_or_else(bad)?;
    let mut total = 0f64;
    let mut num = String::new();
    let mut in_time = false;
    for c in rest.chars() {
        match c.to_ascii_uppercase() {
            'T' => in_time = true,
            '0'..='9' | '.' | '-' => num.push(c),
            u => {
                let n: f64 = num.parse().map_err(|_| bad())?;
                num.clear();
                total += n * match (u, in_time) {
                    ('D', false) => 86_400_000.0,
                    ('H', true) => 3_600_000.0,
                    ('M', true) => 60_000.0,
                    ('S', true) => 1000.0,
                    _ => return Err(bad()),
                };
            }
        }
    }
    if !num.is_empty() {
        return Err(bad());
    }
    Ok(total as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_and_duration() {
        assert_eq!(parse_datetime("1970-01-01T00:00:01.500").unwrap(), 1500);
        assert_eq!(parse_datetime("2021-06-01T12:00:00.000Z").unwrap(), 1_622_548_800_000);
        assert_eq!(parse_datetime("2021-06-01T14:00:00.000+02:00").unwrap(), 1_622_548_800_000);
        assert!(parse_datetime("yesterday").is_err());
        assert_eq!(parse_duration("PT1H").unwrap(), 3_600_000);
        assert_eq!(parse_duration("P1DT2M3S").unwrap(), 86_400_000 + 120_000 + 3000);
        assert!(parse_duration("1H").is_err());
    }
}
