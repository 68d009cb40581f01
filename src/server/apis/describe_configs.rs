//! DescribeConfigs handler (Kafka's `KafkaApis.handleDescribeConfigsRequest`
//! and `ConfigHelper.describeConfigs`). Topics: every 2.8 topic config with
//! its value and source — the topic override in `/config/topics/<t>`
//! (TOPIC_CONFIG), else a broker synonym set in server.properties
//! (STATIC_BROKER_CONFIG), else Kafka's default (DEFAULT_CONFIG) — so clients
//! that print "non-default" configs print the overrides. Brokers: this
//! broker's dynamic configs (`/config/brokers/<id>`, DYNAMIC_BROKER_CONFIG),
//! the cluster defaults (`/config/brokers/<default>`,
//! DYNAMIC_DEFAULT_BROKER_CONFIG) and server.properties (STATIC_BROKER_CONFIG),
//! in that precedence; the empty name lists the cluster defaults only.

use crate::protocol::error;
use crate::protocol::messages::describe_configs::*;
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use std::collections::{BTreeMap, HashMap};

/// How a broker synonym's value becomes the topic value.
#[derive(Clone, Copy)]
enum Unit {
    Same,
    Hours,
    Minutes,
}

/// One 2.8 topic config: name, type, topic-level default, and its broker
/// synonyms in precedence order (name, unit, broker default if any).
struct TopicConfigDef {
    name: &'static str,
    ty: i8,
    default: &'static str,
    synonyms: &'static [(&'static str, Unit, Option<&'static str>)],
}

const MAX_LONG: &str = "9223372036854775807";

