//! The broker's view of the cluster: live brokers, the controller, and every
//! partition's leader, ISR and replicas, as the controller last announced them
//! in UpdateMetadata. Maps to Kafka's `kafka.server.MetadataCache` (ZK mode).
//! Metadata requests are answered from here, never from ZooKeeper.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

/// Leader value the controller uses while a topic is being deleted.
pub const LEADER_DURING_DELETE: i32 = -2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerEndpoint {
    pub listener_name: String,
    pub host: String,
    pub port: i32,
    pub security_protocol: i16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedBroker {
    pub id: i32,
    pub endpoints: Vec<BrokerEndpoint>,
    pub rack: Option<String>,
}

impl CachedBroker {
    /// The endpoint of `listener` (clients get the one they connected through).
    pub fn endpoint(&self, listener: &str) -> Option<&BrokerEndpoint> {
        self.endpoints.iter().find(|e| e.listener_name == listener)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedPartition {
    pub controller_epoch: i32,
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    pub zk_version: i32,
    pub replicas: Vec<i32>,
    pub offline_replicas: Vec<i32>,
}

#[derive(Debug, Default)]
struct Snapshot {
    controller_id: Option<i32>,
    brokers: BTreeMap<i32, CachedBroker>,
    topics: BTreeMap<String, BTreeMap<i32, CachedPartition>>,
    topic_ids: HashMap<String, [u8; 16]>,
}

#[derive(Debug, Default)]
pub struct MetadataCache {
    inner: RwLock<Snapshot>,
}

impl MetadataCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies an UpdateMetadata: the live-broker list is replaced whole,
    /// partition states are upserted (or removed for topics being deleted).
    pub fn update(
        &self,
        controller_id: i32,
        brokers: Vec<CachedBroker>,
        partitions: Vec<(String, i32, CachedPartition)>,
        topic_ids: Vec<(String, [u8; 16])>,
    ) {
        let mut s = self.inner.write().unwrap_or_else(|p| p.into_inner());
        s.controller_id = if controller_id >= 0 { Some(controller_id) } else { None };
        s.brokers = brokers.into_iter().map(|b| (b.id, b)).collect();
        for (topic, id) in topic_ids {
            if id != [0u8; 16] {
                s.topic_ids.insert(topic, id);
            }
        }
        for (topic, partition, state) in partitions {
            if state.leader == LEADER_DURING_DELETE {
                if let Some(parts) = s.topics.get_mut(&topic) {
                    parts.remove(&partition);
                    if parts.is_empty() {
                        s.topics.remove(&topic);
                        s.topic_ids.remove(&topic);
                    }
                }
            } else {
                s.topics.entry(topic).or_default().insert(partition, state);
            }
        }
    }

    pub fn controller_id(&self) -> Option<i32> {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).controller_id
    }

    pub fn alive_brokers(&self) -> Vec<CachedBroker> {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).brokers.values().cloned().collect()
    }

    pub fn broker(&self, id: i32) -> Option<CachedBroker> {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).brokers.get(&id).cloned()
    }

    pub fn contains_topic(&self, topic: &str) -> bool {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).topics.contains_key(topic)
    }

    pub fn topic_names(&self) -> Vec<String> {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).topics.keys().cloned().collect()
    }

    pub fn topic_id(&self, topic: &str) -> [u8; 16] {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).topic_ids.get(topic).copied().unwrap_or([0; 16])
    }

    /// Partitions of `topic`, sorted by id.
    pub fn partitions(&self, topic: &str) -> Option<Vec<(i32, CachedPartition)>> {
        let s = self.inner.read().unwrap_or_else(|p| p.into_inner());
        s.topics.get(topic).map(|m| m.iter().map(|(p, st)| (*p, st.clone())).collect())
    }

    pub fn partition(&self, topic: &str, partition: i32) -> Option<CachedPartition> {
        let s = self.inner.read().unwrap_or_else(|p| p.into_inner());
        s.topics.get(topic).and_then(|m| m.get(&partition)).cloned()
    }

    /// True when every partition of `topic` has a leader (used to finish CreateTopics).
    pub fn topic_has_leaders(&self, topic: &str) -> bool {
        let s = self.inner.read().unwrap_or_else(|p| p.into_inner());
        s.topics.get(topic).is_some_and(|m| !m.is_empty() && m.values().all(|p| p.leader >= 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(leader: i32) -> CachedPartition {
        CachedPartition {
            controller_epoch: 1,
            leader,
            leader_epoch: 0,
            isr: vec![1],
            zk_version: 0,
            replicas: vec![1],
            offline_replicas: vec![],
        }
    }

    #[test]
    fn update_replaces_brokers_and_upserts_partitions() {
        let c = MetadataCache::new();
        let b = CachedBroker { id: 1, endpoints: vec![], rack: None };
        c.update(1, vec![b.clone()], vec![("t".into(), 0, part(1)), ("t".into(), 1, part(-1))], vec![]);
        assert_eq!(c.controller_id(), Some(1));
        assert!(!c.topic_has_leaders("t"));
        c.update(1, vec![b], vec![("t".into(), 1, part(1))], vec![]);
        assert!(c.topic_has_leaders("t"));
        c.update(1, vec![], vec![("t".into(), 0, part(LEADER_DURING_DELETE)), ("t".into(), 1, part(LEADER_DURING_DELETE))], vec![]);
        assert!(!c.contains_topic("t"));
        assert!(c.alive_brokers().is_empty());
    }
}
