//! Request dispatch: decodes each request's header and body, calls the handler
//! for its API (one file per API under `apis/`), and encodes the response.
//! Maps to Kafka's `kafka.server.KafkaApis` plus the request parsing of
//! `RequestChannel`/`RequestContext`.
//!
//! What Kafka does with requests it cannot serve, we do too: an ApiVersions
//! version we do not know gets a v0 body with UNSUPPORTED_VERSION listing the
//! ApiVersions range; any other unknown API key, unsupported version or
//! unparsable body closes the connection.

use crate::config::KafkaConfig;
use crate::coordinator::GroupCoordinator;
use crate::protocol::{
    api_key::supported_versions, encode_response_frame, error, ApiKey, Message, Reader, RequestHeader,
};
use crate::server::metadata_cache::MetadataCache;
use crate::server::replica_manager::ReplicaManager;
use crate::zk::KafkaZkClient;
use bytes::Bytes;
use std::net::SocketAddr;
use std::sync::Arc;

/// What the connection should do after a request.
pub enum RequestOutcome {
    /// Write this response frame.
    Respond(Bytes),
    /// Nothing to send (Produce with acks=0).
    NoResponse,
    /// Close the connection, logging why.
    Close(String),
}

/// The parsed header and where the request came from.
pub struct RequestContext {
    pub header: RequestHeader,
    pub api_key: ApiKey,
    pub api_version: i16,
    pub peer: SocketAddr,
}

impl RequestContext {
    pub fn client_id(&self) -> &str {
        self.header.client_id.as_deref().unwrap_or("")
    }
}

pub struct KafkaApis {
    pub config: Arc<KafkaConfig>,
    pub broker_id: i32,
    pub cluster_id: String,
    pub replica_manager: Arc<ReplicaManager>,
    pub metadata_cache: Arc<MetadataCache>,
    pub zk: KafkaZkClient,
    pub group_coordinator: Arc<GroupCoordinator>,
    pub producer_id_manager: Arc<crate::server::producer_id_manager::ProducerIdManager>,
    /// This broker's controller, set once it has started (after the socket server).
    pub controller: std::sync::OnceLock<crate::controller::KafkaController>,
    /// The live broker configuration (server.properties + dynamic configs).
    pub dynamic_config: Arc<crate::server::dynamic_broker_config::DynamicBrokerConfig>,
}

/// Decodes the body as `$req`, runs `$handler`, and encodes its response.
macro_rules! dispatch {
    ($self:ident, $ctx:ident, $r:ident, $req:ty, $handler:ident) => {{
        match <$req>::decode(&mut $r, $ctx.api_version) {
            Ok(req) => {
                let resp = $self.$handler(&$ctx, req).await;
                encode(&$ctx, &resp)
            }
            Err(e) => RequestOutcome::Close(format!(
                "cannot parse {:?} v{} request from client {:?}: {e}",
                $ctx.api_key,
                $ctx.api_version,
                $ctx.client_id()
            )),
        }
    }};
}

fn encode<M: Message>(ctx: &RequestContext, resp: &M) -> RequestOutcome {
    match encode_response_frame(ctx.header.correlation_id, ctx.api_version, resp) {
        Ok(b) => RequestOutcome::Respond(b),
        Err(e) => RequestOutcome::Close(format!("cannot encode {:?} v{} response: {e}", ctx.api_key, ctx.api_version)),
    }
}

