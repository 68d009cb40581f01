//! Broker start-up and shutdown: configuration, ZooKeeper session and
//! registration, log recovery, the socket server, the controller, the replica
//! manager with its fetchers and ISR tasks, periodic checkpoints, and on
//! SIGTERM a controlled shutdown (ControlledShutdown to the controller, with
//! retries) followed by a clean one. Maps to Kafka's `kafka.server.KafkaServer`
//! (and `kafka.Kafka` for the command line).

use crate::config::{EndPoint, KafkaConfig};
use crate::controller::{ControllerConfig, KafkaController};
use crate::coordinator::{GroupConfig, GroupCoordinator, OffsetConfig};
use crate::log::{LogConfig, LogManager};
use crate::server::kafka_apis::KafkaApis;
use crate::server::metadata_cache::MetadataCache;
use crate::client::BrokerConnection;
use crate::protocol::error;
use crate::protocol::messages::controlled_shutdown::{ControlledShutdownRequest, ControlledShutdownResponse};
use crate::server::replica_fetcher::FetcherConfig;
use crate::server::replica_manager::{ReplicaManager, ReplicationSettings};
use crate::server::socket_server::SocketServer;
use crate::zk::{BrokerInfo, KafkaZkClient, SecurityProtocol, ZkClientConfig};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

const USAGE: &str = "USAGE: kafka-server-start.sh [-daemon] server.properties [--override property=value]*";

/// Entry point of `zkafka kafka-server-start`.
pub fn main(args: Vec<String>) -> i32 {
    let mut props_file = None;
    let mut overrides = Vec::new();
    let mut it = args.into_iter().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--override" => match it.next() {
                Some(kv) if kv.contains('=') => overrides.push(kv),
                _ => {
                    eprintln!("Invalid --override: expected property=value\n{USAGE}");
                    return 1;
                }
            },
            "-daemon" => {}
            "-h" | "--help" => {
                println!("{USAGE}");
                return 0;
            }
            s if s.starts_with('-') => {
                eprintln!("Unknown option {s}\n{USAGE}");
                return 1;
            }
            s if props_file.is_none() => props_file = Some(s.to_string()),
            s => {
                eprintln!("Unexpected argument {s}\n{USAGE}");
                return 1;
            }
        }
    }
    let Some(props_file) = props_file else {
        eprintln!("{USAGE}");
        return 1;
    };
    let config = match KafkaConfig::from_file(std::path::Path::new(&props_file), &overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("zkafka: invalid configuration: {e}");
            log::error!("invalid configuration: {e}");
            return 1;
        }
    };
    let workers = runtime_workers(config.num_network_threads, std::thread::available_parallelism().map_or(1, |n| n.get()));
    crate::server::metrics::metrics().socket_server.set_workers(workers);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("zkafka: cannot start the runtime: {e}");
            return 1;
        }
    };
    runtime.block_on(async move {
        let server = match KafkaServer::startup(config).await {
            Ok(s) => s,
            Err(e) => {
                log::error!("Fatal error during KafkaServer startup: {e}");
                eprintln!("zkafka: fatal error during startup: {e}");
                return 1;
            }
        };
        wait_for_signal().await;
        server.shutdown().await;
        0
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        // Without signal handlers, wait forever (the process dies on a signal).
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => log::info!("received SIGTERM, shutting down"),
        _ = int.recv() => log::info!("received SIGINT, shutting down"),
    }
}

/// The async runtime's worker threads: `num.network.threads`, at most one per
/// core. In Kafka, network threads read and write the sockets and request
/// handler threads (`num.io.threads`) run the requests; in zkafka each
/// connection is one task on these workers, which do both. Where brokers
/// share cores (several on one machine), fewer workers mean fewer cross-thread
/// wake-ups per request.
fn runtime_workers(num_network_threads: i32, cores: usize) -> usize {
    (num_network_threads.max(1) as usize).min(cores.max(1))
}

