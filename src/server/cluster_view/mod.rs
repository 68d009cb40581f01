//! The live view of the cluster (no Kafka counterpart: a learner's window on
//! ZooKeeper-era Kafka): a page served on every broker's `metrics.port` that
//! shows ZooKeeper's Kafka znodes, the brokers, the controller, every
//! partition's replicas with leader, ISR, leader epoch, LEO and HW, and a
//! timeline of what the controller and the brokers did (`controller::event_log`).
//!
//! Routes: `/` and `/ui` (the page, from `assets/`), `/ui/api/local` (this
//! broker's replicas and event log), `/ui/api/cluster` (ZooKeeper's view plus
//! every live broker's `/ui/api/local`, fetched by this broker from the
//! `zkafka_http_port` of each registration), `/ui/api/zk?path=` (one znode).
//! The page talks only to the broker that served it.

use crate::controller::event_log::{self, Entry};
use crate::server::http_server::{HttpRequest, HttpResponse, HttpRoutes};
use crate::server::replica_manager::ReplicaManager;
use crate::zk::kafka_zk_client::KafkaZkClient;
use crate::zk::zk_data::BrokerInfo;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// Events returned per broker and poll (the oldest new ones; the next poll
/// continues after them).
const EVENTS_PER_POLL: usize = 2000;
/// Largest answer read from a peer's `/ui/api/local`.
const MAX_PEER_BODY: usize = 32 * 1024 * 1024;
/// Largest znode data shown.
const MAX_ZNODE_DATA: usize = 64 * 1024;
/// Most children listed for one znode.
const MAX_CHILDREN: usize = 5000;

/// What the routes need of the broker.
struct View {
    zk: KafkaZkClient,
    replica_manager: Arc<ReplicaManager>,
    broker_id: i32,
}

/// Adds the page and its API to the broker's HTTP endpoint.
pub fn register(routes: &HttpRoutes, zk: KafkaZkClient, replica_manager: Arc<ReplicaManager>, broker_id: i32) {
    let view = Arc::new(View { zk, replica_manager, broker_id });
    routes.add(Arc::new(move |req: HttpRequest| {
        let view = view.clone();
        Box::pin(async move { view.answer(req).await })
    }));
}

impl View {
    async fn answer(&self, req: HttpRequest) -> Option<HttpResponse> {
        Some(match req.path.as_str() {
            "/" | "/ui" | "/ui/" => HttpResponse::ok("text/html; charset=utf-8", INDEX_HTML),
            "/ui/app.js" => HttpResponse::ok("text/javascript; charset=utf-8", APP_JS),
            "/ui/style.css" => HttpResponse::ok("text/css; charset=utf-8", STYLE_CSS),
            "/ui/api/local" => {
                let since = req.query_param("since").and_then(|s| s.parse().ok()).unwrap_or(0);
                json_response(&self.local(since))
            }
            "/ui/api/cluster" => {
                let cursors = parse_cursors(req.query_param("since").unwrap_or(""));
                match self.cluster(&cursors).await {
                    Ok(v) => json_response(&v),
                    Err(e) => HttpResponse::text(503, format!("cannot read ZooKeeper: {e}\n")),
                }
            }
            "/ui/api/zk" => {
                let Some(path) = req.query_param("path").and_then(percent_decode).filter(|p| valid_znode_path(p)) else {
                    return Some(HttpResponse::text(400, "path must be an absolute znode path\n"));
                };
                match self.znode(&path).await {
                    Ok(v) => json_response(&v),
                    Err(e) => HttpResponse::text(503, format!("cannot read {path}: {e}\n")),
                }
            }
            _ => return None,
        })
    }

    /// This broker's replicas and its event log after `since`.
    fn local(&self, since: u64) -> LocalView {
        let now = crate::common::now_ms();
        let mut replicas: Vec<LocalReplica> = self
            .replica_manager
            .all_partitions()
            .iter()
            .map(|p| {
                let st = p.state();
                LocalReplica {
                    topic: p.tp.topic.clone(),
                    partition: p.tp.partition,
                    leader: st.leader,
                    leader_epoch: st.leader_epoch,
                    isr: st.isr,
                    leo: p.log_end_offset(),
                    hw: p.high_watermark(),
                    log_start: p.log_start_offset(),
                    followers: p
                        .replica_views(now)
                        .into_iter()
                        .filter(|(id, _, _)| *id != self.broker_id)
                        .map(|(id, leo, ms)| FollowerView { id, leo, caught_up_ms_ago: ms })
                        .collect(),
                }
            })
            .collect();
        replicas.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        let (events, cursor) = event_log::snapshot(since, EVENTS_PER_POLL);
        LocalView { broker_id: self.broker_id, cursor, events: events.into_iter().map(LocalEvent::from).collect(), replicas }
    }

