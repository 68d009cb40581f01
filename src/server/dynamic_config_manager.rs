//! DynamicConfigManager: applies config changes written to ZooKeeper to a
//! running broker, as Kafka's `kafka.server.DynamicConfigManager` (with its
//! `ZkNodeChangeNotificationListener` and the `TopicConfigHandler` /
//! `BrokerConfigHandler` of `ConfigHandler.scala`) does in ZooKeeper mode.
//!
//! At start-up it applies every current `/config/topics/<t>` and
//! `/config/brokers/<default>` + `/config/brokers/<this id>`, then watches
//! `/config/changes` and processes each `config_change_<seq>` newer than the
//! last one it processed, in sequence order: it reads the entity the
//! notification names (`{"version":2,"entity_path":"topics/<t>"}`, or the v1
//! `entity_type`/`entity_name` form) and applies that entity's whole current
//! config. Topic configs update the topic's logs (`LogConfig`),
//! `min.insync.replicas` and the throttled-replica lists of the leader and
//! follower ReplicationQuotaManagers; broker configs (per-broker overriding
//! `<default>`) set the three replication quota bounds; `users` and `clients`
//! configs (`users/<u>`, `users/<u>/clients/<c>`, `clients/<c>`, any of them
//! `<default>`) set the client quotas (`ClientQuotaManager`). Like Kafka, every
//! broker deletes notifications older than 15 minutes (`changeExpirationMs`)
//! while processing.

use crate::controller::KafkaController;
use crate::server::dynamic_broker_config::{BrokerSettings, DynamicBrokerConfig};
use crate::server::client_quota_manager::{ClientQuotaManagers, QuotaEntity};
use crate::server::replica_manager::ReplicaManager;
use crate::server::replication_quota_manager::UNBOUNDED;
use crate::zk::admin_zk_client::{
    ALTER_LOG_DIRS_IO_MAX_BYTES_PER_SECOND, DEFAULT_ENTITY_NAME, FOLLOWER_THROTTLED_RATE, LEADER_THROTTLED_RATE,
};
use crate::zk::zk_data::{CONFIG_CHANGES_PATH, CONFIG_CHANGE_PREFIX};
use crate::zk::{KafkaZkClient, ZkError};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::watch;

/// Kafka's `DynamicConfigManager` change expiration (15 minutes).
pub const CHANGE_EXPIRATION_MS: i64 = 15 * 60 * 1000;

/// A config change notification: (entity type, entity name).
pub fn decode_config_change_notification(bytes: &[u8]) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let o = v.as_object()?;
    match o.get("version").and_then(|v| v.as_i64())? {
        1 => {
            let t = o.get("entity_type")?.as_str()?;
            let n = o.get("entity_name")?.as_str()?;
            Some((t.to_string(), n.to_string()))
        }
        2 => {
            let path = o.get("entity_path")?.as_str()?;
            let (t, n) = path.split_once('/')?;
            if t.is_empty() || n.is_empty() {
                return None;
            }
            Some((t.to_string(), n.to_string()))
        }
        _ => None,
    }
}

/// The sequence number of `config_change_<seq>`.
pub fn change_sequence(name: &str) -> Option<i64> {
    name.strip_prefix(CONFIG_CHANGE_PREFIX)?.parse().ok()
}

/// The effective value of a broker quota key: this broker's override, else
/// the cluster default, else unbounded; unparsable values count as unset.
pub fn effective_broker_quota(
    key: &str,
    this_broker: &BTreeMap<String, String>,
    default: &BTreeMap<String, String>,
) -> i64 {
    let parse = |m: &BTreeMap<String, String>| m.get(key).and_then(|v| v.trim().parse::<i64>().ok()).filter(|v| *v >= 0);
    parse(this_broker).or_else(|| parse(default)).unwrap_or(UNBOUNDED)
}

#[derive(Default)]
struct State {
    last_executed_change: i64,
    change_expiration_ms: i64,
    default_broker: BTreeMap<String, String>,
    this_broker: BTreeMap<String, String>,
}

