//! Tests of the log store as a whole: Log across segment rolls, restarts
//! (clean and torn), truncation, and LogManager lifecycle.

use super::log::{EARLIEST_TIMESTAMP, LATEST_TIMESTAMP};
use super::*;
use crate::common::TopicPartition;
use crate::protocol::compression::Compression;
use crate::protocol::error as ec;
use crate::protocol::records::{self, AppendOrigin, RecordBatchBuilder};
use bytes::Bytes;
use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;

struct TempDir(PathBuf);
impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("zkafka-{tag}-{}-{:08x}", std::process::id(), rand::random::<u32>()));
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn batch(n: usize, ts: i64, codec: Compression, tag: &str) -> Bytes {
    let mut b = RecordBatchBuilder::new(codec);
    for i in 0..n {
        b.append(ts + i as i64, Some(format!("k{i}").as_bytes()), Some(format!("{tag}-{i}-{}", "v".repeat(40)).as_bytes()), &[]);
    }
    b.build().unwrap()
}

fn small_config() -> LogConfig {
    let mut c = LogConfig::default();
    c.segment_bytes = 2000;
    c.index_interval_bytes = 300;
    c
}

/// All record values from `start` to the end, fetching repeatedly.
fn read_all(log: &Log, mut start: i64, max_bytes: usize) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    loop {
        let f = log.read(start, max_bytes, None, true).unwrap();
        if f.records.is_empty() {
            break;
        }
        for b in records::batches(f.records.clone()) {
            let b = b.unwrap();
            assert!(b.is_valid());
            for r in b.records().unwrap() {
                if r.offset >= start {
                    out.push((r.offset, String::from_utf8(r.value.unwrap().to_vec()).unwrap()));
                }
            }
            start = b.next_offset();
        }
    }
    out
}

#[test]
fn append_and_read_across_rolls() {
    let d = TempDir::new("roll");
    let tp = TopicPartition::new("t", 0);
    let log = Log::open(&d.0.join("t-0"), tp, small_config(), LogOpenState::default()).unwrap();
    let codecs = [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd];
    let mut expected = Vec::new();
    for i in 0..60 {
        let n = 1 + i % 4;
        let info = log.append_as_leader(batch(n, 1000 + i as i64 * 10, codecs[i % 5], &format!("b{i}")), 3, AppendOrigin::Client).unwrap();
        assert_eq!(info.num_records, n as i64);
        assert_eq!(info.last_offset - info.first_offset + 1, n as i64);
        for j in 0..n {
            expected.push((info.first_offset + j as i64, format!("b{i}-{j}-{}", "v".repeat(40))));
        }
    }
    assert!(log.num_segments() > 3, "segments: {}", log.num_segments());
    assert_eq!(log.log_end_offset(), expected.len() as i64);
    // Offsets are contiguous.
    for (i, (o, _)) in expected.iter().enumerate() {
        assert_eq!(*o, i as i64);
    }
    // Small and large fetch sizes both see everything, crossing segments.
    assert_eq!(read_all(&log, 0, 1), expected);
    assert_eq!(read_all(&log, 0, 100_000), expected);
    // Start mid-batch and mid-log.
    assert_eq!(read_all(&log, 37, 500), expected[37..].to_vec());
    // Each segment's index can locate every offset.
    for o in [0, 1, 50, 99, expected.len() as i64 - 1] {
        let f = log.read(o, 1, None, true).unwrap();
        let b = records::batches(f.records).next().unwrap().unwrap();
        assert!(b.base_offset() <= o && o <= b.last_offset());
    }
    // min_one_message = false with a tiny limit returns nothing.
    assert!(log.read(0, 10, None, false).unwrap().records.is_empty());
    // High watermark bounds the read.
    log.update_high_watermark(5);
    assert_eq!(log.high_watermark(), 5);
    let f = log.read(0, 1 << 20, Some(log.high_watermark()), true).unwrap();
    let last = records::batches(f.records).map(|b| b.unwrap().last_offset()).max().unwrap();
    assert!(last < 5);
    assert!(log.read(5, 1 << 20, Some(5), true).unwrap().records.is_empty());
    // Out of range.
    let leo = log.log_end_offset();
    assert!(log.read(leo, 100, None, true).unwrap().records.is_empty());
    assert_eq!(log.read(leo + 1, 100, None, true).unwrap_err().error_code(), ec::OFFSET_OUT_OF_RANGE);
    assert_eq!(log.update_high_watermark(leo + 100), leo);
    // Epoch cache.
    assert_eq!(log.latest_epoch(), Some(3));
    assert_eq!(log.end_offset_for_epoch(3), (3, leo));
    // Stored batches carry the leader epoch and are byte-identical otherwise.
    let f = log.read(0, 1, None, true).unwrap();
    let b = records::batches(f.records).next().unwrap().unwrap();
    assert_eq!(b.partition_leader_epoch(), 3);
    let orig = batch(1, 1000, Compression::None, "b0");
    assert_eq!(&b.as_bytes()[17..], &orig[17..]);
}

