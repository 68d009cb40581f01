//! Replication between real broker processes under a real ZooKeeper: logs
//! end byte-identical, the high watermark waits for the followers, a
//! restarted follower catches up (and keeps its checkpointed high
//! watermark), and divergent logs are truncated to the leader's (KIP-101's
//! `shouldNotAllowDivergentLogs` / `offsetsShouldNotGoBackwards`).

mod common;

use bytes::Bytes;
use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use zkafka::client::BrokerConnection;
use zkafka::protocol::error as codes;
use zkafka::protocol::messages::list_offsets::{
    ListOffsetsPartition, ListOffsetsRequest, ListOffsetsResponse, ListOffsetsTopic, LATEST_TIMESTAMP,
};
use zkafka::protocol::messages::produce::{ProduceRequest, ProduceRequestPartition, ProduceRequestTopic, ProduceResponse};
use zkafka::protocol::compression::Compression;
use zkafka::protocol::records::{self, RecordBatchBuilder};
use zkafka::zk::{AdminZkClient, KafkaZkClient, ZkClientConfig};

const TIMEOUT: Duration = Duration::from_secs(10);

fn cluster(n: i32, tag: &str, extra: &[(&str, &str)]) -> (String, Vec<Broker>) {
    let zk = format!("{}{}", zookeeper().connect_string(), chroot(tag));
    let mut props = vec![
        ("replica.lag.time.max.ms", "10000"),
        ("replica.fetch.wait.max.ms", "200"),
        ("replica.fetch.backoff.ms", "200"),
        ("controlled.shutdown.retry.backoff.ms", "200"),
        ("controlled.shutdown.max.retries", "2"),
        ("controller.socket.timeout.ms", "5000"),
        ("replica.high.watermark.checkpoint.interval.ms", "500"),
    ];
    props.extend_from_slice(extra);
    let brokers = (0..n).map(|id| Broker::start(id, &zk, &props)).collect();
    (zk, brokers)
}

async fn zk_client(connect: &str) -> KafkaZkClient {
    KafkaZkClient::connect(ZkClientConfig::new(connect)).await.expect("zk connect")
}

async fn create_topic(zk: &KafkaZkClient, topic: &str, replicas: Vec<i32>) {
    let admin = AdminZkClient::new(zk.clone());
    let assignment = BTreeMap::from([(0, replicas)]);
    admin.create_topic(topic, -1, -1, &BTreeMap::new(), Some(assignment)).await.expect("create topic");
}

async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// (leader, isr) from the partition state znode.
async fn state(zk: &KafkaZkClient, topic: &str) -> Option<(i32, Vec<i32>)> {
    zk.get_partition_state(topic, 0).await.ok().flatten().map(|s| (s.leader_and_isr.leader, s.leader_and_isr.isr))
}

async fn wait_for_isr(zk: &KafkaZkClient, topic: &str, leader: i32, mut isr: Vec<i32>, timeout: Duration) {
    isr.sort();
    wait_until(&format!("{topic} leader {leader} isr {isr:?}"), timeout, || async {
        match state(zk, topic).await {
            Some((l, mut i)) => {
                i.sort();
                l == leader && i == isr
            }
            None => false,
        }
    })
    .await;
}

fn batch(value: &str) -> Bytes {
    let mut b = RecordBatchBuilder::new(Compression::None);
    b.append(zkafka::common::now_ms(), None, Some(value.as_bytes()), &[]);
    b.build().expect("build batch")
}

