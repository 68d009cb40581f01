//! AlterUserScramCredentials handler (key 51), on the controller: upserts
//! (salt + salted password from the client; the broker derives the stored
//! and server keys) and deletions of SCRAM credentials in
//! `/config/users/<user>`, with a change notification so every broker's
//! credential cache follows. Maps to
//! `KafkaApis.handleAlterUserScramCredentialsRequest` and
//! `ZkAdminManager.alterUserScramCredentials`: per-user errors for an empty
//! name, an unknown mechanism (UNSUPPORTED_SASL_MECHANISM), iterations
//! outside 4096..=16384 (UNACCEPTABLE_CREDENTIAL), a user/mechanism pair
//! altered twice (DUPLICATE_RESOURCE) and the deletion of a credential that
//! does not exist (RESOURCE_NOT_FOUND); a failing user changes nothing.

use crate::protocol::error::{self, ErrorCode};
use crate::protocol::messages::alter_user_scram_credentials::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, AlterUserScramCredentialsResult,
};
use crate::security::scram::{ScramCredential, ScramMechanism};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use crate::utils::sanitize;
use crate::zk::admin_zk_client::AdminZkClient;
use std::collections::{BTreeMap, BTreeSet};

/// Kafka's limit on AlterUserScramCredentials iterations.
pub const MAX_ITERATIONS: i32 = 16384;

/// The decision for one request: per-user errors, and the new config of
/// each user to write (given each user's current config).
pub struct ScramAlterPlan {
    pub errors: Vec<(String, ErrorCode, String)>,
    /// Users whose current config must be read, then changed by `apply`.
    pub users_to_alter: BTreeSet<String>,
}

