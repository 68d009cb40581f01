//! DescribeUserScramCredentials handler (key 50): each user's SCRAM
//! mechanisms and iteration counts from `/config/users/<user>`. Maps to
//! `KafkaApis.handleDescribeUserScramCredentialsRequest` and
//! `ZkAdminManager.describeUserScramCredentials` (all users sorted when none
//! are named; RESOURCE_NOT_FOUND for a named user without credentials;
//! DUPLICATE_RESOURCE for a user named twice).

use crate::protocol::error;
use crate::protocol::messages::describe_user_scram_credentials::{
    CredentialInfo, DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse, DescribeUserScramCredentialsResult,
};
use crate::security::scram::{ScramCredential, ScramMechanism};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use crate::utils::{desanitize, sanitize};
use crate::zk::ZkError;
use std::collections::{BTreeMap, HashMap};

const DOES_NOT_EXIST: &str = "Attempt to describe a user credential that does not exist";
const EMPTY_NAME: &str = "Username must not be empty";
const ERROR_PROCESSING: &str = "Error processing describe user SCRAM credential configs request";

/// The result for one user's config, `None` when it holds no SCRAM credential.
pub fn scram_result(user: &str, config: &HashMap<String, String>) -> Option<DescribeUserScramCredentialsResult> {
    let mut result = DescribeUserScramCredentialsResult { user: user.to_string(), ..Default::default() };
    let mut any = false;
    for m in ScramMechanism::ALL {
        if let Some(v) = config.get(m.mechanism_name()) {
            any = true;
            match ScramCredential::from_config_string(v) {
                Some(c) => result.credential_infos.push(CredentialInfo { mechanism: m.type_id(), iterations: c.iterations }),
                None => {
                    result.error_code = error::UNKNOWN_SERVER_ERROR;
                    result.error_message = Some(ERROR_PROCESSING.into());
                    result.credential_infos.clear();
                    break;
                }
            }
        }
    }
    any.then_some(result)
}

impl KafkaApis {
    pub(crate) async fn handle_describe_user_scram_credentials(
        &self,
        ctx: &RequestContext,
        req: DescribeUserScramCredentialsRequest,
    ) -> DescribeUserScramCredentialsResponse {
        let mut resp = DescribeUserScramCredentialsResponse::default();
        // Kafka's handleDescribeUserScramCredentialsRequest: Describe on the cluster.
        if !self.authorize_cluster(ctx, crate::security::authorizer::AclOperation::Describe) {
            resp.error_code = error::CLUSTER_AUTHORIZATION_FAILED;
            return resp;
        }
        let fetch = |user: String| async move { self.zk.get_entity_config("users", &sanitize(&user)).await };
        match req.users.filter(|u| !u.is_empty()) {
            None => {
                let users = match self.zk.get_children("/config/users").await {
                    Ok(u) => u,
                    Err(ZkError::NoNode(_)) => Vec::new(),
                    Err(e) => {
                        resp.error_code = error::UNKNOWN_SERVER_ERROR;
                        resp.error_message = Some(format!("{ERROR_PROCESSING}: {e}"));
                        return resp;
                    }
                };
                let mut sorted = BTreeMap::new();
                for sanitized in users {
                    let user = desanitize(&sanitized);
                    match fetch(user.clone()).await {
                        Ok(config) => {
                            if let Some(r) = scram_result(&user, &config) {
                                sorted.insert(user, r);
                            }
                        }
                        Err(e) => log::warn!("DescribeUserScramCredentials: cannot read user {user}: {e}"),
                    }
                }
                resp.results = sorted.into_values().collect();
            }
            Some(users) => {
                let mut done: Vec<String> = Vec::new();
                for user in &users {
                    if done.contains(user) {
                        continue;
                    }
                    done.push(user.clone());
                    let mut r = DescribeUserScramCredentialsResult { user: user.clone(), ..Default::default() };
                    if user.is_empty() {
                        r.error_code = error::RESOURCE_NOT_FOUND;
                        r.error_message = Some(EMPTY_NAME.into());
                    } else if users.iter().filter(|u| *u == user).count() > 1 {
                        r.error_code = error::DUPLICATE_RESOURCE;
                        r.error_message =
                            Some(format!("Cannot describe SCRAM credentials for the same user twice in a single request: {user}"));
                    } else {
                        match fetch(user.clone()).await {
                            Ok(config) => match scram_result(user, &config) {
                                Some(found) => r = found,
                                None => {
                                    r.error_code = error::RESOURCE_NOT_FOUND;
                                    r.error_message = Some(format!("{DOES_NOT_EXIST}: {user}"));
                                }
                            },
                            Err(e) => {
                                r.error_code = error::UNKNOWN_SERVER_ERROR;
                                r.error_message = Some(format!("{ERROR_PROCESSING}: {e}"));
                            }
                        }
                    }
                    resp.results.push(r);
                }
            }
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_from_configs() {
        let c = ScramCredential::generate(ScramMechanism::Sha512, "pw", b"s", 8192).to_config_string();
        let config: HashMap<String, String> =
            [("SCRAM-SHA-512".to_string(), c), ("producer_byte_rate".to_string(), "1".to_string())].into();
        let r = scram_result("alice", &config).unwrap();
        assert_eq!(r.credential_infos, vec![CredentialInfo { mechanism: 2, iterations: 8192 }]);
        assert!(scram_result("bob", &[("producer_byte_rate".to_string(), "1".to_string())].into()).is_none());
        let bad = scram_result("eve", &[("SCRAM-SHA-256".to_string(), "junk".to_string())].into()).unwrap();
        assert_eq!(bad.error_code, error::UNKNOWN_SERVER_ERROR);
    }
}
