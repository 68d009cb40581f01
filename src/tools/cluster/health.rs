//! The cluster-health computation of `zkafka-cluster` (what KIP-59's never
//! shipped cluster tool would have shown, and what operators assemble from
//! the JMX metrics `UnderReplicatedPartitions`, `UnderMinIsrPartitionCount`,
//! `OfflinePartitionsCount` and `PreferredReplicaImbalanceCount`): a pure
//! function from what was read about the cluster (`Snapshot`: brokers,
//! controller, partition states, reassignments, min.insync.replicas, log
//! dirs, groups) to the `Report` the tool prints — the problem list naming
//! the partitions, per-broker counts and totals, reassignment progress.
//! No I/O here; the gathering is in `mod.rs`, the text in `render.rs`.

use crate::common::TopicPartition;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A registered (live) broker.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BrokerInfo {
    pub id: i32,
    /// "host:port" of the listener the tool uses.
    pub endpoint: String,
    pub rack: Option<String>,
    /// The czxid of `/brokers/ids/<id>` (Kafka's broker epoch), when known.
    pub epoch: Option<i64>,
    /// The registration's `timestamp` (ms since the epoch), when known.
    pub registered_at_ms: Option<i64>,
}

/// One partition: assignment and leader/ISR state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    pub tp: TopicPartition,
    /// The assigned replicas, preferred leader first (RS during a reassignment).
    pub replicas: Vec<i32>,
    /// `None` when the partition has no leader (-1) or its state is missing.
    pub leader: Option<i32>,
    pub leader_epoch: Option<i32>,
    pub isr: Vec<i32>,
    /// Replicas the brokers report offline (Metadata's `offline_replicas`,
    /// e.g. a failed log dir); replicas on unregistered brokers are added by
    /// `compute` itself.
    pub offline_replicas: Vec<i32>,
}

/// A reassignment in progress (Kafka's `PartitionReassignment`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReassignmentInfo {
    pub tp: TopicPartition,
    pub replicas: Vec<i32>,
    pub adding: Vec<i32>,
    pub removing: Vec<i32>,
}

/// One log directory of one broker.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LogDirInfo {
    pub broker: i32,
    pub path: String,
    /// The error the broker reported for the directory (e.g. KAFKA_STORAGE_ERROR).
    pub error: Option<String>,
    pub size_bytes: u64,
    pub replicas: usize,
}

/// A consumer group and its lag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GroupInfo {
    pub group: String,
    pub state: String,
    pub coordinator: i32,
    pub members: usize,
    /// Partitions with a committed offset.
    pub partitions: usize,
    /// Sum over partitions of (log end offset - committed offset); `None`
    /// when no end offset could be read.
    pub total_lag: Option<i64>,
    /// Partitions whose end offset could not be read (not in `total_lag`).
    pub lag_unknown_partitions: usize,
}

/// Everything read about the cluster at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// How the tool connected ("bootstrap-server 127.0.0.1:9092" ...).
    pub source: String,
    pub cluster_id: Option<String>,
    pub time_ms: i64,
    pub brokers: Vec<BrokerInfo>,
    pub controller: Option<i32>,
    pub controller_epoch: Option<i32>,
    pub partitions: Vec<PartitionInfo>,
    /// min.insync.replicas of each topic (missing topics: 1).
    pub min_isr: BTreeMap<String, i32>,
    pub reassignments: Vec<ReassignmentInfo>,
    /// Reassignments requested in `/admin/reassign_partitions` that the
    /// controller has not started yet (ZooKeeper mode only).
    pub reassignments_requested: Vec<TopicPartition>,
    /// `None`: not known (the reason is in `notes`).
    pub log_dirs: Option<Vec<LogDirInfo>>,
    /// Size of each replica, by (broker, partition), from DescribeLogDirs;
    /// future (being moved between dirs) replicas are not included.
    pub replica_sizes: BTreeMap<(i32, TopicPartition), u64>,
    pub groups: Option<Vec<GroupInfo>>,
    /// Registered brokers that did not answer the tool, with the error.
    pub unreachable: BTreeMap<i32, String>,
    /// What the tool could not know, and where things were read from.
    pub notes: Vec<String>,
}

