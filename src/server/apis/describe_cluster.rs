//! DescribeCluster handler (KIP-700's API, v0-1): cluster id, controller, the
//! brokers of the caller's listener and, on request, KIP-430's authorized
//! operations on the cluster. Maps to `KafkaApis.handleDescribeCluster`; v1
//! (KIP-919) may ask for controller endpoints, which a ZooKeeper-era broker
//! answers MISMATCHED_ENDPOINT_TYPE as Kafka's brokers do.

use crate::protocol::error;
use crate::protocol::messages::describe_cluster::{
    DescribeClusterBroker, DescribeClusterRequest, DescribeClusterResponse, ENDPOINT_TYPE_BROKER,
};
use crate::security::authorizer::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::server::kafka_apis::{KafkaApis, RequestContext};

impl KafkaApis {
    pub(crate) async fn handle_describe_cluster(&self, ctx: &RequestContext, req: DescribeClusterRequest) -> DescribeClusterResponse {
        if req.endpoint_type != ENDPOINT_TYPE_BROKER {
            return DescribeClusterResponse {
                error_code: error::MISMATCHED_ENDPOINT_TYPE,
                error_message: Some(format!(
                    "this is a broker endpoint (EndpointType 1); EndpointType {} is not served here",
                    req.endpoint_type
                )),
                ..Default::default()
            };
        }
        let cluster_authorized_operations = if !req.include_cluster_authorized_operations {
            i32::MIN
        } else if self.authorize_cluster(ctx, AclOperation::Describe) {
            self.authorized_operations(ctx, ResourceType::Cluster, CLUSTER_NAME)
        } else {
            0
        };
        let listener = ctx.session.listener_name.as_str();
        let brokers = self
            .metadata_cache
            .alive_brokers()
            .into_iter()
            .filter_map(|b| {
                let ep = b.endpoint(listener)?;
                Some(DescribeClusterBroker { broker_id: b.id, host: ep.host.clone(), port: ep.port, rack: b.rack.clone() })
            })
            .collect();
        DescribeClusterResponse {
            cluster_id: self.cluster_id.clone(),
            controller_id: self.metadata_cache.controller_id().unwrap_or(-1),
            brokers,
            cluster_authorized_operations,
            ..Default::default()
        }
    }
}
