//! Metadata handler: brokers, controller and topic/partition state from the
//! MetadataCache, with auto-creation of unknown topics when the request and
//! `auto.create.topics.enable` allow it. Maps to `KafkaApis.handleTopicMetadataRequest`.

use crate::security::authorizer::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::protocol::error;
use crate::protocol::messages::metadata::{
    MetadataRequest, MetadataResponse, MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use crate::zk::AdminZkClient;

/// Internal topics Kafka flags as such in Metadata.
pub fn is_internal_topic(name: &str) -> bool {
    name == "__consumer_offsets" || name == "__transaction_state"
}

impl KafkaApis {
    pub(crate) async fn handle_metadata(&self, ctx: &RequestContext, req: MetadataRequest) -> MetadataResponse {
        let cache = &self.metadata_cache;
        let listener = "PLAINTEXT";
        let brokers = cache
            .alive_brokers()
            .into_iter()
            .filter_map(|b| {
                let ep = b.endpoint(listener)?;
                Some(MetadataResponseBroker {
                    node_id: b.id,
                    host: ep.host.clone(),
                    port: ep.port,
                    rack: b.rack.clone(),
                    ..Default::default()
                })
            })
            .collect();

        // v0: an empty list means all topics; v1+: null means all topics.
        let requested: Option<Vec<String>> = match req.topics {
            None => None,
            Some(ref ts) if ts.is_empty() && ctx.api_version == 0 => None,
            Some(ts) => Some(ts.into_iter().filter_map(|t| t.name).collect()),
        };
        let allow_auto_create = ctx.api_version < 4 || req.allow_auto_topic_creation;
        let all_topics = requested.is_none();
        let names = match requested {
            None => cache.topic_names(),
            Some(names) => names,
        };
        // Kafka's authorization: topics the principal may not Describe are
        // left out of an all-topics answer and refused by name otherwise;
        // auto-creating one needs Create on the cluster or on the topic.
        let describable = self.filter_authorized(ctx, AclOperation::Describe, ResourceType::Topic, names.iter().map(String::as_str));
        let may_create_any = || self.authorize_cluster(ctx, AclOperation::Create);
        let mut topics = Vec::with_capacity(names.len());
        for name in names {
            if !describable.contains(&name) {
                if !all_topics {
                    topics.push(MetadataResponseTopic {
                        name,
                        error_code: error::TOPIC_AUTHORIZATION_FAILED,
                        topic_authorized_operations: i32::MIN,
                        ..Default::default()
                    });
                }
                continue;
            }
            let mut topic = MetadataResponseTopic {
                name: name.clone(),
                is_internal: is_internal_topic(&name),
                topic_id: cache.topic_id(&name),
                topic_authorized_operations: i32::MIN,
                ..Default::default()
            };
            if ctx.api_version >= 8 && req.include_topic_authorized_operations {
                topic.topic_authorized_operations = self.authorized_operations(ctx, ResourceType::Topic, &name);
            }
            match cache.partitions(&name) {
                Some(parts) => {
                    topic.partitions = parts
                        .into_iter()
                        .map(|(p, st)| {
                            let leader_alive = st.leader >= 0 && cache.broker(st.leader).is_some();
                            MetadataResponsePartition {
                                error_code: if leader_alive { error::NONE } else { error::LEADER_NOT_AVAILABLE },
                                partition_index: p,
                                leader_id: if leader_alive { st.leader } else { -1 },
                                leader_epoch: st.leader_epoch,
                                replica_nodes: st.replicas,
                                isr_nodes: st.isr,
                                offline_replicas: st.offline_replicas,
                                ..Default::default()
                            }
                        })
                        .collect();
                }
                None if allow_auto_create
                    && self.config.auto_create_topics_enable
                    && !may_create_any()
                    && !self.authorize(ctx, AclOperation::Create, ResourceType::Topic, &name) =>
                {
                    topic.error_code = error::TOPIC_AUTHORIZATION_FAILED;
                    topic.topic_authorized_operations = i32::MIN;
                }
                None => {
                    topic.error_code = self.auto_create_topic(&name, allow_auto_create).await;
                }
            }
            topics.push(topic);
        }
        MetadataResponse {
            throttle_time_ms: 0,
            brokers,
            cluster_id: Some(self.cluster_id.clone()),
            controller_id: cache.controller_id().unwrap_or(-1),
            topics,
            cluster_authorized_operations: if (8..=10).contains(&ctx.api_version) && req.include_cluster_authorized_operations {
                if self.authorize_cluster(ctx, AclOperation::Describe) {
                    self.authorized_operations(ctx, ResourceType::Cluster, CLUSTER_NAME)
                } else {
                    0
                }
            } else {
                i32::MIN
            },
            ..Default::default()
        }
    }

    /// Creates an unknown topic if allowed; returns the error code to report
    /// for it in this response (LEADER_NOT_AVAILABLE while it is being created).
    async fn auto_create_topic(&self, name: &str, allowed: bool) -> i16 {
        if let Err(e) = crate::zk::admin_zk_client::validate_topic_name(name) {
            log::debug!("metadata for invalid topic name {name:?}: {e}");
            return error::INVALID_TOPIC_EXCEPTION;
        }
        if !allowed || !self.config.auto_create_topics_enable || is_internal_topic(name) {
            return error::UNKNOWN_TOPIC_OR_PARTITION;
        }
        let admin = AdminZkClient::new(self.zk.clone());
        match admin
            .create_topic(name, self.config.num_partitions, self.config.default_replication_factor as i32, &Default::default(), None)
            .await
        {
            Ok(_) => {
                log::info!("auto-created topic {name}");
                error::LEADER_NOT_AVAILABLE
            }
            Err(e) if e.error_code() == error::TOPIC_ALREADY_EXISTS => error::LEADER_NOT_AVAILABLE,
            Err(e) => {
                log::warn!("auto-creation of topic {name} failed: {e}");
                e.error_code()
            }
        }
    }
}
