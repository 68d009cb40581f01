//! AlterClientQuotas handler (Kafka's `KafkaApis.handleAlterClientQuotasRequest`
//! and `ZkAdminManager.alterClientQuotas`): for each entry, the entity
//! (user, client-id, or both; a null name is the default) names a znode
//! (`/config/users/<u>`, `/config/users/<u>/clients/<c>`, `/config/clients/<c>`),
//! the ops set or remove quota keys in its current config, and unless
//! `validate_only` the new config is written through AdminZkClient with a
//! change notification, which every broker's DynamicConfigManager applies.
//! Each entry succeeds or fails alone, with Kafka's INVALID_REQUEST messages.

use crate::protocol::error::{self, ErrorCode};
use crate::protocol::messages::alter_client_quotas::{AlterClientQuotasRequest, AlterClientQuotasResponse, AlterEntryResponse, OpData};
use crate::protocol::messages::describe_client_quotas::EntityData;
use crate::server::apis::describe_client_quotas::{ENTITY_CLIENT_ID, ENTITY_IP, ENTITY_USER};
use crate::server::client_quota_manager::REQUEST_PERCENTAGE;
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use crate::utils::{java_double_to_string, sanitize};
use crate::zk::admin_zk_client::{AdminZkClient, CLIENT_QUOTA_KEYS, DEFAULT_ENTITY_NAME};
use std::collections::BTreeMap;

/// Kafka's `parseAndSanitizeQuotaEntity` + the combination check: the
/// config type (`users` / `clients`) and the sanitized path under it.
pub fn quota_entity_path(entity: &[EntityData]) -> Result<(&'static str, String), String> {
    // The request's entity becomes a Java map: a repeated type keeps its last name.
    let mut map: Vec<(&str, Option<&str>)> = Vec::new();
    for e in entity {
        match map.iter_mut().find(|(t, _)| *t == e.entity_type) {
            Some(slot) => slot.1 = e.entity_name.as_deref(),
            None => map.push((e.entity_type.as_str(), e.entity_name.as_deref())),
        }
    }
    if map.is_empty() {
        return Err("Invalid empty client quota entity".into());
    }
    let (mut user, mut client, mut ip) = (None, None, None);
    for (t, name) in map {
        let sanitized = name.map_or_else(|| DEFAULT_ENTITY_NAME.to_string(), sanitize);
        match t {
            ENTITY_USER => user = Some(sanitized),
            ENTITY_CLIENT_ID => client = Some(sanitized),
            ENTITY_IP => ip = Some(sanitized),
            other => return Err(format!("Unhandled client quota entity type: {other}")),
        }
        if name == Some("") {
            return Err(format!("Empty {t} not supported"));
        }
    }
    match (user, client, ip) {
        (Some(u), Some(c), None) => Ok(("users", format!("{u}/clients/{c}"))),
        (Some(u), None, None) => Ok(("users", u)),
        (None, Some(c), None) => Ok(("clients", c)),
        (None, None, Some(_)) => Err("IP (connection rate) quotas are not supported by zkafka".into()),
        (_, _, Some(_)) => Err("Invalid quota entity combination, IP entity should not be used with user/client ID entity.".into()),
        _ => Err("Invalid client quota entity".into()),
    }
}

/// Kafka's op loop of `alterEntityQuotas`: removals drop the key; sets need
/// a quota key, and the byte rates (LONG) a whole number.
pub fn apply_quota_ops(props: &mut BTreeMap<String, String>, ops: &[OpData]) -> Result<(), String> {
    for op in ops {
        if op.remove {
            props.remove(&op.key);
            continue;
        }
        if !CLIENT_QUOTA_KEYS.contains(&op.key.as_str()) {
            return Err(format!("Invalid configuration key {}", op.key));
        }
        if op.key == REQUEST_PERCENTAGE {
            props.insert(op.key.clone(), java_double_to_string(op.value));
        } else {
            let epsilon = 1e-6;
            let whole = (op.value + epsilon) as i64;
            if !op.value.is_finite() || (whole as f64 - op.value).abs() > epsilon {
                return Err(format!("Configuration {} must be a LONG value", op.key));
            }
            props.insert(op.key.clone(), whole.to_string());
        }
    }
    Ok(())
}

