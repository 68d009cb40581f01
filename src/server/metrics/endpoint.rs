//! The `/metrics` route of the broker's HTTP endpoint (`metrics.port`): the
//! Prometheus text page, in place of the JMX exporter agent's. Counters and
//! timers come from the registry; gauges are read from the broker's
//! components (ReplicaManager, LogManager, KafkaController, GroupCoordinator)
//! at scrape time.

use super::MetricsText;
use crate::controller::KafkaController;
use crate::coordinator::GroupCoordinator;
use crate::server::http_server::{HttpHandler, HttpResponse};
use crate::server::replica_manager::ReplicaManager;
use std::sync::Arc;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The whole page.
pub fn render(
    rm: &ReplicaManager,
    controller: &KafkaController,
    gc: &GroupCoordinator,
    remote_ends: &std::collections::HashMap<crate::common::TopicPartition, i64>,
) -> String {
    let m = super::metrics();
    let mut t = MetricsText::new();
    m.broker_topic_stats.write(&mut t);
    m.request_channel.write(&mut t);
    m.socket_server.write(&mut t);
    super::replica_manager_metrics::write(&mut t, rm);
    m.fetcher_lag.write(&mut t);
    super::log_metrics::write(&mut t, &rm.log_manager);
    m.purgatory.write(&mut t);
    m.controller.write(&mut t, controller.is_active());
    m.zookeeper.write(&mut t);
    super::group_metadata_manager_metrics::write(&mut t, gc, rm, remote_ends);
    write_linux_io(&mut t, &std::fs::read_to_string("/proc/self/io").unwrap_or_default());
    t.into_string()
}

/// `KafkaServer`'s `linux-disk-read-bytes` / `linux-disk-write-bytes` gauges
/// (the process's storage I/O from `/proc/self/io`; the exporter turns the
/// dashes into underscores). Absent where `/proc/self/io` is not readable.
pub fn write_linux_io(t: &mut MetricsText, proc_io: &str) {
    let field = |key: &str| {
        proc_io.lines().find_map(|l| l.strip_prefix(key).and_then(|v| v.trim().parse::<u64>().ok()))
    };
    for (key, part, help) in [
        ("read_bytes:", "linux_disk_read_bytes", "linux-disk-read-bytes: bytes this process read from storage"),
        ("write_bytes:", "linux_disk_write_bytes", "linux-disk-write-bytes: bytes this process wrote to storage"),
    ] {
        if let Some(v) = field(key) {
            t.single(&format!("kafka_server_kafkaserver_{part}"), super::Kind::Gauge, help, v as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_io_from_proc() {
        let mut t = MetricsText::new();
        write_linux_io(&mut t, "rchar: 1\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n");
        let s = t.into_string();
        assert!(s.contains("\nkafka_server_kafkaserver_linux_disk_read_bytes 4096\n"), "{s}");
        assert!(s.contains("\nkafka_server_kafkaserver_linux_disk_write_bytes 8192\n"), "{s}");
        let mut t = MetricsText::new();
        write_linux_io(&mut t, "");
        assert_eq!(t.into_string(), "");
    }
}

/// How the route reaches other brokers: for the end offsets of partitions a
/// group committed that have no replica on this broker.
pub struct PeerAccess {
    pub broker_id: i32,
    pub metadata_cache: Arc<crate::server::metadata_cache::MetadataCache>,
    pub listener_name: String,
    pub channel: crate::client::ChannelSecurity,
}

/// The route: GET /metrics.
pub fn route(rm: Arc<ReplicaManager>, controller: KafkaController, gc: Arc<GroupCoordinator>, peers: Arc<PeerAccess>) -> HttpHandler {
    Arc::new(move |req| {
        let (rm, controller, gc, peers) = (rm.clone(), controller.clone(), gc.clone(), peers.clone());
        Box::pin(async move {
            if req.path != "/metrics" {
                return None;
            }
            let remote = super::group_metadata_manager_metrics::partitions_without_local_replica(&gc, &rm);
            let remote_ends = if remote.is_empty() {
                Default::default()
            } else {
                super::group_metadata_manager_metrics::remote_end_offsets(
                    &remote,
                    &peers.metadata_cache,
                    &peers.listener_name,
                    &peers.channel,
                    peers.broker_id,
                )
                .await
            };
            let body = tokio::task::spawn_blocking(move || render(&rm, &controller, &gc, &remote_ends)).await;
            Some(match body {
                Ok(b) => HttpResponse::ok(CONTENT_TYPE, b),
                Err(e) => HttpResponse::text(500, format!("metrics failed: {e}\n")),
            })
        })
    })
}
