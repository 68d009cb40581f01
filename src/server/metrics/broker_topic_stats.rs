//! Kafka's `BrokerTopicStats` / `BrokerTopicMetrics`: produce and fetch
//! meters per topic and for all topics (MBeans
//! `kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec[,topic=t]`, exported
//! as `kafka_server_brokertopicmetrics_bytesin_total{topic="t"}`). Recorded by
//! `ReplicaManager` on the produce and fetch paths: a read-locked map lookup
//! by `&str` and relaxed atomic additions, no allocation once a topic is known.

use super::{Kind, Meter, MetricsText};
use crate::protocol::{error, ErrorCode};
use crate::server::replica_manager::FetchPartitionResult;
use crate::common::TopicPartition;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// One topic's meters (or all topics').
#[derive(Default, Debug)]
pub struct BrokerTopicMetrics {
    pub messages_in: Meter,
    pub bytes_in: Meter,
    pub bytes_out: Meter,
    pub bytes_rejected: Meter,
    pub failed_produce_requests: Meter,
    pub failed_fetch_requests: Meter,
    pub total_produce_requests: Meter,
    pub total_fetch_requests: Meter,
}

/// (MBean name without `PerSec`, exported name part, help, field).
type Field = fn(&BrokerTopicMetrics) -> &Meter;
const TOPIC_METERS: [(&str, &str, Field); 8] = [
    ("messagesin", "MessagesInPerSec: records appended by clients", |m| &m.messages_in),
    ("bytesin", "BytesInPerSec: bytes appended by clients", |m| &m.bytes_in),
    ("bytesout", "BytesOutPerSec: bytes sent to consumers", |m| &m.bytes_out),
    ("bytesrejected", "BytesRejectedPerSec: produced bytes refused as too large", |m| &m.bytes_rejected),
    ("failedproducerequests", "FailedProduceRequestsPerSec: produce partitions answered with an error", |m| &m.failed_produce_requests),
    ("failedfetchrequests", "FailedFetchRequestsPerSec: fetch partitions answered with an error", |m| &m.failed_fetch_requests),
    ("totalproducerequests", "TotalProduceRequestsPerSec: produce partitions", |m| &m.total_produce_requests),
    ("totalfetchrequests", "TotalFetchRequestsPerSec: fetch partitions", |m| &m.total_fetch_requests),
];

#[derive(Default)]
pub struct BrokerTopicStats {
    topics: RwLock<HashMap<String, Arc<BrokerTopicMetrics>>>,
    pub all_topics: BrokerTopicMetrics,
    /// ReplicationBytesInPerSec / ReplicationBytesOutPerSec (all topics only).
    pub replication_bytes_in: Meter,
    pub replication_bytes_out: Meter,
}

impl BrokerTopicStats {
    /// Runs `f` on the topic's meters and on all topics' meters.
    #[inline]
    pub fn with_topic(&self, topic: &str, f: impl Fn(&BrokerTopicMetrics)) {
        f(&self.all_topics);
        {
            let map = self.topics.read().unwrap_or_else(|p| p.into_inner());
            if let Some(m) = map.get(topic) {
                f(m);
                return;
            }
        }
        let m = self.topics.write().unwrap_or_else(|p| p.into_inner()).entry(topic.to_string()).or_default().clone();
        f(&m);
    }

    /// Kafka's `removeMetrics(topic)`: the topic was deleted here.
    pub fn remove_topic(&self, topic: &str) {
        self.topics.write().unwrap_or_else(|p| p.into_inner()).remove(topic);
    }

    /// Records a client's produce as `ReplicaManager.appendToLocalLog` does:
    /// every partition counts in TotalProduceRequests; an append counts its
    /// bytes and records in; a failed one in FailedProduceRequests (and its
    /// bytes in BytesRejected when it was too large).
    pub fn record_produce(&self, tp: &TopicPartition, bytes: usize, records: i64, error_code: ErrorCode) {
        self.with_topic(&tp.topic, |m| {
            m.total_produce_requests.mark(1);
            if error_code == error::NONE {
                m.bytes_in.mark(bytes as u64);
                m.messages_in.mark(records.max(0) as u64);
            } else {
                m.failed_produce_requests.mark(1);
                if error_code == error::MESSAGE_TOO_LARGE || error_code == error::RECORD_LIST_TOO_LARGE {
                    m.bytes_rejected.mark(bytes as u64);
                }
            }
        });
    }