    /// ZooKeeper's view of the cluster joined with every live broker's local view.
    async fn cluster(&self, cursors: &HashMap<i32, u64>) -> Result<Value, crate::zk::kafka_zk_client::ZkError> {
        let brokers = self.zk.get_all_brokers_and_epochs().await?;
        let controller = self.zk.get_controller_id().await.ok().flatten();
        let controller_epoch = self.zk.get_controller_epoch().await.ok().flatten();
        let topics = self.zk.get_all_topics().await?;
        let mut assignments = tokio::task::JoinSet::new();
        for t in &topics {
            let zk = self.zk.clone();
            let t = t.clone();
            assignments.spawn(async move {
                let a = zk.get_topic_assignment(&t).await;
                (t, a)
            });
        }
        let mut by_topic = BTreeMap::new();
        while let Some(done) = assignments.join_next().await {
            if let Ok((t, Ok(Some(a)))) = done {
                by_topic.insert(t, a);
            }
        }
        let partitions: Vec<crate::common::TopicPartition> = by_topic
            .iter()
            .flat_map(|(t, a)| a.partitions.keys().map(move |p| crate::common::TopicPartition::new(t.clone(), *p)))
            .collect();
        let states = self.zk.get_partition_states(partitions.iter()).await?;

        // Every live broker's local view (our own without HTTP).
        let mut locals: BTreeMap<i32, Result<LocalView, String>> = BTreeMap::new();
        let mut fetches = tokio::task::JoinSet::new();
        for (id, (info, _)) in &brokers {
            let since = cursors.get(id).copied().unwrap_or(0);
            if *id == self.broker_id {
                locals.insert(*id, Ok(self.local(since)));
                continue;
            }
            let Some(addr) = http_address(info) else {
                locals.insert(*id, Err("no zkafka_http_port in its registration (metrics.port unset)".into()));
                continue;
            };
            let id = *id;
            fetches.spawn(async move { (id, fetch_local(&addr, since).await) });
        }
        while let Some(done) = fetches.join_next().await {
            if let Ok((id, r)) = done {
                locals.insert(id, r);
            }
        }
        Ok(build_cluster_json(self.broker_id, &brokers, controller, controller_epoch, &by_topic, &states, &locals))
    }

    async fn znode(&self, path: &str) -> Result<Value, crate::zk::kafka_zk_client::ZkError> {
        let data = self.zk.get_data(path).await?;
        let Some((bytes, stat)) = data else {
            return Ok(json!({"path": path, "exists": false}));
        };
        let mut children = self.zk.get_children(path).await?;
        children.sort();
        let total = children.len();
        children.truncate(MAX_CHILDREN);
        let shown = &bytes[..bytes.len().min(MAX_ZNODE_DATA)];
        Ok(json!({
            "path": path,
            "exists": true,
            "data": String::from_utf8_lossy(shown),
            "data_length": bytes.len(),
            "stat": {
                "czxid": stat.czxid, "mzxid": stat.mzxid, "version": stat.version,
                "ephemeral_owner": format!("{:#x}", stat.ephemeral_owner),
                "num_children": stat.num_children, "ctime": stat.ctime, "mtime": stat.mtime,
            },
            "children": children,
            "children_total": total,
        }))
    }
}

/// What `/ui/api/local` answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocalView {
    pub broker_id: i32,
    /// Where the next poll of the event log starts (`since=`).
    pub cursor: u64,
    #[serde(default)]
    pub events: Vec<LocalEvent>,
    #[serde(default)]
    pub replicas: Vec<LocalReplica>,
}

/// An event-log entry as it travels between brokers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocalEvent {
    pub seq: u64,
    pub time_ms: i64,
    pub kind: String,
    pub source: String,
    pub kafka_class: String,
    pub text: String,
}

