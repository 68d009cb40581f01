//! Run-time log levels: Kafka's `kafka.utils.Log4jController`, the backing of
//! the `BROKER_LOGGER` config resource (`kafka-configs --entity-type
//! broker-loggers`), over the `log` crate.
//!
//! Loggers are our module paths (`zkafka::controller`,
//! `zkafka::server::kafka_apis`, ...) plus `root`, hierarchical like log4j's:
//! a record takes the level of the most specific logger that has one
//! (set at run time, or by a `RUST_LOG` directive at start-up), else root's.
//! Setting a level applies at once; removing it (`--delete-config`) goes
//! back to the start-up level. Formatting and output stay env_logger's.

use log::{LevelFilter, Log, Metadata, Record};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{OnceLock, RwLock};

/// Kafka's `Log4jController.ROOT_LOGGER`.
pub const ROOT_LOGGER: &str = "root";

/// The loggers that exist from start-up (log4j creates one per class; we
/// name the crate's main modules; any other target joins the list once it
/// has logged). A unit test checks each is a module of the source tree.
pub const MODULE_LOGGERS: &[&str] = &[
    "zkafka",
    "zkafka::client",
    "zkafka::client::admin",
    "zkafka::client::group",
    "zkafka::common",
    "zkafka::config",
    "zkafka::controller",
    "zkafka::coordinator",
    "zkafka::log",
    "zkafka::log4j_controller",
    "zkafka::protocol",
    "zkafka::server",
    "zkafka::server::apis",
    "zkafka::server::client_quota_manager",
    "zkafka::server::dynamic_config_manager",
    "zkafka::server::isr_manager",
    "zkafka::server::kafka_apis",
    "zkafka::server::kafka_server",
    "zkafka::server::metadata_cache",
    "zkafka::server::partition",
    "zkafka::server::producer_id_manager",
    "zkafka::server::replica_alter_log_dirs",
    "zkafka::server::replica_fetcher",
    "zkafka::server::replica_manager",
    "zkafka::server::replication_quota_manager",
    "zkafka::server::socket_server",
    "zkafka::tools",
    "zkafka::utils",
    "zkafka::zk",
    "zkafka::zk::admin_zk_client",
    "zkafka::zk::kafka_zk_client",
    "zkafka::zk::zk_data",
];

/// The levels a logger may be set to: Kafka's `LogLevelConfig.VALID_LOG_LEVELS`
/// (FATAL is ERROR here) plus OFF.
pub const VALID_LOG_LEVELS: &[&str] = &["FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE", "OFF"];

/// A level name as `kafka-configs` sets it (upper case, as Kafka requires).
pub fn parse_level(s: &str) -> Option<LevelFilter> {
    Some(match s {
        "FATAL" | "ERROR" => LevelFilter::Error,
        "WARN" => LevelFilter::Warn,
        "INFO" => LevelFilter::Info,
        "DEBUG" => LevelFilter::Debug,
        "TRACE" => LevelFilter::Trace,
        "OFF" => LevelFilter::Off,
        _ => return None,
    })
}

fn level_name(l: LevelFilter) -> String {
    l.to_string().to_uppercase()
}

/// Does logger `name` cover `target` (itself or a descendant)?
fn covers(name: &str, target: &str) -> bool {
    target == name || (target.len() > name.len() && target.starts_with(name) && target[name.len()..].starts_with("::"))
}

/// The level table: start-up directives, run-time overrides, and the
/// targets seen so far. Pure: `LogLevels::level_for` decides each record.
#[derive(Debug, Clone)]
pub struct LogLevels {
    startup_root: LevelFilter,
    startup: BTreeMap<String, LevelFilter>,
    overrides: BTreeMap<String, LevelFilter>,
    seen: BTreeSet<String>,
}