/// Kafka's validation pass (no ZooKeeper): which users fail and why, and
/// which are left to alter.
pub fn plan(req: &AlterUserScramCredentialsRequest) -> ScramAlterPlan {
    let mut errors: BTreeMap<String, (ErrorCode, String)> = BTreeMap::new();
    for d in &req.deletions {
        if d.name.is_empty() {
            errors.insert(d.name.clone(), (error::UNACCEPTABLE_CREDENTIAL, "Username must not be empty".into()));
        } else if ScramMechanism::from_type_id(d.mechanism).is_none() {
            errors.insert(d.name.clone(), (error::UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism".into()));
        }
    }
    for u in &req.upsertions {
        let e = if u.name.is_empty() {
            Some((error::UNACCEPTABLE_CREDENTIAL, "Username must not be empty"))
        } else {
            match ScramMechanism::from_type_id(u.mechanism) {
                None => Some((error::UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism")),
                Some(m) if u.iterations < m.min_iterations() => Some((error::UNACCEPTABLE_CREDENTIAL, "Too few iterations")),
                Some(_) if u.iterations > MAX_ITERATIONS => Some((error::UNACCEPTABLE_CREDENTIAL, "Too many iterations")),
                Some(_) => None,
            }
        };
        if let Some((code, msg)) = e {
            errors.insert(u.name.clone(), (code, msg.into()));
        }
    }
    let pairs: Vec<(String, i8)> = req
        .upsertions
        .iter()
        .map(|u| (u.name.clone(), u.mechanism))
        .chain(req.deletions.iter().map(|d| (d.name.clone(), d.mechanism)))
        .filter(|(n, _)| !errors.contains_key(n))
        .collect();
    let mut dup_users = BTreeSet::new();
    for (i, p) in pairs.iter().enumerate() {
        if pairs[..i].contains(p) {
            dup_users.insert(p.0.clone());
        }
    }
    let mut out: Vec<(String, ErrorCode, String)> = errors.into_iter().map(|(u, (c, m))| (u, c, m)).collect();
    for u in &dup_users {
        out.push((u.clone(), error::DUPLICATE_RESOURCE, "A user credential cannot be altered twice in the same request".into()));
    }
    let users_to_alter = pairs.into_iter().map(|(n, _)| n).filter(|n| !dup_users.contains(n)).collect();
    ScramAlterPlan { errors: out, users_to_alter }
}

/// The user's new config, or RESOURCE_NOT_FOUND when a deletion names a
/// credential the user does not have.
pub fn apply(
    req: &AlterUserScramCredentialsRequest,
    user: &str,
    mut config: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, (ErrorCode, String)> {
    for d in req.deletions.iter().filter(|d| d.name == user) {
        let Some(m) = ScramMechanism::from_type_id(d.mechanism) else { continue };
        if config.remove(m.mechanism_name()).is_none() {
            return Err((error::RESOURCE_NOT_FOUND, "Attempt to delete a user credential that does not exist".into()));
        }
    }
    for u in req.upsertions.iter().filter(|u| u.name == user) {
        let Some(m) = ScramMechanism::from_type_id(u.mechanism) else { continue };
        let cred = ScramCredential::from_salted_password(m, &u.salt, &u.salted_password, u.iterations);
        config.insert(m.mechanism_name().to_string(), cred.to_config_string());
    }
    Ok(config)
}

impl KafkaApis {
    pub(crate) async fn handle_alter_user_scram_credentials(
        &self,
        ctx: &RequestContext,
        req: AlterUserScramCredentialsRequest,
    ) -> AlterUserScramCredentialsResponse {
        let result = |user: &str, code: ErrorCode, msg: Option<String>| AlterUserScramCredentialsResult {
            user: user.to_string(),
            error_code: code,
            error_message: msg,
        };
        let mut resp = AlterUserScramCredentialsResponse::default();
        // Kafka's handleAlterUserScramCredentialsRequest: Alter on the cluster,
        // else every user named is answered CLUSTER_AUTHORIZATION_FAILED.
        if !self.authorize_cluster(ctx, crate::security::authorizer::AclOperation::Alter) {
            let users: BTreeSet<&String> =
                req.upsertions.iter().map(|u| &u.name).chain(req.deletions.iter().map(|d| &d.name)).collect();
            resp.results = users.into_iter().map(|u| result(u, error::CLUSTER_AUTHORIZATION_FAILED, None)).collect();
            return resp;
        }
        if !self.controller.get().is_some_and(|c| c.is_active()) {
            let users: BTreeSet<&String> =
                req.upsertions.iter().map(|u| &u.name).chain(req.deletions.iter().map(|d| &d.name)).collect();
            resp.results = users.into_iter().map(|u| result(u, error::NOT_CONTROLLER, None)).collect();
            return resp;
        }
        let p = plan(&req);
        resp.results = p.errors.iter().map(|(u, c, m)| result(u, *c, Some(m.clone()))).collect();
        let admin = AdminZkClient::new(self.zk.clone());
        for user in &p.users_to_alter {
            let name = sanitize(user);
            let outcome = match admin.fetch_entity_config("users", &name).await {
                Err(e) => Err((error::UNKNOWN_SERVER_ERROR, e.to_string())),
                Ok(config) => match apply(&req, user, config) {
                    Err(e) => Err(e),
                    Ok(new) => admin
                        .change_client_quota_config("users", &name, new)
                        .await
                        .map_err(|e| (error::UNKNOWN_SERVER_ERROR, e.to_string())),
                },
            };
            resp.results.push(match outcome {
                Ok(()) => {
                    log::info!("SCRAM credentials of user {user} altered");
                    result(user, error::NONE, None)
                }
                Err((c, m)) => result(user, c, Some(m)),
            });
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::messages::alter_user_scram_credentials::{ScramCredentialDeletion, ScramCredentialUpsertion};
    use bytes::Bytes;

    fn up(name: &str, mechanism: i8, iterations: i32) -> ScramCredentialUpsertion {
        ScramCredentialUpsertion {
            name: name.into(),
            mechanism,
            iterations,
            salt: Bytes::from_static(b"salt"),
            salted_password: Bytes::from_static(&[7; 32]),
        }
    }

    #[test]
    fn validation_as_kafka() {
        let req = AlterUserScramCredentialsRequest {
            upsertions: vec![up("a", 1, 4096), up("few", 1, 100), up("many", 2, 20000), up("unk", 9, 4096), up("dup", 1, 4096), up("dup", 1, 5000), up("", 1, 4096)],
            deletions: vec![ScramCredentialDeletion { name: "b".into(), mechanism: 2 }],
            ..Default::default()
        };
        let p = plan(&req);
        let err = |u: &str| p.errors.iter().find(|e| e.0 == u).map(|e| (e.1, e.2.clone()));
        assert_eq!(err("few"), Some((error::UNACCEPTABLE_CREDENTIAL, "Too few iterations".into())));
        assert_eq!(err("many"), Some((error::UNACCEPTABLE_CREDENTIAL, "Too many iterations".into())));
        assert_eq!(err("unk"), Some((error::UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism".into())));
        assert_eq!(err("dup").map(|e| e.0), Some(error::DUPLICATE_RESOURCE));
        assert_eq!(err("").map(|e| e.1), Some("Username must not be empty".into()));
        assert_eq!(p.users_to_alter, ["a".to_string(), "b".to_string()].into());

        let new = apply(&req, "a", [("producer_byte_rate".to_string(), "5".to_string())].into()).unwrap();
        let cred = ScramCredential::from_config_string(&new["SCRAM-SHA-256"]).unwrap();
        assert_eq!(cred, ScramCredential::from_salted_password(ScramMechanism::Sha256, b"salt", &[7; 32], 4096));
        assert_eq!(new["producer_byte_rate"], "5");
        assert_eq!(apply(&req, "b", BTreeMap::new()).unwrap_err().0, error::RESOURCE_NOT_FOUND);
        let had: BTreeMap<String, String> = [("SCRAM-SHA-512".to_string(), "x".to_string())].into();
        assert!(apply(&req, "b", had).unwrap().is_empty());
    }
}
