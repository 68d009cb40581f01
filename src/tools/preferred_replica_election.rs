//! `kafka-preferred-replica-election` (deprecated in 2.8 in favour of
//! kafka-leader-election): with `--zookeeper` it writes
//! `/admin/preferred_replica_election` for the controller to act on, with
//! `--bootstrap-server` it sends a preferred ElectLeaders. Maps to Kafka's
//! `kafka.admin.PreferredReplicaLeaderElectionCommand`.

use crate::common::TopicPartition;
use crate::protocol::ErrorCode;
use crate::zk::{KafkaZkClient, ZkClientConfig, ZkError};
use clap::Parser;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

#[derive(Parser, Debug, Default)]
#[command(
    name = "kafka-preferred-replica-election.sh",
    about = "This tool helps to causes leadership for each partition to be transferred back to the 'preferred replica', it can be used to balance leadership among the servers.",
    disable_version_flag = true
)]
pub struct PreferredReplicaElectionOptions {
    /// The JSON file with the list of partitions for which preferred replica leader election should be done: {"partitions": [{"topic": "foo", "partition": 1}]}. Defaults to all existing partitions.
    #[arg(long, value_name = "list of partitions for which preferred replica leader election needs to be triggered")]
    pub path_to_json_file: Option<String>,
    /// DEPRECATED. The connection string for the zookeeper connection in the form host:port. Replaced by --bootstrap-server, REQUIRED unless --bootstrap-server is given.
    #[arg(long, value_name = "urls")]
    pub zookeeper: Option<String>,
    /// A hostname and port for the broker to connect to, in the form host:port. REQUIRED unless --zookeeper is given.
    #[arg(long, value_name = "host:port")]
    pub bootstrap_server: Option<String>,
    /// Admin client config properties file to pass to the admin client when --bootstrap-server is given.
    #[arg(long = "admin.config", value_name = "config file")]
    pub admin_config: Option<String>,
}

/// The ZooKeeper mode's split of the requested partitions into existing and
/// unknown ones (Kafka's `validPartitions`/`invalidPartitions`).
pub fn split_existing(requested: &[TopicPartition], existing: &BTreeSet<TopicPartition>) -> (Vec<TopicPartition>, Vec<TopicPartition>) {
    requested.iter().cloned().partition(|tp| existing.contains(tp))
}

/// The bootstrap mode's lines for the controller's answers; `Err` message
/// when some failed. As for kafka-leader-election, the "already elected" line
/// names the partitions that needed no election (Kafka 2.8 repeats the
/// elected ones there).
pub fn format_results(results: &BTreeMap<TopicPartition, (ErrorCode, Option<String>)>) -> (String, Option<String>) {
    let super::ElectionOutcome { succeeded, noop, failed } = super::split_election_results(results);
    let mut out = String::new();
    if !succeeded.is_empty() {
        out.push_str(&format!("Successfully completed preferred leader election for partitions {}\n", succeeded.join(", ")));
    }
    if !noop.is_empty() {
        out.push_str(&format!("Preferred replica already elected for partitions {}\n", noop.join(", ")));
    }
    for (tp, e) in &failed {
        out.push_str(&format!("Error completing preferred leader election for partition: {tp}: {e}\n"));
    }
    let err = (!failed.is_empty()).then(|| format!("{} preferred replica(s) could not be elected", failed.len()));
    (out, err)
}

pub fn main(args: Vec<String>) -> i32 {
    println!("This tool is deprecated. Please use kafka-leader-election tool. Tracking issue: KAFKA-8405");
    let opts: PreferredReplicaElectionOptions = match super::parse_args(&args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    if opts.zookeeper.is_some() == opts.bootstrap_server.is_some() {
        eprintln!("Exactly one of '[bootstrap-server]' or '[zookeeper]' must be provided");
        eprintln!("Run `kafka-preferred-replica-election.sh --help` for the list of options.");
        return 1;
    }
    if opts.admin_config.is_some() && opts.bootstrap_server.is_none() {
        eprintln!("Option admin.config is only allowed with bootstrap-server");
        return 1;
    }
    let partitions: Option<Vec<TopicPartition>> = match &opts.path_to_json_file {
        Some(path) => {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("Error: cannot read {path}: {e}");
                    return 1;
                }
            };
            match super::parse_election_partitions(&text, "Preferred replica election data") {
                Ok(p) => Some(p),
                Err(msg) => {
                    eprintln!("Error: {msg}");
                    return 1;
                }
            }
        }
        None => None,
    };
    let rt = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let result = match (&opts.zookeeper, &opts.bootstrap_server) {
        (Some(zk), _) => {
            println!("Warning: --zookeeper is deprecated and will be removed in a future version of Kafka.");
            println!("Use --bootstrap-server instead to specify a broker to connect to.");
            rt.block_on(run_zk(zk, partitions))
        }
        (None, Some(bs)) => rt.block_on(run_bootstrap(bs, partitions, opts.admin_config.as_deref())),
        (None, None) => Err("no connection".into()),
    };
    match result {
        Ok(()) => 0,
        Err(msg) => {
            eprintln!("Error: {msg}");
            1
        }
    }
}