impl LogLevels {
    /// From a `RUST_LOG`-style spec (`info,zkafka::controller=debug`; a
    /// `/regex` suffix is ignored; a bare module name means TRACE).
    pub fn from_spec(spec: &str) -> LogLevels {
        let mut l = LogLevels {
            startup_root: LevelFilter::Error,
            startup: BTreeMap::new(),
            overrides: BTreeMap::new(),
            seen: BTreeSet::new(),
        };
        let spec = spec.split('/').next().unwrap_or("");
        for d in spec.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            match d.split_once('=') {
                Some((m, lvl)) => {
                    if let Ok(level) = lvl.trim().parse::<LevelFilter>() {
                        l.startup.insert(m.trim().to_string(), level);
                    }
                }
                None => match d.parse::<LevelFilter>() {
                    Ok(level) => l.startup_root = level,
                    Err(_) => {
                        l.startup.insert(d.to_string(), LevelFilter::Trace);
                    }
                },
            }
        }
        l
    }

    /// The level in force for records of `target`.
    pub fn level_for(&self, target: &str) -> LevelFilter {
        let mut best: Option<(usize, LevelFilter)> = None;
        // Overrides win over start-up directives of the same logger.
        for (name, level) in self.startup.iter().chain(self.overrides.iter()) {
            if covers(name, target) && best.is_none_or(|(len, _)| name.len() >= len) {
                best = Some((name.len(), *level));
            }
        }
        match best {
            Some((_, l)) => l,
            None => self.root(),
        }
    }

    fn root(&self) -> LevelFilter {
        self.overrides.get(ROOT_LOGGER).copied().unwrap_or(self.startup_root)
    }

    /// The most verbose level any record can have now (`log::set_max_level`).
    pub fn max_level(&self) -> LevelFilter {
        self.startup.values().chain(self.overrides.values()).copied().chain([self.root()]).max().unwrap_or(LevelFilter::Off)
    }

    /// Kafka's `Log4jController.loggerExists`.
    pub fn exists(&self, name: &str) -> bool {
        name == ROOT_LOGGER || MODULE_LOGGERS.contains(&name) || self.seen.contains(name) || self.startup.contains_key(name)
    }

    /// Kafka's `Log4jController.loggers`: every logger with its resolved level.
    pub fn loggers(&self) -> Vec<(String, String)> {
        let mut names: BTreeSet<&str> = MODULE_LOGGERS.iter().copied().collect();
        names.extend(self.seen.iter().map(String::as_str));
        names.extend(self.startup.keys().map(String::as_str));
        let mut out = vec![(ROOT_LOGGER.to_string(), level_name(self.root()))];
        out.extend(names.into_iter().map(|n| (n.to_string(), level_name(self.level_for(n)))));
        out
    }

    pub fn set(&mut self, name: &str, level: LevelFilter) {
        self.overrides.insert(name.to_string(), level);
    }

    pub fn unset(&mut self, name: &str) {
        self.overrides.remove(name);
    }

    fn note_target(&mut self, target: &str) {
        self.seen.insert(target.to_string());
    }
}

struct DynamicLogger {
    inner: env_logger::Logger,
    levels: RwLock<LogLevels>,
}

static LOGGER: OnceLock<&'static DynamicLogger> = OnceLock::new();

impl DynamicLogger {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, LogLevels> {
        self.levels.read().unwrap_or_else(|p| p.into_inner())
    }
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, LogLevels> {
        self.levels.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl Log for DynamicLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= self.read().level_for(metadata.target())
    }

    fn log(&self, record: &Record) {
        let (enabled, known) = {
            let l = self.read();
            (record.level() <= l.level_for(record.target()), l.seen.contains(record.target()))
        };
        if !known {
            self.write().note_target(record.target());
        }
        if enabled {
            self.inner.log(record);
        }
    }

    fn flush(&self) {
        self.inner.flush();
    }
}

/// Installs the logger: levels from `RUST_LOG`, else `default_spec`; output
/// formatted by env_logger (honouring `RUST_LOG_STYLE`).
pub fn init(default_spec: &str) {
    let spec = std::env::var("RUST_LOG").unwrap_or_else(|_| default_spec.to_string());
    let mut builder = env_logger::Builder::new();
    builder.filter_level(LevelFilter::Trace);
    builder.format_timestamp_millis();
    if let Ok(style) = std::env::var("RUST_LOG_STYLE") {
        builder.parse_write_style(&style);
    }
    let levels = LogLevels::from_spec(&spec);
    let max = levels.max_level();
    let logger: &'static DynamicLogger = Box::leak(Box::new(DynamicLogger { inner: builder.build(), levels: RwLock::new(levels) }));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(max);
        let _ = LOGGER.set(logger);
    }
}

