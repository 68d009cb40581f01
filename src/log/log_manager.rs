//! Owner of every partition log on this broker (Kafka's `LogManager`): checks
//! `meta.properties` in each `log.dirs` entry, loads all `<topic>-<partition>`
//! directories (recovering them if `.kafka_cleanshutdown` is missing), creates
//! and deletes logs, and writes the recovery-point, replication-offset (high
//! watermark) and log-start-offset checkpoints.
//!
//! It also keeps the future logs of replicas being moved to another log dir
//! (`<topic>-<partition>.<uuid>-future`, created by AlterReplicaLogDirs and
//! reloaded at start-up so the move resumes), the preferred log dir of
//! replicas not created yet, and swaps a caught-up future log in for the
//! current one (`replace_current_with_future_log`).

use crate::common::TopicPartition;
use crate::log::checkpoint::{
    write_atomic, OffsetCheckpointFile, LOG_START_OFFSET_CHECKPOINT, RECOVERY_POINT_CHECKPOINT,
    REPLICATION_OFFSET_CHECKPOINT,
};
use crate::log::errors::{LogError, LogResult};
use crate::log::log::{Log, LogOpenState};
use crate::log::log_cleaner::LogCleaner;
use crate::log::log_cleaner_manager::LogCleanerManager;
use crate::log::log_config::LogConfig;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

pub const CLEAN_SHUTDOWN_FILE: &str = ".kafka_cleanshutdown";
pub const META_PROPERTIES: &str = "meta.properties";
pub const DELETE_DIR_SUFFIX: &str = "-delete";
pub const FUTURE_DIR_SUFFIX: &str = "-future";

/// Parses `<topic>-<partition>` directory names.
/// Threads that open logs at start-up and close them at shutdown (Kafka's
/// `num.recovery.threads.per.data.dir`, default 1 there). The work is mostly
/// waiting on the disk (reads, fsyncs), so more threads than cores pay.
pub const LOG_IO_THREADS: usize = 8;

/// Threads closing logs at shutdown: each close is fsyncs (segment, indexes,
/// producer snapshot), disk waits the file system's journal commits share,
/// so twice `LOG_IO_THREADS`.
pub const LOG_CLOSE_THREADS: usize = 16;

/// `f` over `items` on up to `threads` scoped threads; results in input order.
pub fn parallel_map<T: Send, R: Send>(items: Vec<T>, threads: usize, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let n = items.len();
    let threads = threads.max(1).min(n);
    if threads <= 1 {
        return items.into_iter().map(f).collect();
    }
    let queue: Mutex<std::vec::IntoIter<(usize, T)>> =
        Mutex::new(items.into_iter().enumerate().collect::<Vec<_>>().into_iter());
    let mut out: Vec<Option<R>> = (0..n).map(|_| None).collect();
    let results: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(n));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                let Some((i, item)) = next else { break };
                let r = f(item);
                results.lock().unwrap_or_else(|e| e.into_inner()).push((i, r));
            });
        }
    });
    for (i, r) in results.into_inner().unwrap_or_else(|e| e.into_inner()) {
        out[i] = Some(r);
    }
    out.into_iter().flatten().collect()
}

pub fn parse_partition_dir(name: &str) -> Option<TopicPartition> {
    let (topic, part) = name.rsplit_once('-')?;
    if topic.is_empty() || name.ends_with(DELETE_DIR_SUFFIX) || name.ends_with(FUTURE_DIR_SUFFIX) {
        return None;
    }
    let p: i32 = part.parse().ok()?;
    if p < 0 || part.starts_with('+') {
        return None;
    }
    Some(TopicPartition::new(topic, p))
}

/// Parses `<topic>-<partition>.<uuid>-future` directory names (Kafka's
/// `Log.FutureDirPattern`).
pub fn parse_future_dir(name: &str) -> Option<TopicPartition> {
    let stem = name.strip_suffix(FUTURE_DIR_SUFFIX)?;
    let (base, uuid) = stem.rsplit_once('.')?;
    if uuid.is_empty() || uuid.chars().any(char::is_whitespace) {
        return None;
    }
    parse_partition_dir(base)
}

