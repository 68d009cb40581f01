//! `kafka-delete-records`: deletes records of partitions below given offsets
//! (moves their log start offsets) with DeleteRecords (key 21) sent to the
//! leaders. Maps to Kafka's `kafka.admin.DeleteRecordsCommand` (2.8 flags,
//! offset JSON file and output).

use crate::common::TopicPartition;
use clap::Parser;

#[derive(Parser, Debug, Default)]
#[command(
    name = "kafka-delete-records.sh",
    about = "This tool helps to delete records of the given partitions down to the specified offset.",
    disable_version_flag = true
)]
pub struct DeleteRecordsOptions {
    /// REQUIRED: The server to connect to.
    #[arg(long, value_name = "server(s) to use for bootstrapping")]
    pub bootstrap_server: Option<String>,
    /// REQUIRED: The JSON file with offset per partition. The format to use is: {"partitions": [{"topic": "foo", "partition": 1, "offset": 1}], "version":1}
    #[arg(long, value_name = "Offset json file path")]
    pub offset_json_file: Option<String>,
    /// A property file containing configs to be passed to Admin Client.
    #[arg(long, value_name = "command config property file path")]
    pub command_config: Option<String>,
}

/// Kafka's `parseOffsetJsonStringWithoutDedup`: `version` (default 1, the
/// only one) and `partitions`, each with `topic`, `partition` and `offset`.
/// Then the duplicate check of `execute`.
pub fn parse_offset_json(text: &str) -> Result<Vec<(TopicPartition, i64)>, String> {
    use serde_json::Value;
    let js: Value = serde_json::from_str(text).map_err(|_| "The input string is not a valid JSON".to_string())?;
    let obj = js.as_object().ok_or_else(|| "The input string is not a valid JSON object".to_string())?;
    let version = match obj.get("version") {
        None => 1,
        Some(v) => v
            .as_i64()
            .filter(|n| (i32::MIN as i64..=i32::MAX as i64).contains(n))
            .ok_or_else(|| format!("Not supported version field value {v}"))?,
    };
    if version != 1 {
        return Err(format!("Not supported version field value {version}"));
    }
    let partitions = obj.get("partitions").ok_or_else(|| "Missing partitions field".to_string())?;
    let list = partitions.as_array().ok_or_else(|| "The partitions field is not an array".to_string())?;
    let mut out: Vec<(TopicPartition, i64)> = Vec::with_capacity(list.len());
    for (i, p) in list.iter().enumerate() {
        let field = |name: &str| p.get(name).ok_or_else(|| format!("partitions[{i}]: missing field \"{name}\""));
        let topic = field("topic")?.as_str().ok_or_else(|| format!("partitions[{i}]: \"topic\" is not a string"))?;
        let partition = field("partition")?
            .as_i64()
            .filter(|n| (i32::MIN as i64..=i32::MAX as i64).contains(n))
            .ok_or_else(|| format!("partitions[{i}]: \"partition\" is not an int"))?;
        let offset = field("offset")?.as_i64().ok_or_else(|| format!("partitions[{i}]: \"offset\" is not a long"))?;
        out.push((TopicPartition::new(topic, partition as i32), offset));
    }
    let mut dups: Vec<String> = Vec::new();
    for (i, (tp, _)) in out.iter().enumerate() {
        if out[..i].iter().any(|(x, _)| x == tp) && !dups.contains(&tp.to_string()) {
            dups.push(tp.to_string());
        }
    }
    if !dups.is_empty() {
        return Err(format!("Offset json file contains duplicate topic partitions: {}", dups.join(",")));
    }
    Ok(out)
}

/// The lines after "Records delete operation completed:", one per partition.
pub fn format_results(results: &[(TopicPartition, Result<i64, crate::protocol::ErrorCode>)]) -> String {
    let mut s = String::new();
    for (tp, r) in results {
        match r {
            Ok(low) => s.push_str(&format!("partition: {tp}\tlow_watermark: {low}\n")),
            Err(code) => s.push_str(&format!("partition: {tp}\terror: {}\n", crate::client::admin::java_exception(*code))),
        }
    }
    s
}

pub fn main(args: Vec<String>) -> i32 {
    let opts: DeleteRecordsOptions = match super::parse_args(&args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let (Some(bootstrap), Some(path)) = (opts.bootstrap_server.clone(), opts.offset_json_file.clone()) else {
        let missing = if opts.bootstrap_server.is_none() { "bootstrap-server" } else { "offset-json-file" };
        eprintln!("Missing required argument \"[{missing}]\"");
        eprintln!("Run `kafka-delete-records.sh --help` for the list of options.");
        return 1;
    };
    let security = match crate::client::client_config::channel_security_from_file(opts.command_config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("Error: cannot read {path}: {e}");
            return 1;
        }
    };
    let offsets = match parse_offset_json(&text) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("Error: {msg}");
            return 1;
        }
    };
    let rt = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    println!("Executing records delete operation");
    let timeout = std::time::Duration::from_secs(30);
    let results = rt.block_on(async {
        let mut client = crate::client::KafkaClient::new(&bootstrap, "adminclient-1", timeout).with_security(security);
        client.delete_records(&offsets, 30_000).await
    });
    match results {
        Ok(r) => {
            println!("Records delete operation completed:");
            print!("{}", format_results(&r));
            0
        }
        Err(msg) => {
            eprintln!("Error: {msg}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::error;

    #[test]
    fn parses_kafka_json() {
        let got = parse_offset_json(r#"{"partitions":[{"topic":"t","partition":0,"offset":10},{"topic":"u","partition":2,"offset":-1}],"version":1}"#)
            .unwrap();
        assert_eq!(got, vec![(TopicPartition::new("t", 0), 10), (TopicPartition::new("u", 2), -1)]);
        // version defaults to 1
        assert_eq!(parse_offset_json(r#"{"partitions":[]}"#).unwrap(), vec![]);
    }

    #[test]
    fn bad_json_is_refused_with_kafkas_messages() {
        assert_eq!(parse_offset_json("{not json").unwrap_err(), "The input string is not a valid JSON");
        assert_eq!(parse_offset_json(r#"{"version":1}"#).unwrap_err(), "Missing partitions field");
        assert_eq!(parse_offset_json(r#"{"version":2,"partitions":[]}"#).unwrap_err(), "Not supported version field value 2");
        assert!(parse_offset_json(r#"{"partitions":[{"topic":"t","partition":0}]}"#).unwrap_err().contains("offset"));
        assert!(parse_offset_json(r#"{"partitions":[{"topic":"t","partition":"x","offset":1}]}"#).is_err());
        assert!(parse_offset_json("[1,2]").is_err());
        assert_eq!(
            parse_offset_json(r#"{"partitions":[{"topic":"t","partition":0,"offset":1},{"topic":"t","partition":0,"offset":2}]}"#)
                .unwrap_err(),
            "Offset json file contains duplicate topic partitions: t-0"
        );
    }

    #[test]
    fn output_lines() {
        let out = format_results(&[
            (TopicPartition::new("t", 0), Ok(10)),
            (TopicPartition::new("t", 1), Err(error::OFFSET_OUT_OF_RANGE)),
        ]);
        assert_eq!(
            out,
            "partition: t-0\tlow_watermark: 10\npartition: t-1\terror: org.apache.kafka.common.errors.OffsetOutOfRangeException: The requested offset is not within the range of offsets maintained by the server.\n"
        );
    }
}