    /// Records a fetch's answer: for consumers BytesOut per topic, for
    /// followers ReplicationBytesOut; TotalFetchRequests and
    /// FailedFetchRequests for every partition.
    pub fn record_fetch(&self, replica_id: i32, results: &[FetchPartitionResult]) {
        for r in results {
            let len = r.records_len() as u64;
            if replica_id >= 0 {
                self.replication_bytes_out.mark(len);
            }
            self.with_topic(&r.tp.topic, |m| {
                m.total_fetch_requests.mark(1);
                if r.error != error::NONE {
                    m.failed_fetch_requests.mark(1);
                } else if replica_id < 0 {
                    m.bytes_out.mark(len);
                }
            });
        }
    }

    pub fn write(&self, t: &mut MetricsText) {
        let topics: Vec<(String, Arc<BrokerTopicMetrics>)> = {
            let map = self.topics.read().unwrap_or_else(|p| p.into_inner());
            let mut v: Vec<_> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        for (part, help, field) in TOPIC_METERS {
            let name = format!("kafka_server_brokertopicmetrics_{part}_total");
            t.family(&name, Kind::Counter, help);
            t.sample(&name, &[], field(&self.all_topics).count() as f64);
            for (topic, m) in &topics {
                t.sample(&name, &[("topic", topic)], field(m).count() as f64);
            }
        }
        t.single(
            "kafka_server_brokertopicmetrics_replicationbytesin_total",
            Kind::Counter,
            "ReplicationBytesInPerSec: bytes appended by this broker's followers",
            self.replication_bytes_in.count() as f64,
        );
        t.single(
            "kafka_server_brokertopicmetrics_replicationbytesout_total",
            Kind::Counter,
            "ReplicationBytesOutPerSec: bytes sent to followers",
            self.replication_bytes_out.count() as f64,
        );
    }
}

/// `ReplicaManager`'s produce hook: the final result of each partition of a
/// Produce request, counted in `ErrorsPerSec{request="Produce"}`.
pub fn produce_answered(results: &[(TopicPartition, crate::server::replica_manager::ProducePartitionResult)]) {
    let m = super::metrics().request_channel.api(crate::protocol::ApiKey::Produce);
    for (_, r) in results {
        m.mark_error(r.error, 1);
    }
}

/// `ReplicaManager`'s fetch hook: the answer of a Fetch request, counted in
/// BrokerTopicMetrics and `ErrorsPerSec{request="Fetch"}`.
pub fn fetch_answered(replica_id: i32, results: &[FetchPartitionResult]) {
    let m = super::metrics();
    m.broker_topic_stats.record_fetch(replica_id, results);
    let e = m.request_channel.api(crate::protocol::ApiKey::Fetch);
    for r in results {
        e.mark_error(r.error, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn produce_counts_per_topic_and_in_total() {
        let s = BrokerTopicStats::default();
        let tp = TopicPartition::new("t", 0);
        s.record_produce(&tp, 100, 3, error::NONE);
        s.record_produce(&tp, 50, 0, error::MESSAGE_TOO_LARGE);
        s.record_produce(&TopicPartition::new("u", 1), 10, 1, error::NOT_LEADER_OR_FOLLOWER);
        let mut t = MetricsText::new();
        s.write(&mut t);
        let out = t.into_string();
        for line in [
            "kafka_server_brokertopicmetrics_bytesin_total 100\n",
            "kafka_server_brokertopicmetrics_bytesin_total{topic=\"t\"} 100\n",
            "kafka_server_brokertopicmetrics_messagesin_total{topic=\"t\"} 3\n",
            "kafka_server_brokertopicmetrics_bytesrejected_total{topic=\"t\"} 50\n",
            "kafka_server_brokertopicmetrics_failedproducerequests_total 2\n",
            "kafka_server_brokertopicmetrics_failedproducerequests_total{topic=\"u\"} 1\n",
            "kafka_server_brokertopicmetrics_totalproducerequests_total 3\n",
            "kafka_server_brokertopicmetrics_replicationbytesout_total 0\n",
        ] {
            assert!(out.contains(line), "missing {line:?} in\n{out}");
        }
        s.remove_topic("u");
        let mut t = MetricsText::new();
        s.write(&mut t);
        assert!(!t.into_string().contains("topic=\"u\""));
    }
}
