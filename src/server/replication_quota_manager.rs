//! Replication throttles: Kafka's `kafka.server.ReplicationQuotaManager`
//! (one instance each for the leader side, the follower side and moves
//! between log dirs), with the sampled byte rate of Kafka's `Rate` /
//! `SampledStat` over `replication.quota.window.num` windows of
//! `replication.quota.window.size.seconds`.
//!
//! A partition is throttled when its topic's `leader.replication.throttled.replicas`
//! (leader side) or `follower.replication.throttled.replicas` (follower side)
//! names `<partition>:<this broker>` or is `*`. Only throttled partitions are
//! ever held back, and only while the measured rate of throttled traffic is
//! above the bound (`leader.replication.throttled.rate` /
//! `follower.replication.throttled.rate`, bytes/s; unset = unbounded).

use crate::common::{now_ms, TopicPartition};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Kafka's `ReplicationQuotaManagerConfig` defaults.
pub const DEFAULT_NUM_QUOTA_SAMPLES: usize = 11;
pub const DEFAULT_QUOTA_WINDOW_SIZE_SECONDS: i64 = 1;
/// `QuotaBytesPerSecondDefault` (Long.MaxValue): no throttle.
pub const UNBOUNDED: i64 = i64::MAX;

/// The window settings (`replication.quota.window.num`, `replication.quota.window.size.seconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaConfig {
    pub num_samples: usize,
    pub window_ms: i64,
}

impl Default for QuotaConfig {
    fn default() -> Self {
        QuotaConfig { num_samples: DEFAULT_NUM_QUOTA_SAMPLES, window_ms: DEFAULT_QUOTA_WINDOW_SIZE_SECONDS * 1000 }
    }
}

/// Kafka's `Rate` over a `SampledStat`: a total per time window, kept for
/// `num_samples` windows; the rate is the total over the elapsed time, which
/// counts as at least `num_samples - 1` full windows (so a quiet sensor does
/// not report a huge rate from its first bytes). Pure: time is passed in.
#[derive(Debug, Clone)]
pub struct SampledRate {
    config: QuotaConfig,
    /// (window start ms, bytes in the window), oldest first.
    samples: VecDeque<(i64, f64)>,
}

impl SampledRate {
    pub fn new(config: QuotaConfig) -> Self {
        SampledRate {
            config: QuotaConfig { num_samples: config.num_samples.max(1), window_ms: config.window_ms.max(1) },
            samples: VecDeque::new(),
        }
    }

    pub fn record(&mut self, value: f64, now: i64) {
        let window = self.config.window_ms;
        match self.samples.back_mut() {
            Some((start, v)) if now - *start < window => *v += value,
            _ => {
                self.samples.push_back((now, value));
                while self.samples.len() > self.config.num_samples {
                    self.samples.pop_front();
                }
            }
        }
    }

    fn purge(&mut self, now: i64) {
        let max_age = self.config.window_ms * self.config.num_samples as i64;
        while let Some((start, _)) = self.samples.front() {
            if now - *start >= max_age {
                self.samples.pop_front();
            } else {
                break;
            }
        }
    }

    /// Bytes per second at `now`.
    pub fn measure(&mut self, now: i64) -> f64 {
        let elapsed = self.window_ms(now);
        let total: f64 = self.samples.iter().map(|(_, v)| *v).sum();
        total * 1000.0 / elapsed as f64
    }

    /// Kafka's `Rate.windowSize`: the span (ms) the rate is taken over at
    /// `now`, at least `num_samples - 1` full windows.
    pub fn window_ms(&mut self, now: i64) -> i64 {
        self.purge(now);
        let window = self.config.window_ms;
        let mut elapsed = self.samples.front().map_or(0, |(start, _)| (now - *start).max(0));
        let full_windows = elapsed / window;
        let min_full_windows = self.config.num_samples as i64 - 1;
        if full_windows < min_full_windows {
            elapsed += (min_full_windows - full_windows) * window;
        }
        // A single window (num_samples = 1) still needs a non-zero span.
        elapsed.max(window)
    }
}

