//! DescribeCluster handler (KIP-700's API, v0): cluster id, controller, the
//! brokers of the caller's listener and, on request, KIP-430's authorized
//! operations on the cluster. Maps to `KafkaApis.handleDescribeCluster`.

use crate::protocol::messages::describe_cluster::{DescribeClusterBroker, DescribeClusterRequest, DescribeClusterResponse};
use crate::security::authorizer::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::server::kafka_apis::{KafkaApis, RequestContext};

impl KafkaApis {
    pub(crate) async fn handle_describe_cluster(&self, ctx: &RequestContext, req: DescribeClusterRequest) -> DescribeClusterResponse {
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