/// Produces one single-record batch; returns (error, base offset).
async fn produce(addr: &str, topic: &str, acks: i16, value: &str) -> (i16, i64) {
    let req = ProduceRequest {
        acks,
        timeout_ms: 5000,
        topic_data: vec![ProduceRequestTopic {
            name: topic.into(),
            partition_data: vec![ProduceRequestPartition { index: 0, records: Some(batch(value)), ..Default::default() }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut c = BrokerConnection::connect(addr, "test-producer", TIMEOUT).await.expect("connect");
    let resp: ProduceResponse = c.send_timeout(8, &req, Duration::from_secs(15)).await.expect("produce");
    let p = &resp.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

/// The consumer-visible end (the high watermark) via ListOffsets latest.
async fn high_watermark(addr: &str, topic: &str) -> i64 {
    let req = ListOffsetsRequest {
        replica_id: -1,
        topics: vec![ListOffsetsTopic {
            name: topic.into(),
            partitions: vec![ListOffsetsPartition { partition_index: 0, timestamp: LATEST_TIMESTAMP, ..Default::default() }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut c = BrokerConnection::connect(addr, "test", TIMEOUT).await.expect("connect");
    let resp: ListOffsetsResponse = c.send_timeout(5, &req, TIMEOUT).await.expect("list offsets");
    let p = &resp.topics[0].partitions[0];
    assert_eq!(p.error_code, codes::NONE, "ListOffsets error");
    p.offset
}

fn partition_dir(b: &Broker, topic: &str) -> PathBuf {
    b.log_dir.join(format!("{topic}-0"))
}

/// All segment bytes of partition 0, in offset order.
fn log_bytes(b: &Broker, topic: &str) -> Vec<u8> {
    let dir = partition_dir(b, topic);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|it| it.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "log")).collect())
        .unwrap_or_default();
    files.sort();
    files.iter().flat_map(|f| std::fs::read(f).unwrap_or_default()).collect()
}

/// (base offset, last offset) of every batch in the log bytes.
fn batch_offsets(bytes: &[u8]) -> Vec<(i64, i64)> {
    records::batches(Bytes::copy_from_slice(bytes))
        .map_while(Result::ok)
        .map(|b| (b.base_offset(), b.last_offset()))
        .collect()
}

fn signal(b: &Broker, sig: &str) {
    let pid = b.pid().expect("running broker");
    let _ = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status();
}

fn checkpointed_hw(log_dir: &Path, topic: &str) -> Option<i64> {
    let text = std::fs::read_to_string(log_dir.join("replication-offset-checkpoint")).ok()?;
    text.lines().skip(2).find_map(|l| {
        let mut it = l.split_whitespace();
        let (t, p, o) = (it.next()?, it.next()?, it.next()?);
        (t == topic && p == "0").then(|| o.parse().ok()).flatten()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_brokers_logs_identical_and_high_watermark_waits_for_followers() {
    let (connect, brokers) = cluster(3, "repl3", &[]);
    let zk = zk_client(&connect).await;
    let topic = "replicated";
    create_topic(&zk, topic, vec![0, 1, 2]).await;
    wait_for_isr(&zk, topic, 0, vec![0, 1, 2], Duration::from_secs(30)).await;
    let leader = brokers[0].addr();

    for i in 0..30 {
        let (err, offset) = produce(&leader, topic, -1, &format!("v{i}")).await;
        assert_eq!((err, offset), (codes::NONE, i), "acks=all produce {i}");
    }
    assert_eq!(high_watermark(&leader, topic).await, 30);
    wait_until("byte-identical logs on all three brokers", Duration::from_secs(20), || async {
        let l = log_bytes(&brokers[0], topic);
        l.len() > 0 && brokers[1..].iter().all(|b| log_bytes(b, topic) == l)
    })
    .await;
    let offsets = batch_offsets(&log_bytes(&brokers[2], topic));
    assert_eq!(offsets, (0..30).map(|i| (i, i)).collect::<Vec<_>>());

    // Freeze both followers: acks=1 writes land on the leader only and the
    // high watermark must not move past what the followers have.
    signal(&brokers[1], "STOP");
    signal(&brokers[2], "STOP");
    tokio::time::sleep(Duration::from_millis(700)).await;
    for i in 30..35 {
        let (err, offset) = produce(&leader, topic, 1, &format!("v{i}")).await;
        assert_eq!((err, offset), (codes::NONE, i));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(high_watermark(&leader, topic).await, 30, "HW moved without the followers");
    signal(&brokers[1], "CONT");
    signal(&brokers[2], "CONT");
    wait_until("HW 35 once the followers fetch", Duration::from_secs(15), || async {
        high_watermark(&leader, topic).await == 35
    })
    .await;
    wait_until("byte-identical logs after resume", Duration::from_secs(20), || async {
        let l = log_bytes(&brokers[0], topic);
        brokers[1..].iter().all(|b| log_bytes(b, topic) == l)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_catches_up_after_restart_and_keeps_its_high_watermark() {
    let (connect, mut brokers) = cluster(3, "repl-restart", &[]);
    let zk = zk_client(&connect).await;
    let topic = "catchup";
    create_topic(&zk, topic, vec![0, 1, 2]).await;
    wait_for_isr(&zk, topic, 0, vec![0, 1, 2], Duration::from_secs(30)).await;
    let leader = brokers[0].addr();
    for i in 0..20 {
        assert_eq!(produce(&leader, topic, -1, &format!("a{i}")).await.0, codes::NONE);
    }
    // Let the follower learn HW 20 and checkpoint it, then stop it cleanly.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    brokers[2].stop();
    assert_eq!(checkpointed_hw(&brokers[2].log_dir, topic), Some(20), "follower checkpointed its high watermark");

    for i in 20..50 {
        assert_eq!(produce(&leader, topic, 1, &format!("b{i}")).await.0, codes::NONE);
    }
    brokers[2].restart();
    wait_until("restarted follower has the leader's log", Duration::from_secs(30), || async {
        log_bytes(&brokers[2], topic) == log_bytes(&brokers[0], topic)
    })
    .await;
    wait_for_isr(&zk, topic, 0, vec![0, 1, 2], Duration::from_secs(30)).await;
    wait_until("HW 50", Duration::from_secs(10), || async { high_watermark(&leader, topic).await == 50 }).await;
    assert_eq!(batch_offsets(&log_bytes(&brokers[2], topic)).len(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn divergent_logs_end_identical_and_offsets_never_go_backwards() {
    let (connect, mut brokers) = cluster(2, "repl-diverge", &[]);
    let zk = zk_client(&connect).await;
    let topic = "diverge";
    create_topic(&zk, topic, vec![0, 1]).await;
    wait_for_isr(&zk, topic, 0, vec![0, 1], Duration::from_secs(30)).await;
    for i in 0..10 {
        assert_eq!(produce(&brokers[0].addr(), topic, -1, &format!("first-{i}")).await, (codes::NONE, i));
    }
    wait_until("follower has all 10", Duration::from_secs(15), || async {
        log_bytes(&brokers[1], topic) == log_bytes(&brokers[0], topic)
    })
    .await;
    // Follower first, then the leader.
    brokers[1].stop();
    brokers[0].stop();

    // Crash simulation on the leader: cut the last 5 batches and drop the
    // clean-shutdown marker.
    let dir = partition_dir(&brokers[0], topic);
    let seg = dir.join(format!("{:020}.log", 0));
    let bytes = std::fs::read(&seg).unwrap();
    let keep_batches = batch_offsets(&bytes).len() - 5;
    let mut keep = 0usize;
    for b in records::batches(Bytes::from(bytes.clone())).take(keep_batches) {
        keep += b.unwrap().size_in_bytes();
    }
    std::fs::OpenOptions::new().write(true).open(&seg).unwrap().set_len(keep as u64).unwrap();
    let _ = std::fs::remove_file(brokers[0].log_dir.join(".kafka_cleanshutdown"));

    brokers[0].restart();
    wait_until("restarted leader leads again", Duration::from_secs(30), || async {
        matches!(state(&zk, topic).await, Some((0, _)))
    })
    .await;
    // ZooKeeper names the restarted broker leader before its LeaderAndIsr
    // has arrived; until then it answers the first write with a retriable
    // error and appends nothing, and a client retries, so the test does too
    // (for that first write only).
    let mut offsets_written = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    for i in 0..10 {
        let (err, off) = loop {
            let (err, off) = produce(&brokers[0].addr(), topic, 1, &format!("second-{i}")).await;
            let retriable = err == codes::UNKNOWN_TOPIC_OR_PARTITION || err == codes::NOT_LEADER_OR_FOLLOWER;
            if i == 0 && retriable && std::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            break (err, off);
        };
        assert_eq!(err, codes::NONE, "write after leader restart");
        offsets_written.push(off);
    }
    assert_eq!(offsets_written.first(), Some(&5), "leader lost its last 5 records and continues at 5");

    brokers[1].restart();
    wait_until("follower log identical to the leader's", Duration::from_secs(30), || async {
        let l = log_bytes(&brokers[0], topic);
        log_bytes(&brokers[1], topic) == l
    })
    .await;
    let follower = batch_offsets(&log_bytes(&brokers[1], topic));
    assert_eq!(follower.len(), 15);
    assert!(follower.windows(2).all(|w| w[1].0 > w[0].1), "offsets strictly increase: {follower:?}");
    // The follower's copy holds the leader's second batch of values.
    let last = records::batches(Bytes::from(log_bytes(&brokers[1], topic))).last().unwrap().unwrap();
    let recs = last.records().unwrap();
    assert_eq!(recs[0].value.as_deref(), Some(&b"second-9"[..]));
}

/// A producer's pipelined acks=all requests on one connection: the leader
/// appends each as it arrives while the earlier ones wait for the ISR, and
/// answers all of them, and the non-Produce request behind them, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_acks_all_produces_are_appended_while_waiting_and_answered_in_order() {
    pipelined_produces("repl-pipe", &[], 10, 5).await;
}

/// The frames of a connection's waiting produces count against
/// `socket.request.max.bytes`: with frames of about 1.2 kB and a limit of
/// 2,000 bytes, the second is read and appended while the first waits, the
/// third only once they are answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_produces_stop_being_read_at_socket_request_max_bytes() {
    pipelined_produces("repl-pipe-bytes", &[("socket.request.max.bytes", "2000")], 1000, 2).await;
}

/// Follower stopped (still in the ISR: replica.lag.time.max.ms 10 s), five
/// acks=all Produce requests of `value_size`-byte records and a Metadata
/// request written at once on one connection: `appended` of them must be in
/// the leader's log while nothing is answered; once the follower resumes,
/// all six are answered in order.
async fn pipelined_produces(tag: &str, extra: &[(&str, &str)], value_size: usize, appended: usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use zkafka::protocol::messages::metadata::{MetadataRequest, MetadataResponse};
    use zkafka::protocol::{encode_request_frame, Message, Reader, ResponseHeader};

    let (connect, brokers) = cluster(2, tag, extra);
    let zk = zk_client(&connect).await;
    let topic = "pipelined";
    create_topic(&zk, topic, vec![0, 1]).await;
    wait_for_isr(&zk, topic, 0, vec![0, 1], Duration::from_secs(30)).await;
    let (err, offset) = produce(&brokers[0].addr(), topic, -1, "first").await;
    assert_eq!((err, offset), (codes::NONE, 0));

    signal(&brokers[1], "STOP");
    let mut s = tokio::net::TcpStream::connect(brokers[0].addr()).await.expect("connect");
    let mut frames = Vec::new();
    for i in 1..=5 {
        let value = format!("p{i}-{}", "x".repeat(value_size));
        let req = ProduceRequest {
            acks: -1,
            timeout_ms: 30_000,
            topic_data: vec![ProduceRequestTopic {
                name: topic.into(),
                partition_data: vec![ProduceRequestPartition { index: 0, records: Some(batch(&value)), ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        };
        frames.extend_from_slice(&encode_request_frame(i, 8, Some("pipe"), &req).expect("encode"));
    }
    let meta = MetadataRequest { topics: None, ..Default::default() };
    frames.extend_from_slice(&encode_request_frame(6, 9, Some("pipe"), &meta).expect("encode"));
    s.write_all(&frames).await.expect("send");

    wait_until(&format!("{appended} pipelined batches appended on the leader"), Duration::from_secs(10), || async {
        batch_offsets(&log_bytes(&brokers[0], topic)).len() == 1 + appended
    })
    .await;
    let mut size = [0u8; 4];
    let early = tokio::time::timeout(Duration::from_millis(500), s.read_exact(&mut size)).await;
    assert!(early.is_err(), "nothing may be answered while the ISR lacks the first produce");
    assert_eq!(batch_offsets(&log_bytes(&brokers[0], topic)).len(), 1 + appended, "no more appended while waiting");

    signal(&brokers[1], "CONT");
    for i in 1..=6 {
        let n = tokio::time::timeout(Duration::from_secs(20), s.read_i32()).await.expect("an answer").expect("read");
        let mut buf = vec![0u8; n as usize];
        s.read_exact(&mut buf).await.expect("read");
        let mut r = Reader::new(Bytes::from(buf));
        if i <= 5 {
            let h = ResponseHeader::decode(&mut r, ProduceRequest::API_KEY.response_header_version(8)).expect("header");
            assert_eq!(h.correlation_id, i, "answers in request order");
            let resp = ProduceResponse::decode(&mut r, 8).expect("produce response");
            let p = &resp.responses[0].partition_responses[0];
            assert_eq!((p.error_code, p.base_offset), (codes::NONE, i as i64), "produce {i}");
        } else {
            let h = ResponseHeader::decode(&mut r, MetadataRequest::API_KEY.response_header_version(9)).expect("header");
            assert_eq!(h.correlation_id, 6, "the Metadata request is answered after the produces");
            let resp = MetadataResponse::decode(&mut r, 9).expect("metadata response");
            assert!(resp.topics.iter().any(|t| t.name == topic));
        }
    }
    assert_eq!(high_watermark(&brokers[0].addr(), topic).await, 6);
    assert_eq!(batch_offsets(&log_bytes(&brokers[0], topic)), (0..6).map(|i| (i, i)).collect::<Vec<_>>());
}