/// Runs `task` on a blocking thread every `period_ms` (first after
/// min(30 s, period)) until shutdown; a period beyond ten years means never.
fn spawn_log_task(
    name: &'static str,
    period_ms: i64,
    log_manager: Arc<LogManager>,
    mut stop: watch::Receiver<bool>,
    task: fn(&LogManager),
) {
    const TEN_YEARS_MS: i64 = 10 * 365 * 24 * 3_600_000;
    if period_ms <= 0 || period_ms > TEN_YEARS_MS {
        log::debug!("task {name} not scheduled (period {period_ms} ms)");
        return;
    }
    let period = Duration::from_millis(period_ms as u64);
    let first = period.min(Duration::from_secs(30));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + first, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let lm = log_manager.clone();
                    if let Err(e) = tokio::task::spawn_blocking(move || task(&lm)).await {
                        log::error!("task {name} failed: {e}");
                    }
                }
                _ = stop.changed() => break,
            }
        }
    });
}

/// The broker's default log config, from the `log.*` keys (already
/// validated by `KafkaConfig`).
pub fn default_log_config(c: &KafkaConfig) -> Result<LogConfig, String> {
    let props: HashMap<String, String> = c.props.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut lc = LogConfig::from_broker_props(&props)?;
    lc.segment_ms = c.log_roll_ms;
    lc.min_insync_replicas = c.min_insync_replicas;
    Ok(lc)
}

pub struct KafkaServer {
    pub config: Arc<KafkaConfig>,
    pub zk: KafkaZkClient,
    pub replica_manager: Arc<ReplicaManager>,
    pub controller: KafkaController,
    pub group_coordinator: Arc<GroupCoordinator>,
    /// The bound port of the first listener.
    pub bound_port: u16,
    /// Every listener's bound port, by listener name.
    pub bound_ports: Vec<(String, u16)>,
    /// How this broker connects to the inter-broker listener.
    inter_broker_channel: crate::client::ChannelSecurity,
    /// The port of the HTTP endpoint when `metrics.port` is set.
    pub http_port: Option<u16>,
    pub http_routes: crate::server::http_server::HttpRoutes,
    /// The SCRAM credentials the SASL listeners authenticate against.
    pub credential_cache: Arc<crate::security::credential_cache::CredentialCache>,
    shutdown_tx: watch::Sender<bool>,
}

