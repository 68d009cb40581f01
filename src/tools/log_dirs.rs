//! `kafka-log-dirs`: queries brokers for their log directories and the
//! replicas in them (size, offset lag, future flag) with DescribeLogDirs and
//! prints Kafka 2.8's JSON. Maps to Kafka's `kafka.admin.LogDirsCommand`.

use crate::protocol::error::{self, ErrorCode};
use crate::protocol::messages::describe_log_dirs::DescribeLogDirsResult;
use clap::Parser;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

#[derive(Parser, Debug, Default)]
#[command(
    name = "kafka-log-dirs.sh",
    about = "This tool helps to query log directory usage on the specified brokers.",
    disable_version_flag = true
)]
pub struct LogDirsCommandOptions {
    /// REQUIRED: the server(s) to use for bootstrapping
    #[arg(long, value_name = "The server(s) to use for bootstrapping")]
    pub bootstrap_server: Option<String>,
    /// Property file containing configs to be passed to Admin Client.
    #[arg(long, value_name = "Admin client property file")]
    pub command_config: Option<String>,
    /// Describe the specified log directories on the specified brokers.
    #[arg(long)]
    pub describe: bool,
    /// The list of topics to be queried in the form "topic1,topic2,topic3". All topics will be queried if no topic list is specified
    #[arg(long, value_name = "Topic list", default_value = "")]
    pub topic_list: String,
    /// The list of brokers to be queried in the form "0,1,2". All brokers in the cluster will be queried if no broker list is specified
    #[arg(long, value_name = "Broker list")]
    pub broker_list: Option<String>,
}

/// What the command was asked, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDirsArgs {
    pub bootstrap_server: String,
    pub topics: BTreeSet<String>,
    /// `None`: every broker in the cluster.
    pub brokers: Option<Vec<i32>>,
    /// `--command-config`: the admin client's properties (security).
    pub command_config: Option<String>,
}

/// Kafka's `checkRequiredArgs` and list parsing (empty entries are dropped).
pub fn validate(opts: LogDirsCommandOptions) -> Result<LogDirsArgs, String> {
    let Some(bootstrap_server) = opts.bootstrap_server else {
        return Err("Missing required argument \"[bootstrap-server]\"".into());
    };
    if !opts.describe {
        return Err("Missing required argument \"[describe]\"".into());
    }
    let topics = opts.topic_list.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect();
    let brokers = match opts.broker_list {
        None => None,
        Some(list) => Some(
            list.split(',')
                .filter(|s| !s.is_empty())
                .map(|s| s.trim().parse::<i32>().map_err(|_| format!("Invalid broker id \"{s}\" in --broker-list {list}")))
                .collect::<Result<Vec<i32>, String>>()?,
        ),
    };
    Ok(LogDirsArgs { bootstrap_server, topics, brokers, command_config: opts.command_config })
}

