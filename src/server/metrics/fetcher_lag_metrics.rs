//! Kafka's `FetcherLagMetrics` (`kafka.server:type=FetcherLagMetrics,
//! name=ConsumerLag,clientId=ReplicaFetcherThread-0-<leader>,topic=t,
//! partition=p`): how far each follower replica here is behind its leader's
//! high watermark, set by the replica fetcher after each fetch.

use super::{Kind, MetricsText};
use crate::common::TopicPartition;
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct FetcherLagMetrics {
    lags: Mutex<BTreeMap<TopicPartition, (usize, i32, i64)>>,
}

impl FetcherLagMetrics {
    /// The follower of `tp` fetching from `leader` is `lag` offsets behind
    /// (Kafka: max(0, leader high watermark - fetch offset)); the fetcher is
    /// Kafka's `ReplicaFetcherThread-<fetcherId>-<leaderId>`.
    pub fn set(&self, tp: &TopicPartition, fetcher_id: usize, leader: i32, lag: i64) {
        let mut m = self.lags.lock().unwrap_or_else(|p| p.into_inner());
        match m.get_mut(tp) {
            Some(v) => *v = (fetcher_id, leader, lag.max(0)),
            None => {
                m.insert(tp.clone(), (fetcher_id, leader, lag.max(0)));
            }
        }
    }

    /// The partition is no longer fetched here.
    pub fn remove(&self, tp: &TopicPartition) {
        self.lags.lock().unwrap_or_else(|p| p.into_inner()).remove(tp);
    }

    pub fn write(&self, t: &mut MetricsText) {
        let name = "kafka_server_fetcherlagmetrics_consumerlag";
        t.family(name, Kind::Gauge, "ConsumerLag: offsets a follower replica here is behind its leader's high watermark");
        let m = self.lags.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for (tp, (fetcher_id, leader, lag)) in m {
            let client = format!("ReplicaFetcherThread-{fetcher_id}-{leader}");
            t.sample(name, &[("clientId", &client), ("topic", &tp.topic), ("partition", &tp.partition.to_string())], lag as f64);
        }
    }
}
