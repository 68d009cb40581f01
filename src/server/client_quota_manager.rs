//! Client quotas: Kafka's `kafka.server.ClientQuotaManager` (produce and
//! fetch byte rates), `ClientRequestQuotaManager` (percentage of request
//! handler time) and `QuotaFactory.QuotaManagers` holding the three.
//!
//! Quotas are set per entity, as in `/config/users/...` and `/config/clients/...`
//! (`DefaultQuotaCallback`), and a request from (user, client-id) takes the
//! first that exists, in Kafka's order:
//! `users/<user>/clients/<client-id>`, `users/<user>/clients/<default>`,
//! `users/<user>`, `users/<default>/clients/<client-id>`,
//! `users/<default>/clients/<default>`, `users/<default>`,
//! `clients/<client-id>`, `clients/<default>`. The entity that matched decides
//! which clients share one rate (`quotaMetricTags`): a user-level quota is
//! shared by all of that user's client ids, a `<default>` one is applied to
//! each user or client separately.
//!
//! Each quota type (produce, fetch, request) has its own table: a user's
//! `producer_byte_rate` does not hide a client's `consumer_byte_rate`.
//! Rates are Kafka's `Rate` over `quota.window.num` (11) samples of
//! `quota.window.size.seconds` (1 s), and a violation answers with Kafka's
//! throttle time `(rate - bound) / bound * window` (`QuotaUtils.throttleTime`,
//! capped at one window for request quotas). Until a quota of a type has
//! been set, nothing is recorded for it (`quotasEnabled`).
//!
//! There is no authentication yet: every connection is the `ANONYMOUS`
//! principal, whose user quotas still apply.

use crate::server::replication_quota_manager::{QuotaConfig, SampledRate};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The principal of an unauthenticated connection (`KafkaPrincipal.ANONYMOUS`).
pub const ANONYMOUS_USER: &str = "ANONYMOUS";
/// Kafka's `ClientQuotaManagerConfig` defaults (`quota.window.num`, `quota.window.size.seconds`).
pub const DEFAULT_NUM_QUOTA_SAMPLES: usize = 11;
pub const DEFAULT_QUOTA_WINDOW_SIZE_SECONDS: i64 = 1;
/// Sensors idle this long are dropped (Kafka's `InactiveSensorExpirationTimeSeconds`, one hour).
pub const INACTIVE_SENSOR_EXPIRATION_MS: i64 = 3600 * 1000;

pub const PRODUCER_BYTE_RATE: &str = "producer_byte_rate";
pub const CONSUMER_BYTE_RATE: &str = "consumer_byte_rate";
pub const REQUEST_PERCENTAGE: &str = "request_percentage";

/// One of the three client quota types (Kafka's `QuotaType` / `ClientQuotaType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaType {
    Produce,
    Fetch,
    Request,
}

impl QuotaType {
    /// The config key holding this type's bound.
    pub fn config_key(self) -> &'static str {
        match self {
            QuotaType::Produce => PRODUCER_BYTE_RATE,
            QuotaType::Fetch => CONSUMER_BYTE_RATE,
            QuotaType::Request => REQUEST_PERCENTAGE,
        }
    }
}

/// A user or client-id level of a quota entity: a (sanitized) name or `<default>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EntityName {
    Named(String),
    Default,
}

impl EntityName {
    /// `<default>` is the default entity; anything else a name.
    pub fn parse(s: &str) -> EntityName {
        if s == crate::zk::admin_zk_client::DEFAULT_ENTITY_NAME {
            EntityName::Default
        } else {
            EntityName::Named(s.to_string())
        }
    }
}

/// Kafka's `KafkaQuotaEntity`: a user level, a client-id level, or both.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QuotaEntity {
    pub user: Option<EntityName>,
    pub client_id: Option<EntityName>,
}

impl QuotaEntity {
    pub fn new(user: Option<EntityName>, client_id: Option<EntityName>) -> Self {
        QuotaEntity { user, client_id }
    }

    /// The entity a `/config/changes` notification names: entity type
    /// `users` with `<user>` or `<user>/clients/<client>`, or `clients` with
    /// `<client>` (names as sanitized in ZooKeeper).
    pub fn from_config_path(entity_type: &str, name: &str) -> Option<QuotaEntity> {
        match entity_type {
            "clients" if !name.is_empty() && !name.contains('/') => Some(QuotaEntity::new(None, Some(EntityName::parse(name)))),
            "users" => match name.split('/').collect::<Vec<_>>().as_slice() {
                [u] if !u.is_empty() => Some(QuotaEntity::new(Some(EntityName::parse(u)), None)),
                [u, "clients", c] if !u.is_empty() && !c.is_empty() => {
                    Some(QuotaEntity::new(Some(EntityName::parse(u)), Some(EntityName::parse(c))))
                }
                _ => None,
            },
            _ => None,
        }
    }
}