impl KafkaApis {
    /// Handles one request frame (without its size prefix).
    pub async fn handle(&self, frame: Bytes, peer: SocketAddr) -> RequestOutcome {
        let mut r = Reader::new(frame);
        let header = match RequestHeader::decode(&mut r) {
            Ok(h) => h,
            Err(e) => return RequestOutcome::Close(format!("cannot parse request header: {e}")),
        };
        let Some(api_key) = ApiKey::from_i16(header.api_key) else {
            return RequestOutcome::Close(format!("unknown API key {}", header.api_key));
        };
        let api_version = header.api_version;
        let ctx = RequestContext { header, api_key, api_version, peer };
        let served = supported_versions(api_key).is_some_and(|(lo, hi)| api_version >= lo && api_version <= hi);
        if !served {
            if api_key == ApiKey::ApiVersions {
                return self.api_versions_unsupported(&ctx);
            }
            return RequestOutcome::Close(format!(
                "unsupported version {api_version} of {api_key:?} from client {:?}",
                ctx.client_id()
            ));
        }
        log::trace!("{:?} v{} from {} ({:?})", api_key, api_version, peer, ctx.client_id());
        use crate::protocol::messages::*;
        match api_key {
            ApiKey::ApiVersions => dispatch!(self, ctx, r, api_versions::ApiVersionsRequest, handle_api_versions),
            ApiKey::Metadata => dispatch!(self, ctx, r, metadata::MetadataRequest, handle_metadata),
            ApiKey::Produce => match produce::ProduceRequest::decode(&mut r, api_version) {
                Ok(req) => match self.handle_produce(&ctx, req).await {
                    Ok(Some(resp)) => encode(&ctx, &resp),
                    Ok(None) => RequestOutcome::NoResponse,
                    Err(reason) => RequestOutcome::Close(reason),
                },
                Err(e) => RequestOutcome::Close(format!("cannot parse Produce v{api_version} request: {e}")),
            },
            ApiKey::Fetch => dispatch!(self, ctx, r, fetch::FetchRequest, handle_fetch),
            ApiKey::ListOffsets => dispatch!(self, ctx, r, list_offsets::ListOffsetsRequest, handle_list_offsets),
            ApiKey::CreateTopics => dispatch!(self, ctx, r, create_topics::CreateTopicsRequest, handle_create_topics),
            ApiKey::DeleteTopics => dispatch!(self, ctx, r, delete_topics::DeleteTopicsRequest, handle_delete_topics),
            ApiKey::DeleteRecords => dispatch!(self, ctx, r, delete_records::DeleteRecordsRequest, handle_delete_records),
            ApiKey::CreatePartitions => {
                dispatch!(self, ctx, r, create_partitions::CreatePartitionsRequest, handle_create_partitions)
            }
            ApiKey::LeaderAndIsr => dispatch!(self, ctx, r, leader_and_isr::LeaderAndIsrRequest, handle_leader_and_isr),
            ApiKey::UpdateMetadata => {
                dispatch!(self, ctx, r, update_metadata::UpdateMetadataRequest, handle_update_metadata)
            }
            ApiKey::StopReplica => dispatch!(self, ctx, r, stop_replica::StopReplicaRequest, handle_stop_replica),
            ApiKey::FindCoordinator => {
                dispatch!(self, ctx, r, find_coordinator::FindCoordinatorRequest, handle_find_coordinator)
            }
            ApiKey::JoinGroup => dispatch!(self, ctx, r, join_group::JoinGroupRequest, handle_join_group),
            ApiKey::SyncGroup => dispatch!(self, ctx, r, sync_group::SyncGroupRequest, handle_sync_group),
            ApiKey::Heartbeat => dispatch!(self, ctx, r, heartbeat::HeartbeatRequest, handle_heartbeat),
            ApiKey::LeaveGroup => dispatch!(self, ctx, r, leave_group::LeaveGroupRequest, handle_leave_group),
            ApiKey::OffsetCommit => dispatch!(self, ctx, r, offset_commit::OffsetCommitRequest, handle_offset_commit),
            ApiKey::OffsetFetch => dispatch!(self, ctx, r, offset_fetch::OffsetFetchRequest, handle_offset_fetch),
            ApiKey::ListGroups => dispatch!(self, ctx, r, list_groups::ListGroupsRequest, handle_list_groups),
            ApiKey::DescribeGroups => dispatch!(self, ctx, r, describe_groups::DescribeGroupsRequest, handle_describe_groups),
            ApiKey::DeleteGroups => dispatch!(self, ctx, r, delete_groups::DeleteGroupsRequest, handle_delete_groups),
            ApiKey::OffsetDelete => dispatch!(self, ctx, r, offset_delete::OffsetDeleteRequest, handle_offset_delete),
            ApiKey::OffsetForLeaderEpoch => dispatch!(
                self,
                ctx,
                r,
                offset_for_leader_epoch::OffsetForLeaderEpochRequest,
                handle_offset_for_leader_epoch
            ),
            ApiKey::InitProducerId => dispatch!(self, ctx, r, init_producer_id::InitProducerIdRequest, handle_init_producer_id),
            ApiKey::DescribeConfigs => dispatch!(self, ctx, r, describe_configs::DescribeConfigsRequest, handle_describe_configs),
            ApiKey::AlterConfigs => dispatch!(self, ctx, r, alter_configs::AlterConfigsRequest, handle_alter_configs),
            ApiKey::IncrementalAlterConfigs => dispatch!(
                self,
                ctx,
                r,
                incremental_alter_configs::IncrementalAlterConfigsRequest,
                handle_incremental_alter_configs
            ),
            ApiKey::DescribeLogDirs => dispatch!(self, ctx, r, describe_log_dirs::DescribeLogDirsRequest, handle_describe_log_dirs),
            ApiKey::AlterReplicaLogDirs => {
                dispatch!(self, ctx, r, alter_replica_log_dirs::AlterReplicaLogDirsRequest, handle_alter_replica_log_dirs)
            }
            ApiKey::ElectLeaders => dispatch!(self, ctx, r, elect_leaders::ElectLeadersRequest, handle_elect_leaders),
            ApiKey::AlterPartitionReassignments => dispatch!(
                self,
                ctx,
                r,
                alter_partition_reassignments::AlterPartitionReassignmentsRequest,
                handle_alter_partition_reassignments
            ),
            ApiKey::ListPartitionReassignments => dispatch!(
                self,
                ctx,
                r,
                list_partition_reassignments::ListPartitionReassignmentsRequest,
                handle_list_partition_reassignments
            ),
            ApiKey::ControlledShutdown => {
                dispatch!(self, ctx, r, controlled_shutdown::ControlledShutdownRequest, handle_controlled_shutdown)
            }
            other => RequestOutcome::Close(format!("API {other:?} is not served")),
        }
    }

    /// The answer to an ApiVersions version we do not know: a v0 body with
    /// UNSUPPORTED_VERSION and only the ApiVersions range, so the client can
    /// retry with a version we share.
    fn api_versions_unsupported(&self, ctx: &RequestContext) -> RequestOutcome {
        use crate::protocol::messages::api_versions::{ApiVersion, ApiVersionsResponse};
        let (lo, hi) = supported_versions(ApiKey::ApiVersions).unwrap_or((0, 3));
        let resp = ApiVersionsResponse {
            error_code: error::UNSUPPORTED_VERSION,
            api_keys: vec![ApiVersion {
                api_key: ApiKey::ApiVersions.id(),
                min_version: lo,
                max_version: hi,
                ..Default::default()
            }],
            ..Default::default()
        };
        match encode_response_frame(ctx.header.correlation_id, 0, &resp) {
            Ok(b) => RequestOutcome::Respond(b),
            Err(e) => RequestOutcome::Close(format!("cannot encode ApiVersions response: {e}")),
        }
    }
}