/// Which partitions of a topic are throttled on this broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThrottledReplicas {
    All,
    Partitions(Vec<i32>),
}

/// Kafka's `TopicConfigHandler.parseThrottledPartitions`: the partitions of
/// `value` (`*` or `partition:broker,...`) that name `broker_id`. `None` if
/// the value is empty (no throttle) or malformed.
pub fn parse_throttled_partitions(value: &str, broker_id: i32) -> Option<ThrottledReplicas> {
    let v = value.trim();
    if v.is_empty() || !crate::zk::admin_zk_client::is_valid_throttled_replica_list(v) {
        return None;
    }
    if v.split(',').map(str::trim).collect::<String>() == "*" {
        return Some(ThrottledReplicas::All);
    }
    let mut partitions = Vec::new();
    for entry in v.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (p, b) = entry.split_once(':')?;
        if b.parse::<i64>().ok() == Some(broker_id as i64) {
            partitions.push(p.parse::<i32>().ok()?);
        }
    }
    Some(ThrottledReplicas::Partitions(partitions))
}

struct Inner {
    bound: i64,
    rate: SampledRate,
    throttled: HashMap<String, ThrottledReplicas>,
}

/// Kafka's `ReplicationQuotaManager`.
pub struct ReplicationQuotaManager {
    name: &'static str,
    inner: Mutex<Inner>,
}