impl KafkaServer {
    pub async fn startup(config: KafkaConfig) -> Result<KafkaServer, String> {
        let config = Arc::new(config);
        let broker_id = config.broker_id;
        log::info!("starting zkafka broker {broker_id}");
        // Every listener's security and the broker's own client side of the
        // inter-broker and control-plane listeners, checked before anything
        // starts: a bad keystore stops start-up with a message.
        // SCRAM credentials from /config/users, followed through /config/changes.
        let credential_cache = Arc::new(crate::security::credential_cache::CredentialCache::new());
        let mut listener_securities = Vec::new();
        for l in &config.listeners {
            let mut security = crate::server::socket_server::listener_security(&config, &l.listener_name)?;
            security.credentials = credential_cache.clone();
            listener_securities.push(security);
        }
        let inter_broker_channel = crate::server::socket_server::channel_security(&config, &config.inter_broker_listener_name)?;
        let mut controller_config = ControllerConfig::from_kafka_config(&config);
        controller_config.channel =
            crate::server::socket_server::channel_security(&config, &controller_config.control_listener_name)?;
        // The ZooKeeper session's security (Kafka's `initZkClient`): SASL
        // DIGEST-MD5 from the JAAS `Client` login named in KAFKA_OPTS, and
        // znodes with Kafka's secure ACLs when zookeeper.set.acl=true, which
        // is refused without such a login.
        let set_acl = config.get("zookeeper.set.acl").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let zk_security = crate::zk::ZkSecurity::for_broker(&crate::zk::ZkSecuritySysProps::from_env(), set_acl)?;

        let zk = KafkaZkClient::connect_with_security(
            ZkClientConfig {
                connect: config.zookeeper_connect.clone(),
                session_timeout: Duration::from_millis(config.zookeeper_session_timeout_ms),
                connection_timeout: Duration::from_millis(config.zookeeper_connection_timeout_ms),
            },
            zk_security,
        )
        .await
        .map_err(|e| format!("cannot connect to ZooKeeper at {}: {e}", config.zookeeper_connect))?;
        zk.create_top_level_paths().await.map_err(|e| format!("cannot create ZooKeeper paths: {e}"))?;
        let cluster_id = zk.get_or_create_cluster_id().await.map_err(|e| format!("cannot read /cluster/id: {e}"))?;
        log::info!("Cluster ID = {cluster_id}");

        // The broker configuration in force: server.properties with the
        // dynamic broker configs already in ZooKeeper, so the logs loaded
        // below start with the log defaults the operator set (a retention
        // pass before the first LeaderAndIsr must not use stale defaults).
        let broker_config =
            crate::server::dynamic_broker_config::DynamicBrokerConfig::new(config.props.clone(), default_log_config(&config)?);
        for (is_default, entity) in [(true, crate::zk::admin_zk_client::DEFAULT_ENTITY_NAME.to_string()), (false, broker_id.to_string())] {
            match zk.get_entity_config("brokers", &entity).await {
                Ok(c) if !c.is_empty() => {
                    broker_config.update(is_default, c.into_iter().collect());
                }
                Ok(_) => {}
                Err(e) => log::warn!("cannot read the dynamic config of brokers/{entity}: {e}"),
            }
        }
        let log_config = broker_config.current().log_config.clone();
        // Topic overrides for the logs already on disk.
        let mut topic_configs = HashMap::new();
        for topic in zk.get_all_topics().await.map_err(|e| format!("cannot list topics: {e}"))? {
            let overrides = zk.get_entity_config("topics", &topic).await.unwrap_or_default();
            if let Ok(c) = LogConfig::from_overrides(&log_config, &overrides) {
                topic_configs.insert(topic, c);
            }
        }
        let lm_dirs = config.log_dirs.clone();
        let lm_default = log_config.clone();
        let lm_cluster = cluster_id.clone();
        let log_manager = Arc::new(
            tokio::task::spawn_blocking(move || LogManager::startup(lm_dirs, broker_id, &lm_cluster, lm_default, &topic_configs))
                .await
                .map_err(|e| format!("log recovery failed: {e}"))?
                .map_err(|e| format!("cannot load logs: {e}"))?,
        );
        // Kafka's LogCleaner (log.cleaner.enable): compacts cleanup.policy=compact logs,
        // with the dynamic log.cleaner.* values already in ZooKeeper.
        let mut cleaner_config = crate::log::log_cleaner::CleanerConfig::from_kafka_config(&config)?;
        {
            let d = broker_config.current().cleaner();
            cleaner_config.num_threads = d.threads;
            cleaner_config.dedupe_buffer_size = d.dedupe_buffer_size.max(0) as u64;
            cleaner_config.dedupe_buffer_load_factor = d.io_buffer_load_factor;
            cleaner_config.io_buffer_size = d.io_buffer_size;
            cleaner_config.max_io_bytes_per_second = if d.io_max_bytes_per_second > 0.0 { d.io_max_bytes_per_second } else { f64::MAX };
            cleaner_config.backoff_ms = d.backoff_ms.max(0) as u64;
        }
        if cleaner_config.enable_cleaner {
            log_manager.start_cleaner(cleaner_config);
        }
        let metadata_cache = Arc::new(MetadataCache::new());
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        // Dynamic log.cleaner.* changes restart the cleaner threads (Kafka's LogCleaner.reconfigure).
        if let Some(cleaner) = log_manager.cleaner().cloned() {
            broker_config.on_change(shutdown_rx.clone(), move |old, new| {
                let (o, n) = (old.cleaner(), new.cleaner());
                if o == n {
                    return;
                }
                let cleaner = cleaner.clone();
                tokio::task::spawn_blocking(move || {
                    let r = cleaner.reconfigure(
                        (o.threads != n.threads).then_some(n.threads),
                        (o.io_max_bytes_per_second != n.io_max_bytes_per_second).then_some(n.io_max_bytes_per_second),
                        (o.dedupe_buffer_size != n.dedupe_buffer_size).then_some(n.dedupe_buffer_size.max(0) as u64),
                        (o.backoff_ms != n.backoff_ms).then_some(n.backoff_ms.max(0) as u64),
                    );
                    match r {
                        Ok(()) => log::info!("log cleaner reconfigured: {:?}", cleaner.current_config()),
                        Err(e) => log::error!("cannot reconfigure the log cleaner: {e}"),
                    }
                });
            });
        }
        let replica_manager = ReplicaManager::start(
            broker_id,
            log_manager.clone(),
            log_config.clone(),
            log_config.min_insync_replicas,
            ReplicationSettings {
                fetcher: FetcherConfig {
                    num_fetchers: broker_config.current().num_replica_fetchers(),
                    channel: inter_broker_channel.clone(),
                    ..FetcherConfig::from_kafka_config(&config)
                },
                replica_lag_time_max_ms: config.replica_lag_time_max_ms,
                zk: Some(zk.clone()),
                quotas: Arc::new(crate::server::replication_quota_manager::ReplicationQuotas::from_kafka_config(&config)),
            },
            shutdown_rx.clone(),
        );

        let group_coordinator = GroupCoordinator::new(
            broker_id,
            OffsetConfig::from_broker(&config),
            GroupConfig::from_broker(&config),
            replica_manager.clone(),
        );
        let producer_id_manager = Arc::new(crate::server::producer_id_manager::ProducerIdManager::new(broker_id, zk.clone()));
        let txn_coordinator = crate::coordinator::transaction::TransactionCoordinator::new(
            broker_id,
            crate::coordinator::transaction::TransactionConfig::from_broker(&config),
            replica_manager.clone(),
            metadata_cache.clone(),
            producer_id_manager.clone(),
            (config.inter_broker_listener_name.clone(), inter_broker_channel.clone()),
        );
        {
            let gc = group_coordinator.clone();
            let tc = txn_coordinator.clone();
            replica_manager.set_leadership_listener(Box::new(move |tp, leader, epoch| {
                gc.on_leadership_change(tp, leader, epoch);
                tc.on_leadership_change(tp, leader, epoch);
            }));
        }

        // Dynamic topic and broker configs (throttles, min ISR, log configs):
        // the current ones now, later changes through /config/changes.
        let dynamic_config_manager = crate::server::dynamic_config_manager::DynamicConfigManager::with_broker_config(
            broker_id,
            zk.clone(),
            replica_manager.clone(),
            broker_config.clone(),
        );
        // Client quotas (users, clients): loaded with the other configs at start-up.
        let client_quotas = crate::server::client_quota_manager::ClientQuotaManagers::new(
            crate::server::client_quota_manager::quota_config(
                config.get_i64("quota.window.num", 11),
                config.get_i64("quota.window.size.seconds", 1),
            ),
        );
        dynamic_config_manager.set_client_quotas(client_quotas.clone());
        dynamic_config_manager.set_credential_cache(credential_cache.clone());
        dynamic_config_manager.startup(shutdown_rx.clone()).await;

        // One SocketServer per listener (Kafka's Acceptor per EndPoint).
        let mut socket_servers = Vec::new();
        let mut bound_ports: Vec<(String, u16)> = Vec::new();
        for (listener, security) in config.listeners.iter().zip(listener_securities) {
            let host = if listener.host.is_empty() { "0.0.0.0" } else { listener.host.as_str() };
            let server = SocketServer::bind(&format!("{host}:{}", listener.port), config.socket_request_max_bytes, security)
                .await
                .map_err(|e| format!("cannot listen on {}: {e}", listener.connection_string()))?;
            let port = server.local_addr().map(|a| a.port()).unwrap_or(listener.port);
            bound_ports.push((listener.listener_name.clone(), port));
            socket_servers.push(server);
        }
        let first = &config.listeners[0];
        let bind_host = if first.host.is_empty() { "0.0.0.0" } else { first.host.as_str() };
        let bound_port = bound_ports[0].1;
        let advertised: Vec<EndPoint> = config
            .advertised_listeners
            .iter()
            .map(|e| {
                let bound = bound_ports.iter().find(|(n, _)| *n == e.listener_name).map(|(_, p)| *p).unwrap_or(e.port);
                EndPoint { port: if e.port == 0 { bound } else { e.port }, ..e.clone() }
            })
            .collect();

        // Kafka's AclAuthorizer (authorizer.class.name): ACLs loaded from
        // ZooKeeper before the first request is served, then followed.
        let authorizer = crate::security::authorizer::AclAuthorizer::from_config(|k| config.get(k))?.map(Arc::new);
        if let Some(a) = &authorizer {
            crate::security::authorizer::zk_acl_store::start(zk.clone(), a.clone(), shutdown_rx.clone())
                .await
                .map_err(|e| format!("cannot load the ACLs from ZooKeeper: {e}"))?;
        }

        let apis = Arc::new(KafkaApis {
            config: config.clone(),
            broker_id,
            cluster_id: cluster_id.clone(),
            replica_manager: replica_manager.clone(),
            metadata_cache: metadata_cache.clone(),
            zk: zk.clone(),
            group_coordinator: group_coordinator.clone(),
            producer_id_manager,
            txn_coordinator: txn_coordinator.clone(),
            controller: std::sync::OnceLock::new(),
            dynamic_config: broker_config.clone(),
            quotas: client_quotas,
            authorizer: std::sync::OnceLock::new(),
        });
        if let Some(a) = authorizer {
            let _ = apis.authorizer.set(a);
        }
        group_coordinator.startup(shutdown_rx.clone());
        txn_coordinator.startup(shutdown_rx.clone());
        for server in socket_servers {
            let name = server.listener_name().to_string();
            let port = server.local_addr().map(|a| a.port()).unwrap_or(0);
            tokio::spawn(server.run(apis.clone(), shutdown_rx.clone()));
            log::info!("listener {name} ({}) listening on port {port}", config.security_protocol(&name).map(|p| p.name()).unwrap_or("?"));
        }
        log::info!("listening on port {bound_port}");

        // The HTTP endpoint (`metrics.port`, off when unset): Prometheus
        // metrics and the live view register their routes on `http_routes`.
        let http_routes = crate::server::http_server::HttpRoutes::default();
        let mut http_port = None;
        if let Some(port) = config.metrics_port {
            let server = crate::server::http_server::HttpServer::bind(&format!("{bind_host}:{port}"))
                .await
                .map_err(|e| format!("cannot listen on {bind_host}:{port} (metrics.port): {e}"))?;
            let bound = server.local_addr().map(|a| a.port()).unwrap_or(port);
            tokio::spawn(server.run(http_routes.clone(), shutdown_rx.clone()));
            log::info!("HTTP endpoint (metrics.port) listening on port {bound}");
            http_port = Some(bound);
        }
        crate::server::cluster_view::register(&http_routes, zk.clone(), replica_manager.clone(), broker_id);

        let broker_info = BrokerInfo::new(
            broker_id,
            advertised
                .iter()
                .map(|e| {
                    let protocol = config.security_protocol(&e.listener_name).unwrap_or(SecurityProtocol::Plaintext);
                    crate::zk::EndPoint::new(&e.listener_name, protocol, &e.host, e.port as i32)
                })
                .collect(),
            config.get("broker.rack"),
        );
        let broker_info = BrokerInfo { http_port, ..broker_info };
        let broker_epoch = zk
            .register_broker(&broker_info)
            .await
            .map_err(|e| format!("cannot register broker {broker_id} in ZooKeeper: {e}"))?;
        log::info!("registered broker {broker_id} at path /brokers/ids/{broker_id} with epoch {broker_epoch}");
        replica_manager.set_broker_epoch(broker_epoch);

        let controller =
            KafkaController::startup(zk.clone(), broker_info.clone(), broker_epoch, controller_config);
        let _ = apis.controller.set(controller.clone());
        dynamic_config_manager.set_controller(controller.clone());

        // After a session expiry the controller's event thread re-registers
        // this broker (as Kafka does); follow the new broker epoch here.
        {
            let controller = controller.clone();
            let rm = replica_manager.clone();
            let mut sessions = zk.subscribe_session_reinit();
            let mut stop = shutdown_rx.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        changed = sessions.changed() => {
                            if changed.is_err() { break; }
                            let before = controller.broker_epoch();
                            for _ in 0..600 {
                                if controller.broker_epoch() != before { break; }
                                tokio::time::sleep(Duration::from_millis(50)).await;
                            }
                            rm.set_broker_epoch(controller.broker_epoch());
                        }
                        _ = stop.changed() => break,
                    }
                }
            });
        }

        // Periodic high-watermark and recovery-point checkpoints.
        {
            let rm = replica_manager.clone();
            let every = Duration::from_millis(config.replica_high_watermark_checkpoint_interval_ms.max(100));
            let mut stop = shutdown_rx.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {
                            let rm = rm.clone();
                            let _ = tokio::task::spawn_blocking(move || rm.checkpoint()).await;
                        }
                        _ = stop.changed() => break,
                    }
                }
            });
        }

        // LogManager's scheduled tasks: "kafka-log-retention" every
        // log.retention.check.interval.ms, "kafka-log-flusher" every
        // log.flush.scheduler.interval.ms (never by default), and the delayed
        // removal of `.deleted` files. Kafka waits 30 s before the first
        // run; we wait that or one period, whichever is shorter.
        spawn_log_task(
            "kafka-log-retention",
            config.log_retention_check_interval_ms,
            log_manager.clone(),
            shutdown_rx.clone(),
            |lm| {
                lm.cleanup_logs(crate::common::now_ms());
            },
        );
        spawn_log_task(
            "kafka-log-flusher",
            config.log_flush_scheduler_interval_ms,
            log_manager.clone(),
            shutdown_rx.clone(),
            |lm| lm.flush_dirty_logs(crate::common::now_ms()),
        );
        spawn_log_task("delete-file", 200, log_manager.clone(), shutdown_rx.clone(), |lm| {
            lm.delete_due_files(crate::common::now_ms());
        });

        // Prometheus metrics on the HTTP endpoint (bound before registration,
        // above); the route needs the controller, so it is added now.
        if http_port.is_some() {
            let peers = Arc::new(crate::server::metrics::endpoint::PeerAccess {
                broker_id,
                metadata_cache: metadata_cache.clone(),
                listener_name: config.inter_broker_listener_name.clone(),
                channel: inter_broker_channel.clone(),
            });
            http_routes.add(crate::server::metrics::endpoint::route(
                replica_manager.clone(),
                controller.clone(),
                group_coordinator.clone(),
                peers,
            ));
        }

        log::info!("[KafkaServer id={broker_id}] started");
        Ok(KafkaServer {
            config,
            zk,
            replica_manager,
            controller,
            group_coordinator,
            bound_port,
            bound_ports,
            inter_broker_channel,
            http_port,
            http_routes,
            credential_cache,
            shutdown_tx,
        })
    }

    pub async fn shutdown(self) {
        let id = self.config.broker_id;
        log::info!("[KafkaServer id={id}] shutting down");
        self.replica_manager.mark_shutting_down();
        self.controlled_shutdown().await;
        let _ = self.shutdown_tx.send(true);
        self.group_coordinator.shutdown();
        self.replica_manager.fetcher_manager.shutdown().await;
        let mover = self.replica_manager.alter_log_dirs_manager.clone();
        let _ = tokio::task::spawn_blocking(move || mover.shutdown()).await;
        self.controller.shutdown().await;
        let lm = self.replica_manager.log_manager.clone();
        let t = std::time::Instant::now();
        match tokio::task::spawn_blocking(move || lm.shutdown()).await {
            Ok(Ok(())) => log::info!("[KafkaServer id={id}] logs closed in {} ms", t.elapsed().as_millis()),
            Ok(Err(e)) => log::error!("log manager shutdown failed: {e}"),
            Err(e) => log::error!("log manager shutdown panicked: {e}"),
        }
        self.zk.close_and_wait(Duration::from_secs(5)).await;
        log::info!("[KafkaServer id={id}] shut down completed");
    }
}

