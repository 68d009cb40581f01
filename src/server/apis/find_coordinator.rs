//! FindCoordinator handler: a group's coordinator is the leader of its
//! `__consumer_offsets` partition, a transactional id's (key type 1) the
//! leader of its `__transaction_state` partition. Each internal topic is
//! created on first use with its replication factor
//! (`offsets.topic.replication.factor`, `transaction.state.log.replication.factor`)
//! capped by the number of live brokers (so a default configuration works on
//! a small cluster). Maps to `KafkaApis.handleFindCoordinatorRequest` /
//! `createGroupMetadataTopic` / `createTransactionStateTopic`.

use crate::coordinator::GROUP_METADATA_TOPIC_NAME;
use crate::protocol::error;
use crate::coordinator::transaction::TRANSACTION_STATE_TOPIC_NAME;
use crate::protocol::messages::find_coordinator::{FindCoordinatorRequest, FindCoordinatorResponse, KEY_TYPE_GROUP, KEY_TYPE_TRANSACTION};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use crate::zk::AdminZkClient;
use std::collections::BTreeMap;

impl KafkaApis {
    pub(crate) async fn handle_find_coordinator(&self, _ctx: &RequestContext, req: FindCoordinatorRequest) -> FindCoordinatorResponse {
        let fail = |code, msg: &str| FindCoordinatorResponse {
            error_code: code,
            error_message: Some(msg.to_string()),
            node_id: -1,
            host: String::new(),
            port: -1,
            ..Default::default()
        };
        let (topic, partition) = match req.key_type {
            KEY_TYPE_GROUP => {
                // Authorization: Group Describe on req.key goes here.
                if req.key.is_empty() {
                    return fail(error::INVALID_REQUEST, "The group id must not be empty.");
                }
                (GROUP_METADATA_TOPIC_NAME, self.group_coordinator.partition_for(&req.key))
            }
            KEY_TYPE_TRANSACTION => {
                // Authorization: TransactionalId Describe on req.key goes here.
                if req.key.is_empty() {
                    return fail(error::INVALID_REQUEST, "The transactional id must not be empty.");
                }
                (TRANSACTION_STATE_TOPIC_NAME, self.txn_coordinator.partition_for(&req.key))
            }
            _ => return fail(error::INVALID_REQUEST, "Unknown coordinator key type."),
        };
        if !self.metadata_cache.contains_topic(topic) {
            if topic == GROUP_METADATA_TOPIC_NAME {
                self.create_group_metadata_topic().await;
            } else {
                self.create_transaction_state_topic().await;
            }
            return fail(error::COORDINATOR_NOT_AVAILABLE, "The coordinator is not available.");
        }
        let Some(state) = self.metadata_cache.partition(topic, partition) else {
            return fail(error::COORDINATOR_NOT_AVAILABLE, "The coordinator is not available.");
        };
        let endpoint = self.metadata_cache.broker(state.leader).and_then(|b| b.endpoint("PLAINTEXT").cloned());
        match endpoint {
            Some(ep) if state.leader >= 0 => FindCoordinatorResponse {
                error_code: error::NONE,
                error_message: None,
                node_id: state.leader,
                host: ep.host,
                port: ep.port,
                ..Default::default()
            },
            _ => fail(error::COORDINATOR_NOT_AVAILABLE, "The coordinator is not available."),
        }
    }

    async fn create_group_metadata_topic(&self) {
        let cfg = &self.group_coordinator.offset_config;
        let alive = self.metadata_cache.alive_brokers().len();
        let configured = cfg.offsets_topic_replication_factor as usize;
        if alive == 0 {
            return;
        }
        let rf = configured.min(alive);
        if rf < configured {
            log::warn!(
                "Only {alive} live brokers: creating the offsets topic with replication factor {rf} instead of the \
                 configured {configured} (offsets.topic.replication.factor)"
            );
        }
        let mut configs = BTreeMap::new();
        configs.insert("cleanup.policy".to_string(), "compact".to_string());
        configs.insert("compression.type".to_string(), "producer".to_string());
        configs.insert("segment.bytes".to_string(), cfg.offsets_topic_segment_bytes.to_string());
        let admin = AdminZkClient::new(self.zk.clone());
        match admin.create_topic(GROUP_METADATA_TOPIC_NAME, cfg.offsets_topic_num_partitions, rf as i32, &configs, None).await {
            Ok(_) => log::info!("created {GROUP_METADATA_TOPIC_NAME} with {} partitions, replication factor {rf}", cfg.offsets_topic_num_partitions),
            Err(e) if e.error_code() == error::TOPIC_ALREADY_EXISTS => {}
            Err(e) => log::warn!("cannot create {GROUP_METADATA_TOPIC_NAME}: {e}"),
        }
    }

    async fn create_transaction_state_topic(&self) {
        let cfg = &self.txn_coordinator.config;
        let alive = self.metadata_cache.alive_brokers().len();
        let configured = cfg.transaction_log_replication_factor as usize;
        if alive == 0 {
            return;
        }
        let rf = configured.min(alive);
        if rf < configured {
            log::warn!(
                "Only {alive} live brokers: creating {TRANSACTION_STATE_TOPIC_NAME} with replication factor {rf} instead of the \
                 configured {configured} (transaction.state.log.replication.factor)"
            );
        }
        let mut configs = BTreeMap::new();
        configs.insert("cleanup.policy".to_string(), "compact".to_string());
        configs.insert("compression.type".to_string(), "uncompressed".to_string());
        configs.insert("min.insync.replicas".to_string(), cfg.transaction_log_min_isr.to_string());
        configs.insert("segment.bytes".to_string(), cfg.transaction_log_segment_bytes.to_string());
        configs.insert("unclean.leader.election.enable".to_string(), "false".to_string());
        let admin = AdminZkClient::new(self.zk.clone());
        match admin.create_topic(TRANSACTION_STATE_TOPIC_NAME, cfg.transaction_log_num_partitions, rf as i32, &configs, None).await {
            Ok(_) => log::info!(
                "created {TRANSACTION_STATE_TOPIC_NAME} with {} partitions, replication factor {rf}",
                cfg.transaction_log_num_partitions
            ),
            Err(e) if e.error_code() == error::TOPIC_ALREADY_EXISTS => {}
            Err(e) => log::warn!("cannot create {TRANSACTION_STATE_TOPIC_NAME}: {e}"),
        }
    }
}
