//! Kafka's metrics (the Yammer `KafkaMetricsGroup` MBeans) in Prometheus text
//! format, named as the Prometheus JMX exporter's Kafka rules
//! (`example_configs/kafka-2_0_0.yml`) name them: `kafka.server:type=
//! ReplicaManager,name=UnderReplicatedPartitions` becomes
//! `kafka_server_replicamanager_underreplicatedpartitions`, a `...PerSec`
//! meter's `Count` becomes `kafka_<domain>_<type>_<name>_total`, a histogram
//! or timer becomes `..._count` plus one gauge per `quantile`.
//!
//! Like Yammer's default registry, the registry is one per process
//! (`metrics()`): the component that owns a metric in Kafka records it with a
//! one-line hook (`ReplicaManager`, `KafkaController`, `Log`, ...). Gauges that
//! Kafka computes from a component's state are computed from it at scrape time
//! (`endpoint`).

pub mod broker_topic_stats;
pub mod controller_metrics;
pub mod endpoint;
pub mod fetcher_lag_metrics;
pub mod group_metadata_manager_metrics;
pub mod histogram;
pub mod log_metrics;
pub mod purgatory_metrics;
pub mod replica_manager_metrics;
pub mod request_metrics;
pub mod socket_server_metrics;
pub mod zookeeper_client_metrics;

use histogram::{Histogram, QUANTILES};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// A Yammer `Meter` as the JMX exporter sees it: only its `Count`.
#[derive(Default, Debug)]
pub struct Meter(AtomicU64);

impl Meter {
    #[inline]
    pub fn mark(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The process's metrics (Yammer's `Metrics.defaultRegistry()`).
pub struct KafkaMetrics {
    pub broker_topic_stats: broker_topic_stats::BrokerTopicStats,
    pub request_channel: request_metrics::RequestChannelMetrics,
    pub replica_manager: replica_manager_metrics::ReplicaManagerMeters,
    pub controller: controller_metrics::ControllerMetrics,
    pub fetcher_lag: fetcher_lag_metrics::FetcherLagMetrics,
    pub log_flush: log_metrics::LogFlushStats,
    pub zookeeper: zookeeper_client_metrics::ZooKeeperClientMetrics,
    pub purgatory: purgatory_metrics::DelayedOperationPurgatoryMetrics,
    pub socket_server: socket_server_metrics::SocketServerMetrics,
}

pub fn metrics() -> &'static KafkaMetrics {
    static M: OnceLock<KafkaMetrics> = OnceLock::new();
    M.get_or_init(|| KafkaMetrics {
        broker_topic_stats: Default::default(),
        request_channel: Default::default(),
        replica_manager: Default::default(),
        controller: Default::default(),
        fetcher_lag: Default::default(),
        log_flush: Default::default(),
        zookeeper: Default::default(),
        purgatory: Default::default(),
        socket_server: Default::default(),
    })
}

/// Prometheus text exposition format (version 0.0.4), one family at a time.
#[derive(Default)]
pub struct MetricsText {
    out: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

impl MetricsText {
    pub fn new() -> MetricsText {
        MetricsText { out: String::with_capacity(64 * 1024) }
    }

    pub fn into_string(self) -> String {
        self.out
    }

    /// Starts a family: its `# HELP` and `# TYPE` lines. All its samples
    /// must follow before the next family starts.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        };
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.out.push_str(k);
                self.out.push_str("=\"");
                escape_label_into(&mut self.out, v);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
        push_value(&mut self.out, value);
        self.out.push('\n');
    }

    /// A family with one sample.
    pub fn single(&mut self, name: &str, kind: Kind, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    /// The samples the JMX exporter makes of one histogram MBean: a gauge
    /// per quantile under `name` and the `Count` as `<name>_count`. Both are
    /// families of their own (the exporter types them GAUGE and COUNTER).
    pub fn histogram_families<'a, I>(&mut self, name: &str, help: &str, items: I)
    where
        I: IntoIterator<Item = (Vec<(&'a str, String)>, &'a Histogram)>,
    {
        let items: Vec<_> = items.into_iter().collect();
        self.family(name, Kind::Gauge, help);
        for (labels, h) in &items {
            let q = h.quantiles();
            for ((_, qname), v) in QUANTILES.iter().zip(q) {
                let mut l: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
                l.push(("quantile", qname));
                self.sample(name, &l, v);
            }
        }
        let count = format!("{name}_count");
        self.family(&count, Kind::Counter, help);
        for (labels, h) in &items {
            let l: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
            self.sample(&count, &l, h.count() as f64);
        }
    }
}

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label_into(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn push_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 9.0e15 {
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_families_and_samples() {
        let mut t = MetricsText::new();
        t.family("kafka_server_brokertopicmetrics_bytesin_total", Kind::Counter, "BytesInPerSec\nCount");
        t.sample("kafka_server_brokertopicmetrics_bytesin_total", &[], 10.0);
        t.sample("kafka_server_brokertopicmetrics_bytesin_total", &[("topic", "a\"b\\c\nd")], 2.5);
        t.single("kafka_controller_kafkacontroller_activecontrollercount", Kind::Gauge, "x", 1.0);
        let s = t.into_string();
        assert_eq!(
            s,
            "# HELP kafka_server_brokertopicmetrics_bytesin_total BytesInPerSec\\nCount\n\
             # TYPE kafka_server_brokertopicmetrics_bytesin_total counter\n\
             kafka_server_brokertopicmetrics_bytesin_total 10\n\
             kafka_server_brokertopicmetrics_bytesin_total{topic=\"a\\\"b\\\\c\\nd\"} 2.5\n\
             # HELP kafka_controller_kafkacontroller_activecontrollercount x\n\
             # TYPE kafka_controller_kafkacontroller_activecontrollercount gauge\n\
             kafka_controller_kafkacontroller_activecontrollercount 1\n"
        );
    }

    #[test]
    fn special_values() {
        let mut s = String::new();
        push_value(&mut s, f64::NAN);
        s.push(' ');
        push_value(&mut s, f64::INFINITY);
        s.push(' ');
        push_value(&mut s, -3.0);
        s.push(' ');
        push_value(&mut s, 0.125);
        assert_eq!(s, "NaN +Inf -3 0.125");
    }

    #[test]
    fn histograms_as_the_jmx_exporter_shows_them() {
        let h = Histogram::new(1.0);
        h.record(2);
        let mut t = MetricsText::new();
        t.histogram_families("kafka_network_requestmetrics_totaltimems", "h", [(vec![("request", "Produce".to_string())], &h)]);
        let s = t.into_string();
        assert!(s.contains("# TYPE kafka_network_requestmetrics_totaltimems gauge\n"), "{s}");
        assert!(s.contains("kafka_network_requestmetrics_totaltimems{request=\"Produce\",quantile=\"0.99\"} 2\n"), "{s}");
        assert!(s.contains("kafka_network_requestmetrics_totaltimems{request=\"Produce\",quantile=\"0.999\"} 2\n"), "{s}");
        assert!(s.contains("# TYPE kafka_network_requestmetrics_totaltimems_count counter\n"), "{s}");
        assert!(s.contains("kafka_network_requestmetrics_totaltimems_count{request=\"Produce\"} 1\n"), "{s}");
    }
}
