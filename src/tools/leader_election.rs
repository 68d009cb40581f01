//! `kafka-leader-election`: elect preferred or unclean leaders on demand over
//! ElectLeaders (key 43) sent to the controller. Maps to Kafka's
//! `kafka.admin.LeaderElectionCommand` (flags, checks and output of 2.8).

use crate::common::TopicPartition;
use crate::protocol::ErrorCode;
use clap::Parser;
use std::collections::BTreeMap;

#[derive(Parser, Debug, Default)]
#[command(
    name = "kafka-leader-election.sh",
    about = "This tool attempts to elect a new leader for a set of topic partitions. The type of elections supported are preferred replicas and unclean replicas.",
    disable_version_flag = true
)]
pub struct LeaderElectionOptions {
    /// A hostname and port for the broker to connect to, in the form host:port. Multiple comma separated URLs can be given. REQUIRED.
    #[arg(long, value_name = "host:port")]
    pub bootstrap_server: Option<String>,
    /// Configuration properties files to pass to the admin client.
    #[arg(long = "admin.config", value_name = "config file")]
    pub admin_config: Option<String>,
    /// The JSON file with the list of partition for which leader elections should be performed: {"partitions": [{"topic": "foo", "partition": 1}, {"topic": "foobar", "partition": 2}]}. Not allowed if --all-topic-partitions or --topic flags are specified.
    #[arg(long, value_name = "Path to JSON file")]
    pub path_to_json_file: Option<String>,
    /// Name of topic for which to perform an election. Not allowed if --path-to-json-file or --all-topic-partitions is specified.
    #[arg(long, value_name = "topic name")]
    pub topic: Option<String>,
    /// Partition id for which to perform an election. REQUIRED if --topic is specified.
    #[arg(long, value_name = "partition id")]
    pub partition: Option<i32>,
    /// Perform election on all of the eligible topic partitions based on the type of election (see the --election-type flag). Not allowed if --topic or --path-to-json-file is specified.
    #[arg(long)]
    pub all_topic_partitions: bool,
    /// Type of election to attempt: "preferred" (only where the leader is not the preferred replica) or "unclean" (only where there is no leader). REQUIRED.
    #[arg(long, value_name = "election type")]
    pub election_type: Option<String>,
}

/// Kafka's `ElectionType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionType {
    Preferred,
    Unclean,
}

impl ElectionType {
    /// joptsimple's enum converter: the name, any case.
    pub fn parse(s: &str) -> Result<ElectionType, String> {
        match s.to_ascii_lowercase().as_str() {
            "preferred" => Ok(ElectionType::Preferred),
            "unclean" => Ok(ElectionType::Unclean),
            _ => Err(format!("Cannot parse argument '{s}' of option election-type: must be one of preferred, unclean")),
        }
    }

    /// The wire value (`ElectLeadersRequest.ElectionType`).
    pub fn wire(self) -> i8 {
        match self {
            ElectionType::Preferred => 0,
            ElectionType::Unclean => 1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ElectionType::Preferred => "PREFERRED",
            ElectionType::Unclean => "UNCLEAN",
        }
    }
}

/// Kafka's `LeaderElectionCommand.validate`, with its messages.
pub fn validate(o: &LeaderElectionOptions) -> Result<ElectionType, String> {
    let mut missing = Vec::new();
    if o.election_type.is_none() {
        missing.push("election-type");
    }
    if o.bootstrap_server.is_none() {
        missing.push("bootstrap-server");
    }
    if !missing.is_empty() {
        return Err(format!("Missing required option(s): {}", missing.join(", ")));
    }
    let given = [o.topic.is_some(), o.all_topic_partitions, o.path_to_json_file.is_some()].iter().filter(|b| **b).count();
    if given != 1 {
        return Err("One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file".into());
    }
    match (o.topic.is_some(), o.partition.is_some()) {
        (true, false) => return Err("Missing required option(s): partition".into()),
        (false, true) => return Err("Option partition is only allowed if topic is used".into()),
        _ => {}
    }
    if o.partition.is_some_and(|p| p < 0) {
        return Err(format!("Invalid partition id {}", o.partition.unwrap_or_default()));
    }
    ElectionType::parse(o.election_type.as_deref().unwrap_or_default())
}

/// What the tool prints for the controller's per-partition answers (Kafka's
/// `electLeaders` output): the elected partitions, the ones that needed no
/// election, and one line per failure; `Err` carries the final message when
/// some failed (the exit is then non-zero). Kafka 2.8 lists the elected
/// partitions again on the "already elected" line (a bug); we list the
/// partitions that needed no election there.
pub fn format_results(
    election: ElectionType,
    results: &BTreeMap<TopicPartition, (ErrorCode, Option<String>)>,
) -> (String, Option<String>) {
    let super::ElectionOutcome { succeeded, noop, failed } = super::split_election_results(results);
    let mut out = String::new();
    if !succeeded.is_empty() {
        out.push_str(&format!(
            "Successfully completed leader election ({}) for partitions {}\n",
            election.name(),
            succeeded.join(", ")
        ));
    }
    if !noop.is_empty() {
        out.push_str(&format!("Valid replica already elected for partitions {}\n", noop.join(", ")));
    }
    for (tp, e) in &failed {
        out.push_str(&format!("Error completing leader election ({}) for partition: {tp}: {e}\n", election.name()));
    }
    let err = (!failed.is_empty()).then(|| format!("{} replica(s) could not be elected", failed.len()));
    (out, err)
}

