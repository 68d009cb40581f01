//! Log directories (KIP-113) on a real broker with two `log.dirs` under a real
//! ZooKeeper: a replica moved between the dirs with AlterReplicaLogDirs while
//! a producer writes (every acknowledged record read back once, in order; the
//! replica in the new dir, the old one gone; DescribeLogDirs and
//! `bin/kafka-log-dirs.sh` show it), a move interrupted by kill -9 that
//! resumes from its `-future` dir after the restart, a move asked for before
//! the replica exists (applied when LeaderAndIsr creates it), and bad input
//! (a dir not in `log.dirs`, a relative path, an unknown partition).

mod common;

use bytes::Bytes;
use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use zkafka::client::BrokerConnection;
use zkafka::protocol::compression::Compression;
use zkafka::protocol::error as codes;
use zkafka::protocol::messages::alter_replica_log_dirs::{
    AlterReplicaLogDir, AlterReplicaLogDirTopic, AlterReplicaLogDirsRequest, AlterReplicaLogDirsResponse,
};
use zkafka::protocol::messages::describe_log_dirs::{DescribeLogDirsRequest, DescribeLogDirsResponse};
use zkafka::protocol::messages::fetch::{FetchRequest, FetchRequestPartition, FetchRequestTopic, FetchResponse};
use zkafka::protocol::messages::produce::{ProduceRequest, ProduceRequestPartition, ProduceRequestTopic, ProduceResponse};
use zkafka::protocol::records::{self, RecordBatchBuilder};
use zkafka::zk::{AdminZkClient, KafkaZkClient, ZkClientConfig};

const TIMEOUT: Duration = Duration::from_secs(15);
/// The mover's throttle: slow enough that a move of ~150 KB takes seconds,
/// so the producer really writes during it.
const THROTTLE: &str = "60000";

async fn create_topic(zk: &KafkaZkClient, topic: &str) {
    let admin = AdminZkClient::new(zk.clone());
    admin.create_topic(topic, -1, -1, &BTreeMap::new(), Some(BTreeMap::from([(0, vec![0])]))).await.expect("create topic");
}

fn batch(values: &[String]) -> Bytes {
    let mut b = RecordBatchBuilder::new(Compression::None);
    for v in values {
        b.append(zkafka::common::now_ms(), None, Some(v.as_bytes()), &[]);
    }
    b.build().expect("build batch")
}

/// Produces `values` as one batch with acks=all; returns the error code.
async fn produce(c: &mut BrokerConnection, topic: &str, values: &[String]) -> i16 {
    let req = ProduceRequest {
        acks: -1,
        timeout_ms: 10_000,
        topic_data: vec![ProduceRequestTopic {
            name: topic.into(),
            partition_data: vec![ProduceRequestPartition { index: 0, records: Some(batch(values)), ..Default::default() }],
            ..Default::default()
        }],
        ..Default::default()
    };
    match c.send_timeout::<_, ProduceResponse>(8, &req, Duration::from_secs(20)).await {
        Ok(resp) => resp.responses[0].partition_responses[0].error_code,
        Err(_) => -100,
    }
}

