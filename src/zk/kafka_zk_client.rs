//! KafkaZkClient: every ZooKeeper read and write the broker and controller do
//! (Kafka's `kafka.zk.KafkaZkClient` over `ZooKeeperClient`). It owns the
//! session: connects with retries, creates the chroot, re-establishes a new
//! session after expiry and tells subscribers (`subscribe_session_reinit`) so
//! the broker re-registers and the controller re-elects. Controller writes are
//! fenced by a `check(/controller_epoch, zkVersion)` in the same multi.

use super::zk_data::*;
use super::zk_security::{ZkSecurity, ZkSecuritySysProps};
use crate::common::TopicPartition;
use log::{debug, error, info, warn};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use zookeeper_client as zk;

/// Connection settings (Kafka's `zookeeper.*` broker configs).
#[derive(Debug, Clone)]
pub struct ZkClientConfig {
    /// `zookeeper.connect`: `host:port[,host:port...][/chroot]`.
    pub connect: String,
    /// `zookeeper.session.timeout.ms` (default 18000).
    pub session_timeout: Duration,
    /// `zookeeper.connection.timeout.ms` (defaults to the session timeout):
    /// how long to keep trying before giving up on establishing a session.
    pub connection_timeout: Duration,
}

impl ZkClientConfig {
    pub fn new(connect: impl Into<String>) -> Self {
        ZkClientConfig {
            connect: connect.into(),
            session_timeout: Duration::from_millis(18000),
            connection_timeout: Duration::from_millis(18000),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZkError {
    /// A ZooKeeper operation failed.
    Zk { op: &'static str, path: String, source: zk::Error },
    NodeExists(String),
    NoNode(String),
    /// The `/controller_epoch` fence failed: another controller was elected.
    ControllerMoved(String),
    /// Another live session holds `/brokers/ids/<id>`.
    BrokerIdAlreadyRegistered(i32),
    /// No session could be established within `zookeeper.connection.timeout.ms`.
    ConnectionTimeout(String),
    /// The connect string cannot be used.
    BadConnectString(String),
    /// A znode holds bytes that do not decode.
    InvalidData { path: String, reason: String },
    /// `close` was called.
    Closed,
    /// The session's security cannot be set up (JAAS login, SASL failure).
    Security(String),
}

impl fmt::Display for ZkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZkError::Zk { op, path, source } => write!(f, "ZooKeeper {op} {path} failed: {source}"),
            ZkError::NodeExists(p) => write!(f, "znode {p} already exists"),
            ZkError::NoNode(p) => write!(f, "znode {p} does not exist"),
            ZkError::ControllerMoved(s) => write!(f, "controller moved: {s}"),
            ZkError::BrokerIdAlreadyRegistered(id) => write!(
                f,
                "broker id {id} already registered: /brokers/ids/{id} is held by another live ZooKeeper session \
                 (another broker is running with broker.id={id})"
            ),
            ZkError::ConnectionTimeout(s) => write!(f, "{s}"),
            ZkError::BadConnectString(s) => write!(f, "bad zookeeper.connect: {s}"),
            ZkError::InvalidData { path, reason } => write!(f, "invalid data in znode {path}: {reason}"),
            ZkError::Closed => write!(f, "ZooKeeper client is closed"),
            ZkError::Security(s) => write!(f, "{s}"),
        }
    }
}

impl std::error::Error for ZkError {}

type Result<T> = std::result::Result<T, ZkError>;

fn zk_err(op: &'static str, path: &str, e: zk::Error) -> ZkError {
    match e {
        zk::Error::NodeExists => ZkError::NodeExists(path.to_string()),
        zk::Error::NoNode => ZkError::NoNode(path.to_string()),
        source => ZkError::Zk { op, path: path.to_string(), source },
    }
}

fn invalid(path: &str, e: DecodeError) -> ZkError {
    ZkError::InvalidData { path: path.to_string(), reason: e.0 }
}

/// Creation options for `path`: `mode` with Kafka's default ACLs for it
/// (`ZkData.defaultAcls`; open unless the session is secure).
fn create_opts(mode: zk::CreateMode, secure: bool, path: &str) -> zk::CreateOptions<'static> {
    mode.with_acls(super::zk_security::default_acls(secure, path))
}

/// Creates `path` and its missing parents, each with its own default ACLs
/// (ZooKeeper's `mkdir` would give every parent the leaf's ACLs).
async fn mkdir_with_acls(client: &zk::Client, path: &str, secure: bool) -> std::result::Result<(), zk::Error> {
    if !secure {
        return client.mkdir(path, &create_opts(zk::CreateMode::Persistent, false, path)).await;
    }
    let mut end = 0;
    let mut last = Ok(());
    while end < path.len() {
        end = path[end + 1..].find('/').map(|i| end + 1 + i).unwrap_or(path.len());
        let prefix = &path[..end];
        last = match client.create(prefix, &[], &create_opts(zk::CreateMode::Persistent, true, prefix)).await {
            Ok(_) => Ok(()),
            Err(zk::Error::NodeExists) => Err(zk::Error::NodeExists),
            Err(e) => return Err(e),
        };
    }
    last
}

/// Splits `h1:p1,h2:p2/chroot` into hosts and an optional chroot.
pub fn split_connect_string(connect: &str) -> Result<(String, Option<String>)> {
    let connect = connect.trim();
    let (hosts, chroot) = match connect.find('/') {
        Some(i) => (&connect[..i], Some(&connect[i..])),
        None => (connect, None),
    };
    if hosts.is_empty() {
        return Err(ZkError::BadConnectString(format!("no hosts in {connect:?}")));
    }
    let chroot = match chroot {
        None | Some("/") => None,
        Some(c) => {
            let c = c.trim_end_matches('/');
            if c.contains("//") {
                return Err(ZkError::BadConnectString(format!("bad chroot in {connect:?}")));
            }
            Some(c.to_string())
        }
    };
    Ok((hosts.to_string(), chroot))
}

struct Inner {
    config: ZkClientConfig,
    security: ZkSecurity,
    hosts: String,
    chroot: Option<String>,
    client: RwLock<Option<zk::Client>>,
    session_tx: watch::Sender<u64>,
    /// Sessions this process held before (their ephemerals may be deleted).
    previous_sessions: Mutex<Vec<i64>>,
    closed: AtomicBool,
    /// The server refused a multiRead (ZooKeeper before 3.6): read one znode
    /// per request from then on.
    no_multi_read: AtomicBool,
}

/// Kafka's `KafkaZkClient`. Cheap to clone; all clones share one session.
#[derive(Clone)]
pub struct KafkaZkClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for KafkaZkClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaZkClient").field("connect", &self.inner.config.connect).finish()
    }
}