/// Kafka 2.8's `LogConfig` definitions (names, types, defaults, synonyms).
const TOPIC_CONFIGS: &[TopicConfigDef] = &[
    TopicConfigDef { name: "cleanup.policy", ty: TYPE_LIST, default: "delete", synonyms: &[("log.cleanup.policy", Unit::Same, Some("delete"))] },
    TopicConfigDef { name: "compression.type", ty: TYPE_STRING, default: "producer", synonyms: &[("compression.type", Unit::Same, Some("producer"))] },
    TopicConfigDef { name: "delete.retention.ms", ty: TYPE_LONG, default: "86400000", synonyms: &[("log.cleaner.delete.retention.ms", Unit::Same, Some("86400000"))] },
    TopicConfigDef { name: "file.delete.delay.ms", ty: TYPE_LONG, default: "60000", synonyms: &[("log.segment.delete.delay.ms", Unit::Same, Some("60000"))] },
    TopicConfigDef { name: "flush.messages", ty: TYPE_LONG, default: MAX_LONG, synonyms: &[("log.flush.interval.messages", Unit::Same, Some(MAX_LONG))] },
    TopicConfigDef { name: "flush.ms", ty: TYPE_LONG, default: MAX_LONG, synonyms: &[("log.flush.interval.ms", Unit::Same, None)] },
    TopicConfigDef { name: "follower.replication.throttled.replicas", ty: TYPE_LIST, default: "", synonyms: &[] },
    TopicConfigDef { name: "index.interval.bytes", ty: TYPE_INT, default: "4096", synonyms: &[("log.index.interval.bytes", Unit::Same, Some("4096"))] },
    TopicConfigDef { name: "leader.replication.throttled.replicas", ty: TYPE_LIST, default: "", synonyms: &[] },
    TopicConfigDef { name: "max.compaction.lag.ms", ty: TYPE_LONG, default: MAX_LONG, synonyms: &[("log.cleaner.max.compaction.lag.ms", Unit::Same, Some(MAX_LONG))] },
    TopicConfigDef { name: "max.message.bytes", ty: TYPE_INT, default: "1048588", synonyms: &[("message.max.bytes", Unit::Same, Some("1048588"))] },
    TopicConfigDef { name: "message.downconversion.enable", ty: TYPE_BOOLEAN, default: "true", synonyms: &[("log.message.downconversion.enable", Unit::Same, Some("true"))] },
    TopicConfigDef { name: "message.format.version", ty: TYPE_STRING, default: "2.8-IV1", synonyms: &[("log.message.format.version", Unit::Same, Some("2.8-IV1"))] },
    TopicConfigDef { name: "message.timestamp.difference.max.ms", ty: TYPE_LONG, default: MAX_LONG, synonyms: &[("log.message.timestamp.difference.max.ms", Unit::Same, Some(MAX_LONG))] },
    TopicConfigDef { name: "message.timestamp.type", ty: TYPE_STRING, default: "CreateTime", synonyms: &[("log.message.timestamp.type", Unit::Same, Some("CreateTime"))] },
    TopicConfigDef { name: "min.cleanable.dirty.ratio", ty: TYPE_DOUBLE, default: "0.5", synonyms: &[("log.cleaner.min.cleanable.ratio", Unit::Same, Some("0.5"))] },
    TopicConfigDef { name: "min.compaction.lag.ms", ty: TYPE_LONG, default: "0", synonyms: &[("log.cleaner.min.compaction.lag.ms", Unit::Same, Some("0"))] },
    TopicConfigDef { name: "min.insync.replicas", ty: TYPE_INT, default: "1", synonyms: &[("min.insync.replicas", Unit::Same, Some("1"))] },
    TopicConfigDef { name: "preallocate", ty: TYPE_BOOLEAN, default: "false", synonyms: &[("log.preallocate", Unit::Same, Some("false"))] },
    TopicConfigDef { name: "retention.bytes", ty: TYPE_LONG, default: "-1", synonyms: &[("log.retention.bytes", Unit::Same, Some("-1"))] },
    TopicConfigDef {
        name: "retention.ms",
        ty: TYPE_LONG,
        default: "604800000",
        synonyms: &[("log.retention.ms", Unit::Same, None), ("log.retention.minutes", Unit::Minutes, None), ("log.retention.hours", Unit::Hours, Some("168"))],
    },
    TopicConfigDef { name: "segment.bytes", ty: TYPE_INT, default: "1073741824", synonyms: &[("log.segment.bytes", Unit::Same, Some("1073741824"))] },
    TopicConfigDef { name: "segment.index.bytes", ty: TYPE_INT, default: "10485760", synonyms: &[("log.index.size.max.bytes", Unit::Same, Some("10485760"))] },
    TopicConfigDef {
        name: "segment.jitter.ms",
        ty: TYPE_LONG,
        default: "0",
        synonyms: &[("log.roll.jitter.ms", Unit::Same, None), ("log.roll.jitter.hours", Unit::Hours, Some("0"))],
    },
    TopicConfigDef {
        name: "segment.ms",
        ty: TYPE_LONG,
        default: "604800000",
        synonyms: &[("log.roll.ms", Unit::Same, None), ("log.roll.hours", Unit::Hours, Some("168"))],
    },
    TopicConfigDef { name: "unclean.leader.election.enable", ty: TYPE_BOOLEAN, default: "false", synonyms: &[("unclean.leader.election.enable", Unit::Same, Some("false"))] },
];

fn convert(v: &str, unit: Unit) -> String {
    let v = v.trim();
    let factor = match unit {
        Unit::Same => return v.to_string(),
        Unit::Hours => 3_600_000i64,
        Unit::Minutes => 60_000,
    };
    match v.parse::<i64>() {
        Ok(n) => n.saturating_mul(factor).to_string(),
        Err(_) => v.to_string(),
    }
}

