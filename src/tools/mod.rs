//! The command-line tools, one file each, with Kafka 2.8's flags and output
//! formats. Maps to Kafka's `kafka.admin.*Command` and `kafka.tools.*`.

pub mod configs;
pub mod console_consumer;
pub mod consumer_groups;
pub mod acls;
pub mod delete_records;
pub mod console_producer;
pub mod dump_log;
pub mod leader_election;
pub mod preferred_replica_election;
pub mod log_dirs;
pub mod reassign_partitions;
pub mod topics;

/// Parses a tool's arguments; on a usage error (or `--help`) prints clap's
/// message and returns the exit code to use (1 for errors, 0 for help).
pub fn parse_args<T: clap::Parser>(args: &[String]) -> Result<T, i32> {
    T::try_parse_from(args).map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            1
        } else {
            0
        }
    })
}

/// A single-threaded tokio runtime for a tool, or the exit code 1 (with the
/// reason printed) if one cannot be had.
pub fn runtime() -> Result<tokio::runtime::Runtime, i32> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| {
        eprintln!("cannot start the async runtime: {e}");
        1
    })
}

/// Reads the `{"partitions":[{"topic":"foo","partition":1},...]}` file of the
/// leader-election tools (Kafka's `parseReplicaElectionData`); `what` names
/// the data in messages ("Replica election data" or "Preferred replica
/// election data"). Unparsable JSON is "empty", as Kafka says; duplicates are
/// refused.
pub fn parse_election_partitions(text: &str, what: &str) -> Result<Vec<crate::common::TopicPartition>, String> {
    use serde_json::Value;
    let Ok(js) = serde_json::from_str::<Value>(text) else {
        return Err(format!("{what} is empty"));
    };
    let Some(obj) = js.as_object() else {
        return Err(format!("{what} is empty"));
    };
    let Some(list) = obj.get("partitions") else {
        return Err(format!("{what} is missing \"partitions\" field"));
    };
    let Some(list) = list.as_array() else {
        return Err(format!("{what}: \"partitions\" is not an array"));
    };
    let mut out: Vec<crate::common::TopicPartition> = Vec::with_capacity(list.len());
    for (i, p) in list.iter().enumerate() {
        let topic = p.get("topic").and_then(Value::as_str);
        let partition = p.get("partition").and_then(Value::as_i64).filter(|n| (0..=i32::MAX as i64).contains(n));
        match (topic, partition) {
            (Some(t), Some(n)) => out.push(crate::common::TopicPartition::new(t, n as i32)),
            _ => {
                return Err(format!(
                    "{what}: entry {i} of \"partitions\" needs a string \"topic\" and a non-negative integer \"partition\": {p}"
                ))
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut dupes: Vec<String> = Vec::new();
    for tp in &out {
        if !seen.insert(tp.clone()) && !dupes.contains(&tp.to_string()) {
            dupes.push(tp.to_string());
        }
    }
    if !dupes.is_empty() {
        return Err(format!("{what} contains duplicate partitions: {}", dupes.join(",")));
    }
    Ok(out)
}

/// How Kafka's Java tools print an API error: the exception class the admin
/// client raises for the code, and its default message when the broker sent
/// none (`Errors.java`).
pub fn kafka_exception(code: crate::protocol::ErrorCode, message: Option<&str>) -> String {
    let (class, default) = match code {
        3 => ("UnknownTopicOrPartitionException", "This server does not host this topic-partition."),
        7 => ("TimeoutException", "The request timed out."),
        40 => ("InvalidConfigurationException", "Configuration is invalid."),
        17 => ("InvalidTopicException", "The request attempted to perform an operation on an invalid topic."),
        37 => ("InvalidPartitionsException", "Number of partitions is below 1."),
        41 => ("NotControllerException", "This is not the correct controller for this cluster."),
        42 => ("InvalidRequestException", "This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker. See the broker logs for more details."),
        73 => ("TopicDeletionDisabledException", "Topic deletion is disabled."),
        80 => ("PreferredLeaderNotAvailableException", "The preferred leader was not available."),
        83 => ("EligibleLeadersNotAvailableException", "Eligible topic partition leaders are not available."),
        84 => ("ElectionNotNeededException", "Leader election not needed for topic partition."),
        _ => ("UnknownServerException", "The server experienced an unexpected error when processing the request."),
    };
    format!("org.apache.kafka.common.errors.{class}: {}", message.filter(|m| !m.is_empty()).unwrap_or(default))
}

/// A Scala `Set`'s `toString` as Kafka 2.8 (Scala 2.13) prints it: `Set(a, b)`
/// up to four elements, `HashSet(...)` beyond.
pub fn scala_set_string<T: std::fmt::Display>(items: &[T]) -> String {
    let name = if items.len() <= 4 { "Set" } else { "HashSet" };
    format!("{name}({})", items.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::TopicPartition;

    #[test]
    fn election_json() {
        let w = "Replica election data";
        assert_eq!(
            parse_election_partitions(r#"{"partitions":[{"topic":"foo","partition":1},{"topic":"bar","partition":0}]}"#, w).unwrap(),
            vec![TopicPartition::new("foo", 1), TopicPartition::new("bar", 0)]
        );
        assert_eq!(parse_election_partitions("{not json", w).unwrap_err(), "Replica election data is empty");
        assert_eq!(parse_election_partitions("", w).unwrap_err(), "Replica election data is empty");
        assert_eq!(parse_election_partitions(r#"{"x":1}"#, w).unwrap_err(), "Replica election data is missing \"partitions\" field");
        assert_eq!(
            parse_election_partitions(r#"{"partitions":[{"topic":"a","partition":1},{"topic":"a","partition":1}]}"#, w).unwrap_err(),
            "Replica election data contains duplicate partitions: a-1"
        );
        for bad in [r#"{"partitions":[{"topic":"a"}]}"#, r#"{"partitions":[{"topic":1,"partition":1}]}"#, r#"{"partitions":[{"topic":"a","partition":-1}]}"#, r#"{"partitions":3}"#] {
            assert!(parse_election_partitions(bad, w).is_err(), "{bad}");
        }
    }

    #[test]
    fn exceptions_and_sets() {
        assert_eq!(kafka_exception(84, None), "org.apache.kafka.common.errors.ElectionNotNeededException: Leader election not needed for topic partition.");
        assert_eq!(kafka_exception(83, Some("x")), "org.apache.kafka.common.errors.EligibleLeadersNotAvailableException: x");
        assert_eq!(scala_set_string(&["a-0", "a-1"]), "Set(a-0, a-1)");
        assert_eq!(scala_set_string(&[1, 2, 3, 4, 5]), "HashSet(1, 2, 3, 4, 5)");
    }
}

/// The controller's ElectLeaders answers split as both election tools print
/// them: elected, needing no election (ELECTION_NOT_NEEDED), and failed with
/// the Java exception text Kafka's tools show.
pub struct ElectionOutcome {
    pub succeeded: Vec<String>,
    pub noop: Vec<String>,
    pub failed: Vec<(String, String)>,
}

pub fn split_election_results(
    results: &std::collections::BTreeMap<crate::common::TopicPartition, (crate::protocol::ErrorCode, Option<String>)>,
) -> ElectionOutcome {
    use crate::protocol::error;
    let mut out = ElectionOutcome { succeeded: Vec::new(), noop: Vec::new(), failed: Vec::new() };
    for (tp, (code, msg)) in results {
        match *code {
            error::NONE => out.succeeded.push(tp.to_string()),
            error::ELECTION_NOT_NEEDED => out.noop.push(tp.to_string()),
            c => out.failed.push((tp.to_string(), kafka_exception(c, msg.as_deref()))),
        }
    }
    out
}