/// One problem, with every partition it concerns (the text output caps the list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// A stable key for scripts: no_controller, offline_partitions,
    /// under_min_isr, broker_down, under_replicated, log_dir_error,
    /// broker_unreachable, preferred_leader_imbalance.
    pub kind: &'static str,
    pub summary: String,
    /// "topic-partition" followed by a short detail, one per partition.
    pub partitions: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BrokerRow {
    pub id: i32,
    pub alive: bool,
    pub controller: bool,
    pub endpoint: Option<String>,
    pub rack: Option<String>,
    pub epoch: Option<i64>,
    pub registered_at_ms: Option<i64>,
    /// Replicas assigned to this broker.
    pub replicas: usize,
    /// Partitions this broker leads.
    pub leaders: usize,
    /// Led partitions whose ISR is smaller than the replica set (Kafka's
    /// `UnderReplicatedPartitions`, counted at the leader).
    pub under_replicated: usize,
    /// Led partitions whose ISR is below min.insync.replicas (Kafka's
    /// `UnderMinIsrPartitionCount`).
    pub under_min_isr: usize,
    /// Replicas on this broker that are offline (broker down or log dir failed).
    pub offline_replicas: usize,
    /// Partitions whose preferred leader is this broker but are led elsewhere.
    pub preferred_imbalanced: usize,
    /// Bytes in this broker's log dirs, when known.
    pub log_dir_bytes: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub topics: usize,
    pub partitions: usize,
    pub replicas: usize,
    pub under_replicated: usize,
    pub under_min_isr: usize,
    pub offline: usize,
    pub preferred_imbalanced: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReassignmentRow {
    pub partition: String,
    pub replicas: Vec<i32>,
    pub adding: Vec<i32>,
    pub removing: Vec<i32>,
    /// Adding replicas already in the ISR.
    pub adding_in_isr: Vec<i32>,
    /// Bytes the adding replicas hold so far and the leader's size, when known.
    pub copied_bytes: Option<u64>,
    pub target_bytes: Option<u64>,
    pub progress: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub source: String,
    pub cluster_id: Option<String>,
    pub time_ms: i64,
    pub healthy: bool,
    pub problems: Vec<Problem>,
    pub controller: Option<i32>,
    pub controller_epoch: Option<i32>,
    pub brokers: Vec<BrokerRow>,
    pub totals: Totals,
    pub reassignments: Vec<ReassignmentRow>,
    pub reassignments_requested: Vec<String>,
    pub log_dirs: Option<Vec<LogDirInfo>>,
    pub groups: Option<Vec<GroupInfo>>,
    pub notes: Vec<String>,
}

fn ids(v: &[i32]) -> String {
    v.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

/// From what was read to what to say. Problems come in order of urgency:
/// no controller, offline partitions, under min ISR (acks=all writes fail),
/// brokers down, under-replicated, log dir errors, unreachable brokers,
/// preferred-leader imbalance.
pub fn compute(s: &Snapshot) -> Report {
    let live: BTreeSet<i32> = s.brokers.iter().map(|b| b.id).collect();
    let mut rows: BTreeMap<i32, BrokerRow> = s
        .brokers
        .iter()
        .map(|b| {
            (
                b.id,
                BrokerRow {
                    id: b.id,
                    alive: true,
                    controller: s.controller == Some(b.id),
                    endpoint: Some(b.endpoint.clone()),
                    rack: b.rack.clone(),
                    epoch: b.epoch,
                    registered_at_ms: b.registered_at_ms,
                    ..Default::default()
                },
            )
        })
        .collect();
    let mut partitions: Vec<&PartitionInfo> = s.partitions.iter().collect();
    partitions.sort_by(|a, b| a.tp.cmp(&b.tp));
    let mut totals = Totals { partitions: partitions.len(), ..Default::default() };
    totals.topics = partitions.iter().map(|p| &p.tp.topic).collect::<BTreeSet<_>>().len();

    let mut offline = Vec::new();
    let mut under_min = Vec::new();
    let mut urp = Vec::new();
    let mut imbalanced = Vec::new();
    // Replicas on unregistered brokers: broker -> partitions.
    let mut down: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    for p in &partitions {
        let name = p.tp.to_string();
        totals.replicas += p.replicas.len();
        for r in &p.replicas {
            let row = rows.entry(*r).or_insert_with(|| BrokerRow { id: *r, alive: false, ..Default::default() });
            row.replicas += 1;
            if !live.contains(r) {
                row.offline_replicas += 1;
                down.entry(*r).or_default().push(name.clone());
            } else if p.offline_replicas.contains(r) {
                row.offline_replicas += 1;
            }
        }
        let leader = p.leader.filter(|l| live.contains(l));
        let isr_detail = format!("{name} (leader {}, isr {} of {})", p.leader.map_or("none".into(), |l| l.to_string()), ids(&p.isr), ids(&p.replicas));
        let Some(leader) = leader else {
            totals.offline += 1;
            offline.push(isr_detail);
            continue;
        };
        if let Some(row) = rows.get_mut(&leader) {
            row.leaders += 1;
        }
        let min_isr = s.min_isr.get(&p.tp.topic).copied().unwrap_or(1);
        if (p.isr.len() as i32) < min_isr {
            totals.under_min_isr += 1;
            under_min.push(format!("{name} (isr {} < min.insync.replicas {min_isr})", ids(&p.isr)));
            if let Some(row) = rows.get_mut(&leader) {
                row.under_min_isr += 1;
            }
        }
        if p.isr.len() < p.replicas.len() {
            totals.under_replicated += 1;
            let missing: Vec<i32> = p.replicas.iter().copied().filter(|r| !p.isr.contains(r)).collect();
            urp.push(format!("{name} (isr {} of {}, out: {})", ids(&p.isr), ids(&p.replicas), ids(&missing)));
            if let Some(row) = rows.get_mut(&leader) {
                row.under_replicated += 1;
            }
        }
        if let Some(&preferred) = p.replicas.first() {
            if preferred != leader {
                totals.preferred_imbalanced += 1;
                imbalanced.push(format!("{name} (leader {leader}, preferred {preferred})"));
                if let Some(row) = rows.get_mut(&preferred) {
                    row.preferred_imbalanced += 1;
                }
            }
        }
    }

    if let Some(dirs) = &s.log_dirs {
        for d in dirs {
            if let Some(row) = rows.get_mut(&d.broker) {
                *row.log_dir_bytes.get_or_insert(0) += d.size_bytes;
            }
        }
    }

    let mut problems = Vec::new();
    if s.controller.is_none_or(|c| !live.contains(&c)) {
        let summary = match s.controller {
            None => "no active controller: no broker holds /controller (leader elections and ISR changes are stuck)".to_string(),
            Some(c) => format!("the controller, broker {c}, is not registered"),
        };
        problems.push(Problem { kind: "no_controller", summary, partitions: vec![] });
    }
    if !offline.is_empty() {
        problems.push(Problem {
            kind: "offline_partitions",
            summary: format!("{} offline partition{} (no live leader: unavailable for reads and writes)", offline.len(), plural(offline.len())),
            partitions: offline,
        });
    }
    if !under_min.is_empty() {
        problems.push(Problem {
            kind: "under_min_isr",
            summary: format!(
                "{} partition{} under min.insync.replicas (acks=all produce fails with NOT_ENOUGH_REPLICAS)",
                under_min.len(),
                plural(under_min.len())
            ),
            partitions: under_min,
        });
    }
    for (b, parts) in down {
        problems.push(Problem {
            kind: "broker_down",
            summary: format!("broker {b} is down (not registered in ZooKeeper) and holds {} replica{}", parts.len(), plural(parts.len())),
            partitions: parts,
        });
    }
    if !urp.is_empty() {
        problems.push(Problem {
            kind: "under_replicated",
            summary: format!("{} under-replicated partition{} (ISR smaller than the replica set)", urp.len(), plural(urp.len())),
            partitions: urp,
        });
    }
    if let Some(dirs) = &s.log_dirs {
        for d in dirs.iter().filter(|d| d.error.is_some()) {
            problems.push(Problem {
                kind: "log_dir_error",
                summary: format!("broker {} log dir {} is offline: {}", d.broker, d.path, d.error.as_deref().unwrap_or("")),
                partitions: vec![],
            });
        }
    }
    for (b, e) in &s.unreachable {
        problems.push(Problem { kind: "broker_unreachable", summary: format!("broker {b} is registered but did not answer: {e}"), partitions: vec![] });
    }
    if !imbalanced.is_empty() {
        problems.push(Problem {
            kind: "preferred_leader_imbalance",
            summary: format!(
                "{} partition{} not led by the preferred replica (kafka-leader-election --election-type preferred moves them back)",
                imbalanced.len(),
                plural(imbalanced.len())
            ),
            partitions: imbalanced,
        });
    }

    let reassignments = s.reassignments.iter().map(|r| reassignment_row(r, s)).collect();
    Report {
        source: s.source.clone(),
        cluster_id: s.cluster_id.clone(),
        time_ms: s.time_ms,
        healthy: problems.is_empty(),
        problems,
        controller: s.controller,
        controller_epoch: s.controller_epoch,
        brokers: rows.into_values().collect(),
        totals,
        reassignments,
        reassignments_requested: s.reassignments_requested.iter().map(|tp| tp.to_string()).collect(),
        log_dirs: s.log_dirs.clone(),
        groups: s.groups.clone(),
        notes: s.notes.clone(),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Progress of one reassignment: which adding replicas have joined the ISR,
/// and, when log dir sizes are known, how many bytes they hold of the
/// leader's (a replica catches up from its leader).
fn reassignment_row(r: &ReassignmentInfo, s: &Snapshot) -> ReassignmentRow {
    let state = s.partitions.iter().find(|p| p.tp == r.tp);
    let isr: &[i32] = state.map_or(&[], |p| &p.isr);
    let adding_in_isr: Vec<i32> = r.adding.iter().copied().filter(|a| isr.contains(a)).collect();
    let leader_size = state.and_then(|p| p.leader).and_then(|l| s.replica_sizes.get(&(l, r.tp.clone())).copied());
    let (copied, target) = match leader_size {
        Some(size) if !r.adding.is_empty() => {
            let copied: u64 = r.adding.iter().map(|a| s.replica_sizes.get(&(*a, r.tp.clone())).copied().unwrap_or(0).min(size)).sum();
            (Some(copied), Some(size * r.adding.len() as u64))
        }
        _ => (None, None),
    };
    let mut progress = if r.adding.is_empty() {
        format!("removing {}", ids(&r.removing))
    } else {
        format!("{}/{} adding replicas in ISR", adding_in_isr.len(), r.adding.len())
    };
    if let (Some(c), Some(t)) = (copied, target) {
        let pct = if t == 0 { 100.0 } else { c as f64 * 100.0 / t as f64 };
        progress.push_str(&format!(", {} of {} copied ({pct:.0}%)", human_bytes(c), human_bytes(t)));
    }
    ReassignmentRow {
        partition: r.tp.to_string(),
        replicas: r.replicas.clone(),
        adding: r.adding.clone(),
        removing: r.removing.clone(),
        adding_in_isr,
        copied_bytes: copied,
        target_bytes: target,
        progress,
    }
}

/// 1536 -> "1.5 KiB".
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(id: i32) -> BrokerInfo {
        BrokerInfo { id, endpoint: format!("h:{}", 9092 + id), rack: None, epoch: Some(100 + id as i64), registered_at_ms: Some(1_000) }
    }

    fn part(t: &str, p: i32, replicas: &[i32], leader: i32, isr: &[i32]) -> PartitionInfo {
        PartitionInfo {
            tp: TopicPartition::new(t, p),
            replicas: replicas.to_vec(),
            leader: (leader >= 0).then_some(leader),
            leader_epoch: Some(0),
            isr: isr.to_vec(),
            offline_replicas: vec![],
        }
    }

    fn healthy() -> Snapshot {
        Snapshot {
            brokers: vec![broker(0), broker(1), broker(2)],
            controller: Some(1),
            controller_epoch: Some(3),
            partitions: vec![
                part("t", 0, &[0, 1, 2], 0, &[0, 1, 2]),
                part("t", 1, &[1, 2, 0], 1, &[1, 2, 0]),
                part("t", 2, &[2, 0, 1], 2, &[2, 0, 1]),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn healthy_cluster_has_no_problems() {
        let r = compute(&healthy());
        assert!(r.healthy, "{:?}", r.problems);
        assert_eq!(r.totals, Totals { topics: 1, partitions: 3, replicas: 9, ..Default::default() });
        assert_eq!(r.brokers.len(), 3);
        for b in &r.brokers {
            assert!(b.alive);
            assert_eq!((b.replicas, b.leaders, b.under_replicated, b.offline_replicas), (3, 1, 0, 0));
            assert_eq!(b.controller, b.id == 1);
        }
    }

    #[test]
    fn follower_down() {
        let mut s = healthy();
        s.brokers.retain(|b| b.id != 2);
        // The controller moved leadership of t-2 to 0 and shrank every ISR.
        s.partitions = vec![
            part("t", 0, &[0, 1, 2], 0, &[0, 1]),
            part("t", 1, &[1, 2, 0], 1, &[1, 0]),
            part("t", 2, &[2, 0, 1], 0, &[0, 1]),
        ];
        let r = compute(&s);
        assert!(!r.healthy);
        let kinds: Vec<&str> = r.problems.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, ["broker_down", "under_replicated", "preferred_leader_imbalance"]);
        assert_eq!(r.problems[0].partitions, ["t-0", "t-1", "t-2"]);
        assert!(r.problems[0].summary.starts_with("broker 2 is down"), "{}", r.problems[0].summary);
        assert_eq!(r.problems[1].partitions[0], "t-0 (isr 0,1 of 0,1,2, out: 2)");
        assert_eq!(r.problems[2].partitions, ["t-2 (leader 0, preferred 2)"]);
        let b2 = r.brokers.iter().find(|b| b.id == 2).unwrap();
        assert!(!b2.alive && b2.endpoint.is_none());
        assert_eq!((b2.replicas, b2.offline_replicas, b2.preferred_imbalanced, b2.leaders), (3, 3, 1, 0));
        let b0 = r.brokers.iter().find(|b| b.id == 0).unwrap();
        assert_eq!((b0.leaders, b0.under_replicated), (2, 2));
        assert_eq!(r.totals.under_replicated, 3);
        assert_eq!(r.totals.preferred_imbalanced, 1);
    }

    #[test]
    fn offline_and_under_min_isr_and_no_controller() {
        let mut s = healthy();
        s.brokers = vec![broker(0)];
        s.controller = None;
        s.min_isr.insert("t".into(), 2);
        s.partitions = vec![
            part("t", 0, &[0, 1, 2], 0, &[0]),
            // Leader 1 is dead: the state still names it (no election yet).
            part("t", 1, &[1, 2], 1, &[1]),
            part("t", 2, &[2, 1], -1, &[2]),
        ];
        let r = compute(&s);
        let kinds: Vec<&str> = r.problems.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, ["no_controller", "offline_partitions", "under_min_isr", "broker_down", "broker_down", "under_replicated"]);
        assert_eq!(r.problems[1].partitions, ["t-1 (leader 1, isr 1 of 1,2)", "t-2 (leader none, isr 2 of 2,1)"]);
        assert_eq!(r.problems[2].partitions, ["t-0 (isr 0 < min.insync.replicas 2)"]);
        assert_eq!(r.totals.offline, 2);
        assert_eq!(r.totals.under_min_isr, 1);
        let b0 = r.brokers.iter().find(|b| b.id == 0).unwrap();
        assert_eq!(b0.under_min_isr, 1);
    }

    #[test]
    fn controller_not_registered_is_a_problem() {
        let mut s = healthy();
        s.controller = Some(7);
        let r = compute(&s);
        assert_eq!(r.problems[0].kind, "no_controller");
        assert!(r.problems[0].summary.contains("broker 7"));
    }

    #[test]
    fn offline_replica_in_failed_log_dir_and_log_dir_sizes() {
        let mut s = healthy();
        s.partitions[0].offline_replicas = vec![2];
        s.log_dirs = Some(vec![
            LogDirInfo { broker: 2, path: "/a".into(), error: None, size_bytes: 10, replicas: 2 },
            LogDirInfo { broker: 2, path: "/b".into(), error: Some("KAFKA_STORAGE_ERROR".into()), size_bytes: 0, replicas: 0 },
            LogDirInfo { broker: 0, path: "/a".into(), error: None, size_bytes: 5, replicas: 3 },
        ]);
        s.unreachable.insert(1, "connection refused".into());
        let r = compute(&s);
        let kinds: Vec<&str> = r.problems.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, ["log_dir_error", "broker_unreachable"]);
        let b2 = r.brokers.iter().find(|b| b.id == 2).unwrap();
        assert_eq!((b2.offline_replicas, b2.log_dir_bytes), (1, Some(10)));
        assert_eq!(r.brokers.iter().find(|b| b.id == 1).unwrap().log_dir_bytes, None);
    }

    #[test]
    fn reassignment_progress() {
        let mut s = healthy();
        s.brokers.push(broker(3));
        s.partitions[0] = part("t", 0, &[3, 0, 1, 2], 0, &[0, 1, 2]);
        s.reassignments = vec![ReassignmentInfo { tp: TopicPartition::new("t", 0), replicas: vec![3, 0, 1, 2], adding: vec![3], removing: vec![2] }];
        s.replica_sizes.insert((0, TopicPartition::new("t", 0)), 4000);
        s.replica_sizes.insert((3, TopicPartition::new("t", 0)), 1000);
        let r = compute(&s);
        assert_eq!(r.reassignments.len(), 1);
        let row = &r.reassignments[0];
        assert_eq!(row.partition, "t-0");
        assert_eq!(row.adding_in_isr, Vec::<i32>::new());
        assert_eq!((row.copied_bytes, row.target_bytes), (Some(1000), Some(4000)));
        assert_eq!(row.progress, "0/1 adding replicas in ISR, 1000 B of 3.9 KiB copied (25%)");
        // The reassignment's RS is the replica set: t-0 is under-replicated
        // while 3 catches up, as Kafka reports it.
        assert_eq!(r.totals.under_replicated, 1);
        // Without sizes the progress is the ISR count only.
        s.replica_sizes.clear();
        s.partitions[0].isr = vec![0, 1, 2, 3];
        let r = compute(&s);
        assert_eq!(r.reassignments[0].progress, "1/1 adding replicas in ISR");
    }

    #[test]
    fn bytes() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
    }
}
