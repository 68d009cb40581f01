//! AlterConfigs (key 33) and IncrementalAlterConfigs (key 44) handlers for
//! TOPIC and BROKER resources (BROKER "" = the cluster default
//! `<default>`), as Kafka 2.8's `ZkAdminManager.alterConfigs` /
//! `incrementalAlterConfigs` do in ZooKeeper mode: the new whole config of
//! the entity is validated, then written with `AdminZkClient.change_*_config`
//! (config znode + `/config/changes` notification, so every broker's
//! DynamicConfigManager applies it), unless `validate_only`.
//!
//! Errors as Kafka's: unknown topic → UNKNOWN_TOPIC_OR_PARTITION; unknown
//! topic key → INVALID_CONFIG; a bad value, a static broker key ("Cannot
//! update these configs dynamically") or a per-broker key at the default
//! level → INVALID_REQUEST with "Invalid config value for resource ..."
//! (Kafka wraps its `ConfigException`s so); duplicate keys, null values,
//! APPEND/SUBTRACT on a non-list key, another broker's id → INVALID_REQUEST.

use crate::security::authorizer::AclOperation;
use crate::protocol::error::{self, ErrorCode};
use crate::protocol::messages::alter_configs::{AlterConfigsRequest, AlterConfigsResourceResponse, AlterConfigsResponse};
use crate::protocol::messages::describe_configs::{RESOURCE_BROKER, RESOURCE_TOPIC};
use crate::protocol::messages::incremental_alter_configs::{
    self as iac, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, OP_APPEND, OP_DELETE, OP_SET, OP_SUBTRACT,
};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use crate::zk::admin_zk_client::{validate_topic_configs, AdminError, DEFAULT_ENTITY_NAME};
use crate::zk::AdminZkClient;
use std::collections::{BTreeMap, BTreeSet};

pub use crate::server::dynamic_broker_config::{validate_dynamic_broker_configs, DYNAMIC_BROKER_CONFIGS};

/// Topic configs of type LIST (APPEND/SUBTRACT allowed).
const TOPIC_LIST_CONFIGS: &[&str] =
    &["cleanup.policy", "leader.replication.throttled.replicas", "follower.replication.throttled.replicas"];

/// Broker configs of type LIST among the dynamic ones.
const BROKER_LIST_CONFIGS: &[&str] =
    &["log.cleanup.policy", "listeners", "advertised.listeners", "metric.reporters", "listener.security.protocol.map"];

/// A per-resource failure: Kafka's error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub code: ErrorCode,
    pub message: String,
}

impl ConfigError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ConfigError { code, message: message.into() }
    }
}

/// Kafka's `ConfigResource.toString`.
pub fn resource_string(resource_type: i8, name: &str) -> String {
    let t = match resource_type {
        RESOURCE_TOPIC => "TOPIC",
        RESOURCE_BROKER => "BROKER",
        8 => "BROKER_LOGGER",
        _ => "UNKNOWN",
    };
    format!("ConfigResource(type={t}, name='{name}')")
}

