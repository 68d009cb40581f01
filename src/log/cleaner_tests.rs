//! Tests of compaction on real segment files: a `Cleaner` run over a `Log`
//! (latest value per key at its offset, tombstones, an idempotent
//! producer's last batch, the checkpoint), the swap refused after a
//! truncation, and start-up recovery of `.cleaned` / `.swap` leftovers.

use super::log::Log;
use super::log_cleaner::{Cleaner, CleanerConfig, Throttler};
use super::log_cleaner_manager::LogCleanerManager;
use super::*;
use crate::common::TopicPartition;
use crate::protocol::compression::Compression;
use crate::protocol::records::{self, AppendOrigin, RecordBatchBuilder};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::sync::Arc;

struct TempDir(PathBuf);
impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("zkafka-cl-{tag}-{}-{:08x}", std::process::id(), rand::random::<u32>()));
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn config() -> LogConfig {
    LogConfig { segment_bytes: 1000, index_interval_bytes: 200, cleanup_policy: "compact".into(), ..Default::default() }
}

fn keyed(codec: Compression, recs: &[(String, Option<String>)]) -> Bytes {
    let mut b = RecordBatchBuilder::new(codec);
    for (k, v) in recs {
        b.append(crate::common::now_ms(), Some(k.as_bytes()), v.as_deref().map(str::as_bytes), &[("src", Some(b"t"))]);
    }
    b.build().unwrap()
}

/// Every record (offset, key, value) readable from the log start.
fn read_all(log: &Log) -> Vec<(i64, String, Option<String>)> {
    let mut out = Vec::new();
    let mut start = log.log_start_offset();
    loop {
        let f = log.read(start, 1 << 20, None, true).unwrap();
        if f.records.is_empty() {
            break;
        }
        for b in records::batches(f.records.clone()) {
            let b = b.unwrap();
            b.ensure_valid().unwrap();
            for r in b.records().unwrap() {
                if r.offset >= start {
                    out.push((
                        r.offset,
                        String::from_utf8(r.key.unwrap().to_vec()).unwrap(),
                        r.value.map(|v| String::from_utf8(v.to_vec()).unwrap()),
                    ));
                }
            }
            start = b.next_offset();
        }
    }
    out
}

fn clean_once(log: &Arc<Log>, mgr: &LogCleanerManager, cleaner: &mut Cleaner) -> Option<i64> {
    let ltc = mgr.grab_filthiest_compacted_log(&[log.clone()], crate::common::now_ms())?;
    let r = cleaner.clean(&ltc, &|| false);
    let dir = log.dir().parent().unwrap().to_path_buf();
    let end = r.ok().map(|(e, _)| e);
    mgr.done_cleaning(&ltc.tp, &dir, end);
    end
}

