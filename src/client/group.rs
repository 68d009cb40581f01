//! The client side of the group protocol (Kafka's `ConsumerProtocol` and the
//! coordinator lookup of `AbstractCoordinator`/`ConsumerNetworkClient`): the
//! subscription and assignment encodings a consumer group's members exchange,
//! and FindCoordinator for a group.

use super::KafkaClient;
use crate::common::TopicPartition;
use crate::protocol::error::{self, error_name};
use crate::protocol::messages::find_coordinator::{FindCoordinatorRequest, FindCoordinatorResponse};
use crate::protocol::messages::heartbeat::{HeartbeatRequest, HeartbeatResponse};
use crate::protocol::messages::join_group::{JoinGroupRequest, JoinGroupResponse};
use crate::protocol::messages::leave_group::{LeaveGroupRequest, LeaveGroupResponse};
use crate::protocol::messages::sync_group::{SyncGroupRequest, SyncGroupResponse};
use crate::protocol::{Reader, Writer};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub const FIND_COORDINATOR_VERSION: i16 = 2;
pub const JOIN_GROUP_VERSION: i16 = 5;
pub const SYNC_GROUP_VERSION: i16 = 3;
pub const HEARTBEAT_VERSION: i16 = 3;
pub const LEAVE_GROUP_VERSION: i16 = 3;

/// ConsumerProtocolSubscription v0: topics and user data.
pub fn encode_subscription(topics: &[String]) -> Bytes {
    let mut w = Writer::new();
    w.i16(0);
    w.array(false, topics, |w, t| w.string(false, t));
    w.nullable_bytes(false, None);
    w.into_bytes()
}

/// ConsumerProtocolSubscription: the topics (any version; later fields ignored).
pub fn decode_subscription(b: &Bytes) -> Vec<String> {
    let mut r = Reader::new(b.clone());
    if r.i16().is_err() {
        return Vec::new();
    }
    r.array(false, |r| r.string(false)).unwrap_or_default()
}

/// ConsumerProtocolAssignment v0: [topic, [partition]], user data.
pub fn encode_assignment(tps: &[TopicPartition]) -> Bytes {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in tps {
        by_topic.entry(&tp.topic).or_default().push(tp.partition);
    }
    let topics: Vec<(&str, Vec<i32>)> = by_topic.into_iter().collect();
    let mut w = Writer::new();
    w.i16(0);
    w.array(false, &topics, |w, (t, ps)| {
        w.string(false, t);
        w.i32_array(false, ps);
    });
    w.nullable_bytes(false, None);
    w.into_bytes()
}

/// ConsumerProtocolAssignment: the partitions (any version).
pub fn decode_assignment(b: &Bytes) -> Vec<TopicPartition> {
    let mut r = Reader::new(b.clone());
    if b.is_empty() || r.i16().is_err() {
        return Vec::new();
    }
    let topics = r.array(false, |r| Ok((r.string(false)?, r.i32_array(false)?))).unwrap_or_default();
    topics.into_iter().flat_map(|(t, ps)| ps.into_iter().map(move |p| TopicPartition::new(t.clone(), p))).collect()
}

impl KafkaClient {
    /// The coordinator of `group` (a broker id), after FindCoordinator retries
    /// while the coordinator is not available yet; its address is learnt
    /// from Metadata so `connection`/`send_to` can reach it.
    pub async fn find_coordinator(&mut self, group: &str, timeout: Duration) -> Result<i32, String> {
        let deadline = Instant::now() + timeout;
        let req = FindCoordinatorRequest { key: group.to_string(), ..Default::default() };
        loop {
            let result = self
                .send_any::<_, FindCoordinatorResponse>(FIND_COORDINATOR_VERSION, &req, Duration::from_secs(10))
                .await
                .map_err(|e| e.to_string());
            let retriable = match result {
                Ok(r) if r.error_code == error::NONE => {
                    self.metadata(Some(&[]), false).await.map_err(|e| e.to_string())?;
                    return Ok(r.node_id);
                }
                Ok(r) if r.error_code == error::COORDINATOR_NOT_AVAILABLE || r.error_code == error::COORDINATOR_LOAD_IN_PROGRESS => {
                    error_name(r.error_code).to_string()
                }
                Ok(r) => return Err(format!("FindCoordinator for group {group}: {}", error_name(r.error_code))),
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                return Err(format!("cannot find the coordinator of group {group}: {retriable}"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl KafkaClient {
    /// JoinGroup at the group's coordinator.
    pub async fn join_group(&mut self, coordinator: i32, req: &JoinGroupRequest, timeout: Duration) -> Result<JoinGroupResponse, String> {
        self.send_to(coordinator, JOIN_GROUP_VERSION, req, timeout).await.map_err(|e| e.to_string())
    }

    /// SyncGroup at the group's coordinator.
    pub async fn sync_group(&mut self, coordinator: i32, req: &SyncGroupRequest, timeout: Duration) -> Result<SyncGroupResponse, String> {
        self.send_to(coordinator, SYNC_GROUP_VERSION, req, timeout).await.map_err(|e| e.to_string())
    }

    /// Heartbeat at the group's coordinator.
    pub async fn heartbeat(&mut self, coordinator: i32, req: &HeartbeatRequest, timeout: Duration) -> Result<HeartbeatResponse, String> {
        self.send_to(coordinator, HEARTBEAT_VERSION, req, timeout).await.map_err(|e| e.to_string())
    }

    /// LeaveGroup at the group's coordinator.
    pub async fn leave_group(&mut self, coordinator: i32, req: &LeaveGroupRequest, timeout: Duration) -> Result<LeaveGroupResponse, String> {
        self.send_to(coordinator, LEAVE_GROUP_VERSION, req, timeout).await.map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_protocol_round_trip() {
        let tps = vec![TopicPartition::new("a", 0), TopicPartition::new("a", 2), TopicPartition::new("b", 1)];
        let b = encode_assignment(&tps);
        assert_eq!(&b[..7], &[0, 0, 0, 0, 0, 2, 0]);
        assert_eq!(decode_assignment(&b), tps);
        assert!(decode_assignment(&Bytes::new()).is_empty());
        let s = encode_subscription(&["t".into()]);
        assert_eq!(&s[..], &[0, 0, 0, 0, 0, 1, 0, 1, b't', 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(decode_subscription(&s), vec!["t".to_string()]);
    }
}
