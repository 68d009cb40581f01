//! The network layer: accepts connections, reads size-prefixed request frames,
//! hands each to `KafkaApis` in order, and writes the responses back. Maps to
//! Kafka's `kafka.network.SocketServer` (Acceptor + Processor).
//!
//! Requests on one connection are handled one at a time, in order, as Kafka
//! does by muting a channel while its request is in flight. A frame whose size
//! is negative or above `socket.request.max.bytes`, or whose header cannot be
//! parsed, closes the connection; nothing is allocated before the size is
//! checked, so memory stays bounded by `socket.request.max.bytes` per connection.
//! A connection whose client went over a quota is muted (nothing read) for
//! the throttle time after its response, as Kafka does since KIP-219.

use crate::server::kafka_apis::{KafkaApis, RequestOutcome, ResponsePart};
use bytes::{BufMut, BytesMut};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct SocketServer {
    listener: TcpListener,
    max_request_bytes: usize,
}

impl SocketServer {
    /// Binds the listener (port 0 picks a free port).
    pub async fn bind(addr: &str, max_request_bytes: i32) -> std::io::Result<SocketServer> {
        let listener = TcpListener::bind(addr).await?;
        Ok(SocketServer { listener, max_request_bytes: max_request_bytes.max(0) as usize })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections until `shutdown` turns true.
    pub async fn run(self, apis: Arc<KafkaApis>, mut shutdown: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let apis = apis.clone();
                        let max = self.max_request_bytes;
                        let shutdown = shutdown.clone();
                        tokio::spawn(async move {
                            if let Err(e) = serve_connection(stream, peer, apis, max, shutdown).await {
                                log::debug!("connection from {peer} closed: {e}");
                            }
                        });
                    }
                    Err(e) => {
                        log::warn!("accept failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                },
                _ = shutdown.changed() => {
                    if *shutdown.borrow() { break; }
                }
            }
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    apis: Arc<KafkaApis>,
    max_request_bytes: usize,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    // The PLAINTEXT listener's connections are `User:ANONYMOUS`.
    let session = Arc::new(crate::security::Session::anonymous(peer, "PLAINTEXT"));
    let (rd, wr) = stream.into_split();
    let mut rd = BufReader::with_capacity(64 * 1024, rd);
    let mut wr = BufWriter::with_capacity(64 * 1024, wr);
    loop {
        let size = tokio::select! {
            r = rd.read_i32() => match r {
                Ok(s) => s,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(e),
            },
            _ = shutdown.changed() => return Ok(()),
        };
        if size < 0 || size as usize > max_request_bytes {
            log::warn!(
                "closing connection from {peer}: request size {size} is outside 0..={max_request_bytes} (socket.request.max.bytes)"
            );
            return Ok(());
        }
        let frame = read_frame(&mut rd, size as usize).await?;
        let received = std::time::Instant::now();
        let (outcome, mute_ms, timer) = apis.handle_timed(frame.freeze(), &session, received).await;
        let write_started = std::time::Instant::now();
        match outcome {
            RequestOutcome::Respond(bytes) => wr.write_all(&bytes).await?,
            RequestOutcome::RespondParts(parts) => write_parts(&mut wr, parts).await?,
            RequestOutcome::NoResponse => {}
            RequestOutcome::Close(reason) => {
                log::warn!("closing connection from {peer}: {reason}");
                wr.flush().await?;
                return Ok(());
            }
        }
        // Flush once the client has nothing more queued, so pipelined
        // requests share one write.
        if rd.buffer().is_empty() || mute_ms > 0 {
            wr.flush().await?;
        }
        if let Some(t) = timer {
            t.sent(write_started);
        }
        if mute_ms > 0 {
            // A client over its quota: its response is out, and nothing more
            // of it is read until the throttle time has passed (Kafka mutes
            // the channel, KIP-219).
            log::debug!("muting connection from {peer} for {mute_ms} ms (client quota)");
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(mute_ms as u64)) => {}
                _ = shutdown.changed() => return Ok(()),
            }
        }
    }
}

/// Writes a response made of bytes and segment-file slices; the slices go
/// from the page cache to the socket (`FileRecords::write_to`, sendfile).
async fn write_parts(wr: &mut BufWriter<OwnedWriteHalf>, parts: Vec<ResponsePart>) -> std::io::Result<()> {
    for part in parts {
        match part {
            ResponsePart::Bytes(b) => wr.write_all(&b).await?,
            ResponsePart::File(f) => {
                wr.flush().await?;
                f.write_to(wr.get_ref().as_ref()).await?;
            }
        }
    }
    Ok(())
}

/// Reads a frame body of `size` bytes, growing the buffer only as bytes
/// arrive: a client that claims a large size and sends little costs little.
async fn read_frame<R: tokio::io::AsyncRead + Unpin>(rd: &mut R, size: usize) -> std::io::Result<BytesMut> {
    const CHUNK: usize = 256 * 1024;
    let mut frame = BytesMut::with_capacity(size.min(CHUNK));
    while frame.len() < size {
        let want = (size - frame.len()).min(CHUNK);
        frame.reserve(want);
        let n = rd.read_buf(&mut (&mut frame).limit(want)).await?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed inside a request"));
        }
    }
    Ok(frame)
}
