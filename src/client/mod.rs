//! The client library of the tools (Kafka's `NetworkClient` + `Metadata`, the
//! base of its `KafkaAdminClient` and `ConsumerNetworkClient`): one connection
//! per broker with size-prefixed frames, request headers and correlation ids
//! (`BrokerConnection`, also used by the controller's ControllerChannelManager
//! and the replica fetchers), and a cluster client (`KafkaClient`) that
//! bootstraps, keeps the brokers and the controller from Metadata and sends a
//! request to any broker, a given broker or the controller. The admin calls
//! are in `admin`, the group protocol in `group`, the security settings of a
//! tool's client configuration (`--command-config`) in `client_config`.

pub mod acls;
pub mod admin;
pub mod client_config;
pub mod group;

use crate::protocol::{encode_request_frame, CodecError, Message, Reader, ResponseHeader};
use bytes::BytesMut;
use std::fmt;
use std::time::Duration;
use crate::zk::SecurityProtocol;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response frame a client accepts (Kafka's `socket.request.max.bytes` default).
pub const MAX_RESPONSE_BYTES: usize = 100 * 1024 * 1024;

#[derive(Debug)]
pub enum ClientError {
    Io(std::io::Error),
    Codec(CodecError),
    /// The response's correlation id did not match the request's.
    CorrelationMismatch { expected: i32, got: i32 },
    /// A response frame claimed a size outside `0..=MAX_RESPONSE_BYTES`.
    BadFrameSize(i32),
    Timeout,
    /// TLS or SASL failed (handshake, certificate, login).
    Security(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Io(e) => write!(f, "{e}"),
            ClientError::Codec(e) => write!(f, "protocol error: {e}"),
            ClientError::CorrelationMismatch { expected, got } => {
                write!(f, "correlation id mismatch: expected {expected}, got {got}")
            }
            ClientError::BadFrameSize(n) => write!(f, "bad response frame size {n}"),
            ClientError::Timeout => write!(f, "request timed out"),
            ClientError::Security(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<std::io::Error> for ClientError {
    fn from(e: std::io::Error) -> Self {
        ClientError::Io(e)
    }
}

impl From<CodecError> for ClientError {
    fn from(e: CodecError) -> Self {
        ClientError::Codec(e)
    }
}

/// A byte stream to a broker: plain TCP or TLS over TCP.
pub trait BrokerStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> BrokerStream for T {}

/// SASL credentials a broker uses on a SASL inter-broker listener
/// (`sasl.mechanism.inter.broker.protocol` and the listener's JAAS login).
#[derive(Clone)]
pub struct SaslCredentials {
    pub mechanism: String,
    pub username: String,
    pub password: String,
}

impl fmt::Debug for SaslCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SaslCredentials({} as {})", self.mechanism, self.username)
    }
}

/// How to open a connection to a broker's listener (Kafka's
/// `ChannelBuilder` on the client side): the listener's security protocol,
/// the TLS client settings for SSL/SASL_SSL, the SASL login for SASL ones.
#[derive(Clone, Debug)]
pub struct ChannelSecurity {
    pub protocol: SecurityProtocol,
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub sasl: Option<SaslCredentials>,
}

impl ChannelSecurity {
    pub fn plaintext() -> ChannelSecurity {
        ChannelSecurity { protocol: SecurityProtocol::Plaintext, tls: None, sasl: None }
    }

    /// Opens the byte stream (TCP, then the TLS handshake, then SASL) to
    /// `addr` ("host:port"; the host is the name checked in the server's
    /// certificate when host name verification is on).
    pub async fn open(&self, addr: &str) -> Result<Box<dyn BrokerStream>, ClientError> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let mut stream: Box<dyn BrokerStream> = match self.protocol {
            SecurityProtocol::Plaintext | SecurityProtocol::SaslPlaintext => Box::new(tcp),
            SecurityProtocol::Ssl | SecurityProtocol::SaslSsl => {
                let cfg = self.tls.clone().ok_or_else(|| {
                    ClientError::Security(format!("no TLS settings for a {} connection", self.protocol.name()))
                })?;
                let host = addr.rsplit_once(':').map(|(h, _)| h).unwrap_or(addr).trim_start_matches('[').trim_end_matches(']');
                let name = rustls::pki_types::ServerName::try_from(host.to_string())
                    .map_err(|e| ClientError::Security(format!("bad TLS server name {host}: {e}")))?;
                let tls = tokio_rustls::TlsConnector::from(cfg)
                    .connect(name, tcp)
                    .await
                    .map_err(|e| ClientError::Security(format!("TLS handshake with {addr} failed: {e}")))?;
                Box::new(tls)
            }
        };
        if matches!(self.protocol, SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl) {
            let Some(c) = &self.sasl else {
                return Err(ClientError::Security(format!("no SASL login for a {} connection", self.protocol.name())));
            };
            sasl_login(&mut stream, c).await?;
        }
        Ok(stream)
    }
}

/// The SASL client exchange on a fresh connection (the `sasl` module's
/// client side).
async fn sasl_login(stream: &mut Box<dyn BrokerStream>, c: &SaslCredentials) -> Result<(), ClientError> {
    crate::security::sasl_client_authenticate(stream, &c.mechanism, &c.username, &c.password)
        .await
        .map_err(|e| ClientError::Security(format!("SASL {} login as {} failed: {e}", c.mechanism, c.username)))
}

/// One connection to one broker, with requests sent one at a time.
pub struct BrokerConnection {
    stream: Box<dyn BrokerStream>,
    next_correlation_id: i32,
    client_id: String,
    addr: String,
}

impl BrokerConnection {
    /// Connects to `addr` ("host:port"), giving up after `timeout`.
    pub async fn connect(addr: &str, client_id: &str, timeout: Duration) -> Result<Self, ClientError> {
        Self::connect_secured(addr, client_id, timeout, &ChannelSecurity::plaintext()).await
    }

    /// Connects to `addr` with the listener's security (TLS handshake and
    /// SASL login included in `timeout`).
    pub async fn connect_secured(
        addr: &str,
        client_id: &str,
        timeout: Duration,
        security: &ChannelSecurity,
    ) -> Result<Self, ClientError> {
        let stream = tokio::time::timeout(timeout, security.open(addr)).await.map_err(|_| ClientError::Timeout)??;
        Ok(BrokerConnection {
            stream,
            next_correlation_id: 0,
            client_id: client_id.to_string(),
            addr: addr.to_string(),
        })
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends `req` at `version` and waits for its response.
    pub async fn send<Req: Message, Resp: Message>(
        &mut self,
        version: i16,
        req: &Req,
    ) -> Result<Resp, ClientError> {
        debug_assert_eq!(Req::API_KEY, Resp::API_KEY);
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let frame = encode_request_frame(correlation_id, version, Some(&self.client_id), req)?;
        self.stream.write_all(&frame).await?;
        let size = self.stream.read_i32().await?;
        if size < 0 || size as usize > MAX_RESPONSE_BYTES {
            return Err(ClientError::BadFrameSize(size));
        }
        let mut buf = BytesMut::zeroed(size as usize);
        self.stream.read_exact(&mut buf).await?;
        let mut r = Reader::new(buf.freeze());
        let header = ResponseHeader::decode(&mut r, Resp::API_KEY.response_header_version(version))?;
        if header.correlation_id != correlation_id {
            return Err(ClientError::CorrelationMismatch { expected: correlation_id, got: header.correlation_id });
        }
        Ok(Resp::decode(&mut r, version)?)
    }

    /// Like `send`, bounded by `timeout`.
    pub async fn send_timeout<Req: Message, Resp: Message>(
        &mut self,
        version: i16,
        req: &Req,
        timeout: Duration,
    ) -> Result<Resp, ClientError> {
        tokio::time::timeout(timeout, self.send(version, req)).await.map_err(|_| ClientError::Timeout)?
    }
}

use crate::protocol::messages::metadata::{MetadataRequest, MetadataRequestTopic, MetadataResponse};
use std::collections::HashMap;

/// Metadata version the tools use.
pub const METADATA_VERSION: i16 = 11;

/// A client for a whole cluster: bootstraps from any listed broker, keeps
/// the brokers' addresses from Metadata, and one connection per broker.
/// Plays the part of Kafka's `NetworkClient` + `Metadata` for the tools.
pub struct KafkaClient {
    bootstrap: Vec<String>,
    client_id: String,
    timeout: Duration,
    brokers: HashMap<i32, String>,
    controller_id: Option<i32>,
    conns: HashMap<i32, BrokerConnection>,
    bootstrap_conn: Option<BrokerConnection>,
    /// How every connection is opened (TLS, SASL), from the tool's client
    /// configuration; PLAINTEXT unless `with_security` says otherwise.
    security: ChannelSecurity,
}

impl KafkaClient {
    /// `bootstrap` is a comma-separated `host:port` list.
    pub fn new(bootstrap: &str, client_id: &str, timeout: Duration) -> KafkaClient {
        KafkaClient {
            bootstrap: bootstrap.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
            client_id: client_id.to_string(),
            timeout,
            brokers: HashMap::new(),
            controller_id: None,
            conns: HashMap::new(),
            bootstrap_conn: None,
            security: ChannelSecurity::plaintext(),
        }
    }

    /// The same client, connecting with `security` (a tool's
    /// `--command-config`, see `client_config`).
    pub fn with_security(mut self, security: ChannelSecurity) -> KafkaClient {
        self.security = security;
        self.conns.clear();
        self.bootstrap_conn = None;
        self
    }

    /// A client whose connections follow the client configuration file
    /// `config` (`--command-config`, `--admin.config`), PLAINTEXT without
    /// one. A missing or bad file is an error before any connection.
    pub fn with_config_file(bootstrap: &str, client_id: &str, timeout: Duration, config: Option<&str>) -> Result<KafkaClient, String> {
        let security = client_config::channel_security_from_file(config)?;
        Ok(KafkaClient::new(bootstrap, client_id, timeout).with_security(security))
    }

    pub fn security(&self) -> &ChannelSecurity {
        &self.security
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A connection to any broker (the first bootstrap address that answers).
    pub async fn any_connection(&mut self) -> Result<&mut BrokerConnection, ClientError> {
        if self.bootstrap_conn.is_none() {
            let mut last_err = ClientError::Io(std::io::Error::other("no bootstrap servers given"));
            for addr in self.bootstrap.clone() {
                match BrokerConnection::connect_secured(&addr, &self.client_id, self.timeout, &self.security).await {
                    Ok(c) => {
                        self.bootstrap_conn = Some(c);
                        break;
                    }
                    // A refused login or certificate is the same on every
                    // broker: give up at once, as Kafka's clients do.
                    Err(e @ ClientError::Security(_)) => return Err(e),
                    Err(e) => last_err = e,
                }
            }
            if self.bootstrap_conn.is_none() {
                return Err(last_err);
            }
        }
        self.bootstrap_conn.as_mut().ok_or(ClientError::Timeout)
    }

    /// Fetches metadata for `topics` (all topics when `None`) and remembers
    /// the brokers' addresses.
    pub async fn metadata(&mut self, topics: Option<&[String]>, allow_auto_create: bool) -> Result<MetadataResponse, ClientError> {
        let req = MetadataRequest {
            topics: topics.map(|ts| {
                ts.iter().map(|t| MetadataRequestTopic { name: Some(t.clone()), ..Default::default() }).collect()
            }),
            allow_auto_topic_creation: allow_auto_create,
            ..Default::default()
        };
        let timeout = self.timeout;
        let result = {
            let conn = self.any_connection().await?;
            conn.send_timeout::<_, MetadataResponse>(METADATA_VERSION, &req, timeout).await
        };
        let resp = match result {
            Ok(r) => r,
            Err(e) => {
                self.bootstrap_conn = None;
                return Err(e);
            }
        };
        self.controller_id = (resp.controller_id >= 0).then_some(resp.controller_id);
        for b in &resp.brokers {
            let addr = format!("{}:{}", b.host, b.port);
            if self.brokers.get(&b.node_id) != Some(&addr) {
                self.conns.remove(&b.node_id);
                self.brokers.insert(b.node_id, addr);
            }
        }
        Ok(resp)
    }

    /// The connection to broker `id` (known from an earlier `metadata`).
    pub async fn connection(&mut self, id: i32) -> Result<&mut BrokerConnection, ClientError> {
        if !self.conns.contains_key(&id) {
            let addr = self
                .brokers
                .get(&id)
                .cloned()
                .ok_or_else(|| ClientError::Io(std::io::Error::other(format!("unknown broker {id}"))))?;
            let c = BrokerConnection::connect_secured(&addr, &self.client_id, self.timeout, &self.security).await?;
            self.conns.insert(id, c);
        }
        self.conns.get_mut(&id).ok_or(ClientError::Timeout)
    }

    /// Forgets a connection after an error so the next call reconnects.
    pub fn drop_connection(&mut self, id: i32) {
        self.conns.remove(&id);
    }

    /// The brokers known from the last `metadata` call, id -> "host:port".
    pub fn known_brokers(&self) -> &HashMap<i32, String> {
        &self.brokers
    }

    /// The controller's id, from a fresh Metadata request (Kafka's admin
    /// client's `ControllerNodeProvider`); `None` while there is none.
    pub async fn controller_id(&mut self) -> Result<Option<i32>, ClientError> {
        self.metadata(Some(&[]), false).await?;
        Ok(self.controller_id)
    }

    /// Sends `req` to any broker (the bootstrap connection); after an error
    /// the connection is dropped so the next call reconnects.
    pub async fn send_any<Req: Message, Resp: Message>(&mut self, version: i16, req: &Req, timeout: Duration) -> Result<Resp, ClientError> {
        let result = {
            let conn = self.any_connection().await?;
            conn.send_timeout(version, req, timeout).await
        };
        if result.is_err() {
            self.bootstrap_conn = None;
        }
        result
    }

    /// Sends `req` to broker `id` (known from an earlier `metadata`); after an
    /// error the connection is dropped so the next call reconnects.
    pub async fn send_to<Req: Message, Resp: Message>(&mut self, id: i32, version: i16, req: &Req, timeout: Duration) -> Result<Resp, ClientError> {
        let result = {
            let conn = self.connection(id).await?;
            conn.send_timeout(version, req, timeout).await
        };
        if result.is_err() {
            self.drop_connection(id);
        }
        result
    }

    /// Sends `req` to the active controller, found through Metadata.
    pub async fn send_to_controller<Req: Message, Resp: Message>(&mut self, version: i16, req: &Req, timeout: Duration) -> Result<Resp, ClientError> {
        let id = self
            .controller_id()
            .await?
            .ok_or_else(|| ClientError::Io(std::io::Error::other("no controller is available")))?;
        self.send_to(id, version, req, timeout).await
    }
}

impl BrokerConnection {
    /// Sends a request the broker will not answer (Produce with acks=0).
    pub async fn send_no_response<Req: Message>(&mut self, version: i16, req: &Req) -> Result<(), ClientError> {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let frame = encode_request_frame(correlation_id, version, Some(&self.client_id), req)?;
        self.stream.write_all(&frame).await?;
        Ok(())
    }
}
