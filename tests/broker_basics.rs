//! Process-level behaviour of one broker against a real ZooKeeper: start-up
//! checks (configuration, ZooKeeper reachability, duplicate broker ids),
//! ZooKeeper registration, and the ApiVersions rules.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use zkafka::client::BrokerConnection;
use zkafka::protocol::messages::api_versions::{ApiVersionsRequest, ApiVersionsResponse};

fn run_server_with(props: &str, timeout: Duration) -> (Option<i32>, String) {
    let dir = temp_dir("cfg");
    let f = dir.join("server.properties");
    std::fs::write(&f, props).unwrap();
    let mut child = Command::new(zkafka_bin())
        .arg("kafka-server-start")
        .arg(&f)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            return (status.code(), err);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return (None, String::new());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn invalid_config_value_stops_startup_naming_the_key() {
    let (code, err) = run_server_with(
        "broker.id=0\nzookeeper.connect=127.0.0.1:1\nlog.dirs=/tmp/x\nnum.partitions=many\n",
        Duration::from_secs(20),
    );
    assert_eq!(code, Some(1), "stderr: {err}");
    assert!(err.contains("num.partitions"), "stderr should name the key: {err}");
}

#[test]
fn missing_properties_file_is_a_usage_error() {
    let out = Command::new(zkafka_bin()).arg("kafka-server-start").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("USAGE"));
}

#[test]
fn zookeeper_down_at_startup_exits_after_connection_timeout() {
    let port = free_port(); // nothing listens here
    let started = Instant::now();
    let (code, err) = run_server_with(
        &format!(
            "broker.id=0\nzookeeper.connect=127.0.0.1:{port}\nzookeeper.connection.timeout.ms=3000\nlog.dirs={}\n",
            temp_dir("nozk").display()
        ),
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(1), "stderr: {err}");
    assert!(started.elapsed() >= Duration::from_millis(2500), "gave up too early: {:?}", started.elapsed());
    assert!(err.to_lowercase().contains("zookeeper"), "stderr: {err}");
}

#[test]
fn duplicate_broker_id_is_refused_while_the_first_lives() {
    let zk = zookeeper();
    let connect = format!("{}{}", zk.connect_string(), chroot("dup"));
    let _first = Broker::start(1, &connect, &[]);
    let (code, err) = run_server_with(
        &format!(
            "broker.id=1\nlisteners=PLAINTEXT://127.0.0.1:{}\nzookeeper.connect={connect}\nlog.dirs={}\n",
            free_port(),
            temp_dir("dup2").display()
        ),
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(1), "stderr: {err}");
    assert!(err.contains("already registered") || err.contains("exists"), "stderr: {err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn api_versions_lists_served_apis_and_handles_unknown_versions() {
    let zk = zookeeper();
    let broker = Broker::start(0, &format!("{}{}", zk.connect_string(), chroot("apiv")), &[]);
    let mut conn = BrokerConnection::connect(&broker.addr(), "test", Duration::from_secs(5)).await.unwrap();
    for v in 0..=3 {
        let resp: ApiVersionsResponse = conn
            .send(v, &ApiVersionsRequest { client_software_name: "t".into(), client_software_version: "1".into(), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(resp.error_code, 0);
        let range = |k: i16| resp.api_keys.iter().find(|a| a.api_key == k).map(|a| (a.min_version, a.max_version));
        assert_eq!(range(18), Some((0, 3)));
        assert_eq!(range(3), Some((0, 11)));
        // Kafka 2.8's full ranges: v0/v1 message sets are converted
        assert_eq!(range(0), Some((0, 9)));
        assert_eq!(range(1), Some((0, 12)));
        assert_eq!(range(2), Some((0, 6)));
        assert_eq!(range(19), Some((0, 7)));
    }

    // ApiVersions v4 (unknown to 2.8): a v0 body with UNSUPPORTED_VERSION.
    let mut s = TcpStream::connect(broker.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut body = vec![];
    body.extend_from_slice(&18i16.to_be_bytes());
    body.extend_from_slice(&4i16.to_be_bytes());
    body.extend_from_slice(&7i32.to_be_bytes());
    body.extend_from_slice(&(-1i16).to_be_bytes());
    body.push(0); // tagged fields
    body.extend_from_slice(&[1, 1, 0]); // some future body
    s.write_all(&(body.len() as i32).to_be_bytes()).unwrap();
    s.write_all(&body).unwrap();
    let mut size = [0u8; 4];
    s.read_exact(&mut size).unwrap();
    let mut resp = vec![0u8; i32::from_be_bytes(size) as usize];
    s.read_exact(&mut resp).unwrap();
    assert_eq!(&resp[0..4], &7i32.to_be_bytes()); // correlation id, header v0
    assert_eq!(&resp[4..6], &35i16.to_be_bytes()); // UNSUPPORTED_VERSION
    assert_eq!(&resp[6..10], &1i32.to_be_bytes()); // one entry (classic array)
    assert_eq!(&resp[10..16], &[0, 18, 0, 0, 0, 3]);
}

#[test]
fn unknown_api_key_closes_only_that_connection() {
    let zk = zookeeper();
    let broker = Broker::start(0, &format!("{}{}", zk.connect_string(), chroot("unk")), &[]);
    let mut s = TcpStream::connect(broker.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut body = vec![];
    body.extend_from_slice(&999i16.to_be_bytes());
    body.extend_from_slice(&0i16.to_be_bytes());
    body.extend_from_slice(&1i32.to_be_bytes());
    body.extend_from_slice(&(-1i16).to_be_bytes());
    s.write_all(&(body.len() as i32).to_be_bytes()).unwrap();
    s.write_all(&body).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(s.read(&mut buf).unwrap_or(0), 0, "connection should be closed");
    // the broker still serves others
    assert!(TcpStream::connect(broker.addr()).is_ok());
}
