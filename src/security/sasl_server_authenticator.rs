//! The server side of SASL on a connection, before any other request is
//! served: ApiVersions, SaslHandshake, then SaslAuthenticate requests (v1
//! handshake, KIP-152) or raw length-prefixed tokens (v0 handshake, the
//! pre-KIP-43 framing), for PLAIN and SCRAM-SHA-256/512. Maps to Kafka's
//! `SaslServerAuthenticator` (its states HANDSHAKE_OR_VERSIONS_REQUEST,
//! HANDSHAKE_REQUEST, AUTHENTICATE, COMPLETE, FAILED) and the `SocketServer`
//! pieces around it (`sasl.server.max.receive.size`, the failed-authentication
//! delay and log line), and KIP-368 re-authentication: with
//! `connections.max.reauth.ms` the session lifetime is answered in
//! SaslAuthenticate v1+, and an authenticated connection may run the
//! exchange again from a SaslHandshake (`reauthenticate`).

use crate::protocol::error;
use crate::protocol::messages::api_versions::ApiVersionsRequest;
use crate::protocol::messages::sasl_authenticate::{SaslAuthenticateRequest, SaslAuthenticateResponse};
use crate::protocol::messages::sasl_handshake::{SaslHandshakeRequest, SaslHandshakeResponse};
use crate::protocol::{encode_response_frame, ApiKey, Message, Reader, RequestHeader};
use crate::security::credential_cache::CredentialCache;
use crate::security::plain::{evaluate_plain, jaas_config_for};
use crate::security::scram::{SaslError, ScramMechanism, ScramServer};
use crate::security::KafkaPrincipal;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Kafka's `BrokerSecurityConfigs.DEFAULT_SASL_SERVER_MAX_RECEIVE_SIZE`:
/// the largest request frame accepted before authentication completes.
pub const DEFAULT_SASL_SERVER_MAX_RECEIVE_SIZE: usize = 524288;
/// Kafka's `connections.failed.authentication.delay.ms` default.
pub const FAILED_AUTHENTICATION_DELAY_MS: u64 = 100;
/// The mechanisms this broker implements.
pub const SUPPORTED_MECHANISMS: &[&str] = &["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

/// What the authenticator of one connection needs to know.
#[derive(Clone)]
pub struct SaslServerContext {
    /// `sasl.enabled.mechanisms` for the listener, in the configured order.
    pub enabled_mechanisms: Vec<String>,
    /// The listener's PLAIN users (`user_<name>="<password>"` of its JAAS config).
    pub plain_users: BTreeMap<String, String>,
    /// The SCRAM credentials from ZooKeeper.
    pub credentials: Arc<CredentialCache>,
    /// The client's address (logged on failure).
    pub peer: SocketAddr,
    /// The listener's name, e.g. `SASL_SSL`.
    pub listener_name: String,
    /// `sasl.server.max.receive.size` (default 524288).
    pub max_receive_size: usize,
    /// `connections.failed.authentication.delay.ms` (default 100).
    pub failed_authentication_delay_ms: u64,
    /// `connections.max.reauth.ms` (0: sessions never expire).
    pub max_reauth_ms: u64,
}

/// The listener-wide part of the context, built once from the broker's
/// properties; `for_connection` makes the per-connection context.
#[derive(Clone)]
pub struct SaslListenerConfig {
    pub enabled_mechanisms: Vec<String>,
    pub plain_users: BTreeMap<String, String>,
    pub max_receive_size: usize,
    pub failed_authentication_delay_ms: u64,
    pub listener_name: String,
    /// `[listener.name.<l>.]connections.max.reauth.ms` (default 0).
    pub max_reauth_ms: u64,
}

impl SaslListenerConfig {
    /// Reads `[listener.name.<l>.]sasl.enabled.mechanisms` (Kafka's default:
    /// GSSAPI, which zkafka does not implement, so the default here is
    /// refused with a clear message), the PLAIN JAAS users,
    /// `sasl.server.max.receive.size` and `connections.failed.authentication.delay.ms`.
    pub fn from_props(props: &BTreeMap<String, String>, listener_name: &str) -> Result<SaslListenerConfig, String> {
        let l = listener_name.to_ascii_lowercase();
        let get = |k: &str| props.get(&format!("listener.name.{l}.{k}")).or_else(|| props.get(k)).cloned();
        let mechs: Vec<String> = get("sasl.enabled.mechanisms")
            .unwrap_or_else(|| "GSSAPI".into())
            .split(',')
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect();
        if mechs.is_empty() {
            return Err(format!("No SASL mechanisms are enabled for listener {listener_name}"));
        }
        for m in &mechs {
            if !SUPPORTED_MECHANISMS.contains(&m.as_str()) {
                return Err(format!(
                    "SASL mechanism {m} of listener {listener_name} is not supported by zkafka (supported: {}); set sasl.enabled.mechanisms",
                    SUPPORTED_MECHANISMS.join(",")
                ));
            }
        }
        let mut plain_users = BTreeMap::new();
        if mechs.iter().any(|m| m == "PLAIN") {
            match jaas_config_for(props, listener_name, "PLAIN") {
                Some(Ok(j)) => plain_users = j.plain_users(),
                Some(Err(e)) => return Err(format!("listener {listener_name}: {e}")),
                None => {
                    return Err(format!(
                        "Could not find a 'listener.name.{l}.plain.sasl.jaas.config' (or 'sasl.jaas.config') entry for PLAIN on listener {listener_name}"
                    ))
                }
            }
        }
        let num = |k: &str, d: u64| get(k).and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(d);
        Ok(SaslListenerConfig {
            enabled_mechanisms: mechs,
            plain_users,
            max_receive_size: num("sasl.server.max.receive.size", DEFAULT_SASL_SERVER_MAX_RECEIVE_SIZE as u64) as usize,
            failed_authentication_delay_ms: num("connections.failed.authentication.delay.ms", FAILED_AUTHENTICATION_DELAY_MS),
            listener_name: listener_name.to_string(),
            max_reauth_ms: num("connections.max.reauth.ms", 0),
        })
    }

    pub fn for_connection(&self, credentials: Arc<CredentialCache>, peer: SocketAddr) -> SaslServerContext {
        SaslServerContext {
            enabled_mechanisms: self.enabled_mechanisms.clone(),
            plain_users: self.plain_users.clone(),
            credentials,
            peer,
            listener_name: self.listener_name.clone(),
            max_receive_size: self.max_receive_size,
            failed_authentication_delay_ms: self.failed_authentication_delay_ms,
            max_reauth_ms: self.max_reauth_ms,
        }
    }
}

/// The mechanism's server of one exchange.
enum MechanismServer {
    Plain,
    Scram(ScramServer),
}

enum Step {
    /// The token to answer and, when the exchange is over, the user.
    Continue(Vec<u8>, Option<String>),
    Failed(SaslError),
}

fn evaluate(server: &mut MechanismServer, token: &[u8], ctx: &SaslServerContext) -> Step {
    match server {
        MechanismServer::Plain => match evaluate_plain(token, &ctx.plain_users) {
            Ok(user) => Step::Continue(Vec::new(), Some(user)),
            Err(msg) => Step::Failed(SaslError::Authentication(msg)),
        },
        MechanismServer::Scram(s) => {
            let mech = s.mechanism();
            match s.evaluate(token, |user| ctx.credentials.get(mech, user)) {
                Ok(out) => {
                    let done = s.authorization_id().map(str::to_string);
                    Step::Continue(out, done)
                }
                Err(e) => Step::Failed(e),
            }
        }
    }
}

/// Reads one size-prefixed frame, refusing sizes outside `0..=max`.
async fn read_frame<S: AsyncRead + Unpin>(stream: &mut S, max: usize, ctx: &SaslServerContext) -> Result<Bytes, String> {
    let size = stream.read_i32().await.map_err(|e| format!("connection from {} closed during SASL authentication: {e}", ctx.peer))?;
    if size < 0 || size as usize > max {
        // Kafka: "Failing SASL authentication due to invalid receive size"
        log::info!(
            "Failed authentication with {} (Failing SASL authentication due to invalid receive size {size}) on listener {}",
            ctx.peer.ip(),
            ctx.listener_name
        );
        return Err(format!(
            "closing connection from {}: SASL request size {size} is outside 0..={max} (sasl.server.max.receive.size)",
            ctx.peer
        ));
    }
    let mut buf = vec![0u8; size as usize];
    stream
        .read_exact(&mut buf)
        .await
        .map_err(|e| format!("connection from {} closed inside a SASL request: {e}", ctx.peer))?;
    Ok(Bytes::from(buf))
}

async fn write_all<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8]) -> Result<(), String> {
    stream.write_all(bytes).await.map_err(|e| format!("cannot write SASL response: {e}"))?;
    stream.flush().await.map_err(|e| format!("cannot write SASL response: {e}"))
}