impl From<Entry> for LocalEvent {
    fn from(e: Entry) -> Self {
        LocalEvent {
            seq: e.seq,
            time_ms: e.time_ms,
            kind: format!("{:?}", e.kind),
            source: e.source.to_string(),
            kafka_class: e.kafka_class.to_string(),
            text: e.text,
        }
    }
}

/// One replica hosted by the broker, as the broker sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocalReplica {
    pub topic: String,
    pub partition: i32,
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    pub leo: i64,
    pub hw: i64,
    pub log_start: i64,
    /// On the leader: its view of each follower (KIP-392's ReplicaView).
    #[serde(default)]
    pub followers: Vec<FollowerView>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FollowerView {
    pub id: i32,
    pub leo: i64,
    pub caught_up_ms_ago: i64,
}

fn json_response<T: Serialize>(v: &T) -> HttpResponse {
    match serde_json::to_vec(v) {
        Ok(b) => HttpResponse::ok("application/json", b),
        Err(e) => HttpResponse::text(500, format!("cannot encode: {e}\n")),
    }
}

/// `1:34,2:10` → {1: 34, 2: 10} (bad pairs are ignored).
pub fn parse_cursors(s: &str) -> HashMap<i32, u64> {
    s.split(',')
        .filter_map(|kv| kv.split_once(':'))
        .filter_map(|(k, v)| Some((k.parse().ok()?, v.parse().ok()?)))
        .collect()
}

/// Decodes `%XX` escapes and `+`; `None` for bad escapes or non-UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// An absolute znode path ZooKeeper would accept for reading.
pub fn valid_znode_path(p: &str) -> bool {
    p.starts_with('/')
        && p.len() <= 1024
        && (p == "/" || !p.ends_with('/'))
        && !p.contains("//")
        && !p.split('/').any(|c| c == "." || c == "..")
        && !p.chars().any(|c| c.is_control())
}

/// `host:port` of a broker's HTTP endpoint: the host of its first endpoint
/// (the listener the HTTP server binds next to) and its `zkafka_http_port`.
pub fn http_address(info: &BrokerInfo) -> Option<String> {
    let port = info.http_port?;
    let host = info.endpoints.first().map(|e| e.host.clone()).filter(|h| !h.is_empty()).unwrap_or_else(|| "127.0.0.1".into());
    Some(if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") })
}

/// GET `/ui/api/local?since=` from a peer (small client: one request per
/// connection, bounded time and size).
async fn fetch_local(addr: &str, since: u64) -> Result<LocalView, String> {
    let work = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connect {addr}: {e}"))?;
        let req = format!("GET /ui/api/local?since={since} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16384];
        loop {
            let n = s.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.len() > MAX_PEER_BODY {
                return Err(format!("answer from {addr} too large"));
            }
        }
        parse_local_answer(&buf)
    };
    tokio::time::timeout(Duration::from_secs(3), work).await.unwrap_or_else(|_| Err(format!("{addr} did not answer in 3 s")))
}

/// The body of a `200` answer, parsed.
pub fn parse_local_answer(buf: &[u8]) -> Result<LocalView, String> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no HTTP head")?;
    let head = String::from_utf8_lossy(&buf[..end]);
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(format!("answered {}", head.lines().next().unwrap_or("")));
    }
    serde_json::from_slice(&buf[end + 4..]).map_err(|e| format!("bad JSON: {e}"))
}