#[test]
fn bad_requests_append_nothing() {
    let d = TempDir::new("bad");
    let log = Log::open(&d.0.join("t-0"), TopicPartition::new("t", 0), small_config(), LogOpenState::default()).unwrap();
    log.append_as_leader(batch(2, 1, Compression::None, "a"), 0, AppendOrigin::Client).unwrap();
    let good = batch(2, 1, Compression::None, "b");
    let mut bad = good.to_vec();
    bad[50] ^= 1;
    let mut set = good.to_vec();
    set.extend_from_slice(&bad);
    let e = log.append_as_leader(Bytes::from(set), 0, AppendOrigin::Client).unwrap_err();
    assert_eq!(e.error_code(), ec::CORRUPT_MESSAGE);
    assert_eq!(log.log_end_offset(), 2);
    // A magic 1 message is up-converted, not refused.
    let info = log.append_as_leader(records::legacy_message_for_test(1, 0, b"x"), 0, AppendOrigin::Client).unwrap();
    assert_eq!((info.first_offset, info.last_offset), (2, 2));
    let mut c = small_config();
    c.max_message_bytes = 100;
    log.update_config(c);
    let e = log.append_as_leader(batch(5, 1, Compression::None, "big"), 0, AppendOrigin::Client).unwrap_err();
    assert_eq!(e.error_code(), ec::MESSAGE_TOO_LARGE);
    let mut c = small_config();
    c.segment_bytes = 200;
    log.update_config(c);
    let mut set = Vec::new();
    for _ in 0..3 {
        set.extend_from_slice(&batch(1, 1, Compression::None, "x"));
    }
    let e = log.append_as_leader(Bytes::from(set), 0, AppendOrigin::Client).unwrap_err();
    assert_eq!(e.error_code(), ec::RECORD_LIST_TOO_LARGE);
    assert_eq!(log.log_end_offset(), 3);
    assert_eq!(read_all(&log, 0, 1000).len(), 3);
}

#[test]
fn timestamp_lookup() {
    let d = TempDir::new("ts");
    let log = Log::open(&d.0.join("t-0"), TopicPartition::new("t", 0), small_config(), LogOpenState::default()).unwrap();
    for i in 0..40i64 {
        log.append_as_leader(batch(3, 10_000 + i * 100, Compression::None, "x"), 1, AppendOrigin::Client).unwrap();
    }
    assert!(log.num_segments() > 2);
    // Batch i has records at 10000+i*100 + {0,1,2}, offsets 3i..3i+2.
    let r = log.fetch_offset_by_timestamp(10_000 + 7 * 100 + 1).unwrap().unwrap();
    assert_eq!((r.offset, r.timestamp, r.leader_epoch), (22, 10_701, Some(1)));
    let r = log.fetch_offset_by_timestamp(10_000 + 7 * 100 + 50).unwrap().unwrap();
    assert_eq!((r.offset, r.timestamp), (24, 10_800));
    let r = log.fetch_offset_by_timestamp(0).unwrap().unwrap();
    assert_eq!(r.offset, 0);
    assert!(log.fetch_offset_by_timestamp(1_000_000).unwrap().is_none());
    assert_eq!(log.fetch_offset_by_timestamp(EARLIEST_TIMESTAMP).unwrap().unwrap().offset, 0);
    assert_eq!(log.fetch_offset_by_timestamp(LATEST_TIMESTAMP).unwrap().unwrap().offset, 120);
    // Same after a restart (indexes loaded from disk).
    log.close().unwrap();
    drop(log);
    let state = LogOpenState { recovery_point: i64::MAX, had_clean_shutdown: true, ..Default::default() };
    let log = Log::open(&d.0.join("t-0"), TopicPartition::new("t", 0), small_config(), state).unwrap();
    let r = log.fetch_offset_by_timestamp(10_000 + 33 * 100 + 2).unwrap().unwrap();
    assert_eq!(r.offset, 101);
}

#[test]
fn log_append_time_topic() {
    let d = TempDir::new("lat");
    let mut c = small_config();
    c.message_timestamp_type = records::TimestampType::LogAppendTime;
    let log = Log::open(&d.0.join("t-0"), TopicPartition::new("t", 0), c, LogOpenState::default()).unwrap();
    let info = log.append_as_leader(batch(3, 5, Compression::Lz4, "x"), 0, AppendOrigin::Client).unwrap();
    assert!(info.log_append_time > 1_600_000_000_000);
    let f = log.read(0, 1000, None, true).unwrap();
    let b = records::batches(f.records).next().unwrap().unwrap();
    assert!(b.is_valid());
    assert_eq!(b.timestamp_type(), records::TimestampType::LogAppendTime);
    assert_eq!(b.max_timestamp(), info.log_append_time);
}

#[test]
fn truncation_and_follower_append() {
    let d = TempDir::new("trunc");
    let leader = Log::open(&d.0.join("l-0"), TopicPartition::new("l", 0), small_config(), LogOpenState::default()).unwrap();
    for i in 0..30 {
        let epoch = if i < 15 { 1 } else { 2 };
        leader.append_as_leader(batch(2, 100 + i, Compression::None, &format!("e{epoch}")), epoch, AppendOrigin::Client).unwrap();
    }
    // Follower replicates everything via fetches that may end in a partial batch.
    let follower = Log::open(&d.0.join("f-0"), TopicPartition::new("f", 0), small_config(), LogOpenState::default()).unwrap();
    while follower.log_end_offset() < leader.log_end_offset() {
        let f = leader.read(follower.log_end_offset(), 700, None, true).unwrap();
        let mut bytes = f.records.to_vec();
        bytes.extend_from_slice(&batch(1, 1, Compression::None, "partial")[..30]);
        let info = follower.append_as_follower(Bytes::from(bytes)).unwrap();
        assert!(info.num_batches > 0);
    }
    assert_eq!(read_all(&follower, 0, 333), read_all(&leader, 0, 10_000));
    assert_eq!(follower.epoch_entries(), leader.epoch_entries());
    assert_eq!(follower.end_offset_for_epoch(1), (1, 30));
    assert_eq!(follower.end_offset_for_epoch(0), (0, 0));
    // Re-appending old offsets is refused; a corrupt batch too.
    let old = leader.read(0, 1, None, true).unwrap().records;
    assert!(follower.append_as_follower(old.clone()).is_err());
    let mut bad = leader.read(10, 1, None, true).unwrap().records.to_vec();
    bad[40] ^= 0xff;
    assert_eq!(follower.append_as_follower(Bytes::from(bad)).unwrap_err().error_code(), ec::CORRUPT_MESSAGE);

    follower.update_high_watermark(50);
    assert!(follower.truncate_to(33).unwrap()); // mid-batch: the batch 32..33 goes
    assert_eq!(follower.log_end_offset(), 32);
    assert_eq!(follower.high_watermark(), 32);
    assert_eq!(follower.end_offset_for_epoch(2), (2, 32));
    assert!(follower.truncate_to(20).unwrap());
    assert_eq!(follower.log_end_offset(), 20);
    assert_eq!(follower.latest_epoch(), Some(1));
    assert_eq!(read_all(&follower, 0, 10_000).len(), 20);
    assert!(!follower.truncate_to(100).unwrap());
    // Refill from the leader after truncation: offsets continue.
    while follower.log_end_offset() < leader.log_end_offset() {
        let f = leader.read(follower.log_end_offset(), 100_000, None, true).unwrap();
        follower.append_as_follower(f.records).unwrap();
    }
    assert_eq!(read_all(&follower, 0, 10_000), read_all(&leader, 0, 10_000));

    follower.truncate_fully_and_start_at(1000).unwrap();
    assert_eq!((follower.log_start_offset(), follower.log_end_offset(), follower.high_watermark()), (1000, 1000, 1000));
    assert_eq!(follower.num_segments(), 1);
    assert!(follower.epoch_entries().is_empty());
    assert_eq!(follower.read(0, 10, None, true).unwrap_err().error_code(), ec::OFFSET_OUT_OF_RANGE);
    let mut b = batch(2, 1, Compression::None, "z").to_vec();
    records::patch_offset_and_epoch(&mut b, 1000, 4);
    follower.append_as_follower(Bytes::from(b)).unwrap();
    assert_eq!(follower.log_end_offset(), 1002);
    assert_eq!(follower.end_offset_for_epoch(4), (4, 1002));
}

