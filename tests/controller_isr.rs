//! The controller's view of leader and ISR after leader-written ISR changes
//! (issue 7, "Correctness on the way"): a broker restarted and back in every
//! ISR, then stopped with SIGTERM at once, leaves every ISR within seconds,
//! because the controller's controlled shutdown and OfflineReplica
//! transition read the partition states from ZooKeeper (leaders write their
//! ISR expansions there and announce them seconds later); acks=all produce
//! keeps working with min.insync.replicas=2. Real ZooKeeper, three real brokers.

mod common;

use bytes::Bytes;
use common::{chroot, zookeeper, Broker};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use zkafka::client::BrokerConnection;
use zkafka::common::TopicPartition;
use zkafka::protocol::compression::Compression;
use zkafka::protocol::error as codes;
use zkafka::protocol::messages::produce::{ProduceRequest, ProduceRequestPartition, ProduceRequestTopic, ProduceResponse};
use zkafka::protocol::records::RecordBatchBuilder;
use zkafka::zk::{AdminZkClient, KafkaZkClient, ZkClientConfig};

const PARTITIONS: i32 = 300;

fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

async fn states(zk: &KafkaZkClient, topic: &str) -> BTreeMap<i32, (i32, Vec<i32>)> {
    let tps: Vec<TopicPartition> = (0..PARTITIONS).map(|p| TopicPartition::new(topic, p)).collect();
    zk.get_partition_states(tps.iter())
        .await
        .map(|m| m.into_iter().map(|(tp, s)| (tp.partition, (s.leader_and_isr.leader, s.leader_and_isr.isr))).collect())
        .unwrap_or_default()
}

async fn wait_for<F, Fut>(what: &str, within: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<String>>,
{
    let deadline = Instant::now() + within;
    loop {
        match f().await {
            None => return,
            Some(why) => assert!(Instant::now() < deadline, "timed out after {within:?} waiting for {what}: {why}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn produce(addr: &str, topic: &str, partition: i32) -> i16 {
    let mut b = RecordBatchBuilder::new(Compression::None);
    b.append(zkafka::common::now_ms(), None, Some(b"after-stop".as_slice()), &[]);
    let req = ProduceRequest {
        acks: -1,
        timeout_ms: 5000,
        topic_data: vec![ProduceRequestTopic {
            name: topic.into(),
            partition_data: vec![ProduceRequestPartition { index: partition, records: Some(b.build().expect("batch") as Bytes), ..Default::default() }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut c = BrokerConnection::connect(addr, "isr-test", Duration::from_secs(5)).await.expect("connect");
    let resp: ProduceResponse = c.send_timeout(8, &req, Duration::from_secs(15)).await.expect("produce");
    resp.responses[0].partition_responses[0].error_code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_broker_leaves_every_isr_after_rejoining_it() {
    let connect = format!("{}{}", zookeeper().connect_string(), chroot("isr-rejoin"));
    let props = [
        ("zookeeper.session.timeout.ms", "10000"),
        // Long enough that no leader shrinks the ISR by itself within the test's deadline.
        ("replica.lag.time.max.ms", "30000"),
        ("replica.fetch.wait.max.ms", "200"),
        ("controlled.shutdown.retry.backoff.ms", "200"),
        ("controller.socket.timeout.ms", "5000"),
    ];
    let mut brokers: BTreeMap<i32, Broker> = BTreeMap::new();
    for id in 1..=3 {
        brokers.insert(id, blocking(|| Broker::start(id, &connect, &props)));
    }
    let zk = KafkaZkClient::connect(ZkClientConfig::new(connect.clone())).await.expect("zk");
    let topic = "isr-rejoin";
    let cfg = BTreeMap::from([("min.insync.replicas".to_string(), "2".to_string())]);
    AdminZkClient::new(zk.clone()).create_topic(topic, PARTITIONS, 3, &cfg, None).await.expect("create topic");
    let full = |s: &BTreeMap<i32, (i32, Vec<i32>)>| s.len() == PARTITIONS as usize && s.values().all(|(l, isr)| *l >= 0 && isr.len() == 3);
    wait_for("every partition with a full ISR", Duration::from_secs(120), || async {
        let s = states(&zk, topic).await;
        (!full(&s)).then(|| format!("{} of {PARTITIONS} full", s.values().filter(|(_, i)| i.len() == 3).count()))
    })
    .await;

    // Restart a broker that is not the controller; wait until it is back in every ISR.
    let controller = zk.get_controller_id().await.expect("controller").expect("a controller");
    let victim = (1..=3).find(|b| *b != controller).expect("a non-controller broker");
    blocking(|| brokers.get_mut(&victim).expect("victim").stop());
    wait_for("the stopped broker out of every ISR", Duration::from_secs(60), || async {
        let n = states(&zk, topic).await.values().filter(|(_, isr)| isr.contains(&victim)).count();
        (n > 0).then(|| format!("{n} ISRs still name {victim}"))
    })
    .await;
    blocking(|| brokers.get_mut(&victim).expect("victim").restart());
    wait_for("the restarted broker back in every ISR", Duration::from_secs(120), || async {
        let s = states(&zk, topic).await;
        (!full(&s)).then(|| format!("{} of {PARTITIONS} full", s.values().filter(|(_, i)| i.len() == 3).count()))
    })
    .await;

    // SIGTERM at once: every ISR must lose it within seconds (not after replica.lag.time.max.ms).
    blocking(|| brokers.get_mut(&victim).expect("victim").stop());
    wait_for("every ISR to lose the stopped broker", Duration::from_secs(20), || async {
        let s = states(&zk, topic).await;
        let named: Vec<i32> = s.iter().filter(|(_, (_, isr))| isr.contains(&victim)).map(|(p, _)| *p).collect();
        let led: usize = s.values().filter(|(l, _)| *l == victim).count();
        (!named.is_empty() || led > 0).then(|| format!("{} ISRs still name {victim} (e.g. {:?}), {led} led by it", named.len(), &named[..named.len().min(5)]))
    })
    .await;

    // acks=all keeps working with two in-sync replicas.
    let s = states(&zk, topic).await;
    for p in [0, PARTITIONS / 2, PARTITIONS - 1] {
        let (leader, isr) = &s[&p];
        assert_eq!(isr.len(), 2, "partition {p}: isr {isr:?}");
        assert_eq!(produce(&brokers[leader].addr(), topic, p).await, codes::NONE, "acks=all produce to partition {p}");
    }
}
