//! Kafka's `ZooKeeperClientMetrics` (`kafka.server:type=ZooKeeperClientMetrics,
//! name=ZooKeeperRequestLatencyMs`) and the `SessionExpireListener` meters
//! (`ZooKeeperSyncConnectsPerSec`, `ZooKeeperDisconnectsPerSec`,
//! `ZooKeeperExpiresPerSec`, `ZooKeeperAuthFailuresPerSec`) plus its
//! `SessionState`, recorded by `KafkaZkClient`.

use super::histogram::Histogram;
use super::{Kind, Meter, MetricsText};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

pub struct ZooKeeperClientMetrics {
    pub request_latency: Histogram,
    pub sync_connects: Meter,
    pub disconnects: Meter,
    pub expires: Meter,
    pub auth_failures: Meter,
    state: AtomicU8,
}

impl Default for ZooKeeperClientMetrics {
    fn default() -> Self {
        ZooKeeperClientMetrics {
            request_latency: Histogram::timer(),
            sync_connects: Meter::default(),
            disconnects: Meter::default(),
            expires: Meter::default(),
            auth_failures: Meter::default(),
            state: AtomicU8::new(0),
        }
    }
}

/// Kafka's `SessionState` values (ZooKeeper's `States` names).
const STATES: [&str; 5] = ["NOT_CONNECTED", "CONNECTED", "CONNECTING", "AUTH_FAILED", "CLOSED"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    NotConnected = 0,
    Connected = 1,
    Connecting = 2,
    AuthFailed = 3,
    Closed = 4,
}

impl ZooKeeperClientMetrics {
    pub fn set_state(&self, s: SessionState) {
        match s {
            SessionState::Connected => self.sync_connects.mark(1),
            SessionState::AuthFailed => self.auth_failures.mark(1),
            _ => {}
        }
        self.state.store(s as u8, Ordering::Relaxed);
    }

    /// Records one request's latency from `start`.
    pub fn request_done(&self, start: Instant) {
        self.request_latency.record_duration(start.elapsed());
    }

    pub fn write(&self, t: &mut MetricsText) {
        t.histogram_families(
            "kafka_server_zookeeperclientmetrics_zookeeperrequestlatencyms",
            "ZooKeeperRequestLatencyMs: ZooKeeper request latency",
            [(Vec::new(), &self.request_latency)],
        );
        let meters: [(&str, &str, &Meter); 4] = [
            ("zookeepersyncconnects", "ZooKeeperSyncConnectsPerSec: sessions established", &self.sync_connects),
            ("zookeeperdisconnects", "ZooKeeperDisconnectsPerSec: connection losses", &self.disconnects),
            ("zookeeperexpires", "ZooKeeperExpiresPerSec: session expiries", &self.expires),
            ("zookeeperauthfailures", "ZooKeeperAuthFailuresPerSec: authentication failures", &self.auth_failures),
        ];
        for (part, help, m) in meters {
            t.single(&format!("kafka_server_sessionexpirelistener_{part}_total"), Kind::Counter, help, m.count() as f64);
        }
        // Kafka's SessionState is a string gauge, which the JMX exporter
        // skips; zkafka shows it as a 0/1 gauge per state.
        let name = "kafka_server_sessionexpirelistener_sessionstate";
        t.family(name, Kind::Gauge, "SessionState: 1 for the ZooKeeper session's current state");
        let now = self.state.load(Ordering::Relaxed) as usize;
        for (i, s) in STATES.iter().enumerate() {
            t.sample(name, &[("state", s)], if i == now { 1.0 } else { 0.0 });
        }
    }
}

/// Times one ZooKeeper request into ZooKeeperRequestLatencyMs, when dropped.
pub struct ZkRequestTimer(Instant);

impl ZkRequestTimer {
    pub fn start() -> ZkRequestTimer {
        ZkRequestTimer(Instant::now())
    }
}

impl Drop for ZkRequestTimer {
    fn drop(&mut self) {
        super::metrics().zookeeper.request_done(self.0);
    }
}

/// `KafkaZkClient`'s session watcher saw the session change state.
pub fn session_event(s: zookeeper_client::SessionState) {
    use zookeeper_client::SessionState as S;
    let m = &super::metrics().zookeeper;
    match s {
        S::SyncConnected | S::ConnectedReadOnly => m.set_state(SessionState::Connected),
        S::Disconnected => {
            m.disconnects.mark(1);
            m.set_state(SessionState::Connecting);
        }
        S::Expired => {
            m.expires.mark(1);
            m.set_state(SessionState::NotConnected);
        }
        S::AuthFailed => m.set_state(SessionState::AuthFailed),
        S::Closed => m.set_state(SessionState::Closed),
        #[allow(unreachable_patterns)]
        _ => {}
    }
}