#[test]
fn cleaning_keeps_latest_values_offsets_tombstones_and_producer_batches() {
    for codec in [Compression::None, Compression::Zstd] {
        let d = TempDir::new("clean");
        let tp = TopicPartition::new("c", 0);
        let log = Arc::new(Log::open(&d.0.join("c-0"), tp.clone(), config(), Default::default()).unwrap());
        let mut expected: BTreeMap<String, (i64, Option<String>)> = BTreeMap::new();
        // An idempotent producer's only batch, early, later overwritten.
        let mut pb = RecordBatchBuilder::new(codec).producer(4242, 0, 0);
        pb.append(1, Some(b"k1"), Some(b"from-producer"), &[]);
        let info = log.append_as_leader(pb.build().unwrap(), 0, AppendOrigin::Client).unwrap();
        let producer_offset = info.last_offset;
        for round in 0..40 {
            let recs: Vec<(String, Option<String>)> = (0..5)
                .map(|i| {
                    let k = format!("k{}", (round * 5 + i) % 17);
                    // k3 ends as a tombstone.
                    let v = if k == "k3" && round >= 30 { None } else { Some(format!("v{round}-{i}")) };
                    (k, v)
                })
                .collect();
            let info = log.append_as_leader(keyed(codec, &recs), 0, AppendOrigin::Client).unwrap();
            for (i, (k, v)) in recs.iter().enumerate() {
                expected.insert(k.clone(), (info.first_offset + i as i64, v.clone()));
            }
        }
        log.update_high_watermark(log.log_end_offset());
        let before = read_all(&log);
        assert!(log.num_segments() > 5, "{}", log.num_segments());
        let mgr = LogCleanerManager::new(&[d.0.clone()]);
        let cc = CleanerConfig { dedupe_buffer_size: 1 << 20, ..Default::default() };
        let mut cleaner = Cleaner::new(0, &cc, Arc::new(Throttler::new(f64::MAX)));
        let end = clean_once(&log, &mgr, &mut cleaner).expect("cleaned");
        let active_base = *log.segment_base_offsets().last().unwrap();
        assert_eq!(end, active_base, "cleaned up to the active segment");
        assert_eq!(mgr.all_cleaner_checkpoints().get(&tp), Some(&end));
        let after = read_all(&log);
        // Offsets strictly increase; every record of the cleaned part is its key's latest
        // (tombstones kept: the first clean has no delete horizon yet).
        assert!(after.windows(2).all(|w| w[0].0 < w[1].0));
        let mut latest_seen: BTreeMap<String, (i64, Option<String>)> = BTreeMap::new();
        for (o, k, v) in &after {
            latest_seen.insert(k.clone(), (*o, v.clone()));
            let latest = expected.get(k).map(|e| e.0).unwrap();
            if *o < end && latest < end {
                assert_eq!(latest, *o, "{codec:?}: stale {k}@{o} kept");
            }
        }
        assert_eq!(latest_seen, expected, "{codec:?}: the latest value of every key is readable");
        assert!(after.len() < before.len(), "{} !< {}", after.len(), before.len());
        assert!(after.iter().any(|(_, k, v)| k == "k3" && v.is_none()), "tombstone kept before the horizon");
        // The producer's last batch is still there (empty), so its sequence state survives a reload.
        let f = log.read(producer_offset, 1 << 16, None, true).unwrap();
        let first = records::batches(f.records).next().unwrap().unwrap();
        assert_eq!((first.producer_id(), first.last_offset(), first.records_count()), (4242, producer_offset, 0));
        // Nothing left behind; files renamed back.
        let names: Vec<String> = fs::read_dir(log.dir()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(names.iter().all(|n| !n.ends_with(".cleaned") && !n.ends_with(".swap") && !n.ends_with(".deleted")), "{names:?}");
        // Reopen: same content.
        log.close().unwrap();
        drop(log);
        let log = Arc::new(Log::open(&d.0.join("c-0"), tp.clone(), config(), Default::default()).unwrap());
        assert_eq!(read_all(&log), after);
        assert_eq!(log.producer_entry(4242).map(|e| e.last_seq()), Some(0));
        // With delete.retention.ms = 0 the next clean drops tombstones from
        // segments older than the last clean one.
        let mut c0 = config();
        c0.delete_retention_ms = 0;
        c0.min_cleanable_dirty_ratio = 0.0;
        log.update_config(c0);
        // A tombstone goes once it sits in the clean part, older than the
        // last clean segment: it takes a clean or two more, as in Kafka.
        let mut gone = false;
        for pass in 0..4 {
            std::thread::sleep(std::time::Duration::from_millis(20));
            for round in 0..20 {
                let recs: Vec<(String, Option<String>)> = (0..5).map(|i| (format!("f{i}"), Some(format!("x{pass}-{round}")))).collect();
                log.append_as_leader(keyed(codec, &recs), 0, AppendOrigin::Client).unwrap();
            }
            log.update_high_watermark(log.log_end_offset());
            clean_once(&log, &mgr, &mut cleaner).expect("cleaned again");
            if !read_all(&log).iter().any(|(_, k, _)| k == "k3") {
                gone = true;
                break;
            }
        }
        assert!(gone, "{codec:?}: the tombstone is gone");
        let again = read_all(&log);
        assert!(again.windows(2).all(|w| w[0].0 < w[1].0));
        for (k, (o, v)) in &expected {
            if v.is_some() {
                assert!(again.iter().any(|(o2, k2, v2)| k2 == k && o2 == o && v2 == v), "{k} lost");
            }
        }
    }
}

#[test]
fn swap_is_refused_after_a_truncation() {
    let d = TempDir::new("trunc");
    let tp = TopicPartition::new("t", 0);
    let log = Arc::new(Log::open(&d.0.join("t-0"), tp.clone(), config(), Default::default()).unwrap());
    for i in 0..60 {
        log.append_as_leader(keyed(Compression::None, &[(format!("k{}", i % 3), Some(format!("v{i}")))]), 0, AppendOrigin::Client).unwrap();
    }
    log.update_high_watermark(log.log_end_offset());
    let mgr = LogCleanerManager::new(&[d.0.clone()]);
    let mut cleaner = Cleaner::new(0, &CleanerConfig { dedupe_buffer_size: 1 << 20, ..Default::default() }, Arc::new(Throttler::new(f64::MAX)));
    let ltc = mgr.grab_filthiest_compacted_log(&[log.clone()], crate::common::now_ms()).unwrap();
    // A follower truncation while the cleaner builds its map: the swap sees
    // a new generation and refuses.
    let gen = log.segments_generation();
    let truncated = std::sync::atomic::AtomicBool::new(false);
    let before = std::sync::Mutex::new(Vec::new());
    let r = cleaner.clean(&ltc, &|| {
        if !truncated.swap(true, std::sync::atomic::Ordering::SeqCst) {
            log.truncate_to(40).unwrap();
            *before.lock().unwrap() = read_all(&log);
        }
        false
    });
    assert!(matches!(r, Err(super::log_cleaner::CleanError::Aborted)), "{r:?}");
    assert!(log.segments_generation() > gen);
    let before = before.into_inner().unwrap();
    assert_eq!(before.last().map(|r| r.0), Some(39));
    assert_eq!(read_all(&log), before, "nothing swapped into a truncated log");
    let names: Vec<String> = fs::read_dir(log.dir()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.ends_with(".cleaned") && !n.ends_with(".swap")), "{names:?}");
}

