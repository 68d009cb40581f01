//! Unit tests of the live view's pure parts: request parsing and the JSON the
//! page reads.

use super::*;
use crate::common::TopicPartition;
use crate::zk::zk_data::{EndPoint, LeaderAndIsr, LeaderIsrAndControllerEpoch, ReplicaAssignment, TopicAssignment};
use crate::zk::SecurityProtocol;

fn broker(id: i32, http: Option<u16>) -> BrokerInfo {
    let mut b = BrokerInfo::new(id, vec![EndPoint::new("PLAINTEXT", SecurityProtocol::Plaintext, "127.0.0.1", 9090 + id)], None);
    b.http_port = http;
    b
}

fn replica(topic: &str, p: i32, leader: i32, leo: i64, hw: i64, followers: Vec<FollowerView>) -> LocalReplica {
    LocalReplica { topic: topic.into(), partition: p, leader, leader_epoch: 3, isr: vec![1, 2], leo, hw, log_start: 0, followers }
}

#[test]
fn cursors_and_paths_are_parsed_strictly() {
    let c = parse_cursors("1:34,2:10,x:1,3:-1,4");
    assert_eq!(c.len(), 2);
    assert_eq!(c[&1], 34);
    assert_eq!(c[&2], 10);
    assert_eq!(percent_decode("%2Fbrokers%2Fids").as_deref(), Some("/brokers/ids"));
    assert_eq!(percent_decode("%2"), None);
    assert_eq!(percent_decode("%zz"), None);
    assert_eq!(percent_decode("%ff"), None, "not UTF-8");
    assert!(valid_znode_path("/"));
    assert!(valid_znode_path("/brokers/topics/t/partitions/0/state"));
    for bad in ["", "brokers", "/brokers/", "//x", "/a/../b", "/a\n"] {
        assert!(!valid_znode_path(bad), "{bad:?}");
    }
}

#[test]
fn registration_carries_the_http_port_only_when_set() {
    let with = broker(1, Some(8081));
    let decoded = BrokerInfo::decode(1, &with.encode()).unwrap();
    assert_eq!(decoded.http_port, Some(8081));
    assert_eq!(http_address(&decoded).as_deref(), Some("127.0.0.1:8081"));
    let without = broker(2, None);
    assert!(!String::from_utf8(without.encode()).unwrap().contains("zkafka_http_port"), "Kafka's JSON unchanged when off");
    assert_eq!(http_address(&BrokerInfo::decode(2, &without.encode()).unwrap()), None);
}

#[test]
fn peer_answers_are_checked() {
    let body = serde_json::to_vec(&LocalView { broker_id: 2, cursor: 5, events: vec![], replicas: vec![] }).unwrap();
    let mut ok = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n".to_vec();
    ok.extend_from_slice(&body);
    assert_eq!(parse_local_answer(&ok).unwrap().cursor, 5);
    assert!(parse_local_answer(b"HTTP/1.1 404 Not Found\r\n\r\nnot found").is_err());
    assert!(parse_local_answer(b"HTTP/1.1 200 OK\r\n\r\n{").is_err());
    assert!(parse_local_answer(b"garbage").is_err());
}

#[test]
fn cluster_json_joins_zookeeper_and_each_broker() {
    let mut brokers = BTreeMap::new();
    brokers.insert(1, (broker(1, Some(8081)), 100));
    brokers.insert(2, (broker(2, Some(8082)), 200));
    // Broker 3 is assigned a replica but is not registered (dead).
    let mut topics = BTreeMap::new();
    let mut partitions = BTreeMap::new();
    partitions.insert(0, ReplicaAssignment::new(vec![1, 2, 3]));
    topics.insert("t".to_string(), TopicAssignment { topic_id: None, partitions });
    let mut states = HashMap::new();
    let mut lai = LeaderAndIsr::new(1, vec![1, 2]);
    lai.leader_epoch = 3;
    lai.zk_version = 7;
    states.insert(TopicPartition::new("t", 0), LeaderIsrAndControllerEpoch { leader_and_isr: lai, controller_epoch: 2 });
    let mut locals = BTreeMap::new();
    let ev = |seq, t, text: &str| LocalEvent {
        seq,
        time_ms: t,
        kind: "Election".into(),
        source: "src/controller/partition_state_machine.rs".into(),
        kafka_class: "OfflinePartitionLeaderElectionStrategy".into(),
        text: text.into(),
    };
    locals.insert(
        1,
        Ok(LocalView {
            broker_id: 1,
            cursor: 9,
            events: vec![ev(9, 20, "b1")],
            replicas: vec![replica("t", 0, 1, 50, 40, vec![FollowerView { id: 2, leo: 40, caught_up_ms_ago: 12 }])],
        }),
    );
    locals.insert(2, Ok(LocalView { broker_id: 2, cursor: 4, events: vec![ev(4, 10, "b2")], replicas: vec![replica("t", 0, 1, 45, 40, vec![])] }));
    let v = build_cluster_json(1, &brokers, Some(1), Some((2, 1)), &topics, &states, &locals);
    assert_eq!(v["controller"]["id"], 1);
    assert_eq!(v["controller"]["epoch"], 2);
    assert_eq!(v["brokers"][0]["is_controller"], true);
    assert_eq!(v["brokers"][1]["http"], "127.0.0.1:8082");
    let p = &v["topics"][0]["partitions"][0];
    assert_eq!(p["leader"], 1);
    assert_eq!(p["leader_epoch"], 3);
    assert_eq!(p["zk_version"], 7);
    assert_eq!(p["isr"], json!([1, 2]));
    let r = &p["replicas"];
    assert_eq!(r[0]["leader"], true);
    assert_eq!(r[0]["leo"], 50);
    assert_eq!(r[0]["lag"], 0);
    assert_eq!(r[1]["leo"], 45);
    assert_eq!(r[1]["hw"], 40);
    assert_eq!(r[1]["lag"], 5, "follower lag = leader LEO - follower LEO");
    assert_eq!(r[1]["leo_seen_by_leader"], 40);
    assert_eq!(r[2]["live"], false);
    assert_eq!(r[2]["in_isr"], false);
    assert!(r[2]["leo"].is_null());
    // Events of all brokers, oldest first; cursors per broker.
    assert_eq!(v["events"][0]["broker"], 2);
    assert_eq!(v["events"][1]["broker"], 1);
    assert_eq!(v["cursors"]["1"], 9);
    assert_eq!(v["cursors"]["2"], 4);
}
