//! Kafka's `RequestChannel.Metrics` / `RequestMetrics`: per API (Fetch split
//! into FetchConsumer and FetchFollower, as Kafka does) the request rate by
//! version, errors by code, and the request's time in each stage plus its
//! size (MBeans `kafka.network:type=RequestMetrics,name=TotalTimeMs,
//! request=Produce`, exported as `kafka_network_requestmetrics_totaltimems
//! {request="Produce",quantile="0.99"}`).
//!
//! The stages as zkafka measures them (`KafkaApis::handle_timed` and
//! `SocketServer`): RequestQueueTime from the frame fully read to the start
//! of dispatch (there is no request queue: the connection's task handles its
//! request at once); LocalTime the time the handler was running (polled);
//! RemoteTime the rest of the handler's time, spent waiting (purgatory:
//! acks=all, fetch long poll; ZooKeeper; the controller); ResponseQueueTime
//! from the handler's answer to the start of the write; ResponseSendTime
//! the write; TotalTime from the frame read to the response written.

use super::histogram::Histogram;
use super::{Kind, Meter, MetricsText};
use crate::protocol::{error, ApiKey, ErrorCode};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const API_SLOTS: usize = 100;
const FETCH_CONSUMER: usize = API_SLOTS;
const FETCH_FOLLOWER: usize = API_SLOTS + 1;
const VERSIONS: usize = 32;
/// Error codes counted: -1 (UNKNOWN_SERVER_ERROR) ..= 126.
const ERROR_SLOTS: usize = 128;

pub struct RequestMetrics {
    pub name: String,
    requests: Vec<Meter>,
    pub request_queue_time: Histogram,
    pub local_time: Histogram,
    pub remote_time: Histogram,
    pub throttle_time: Histogram,
    pub response_queue_time: Histogram,
    pub response_send_time: Histogram,
    pub total_time: Histogram,
    pub request_bytes: Histogram,
    /// zkafka's addition (Kafka 2.8 has no such MBean): response sizes.
    pub response_bytes: Histogram,
    errors: Vec<Meter>,
}

impl RequestMetrics {
    fn new(name: String) -> RequestMetrics {
        RequestMetrics {
            name,
            requests: (0..VERSIONS).map(|_| Meter::default()).collect(),
            request_queue_time: Histogram::timer(),
            local_time: Histogram::timer(),
            remote_time: Histogram::timer(),
            throttle_time: Histogram::new(1.0),
            response_queue_time: Histogram::timer(),
            response_send_time: Histogram::timer(),
            total_time: Histogram::timer(),
            request_bytes: Histogram::new(1.0),
            response_bytes: Histogram::new(1.0),
            errors: (0..ERROR_SLOTS).map(|_| Meter::default()).collect(),
        }
    }

    /// `ErrorsPerSec{request, error}`: one per error code of the response
    /// (per partition where the response has partitions), NONE included.
    #[inline]
    pub fn mark_error(&self, code: ErrorCode, n: u64) {
        let i = (code as i32 + 1).clamp(0, ERROR_SLOTS as i32 - 1) as usize;
        self.errors[i].mark(n);
    }
}

type HistField = fn(&RequestMetrics) -> &Histogram;
const HISTOGRAMS: [(&str, &str, HistField); 9] = [
    ("requestqueuetimems", "RequestQueueTimeMs: from the request read to its dispatch", |m| &m.request_queue_time),
    ("localtimems", "LocalTimeMs: time the handler was working", |m| &m.local_time),
    ("remotetimems", "RemoteTimeMs: time the handler waited (purgatory, ZooKeeper, controller)", |m| &m.remote_time),
    ("throttletimems", "ThrottleTimeMs: client quota throttle", |m| &m.throttle_time),
    ("responsequeuetimems", "ResponseQueueTimeMs: from the answer to the start of its write", |m| &m.response_queue_time),
    ("responsesendtimems", "ResponseSendTimeMs: writing the response", |m| &m.response_send_time),
    ("totaltimems", "TotalTimeMs: from the request read to the response written", |m| &m.total_time),
    ("requestbytes", "RequestBytes: request sizes", |m| &m.request_bytes),
    ("responsebytes", "ResponseBytes (zkafka): response sizes, 0 when there is none (acks=0)", |m| &m.response_bytes),
];

pub struct RequestChannelMetrics {
    slots: Vec<OnceLock<RequestMetrics>>,
}

impl Default for RequestChannelMetrics {
    fn default() -> Self {
        RequestChannelMetrics { slots: (0..API_SLOTS + 2).map(|_| OnceLock::new()).collect() }
    }
}

impl RequestChannelMetrics {
    fn slot(&self, i: usize, name: impl FnOnce() -> String) -> &RequestMetrics {
        self.slots[i].get_or_init(|| RequestMetrics::new(name()))
    }

    /// The metrics of an API (by Kafka's name, `ApiKeys.name`).
    pub fn api(&self, api_key: ApiKey) -> &RequestMetrics {
        let i = (api_key as i16 as usize).min(API_SLOTS - 1);
        self.slot(i, || format!("{api_key:?}"))
    }