fn frame<M: Message>(correlation_id: i32, version: i16, body: &M) -> Result<Bytes, String> {
    encode_response_frame(correlation_id, version, body).map_err(|e| format!("cannot encode {:?} response: {e}", M::API_KEY))
}

/// Kafka's failure path: the answer (if any) is sent after
/// `connections.failed.authentication.delay.ms`, the failure is logged with
/// the client's address, and the connection closes.
async fn fail<S: AsyncWrite + Unpin>(stream: &mut S, ctx: &SaslServerContext, response: Option<Bytes>, reason: &str) -> String {
    log::info!("Failed authentication with {} ({reason}) on listener {}", ctx.peer.ip(), ctx.listener_name);
    if let Some(r) = response {
        tokio::time::sleep(Duration::from_millis(ctx.failed_authentication_delay_ms)).await;
        let _ = write_all(stream, &r).await;
    }
    format!("authentication of {} failed: {reason}", ctx.peer)
}

/// Runs SASL authentication on a fresh connection of a SASL listener, until
/// it completes (the principal) or fails (the reason; the caller closes the
/// connection). Only ApiVersions (once, first), SaslHandshake and then the
/// mechanism's tokens are accepted; any other request closes the connection
/// unanswered, as Kafka's `SaslServerAuthenticator` does.
pub async fn authenticate<S: AsyncRead + AsyncWrite + Unpin + Send>(
    stream: &mut S,
    ctx: &SaslServerContext,
) -> Result<KafkaPrincipal, String> {
    exchange(stream, ctx, None).await
}

