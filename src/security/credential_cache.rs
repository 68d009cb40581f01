//! The broker's cache of SCRAM credentials, filled from `/config/users/<user>`
//! at start-up and on every `/config/changes` notification for a user.
//! Maps to Kafka's `CredentialCache` / `CredentialProvider` and
//! `UserConfigHandler`'s `credentialProvider.updateCredentials`.

use crate::security::scram::{ScramCredential, ScramMechanism};
use std::collections::HashMap;
use std::sync::RwLock;

#[derive(Default)]
pub struct CredentialCache {
    /// (mechanism, user) → credential.
    creds: RwLock<HashMap<(ScramMechanism, String), ScramCredential>>,
}

impl CredentialCache {
    pub fn new() -> CredentialCache {
        CredentialCache::default()
    }

    pub fn get(&self, mechanism: ScramMechanism, user: &str) -> Option<ScramCredential> {
        self.creds.read().unwrap_or_else(|p| p.into_inner()).get(&(mechanism, user.to_string())).cloned()
    }

    /// Kafka's `CredentialProvider.updateCredentials`: the user's config as
    /// it now is in ZooKeeper (empty when the znode is gone) replaces every
    /// SCRAM credential of that user; an unparsable one is dropped with a warning.
    pub fn update_user(&self, user: &str, config: &HashMap<String, String>) {
        let mut creds = self.creds.write().unwrap_or_else(|p| p.into_inner());
        for m in ScramMechanism::ALL {
            let key = (m, user.to_string());
            match config.get(m.mechanism_name()) {
                Some(v) => match ScramCredential::from_config_string(v) {
                    Some(c) => {
                        creds.insert(key, c);
                    }
                    None => {
                        log::warn!("[CredentialCache] ignoring malformed {} credential of user {user}", m.mechanism_name());
                        creds.remove(&key);
                    }
                },
                None => {
                    creds.remove(&key);
                }
            }
        }
    }

    /// Users with any credential (for tests and logging).
    pub fn len(&self) -> usize {
        self.creds.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_a_users_config() {
        let cache = CredentialCache::new();
        let c = ScramCredential::generate(ScramMechanism::Sha256, "pw", b"s", 4096);
        let mut cfg = HashMap::new();
        cfg.insert("SCRAM-SHA-256".to_string(), c.to_config_string());
        cfg.insert("producer_byte_rate".to_string(), "10".to_string());
        cache.update_user("alice", &cfg);
        assert_eq!(cache.get(ScramMechanism::Sha256, "alice"), Some(c));
        assert_eq!(cache.get(ScramMechanism::Sha512, "alice"), None);
        cfg.insert("SCRAM-SHA-512".to_string(), "garbage".to_string());
        cache.update_user("alice", &cfg);
        assert_eq!(cache.get(ScramMechanism::Sha512, "alice"), None);
        cache.update_user("alice", &HashMap::new());
        assert!(cache.is_empty());
    }
}