impl KafkaApis {
    pub(crate) async fn handle_alter_client_quotas(&self, ctx: &RequestContext, req: AlterClientQuotasRequest) -> AlterClientQuotasResponse {
        let admin = AdminZkClient::new(self.zk.clone());
        let mut entries = Vec::with_capacity(req.entries.len());
        let authorized = self.authorize_cluster(ctx, crate::security::authorizer::AclOperation::AlterConfigs);
        for entry in &req.entries {
            let result: Result<(), (ErrorCode, String)> = async {
                if !authorized {
                    return Err((error::CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.".to_string()));
                }
                let (config_type, path) = quota_entity_path(&entry.entity).map_err(|m| (error::INVALID_REQUEST, m))?;
                let mut props = admin.fetch_entity_config(config_type, &path).await.map_err(|e| (e.error_code(), e.message()))?;
                apply_quota_ops(&mut props, &entry.ops).map_err(|m| (error::INVALID_REQUEST, m))?;
                if !req.validate_only {
                    admin.change_client_quota_config(config_type, &path, props).await.map_err(|e| (e.error_code(), e.message()))?;
                }
                Ok(())
            }
            .await;
            let (error_code, error_message) = match result {
                Ok(()) => (error::NONE, None),
                Err((code, message)) => {
                    log::info!("Error encountered while updating client quotas: {} {message}", error::error_name(code));
                    (code, Some(message))
                }
            };
            entries.push(AlterEntryResponse { error_code, error_message, entity: entry.entity.clone() });
        }
        AlterClientQuotasResponse { entries, ..Default::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ent(pairs: &[(&str, Option<&str>)]) -> Vec<EntityData> {
        pairs.iter().map(|(t, n)| EntityData { entity_type: t.to_string(), entity_name: n.map(str::to_string) }).collect()
    }

    fn op(key: &str, value: f64, remove: bool) -> OpData {
        OpData { key: key.into(), value, remove }
    }

    #[test]
    fn entity_paths() {
        assert_eq!(quota_entity_path(&ent(&[("user", Some("alice"))])), Ok(("users", "alice".into())));
        assert_eq!(quota_entity_path(&ent(&[("user", None)])), Ok(("users", "<default>".into())));
        assert_eq!(quota_entity_path(&ent(&[("client-id", Some("a b"))])), Ok(("clients", "a%20b".into())));
        assert_eq!(quota_entity_path(&ent(&[("client-id", Some("c")), ("user", None)])), Ok(("users", "<default>/clients/c".into())));
        assert_eq!(quota_entity_path(&ent(&[])), Err("Invalid empty client quota entity".into()));
        assert_eq!(quota_entity_path(&ent(&[("group", Some("g"))])), Err("Unhandled client quota entity type: group".into()));
        assert_eq!(quota_entity_path(&ent(&[("user", Some(""))])), Err("Empty user not supported".into()));
        assert_eq!(
            quota_entity_path(&ent(&[("user", Some("u")), ("ip", Some("1.2.3.4"))])),
            Err("Invalid quota entity combination, IP entity should not be used with user/client ID entity.".into())
        );
        // a repeated type keeps the last name, as the Java map does
        assert_eq!(quota_entity_path(&ent(&[("user", Some("a")), ("user", Some("b"))])), Ok(("users", "b".into())));
    }

    #[test]
    fn ops() {
        let mut p = BTreeMap::from([("consumer_byte_rate".to_string(), "5".to_string())]);
        apply_quota_ops(&mut p, &[op("producer_byte_rate", 1048576.0, false), op("request_percentage", 50.0, false), op("consumer_byte_rate", 0.0, true)]).unwrap();
        assert_eq!(p, BTreeMap::from([("producer_byte_rate".to_string(), "1048576".to_string()), ("request_percentage".to_string(), "50.0".to_string())]));
        assert_eq!(apply_quota_ops(&mut p, &[op("producer_byte_rate", 1.5, false)]), Err("Configuration producer_byte_rate must be a LONG value".into()));
        assert_eq!(apply_quota_ops(&mut p, &[op("bogus", 1.0, false)]), Err("Invalid configuration key bogus".into()));
        // removing an unknown key is not an error (Kafka only checks keys it sets)
        assert_eq!(apply_quota_ops(&mut p, &[op("bogus", 0.0, true)]), Ok(()));
    }
}