/// The loggers and their levels (empty if the logger was not installed).
pub fn loggers() -> Vec<(String, String)> {
    LOGGER.get().map(|l| l.read().loggers()).unwrap_or_default()
}

pub fn logger_exists(name: &str) -> bool {
    LOGGER.get().is_some_and(|l| l.read().exists(name))
}

/// Kafka's `Log4jController.logLevel` / `unsetLogLevel` (`None`): changes the
/// level of `name` now. False if there is no such logger or no logger installed.
pub fn set_log_level(name: &str, level: Option<LevelFilter>) -> bool {
    let Some(l) = LOGGER.get() else { return false };
    let mut w = l.write();
    if !w.exists(name) {
        return false;
    }
    match level {
        Some(level) => w.set(name, level),
        None => w.unset(name),
    }
    log::set_max_level(w.max_level());
    true
}

/// A BROKER_LOGGER change as Kafka's `ZkAdminManager.validateLogLevelConfigs`
/// checks it. `ops` are (logger, operation, value) with IncrementalAlterConfigs'
/// operations (0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT). Errors:
/// `Err((true, msg))` for a config problem (reported as "Invalid config
/// value for resource ..."), `Err((false, msg))` for an invalid request.
pub fn validate_log_level_ops(ops: &[(String, i8, Option<String>)], exists: impl Fn(&str) -> bool) -> Result<(), (bool, String)> {
    for (name, op, value) in ops {
        match op {
            0 => {
                if !exists(name) {
                    return Err((true, format!("Logger {name} does not exist!")));
                }
                let v = value.as_deref().unwrap_or("");
                if parse_level(v).is_none() {
                    return Err((
                        true,
                        format!(
                            "Cannot set the log level of {name} to {v} as it is not a supported log level. Valid log levels are {}",
                            VALID_LOG_LEVELS.join(", ")
                        ),
                    ));
                }
            }
            1 => {
                if !exists(name) {
                    return Err((true, format!("Logger {name} does not exist!")));
                }
                if name == ROOT_LOGGER {
                    return Err((false, format!("Removing the log level of the {ROOT_LOGGER} logger is not allowed")));
                }
            }
            2 => return Err((false, "APPEND operation is not allowed for the BROKER_LOGGER resource".into())),
            3 => return Err((false, "SUBTRACT operation is not allowed for the BROKER_LOGGER resource".into())),
            other => return Err((false, format!("Unknown alter config operation {other}"))),
        }
    }
    Ok(())
}