#[test]
fn startup_completes_an_interrupted_swap_and_drops_cleaned_files() {
    let d = TempDir::new("swap");
    let tp = TopicPartition::new("s", 0);
    let dir = d.0.join("s-0");
    let log = Log::open(&dir, tp.clone(), config(), Default::default()).unwrap();
    for i in 0..60 {
        log.append_as_leader(keyed(Compression::Lz4, &[(format!("k{i}"), Some(format!("v{i}")))]), 0, AppendOrigin::Client).unwrap();
    }
    let before = read_all(&log);
    let bases = log.segment_base_offsets();
    log.close().unwrap();
    drop(log);
    // A crash after the old segment was renamed .deleted, before the swap
    // got its final name; plus a half-written .cleaned file.
    let name = |b: i64, s: &str| dir.join(segment_file_name(b, s));
    fs::copy(name(bases[0], ".log"), dir.join(format!("{}.swap", segment_file_name(bases[0], ".log")))).unwrap();
    fs::rename(name(bases[0], ".log"), dir.join(format!("{}.deleted", segment_file_name(bases[0], ".log")))).unwrap();
    fs::write(dir.join(format!("{}.cleaned", segment_file_name(bases[1], ".log"))), b"half").unwrap();
    fs::write(dir.join(format!("{}.swap", segment_file_name(bases[0], ".index"))), b"junk").unwrap();
    let log = Log::open(&dir, tp.clone(), config(), Default::default()).unwrap();
    assert_eq!(read_all(&log), before);
    assert_eq!(log.segment_base_offsets(), bases);
    let names: Vec<String> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.ends_with(".cleaned") && !n.ends_with(".swap") && !n.ends_with(".deleted")), "{names:?}");
    // A swap that replaces two segments: the second one is deleted at start-up.
    log.close().unwrap();
    drop(log);
    let mut merged = fs::read(name(bases[0], ".log")).unwrap();
    merged.extend(fs::read(name(bases[1], ".log")).unwrap());
    fs::write(dir.join(format!("{}.swap", segment_file_name(bases[0], ".log"))), &merged).unwrap();
    let log = Log::open(&dir, tp, config(), Default::default()).unwrap();
    assert_eq!(read_all(&log), before);
    let now_bases = log.segment_base_offsets();
    assert_eq!(now_bases[0], bases[0]);
    assert!(!now_bases.contains(&bases[1]), "{now_bases:?}");
}