pub struct DynamicConfigManager {
    broker_id: i32,
    zk: KafkaZkClient,
    replica_manager: Arc<ReplicaManager>,
    /// The live broker configuration the broker-level changes go to.
    broker_config: Arc<DynamicBrokerConfig>,
    /// This broker's controller (set once started): told when unclean
    /// leader election is turned on.
    controller: OnceLock<KafkaController>,
    state: Mutex<State>,
    /// Client quotas (Kafka's `QuotaConfigHandler`s for users and clients).
    client_quotas: std::sync::OnceLock<Arc<ClientQuotaManagers>>,
    /// SCRAM credentials (Kafka's `UserConfigHandler` → `CredentialProvider`).
    credential_cache: OnceLock<Arc<crate::security::credential_cache::CredentialCache>>,
}

impl DynamicConfigManager {
    /// A manager whose broker has no server.properties of note (tests): the
    /// dynamic broker configs are laid over Kafka's defaults.
    pub fn new(broker_id: i32, zk: KafkaZkClient, replica_manager: Arc<ReplicaManager>) -> Arc<Self> {
        let broker_config = DynamicBrokerConfig::new(BTreeMap::new(), replica_manager.default_log_config());
        Self::with_broker_config(broker_id, zk, replica_manager, broker_config)
    }

    pub fn with_broker_config(
        broker_id: i32,
        zk: KafkaZkClient,
        replica_manager: Arc<ReplicaManager>,
        broker_config: Arc<DynamicBrokerConfig>,
    ) -> Arc<Self> {
        Arc::new(DynamicConfigManager {
            broker_id,
            zk,
            replica_manager,
            broker_config,
            controller: OnceLock::new(),
            state: Mutex::new(State {
                last_executed_change: -1,
                change_expiration_ms: CHANGE_EXPIRATION_MS,
                ..Default::default()
            }),
            client_quotas: std::sync::OnceLock::new(),
            credential_cache: OnceLock::new(),
        })
    }

    /// Hands over this broker's controller once it has started; it learns
    /// the unclean-election default in force.
    pub fn set_controller(&self, controller: KafkaController) {
        controller.set_default_unclean_leader_election(self.broker_config.current().unclean_leader_election_enable());
        let _ = self.controller.set(controller);
    }

    /// The live broker configuration.
    pub fn broker_config(&self) -> &Arc<DynamicBrokerConfig> {
        &self.broker_config
    }

    /// The client quota managers that `users`/`clients` changes update (set before `startup`).
    pub fn set_client_quotas(&self, quotas: Arc<ClientQuotaManagers>) {
        let _ = self.client_quotas.set(quotas);
    }

    /// The SCRAM credential cache that `users` changes update (set before `startup`).
    pub fn set_credential_cache(&self, cache: Arc<crate::security::credential_cache::CredentialCache>) {
        let _ = self.credential_cache.set(cache);
    }

    /// How old a notification must be before it is purged (tests shorten it).
    pub fn set_change_expiration_ms(&self, ms: i64) {
        self.lock().change_expiration_ms = ms;
    }