impl KafkaServer {
    /// Kafka's `KafkaServer.controlledShutdown`: asks the controller to move
    /// this broker's leaderships away before it stops. Tries
    /// `controlled.shutdown.max.retries` times, `controlled.shutdown.retry.backoff.ms`
    /// apart, each bounded by `controller.socket.timeout.ms`; then shuts
    /// down regardless.
    async fn controlled_shutdown(&self) {
        let id = self.config.broker_id;
        if !self.config.controlled_shutdown_enable {
            return;
        }
        let retries = self.config.get_i64("controlled.shutdown.max.retries", 3).max(1);
        let backoff = Duration::from_millis(self.config.get_i64("controlled.shutdown.retry.backoff.ms", 5000).max(0) as u64);
        let timeout = Duration::from_millis(self.config.get_i64("controller.socket.timeout.ms", 30_000).max(100) as u64);
        log::info!("[KafkaServer id={id}] starting controlled shutdown");
        for attempt in 1..=retries {
            match self.try_controlled_shutdown(timeout).await {
                Ok(remaining) if remaining.is_empty() => {
                    log::info!("[KafkaServer id={id}] controlled shutdown succeeded");
                    return;
                }
                Ok(remaining) => log::warn!(
                    "[KafkaServer id={id}] controlled shutdown attempt {attempt}/{retries}: still leading {remaining:?}"
                ),
                Err(e) => log::warn!("[KafkaServer id={id}] controlled shutdown attempt {attempt}/{retries} failed: {e}"),
            }
            if attempt < retries {
                tokio::time::sleep(backoff).await;
            }
        }
        log::warn!("[KafkaServer id={id}] proceeding to do an unclean shutdown as all the controlled shutdown attempts failed");
    }


