//! `kafka-console-producer`: reads lines from standard input and produces
//! them to a topic, optionally parsing a key from each line. Keyed records go
//! to the partition the Java client's murmur2 partitioner picks; records
//! without a key stick to one random partition per batch, like Kafka 2.8's
//! sticky partitioner. Maps to Kafka's `kafka.tools.ConsoleProducer`.

use crate::client::{ClientError, KafkaClient};
use crate::common::{now_ms, partition_for_key};
use crate::protocol::compression::Compression;
use crate::protocol::error::{self, error_name};
use crate::protocol::messages::produce::{ProduceRequest, ProduceRequestPartition, ProduceRequestTopic, ProduceResponse};
use crate::protocol::records::RecordBatchBuilder;
use bytes::Bytes;
use clap::Parser;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::time::Duration;

const PRODUCE_VERSION: i16 = 8;

#[derive(Parser, Debug)]
#[command(name = "kafka-console-producer.sh", about = "Read data from standard input and publish it to Kafka.", disable_version_flag = true)]
pub struct ProducerOptions {
    /// REQUIRED unless --broker-list(deprecated) is specified. The server(s) to connect to: host1:port1,host2:port2.
    #[arg(long)]
    pub bootstrap_server: Option<String>,
    /// DEPRECATED, use --bootstrap-server instead.
    #[arg(long)]
    pub broker_list: Option<String>,
    /// REQUIRED: The topic id to produce messages to.
    #[arg(long)]
    pub topic: Option<String>,
    /// The compression codec: either 'none', 'gzip', 'snappy', 'lz4', or 'zstd'. If specified without value, it defaults to 'gzip'.
    #[arg(long, num_args = 0..=1, default_missing_value = "gzip")]
    pub compression_codec: Option<String>,
    /// The required acks of the producer requests.
    #[arg(long, default_value = "-1", allow_hyphen_values = true)]
    pub request_required_acks: String,
    /// The ack timeout of the producer requests.
    #[arg(long, default_value_t = 1500)]
    pub request_timeout_ms: i32,
    /// If set message send requests to the brokers are synchronously, one at a time as they arrive.
    #[arg(long)]
    pub sync: bool,
    /// Number of messages to send in a single batch if they are not being sent synchronously.
    #[arg(long, default_value_t = 200)]
    pub batch_size: usize,
    /// Number of retries (accepted for compatibility).
    #[arg(long, default_value_t = 3)]
    pub message_send_max_retries: u32,
    /// A mechanism to pass user-defined properties to the message reader: parse.key, key.separator, ignore.error.
    #[arg(long)]
    pub property: Vec<String>,
    /// A mechanism to pass user-defined properties in the form key=value to the producer (acks, compression.type, security.protocol, ssl.*, sasl.* are honoured).
    #[arg(long)]
    pub producer_property: Vec<String>,
    /// Producer config properties file (acks, compression.type, security.protocol, ssl.*, sasl.* are honoured).
    #[arg(long = "producer.config")]
    pub producer_config: Option<String>,
}

/// The line reader's settings (`LineMessageReader` in Kafka).
#[derive(Debug, Clone)]
pub struct LineReader {
    pub parse_key: bool,
    pub key_separator: String,
    pub ignore_error: bool,
}

impl LineReader {
    pub fn from_properties(props: &[String]) -> Result<LineReader, String> {
        let mut r = LineReader { parse_key: false, key_separator: "\t".into(), ignore_error: false };
        for p in props {
            let (k, v) = p.split_once('=').ok_or_else(|| format!("Invalid property '{p}': expected key=value"))?;
            match k.trim() {
                "parse.key" => r.parse_key = v.trim().eq_ignore_ascii_case("true"),
                "key.separator" => r.key_separator = v.to_string(),
                "ignore.error" => r.ignore_error = v.trim().eq_ignore_ascii_case("true"),
                _ => {}
            }
        }
        Ok(r)
    }

    /// Splits a line into (key, value). With parse.key and no separator on
    /// the line, Kafka fails unless ignore.error is set (then the whole line
    /// is the value and the key is null).
    pub fn parse(&self, line_no: usize, line: &str) -> Result<(Option<Vec<u8>>, Vec<u8>), String> {
        if !self.parse_key {
            return Ok((None, line.as_bytes().to_vec()));
        }
        match line.find(&self.key_separator) {
            Some(i) => Ok((Some(line[..i].as_bytes().to_vec()), line[i + self.key_separator.len()..].as_bytes().to_vec())),
            None if self.ignore_error => Ok((None, line.as_bytes().to_vec())),
            None => Err(format!("No key separator found on line number {line_no}: '{line}'")),
        }
    }
}

