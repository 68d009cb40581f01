//! Progress of moving replicas, for `kafka-reassign-partitions --verify` and
//! `--list`: what Kafka's tool never showed (operators' first wish). For each
//! replica being added it samples the replica sizes twice (DescribeLogDirs,
//! about a second apart) and reports the bytes copied and still to copy, the
//! percentage, the current rate and an estimated time left, or that it waits
//! for a broker that is not alive. Also the log-directory move states of
//! Kafka's `ReassignPartitionsCommand` (`LogDirMoveState`).

use super::json::TopicPartitionReplica;
use crate::client::admin::{PartitionReassignment, ReplicaLogDirInfo};
use crate::client::KafkaClient;
use crate::common::TopicPartition;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// How far a replica's move to another log directory is (Kafka's `LogDirMoveState`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogDirMoveState {
    /// The broker does not have the replica in any live log directory.
    MissingReplica { target: String },
    /// The replica has no current log directory (an offline directory).
    MissingLogDir { target: String },
    Active { current: String, target: String, future: String },
    /// No move is running and the replica is elsewhere than the target.
    Cancelled { current: String, target: String },
    Completed { target: String },
}

impl LogDirMoveState {
    pub fn done(&self) -> bool {
        matches!(self, LogDirMoveState::Cancelled { .. } | LogDirMoveState::Completed { .. })
    }

    /// Kafka's `findLogDirMoveStates` for one replica.
    pub fn of(info: Option<&ReplicaLogDirInfo>, target: &str) -> LogDirMoveState {
        let target = target.to_string();
        match info {
            None => LogDirMoveState::MissingReplica { target },
            Some(i) => match (&i.current_dir, &i.future_dir) {
                (None, _) => LogDirMoveState::MissingLogDir { target },
                (Some(c), None) if *c == target => LogDirMoveState::Completed { target },
                (Some(c), None) => LogDirMoveState::Cancelled { current: c.clone(), target },
                (Some(c), Some(f)) => LogDirMoveState::Active { current: c.clone(), target, future: f.clone() },
            },
        }
    }
}

/// Kafka's `findLogDirMoveStates`: the state of each requested log-dir move.
pub async fn log_dir_move_states(
    client: &mut KafkaClient,
    targets: &BTreeMap<TopicPartitionReplica, String>,
) -> Result<BTreeMap<TopicPartitionReplica, LogDirMoveState>, String> {
    let infos = client.describe_replica_log_dirs(&targets.keys().cloned().collect()).await?;
    Ok(targets.iter().map(|(r, t)| (r.clone(), LogDirMoveState::of(infos.get(r), t))).collect())
}

/// Kafka's `replicaMoveStatesToString` (replicas ordered by broker, topic, partition).
pub fn replica_move_states_to_string(states: &BTreeMap<TopicPartitionReplica, LogDirMoveState>) -> String {
    let mut lines = Vec::new();
    for (r, s) in states {
        let part = format!("{}-{}", r.topic, r.partition);
        lines.push(match s {
            LogDirMoveState::MissingLogDir { .. } => format!(
                "Partition {part} is not found in any live log dir on broker {}. There is likely an offline log directory on the broker.",
                r.broker
            ),
            LogDirMoveState::MissingReplica { .. } => {
                format!("Partition {part} cannot be found in any live log directory on broker {}.", r.broker)
            }
            LogDirMoveState::Active { target, future, .. } => {
                if target == future {
                    format!("Reassignment of replica {r} is still in progress.")
                } else {
                    format!("Partition {part} on broker {} is being moved to log dir {future} instead of {target}.", r.broker)
                }
            }
            LogDirMoveState::Cancelled { current, target } => {
                format!("Partition {part} on broker {} is not being moved from log dir {current} to {target}.", r.broker)
            }
            LogDirMoveState::Completed { .. } => format!("Reassignment of replica {r} completed successfully."),
        });
    }
    lines.join("\n")
}

