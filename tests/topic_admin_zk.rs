//! AdminZkClient's topic changes against a real ZooKeeper (no brokers): added
//! partitions are appended to `/brokers/topics/<t>` with the existing
//! partitions, their adding/removing replicas and the topic id untouched, and
//! placed over the brokers' racks; validate-only and refused requests write
//! nothing; deletion markers (`/admin/delete_topics/<t>`) for unknown topics
//! and twice-marked topics give Kafka's errors, not a NodeExists.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::time::Duration;
use zkafka::protocol::error as codes;
use zkafka::zk::zk_data::{BrokerInfo, EndPoint, SecurityProtocol};
use zkafka::zk::{AdminError, AdminZkClient, KafkaZkClient, RackAwareMode, ZkClientConfig};

async fn connect(tag: &str) -> KafkaZkClient {
    let mut cfg = ZkClientConfig::new(format!("{}{}", zookeeper().connect_string(), chroot(tag)));
    cfg.session_timeout = Duration::from_secs(6);
    cfg.connection_timeout = Duration::from_secs(30);
    let zk = KafkaZkClient::connect(cfg).await.expect("connect to ZooKeeper");
    zk.create_top_level_paths().await.unwrap();
    zk
}

async fn register(zk: &KafkaZkClient, id: i32, rack: Option<&str>) {
    let ep = EndPoint::new("PLAINTEXT", SecurityProtocol::Plaintext, "127.0.0.1", 9000 + id);
    zk.register_broker(&BrokerInfo::new(id, vec![ep], rack.map(str::to_string))).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_partitions_keep_existing_ones_and_follow_racks() {
    let zk = connect("add-partitions").await;
    for (id, rack) in [(1, "a"), (2, "a"), (3, "b"), (4, "b")] {
        register(&zk, id, Some(rack)).await;
    }
    let admin = AdminZkClient::new(zk.clone());
    let none = BTreeMap::new();
    let created = admin
        .create_topic_with_mode("t", 2, 2, &none, None, RackAwareMode::Enforced)
        .await
        .unwrap();
    let rack = |b: i32| if b <= 2 { "a" } else { "b" };
    assert!(created.values().all(|r| rack(r[0]) != rack(r[1])), "{created:?}");
    // A reassignment in flight on partition 1 must survive the rewrite.
    let (mut znode, v) = zk.get_topic_assignment_with_version("t").await.unwrap().unwrap();
    znode.partitions.get_mut(&1).unwrap().adding_replicas = vec![4];
    let path = zkafka::zk::zk_data::topic_path("t");
    zk.conditional_set_data(&path, &znode.encode(), v).await.unwrap().unwrap();

    let brokers = admin.get_broker_metadatas(RackAwareMode::Enforced, None).await.unwrap();
    let dry = admin.add_partitions("t", 5, None, &brokers, true).await.unwrap();
    assert_eq!(dry.len(), 5);
    assert_eq!(zk.get_topic_assignment("t").await.unwrap().unwrap(), znode, "validate-only wrote nothing");

    let all = admin.add_partitions("t", 5, None, &brokers, false).await.unwrap();
    assert_eq!(all, dry, "placement is deterministic (fixed start index)");
    let after = zk.get_topic_assignment("t").await.unwrap().unwrap();
    assert_eq!(after.topic_id, znode.topic_id);
    assert_eq!(after.partitions[&0], znode.partitions[&0]);
    assert_eq!(after.partitions[&1], znode.partitions[&1]);
    assert_eq!(after.partitions.keys().copied().collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
    for p in 2..5 {
        let r = &after.partitions[&p].replicas;
        assert_eq!(r.len(), 2);
        assert_ne!(rack(r[0]), rack(r[1]), "partition {p}: {r:?}");
    }

    // Refused requests change nothing.
    let before = zk.get_data(&path).await.unwrap().unwrap().0;
    let err = |e: AdminError| (e.error_code(), e.message());
    let e = admin.add_partitions("t", 4, None, &brokers, false).await.unwrap_err();
    assert_eq!(err(e).0, codes::INVALID_PARTITIONS);
    let e = admin.add_partitions("t", 6, Some(BTreeMap::from([(5, vec![1, 9])])), &brokers, false).await.unwrap_err();
    assert_eq!(err(e).0, codes::BROKER_NOT_AVAILABLE);
    let e = admin.add_partitions("nope", 6, None, &brokers, false).await.unwrap_err();
    assert_eq!(err(e), (codes::INVALID_TOPIC_EXCEPTION, "The topic nope does not exist".to_string()));
    assert_eq!(zk.get_data(&path).await.unwrap().unwrap().0, before);

    // Manual replicas for the new partition, as given.
    let all = admin.add_partitions("t", 6, Some(BTreeMap::from([(5, vec![4, 1])])), &brokers, false).await.unwrap();
    assert_eq!(all[&5], vec![4, 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_racks_and_deletion_markers() {
    let zk = connect("racks-delete").await;
    register(&zk, 1, Some("a")).await;
    register(&zk, 2, None).await;
    let admin = AdminZkClient::new(zk.clone());
    let none = BTreeMap::new();
    let e = admin.create_topic_with_mode("p", 2, 2, &none, None, RackAwareMode::Enforced).await.unwrap_err();
    assert!(e.message().starts_with("Not all brokers have rack information."), "{e}");
    assert!(!zk.topic_exists("p").await.unwrap());
    admin.create_topic_with_mode("p", 2, 2, &none, None, RackAwareMode::Disabled).await.unwrap();
    // Auto-creation's Safe mode ignores partial racks.
    admin.create_topic("q", 2, 2, &none, None).await.unwrap();

    admin.delete_topic("p").await.unwrap();
    assert!(zk.is_topic_marked_for_deletion("p").await.unwrap());
    assert!(matches!(admin.delete_topic("p").await, Err(AdminError::TopicAlreadyMarkedForDeletion(_))));
    let e = admin.delete_topic("missing").await.unwrap_err();
    assert_eq!(e.error_code(), codes::UNKNOWN_TOPIC_OR_PARTITION);
    assert!(!zk.is_topic_marked_for_deletion("missing").await.unwrap());
}