/// The entry of one topic config given the topic overrides and the broker's
/// static properties (Kafka's `createTopicConfigEntry`).
fn topic_config_entry(
    def: &TopicConfigDef,
    overrides: &HashMap<String, String>,
    broker_layers: &[(&BTreeMap<String, String>, i8)],
    include_synonyms: bool,
) -> DescribeConfigsResourceResult {
    let mut synonyms = Vec::new();
    let mut value: Option<String> = None;
    if let Some(v) = overrides.get(def.name) {
        value = Some(v.trim().to_string());
        synonyms.push(DescribeConfigsSynonym { name: def.name.into(), value: Some(v.clone()), source: SOURCE_TOPIC_CONFIG, ..Default::default() });
    }
    for (broker_name, unit, broker_default) in def.synonyms {
        for (layer, source) in broker_layers {
            let Some(v) = layer.get(*broker_name) else { continue };
            if value.is_none() {
                value = Some(convert(v, *unit));
            }
            synonyms.push(DescribeConfigsSynonym {
                name: broker_name.to_string(),
                value: Some(v.clone()),
                source: *source,
                ..Default::default()
            });
        }
        if let Some(d) = broker_default {
            synonyms.push(DescribeConfigsSynonym {
                name: broker_name.to_string(),
                value: Some(d.to_string()),
                source: SOURCE_DEFAULT_CONFIG,
                ..Default::default()
            });
        }
    }
    let source = synonyms.first().map_or(SOURCE_DEFAULT_CONFIG, |s| s.source);
    DescribeConfigsResourceResult {
        name: def.name.into(),
        value: Some(value.unwrap_or_else(|| def.default.to_string())),
        read_only: false,
        is_default: source == SOURCE_DEFAULT_CONFIG,
        config_source: source,
        is_sensitive: false,
        synonyms: if include_synonyms { synonyms } else { Vec::new() },
        config_type: def.ty,
        documentation: None,
        ..Default::default()
    }
}

/// Every topic config (in Kafka's name order), filtered by `keys` if given,
/// over the broker's static properties only.
pub fn describe_topic_configs(
    overrides: &HashMap<String, String>,
    broker_props: &BTreeMap<String, String>,
    keys: Option<&[String]>,
    include_synonyms: bool,
) -> Vec<DescribeConfigsResourceResult> {
    describe_topic_configs_layered(overrides, &[(broker_props, SOURCE_STATIC_BROKER_CONFIG)], keys, include_synonyms)
}

/// Every topic config over the broker layers in precedence order, e.g. this
/// broker's dynamic config (DYNAMIC_BROKER_CONFIG), the cluster default
/// (DYNAMIC_DEFAULT_BROKER_CONFIG), server.properties (STATIC_BROKER_CONFIG):
/// a topic without an override shows the broker value in force and where it
/// comes from, as Kafka's `createTopicConfigEntry` does.
pub fn describe_topic_configs_layered(
    overrides: &HashMap<String, String>,
    broker_layers: &[(&BTreeMap<String, String>, i8)],
    keys: Option<&[String]>,
    include_synonyms: bool,
) -> Vec<DescribeConfigsResourceResult> {
    let mut out: Vec<DescribeConfigsResourceResult> = TOPIC_CONFIGS
        .iter()
        .filter(|d| keys.map_or(true, |k| k.iter().any(|k| k == d.name)))
        .map(|d| topic_config_entry(d, overrides, broker_layers, include_synonyms))
        .collect();
    // Overrides Kafka has no definition for (kept verbatim by the log config).
    let mut extra: Vec<(&String, &String)> =
        overrides.iter().filter(|(k, _)| !TOPIC_CONFIGS.iter().any(|d| d.name == k.as_str())).collect();
    extra.sort();
    for (k, v) in extra {
        if keys.map_or(true, |keys| keys.iter().any(|x| x == k)) {
            out.push(DescribeConfigsResourceResult {
                name: k.clone(),
                value: Some(v.clone()),
                config_source: SOURCE_TOPIC_CONFIG,
                ..Default::default()
            });
        }
    }
    out
}

fn is_sensitive(name: &str) -> bool {
    name.contains("password") || name.ends_with(".secret") || name.contains("sasl.jaas.config")
}

