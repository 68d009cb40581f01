//! The JSON files of `kafka-reassign-partitions` (Kafka's
//! `ReassignPartitionsCommand.parseTopicsData`, `parsePartitionReassignmentData`
//! and `formatAsReassignmentJson`): the topics-to-move file, the reassignment
//! file (with optional `log_dirs`) and the compact JSON the tool prints, with
//! Kafka's validation messages.

use crate::common::TopicPartition;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The log directory entry meaning "wherever the broker puts it".
pub const ANY_LOG_DIR: &str = "any";

pub use crate::client::admin::TopicPartitionReplica;

/// A parsed reassignment file: partitions with their target replicas, in
/// file order (duplicates kept so they can be reported), and the replicas
/// with an explicit log directory.
pub type ReassignmentData = (Vec<(TopicPartition, Vec<i32>)>, BTreeMap<TopicPartitionReplica, String>);

fn expected(what: &str, v: &Value) -> String {
    format!("Expected {what}, received {v}")
}

fn field<'a>(obj: &'a serde_json::Map<String, Value>, name: &str) -> Result<&'a Value, String> {
    obj.get(name).ok_or_else(|| format!("No such field exists: `{name}`"))
}

fn as_object(v: &Value) -> Result<&serde_json::Map<String, Value>, String> {
    v.as_object().ok_or_else(|| expected("JSON object", v))
}

fn as_array(v: &Value) -> Result<&Vec<Value>, String> {
    v.as_array().ok_or_else(|| expected("JSON array", v))
}

fn as_int(v: &Value) -> Result<i32, String> {
    v.as_i64().and_then(|n| i32::try_from(n).ok()).ok_or_else(|| expected("`Int` value", v))
}

fn as_string(v: &Value) -> Result<String, String> {
    v.as_str().map(str::to_string).ok_or_else(|| expected("`String` value", v))
}

fn version(obj: &serde_json::Map<String, Value>) -> Result<i32, String> {
    match obj.get("version") {
        None => Ok(1),
        Some(v) => as_int(v),
    }
}

/// Scala's `List(1, 2)` rendering used in Kafka's messages.
fn scala_list<T: fmt::Display>(items: &[T]) -> String {
    format!("List({})", items.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", "))
}

/// The topics-to-move file: `{"topics":[{"topic":"foo"}],"version":1}`.
pub fn parse_topics_data(text: &str) -> Result<Vec<String>, String> {
    let js: Value = serde_json::from_str(text).map_err(|_| "The input string is not a valid JSON".to_string())?;
    let obj = as_object(&js)?;
    let v = version(obj)?;
    if v != 1 {
        return Err(format!("Not supported version field value {v}"));
    }
    let mut out = Vec::new();
    if let Some(topics) = obj.get("topics") {
        for t in as_array(topics)? {
            out.push(as_string(field(as_object(t)?, "topic")?)?);
        }
    }
    Ok(out)
}

/// The reassignment file: `{"version":1,"partitions":[{"topic":"foo",
/// "partition":1,"replicas":[1,2,3],"log_dirs":["any","any","any"]}]}`.
pub fn parse_partition_reassignment_data(text: &str) -> Result<ReassignmentData, String> {
    let js: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let obj = as_object(&js)?;
    let v = version(obj)?;
    if v != 1 {
        return Err(format!("Not supported version field value {v}"));
    }
    let mut parts = Vec::new();
    let mut dirs = BTreeMap::new();
    if let Some(partitions) = obj.get("partitions") {
        for p in as_array(partitions)? {
            let p = as_object(p)?;
            let topic = as_string(field(p, "topic")?)?;
            let partition = as_int(field(p, "partition")?)?;
            let replicas: Vec<i32> = as_array(field(p, "replicas")?)?.iter().map(as_int).collect::<Result<_, _>>()?;
            let log_dirs: Vec<String> = match p.get("log_dirs") {
                Some(v) => as_array(v)?.iter().map(as_string).collect::<Result<_, _>>()?,
                None => replicas.iter().map(|_| ANY_LOG_DIR.to_string()).collect(),
            };
            let tp = TopicPartition::new(topic.clone(), partition);
            if replicas.len() != log_dirs.len() {
                return Err(format!(
                    "Size of replicas list {} is different from size of log dirs list {} for partition {tp}",
                    scala_list(&replicas),
                    scala_list(&log_dirs)
                ));
            }
            for (r, d) in replicas.iter().zip(&log_dirs) {
                if d != ANY_LOG_DIR {
                    dirs.insert(TopicPartitionReplica { topic: topic.clone(), partition, broker: *r }, d.clone());
                }
            }
            parts.push((tp, replicas));
        }
    }
    Ok((parts, dirs))
}