/// The (user, client-id) a rate is kept for; `""` where the level is shared.
pub type MetricTags = (String, String);

/// The quota bounds of one quota type, by entity (`DefaultQuotaCallback.overriddenQuotas`).
#[derive(Debug, Clone, Default)]
pub struct QuotaTable {
    quotas: HashMap<QuotaEntity, f64>,
}

impl QuotaTable {
    pub fn set(&mut self, entity: QuotaEntity, bound: Option<f64>) {
        match bound {
            Some(b) => {
                self.quotas.insert(entity, b);
            }
            None => {
                self.quotas.remove(&entity);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.quotas.is_empty()
    }

    fn has(&self, user: Option<EntityName>, client_id: Option<EntityName>) -> bool {
        self.quotas.contains_key(&QuotaEntity { user, client_id })
    }

    fn get(&self, user: Option<EntityName>, client_id: Option<EntityName>) -> Option<f64> {
        self.quotas.get(&QuotaEntity { user, client_id }).copied()
    }

    /// Kafka's `quotaMetricTags`: which rate a request of (user, client-id)
    /// counts against, from the most specific entity that has a quota.
    pub fn metric_tags(&self, user: &str, client_id: &str) -> MetricTags {
        use EntityName::{Default as D, Named as N};
        let u = || Some(N(user.to_string()));
        let c = || Some(N(client_id.to_string()));
        let both = (user.to_string(), client_id.to_string());
        let user_only = (user.to_string(), String::new());
        if self.has(u(), c()) || self.has(u(), Some(D)) {
            both
        } else if self.has(u(), None) {
            user_only
        } else if self.has(Some(D), c()) || self.has(Some(D), Some(D)) {
            both
        } else if self.has(Some(D), None) {
            user_only
        } else {
            (String::new(), client_id.to_string())
        }
    }

    /// Kafka's `quotaLimit`: the bound for a rate's tags, if any.
    pub fn quota_limit(&self, tags: &MetricTags) -> Option<f64> {
        use EntityName::{Default as D, Named as N};
        let (user, client_id) = tags;
        let u = || Some(N(user.clone()));
        let c = || Some(N(client_id.clone()));
        if !user.is_empty() && !client_id.is_empty() {
            self.get(u(), c()).or_else(|| self.get(u(), Some(D))).or_else(|| self.get(Some(D), c())).or_else(|| self.get(Some(D), Some(D)))
        } else if !user.is_empty() {
            self.get(u(), None).or_else(|| self.get(Some(D), None))
        } else if !client_id.is_empty() {
            self.get(None, c()).or_else(|| self.get(None, Some(D)))
        } else {
            None
        }
    }
}

/// Kafka's `QuotaUtils.throttleTime`: the delay that brings an observed rate
/// back to the bound over the rate's window, `(rate - bound) / bound * window`.
pub fn throttle_time_ms(rate: f64, bound: f64, window_ms: i64) -> i64 {
    if bound <= 0.0 {
        // A zero quota: hold the client for the whole window.
        return window_ms;
    }
    (((rate - bound) / bound) * window_ms as f64).round().max(0.0) as i64
}

struct Sensor {
    rate: SampledRate,
    last_record_ms: i64,
}

struct Inner {
    table: QuotaTable,
    sensors: HashMap<MetricTags, Sensor>,
    records_since_expiry: u32,
}

/// One of Kafka's client quota managers (produce, fetch or request).
pub struct ClientQuotaManager {
    quota_type: QuotaType,
    config: QuotaConfig,
    /// The request quota caps its throttle time at one window (`boundedThrottleTime`).
    max_throttle_ms: Option<i64>,
    /// Kafka's `quotasEnabled`: set once any quota of this type exists, until restart.
    enabled: AtomicBool,
    inner: Mutex<Inner>,
}

impl ClientQuotaManager {
    pub fn new(quota_type: QuotaType, config: QuotaConfig) -> Self {
        let max_throttle_ms = (quota_type == QuotaType::Request).then_some(config.window_ms);
        ClientQuotaManager {
            quota_type,
            config,
            max_throttle_ms,
            enabled: AtomicBool::new(false),
            inner: Mutex::new(Inner { table: QuotaTable::default(), sensors: HashMap::new(), records_since_expiry: 0 }),
        }
    }

    pub fn quota_type(&self) -> QuotaType {
        self.quota_type
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets (`Some`) or removes (`None`) the bound of `entity`.
    pub fn update_quota(&self, entity: QuotaEntity, bound: Option<f64>) {
        match bound {
            Some(b) => log::info!("[ClientQuotaManager] changing {:?} quota for {entity:?} to {b}", self.quota_type),
            None => log::info!("[ClientQuotaManager] removing {:?} quota for {entity:?}", self.quota_type),
        }
        let mut inner = self.lock();
        inner.table.set(entity, bound);
        if !inner.table.is_empty() {
            self.enabled.store(true, Ordering::Relaxed);
        }
    }

    pub fn quotas_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// The bound that applies to (user, client-id) now, if any.
    pub fn quota_for(&self, user: &str, client_id: &str) -> Option<f64> {
        let inner = self.lock();
        let tags = inner.table.metric_tags(user, client_id);
        inner.table.quota_limit(&tags)
    }

    /// Kafka's `maybeRecordAndGetThrottleTimeMs`: records `value` against the
    /// rate of (user, client-id) and returns the throttle time (0 if within quota).
    pub fn record_and_get_throttle_time_ms(&self, user: &str, client_id: &str, value: f64, now_ms: i64) -> i64 {
        if !self.quotas_enabled() {
            return 0;
        }
        let mut inner = self.lock();
        let tags = inner.table.metric_tags(user, client_id);
        let bound = inner.table.quota_limit(&tags);
        Self::maybe_expire(&mut inner, now_ms);
        let config = self.config;
        let sensor = inner
            .sensors
            .entry(tags)
            .or_insert_with(|| Sensor { rate: SampledRate::new(config), last_record_ms: now_ms });
        sensor.rate.record(value, now_ms);
        sensor.last_record_ms = now_ms;
        let Some(bound) = bound else { return 0 };
        let rate = sensor.rate.measure(now_ms);
        if rate <= bound {
            return 0;
        }
        let window = sensor.rate.window_ms(now_ms);
        let t = throttle_time_ms(rate, bound, window);
        let t = self.max_throttle_ms.map_or(t, |m| t.min(m));
        log::debug!("[ClientQuotaManager] {:?} quota violated by ({user}, {client_id}): rate {rate:.0} > {bound}, throttle {t} ms", self.quota_type);
        t
    }

    /// Kafka's `unrecordQuotaSensor`: takes back a value recorded for a
    /// response that is not sent (a throttled fetch answers empty).
    pub fn unrecord(&self, user: &str, client_id: &str, value: f64, now_ms: i64) {
        if !self.quotas_enabled() {
            return;
        }
        let mut inner = self.lock();
        let tags = inner.table.metric_tags(user, client_id);
        if let Some(s) = inner.sensors.get_mut(&tags) {
            s.rate.record(-value, now_ms);
        }
    }

    /// Kafka's `getMaxValueInQuotaWindow`: the most that can be recorded at
    /// once without certain throttling (bounds a consumer's fetch size).
    pub fn max_value_in_quota_window(&self, user: &str, client_id: &str) -> f64 {
        if !self.quotas_enabled() {
            return f64::MAX;
        }
        let window_s = self.config.window_ms as f64 / 1000.0;
        self.quota_for(user, client_id)
            .map_or(f64::MAX, |b| b * (self.config.num_samples.saturating_sub(1)) as f64 * window_s)
    }

    fn maybe_expire(inner: &mut Inner, now_ms: i64) {
        inner.records_since_expiry += 1;
        if inner.records_since_expiry < 1000 {
            return;
        }
        inner.records_since_expiry = 0;
        inner.sensors.retain(|_, s| now_ms - s.last_record_ms < INACTIVE_SENSOR_EXPIRATION_MS);
    }
}

/// Kafka's `QuotaFactory.QuotaManagers` (the client part).
pub struct ClientQuotaManagers {
    pub produce: ClientQuotaManager,
    pub fetch: ClientQuotaManager,
    pub request: ClientQuotaManager,
}

impl ClientQuotaManagers {
    pub fn new(config: QuotaConfig) -> Arc<Self> {
        Arc::new(ClientQuotaManagers {
            produce: ClientQuotaManager::new(QuotaType::Produce, config),
            fetch: ClientQuotaManager::new(QuotaType::Fetch, config),
            request: ClientQuotaManager::new(QuotaType::Request, config),
        })
    }

    /// Kafka's `QuotaConfigHandler.updateQuotaConfig`: the entity's three
    /// bounds from its whole config (a missing or unparsable key removes it).
    pub fn update_entity(&self, entity: &QuotaEntity, config: &HashMap<String, String>) {
        for m in [&self.produce, &self.fetch, &self.request] {
            let bound = config.get(m.quota_type.config_key()).and_then(|v| v.trim().parse::<f64>().ok()).filter(|v| v.is_finite());
            m.update_quota(entity.clone(), bound);
        }
    }
}

/// Kafka's `ClientQuotaManagerConfig` window settings from `quota.window.num`
/// and `quota.window.size.seconds`.
pub fn quota_config(num_samples: i64, window_size_seconds: i64) -> QuotaConfig {
    QuotaConfig { num_samples: num_samples.clamp(1, 1000) as usize, window_ms: window_size_seconds.clamp(1, 3600) * 1000 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EntityName::{Default as D, Named as N};

    fn n(s: &str) -> Option<EntityName> {
        Some(N(s.into()))
    }

    fn table(entries: &[(Option<EntityName>, Option<EntityName>, f64)]) -> QuotaTable {
        let mut t = QuotaTable::default();
        for (u, c, b) in entries {
            t.set(QuotaEntity::new(u.clone(), c.clone()), Some(*b));
        }
        t
    }

    fn limit(t: &QuotaTable, user: &str, client: &str) -> Option<f64> {
        t.quota_limit(&t.metric_tags(user, client))
    }

    #[test]
    fn precedence_follows_kafka_order() {
        // All eight levels set: each removal exposes the next one.
        let levels: Vec<(Option<EntityName>, Option<EntityName>, f64)> = vec![
            (n("u"), n("c"), 1.0),
            (n("u"), Some(D), 2.0),
            (n("u"), None, 3.0),
            (Some(D), n("c"), 4.0),
            (Some(D), Some(D), 5.0),
            (Some(D), None, 6.0),
            (None, n("c"), 7.0),
            (None, Some(D), 8.0),
        ];
        for i in 0..levels.len() {
            let t = table(&levels[i..]);
            assert_eq!(limit(&t, "u", "c"), Some(levels[i].2), "with levels from {i}");
        }
        assert_eq!(limit(&QuotaTable::default(), "u", "c"), None);
    }

    #[test]
    fn metric_tags_decide_who_shares_a_rate() {
        // A user quota is shared by all the user's clients.
        let t = table(&[(n("u"), None, 10.0)]);
        assert_eq!(t.metric_tags("u", "c1"), ("u".into(), "".into()));
        assert_eq!(t.metric_tags("u", "c2"), ("u".into(), "".into()));
        assert_eq!(limit(&t, "other", "c"), None);
        // A client quota applies whoever the user is.
        let t = table(&[(None, n("c"), 10.0)]);
        assert_eq!(t.metric_tags("ANONYMOUS", "c"), ("".into(), "c".into()));
        assert_eq!(limit(&t, "ANONYMOUS", "c"), Some(10.0));
        assert_eq!(limit(&t, "ANONYMOUS", "d"), None);
        // A default client quota gives each client id its own rate.
        let t = table(&[(None, Some(D), 5.0)]);
        assert_eq!(t.metric_tags("x", "a"), ("".into(), "a".into()));
        assert_eq!(limit(&t, "x", "b"), Some(5.0));
        // user default + client: both tags; the user's own quota wins over it.
        let t = table(&[(Some(D), n("c"), 4.0), (n("u"), None, 3.0)]);
        assert_eq!(limit(&t, "u", "c"), Some(3.0));
        assert_eq!(limit(&t, "v", "c"), Some(4.0));
        assert_eq!(t.metric_tags("v", "c"), ("v".into(), "c".into()));
        assert_eq!(limit(&t, "v", "d"), None);
    }

    #[test]
    fn entities_from_config_paths() {
        assert_eq!(QuotaEntity::from_config_path("clients", "c"), Some(QuotaEntity::new(None, n("c"))));
        assert_eq!(QuotaEntity::from_config_path("clients", "<default>"), Some(QuotaEntity::new(None, Some(D))));
        assert_eq!(QuotaEntity::from_config_path("users", "u"), Some(QuotaEntity::new(n("u"), None)));
        assert_eq!(QuotaEntity::from_config_path("users", "<default>/clients/c"), Some(QuotaEntity::new(Some(D), n("c"))));
        assert_eq!(QuotaEntity::from_config_path("users", "u/clients/<default>"), Some(QuotaEntity::new(n("u"), Some(D))));
        for (t, bad) in [("users", ""), ("users", "u/c"), ("users", "u/clients/"), ("users", "u/x/c"), ("clients", "a/b"), ("topics", "t")] {
            assert_eq!(QuotaEntity::from_config_path(t, bad), None, "{t} {bad}");
        }
    }

    #[test]
    fn throttle_time_formula() {
        // 20% over the bound over an 11 s window: 2.2 s.
        assert_eq!(throttle_time_ms(1200.0, 1000.0, 11_000), 2200);
        assert_eq!(throttle_time_ms(1000.0, 1000.0, 11_000), 0);
        assert_eq!(throttle_time_ms(1500.0, 0.0, 10_000), 10_000);
    }

    fn config() -> QuotaConfig {
        quota_config(11, 1)
    }

    #[test]
    fn byte_rate_quota_throttles_over_the_bound() {
        let m = ClientQuotaManager::new(QuotaType::Produce, config());
        // Nothing recorded or throttled before any quota exists.
        assert_eq!(m.record_and_get_throttle_time_ms("ANONYMOUS", "p", 1e9, 0), 0);
        m.update_quota(QuotaEntity::new(None, n("p")), Some(1000.0));
        // The first 10 windows' worth passes at once (the rate counts 10 full windows).
        assert_eq!(m.record_and_get_throttle_time_ms("ANONYMOUS", "p", 10_000.0, 1_000), 0);
        // 2,000 more in the same window: rate 12,000 / 10 s = 1,200/s, 20% over: 2 s.
        assert_eq!(m.record_and_get_throttle_time_ms("ANONYMOUS", "p", 2_000.0, 1_000), 2_000);
        // Another client id is not affected.
        assert_eq!(m.record_and_get_throttle_time_ms("ANONYMOUS", "q", 1e6, 1_000), 0);
        // Once the old windows expire the rate is back under the bound.
        assert_eq!(m.record_and_get_throttle_time_ms("ANONYMOUS", "p", 100.0, 30_000), 0);
        // Removing the quota stops throttling at once.
        m.update_quota(QuotaEntity::new(None, n("p")), None);
        assert_eq!(m.record_and_get_throttle_time_ms("ANONYMOUS", "p", 1e9, 30_000), 0);
    }

    #[test]
    fn unrecord_takes_a_fetch_back() {
        let m = ClientQuotaManager::new(QuotaType::Fetch, config());
        m.update_quota(QuotaEntity::new(Some(D), None), Some(1000.0));
        assert_eq!(m.record_and_get_throttle_time_ms("ANONYMOUS", "c", 9_000.0, 0), 0);
        let t = m.record_and_get_throttle_time_ms("ANONYMOUS", "c", 5_000.0, 0);
        assert!(t > 0);
        m.unrecord("ANONYMOUS", "c", 5_000.0, 0);
        assert_eq!(m.record_and_get_throttle_time_ms("ANONYMOUS", "c", 500.0, 0), 0);
        // A fetch may ask for (samples - 1) windows' worth at most.
        assert_eq!(m.max_value_in_quota_window("ANONYMOUS", "c"), 10_000.0);
        assert_eq!(ClientQuotaManager::new(QuotaType::Fetch, config()).max_value_in_quota_window("x", "y"), f64::MAX);
    }

    #[test]
    fn request_quota_throttle_is_capped_at_one_window() {
        let m = ClientQuotaManager::new(QuotaType::Request, config());
        m.update_quota(QuotaEntity::new(None, Some(D)), Some(1.0));
        // 500% of a thread for a moment: far over 1%, but at most 1 s.
        assert_eq!(m.record_and_get_throttle_time_ms("ANONYMOUS", "c", 500.0, 0), 1_000);
    }

    #[test]
    fn entity_update_from_config() {
        let ms = ClientQuotaManagers::new(config());
        let e = QuotaEntity::new(n("ANONYMOUS"), None);
        let cfg: HashMap<String, String> =
            [("producer_byte_rate".to_string(), "1024".to_string()), ("request_percentage".to_string(), "50.5".to_string())].into();
        ms.update_entity(&e, &cfg);
        assert_eq!(ms.produce.quota_for("ANONYMOUS", "any"), Some(1024.0));
        assert_eq!(ms.fetch.quota_for("ANONYMOUS", "any"), None);
        assert_eq!(ms.request.quota_for("ANONYMOUS", "any"), Some(50.5));
        ms.update_entity(&e, &HashMap::new());
        assert_eq!(ms.produce.quota_for("ANONYMOUS", "any"), None);
        assert!(ms.produce.quotas_enabled(), "stays enabled until restart, as in Kafka");
    }
}
