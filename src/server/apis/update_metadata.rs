//! UpdateMetadata handler: the controller's announcement of live brokers and
//! partition states, applied to the MetadataCache. Maps to
//! `KafkaApis.handleUpdateMetadataRequest`.

use crate::protocol::error;
use crate::protocol::messages::update_metadata::{UpdateMetadataRequest, UpdateMetadataResponse};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use crate::server::metadata_cache::{BrokerEndpoint, CachedBroker, CachedPartition};

impl KafkaApis {
    pub(crate) async fn handle_update_metadata(
        &self,
        ctx: &RequestContext,
        req: UpdateMetadataRequest,
    ) -> UpdateMetadataResponse {
        if !self.authorize_cluster(ctx, crate::security::authorizer::AclOperation::ClusterAction) {
            return UpdateMetadataResponse { error_code: error::CLUSTER_AUTHORIZATION_FAILED, ..Default::default() };
        }
        let rm = &self.replica_manager;
        if rm.is_stale_broker_epoch(req.broker_epoch) {
            return UpdateMetadataResponse { error_code: error::STALE_BROKER_EPOCH, ..Default::default() };
        }
        if !rm.check_controller_epoch(req.controller_epoch) {
            return UpdateMetadataResponse { error_code: error::STALE_CONTROLLER_EPOCH, ..Default::default() };
        }
        let brokers = req
            .live_brokers
            .iter()
            .map(|b| CachedBroker {
                id: b.id,
                endpoints: if ctx.api_version == 0 {
                    vec![BrokerEndpoint {
                        listener_name: "PLAINTEXT".into(),
                        host: b.v0_host.clone(),
                        port: b.v0_port,
                        security_protocol: 0,
                    }]
                } else {
                    b.endpoints
                        .iter()
                        .map(|e| BrokerEndpoint {
                            listener_name: if e.listener.is_empty() { "PLAINTEXT".into() } else { e.listener.clone() },
                            host: e.host.clone(),
                            port: e.port,
                            security_protocol: e.security_protocol,
                        })
                        .collect()
                },
                rack: b.rack.clone(),
            })
            .collect();
        let partitions = req
            .partition_states()
            .map(|p| {
                (
                    p.topic_name.clone(),
                    p.partition_index,
                    CachedPartition {
                        controller_epoch: p.controller_epoch,
                        leader: p.leader,
                        leader_epoch: p.leader_epoch,
                        isr: p.isr.clone(),
                        zk_version: p.zk_version,
                        replicas: p.replicas.clone(),
                        offline_replicas: p.offline_replicas.clone(),
                    },
                )
            })
            .collect();
        let topic_ids = req.topic_states.iter().map(|t| (t.topic_name.clone(), t.topic_id)).collect();
        self.metadata_cache.update(req.controller_id, brokers, partitions, topic_ids);
        UpdateMetadataResponse { error_code: error::NONE, ..Default::default() }
    }
}
