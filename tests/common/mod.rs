//! Test harness for integration tests: a real ZooKeeper (Debian's package,
//! started once per test binary and stopped when the binary exits) and real
//! zkafka broker processes on free loopback ports, each test under its own
//! ZooKeeper chroot and temporary log directories.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (bound once, then released).
/// A port on 127.0.0.1 that was free a moment ago, chosen below Linux's
/// ephemeral range (32768-60999): a port the kernel hands out for `bind(0)`
/// can be taken by any outgoing connection before the broker binds it.
/// Ports already handed out by this process are not reused.
pub fn free_port() -> u16 {
    use std::collections::HashSet;
    use std::sync::Mutex;
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    let given = given.get_or_insert_with(HashSet::new);
    for _ in 0..1000 {
        let port = 20000 + rand::random::<u16>() % 12000;
        if given.contains(&port) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.insert(port);
            return port;
        }
    }
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("no free port")
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "zkafka-test-{}-{}-{}",
        tag,
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("cannot create temp dir");
    d
}

fn zk_classpath() -> String {
    let mut cp = String::from("/usr/share/java/zookeeper.jar");
    for j in ["slf4j-log4j12", "log4j-1.2"] {
        let p = format!("/usr/share/java/{j}.jar");
        if Path::new(&p).exists() {
            cp.push(':');
            cp.push_str(&p);
        }
    }
    cp
}

/// A standalone ZooKeeper for this test binary. It is started by a small
/// shell wrapper that kills it once this process has gone, so nothing
/// outlives the tests.
pub struct ZooKeeper {
    pub port: u16,
    pub data_dir: PathBuf,
}

impl ZooKeeper {
    pub fn connect_string(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

pub fn start_zookeeper_process(port: u16, data_dir: &Path) -> Child {
    assert!(
        Path::new("/usr/share/java/zookeeper.jar").exists(),
        "Debian's zookeeper package is missing: run zk/install.sh (tests/run.sh does)"
    );
    let script = format!(
        "java -Xmx256m -Dzookeeper.admin.enableServer=false -Dzookeeper.4lw.commands.whitelist=* \
         -Dzookeeper.root.logger=WARN,CONSOLE -Dlog4j.configuration=file:{repo}/zk/log4j.properties \
         -cp {cp} org.apache.zookeeper.server.ZooKeeperServerMain {port} {dir} & Z=$!; \
         while kill -0 {parent} 2>/dev/null && kill -0 $Z 2>/dev/null; do sleep 0.5; done; kill -9 $Z 2>/dev/null",
        repo = repo_root().display(),
        cp = zk_classpath(),
        port = port,
        dir = data_dir.display(),
        parent = std::process::id()
    );
    Command::new("bash")
        .arg("-c")
        .arg(script)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start ZooKeeper")
}

/// The shared ZooKeeper, started on first use.
pub fn zookeeper() -> &'static ZooKeeper {
    static ZK: OnceLock<ZooKeeper> = OnceLock::new();
    ZK.get_or_init(|| {
        let port = free_port();
        let data_dir = temp_dir("zk");
        let child = start_zookeeper_process(port, &data_dir);
        std::mem::forget(child);
        wait_for_zookeeper(port, Duration::from_secs(60));
        ZooKeeper { port, data_dir }
    })
}

/// Waits until ZooKeeper answers `ruok` with `imok`.
pub fn wait_for_zookeeper(port: u16, timeout: Duration) {
    use std::io::{Read, Write};
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            if s.write_all(b"ruok").is_ok() {
                let mut buf = String::new();
                let _ = s.read_to_string(&mut buf);
                if buf == "imok" {
                    return;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("ZooKeeper on port {port} did not start within {timeout:?}");
}

/// A unique chroot for one test.
pub fn chroot(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("/zkafka-{}-{}-{}", tag, std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

/// One zkafka broker process.
pub struct Broker {
    pub id: i32,
    pub port: u16,
    pub log_dir: PathBuf,
    pub zk_connect: String,
    pub props_file: PathBuf,
    pub child: Option<Child>,
    pub stderr_log: PathBuf,
}

pub fn zkafka_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_zkafka"))
}

impl Broker {
    /// Writes a server.properties for broker `id` under `chroot` with extra
    /// `key=value` lines, and starts it.
    pub fn start(id: i32, zk_connect: &str, extra: &[(&str, &str)]) -> Broker {
        let port = free_port();
        let dir = temp_dir(&format!("broker{id}"));
        let log_dir = dir.join("logs");
        let props_file = dir.join("server.properties");
        let mut props = format!(
            "broker.id={id}\nlisteners=PLAINTEXT://127.0.0.1:{port}\nlog.dirs={}\nzookeeper.connect={zk_connect}\n\
             zookeeper.session.timeout.ms=10000\nzookeeper.connection.timeout.ms=10000\noffsets.topic.replication.factor=1\n\
             group.initial.rebalance.delay.ms=0\n",
            log_dir.display()
        );
        for (k, v) in extra {
            props.push_str(&format!("{k}={v}\n"));
        }
        std::fs::write(&props_file, props).expect("cannot write properties");
        let mut b = Broker { id, port, log_dir, zk_connect: zk_connect.to_string(), props_file, child: None, stderr_log: dir.join("broker.log") };
        b.restart();
        b
    }

    /// Starts the process (again), keeping its log dir, and waits until it serves.
    pub fn restart(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.stderr_log).expect("log file");
        let child = Command::new(zkafka_bin())
            .arg("kafka-server-start")
            .arg(&self.props_file)
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("cannot start zkafka");
        self.child = Some(child);
        self.wait_ready(Duration::from_secs(60));
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Waits until the broker accepts connections and its log says it started.
    pub fn wait_ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    panic!("broker {} exited during start-up with {status}:\n{}", self.id, self.log_tail(40));
                }
            }
            if TcpStream::connect(self.addr()).is_ok() && self.log_contains(&format!("[KafkaServer id={}] started", self.id)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("broker {} did not start within {timeout:?}:\n{}", self.id, self.log_tail(40));
    }

    pub fn log_contains(&self, needle: &str) -> bool {
        std::fs::read_to_string(&self.stderr_log).map(|s| s.contains(needle)).unwrap_or(false)
    }

    pub fn log_tail(&self, n: usize) -> String {
        let f = match std::fs::File::open(&self.stderr_log) {
            Ok(f) => f,
            Err(_) => return String::new(),
        };
        let lines: Vec<String> = BufReader::new(f).lines().map_while(Result::ok).collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// kill -9.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Resident memory of the broker process in KiB (from /proc).
    pub fn rss_kib(&self) -> Option<u64> {
        let pid = self.pid()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
    }

    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}
