//! Integration tests of the ZooKeeper layer and the controller against a real
//! standalone ZooKeeper (Debian's `zookeeper` package), started once per test
//! binary on a free loopback port; every test works under its own chroot.
//! Controller requests are received by plain TCP listeners that stand in for
//! brokers and answer with empty successful responses.

use bytes::{Bytes, BytesMut};
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use zkafka::controller::{ControllerConfig, KafkaController};
use zkafka::protocol::error as codes;
use zkafka::protocol::messages::leader_and_isr::{LeaderAndIsrRequest, LeaderAndIsrResponse};
use zkafka::protocol::messages::update_metadata::{UpdateMetadataRequest, UpdateMetadataResponse};
use zkafka::protocol::{encode_response_frame, ApiKey, Message, Reader, RequestHeader};
use zkafka::zk::zk_data::{self, BrokerInfo, EndPoint, SecurityProtocol};
use zkafka::zk::{AdminZkClient, KafkaZkClient, ZkClientConfig, ZkError};

// ------------------------------------------------------------ ZooKeeper helper

/// Starts one standalone ZooKeeper for this test binary and returns "127.0.0.1:port".
/// The JVM runs under a shell that kills it when our stdin pipe closes (i.e.
/// when the test process exits).
fn zookeeper() -> &'static str {
    static ZK: OnceLock<String> = OnceLock::new();
    ZK.get_or_init(|| {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("zkafka-zk-test-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let j = "/usr/share/java";
        let cp = [
            "zookeeper.jar", "zookeeper-jute.jar", "slf4j-api.jar", "slf4j-nop.jar", "netty-handler.jar",
            "netty-transport.jar", "netty-common.jar", "netty-buffer.jar", "netty-codec.jar", "netty-resolver.jar",
            "netty-transport-native-unix-common.jar", "netty-transport-native-epoll.jar", "commons-cli.jar", "metrics-core.jar",
        ]
        .iter()
        .map(|f| format!("{j}/{f}"))
        .collect::<Vec<_>>()
        .join(":");
        let script = format!(
            "java -Xmx128m -cp '{cp}' org.apache.zookeeper.server.ZooKeeperServerMain {port} '{}' >'{}/zk.log' 2>&1 & J=$!; cat >/dev/null; kill $J; rm -rf '{}'",
            dir.display(),
            dir.display(),
            dir.display()
        );
        let child = Command::new("sh").arg("-c").arg(script).stdin(Stdio::piped()).spawn().expect("start zookeeper");
        std::mem::forget(child); // its stdin closes when we exit, stopping ZooKeeper
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "ZooKeeper did not start; see {}/zk.log", dir.display());
            std::thread::sleep(Duration::from_millis(200));
        }
        format!("127.0.0.1:{port}")
    })
}

async fn connect(chroot: &str) -> KafkaZkClient {
    let mut cfg = ZkClientConfig::new(format!("{}{chroot}", zookeeper()));
    cfg.session_timeout = Duration::from_secs(6);
    cfg.connection_timeout = Duration::from_secs(30);
    let zk = KafkaZkClient::connect(cfg).await.expect("connect to ZooKeeper");
    zk.create_top_level_paths().await.unwrap();
    zk
}

fn broker(id: i32, port: u16) -> BrokerInfo {
    BrokerInfo::new(id, vec![EndPoint::new("PLAINTEXT", SecurityProtocol::Plaintext, "127.0.0.1", port as i32)], None)
}