    /// One ControlledShutdown round trip; returns the partitions the
    /// controller says we still lead.
    async fn try_controlled_shutdown(&self, timeout: Duration) -> Result<Vec<String>, String> {
        let id = self.config.broker_id;
        let controller = match self.zk.get_controller_id().await {
            Ok(Some(c)) => c,
            Ok(None) => return Err("no controller elected".into()),
            Err(e) => return Err(format!("cannot read /controller: {e}")),
        };
        let addr = match self.zk.get_broker(controller).await {
            Ok(Some((info, _))) => match info.endpoint(&self.config.inter_broker_listener_name) {
                Some(e) => e.address(),
                None => {
                    return Err(format!("controller {controller} has no {} endpoint", self.config.inter_broker_listener_name))
                }
            },
            Ok(None) => return Err(format!("controller {controller} is not registered")),
            Err(e) => return Err(format!("cannot read broker {controller}: {e}")),
        };
        let req = ControlledShutdownRequest {
            broker_id: id,
            broker_epoch: self.replica_manager.broker_epoch(),
            ..Default::default()
        };
        let attempt = async {
            let client_id = format!("broker-{id}-controlled-shutdown");
            let mut conn = BrokerConnection::connect_secured(&addr, &client_id, timeout, &self.inter_broker_channel)
                .await
                .map_err(|e| format!("cannot connect to controller {controller} at {addr}: {e}"))?;
            let resp: ControlledShutdownResponse =
                conn.send(3, &req).await.map_err(|e| format!("ControlledShutdown to controller {controller}: {e}"))?;
            Ok::<_, String>(resp)
        };
        let resp = tokio::time::timeout(timeout, attempt)
            .await
            .map_err(|_| format!("controller {controller} did not answer within {} ms", timeout.as_millis()))??;
        if resp.error_code != error::NONE {
            return Err(format!("controller {controller} answered {}", error::error_name(resp.error_code)));
        }
        Ok(resp.remaining_partitions.iter().map(|p| format!("{}-{}", p.topic_name, p.partition_index)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::runtime_workers;

    #[test]
    fn the_runtime_has_num_network_threads_workers_at_most_one_per_core() {
        assert_eq!(runtime_workers(3, 2), 2, "Kafka's default of 3 on 2 cores");
        assert_eq!(runtime_workers(3, 16), 3);
        assert_eq!(runtime_workers(1, 2), 1);
        assert_eq!(runtime_workers(0, 0), 1, "never fewer than one");
    }
}