/// Transactions under compaction: records of aborted transactions neither
/// shadow committed values nor survive; markers and their `.txnindex`
/// entries stay; nothing past the first unstable offset is cleaned.
#[test]
fn cleaning_drops_aborted_transactions_and_keeps_markers() {
    let d = TempDir::new("clean-txn");
    let tp = TopicPartition::new("c", 0);
    let log = Arc::new(Log::open(&d.0.join("c-0"), tp.clone(), config(), Default::default()).unwrap());
    let txn = |pid: i64, seq: i32, recs: &[(String, Option<String>)]| {
        let mut b = RecordBatchBuilder::new(Compression::None).producer(pid, 0, seq).transactional(true);
        for (k, v) in recs {
            b.append(crate::common::now_ms(), Some(k.as_bytes()), v.as_deref().map(str::as_bytes), &[]);
        }
        log.append_as_leader(b.build().unwrap(), 0, AppendOrigin::Client).unwrap()
    };
    let mut seqs = std::collections::HashMap::new();
    let mut committed: BTreeMap<String, String> = BTreeMap::new();
    for round in 0..30 {
        let pid = 100 + (round % 3) as i64;
        let commit = round % 3 != 1;
        let recs: Vec<(String, Option<String>)> =
            (0..3).map(|i| (format!("k{}", (round + i) % 7), Some(format!("{}-{round}-{i}", if commit { "c" } else { "a" })))).collect();
        let seq = seqs.entry(pid).or_insert(0);
        txn(pid, *seq, &recs);
        *seq += 3;
        log.append_end_txn_marker(pid, 0, 0, commit, 0).unwrap();
        if commit {
            for (k, v) in recs {
                committed.insert(k, v.unwrap());
            }
        }
    }
    // One transaction left open at the end: uncleanable from its start.
    let open = txn(200, 0, &[("k0".into(), Some("open".into()))]).first_offset;
    for _ in 0..5 {
        log.append_as_leader(keyed(Compression::None, &[("pad".into(), Some("x".repeat(200)))]), 0, AppendOrigin::Client).unwrap();
    }
    log.update_high_watermark(log.log_end_offset());
    let aborted_before = log.collect_aborted_transactions(0, i64::MAX);
    assert_eq!(aborted_before.len(), 10);
    let mgr = LogCleanerManager::new(&[d.0.clone()]);
    let cc = CleanerConfig { dedupe_buffer_size: 1 << 20, ..Default::default() };
    let mut cleaner = Cleaner::new(0, &cc, Arc::new(Throttler::new(f64::MAX)));
    let end = clean_once(&log, &mgr, &mut cleaner).expect("cleaned");
    assert!(end <= open, "cleaned past the open transaction: {end} > {open}");
    // Markers all kept, entries still there; no aborted record left in the cleaned part.
    assert_eq!(log.collect_aborted_transactions(0, i64::MAX), aborted_before);
    let mut markers = 0;
    let mut start = 0;
    let mut latest: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let f = log.read(start, 1 << 20, None, true).unwrap();
        if f.records.is_empty() {
            break;
        }
        for b in records::batches(f.records) {
            let b = b.unwrap();
            if b.is_control() {
                markers += 1;
            } else {
                for r in b.records().unwrap() {
                    let k = String::from_utf8(r.key.unwrap().to_vec()).unwrap();
                    let v = String::from_utf8(r.value.unwrap().to_vec()).unwrap();
                    if r.offset < end {
                        assert!(!v.starts_with("a-"), "aborted record {k}={v} at {} survived", r.offset);
                    }
                    if v.starts_with("c-") {
                        latest.insert(k, v);
                    }
                }
            }
            start = b.next_offset();
        }
    }
    assert_eq!(markers, 30);
    assert_eq!(latest, committed, "every key keeps its latest committed value");
    // Reopened cleanly: same aborted list. After an unclean stop the
    // `.txnindex` files are rebuilt from the log, where the cleaned part no
    // longer holds aborted data (so, as in Kafka, only the uncleaned part's
    // aborts are found again); the open transaction is still open.
    drop(cleaner);
    let leo = log.log_end_offset();
    log.close().unwrap();
    drop(log);
    let reopen = |state| Log::open(&d.0.join("c-0"), tp.clone(), config(), state).unwrap();
    let log = reopen(LogOpenState { had_clean_shutdown: true, recovery_point: leo, high_watermark: Some(leo), ..Default::default() });
    assert_eq!(log.collect_aborted_transactions(0, i64::MAX), aborted_before);
    drop(log);
    let log = reopen(LogOpenState { recovery_point: 0, high_watermark: Some(leo), ..Default::default() });
    let rebuilt = log.collect_aborted_transactions(0, i64::MAX);
    let uncleaned: Vec<_> = aborted_before.iter().filter(|t| t.first_offset >= end).copied().collect();
    assert!(!uncleaned.is_empty());
    assert!(uncleaned.iter().all(|t| rebuilt.contains(t)), "{rebuilt:?}");
    assert!(rebuilt.iter().all(|t| aborted_before.contains(t)), "{rebuilt:?}");
    assert_eq!(log.last_stable_offset(), open);
}
