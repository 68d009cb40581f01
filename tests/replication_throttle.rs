//! Replication throttles end to end (Kafka's ReplicationQuotaManager driven by
//! the DynamicConfigManager), on two real broker processes under a real
//! ZooKeeper: a follower that was down catches up three topics; one is
//! throttled on the leader side (`leader.replication.throttled.rate` on the
//! leader + `leader.replication.throttled.replicas`), one on the follower side
//! (`follower.replication.throttled.rate` on the follower +
//! `follower.replication.throttled.replicas`), one is not throttled. The
//! leader learns its throttle from a `/config/changes` notification while
//! running; the follower reads its throttle at start-up.
//!
//! Measurement: the bytes in the follower's partition directory, sampled
//! every 100 ms; the rate is taken between 20 % and 80 % of the log (21.6 MB
//! at 2 MB/s, about 11 s). The start is excluded because Kafka's rate counts
//! at least `replication.quota.window.num - 1` windows, which lets the first
//! (num - 1) windows' worth of bytes through at once (2 MB here with
//! `replication.quota.window.num=2`). Tolerance: at most 1.5x the throttle
//! (the quota is checked before a fetch and charged after it, so a 1 MB
//! fetch can overshoot a window, and the window boundaries round) and at
//! least 0.3x (the machine is shared and the fetcher backs off 200 ms when
//! everything it fetches is throttled; a throttle is an upper bound, the
//! lower one only shows the move is not stalled).

mod common;

use bytes::Bytes;
use common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};
use zkafka::client::BrokerConnection;
use zkafka::protocol::compression::Compression;
use zkafka::protocol::error as codes;
use zkafka::protocol::messages::produce::{ProduceRequest, ProduceRequestPartition, ProduceRequestTopic, ProduceResponse};
use zkafka::protocol::records::RecordBatchBuilder;
use zkafka::zk::{AdminZkClient, KafkaZkClient, ZkClientConfig};

const THROTTLE: i64 = 2_000_000;
const BIG: usize = 36_000_000;
const FREE: usize = 16_000_000;
const RECORD: usize = 400_000;

fn big_batch(seed: u8) -> Bytes {
    let mut b = RecordBatchBuilder::new(Compression::None);
    let value: Vec<u8> = (0..RECORD).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
    b.append(zkafka::common::now_ms(), None, Some(&value), &[]);
    b.build().expect("build batch")
}

