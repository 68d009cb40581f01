//! The network layer: accepts connections, reads size-prefixed request frames,
//! hands each to `KafkaApis` in order, and writes the responses back. Maps to
//! Kafka's `kafka.network.SocketServer` (Acceptor + Processor).
//!
//! Requests on one connection are handled in order and answered in order,
//! as Kafka does by muting a channel while its request is in flight, with one
//! difference: an acks=all Produce that has appended and waits for its ISR
//! lets the next Produce of the connection be read and appended meanwhile
//! (`serve_requests`), so a producer's pipelined requests share replication
//! rounds instead of waiting for one round each. A frame whose size
//! is negative or above `socket.request.max.bytes`, or whose header cannot be
//! parsed, closes the connection; nothing is allocated before the size is
//! checked, so memory stays bounded by `socket.request.max.bytes` per
//! connection (about twice that while pipelined produces wait).
//! A connection whose client went over a quota is muted (nothing read) for
//! the throttle time after its response, as Kafka does since KIP-219.
//!
//! One `SocketServer` serves one listener (Kafka's Acceptor per `EndPoint`)
//! with the listener's security protocol: PLAINTEXT connections are
//! `User:ANONYMOUS` and send fetched records with sendfile; SSL connections
//! first complete a TLS handshake (a client that sends plaintext, or fails
//! the handshake, is logged with its address and closed), take their
//! principal from the client certificate's distinguished name, and copy
//! fetched records through memory in bounded chunks (TLS encrypts in user
//! space, so sendfile cannot be used).

use crate::security::ssl::{subject_dn, ClientAuth, PrincipalMapper};
use crate::security::{KafkaPrincipal, Session};
use crate::server::kafka_apis::{KafkaApis, RequestOutcome, ResponsePart};
use crate::zk::SecurityProtocol;
use bytes::{BufMut, BytesMut};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter, WriteHalf};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long a client has to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// A listener's name and security: what `SocketServer` does with a new
/// connection before its first request.
pub struct ListenerSecurity {
    /// The listener's (normalised) name, e.g. `PLAINTEXT`, `INTERNAL`.
    pub name: String,
    pub protocol: SecurityProtocol,
    /// The TLS server side for SSL and SASL_SSL listeners.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    pub client_auth: ClientAuth,
    /// SASL_PLAINTEXT and SASL_SSL: mechanisms and PLAIN users.
    pub sasl: Option<crate::security::SaslListenerConfig>,
    /// The broker's SCRAM credentials (set by `KafkaServer`).
    pub credentials: Arc<crate::security::credential_cache::CredentialCache>,
}

impl ListenerSecurity {
    pub fn plaintext(name: &str) -> ListenerSecurity {
        ListenerSecurity {
            name: name.to_string(),
            protocol: SecurityProtocol::Plaintext,
            tls: None,
            client_auth: ClientAuth::None,
            sasl: None,
            credentials: Default::default(),
        }
    }
}

pub struct SocketServer {
    listener: TcpListener,
    max_request_bytes: usize,
    security: Arc<ListenerSecurity>,
}

impl SocketServer {
    /// Binds the listener (port 0 picks a free port).
    pub async fn bind(addr: &str, max_request_bytes: i32, security: ListenerSecurity) -> std::io::Result<SocketServer> {
        let listener = TcpListener::bind(addr).await?;
        Ok(SocketServer { listener, max_request_bytes: max_request_bytes.max(0) as usize, security: Arc::new(security) })
    }