fn read_props_file(path: &str) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    crate::config::parse_properties(&text).map_err(|e| e.to_string())
}

pub fn main(args: Vec<String>) -> i32 {
    let opts: ProducerOptions = match super::parse_args(&args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let Some(servers) = opts.bootstrap_server.clone().or(opts.broker_list.clone()) else {
        eprintln!("Missing required option(s) [bootstrap-server]");
        return 1;
    };
    let Some(topic) = opts.topic.clone() else {
        eprintln!("Missing required option(s) [topic]");
        return 1;
    };
    let reader = match LineReader::from_properties(&opts.property) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let mut producer_props: Vec<(String, String)> = Vec::new();
    if let Some(f) = &opts.producer_config {
        match read_props_file(f) {
            Ok(p) => producer_props.extend(p),
            Err(e) => {
                eprintln!("{e}");
                return 1;
            }
        }
    }
    for p in &opts.producer_property {
        match p.split_once('=') {
            Some((k, v)) => producer_props.push((k.trim().to_string(), v.trim().to_string())),
            None => {
                eprintln!("Invalid producer property '{p}': expected key=value");
                return 1;
            }
        }
    }
    let mut acks_s = opts.request_required_acks.clone();
    let mut codec_s = opts.compression_codec.clone().unwrap_or_else(|| "none".into());
    for (k, v) in &producer_props {
        match k.as_str() {
            "acks" => acks_s = v.clone(),
            "compression.type" => codec_s = v.clone(),
            _ => {}
        }
    }
    let acks: i16 = match acks_s.as_str() {
        "all" | "-1" => -1,
        "0" => 0,
        "1" => 1,
        other => {
            eprintln!("Invalid value {other} for acks: must be one of all, -1, 0, 1");
            return 1;
        }
    };
    let Some(codec) = Compression::from_name(&codec_s) else {
        eprintln!("Invalid compression codec '{codec_s}': must be one of none, gzip, snappy, lz4, zstd");
        return 1;
    };
    // security.protocol, ssl.*, sasl.*: the file's, then --producer-property's.
    let mut client_props = crate::client::client_config::ClientProperties::new();
    for (k, v) in &producer_props {
        client_props.set(k, v);
    }
    let security = match client_props.channel_security() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ERROR {e}");
            return 1;
        }
    };
    let rt = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let batch = if opts.sync { 1 } else { opts.batch_size.max(1) };
    match rt.block_on(run(servers, topic, reader, acks, codec, batch, opts.request_timeout_ms, security)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("ERROR {e}");
            1
        }
    }
}

/// A record waiting to be sent.
struct Pending {
    key: Option<Vec<u8>>,
    value: Vec<u8>,
    timestamp: i64,
}