async fn wait_for<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ------------------------------------------------------------ tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_registration_json_and_epoch() {
    let zk = connect("/t_registration/kafka").await;
    let mut info = broker(1, 9092);
    info.timestamp = 1620000000000;
    let epoch = zk.register_broker(&info).await.unwrap();
    let (data, stat) = zk.get_data("/brokers/ids/1").await.unwrap().unwrap();
    assert_eq!(stat.czxid, epoch);
    assert_eq!(stat.ephemeral_owner, zk.session_id().unwrap());
    assert_eq!(
        String::from_utf8(data).unwrap(),
        r#"{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://127.0.0.1:9092"],"jmx_port":-1,"port":9092,"host":"127.0.0.1","version":5,"timestamp":"1620000000000"}"#
    );
    // same session registering again is fine and keeps the epoch
    assert_eq!(zk.register_broker(&info).await.unwrap(), epoch);
    let (b, e) = zk.get_broker(1).await.unwrap().unwrap();
    assert_eq!((b, e), (info, epoch));
    assert_eq!(zk.get_all_broker_ids().await.unwrap(), vec![1]);
    // the chroot was created and all top-level paths exist inside it
    let root = connect("").await;
    assert!(root.exists("/t_registration/kafka/brokers/topics").await.unwrap().is_some());
    assert!(root.exists("/t_registration/kafka/config/topics").await.unwrap().is_some());
    assert!(root.exists("/brokers/ids/1").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_broker_id_refused_while_first_session_lives() {
    let a = connect("/t_duplicate").await;
    let b = connect("/t_duplicate").await;
    let ea = a.register_broker(&broker(7, 1)).await.unwrap();
    let err = b.register_broker(&broker(7, 2)).await.unwrap_err();
    assert_eq!(err, ZkError::BrokerIdAlreadyRegistered(7));
    assert!(err.to_string().contains("broker id 7 already registered"));
    a.close();
    drop(a);
    wait_for("ephemeral to vanish", || async { b.exists("/brokers/ids/7").await.unwrap().is_none() }).await;
    let eb = b.register_broker(&broker(7, 2)).await.unwrap();
    assert!(eb > ea, "new registration has a larger epoch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_id_created_once() {
    let zk = connect("/t_cluster_id").await;
    let id = zk.get_or_create_cluster_id().await.unwrap();
    assert_eq!(id.len(), 22);
    assert!(id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    let other = connect("/t_cluster_id").await;
    assert_eq!(other.get_or_create_cluster_id().await.unwrap(), id);
    let (data, _) = zk.get_data("/cluster/id").await.unwrap().unwrap();
    assert_eq!(String::from_utf8(data).unwrap(), format!(r#"{{"version":"1","id":"{id}"}}"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn election_epochs_and_fencing() {
    let a = connect("/t_election").await;
    let b = connect("/t_election").await;
    let (ea, va) = a.register_controller_and_increment_controller_epoch(1).await.unwrap();
    assert_eq!(ea, 1);
    assert!(matches!(b.register_controller_and_increment_controller_epoch(2).await, Err(ZkError::ControllerMoved(_))));
    assert_eq!(b.get_controller_id().await.unwrap(), Some(1));
    assert_eq!(b.get_controller_epoch().await.unwrap(), Some((1, va)));
    let (data, _) = b.get_data("/controller").await.unwrap().unwrap();
    let s = String::from_utf8(data).unwrap();
    assert!(s.starts_with(r#"{"version":1,"brokerid":1,"timestamp":""#), "{s}");
    // a fenced write with the current epoch version works
    let tp = zkafka::common::TopicPartition::new("fenced", 0);
    let topic = zk_data::TopicAssignment::from_replicas(None, &BTreeMap::from([(0, vec![1])]));
    a.create_topic_assignment("fenced", &topic).await.unwrap();
    let st = zk_data::LeaderIsrAndControllerEpoch { leader_and_isr: zk_data::LeaderAndIsr::new(1, vec![1]), controller_epoch: ea };
    let r = a.create_partition_states(va, &[(tp.clone(), st.clone())]).await.unwrap();
    assert_eq!(r[0].1, Ok(0));
    // controller 1 goes away; 2 wins with epoch 2
    a.close();
    drop(a);
    wait_for("/controller to vanish", || async { b.get_controller_id().await.unwrap().is_none() }).await;
    let (eb, vb) = b.register_controller_and_increment_controller_epoch(2).await.unwrap();
    assert_eq!(eb, 2);
    assert_eq!(b.get_data("/controller_epoch").await.unwrap().unwrap().0, b"2");
    // the old epoch's zkVersion no longer fences anything
    let upd = vec![(tp.clone(), st.leader_and_isr.new_leader_and_isr(2, vec![2]))];
    assert!(matches!(b.update_leader_and_isr(va, eb, &upd).await, Err(ZkError::ControllerMoved(_))));
    assert!(matches!(b.delete_controller(va).await, Err(ZkError::ControllerMoved(_))));
    let done = b.update_leader_and_isr(vb, eb, &upd).await.unwrap();
    assert_eq!(done[0].1.as_ref().unwrap().zk_version, 1);
    let now = b.get_partition_state("fenced", 0).await.unwrap().unwrap();
    assert_eq!((now.leader_and_isr.leader, now.leader_and_isr.leader_epoch, now.controller_epoch), (2, 1, 2));
    // a stale partition zkVersion is refused (BADVERSION), not silently applied
    let stale = b.update_leader_and_isr(vb, eb, &upd).await.unwrap();
    assert!(matches!(stale[0].1, Err(ZkError::Zk { source: zookeeper_client::Error::BadVersion, .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_creation_writes_config_then_assignment() {
    let zk = connect("/t_create_topic").await;
    for id in [3, 1, 2] {
        zk.register_broker(&broker(id, 9090 + id as u16)).await.unwrap();
    }
    let admin = AdminZkClient::new(zk.clone());
    let cfg = BTreeMap::from([("retention.ms".to_string(), "1000".to_string())]);
    let a = admin.create_topic("orders", 6, 2, &cfg, None).await.unwrap();
    assert_eq!(a.len(), 6);
    assert!(a.values().all(|r| r.len() == 2 && r[0] != r[1] && r.iter().all(|b| (1..=3).contains(b))));
    let (cfg_data, cfg_stat) = zk.get_data("/config/topics/orders").await.unwrap().unwrap();
    assert_eq!(String::from_utf8(cfg_data).unwrap(), r#"{"version":1,"config":{"retention.ms":"1000"}}"#);
    let (topic_data, topic_stat) = zk.get_data("/brokers/topics/orders").await.unwrap().unwrap();
    assert!(cfg_stat.czxid < topic_stat.czxid, "config is written before the topic znode");
    let s = String::from_utf8(topic_data).unwrap();
    assert!(s.starts_with(r#"{"version":3,"partitions":{"#) && s.contains(r#""adding_replicas":{},"removing_replicas":{},"topic_id":""#), "{s}");
    let parsed = zk.get_topic_assignment("orders").await.unwrap().unwrap();
    assert!(parsed.topic_id.is_some());
    assert_eq!(parsed.partitions.iter().map(|(p, r)| (*p, r.replicas.clone())).collect::<BTreeMap<_, _>>(), a);
    assert_eq!(zk.get_entity_config("topics", "orders").await.unwrap().get("retention.ms").unwrap(), "1000");

    let none = BTreeMap::new();
    let err = |r: Result<BTreeMap<i32, Vec<i32>>, zkafka::zk::AdminError>| r.unwrap_err().error_code();
    assert_eq!(err(admin.create_topic("orders", 1, 1, &none, None).await), codes::TOPIC_ALREADY_EXISTS);
    assert_eq!(err(admin.create_topic("x", 1, 4, &none, None).await), codes::INVALID_REPLICATION_FACTOR);
    assert_eq!(err(admin.create_topic("x", 0, 1, &none, None).await), codes::INVALID_PARTITIONS);
    assert_eq!(err(admin.create_topic("bad name", 1, 1, &none, None).await), codes::INVALID_TOPIC_EXCEPTION);
    let bad_cfg = BTreeMap::from([("retention.ms".to_string(), "soon".to_string())]);
    assert_eq!(err(admin.create_topic("x", 1, 1, &bad_cfg, None).await), codes::INVALID_CONFIG);
    let uneven = BTreeMap::from([(0, vec![1, 2]), (1, vec![3])]);
    assert_eq!(err(admin.create_topic("x", -1, -1, &none, Some(uneven)).await), codes::INVALID_REPLICA_ASSIGNMENT);
    admin.create_topic("a.b", 1, 1, &none, None).await.unwrap();
    assert_eq!(err(admin.create_topic("a_b", 1, 1, &none, None).await), codes::INVALID_TOPIC_EXCEPTION);
    // validate_only writes nothing; explicit assignment is kept as given
    let explicit = BTreeMap::from([(0, vec![3, 1]), (1, vec![1, 2])]);
    let v = admin.create_topic_with_options("dry", -1, -1, &none, Some(explicit.clone()), true).await.unwrap();
    assert_eq!(v, explicit);
    assert!(!zk.topic_exists("dry").await.unwrap());
    assert!(zk.get_data("/config/topics/dry").await.unwrap().is_none());
    assert_eq!(admin.create_topic("wet", -1, -1, &none, Some(explicit.clone())).await.unwrap(), explicit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_changes_write_entity_then_notification() {
    let zk = connect("/t_config_changes").await;
    zk.register_broker(&broker(1, 9191)).await.unwrap();
    let admin = AdminZkClient::new(zk.clone());
    let none = BTreeMap::new();
    admin.create_topic("cfg", 2, 1, &none, None).await.unwrap();
    let before = zk.get_children("/config/changes").await.unwrap().len();

    let cfg = BTreeMap::from([
        ("leader.replication.throttled.replicas".to_string(), "0:1,1:1".to_string()),
        ("retention.ms".to_string(), "5000".to_string()),
    ]);
    admin.change_topic_config("cfg", cfg.clone()).await.unwrap();
    let (d, _) = zk.get_data("/config/topics/cfg").await.unwrap().unwrap();
    assert_eq!(
        String::from_utf8(d).unwrap(),
        r#"{"version":1,"config":{"leader.replication.throttled.replicas":"0:1,1:1","retention.ms":"5000"}}"#
    );
    admin.change_broker_config(Some(1), BTreeMap::from([("leader.replication.throttled.rate".to_string(), "1000".to_string())])).await.unwrap();
    admin.change_broker_config(None, BTreeMap::from([("follower.replication.throttled.rate".to_string(), "2000".to_string())])).await.unwrap();
    let (d, _) = zk.get_data("/config/brokers/1").await.unwrap().unwrap();
    assert_eq!(String::from_utf8(d).unwrap(), r#"{"version":1,"config":{"leader.replication.throttled.rate":"1000"}}"#);
    let (d, _) = zk.get_data("/config/brokers/<default>").await.unwrap().unwrap();
    assert_eq!(String::from_utf8(d).unwrap(), r#"{"version":1,"config":{"follower.replication.throttled.rate":"2000"}}"#);
    assert_eq!(admin.fetch_entity_config("brokers", "<default>").await.unwrap().get("follower.replication.throttled.rate").unwrap(), "2000");

    // three notifications, in order, each naming its entity (version 2)
    let mut children = zk.get_children("/config/changes").await.unwrap();
    children.sort();
    assert_eq!(children.len(), before + 3);
    let mut paths = Vec::new();
    for c in &children[before..] {
        assert!(c.starts_with("config_change_") && c.len() == "config_change_".len() + 10, "{c}");
        let (d, _) = zk.get_data(&format!("/config/changes/{c}")).await.unwrap().unwrap();
        paths.push(String::from_utf8(d).unwrap());
    }
    assert_eq!(
        paths,
        vec![
            r#"{"version":2,"entity_path":"topics/cfg"}"#.to_string(),
            r#"{"version":2,"entity_path":"brokers/1"}"#.to_string(),
            r#"{"version":2,"entity_path":"brokers/<default>"}"#.to_string(),
        ]
    );

    // replacing the map removes keys not given
    admin.change_topic_config("cfg", BTreeMap::new()).await.unwrap();
    assert!(admin.fetch_entity_config("topics", "cfg").await.unwrap().is_empty());

    // errors change nothing
    let n = zk.get_children("/config/changes").await.unwrap().len();
    let e = admin.change_topic_config("nope", BTreeMap::new()).await.unwrap_err();
    assert_eq!(e.error_code(), codes::UNKNOWN_TOPIC_OR_PARTITION);
    let bad = BTreeMap::from([("follower.replication.throttled.replicas".to_string(), "0-1".to_string())]);
    assert_eq!(admin.change_topic_config("cfg", bad).await.unwrap_err().error_code(), codes::INVALID_CONFIG);
    let bad = BTreeMap::from([("leader.replication.throttled.rate".to_string(), "-5".to_string())]);
    assert_eq!(admin.change_broker_config(Some(1), bad).await.unwrap_err().error_code(), codes::INVALID_CONFIG);
    assert_eq!(zk.get_children("/config/changes").await.unwrap().len(), n);
    assert!(zk.get_data("/config/topics/nope").await.unwrap().is_none());
}

/// The DynamicConfigManager against the real ZooKeeper: start-up load,
/// notifications in order (per-broker over `<default>`), topic configs applied
/// to a hosted partition's log and throttle lists, purge of expired notifications.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_config_manager_applies_changes_in_order_and_purges() {
    use std::sync::Arc;
    use zkafka::log::{LogConfig, LogManager};
    use zkafka::server::dynamic_config_manager::DynamicConfigManager;
    use zkafka::server::partition::PartitionState;
    use zkafka::server::replica_manager::ReplicaManager;
    use zkafka::server::replication_quota_manager::UNBOUNDED;

    let zk = connect("/t_dynamic_config").await;
    zk.register_broker(&broker(1, 9292)).await.unwrap();
    let admin = AdminZkClient::new(zk.clone());
    admin.create_topic("dyn", 2, 1, &BTreeMap::new(), Some(BTreeMap::from([(0, vec![1]), (1, vec![1])]))).await.unwrap();
    let dir = std::env::temp_dir().join(format!("zkafka-dyncfg-{}", std::process::id()));
    let lm = Arc::new(LogManager::startup(vec![dir.clone()], 1, "cluster", LogConfig::default(), &Default::default()).unwrap());
    let rm = Arc::new(ReplicaManager::new(1, lm, LogConfig::default(), 1));
    let state = PartitionState { leader: 1, leader_epoch: 0, isr: vec![1], replicas: vec![1], zk_version: 0, controller_epoch: 1 };
    assert_eq!(rm.become_leader_or_follower(zkafka::common::TopicPartition::new("dyn", 0), state, None), codes::NONE);
    let p0 = rm.get_partition(&zkafka::common::TopicPartition::new("dyn", 0)).unwrap();

    // Written before the manager starts: read at start-up.
    let s = |pairs: &[(&str, &str)]| pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<BTreeMap<_, _>>();
    admin.change_broker_config(None, s(&[("leader.replication.throttled.rate", "500"), ("follower.replication.throttled.rate", "600")])).await.unwrap();
    admin.change_topic_config("dyn", s(&[("segment.bytes", "100000"), ("leader.replication.throttled.replicas", "0:1,1:2")])).await.unwrap();
    let dcm = DynamicConfigManager::new(1, zk.clone(), rm.clone());
    dcm.load_all().await.unwrap();
    let q = rm.quotas();
    assert_eq!((q.leader.upper_bound(), q.follower.upper_bound()), (500, 600));
    assert_eq!(p0.log_config().segment_bytes, 100_000);
    assert!(q.leader.is_throttled(&zkafka::common::TopicPartition::new("dyn", 0)));
    assert!(!q.leader.is_throttled(&zkafka::common::TopicPartition::new("dyn", 1)), "1:2 names another broker");

    // Notifications, in order: this broker's value overrides the default; the last one wins.
    let _ = dcm.process_notifications().await.unwrap();
    let first_last = dcm.last_executed_change();
    assert!(first_last >= 1);
    admin.change_broker_config(Some(1), s(&[("leader.replication.throttled.rate", "700")])).await.unwrap();
    admin.change_broker_config(Some(2), s(&[("leader.replication.throttled.rate", "1")])).await.unwrap(); // not ours
    admin.change_topic_config("dyn", s(&[("segment.bytes", "200000"), ("min.insync.replicas", "1")])).await.unwrap();
    admin.change_topic_config("dyn", s(&[("segment.bytes", "300000")])).await.unwrap();
    let _ = dcm.process_notifications().await.unwrap();
    assert_eq!(dcm.last_executed_change(), first_last + 4);
    assert_eq!((q.leader.upper_bound(), q.follower.upper_bound()), (700, 600));
    assert_eq!(p0.log_config().segment_bytes, 300_000);
    assert!(!q.leader.is_throttled(&zkafka::common::TopicPartition::new("dyn", 0)), "the throttle list was removed");
    // Dynamic log defaults (DynamicBrokerConfig): the cluster default reaches
    // the existing log where the topic has no override of its own; this
    // broker's value wins over the default; deleting it falls back.
    admin.change_broker_config(None, s(&[("log.retention.ms", "12345"), ("log.segment.bytes", "5000"), ("num.replica.fetchers", "2")]))
        .await
        .unwrap();
    let _ = dcm.process_notifications().await.unwrap();
    assert_eq!((p0.log_config().retention_ms, p0.log_config().segment_bytes), (12345, 300_000));
    assert_eq!(rm.fetcher_manager.num_fetchers(), 2);
    assert_eq!(dcm.broker_config().current().get("log.retention.ms"), Some("12345"));
    admin.change_broker_config(Some(1), s(&[("leader.replication.throttled.rate", "700"), ("log.retention.ms", "777")])).await.unwrap();
    let _ = dcm.process_notifications().await.unwrap();
    assert_eq!(p0.log_config().retention_ms, 777);
    admin.change_broker_config(Some(1), s(&[("leader.replication.throttled.rate", "700")])).await.unwrap();
    admin.change_broker_config(None, s(&[("follower.replication.throttled.rate", "600")])).await.unwrap();
    let _ = dcm.process_notifications().await.unwrap();
    assert_eq!(p0.log_config().retention_ms, LogConfig::default().retention_ms, "back to the built-in default");
    assert_eq!(rm.fetcher_manager.num_fetchers(), 1);

    // A malformed notification is skipped, not fatal.
    zk.create_recursive("/config/changes/config_change_9999999999", b"{not json").await.unwrap();
    admin.change_broker_config(None, BTreeMap::new()).await.unwrap();
    let _ = dcm.process_notifications().await.unwrap();
    assert_eq!(q.follower.upper_bound(), UNBOUNDED);
    assert_eq!(q.leader.upper_bound(), 700);

    // Purge: with a zero expiration every processed notification is deleted.
    tokio::time::sleep(Duration::from_millis(50)).await;
    dcm.set_change_expiration_ms(0);
    let _ = dcm.process_notifications().await.unwrap();
    assert!(zk.get_children("/config/changes").await.unwrap().is_empty());
    let _ = std::fs::remove_dir_all(dir);
}

// ------------------------------------------------------------ stand-in brokers

#[derive(Debug)]
#[allow(dead_code)] // fields are read through Debug in failure messages
enum Received {
    LeaderAndIsr(i16, LeaderAndIsrRequest),
    UpdateMetadata(i16, UpdateMetadataRequest),
    Other(i16),
}

/// A listener that decodes controller requests, reports them, and answers OK.
async fn fake_broker() -> (u16, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let tx = tx.clone();
            tokio::spawn(async move {
                loop {
                    let Ok(size) = sock.read_i32().await else { return };
                    let mut buf = BytesMut::zeroed(size as usize);
                    if sock.read_exact(&mut buf).await.is_err() {
                        return;
                    }
                    let mut r = Reader::new(buf.freeze());
                    let h = RequestHeader::decode(&mut r).unwrap();
                    let body: Bytes = r.rest().clone();
                    let frame = match ApiKey::from_i16(h.api_key) {
                        Some(ApiKey::LeaderAndIsr) => {
                            let req = LeaderAndIsrRequest::from_bytes(body, h.api_version).unwrap();
                            let _ = tx.send(Received::LeaderAndIsr(h.api_version, req));
                            encode_response_frame(h.correlation_id, h.api_version, &LeaderAndIsrResponse::default()).unwrap()
                        }
                        Some(ApiKey::UpdateMetadata) => {
                            let req = UpdateMetadataRequest::from_bytes(body, h.api_version).unwrap();
                            let _ = tx.send(Received::UpdateMetadata(h.api_version, req));
                            encode_response_frame(h.correlation_id, h.api_version, &UpdateMetadataResponse::default()).unwrap()
                        }
                        _ => {
                            let _ = tx.send(Received::Other(h.api_key));
                            return;
                        }
                    };
                    if sock.write_all(&frame).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(20), rx.recv()).await.expect("a controller request").expect("channel open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_elects_creates_partition_states_and_informs_brokers() {
    let chroot = "/t_controller";
    let zk1 = connect(chroot).await;
    let zk2 = connect(chroot).await;
    let (p1, mut rx1) = fake_broker().await;
    let (p2, mut rx2) = fake_broker().await;
    let b1 = broker(1, p1);
    let b2 = broker(2, p2);
    let e1 = zk1.register_broker(&b1).await.unwrap();
    let e2 = zk2.register_broker(&b2).await.unwrap();
    let c1 = KafkaController::startup(zk1.clone(), b1.clone(), e1, ControllerConfig::new(1));
    wait_for("broker 1 to become controller", || async { c1.is_active() }).await;
    let c2 = KafkaController::startup(zk2.clone(), b2.clone(), e2, ControllerConfig::new(2));
    wait_for("broker 2 to see controller 1", || async { c2.active_controller_id() == Some(1) }).await;
    assert!(!c2.is_active());
    assert_eq!(c1.epoch(), 1);

    // failover: UpdateMetadata v7 with both live brokers and no partitions
    for (rx, epoch) in [(&mut rx1, e1), (&mut rx2, e2)] {
        match next(rx).await {
            Received::UpdateMetadata(7, um) => {
                assert_eq!((um.controller_id, um.controller_epoch, um.broker_epoch), (1, 1, epoch));
                assert_eq!(um.live_brokers.iter().map(|b| b.id).collect::<Vec<_>>(), vec![1, 2]);
                let ep = &um.live_brokers[0].endpoints[0];
                assert_eq!((ep.listener.as_str(), ep.security_protocol, ep.host.as_str()), ("PLAINTEXT", 0, "127.0.0.1"));
                assert_eq!(um.partition_states().count(), 0);
            }
            other => panic!("expected UpdateMetadata v7 first, got {other:?}"),
        }
    }

    // a topic created through AdminZkClient is picked up by the controller
    let admin = AdminZkClient::new(zk2.clone());
    let assignment = BTreeMap::from([(0, vec![2, 1]), (1, vec![1, 2])]);
    admin.create_topic("events", -1, -1, &BTreeMap::new(), Some(assignment)).await.unwrap();
    wait_for("partition state znodes", || async {
        zk2.get_partition_state("events", 0).await.unwrap().is_some() && zk2.get_partition_state("events", 1).await.unwrap().is_some()
    })
    .await;
    let s0 = zk2.get_partition_state("events", 0).await.unwrap().unwrap();
    assert_eq!((s0.leader_and_isr.leader, s0.leader_and_isr.leader_epoch, s0.leader_and_isr.isr.clone(), s0.controller_epoch), (2, 0, vec![2, 1], 1));
    let (raw, _) = zk2.get_data("/brokers/topics/events/partitions/1/state").await.unwrap().unwrap();
    assert_eq!(String::from_utf8(raw).unwrap(), r#"{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1,2]}"#);
    let topic_id = zk2.get_topic_assignment("events").await.unwrap().unwrap().topic_id.unwrap();

    // each broker gets LeaderAndIsr v5 (IsNew) for both partitions, then UpdateMetadata v7 with them
    for (rx, epoch) in [(&mut rx1, e1), (&mut rx2, e2)] {
        match next(rx).await {
            Received::LeaderAndIsr(5, lai) => {
                assert_eq!((lai.controller_id, lai.controller_epoch, lai.broker_epoch), (1, 1, epoch));
                assert_eq!(lai.topic_states.len(), 1);
                assert_eq!(lai.topic_states[0].topic_name, "events");
                assert_eq!(lai.topic_states[0].topic_id, topic_id);
                let parts: Vec<_> = lai.partition_states().collect();
                assert_eq!(parts.len(), 2);
                assert!(parts.iter().all(|p| p.is_new && p.leader_epoch == 0 && p.zk_version == 0));
                assert_eq!(parts[0].leader, 2);
                assert_eq!(parts[0].replicas, vec![2, 1]);
                let mut leaders: Vec<i32> = lai.live_leaders.iter().map(|l| l.broker_id).collect();
                leaders.sort();
                assert_eq!(leaders, vec![1, 2]);
            }
            other => panic!("expected LeaderAndIsr v5, got {other:?}"),
        }
        match next(rx).await {
            Received::UpdateMetadata(7, um) => {
                assert_eq!(um.live_brokers.len(), 2);
                assert_eq!(um.topic_states[0].topic_id, topic_id);
                let parts: Vec<_> = um.partition_states().collect();
                assert_eq!(parts.len(), 2);
                assert!(parts.iter().all(|p| p.offline_replicas.is_empty() && p.controller_epoch == 1));
            }
            other => panic!("expected UpdateMetadata v7, got {other:?}"),
        }
    }

    // controller 1 shuts down and its session closes: broker 2 takes over with epoch 2
    c1.shutdown().await;
    zk1.close();
    drop(zk1);
    wait_for("broker 2 to become controller", || async { c2.is_active() }).await;
    assert_eq!(c2.epoch(), 2);
    assert_eq!(zk2.get_controller_epoch().await.unwrap().unwrap().0, 2);
    // its failover re-sends leadership for the partitions hosted on broker 2
    let mut saw_lai = false;
    for _ in 0..4 {
        match next(&mut rx2).await {
            Received::LeaderAndIsr(5, lai) if lai.controller_epoch == 2 => {
                saw_lai = true;
                break;
            }
            _ => {}
        }
    }
    assert!(saw_lai, "new controller sends LeaderAndIsr to broker 2");
    // partition 1 was led by the dead broker 1: its replica goes OfflineReplica
    // at failover (leader -1, ISR [2], epoch 1), then the election makes 2 the
    // leader (epoch 2), as Kafka's replica state machine startup does
    wait_for("leader of events-1 to move to broker 2", || async {
        let s = zk2.get_partition_state("events", 1).await.unwrap().unwrap();
        s.leader_and_isr.leader == 2 && s.leader_and_isr.leader_epoch == 2 && s.leader_and_isr.isr == vec![2] && s.controller_epoch == 2
    })
    .await;
    c2.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_expiry_reregisters_broker_and_reelects() {
    let zk = connect("/t_session").await;
    let (port, _rx) = fake_broker().await;
    let info = broker(5, port);
    let epoch = zk.register_broker(&info).await.unwrap();
    let c = KafkaController::startup(zk.clone(), info, epoch, ControllerConfig::new(5));
    wait_for("controller", || async { c.is_active() }).await;
    let mut sessions = zk.subscribe_session_reinit();
    let old_session = zk.session_id().unwrap();
    zk.expire_session_for_testing().await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), sessions.changed()).await.expect("session re-established").unwrap();
    assert_eq!(*sessions.borrow(), 1);
    assert_ne!(zk.session_id().unwrap(), old_session);
    wait_for("re-registration with a new epoch and re-election", || async {
        c.broker_epoch() > epoch && c.is_active() && c.epoch() == 2
    })
    .await;
    let (_, stat) = zk.get_data("/brokers/ids/5").await.unwrap().unwrap();
    assert_eq!(stat.czxid, c.broker_epoch());
    assert_eq!(stat.ephemeral_owner, zk.session_id().unwrap());
    c.shutdown().await;
}

/// `update_leader_and_isr` writes many partitions per fenced multi: every
/// multi is refused under an old controller epoch zkVersion, and a partition
/// whose state znode moved (BADVERSION) fails alone while the other
/// partitions of its multi are applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_and_isr_updates_in_chunked_multis_stay_fenced() {
    let zk = connect("/t_chunked_lai").await;
    let (epoch, v) = zk.register_controller_and_increment_controller_epoch(1).await.unwrap();
    let n = 150;
    let topic = zk_data::TopicAssignment::from_replicas(None, &(0..n).map(|p| (p, vec![1, 2])).collect::<BTreeMap<_, _>>());
    zk.create_topic_assignment("chunked", &topic).await.unwrap();
    let st = zk_data::LeaderIsrAndControllerEpoch { leader_and_isr: zk_data::LeaderAndIsr::new(1, vec![1, 2]), controller_epoch: epoch };
    let tps: Vec<_> = (0..n).map(|p| zkafka::common::TopicPartition::new("chunked", p)).collect();
    let created = zk.create_partition_states(v, &tps.iter().map(|tp| (tp.clone(), st.clone())).collect::<Vec<_>>()).await.unwrap();
    assert!(created.iter().all(|(_, r)| *r == Ok(0)));
    let mut upd: Vec<_> = tps.iter().map(|tp| (tp.clone(), st.leader_and_isr.new_leader_and_isr(2, vec![2]))).collect();
    // under a wrong controller epoch zkVersion nothing is written
    assert!(matches!(zk.update_leader_and_isr(v + 1, epoch, &upd).await, Err(ZkError::ControllerMoved(_))));
    assert_eq!(zk.get_partition_state("chunked", 77).await.unwrap().unwrap().leader_and_isr.leader, 1);
    // partition 77's state moved meanwhile: only it fails
    upd[77].1.zk_version = 5;
    let done = zk.update_leader_and_isr(v, epoch, &upd).await.unwrap();
    assert_eq!(done.len(), n as usize);
    for (tp, r) in &done {
        if tp.partition == 77 {
            assert!(matches!(r, Err(ZkError::Zk { source: zookeeper_client::Error::BadVersion, .. })), "{r:?}");
        } else {
            assert_eq!(r.as_ref().unwrap().zk_version, 1, "{tp}");
            let now = zk.get_partition_state("chunked", tp.partition).await.unwrap().unwrap();
            assert_eq!((now.leader_and_isr.leader, now.leader_and_isr.isr.clone(), now.leader_and_isr.leader_epoch), (2, vec![2], 1));
        }
    }
    assert_eq!(zk.get_partition_state("chunked", 77).await.unwrap().unwrap().leader_and_isr.leader, 1);
}

/// `get_partition_states` reads many partitions in pipelined multiReads:
/// every state comes back with its own zkVersion, partitions without a state
/// znode are left out, and the answer equals one getData per partition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_states_read_in_multi_reads() {
    let zk = connect("/t_multi_read").await;
    let (epoch, v) = zk.register_controller_and_increment_controller_epoch(1).await.unwrap();
    let n = 700; // three multiReads of 256
    let topic = zk_data::TopicAssignment::from_replicas(None, &(0..n).map(|p| (p, vec![1, 2])).collect::<BTreeMap<_, _>>());
    zk.create_topic_assignment("mr", &topic).await.unwrap();
    let st = zk_data::LeaderIsrAndControllerEpoch { leader_and_isr: zk_data::LeaderAndIsr::new(1, vec![1, 2]), controller_epoch: epoch };
    // Every partition but the multiples of 7 gets a state znode.
    let with_state: Vec<_> = (0..n).filter(|p| p % 7 != 0).map(|p| zkafka::common::TopicPartition::new("mr", p)).collect();
    zk.create_partition_states(v, &with_state.iter().map(|tp| (tp.clone(), st.clone())).collect::<Vec<_>>()).await.unwrap();
    // Some states move to zkVersion 1 (leader 2).
    let moved: Vec<_> = with_state.iter().filter(|tp| tp.partition % 5 == 0).map(|tp| (tp.clone(), st.leader_and_isr.new_leader_and_isr(2, vec![2]))).collect();
    assert!(zk.update_leader_and_isr(v, epoch, &moved).await.unwrap().iter().all(|(_, r)| r.is_ok()));
    let all: Vec<_> = (0..n).map(|p| zkafka::common::TopicPartition::new("mr", p)).collect();
    let got = zk.get_partition_states(all.iter()).await.unwrap();
    assert_eq!(got.len(), with_state.len());
    for tp in &all {
        let one = zk.get_partition_state("mr", tp.partition).await.unwrap();
        assert_eq!(got.get(tp), one.as_ref(), "{tp}");
        if tp.partition % 7 == 0 {
            assert!(one.is_none());
        } else {
            let s = one.unwrap();
            let want = if tp.partition % 5 == 0 { (2, 1, 1) } else { (1, 0, 0) };
            assert_eq!((s.leader_and_isr.leader, s.leader_and_isr.zk_version, s.leader_and_isr.leader_epoch), want, "{tp}");
        }
    }
    // One partition is read with a plain getData.
    let one = zk.get_partition_states([&all[3]]).await.unwrap();
    assert_eq!(one.get(&all[3]).unwrap().leader_and_isr.leader, 1);
}
