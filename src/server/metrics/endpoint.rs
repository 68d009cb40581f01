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
pub fn render(rm: &ReplicaManager, controller: &KafkaController, gc: &GroupCoordinator) -> String {
    let m = super::metrics();
    let mut t = MetricsText::new();
    m.broker_topic_stats.write(&mut t);
    m.request_channel.write(&mut t);
    super::replica_manager_metrics::write(&mut t, rm);
    m.fetcher_lag.write(&mut t);
    super::log_metrics::write(&mut t, &rm.log_manager);
    m.purgatory.write(&mut t);
    m.controller.write(&mut t, controller.is_active());
    m.zookeeper.write(&mut t);
    super::group_metadata_manager_metrics::write(&mut t, gc, rm);
    t.into_string()
}

/// The route: GET /metrics.
pub fn route(rm: Arc<ReplicaManager>, controller: KafkaController, gc: Arc<GroupCoordinator>) -> HttpHandler {
    Arc::new(move |req| {
        let (rm, controller, gc) = (rm.clone(), controller.clone(), gc.clone());
        Box::pin(async move {
            if req.path != "/metrics" {
                return None;
            }
            let body = tokio::task::spawn_blocking(move || render(&rm, &controller, &gc)).await;
            Some(match body {
                Ok(b) => HttpResponse::ok(CONTENT_TYPE, b),
                Err(e) => HttpResponse::text(500, format!("metrics failed: {e}\n")),
            })
        })
    })
}