/// A fresh future-log directory name for `tp` (Kafka's `Log.logFutureDirName`).
pub fn future_dir_name(tp: &TopicPartition) -> String {
    format!("{tp}.{:032x}{FUTURE_DIR_SUFFIX}", rand::random::<u128>())
}

/// The absolute form of a configured log dir (Kafka compares requests'
/// paths with `getAbsolutePath`).
fn absolute(dir: &Path) -> PathBuf {
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// Reads a `java.util.Properties`-style file (key=value, `#` comments).
fn read_properties(path: &Path) -> LogResult<Option<HashMap<String, String>>> {
    match fs::metadata(path) {
        Ok(m) if m.len() > 1 << 20 => return Err(LogError::Storage(format!("{} is too large", path.display()))),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let text = fs::read_to_string(path)
        .map_err(|e| LogError::Storage(format!("cannot read {}: {e}", path.display())))?;
    let mut out = HashMap::new();
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with('!') {
            continue;
        }
        if let Some((k, v)) = l.split_once(['=', ':']) {
            out.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    Ok(Some(out))
}

/// Checks (or writes) `meta.properties` in `dir`.
fn check_meta_properties(dir: &Path, broker_id: i32, cluster_id: &str) -> LogResult<()> {
    let path = dir.join(META_PROPERTIES);
    match read_properties(&path)? {
        Some(props) => {
            if props.get("version").map(String::as_str) != Some("0") {
                return Err(LogError::Storage(format!(
                    "{}: unsupported meta.properties version {:?}",
                    path.display(),
                    props.get("version")
                )));
            }
            if props.get("broker.id").map(String::as_str) != Some(broker_id.to_string().as_str()) {
                return Err(LogError::Storage(format!(
                    "{}: broker.id {:?} does not match configured broker.id {broker_id}",
                    path.display(),
                    props.get("broker.id")
                )));
            }
            if let Some(c) = props.get("cluster.id") {
                if c != cluster_id {
                    return Err(LogError::Storage(format!(
                        "{}: cluster.id {c} does not match the cluster's id {cluster_id}",
                        path.display()
                    )));
                }
            }
            Ok(())
        }
        None => {
            let text = format!(
                "#\n#written by zkafka\ncluster.id={cluster_id}\nversion=0\nbroker.id={broker_id}\n"
            );
            write_atomic(&path, text.as_bytes())?;
            Ok(())
        }
    }
}

pub struct LogManager {
    log_dirs: Vec<PathBuf>,
    default_config: RwLock<LogConfig>,
    logs: RwLock<HashMap<TopicPartition, Arc<Log>>>,
    /// Future logs of replicas moving to another log dir (Kafka's `futureLogs`).
    future_logs: RwLock<HashMap<TopicPartition, Arc<Log>>>,
    /// Where a replica not created yet goes (AlterReplicaLogDirs before
    /// LeaderAndIsr; Kafka's `preferredLogDirs`).
    preferred_log_dirs: Mutex<HashMap<TopicPartition, PathBuf>>,
    /// Serialises creation and deletion.
    create_lock: Mutex<()>,
    /// Files renamed `.deleted` by retention, with the time (ms) they may
    /// be removed (Kafka schedules a "delete-file" task per deletion).
    pending_deletes: Mutex<Vec<(i64, PathBuf)>>,
    /// One checkpoint writer at a time: the periodic task, retention, log
    /// deletion and log-dir moves all write the same files (through the
    /// same `.tmp` names).
    checkpoint_lock: Mutex<()>,
    /// The log cleaner's states and `cleaner-offset-checkpoint` files;
    /// retention, deletion and log-dir moves go through it.
    cleaner_manager: Arc<LogCleanerManager>,
    /// The cleaner threads, once started (`log.cleaner.enable`).
    cleaner: std::sync::OnceLock<Arc<LogCleaner>>,
}

impl LogManager {
    /// Opens every log dir: verifies `meta.properties` (writing it if absent),
    /// loads every partition (recovering after an unclean shutdown), then
    /// removes the clean-shutdown marker. `topic_configs` holds per-topic
    /// configs; other topics use `default_config`.
    pub fn startup(
        log_dirs: Vec<PathBuf>,
        broker_id: i32,
        cluster_id: &str,
        default_config: LogConfig,
        topic_configs: &HashMap<String, LogConfig>,
    ) -> LogResult<LogManager> {
        if log_dirs.is_empty() {
            return Err(LogError::Storage("no log.dirs configured".into()));
        }
        let log_dirs: Vec<PathBuf> = log_dirs.iter().map(|d| absolute(d)).collect();
        let mut logs: HashMap<TopicPartition, Arc<Log>> = HashMap::new();
        let mut future_logs: HashMap<TopicPartition, Arc<Log>> = HashMap::new();
        for dir in &log_dirs {
            fs::create_dir_all(dir)?;
            check_meta_properties(dir, broker_id, cluster_id)?;
            let marker = dir.join(CLEAN_SHUTDOWN_FILE);
            let clean = marker.exists();
            let read_ckpt = |name: &str| {
                OffsetCheckpointFile::new(dir.join(name)).read().unwrap_or_else(|e| {
                    log::warn!("{e}; ignoring it");
                    HashMap::new()
                })
            };
            let recovery = read_ckpt(RECOVERY_POINT_CHECKPOINT);
            let hws = read_ckpt(REPLICATION_OFFSET_CHECKPOINT);
            let starts = read_ckpt(LOG_START_OFFSET_CHECKPOINT);
            // Listing and checks first (cheap), then the logs open on
            // LOG_IO_THREADS threads (Kafka's num.recovery.threads.per.data.dir):
            // each open reads its segments and indexes, and recovers the
            // unflushed tail after an unclean shutdown.
            let mut to_open: Vec<(PathBuf, TopicPartition, bool, LogConfig, LogOpenState)> = Vec::new();
            let mut seen: HashSet<(TopicPartition, bool)> = HashSet::new();
            for entry in fs::read_dir(dir)? {
                let entry = entry?;
                if !entry.file_type()?.is_dir() {
                    continue;
                }
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(DELETE_DIR_SUFFIX) {
                    if let Err(e) = fs::remove_dir_all(entry.path()) {
                        log::warn!("cannot remove {}: {e}", entry.path().display());
                    }
                    continue;
                }
                let future_tp = parse_future_dir(&name);
                let Some(tp) = future_tp.clone().or_else(|| parse_partition_dir(&name)) else {
                    log::warn!("ignoring unexpected directory {}", entry.path().display());
                    continue;
                };
                let is_future = future_tp.is_some();
                let target = if is_future { &future_logs } else { &logs };
                if target.contains_key(&tp) || !seen.insert((tp.clone(), is_future)) {
                    return Err(LogError::Storage(format!("duplicate log directories for {tp}")));
                }
                let config = topic_configs.get(&tp.topic).cloned().unwrap_or_else(|| default_config.clone());
                let state = LogOpenState {
                    recovery_point: if clean { i64::MAX } else { recovery.get(&tp).copied().unwrap_or(0) },
                    log_start_offset: starts.get(&tp).copied(),
                    high_watermark: hws.get(&tp).copied(),
                    had_clean_shutdown: clean,
                };
                to_open.push((entry.path(), tp, is_future, config, state));
            }
            let opened = parallel_map(to_open, LOG_IO_THREADS, |(path, tp, is_future, config, state)| {
                Log::open(&path, tp.clone(), config, state).map(|log| (tp, is_future, log))
            });
            for r in opened {
                let (tp, is_future, log) = r?;
                if is_future {
                    // Resumed when LeaderAndIsr brings the partition (Kafka's
                    // becomeLeaderOrFollower restarts the move).
                    log::info!("loaded future log of {tp} in {}", dir.display());
                    future_logs.insert(tp, Arc::new(log));
                } else {
                    logs.insert(tp, Arc::new(log));
                }
            }
            if clean {
                fs::remove_file(&marker)?;
            }
        }
        Ok(LogManager {
            cleaner_manager: Arc::new(LogCleanerManager::new(&log_dirs)),
            cleaner: std::sync::OnceLock::new(),
            log_dirs,
            default_config: RwLock::new(default_config),
            logs: RwLock::new(logs),
            future_logs: RwLock::new(future_logs),
            preferred_log_dirs: Mutex::new(HashMap::new()),
            create_lock: Mutex::new(()),
            pending_deletes: Mutex::new(Vec::new()),
            checkpoint_lock: Mutex::new(()),
        })
    }

    pub fn log_dirs(&self) -> &[PathBuf] {
        &self.log_dirs
    }

    pub fn cleaner_manager(&self) -> &Arc<LogCleanerManager> {
        &self.cleaner_manager
    }

    /// The log cleaner, if started (for `LogCleaner::reconfigure`).
    pub fn cleaner(&self) -> Option<&Arc<LogCleaner>> {
        self.cleaner.get()
    }

    /// Starts the log cleaner threads (Kafka's `LogManager.startup` with
    /// `log.cleaner.enable`).
    pub fn start_cleaner(self: &Arc<Self>, config: crate::log::log_cleaner::CleanerConfig) -> Arc<LogCleaner> {
        let cleaner = self.cleaner.get_or_init(|| LogCleaner::new(config, self)).clone();
        cleaner.startup();
        cleaner
    }

    pub fn default_config(&self) -> LogConfig {
        self.default_config.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// New broker-level log defaults (dynamic broker configs).
    pub fn set_default_config(&self, config: LogConfig) {
        *self.default_config.write().unwrap_or_else(|e| e.into_inner()) = config;
    }

    pub fn get_log(&self, tp: &TopicPartition) -> Option<Arc<Log>> {
        self.logs.read().unwrap_or_else(|e| e.into_inner()).get(tp).cloned()
    }

    pub fn all_logs(&self) -> Vec<Arc<Log>> {
        self.logs.read().unwrap_or_else(|e| e.into_inner()).values().cloned().collect()
    }

    /// Applies a new config to every existing log of `topic`.
    pub fn update_topic_config(&self, topic: &str, config: &LogConfig) {
        for log in self.all_logs() {
            if log.topic_partition().topic == topic {
                log.update_config(config.clone());
            }
        }
    }

    /// The existing log, or a new empty one: in the replica's preferred log
    /// dir if AlterReplicaLogDirs named one, else in the log dir holding the
    /// fewest partitions.
    pub fn get_or_create_log(&self, tp: &TopicPartition, config: LogConfig) -> LogResult<Arc<Log>> {
        if let Some(l) = self.get_log(tp) {
            return Ok(l);
        }
        let _guard = self.create_lock.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = self.get_log(tp) {
            return Ok(l);
        }
        let preferred = self.preferred_log_dirs.lock().unwrap_or_else(|e| e.into_inner()).remove(tp);
        let dir = preferred.unwrap_or_else(|| self.next_log_dir());
        let log = Arc::new(Log::open(&dir.join(tp.to_string()), tp.clone(), config, LogOpenState::default())?);
        self.logs.write().unwrap_or_else(|e| e.into_inner()).insert(tp.clone(), log.clone());
        Ok(log)
    }

    /// `get_or_create_log` for many partitions at once (a LeaderAndIsr
    /// request): the logs that exist are answered from the map; the others get
    /// a log dir each (serially, under the creation lock, as one at a time
    /// would) and are then created on `LOG_IO_THREADS` threads (directory,
    /// segment and index files are disk waits). One answer per entry, in order.
    pub fn get_or_create_logs(&self, wanted: Vec<(TopicPartition, LogConfig)>) -> Vec<LogResult<Arc<Log>>> {
        let _guard = self.create_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<Option<LogResult<Arc<Log>>>> = (0..wanted.len()).map(|_| None).collect();
        let mut counts: Option<Vec<usize>> = None;
        let mut opening: HashMap<TopicPartition, usize> = HashMap::new();
        let mut duplicates: Vec<(usize, TopicPartition)> = Vec::new();
        let mut to_open: Vec<(usize, TopicPartition, LogConfig, PathBuf)> = Vec::new();
        for (i, (tp, config)) in wanted.into_iter().enumerate() {
            if let Some(l) = self.get_log(&tp) {
                out[i] = Some(Ok(l));
                continue;
            }
            if opening.contains_key(&tp) {
                duplicates.push((i, tp));
                continue;
            }
            let preferred = self.preferred_log_dirs.lock().unwrap_or_else(|e| e.into_inner()).remove(&tp);
            let dir = match preferred {
                Some(d) => d,
                None if self.log_dirs.len() == 1 => self.log_dirs[0].clone(),
                None => {
                    // Count once, then keep counting the logs placed here.
                    let c = counts.get_or_insert_with(|| self.log_dir_counts());
                    let k = (0..c.len()).min_by_key(|&k| c[k]).unwrap_or(0);
                    c[k] += 1;
                    self.log_dirs[k].clone()
                }
            };
            opening.insert(tp.clone(), i);
            to_open.push((i, tp, config, dir));
        }
        let opened = parallel_map(to_open, LOG_IO_THREADS, |(i, tp, config, dir)| {
            let r = Log::open(&dir.join(tp.to_string()), tp.clone(), config, LogOpenState::default()).map(Arc::new);
            (i, tp, r)
        });
        {
            let mut logs = self.logs.write().unwrap_or_else(|e| e.into_inner());
            for (i, tp, r) in opened {
                if let Ok(l) = &r {
                    logs.insert(tp, l.clone());
                }
                out[i] = Some(r);
            }
        }
        for (i, tp) in duplicates {
            out[i] = Some(self.get_log(&tp).ok_or_else(|| LogError::Storage(format!("cannot create log for {tp}"))));
        }
        out.into_iter()
            .map(|r| r.unwrap_or_else(|| Err(LogError::Storage("log not created".to_string()))))
            .collect()
    }

    /// Logs per configured log dir, in `log_dirs` order.
    fn log_dir_counts(&self) -> Vec<usize> {
        let logs = self.logs.read().unwrap_or_else(|e| e.into_inner());
        let mut counts = vec![0usize; self.log_dirs.len()];
        for log in logs.values() {
            let ld = log.dir();
            if let Some(k) = self.log_dirs.iter().position(|d| ld.parent() == Some(d.as_path())) {
                counts[k] += 1;
            }
        }
        counts
    }

    fn next_log_dir(&self) -> PathBuf {
        // One dir: nothing to count (counting walked every log, cloning its
        // path, for each new log: quadratic in a 10,000-partition LeaderAndIsr).
        if self.log_dirs.len() == 1 {
            return self.log_dirs[0].clone();
        }
        let counts = self.log_dir_counts();
        let k = (0..counts.len()).min_by_key(|&k| counts[k]).unwrap_or(0);
        self.log_dirs[k].clone()
    }

    /// Removes a log: renames its dir to `<dir>.<uuid>-delete`, then deletes it.
    pub fn delete_log(&self, tp: &TopicPartition) -> LogResult<bool> {
        self.delete_future_log(tp)?;
        let _guard = self.create_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.preferred_log_dirs.lock().unwrap_or_else(|e| e.into_inner()).remove(tp);
        let Some(log) = self.get_log(tp) else {
            return Ok(false);
        };
        // Kafka's deleteLog: stop any clean of it first.
        self.cleaner_manager.abort_cleaning(tp);
        self.logs.write().unwrap_or_else(|e| e.into_inner()).remove(tp);
        let dir = log.dir();
        self.cleaner_manager.remove_partition(tp, &Self::log_dir_of(&log));
        let uuid = format!("{:032x}", rand::random::<u128>());
        let target = dir.with_file_name(format!("{tp}.{uuid}{DELETE_DIR_SUFFIX}"));
        log.close_and_rename(&target)?;
        fs::remove_dir_all(&target)?;
        if let Err(e) = self.checkpoint_all() {
            log::warn!("checkpoint after deleting {tp} failed: {e}");
        }
        Ok(true)
    }

    // ------------------------------------------------ future logs (KIP-113)

    /// The configured log dir equal to `path` (an absolute path, as in
    /// AlterReplicaLogDirs), or `None` (Kafka's LogDirNotFoundException).
    pub fn find_log_dir(&self, path: &str) -> Option<PathBuf> {
        let p = Path::new(path);
        if !p.is_absolute() {
            return None;
        }
        let norm: PathBuf = p.components().collect();
        self.log_dirs.iter().find(|d| d.components().collect::<PathBuf>() == norm).cloned()
    }

    /// The log dir holding `log` (its directory's parent).
    pub fn log_dir_of(log: &Log) -> PathBuf {
        log.dir().parent().map(Path::to_path_buf).unwrap_or_default()
    }

    pub fn get_future_log(&self, tp: &TopicPartition) -> Option<Arc<Log>> {
        self.future_logs.read().unwrap_or_else(|e| e.into_inner()).get(tp).cloned()
    }

    pub fn all_future_logs(&self) -> Vec<Arc<Log>> {
        self.future_logs.read().unwrap_or_else(|e| e.into_inner()).values().cloned().collect()
    }

    /// Remembers `dir` as where `tp`'s replica goes when it is created, unless
    /// its current or future log is already there (Kafka's
    /// `maybeUpdatePreferredLogDir`).
    pub fn maybe_update_preferred_log_dir(&self, tp: &TopicPartition, dir: &Path) {
        let in_dir = |l: Option<Arc<Log>>| l.is_some_and(|l| Self::log_dir_of(&l) == dir);
        if !in_dir(self.get_log(tp)) && !in_dir(self.get_future_log(tp)) {
            self.preferred_log_dirs.lock().unwrap_or_else(|e| e.into_inner()).insert(tp.clone(), dir.to_path_buf());
        }
    }

    /// The future log of `tp` in `dir`, created empty if there is none.
    /// Fails if a future log exists in another dir, or if `dir` holds the
    /// current log.
    pub fn get_or_create_future_log(&self, tp: &TopicPartition, dir: &Path, config: LogConfig) -> LogResult<Arc<Log>> {
        let _guard = self.create_lock.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = self.get_future_log(tp) {
            if Self::log_dir_of(&f) != dir {
                return Err(LogError::Storage(format!("the future log of {tp} is in another log dir")));
            }
            return Ok(f);
        }
        if self.get_log(tp).is_some_and(|l| Self::log_dir_of(&l) == dir) {
            return Err(LogError::Storage(format!("{tp} already lives in {}", dir.display())));
        }
        self.preferred_log_dirs.lock().unwrap_or_else(|e| e.into_inner()).remove(tp);
        let path = dir.join(future_dir_name(tp));
        let log = Arc::new(Log::open(&path, tp.clone(), config, LogOpenState::default())?);
        log::info!("created future log for {tp} in {}", path.display());
        self.future_logs.write().unwrap_or_else(|e| e.into_inner()).insert(tp.clone(), log.clone());
        Ok(log)
    }

    /// Drops and deletes `tp`'s future log, if any (a cancelled or redirected move).
    pub fn delete_future_log(&self, tp: &TopicPartition) -> LogResult<bool> {
        let _guard = self.create_lock.lock().unwrap_or_else(|e| e.into_inner());
        let Some(log) = self.future_logs.write().unwrap_or_else(|e| e.into_inner()).remove(tp) else {
            return Ok(false);
        };
        let dir = log.dir();
        let target = dir.with_file_name(format!("{tp}.{:032x}{DELETE_DIR_SUFFIX}", rand::random::<u128>()));
        log.close_and_rename(&target)?;
        fs::remove_dir_all(&target)?;
        Ok(true)
    }

    /// Kafka's `replaceCurrentWithFutureLog`: if the future log of `tp` ends
    /// where the current one does, it is renamed to `<topic>-<partition>` in
    /// its dir and becomes the current log (same `Log` object for everyone
    /// holding it, see `Log::swap_in_future`, with the old high watermark);
    /// the old files go to `-delete` and are removed. The caller (Partition)
    /// holds its write lock. Returns false if the future log is behind.
    ///
    /// Order as in Kafka: a crash between the two renames leaves two
    /// `<topic>-<partition>` dirs (start-up refuses them, data intact), never
    /// a state where the only copy is marked for deletion.
    pub fn replace_current_with_future_log(&self, tp: &TopicPartition) -> LogResult<bool> {
        let guard = self.create_lock.lock().unwrap_or_else(|e| e.into_inner());
        let source = self.get_log(tp).ok_or_else(|| LogError::Storage(format!("the current replica for {tp} is offline")))?;
        let dest = self.get_future_log(tp).ok_or_else(|| LogError::Storage(format!("the future replica for {tp} is offline")))?;
        let doomed = format!("{tp}.{:032x}{DELETE_DIR_SUFFIX}", rand::random::<u128>());
        let (from_dir, to_dir) = (Self::log_dir_of(&source), Self::log_dir_of(&dest));
        // Kafka pauses cleaning of the moving replica; its clean offset moves along.
        self.cleaner_manager.abort_and_pause_cleaning(tp);
        let swapped = source.swap_in_future(&dest, &tp.to_string(), &doomed);
        if matches!(swapped, Ok(true)) {
            self.cleaner_manager.alter_checkpoint_dir(tp, &from_dir, &to_dir);
        }
        self.cleaner_manager.resume_cleaning(std::slice::from_ref(tp));
        if !swapped? {
            return Ok(false);
        }
        self.future_logs.write().unwrap_or_else(|e| e.into_inner()).remove(tp);
        let old = dest.dir();
        if old.file_name().is_some_and(|n| n.to_string_lossy() == doomed) {
            if let Err(e) = fs::remove_dir_all(&old) {
                log::warn!("cannot delete {}: {e}", old.display());
            }
        }
        log::info!("the log of {tp} now lives in {}", source.dir().display());
        drop(guard);
        if let Err(e) = self.checkpoint_all() {
            log::warn!("checkpoint after moving {tp} failed: {e}");
        }
        Ok(true)
    }

    /// Writes the recovery-point, replication-offset and log-start-offset
    /// checkpoints of every log dir (the periodic task).
    pub fn checkpoint_all(&self) -> LogResult<()> {
        let _one_writer = self.checkpoint_lock.lock().unwrap_or_else(|e| e.into_inner());
        let logs = self.all_logs();
        let futures = self.all_future_logs();
        for dir in &self.log_dirs {
            let mut rp = HashMap::new();
            let mut hw = HashMap::new();
            let mut ls = HashMap::new();
            for log in &logs {
                if log.dir().parent() != Some(dir.as_path()) {
                    continue;
                }
                let tp = log.topic_partition().clone();
                rp.insert(tp.clone(), log.recovery_point());
                hw.insert(tp.clone(), log.high_watermark());
                let start = log.log_start_offset();
                if start > log.first_segment_base_offset() {
                    ls.insert(tp, start);
                }
            }
            // A future log lives in another dir than its current log, so its
            // recovery point and start offset have their own entries.
            for log in &futures {
                if log.dir().parent() == Some(dir.as_path()) {
                    let tp = log.topic_partition().clone();
                    rp.insert(tp.clone(), log.recovery_point());
                    let start = log.log_start_offset();
                    if start > log.first_segment_base_offset() {
                        ls.insert(tp, start);
                    }
                }
            }
            OffsetCheckpointFile::new(dir.join(RECOVERY_POINT_CHECKPOINT)).write(&rp)?;
            OffsetCheckpointFile::new(dir.join(REPLICATION_OFFSET_CHECKPOINT)).write(&hw)?;
            OffsetCheckpointFile::new(dir.join(LOG_START_OFFSET_CHECKPOINT)).write(&ls)?;
        }
        Ok(())
    }

    /// The retention task (Kafka's `LogManager.cleanupLogs`, every
    /// `log.retention.check.interval.ms`): each log deletes the segments its
    /// retention settings and log start offset allow (`Log::delete_old_segments`,
    /// bounded by the high watermark). Order as the log's life cycle wants it:
    /// the log start offset has moved in memory, then it is checkpointed in
    /// `log-start-offset-checkpoint`, then the segments' files are renamed
    /// `.deleted`, then removed after the topic's `file.delete.delay.ms`
    /// (`delete_due_files`). Returns the number of segments deleted.
    pub fn cleanup_logs(&self, now_ms: i64) -> usize {
        let mut detached = Vec::new();
        for log in self.all_logs() {
            // Never while the cleaner works on the log (Kafka's
            // deletableLogs / pauseCleaningForNonCompactedPartitions).
            let tp = log.topic_partition().clone();
            if !self.cleaner_manager.begin_deleting(&tp) {
                continue;
            }
            let result = log.delete_old_segments(now_ms);
            self.cleaner_manager.done_deleting(&tp);
            match result {
                Ok((_, segs)) if !segs.is_empty() => {
                    let config = log.config();
                    detached.push((log.dir(), config.file_delete_delay_ms, segs));
                }
                Ok(_) => {}
                Err(LogError::Closed) => {}
                Err(e) => log::error!("retention of {} failed: {e}", log.topic_partition()),
            }
        }
        if detached.is_empty() {
            return 0;
        }
        if let Err(e) = self.checkpoint_all() {
            log::warn!("checkpoint after retention failed: {e}");
        }
        let mut total = 0;
        let mut renamed = Vec::new();
        for (dir, delay, segs) in detached {
            for mut seg in segs {
                total += 1;
                match crate::log::log::mark_for_deletion(&dir, &mut seg) {
                    Ok(paths) => {
                        let at = now_ms.saturating_add(delay.max(0));
                        renamed.extend(paths.into_iter().map(|p| (at, p)));
                    }
                    Err(e) => log::error!("cannot rename segment {} in {} for deletion: {e}", seg.base_offset(), dir.display()),
                }
            }
        }
        self.pending_deletes.lock().unwrap_or_else(|e| e.into_inner()).extend(renamed);
        total
    }

    /// Removes the `.deleted` files whose `file.delete.delay.ms` has passed
    /// (Kafka's scheduled "delete-file" tasks). Returns how many went.
    pub fn delete_due_files(&self, now_ms: i64) -> usize {
        let due: Vec<PathBuf> = {
            let mut pending = self.pending_deletes.lock().unwrap_or_else(|e| e.into_inner());
            let (due, keep): (Vec<_>, Vec<_>) = pending.drain(..).partition(|(at, _)| *at <= now_ms);
            *pending = keep;
            due.into_iter().map(|(_, p)| p).collect()
        };
        let mut n = 0;
        for p in due {
            match fs::remove_file(&p) {
                Ok(()) => n += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => log::warn!("cannot delete {}: {e}", p.display()),
            }
        }
        if n > 0 {
            log::debug!("deleted {n} files marked .deleted");
        }
        n
    }

    /// Files still waiting for their deletion delay.
    pub fn pending_deletions(&self) -> usize {
        self.pending_deletes.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Flushes logs whose `flush.ms` has elapsed (Kafka's `flushDirtyLogs`).
    pub fn flush_dirty_logs(&self, now_ms: i64) {
        for log in self.all_logs() {
            if let Err(e) = log.flush_if_due(now_ms) {
                log::error!("flush of {} failed: {e}", log.topic_partition());
            }
        }
    }

    /// Clean shutdown: close (flush) every log, write checkpoints, then the marker.
    pub fn shutdown(&self) -> LogResult<()> {
        if let Some(c) = self.cleaner.get() {
            c.shutdown();
        }
        let mut first_err = None;
        // Each close flushes (fsyncs) the log and writes a producer snapshot;
        // 10,000 of them in a row were most of a controlled shutdown.
        let all: Vec<Arc<Log>> = self.all_logs().into_iter().chain(self.all_future_logs()).collect();
        for (log, r) in parallel_map(all, LOG_CLOSE_THREADS, |log| {
            let r = log.close();
            (log, r)
        }) {
            if let Err(e) = r {
                log::error!("closing {} failed: {e}", log.topic_partition());
                first_err.get_or_insert(e);
            }
        }
        self.checkpoint_all()?;
        if let Some(e) = first_err {
            return Err(e);
        }
        for dir in &self.log_dirs {
            write_atomic(&dir.join(CLEAN_SHUTDOWN_FILE), b"")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod parallel_tests {
    use super::parallel_map;

    #[test]
    fn parallel_map_keeps_order_and_runs_everything() {
        let v: Vec<u64> = (0..1000).collect();
        let out = parallel_map(v.clone(), 8, |x| x * 2);
        assert_eq!(out, v.iter().map(|x| x * 2).collect::<Vec<_>>());
        assert_eq!(parallel_map(Vec::<u8>::new(), 8, |x| x), Vec::<u8>::new());
        assert_eq!(parallel_map(vec![1], 8, |x| x + 1), vec![2]);
        assert_eq!(parallel_map(vec![1, 2, 3], 0, |x| x), vec![1, 2, 3]);
    }
}