/// Kafka's `prepareIncrementalConfigs`: applies SET/DELETE/APPEND/SUBTRACT
/// to `current` (duplicate keys and null values are checked first).
pub fn apply_incremental_ops(
    current: &mut BTreeMap<String, String>,
    ops: &[(String, i8, Option<String>)],
    list_keys: &[&str],
    is_topic: bool,
) -> Result<(), ConfigError> {
    let mut seen = BTreeSet::new();
    let dups: BTreeSet<&str> = ops.iter().map(|(n, _, _)| n.as_str()).filter(|n| !seen.insert(*n)).collect();
    if !dups.is_empty() {
        return Err(ConfigError::new(
            error::INVALID_REQUEST,
            format!("Error due to duplicate config keys : {}", dups.into_iter().collect::<Vec<_>>().join(",")),
        ));
    }
    let op_name = |op: i8| match op {
        OP_SET => "SET",
        OP_DELETE => "DELETE",
        OP_APPEND => "APPEND",
        OP_SUBTRACT => "SUBTRACT",
        _ => "UNKNOWN",
    };
    let nulls: Vec<String> =
        ops.iter().filter(|(_, op, v)| v.is_none() && *op != OP_DELETE).map(|(n, op, _)| format!("{}:{n}", op_name(*op))).collect();
    if !nulls.is_empty() {
        return Err(ConfigError::new(error::INVALID_REQUEST, format!("Null value not supported for : {}", nulls.join(","))));
    }
    for (name, op, value) in ops {
        let value = value.clone().unwrap_or_default();
        match *op {
            OP_SET => {
                current.insert(name.clone(), value);
            }
            OP_DELETE => {
                current.remove(name);
            }
            OP_APPEND | OP_SUBTRACT => {
                if !list_keys.contains(&name.as_str()) {
                    if is_topic && !TOPIC_KNOWN.iter().any(|k| k == name) {
                        return Err(ConfigError::new(error::INVALID_CONFIG, format!("Unknown topic config name: {name}")));
                    }
                    let verb = if *op == OP_APPEND { "append" } else { "subtract" };
                    return Err(ConfigError::new(
                        error::INVALID_REQUEST,
                        format!("Config value {verb} is not allowed for config key: {name}"),
                    ));
                }
                let old: Vec<String> = current
                    .get(name)
                    .map(|v| v.split(',').map(str::to_string).collect::<Vec<String>>())
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|s: &String| !s.is_empty())
                    .collect();
                let given: Vec<String> = value.split(',').map(str::to_string).collect();
                let new: Vec<String> = if *op == OP_APPEND {
                    old.into_iter().chain(given).collect()
                } else {
                    // Scala's List.diff: removes one occurrence per given element
                    let mut left = old;
                    for g in &given {
                        if let Some(i) = left.iter().position(|x| x == g) {
                            left.remove(i);
                        }
                    }
                    left
                };
                current.insert(name.clone(), new.join(","));
            }
            other => {
                return Err(ConfigError::new(error::INVALID_REQUEST, format!("Unknown config operation {other} for {name}")));
            }
        }
    }
    Ok(())
}

/// Topic config names Kafka 2.8 knows (for the APPEND/SUBTRACT error).
const TOPIC_KNOWN: &[&str] = &[
    "cleanup.policy", "compression.type", "delete.retention.ms", "file.delete.delay.ms", "flush.messages", "flush.ms",
    "follower.replication.throttled.replicas", "index.interval.bytes", "leader.replication.throttled.replicas",
    "max.compaction.lag.ms", "max.message.bytes", "message.downconversion.enable", "message.format.version",
    "message.timestamp.difference.max.ms", "message.timestamp.type", "min.cleanable.dirty.ratio", "min.compaction.lag.ms",
    "min.insync.replicas", "preallocate", "retention.bytes", "retention.ms", "segment.bytes", "segment.index.bytes",
    "segment.jitter.ms", "segment.ms", "unclean.leader.election.enable",
];

/// The error of a topic config validation, as Kafka classifies it.
fn topic_validation_error(resource: &str, e: AdminError) -> ConfigError {
    let m = e.message();
    match e {
        AdminError::InvalidConfig(_) if m.starts_with("Unknown topic config name") => ConfigError::new(error::INVALID_CONFIG, m),
        AdminError::InvalidConfig(_) => {
            ConfigError::new(error::INVALID_REQUEST, format!("Invalid config value for resource {resource}: {m}"))
        }
        other => ConfigError::new(other.error_code(), m),
    }
}

impl KafkaApis {
    fn broker_entity(&self, name: &str) -> Result<Option<i32>, ConfigError> {
        if name.is_empty() {
            return Ok(None);
        }
        match name.trim().parse::<i32>() {
            Ok(id) if id == self.broker_id => Ok(Some(id)),
            Ok(_) => Err(ConfigError::new(
                error::INVALID_REQUEST,
                format!("Unexpected broker id, expected {}, but received {name}", self.broker_id),
            )),
            Err(_) => Err(ConfigError::new(error::INVALID_REQUEST, format!("Broker id must be an integer, but it is: {name}"))),
        }
    }

