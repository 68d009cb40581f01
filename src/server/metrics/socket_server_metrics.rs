//! The request-path load gauges of Kafka's `SocketServer` and
//! `KafkaRequestHandlerPool`: connections per listener
//! (`kafka.server:type=socket-server-metrics,listener=L,networkProcessor=N`
//! `connection-count`), `NetworkProcessorAvgIdlePercent` and
//! `RequestHandlerAvgIdlePercent`, named as the JMX exporter's Kafka rules
//! name them (`..._percent` from the `Percent` rule, dashes to underscores).
//!
//! zkafka has no fixed pools of network processors and request handler
//! threads: every connection is a task on the async runtime's worker threads.
//! So the idle ratios are computed from where those threads spend their
//! time: the handlers' busy time (the time inside their polls, as
//! `RequestContext`'s quota accounting measures it) and the connections'
//! busy time reading frames and writing responses, each against the workers'
//! capacity since the broker started (what the exporter's `MeanRate` of
//! Kafka's idle meter shows). The one "network processor" label is `0`.

use super::{Kind, MetricsText};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct SocketServerMetrics {
    started: Instant,
    /// the async runtime's worker threads (`num.network.threads`, capped)
    workers: AtomicU64,
    connections: Mutex<BTreeMap<String, Arc<AtomicI64>>>,
    handler_busy_ns: AtomicU64,
    network_busy_ns: AtomicU64,
}

impl Default for SocketServerMetrics {
    fn default() -> Self {
        SocketServerMetrics {
            started: Instant::now(),
            workers: AtomicU64::new(std::thread::available_parallelism().map_or(1, |n| n.get()) as u64),
            connections: Mutex::new(BTreeMap::new()),
            handler_busy_ns: AtomicU64::new(0),
            network_busy_ns: AtomicU64::new(0),
        }
    }
}

/// Counts one open connection of a listener until dropped.
pub struct ConnectionGuard(Arc<AtomicI64>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl SocketServerMetrics {
    /// The number of worker threads the idle ratios are measured against.
    pub fn set_workers(&self, n: usize) {
        self.workers.store(n.max(1) as u64, Ordering::Relaxed);
    }

    /// A connection of `listener` was accepted (and authenticated).
    pub fn connection_opened(&self, listener: &str) -> ConnectionGuard {
        let mut m = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        let c = m.entry(listener.to_string()).or_default().clone();
        c.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard(c)
    }

    #[inline]
    pub fn handler_busy(&self, d: Duration) {
        self.handler_busy_ns.fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }

    #[inline]
    pub fn network_busy(&self, d: Duration) {
        self.network_busy_ns.fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }

    pub fn write(&self, t: &mut MetricsText) {
        let conns: Vec<(String, i64)> = self
            .connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(l, c)| (l.clone(), c.load(Ordering::Relaxed)))
            .collect();
        let name = "kafka_server_socket_server_metrics_connection_count";
        t.family(name, Kind::Gauge, "socket-server-metrics connection-count: open connections of a listener");
        for (l, c) in &conns {
            t.sample(name, &[("listener", l), ("networkProcessor", "0")], *c as f64);
        }
        let workers = self.workers.load(Ordering::Relaxed).max(1) as f64;
        let capacity = self.started.elapsed().as_nanos() as f64 * workers;
        let idle = |busy: &AtomicU64| idle_ratio(busy.load(Ordering::Relaxed) as f64, capacity);
        t.single(
            "kafka_server_kafkarequesthandlerpool_requesthandleravgidle_percent",
            Kind::Gauge,
            "RequestHandlerAvgIdlePercent: share of the workers' time since start not spent in request handlers (0..1)",
            idle(&self.handler_busy_ns),
        );
        t.single(
            "kafka_network_socketserver_networkprocessoravgidle_percent",
            Kind::Gauge,
            "NetworkProcessorAvgIdlePercent: share of the workers' time since start not spent reading requests and writing responses (0..1)",
            idle(&self.network_busy_ns),
        );
    }
}

/// 1 - busy/capacity, within 0..=1 (1 before any capacity has passed).
pub fn idle_ratio(busy_ns: f64, capacity_ns: f64) -> f64 {
    if capacity_ns <= 0.0 {
        return 1.0;
    }
    (1.0 - busy_ns / capacity_ns).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_ratios_and_connection_counts() {
        assert_eq!(idle_ratio(0.0, 0.0), 1.0);
        assert_eq!(idle_ratio(25.0, 100.0), 0.75);
        assert_eq!(idle_ratio(200.0, 100.0), 0.0);
        let m = SocketServerMetrics::default();
        let a = m.connection_opened("PLAINTEXT");
        let b = m.connection_opened("PLAINTEXT");
        let _c = m.connection_opened("SSL");
        drop(a);
        let mut t = MetricsText::new();
        m.write(&mut t);
        let s = t.into_string();
        assert!(s.contains("kafka_server_socket_server_metrics_connection_count{listener=\"PLAINTEXT\",networkProcessor=\"0\"} 1\n"), "{s}");
        assert!(s.contains("kafka_server_socket_server_metrics_connection_count{listener=\"SSL\",networkProcessor=\"0\"} 1\n"), "{s}");
        assert!(s.contains("\nkafka_server_kafkarequesthandlerpool_requesthandleravgidle_percent "), "{s}");
        assert!(s.contains("\nkafka_network_socketserver_networkprocessoravgidle_percent "), "{s}");
        drop(b);
    }
}