/// Validates then applies BROKER_LOGGER ops to the installed logger.
pub fn alter_log_levels(ops: &[(String, i8, Option<String>)], validate_only: bool) -> Result<(), (bool, String)> {
    validate_log_level_ops(ops, logger_exists)?;
    if validate_only {
        return Ok(());
    }
    for (name, op, value) in ops {
        let level = if *op == 0 { value.as_deref().and_then(parse_level) } else { None };
        log::info!("[Log4jController] {} the log level of {name}{}", if level.is_some() { "setting" } else { "resetting" },
            level.map(|l| format!(" to {}", level_name(l))).unwrap_or_default());
        set_log_level(name, level);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_like_log4j() {
        let mut l = LogLevels::from_spec("info,zkafka::controller=debug");
        assert_eq!(l.level_for("zkafka::server::kafka_apis"), LevelFilter::Info);
        assert_eq!(l.level_for("zkafka::controller::reassignment"), LevelFilter::Debug);
        assert_eq!(l.level_for("zkafka::controllerx"), LevelFilter::Info, "a prefix must end at a module boundary");
        assert_eq!(l.max_level(), LevelFilter::Debug);
        l.set("zkafka::server", LevelFilter::Trace);
        assert_eq!(l.level_for("zkafka::server::kafka_apis"), LevelFilter::Trace);
        assert_eq!(l.max_level(), LevelFilter::Trace);
        l.set("zkafka::server::kafka_apis", LevelFilter::Warn);
        assert_eq!(l.level_for("zkafka::server::kafka_apis"), LevelFilter::Warn);
        assert_eq!(l.level_for("zkafka::server::socket_server"), LevelFilter::Trace);
        // root changes the loggers without a level of their own
        l.set(ROOT_LOGGER, LevelFilter::Error);
        assert_eq!(l.level_for("zkafka::zk"), LevelFilter::Error);
        assert_eq!(l.level_for("zkafka::controller"), LevelFilter::Debug);
        // removing overrides goes back to the start-up levels
        for n in ["zkafka::server", "zkafka::server::kafka_apis", ROOT_LOGGER] {
            l.unset(n);
        }
        assert_eq!(l.level_for("zkafka::server::kafka_apis"), LevelFilter::Info);
        assert_eq!(l.max_level(), LevelFilter::Debug);
        // an override of a start-up directive's own logger wins
        l.set("zkafka::controller", LevelFilter::Off);
        assert_eq!(l.level_for("zkafka::controller"), LevelFilter::Off);
    }

    #[test]
    fn spec_parsing() {
        let l = LogLevels::from_spec("warn,zkafka::zk,foo=bogus/regex");
        assert_eq!(l.level_for("x"), LevelFilter::Warn);
        assert_eq!(l.level_for("zkafka::zk::zk_data"), LevelFilter::Trace);
        assert_eq!(LogLevels::from_spec("").level_for("x"), LevelFilter::Error);
    }

    #[test]
    fn loggers_listed_with_levels() {
        let mut l = LogLevels::from_spec("info");
        l.set("zkafka::controller", LevelFilter::Debug);
        let m: BTreeMap<String, String> = l.loggers().into_iter().collect();
        assert_eq!(m["root"], "INFO");
        assert_eq!(m["zkafka::controller"], "DEBUG");
        assert_eq!(m["zkafka::server::kafka_apis"], "INFO");
        assert!(l.exists("zkafka::server::kafka_apis") && !l.exists("nope"));
        l.note_target("zookeeper_client::session");
        assert!(l.exists("zookeeper_client::session"));
    }

    #[test]
    fn validation_like_kafka() {
        let exists = |n: &str| n == "root" || n == "zkafka::zk";
        let op = |n: &str, o: i8, v: Option<&str>| vec![(n.to_string(), o, v.map(str::to_string))];
        assert_eq!(validate_log_level_ops(&op("zkafka::zk", 0, Some("DEBUG")), exists), Ok(()));
        assert_eq!(validate_log_level_ops(&op("zkafka::zk", 1, None), exists), Ok(()));
        assert_eq!(validate_log_level_ops(&op("nope", 0, Some("DEBUG")), exists), Err((true, "Logger nope does not exist!".into())));
        let e = validate_log_level_ops(&op("zkafka::zk", 0, Some("debug")), exists).unwrap_err();
        assert!(e.0 && e.1.starts_with("Cannot set the log level of zkafka::zk to debug as it is not a supported log level."), "{e:?}");
        assert_eq!(
            validate_log_level_ops(&op("root", 1, None), exists),
            Err((false, "Removing the log level of the root logger is not allowed".into()))
        );
        assert!(!validate_log_level_ops(&op("root", 2, Some("x")), exists).unwrap_err().0);
    }

    /// Every name in MODULE_LOGGERS is a module of the crate (others show up
    /// once they log).
    #[test]
    fn module_loggers_match_the_source_tree() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        for name in MODULE_LOGGERS {
            let rel: Vec<&str> = name.split("::").skip(1).collect();
            if rel.is_empty() {
                continue;
            }
            let path = rel.join("/");
            assert!(
                src.join(format!("{path}.rs")).exists() || src.join(&path).join("mod.rs").exists(),
                "{name} is not a module"
            );
        }
    }
}
