//! A small async Kafka client connection: size-prefixed frames, request
//! headers, correlation ids. Used by the tools, by the controller's
//! ControllerChannelManager and by the replica fetchers; it plays the part of
//! Kafka's `NetworkClient` for a single broker.

use crate::protocol::{encode_request_frame, CodecError, Message, Reader, ResponseHeader};
use bytes::BytesMut;
use std::fmt;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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

/// One TCP connection to one broker, with requests sent one at a time.
pub struct BrokerConnection {
    stream: TcpStream,
    next_correlation_id: i32,
    client_id: String,
    addr: String,
}

impl BrokerConnection {
    /// Connects to `addr` ("host:port"), giving up after `timeout`.
    pub async fn connect(addr: &str, client_id: &str, timeout: Duration) -> Result<Self, ClientError> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| ClientError::Timeout)??;
        stream.set_nodelay(true)?;
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
