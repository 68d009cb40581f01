//! DescribeClientQuotas handler (Kafka's `KafkaApis.handleDescribeClientQuotasRequest`
//! and `ZkAdminManager.describeClientQuotas`): the user, client-id and
//! user+client-id quota entities in `/config/users` and `/config/clients`
//! that match the request's filter, with their quota values.
//!
//! Filter semantics as in Kafka: a component per entity type (`user`,
//! `client-id`) matching an exact name, the default entity, or any entity of
//! that type (default included); with `strict`, entities that have a level
//! the filter does not name are left out. Entities without quota keys are
//! not listed.

use crate::protocol::error::{self, ErrorCode};
use crate::protocol::messages::describe_client_quotas::{
    ComponentData, DescribeClientQuotasRequest, DescribeClientQuotasResponse, EntityData, EntryData, ValueData, MATCH_ANY,
    MATCH_DEFAULT, MATCH_EXACT,
};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use crate::utils::desanitize;
use crate::zk::admin_zk_client::{CLIENT_QUOTA_KEYS, DEFAULT_ENTITY_NAME};
use std::collections::{BTreeMap, HashMap};

/// `ClientQuotaEntity` types.
pub const ENTITY_USER: &str = "user";
pub const ENTITY_CLIENT_ID: &str = "client-id";
pub const ENTITY_IP: &str = "ip";

/// One level of a stored entity: `None` = the entity has no such level,
/// `Some(None)` = the default, `Some(Some(name))` = a (desanitized) name.
pub type Level = Option<Option<String>>;

/// A quota entity as stored in ZooKeeper, with its config.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredQuotaEntity {
    pub user: Level,
    pub client_id: Level,
    pub config: HashMap<String, String>,
}

/// A filter component after Kafka's `DescribeClientQuotasRequest.filter`:
/// `None` = any entity of the type, `Some(None)` = the default, `Some(Some(n))` = exactly `n`.
type Match = Option<Option<String>>;

fn desanitize_level(name: &str) -> Option<String> {
    (name != DEFAULT_ENTITY_NAME).then(|| desanitize(name))
}

/// Kafka's `describeClientQuotas` on a snapshot of the stored entities.
pub fn describe_client_quotas(
    components: &[ComponentData],
    strict: bool,
    stored: &[StoredQuotaEntity],
) -> Result<Vec<EntryData>, (ErrorCode, String)> {
    // DescribeClientQuotasRequest.filter(): the match types first.
    let mut parsed: Vec<(&str, Match)> = Vec::with_capacity(components.len());
    for c in components {
        let m = match c.match_type {
            MATCH_EXACT => match &c.match_ {
                Some(n) => Some(Some(n.clone())),
                None => return Err((error::INVALID_REQUEST, format!("An exact match on {} needs a name", c.entity_type))),
            },
            MATCH_DEFAULT => Some(None),
            MATCH_ANY => None,
            other => return Err((error::UNKNOWN_SERVER_ERROR, format!("Unexpected match type: {other}"))),
        };
        parsed.push((c.entity_type.as_str(), m));
    }
    let (mut user, mut client, mut ip): (Option<Match>, Option<Match>, Option<Match>) = (None, None, None);
    for (entity_type, m) in parsed {
        let (slot, what) = match entity_type {
            ENTITY_USER => (&mut user, "user"),
            ENTITY_CLIENT_ID => (&mut client, "client"),
            ENTITY_IP => (&mut ip, "ip"),
            "" => return Err((error::INVALID_REQUEST, "Unexpected empty filter component entity type".into())),
            et => return Err((error::UNSUPPORTED_VERSION, format!("Custom entity type '{et}' not supported"))),
        };
        if slot.is_some() {
            return Err((error::INVALID_REQUEST, format!("Duplicate {what} filter component entity type")));
        }
        *slot = Some(m);
    }
    if (user.is_some() || client.is_some()) && ip.is_some() {
        return Err((
            error::INVALID_REQUEST,
            "Invalid entity filter component combination, IP filter component should not be used with user or clientId filter component."
                .into(),
        ));
    }
    if ip.is_some() {
        // IP (connection) quotas are not kept by this broker: nothing matches.
        return Ok(Vec::new());
    }
    let matches = |component: &Option<Match>, level: &Level| match component {
        Some(Some(want)) => level.as_ref() == Some(want),
        Some(None) => level.is_some(),
        None => level.is_none() || !strict,
    };
    let mut out: BTreeMap<(Level, Level), Vec<ValueData>> = BTreeMap::new();
    for e in stored {
        let quota: BTreeMap<&String, &String> = e.config.iter().filter(|(k, _)| CLIENT_QUOTA_KEYS.contains(&k.as_str())).collect();
        if quota.is_empty() || !matches(&user, &e.user) || !matches(&client, &e.client_id) {
            continue;
        }
        let mut values = Vec::with_capacity(quota.len());
        for (k, v) in quota {
            let value = v.trim().parse::<f64>().map_err(|_| {
                (error::UNKNOWN_SERVER_ERROR, format!("Unexpected client quota configuration value: {k} -> {v}"))
            })?;
            values.push(ValueData { key: k.clone(), value });
        }
        out.insert((e.user.clone(), e.client_id.clone()), values);
    }
    Ok(out
        .into_iter()
        .map(|((u, c), values)| {
            let mut entity = Vec::new();
            if let Some(u) = u {
                entity.push(EntityData { entity_type: ENTITY_USER.into(), entity_name: u });
            }
            if let Some(c) = c {
                entity.push(EntityData { entity_type: ENTITY_CLIENT_ID.into(), entity_name: c });
            }
            EntryData { entity, values }
        })
        .collect())
}