/// The Java exception class Kafka's admin client turns an error code into
/// (what `LogDirsCommand` prints as a log dir's `error`).
pub fn exception_class(code: ErrorCode) -> String {
    let simple = match code {
        error::KAFKA_STORAGE_ERROR => "KafkaStorageException".to_string(),
        error::UNKNOWN_SERVER_ERROR => "UnknownServerException".to_string(),
        error::CLUSTER_AUTHORIZATION_FAILED => "ClusterAuthorizationException".to_string(),
        error::NOT_LEADER_OR_FOLLOWER => "NotLeaderOrFollowerException".to_string(),
        other => {
            let name = error::error_name(other);
            let camel: String = name
                .split('_')
                .map(|w| {
                    let mut c = w.chars();
                    match c.next() {
                        Some(f) => f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase(),
                        None => String::new(),
                    }
                })
                .collect();
            if camel.ends_with("Exception") {
                camel
            } else {
                format!("{camel}Exception")
            }
        }
    };
    format!("org.apache.kafka.common.errors.{simple}")
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Kafka's `formatAsJson`: compact JSON, brokers by id, log dirs by path,
/// partitions by topic then partition; only the topics in `topics` (all if empty).
pub fn format_as_json(by_broker: &BTreeMap<i32, Vec<DescribeLogDirsResult>>, topics: &BTreeSet<String>) -> String {
    let mut brokers = Vec::new();
    for (broker, dirs) in by_broker {
        let mut dirs: Vec<&DescribeLogDirsResult> = dirs.iter().collect();
        dirs.sort_by(|a, b| a.log_dir.cmp(&b.log_dir));
        let mut log_dirs = Vec::new();
        for d in dirs {
            let error = if d.error_code == error::NONE { "null".to_string() } else { json_str(&exception_class(d.error_code)) };
            let mut parts: Vec<(String, i32, i64, i64, bool)> = Vec::new();
            if d.error_code == error::NONE {
                for t in &d.topics {
                    if !topics.is_empty() && !topics.contains(&t.name) {
                        continue;
                    }
                    for p in &t.partitions {
                        parts.push((t.name.clone(), p.partition_index, p.partition_size, p.offset_lag, p.is_future_key));
                    }
                }
            }
            parts.sort();
            let partitions: Vec<String> = parts
                .into_iter()
                .map(|(t, p, size, lag, fut)| {
                    format!(
                        "{{\"partition\":{},\"size\":{size},\"offsetLag\":{lag},\"isFuture\":{fut}}}",
                        json_str(&format!("{t}-{p}"))
                    )
                })
                .collect();
            log_dirs.push(format!(
                "{{\"logDir\":{},\"error\":{error},\"partitions\":[{}]}}",
                json_str(&d.log_dir),
                partitions.join(",")
            ));
        }
        brokers.push(format!("{{\"broker\":{broker},\"logDirs\":[{}]}}", log_dirs.join(",")));
    }
    format!("{{\"version\":1,\"brokers\":[{}]}}", brokers.join(","))
}

pub fn main(args: Vec<String>) -> i32 {
    let opts: LogDirsCommandOptions = match super::parse_args(&args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let args = match validate(opts) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            eprintln!("This tool helps to query log directory usage on the specified brokers.");
            return 1;
        }
    };
    let rt = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    rt.block_on(run(args))
}