/// Broker configs with Kafka's precedence: this broker's dynamic config
/// (DYNAMIC_BROKER_CONFIG), the cluster default (DYNAMIC_DEFAULT_BROKER_CONFIG),
/// server.properties (STATIC_BROKER_CONFIG); synonyms in that order.
pub fn describe_broker_configs(
    per_broker: &BTreeMap<String, String>,
    default: &BTreeMap<String, String>,
    static_props: &BTreeMap<String, String>,
    keys: Option<&[String]>,
    include_synonyms: bool,
    with_defaults: bool,
) -> Vec<DescribeConfigsResourceResult> {
    use crate::server::dynamic_broker_config::{broker_default, is_dynamic_broker_config, DYNAMIC_BROKER_CONFIGS};
    // Kafka's built-in defaults (DEFAULT_CONFIG) of the keys zkafka knows.
    // The cluster-default resource ("") lists only the dynamic defaults.
    let defaults: BTreeMap<String, String> = if with_defaults {
        crate::config::broker_key_defaults()
            .map(|(k, _)| k)
            .chain(DYNAMIC_BROKER_CONFIGS.iter().copied())
            .filter_map(|k| broker_default(k).map(|d| (k.to_string(), d.to_string())))
            .collect()
    } else {
        BTreeMap::new()
    };
    let mut names: Vec<&String> =
        per_broker.keys().chain(default.keys()).chain(static_props.keys()).chain(defaults.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|k| keys.is_none_or(|keys| keys.iter().any(|x| x == *k)))
        .map(|k| {
            let sensitive = is_sensitive(k);
            let shown = |v: &String| if sensitive { None } else { Some(v.clone()) };
            let synonyms: Vec<DescribeConfigsSynonym> = [
                (per_broker, SOURCE_DYNAMIC_BROKER_CONFIG),
                (default, SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG),
                (static_props, SOURCE_STATIC_BROKER_CONFIG),
                (&defaults, SOURCE_DEFAULT_CONFIG),
            ]
            .iter()
            .filter_map(|(m, source)| m.get(k).map(|v| DescribeConfigsSynonym { name: k.clone(), value: shown(v), source: *source, ..Default::default() }))
            .collect();
            let first = synonyms.first().cloned().unwrap_or_default();
            DescribeConfigsResourceResult {
                name: k.clone(),
                value: first.value.clone(),
                // Kafka: read-only unless the key can change dynamically.
                read_only: !is_dynamic_broker_config(k),
                is_default: first.source == SOURCE_DEFAULT_CONFIG,
                config_source: first.source,
                is_sensitive: sensitive,
                synonyms: if include_synonyms { synonyms } else { Vec::new() },
                ..Default::default()
            }
        })
        .collect()
}

/// Kafka's `ConfigHelper` for a BROKER_LOGGER resource: this broker's
/// loggers (`Log4jController.loggers`), each with its level, source
/// DYNAMIC_BROKER_LOGGER_CONFIG and no synonyms.
fn broker_logger_configs(broker_id: i32, name: &str, keys: Option<&[String]>) -> Result<Vec<DescribeConfigsResourceResult>, String> {
    if name.is_empty() {
        return Err("Broker id must not be empty".into());
    }
    match name.trim().parse::<i32>() {
        Ok(id) if id == broker_id => {}
        Ok(_) => return Err(format!("Unexpected broker id, expected {broker_id} but received {name}")),
        Err(_) => return Err(format!("Broker id must be an integer, but it is: {name}")),
    }
    Ok(crate::log4j_controller::loggers()
        .into_iter()
        .filter(|(logger, _)| keys.is_none_or(|k| k.contains(logger)))
        .map(|(logger, level)| DescribeConfigsResourceResult {
            name: logger,
            value: Some(level),
            config_source: SOURCE_DYNAMIC_BROKER_LOGGER_CONFIG,
            ..Default::default()
        })
        .collect())
}

