//! Fencing on one real broker: controller requests from an older controller
//! epoch or for an older broker epoch are refused (KIP-380, controller
//! fencing), a LeaderAndIsr with a leader epoch that is not newer changes
//! nothing, and fetches and ListOffsets carrying a stale or future leader
//! epoch are refused (KIP-320).

mod common;

use common::*;
use std::time::Duration;
use zkafka::client::BrokerConnection;
use zkafka::protocol::error;
use zkafka::protocol::messages::create_topics::{CreatableTopic, CreateTopicsRequest, CreateTopicsResponse};
use zkafka::protocol::messages::fetch::{FetchRequest, FetchRequestPartition, FetchRequestTopic, FetchResponse};
use zkafka::protocol::messages::leader_and_isr::{LeaderAndIsrPartitionState, LeaderAndIsrRequest, LeaderAndIsrResponse};
use zkafka::protocol::messages::list_offsets::{ListOffsetsPartition, ListOffsetsRequest, ListOffsetsResponse, ListOffsetsTopic};
use zkafka::protocol::messages::update_metadata::{UpdateMetadataRequest, UpdateMetadataResponse};
use zkafka::zk::{KafkaZkClient, ZkClientConfig};

async fn zk(connect: &str) -> KafkaZkClient {
    let mut c = ZkClientConfig::new(connect);
    c.session_timeout = Duration::from_secs(10);
    KafkaZkClient::connect(c).await.expect("zookeeper")
}

fn fetch_at(topic: &str, epoch: i32) -> FetchRequest {
    FetchRequest {
        replica_id: -1,
        max_wait_ms: 0,
        min_bytes: 0,
        topics: vec![FetchRequestTopic {
            topic: topic.into(),
            partitions: vec![FetchRequestPartition {
                partition: 0,
                current_leader_epoch: epoch,
                fetch_offset: 0,
                partition_max_bytes: 1 << 20,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn list_at(topic: &str, epoch: i32) -> ListOffsetsRequest {
    ListOffsetsRequest {
        replica_id: -1,
        topics: vec![ListOffsetsTopic {
            name: topic.into(),
            partitions: vec![ListOffsetsPartition { partition_index: 0, current_leader_epoch: epoch, timestamp: -1, ..Default::default() }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_epochs_are_refused() {
    let connect = format!("{}{}", zookeeper().connect_string(), chroot("fence"));
    let broker = Broker::start(0, &connect, &[]);
    let mut conn = BrokerConnection::connect(&broker.addr(), "fencing-test", Duration::from_secs(5)).await.unwrap();
    let created: CreateTopicsResponse = conn
        .send(
            5,
            &CreateTopicsRequest {
                topics: vec![CreatableTopic { name: "f".into(), num_partitions: 1, replication_factor: 1, ..Default::default() }],
                timeout_ms: 30_000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(created.topics[0].error_code, error::NONE);

    let zk = zk(&connect).await;
    let (controller_epoch, _) = zk.get_controller_epoch().await.unwrap().expect("controller epoch");
    let (_, broker_epoch) = zk.get_broker(0).await.unwrap().expect("registered");
    let state = zk.get_partition_state("f", 0).await.unwrap().expect("partition state");
    let leader_epoch = state.leader_and_isr.leader_epoch;

    // A controller request from an older controller epoch.
    let mut lai = LeaderAndIsrRequest { controller_id: 0, controller_epoch: controller_epoch - 1, broker_epoch, ..Default::default() };
    let ps = LeaderAndIsrPartitionState {
        partition_index: 0,
        controller_epoch: controller_epoch - 1,
        leader: -1,
        leader_epoch: leader_epoch + 5,
        isr: vec![0],
        zk_version: state.leader_and_isr.zk_version,
        replicas: vec![0],
        ..Default::default()
    };
    lai.set_partition_states(5, vec![("f".into(), [0; 16], vec![ps.clone()])]);
    let resp: LeaderAndIsrResponse = conn.send(5, &lai).await.unwrap();
    assert_eq!(resp.error_code, error::STALE_CONTROLLER_EPOCH);

    // A controller request meant for an earlier life of this broker.
    lai.controller_epoch = controller_epoch;
    lai.broker_epoch = broker_epoch - 1;
    let resp: LeaderAndIsrResponse = conn.send(5, &lai).await.unwrap();
    assert_eq!(resp.error_code, error::STALE_BROKER_EPOCH);
    let um = UpdateMetadataRequest { controller_id: 0, controller_epoch, broker_epoch: broker_epoch - 1, ..Default::default() };
    let resp: UpdateMetadataResponse = conn.send(7, &um).await.unwrap();
    assert_eq!(resp.error_code, error::STALE_BROKER_EPOCH);

    // A LeaderAndIsr whose leader epoch is not newer is ignored per partition.
    let mut same = LeaderAndIsrRequest { controller_id: 0, controller_epoch, broker_epoch, ..Default::default() };
    same.set_partition_states(5, vec![("f".into(), [0; 16], vec![LeaderAndIsrPartitionState { leader_epoch, ..ps.clone() }])]);
    let resp: LeaderAndIsrResponse = conn.send(5, &same).await.unwrap();
    assert_eq!(resp.error_code, error::NONE);
    assert!(resp.all_partition_errors().all(|e| e.error_code == error::STALE_CONTROLLER_EPOCH), "{resp:?}");

    // Nothing of the refused requests took effect: still the leader at the same epoch.
    let ok: FetchResponse = conn.send(12, &fetch_at("f", leader_epoch)).await.unwrap();
    assert_eq!(ok.responses[0].partition_responses[0].error_code, error::NONE);

    // A newer leader epoch is applied (as from the controller); the old one
    // becomes stale.
    let mut newer = LeaderAndIsrRequest { controller_id: 0, controller_epoch, broker_epoch, ..Default::default() };
    newer.set_partition_states(
        5,
        vec![("f".into(), [0; 16], vec![LeaderAndIsrPartitionState { leader: 0, leader_epoch: leader_epoch + 1, controller_epoch, ..ps.clone() }])],
    );
    let resp: LeaderAndIsrResponse = conn.send(5, &newer).await.unwrap();
    assert!(resp.error_code == error::NONE && resp.all_partition_errors().all(|e| e.error_code == error::NONE), "{resp:?}");
    let leader_epoch = leader_epoch + 1;

    // KIP-320: fetches and offset lookups carrying another leader epoch.
    let stale: FetchResponse = conn.send(12, &fetch_at("f", leader_epoch - 1)).await.unwrap();
    assert_eq!(stale.responses[0].partition_responses[0].error_code, error::FENCED_LEADER_EPOCH);
    let future: FetchResponse = conn.send(12, &fetch_at("f", leader_epoch + 1)).await.unwrap();
    assert_eq!(future.responses[0].partition_responses[0].error_code, error::UNKNOWN_LEADER_EPOCH);
    let stale: ListOffsetsResponse = conn.send(6, &list_at("f", leader_epoch - 1)).await.unwrap();
    assert_eq!(stale.topics[0].partitions[0].error_code, error::FENCED_LEADER_EPOCH);
    let future: ListOffsetsResponse = conn.send(6, &list_at("f", leader_epoch + 1)).await.unwrap();
    assert_eq!(future.topics[0].partitions[0].error_code, error::UNKNOWN_LEADER_EPOCH);
    let ok: ListOffsetsResponse = conn.send(6, &list_at("f", leader_epoch)).await.unwrap();
    assert_eq!(ok.topics[0].partitions[0].error_code, error::NONE);
    zk.close();
}