async fn run(args: LogDirsArgs) -> i32 {
    let mut admin = match crate::client::KafkaClient::with_config_file(
        &args.bootstrap_server,
        "log-dirs-tool",
        Duration::from_secs(30),
        args.command_config.as_deref(),
    ) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let cluster = match admin.metadata(Some(&[]), false).await {
        Ok(m) => m,
        Err(e) => {
            eprintln!("Error while describing the cluster through {}: {e}", args.bootstrap_server);
            return 1;
        }
    };
    let brokers = match args.brokers {
        Some(b) => b,
        None => {
            let mut ids: Vec<i32> = cluster.brokers.iter().map(|b| b.node_id).collect();
            ids.sort_unstable();
            ids
        }
    };
    println!("Querying brokers for log directories information");
    let mut by_broker = BTreeMap::new();
    for &id in &brokers {
        let timeout = admin.timeout();
        match admin.describe_log_dirs(id, None, timeout).await {
            Ok(resp) => {
                by_broker.insert(id, resp.results);
            }
            Err(e) => {
                eprintln!("Error while querying broker {id} for its log directories: {e}");
                return 1;
            }
        }
    }
    println!(
        "Received log directory information from brokers {}",
        brokers.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(",")
    );
    println!("{}", format_as_json(&by_broker, &args.topics));
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::messages::describe_log_dirs::{DescribeLogDirsPartition, DescribeLogDirsTopic};

    fn opts(args: &[&str]) -> Result<LogDirsArgs, String> {
        let mut v = vec!["kafka-log-dirs.sh".to_string()];
        v.extend(args.iter().map(|s| s.to_string()));
        validate(LogDirsCommandOptions::try_parse_from(v).map_err(|e| e.to_string())?)
    }

    #[test]
    fn arguments() {
        let a = opts(&["--bootstrap-server", "h:1", "--describe"]).unwrap();
        assert_eq!(a, LogDirsArgs { bootstrap_server: "h:1".into(), topics: BTreeSet::new(), brokers: None, command_config: None });
        let a = opts(&["--bootstrap-server", "h:1", "--describe", "--broker-list", "0,1,", "--topic-list", "a,,b"]).unwrap();
        assert_eq!(a.brokers, Some(vec![0, 1]));
        assert_eq!(a.topics, ["a".to_string(), "b".to_string()].into_iter().collect());
        assert_eq!(opts(&["--describe"]).unwrap_err(), "Missing required argument \"[bootstrap-server]\"");
        assert_eq!(opts(&["--bootstrap-server", "h:1"]).unwrap_err(), "Missing required argument \"[describe]\"");
        assert!(opts(&["--bootstrap-server", "h:1", "--describe", "--broker-list", "0,x"]).unwrap_err().contains("\"x\""));
        assert!(opts(&["--bootstrap-server", "h:1", "--describe", "--bogus"]).is_err());
    }

    fn part(p: i32, size: i64, lag: i64, fut: bool) -> DescribeLogDirsPartition {
        DescribeLogDirsPartition { partition_index: p, partition_size: size, offset_lag: lag, is_future_key: fut, ..Default::default() }
    }

    #[test]
    fn json_as_kafka_prints_it() {
        let mut m = BTreeMap::new();
        m.insert(
            1,
            vec![
                DescribeLogDirsResult {
                    log_dir: "/y".into(),
                    error_code: error::KAFKA_STORAGE_ERROR,
                    ..Default::default()
                },
                DescribeLogDirsResult {
                    log_dir: "/x".into(),
                    topics: vec![
                        DescribeLogDirsTopic { name: "u".into(), partitions: vec![part(0, 5, 0, false)], ..Default::default() },
                        DescribeLogDirsTopic {
                            name: "t".into(),
                            partitions: vec![part(1, 7, 3, true), part(0, 123, 0, false)],
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                },
            ],
        );
        m.insert(0, vec![DescribeLogDirsResult { log_dir: "/a \"q\"".into(), ..Default::default() }]);
        assert_eq!(
            format_as_json(&m, &BTreeSet::new()),
            concat!(
                r#"{"version":1,"brokers":[{"broker":0,"logDirs":[{"logDir":"/a \"q\"","error":null,"partitions":[]}]},"#,
                r#"{"broker":1,"logDirs":[{"logDir":"/x","error":null,"partitions":["#,
                r#"{"partition":"t-0","size":123,"offsetLag":0,"isFuture":false},"#,
                r#"{"partition":"t-1","size":7,"offsetLag":3,"isFuture":true},"#,
                r#"{"partition":"u-0","size":5,"offsetLag":0,"isFuture":false}]},"#,
                r#"{"logDir":"/y","error":"org.apache.kafka.common.errors.KafkaStorageException","partitions":[]}]}]}"#
            )
        );
        let only_u: BTreeSet<String> = ["u".to_string()].into_iter().collect();
        let s = format_as_json(&m, &only_u);
        assert!(s.contains("\"u-0\"") && !s.contains("\"t-0\""), "{s}");
        serde_json::from_str::<serde_json::Value>(&s).unwrap();
    }

    #[test]
    fn exception_classes() {
        assert_eq!(exception_class(error::LOG_DIR_NOT_FOUND), "org.apache.kafka.common.errors.LogDirNotFoundException");
        assert_eq!(exception_class(error::KAFKA_STORAGE_ERROR), "org.apache.kafka.common.errors.KafkaStorageException");
        assert_eq!(exception_class(error::INVALID_TOPIC_EXCEPTION), "org.apache.kafka.common.errors.InvalidTopicException");
    }
}