#[allow(clippy::too_many_arguments)]
async fn run(
    servers: String,
    topic: String,
    reader: LineReader,
    acks: i16,
    codec: Compression,
    batch: usize,
    timeout_ms: i32,
    security: crate::client::ChannelSecurity,
) -> Result<(), String> {
    let mut client = KafkaClient::new(&servers, "console-producer", Duration::from_secs(10)).with_security(security);
    // Lines come from a blocking reader thread.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<(Option<Vec<u8>>, Vec<u8>), String>>(4096);
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        for (i, line) in stdin.lock().lines().enumerate() {
            let Ok(line) = line else { break };
            if tx.blocking_send(reader.parse(i + 1, &line)).is_err() {
                break;
            }
        }
    });
    let mut partitions = partition_count(&mut client, &topic).await?;
    let mut sticky: i32 = rand::random::<u32>() as i32 & 0x7fff_ffff;
    loop {
        let Some(first) = rx.recv().await else { return Ok(()) };
        let mut lines = vec![first];
        while lines.len() < batch {
            match rx.try_recv() {
                Ok(l) => lines.push(l),
                Err(_) => break,
            }
        }
        let mut by_partition: BTreeMap<i32, Vec<Pending>> = BTreeMap::new();
        sticky = (sticky + 1) & 0x7fff_ffff;
        for l in lines {
            let (key, value) = l?;
            let p = match &key {
                Some(k) => partition_for_key(k, partitions),
                None => sticky % partitions,
            };
            by_partition.entry(p).or_default().push(Pending { key, value, timestamp: now_ms() });
        }
        let mut attempt = 0;
        loop {
            match send(&mut client, &topic, acks, codec, timeout_ms, &by_partition).await {
                Ok(()) => break,
                Err(e) if attempt < 5 => {
                    attempt += 1;
                    log::warn!("produce failed ({e}), retrying");
                    tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
                    partitions = partition_count(&mut client, &topic).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Partition count of `topic`, waiting while it is being auto-created.
async fn partition_count(client: &mut KafkaClient, topic: &str) -> Result<i32, String> {
    for _ in 0..50 {
        let md = client.metadata(Some(&[topic.to_string()]), true).await.map_err(|e| e.to_string())?;
        if let Some(t) = md.topics.iter().find(|t| t.name == topic) {
            if t.error_code == error::NONE && !t.partitions.is_empty() {
                return Ok(t.partitions.len() as i32);
            }
            if !matches!(t.error_code, error::LEADER_NOT_AVAILABLE | error::UNKNOWN_TOPIC_OR_PARTITION) {
                return Err(format!("topic {topic}: {}", error_name(t.error_code)));
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("Topic {topic} not present in metadata after waiting"))
}

async fn send(
    client: &mut KafkaClient,
    topic: &str,
    acks: i16,
    codec: Compression,
    timeout_ms: i32,
    by_partition: &BTreeMap<i32, Vec<Pending>>,
) -> Result<(), String> {
    let md = client.metadata(Some(&[topic.to_string()]), false).await.map_err(|e| e.to_string())?;
    let Some(t) = md.topics.iter().find(|t| t.name == topic) else {
        return Err(format!("no metadata for topic {topic}"));
    };
    let mut by_leader: BTreeMap<i32, Vec<ProduceRequestPartition>> = BTreeMap::new();
    for (p, recs) in by_partition {
        let leader = t.partitions.iter().find(|x| x.partition_index == *p).map(|x| x.leader_id).unwrap_or(-1);
        if leader < 0 {
            return Err(format!("no leader for {topic}-{p}"));
        }
        let mut b = RecordBatchBuilder::new(codec);
        for r in recs {
            b.append(r.timestamp, r.key.as_deref(), Some(&r.value), &[]);
        }
        let records: Bytes = b.build().map_err(|e| e.to_string())?;
        by_leader.entry(leader).or_default().push(ProduceRequestPartition { index: *p, records: Some(records), ..Default::default() });
    }
    for (leader, parts) in by_leader {
        let req = ProduceRequest {
            transactional_id: None,
            acks,
            timeout_ms,
            topic_data: vec![ProduceRequestTopic { name: topic.to_string(), partition_data: parts, ..Default::default() }],
            ..Default::default()
        };
        let timeout = client.timeout() + Duration::from_millis(timeout_ms.max(0) as u64);
        let conn = client.connection(leader).await.map_err(|e| e.to_string())?;
        if acks == 0 {
            conn.send_no_response(PRODUCE_VERSION, &req).await.map_err(|e: ClientError| e.to_string())?;
            continue;
        }
        let resp: ProduceResponse = match conn.send_timeout(PRODUCE_VERSION, &req, timeout).await {
            Ok(r) => r,
            Err(e) => {
                client.drop_connection(leader);
                return Err(e.to_string());
            }
        };
        for tr in &resp.responses {
            for pr in &tr.partition_responses {
                if pr.error_code != error::NONE {
                    return Err(format!(
                        "Error when sending message to topic {} partition {}: {}{}",
                        tr.name,
                        pr.index,
                        error_name(pr.error_code),
                        pr.error_message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_reader_parses_keys() {
        let r = LineReader::from_properties(&["parse.key=true".into(), "key.separator=:".into()]).unwrap();
        assert_eq!(r.parse(1, "k:v:w").unwrap(), (Some(b"k".to_vec()), b"v:w".to_vec()));
        assert!(r.parse(2, "novalue").is_err());
        let r = LineReader::from_properties(&["parse.key=true".into(), "ignore.error=true".into()]).unwrap();
        assert_eq!(r.parse(1, "plain").unwrap(), (None, b"plain".to_vec()));
        assert_eq!(r.parse(1, "a\tb").unwrap(), (Some(b"a".to_vec()), b"b".to_vec()));
        let r = LineReader::from_properties(&[]).unwrap();
        assert_eq!(r.parse(1, "a\tb").unwrap(), (None, b"a\tb".to_vec()));
    }
}
