//! Partition reassignment in the controller (KIP-455, as Kafka 2.8 runs it)
//! with four real broker processes under a real ZooKeeper, driven through
//! the legacy `/admin/reassign_partitions` znode: a move with records
//! produced before and during it (all read back), bad input dropped,
//! cancellation (target = original replicas), a second reassignment of a
//! moving partition, a controller killed mid-move and a target broker
//! restarted mid-move. A reassignment is held "in progress" by freezing
//! (SIGSTOP) the target broker: it stays registered but cannot fetch.

mod common;

use bytes::Bytes;
use common::{chroot, zookeeper, Broker};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};
use zkafka::client::BrokerConnection;
use zkafka::common::TopicPartition;
use zkafka::protocol::compression::Compression;
use zkafka::protocol::error as codes;
use zkafka::protocol::messages::metadata::{MetadataRequest, MetadataRequestTopic, MetadataResponse};
use zkafka::protocol::messages::fetch::{FetchRequest, FetchRequestPartition, FetchRequestTopic, FetchResponse};
use zkafka::protocol::messages::produce::{ProduceRequest, ProduceRequestPartition, ProduceRequestTopic, ProduceResponse};
use zkafka::protocol::records::{self, RecordBatchBuilder};
use zkafka::zk::zk_data::{ReplicaAssignment, REASSIGN_PARTITIONS_PATH};
use zkafka::zk::{AdminZkClient, KafkaZkClient, ZkClientConfig};

const WAIT: Duration = Duration::from_secs(60);

fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

fn tp(t: &str, p: i32) -> TopicPartition {
    TopicPartition::new(t, p)
}