    pub fn listener_name(&self) -> &str {
        &self.security.name
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
                        let security = self.security.clone();
                        tokio::spawn(async move {
                            let name = security.name.clone();
                            if let Err(e) = serve_connection(stream, peer, apis, max, shutdown, security).await {
                                log::debug!("connection from {peer} on listener {name} closed: {e}");
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
    security: Arc<ListenerSecurity>,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let listener = security.name.as_str();
    match security.protocol {
        SecurityProtocol::Plaintext => {
            // PLAINTEXT connections are `User:ANONYMOUS`.
            let session = Arc::new(Session::anonymous(peer, listener));
            let (rd, wr) = stream.into_split();
            let rd = BufReader::with_capacity(64 * 1024, rd);
            let wr = Writer::Plain(BufWriter::with_capacity(64 * 1024, wr));
            serve_requests(rd, wr, session, apis, max_request_bytes, shutdown, None).await
        }
        SecurityProtocol::Ssl => {
            let Some(tls) = tls_handshake(stream, peer, &security, &mut shutdown).await else { return Ok(()) };
            let principal = match tls_principal(&tls, security.client_auth) {
                Ok(p) => p,
                Err(e) => {
                    log::warn!("closing connection from {peer} on listener {listener}: {e}");
                    return Ok(());
                }
            };
            log::debug!("TLS connection from {peer} on listener {listener} as {principal}");
            let session = Arc::new(Session { principal, peer, listener_name: listener.to_string() });
            let (rd, wr) = tokio::io::split(tls);
            let rd = BufReader::with_capacity(64 * 1024, rd);
            let wr = Writer::Tls(BufWriter::with_capacity(64 * 1024, wr));
            serve_requests(rd, wr, session, apis, max_request_bytes, shutdown, None).await
        }
        SecurityProtocol::SaslPlaintext => {
            // SASL first (SaslServerAuthenticator), then requests as the
            // authenticated principal.
            let mut stream = stream;
            let Some((principal, reauth)) = sasl_authenticate(&mut stream, peer, &security, &mut shutdown).await else { return Ok(()) };
            let session = Arc::new(Session { principal, peer, listener_name: listener.to_string() });
            let (rd, wr) = stream.into_split();
            let rd = BufReader::with_capacity(64 * 1024, rd);
            let wr = Writer::Plain(BufWriter::with_capacity(64 * 1024, wr));
            serve_requests(rd, wr, session, apis, max_request_bytes, shutdown, Some(reauth)).await
        }
        SecurityProtocol::SaslSsl => {
            let Some(mut tls) = tls_handshake(stream, peer, &security, &mut shutdown).await else { return Ok(()) };
            let Some((principal, reauth)) = sasl_authenticate(&mut tls, peer, &security, &mut shutdown).await else { return Ok(()) };
            let session = Arc::new(Session { principal, peer, listener_name: listener.to_string() });
            let (rd, wr) = tokio::io::split(tls);
            let rd = BufReader::with_capacity(64 * 1024, rd);
            let wr = Writer::Tls(BufWriter::with_capacity(64 * 1024, wr));
            serve_requests(rd, wr, session, apis, max_request_bytes, shutdown, Some(reauth)).await
        }
    }
}

/// The TLS handshake of a new connection on an SSL or SASL_SSL listener
/// (bounded by the handshake timeout); `None` when it failed (logged with
/// the client's address) or the broker is shutting down.
async fn tls_handshake(
    stream: TcpStream,
    peer: SocketAddr,
    security: &ListenerSecurity,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let listener = security.name.as_str();
    let Some(acceptor) = security.tls.clone() else {
        log::error!("closing connection from {peer}: listener {listener} has no TLS settings");
        return None;
    };
    let handshake = tokio::select! {
        r = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)) => r,
        _ = shutdown.changed() => return None,
    };
    match handshake {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(e)) => {
            log::warn!(
                "closing connection from {peer} on listener {listener}: TLS handshake failed: {e} (a client without TLS, or an untrusted certificate?)"
            );
            None
        }
        Err(_) => {
            log::warn!("closing connection from {peer} on listener {listener}: no TLS handshake within {} s", HANDSHAKE_TIMEOUT.as_secs());
            None
        }
    }
}

/// KIP-368 state of an authenticated SASL connection: the authenticator's
/// context for re-authentication and when the session expires
/// (`connections.max.reauth.ms` after the last authentication).
struct Reauth {
    ctx: crate::security::SaslServerContext,
    expires: Option<std::time::Instant>,
    /// When the last re-authentication started.
    last_start: Option<std::time::Instant>,
}

impl Reauth {
    fn new(ctx: crate::security::SaslServerContext) -> Reauth {
        let mut r = Reauth { ctx, expires: None, last_start: None };
        r.authenticated();
        r
    }

    fn authenticated(&mut self) {
        self.expires = (self.ctx.max_reauth_ms > 0)
            .then(|| std::time::Instant::now() + Duration::from_millis(self.ctx.max_reauth_ms));
    }

    fn expired(&self) -> bool {
        self.expires.is_some_and(|t| std::time::Instant::now() >= t)
    }