/// Kafka's `CoreUtils.duplicates`: the values that occur more than once, in
/// the order of their first occurrence.
pub fn duplicates<T: Ord + Clone>(items: &[T]) -> Vec<T> {
    let mut seen = BTreeSet::new();
    let mut dup = BTreeSet::new();
    let mut out = Vec::new();
    for i in items {
        if !seen.insert(i.clone()) && dup.insert(i.clone()) {
            out.push(i.clone());
        }
    }
    out
}

/// The checks of `parseExecuteAssignmentArgs`, with Kafka's messages.
pub fn parse_execute_assignment_args(
    text: &str,
) -> Result<(BTreeMap<TopicPartition, Vec<i32>>, BTreeMap<TopicPartitionReplica, String>), String> {
    let (parts, dirs) = parse_partition_reassignment_data(text)?;
    if parts.is_empty() {
        return Err("Partition reassignment list cannot be empty".into());
    }
    if parts.iter().any(|(_, r)| r.is_empty()) {
        return Err("Partition replica list cannot be empty".into());
    }
    let tps: Vec<TopicPartition> = parts.iter().map(|(tp, _)| tp.clone()).collect();
    let dup = duplicates(&tps);
    if !dup.is_empty() {
        return Err(format!(
            "Partition reassignment contains duplicate topic partitions: {}",
            dup.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(",")
        ));
    }
    let dup_entries: Vec<String> = parts
        .iter()
        .filter_map(|(tp, reps)| {
            let d = duplicates(reps);
            (!d.is_empty()).then(|| {
                format!("{tp} contains multiple entries for {}", d.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(","))
            })
        })
        .collect();
    if !dup_entries.is_empty() {
        return Err(format!("Partition replica lists may not contain duplicate entries: {}", dup_entries.join(". ")));
    }
    Ok((parts.into_iter().collect(), dirs))
}

/// The checks of `parseGenerateAssignmentArgs`: the broker list and the topics.
pub fn parse_generate_assignment_args(topics_json: &str, broker_list: &str) -> Result<(Vec<i32>, Vec<String>), String> {
    let mut brokers = Vec::new();
    for s in broker_list.split(',') {
        // Scala's String.toInt: a NumberFormatException's message.
        let b: i32 = s.trim().parse().map_err(|_| format!("For input string: \"{s}\""))?;
        brokers.push(b);
    }
    let dup = duplicates(&brokers);
    if !dup.is_empty() {
        return Err(format!(
            "Broker list contains duplicate entries: {}",
            dup.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(",")
        ));
    }
    let topics = parse_topics_data(topics_json)?;
    let dup = duplicates(&topics);
    if !dup.is_empty() {
        return Err(format!("List of topics to reassign contains duplicate entries: {}", dup.join(",")));
    }
    Ok((brokers, topics))
}