    /// Validates and (unless `validate_only`) writes a topic's whole new config.
    async fn alter_topic_config(
        &self,
        topic: &str,
        configs: BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<(), ConfigError> {
        let resource = resource_string(RESOURCE_TOPIC, topic);
        if !self.metadata_cache.contains_topic(topic) {
            return Err(ConfigError::new(error::UNKNOWN_TOPIC_OR_PARTITION, format!("The topic '{topic}' does not exist.")));
        }
        validate_topic_configs(&configs).map_err(|e| topic_validation_error(&resource, e))?;
        if validate_only {
            return Ok(());
        }
        log::info!("Updating topic {topic} with new configuration : {configs:?}");
        AdminZkClient::new(self.zk.clone())
            .change_topic_config(topic, configs)
            .await
            .map_err(|e| topic_validation_error(&resource, e))
    }

    /// Validates and (unless `validate_only`) writes a broker's (or the
    /// default's) whole new dynamic config.
    async fn alter_broker_config(
        &self,
        broker: Option<i32>,
        name: &str,
        configs: BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<(), ConfigError> {
        let resource = resource_string(RESOURCE_BROKER, name);
        validate_dynamic_broker_configs(&configs, broker.is_some())
            .and_then(|()| self.dynamic_config.validate_reconfiguration(broker.is_none(), &configs))
            .map_err(|m| ConfigError::new(error::INVALID_REQUEST, format!("Invalid config value for resource {resource}: {m}")))?;
        if validate_only {
            return Ok(());
        }
        log::info!("Updating broker {} with new configuration : {configs:?}", broker.map_or("<default>".to_string(), |b| b.to_string()));
        AdminZkClient::new(self.zk.clone())
            .change_broker_config(broker, configs)
            .await
            .map_err(|e| ConfigError::new(error::INVALID_REQUEST, format!("Invalid config value for resource {resource}: {e}")))
    }

    async fn current_entity_config(&self, entity_type: &str, name: &str) -> Result<BTreeMap<String, String>, ConfigError> {
        AdminZkClient::new(self.zk.clone())
            .fetch_entity_config(entity_type, name)
            .await
            .map_err(|e| ConfigError::new(error::UNKNOWN_SERVER_ERROR, e.to_string()))
    }

    pub(crate) async fn handle_alter_configs(&self, ctx: &RequestContext, req: AlterConfigsRequest) -> AlterConfigsResponse {
        let mut responses = Vec::with_capacity(req.resources.len());
        for res in &req.resources {
            let result = async {
                if let Some(code) = self.config_resource_denied(ctx, AclOperation::AlterConfigs, res.resource_type, &res.resource_name) {
                    return Err(ConfigError::new(code, crate::security::authorizer::authorization_error_message(code)));
                }
                let nulls: Vec<&str> = res.configs.iter().filter(|c| c.value.is_none()).map(|c| c.name.as_str()).collect();
                if !nulls.is_empty() {
                    return Err(ConfigError::new(error::INVALID_REQUEST, format!("Null value not supported for : {}", nulls.join(","))));
                }
                let configs: BTreeMap<String, String> =
                    res.configs.iter().map(|c| (c.name.clone(), c.value.clone().unwrap_or_default())).collect();
                match res.resource_type {
                    RESOURCE_TOPIC => self.alter_topic_config(&res.resource_name, configs, req.validate_only).await,
                    RESOURCE_BROKER => {
                        let broker = self.broker_entity(&res.resource_name)?;
                        self.alter_broker_config(broker, &res.resource_name, configs, req.validate_only).await
                    }
                    other => Err(unsupported_type(other)),
                }
            }
            .await;
            responses.push(alter_response(res.resource_type, &res.resource_name, result));
        }
        AlterConfigsResponse { throttle_time_ms: 0, responses, ..Default::default() }
    }

    pub(crate) async fn handle_incremental_alter_configs(
        &self,
        ctx: &RequestContext,
        req: IncrementalAlterConfigsRequest,
    ) -> IncrementalAlterConfigsResponse {
        let mut responses = Vec::with_capacity(req.resources.len());
        for res in &req.resources {
            let ops: Vec<(String, i8, Option<String>)> =
                res.configs.iter().map(|c| (c.name.clone(), c.config_operation, c.value.clone())).collect();
            let result = async {
                if let Some(code) = self.config_resource_denied(ctx, AclOperation::AlterConfigs, res.resource_type, &res.resource_name) {
                    return Err(ConfigError::new(code, crate::security::authorizer::authorization_error_message(code)));
                }
                match res.resource_type {
                    RESOURCE_TOPIC => {
                        if !self.metadata_cache.contains_topic(&res.resource_name) {
                            // Kafka reads the (empty) config first, then fails on the topic.
                            let mut scratch = BTreeMap::new();
                            apply_incremental_ops(&mut scratch, &ops, TOPIC_LIST_CONFIGS, true)?;
                            return Err(ConfigError::new(
                                error::UNKNOWN_TOPIC_OR_PARTITION,
                                format!("The topic '{}' does not exist.", res.resource_name),
                            ));
                        }
                        let mut configs = self.current_entity_config("topics", &res.resource_name).await?;
                        apply_incremental_ops(&mut configs, &ops, TOPIC_LIST_CONFIGS, true)?;
                        self.alter_topic_config(&res.resource_name, configs, req.validate_only).await
                    }
                    RESOURCE_BROKER => {
                        let broker = self.broker_entity(&res.resource_name)?;
                        let entity = broker.map_or(DEFAULT_ENTITY_NAME.to_string(), |b| b.to_string());
                        let mut configs = self.current_entity_config("brokers", &entity).await?;
                        apply_incremental_ops(&mut configs, &ops, BROKER_LIST_CONFIGS, false)?;
                        self.alter_broker_config(broker, &res.resource_name, configs, req.validate_only).await
                    }
                    // The broker's log levels (Log4jController), changed in place.
                    8 => {
                        self.broker_entity(&res.resource_name)?;
                        crate::log4j_controller::alter_log_levels(&ops, req.validate_only).map_err(|(config_problem, m)| {
                            let message = if config_problem {
                                format!("Invalid config value for resource {}: {m}", resource_string(8, &res.resource_name))
                            } else {
                                m
                            };
                            ConfigError { code: error::INVALID_REQUEST, message }
                        })
                    }
                    other => Err(unsupported_type(other)),
                }
            }
            .await;
            let r = alter_response(res.resource_type, &res.resource_name, result);
            responses.push(iac::AlterConfigsResourceResponse {
                error_code: r.error_code,
                error_message: r.error_message,
                resource_type: r.resource_type,
                resource_name: r.resource_name,
                ..Default::default()
            });
        }
        IncrementalAlterConfigsResponse { throttle_time_ms: 0, responses, ..Default::default() }
    }
}

fn unsupported_type(t: i8) -> ConfigError {
    let name = match t {
        8 => "BROKER_LOGGER",
        1 => "ANY",
        _ => "UNKNOWN",
    };
    ConfigError::new(
        error::INVALID_REQUEST,
        format!("AlterConfigs is only supported for topics and brokers, but resource type is {name}"),
    )
}

fn alter_response(resource_type: i8, name: &str, result: Result<(), ConfigError>) -> AlterConfigsResourceResponse {
    let (error_code, error_message) = match result {
        Ok(()) => (error::NONE, None),
        Err(e) => {
            log::info!("alter configs of {}: {} {}", resource_string(resource_type, name), error::error_name(e.code), e.message);
            (e.code, Some(e.message))
        }
    };
    AlterConfigsResourceResponse { error_code, error_message, resource_type, resource_name: name.to_string(), ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(v: &[(&str, i8, Option<&str>)]) -> Vec<(String, i8, Option<String>)> {
        v.iter().map(|(n, o, x)| (n.to_string(), *o, x.map(str::to_string))).collect()
    }

    #[test]
    fn incremental_ops() {
        let mut c = BTreeMap::from([("retention.ms".to_string(), "1".to_string()), ("leader.replication.throttled.replicas".to_string(), "0:1".to_string())]);
        apply_incremental_ops(
            &mut c,
            &ops(&[
                ("retention.ms", OP_DELETE, None),
                ("segment.ms", OP_SET, Some("100")),
                ("leader.replication.throttled.replicas", OP_APPEND, Some("1:2,2:3")),
                ("follower.replication.throttled.replicas", OP_APPEND, Some("0:2")),
            ]),
            TOPIC_LIST_CONFIGS,
            true,
        )
        .unwrap();
        assert_eq!(
            c,
            BTreeMap::from([
                ("segment.ms".to_string(), "100".to_string()),
                ("leader.replication.throttled.replicas".to_string(), "0:1,1:2,2:3".to_string()),
                ("follower.replication.throttled.replicas".to_string(), "0:2".to_string()),
            ])
        );
        apply_incremental_ops(&mut c, &ops(&[("leader.replication.throttled.replicas", OP_SUBTRACT, Some("1:2,9:9"))]), TOPIC_LIST_CONFIGS, true)
            .unwrap();
        assert_eq!(c["leader.replication.throttled.replicas"], "0:1,2:3");

        let err = |o: &[(&str, i8, Option<&str>)], topic: bool| {
            let mut c = BTreeMap::new();
            apply_incremental_ops(&mut c, &ops(o), if topic { TOPIC_LIST_CONFIGS } else { BROKER_LIST_CONFIGS }, topic).unwrap_err()
        };
        let e = err(&[("a", OP_SET, Some("1")), ("a", OP_DELETE, None)], true);
        assert_eq!((e.code, e.message.as_str()), (error::INVALID_REQUEST, "Error due to duplicate config keys : a"));
        let e = err(&[("segment.ms", OP_SET, None)], true);
        assert_eq!((e.code, e.message.as_str()), (error::INVALID_REQUEST, "Null value not supported for : SET:segment.ms"));
        let e = err(&[("segment.ms", OP_APPEND, Some("1"))], true);
        assert_eq!((e.code, e.message.as_str()), (error::INVALID_REQUEST, "Config value append is not allowed for config key: segment.ms"));
        assert_eq!(err(&[("no.such", OP_SUBTRACT, Some("1"))], true).code, error::INVALID_CONFIG);
        assert_eq!(err(&[("leader.replication.throttled.rate", OP_APPEND, Some("1"))], false).code, error::INVALID_REQUEST);
        assert_eq!(err(&[("x", 7, Some("1"))], false).code, error::INVALID_REQUEST);
    }

    #[test]
    fn dynamic_broker_validation() {
        let m = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        assert!(validate_dynamic_broker_configs(&m("leader.replication.throttled.rate", "1000"), true).is_ok());
        assert!(validate_dynamic_broker_configs(&m("leader.replication.throttled.rate", "1000"), false).is_ok());
        assert!(validate_dynamic_broker_configs(&m("my.custom.thing", "x"), false).is_ok());
        assert_eq!(
            validate_dynamic_broker_configs(&m("broker.id", "7"), true).unwrap_err(),
            "Cannot update these configs dynamically: Set(broker.id)"
        );
        assert!(validate_dynamic_broker_configs(&m("follower.replication.throttled.rate", "-1"), true).is_err());
        assert!(validate_dynamic_broker_configs(&m("advertised.listeners", "PLAINTEXT://h:1"), false)
            .unwrap_err()
            .starts_with("Cannot update these configs at default cluster level"));
        assert!(validate_dynamic_broker_configs(&m("advertised.listeners", "PLAINTEXT://h:1"), true).is_ok());
        assert_eq!(resource_string(RESOURCE_TOPIC, "t"), "ConfigResource(type=TOPIC, name='t')");
    }
}