fn failed(res: &DescribeConfigsResource, code: i16, message: Option<String>) -> DescribeConfigsResult {
    DescribeConfigsResult {
        error_code: code,
        error_message: message,
        resource_type: res.resource_type,
        resource_name: res.resource_name.clone(),
        ..Default::default()
    }
}

impl KafkaApis {
    pub(crate) async fn handle_describe_configs(
        &self,
        ctx: &RequestContext,
        req: DescribeConfigsRequest,
    ) -> DescribeConfigsResponse {
        let mut results = Vec::with_capacity(req.resources.len());
        for res in &req.resources {
            results.push(self.describe_one(ctx, res, req.include_synonyms).await);
        }
        DescribeConfigsResponse { throttle_time_ms: 0, results, ..Default::default() }
    }

    async fn describe_one(&self, ctx: &RequestContext, res: &DescribeConfigsResource, include_synonyms: bool) -> DescribeConfigsResult {
        let keys = res.configuration_keys.as_deref();
        if let Some(code) = self.config_resource_denied(ctx, crate::security::authorizer::AclOperation::DescribeConfigs, res.resource_type, &res.resource_name) {
            return failed(res, code, None);
        }
        let configs = match res.resource_type {
            RESOURCE_TOPIC => {
                if !self.metadata_cache.contains_topic(&res.resource_name) {
                    return failed(res, error::UNKNOWN_TOPIC_OR_PARTITION, None);
                }
                let overrides = match self.zk.get_entity_config("topics", &res.resource_name).await {
                    Ok(o) => o,
                    Err(e) => {
                        log::warn!("DescribeConfigs for topic {}: {e}", res.resource_name);
                        return failed(res, error::UNKNOWN_SERVER_ERROR, Some(e.to_string()));
                    }
                };
                // The dynamic broker configs this broker applies (valid dynamic keys only).
                let (per_broker, default) = self.dynamic_config.dynamic_configs();
                let usable = |m: BTreeMap<String, String>| -> BTreeMap<String, String> {
                    m.into_iter()
                        .filter(|(k, v)| {
                            crate::server::dynamic_broker_config::is_dynamic_broker_config(k)
                                && crate::server::dynamic_broker_config::validate_dynamic_value(k, v).is_ok()
                        })
                        .collect()
                };
                let (per_broker, default) = (usable(per_broker), usable(default));
                describe_topic_configs_layered(
                    &overrides,
                    &[
                        (&per_broker, SOURCE_DYNAMIC_BROKER_CONFIG),
                        (&default, SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG),
                        (&self.config.props, SOURCE_STATIC_BROKER_CONFIG),
                    ],
                    keys,
                    include_synonyms,
                )
            }
            RESOURCE_BROKER if res.resource_name.is_empty() => {
                // The cluster-wide dynamic defaults (`/config/brokers/<default>`).
                let default = match self.zk.get_entity_config("brokers", crate::zk::admin_zk_client::DEFAULT_ENTITY_NAME).await {
                    Ok(c) => c.into_iter().collect::<BTreeMap<_, _>>(),
                    Err(e) => return failed(res, error::UNKNOWN_SERVER_ERROR, Some(e.to_string())),
                };
                describe_broker_configs(&BTreeMap::new(), &default, &BTreeMap::new(), keys, include_synonyms, false)
            }
            RESOURCE_BROKER => {
                match res.resource_name.trim().parse::<i32>() {
                    Ok(id) if id == self.broker_id => {}
                    Ok(_) => {
                        return failed(
                            res,
                            error::INVALID_REQUEST,
                            Some(format!(
                                "Unexpected broker id, expected {} or empty string, but received {}",
                                self.broker_id, res.resource_name
                            )),
                        )
                    }
                    Err(_) => {
                        return failed(
                            res,
                            error::INVALID_REQUEST,
                            Some(format!("Broker id must be an integer, but it is: {}", res.resource_name)),
                        )
                    }
                }
                let read = |name: String| async move {
                    self.zk.get_entity_config("brokers", &name).await.map(|c| c.into_iter().collect::<BTreeMap<_, _>>())
                };
                let per_broker = match read(self.broker_id.to_string()).await {
                    Ok(c) => c,
                    Err(e) => return failed(res, error::UNKNOWN_SERVER_ERROR, Some(e.to_string())),
                };
                let default = match read(crate::zk::admin_zk_client::DEFAULT_ENTITY_NAME.to_string()).await {
                    Ok(c) => c,
                    Err(e) => return failed(res, error::UNKNOWN_SERVER_ERROR, Some(e.to_string())),
                };
                describe_broker_configs(&per_broker, &default, &self.config.props, keys, include_synonyms, true)
            }
            RESOURCE_BROKER_LOGGER => match broker_logger_configs(self.broker_id, &res.resource_name, keys) {
                Ok(c) => c,
                Err(message) => return failed(res, error::INVALID_REQUEST, Some(message)),
            },
            other => {
                log::debug!("DescribeConfigs from {:?}: resource type {other} is not served", ctx.client_id());
                let name = match other {
                    RESOURCE_BROKER_LOGGER => "BROKER_LOGGER",
                    1 => "ANY",
                    _ => "UNKNOWN",
                };
                return failed(res, error::INVALID_REQUEST, Some(format!("Unsupported resource type: {name}")));
            }
        };
        DescribeConfigsResult {
            error_code: error::NONE,
            error_message: None,
            resource_type: res.resource_type,
            resource_name: res.resource_name.clone(),
            configs,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_sources_and_values() {
        let mut overrides = HashMap::new();
        overrides.insert("max.message.bytes".to_string(), "200000".to_string());
        let mut props = BTreeMap::new();
        props.insert("log.retention.hours".to_string(), "1".to_string());
        props.insert("broker.id".to_string(), "0".to_string());
        let all = describe_topic_configs(&overrides, &props, None, true);
        assert_eq!(all.len(), TOPIC_CONFIGS.len());
        let get = |n: &str| all.iter().find(|c| c.name == n).unwrap().clone();
        let mmb = get("max.message.bytes");
        assert_eq!((mmb.value.as_deref(), mmb.config_source), (Some("200000"), SOURCE_TOPIC_CONFIG));
        assert_eq!(mmb.synonyms[0].source, SOURCE_TOPIC_CONFIG);
        assert_eq!(mmb.synonyms.last().unwrap().name, "message.max.bytes");
        let ret = get("retention.ms");
        assert_eq!((ret.value.as_deref(), ret.config_source), (Some("3600000"), SOURCE_STATIC_BROKER_CONFIG));
        let seg = get("segment.bytes");
        assert_eq!((seg.value.as_deref(), seg.config_source, seg.is_default), (Some("1073741824"), SOURCE_DEFAULT_CONFIG, true));
        let non_default: Vec<_> = all.iter().filter(|c| c.config_source != SOURCE_DEFAULT_CONFIG).map(|c| c.name.as_str()).collect();
        assert_eq!(non_default, ["max.message.bytes", "retention.ms"]);
        // Key filter, no synonyms.
        let one = describe_topic_configs(&overrides, &props, Some(&["segment.ms".to_string()]), false);
        assert_eq!(one.len(), 1);
        assert!(one[0].synonyms.is_empty());
        assert_eq!(one[0].value.as_deref(), Some("604800000"));
    }

    #[test]
    fn broker_sources_and_precedence() {
        let m = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<BTreeMap<_, _>>();
        let per = m(&[("leader.replication.throttled.rate", "100")]);
        let def = m(&[("leader.replication.throttled.rate", "200"), ("follower.replication.throttled.rate", "300")]);
        let stat = m(&[("broker.id", "0")]);
        let all = describe_broker_configs(&per, &def, &stat, None, true, false);
        let get = |n: &str| all.iter().find(|c| c.name == n).unwrap().clone();
        let l = get("leader.replication.throttled.rate");
        assert_eq!((l.value.as_deref(), l.config_source), (Some("100"), SOURCE_DYNAMIC_BROKER_CONFIG));
        assert_eq!(l.synonyms.iter().map(|s| s.source).collect::<Vec<_>>(), [SOURCE_DYNAMIC_BROKER_CONFIG, SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG]);
        let f = get("follower.replication.throttled.rate");
        assert_eq!((f.value.as_deref(), f.config_source), (Some("300"), SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG));
        let b = get("broker.id");
        assert_eq!((b.config_source, b.read_only), (SOURCE_STATIC_BROKER_CONFIG, true));
        let only = describe_broker_configs(&per, &def, &stat, Some(&["broker.id".to_string()]), false, false);
        assert_eq!(only.len(), 1);
        assert!(only[0].synonyms.is_empty());
        // With Kafka's built-in defaults: every known key, DEFAULT_CONFIG last.
        let all = describe_broker_configs(&per, &m(&[("log.retention.ms", "5000")]), &m(&[("log.retention.hours", "1")]), None, true, true);
        let get = |n: &str| all.iter().find(|c| c.name == n).unwrap().clone();
        let r = get("log.retention.ms");
        assert_eq!((r.value.as_deref(), r.config_source, r.read_only), (Some("5000"), SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG, false));
        let h = get("log.retention.hours");
        assert_eq!(h.synonyms.iter().map(|s| s.source).collect::<Vec<_>>(), [SOURCE_STATIC_BROKER_CONFIG, SOURCE_DEFAULT_CONFIG]);
        assert!(h.read_only, "log.retention.hours cannot change dynamically");
        let n = get("num.replica.fetchers");
        assert_eq!((n.value.as_deref(), n.config_source, n.is_default, n.read_only), (Some("1"), SOURCE_DEFAULT_CONFIG, true, false));
        assert_eq!(get("log.cleaner.threads").value.as_deref(), Some("1"));
    }

    #[test]
    fn topic_values_from_dynamic_broker_layers() {
        let m = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<BTreeMap<_, _>>();
        let per = m(&[("log.segment.bytes", "3000")]);
        let def = m(&[("log.retention.ms", "60000"), ("log.segment.bytes", "2000")]);
        let stat = m(&[("log.retention.hours", "1")]);
        let layers = [
            (&per, SOURCE_DYNAMIC_BROKER_CONFIG),
            (&def, SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG),
            (&stat, SOURCE_STATIC_BROKER_CONFIG),
        ];
        let all = describe_topic_configs_layered(&HashMap::new(), &layers, None, true);
        let get = |n: &str| all.iter().find(|c| c.name == n).unwrap().clone();
        let r = get("retention.ms");
        assert_eq!((r.value.as_deref(), r.config_source), (Some("60000"), SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG));
        assert_eq!(
            r.synonyms.iter().map(|s| (s.name.as_str(), s.source)).collect::<Vec<_>>(),
            [
                ("log.retention.ms", SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG),
                ("log.retention.hours", SOURCE_STATIC_BROKER_CONFIG),
                ("log.retention.hours", SOURCE_DEFAULT_CONFIG)
            ]
        );
        let s = get("segment.bytes");
        assert_eq!((s.value.as_deref(), s.config_source), (Some("3000"), SOURCE_DYNAMIC_BROKER_CONFIG));
        // A topic override still comes first.
        let o: HashMap<String, String> = [("retention.ms".to_string(), "5".to_string())].into();
        let r = describe_topic_configs_layered(&o, &layers, Some(&["retention.ms".to_string()]), false);
        assert_eq!((r[0].value.as_deref(), r[0].config_source), (Some("5"), SOURCE_TOPIC_CONFIG));
    }
}
