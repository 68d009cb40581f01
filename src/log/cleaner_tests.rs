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

/// Every batch of the log from its start: (base offset, producer id,
/// control type if a control batch, record count, (key, value) records).
#[allow(clippy::type_complexity)]
fn batches_of(log: &Log) -> Vec<(i64, i64, Option<super::cleaned_transaction_metadata::ControlType>, i32, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let mut start = log.log_start_offset();
    loop {
        let f = log.read(start, 1 << 20, None, true).unwrap();
        if f.records.is_empty() {
            break;
        }
        for b in records::batches(f.records) {
            let b = b.unwrap();
            b.ensure_valid().unwrap();
            let facts = super::cleaned_transaction_metadata::BatchFacts::of(&b);
            let recs = if b.is_control() {
                Vec::new()
            } else {
                b.records()
                    .unwrap()
                    .into_iter()
                    .map(|r| {
                        let s = |v: Option<Bytes>| String::from_utf8(v.unwrap().to_vec()).unwrap();
                        (s(r.key), s(r.value))
                    })
                    .collect()
            };
            out.push((b.base_offset(), b.producer_id(), facts.control, b.records_count(), recs));
            start = b.next_offset();
        }
    }
    out
}

/// Transaction markers under compaction (Kafka 2.8's
/// `CleanedTransactionMetadata` on real segments, several cleans): a marker
/// goes once no batch of its transaction is left and its segment is past
/// the delete horizon; the markers of transactions with data left, and each
/// active producer's last batch (emptied) or last marker at a new epoch
/// (emptied), stay; the `.txnindex` keeps exactly the aborted transactions
/// whose ABORT marker stays with data; all of it the same after a clean and
/// an unclean restart.
#[test]
fn markers_go_once_their_transactions_are_cleaned_and_past_the_horizon() {
    use super::cleaned_transaction_metadata::ControlType;
    let d = TempDir::new("clean-markers");
    let tp = TopicPartition::new("m", 0);
    let mut cfg = config();
    cfg.delete_retention_ms = 0;
    cfg.min_cleanable_dirty_ratio = 0.0;
    let log = Arc::new(Log::open(&d.0.join("m-0"), tp.clone(), cfg.clone(), Default::default()).unwrap());
    let mut seqs: std::collections::HashMap<i64, i32> = std::collections::HashMap::new();
    let txn = |seqs: &mut std::collections::HashMap<i64, i32>, pid: i64, recs: &[(&str, &str)]| {
        let seq = seqs.entry(pid).or_insert(0);
        let mut b = RecordBatchBuilder::new(Compression::None).producer(pid, 0, *seq).transactional(true);
        for (k, v) in recs {
            b.append(crate::common::now_ms(), Some(k.as_bytes()), Some(v.as_bytes()), &[]);
        }
        *seq += recs.len() as i32;
        log.append_as_leader(b.build().unwrap(), 0, AppendOrigin::Client).unwrap().first_offset
    };
    let end = |pid: i64, epoch: i16, commit: bool| log.append_end_txn_marker(pid, epoch, 0, commit, 0).unwrap().first_offset;
    let pad = |n: usize| {
        for _ in 0..n {
            log.append_as_leader(keyed(Compression::None, &[("pad".into(), Some("p".repeat(300)))]), 0, AppendOrigin::Client).unwrap();
        }
    };
    // Producer 100: T1 (commit, shadowed by T4), T2 (abort), T3 (commit, a
    // key nobody overwrites), T4 (commit, the latest values; its last data).
    txn(&mut seqs, 100, &[("x1", "c1"), ("x2", "c1")]);
    let t1 = end(100, 0, true);
    let t2_first = txn(&mut seqs, 100, &[("x1", "a2"), ("x2", "a2"), ("y1", "a2")]);
    let t2 = end(100, 0, false);
    pad(2);
    txn(&mut seqs, 100, &[("y1", "c3")]);
    let t3 = end(100, 0, true);
    // Producer 102: T6 (commit, shadowed by T7), T7 (commit), then an ABORT
    // at a bumped epoch with no data (a fenced producer): its last record.
    txn(&mut seqs, 102, &[("z1", "c6")]);
    let t6 = end(102, 0, true);
    pad(2);
    txn(&mut seqs, 102, &[("z1", "c7")]);
    let t7 = end(102, 0, true);
    let fence = end(102, 1, false);
    txn(&mut seqs, 100, &[("x1", "c4"), ("x2", "c4")]);
    let t4 = end(100, 0, true);
    // Producer 101: T5 aborted, its only (so last) data batch.
    let t5_first = txn(&mut seqs, 101, &[("x1", "a5")]);
    let t5 = end(101, 0, false);
    pad(6);
    log.update_high_watermark(log.log_end_offset());
    let aborted_all = log.collect_aborted_transactions(0, i64::MAX);
    assert_eq!(aborted_all.iter().map(|t| (t.producer_id, t.first_offset, t.last_offset)).collect::<Vec<_>>(), vec![(100, t2_first, t2), (101, t5_first, t5)]);
    let t5_entry = aborted_all[1];

    let mgr = LogCleanerManager::new(std::slice::from_ref(&d.0));
    let cc = CleanerConfig { dedupe_buffer_size: 1 << 20, ..Default::default() };
    let mut cleaner = Cleaner::new(0, &cc, Arc::new(Throttler::new(f64::MAX)));
    let markers = |log: &Log| -> Vec<(i64, Option<ControlType>, i32)> {
        batches_of(log).into_iter().filter(|b| b.2.is_some()).map(|b| (b.0, b.2, b.3)).collect()
    };
    // First clean: no horizon yet, every marker stays; aborted data goes,
    // and both aborted transactions had data in this clean: both entries stay.
    clean_once(&log, &mgr, &mut cleaner).expect("cleaned");
    assert_eq!(markers(&log).len(), 8, "{:?}", markers(&log));
    assert_eq!(log.collect_aborted_transactions(0, i64::MAX), aborted_all);
    assert!(batches_of(&log).iter().all(|b| b.4.iter().all(|(_, v)| !v.starts_with('a'))), "aborted data left");
    // Later cleans (more data, later segments): the markers of T1, T2, T6 go.
    let mut done = false;
    for _ in 0..6 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        pad(6);
        log.update_high_watermark(log.log_end_offset());
        clean_once(&log, &mgr, &mut cleaner).expect("cleaned again");
        if markers(&log).iter().all(|m| ![t1, t2, t6].contains(&m.0)) {
            done = true;
            break;
        }
    }
    assert!(done, "markers of fully cleaned transactions still there: {:?}", markers(&log));
    let expected_markers = vec![
        (t3, Some(ControlType::Commit), 1),
        (t7, Some(ControlType::Commit), 1),
        (fence, Some(ControlType::Empty), 0),
        (t4, Some(ControlType::Commit), 1),
        (t5, Some(ControlType::Abort), 1),
    ];
    assert_eq!(markers(&log), expected_markers);
    // T5's batch is kept empty (producer 101's last), so are its marker and entry.
    let t5_batch = batches_of(&log).into_iter().find(|b| b.0 == t5_first).expect("T5's batch kept");
    assert_eq!((t5_batch.1, t5_batch.3), (101, 0));
    assert_eq!(log.collect_aborted_transactions(0, i64::MAX), vec![t5_entry]);
    let live = |log: &Log| -> BTreeMap<String, String> {
        batches_of(log).into_iter().flat_map(|b| b.4).filter(|(k, _)| k != "pad").collect()
    };
    let want: BTreeMap<String, String> =
        [("x1", "c4"), ("x2", "c4"), ("y1", "c3"), ("z1", "c7")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    assert_eq!(live(&log), want);
    assert!(batches_of(&log).iter().all(|b| b.4.iter().all(|(_, v)| !v.starts_with('a'))));
    assert_eq!(log.last_stable_offset(), log.log_end_offset());
    let view = (markers(&log), live(&log));

    // Clean restart, then unclean restart (the .txnindex rebuilt from the log).
    drop(cleaner);
    let leo = log.log_end_offset();
    log.close().unwrap();
    drop(log);
    let reopen = |state| Log::open(&d.0.join("m-0"), tp.clone(), cfg.clone(), state).unwrap();
    let log = reopen(LogOpenState { had_clean_shutdown: true, recovery_point: leo, high_watermark: Some(leo), ..Default::default() });
    assert_eq!((markers(&log), live(&log)), view);
    assert_eq!(log.collect_aborted_transactions(0, i64::MAX), vec![t5_entry]);
    assert_eq!(log.last_stable_offset(), leo);
    drop(log);
    for f in fs::read_dir(d.0.join("m-0")).unwrap() {
        let p = f.unwrap().path();
        if p.extension().is_some_and(|e| e == "snapshot") {
            fs::remove_file(p).unwrap();
        }
    }
    let log = reopen(LogOpenState { recovery_point: 0, high_watermark: Some(leo), ..Default::default() });
    assert_eq!((markers(&log), live(&log)), view);
    assert_eq!(log.collect_aborted_transactions(0, i64::MAX), vec![t5_entry]);
    assert_eq!(log.last_stable_offset(), leo, "no transaction reopened by the replay");
    // The producers go on: 100 at its epoch and sequence, 102 at epoch 1.
    assert_eq!(log.producer_entry(100).map(|e| (e.producer_epoch, e.last_seq())), Some((0, 7)));
    assert_eq!(log.producer_entry(102).map(|e| e.current_txn_first_offset), Some(-1));
}