pub fn main(args: Vec<String>) -> i32 {
    let opts: LeaderElectionOptions = match super::parse_args(&args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let election = match validate(&opts) {
        Ok(e) => e,
        Err(msg) => {
            eprintln!("Error: {msg}");
            eprintln!("Run `kafka-leader-election.sh --help` for the list of options.");
            return 1;
        }
    };
    let partitions: Option<Vec<TopicPartition>> = if let Some(path) = &opts.path_to_json_file {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("Error: cannot read {path}: {e}");
                return 1;
            }
        };
        match super::parse_election_partitions(&text, "Replica election data") {
            Ok(p) => Some(p),
            Err(msg) => {
                eprintln!("Error: {msg}");
                return 1;
            }
        }
    } else {
        opts.topic.as_ref().map(|t| vec![TopicPartition::new(t.clone(), opts.partition.unwrap_or_default())])
    };
    let rt = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let bootstrap = opts.bootstrap_server.clone().unwrap_or_default();
    let results = match rt.block_on(elect_leaders(&bootstrap, election, partitions, opts.admin_config.as_deref())) {
        Ok(r) => r,
        Err(msg) => {
            println!("Error while making request");
            eprintln!("Error: {msg}");
            return 1;
        }
    };
    let (out, failure) = format_results(election, &results);
    print!("{out}");
    match failure {
        Some(msg) => {
            eprintln!("Error: {msg}");
            1
        }
        None => 0,
    }
}

/// Sends ElectLeaders to the controller and returns its per-partition answer.
async fn elect_leaders(
    bootstrap: &str,
    election: ElectionType,
    partitions: Option<Vec<TopicPartition>>,
    admin_config: Option<&str>,
) -> Result<BTreeMap<TopicPartition, (ErrorCode, Option<String>)>, String> {
    let mut client =
        crate::client::KafkaClient::with_config_file(bootstrap, "leader-election", std::time::Duration::from_secs(15), admin_config)?;
    client.elect_leaders(election.wire(), partitions.as_deref(), 15_000).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::error;

    fn opts(args: &[&str]) -> LeaderElectionOptions {
        let mut v = vec!["kafka-leader-election.sh"];
        v.extend_from_slice(args);
        LeaderElectionOptions::try_parse_from(v).unwrap()
    }

    #[test]
    fn validation_messages_match_kafka() {
        let e = |a: &[&str]| validate(&opts(a)).unwrap_err();
        assert_eq!(e(&["--all-topic-partitions"]), "Missing required option(s): election-type, bootstrap-server");
        assert_eq!(
            e(&["--bootstrap-server", "h:1", "--election-type", "preferred"]),
            "One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file"
        );
        assert_eq!(
            e(&["--bootstrap-server", "h:1", "--election-type", "preferred", "--all-topic-partitions", "--topic", "t", "--partition", "0"]),
            "One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file"
        );
        assert_eq!(e(&["--bootstrap-server", "h:1", "--election-type", "preferred", "--topic", "t"]), "Missing required option(s): partition");
        assert_eq!(
            e(&["--bootstrap-server", "h:1", "--election-type", "preferred", "--all-topic-partitions", "--partition", "1"]),
            "Option partition is only allowed if topic is used"
        );
        assert!(e(&["--bootstrap-server", "h:1", "--election-type", "dirty", "--all-topic-partitions"]).contains("election-type"));
        let ok = validate(&opts(&["--bootstrap-server", "h:1", "--election-type", "UNCLEAN", "--topic", "t", "--partition", "2"]));
        assert_eq!(ok.unwrap(), ElectionType::Unclean);
    }

    #[test]
    fn output_lines_match_kafka() {
        let r: BTreeMap<TopicPartition, (ErrorCode, Option<String>)> = [
            (TopicPartition::new("foo", 1), (error::NONE, None)),
            (TopicPartition::new("foo", 0), (error::NONE, None)),
            (TopicPartition::new("bar", 0), (error::ELECTION_NOT_NEEDED, None)),
            (TopicPartition::new("baz", 2), (error::PREFERRED_LEADER_NOT_AVAILABLE, Some("Failed to elect leader for partition baz-2 under strategy PreferredReplicaPartitionLeaderElectionStrategy".into()))),
        ]
        .into_iter()
        .collect();
        let (out, err) = format_results(ElectionType::Preferred, &r);
        assert_eq!(
            out,
            "Successfully completed leader election (PREFERRED) for partitions foo-0, foo-1\n\
             Valid replica already elected for partitions bar-0\n\
             Error completing leader election (PREFERRED) for partition: baz-2: org.apache.kafka.common.errors.PreferredLeaderNotAvailableException: Failed to elect leader for partition baz-2 under strategy PreferredReplicaPartitionLeaderElectionStrategy\n"
        );
        assert_eq!(err.as_deref(), Some("1 replica(s) could not be elected"));
        let ok: BTreeMap<TopicPartition, (ErrorCode, Option<String>)> = [(TopicPartition::new("t", 0), (error::NONE, None))].into_iter().collect();
        assert_eq!(format_results(ElectionType::Unclean, &ok), ("Successfully completed leader election (UNCLEAN) for partitions t-0\n".to_string(), None));
        assert_eq!(format_results(ElectionType::Unclean, &BTreeMap::new()), (String::new(), None));
    }
}