    /// As Kafka's `KafkaChannel.maybeBeginServerReauthentication`: only
    /// sessions that expire re-authenticate, at most once a second; otherwise
    /// the SaslHandshake goes to `KafkaApis` (ILLEGAL_SASL_STATE).
    fn may_begin(&mut self) -> bool {
        if self.expires.is_none() || self.last_start.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
            return false;
        }
        self.last_start = Some(std::time::Instant::now());
        true
    }
}

/// Runs the SASL exchange of a new connection (bounded by the handshake
/// timeout); `None` when it failed (already answered and logged) or the
/// broker is shutting down.
async fn sasl_authenticate<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send>(
    stream: &mut S,
    peer: SocketAddr,
    security: &ListenerSecurity,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<(KafkaPrincipal, Reauth)> {
    let Some(cfg) = &security.sasl else {
        log::error!("closing connection from {peer}: listener {} has no SASL settings", security.name);
        return None;
    };
    let ctx = cfg.for_connection(security.credentials.clone(), peer);
    let r = tokio::select! {
        r = tokio::time::timeout(HANDSHAKE_TIMEOUT, crate::security::authenticate(stream, &ctx)) => r,
        _ = shutdown.changed() => return None,
    };
    match r {
        Ok(Ok(p)) => {
            log::debug!("SASL connection from {peer} on listener {} as {p}", security.name);
            Some((p, Reauth::new(ctx)))
        }
        Ok(Err(e)) => {
            log::debug!("{e}");
            None
        }
        Err(_) => {
            log::warn!("closing connection from {peer} on listener {}: SASL authentication not completed within {} s", security.name, HANDSHAKE_TIMEOUT.as_secs());
            None
        }
    }
}

/// The principal of a TLS connection (Kafka's `DefaultKafkaPrincipalBuilder`
/// for SSL): the client certificate's distinguished name through
/// `ssl.principal.mapping.rules` when the client presented one, else
/// `User:ANONYMOUS` (`ssl.client.auth=none` or `requested` without one).
fn tls_principal(tls: &tokio_rustls::server::TlsStream<TcpStream>, auth: ClientAuth) -> Result<KafkaPrincipal, String> {
    if auth == ClientAuth::None {
        return Ok(KafkaPrincipal::anonymous());
    }
    match tls.get_ref().1.peer_certificates().and_then(|c| c.first()) {
        Some(cert) => {
            let dn = subject_dn(cert.as_ref())?;
            Ok(KafkaPrincipal::user(&PrincipalMapper.name(&dn)))
        }
        None => Ok(KafkaPrincipal::anonymous()),
    }
}

type TlsServerStream = tokio_rustls::server::TlsStream<TcpStream>;

/// The write side of a connection: plain TCP (fetched records by
/// sendfile) or TLS (fetched records copied through memory).
enum Writer {
    Plain(BufWriter<OwnedWriteHalf>),
    Tls(BufWriter<WriteHalf<TlsServerStream>>),
}

impl Writer {
    async fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        match self {
            Writer::Plain(w) => w.write_all(b).await,
            Writer::Tls(w) => w.write_all(b).await,
        }
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Writer::Plain(w) => w.flush().await,
            Writer::Tls(w) => w.flush().await,
        }
    }

    /// Writes a response made of bytes and segment-file slices; on plain
    /// TCP the slices go from the page cache to the socket
    /// (`FileRecords::write_to`, sendfile).
    ///
    /// On plain TCP the bytes before each file slice (the response header,
    /// the next partition's fields) are sent with `MSG_MORE`, so the kernel
    /// holds them until the sendfile that follows and both leave in one
    /// segment: with `TCP_NODELAY` each piece would otherwise be pushed on
    /// its own (a loopback receive, a wake-up and a read of the peer per
    /// piece). Same system calls as before, fewer segments.
    async fn write_parts(&mut self, parts: Vec<ResponsePart>) -> std::io::Result<()> {
        let mut parts = parts.into_iter().peekable();
        while let Some(part) = parts.next() {
            let file_next = matches!(parts.peek(), Some(ResponsePart::File(_)));
            match part {
                ResponsePart::Bytes(b) if b.is_empty() => {}
                ResponsePart::Bytes(b) => match self {
                    Writer::Plain(w) if file_next => {
                        w.flush().await?;
                        send_more(w.get_ref().as_ref(), &b).await?;
                    }
                    _ => self.write_all(&b).await?,
                },
                ResponsePart::File(f) => match self {
                    Writer::Plain(w) => {
                        w.flush().await?;
                        f.write_to(w.get_ref().as_ref()).await?;
                    }
                    Writer::Tls(w) => f.copy_to(w).await?,
                },
            }
        }
        Ok(())
    }
}