async fn wait_for<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + WAIT;
    while !f().await {
        assert!(Instant::now() < deadline, "timed out after {WAIT:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

struct Cluster {
    brokers: BTreeMap<i32, Broker>,
    zk: KafkaZkClient,
}

impl Cluster {
    async fn start(tag: &str) -> Cluster {
        let connect = format!("{}{}", zookeeper().connect_string(), chroot(tag));
        let props = [
            ("zookeeper.session.timeout.ms", "10000"),
            ("replica.lag.time.max.ms", "10000"),
            ("replica.fetch.wait.max.ms", "200"),
            ("replica.fetch.backoff.ms", "200"),
            ("controller.socket.timeout.ms", "5000"),
            ("controlled.shutdown.retry.backoff.ms", "200"),
            ("controlled.shutdown.max.retries", "2"),
            ("auto.leader.rebalance.enable", "false"),
            ("file.delete.delay.ms", "100"),
        ];
        let mut brokers = BTreeMap::new();
        for id in 1..=4 {
            brokers.insert(id, blocking(|| Broker::start(id, &connect, &props)));
        }
        let mut cfg = ZkClientConfig::new(connect);
        cfg.session_timeout = Duration::from_secs(10);
        let zk = KafkaZkClient::connect(cfg).await.expect("test ZooKeeper client");
        wait_for("four brokers registered", || async { zk.get_all_broker_ids().await.ok() == Some(vec![1, 2, 3, 4]) }).await;
        Cluster { brokers, zk }
    }

    async fn controller(&self) -> Option<i32> {
        self.zk.get_controller_id().await.ok().flatten()
    }

    async fn create_topic(&self, topic: &str, assignment: &[(i32, Vec<i32>)]) {
        let admin = AdminZkClient::new(self.zk.clone());
        let a: BTreeMap<i32, Vec<i32>> = assignment.iter().cloned().collect();
        let cfg = BTreeMap::from([("min.insync.replicas".to_string(), "2".to_string())]);
        admin.create_topic(topic, 0, 0, &cfg, Some(a.clone())).await.expect("create topic");
        for (p, replicas) in &a {
            let tp = tp(topic, *p);
            wait_for(&format!("{tp} online with full ISR"), || async {
                self.state(&tp).await.is_some_and(|(l, isr)| l == replicas[0] && sorted(&isr) == sorted(replicas))
            })
            .await;
        }
    }

    async fn state(&self, tp: &TopicPartition) -> Option<(i32, Vec<i32>)> {
        self.zk.get_partition_state(&tp.topic, tp.partition).await.ok().flatten().map(|s| (s.leader_and_isr.leader, s.leader_and_isr.isr))
    }

    async fn assignment(&self, tp: &TopicPartition) -> Option<ReplicaAssignment> {
        self.zk.get_topic_assignment(&tp.topic).await.ok().flatten().and_then(|a| a.partitions.get(&tp.partition).cloned())
    }

    async fn reassign(&self, targets: &[(TopicPartition, Vec<i32>)]) {
        let m: BTreeMap<TopicPartition, Vec<i32>> = targets.iter().cloned().collect();
        wait_for("no reassignment znode", || async { self.zk.exists(REASSIGN_PARTITIONS_PATH).await.ok().flatten().is_none() }).await;
        self.zk.create_partition_reassignment(&m).await.expect("create /admin/reassign_partitions");
    }

    /// The move is done: topic znode = target (no AR/RR), ISR = target set,
    /// leader in it, and the legacy znode is gone.
    async fn wait_completed(&self, tp: &TopicPartition, target: &[i32]) {
        wait_for(&format!("{tp} moved to {target:?}"), || async {
            let a = self.assignment(tp).await;
            let s = self.state(tp).await;
            a == Some(ReplicaAssignment::new(target.to_vec()))
                && s.is_some_and(|(l, isr)| target.contains(&l) && sorted(&isr) == sorted(target))
        })
        .await;
    }

    async fn wait_znode_gone(&self) {
        wait_for("/admin/reassign_partitions deleted", || async { self.zk.exists(REASSIGN_PARTITIONS_PATH).await.ok().flatten().is_none() })
            .await;
    }

    fn signal(&self, id: i32, sig: &str) {
        let pid = self.brokers[&id].pid().expect("broker running");
        let ok = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status().expect("kill").success();
        assert!(ok, "kill -{sig} {pid}");
    }

    fn partition_dir_exists(&self, id: i32, tp: &TopicPartition) -> bool {
        let b = &self.brokers[&id];
        let name = format!("{}-{}", tp.topic, tp.partition);
        // A deleted replica's directory is renamed `<name>.<uuid>-delete` first.
        b.log_dir.join(&name).exists()
    }
}

/// Broker `id`'s Metadata for `topic`: partition -> (leader, replicas).
async fn metadata(c: &Cluster, id: i32, topic: &str) -> BTreeMap<i32, (i32, Vec<i32>)> {
    let Ok(mut conn) = BrokerConnection::connect(&c.brokers[&id].addr(), "reassign-meta", Duration::from_secs(5)).await else {
        return BTreeMap::new();
    };
    let req = MetadataRequest {
        topics: Some(vec![MetadataRequestTopic { name: Some(topic.to_string()), ..Default::default() }]),
        allow_auto_topic_creation: false,
        ..Default::default()
    };
    let Ok(resp) = conn.send_timeout::<_, MetadataResponse>(9, &req, Duration::from_secs(5)).await else { return BTreeMap::new() };
    resp.topics.iter().flat_map(|t| t.partitions.iter().map(|p| (p.partition_index, (p.leader_id, p.replica_nodes.clone())))).collect()
}

fn sorted(v: &[i32]) -> Vec<i32> {
    let mut v = v.to_vec();
    v.sort();
    v
}

fn batch(value: &str) -> Bytes {
    let mut b = RecordBatchBuilder::new(Compression::None);
    b.append(zkafka::common::now_ms(), None, Some(value.as_bytes()), &[]);
    b.build().expect("build batch")
}

/// One acks=all produce of `value` to the partition's current leader;
/// retried (bounded) while leadership moves. Returns whether it was acknowledged.
async fn produce(c: &Cluster, tp: &TopicPartition, value: &str) -> bool {
    for _ in 0..50 {
        let Some((leader, _)) = c.state(tp).await else { continue };
        let Some(b) = c.brokers.get(&leader) else { continue };
        let req = ProduceRequest {
            acks: -1,
            timeout_ms: 5000,
            topic_data: vec![ProduceRequestTopic {
                name: tp.topic.clone(),
                partition_data: vec![ProduceRequestPartition { index: tp.partition, records: Some(batch(value)), ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        };
        if let Ok(mut conn) = BrokerConnection::connect(&b.addr(), "reassign-producer", Duration::from_secs(5)).await {
            if let Ok(resp) = conn.send_timeout::<_, ProduceResponse>(8, &req, Duration::from_secs(15)).await {
                if resp.responses[0].partition_responses[0].error_code == codes::NONE {
                    return true;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Every record value of the partition, read from its leader.
async fn read_all(c: &Cluster, tp: &TopicPartition) -> Vec<String> {
    let (leader, _) = c.state(tp).await.expect("state");
    let mut conn = BrokerConnection::connect(&c.brokers[&leader].addr(), "reassign-reader", Duration::from_secs(5)).await.expect("connect");
    let mut out = Vec::new();
    let mut offset = 0i64;
    loop {
        let req = FetchRequest {
            replica_id: -1,
            max_wait_ms: 0,
            min_bytes: 0,
            max_bytes: 1 << 20,
            topics: vec![FetchRequestTopic {
                topic: tp.topic.clone(),
                partitions: vec![FetchRequestPartition {
                    partition: tp.partition,
                    current_leader_epoch: -1,
                    fetch_offset: offset,
                    partition_max_bytes: 1 << 20,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let resp: FetchResponse = conn.send_timeout(11, &req, Duration::from_secs(10)).await.expect("fetch");
        let p = &resp.responses[0].partition_responses[0];
        assert_eq!(p.error_code, codes::NONE, "fetch {tp} from {leader}");
        let before = offset;
        for b in records::batches(p.records.clone().unwrap_or_default()) {
            let b = b.expect("batch");
            for r in b.records().expect("records") {
                if r.offset >= offset {
                    out.push(String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned());
                }
            }
            offset = b.next_offset();
        }
        if offset >= p.high_watermark || offset == before {
            return out;
        }
    }
}

/// Every acknowledged value appears, once, in acknowledgment order.
fn assert_all_acked_read_back(tp: &TopicPartition, acked: &[String], read: &[String]) {
    let mut pos = 0;
    for v in acked {
        let found = read[pos..].iter().position(|x| x == v).map(|i| i + pos);
        let Some(i) = found else { panic!("{tp}: acknowledged record {v} missing (read {} records)", read.len()) };
        pos = i + 1;
    }
    let distinct: BTreeSet<&String> = read.iter().collect();
    assert_eq!(distinct.len(), read.len(), "{tp}: duplicated records");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_znode_move_cancel_second_target_and_bad_input() {
    let c = Cluster::start("reassign").await;
    let controller = c.controller().await.expect("a controller");
    assert_ne!(controller, 4, "broker 4 is frozen below and must not be the controller");

    // ---- 1. {1,2,3} -> {2,3,4} with records produced before and during.
    let topic = "moved";
    c.create_topic(topic, &[(0, vec![1, 2, 3]), (1, vec![2, 3, 1]), (2, vec![3, 1, 2])]).await;
    let parts: Vec<TopicPartition> = (0..3).map(|p| tp(topic, p)).collect();
    let mut acked: BTreeMap<TopicPartition, Vec<String>> = BTreeMap::new();
    for p in &parts {
        for i in 0..200 {
            let v = format!("{p}-before-{i}");
            assert!(produce(&c, p, &v).await, "produce {v}");
            acked.entry(p.clone()).or_default().push(v);
        }
    }
    c.reassign(&parts.iter().map(|p| (p.clone(), vec![2, 3, 4])).collect::<Vec<_>>()).await;
    // Produce while it moves, until every partition has finished.
    let mut i = 0;
    loop {
        let mut done = true;
        for p in &parts {
            let v = format!("{p}-during-{i}");
            if produce(&c, p, &v).await {
                acked.entry(p.clone()).or_default().push(v);
            }
            done &= c.assignment(p).await == Some(ReplicaAssignment::new(vec![2, 3, 4]));
        }
        i += 1;
        if done || i > 2000 {
            break;
        }
    }
    for p in &parts {
        c.wait_completed(p, &[2, 3, 4]).await;
    }
    c.wait_znode_gone().await;
    for p in &parts {
        wait_for(&format!("{p}'s directory removed from broker 1"), || async { !c.partition_dir_exists(1, p) }).await;
        assert!(c.partition_dir_exists(4, p), "{p} has a directory on broker 4");
        let read = read_all(&c, p).await;
        assert_all_acked_read_back(p, &acked[p], &read);
    }

    // ---- 2. Bad input is dropped and changes nothing.
    c.create_topic("bad", &[(0, vec![1, 2]), (1, vec![2, 3])]).await;
    c.reassign(&[
        (tp("no-such-topic", 0), vec![1, 2]),
        (tp("bad", 7), vec![1, 2]),
        (tp("bad", 0), vec![1, 9]),
        (tp("bad", 1), vec![3, 3]),
    ])
    .await;
    c.wait_znode_gone().await;
    assert_eq!(c.assignment(&tp("bad", 0)).await, Some(ReplicaAssignment::new(vec![1, 2])));
    assert_eq!(c.assignment(&tp("bad", 1)).await, Some(ReplicaAssignment::new(vec![2, 3])));
    assert!(c.zk.get_topic_assignment("no-such-topic").await.expect("read").is_none());
    assert_eq!(c.zk.get_topic_assignment("bad").await.expect("read").expect("bad").partitions.len(), 2);
    // An unparsable znode is deleted too.
    c.zk.create_recursive(REASSIGN_PARTITIONS_PATH, b"{not json").await.expect("create garbage znode");
    c.wait_znode_gone().await;

    // ---- 2b. A rewrite of the topic znode by someone else only adds partitions:
    // partition 0's replicas stay the controller's, the new partition 2 comes online.
    let (mut ta, version) = c.zk.get_topic_assignment_with_version("bad").await.expect("read").expect("bad");
    ta.partitions.insert(0, ReplicaAssignment::new(vec![3, 4]));
    ta.partitions.insert(2, ReplicaAssignment::new(vec![4, 1]));
    c.zk.conditional_set_data(&zkafka::zk::zk_data::topic_path("bad"), &ta.encode(), version).await.expect("rewrite topic znode");
    wait_for("bad-2 online", || async { c.state(&tp("bad", 2)).await.is_some_and(|(l, isr)| l == 4 && sorted(&isr) == vec![1, 4]) }).await;
    wait_for("metadata shows bad-2 and the controller's replicas of bad-0", || async {
        let m = metadata(&c, 1, "bad").await;
        m.get(&2).map(|x| &x.1) == Some(&vec![4, 1]) && m.get(&0).map(|x| &x.1) == Some(&vec![1, 2])
    })
    .await;
    assert!(c.state(&tp("bad", 0)).await.is_some_and(|(l, _)| [1, 2].contains(&l)));

    // ---- 3. Cancellation: freeze broker 4 so a move to it cannot finish,
    // then ask for the original set again.
    c.create_topic("held", &[(0, vec![1, 2, 3]), (1, vec![1, 2, 3])]).await;
    let (p0, p1) = (tp("held", 0), tp("held", 1));
    for p in [&p0, &p1] {
        for i in 0..20 {
            assert!(produce(&c, p, &format!("{p}-{i}")).await);
        }
    }
    c.signal(4, "STOP");
    c.reassign(&[(p0.clone(), vec![2, 3, 4]), (p1.clone(), vec![2, 3, 4])]).await;
    for p in [&p0, &p1] {
        wait_for(&format!("{p} in phase A"), || async {
            c.assignment(p).await == Some(ReplicaAssignment { replicas: vec![2, 3, 4, 1], adding_replicas: vec![4], removing_replicas: vec![1] })
        })
        .await;
    }
    // The znode still holds both entries: nothing finished.
    assert_eq!(c.zk.get_partition_reassignment().await.expect("read").map(|m| m.len()), Some(2));
    // Replace the legacy znode's targets: cancel p0 (target = ORS), and give p1 a
    // second target computed against its ORS {1,2,3}: {1,2} (4 no longer needed, 3 removed).
    c.zk.set_or_delete_partition_reassignment(
        c.zk.get_controller_epoch().await.expect("epoch").expect("epoch").1,
        &BTreeMap::new(),
    )
    .await
    .expect("clear znode");
    c.reassign(&[(p0.clone(), vec![1, 2, 3]), (p1.clone(), vec![1, 2])]).await;
    c.wait_completed(&p0, &[1, 2, 3]).await;
    c.wait_completed(&p1, &[1, 2]).await;
    c.wait_znode_gone().await;
    assert_eq!(c.state(&p0).await.map(|(l, _)| l), Some(1), "cancelled partition keeps its leader");
    wait_for("held-1's directory removed from broker 3", || async { !c.partition_dir_exists(3, &p1) }).await;
    c.signal(4, "CONT");
    // Broker 4 catches up with the StopReplica(delete) requests it was sent while frozen.
    for p in [&p0, &p1] {
        wait_for(&format!("{p} has no directory on broker 4"), || async { !c.partition_dir_exists(4, p) }).await;
    }
    wait_for("broker 4 registered again", || async { c.zk.get_all_broker_ids().await.ok() == Some(vec![1, 2, 3, 4]) }).await;
    for p in [&p0, &p1] {
        let read = read_all(&c, p).await;
        assert_eq!(read.len(), 20, "{p} kept its records");
    }

    // ---- 4. Topic deletion waits while a partition of the topic is reassigned
    // (broker 4 frozen again; its session may expire meanwhile: the move then
    // resumes when it registers again).
    c.signal(4, "STOP");
    // ---- 4. Topic deletion waits while a partition of the topic is reassigned.
    c.create_topic("doomed", &[(0, vec![1, 2, 3])]).await;
    c.reassign(&[(tp("doomed", 0), vec![2, 3, 4])]).await;
    wait_for("doomed-0 in phase A", || async { c.assignment(&tp("doomed", 0)).await.is_some_and(|a| a.adding_replicas == vec![4]) }).await;
    AdminZkClient::new(c.zk.clone()).delete_topic("doomed").await.expect("mark for deletion");
    let ctrl = c.controller().await.expect("controller");
    wait_for("the controller to hold the deletion", || async {
        c.brokers[&ctrl].log_contains("Deletion of topic doomed waits: a partition of it is being reassigned")
    })
    .await;
    assert!(c.zk.topic_exists("doomed").await.expect("exists"), "doomed deleted while being reassigned");
    c.signal(4, "CONT");
    wait_for("doomed deleted after its reassignment completed", || async { !c.zk.topic_exists("doomed").await.unwrap_or(true) }).await;
    c.wait_znode_gone().await;
    for id in 1..=4 {
        wait_for(&format!("doomed-0's directory gone from broker {id}"), || async { !c.partition_dir_exists(id, &tp("doomed", 0)) }).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reassignment_survives_controller_kill_and_target_restart() {
    let mut c = Cluster::start("reassign-failover").await;
    let controller = c.controller().await.expect("a controller");
    assert_ne!(controller, 4, "broker 4 is frozen below and must not be the controller");
    c.create_topic("survive", &[(0, vec![1, 2, 3]), (1, vec![2, 3, 1])]).await;
    let (p0, p1) = (tp("survive", 0), tp("survive", 1));
    for p in [&p0, &p1] {
        for i in 0..50 {
            assert!(produce(&c, p, &format!("{p}-{i}")).await);
        }
    }

    // ---- Controller killed (kill -9) mid-reassignment.
    c.signal(4, "STOP");
    c.reassign(&[(p0.clone(), vec![2, 3, 4])]).await;
    wait_for("p0 in phase A", || async { c.assignment(&p0).await.is_some_and(|a| a.adding_replicas == vec![4]) }).await;
    let old = c.controller().await.expect("controller");
    blocking(|| c.brokers.get_mut(&old).expect("controller broker").kill());
    wait_for("a new controller", || async { c.controller().await.is_some_and(|id| id != old) }).await;
    c.signal(4, "CONT");
    let target = [2, 3, 4];
    wait_for("p0 moved after the failover", || async {
        let a = c.assignment(&p0).await;
        let s = c.state(&p0).await;
        a == Some(ReplicaAssignment::new(target.to_vec())) && s.is_some_and(|(l, isr)| target.contains(&l) && isr.iter().all(|r| target.contains(r)))
    })
    .await;
    c.wait_znode_gone().await;
    blocking(|| c.brokers.get_mut(&old).expect("old controller").restart());
    c.wait_completed(&p0, &target).await;
    assert_eq!(read_all(&c, &p0).await.len(), 50);

    // ---- A target broker restarted (kill -9, then start) mid-reassignment.
    let frozen = 4;
    c.signal(frozen, "STOP");
    c.reassign(&[(p1.clone(), vec![2, 3, 4])]).await;
    wait_for("p1 in phase A", || async { c.assignment(&p1).await.is_some_and(|a| a.adding_replicas == vec![4]) }).await;
    blocking(|| c.brokers.get_mut(&frozen).expect("broker 4").kill());
    // Its old session must expire before it can register again (as in Kafka).
    wait_for("broker 4's registration to expire", || async {
        c.zk.get_all_broker_ids().await.is_ok_and(|ids| !ids.contains(&frozen))
    })
    .await;
    blocking(|| c.brokers.get_mut(&frozen).expect("broker 4").restart());
    c.wait_completed(&p1, &[2, 3, 4]).await;
    c.wait_znode_gone().await;
    assert_eq!(read_all(&c, &p1).await.len(), 50);
}

// ---------------------------------------------------------------- the admin APIs

use zkafka::protocol::messages::alter_partition_reassignments::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ReassignablePartition, ReassignableTopic,
};
use zkafka::protocol::messages::elect_leaders::{ElectLeadersRequest, ElectLeadersResponse, TopicPartitions};
use zkafka::protocol::messages::list_partition_reassignments::{
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, ListPartitionReassignmentsTopics,
};

/// AlterPartitionReassignments v0 sent to broker `to`: (top-level code, per-partition codes).
async fn alter(c: &Cluster, to: i32, targets: &[(TopicPartition, Option<Vec<i32>>)]) -> (i16, BTreeMap<TopicPartition, i16>) {
    let mut by_topic: BTreeMap<String, Vec<ReassignablePartition>> = BTreeMap::new();
    for (tp, r) in targets {
        by_topic.entry(tp.topic.clone()).or_default().push(ReassignablePartition { partition_index: tp.partition, replicas: r.clone(), ..Default::default() });
    }
    let req = AlterPartitionReassignmentsRequest {
        timeout_ms: 30000,
        topics: by_topic.into_iter().map(|(name, partitions)| ReassignableTopic { name, partitions, ..Default::default() }).collect(),
        ..Default::default()
    };
    let mut conn = BrokerConnection::connect(&c.brokers[&to].addr(), "reassign-api", Duration::from_secs(5)).await.expect("connect");
    let resp: AlterPartitionReassignmentsResponse = conn.send_timeout(0, &req, Duration::from_secs(30)).await.expect("AlterPartitionReassignments");
    let codes = resp.responses.iter().flat_map(|t| t.partitions.iter().map(|p| (tp(&t.name, p.partition_index), p.error_code))).collect();
    (resp.error_code, codes)
}

/// ListPartitionReassignments v0: (top-level code, partition -> (replicas, adding, removing)).
#[allow(clippy::type_complexity)]
async fn list(c: &Cluster, to: i32, partitions: Option<&[TopicPartition]>) -> (i16, BTreeMap<TopicPartition, (Vec<i32>, Vec<i32>, Vec<i32>)>) {
    let topics = partitions.map(|ps| {
        let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
        for p in ps {
            by_topic.entry(p.topic.clone()).or_default().push(p.partition);
        }
        by_topic.into_iter().map(|(name, partition_indexes)| ListPartitionReassignmentsTopics { name, partition_indexes, ..Default::default() }).collect()
    });
    let req = ListPartitionReassignmentsRequest { timeout_ms: 30000, topics, ..Default::default() };
    let mut conn = BrokerConnection::connect(&c.brokers[&to].addr(), "reassign-api", Duration::from_secs(5)).await.expect("connect");
    let resp: ListPartitionReassignmentsResponse = conn.send_timeout(0, &req, Duration::from_secs(30)).await.expect("ListPartitionReassignments");
    let m = resp
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| (tp(&t.name, p.partition_index), (p.replicas.clone(), p.adding_replicas.clone(), p.removing_replicas.clone()))))
        .collect();
    (resp.error_code, m)
}

/// ElectLeaders at `version` (type ignored by v0): (top-level code, per-partition codes).
async fn elect(c: &Cluster, to: i32, version: i16, election_type: i8, partitions: Option<&[TopicPartition]>) -> (i16, BTreeMap<TopicPartition, i16>) {
    let topic_partitions = partitions.map(|ps| {
        let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
        for p in ps {
            by_topic.entry(p.topic.clone()).or_default().push(p.partition);
        }
        by_topic.into_iter().map(|(topic, partition_id)| TopicPartitions { topic, partition_id, ..Default::default() }).collect()
    });
    let req = ElectLeadersRequest { election_type, topic_partitions, timeout_ms: 30000, ..Default::default() };
    let mut conn = BrokerConnection::connect(&c.brokers[&to].addr(), "elect-api", Duration::from_secs(5)).await.expect("connect");
    let resp: ElectLeadersResponse = conn.send_timeout(version, &req, Duration::from_secs(40)).await.expect("ElectLeaders");
    let codes = resp
        .replica_election_results
        .iter()
        .flat_map(|t| t.partition_result.iter().map(|p| (tp(&t.topic, p.partition_id), p.error_code)))
        .collect();
    (resp.error_code, codes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alter_list_partition_reassignments_and_elect_leaders_apis() {
    let mut c = Cluster::start("reassign-api").await;
    let ctrl = c.controller().await.expect("a controller");
    assert_ne!(ctrl, 4, "broker 4 is frozen below and must not be the controller");
    let other = (1..=3).find(|b| *b != ctrl).expect("a broker that is not the controller");
    c.create_topic("api", &[(0, vec![1, 2, 3]), (1, vec![1, 2, 3]), (2, vec![2, 3, 1])]).await;
    let (p0, p1, p2) = (tp("api", 0), tp("api", 1), tp("api", 2));
    for p in [&p0, &p1] {
        for i in 0..20 {
            assert!(produce(&c, p, &format!("{p}-{i}")).await);
        }
    }

    // Nothing moving.
    assert_eq!(list(&c, ctrl, None).await, (codes::NONE, BTreeMap::new()));
    // Not the controller: top-level NOT_CONTROLLER.
    assert_eq!(alter(&c, other, &[(p0.clone(), Some(vec![2, 3, 4]))]).await.0, codes::NOT_CONTROLLER);
    assert_eq!(list(&c, other, None).await.0, codes::NOT_CONTROLLER);

    // Validation, as Kafka's controller does it.
    let (top, errs) = alter(
        &c,
        ctrl,
        &[
            (tp("nope", 0), Some(vec![1, 2])),
            (tp("api", 9), Some(vec![1, 2])),
            (p0.clone(), Some(vec![1, 9])),
            (p1.clone(), Some(vec![2, 2])),
            (p2.clone(), None),
            (tp("api", 3), Some(vec![])),
        ],
    )
    .await;
    assert_eq!(top, codes::NONE);
    assert_eq!(errs[&tp("nope", 0)], codes::UNKNOWN_TOPIC_OR_PARTITION);
    assert_eq!(errs[&tp("api", 9)], codes::UNKNOWN_TOPIC_OR_PARTITION);
    assert_eq!(errs[&p0], codes::INVALID_REPLICA_ASSIGNMENT);
    assert_eq!(errs[&p1], codes::INVALID_REPLICA_ASSIGNMENT);
    assert_eq!(errs[&p2], codes::NO_REASSIGNMENT_IN_PROGRESS);
    assert_eq!(errs[&tp("api", 3)], codes::INVALID_REPLICA_ASSIGNMENT);
    assert_eq!(c.assignment(&p0).await, Some(ReplicaAssignment::new(vec![1, 2, 3])));

    // A move held in phase A (broker 4 frozen): listed, then cancelled with a null target.
    c.signal(4, "STOP");
    let (top, errs) = alter(&c, ctrl, &[(p0.clone(), Some(vec![2, 3, 4])), (p1.clone(), Some(vec![4, 1, 2]))]).await;
    assert_eq!((top, errs.values().copied().collect::<Vec<_>>()), (codes::NONE, vec![codes::NONE, codes::NONE]));
    let (top, moving) = list(&c, ctrl, None).await;
    assert_eq!(top, codes::NONE);
    assert_eq!(moving[&p0], (vec![2, 3, 4, 1], vec![4], vec![1]));
    assert_eq!(moving[&p1], (vec![4, 1, 2, 3], vec![4], vec![3]));
    // Named partitions: only the moving ones are listed.
    assert_eq!(list(&c, ctrl, Some(&[p0.clone(), p2.clone()])).await.1.keys().cloned().collect::<Vec<_>>(), vec![p0.clone()]);
    assert_eq!(c.assignment(&p0).await.map(|a| a.adding_replicas), Some(vec![4]));
    // The preferred replica of p1 is now 4, which is not in the ISR.
    let (top, errs) = elect(&c, ctrl, 2, 0, Some(std::slice::from_ref(&p1))).await;
    assert_eq!((top, errs[&p1]), (codes::NONE, codes::PREFERRED_LEADER_NOT_AVAILABLE));
    // Cancel p0 (null target): original replicas back, 4's replica removed.
    let (_, errs) = alter(&c, ctrl, &[(p0.clone(), None)]).await;
    assert_eq!(errs[&p0], codes::NONE);
    // As in Kafka, ORS = RS - AR keeps RS's order: {2,3,4,1} - {4} = [2,3,1].
    c.wait_completed(&p0, &[2, 3, 1]).await;
    assert!(!list(&c, ctrl, None).await.1.contains_key(&p0));
    // A second target for p1 computed against its original {1,2,3}: {2,1} (4 no longer needed).
    let (_, errs) = alter(&c, ctrl, &[(p1.clone(), Some(vec![2, 1]))]).await;
    assert_eq!(errs[&p1], codes::NONE);
    c.wait_completed(&p1, &[2, 1]).await;
    assert_eq!(list(&c, ctrl, None).await, (codes::NONE, BTreeMap::new()));
    c.signal(4, "CONT");
    wait_for("broker 4 registered", || async { c.zk.get_all_broker_ids().await.ok() == Some(vec![1, 2, 3, 4]) }).await;

    // Preferred election: p0's and p1's preferred replica is 2 and their leader 1; p2 is led by 2.
    assert_eq!(c.state(&p0).await.map(|(l, _)| l), Some(1));
    assert_eq!(c.state(&p1).await.map(|(l, _)| l), Some(1));
    let (top, errs) = elect(&c, ctrl, 1, 0, Some(&[p0.clone(), p1.clone(), p2.clone(), tp("nope", 0)])).await;
    assert_eq!(top, codes::NONE);
    assert_eq!(errs[&p0], codes::NONE);
    assert_eq!(errs[&p1], codes::NONE);
    assert_eq!(errs[&p2], codes::ELECTION_NOT_NEEDED);
    assert_eq!(errs[&tp("nope", 0)], codes::UNKNOWN_TOPIC_OR_PARTITION);
    assert_eq!(c.state(&p0).await.map(|(l, _)| l), Some(2));
    assert_eq!(c.state(&p1).await.map(|(l, _)| l), Some(2));
    // v0 (always preferred), all partitions: nothing needs an election, so nothing is listed.
    let (_, errs) = elect(&c, ctrl, 0, 0, None).await;
    assert!(errs.is_empty(), "{errs:?}");
    // Unclean on a partition that has a leader: not needed. On a non-controller: NOT_CONTROLLER.
    assert_eq!(elect(&c, ctrl, 2, 1, Some(std::slice::from_ref(&p0))).await.1[&p0], codes::ELECTION_NOT_NEEDED);
    assert_eq!(elect(&c, other, 2, 1, Some(std::slice::from_ref(&p0))).await.1[&p0], codes::NOT_CONTROLLER);

    // Unclean election on demand: "unc" on {3,4}; 3 stops (4 leads alone), 4 dies, 3 returns
    // outside the ISR: the partition is offline until an UNCLEAN election elects 3.
    c.create_topic("unc", &[(0, vec![3, 4])]).await;
    let u = tp("unc", 0);
    blocking(|| c.brokers.get_mut(&3).expect("broker 3").stop());
    wait_for("unc-0 led by 4 alone", || async { c.state(&u).await == Some((4, vec![4])) }).await;
    blocking(|| c.brokers.get_mut(&4).expect("broker 4").kill());
    wait_for("unc-0 offline", || async { c.state(&u).await.is_some_and(|(l, _)| l == -1) }).await;
    blocking(|| c.brokers.get_mut(&3).expect("broker 3").restart());
    wait_for("broker 3 registered", || async { c.zk.get_all_broker_ids().await.is_ok_and(|ids| ids.contains(&3)) }).await;
    let ctrl = c.controller().await.expect("controller");
    assert_eq!(c.state(&u).await.map(|(l, _)| l), Some(-1), "clean election must not elect 3");
    assert_eq!(elect(&c, ctrl, 2, 0, Some(std::slice::from_ref(&u))).await.1[&u], codes::PREFERRED_LEADER_NOT_AVAILABLE);
    let (_, errs) = elect(&c, ctrl, 2, 1, Some(std::slice::from_ref(&u))).await;
    assert_eq!(errs[&u], codes::NONE);
    assert_eq!(c.state(&u).await, Some((3, vec![3])));
}