/// The `/ui/api/cluster` answer: pure, from what was read.
pub fn build_cluster_json(
    served_by: i32,
    brokers: &BTreeMap<i32, (BrokerInfo, i64)>,
    controller: Option<i32>,
    controller_epoch: Option<(i32, i32)>,
    topics: &BTreeMap<String, crate::zk::zk_data::TopicAssignment>,
    states: &HashMap<crate::common::TopicPartition, crate::zk::zk_data::LeaderIsrAndControllerEpoch>,
    locals: &BTreeMap<i32, Result<LocalView, String>>,
) -> Value {
    let replica_of: HashMap<(i32, &str, i32), &LocalReplica> = locals
        .iter()
        .filter_map(|(id, r)| r.as_ref().ok().map(|l| (id, l)))
        .flat_map(|(id, l)| l.replicas.iter().map(move |r| ((*id, r.topic.as_str(), r.partition), r)))
        .collect();
    let broker_json: Vec<Value> = brokers
        .iter()
        .map(|(id, (info, epoch))| {
            let local = locals.get(id);
            json!({
                "id": id,
                "endpoints": info.endpoints.iter().map(|e| e.connection_string()).collect::<Vec<_>>(),
                "rack": info.rack,
                "broker_epoch": epoch,
                "registered_ms": info.timestamp,
                "http": http_address(info),
                "is_controller": controller == Some(*id),
                "reachable": matches!(local, Some(Ok(_))),
                "error": local.and_then(|l| l.as_ref().err()),
            })
        })
        .collect();
    let topic_json: Vec<Value> = topics
        .iter()
        .map(|(t, a)| {
            let parts: Vec<Value> = a
                .partitions
                .iter()
                .map(|(p, ra)| {
                    let st = states.get(&crate::common::TopicPartition::new(t.clone(), *p));
                    let leader = st.map(|s| s.leader_and_isr.leader).unwrap_or(-1);
                    let isr: Vec<i32> = st.map(|s| s.leader_and_isr.isr.clone()).unwrap_or_default();
                    let leader_leo = replica_of.get(&(leader, t.as_str(), *p)).map(|r| r.leo);
                    let leader_view = replica_of.get(&(leader, t.as_str(), *p));
                    let replicas: Vec<Value> = ra
                        .replicas
                        .iter()
                        .map(|r| {
                            let own = replica_of.get(&(*r, t.as_str(), *p));
                            let seen_by_leader = leader_view.and_then(|l| l.followers.iter().find(|f| f.id == *r));
                            json!({
                                "id": r,
                                "live": brokers.contains_key(r),
                                "leader": *r == leader,
                                "in_isr": isr.contains(r),
                                "leo": own.map(|o| o.leo),
                                "hw": own.map(|o| o.hw),
                                "log_start": own.map(|o| o.log_start),
                                "leader_epoch_seen": own.map(|o| o.leader_epoch),
                                "lag": match (leader_leo, own) { (Some(l), Some(o)) => Some((l - o.leo).max(0)), _ => None },
                                "leo_seen_by_leader": seen_by_leader.map(|f| f.leo),
                                "caught_up_ms_ago": seen_by_leader.map(|f| f.caught_up_ms_ago),
                            })
                        })
                        .collect();
                    json!({
                        "partition": p,
                        "replicas": replicas,
                        "adding": ra.adding_replicas,
                        "removing": ra.removing_replicas,
                        "leader": leader,
                        "leader_epoch": st.map(|s| s.leader_and_isr.leader_epoch),
                        "isr": isr,
                        "controller_epoch": st.map(|s| s.controller_epoch),
                        "zk_version": st.map(|s| s.leader_and_isr.zk_version),
                        "has_state": st.is_some(),
                    })
                })
                .collect();
            json!({
                "name": t,
                "topic_id": a.topic_id.map(|id| crate::zk::zk_data::uuid_to_string(&id)),
                "partitions": parts,
            })
        })
        .collect();
    let mut events: Vec<Value> = Vec::new();
    let mut cursors = serde_json::Map::new();
    for (id, l) in locals {
        if let Ok(l) = l {
            cursors.insert(id.to_string(), json!(l.cursor));
            for e in &l.events {
                events.push(json!({
                    "broker": id, "seq": e.seq, "time_ms": e.time_ms, "kind": e.kind,
                    "source": e.source, "kafka_class": e.kafka_class, "text": e.text,
                }));
            }
        }
    }
    events.sort_by_key(|e| (e["time_ms"].as_i64().unwrap_or(0), e["broker"].as_i64().unwrap_or(0), e["seq"].as_u64().unwrap_or(0)));
    json!({
        "served_by": served_by,
        "time_ms": crate::common::now_ms(),
        "controller": { "id": controller, "epoch": controller_epoch.map(|(e, _)| e), "epoch_zk_version": controller_epoch.map(|(_, v)| v) },
        "brokers": broker_json,
        "topics": topic_json,
        "events": events,
        "cursors": cursors,
    })
}

#[cfg(test)]
mod tests;