/// `1536` -> `1.5 KiB`.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// `75` -> `1m15s`.
pub fn human_duration(secs: f64) -> String {
    let s = secs.ceil().max(0.0) as u64;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// Sizes seen on each broker: (broker, partition) -> the replica's log dir info.
pub type SizeSample = BTreeMap<(i32, TopicPartition), ReplicaLogDirInfo>;

/// The progress lines for the replicas being added, from two samples taken
/// `elapsed` apart. The amount to copy is the largest size among the
/// replicas that hold the data (the sources); `live` are the live brokers.
pub fn describe_progress(
    moving: &BTreeMap<TopicPartition, PartitionReassignment>,
    first: &SizeSample,
    second: &SizeSample,
    elapsed: Duration,
    live: &BTreeSet<i32>,
) -> Vec<String> {
    let mut lines = Vec::new();
    for (tp, r) in moving {
        if r.adding.is_empty() {
            continue;
        }
        let total = r.sources().iter().filter_map(|b| second.get(&(*b, tp.clone()))).map(|i| i.size).max();
        for &b in &r.adding {
            let prefix = format!("  {tp} -> broker {b}:");
            if !live.contains(&b) {
                lines.push(format!("{prefix} waiting for broker {b}, which is not alive"));
                continue;
            }
            let Some(now) = second.get(&(b, tp.clone())) else {
                lines.push(format!("{prefix} no replica on the broker yet"));
                continue;
            };
            let Some(total) = total else {
                lines.push(format!("{prefix} {} copied; the size of the source replicas is unknown", human_bytes(now.size)));
                continue;
            };
            let copied = now.size.min(total);
            let left = total - copied;
            let pct = if total == 0 { 100.0 } else { copied as f64 * 100.0 / total as f64 };
            let mut line = format!(
                "{prefix} {copied} of {total} bytes copied ({pct:.1}%, {} of {}), {left} bytes to copy",
                human_bytes(copied),
                human_bytes(total)
            );
            let before = first.get(&(b, tp.clone())).map(|i| i.size);
            let secs = elapsed.as_secs_f64();
            match before {
                Some(before) if secs > 0.0 => {
                    let rate = now.size.saturating_sub(before) as f64 / secs;
                    line.push_str(&format!(", {}/s", human_bytes(rate as u64)));
                    if left == 0 {
                        line.push_str(", caught up (waiting to join the ISR)");
                    } else if rate > 0.0 {
                        line.push_str(&format!(", about {} left", human_duration(left as f64 / rate)));
                    } else {
                        line.push_str(", no progress in the last sample");
                    }
                }
                _ => {}
            }
            lines.push(line);
        }
    }
    if !lines.is_empty() {
        lines.insert(0, "Progress of the replicas being added:".to_string());
    }
    lines
}

/// Samples the sizes of the moving partitions on the live brokers involved.
async fn sample(client: &mut KafkaClient, brokers: &BTreeSet<i32>, topics: &[String]) -> (SizeSample, Vec<String>) {
    let mut out = SizeSample::new();
    let mut failures = Vec::new();
    for &b in brokers {
        match client.replica_sizes(b, Some(topics)).await {
            Ok(m) => {
                for (tp, info) in m {
                    out.insert((b, tp), info);
                }
            }
            Err(e) => failures.push(format!("broker {b}: {e}")),
        }
    }
    (out, failures)
}

/// Two samples about a second apart, then `describe_progress`.
pub async fn sample_and_describe(
    client: &mut KafkaClient,
    moving: &BTreeMap<TopicPartition, PartitionReassignment>,
    live: &BTreeSet<i32>,
) -> Vec<String> {
    let moving: BTreeMap<TopicPartition, PartitionReassignment> =
        moving.iter().filter(|(_, r)| !r.adding.is_empty()).map(|(k, v)| (k.clone(), v.clone())).collect();
    if moving.is_empty() {
        return Vec::new();
    }
    let brokers: BTreeSet<i32> = moving.values().flat_map(|r| r.replicas.iter().copied()).filter(|b| live.contains(b)).collect();
    let topics: Vec<String> = moving.keys().map(|tp| tp.topic.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let start = Instant::now();
    let (first, failures) = sample(client, &brokers, &topics).await;
    if first.is_empty() && !failures.is_empty() {
        return vec![format!("Progress is not available (DescribeLogDirs failed: {}).", failures.join("; "))];
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mid = start.elapsed();
    let (second, _) = sample(client, &brokers, &topics).await;
    // The samples' midpoints are about `elapsed` apart.
    let elapsed = mid.max(Duration::from_millis(1));
    describe_progress(&moving, &first, &second, elapsed, live)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(size: u64) -> ReplicaLogDirInfo {
        ReplicaLogDirInfo { current_dir: Some("/d".into()), size, future_dir: None, future_size: None }
    }

    #[test]
    fn progress_lines() {
        let tp0 = TopicPartition::new("foo", 0);
        let tp1 = TopicPartition::new("foo", 1);
        let mut moving = BTreeMap::new();
        moving.insert(tp0.clone(), PartitionReassignment { replicas: vec![1, 2, 3, 4], adding: vec![4], removing: vec![1] });
        moving.insert(tp1.clone(), PartitionReassignment { replicas: vec![1, 2, 3, 5], adding: vec![5], removing: vec![1] });
        let mut first = SizeSample::new();
        let mut second = SizeSample::new();
        for b in [1, 2, 3] {
            first.insert((b, tp0.clone()), info(4 * 1024 * 1024));
            second.insert((b, tp0.clone()), info(4 * 1024 * 1024));
        }
        first.insert((4, tp0.clone()), info(1024 * 1024));
        second.insert((4, tp0.clone()), info(2 * 1024 * 1024));
        let live = BTreeSet::from([1, 2, 3, 4]);
        let lines = describe_progress(&moving, &first, &second, Duration::from_secs(1), &live);
        assert_eq!(
            lines,
            vec![
                "Progress of the replicas being added:".to_string(),
                "  foo-0 -> broker 4: 2097152 of 4194304 bytes copied (50.0%, 2.0 MiB of 4.0 MiB), 2097152 bytes to copy, 1.0 MiB/s, about 2s left".to_string(),
                "  foo-1 -> broker 5: waiting for broker 5, which is not alive".to_string(),
            ]
        );
        // Caught up, and stalled.
        second.insert((4, tp0.clone()), info(4 * 1024 * 1024));
        let lines = describe_progress(&moving, &first, &second, Duration::from_secs(1), &live);
        assert!(lines[1].ends_with("caught up (waiting to join the ISR)"), "{}", lines[1]);
        let lines = describe_progress(&moving, &first, &first, Duration::from_secs(1), &live);
        assert!(lines[1].ends_with("no progress in the last sample"), "{}", lines[1]);
    }

    #[test]
    fn log_dir_move_states() {
        let i = |c: Option<&str>, f: Option<&str>| ReplicaLogDirInfo {
            current_dir: c.map(str::to_string),
            size: 0,
            future_dir: f.map(str::to_string),
            future_size: None,
        };
        assert_eq!(LogDirMoveState::of(None, "/b"), LogDirMoveState::MissingReplica { target: "/b".into() });
        assert_eq!(LogDirMoveState::of(Some(&i(Some("/b"), None)), "/b"), LogDirMoveState::Completed { target: "/b".into() });
        assert!(!LogDirMoveState::of(Some(&i(Some("/a"), Some("/b"))), "/b").done());
        let r = |b| TopicPartitionReplica { topic: "foo".into(), partition: 0, broker: b };
        let states = BTreeMap::from([
            (r(2), LogDirMoveState::of(Some(&i(Some("/a"), Some("/b"))), "/b")),
            (r(1), LogDirMoveState::of(Some(&i(Some("/b"), None)), "/b")),
            (r(3), LogDirMoveState::of(Some(&i(Some("/a"), None)), "/b")),
        ]);
        assert_eq!(
            replica_move_states_to_string(&states),
            "Reassignment of replica foo-0-1 completed successfully.\n\
             Reassignment of replica foo-0-2 is still in progress.\n\
             Partition foo-0 on broker 3 is not being moved from log dir /a to /b."
        );
    }

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_duration(75.0), "1m15s");
        assert_eq!(human_duration(3.2), "4s");
    }
}