async fn produce_bytes(addr: &str, topic: &str, total: usize) {
    let mut c = BrokerConnection::connect(addr, "throttle-test", Duration::from_secs(10)).await.expect("connect");
    let mut sent = 0;
    let mut i = 0u8;
    while sent < total {
        let req = ProduceRequest {
            acks: 1,
            timeout_ms: 10_000,
            topic_data: vec![ProduceRequestTopic {
                name: topic.into(),
                partition_data: vec![ProduceRequestPartition { index: 0, records: Some(big_batch(i)), ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let resp: ProduceResponse = c.send_timeout(8, &req, Duration::from_secs(30)).await.expect("produce");
        assert_eq!(resp.responses[0].partition_responses[0].error_code, codes::NONE, "produce to {topic}");
        sent += RECORD;
        i = i.wrapping_add(1);
    }
}

fn dir_log_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// (seconds since start, bytes) samples of one partition directory.
struct Progress {
    samples: Vec<(f64, u64)>,
}

impl Progress {
    /// First time the size reached `bytes`.
    fn time_at(&self, bytes: u64) -> Option<f64> {
        self.samples.iter().find(|(_, b)| *b >= bytes).map(|(t, _)| *t)
    }

    /// Bytes/s between the first samples at or above `from` and `to` bytes.
    fn rate_between(&self, from: u64, to: u64) -> Option<(f64, f64)> {
        let a = self.samples.iter().find(|(_, b)| *b >= from)?;
        let z = self.samples.iter().find(|(_, b)| *b >= to)?;
        let dt = z.0 - a.0;
        (dt > 0.0).then(|| ((z.1 - a.1) as f64 / dt, dt))
    }
}

async fn wait_log(b: &Broker, needle: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !b.log_contains(needle) {
        assert!(Instant::now() < deadline, "broker {} never logged {needle:?}:\n{}", b.id, b.log_tail(30));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_catch_up_is_held_to_the_rate_and_unthrottled_is_not() {
    let connect = format!("{}{}", zookeeper().connect_string(), chroot("throttle"));
    let props = [
        ("replica.lag.time.max.ms", "10000"),
        ("replica.fetch.wait.max.ms", "200"),
        ("replica.fetch.backoff.ms", "200"),
        ("replica.fetch.max.bytes", "1048576"),
        ("replication.quota.window.num", "2"),
        ("replication.quota.window.size.seconds", "1"),
        ("controlled.shutdown.retry.backoff.ms", "200"),
        ("controller.socket.timeout.ms", "5000"),
    ];
    let mut brokers: Vec<Broker> = (0..2).map(|id| Broker::start(id, &connect, &props)).collect();
    let zk = KafkaZkClient::connect(ZkClientConfig::new(&connect)).await.expect("zk");
    let admin = AdminZkClient::new(zk.clone());
    for t in ["big-l", "big-f", "free"] {
        admin.create_topic(t, -1, -1, &BTreeMap::new(), Some(BTreeMap::from([(0, vec![0, 1])]))).await.expect("create");
    }
    // Both replicas in sync, then the follower goes away.
    for t in ["big-l", "big-f", "free"] {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let s = zk.get_partition_state(t, 0).await.ok().flatten();
            if s.is_some_and(|s| s.leader_and_isr.leader == 0 && s.leader_and_isr.isr.len() == 2) {
                break;
            }
            assert!(Instant::now() < deadline, "{t} never got ISR [0,1]");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    brokers[1].stop();
    produce_bytes(&brokers[0].addr(), "big-l", BIG).await;
    produce_bytes(&brokers[0].addr(), "big-f", BIG).await;
    produce_bytes(&brokers[0].addr(), "free", FREE).await;
    let leader_dir = |t: &str| brokers[0].log_dir.join(format!("{t}-0"));
    let big_l_total = dir_log_bytes(&leader_dir("big-l"));
    let big_f_total = dir_log_bytes(&leader_dir("big-f"));
    let free_total = dir_log_bytes(&leader_dir("free"));
    assert!(big_l_total >= BIG as u64 && free_total >= FREE as u64);

    // The throttles, as kafka-reassign-partitions --throttle writes them.
    let rate = |k: &str| BTreeMap::from([(k.to_string(), THROTTLE.to_string())]);
    admin.change_broker_config(Some(0), rate("leader.replication.throttled.rate")).await.unwrap();
    admin.change_broker_config(Some(1), rate("follower.replication.throttled.rate")).await.unwrap();
    admin
        .change_topic_config("big-l", BTreeMap::from([("leader.replication.throttled.replicas".into(), "0:0".into())]))
        .await
        .unwrap();
    admin
        .change_topic_config("big-f", BTreeMap::from([("follower.replication.throttled.replicas".into(), "0:1".into())]))
        .await
        .unwrap();
    // The running leader applies them from /config/changes.
    wait_log(&brokers[0], "[Leader replication quota] bound set to 2000000 bytes/s", Duration::from_secs(30)).await;
    wait_log(&brokers[0], "[Leader replication quota] throttling big-l", Duration::from_secs(30)).await;

    let start = Instant::now();
    brokers[1].restart();
    // The restarted follower read its throttle at start-up.
    assert!(brokers[1].log_contains("[Follower replication quota] bound set to 2000000 bytes/s"), "{}", brokers[1].log_tail(40));
    assert!(brokers[1].log_contains("[Follower replication quota] throttling big-f"));

    let follower_dir = |t: &str| brokers[1].log_dir.join(format!("{t}-0"));
    let mut progress: BTreeMap<&str, Progress> =
        ["big-l", "big-f", "free"].into_iter().map(|t| (t, Progress { samples: Vec::new() })).collect();
    let big_target = |total: u64| total * 80 / 100;
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let t = start.elapsed().as_secs_f64();
        for (topic, p) in progress.iter_mut() {
            p.samples.push((t, dir_log_bytes(&follower_dir(topic))));
        }
        let l = progress["big-l"].samples.last().unwrap().1;
        let f = progress["big-f"].samples.last().unwrap().1;
        if l >= big_target(big_l_total) && f >= big_target(big_f_total) {
            break;
        }
        assert!(Instant::now() < deadline, "throttled catch-up stalled at {l} / {f} bytes");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The unthrottled topic finished while the throttled ones were far from done.
    let free_done = progress["free"].time_at(free_total).expect("the unthrottled topic caught up");
    for t in ["big-l", "big-f"] {
        let total = if t == "big-l" { big_l_total } else { big_f_total };
        let at_free_done = progress[t].samples.iter().take_while(|(s, _)| *s <= free_done).last().map_or(0, |x| x.1);
        assert!(
            at_free_done < total * 60 / 100,
            "{t} had {at_free_done} of {total} bytes when the unthrottled topic was done at {free_done:.1}s"
        );
    }
    for t in ["big-l", "big-f"] {
        let total = if t == "big-l" { big_l_total } else { big_f_total };
        let (r, dt) = progress[t].rate_between(total * 20 / 100, total * 80 / 100).expect("measured");
        eprintln!("{t}: {:.0} bytes/s over {dt:.1} s between 20% and 80% (throttle {THROTTLE}); free done at {free_done:.1}s", r);
        assert!(dt >= 8.0, "{t}: measured over only {dt:.1}s");
        assert!(r <= 1.5 * THROTTLE as f64, "{t}: {r:.0} bytes/s exceeds 1.5x the throttle");
        assert!(r >= 0.3 * THROTTLE as f64, "{t}: {r:.0} bytes/s is below 0.3x the throttle");
    }

    // Remove the throttles (rates and lists): the rest goes at full speed.
    let removed_at = start.elapsed().as_secs_f64();
    let before: BTreeMap<&str, u64> = ["big-l", "big-f"].iter().map(|t| (*t, dir_log_bytes(&follower_dir(t)))).collect();
    admin.change_broker_config(Some(0), BTreeMap::new()).await.unwrap();
    admin.change_broker_config(Some(1), BTreeMap::new()).await.unwrap();
    admin.change_topic_config("big-l", BTreeMap::new()).await.unwrap();
    admin.change_topic_config("big-f", BTreeMap::new()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let l = dir_log_bytes(&follower_dir("big-l"));
        let f = dir_log_bytes(&follower_dir("big-f"));
        if l >= big_l_total && f >= big_f_total {
            break;
        }
        assert!(Instant::now() < deadline, "catch-up did not finish after removing the throttle: {l} / {f}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let dt = start.elapsed().as_secs_f64() - removed_at;
    let moved = (big_l_total - before["big-l"]) + (big_f_total - before["big-f"]);
    let r = moved as f64 / dt;
    eprintln!("after removing the throttle: {moved} bytes in {dt:.1} s = {r:.0} bytes/s");
    // Both throttles together allowed at most 2 x 1.5 x THROTTLE.
    assert!(r > 3.0 * THROTTLE as f64, "unthrottled catch-up only {r:.0} bytes/s");

    // The follower rejoins the ISR of every partition.
    for t in ["big-l", "big-f", "free"] {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let s = zk.get_partition_state(t, 0).await.ok().flatten();
            if s.is_some_and(|s| s.leader_and_isr.isr.len() == 2) {
                break;
            }
            assert!(Instant::now() < deadline, "{t}: follower never rejoined the ISR");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