async fn run_zk(connect: &str, requested: Option<Vec<TopicPartition>>) -> Result<(), String> {
    let config = ZkClientConfig {
        connect: connect.to_string(),
        session_timeout: Duration::from_secs(30),
        connection_timeout: Duration::from_secs(30),
    };
    let zk = KafkaZkClient::connect(config).await.map_err(|e| format!("Admin command failed: {e}"))?;
    let r = write_election(&zk, requested).await;
    zk.close();
    r.map_err(|e| format!("Admin command failed: {e}"))
}

/// All partitions of the given topics (all topics when `None`), from the topic znodes.
async fn partitions_in_zk(zk: &KafkaZkClient, topics: Option<BTreeSet<String>>) -> Result<BTreeSet<TopicPartition>, ZkError> {
    let topics = match topics {
        Some(t) => t,
        None => zk.get_all_topics().await?,
    };
    let mut out = BTreeSet::new();
    for t in topics {
        if let Some(a) = zk.get_topic_assignment(&t).await? {
            out.extend(a.partitions.keys().map(|p| TopicPartition::new(t.clone(), *p)));
        }
    }
    Ok(out)
}

async fn write_election(zk: &KafkaZkClient, requested: Option<Vec<TopicPartition>>) -> Result<(), String> {
    let (valid, invalid) = match requested {
        Some(req) => {
            let topics: BTreeSet<String> = req.iter().map(|tp| tp.topic.clone()).collect();
            let existing = partitions_in_zk(zk, Some(topics)).await.map_err(|e| e.to_string())?;
            split_existing(&req, &existing)
        }
        None => (partitions_in_zk(zk, None).await.map_err(|e| e.to_string())?.into_iter().collect(), Vec::new()),
    };
    match zk.create_preferred_replica_election(&valid).await {
        Ok(()) => {}
        Err(ZkError::NodeExists(_)) => {
            let pending = zk.get_preferred_replica_election().await.ok().flatten().unwrap_or_default();
            let pending: Vec<String> = pending.iter().map(|tp| tp.to_string()).collect();
            return Err(format!(
                "Preferred replica leader election currently in progress for {}. Aborting operation",
                pending.join(",")
            ));
        }
        Err(e) => return Err(e.to_string()),
    }
    let names: Vec<String> = valid.iter().map(|tp| tp.to_string()).collect();
    println!("Created preferred replica election path with {}", names.join(","));
    println!("Successfully started preferred replica election for partitions {}", super::scala_set_string(&names));
    for tp in invalid {
        println!("Skipping preferred replica leader election for partition {tp} since it doesn't exist.");
    }
    Ok(())
}

async fn run_bootstrap(bootstrap: &str, partitions: Option<Vec<TopicPartition>>, admin_config: Option<&str>) -> Result<(), String> {
    let results = match elect_preferred(bootstrap, partitions, admin_config).await {
        Ok(r) => r,
        Err(msg) => {
            println!("Error while making request");
            return Err(msg);
        }
    };
    let (out, failure) = format_results(&results);
    print!("{out}");
    match failure {
        Some(msg) => Err(msg),
        None => Ok(()),
    }
}

async fn elect_preferred(
    bootstrap: &str,
    partitions: Option<Vec<TopicPartition>>,
    admin_config: Option<&str>,
) -> Result<BTreeMap<TopicPartition, (ErrorCode, Option<String>)>, String> {
    let mut client =
        crate::client::KafkaClient::with_config_file(bootstrap, "preferred-replica-election", Duration::from_secs(30), admin_config)?;
    client.elect_leaders(0, partitions.as_deref(), 30_000).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::error;

    #[test]
    fn split_and_output() {
        let existing: BTreeSet<TopicPartition> = [TopicPartition::new("a", 0), TopicPartition::new("a", 1)].into_iter().collect();
        let (v, i) = split_existing(&[TopicPartition::new("a", 1), TopicPartition::new("a", 7)], &existing);
        assert_eq!(v, vec![TopicPartition::new("a", 1)]);
        assert_eq!(i, vec![TopicPartition::new("a", 7)]);
        let r: BTreeMap<TopicPartition, (ErrorCode, Option<String>)> = [
            (TopicPartition::new("a", 0), (error::NONE, None)),
            (TopicPartition::new("a", 1), (error::ELECTION_NOT_NEEDED, None)),
            (TopicPartition::new("a", 2), (error::UNKNOWN_TOPIC_OR_PARTITION, None)),
        ]
        .into_iter()
        .collect();
        let (out, err) = format_results(&r);
        assert_eq!(
            out,
            "Successfully completed preferred leader election for partitions a-0\n\
             Preferred replica already elected for partitions a-1\n\
             Error completing preferred leader election for partition: a-2: org.apache.kafka.common.errors.UnknownTopicOrPartitionException: This server does not host this topic-partition.\n"
        );
        assert_eq!(err.as_deref(), Some("1 preferred replica(s) could not be elected"));
    }
}