/// `formatAsReassignmentJson`: compact, partitions sorted by topic then
/// partition, `log_dirs` always present.
pub fn format_as_reassignment_json(
    parts: &BTreeMap<TopicPartition, Vec<i32>>,
    log_dirs: &BTreeMap<TopicPartitionReplica, String>,
) -> String {
    let mut out = String::from("{\"version\":1,\"partitions\":[");
    for (i, (tp, replicas)) in parts.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let dirs: Vec<Value> = replicas
            .iter()
            .map(|r| {
                let key = TopicPartitionReplica { topic: tp.topic.clone(), partition: tp.partition, broker: *r };
                Value::String(log_dirs.get(&key).cloned().unwrap_or_else(|| ANY_LOG_DIR.to_string()))
            })
            .collect();
        out.push_str(&format!(
            "{{\"topic\":{},\"partition\":{},\"replicas\":{},\"log_dirs\":{}}}",
            Value::String(tp.topic.clone()),
            tp.partition,
            Value::from(replicas.clone()),
            Value::Array(dirs)
        ));
    }
    out.push_str("]}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_kafka() {
        let mut parts = BTreeMap::new();
        parts.insert(TopicPartition::new("foo", 1), vec![1, 2, 3]);
        parts.insert(TopicPartition::new("bar", 0), vec![4]);
        let mut dirs = BTreeMap::new();
        dirs.insert(TopicPartitionReplica { topic: "bar".into(), partition: 0, broker: 4 }, "/d1".to_string());
        assert_eq!(
            format_as_reassignment_json(&parts, &dirs),
            r#"{"version":1,"partitions":[{"topic":"bar","partition":0,"replicas":[4],"log_dirs":["/d1"]},{"topic":"foo","partition":1,"replicas":[1,2,3],"log_dirs":["any","any","any"]}]}"#
        );
        assert_eq!(format_as_reassignment_json(&BTreeMap::new(), &BTreeMap::new()), r#"{"version":1,"partitions":[]}"#);
    }

    #[test]
    fn parses_reassignment_files() {
        let (parts, dirs) = parse_partition_reassignment_data(
            r#"{"version":1,"partitions":[{"topic":"foo","partition":1,"replicas":[1,2],"log_dirs":["any","/data/b"]},{"topic":"foo","partition":0,"replicas":[3]}]}"#,
        )
        .unwrap();
        assert_eq!(parts, vec![(TopicPartition::new("foo", 1), vec![1, 2]), (TopicPartition::new("foo", 0), vec![3])]);
        assert_eq!(dirs.len(), 1);
        assert_eq!(dirs[&TopicPartitionReplica { topic: "foo".into(), partition: 1, broker: 2 }], "/data/b");
        // Round trip through Kafka's output format.
        let out = format_as_reassignment_json(&parts.iter().cloned().collect(), &dirs);
        let (again, dirs2) = parse_partition_reassignment_data(&out).unwrap();
        assert_eq!(again.into_iter().collect::<BTreeMap<_, _>>(), parts.into_iter().collect::<BTreeMap<_, _>>());
        assert_eq!(dirs2, dirs);
    }

    #[test]
    fn kafkas_messages_for_bad_files() {
        let e = |s: &str| parse_execute_assignment_args(s).unwrap_err();
        assert!(!e("{not json").is_empty());
        assert_eq!(e(r#"{"version":1,"partitions":[]}"#), "Partition reassignment list cannot be empty");
        assert_eq!(e(r#"{"version":1}"#), "Partition reassignment list cannot be empty");
        assert_eq!(e(r#"{"version":2,"partitions":[]}"#), "Not supported version field value 2");
        assert_eq!(e(r#"{"partitions":[{"topic":"a","partition":0,"replicas":[]}]}"#), "Partition replica list cannot be empty");
        assert_eq!(e(r#"{"partitions":[{"partition":0,"replicas":[1]}]}"#), "No such field exists: `topic`");
        assert_eq!(e(r#"{"partitions":[{"topic":"a","partition":"x","replicas":[1]}]}"#), "Expected `Int` value, received \"x\"");
        assert_eq!(e(r#"{"partitions":{"topic":"a"}}"#), r#"Expected JSON array, received {"topic":"a"}"#);
        assert_eq!(
            e(r#"{"partitions":[{"topic":"a","partition":0,"replicas":[1]},{"topic":"a","partition":0,"replicas":[2]}]}"#),
            "Partition reassignment contains duplicate topic partitions: a-0"
        );
        assert_eq!(
            e(r#"{"partitions":[{"topic":"a","partition":0,"replicas":[1,2,1]},{"topic":"a","partition":1,"replicas":[3,3]}]}"#),
            "Partition replica lists may not contain duplicate entries: a-0 contains multiple entries for 1. a-1 contains multiple entries for 3"
        );
        assert_eq!(
            e(r#"{"partitions":[{"topic":"a","partition":0,"replicas":[1,2],"log_dirs":["any"]}]}"#),
            "Size of replicas list List(1, 2) is different from size of log dirs list List(any) for partition a-0"
        );
    }

    #[test]
    fn generate_arguments() {
        assert_eq!(
            parse_generate_assignment_args(r#"{"topics":[{"topic":"foo"},{"topic":"foo1"}],"version":1}"#, "5,6").unwrap(),
            (vec![5, 6], vec!["foo".to_string(), "foo1".to_string()])
        );
        assert_eq!(parse_generate_assignment_args(r#"{"topics":[]}"#, "1,2,1").unwrap_err(), "Broker list contains duplicate entries: 1");
        assert_eq!(
            parse_generate_assignment_args(r#"{"topics":[{"topic":"a"},{"topic":"a"}]}"#, "1").unwrap_err(),
            "List of topics to reassign contains duplicate entries: a"
        );
        assert_eq!(parse_generate_assignment_args("nope", "1").unwrap_err(), "The input string is not a valid JSON");
        assert_eq!(parse_generate_assignment_args("{}", "1,x").unwrap_err(), "For input string: \"x\"");
    }

    #[test]
    fn replica_order_and_display() {
        let a = TopicPartitionReplica { topic: "z".into(), partition: 0, broker: 1 };
        let b = TopicPartitionReplica { topic: "a".into(), partition: 0, broker: 2 };
        assert!(a < b);
        assert_eq!(a.to_string(), "z-0-1");
    }
}