    /// The metrics a request's times go to: Fetch is FetchFollower when its
    /// `replica_id` (the first field of every Fetch version) is a broker id,
    /// FetchConsumer otherwise.
    pub fn for_request(&self, api_key: ApiKey, body: &[u8]) -> &RequestMetrics {
        if api_key == ApiKey::Fetch {
            let follower = body.len() >= 4 && i32::from_be_bytes([body[0], body[1], body[2], body[3]]) >= 0;
            return if follower {
                self.slot(FETCH_FOLLOWER, || "FetchFollower".to_string())
            } else {
                self.slot(FETCH_CONSUMER, || "FetchConsumer".to_string())
            };
        }
        self.api(api_key)
    }

    pub fn write(&self, t: &mut MetricsText) {
        let all: Vec<&RequestMetrics> = {
            let mut v: Vec<&RequestMetrics> = self.slots.iter().filter_map(|s| s.get()).collect();
            v.sort_by(|a, b| a.name.cmp(&b.name));
            v
        };
        let name = "kafka_network_requestmetrics_requests_total";
        t.family(name, Kind::Counter, "RequestsPerSec: requests by API and version");
        for m in &all {
            for (v, meter) in m.requests.iter().enumerate() {
                let c = meter.count();
                if c > 0 {
                    t.sample(name, &[("request", &m.name), ("version", &v.to_string())], c as f64);
                }
            }
        }
        let name = "kafka_network_requestmetrics_errors_total";
        t.family(name, Kind::Counter, "ErrorsPerSec: error codes in responses (per partition), NONE included");
        for m in &all {
            for (i, meter) in m.errors.iter().enumerate() {
                let c = meter.count();
                if c > 0 {
                    t.sample(name, &[("request", &m.name), ("error", error::error_name(i as i16 - 1))], c as f64);
                }
            }
        }
        for (part, help, field) in HISTOGRAMS {
            let items = all.iter().filter(|m| field(m).count() > 0).map(|m| (vec![("request", m.name.clone())], field(m)));
            t.histogram_families(&format!("kafka_network_requestmetrics_{part}"), help, items);
        }
    }
}

/// A request between its dispatch and its response written.
pub struct RequestTimer {
    metrics: &'static RequestMetrics,
    received: Instant,
    answered: Instant,
}

impl RequestTimer {
    /// Records what is known once the handler has answered.
    pub fn answered(
        metrics: &'static RequestMetrics,
        version: i16,
        size: usize,
        received: Instant,
        dispatched: Instant,
        busy: Duration,
        throttle_ms: i64,
    ) -> RequestTimer {
        let answered = Instant::now();
        metrics.requests[(version.max(0) as usize).min(VERSIONS - 1)].mark(1);
        metrics.request_bytes.record(size as u64);
        metrics.request_queue_time.record_duration(dispatched.saturating_duration_since(received));
        metrics.local_time.record_duration(busy);
        metrics.remote_time.record_duration(answered.saturating_duration_since(dispatched).saturating_sub(busy));
        metrics.throttle_time.record(throttle_ms.max(0) as u64);
        RequestTimer { metrics, received, answered }
    }

    /// Called by the connection when it starts writing the response and when
    /// the response is written (or when there is none to write).
    pub fn sent(self, write_started: Instant) {
        let now = Instant::now();
        self.metrics.response_queue_time.record_duration(write_started.saturating_duration_since(self.answered));
        self.metrics.response_send_time.record_duration(now.saturating_duration_since(write_started));
        self.metrics.total_time.record_duration(now.saturating_duration_since(self.received));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_is_split_by_replica_id() {
        let m = RequestChannelMetrics::default();
        assert_eq!(m.for_request(ApiKey::Fetch, &(-1i32).to_be_bytes()).name, "FetchConsumer");
        assert_eq!(m.for_request(ApiKey::Fetch, &2i32.to_be_bytes()).name, "FetchFollower");
        assert_eq!(m.for_request(ApiKey::Fetch, &[]).name, "FetchConsumer");
        assert_eq!(m.for_request(ApiKey::Produce, &[]).name, "Produce");
        assert_eq!(m.api(ApiKey::OffsetForLeaderEpoch).name, "OffsetForLeaderEpoch");
    }

    #[test]
    fn written_as_the_jmx_exporter_does() {
        let m: &'static RequestChannelMetrics = Box::leak(Box::default());
        let p = m.api(ApiKey::Produce);
        let t0 = Instant::now();
        let timer = RequestTimer::answered(p, 8, 120, t0, t0, Duration::from_millis(2), 0);
        timer.sent(Instant::now());
        p.mark_error(error::NONE, 3);
        p.mark_error(error::NOT_LEADER_OR_FOLLOWER, 1);
        let mut t = MetricsText::new();
        m.write(&mut t);
        let s = t.into_string();
        for line in [
            "kafka_network_requestmetrics_requests_total{request=\"Produce\",version=\"8\"} 1\n",
            "kafka_network_requestmetrics_errors_total{request=\"Produce\",error=\"NONE\"} 3\n",
            "kafka_network_requestmetrics_errors_total{request=\"Produce\",error=\"NOT_LEADER_OR_FOLLOWER\"} 1\n",
            "kafka_network_requestmetrics_totaltimems_count{request=\"Produce\"} 1\n",
            "kafka_network_requestmetrics_requestbytes{request=\"Produce\",quantile=\"0.50\"} 1",
            "kafka_network_requestmetrics_localtimems{request=\"Produce\",quantile=\"0.99\"} 1.9",
        ] {
            assert!(s.contains(line), "missing {line:?} in\n{s}");
        }
    }
}