impl KafkaApis {
    pub(crate) async fn handle_describe_client_quotas(
        &self,
        ctx: &RequestContext,
        req: DescribeClientQuotasRequest,
    ) -> DescribeClientQuotasResponse {
        let result = match self.stored_quota_entities().await {
            _ if !self.authorize_cluster(ctx, crate::security::authorizer::AclOperation::DescribeConfigs) => {
                Err((error::CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.".to_string()))
            }
            Ok(stored) => describe_client_quotas(&req.components, req.strict, &stored),
            Err(e) => Err((error::UNKNOWN_SERVER_ERROR, e.to_string())),
        };
        match result {
            Ok(entries) => DescribeClientQuotasResponse { entries: Some(entries), ..Default::default() },
            Err((error_code, message)) => {
                log::info!("DescribeClientQuotas failed: {} {message}", error::error_name(error_code));
                DescribeClientQuotasResponse { error_code, error_message: Some(message), entries: None, ..Default::default() }
            }
        }
    }

    /// Every `/config/users/<u>`, `/config/users/<u>/clients/<c>` and `/config/clients/<c>`.
    async fn stored_quota_entities(&self) -> Result<Vec<StoredQuotaEntity>, crate::zk::ZkError> {
        let mut out = Vec::new();
        for user in self.zk.get_children("/config/users").await? {
            let config = self.zk.get_entity_config("users", &user).await?;
            out.push(StoredQuotaEntity { user: Some(desanitize_level(&user)), client_id: None, config });
            for client in self.zk.get_children(&format!("/config/users/{user}/clients")).await? {
                let config = self.zk.get_entity_config("users", &format!("{user}/clients/{client}")).await?;
                out.push(StoredQuotaEntity {
                    user: Some(desanitize_level(&user)),
                    client_id: Some(desanitize_level(&client)),
                    config,
                });
            }
        }
        for client in self.zk.get_children("/config/clients").await? {
            let config = self.zk.get_entity_config("clients", &client).await?;
            out.push(StoredQuotaEntity { user: None, client_id: Some(desanitize_level(&client)), config });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(user: Level, client_id: Level, kv: &[(&str, &str)]) -> StoredQuotaEntity {
        StoredQuotaEntity { user, client_id, config: kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    fn some(s: &str) -> Level {
        Some(Some(s.to_string()))
    }

    fn comp(t: &str, match_type: i8, m: Option<&str>) -> ComponentData {
        ComponentData { entity_type: t.into(), match_type, match_: m.map(str::to_string) }
    }

    fn names(entries: &[EntryData]) -> Vec<String> {
        entries
            .iter()
            .map(|e| {
                e.entity
                    .iter()
                    .map(|d| format!("{}={}", d.entity_type, d.entity_name.as_deref().unwrap_or("<default>")))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect()
    }

    fn all() -> Vec<StoredQuotaEntity> {
        vec![
            stored(some("alice"), None, &[("producer_byte_rate", "1024")]),
            stored(Some(None), None, &[("consumer_byte_rate", "2048")]),
            stored(some("alice"), some("app"), &[("request_percentage", "50.5")]),
            stored(some("bob"), None, &[]),
            stored(None, some("app"), &[("producer_byte_rate", "10")]),
            stored(None, Some(None), &[("producer_byte_rate", "20"), ("unrelated", "x")]),
        ]
    }

    #[test]
    fn filters_like_kafka() {
        let s = all();
        // --entity-type users (strict, any user): user-only entities, default included, empty ones dropped.
        let r = describe_client_quotas(&[comp("user", MATCH_ANY, None)], true, &s).unwrap();
        assert_eq!(names(&r), vec!["user=<default>", "user=alice"]);
        // not strict: every entity with a user level
        let r = describe_client_quotas(&[comp("user", MATCH_ANY, None)], false, &s).unwrap();
        assert_eq!(names(&r), vec!["user=<default>", "user=alice", "user=alice,client-id=app"]);
        // exact user, strict
        let r = describe_client_quotas(&[comp("user", MATCH_EXACT, Some("alice"))], true, &s).unwrap();
        assert_eq!(names(&r), vec!["user=alice"]);
        assert_eq!(r[0].values, vec![ValueData { key: "producer_byte_rate".into(), value: 1024.0 }]);
        // user + client
        let r = describe_client_quotas(&[comp("user", MATCH_EXACT, Some("alice")), comp("client-id", MATCH_EXACT, Some("app"))], true, &s).unwrap();
        assert_eq!(names(&r), vec!["user=alice,client-id=app"]);
        assert_eq!(r[0].values[0].value, 50.5);
        // default client: only the quota keys are listed
        let r = describe_client_quotas(&[comp("client-id", MATCH_DEFAULT, None)], true, &s).unwrap();
        assert_eq!(names(&r), vec!["client-id=<default>"]);
        assert_eq!(r[0].values.len(), 1);
        // empty filter, not strict: everything with quotas
        assert_eq!(describe_client_quotas(&[], false, &s).unwrap().len(), 5);
        // empty filter, strict: nothing
        assert!(describe_client_quotas(&[], true, &s).unwrap().is_empty());
        // ip filter: no ip quotas kept
        assert!(describe_client_quotas(&[comp("ip", MATCH_ANY, None)], true, &s).unwrap().is_empty());
    }

    #[test]
    fn bad_filters() {
        let s = all();
        let err = |c: &[ComponentData]| describe_client_quotas(c, true, &s).unwrap_err();
        assert_eq!(err(&[comp("user", 3, None)]), (error::UNKNOWN_SERVER_ERROR, "Unexpected match type: 3".into()));
        assert_eq!(err(&[comp("user", 2, None), comp("user", 1, None)]), (error::INVALID_REQUEST, "Duplicate user filter component entity type".into()));
        assert_eq!(err(&[comp("", 2, None)]).0, error::INVALID_REQUEST);
        assert_eq!(err(&[comp("group", 2, None)]), (error::UNSUPPORTED_VERSION, "Custom entity type 'group' not supported".into()));
        assert_eq!(err(&[comp("user", 2, None), comp("ip", 2, None)]).0, error::INVALID_REQUEST);
        let bad = vec![stored(some("x"), None, &[("producer_byte_rate", "fast")])];
        assert_eq!(describe_client_quotas(&[], false, &bad).unwrap_err().0, error::UNKNOWN_SERVER_ERROR);
    }
}