/// Every record value of partition 0, from offset 0, in offset order.
async fn read_all(addr: &str, topic: &str) -> Vec<String> {
    let mut c = BrokerConnection::connect(addr, "test-consumer", TIMEOUT).await.expect("connect");
    let mut out = Vec::new();
    let mut offset = 0i64;
    loop {
        let req = FetchRequest {
            replica_id: -1,
            max_wait_ms: 0,
            topics: vec![FetchRequestTopic {
                topic: topic.into(),
                partitions: vec![FetchRequestPartition {
                    partition: 0,
                    current_leader_epoch: -1,
                    fetch_offset: offset,
                    last_fetched_epoch: -1,
                    log_start_offset: -1,
                    partition_max_bytes: 1 << 20,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let resp: FetchResponse = c.send_timeout(11, &req, TIMEOUT).await.expect("fetch");
        let p = &resp.responses[0].partition_responses[0];
        assert_eq!(p.error_code, codes::NONE, "fetch {topic} at {offset}");
        let data = p.records.clone().unwrap_or_default();
        if data.is_empty() {
            assert_eq!(offset, p.high_watermark, "read stopped before the high watermark");
            return out;
        }
        for b in records::batches(data) {
            let b = b.expect("batch");
            for r in b.records().expect("records") {
                out.push(String::from_utf8(r.value.expect("value").to_vec()).expect("utf8"));
            }
            offset = b.last_offset() + 1;
        }
    }
}

async fn describe(addr: &str, version: i16) -> DescribeLogDirsResponse {
    let mut c = BrokerConnection::connect(addr, "test-admin", TIMEOUT).await.expect("connect");
    c.send_timeout(version, &DescribeLogDirsRequest::default(), TIMEOUT).await.expect("describe log dirs")
}

/// (dir, size, is_future) of every replica of `topic`-0 DescribeLogDirs reports.
async fn replicas_of(addr: &str, topic: &str) -> Vec<(String, i64, i64, bool)> {
    let resp = describe(addr, 2).await;
    let mut out = Vec::new();
    for d in resp.results {
        assert_eq!(d.error_code, codes::NONE);
        for t in d.topics.iter().filter(|t| t.name == topic) {
            for p in t.partitions.iter().filter(|p| p.partition_index == 0) {
                out.push((d.log_dir.clone(), p.partition_size, p.offset_lag, p.is_future_key));
            }
        }
    }
    out
}

async fn alter(addr: &str, version: i16, dir: &str, topic: &str) -> i16 {
    let req = AlterReplicaLogDirsRequest {
        dirs: vec![AlterReplicaLogDir {
            path: dir.into(),
            topics: vec![AlterReplicaLogDirTopic { name: topic.into(), partitions: vec![0], ..Default::default() }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut c = BrokerConnection::connect(addr, "test-admin", TIMEOUT).await.expect("connect");
    let resp: AlterReplicaLogDirsResponse = c.send_timeout(version, &req, TIMEOUT).await.expect("alter replica log dirs");
    assert_eq!(resp.results.len(), 1);
    assert_eq!(resp.results[0].topic_name, topic);
    resp.results[0].partitions[0].error_code
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|it| it.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn segment_bytes(dir: &Path) -> i64 {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
                .map(|e| e.metadata().map(|m| m.len() as i64).unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
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

fn values(tag: &str, from: usize, n: usize) -> Vec<String> {
    (from..from + n).map(|i| format!("{tag}-{i:05}-{}", "x".repeat(100))).collect()
}

/// Produces `batches` batches of 10 records tagged `tag`; returns them all.
async fn produce_batches(c: &mut BrokerConnection, topic: &str, tag: &str, batches: usize) -> Vec<String> {
    let mut all = Vec::new();
    for i in 0..batches {
        let v = values(tag, i * 10, 10);
        assert_eq!(produce(c, topic, &v).await, codes::NONE, "produce {tag} batch {i}");
        all.extend(v);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_moves_between_log_dirs_while_producing() {
    let zk_connect = format!("{}{}", zookeeper().connect_string(), chroot("logdirs"));
    let base = temp_dir("logdirs");
    let (dir_a, dir_b) = (base.join("a"), base.join("b"));
    let dirs = format!("{},{}", dir_a.display(), dir_b.display());
    // The throttle is a dynamic broker config, in /config/brokers/0 before the broker starts.
    let zk = KafkaZkClient::connect(ZkClientConfig::new(&zk_connect)).await.expect("zk");
    zk.create_top_level_paths().await.expect("paths");
    zk.set_or_create_entity_config(
        "brokers",
        "0",
        &BTreeMap::from([("replica.alter.log.dirs.io.max.bytes.per.second".to_string(), THROTTLE.to_string())]),
    )
    .await
    .expect("throttle config");
    let mut broker = tokio::task::block_in_place(|| {
        Broker::start(0, &zk_connect, &[("log.dirs", dirs.as_str()), ("log.segment.bytes", "20000")])
    });
    let addr = broker.addr();

    // --- bad input -----------------------------------------------------------
    assert_eq!(alter(&addr, 1, base.join("c").to_str().unwrap(), "nosuch").await, codes::LOG_DIR_NOT_FOUND);
    assert_eq!(alter(&addr, 0, "a", "nosuch").await, codes::LOG_DIR_NOT_FOUND, "a relative path");
    assert_eq!(alter(&addr, 2, "", "nosuch").await, codes::LOG_DIR_NOT_FOUND);

    // --- a move asked for before the replica exists --------------------------
    // REPLICA_NOT_AVAILABLE now, and the replica is created in that dir later.
    let early = "early";
    for (want, other) in [(&dir_b, &dir_a), (&dir_a, &dir_b)] {
        let topic = format!("{early}-{}", want.file_name().unwrap().to_string_lossy());
        assert_eq!(alter(&addr, 1, want.to_str().unwrap(), &topic).await, codes::REPLICA_NOT_AVAILABLE);
        create_topic(&zk, &topic).await;
        let t = topic.clone();
        let w = want.clone();
        wait_until(&format!("{topic} created in {}", want.display()), TIMEOUT, || {
            let (t, w) = (t.clone(), w.clone());
            async move { w.join(format!("{t}-0")).is_dir() }
        })
        .await;
        assert!(!other.join(format!("{topic}-0")).exists());
    }

    // --- the move while producing ---------------------------------------------
    let topic = "moving";
    create_topic(&zk, topic).await;
    let mut producer = {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let mut c = BrokerConnection::connect(&addr, "test-producer", TIMEOUT).await.expect("connect");
            if produce(&mut c, topic, &values("probe", 0, 1)).await == codes::NONE {
                break c;
            }
            assert!(Instant::now() < deadline, "topic {topic} never became writable");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let mut acked = values("probe", 0, 1);
    acked.extend(produce_batches(&mut producer, topic, "before", 15).await); // ~17 KB a record set, ~25 KB in all
    acked.extend(produce_batches(&mut producer, topic, "before2", 100).await); // ~120 KB more
    let (src, dst) = if dir_a.join("moving-0").is_dir() { (dir_a.clone(), dir_b.clone()) } else { (dir_b.clone(), dir_a.clone()) };
    assert!(src.join("moving-0").is_dir());
    // Moving to where it already is changes nothing.
    assert_eq!(alter(&addr, 2, src.to_str().unwrap(), topic).await, codes::NONE);
    assert!(entries(&dst).iter().all(|n| !n.starts_with("moving-0")));

    let size_at_start = segment_bytes(&src.join("moving-0"));
    let started = Instant::now();
    assert_eq!(alter(&addr, 1, dst.to_str().unwrap(), topic).await, codes::NONE);
    // While the (throttled) move runs: keep producing, and DescribeLogDirs
    // shows the future replica in the destination with its lag.
    let mut saw_future = false;
    let mut during = 0usize;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let v = values("during", during * 10, 10);
        assert_eq!(produce(&mut producer, topic, &v).await, codes::NONE, "produce during the move");
        acked.extend(v);
        during += 1;
        let reps = replicas_of(&addr, topic).await;
        if reps.iter().any(|(d, _, lag, fut)| *fut && Path::new(d) == dst && *lag >= 0) {
            saw_future = true;
            assert!(reps.iter().any(|(d, _, _, fut)| !*fut && Path::new(d) == src), "current replica still in the source: {reps:?}");
            assert!(entries(&dst).iter().any(|n| n.starts_with("moving-0.") && n.ends_with("-future")), "{:?}", entries(&dst));
        }
        if dst.join("moving-0").is_dir() && !reps.iter().any(|(_, _, _, fut)| *fut) {
            break;
        }
        assert!(Instant::now() < deadline, "move did not finish: {reps:?}\n{}", broker.log_tail(30));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The throttle held: at most one second's burst plus the rate. (A lower
    // bound on the time only: a slow machine can only make it longer.)
    let rate: f64 = THROTTLE.parse().unwrap();
    let min_secs = (size_at_start as f64 - rate) / rate;
    let took = started.elapsed().as_secs_f64();
    assert!(took >= min_secs * 0.95, "{size_at_start} bytes moved in {took:.2} s, faster than {THROTTLE} B/s allows");
    assert!(saw_future, "DescribeLogDirs never showed the future replica");
    assert!(during >= 3, "the producer wrote only {during} batches during the move");
    acked.extend(produce_batches(&mut producer, topic, "after", 5).await);

    // Everything acknowledged, once, in order; the replica lives in the new dir.
    assert_eq!(read_all(&addr, topic).await, acked);
    assert!(!src.join("moving-0").exists(), "old dir still there: {:?}", entries(&src));
    assert!(entries(&src).iter().all(|n| !n.contains("moving-0")), "{:?}", entries(&src));
    assert!(entries(&dst).iter().all(|n| !n.ends_with("-future") && !n.ends_with("-delete")), "{:?}", entries(&dst));
    let reps = replicas_of(&addr, topic).await;
    assert_eq!(reps.len(), 1, "{reps:?}");
    let (d, size, lag, fut) = &reps[0];
    assert_eq!((Path::new(d), *lag, *fut), (dst.as_path(), 0, false));
    assert_eq!(*size, segment_bytes(&dst.join("moving-0")));
    // Every version of DescribeLogDirs answers, with both dirs.
    for v in 0..=2 {
        let resp = describe(&addr, v).await;
        let mut got: Vec<PathBuf> = resp.results.iter().map(|r| PathBuf::from(&r.log_dir)).collect();
        got.sort();
        assert_eq!(got, vec![dir_a.clone(), dir_b.clone()], "v{v}");
    }

    // --- bin/kafka-log-dirs.sh --------------------------------------------------
    let out = Command::new(repo_root().join("bin/kafka-log-dirs.sh"))
        .args(["--bootstrap-server", &addr, "--describe", "--topic-list", "moving"])
        .env("ZKAFKA_BIN", zkafka_bin())
        .env("ZKAFKA_NO_BUILD", "1")
        .output()
        .expect("run kafka-log-dirs.sh");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "kafka-log-dirs.sh failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert_eq!(lines[0], "Querying brokers for log directories information");
    assert_eq!(lines[1], "Received log directory information from brokers 0");
    let json: serde_json::Value = serde_json::from_str(lines[2]).expect("JSON");
    assert_eq!(json["version"], 1);
    let brokers = json["brokers"].as_array().expect("brokers");
    assert_eq!(brokers.len(), 1);
    assert_eq!(brokers[0]["broker"], 0);
    let log_dirs = brokers[0]["logDirs"].as_array().expect("logDirs");
    assert_eq!(log_dirs.len(), 2);
    for ld in log_dirs {
        assert!(ld["error"].is_null());
        let parts = ld["partitions"].as_array().expect("partitions");
        if Path::new(ld["logDir"].as_str().unwrap()) == dst {
            assert_eq!(parts.len(), 1, "{ld}");
            assert_eq!(parts[0]["partition"], "moving-0");
            assert_eq!(parts[0]["size"].as_i64(), Some(*size));
            assert_eq!(parts[0]["offsetLag"], 0);
            assert_eq!(parts[0]["isFuture"], false);
        } else {
            assert!(parts.is_empty(), "--topic-list moving shows only moving: {ld}");
        }
    }
    // The same with --broker-list and no topic list: the early-* topics too.
    let out = Command::new(repo_root().join("bin/kafka-log-dirs.sh"))
        .args(["--bootstrap-server", &addr, "--describe", "--broker-list", "0"])
        .env("ZKAFKA_BIN", zkafka_bin())
        .env("ZKAFKA_NO_BUILD", "1")
        .output()
        .expect("run kafka-log-dirs.sh");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success());
    assert!(stdout.contains("\"partition\":\"early-a-0\"") && stdout.contains("\"partition\":\"early-b-0\""), "{stdout}");
    // Bad usage: a message and a non-zero exit.
    let out = Command::new(repo_root().join("bin/kafka-log-dirs.sh"))
        .args(["--bootstrap-server", &addr])
        .env("ZKAFKA_BIN", zkafka_bin())
        .env("ZKAFKA_NO_BUILD", "1")
        .output()
        .expect("run kafka-log-dirs.sh");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Missing required argument \"[describe]\""));

    // --- a move interrupted by kill -9 resumes after the restart ---------------
    let topic = "resumed";
    create_topic(&zk, topic).await;
    wait_until("resumed writable", TIMEOUT, || {
        let addr = addr.clone();
        async move {
            let mut c = BrokerConnection::connect(&addr, "p", TIMEOUT).await.expect("connect");
            produce(&mut c, "resumed", &values("probe", 0, 1)).await == codes::NONE
        }
    })
    .await;
    let mut acked = read_all(&addr, topic).await;
    let mut producer = BrokerConnection::connect(&addr, "test-producer", TIMEOUT).await.expect("connect");
    acked.extend(produce_batches(&mut producer, topic, "pre", 150).await); // ~180 KB: 3 s at the throttle
    let (src, dst) = if dir_a.join("resumed-0").is_dir() { (dir_a.clone(), dir_b.clone()) } else { (dir_b.clone(), dir_a.clone()) };
    assert_eq!(alter(&addr, 2, dst.to_str().unwrap(), topic).await, codes::NONE);
    wait_until("a future dir with data", TIMEOUT, || {
        let dst = dst.clone();
        async move {
            entries(&dst).iter().any(|n| n.starts_with("resumed-0.") && n.ends_with("-future") && segment_bytes(&dst.join(n)) > 0)
        }
    })
    .await;
    broker.kill();
    let future_dir = entries(&dst).into_iter().find(|n| n.starts_with("resumed-0.") && n.ends_with("-future"));
    assert!(future_dir.is_some() && src.join("resumed-0").is_dir(), "killed mid-move: {:?} / {:?}", entries(&src), entries(&dst));
    // The restarted broker registers once ZooKeeper has expired the old session.
    wait_until("the killed broker's session to expire", Duration::from_secs(60), || {
        let zk = zk.clone();
        async move { zk.get_all_broker_ids().await.is_ok_and(|ids| ids.is_empty()) }
    })
    .await;
    tokio::task::block_in_place(|| broker.restart());
    let addr = broker.addr();
    wait_until("the resumed move to finish", Duration::from_secs(120), || {
        let (src, dst) = (src.clone(), dst.clone());
        async move { dst.join("resumed-0").is_dir() && !src.join("resumed-0").exists() && entries(&dst).iter().all(|n| !n.ends_with("-future")) }
    })
    .await;
    let mut producer = BrokerConnection::connect(&addr, "test-producer", TIMEOUT).await.expect("connect");
    acked.extend(produce_batches(&mut producer, topic, "post", 3).await);
    assert_eq!(read_all(&addr, topic).await, acked);
    assert!(broker.log_contains("loaded future log of resumed-0"));
    // The moved "moving" replica stayed where it went.
    assert!(dst_has(&dir_a, &dir_b, "moving-0"));
    tokio::task::block_in_place(|| broker.stop());
}

fn dst_has(a: &Path, b: &Path, name: &str) -> bool {
    a.join(name).is_dir() != b.join(name).is_dir()
}