fn manager(dirs: &[PathBuf]) -> LogResult<LogManager> {
    LogManager::startup(dirs.to_vec(), 1, "cluster-A", small_config(), &HashMap::new())
}

#[test]
fn manager_restart_clean_and_torn() {
    let d = TempDir::new("mgr");
    let dirs = vec![d.0.join("d1"), d.0.join("d2")];
    let m = manager(&dirs).unwrap();
    let tps: Vec<_> = (0..4).map(|p| TopicPartition::new("orders", p)).collect();
    for tp in &tps {
        let log = m.get_or_create_log(tp, small_config()).unwrap();
        for i in 0..25 {
            log.append_as_leader(batch(2, 100 + i, Compression::Snappy, "x"), 0, AppendOrigin::Client).unwrap();
        }
        log.update_high_watermark(40);
    }
    // Spread over both dirs.
    assert!(fs::read_dir(&dirs[0]).unwrap().count() >= 3 && fs::read_dir(&dirs[1]).unwrap().count() >= 3);
    let before: Vec<_> = tps.iter().map(|tp| read_all(&m.get_log(tp).unwrap(), 0, 1000)).collect();
    m.shutdown().unwrap();
    drop(m);
    assert!(dirs[0].join(".kafka_cleanshutdown").exists());
    let ckpt = fs::read_to_string(dirs[0].join("replication-offset-checkpoint")).unwrap();
    assert!(ckpt.starts_with("0\n2\norders "), "{ckpt}");

    // Clean restart keeps everything, marker deleted.
    let m = manager(&dirs).unwrap();
    assert!(!dirs[0].join(".kafka_cleanshutdown").exists());
    assert_eq!(m.all_logs().len(), 4);
    for (tp, b) in tps.iter().zip(&before) {
        let log = m.get_log(tp).unwrap();
        assert_eq!(&read_all(&log, 0, 1000), b);
        assert_eq!(log.high_watermark(), 40);
        assert_eq!(log.log_end_offset(), 50);
    }

    // Unclean: torn tail on one log, garbage on another, corrupt index on a third.
    let l0 = m.get_log(&tps[0]).unwrap();
    let l1 = m.get_log(&tps[1]).unwrap();
    let l2 = m.get_log(&tps[2]).unwrap();
    let (d0, d1, d2) = (l0.dir(), l1.dir(), l2.dir());
    let active = |log: &Log| segment_file_name(*log.segment_base_offsets().last().unwrap(), ".log");
    let (a0, a1) = (active(&l0), active(&l1));
    let first_index = segment_file_name(l2.segment_base_offsets()[0], ".index");
    m.checkpoint_all().unwrap();
    drop((l0, l1, l2));
    drop(m); // no shutdown: no marker
    let half = batch(3, 1, Compression::None, "torn");
    let mut f0 = fs::read(d0.join(&a0)).unwrap();
    f0.extend_from_slice(&half[..half.len() / 2]);
    fs::write(d0.join(&a0), f0).unwrap();
    let mut f1 = fs::read(d1.join(&a1)).unwrap();
    f1.extend_from_slice(&[0xab; 100]);
    fs::write(d1.join(&a1), f1).unwrap();
    fs::write(d2.join(&first_index), [0xffu8; 24]).unwrap();
    fs::write(dirs[0].join("recovery-point-offset-checkpoint"), "0\n7\ngarbage").unwrap();
    fs::write(d0.join("leader-epoch-checkpoint"), "zzz").unwrap();

    let m = manager(&dirs).unwrap();
    for (tp, b) in tps.iter().zip(&before) {
        let log = m.get_log(tp).unwrap();
        assert_eq!(&read_all(&log, 0, 1000), b, "{tp}");
        assert_eq!(log.log_end_offset(), 50);
        // Offsets continue without gap or reuse.
        let info = log.append_as_leader(batch(1, 1, Compression::None, "after"), 1, AppendOrigin::Client).unwrap();
        assert_eq!(info.first_offset, 50);
        assert_eq!(read_all(&log, 49, 1000).len(), 2);
    }
    // The epoch cache of the damaged-checkpoint log was rebuilt during recovery.
    assert_eq!(m.get_log(&tps[0]).unwrap().epoch_entries().len(), 2);

    // Corrupt index with a clean marker is rebuilt, not trusted.
    m.shutdown().unwrap();
    drop(m);
    fs::write(d2.join(&first_index), [0x7fu8; 16]).unwrap();
    let m = manager(&dirs).unwrap();
    assert_eq!(read_all(&m.get_log(&tps[2]).unwrap(), 0, 1000).len(), 51);

    // delete_log
    assert!(m.delete_log(&tps[3]).unwrap());
    assert!(m.get_log(&tps[3]).is_none());
    assert!(!m.delete_log(&tps[3]).unwrap());
    let leftovers: Vec<_> = dirs
        .iter()
        .flat_map(|d| fs::read_dir(d).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("orders-3"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    m.shutdown().unwrap();
    drop(m);

    // Wrong broker id / cluster id.
    assert!(LogManager::startup(dirs.clone(), 2, "cluster-A", small_config(), &HashMap::new()).is_err());
    assert!(LogManager::startup(dirs.clone(), 1, "cluster-B", small_config(), &HashMap::new()).is_err());
    let props = fs::read_to_string(dirs[0].join("meta.properties")).unwrap();
    assert!(props.contains("version=0") && props.contains("broker.id=1") && props.contains("cluster.id=cluster-A"));
}

#[test]
fn log_is_send_sync_and_concurrent() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Log>();
    assert_send_sync::<LogManager>();
    let d = TempDir::new("conc");
    let log = std::sync::Arc::new(
        Log::open(&d.0.join("t-0"), TopicPartition::new("t", 0), small_config(), LogOpenState::default()).unwrap(),
    );
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..30 {
                    log.append_as_leader(batch(2, i, Compression::None, &format!("w{w}")), 0, AppendOrigin::Client).unwrap();
                }
            })
        })
        .collect();
    let reader = {
        let log = log.clone();
        std::thread::spawn(move || {
            for _ in 0..50 {
                let _ = log.read(0, 500, None, true).unwrap();
            }
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    reader.join().unwrap();
    let all = read_all(&log, 0, 1000);
    assert_eq!(all.len(), 180);
    assert!(all.iter().enumerate().all(|(i, (o, _))| *o == i as i64));
}


// ------------------------------------------------------------ idempotent producers

fn idem_batch(pid: i64, epoch: i16, seq: i32, n: usize, tag: &str) -> Bytes {
    let mut b = RecordBatchBuilder::new(Compression::None).producer(pid, epoch, seq);
    for i in 0..n {
        b.append(1000 + i as i64, None, Some(format!("{tag}-{i}").as_bytes()), &[]);
    }
    b.build().unwrap()
}

#[test]
fn idempotent_appends_duplicates_and_errors() {
    let d = TempDir::new("idem");
    let dir = d.0.join("t-0");
    let log = Log::open(&dir, TopicPartition::new("t", 0), small_config(), LogOpenState::default()).unwrap();
    let append = |b: Bytes| log.append_as_leader(b, 0, AppendOrigin::Client);
    // Plain batches are unaffected.
    append(batch(2, 1, Compression::None, "plain")).unwrap();
    let first = append(idem_batch(7, 0, 0, 3, "a")).unwrap();
    assert_eq!((first.first_offset, first.last_offset), (2, 4));
    let second = append(idem_batch(7, 0, 3, 2, "b")).unwrap();
    assert_eq!((second.first_offset, second.last_offset), (5, 6));
    // A retry of either is answered with its original offsets and not appended.
    let dup = append(idem_batch(7, 0, 0, 3, "a")).unwrap();
    assert_eq!((dup.first_offset, dup.last_offset, dup.num_records), (2, 4, 0));
    let dup = append(idem_batch(7, 0, 3, 2, "b")).unwrap();
    assert_eq!((dup.first_offset, dup.last_offset), (5, 6));
    assert_eq!(log.log_end_offset(), 7);
    // Gaps and old epochs are refused, nothing appended.
    assert_eq!(append(idem_batch(7, 0, 9, 1, "gap")).unwrap_err().error_code(), ec::OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_eq!(append(idem_batch(7, 0, 4, 1, "overlap")).unwrap_err().error_code(), ec::OUT_OF_ORDER_SEQUENCE_NUMBER);
    // A new epoch starts at 0; then the old epoch is fenced.
    assert_eq!(append(idem_batch(7, 1, 5, 1, "x")).unwrap_err().error_code(), ec::OUT_OF_ORDER_SEQUENCE_NUMBER);
    append(idem_batch(7, 1, 0, 1, "e1")).unwrap();
    assert_eq!(append(idem_batch(7, 0, 5, 1, "old")).unwrap_err().error_code(), ec::INVALID_PRODUCER_EPOCH);
    // A batch with a producer id but no sequence is invalid.
    assert_eq!(append(idem_batch(8, 0, -1, 1, "noseq")).unwrap_err().error_code(), ec::INVALID_RECORD);
    assert_eq!(log.log_end_offset(), 8);
    // Another producer starting mid-sequence (unknown to us) is accepted.
    append(idem_batch(9, 2, 40, 2, "late")).unwrap();
    assert_eq!(log.producer_entry(9).unwrap().last_seq(), 41);
    let values: Vec<String> = read_all(&log, 0, 100_000).into_iter().map(|(_, v)| v).collect();
    assert_eq!(values.iter().filter(|v| v.starts_with("a-")).count(), 3);
    assert_eq!(values.len(), 10);
}

#[test]
fn producer_state_survives_restarts_rolls_and_truncation() {
    let d = TempDir::new("idem-restart");
    let dir = d.0.join("t-0");
    let tp = TopicPartition::new("t", 0);
    let log = Log::open(&dir, tp.clone(), small_config(), LogOpenState::default()).unwrap();
    // Enough batches to roll several segments (snapshots at each roll).
    let mut seq = 0;
    let mut offsets = Vec::new();
    for i in 0..40 {
        let info = log.append_as_leader(idem_batch(5, 0, seq, 2, &format!("r{i}-{}", "x".repeat(30))), 0, AppendOrigin::Client).unwrap();
        offsets.push((seq, info.first_offset));
        seq += 2;
    }
    assert!(log.num_segments() > 3);
    assert!(fs::read_dir(&dir).unwrap().any(|e| e.unwrap().file_name().to_string_lossy().ends_with(".snapshot")));
    let leo = log.log_end_offset();

    // Torn restart (no close): state comes from a roll snapshot plus replay;
    // every one of the last 5 batches is still recognised.
    drop(log);
    let state = LogOpenState { recovery_point: 0, ..Default::default() };
    let log = Log::open(&dir, tp.clone(), small_config(), state).unwrap();
    assert_eq!(log.log_end_offset(), leo);
    for (s, o) in &offsets[offsets.len() - 5..] {
        let dup = log.append_as_leader(idem_batch(5, 0, *s, 2, "retry"), 0, AppendOrigin::Client).unwrap();
        assert_eq!(dup.first_offset, *o);
    }
    assert_eq!(log.log_end_offset(), leo);
    assert_eq!(log.append_as_leader(idem_batch(5, 0, seq + 1, 1, "gap"), 0, AppendOrigin::Client).unwrap_err().error_code(), ec::OUT_OF_ORDER_SEQUENCE_NUMBER);

    // Clean close writes a snapshot at the log end; the reopened log knows the producer.
    log.close().unwrap();
    assert!(dir.join(segment_file_name(leo, ".snapshot")).exists());
    drop(log);
    let log = Log::open(&dir, tp.clone(), small_config(), LogOpenState { had_clean_shutdown: true, recovery_point: leo, ..Default::default() }).unwrap();
    let (s, o) = offsets[offsets.len() - 2];
    assert_eq!(log.append_as_leader(idem_batch(5, 0, s, 2, "retry"), 0, AppendOrigin::Client).unwrap().first_offset, o);
    log.append_as_leader(idem_batch(5, 0, seq, 1, "next"), 0, AppendOrigin::Client).unwrap();

    // Truncation rebuilds the state as of the new end (snapshots past it go).
    let (s10, o10) = offsets[10];
    log.truncate_to(o10).unwrap();
    assert!(producer_state::list_snapshots(&dir).iter().all(|o| *o <= o10));
    assert_eq!(log.producer_entry(5).unwrap().last_seq(), s10 - 1);
    let info = log.append_as_leader(idem_batch(5, 0, s10, 2, "again"), 0, AppendOrigin::Client).unwrap();
    assert_eq!(info.first_offset, o10);

    // Follower appends record producer state too.
    let follower = Log::open(&d.0.join("f-0"), TopicPartition::new("f", 0), small_config(), LogOpenState::default()).unwrap();
    let f = log.read(0, 1 << 20, None, true).unwrap();
    follower.append_as_follower(f.records).unwrap();
    assert_eq!(follower.producer_entry(5), log.producer_entry(5));
    follower.truncate_fully_and_start_at(0).unwrap();
    assert!(follower.producer_entry(5).is_none());
}

/// Kafka's `takeSnapshot` rule on close: a snapshot only when the producer
/// state moved past the newest one. Restarts after such closes still know
/// every producer.
#[test]
fn close_snapshots_producer_state_only_when_it_changed() {
    use std::os::unix::fs::MetadataExt;
    let d = TempDir::new("close-snap");
    let tp = TopicPartition::new("t", 0);
    let clean = |leo| LogOpenState { had_clean_shutdown: true, recovery_point: leo, ..Default::default() };
    // An empty log writes no snapshot on close.
    let empty = Log::open(&d.0.join("e-0"), TopicPartition::new("e", 0), small_config(), LogOpenState::default()).unwrap();
    empty.close().unwrap();
    assert!(files_with(&d.0.join("e-0"), ".snapshot").is_empty());

    let dir = d.0.join("t-0");
    let log = Log::open(&dir, tp.clone(), small_config(), LogOpenState::default()).unwrap();
    let a = log.append_as_leader(idem_batch(5, 0, 0, 2, "a"), 0, AppendOrigin::Client).unwrap();
    let b = log.append_as_leader(idem_batch(5, 0, 2, 2, "b"), 0, AppendOrigin::Client).unwrap();
    let leo = log.log_end_offset();
    log.close().unwrap();
    let snap = dir.join(segment_file_name(leo, ".snapshot"));
    let ino = fs::metadata(&snap).unwrap().ino();
    // Closing again without appends: nothing rewritten (same file, no new one).
    log.close().unwrap();
    assert_eq!(fs::metadata(&snap).unwrap().ino(), ino);
    drop(log);

    // Reopened from that snapshot and closed unchanged: still not rewritten.
    let log = Log::open(&dir, tp.clone(), small_config(), clean(leo)).unwrap();
    log.close().unwrap();
    assert_eq!(fs::metadata(&snap).unwrap().ino(), ino);
    assert_eq!(producer_state::list_snapshots(&dir), vec![leo]);
    drop(log);

    // The next restart still knows the producer: retries are duplicates,
    // the next sequence is accepted, a gap is refused.
    let log = Log::open(&dir, tp.clone(), small_config(), clean(leo)).unwrap();
    assert_eq!(log.producer_entry(5).unwrap().last_seq(), 3);
    assert_eq!(log.append_as_leader(idem_batch(5, 0, 0, 2, "a"), 0, AppendOrigin::Client).unwrap().first_offset, a.first_offset);
    assert_eq!(log.append_as_leader(idem_batch(5, 0, 2, 2, "b"), 0, AppendOrigin::Client).unwrap().first_offset, b.first_offset);
    assert_eq!(log.append_as_leader(idem_batch(5, 0, 9, 1, "gap"), 0, AppendOrigin::Client).unwrap_err().error_code(), ec::OUT_OF_ORDER_SEQUENCE_NUMBER);
    log.append_as_leader(idem_batch(5, 0, 4, 1, "c"), 0, AppendOrigin::Client).unwrap();
    let leo2 = log.log_end_offset();
    // Changed since the snapshot: close writes one at the new end.
    log.close().unwrap();
    assert_eq!(producer_state::list_snapshots(&dir), vec![leo, leo2]);
    drop(log);
    let log = Log::open(&dir, tp, small_config(), clean(leo2)).unwrap();
    assert_eq!(log.producer_entry(5).unwrap().last_seq(), 4);
}

/// Names of the files in `dir` ending with `suffix`.
fn files_with(dir: &std::path::Path, suffix: &str) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(suffix))
        .collect();
    v.sort();
    v
}

#[test]
fn retention_deletes_old_segments_through_the_log_manager() {
    let d = TempDir::new("retention");
    let tp = TopicPartition::new("r", 0);
    let mut config = small_config();
    config.retention_ms = 60_000;
    config.file_delete_delay_ms = 1_000;
    let mut topic_configs = HashMap::new();
    topic_configs.insert("r".to_string(), config.clone());
    let lm = LogManager::startup(vec![d.0.clone()], 0, "c", LogConfig::default(), &topic_configs).unwrap();
    let log = lm.get_or_create_log(&tp, config.clone()).unwrap();
    let now = crate::common::now_ms();
    // Old records (2 min ago), then young ones.
    for i in 0..30 {
        log.append_as_leader(batch(3, now - 120_000 + i, Compression::None, "old"), 0, AppendOrigin::Client).unwrap();
    }
    let old_end = log.log_end_offset();
    for i in 0..30 {
        log.append_as_leader(batch(3, now + i, Compression::None, "new"), 0, AppendOrigin::Client).unwrap();
    }
    assert!(log.num_segments() > 4);
    let dir = log.dir();
    // Nothing beyond the high watermark goes, however old.
    log.update_high_watermark(0);
    assert_eq!(lm.cleanup_logs(now), 0);
    let leo = log.log_end_offset();
    log.update_high_watermark(leo);
    let before = log.segment_base_offsets();
    let deleted = lm.cleanup_logs(now);
    assert!(deleted > 0);
    let after = log.segment_base_offsets();
    assert_eq!(after, before[deleted..].to_vec());
    // The segment holding the last old record stays (its largest timestamp is young).
    assert!(after[0] <= old_end, "first remaining {} vs old end {old_end}", after[0]);
    assert_eq!(log.log_start_offset(), after[0]);
    // Below the start: OFFSET_OUT_OF_RANGE; earliest answers the start.
    assert_eq!(log.read(0, 1000, None, true).unwrap_err().error_code(), ec::OFFSET_OUT_OF_RANGE);
    assert_eq!(log.fetch_offset_by_timestamp(EARLIEST_TIMESTAMP).unwrap().unwrap().offset, after[0]);
    // Renamed with .deleted (log, index, timeindex), removed after the delay.
    let renamed = files_with(&dir, ".deleted");
    assert!(renamed.iter().any(|n| n.ends_with(".log.deleted")));
    assert!(renamed.iter().any(|n| n.ends_with(".index.deleted")));
    assert!(renamed.iter().any(|n| n.ends_with(".timeindex.deleted")));
    assert!(!files_with(&dir, ".log").contains(&crate::log::segment_file_name(before[0], ".log")));
    assert_eq!(lm.delete_due_files(now + 999), 0);
    assert!(lm.delete_due_files(now + 1_000) >= 3 * deleted);
    assert!(files_with(&dir, ".deleted").is_empty());
    // A second pass deletes nothing more; the young records are all there.
    assert_eq!(lm.cleanup_logs(now), 0);
    let young = read_all(&log, log.log_start_offset(), 1 << 20).into_iter().filter(|(_, v)| v.starts_with("new")).count();
    assert_eq!(young, 90);
}

#[test]
fn size_retention_rolls_and_start_offset_breach() {
    let d = TempDir::new("retsize");
    let tp = TopicPartition::new("s", 0);
    let mut config = small_config();
    config.retention_ms = -1;
    config.retention_bytes = 0;
    let lm = manager(&[d.0.clone()]).unwrap();
    let log = lm.get_or_create_log(&tp, config.clone()).unwrap();
    let now = crate::common::now_ms();
    for i in 0..20 {
        log.append_as_leader(batch(2, now + i, Compression::None, "x"), 0, AppendOrigin::Client).unwrap();
    }
    let leo = log.log_end_offset();
    log.update_high_watermark(leo);
    let n = log.num_segments();
    // retention.bytes 0: everything goes, the active segment rolled first.
    assert_eq!(lm.cleanup_logs(now), n);
    assert_eq!(log.segment_base_offsets(), vec![leo]);
    assert_eq!(log.log_start_offset(), leo);
    assert_eq!(log.log_end_offset(), leo);
    // Appends continue at the same offsets.
    let info = log.append_as_leader(batch(1, now, Compression::None, "y"), 0, AppendOrigin::Client).unwrap();
    assert_eq!(info.first_offset, leo);

    // compact-only policy: no size/time retention, but DeleteRecords' start
    // offset frees the segments below it; the checkpoint has the start.
    let tp2 = TopicPartition::new("c", 0);
    let mut cc = small_config();
    cc.retention_bytes = 0;
    cc.cleanup_policy = "compact".into();
    let log2 = lm.get_or_create_log(&tp2, cc).unwrap();
    for i in 0..80 {
        log2.append_as_leader(batch(2, now + i, Compression::None, "z"), 0, AppendOrigin::Client).unwrap();
    }
    let leo2 = log2.log_end_offset();
    log2.update_high_watermark(leo2);
    assert_eq!(lm.cleanup_logs(now), 0);
    let bases = log2.segment_base_offsets();
    assert!(bases.len() > 4, "{bases:?}");
    let target = bases[2] + 1;
    assert!(log2.maybe_increment_log_start_offset(leo2 + 1).is_err());
    assert!(log2.maybe_increment_log_start_offset(target).unwrap());
    assert_eq!(lm.cleanup_logs(now), 2);
    assert_eq!(log2.segment_base_offsets()[0], bases[2]);
    assert_eq!(log2.log_start_offset(), target);
    let ckpt = checkpoint::OffsetCheckpointFile::new(d.0.join(checkpoint::LOG_START_OFFSET_CHECKPOINT)).read().unwrap();
    assert_eq!(ckpt.get(&tp2), Some(&target));
    // Restart: leftovers .deleted go, the start offset is kept.
    lm.shutdown().unwrap();
    let dir2 = log2.dir();
    assert!(!files_with(&dir2, ".deleted").is_empty());
    drop(log2);
    drop(log);
    let lm = manager(&[d.0.clone()]).unwrap();
    assert!(files_with(&dir2, ".deleted").is_empty());
    assert_eq!(lm.get_log(&tp2).unwrap().log_start_offset(), target);
}

#[test]
fn flusher_flushes_logs_whose_flush_ms_has_passed() {
    let d = TempDir::new("flusher");
    let lm = manager(&[d.0.clone()]).unwrap();
    let mut config = small_config();
    config.flush_ms = 1_000;
    let log = lm.get_or_create_log(&TopicPartition::new("f", 0), config).unwrap();
    let mut other = small_config();
    other.flush_ms = i64::MAX; // never
    let never = lm.get_or_create_log(&TopicPartition::new("g", 0), other).unwrap();
    let now = crate::common::now_ms();
    for l in [&log, &never] {
        l.append_as_leader(batch(3, now, Compression::None, "f"), 0, AppendOrigin::Client).unwrap();
        assert_eq!(l.recovery_point(), 0);
    }
    // Not yet due.
    lm.flush_dirty_logs(now - 10_000);
    assert_eq!(log.recovery_point(), 0);
    lm.flush_dirty_logs(now + 1_000);
    assert_eq!(log.recovery_point(), log.log_end_offset());
    assert_eq!(never.recovery_point(), 0);
}

#[test]
fn topic_settings_act_on_appends_and_follow_live_changes() {
    let d = TempDir::new("validator");
    let log = Log::open(&d.0.join("t-0"), TopicPartition::new("t", 0), small_config(), LogOpenState::default()).unwrap();
    let codec_at = |offset: i64| {
        let f = log.read(offset, 100_000, None, true).unwrap();
        records::batches(f.records).next().unwrap().unwrap().compression()
    };
    let now = crate::common::now_ms();
    log.append_as_leader(batch(3, now, Compression::Lz4, "a"), 0, AppendOrigin::Client).unwrap();
    assert_eq!(codec_at(0), Some(Compression::Lz4), "producer: kept");
    let mut c = small_config();
    c.set("compression.type", "gzip").unwrap();
    log.update_config(c.clone());
    let info = log.append_as_leader(batch(3, now, Compression::Lz4, "b"), 0, AppendOrigin::Client).unwrap();
    assert_eq!((info.first_offset, info.last_offset), (3, 5));
    assert_eq!(codec_at(3), Some(Compression::Gzip), "recompressed after the change");
    assert_eq!(read_all(&log, 3, 100_000)[1].1, format!("b-1-{}", "v".repeat(40)));
    c.set("message.timestamp.difference.max.ms", "60000").unwrap();
    log.update_config(c.clone());
    let e = log.append_as_leader(batch(1, now - 3_600_000, Compression::None, "old"), 0, AppendOrigin::Client).unwrap_err();
    assert_eq!(e.error_code(), ec::INVALID_TIMESTAMP);
    assert_eq!(log.log_end_offset(), 6, "nothing appended");
    c.set("message.timestamp.type", "LogAppendTime").unwrap();
    log.update_config(c);
    let info = log.append_as_leader(batch(1, now - 3_600_000, Compression::None, "old"), 0, AppendOrigin::Client).unwrap();
    assert!(info.log_append_time >= now);
    let f = log.read(6, 100_000, None, true).unwrap();
    let b = records::batches(f.records).next().unwrap().unwrap();
    assert_eq!(b.timestamp_type(), records::TimestampType::LogAppendTime);
    assert_eq!(b.max_timestamp(), info.log_append_time);
    assert!(b.records().unwrap().iter().all(|r| r.timestamp == info.log_append_time));
}

/// A LeaderAndIsr's logs created at once: existing logs answered as they
/// are, a partition named twice gets one log, new logs spread over the dirs
/// as one at a time would, and every one survives a restart.
#[test]
fn get_or_create_logs_in_bulk() {
    let d = TempDir::new("bulk");
    let dirs = vec![d.0.join("d1"), d.0.join("d2")];
    let m = manager(&dirs).unwrap();
    let existing = m.get_or_create_log(&TopicPartition::new("bulk", 0), small_config()).unwrap();
    existing.append_as_leader(batch(2, 100, Compression::None, "x"), 0, AppendOrigin::Client).unwrap();
    let mut wanted: Vec<(TopicPartition, LogConfig)> = (0..40).map(|p| (TopicPartition::new("bulk", p), small_config())).collect();
    wanted.push((TopicPartition::new("bulk", 7), small_config()));
    let logs: Vec<_> = m.get_or_create_logs(wanted.clone()).into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(logs.len(), 41);
    assert!(std::sync::Arc::ptr_eq(&logs[0], &existing));
    assert_eq!(logs[0].log_end_offset(), 2);
    assert!(std::sync::Arc::ptr_eq(&logs[7], &logs[40]));
    for ((tp, _), log) in wanted.iter().zip(&logs) {
        assert_eq!(log.topic_partition(), tp);
        assert!(std::sync::Arc::ptr_eq(&m.get_log(tp).unwrap(), log));
    }
    assert_eq!(m.all_logs().len(), 40);
    let per_dir: Vec<usize> = dirs.iter().map(|dir| fs::read_dir(dir).unwrap().filter(|e| e.as_ref().unwrap().path().is_dir()).count()).collect();
    assert_eq!(per_dir.iter().sum::<usize>(), 40);
    assert!(per_dir[0].abs_diff(per_dir[1]) <= 1, "{per_dir:?}");
    // Asking again creates nothing new.
    let again = m.get_or_create_logs(wanted[..3].to_vec());
    assert!(again.iter().zip(&logs).all(|(a, b)| std::sync::Arc::ptr_eq(a.as_ref().unwrap(), b)));
    m.shutdown().unwrap();
    drop(m);
    let m = manager(&dirs).unwrap();
    assert_eq!(m.all_logs().len(), 40);
    assert_eq!(m.get_log(&TopicPartition::new("bulk", 0)).unwrap().log_end_offset(), 2);
}

/// Appends idempotent batches until the log has rolled `rolls` more times;
/// returns the bases of the segments the rolls started.
fn append_until_rolled(log: &Log, rolls: usize, seq: &mut i32) -> Vec<i64> {
    let before = log.segment_base_offsets().len();
    while log.segment_base_offsets().len() < before + rolls {
        log.append_as_leader(idem_batch(7, 0, *seq, 2, &"y".repeat(30)), 0, AppendOrigin::Client).unwrap();
        *seq += 2;
    }
    log.segment_base_offsets()[before..].to_vec()
}

/// A fresh log of small segments whose rolls' flushes wait to be run.
fn log_holding_roll_flushes(tag: &str) -> (TempDir, PathBuf, Log) {
    let d = TempDir::new(tag);
    let dir = d.0.join("t-0");
    let log = Log::open(&dir, TopicPartition::new("t", 0), small_config(), LogOpenState::default()).unwrap();
    log.hold_roll_flushes();
    (d, dir, log)
}

/// A roll leaves its fsyncs and producer snapshot to a flush job (Kafka's
/// scheduled `flush-log`): until the job is done the recovery point stays
/// and no snapshot is in place; jobs may finish in any order.
#[test]
fn a_rolls_flush_moves_the_recovery_point_when_done() {
    let (_d, dir, log) = log_holding_roll_flushes("rollflush");
    let mut seq = 0;
    let bases = append_until_rolled(&log, 2, &mut seq);
    assert_eq!(log.recovery_point(), 0, "nothing synced yet");
    assert!(producer_state::list_snapshots(&dir).is_empty(), "snapshots wait for their job");
    // The second roll's job first: it syncs both closed segments.
    assert_eq!(log.run_held_roll_flushes(&[1]), 2);
    assert_eq!(log.recovery_point(), bases[1]);
    assert_eq!(producer_state::list_snapshots(&dir), vec![bases[1]]);
    // The first one, late, moves nothing back and still puts its snapshot in place.
    assert_eq!(log.run_held_roll_flushes(&[0]), 1);
    assert_eq!(log.recovery_point(), bases[1]);
    assert_eq!(producer_state::list_snapshots(&dir), bases);
    assert!(files_with(&dir, ".tmp").is_empty());
}

/// A truncation between the roll and its job: the job counts for nothing
/// (the segments it synced may no longer be the log), and its snapshot,
/// taken of a history the log no longer has, is never put in place.
#[test]
fn a_rolls_flush_after_a_truncation_counts_for_nothing() {
    let (_d, dir, log) = log_holding_roll_flushes("rollflush-trunc");
    let mut seq = 0;
    let bases = append_until_rolled(&log, 1, &mut seq);
    log.truncate_to(bases[0] - 2).unwrap();
    assert_eq!(log.run_held_roll_flushes(&[0]), 1);
    assert_eq!(log.recovery_point(), 0);
    assert!(producer_state::list_snapshots(&dir).iter().all(|o| *o <= bases[0] - 2));
    assert!(files_with(&dir, ".tmp").is_empty(), "the temp snapshot is removed: {:?}", files_with(&dir, ".tmp"));
    // Appends go on (the producer's sequence as of the new end); a later
    // roll's job is counted.
    seq = log.log_end_offset() as i32;
    let later = append_until_rolled(&log, 1, &mut seq);
    log.run_held_roll_flushes(&[0]);
    assert_eq!(log.recovery_point(), later[0]);
    assert!(producer_state::list_snapshots(&dir).contains(&later[0]));
}

/// On the broker's runtime the job runs on a log-flush thread, and the
/// appending thread never waits for it.
#[test]
fn on_the_runtime_a_rolls_flush_runs_on_a_flush_thread() {
    let d = TempDir::new("rollflush-rt");
    let dir = d.0.join("t-0");
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let log = Log::open(&dir, TopicPartition::new("t", 0), small_config(), LogOpenState::default()).unwrap();
    let mut seq = 0;
    let bases = rt.block_on(async { append_until_rolled(&log, 1, &mut seq) });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while log.recovery_point() < bases[0] || !producer_state::list_snapshots(&dir).contains(&bases[0]) {
        assert!(std::time::Instant::now() < deadline, "the roll's flush never finished");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(log.recovery_point(), bases[0]);
}