    /// The sequence number of the last notification processed (-1: none).
    pub fn last_executed_change(&self) -> i64 {
        self.lock().last_executed_change
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies all current entity configs, then runs the notification
    /// listener until `shutdown`.
    pub async fn startup(self: &Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        if let Err(e) = self.load_all().await {
            log::error!("[DynamicConfigManager] cannot read the current configs: {e}");
        }
        let me = self.clone();
        tokio::spawn(async move {
            let mut sessions = me.zk.subscribe_session_reinit();
            loop {
                let watcher = match me.process_notifications().await {
                    Ok(w) => Some(w),
                    Err(e) => {
                        log::warn!("[DynamicConfigManager] processing config changes failed: {e}");
                        None
                    }
                };
                // Re-check on a change, a new session, or every 30 s regardless.
                let wait = async {
                    match watcher {
                        Some(w) => {
                            let _ = tokio::time::timeout(Duration::from_secs(30), w.changed()).await;
                        }
                        None => tokio::time::sleep(Duration::from_secs(2)).await,
                    }
                };
                tokio::select! {
                    _ = wait => {}
                    _ = sessions.changed() => {}
                    _ = shutdown.changed() => return,
                }
                if *shutdown.borrow() {
                    return;
                }
            }
        });
    }

    /// Kafka's start-up pass: every topic config, the default and this broker's config.
    pub async fn load_all(&self) -> Result<(), ZkError> {
        for topic in self.zk.get_children("/config/topics").await? {
            self.process_change("topics", &topic).await?;
        }
        self.process_change("brokers", DEFAULT_ENTITY_NAME).await?;
        self.process_change("brokers", &self.broker_id.to_string()).await?;
        self.load_client_quotas().await?;
        Ok(())
    }

    /// Kafka's start-up pass over `/config/clients/<c>`, `/config/users/<u>`
    /// and `/config/users/<u>/clients/<c>`.
    async fn load_client_quotas(&self) -> Result<(), ZkError> {
        let children = |path: String| async move {
            match self.zk.get_children(&path).await {
                Ok(c) => Ok(c),
                Err(ZkError::NoNode(_)) => Ok(Vec::new()),
                Err(e) => Err(e),
            }
        };
        for client in children("/config/clients".into()).await? {
            self.apply_client_quota("clients", &client).await?;
        }
        for user in children("/config/users".into()).await? {
            self.apply_client_quota("users", &user).await?;
            self.apply_credentials(&user).await?;
            for client in children(format!("/config/users/{user}/clients")).await? {
                self.apply_client_quota("users", &format!("{user}/clients/{client}")).await?;
            }
        }
        Ok(())
    }

    /// Kafka's `UserConfigHandler` / `ClientIdConfigHandler`: the entity's
    /// whole current config sets its three quota bounds (absent keys remove them).
    async fn apply_client_quota(&self, entity_type: &str, entity_name: &str) -> Result<(), ZkError> {
        let Some(quotas) = self.client_quotas.get() else { return Ok(()) };
        let Some(entity) = QuotaEntity::from_config_path(entity_type, entity_name) else {
            log::warn!("[DynamicConfigManager] ignoring config change of unknown quota entity {entity_type}/{entity_name}");
            return Ok(());
        };
        let config = match self.zk.get_entity_config(entity_type, entity_name).await {
            Ok(c) => c,
            Err(ZkError::InvalidData { path, reason }) => {
                log::warn!("[DynamicConfigManager] ignoring bad config in {path}: {reason}");
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        quotas.update_entity(&entity, &config);
        Ok(())
    }

    /// Kafka's `UserConfigHandler.processConfigChanges` for credentials: the
    /// user's SCRAM credentials follow `/config/users/<user>` (none when the
    /// znode is gone or has no SCRAM keys). `<default>` and `<u>/clients/<c>`
    /// carry no credentials.
    async fn apply_credentials(&self, entity_name: &str) -> Result<(), ZkError> {
        let Some(cache) = self.credential_cache.get() else { return Ok(()) };
        if entity_name.contains('/') || entity_name == DEFAULT_ENTITY_NAME {
            return Ok(());
        }
        let config = match self.zk.get_entity_config("users", entity_name).await {
            Ok(c) => c,
            Err(ZkError::InvalidData { path, reason }) => {
                log::warn!("[DynamicConfigManager] ignoring bad config in {path}: {reason}");
                Default::default()
            }
            Err(e) => return Err(e),
        };
        cache.update_user(&crate::utils::desanitize(entity_name), &config);
        Ok(())
    }

    /// Processes the notifications newer than the last processed one, in
    /// order, and purges expired ones. Returns the child watch to wait on.
    pub async fn process_notifications(&self) -> Result<zookeeper_client::OneshotWatcher, ZkError> {
        let (children, watcher) = self.zk.get_children_and_watch(CONFIG_CHANGES_PATH).await?;
        let mut changes: Vec<(i64, String)> =
            children.into_iter().filter_map(|c| change_sequence(&c).map(|s| (s, c))).collect();
        changes.sort();
        let now = crate::common::now_ms();
        let expiration = self.lock().change_expiration_ms;
        for (seq, name) in changes {
            let path = format!("{CONFIG_CHANGES_PATH}/{name}");
            let last = self.lock().last_executed_change;
            if seq > last {
                if let Some((data, _)) = self.zk.get_data(&path).await? {
                    match decode_config_change_notification(&data) {
                        Some((entity_type, entity_name)) => {
                            log::info!("[DynamicConfigManager] processing {name}: {entity_type}/{entity_name}");
                            self.process_change(&entity_type, &entity_name).await?;
                        }
                        None => log::warn!(
                            "[DynamicConfigManager] ignoring malformed config change {name}: {}",
                            String::from_utf8_lossy(&data[..data.len().min(200)])
                        ),
                    }
                }
                self.lock().last_executed_change = seq;
            }
            // Kafka's purgeObsoleteNotifications.
            if let Some(stat) = self.zk.exists(&path).await? {
                if now - stat.ctime > expiration {
                    match self.zk.delete_path(&path).await {
                        Ok(()) | Err(ZkError::NoNode(_)) => log::debug!("[DynamicConfigManager] purged {name}"),
                        Err(e) => log::warn!("[DynamicConfigManager] cannot purge {name}: {e}"),
                    }
                }
            }
        }
        Ok(watcher)
    }

    /// Applies the current config of one entity.
    pub async fn process_change(&self, entity_type: &str, entity_name: &str) -> Result<(), ZkError> {
        match entity_type {
            "topics" => {
                let config = match self.zk.get_entity_config("topics", entity_name).await {
                    Ok(c) => c,
                    Err(ZkError::InvalidData { path, reason }) => {
                        log::warn!("[DynamicConfigManager] ignoring bad config in {path}: {reason}");
                        return Ok(());
                    }
                    Err(e) => return Err(e),
                };
                // Kafka's TopicConfigHandler: turned on, the controller (if
                // this broker is it) retries the topic's offline partitions.
                let unclean_on =
                    config.get("unclean.leader.election.enable").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
                self.replica_manager.update_topic_config(entity_name, config);
                if unclean_on {
                    if let Some(c) = self.controller.get() {
                        c.enable_topic_unclean_leader_election(entity_name);
                    }
                }
            }
            "brokers" => {
                let is_default = entity_name == DEFAULT_ENTITY_NAME;
                if !is_default && entity_name.trim().parse::<i32>().ok() != Some(self.broker_id) {
                    return Ok(());
                }
                let config: BTreeMap<String, String> = match self.zk.get_entity_config("brokers", entity_name).await {
                    Ok(c) => c.into_iter().collect(),
                    Err(ZkError::InvalidData { path, reason }) => {
                        log::warn!("[DynamicConfigManager] ignoring bad config in {path}: {reason}");
                        return Ok(());
                    }
                    Err(e) => return Err(e),
                };
                {
                    let mut s = self.lock();
                    if is_default {
                        s.default_broker = config.clone();
                    } else {
                        s.this_broker = config.clone();
                    }
                }
                self.apply_broker_quotas();
                let (old, new) = self.broker_config.update(is_default, config);
                self.reconfigure(&old, &new);
            }
            "users" => {
                self.apply_client_quota(entity_type, entity_name).await?;
                self.apply_credentials(entity_name).await?;
            }
            "clients" => self.apply_client_quota(entity_type, entity_name).await?,
            _ => {} // ip quotas are not implemented
        }
        Ok(())
    }

    /// Kafka's `BrokerReconfigurable`s: the parts whose settings changed
    /// follow the new effective broker config.
    fn reconfigure(&self, old: &BrokerSettings, new: &BrokerSettings) {
        if old.log_config != new.log_config {
            log::info!("[DynamicConfigManager] new log defaults for every log without its own override: {:?}", new.log_config);
            self.replica_manager.update_default_log_config(new.log_config.clone());
        }
        if old.num_replica_fetchers() != new.num_replica_fetchers() {
            self.replica_manager.fetcher_manager.resize_thread_pool(new.num_replica_fetchers());
        }
        if old.unclean_leader_election_enable() != new.unclean_leader_election_enable() {
            if let Some(c) = self.controller.get() {
                c.set_default_unclean_leader_election(new.unclean_leader_election_enable());
            }
        }
        if old.get("num.network.threads") != new.get("num.network.threads") {
            // The runtime's worker threads are fixed once it runs.
            log::info!(
                "[DynamicConfigManager] num.network.threads is now {:?} (accepted; the runtime's worker threads change at the next start)",
                new.get("num.network.threads")
            );
        }
        for key in ["num.io.threads", "num.recovery.threads.per.data.dir", "background.threads"] {
            if old.get(key) != new.get(key) {
                // zkafka runs on one tokio runtime: no pool of that name to resize.
                log::info!("[DynamicConfigManager] {key} is now {:?} (accepted; zkafka has no such thread pool)", new.get(key));
            }
        }
    }

    fn apply_broker_quotas(&self) {
        let s = self.lock();
        let q = self.replica_manager.quotas();
        q.leader.update_quota(effective_broker_quota(LEADER_THROTTLED_RATE, &s.this_broker, &s.default_broker));
        q.follower.update_quota(effective_broker_quota(FOLLOWER_THROTTLED_RATE, &s.this_broker, &s.default_broker));
        let alter_log_dirs = effective_broker_quota(ALTER_LOG_DIRS_IO_MAX_BYTES_PER_SECOND, &s.this_broker, &s.default_broker);
        q.alter_log_dirs.update_quota(alter_log_dirs);
        // The log-dir mover's own limiter (ReplicaAlterLogDirsManager).
        self.replica_manager
            .alter_log_dirs_manager
            .quota
            .set_rate((alter_log_dirs != UNBOUNDED).then_some(alter_log_dirs));
    }

    /// The dynamic broker configs in force: (this broker's, the cluster default).
    pub fn broker_overrides(&self) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let s = self.lock();
        (s.this_broker.clone(), s.default_broker.clone())
    }
}

/// Topic overrides as the replica manager keeps them.
pub type TopicOverrides = HashMap<String, String>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications() {
        assert_eq!(
            decode_config_change_notification(br#"{"version":2,"entity_path":"topics/foo"}"#),
            Some(("topics".into(), "foo".into()))
        );
        assert_eq!(
            decode_config_change_notification(br#"{"version":2,"entity_path":"brokers/<default>"}"#),
            Some(("brokers".into(), "<default>".into()))
        );
        assert_eq!(
            decode_config_change_notification(br#"{"version":2,"entity_path":"users/u/clients/c"}"#),
            Some(("users".into(), "u/clients/c".into()))
        );
        assert_eq!(
            decode_config_change_notification(br#"{"version":1,"entity_type":"topics","entity_name":"t"}"#),
            Some(("topics".into(), "t".into()))
        );
        for bad in [&b""[..], b"{", b"[]", br#"{"version":3,"entity_path":"topics/t"}"#, br#"{"version":2,"entity_path":"topics"}"#,
            br#"{"version":2,"entity_path":"/t"}"#, br#"{"version":2}"#, br#"{"version":"2","entity_path":"topics/t"}"#]
        {
            assert_eq!(decode_config_change_notification(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(change_sequence("config_change_0000000042"), Some(42));
        assert_eq!(change_sequence("config_change_x"), None);
        assert_eq!(change_sequence("other_0000000001"), None);
    }

    #[test]
    fn broker_quota_precedence() {
        let m = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        let none = BTreeMap::new();
        assert_eq!(effective_broker_quota(LEADER_THROTTLED_RATE, &none, &none), UNBOUNDED);
        assert_eq!(effective_broker_quota(LEADER_THROTTLED_RATE, &none, &m(LEADER_THROTTLED_RATE, "10")), 10);
        assert_eq!(effective_broker_quota(LEADER_THROTTLED_RATE, &m(LEADER_THROTTLED_RATE, "5"), &m(LEADER_THROTTLED_RATE, "10")), 5);
        assert_eq!(effective_broker_quota(LEADER_THROTTLED_RATE, &m(LEADER_THROTTLED_RATE, "x"), &m(LEADER_THROTTLED_RATE, "10")), 10);
        assert_eq!(effective_broker_quota(LEADER_THROTTLED_RATE, &m(FOLLOWER_THROTTLED_RATE, "5"), &none), UNBOUNDED);
    }
}