/// Sends all of `b` with `MSG_MORE` (Linux): queued, not pushed, until the
/// next send without it (here the sendfile of the records that follow).
async fn send_more(stream: &TcpStream, mut b: &[u8]) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let fd = stream.as_raw_fd();
        while !b.is_empty() {
            stream.writable().await?;
            let r = stream.try_io(tokio::io::Interest::WRITABLE, || {
                // SAFETY: the descriptor is open for the call (the stream is
                // borrowed) and `b` is a live slice of the length passed.
                let n = unsafe { libc::send(fd, b.as_ptr().cast(), b.len(), libc::MSG_MORE | libc::MSG_NOSIGNAL) };
                if n < 0 {
                    Err(std::io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            match r {
                Ok(0) => return Err(std::io::Error::new(std::io::ErrorKind::WriteZero, "connection closed while sending a response")),
                Ok(n) => b = &b[n..],
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        while !b.is_empty() {
            stream.writable().await?;
            match stream.try_write(b) {
                Ok(n) => b = &b[n..],
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// How many Produce requests of one connection may be in flight at once:
/// appended and waiting for their ISR (acks=-1) while the next is read. A
/// waiting request keeps its frame, so the next is also read only while the
/// frames in flight are under `socket.request.max.bytes` together: a
/// connection holds at most about twice that, not 16 times.
const MAX_PIPELINED_PRODUCES: usize = 16;

/// What a request's handling produced: the outcome, the mute time (ms) and
/// the metrics timer (`KafkaApis::handle_timed`).
type Handled = (RequestOutcome, i64, Option<crate::server::metrics::request_metrics::RequestTimer>);

/// A request of the connection in flight: its handling until it completes,
/// then its result until its turn to be answered.
struct InFlight<'a> {
    handling: Option<std::pin::Pin<Box<dyn std::future::Future<Output = Handled> + Send + 'a>>>,
    done: Option<Handled>,
    /// set by a Produce once appended and waiting (`RequestContext::appended`)
    appended: Arc<std::sync::atomic::AtomicBool>,
    /// the request frame's size in bytes
    size: usize,
}

impl InFlight<'_> {
    /// Whether the request after it may be read and handled now: it is done,
    /// or it is a Produce whose appends are done.
    fn lets_next_in(&self) -> bool {
        self.done.is_some() || self.appended.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// Polls every request in flight. Ready once the oldest is done, or (with
/// `until_next_in`) once the newest lets the next request in.
fn poll_in_flight(q: &mut std::collections::VecDeque<InFlight<'_>>, until_next_in: bool, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
    for f in q.iter_mut() {
        if let Some(h) = f.handling.as_mut() {
            if let std::task::Poll::Ready(r) = h.as_mut().poll(cx) {
                f.done = Some(r);
                f.handling = None;
            }
        }
    }
    let head_done = q.front().is_some_and(|f| f.done.is_some());
    let next_in = until_next_in && q.back().is_some_and(InFlight::lets_next_in);
    if head_done || next_in {
        std::task::Poll::Ready(())
    } else {
        std::task::Poll::Pending
    }
}

/// The request loop of an established (and, on secured listeners,
/// authenticated) connection. On SASL connections (`reauth`), a
/// SaslHandshake v1+ starts a KIP-368 re-authentication, and once the
/// session has expired any other request closes the connection.
///
/// Requests are handled in order, and answered in order. One exception to
/// "one at a time" (Kafka mutes the channel until each response is sent):
/// a Produce that has appended its batches and waits for its ISR (acks=-1)
/// lets the connection read the next request, and if that is a Produce too
/// it is appended meanwhile (up to `MAX_PIPELINED_PRODUCES`), so a
/// producer's pipelined requests share one replication round instead of
/// queueing for one round each. Any other request waits until everything
/// before it is answered, and SASL connections (re-authentication) are not
/// pipelined.
async fn serve_requests<R: AsyncRead + Unpin + Send>(
    mut rd: BufReader<R>,
    mut wr: Writer,
    session: Arc<Session>,
    apis: Arc<KafkaApis>,
    max_request_bytes: usize,
    mut shutdown: watch::Receiver<bool>,
    mut reauth: Option<Reauth>,
) -> std::io::Result<()> {
    let peer = session.peer;
    let net = &crate::server::metrics::metrics().socket_server;
    let _open = net.connection_opened(&session.listener_name);
    let mut q: std::collections::VecDeque<InFlight<'_>> = std::collections::VecDeque::new();
    // A request read while others were in flight that may not overlap them.
    let mut held: Option<BytesMut> = None;
    // Answers written but not yet flushed: their timers stop at the flush.
    let mut unsent: Vec<(crate::server::metrics::request_metrics::RequestTimer, std::time::Instant)> = Vec::new();
    loop {
        // Answer, in order, every request whose handling is done.
        let mut wrote = false;
        while q.front().is_some_and(|f| f.done.is_some()) {
            let Some((outcome, mute_ms, timer)) = q.pop_front().and_then(|f| f.done) else { break };
            let write_started = std::time::Instant::now();
            match outcome {
                RequestOutcome::Respond(bytes) => {
                    let (r, busy) = crate::server::kafka_apis::timed(wr.write_all(&bytes)).await;
                    net.network_busy(busy);
                    r?
                }
                RequestOutcome::RespondParts(parts) => {
                    let (r, busy) = crate::server::kafka_apis::timed(wr.write_parts(parts)).await;
                    net.network_busy(busy);
                    r?
                }
                RequestOutcome::NoResponse => {}
                RequestOutcome::Close(reason) => {
                    log::warn!("closing connection from {peer}: {reason}");
                    wr.flush().await?;
                    return Ok(());
                }
            }
            wrote = true;
            if let Some(t) = timer {
                unsent.push((t, write_started));
            }
            if mute_ms > 0 {
                // A client over its quota: its response is out, and nothing more
                // of it is read until the throttle time has passed (Kafka mutes
                // the channel, KIP-219).
                wr.flush().await?;
                wrote = false;
                unsent.drain(..).for_each(|(t, started)| t.sent(started));
                log::debug!("muting connection from {peer} for {mute_ms} ms (client quota)");
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_millis(mute_ms as u64)) => {}
                    _ = shutdown.changed() => return Ok(()),
                }
            }
        }
        // Flush once the client has nothing more queued, so pipelined
        // requests share one write; at once if more answers are to come.
        if wrote && (rd.buffer().is_empty() || !q.is_empty()) {
            wr.flush().await?;
            unsent.drain(..).for_each(|(t, started)| t.sent(started));
        }
        let frame = match held.take_if(|_| q.is_empty()) {
            Some(f) => f,
            None => {
                let room = held.is_none()
                    && q.len() < MAX_PIPELINED_PRODUCES
                    && (q.is_empty() || q.iter().map(|f| f.size).sum::<usize>() < max_request_bytes);
                let may_read = room && q.back().is_none_or(InFlight::lets_next_in);
                // Wait for the next request's first bytes, or for progress
                // of those in flight (`fill_buf` keeps what it read when the
                // other branch wins).
                let readable = tokio::select! {
                    biased;
                    _ = shutdown.changed() => return Ok(()),
                    _ = std::future::poll_fn(|cx| poll_in_flight(&mut q, room && !may_read, cx)), if !q.is_empty() => false,
                    r = rd.fill_buf(), if may_read => {
                        if r?.is_empty() {
                            return Ok(());
                        }
                        true
                    }
                };
                if !readable {
                    continue;
                }
                let size = match rd.read_i32().await {
                    Ok(s) => s,
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                    Err(e) => return Err(e),
                };
                if size < 0 || size as usize > max_request_bytes {
                    log::warn!(
                        "closing connection from {peer}: request size {size} is outside 0..={max_request_bytes} (socket.request.max.bytes)"
                    );
                    return Ok(());
                }
                let (frame, busy) = crate::server::kafka_apis::timed(read_frame(&mut rd, size as usize)).await;
                net.network_busy(busy);
                let frame = frame?;
                let may_overlap = reauth.is_none() && key_version(&frame).is_some_and(|(k, _)| k == crate::protocol::ApiKey::Produce.id());
                if !may_overlap && !q.is_empty() {
                    // Everything before it is answered first.
                    held = Some(frame);
                    continue;
                }
                frame
            }
        };
        let key_version = key_version(&frame);
        if let Some(state) = reauth.as_mut() {
            match key_version {
                Some((k, v)) if k == crate::protocol::ApiKey::SaslHandshake.id() && v >= 1 && state.may_begin() => {
                    wr.flush().await?;
                    if !reauthenticate(&mut rd, &mut wr, &session, state, frame.freeze(), &mut shutdown).await {
                        return Ok(());
                    }
                    continue;
                }
                _ if state.expired() => {
                    log::info!(
                        "closing connection from {peer} on listener {}: its SASL session of {} expired (connections.max.reauth.ms) \
                         and the client did not re-authenticate",
                        session.listener_name,
                        session.principal
                    );
                    wr.flush().await?;
                    return Ok(());
                }
                _ => {}
            }
        }
        let received = std::time::Instant::now();
        let size = frame.len();
        let appended = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let handling = apis.handle_timed(frame.freeze(), &session, received, Some(appended.clone()));
        q.push_back(InFlight { handling: Some(Box::pin(handling)), done: None, appended, size });
    }
}

/// A request frame's API key and version (its header's first two fields).
fn key_version(frame: &[u8]) -> Option<(i16, i16)> {
    (frame.len() >= 4).then(|| (i16::from_be_bytes([frame[0], frame[1]]), i16::from_be_bytes([frame[2], frame[3]])))
}

/// One KIP-368 re-authentication on the connection's own reader and writer;
/// false when the connection must close (failed, timed out, shutting down,
/// or the client authenticated as another principal).
async fn reauthenticate<R: AsyncRead + Unpin + Send>(
    rd: &mut BufReader<R>,
    wr: &mut Writer,
    session: &Session,
    state: &mut Reauth,
    handshake: bytes::Bytes,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    let peer = session.peer;
    let mut duplex = Duplex { rd, wr };
    let r = tokio::select! {
        r = tokio::time::timeout(HANDSHAKE_TIMEOUT, crate::security::reauthenticate(&mut duplex, &state.ctx, handshake)) => r,
        _ = shutdown.changed() => return false,
    };
    match r {
        Ok(Ok(p)) if p == session.principal => {
            log::debug!("connection from {peer} on listener {} re-authenticated as {p}", session.listener_name);
            state.authenticated();
            true
        }
        Ok(Ok(p)) => {
            log::info!(
                "closing connection from {peer} on listener {}: re-authentication may not change the principal ({} to {p})",
                session.listener_name,
                session.principal
            );
            false
        }
        Ok(Err(e)) => {
            log::info!("closing connection from {peer}: re-authentication failed: {e}");
            false
        }
        Err(_) => {
            log::warn!("closing connection from {peer}: re-authentication not completed within {} s", HANDSHAKE_TIMEOUT.as_secs());
            false
        }
    }
}

/// The connection's buffered reader and writer as one stream, for the
/// authenticator during re-authentication.
struct Duplex<'a, R> {
    rd: &'a mut BufReader<R>,
    wr: &'a mut Writer,
}

impl<R: AsyncRead + Unpin> AsyncRead for Duplex<'_, R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut *self.rd).poll_read(cx, buf)
    }
}

impl<R: Unpin> tokio::io::AsyncWrite for Duplex<'_, R> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match &mut *self.wr {
            Writer::Plain(w) => std::pin::Pin::new(w).poll_write(cx, buf),
            Writer::Tls(w) => std::pin::Pin::new(w).poll_write(cx, buf),
        }
    }

    fn poll_flush(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        match &mut *self.wr {
            Writer::Plain(w) => std::pin::Pin::new(w).poll_flush(cx),
            Writer::Tls(w) => std::pin::Pin::new(w).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        match &mut *self.wr {
            Writer::Plain(w) => std::pin::Pin::new(w).poll_shutdown(cx),
            Writer::Tls(w) => std::pin::Pin::new(w).poll_shutdown(cx),
        }
    }
}

/// Reads a frame body of `size` bytes, growing the buffer only as bytes
/// arrive: a client that claims a large size and sends little costs little.
async fn read_frame<R: AsyncRead + Unpin>(rd: &mut R, size: usize) -> std::io::Result<BytesMut> {
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

/// A listener's server-side security from the broker configuration (TLS
/// settings read with the listener's `listener.name.<l>.` prefix first).
pub fn listener_security(config: &crate::config::KafkaConfig, name: &str) -> Result<ListenerSecurity, String> {
    let protocol = config
        .security_protocol(name)
        .ok_or_else(|| format!("No security protocol defined for listener {name}"))?;
    match protocol {
        SecurityProtocol::Plaintext => Ok(ListenerSecurity::plaintext(name)),
        SecurityProtocol::Ssl => {
            let ssl = crate::security::ssl::SslSettings::from_config(config, name)?;
            let tls = tokio_rustls::TlsAcceptor::from(ssl.server_config()?);
            Ok(ListenerSecurity {
                name: name.to_string(),
                protocol,
                tls: Some(tls),
                client_auth: ssl.client_auth,
                sasl: None,
                credentials: Default::default(),
            })
        }
        SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl => {
            let sasl = crate::security::SaslListenerConfig::from_props(&config.props, name)?;
            let (tls, client_auth) = if protocol == SecurityProtocol::SaslSsl {
                let ssl = crate::security::ssl::SslSettings::from_config(config, name)?;
                (Some(tokio_rustls::TlsAcceptor::from(ssl.server_config()?)), ssl.client_auth)
            } else {
                (None, ClientAuth::None)
            };
            Ok(ListenerSecurity { name: name.to_string(), protocol, tls, client_auth, sasl: Some(sasl), credentials: Default::default() })
        }
    }
}

/// How this broker connects to other brokers' `listener` (controller
/// requests, replica fetchers, controlled shutdown): the client side of
/// the listener's security, with this broker's keystore as its client
/// certificate.
pub fn channel_security(config: &crate::config::KafkaConfig, listener: &str) -> Result<crate::client::ChannelSecurity, String> {
    let protocol = config
        .security_protocol(listener)
        .ok_or_else(|| format!("No security protocol defined for listener {listener}"))?;
    let tls = match protocol {
        SecurityProtocol::Ssl | SecurityProtocol::SaslSsl => {
            Some(crate::security::ssl::SslSettings::from_config(config, listener)?.client_config()?)
        }
        _ => None,
    };
    let sasl = match protocol {
        SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl => Some(inter_broker_sasl_credentials(&config.props, listener)?),
        _ => None,
    };
    Ok(crate::client::ChannelSecurity { protocol, tls, sasl })
}

/// The broker's own SASL login on a SASL inter-broker listener:
/// `sasl.mechanism.inter.broker.protocol` (Kafka's default GSSAPI is not
/// implemented) and the `username`/`password` of that listener's JAAS
/// config for the mechanism (Kafka's `JaasContext.loadServerContext`).
pub fn inter_broker_sasl_credentials(
    props: &std::collections::BTreeMap<String, String>,
    listener: &str,
) -> Result<crate::client::SaslCredentials, String> {
    let mechanism = props.get("sasl.mechanism.inter.broker.protocol").map(|s| s.trim().to_string()).unwrap_or_else(|| "GSSAPI".into());
    if !crate::security::sasl_server_authenticator::SUPPORTED_MECHANISMS.contains(&mechanism.as_str()) {
        return Err(format!(
            "sasl.mechanism.inter.broker.protocol={mechanism} is not supported (one of {})",
            crate::security::sasl_server_authenticator::SUPPORTED_MECHANISMS.join(", ")
        ));
    }
    let jaas = crate::security::plain::jaas_config_for(props, listener, &mechanism)
        .ok_or_else(|| format!("no JAAS config (listener.name.{}.{}.sasl.jaas.config) for the inter-broker login", listener.to_ascii_lowercase(), mechanism.to_ascii_lowercase()))??;
    let (username, password) = jaas
        .username_password()
        .ok_or_else(|| format!("the JAAS config of listener {listener} for {mechanism} has no username/password for the inter-broker login"))?;
    Ok(crate::client::SaslCredentials { mechanism, username, password })
}
