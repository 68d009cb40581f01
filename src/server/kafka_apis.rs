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
use crate::log::file_records::FileRecords;
use crate::protocol::{
    api_key::supported_versions, encode_response_frame, error, ApiKey, Message, Reader, RequestHeader, ResponseHeader,
    Writer,
};
use crate::server::metadata_cache::MetadataCache;
use crate::server::replica_manager::ReplicaManager;
use crate::zk::KafkaZkClient;
use bytes::Bytes;
use crate::server::client_quota_manager::ClientQuotaManagers;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the connection should do after a request.
pub enum RequestOutcome {
    /// Write this response frame.
    Respond(Bytes),
    /// Write this response frame, made of bytes and segment-file slices in
    /// order (a fetch response whose records go out with `sendfile`).
    RespondParts(Vec<ResponsePart>),
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
    /// The connection's principal and listener (Kafka's `RequestContext.principal`, `listenerName`).
    pub session: Arc<crate::security::Session>,
    /// The request's size in bytes (header and body), as Kafka's `request.sizeInBytes`.
    pub size: usize,
    /// The throttle a Produce or Fetch handler decided (client quotas); the
    /// connection is muted this long after the response.
    pub throttle_ms: std::sync::atomic::AtomicI64,
    /// Set by a Produce handler once its appends are done and it waits for
    /// the ISR: the connection may then read and append its next Produce
    /// (`socket_server`'s pipelined produce). `None`: not pipelined.
    pub appended: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl RequestContext {
    pub fn client_id(&self) -> &str {
        self.header.client_id.as_deref().unwrap_or("")
    }

    /// The principal's name, the `user` of client quotas (`ANONYMOUS` when
    /// the connection is not authenticated).
    pub fn user(&self) -> &str {
        &self.session.principal.name
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
    pub txn_coordinator: Arc<crate::coordinator::transaction::TransactionCoordinator>,
    /// This broker's controller, set once it has started (after the socket server).
    pub controller: std::sync::OnceLock<crate::controller::KafkaController>,
    /// The live broker configuration (server.properties + dynamic configs).
    pub dynamic_config: Arc<crate::server::dynamic_broker_config::DynamicBrokerConfig>,
    /// Client quotas (produce, fetch, request), fed by the DynamicConfigManager.
    pub quotas: Arc<ClientQuotaManagers>,
    /// The ACL authorizer when `authorizer.class.name` names it (set at start-up).
    pub authorizer: std::sync::OnceLock<Arc<crate::security::authorizer::AclAuthorizer>>,
}

/// Runs `f` and measures the time spent inside its `poll` calls: the time a
/// request handler really worked, without its waits (purgatory, ZooKeeper),
/// like Kafka's `requestThreadTimeNanos`.
pub async fn timed<F: std::future::Future>(f: F) -> (F::Output, Duration) {
    let mut fut = std::pin::pin!(f);
    let mut busy = Duration::ZERO;
    let out = std::future::poll_fn(|cx| {
        let start = Instant::now();
        let r = fut.as_mut().poll(cx);
        busy += start.elapsed();
        r
    })
    .await;
    (out, busy)
}

/// Kafka's `ClientRequestQuotaManager.NanosToPercentagePerSecond`: handler
/// time as a percentage of one thread over a second.
fn time_to_percentage(busy: Duration) -> f64 {
    busy.as_nanos() as f64 * 100.0 / 1e9
}

/// A response frame with `throttle_time_ms` set to `ms`, for the APIs whose
/// body starts with it at this version (KIP-219: every response of a
/// throttled client says how long it is throttled); others are unchanged.
/// Our response headers carry no tagged fields, so the body starts right
/// after the size, the correlation id and (flexible headers) one empty
/// tagged-field byte.
pub fn with_throttle_time(frame: &Bytes, api_key: ApiKey, version: i16, ms: i64) -> Bytes {
    let Some(since) = api_key.throttle_time_first_since() else { return frame.clone() };
    if version < since {
        return frame.clone();
    }
    let at = 8 + usize::from(api_key.response_header_version(version) >= 1);
    if frame.len() < at + 4 {
        return frame.clone();
    }
    let mut b = bytes::BytesMut::from(&frame[..]);
    let current = i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as i64;
    let value = ms.max(current).clamp(0, i32::MAX as i64) as i32;
    b[at..at + 4].copy_from_slice(&value.to_be_bytes());
    b.freeze()
}

/// Requests exempt from the request quota: the inter-broker ones (Kafka's
/// `clusterAction` APIs).
fn exempt_from_request_quota(api_key: ApiKey) -> bool {
    matches!(
        api_key,
        ApiKey::LeaderAndIsr | ApiKey::StopReplica | ApiKey::UpdateMetadata | ApiKey::ControlledShutdown | ApiKey::AlterIsr
    )
}

/// Decodes the body as `$req`, runs `$handler`, and encodes its response.
macro_rules! dispatch {
    ($self:ident, $ctx:ident, $r:ident, $req:ty, $handler:ident) => {{
        match <$req>::decode(&mut $r, $ctx.api_version) {
            Ok(req) => {
                let resp = $self.$handler($ctx, req).await;
                encode($ctx, &resp)
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

/// A piece of a response frame.
pub enum ResponsePart {
    Bytes(Bytes),
    File(FileRecords),
}

impl ResponsePart {
    /// Bytes this part puts on the wire.
    pub fn len(&self) -> usize {
        match self {
            ResponsePart::Bytes(b) => b.len(),
            ResponsePart::File(f) => f.len,
        }
    }
}

/// A Fetch response frame: records held as file slices are left out of the
/// encoded bytes (only their length prefixes are there) and follow as
/// `ResponsePart::File` at their place.
fn encode_fetch(ctx: &RequestContext, resp: &crate::protocol::messages::fetch::FetchResponse, mut files: Vec<Option<FileRecords>>) -> RequestOutcome {
    if files.iter().all(Option::is_none) {
        return encode(ctx, resp);
    }
    let fail = |e: String| RequestOutcome::Close(format!("cannot encode Fetch v{} response: {e}", ctx.api_version));
    let mut w = Writer::new();
    w.i32(0); // size, patched below
    ResponseHeader::new(ctx.header.correlation_id).encode(&mut w, ApiKey::Fetch.response_header_version(ctx.api_version));
    let mut holes = Vec::new();
    let lens: Vec<Option<usize>> = files.iter().map(|f| f.as_ref().map(|f| f.len)).collect();
    if let Err(e) = resp.encode_with_external_records(&mut w, ctx.api_version, &mut |i| lens.get(i).copied().flatten(), &mut holes) {
        return fail(e.to_string());
    }
    let mut buf = w.into_inner();
    let external: usize = holes.iter().filter_map(|(_, i)| lens[*i]).sum();
    let Ok(size) = i32::try_from(buf.len() - 4 + external) else {
        return fail("larger than 2 GiB".to_string());
    };
    buf[..4].copy_from_slice(&size.to_be_bytes());
    let buf = buf.freeze();
    let mut parts = Vec::with_capacity(2 * holes.len() + 1);
    let mut done = 0;
    for (pos, i) in holes {
        let Some(file) = files.get_mut(i).and_then(Option::take) else {
            return fail(format!("no file records for partition response {i}"));
        };
        parts.push(ResponsePart::Bytes(buf.slice(done..pos)));
        parts.push(ResponsePart::File(file));
        done = pos;
    }
    parts.push(ResponsePart::Bytes(buf.slice(done..)));
    RequestOutcome::RespondParts(parts)
}

fn encode<M: Message>(ctx: &RequestContext, resp: &M) -> RequestOutcome {
    match encode_response_frame(ctx.header.correlation_id, ctx.api_version, resp) {
        Ok(b) => RequestOutcome::Respond(b),
        Err(e) => RequestOutcome::Close(format!("cannot encode {:?} v{} response: {e}", ctx.api_key, ctx.api_version)),
    }
}

impl KafkaApis {
    /// Handles one request frame (without its size prefix). Returns what to
    /// send and how long (ms) to mute the connection afterwards: a client
    /// over its quota gets its response at once with `throttle_time_ms`, and
    /// no further request of it is read until that time has passed (KIP-219,
    /// Kafka's `SocketServer` muting a throttled channel).
    pub async fn handle(&self, frame: Bytes, session: &Arc<crate::security::Session>) -> (RequestOutcome, i64) {
        let (outcome, mute_ms, timer) = self.handle_timed(frame, session, Instant::now(), None).await;
        if let Some(t) = timer {
            t.sent(Instant::now());
        }
        (outcome, mute_ms)
    }

    /// As `handle`, recording the request's metrics (`RequestChannel.Metrics`):
    /// `received` is when its frame was fully read; the connection calls
    /// `RequestTimer::sent` once the response is written. `appended`: see
    /// `RequestContext::appended`.
    pub async fn handle_timed(
        &self,
        frame: Bytes,
        session: &Arc<crate::security::Session>,
        received: Instant,
        appended: Option<Arc<std::sync::atomic::AtomicBool>>,
    ) -> (RequestOutcome, i64, Option<crate::server::metrics::request_metrics::RequestTimer>) {
        let (outcome, mute_ms, metrics) = self.handle_inner(frame, session, appended).await;
        let timer = metrics.map(|(m, version, size, dispatched, busy)| {
            let response_size = match &outcome {
                RequestOutcome::Respond(b) => b.len(),
                RequestOutcome::RespondParts(parts) => parts.iter().map(ResponsePart::len).sum(),
                _ => 0,
            };
            m.response_bytes.record(response_size as u64);
            crate::server::metrics::request_metrics::RequestTimer::answered(m, version, size, received, dispatched, busy, mute_ms)
        });
        (outcome, mute_ms, timer)
    }

    #[allow(clippy::type_complexity)]
    async fn handle_inner(
        &self,
        frame: Bytes,
        session: &Arc<crate::security::Session>,
        appended: Option<Arc<std::sync::atomic::AtomicBool>>,
    ) -> (RequestOutcome, i64, Option<(&'static crate::server::metrics::request_metrics::RequestMetrics, i16, usize, Instant, Duration)>) {
        let peer = session.peer;
        let size = frame.len();
        let mut r = Reader::new(frame);
        let header = match RequestHeader::decode(&mut r) {
            Ok(h) => h,
            Err(e) => return (RequestOutcome::Close(format!("cannot parse request header: {e}")), 0, None),
        };
        let Some(api_key) = ApiKey::from_i16(header.api_key) else {
            return (RequestOutcome::Close(format!("unknown API key {}", header.api_key)), 0, None);
        };
        let api_version = header.api_version;
        let ctx = RequestContext { header, api_key, api_version, peer, session: session.clone(), size, throttle_ms: Default::default(), appended };
        let metrics = crate::server::metrics::metrics().request_channel.for_request(api_key, r.rest());
        let dispatched = Instant::now();
        let (outcome, busy) = timed(self.dispatch(&ctx, r)).await;
        crate::server::metrics::metrics().socket_server.handler_busy(busy);
        let metrics = (!matches!(outcome, RequestOutcome::Close(_))).then_some((metrics, api_version, size, dispatched, busy));
        let mut throttle = ctx.throttle_ms.load(Ordering::Relaxed);
        // Produce and Fetch count their handler time themselves (it goes into
        // their throttle_time_ms); every other client request counts here.
        if !matches!(api_key, ApiKey::Produce | ApiKey::Fetch) && !exempt_from_request_quota(api_key) {
            let t = self.quotas.request.record_and_get_throttle_time_ms(
                ctx.user(),
                ctx.client_id(),
                time_to_percentage(busy),
                crate::common::now_ms(),
            );
            if t > 0 {
                if let RequestOutcome::Respond(bytes) = &outcome {
                    let patched = with_throttle_time(bytes, api_key, api_version, t);
                    return (RequestOutcome::Respond(patched), throttle.max(t), metrics);
                }
            }
            throttle = throttle.max(t);
        }
        (outcome, throttle, metrics)
    }

    /// Kafka's produce throttling (`handleProduceRequest`'s response
    /// callback): the request's bytes against `producer_byte_rate`, its
    /// handler time against `request_percentage` (not for acks=0); the larger
    /// throttle is answered and the connection muted for it.
    fn produce_throttle(&self, ctx: &RequestContext, acks: i16, busy: Duration) -> i64 {
        let now = crate::common::now_ms();
        let bandwidth = self.quotas.produce.record_and_get_throttle_time_ms(ctx.user(), ctx.client_id(), ctx.size as f64, now);
        let request = if acks == 0 {
            0
        } else {
            self.quotas.request.record_and_get_throttle_time_ms(ctx.user(), ctx.client_id(), time_to_percentage(busy), now)
        };
        let t = bandwidth.max(request).clamp(0, i32::MAX as i64);
        ctx.throttle_ms.store(t, Ordering::Relaxed);
        t
    }

    /// Kafka's consumer-fetch throttling (`handleFetchRequest`): a consumer
    /// fetches at most `consumer_byte_rate` x (quota.window.num - 1) windows
    /// at once; the response's size counts against the rate and the handler
    /// time against `request_percentage`. When throttled the bytes are taken
    /// back and the answer is an empty response carrying the throttle time.
    /// Followers' fetches are not counted.
    async fn fetch_with_quotas(&self, ctx: &RequestContext, mut req: crate::protocol::messages::fetch::FetchRequest) -> RequestOutcome {
        if req.replica_id >= 0 {
            let (resp, files) = self.handle_fetch(ctx, req).await;
            return encode_fetch(ctx, &resp, files);
        }
        let (user, client_id) = (ctx.user(), ctx.client_id());
        let window_max = self.quotas.fetch.max_value_in_quota_window(user, client_id);
        if window_max < i32::MAX as f64 {
            let cap = window_max.max(1.0) as i32;
            req.max_bytes = req.max_bytes.min(cap);
            req.min_bytes = req.min_bytes.min(req.max_bytes);
        }
        let ((resp, files), busy) = timed(self.handle_fetch(ctx, req)).await;
        let outcome = encode_fetch(ctx, &resp, files);
        let size = match &outcome {
            RequestOutcome::Respond(bytes) => bytes.len() as f64,
            RequestOutcome::RespondParts(parts) => parts.iter().map(ResponsePart::len).sum::<usize>() as f64,
            _ => return outcome,
        };
        let now = crate::common::now_ms();
        let request = self.quotas.request.record_and_get_throttle_time_ms(user, client_id, time_to_percentage(busy), now);
        let bandwidth = self.quotas.fetch.record_and_get_throttle_time_ms(user, client_id, size, now);
        let t = bandwidth.max(request).clamp(0, i32::MAX as i64);
        if t == 0 {
            return outcome;
        }
        self.quotas.fetch.unrecord(user, client_id, size, now);
        ctx.throttle_ms.store(t, Ordering::Relaxed);
        let empty = crate::protocol::messages::fetch::FetchResponse {
            throttle_time_ms: t as i32,
            error_code: error::NONE,
            session_id: 0,
            ..Default::default()
        };
        encode(ctx, &empty)
    }

    /// Decodes the body and runs the API's handler.
    async fn dispatch(&self, ctx: &RequestContext, mut r: Reader) -> RequestOutcome {
        let api_key = ctx.api_key;
        let api_version = ctx.api_version;
        let peer = ctx.peer;
        let served = supported_versions(api_key).is_some_and(|(lo, hi)| api_version >= lo && api_version <= hi);
        if !served {
            if api_key == ApiKey::ApiVersions {
                return self.api_versions_unsupported(ctx);
            }
            return RequestOutcome::Close(format!(
                "unsupported version {api_version} of {api_key:?} from client {:?}",
                ctx.client_id()
            ));
        }
        log::debug!("{:?} v{} from {} ({:?})", api_key, api_version, peer, ctx.client_id());
        use crate::protocol::messages::*;
        match api_key {
            ApiKey::ApiVersions => dispatch!(self, ctx, r, api_versions::ApiVersionsRequest, handle_api_versions),
            ApiKey::Metadata => dispatch!(self, ctx, r, metadata::MetadataRequest, handle_metadata),
            ApiKey::Produce => match produce::ProduceRequest::decode(&mut r, api_version) {
                Ok(req) => {
                    let acks = req.acks;
                    let (result, busy) = timed(self.handle_produce(ctx, req)).await;
                    let throttle = self.produce_throttle(ctx, acks, busy);
                    match result {
                        Ok(Some(mut resp)) => {
                            resp.throttle_time_ms = throttle as i32;
                            encode(ctx, &resp)
                        }
                        Ok(None) => RequestOutcome::NoResponse,
                        Err(reason) => RequestOutcome::Close(reason),
                    }
                }
                Err(e) => RequestOutcome::Close(format!("cannot parse Produce v{api_version} request: {e}")),
            },
            ApiKey::Fetch => match fetch::FetchRequest::decode(&mut r, api_version) {
                Ok(req) => self.fetch_with_quotas(ctx, req).await,
                Err(e) => RequestOutcome::Close(format!(
                    "cannot parse Fetch v{api_version} request from client {:?}: {e}",
                    ctx.client_id()
                )),
            },
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
            ApiKey::AddPartitionsToTxn => {
                dispatch!(self, ctx, r, add_partitions_to_txn::AddPartitionsToTxnRequest, handle_add_partitions_to_txn)
            }
            ApiKey::AddOffsetsToTxn => dispatch!(self, ctx, r, add_offsets_to_txn::AddOffsetsToTxnRequest, handle_add_offsets_to_txn),
            ApiKey::EndTxn => dispatch!(self, ctx, r, end_txn::EndTxnRequest, handle_end_txn),
            ApiKey::TxnOffsetCommit => dispatch!(self, ctx, r, txn_offset_commit::TxnOffsetCommitRequest, handle_txn_offset_commit),
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
            ApiKey::DescribeClientQuotas => dispatch!(
                self,
                ctx,
                r,
                describe_client_quotas::DescribeClientQuotasRequest,
                handle_describe_client_quotas
            ),
            ApiKey::AlterClientQuotas => {
                dispatch!(self, ctx, r, alter_client_quotas::AlterClientQuotasRequest, handle_alter_client_quotas)
            }
            ApiKey::SaslHandshake => dispatch!(self, ctx, r, sasl_handshake::SaslHandshakeRequest, handle_sasl_handshake),
            ApiKey::SaslAuthenticate => {
                dispatch!(self, ctx, r, sasl_authenticate::SaslAuthenticateRequest, handle_sasl_authenticate)
            }
            ApiKey::DescribeUserScramCredentials => dispatch!(
                self,
                ctx,
                r,
                describe_user_scram_credentials::DescribeUserScramCredentialsRequest,
                handle_describe_user_scram_credentials
            ),
            ApiKey::AlterUserScramCredentials => dispatch!(
                self,
                ctx,
                r,
                alter_user_scram_credentials::AlterUserScramCredentialsRequest,
                handle_alter_user_scram_credentials
            ),
            ApiKey::WriteTxnMarkers => {
                dispatch!(self, ctx, r, write_txn_markers::WriteTxnMarkersRequest, handle_write_txn_markers)
            }
            ApiKey::DescribeAcls => dispatch!(self, ctx, r, describe_acls::DescribeAclsRequest, handle_describe_acls),
            ApiKey::CreateAcls => dispatch!(self, ctx, r, create_acls::CreateAclsRequest, handle_create_acls),
            ApiKey::DeleteAcls => dispatch!(self, ctx, r, delete_acls::DeleteAclsRequest, handle_delete_acls),
            ApiKey::DescribeCluster => dispatch!(self, ctx, r, describe_cluster::DescribeClusterRequest, handle_describe_cluster),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::messages::{api_versions::ApiVersionsResponse, delete_groups::DeleteGroupsResponse, metadata::MetadataResponse};
    use crate::protocol::{Message, ResponseHeader};

    fn throttle_of<M: Message>(frame: &Bytes, version: i16) -> i32 {
        let mut r = Reader::new(frame.slice(4..));
        ResponseHeader::decode(&mut r, M::API_KEY.response_header_version(version)).unwrap();
        let body = r.rest().clone();
        i32::from_be_bytes([body[0], body[1], body[2], body[3]])
    }

    #[test]
    fn throttle_time_patched_into_responses() {
        // DeleteGroups v0 (plain header) and v2 (flexible header)
        for v in [0, 2] {
            let f = encode_response_frame(7, v, &DeleteGroupsResponse::default()).unwrap();
            let p = with_throttle_time(&f, ApiKey::DeleteGroups, v, 1234);
            assert_eq!(throttle_of::<DeleteGroupsResponse>(&p, v), 1234, "v{v}");
            let back = DeleteGroupsResponse::from_bytes(p.slice(4 + 4 + usize::from(v >= 2)..), v).unwrap();
            assert_eq!(back.throttle_time_ms, 1234);
        }
        // Metadata v9 (flexible) decodes with the new value
        let f = encode_response_frame(1, 9, &MetadataResponse::default()).unwrap();
        let p = with_throttle_time(&f, ApiKey::Metadata, 9, 55);
        assert_eq!(MetadataResponse::from_bytes(p.slice(9..), 9).unwrap().throttle_time_ms, 55);
        // Metadata v1 has no throttle time: unchanged
        let f = encode_response_frame(1, 1, &MetadataResponse::default()).unwrap();
        assert_eq!(with_throttle_time(&f, ApiKey::Metadata, 1, 55), f);
        // ApiVersions: not the first field, unchanged
        let f = encode_response_frame(1, 3, &ApiVersionsResponse::default()).unwrap();
        assert_eq!(with_throttle_time(&f, ApiKey::ApiVersions, 3, 55), f);
    }
}
