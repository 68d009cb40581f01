//! The broker's HTTP endpoint on `metrics.port`: Prometheus metrics and the
//! live view of the cluster. Kafka itself has no HTTP server; its metrics
//! reach Prometheus through JMX and the Prometheus JMX exporter agent, whose
//! HTTP port this endpoint takes the place of.
//!
//! A deliberately small HTTP/1.1 server: GET and HEAD only, one request per
//! connection (`Connection: close`), request heads bounded to 16 KiB and read
//! with a timeout, so a bad client costs little. Handlers are tried in the
//! order they were added; the first that answers wins, otherwise 404. A
//! handler may answer with a stream (server-sent events), written chunk by
//! chunk until either side stops.

use bytes::Bytes;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

/// Largest request head (request line and headers) we read.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    /// The path without the query string, e.g. `/metrics`.
    pub path: String,
    /// The raw query string after `?` (empty when there is none).
    pub query: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
}

impl HttpRequest {
    /// The first value of query parameter `name` (no percent-decoding).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
    }
}

pub enum HttpBody {
    Full(Bytes),
    /// Chunks written as they arrive until the sender is dropped or the
    /// client goes away (for `text/event-stream`).
    Stream(mpsc::Receiver<Bytes>),
}

pub struct HttpResponse {
    pub status: u16,
    pub content_type: String,
    pub body: HttpBody,
}

impl HttpResponse {
    pub fn ok(content_type: &str, body: impl Into<Bytes>) -> HttpResponse {
        HttpResponse { status: 200, content_type: content_type.to_string(), body: HttpBody::Full(body.into()) }
    }

    pub fn text(status: u16, body: impl Into<String>) -> HttpResponse {
        let body: String = body.into();
        HttpResponse { status, content_type: "text/plain; charset=utf-8".to_string(), body: HttpBody::Full(Bytes::from(body)) }
    }
}

pub type HandlerFuture = Pin<Box<dyn Future<Output = Option<HttpResponse>> + Send>>;
/// A route: answers the requests it knows (`Some`), passes on the others (`None`).
pub type HttpHandler = Arc<dyn Fn(HttpRequest) -> HandlerFuture + Send + Sync>;

/// The handlers of the endpoint; more can be added while it runs (the
/// controller's page is added once the controller has started).
#[derive(Clone, Default)]
pub struct HttpRoutes {
    handlers: Arc<RwLock<Vec<HttpHandler>>>,
}

impl HttpRoutes {
    pub fn add(&self, handler: HttpHandler) {
        if let Ok(mut h) = self.handlers.write() {
            h.push(handler);
        }
    }

    async fn answer(&self, req: HttpRequest) -> HttpResponse {
        let handlers: Vec<HttpHandler> = match self.handlers.read() {
            Ok(h) => h.clone(),
            Err(_) => Vec::new(),
        };
        for h in handlers {
            if let Some(resp) = h(req.clone()).await {
                return resp;
            }
        }
        HttpResponse::text(404, "not found\n")
    }
}

pub struct HttpServer {
    listener: TcpListener,
}

impl HttpServer {
    pub async fn bind(addr: &str) -> std::io::Result<HttpServer> {
        Ok(HttpServer { listener: TcpListener::bind(addr).await? })
    }

    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` turns true.
    pub async fn run(self, routes: HttpRoutes, mut shutdown: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let routes = routes.clone();
                        let shutdown = shutdown.clone();
                        tokio::spawn(async move {
                            if let Err(e) = serve(stream, routes, shutdown).await {
                                log::debug!("HTTP connection from {peer} closed: {e}");
                            }
                        });
                    }
                    Err(e) => {
                        log::warn!("HTTP accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                _ = shutdown.changed() => {
                    if *shutdown.borrow() { break; }
                }
            }
        }
    }
}

async fn serve(mut stream: TcpStream, routes: HttpRoutes, mut shutdown: watch::Receiver<bool>) -> std::io::Result<()> {
    let head = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)).await {
        Ok(r) => r?,
        Err(_) => return Ok(()),
    };
    let req = match parse_head(&head) {
        Ok(r) => r,
        Err(status) => return write_response(&mut stream, HttpResponse::text(status, "bad request\n"), false, &mut shutdown).await,
    };
    let head_only = req.method == "HEAD";
    let resp = if req.method == "GET" || head_only {
        routes.answer(req).await
    } else {
        HttpResponse::text(405, "only GET and HEAD\n")
    };
    write_response(&mut stream, resp, head_only, &mut shutdown).await
}

/// Reads up to the blank line that ends the head; anything longer than
/// `MAX_HEAD_BYTES` is refused.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed before the request head ended"));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find_head_end(&buf) {
            buf.truncate(end);
            return Ok(buf);
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "request head too large"));
        }
    }
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").or_else(|| buf.windows(2).position(|w| w == b"\n\n"))
}

/// Parses a request line and headers; an error is the HTTP status to answer.
pub fn parse_head(head: &[u8]) -> Result<HttpRequest, u16> {
    let text = std::str::from_utf8(head).map_err(|_| 400u16)?;
    let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
    let request_line = lines.next().ok_or(400u16)?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(400);
    };
    if parts.next().is_some() || !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return Err(400);
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once(':').ok_or(400u16)?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    Ok(HttpRequest { method: method.to_string(), path: path.to_string(), query: query.to_string(), headers })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

async fn write_response(
    stream: &mut TcpStream,
    resp: HttpResponse,
    head_only: bool,
    shutdown: &mut watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nConnection: close\r\n", resp.status, reason(resp.status), resp.content_type);
    match resp.body {
        HttpBody::Full(body) => {
            head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
            stream.write_all(head.as_bytes()).await?;
            if !head_only {
                stream.write_all(&body).await?;
            }
        }
        HttpBody::Stream(mut rx) => {
            head.push_str("Cache-Control: no-cache\r\n\r\n");
            stream.write_all(head.as_bytes()).await?;
            if head_only {
                return stream.flush().await;
            }
            loop {
                tokio::select! {
                    chunk = rx.recv() => match chunk {
                        Some(c) => { stream.write_all(&c).await?; stream.flush().await?; }
                        None => break,
                    },
                    _ = shutdown.changed() => break,
                }
            }
        }
    }
    stream.flush().await?;
    let _ = stream.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_request_heads() {
        let r = parse_head(b"GET /metrics?x=1&y=2 HTTP/1.1\r\nHost: a\r\nAccept: */*").unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/metrics");
        assert_eq!(r.query_param("y"), Some("2"));
        assert_eq!(r.headers[0], ("host".to_string(), "a".to_string()));
        assert_eq!(parse_head(b"GET metrics HTTP/1.1"), Err(400));
        assert_eq!(parse_head(b"GET / SPDY/3"), Err(400));
        assert_eq!(parse_head(b"GET /\r\nbad header"), Err(400));
        assert_eq!(parse_head(&[0xff, 0xfe]), Err(400));
    }
}