/// KIP-368 re-authentication of an authenticated connection: `handshake` is
/// the SaslHandshake (v1+) frame the request loop already read; the
/// exchange then runs as on a new connection (without ApiVersions). The
/// caller checks that the principal did not change.
pub async fn reauthenticate<S: AsyncRead + AsyncWrite + Unpin + Send>(
    stream: &mut S,
    ctx: &SaslServerContext,
    handshake: Bytes,
) -> Result<KafkaPrincipal, String> {
    exchange(stream, ctx, Some(handshake)).await
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin + Send>(
    stream: &mut S,
    ctx: &SaslServerContext,
    mut first: Option<Bytes>,
) -> Result<KafkaPrincipal, String> {
    // HANDSHAKE_OR_VERSIONS_REQUEST / HANDSHAKE_REQUEST (re-authentication
    // starts with the handshake)
    let mut versions_allowed = first.is_none();
    let (mut server, mechanism, kafka_headers) = loop {
        let body = match first.take() {
            Some(b) => b,
            None => read_frame(stream, ctx.max_receive_size, ctx).await?,
        };
        let mut r = Reader::new(body);
        let header = match RequestHeader::decode(&mut r) {
            Ok(h) => h,
            Err(_) => {
                return Err(fail(stream, ctx, None, "Exception handling first SASL packet from client, GSSAPI is not supported by server").await)
            }
        };
        let api = ApiKey::from_i16(header.api_key);
        match api {
            Some(ApiKey::ApiVersions) if versions_allowed => {
                let lo_hi = crate::protocol::api_key::supported_versions(ApiKey::ApiVersions).unwrap_or((0, 3));
                if header.api_version < lo_hi.0 || header.api_version > lo_hi.1 {
                    let resp = crate::server::apis::api_versions::unsupported_version_response();
                    write_all(stream, &frame(header.correlation_id, 0, &resp)?).await?;
                    continue;
                }
                if ApiVersionsRequest::decode(&mut r, header.api_version).is_err() {
                    return Err(fail(stream, ctx, None, "invalid ApiVersions request during SASL handshake").await);
                }
                let resp = crate::server::apis::api_versions::api_versions_response();
                write_all(stream, &frame(header.correlation_id, header.api_version, &resp)?).await?;
                versions_allowed = false;
            }
            Some(ApiKey::SaslHandshake) if (0..=1).contains(&header.api_version) => {
                let req = match SaslHandshakeRequest::decode(&mut r, header.api_version) {
                    Ok(req) => req,
                    Err(e) => return Err(fail(stream, ctx, None, &format!("invalid SaslHandshake request: {e}")).await),
                };
                let mechanism = req.mechanism;
                if !ctx.enabled_mechanisms.contains(&mechanism) {
                    let resp = SaslHandshakeResponse {
                        error_code: error::UNSUPPORTED_SASL_MECHANISM,
                        mechanisms: ctx.enabled_mechanisms.clone(),
                    };
                    let bytes = frame(header.correlation_id, header.api_version, &resp)?;
                    return Err(fail(stream, ctx, Some(bytes), &format!("Unsupported SASL mechanism {mechanism}")).await);
                }
                let server = match ScramMechanism::from_name(&mechanism) {
                    Some(m) => MechanismServer::Scram(ScramServer::new(m)),
                    None => MechanismServer::Plain,
                };
                let resp = SaslHandshakeResponse { error_code: error::NONE, mechanisms: ctx.enabled_mechanisms.clone() };
                write_all(stream, &frame(header.correlation_id, header.api_version, &resp)?).await?;
                log::debug!("Using SASL mechanism '{mechanism}' provided by client {}", ctx.peer);
                break (server, mechanism, header.api_version >= 1);
            }
            _ => {
                let name = api.map(|k| format!("{k:?}")).unwrap_or_else(|| format!("key {}", header.api_key));
                return Err(fail(stream, ctx, None, &format!("Unexpected Kafka request of type {name} during SASL handshake.")).await);
            }
        }
    };
    // AUTHENTICATE
    loop {
        let body = read_frame(stream, ctx.max_receive_size, ctx).await?;
        if !kafka_headers {
            // v0 handshake: raw tokens, size-prefixed both ways; a failure
            // closes the connection without an answer.
            match evaluate(&mut server, &body, ctx) {
                Step::Continue(out, done) => {
                    let mut b = Vec::with_capacity(4 + out.len());
                    b.extend_from_slice(&(out.len() as i32).to_be_bytes());
                    b.extend_from_slice(&out);
                    write_all(stream, &b).await?;
                    if let Some(user) = done {
                        return Ok(KafkaPrincipal::user(&user));
                    }
                }
                Step::Failed(e) => return Err(fail(stream, ctx, None, e.detail()).await),
            }
            continue;
        }
        let mut r = Reader::new(body);
        let header = match RequestHeader::decode(&mut r) {
            Ok(h) => h,
            Err(e) => return Err(fail(stream, ctx, None, &format!("invalid request header during SASL authentication: {e}")).await),
        };
        if header.api_key != ApiKey::SaslAuthenticate.id() {
            let name = ApiKey::from_i16(header.api_key).map(|k| format!("{k:?}")).unwrap_or_else(|| format!("key {}", header.api_key));
            return Err(fail(stream, ctx, None, &format!("Unexpected Kafka request of type {name} during SASL authentication.")).await);
        }
        let version = header.api_version;
        if !(0..=2).contains(&version) {
            return Err(fail(stream, ctx, None, &format!("Version {version} is not supported for apiKey SASL_AUTHENTICATE")).await);
        }
        let req = match SaslAuthenticateRequest::decode(&mut r, version) {
            Ok(req) => req,
            Err(e) => return Err(fail(stream, ctx, None, &format!("invalid SaslAuthenticate request: {e}")).await),
        };
        match evaluate(&mut server, &req.auth_bytes, ctx) {
            Step::Continue(out, done) => {
                // KIP-368: the session lifetime, once the exchange is over
                // (SCRAM and PLAIN credentials have no expiry of their own).
                let session_lifetime_ms = if done.is_some() { ctx.max_reauth_ms as i64 } else { 0 };
                let resp = SaslAuthenticateResponse { auth_bytes: Bytes::from(out), session_lifetime_ms, ..Default::default() };
                write_all(stream, &frame(header.correlation_id, version, &resp)?).await?;
                if let Some(user) = done {
                    return Ok(KafkaPrincipal::user(&user));
                }
            }
            Step::Failed(e) => {
                // Kafka sends a SaslAuthenticationException's own message; a
                // SaslException's is replaced, since it may tell a client
                // whether a user exists.
                let message = match &e {
                    SaslError::Authentication(m) => m.clone(),
                    SaslError::Sasl(_) => {
                        format!("Authentication failed during authentication due to invalid credentials with SASL mechanism {mechanism}")
                    }
                };
                let resp = SaslAuthenticateResponse {
                    error_code: error::SASL_AUTHENTICATION_FAILED,
                    error_message: Some(message),
                    ..Default::default()
                };
                let bytes = frame(header.correlation_id, version, &resp)?;
                return Err(fail(stream, ctx, Some(bytes), e.detail()).await);
            }
        }
    }
}