impl ReplicationQuotaManager {
    pub fn new(name: &'static str, config: QuotaConfig) -> Self {
        ReplicationQuotaManager {
            name,
            inner: Mutex::new(Inner { bound: UNBOUNDED, rate: SampledRate::new(config), throttled: HashMap::new() }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets the bound in bytes/s (`UNBOUNDED` removes it).
    pub fn update_quota(&self, bytes_per_second: i64) {
        let mut g = self.lock();
        if g.bound != bytes_per_second {
            log::info!("[{} replication quota] bound set to {}", self.name, describe_bound(bytes_per_second));
        }
        g.bound = bytes_per_second;
    }

    pub fn upper_bound(&self) -> i64 {
        self.lock().bound
    }

    /// The measured rate of recorded (throttled) bytes, bytes/s.
    pub fn rate(&self) -> f64 {
        self.lock().rate.measure(now_ms())
    }

    /// Kafka's `isQuotaExceeded`: the measured rate is above the bound.
    pub fn is_quota_exceeded(&self) -> bool {
        self.is_quota_exceeded_at(now_ms())
    }

    pub fn is_quota_exceeded_at(&self, now: i64) -> bool {
        let mut g = self.lock();
        if g.bound == UNBOUNDED {
            return false;
        }
        let bound = g.bound as f64;
        g.rate.measure(now) > bound
    }

    /// Counts throttled bytes sent (leader) or received (follower).
    pub fn record(&self, bytes: usize) {
        self.record_at(bytes, now_ms())
    }

    pub fn record_at(&self, bytes: usize, now: i64) {
        self.lock().rate.record(bytes as f64, now)
    }

    /// Kafka's `isThrottled`.
    pub fn is_throttled(&self, tp: &TopicPartition) -> bool {
        match self.lock().throttled.get(&tp.topic) {
            Some(ThrottledReplicas::All) => true,
            Some(ThrottledReplicas::Partitions(ps)) => ps.contains(&tp.partition),
            None => false,
        }
    }

    /// Kafka's `markThrottled` (with the partitions named for this broker).
    pub fn mark_throttled(&self, topic: &str, replicas: ThrottledReplicas) {
        log::info!("[{} replication quota] throttling {topic}: {replicas:?}", self.name);
        self.lock().throttled.insert(topic.to_string(), replicas);
    }

    /// Kafka's `removeThrottle`.
    pub fn remove_throttle(&self, topic: &str) {
        if self.lock().throttled.remove(topic).is_some() {
            log::info!("[{} replication quota] no longer throttling {topic}", self.name);
        }
    }

    /// Should a partition's replication traffic be held back now: throttled,
    /// the replica not in sync, and the rate above the bound (Kafka's
    /// `shouldLeaderThrottle` / `shouldFollowerThrottle`).
    pub fn should_throttle(&self, tp: &TopicPartition, replica_in_sync: bool) -> bool {
        !replica_in_sync && self.is_throttled(tp) && self.is_quota_exceeded()
    }
}

fn describe_bound(b: i64) -> String {
    if b == UNBOUNDED {
        "unbounded".to_string()
    } else {
        format!("{b} bytes/s")
    }
}

/// The three replication quota managers (Kafka's `QuotaFactory.QuotaManagers`
/// leader / follower / alterLogDirs).
pub struct ReplicationQuotas {
    pub leader: ReplicationQuotaManager,
    pub follower: ReplicationQuotaManager,
    /// `replica.alter.log.dirs.io.max.bytes.per.second`: for the mover of
    /// replicas between log dirs (ReplicaAlterLogDirs), which records the
    /// bytes it copies and waits while `is_quota_exceeded`.
    pub alter_log_dirs: ReplicationQuotaManager,
}

impl ReplicationQuotas {
    pub fn new(replication: QuotaConfig, alter_log_dirs: QuotaConfig) -> Self {
        ReplicationQuotas {
            leader: ReplicationQuotaManager::new("Leader", replication),
            follower: ReplicationQuotaManager::new("Follower", replication),
            alter_log_dirs: ReplicationQuotaManager::new("AlterLogDirs", alter_log_dirs),
        }
    }

    /// From `replication.quota.window.*` and `alter.log.dirs.replication.quota.window.*`.
    pub fn from_kafka_config(c: &crate::config::KafkaConfig) -> Self {
        let q = |num: &str, size: &str| QuotaConfig {
            num_samples: c.get_i64(num, DEFAULT_NUM_QUOTA_SAMPLES as i64).clamp(1, 1000) as usize,
            window_ms: c.get_i64(size, DEFAULT_QUOTA_WINDOW_SIZE_SECONDS).clamp(1, 3600) * 1000,
        };
        ReplicationQuotas::new(
            q("replication.quota.window.num", "replication.quota.window.size.seconds"),
            q("alter.log.dirs.replication.quota.window.num", "alter.log.dirs.replication.quota.window.size.seconds"),
        )
    }
}

impl Default for ReplicationQuotas {
    fn default() -> Self {
        ReplicationQuotas::new(QuotaConfig::default(), QuotaConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(n: usize, w: i64) -> QuotaConfig {
        QuotaConfig { num_samples: n, window_ms: w }
    }

    #[test]
    fn rate_counts_at_least_num_samples_minus_one_windows() {
        let mut r = SampledRate::new(cfg(11, 1000));
        r.record(1000.0, 0);
        // 1000 bytes over (at least) 10 windows of 1 s
        assert!((r.measure(0) - 100.0).abs() < 1e-9);
        // Kafka pads the real elapsed time (0.5 s) with the missing full windows
        assert!((r.measure(500) - 1000.0 / 10.5).abs() < 1e-9);
        // steady 100 bytes every 100 ms = 1000 B/s, measured over >= 10 s
        let mut r = SampledRate::new(cfg(11, 1000));
        for i in 0..300 {
            r.record(100.0, i * 100);
        }
        let m = r.measure(30_000);
        assert!((900.0..=1100.0).contains(&m), "{m}");
    }

    #[test]
    fn old_samples_are_forgotten() {
        let mut r = SampledRate::new(cfg(3, 1000));
        r.record(1_000_000.0, 0);
        assert!(r.measure(100) > 100_000.0);
        // 3 windows later the burst is gone
        assert_eq!(r.measure(3_000), 0.0);
        r.record(300.0, 3_500);
        assert!((r.measure(3_500) - 150.0).abs() < 1e-9, "{}", r.measure(3_500));
    }

    #[test]
    fn single_window_config() {
        let mut r = SampledRate::new(cfg(1, 1000));
        r.record(500.0, 10);
        assert!((r.measure(10) - 500.0).abs() < 1e-9);
        assert_eq!(r.measure(1_010), 0.0);
    }

    /// Simulates a sender that sends `chunk` bytes whenever the quota is not
    /// exceeded, checking every `tick` ms, and returns its achieved rate.
    fn simulate(bound: i64, chunk: usize, tick: i64, secs: i64, n: usize) -> f64 {
        let q = ReplicationQuotaManager::new("test", cfg(n, 1000));
        q.update_quota(bound);
        let mut sent = 0usize;
        let mut now = 0;
        while now < secs * 1000 {
            if !q.is_quota_exceeded_at(now) {
                q.record_at(chunk, now);
                sent += chunk;
            }
            now += tick;
        }
        sent as f64 * 1000.0 / (secs * 1000) as f64
    }

    #[test]
    fn throttled_sender_converges_on_the_bound() {
        // 2 MB/s bound, 1 MiB per fetch, a fetch every 50 ms (could do 20 MB/s)
        let rate = simulate(2_000_000, 1 << 20, 50, 60, 11);
        assert!((1_800_000.0..=2_600_000.0).contains(&rate), "{rate}");
        // small windows: the initial allowance is smaller, long-run rate close to the bound
        let rate = simulate(2_000_000, 256 << 10, 20, 60, 3);
        assert!((1_800_000.0..=2_300_000.0).contains(&rate), "{rate}");
        // unbounded never throttles
        let rate = simulate(UNBOUNDED, 1000, 100, 10, 11);
        assert!((rate - 10_000.0).abs() < 1e-6);
    }

    #[test]
    fn throttled_partitions() {
        let q = ReplicationQuotaManager::new("test", QuotaConfig::default());
        let t0 = TopicPartition::new("t", 0);
        let t1 = TopicPartition::new("t", 1);
        assert!(!q.is_throttled(&t0));
        q.mark_throttled("t", ThrottledReplicas::Partitions(vec![0]));
        assert!(q.is_throttled(&t0) && !q.is_throttled(&t1));
        q.mark_throttled("t", ThrottledReplicas::All);
        assert!(q.is_throttled(&t1));
        q.remove_throttle("t");
        assert!(!q.is_throttled(&t0));
        // exceeded only with a bound, and in-sync replicas are never held back
        q.mark_throttled("t", ThrottledReplicas::All);
        q.record(10 << 20);
        assert!(!q.should_throttle(&t0, false));
        q.update_quota(1000);
        assert!(q.should_throttle(&t0, false));
        assert!(!q.should_throttle(&t0, true));
        assert!(!q.should_throttle(&TopicPartition::new("other", 0), false));
        q.update_quota(UNBOUNDED);
        assert!(!q.should_throttle(&t0, false));
    }

    #[test]
    fn throttled_replica_lists_for_this_broker() {
        assert_eq!(parse_throttled_partitions("*", 3), Some(ThrottledReplicas::All));
        assert_eq!(parse_throttled_partitions(" * ", 3), Some(ThrottledReplicas::All));
        assert_eq!(parse_throttled_partitions("0:1,0:3,1:3,2:2", 3), Some(ThrottledReplicas::Partitions(vec![0, 1])));
        assert_eq!(parse_throttled_partitions("0:1", 3), Some(ThrottledReplicas::Partitions(vec![])));
        assert_eq!(parse_throttled_partitions("", 3), None);
        assert_eq!(parse_throttled_partitions("0-1", 3), None);
        assert_eq!(parse_throttled_partitions("99999999999:3", 3), None);
    }
}