/// Connects once, retrying until `give_up_after`; creates the chroot.
async fn establish(
    hosts: &str,
    chroot: Option<&str>,
    config: &ZkClientConfig,
    security: &ZkSecurity,
    give_up_after: Duration,
) -> Result<zk::Client> {
    let deadline = Instant::now() + give_up_after;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let remaining = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
        let mut connector = zk::Client::connector().with_session_timeout(config.session_timeout).with_fail_eagerly();
        if let Some(sasl) = security.sasl_options() {
            connector = connector.with_sasl(sasl);
        }
        match tokio::time::timeout(remaining, connector.connect(hosts)).await {
            Ok(Ok(client)) => {
                let client = match chroot {
                    None => client,
                    Some(root) => {
                        match mkdir_with_acls(&client, root, security.secure_acls).await {
                            Ok(()) | Err(zk::Error::NodeExists) => {}
                            Err(e) => return Err(zk_err("create chroot", root, e)),
                        }
                        client
                            .chroot(root.to_string())
                            .map_err(|_| ZkError::BadConnectString(format!("bad chroot {root:?}")))?
                    }
                };
                crate::server::metrics::zookeeper_client_metrics::session_event(zk::SessionState::SyncConnected);
                info!("Connected to ZooKeeper at {hosts} (chroot {:?}), session {}", chroot, client.session_id());
                return Ok(client);
            }
            Ok(Err(zk::Error::AuthFailed)) => {
                return Err(ZkError::Security(format!(
                    "SASL authentication to ZooKeeper at {hosts} failed (check the username and password of the JAAS \
                     Client section)"
                )))
            }
            Ok(Err(e)) => warn!("Connecting to ZooKeeper at {hosts} failed (attempt {attempt}): {e}"),
            Err(_) => warn!("Connecting to ZooKeeper at {hosts} timed out (attempt {attempt})"),
        }
        if Instant::now() >= deadline {
            return Err(ZkError::ConnectionTimeout(format!(
                "Timed out waiting for connection to ZooKeeper at {hosts} after {} ms (zookeeper.connection.timeout.ms)",
                give_up_after.as_millis()
            )));
        }
        tokio::time::sleep(Duration::from_millis(500).min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

/// Watches the session; after it expires, establishes a new one and bumps the
/// session counter so subscribers re-register their ephemerals and watches.
async fn session_monitor(weak: Weak<Inner>) {
    loop {
        let mut states = {
            let Some(inner) = weak.upgrade() else { return };
            let guard = inner.client.read().unwrap_or_else(|e| e.into_inner());
            match guard.as_ref() {
                Some(c) => c.state_watcher(),
                None => return,
            }
        };
        loop {
            match states.changed().await {
                zk::SessionState::Expired => {
                    crate::server::metrics::zookeeper_client_metrics::session_event(zk::SessionState::Expired);
                    warn!("ZooKeeper session expired");
                    break;
                }
                zk::SessionState::AuthFailed => {
                    crate::server::metrics::zookeeper_client_metrics::session_event(zk::SessionState::AuthFailed);
                    error!("ZooKeeper authentication failed");
                    break;
                }
                zk::SessionState::Closed => {
                    crate::server::metrics::zookeeper_client_metrics::session_event(zk::SessionState::Closed);
                    break;
                }
                zk::SessionState::Disconnected => {
                    crate::server::metrics::zookeeper_client_metrics::session_event(zk::SessionState::Disconnected);
                    warn!("Disconnected from ZooKeeper; reconnecting")
                }
                s => {
                    crate::server::metrics::zookeeper_client_metrics::session_event(s);
                    debug!("ZooKeeper session state {s:?}")
                }
            }
        }
        let Some(inner) = weak.upgrade() else { return };
        if inner.closed.load(Ordering::SeqCst) {
            return;
        }
        if let Some(old) = inner.client.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
            inner.previous_sessions.lock().unwrap_or_else(|e| e.into_inner()).push(old.session_id().0);
        }
        loop {
            if inner.closed.load(Ordering::SeqCst) {
                return;
            }
            match establish(&inner.hosts, inner.chroot.as_deref(), &inner.config, &inner.security, inner.config.connection_timeout)
                .await
            {
                Ok(c) => {
                    info!("Established a new ZooKeeper session {}", c.session_id());
                    *inner.client.write().unwrap_or_else(|e| e.into_inner()) = Some(c);
                    break;
                }
                Err(e) => {
                    error!("Could not re-establish a ZooKeeper session: {e}; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        inner.session_tx.send_modify(|n| *n += 1);
    }
}

/// Partition state updates per ZooKeeper multi in `update_leader_and_isr`
/// (each state is ~100 bytes of JSON: a multi stays far below jute.maxbuffer).
pub const LEADER_AND_ISR_UPDATES_PER_MULTI: usize = 64;

/// Partition state reads per ZooKeeper multiRead in `get_partition_states`
/// (a state and its stat are ~170 bytes: 256 of them ~45 KB per response,
/// far below jute.maxbuffer).
pub const PARTITION_STATE_READS_PER_MULTI: usize = 256;

impl KafkaZkClient {
    /// Connects (retrying until `connection_timeout`), creating the chroot if
    /// missing, with the security of Kafka's ZooKeeper-mode tools: SASL
    /// (DIGEST-MD5) when `KAFKA_OPTS` names a JAAS file with a `Client`
    /// login, and then secure ACLs ([`ZkSecurity::for_tools`]).
    pub async fn connect(config: ZkClientConfig) -> Result<Self> {
        let security = ZkSecurity::for_tools(&ZkSecuritySysProps::from_env()).map_err(ZkError::Security)?;
        Self::connect_with_security(config, security).await
    }

    /// Connects with the given session security (the broker's comes from
    /// `zookeeper.set.acl` and `KAFKA_OPTS`: [`ZkSecurity::for_broker`]).
    pub async fn connect_with_security(config: ZkClientConfig, security: ZkSecurity) -> Result<Self> {
        let (hosts, chroot) = split_connect_string(&config.connect)?;
        if let Some(super::zk_security::ZkSaslLogin::DigestMd5 { username, .. }) = &security.sasl {
            info!("Authenticating the ZooKeeper session with SASL DIGEST-MD5 as {username} (secure ACLs: {})", security.secure_acls);
        }
        let client = establish(&hosts, chroot.as_deref(), &config, &security, config.connection_timeout).await?;
        let (session_tx, _) = watch::channel(0u64);
        let inner = Arc::new(Inner {
            config,
            security,
            hosts,
            chroot,
            client: RwLock::new(Some(client)),
            session_tx,
            previous_sessions: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            no_multi_read: AtomicBool::new(false),
        });
        tokio::spawn(session_monitor(Arc::downgrade(&inner)));
        Ok(KafkaZkClient { inner })
    }

    /// Whether znodes are created with Kafka's secure ACLs (`isSecure`).
    pub fn secure(&self) -> bool {
        self.inner.security.secure_acls
    }

    /// Persistent creation options for `path` (its default ACLs).
    fn persistent(&self, path: &str) -> zk::CreateOptions<'static> {
        create_opts(zk::CreateMode::Persistent, self.secure(), path)
    }

    /// The current session's client.
    fn client(&self) -> Result<zk::Client> {
        self.inner.client.read().unwrap_or_else(|e| e.into_inner()).clone().ok_or(ZkError::Closed)
    }

    /// The current session id.
    pub fn session_id(&self) -> Result<i64> {
        Ok(self.client()?.session_id().0)
    }

    /// Counts sessions: 0 for the first, +1 each time a new session replaced an
    /// expired one. Holders re-create ephemerals and watches on every change.
    pub fn subscribe_session_reinit(&self) -> watch::Receiver<u64> {
        self.inner.session_tx.subscribe()
    }

    /// Closes the session (ephemerals vanish once no clone uses it any more).
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        self.inner.client.write().unwrap_or_else(|e| e.into_inner()).take();
    }

    /// Closes the session and waits, up to `timeout`, until ZooKeeper has
    /// ended it, so this broker's ephemeral znodes (`/brokers/ids/<id>`,
    /// `/controller`) are gone before the process exits, as Kafka's
    /// synchronous ZooKeeper close does.
    pub async fn close_and_wait(&self, timeout: Duration) {
        self.inner.closed.store(true, Ordering::SeqCst);
        let client = self.inner.client.write().unwrap_or_else(|e| e.into_inner()).take();
        let Some(client) = client else { return };
        let mut state = client.state_watcher();
        drop(client);
        let _ = tokio::time::timeout(timeout, async {
            while !state.changed().await.is_terminated() {}
        })
        .await;
    }

    /// Test hook: ends the current session from a second connection (session
    /// takeover + close), as a ZooKeeper-side expiry would.
    #[doc(hidden)]
    pub async fn expire_session_for_testing(&self) -> Result<()> {
        let info = self.client()?.session().clone();
        let before = self.session_id()?;
        let mut last = None;
        // Take the session over and close it. Our own client may win the
        // connection back before the close goes out, so repeat until a
        // takeover is refused (the session is gone) or ours was replaced.
        for _ in 0..10 {
            if self.session_id().is_ok_and(|id| id != before) {
                return Ok(());
            }
            let connect = zk::Client::connector()
                .with_session(info.clone())
                .with_session_timeout(self.inner.config.session_timeout)
                .connect(&self.inner.hosts);
            match tokio::time::timeout(Duration::from_secs(10), connect).await {
                Ok(Ok(other)) => {
                    let mut state = other.state_watcher();
                    drop(other);
                    let _ = tokio::time::timeout(Duration::from_secs(5), async {
                        while !state.changed().await.is_terminated() {}
                    })
                    .await;
                }
                Ok(Err(zk::Error::SessionExpired)) => return Ok(()),
                Ok(Err(e)) => last = Some(e),
                Err(_) => last = Some(zk::Error::Timeout),
            }
        }
        Err(zk_err("connect", "/", last.unwrap_or(zk::Error::Timeout)))
    }

    // ------------------------------------------------------------ raw helpers

    pub async fn get_data(&self, path: &str) -> Result<Option<(Vec<u8>, zk::Stat)>> {
        let _latency = crate::server::metrics::zookeeper_client_metrics::ZkRequestTimer::start();
        match self.client()?.get_data(path).await {
            Ok(v) => Ok(Some(v)),
            Err(zk::Error::NoNode) => Ok(None),
            Err(e) => Err(zk_err("getData", path, e)),
        }
    }

    pub async fn exists(&self, path: &str) -> Result<Option<zk::Stat>> {
        let _latency = crate::server::metrics::zookeeper_client_metrics::ZkRequestTimer::start();
        self.client()?.check_stat(path).await.map_err(|e| zk_err("exists", path, e))
    }

    /// Children of `path`, empty if it does not exist.
    pub async fn get_children(&self, path: &str) -> Result<Vec<String>> {
        let _latency = crate::server::metrics::zookeeper_client_metrics::ZkRequestTimer::start();
        match self.client()?.list_children(path).await {
            Ok(v) => Ok(v),
            Err(zk::Error::NoNode) => Ok(Vec::new()),
            Err(e) => Err(zk_err("getChildren", path, e)),
        }
    }

    /// Children plus a one-shot child watch (fires on child change, deletion or session loss).
    pub async fn get_children_and_watch(&self, path: &str) -> Result<(Vec<String>, zk::OneshotWatcher)> {
        let _latency = crate::server::metrics::zookeeper_client_metrics::ZkRequestTimer::start();
        let c = self.client()?;
        let r = c.list_and_watch_children(path).await;
        r.map_err(|e| zk_err("getChildren+watch", path, e))
    }

    /// Stat (if any) plus a one-shot exists/data watch.
    pub async fn exists_and_watch(&self, path: &str) -> Result<(Option<zk::Stat>, zk::OneshotWatcher)> {
        let _latency = crate::server::metrics::zookeeper_client_metrics::ZkRequestTimer::start();
        let c = self.client()?;
        let r = c.check_and_watch_stat(path).await;
        r.map_err(|e| zk_err("exists+watch", path, e))
    }

    /// Deletes one znode (any version).
    pub async fn delete_path(&self, path: &str) -> Result<()> {
        let _latency = crate::server::metrics::zookeeper_client_metrics::ZkRequestTimer::start();
        self.client()?.delete(path, None).await.map_err(|e| zk_err("delete", path, e))
    }

    /// Creates a persistent path and its parents, tolerating existing ones.
    pub async fn make_sure_persistent_path_exists(&self, path: &str) -> Result<()> {
        match mkdir_with_acls(&self.client()?, path, self.secure()).await {
            Ok(()) | Err(zk::Error::NodeExists) => Ok(()),
            Err(e) => Err(zk_err("mkdir", path, e)),
        }
    }

    /// Conditional setData (Kafka's `conditionalUpdatePath`): writes only if the
    /// znode is at `expected_version`; `Ok(None)` on a version conflict,
    /// otherwise the new version.
    pub async fn conditional_set_data(&self, path: &str, data: &[u8], expected_version: i32) -> Result<Option<i32>> {
        let _latency = crate::server::metrics::zookeeper_client_metrics::ZkRequestTimer::start();
        match self.client()?.set_data(path, data, Some(expected_version)).await {
            Ok(stat) => Ok(Some(stat.version)),
            Err(zk::Error::BadVersion) => Ok(None),
            Err(e) => Err(zk_err("setData", path, e)),
        }
    }

    /// Creates `path` with `data`, creating missing parents (null data) first.
    pub async fn create_recursive(&self, path: &str, data: &[u8]) -> Result<()> {
        let _latency = crate::server::metrics::zookeeper_client_metrics::ZkRequestTimer::start();
        let c = self.client()?;
        match c.create(path, data, &self.persistent(path)).await {
            Ok(_) => Ok(()),
            Err(zk::Error::NoNode) => {
                if let Some(i) = path.rfind('/') {
                    if i > 0 {
                        self.make_sure_persistent_path_exists(&path[..i]).await?;
                    }
                }
                c.create(path, data, &self.persistent(path)).await.map(|_| ()).map_err(|e| zk_err("create", path, e))
            }
            Err(e) => Err(zk_err("create", path, e)),
        }
    }

    /// Creates Kafka's persistent top-level paths (idempotent).
    pub async fn create_top_level_paths(&self) -> Result<()> {
        for p in persistent_zk_paths() {
            self.make_sure_persistent_path_exists(&p).await?;
        }
        Ok(())
    }

    // ------------------------------------------------------------ cluster id

    pub async fn get_cluster_id(&self) -> Result<Option<String>> {
        match self.get_data(CLUSTER_ID_PATH).await? {
            None => Ok(None),
            Some((d, _)) => decode_cluster_id(&d).map(Some).map_err(|e| invalid(CLUSTER_ID_PATH, e)),
        }
    }

    /// Reads `/cluster/id`, creating it with a fresh 22-char id if absent
    /// (the first creator wins; losers read the winner's id).
    pub async fn get_or_create_cluster_id(&self) -> Result<String> {
        if let Some(id) = self.get_cluster_id().await? {
            return Ok(id);
        }
        let proposed = uuid_to_string(&random_uuid());
        match self.create_recursive(CLUSTER_ID_PATH, &encode_cluster_id(&proposed)).await {
            Ok(()) => Ok(proposed),
            Err(ZkError::NodeExists(_)) => self
                .get_cluster_id()
                .await?
                .ok_or_else(|| ZkError::NoNode(CLUSTER_ID_PATH.to_string())),
            Err(e) => Err(e),
        }
    }

    // ------------------------------------------------------------ brokers

    /// Registers `/brokers/ids/<id>` as a checked ephemeral and returns the
    /// broker epoch (the znode's czxid).
    pub async fn register_broker(&self, info: &BrokerInfo) -> Result<i64> {
        let path = broker_id_path(info.id);
        let data = info.encode();
        for _ in 0..5 {
            let c = self.client()?;
            let session = c.session_id().0;
            let mut w = c.new_multi_writer();
            w.add_create(&path, &[], &create_opts(zk::CreateMode::Ephemeral, self.secure(), &path)).map_err(|e| zk_err("create", &path, e))?;
            w.add_set_data(&path, &data, Some(0)).map_err(|e| zk_err("setData", &path, e))?;
            match w.commit().await {
                Ok(results) => {
                    let czxid = results
                        .into_iter()
                        .find_map(|r| match r {
                            zk::MultiWriteResult::SetData { stat } => Some(stat.czxid),
                            _ => None,
                        })
                        .ok_or_else(|| ZkError::InvalidData { path: path.clone(), reason: "no stat from registration".into() })?;
                    info!(
                        "Registered broker {} at path {} with addresses: {}, czxid (broker epoch): {}",
                        info.id,
                        path,
                        info.endpoints.iter().map(|e| e.connection_string()).collect::<Vec<_>>().join(","),
                        czxid
                    );
                    return Ok(czxid);
                }
                Err(zk::MultiWriteError::OperationFailed { index: 0, source: zk::Error::NodeExists }) => {
                    let Some(stat) = self.exists(&path).await? else { continue };
                    let owner = stat.ephemeral_owner;
                    if owner == session {
                        info!("{path} already registered by this session; broker epoch {}", stat.czxid);
                        return Ok(stat.czxid);
                    }
                    let ours = self.inner.previous_sessions.lock().unwrap_or_else(|e| e.into_inner()).contains(&owner);
                    if ours {
                        info!("{path} is held by our expired session {owner:#x}; deleting and re-registering");
                        match c.delete(&path, Some(stat.version)).await {
                            Ok(()) | Err(zk::Error::NoNode) | Err(zk::Error::BadVersion) => continue,
                            Err(e) => return Err(zk_err("delete", &path, e)),
                        }
                    }
                    return Err(ZkError::BrokerIdAlreadyRegistered(info.id));
                }
                Err(e) => return Err(zk_err("register broker", &path, e.into())),
            }
        }
        Err(ZkError::BrokerIdAlreadyRegistered(info.id))
    }

    pub async fn get_all_broker_ids(&self) -> Result<Vec<i32>> {
        let mut ids: Vec<i32> = self
            .get_children(BROKER_IDS_PATH)
            .await?
            .iter()
            .filter_map(|c| match c.parse() {
                Ok(id) => Some(id),
                Err(_) => {
                    warn!("Ignoring non-numeric child {c:?} of {BROKER_IDS_PATH}");
                    None
                }
            })
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// The registration and broker epoch (czxid) of broker `id`, if registered.
    pub async fn get_broker(&self, id: i32) -> Result<Option<(BrokerInfo, i64)>> {
        let path = broker_id_path(id);
        match self.get_data(&path).await? {
            None => Ok(None),
            Some((d, stat)) => Ok(Some((BrokerInfo::decode(id, &d).map_err(|e| invalid(&path, e))?, stat.czxid))),
        }
    }

    /// All registered brokers with their epochs, by id. Registrations that do
    /// not decode are logged and skipped.
    pub async fn get_all_brokers_and_epochs(&self) -> Result<BTreeMap<i32, (BrokerInfo, i64)>> {
        let mut out = BTreeMap::new();
        for id in self.get_all_broker_ids().await? {
            match self.get_broker(id).await {
                Ok(Some(b)) => {
                    out.insert(id, b);
                }
                Ok(None) => {}
                Err(ZkError::InvalidData { path, reason }) => warn!("Skipping broker {id}: bad data in {path}: {reason}"),
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    pub async fn get_all_brokers(&self) -> Result<Vec<BrokerInfo>> {
        Ok(self.get_all_brokers_and_epochs().await?.into_values().map(|(b, _)| b).collect())
    }

    // ------------------------------------------------------------ topics

    pub async fn get_all_topics(&self) -> Result<BTreeSet<String>> {
        Ok(self.get_children(BROKER_TOPICS_PATH).await?.into_iter().collect())
    }

    pub async fn topic_exists(&self, topic: &str) -> Result<bool> {
        Ok(self.exists(&topic_path(topic)).await?.is_some())
    }

    pub async fn is_topic_marked_for_deletion(&self, topic: &str) -> Result<bool> {
        Ok(self.exists(&delete_topic_path(topic)).await?.is_some())
    }

    /// The topic znode, with its zkVersion.
    pub async fn get_topic_assignment_with_version(&self, topic: &str) -> Result<Option<(TopicAssignment, i32)>> {
        let path = topic_path(topic);
        match self.get_data(&path).await? {
            None => Ok(None),
            Some((d, stat)) => Ok(Some((TopicAssignment::decode(&d).map_err(|e| invalid(&path, e))?, stat.version))),
        }
    }

    /// Pipelined over `topics`: arms an existence/data watch on each
    /// `/brokers/topics/<t>` and reads its assignment with the znode version,
    /// all requests issued before the first answer is awaited (one round trip
    /// for every topic instead of two per topic; ZooKeeper answers a session's
    /// requests in order, so each read follows its watch). Per topic: the
    /// watcher and `None` if the znode is gone, or the decode error.
    pub async fn get_topic_assignments_and_watch(
        &self,
        topics: &[String],
    ) -> Result<Vec<(String, zk::OneshotWatcher, Result<Option<(TopicAssignment, i32)>>)>> {
        let _latency = crate::server::metrics::zookeeper_client_metrics::ZkRequestTimer::start();
        let c = self.client()?;
        let pending: Vec<_> = topics
            .iter()
            .map(|t| {
                let path = topic_path(t);
                let w = c.check_and_watch_stat(&path);
                let d = c.get_data(&path);
                (t.clone(), path, w, d)
            })
            .collect();
        let mut out = Vec::with_capacity(pending.len());
        for (t, path, w, d) in pending {
            let (_, watcher) = w.await.map_err(|e| zk_err("exists+watch", &path, e))?;
            let loaded = match d.await {
                Ok((bytes, stat)) => TopicAssignment::decode(&bytes).map(|a| Some((a, stat.version))).map_err(|e| invalid(&path, e)),
                Err(zk::Error::NoNode) => Ok(None),
                Err(e) => return Err(zk_err("getData", &path, e)),
            };
            out.push((t, watcher, loaded));
        }
        Ok(out)
    }

    pub async fn get_topic_assignment(&self, topic: &str) -> Result<Option<TopicAssignment>> {
        Ok(self.get_topic_assignment_with_version(topic).await?.map(|(a, _)| a))
    }

    /// Creates `/brokers/topics/<topic>` (fails with `NodeExists` if present).
    pub async fn create_topic_assignment(&self, topic: &str, assignment: &TopicAssignment) -> Result<()> {
        let path = topic_path(topic);
        self.client()?.create(&path, &assignment.encode(), &self.persistent(&path)).await.map(|_| ()).map_err(|e| zk_err("create", &path, e))
    }

    /// Rewrites a topic znode as the controller (fenced), e.g. to add a topic id.
    pub async fn set_topic_assignment_fenced(
        &self,
        topic: &str,
        assignment: &TopicAssignment,
        expected_version: Option<i32>,
        controller_epoch_zk_version: i32,
    ) -> Result<()> {
        let path = topic_path(topic);
        let data = assignment.encode();
        self.fenced(controller_epoch_zk_version, &path, |w| w.add_set_data(&path, &data, expected_version)).await?;
        Ok(())
    }

    /// A partition's leader/ISR state, if its `state` znode exists.
    pub async fn get_partition_state(&self, topic: &str, partition: i32) -> Result<Option<LeaderIsrAndControllerEpoch>> {
        let path = topic_partition_state_path(topic, partition);
        match self.get_data(&path).await? {
            None => Ok(None),
            Some((d, stat)) => Ok(Some(LeaderIsrAndControllerEpoch::decode(&d, stat.version).map_err(|e| invalid(&path, e))?)),
        }
    }

    /// States of many partitions (missing or undecodable ones are left out,
    /// the latter logged). The reads are pipelined on the session: every
    /// getData is sent before the first reply is awaited, so 1,000 partitions
    /// cost about one round trip, not 1,000 (Kafka's `getTopicPartitionStatesRaw`
    /// sends them as one async batch too).
    ///
    /// On ZooKeeper 3.6+ the reads go as multiReads of
    /// `PARTITION_STATE_READS_PER_MULTI` getData each, all pipelined: the same
    /// reads of the same znodes (each multiRead is even a consistent snapshot
    /// of its znodes), but one request, one pass through ZooKeeper's request
    /// pipeline and one reply per 256 partitions instead of per partition.
    /// A controlled shutdown at 10,000 partitions spent most of its time in
    /// these reads (5,000 single getData: 0.7-0.8 s on the 2-core machine).
    pub async fn get_partition_states(
        &self,
        partitions: impl IntoIterator<Item = &TopicPartition>,
    ) -> Result<HashMap<TopicPartition, LeaderIsrAndControllerEpoch>> {
        let partitions: Vec<&TopicPartition> = partitions.into_iter().collect();
        if partitions.len() > 1 && !self.inner.no_multi_read.load(Ordering::Relaxed) {
            match self.get_partition_states_multi(&partitions).await {
                Err(ZkError::Zk { source: zk::Error::Unimplemented, .. }) => {
                    warn!("ZooKeeper does not support multiRead (before 3.6); reading partition states one by one");
                    self.inner.no_multi_read.store(true, Ordering::Relaxed);
                }
                r => return r,
            }
        }
        self.get_partition_states_each(partitions).await
    }

    async fn get_partition_states_multi(&self, partitions: &[&TopicPartition]) -> Result<HashMap<TopicPartition, LeaderIsrAndControllerEpoch>> {
        let c = self.client()?;
        let mut sent = Vec::new();
        for chunk in partitions.chunks(PARTITION_STATE_READS_PER_MULTI) {
            let mut r = c.new_multi_reader();
            let paths: Vec<String> = chunk.iter().map(|tp| topic_partition_state_path(&tp.topic, tp.partition)).collect();
            for path in &paths {
                r.add_get_data(path).map_err(|e| zk_err("multiRead", path, e))?;
            }
            sent.push((chunk, paths, r.commit()));
        }
        let mut out = HashMap::with_capacity(partitions.len());
        for (chunk, paths, fut) in sent {
            let results = fut.await.map_err(|e| zk_err("multiRead", paths.first().map_or("", String::as_str), e))?;
            if results.len() != chunk.len() {
                return Err(zk_err("multiRead", &paths[0], zk::Error::UnexpectedError(format!("{} results for {} reads", results.len(), chunk.len()))));
            }
            for ((tp, path), result) in chunk.iter().zip(&paths).zip(results) {
                match result {
                    zk::MultiReadResult::Data { data, stat } => match LeaderIsrAndControllerEpoch::decode(&data, stat.version) {
                        Ok(s) => {
                            out.insert((*tp).clone(), s);
                        }
                        Err(e) => warn!("Ignoring bad partition state in {path}: {}", e.0),
                    },
                    zk::MultiReadResult::Error { err: zk::Error::NoNode } => {}
                    zk::MultiReadResult::Error { err } => return Err(zk_err("getData", path, err)),
                    other => return Err(zk_err("getData", path, zk::Error::UnexpectedError(format!("unexpected multiRead result {other:?}")))),
                }
            }
        }
        Ok(out)
    }

    async fn get_partition_states_each(&self, partitions: Vec<&TopicPartition>) -> Result<HashMap<TopicPartition, LeaderIsrAndControllerEpoch>> {
        let c = self.client()?;
        let pending: Vec<(TopicPartition, String, _)> = partitions
            .into_iter()
            .map(|tp| {
                let path = topic_partition_state_path(&tp.topic, tp.partition);
                let f = c.get_data(&path);
                (tp.clone(), path, f)
            })
            .collect();
        let mut out = HashMap::new();
        for (tp, path, f) in pending {
            match f.await {
                Ok((d, stat)) => match LeaderIsrAndControllerEpoch::decode(&d, stat.version) {
                    Ok(s) => {
                        out.insert(tp, s);
                    }
                    Err(e) => warn!("Ignoring bad partition state in {path}: {}", e.0),
                },
                Err(zk::Error::NoNode) => {}
                Err(e) => return Err(zk_err("getData", &path, e)),
            }
        }
        Ok(out)
    }

    /// Arms a data/existence watch on a partition's `state` znode (Kafka's
    /// `PartitionReassignmentIsrChangeHandler`, used while it is reassigned).
    pub async fn watch_partition_state(&self, tp: &TopicPartition) -> Result<zk::OneshotWatcher> {
        Ok(self.exists_and_watch(&topic_partition_state_path(&tp.topic, tp.partition)).await?.1)
    }

    /// Replaces one partition's entry (RS, AR, RR) in `/brokers/topics/<t>`
    /// as the controller: read, change only that partition, conditional and
    /// fenced write, re-read on a concurrent change (so partitions added by
    /// someone else meanwhile are kept). Kafka's `updateReplicaAssignmentForPartition`.
    pub async fn set_partition_assignment_fenced(
        &self,
        controller_epoch_zk_version: i32,
        tp: &TopicPartition,
        assignment: &ReplicaAssignment,
    ) -> Result<()> {
        for _ in 0..10 {
            let Some((mut ta, version)) = self.get_topic_assignment_with_version(&tp.topic).await? else {
                return Err(ZkError::NoNode(topic_path(&tp.topic)));
            };
            ta.partitions.insert(tp.partition, assignment.clone());
            match self.set_topic_assignment_fenced(&tp.topic, &ta, Some(version), controller_epoch_zk_version).await {
                Err(ZkError::Zk { source: zk::Error::BadVersion, .. }) => continue,
                r => return r,
            }
        }
        Err(zk_err("setData", &topic_path(&tp.topic), zk::Error::BadVersion))
    }

    // ------------------------------------------------------------ reassignment znode

    /// The targets in `/admin/reassign_partitions`, if it exists
    /// (`InvalidData` when it does not parse).
    pub async fn get_partition_reassignment(&self) -> Result<Option<BTreeMap<TopicPartition, Vec<i32>>>> {
        match self.get_data(REASSIGN_PARTITIONS_PATH).await? {
            None => Ok(None),
            Some((d, _)) => decode_partition_reassignment(&d)
                .map(|m| Some(m.into_iter().map(|((t, p), r)| (TopicPartition::new(t, p), r)).collect()))
                .map_err(|e| invalid(REASSIGN_PARTITIONS_PATH, e)),
        }
    }

    /// Creates `/admin/reassign_partitions` (what `kafka-reassign-partitions.sh
    /// --zookeeper --execute` does); `NodeExists` while one is running.
    pub async fn create_partition_reassignment(&self, targets: &BTreeMap<TopicPartition, Vec<i32>>) -> Result<()> {
        let m = targets.iter().map(|(tp, r)| ((tp.topic.clone(), tp.partition), r.clone())).collect();
        let path = REASSIGN_PARTITIONS_PATH;
        self.client()?.create(path, &encode_partition_reassignment(&m), &self.persistent(path)).await.map(|_| ()).map_err(|e| zk_err("create", path, e))
    }

    /// Rewrites `/admin/reassign_partitions` as the controller (fenced), or
    /// deletes it when nothing is left (Kafka's `maybeRemoveFromZkReassignment`).
    pub async fn set_or_delete_partition_reassignment(
        &self,
        controller_epoch_zk_version: i32,
        targets: &BTreeMap<TopicPartition, Vec<i32>>,
    ) -> Result<()> {
        let path = REASSIGN_PARTITIONS_PATH;
        let r = if targets.is_empty() {
            self.fenced(controller_epoch_zk_version, path, |w| w.add_delete(path, None)).await
        } else {
            let m = targets.iter().map(|(tp, r)| ((tp.topic.clone(), tp.partition), r.clone())).collect();
            let data = encode_partition_reassignment(&m);
            self.fenced(controller_epoch_zk_version, path, |w| w.add_set_data(path, &data, None)).await
        };
        match r {
            Ok(_) | Err(ZkError::NoNode(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    // ------------------------------------------------------------ configs

    /// `/config/<entity_type>/<name>` as a map (empty if absent).
    pub async fn get_entity_config(&self, entity_type: &str, name: &str) -> Result<HashMap<String, String>> {
        let path = config_entity_path(entity_type, name);
        match self.get_data(&path).await? {
            None => Ok(HashMap::new()),
            Some((d, _)) => decode_entity_config(&d).map_err(|e| invalid(&path, e)),
        }
    }

    /// Writes `/config/<entity_type>/<name>`, creating it (and parents) if needed.
    pub async fn set_or_create_entity_config(
        &self,
        entity_type: &str,
        name: &str,
        config: &BTreeMap<String, String>,
    ) -> Result<()> {
        let path = config_entity_path(entity_type, name);
        let data = encode_entity_config(config);
        match self.client()?.set_data(&path, &data, None).await {
            Ok(_) => Ok(()),
            Err(zk::Error::NoNode) => match self.create_recursive(&path, &data).await {
                Err(ZkError::NodeExists(_)) => {
                    self.client()?.set_data(&path, &data, None).await.map(|_| ()).map_err(|e| zk_err("setData", &path, e))
                }
                r => r,
            },
            Err(e) => Err(zk_err("setData", &path, e)),
        }
    }

    /// Kafka's `createConfigChangeNotification`: the persistent sequential
    /// `/config/changes/config_change_<seq>` holding
    /// `{"version":2,"entity_path":"<type>/<name>"}`. Returns the child's name.
    pub async fn create_config_change_notification(&self, entity_path: &str) -> Result<String> {
        let prefix = config_change_sequence_path();
        let data = encode_config_change_notification(entity_path);
        let opts = create_opts(zk::CreateMode::PersistentSequential, self.secure(), &prefix);
        let created = match self.client()?.create(&prefix, &data, &opts).await {
            Err(zk::Error::NoNode) => {
                self.make_sure_persistent_path_exists(CONFIG_CHANGES_PATH).await?;
                self.client()?.create(&prefix, &data, &opts).await
            }
            r => r,
        };
        match created {
            Ok((_, seq)) => Ok(format!("{CONFIG_CHANGE_PREFIX}{seq}")),
            Err(e) => Err(zk_err("create", &prefix, e)),
        }
    }

    /// Creates the persistent sequential znode `<dir>/<prefix><seq>` holding
    /// `data` (creating `dir` if needed); returns the child's name. Kafka's
    /// change-notification nodes (`ZkNodeChangeNotificationListener`'s producers).
    pub async fn create_sequential_notification(&self, dir: &str, prefix: &str, data: &[u8]) -> Result<String> {
        let path = format!("{dir}/{prefix}");
        let opts = create_opts(zk::CreateMode::PersistentSequential, self.secure(), &path);
        let created = match self.client()?.create(&path, data, &opts).await {
            Err(zk::Error::NoNode) => {
                self.make_sure_persistent_path_exists(dir).await?;
                self.client()?.create(&path, data, &opts).await
            }
            r => r,
        };
        match created {
            Ok((_, seq)) => Ok(format!("{prefix}{seq}")),
            Err(e) => Err(zk_err("create", &path, e)),
        }
    }

    /// Creates `path` with `data` if it does not exist (parents too);
    /// `Ok(false)` if it already existed.
    pub async fn create_if_absent(&self, path: &str, data: &[u8]) -> Result<bool> {
        match self.create_recursive(path, data).await {
            Ok(()) => Ok(true),
            Err(ZkError::NodeExists(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes `path` only at `expected_version`; `Ok(false)` on a version
    /// conflict, `Ok(true)` when deleted or already gone.
    pub async fn conditional_delete(&self, path: &str, expected_version: i32) -> Result<bool> {
        match self.client()?.delete(path, Some(expected_version)).await {
            Ok(()) | Err(zk::Error::NoNode) => Ok(true),
            Err(zk::Error::BadVersion) => Ok(false),
            Err(e) => Err(zk_err("delete", path, e)),
        }
    }

    // ------------------------------------------------------------ controller

    pub async fn get_controller_id(&self) -> Result<Option<i32>> {
        match self.get_data(CONTROLLER_PATH).await? {
            None => Ok(None),
            Some((d, _)) => decode_controller(&d).map(Some).map_err(|e| invalid(CONTROLLER_PATH, e)),
        }
    }

    /// `(epoch, zkVersion)` of `/controller_epoch`.
    pub async fn get_controller_epoch(&self) -> Result<Option<(i32, i32)>> {
        match self.get_data(CONTROLLER_EPOCH_PATH).await? {
            None => Ok(None),
            Some((d, stat)) => Ok(Some((decode_controller_epoch(&d).map_err(|e| invalid(CONTROLLER_EPOCH_PATH, e))?, stat.version))),
        }
    }

    /// The election multi: create `/controller` (ephemeral) and bump
    /// `/controller_epoch` conditionally. Returns `(epoch, epoch zkVersion)` or
    /// `ControllerMoved` if another broker won.
    pub async fn register_controller_and_increment_controller_epoch(&self, broker_id: i32) -> Result<(i32, i32)> {
        let (epoch, version) = match self.get_controller_epoch().await? {
            Some(e) => e,
            None => {
                match self.client()?.create(CONTROLLER_EPOCH_PATH, &encode_controller_epoch(0), &self.persistent(CONTROLLER_EPOCH_PATH)).await {
                    Ok(_) | Err(zk::Error::NodeExists) => {}
                    Err(e) => return Err(zk_err("create", CONTROLLER_EPOCH_PATH, e)),
                }
                self.get_controller_epoch().await?.ok_or_else(|| ZkError::NoNode(CONTROLLER_EPOCH_PATH.into()))?
            }
        };
        let new_epoch = epoch + 1;
        let c = self.client()?;
        let session = c.session_id().0;
        let mut w = c.new_multi_writer();
        w.add_create(CONTROLLER_PATH, &encode_controller(broker_id, crate::common::now_ms()), &create_opts(zk::CreateMode::Ephemeral, self.secure(), CONTROLLER_PATH))
            .map_err(|e| zk_err("create", CONTROLLER_PATH, e))?;
        w.add_set_data(CONTROLLER_EPOCH_PATH, &encode_controller_epoch(new_epoch), Some(version))
            .map_err(|e| zk_err("setData", CONTROLLER_EPOCH_PATH, e))?;
        match w.commit().await {
            Ok(results) => {
                let v = results
                    .into_iter()
                    .find_map(|r| match r {
                        zk::MultiWriteResult::SetData { stat } => Some(stat.version),
                        _ => None,
                    })
                    .unwrap_or(version + 1);
                info!("Broker {broker_id} elected controller with epoch {new_epoch} (epoch zkVersion {v})");
                Ok((new_epoch, v))
            }
            Err(zk::MultiWriteError::OperationFailed { source: zk::Error::NodeExists | zk::Error::BadVersion, .. }) => {
                // Maybe our own multi was applied and the reply lost: check.
                let owner = self.get_data(CONTROLLER_PATH).await?;
                let cur = self.get_controller_epoch().await?;
                if let (Some((d, stat)), Some((e, v))) = (owner, cur) {
                    if decode_controller(&d).ok() == Some(broker_id) && stat.ephemeral_owner == session && e == new_epoch {
                        return Ok((e, v));
                    }
                }
                Err(ZkError::ControllerMoved(format!("broker {broker_id} lost the election for epoch {new_epoch}")))
            }
            Err(e) => Err(zk_err("elect controller", CONTROLLER_PATH, e.into())),
        }
    }

    /// Deletes `/controller` (fenced) to force a new election.
    pub async fn delete_controller(&self, controller_epoch_zk_version: i32) -> Result<()> {
        match self.fenced(controller_epoch_zk_version, CONTROLLER_PATH, |w| w.add_delete(CONTROLLER_PATH, None)).await {
            Ok(_) | Err(ZkError::NoNode(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// One multi: `check(/controller_epoch, zkVersion)` + the ops `build` adds.
    /// A failed check is `ControllerMoved`; other failures map as usual.
    pub async fn fenced<F>(&self, controller_epoch_zk_version: i32, path: &str, build: F) -> Result<Vec<zk::MultiWriteResult>>
    where
        F: FnOnce(&mut zk::MultiWriter<'_>) -> std::result::Result<(), zk::Error>,
    {
        let c = self.client()?;
        let mut w = c.new_multi_writer();
        w.add_check_version(CONTROLLER_EPOCH_PATH, controller_epoch_zk_version)
            .map_err(|e| zk_err("check", CONTROLLER_EPOCH_PATH, e))?;
        build(&mut w).map_err(|e| zk_err("multi", path, e))?;
        match w.commit().await {
            Ok(mut r) => {
                if !r.is_empty() {
                    r.remove(0);
                }
                Ok(r)
            }
            Err(zk::MultiWriteError::OperationFailed { index: 0, source }) => Err(ZkError::ControllerMoved(format!(
                "controller epoch zkVersion {controller_epoch_zk_version} no longer current ({source})"
            ))),
            Err(zk::MultiWriteError::OperationFailed { source, .. }) => Err(zk_err("multi", path, source)),
            Err(zk::MultiWriteError::RequestFailed { source }) => Err(zk_err("multi", path, source)),
        }
    }

    /// Creates the `state` znodes of new partitions (and their parents), each
    /// create fenced on the controller epoch's zkVersion as its own multi.
    /// Returns per partition the new zkVersion (0) or the error; a
    /// `ControllerMoved` aborts the whole call. The multis are pipelined: all
    /// are sent (in [`partition_state_create_plan`]'s order, parents first)
    /// before the first reply is awaited, and ZooKeeper applies one session's
    /// requests in the order sent, so a parent exists before its child's
    /// create is applied; N partitions cost about one round trip, not 3N.
    pub async fn create_partition_states(
        &self,
        controller_epoch_zk_version: i32,
        states: &[(TopicPartition, LeaderIsrAndControllerEpoch)],
    ) -> Result<Vec<(TopicPartition, Result<i32>)>> {
        let c = self.client()?;
        let encoded: Vec<Vec<u8>> = states.iter().map(|(_, st)| st.encode()).collect();
        let mut sent = Vec::new();
        for step in partition_state_create_plan(states.iter().map(|(tp, _)| tp)) {
            let (path, data): (String, &[u8]) = match &step {
                CreateStep::Parent(path) => (path.clone(), &[]),
                CreateStep::State(i) => {
                    let tp = &states[*i].0;
                    (topic_partition_state_path(&tp.topic, tp.partition), &encoded[*i])
                }
            };
            let mut w = c.new_multi_writer();
            let built = w
                .add_check_version(CONTROLLER_EPOCH_PATH, controller_epoch_zk_version)
                .and_then(|_| w.add_create(&path, data, &self.persistent(&path)));
            let fut = built.map(|()| w.commit()).map_err(|e| zk_err("multi", &path, e));
            sent.push((step, path, fut));
        }
        let mut out = Vec::with_capacity(states.len());
        let mut moved = None;
        for (step, path, fut) in sent {
            let r = match fut {
                Err(e) => Err(e),
                Ok(f) => match f.await {
                    Ok(r) => Ok(r
                        .into_iter()
                        .find_map(|r| match r {
                            zk::MultiWriteResult::Create { stat, .. } if stat.version >= 0 => Some(stat.version),
                            _ => None,
                        })
                        .unwrap_or(0)),
                    Err(zk::MultiWriteError::OperationFailed { index: 0, source }) => {
                        moved = Some(format!("controller epoch zkVersion {controller_epoch_zk_version} no longer current ({source})"));
                        continue;
                    }
                    Err(zk::MultiWriteError::OperationFailed { source, .. }) => Err(zk_err("multi", &path, source)),
                    Err(zk::MultiWriteError::RequestFailed { source }) => Err(zk_err("multi", &path, source)),
                },
            };
            match step {
                CreateStep::Parent(_) => match r {
                    Ok(_) | Err(ZkError::NodeExists(_)) => {}
                    Err(e) => warn!("Creating {path} failed: {e}"),
                },
                CreateStep::State(i) => {
                    if r.is_ok() {
                        crate::record_event!(crate::controller::event_log::Kind::ZkWrite, "KafkaZkClient (createTopicPartitionStatesRaw)", "create {path} in a multi with check /controller_epoch zkVersion {controller_epoch_zk_version}: {}", String::from_utf8_lossy(&encoded[i]));
                    }
                    out.push((states[i].0.clone(), r))
                }
            }
        }
        if let Some(m) = moved {
            return Err(ZkError::ControllerMoved(m));
        }
        Ok(out)
    }

    /// Conditional (on each `zk_version`) and fenced rewrite of partition
    /// states. Returns per partition the state with its new zkVersion or the
    /// error (`Zk{BadVersion}` means someone else changed it: re-read). The
    /// multis are pipelined (all sent before the first reply is awaited); a
    /// failed controller-epoch check in any of them is `ControllerMoved`.
    pub async fn update_leader_and_isr(
        &self,
        controller_epoch_zk_version: i32,
        controller_epoch: i32,
        updates: &[(TopicPartition, LeaderAndIsr)],
    ) -> Result<Vec<(TopicPartition, Result<LeaderAndIsr>)>> {
        if updates.len() <= 1 {
            return self.update_leader_and_isr_each(controller_epoch_zk_version, controller_epoch, updates).await;
        }
        // Many partitions per multi, each multi opened by the check of the
        // controller epoch's zkVersion (the fencing is per multi, as before),
        // all multis pipelined. ZooKeeper serves one multi of 64 setData
        // far cheaper than 64 multis: a controlled shutdown at 10,000
        // partitions spent most of its time in these writes. A multi is
        // atomic: if one state znode's version moved (a leader changed its
        // ISR), none of its chunk is applied, and that chunk is redone one
        // partition per multi to give each partition its own answer.
        let c = self.client()?;
        let mut sent = Vec::new();
        for chunk in updates.chunks(LEADER_AND_ISR_UPDATES_PER_MULTI) {
            let mut w = c.new_multi_writer();
            let mut built = w.add_check_version(CONTROLLER_EPOCH_PATH, controller_epoch_zk_version);
            for (tp, lai) in chunk {
                if built.is_err() {
                    break;
                }
                let path = topic_partition_state_path(&tp.topic, tp.partition);
                let data = LeaderIsrAndControllerEpoch { leader_and_isr: lai.clone(), controller_epoch }.encode();
                built = w.add_set_data(&path, &data, Some(lai.zk_version));
            }
            sent.push((chunk, built.ok().map(|()| w.commit())));
        }
        let mut out = Vec::with_capacity(updates.len());
        let mut moved = None;
        let mut redo: Vec<(TopicPartition, LeaderAndIsr)> = Vec::new();
        for (chunk, fut) in sent {
            let Some(fut) = fut else {
                redo.extend(chunk.iter().cloned());
                continue;
            };
            match fut.await {
                Ok(results) => {
                    let versions: Vec<i32> = results
                        .into_iter()
                        .filter_map(|r| match r {
                            zk::MultiWriteResult::SetData { stat } => Some(stat.version),
                            _ => None,
                        })
                        .collect();
                    for (k, (tp, lai)) in chunk.iter().enumerate() {
                        let v = versions.get(k).copied().unwrap_or(lai.zk_version + 1);
                        let path = topic_partition_state_path(&tp.topic, tp.partition);
                        crate::record_event!(crate::controller::event_log::Kind::ZkWrite, "KafkaZkClient (updateLeaderAndIsr)", "setData {path} if zkVersion {} (now {v}), in a multi of {} with check /controller_epoch zkVersion {controller_epoch_zk_version} (controller epoch {controller_epoch}): leader {} leader_epoch {} isr {:?}", lai.zk_version, chunk.len(), lai.leader, lai.leader_epoch, lai.isr);
                        out.push((tp.clone(), Ok(LeaderAndIsr { zk_version: v, ..lai.clone() })));
                    }
                }
                Err(zk::MultiWriteError::OperationFailed { index: 0, source }) => {
                    moved = Some(format!("controller epoch zkVersion {controller_epoch_zk_version} no longer current ({source})"));
                }
                Err(_) => redo.extend(chunk.iter().cloned()),
            }
        }
        if let Some(m) = moved {
            return Err(ZkError::ControllerMoved(m));
        }
        if !redo.is_empty() {
            out.extend(self.update_leader_and_isr_each(controller_epoch_zk_version, controller_epoch, &redo).await?);
        }
        Ok(out)
    }

    /// `update_leader_and_isr` with one multi (epoch check + setData) per
    /// partition, pipelined: each partition gets its own result.
    async fn update_leader_and_isr_each(
        &self,
        controller_epoch_zk_version: i32,
        controller_epoch: i32,
        updates: &[(TopicPartition, LeaderAndIsr)],
    ) -> Result<Vec<(TopicPartition, Result<LeaderAndIsr>)>> {
        let c = self.client()?;
        let mut sent = Vec::with_capacity(updates.len());
        for (tp, lai) in updates {
            let path = topic_partition_state_path(&tp.topic, tp.partition);
            let data = LeaderIsrAndControllerEpoch { leader_and_isr: lai.clone(), controller_epoch }.encode();
            let mut w = c.new_multi_writer();
            let built = w
                .add_check_version(CONTROLLER_EPOCH_PATH, controller_epoch_zk_version)
                .and_then(|_| w.add_set_data(&path, &data, Some(lai.zk_version)));
            let fut = match built {
                Ok(()) => Ok(w.commit()),
                Err(e) => Err(zk_err("multi", &path, e)),
            };
            sent.push((tp, lai, path, fut));
        }
        let mut out = Vec::with_capacity(sent.len());
        let mut moved = None;
        for (tp, lai, path, fut) in sent {
            let r = match fut {
                Err(e) => Err(e),
                Ok(f) => match f.await {
                    Ok(r) => {
                        let v = r
                            .into_iter()
                            .find_map(|r| match r {
                                zk::MultiWriteResult::SetData { stat } => Some(stat.version),
                                _ => None,
                            })
                            .unwrap_or(lai.zk_version + 1);
                        crate::record_event!(crate::controller::event_log::Kind::ZkWrite, "KafkaZkClient (updateLeaderAndIsr)", "setData {path} if zkVersion {} (now {v}), in a multi with check /controller_epoch zkVersion {controller_epoch_zk_version} (controller epoch {controller_epoch}): leader {} leader_epoch {} isr {:?}", lai.zk_version, lai.leader, lai.leader_epoch, lai.isr);
                        Ok(LeaderAndIsr { zk_version: v, ..lai.clone() })
                    }
                    Err(zk::MultiWriteError::OperationFailed { index: 0, source }) => {
                        moved = Some(format!("controller epoch zkVersion {controller_epoch_zk_version} no longer current ({source})"));
                        continue;
                    }
                    Err(zk::MultiWriteError::OperationFailed { source, .. }) => Err(zk_err("multi", &path, source)),
                    Err(zk::MultiWriteError::RequestFailed { source }) => Err(zk_err("multi", &path, source)),
                },
            };
            out.push((tp.clone(), r));
        }
        if let Some(m) = moved {
            return Err(ZkError::ControllerMoved(m));
        }
        Ok(out)
    }

    /// The partitions named in `/admin/preferred_replica_election`, if it exists.
    pub async fn get_preferred_replica_election(&self) -> Result<Option<BTreeSet<TopicPartition>>> {
        match self.get_data(PREFERRED_REPLICA_ELECTION_PATH).await? {
            None => Ok(None),
            Some((d, _)) => decode_preferred_replica_election(&d)
                .map(|v| Some(v.into_iter().map(|(t, p)| TopicPartition::new(t, p)).collect()))
                .map_err(|e| invalid(PREFERRED_REPLICA_ELECTION_PATH, e)),
        }
    }

    /// Creates `/admin/preferred_replica_election` (what `kafka-preferred-replica-election.sh --zookeeper` does).
    pub async fn create_preferred_replica_election(&self, partitions: &[TopicPartition]) -> Result<()> {
        let tps: Vec<(String, i32)> = partitions.iter().map(|tp| (tp.topic.clone(), tp.partition)).collect();
        match self.client()?.create(PREFERRED_REPLICA_ELECTION_PATH, &encode_preferred_replica_election(&tps), &self.persistent(PREFERRED_REPLICA_ELECTION_PATH)).await {
            Ok(_) => Ok(()),
            Err(e) => Err(zk_err("create", PREFERRED_REPLICA_ELECTION_PATH, e)),
        }
    }

    /// Deletes `/admin/preferred_replica_election` (fenced).
    pub async fn delete_preferred_replica_election(&self, controller_epoch_zk_version: i32) -> Result<()> {
        let path = PREFERRED_REPLICA_ELECTION_PATH;
        match self.fenced(controller_epoch_zk_version, path, |w| w.add_delete(path, None)).await {
            Ok(_) | Err(ZkError::NoNode(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The leader broker's legacy ISR write (Kafka's `ReplicationUtils.updateLeaderAndIsr`):
    /// setData of the partition's state conditional on `state.leader_and_isr.zk_version`,
    /// not fenced by the controller epoch. Returns the new zkVersion. A BADVERSION
    /// whose znode already holds exactly `state` counts as success (a retried write).
    pub async fn conditional_update_partition_state(&self, tp: &TopicPartition, state: &LeaderIsrAndControllerEpoch) -> Result<i32> {
        let path = topic_partition_state_path(&tp.topic, tp.partition);
        match self.client()?.set_data(&path, &state.encode(), Some(state.leader_and_isr.zk_version)).await {
            Ok(stat) => Ok(stat.version),
            Err(zk::Error::BadVersion) => {
                if let Some((d, stat)) = self.get_data(&path).await? {
                    if let Ok(cur) = LeaderIsrAndControllerEpoch::decode(&d, stat.version) {
                        let same = cur.controller_epoch == state.controller_epoch
                            && cur.leader_and_isr.leader == state.leader_and_isr.leader
                            && cur.leader_and_isr.leader_epoch == state.leader_and_isr.leader_epoch
                            && cur.leader_and_isr.isr == state.leader_and_isr.isr;
                        if same {
                            return Ok(stat.version);
                        }
                    }
                }
                Err(zk_err("setData", &path, zk::Error::BadVersion))
            }
            Err(e) => Err(zk_err("setData", &path, e)),
        }
    }

    /// Announces ISR changes: creates `/isr_change_notification/isr_change_<seq>`
    /// naming `partitions`. Returns the child's name.
    pub async fn create_isr_change_notification(&self, partitions: &[TopicPartition]) -> Result<String> {
        let tps: Vec<(String, i32)> = partitions.iter().map(|tp| (tp.topic.clone(), tp.partition)).collect();
        let prefix = isr_change_notification_sequence_path();
        let opts = create_opts(zk::CreateMode::PersistentSequential, self.secure(), &prefix);
        match self.client()?.create(&prefix, &encode_isr_change_notification(&tps), &opts).await {
            Ok((_, seq)) => Ok(format!("{ISR_CHANGE_NOTIFICATION_PREFIX}{seq}")),
            Err(e) => Err(zk_err("create", &prefix, e)),
        }
    }

    /// Topics marked for deletion (children of `/admin/delete_topics`).
    pub async fn get_topic_deletions(&self) -> Result<Vec<String>> {
        let mut v = self.get_children(DELETE_TOPICS_PATH).await?;
        v.sort();
        Ok(v)
    }

    /// Deletes deletion markers `/admin/delete_topics/<t>` (fenced).
    pub async fn delete_topic_deletions(&self, controller_epoch_zk_version: i32, topics: &[String]) -> Result<()> {
        for t in topics {
            let path = delete_topic_path(t);
            match self.fenced(controller_epoch_zk_version, &path, |w| w.add_delete(&path, None)).await {
                Ok(_) | Err(ZkError::NoNode(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The last step of a topic deletion, fenced: removes `/brokers/topics/<t>`
    /// with everything under it and `/config/topics/<t>` in one multi, then
    /// the `/admin/delete_topics/<t>` marker.
    pub async fn delete_topic_znodes(&self, controller_epoch_zk_version: i32, topic: &str) -> Result<()> {
        let root = topic_path(topic);
        let mut to_delete = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(p) = stack.pop() {
            for c in self.get_children(&p).await? {
                stack.push(format!("{p}/{c}"));
            }
            to_delete.push(p);
        }
        // Children before parents.
        to_delete.sort_by_key(|p| std::cmp::Reverse(p.matches('/').count()));
        let config = config_entity_path("topics", topic);
        if self.exists(&config).await?.is_some() {
            to_delete.push(config);
        }
        if self.exists(&root).await?.is_some() {
            self.fenced(controller_epoch_zk_version, &root, |w| {
                for p in &to_delete {
                    w.add_delete(p, None)?;
                }
                Ok(())
            })
            .await?;
        }
        self.delete_topic_deletions(controller_epoch_zk_version, &[topic.to_string()]).await
    }

    /// Pending `/isr_change_notification` children (sequence names).
    pub async fn get_isr_change_notifications(&self) -> Result<Vec<String>> {
        let mut v = self.get_children(ISR_CHANGE_NOTIFICATION_PATH).await?;
        v.sort();
        Ok(v)
    }

    /// Reads the partitions named by the given ISR change notifications.
    pub async fn get_partitions_from_isr_change_notifications(&self, names: &[String]) -> Result<BTreeSet<TopicPartition>> {
        let mut out = BTreeSet::new();
        for n in names {
            let path = format!("{ISR_CHANGE_NOTIFICATION_PATH}/{n}");
            if let Some((d, _)) = self.get_data(&path).await? {
                match decode_isr_change_notification(&d) {
                    Ok(tps) => out.extend(tps.into_iter().map(|(t, p)| TopicPartition::new(t, p))),
                    Err(e) => warn!("Ignoring bad ISR change notification {path}: {e}"),
                }
            }
        }
        Ok(out)
    }

    /// Deletes ISR change notifications (fenced).
    pub async fn delete_isr_change_notifications(&self, controller_epoch_zk_version: i32, names: &[String]) -> Result<()> {
        for n in names {
            let path = format!("{ISR_CHANGE_NOTIFICATION_PATH}/{n}");
            match self.fenced(controller_epoch_zk_version, &path, |w| w.add_delete(&path, None)).await {
                Ok(_) | Err(ZkError::NoNode(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// One create of [`KafkaZkClient::create_partition_states`]: a parent znode
/// (`/brokers/topics/<t>/partitions` or `.../partitions/<p>`) or the state
/// znode of the i-th partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateStep {
    Parent(String),
    State(usize),
}

/// The creates for new partitions' state znodes, in an order where every
/// parent comes before its children: each topic's `partitions` znode once,
/// before its first partition; each partition's znode right before its
/// `state`. Partitions keep their given order (results are reported in it).
pub fn partition_state_create_plan<'a>(partitions: impl IntoIterator<Item = &'a TopicPartition>) -> Vec<CreateStep> {
    let mut topics = BTreeSet::new();
    let mut out = Vec::new();
    for (i, tp) in partitions.into_iter().enumerate() {
        if topics.insert(tp.topic.clone()) {
            out.push(CreateStep::Parent(topic_partitions_path(&tp.topic)));
        }
        out.push(CreateStep::Parent(topic_partition_path(&tp.topic, tp.partition)));
        out.push(CreateStep::State(i));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_plan_puts_parents_first() {
        let tps = [TopicPartition::new("a", 0), TopicPartition::new("b", 0), TopicPartition::new("a", 1)];
        let plan = partition_state_create_plan(tps.iter());
        assert_eq!(
            plan,
            vec![
                CreateStep::Parent(topic_partitions_path("a")),
                CreateStep::Parent(topic_partition_path("a", 0)),
                CreateStep::State(0),
                CreateStep::Parent(topic_partitions_path("b")),
                CreateStep::Parent(topic_partition_path("b", 0)),
                CreateStep::State(1),
                CreateStep::Parent(topic_partition_path("a", 1)),
                CreateStep::State(2),
            ]
        );
        assert!(partition_state_create_plan([].iter()).is_empty());
    }

    #[test]
    fn connect_string() {
        assert_eq!(split_connect_string("h:2181").unwrap(), ("h:2181".into(), None));
        assert_eq!(split_connect_string("a:1,b:2/kafka").unwrap(), ("a:1,b:2".into(), Some("/kafka".into())));
        assert_eq!(split_connect_string("a:1/kafka/x/").unwrap(), ("a:1".into(), Some("/kafka/x".into())));
        assert_eq!(split_connect_string("a:1/").unwrap(), ("a:1".into(), None));
        assert!(split_connect_string("/kafka").is_err());
        assert!(split_connect_string("a:1/x//y").is_err());
    }

    #[test]
    fn error_messages() {
        assert!(ZkError::BrokerIdAlreadyRegistered(3).to_string().starts_with("broker id 3 already registered"));
    }
}
