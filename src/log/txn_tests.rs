//! Tests of transactions in the log: open transactions and the last stable
//! offset, COMMIT/ABORT markers, the `.txnindex` and aborted-transaction
//! collection, fencing errors, restarts (clean and torn), truncation and
//! follower replication of markers.

use super::*;
use crate::common::TopicPartition;
use crate::log::transaction_index::AbortedTxn;
use crate::protocol::compression::Compression;
use crate::protocol::error as ec;
use crate::protocol::records::{self, AppendOrigin, RecordBatchBuilder};
use bytes::Bytes;
use std::fs;
use std::path::{Path, PathBuf};

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

fn config() -> LogConfig {
    let mut c = LogConfig::default();
    c.segment_bytes = 1500;
    c.index_interval_bytes = 200;
    c
}

fn batch(pid: i64, epoch: i16, seq: i32, n: usize, txn: bool, tag: &str) -> Bytes {
    let mut b = RecordBatchBuilder::new(Compression::None).producer(pid, epoch, seq).transactional(txn);
    for i in 0..n {
        b.append(1000 + i as i64, None, Some(format!("{tag}-{i}-{}", "x".repeat(30)).as_bytes()), &[]);
    }
    b.build().unwrap()
}

fn append(log: &Log, b: Bytes) -> LogResult<LogAppendInfo> {
    log.append_as_leader(b, 0, AppendOrigin::Client)
}

fn txn_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txnindex"))
        .collect();
    v.sort();
    v
}

fn all_aborted(log: &Log) -> Vec<AbortedTxn> {
    log.collect_aborted_transactions(0, i64::MAX)
}

#[test]
fn open_transactions_hold_the_lso_and_aborts_are_indexed() {
    let d = TempDir::new("txn-lso");
    let dir = d.0.join("t-0");
    let log = Log::open(&dir, TopicPartition::new("t", 0), config(), LogOpenState::default()).unwrap();
    append(&log, batch(-1, -1, -1, 2, false, "plain")).unwrap(); // 0..1
    let a = append(&log, batch(1, 0, 0, 2, true, "p1a")).unwrap(); // 2..3
    assert_eq!(a.first_offset, 2);
    append(&log, batch(2, 0, 0, 1, true, "p2a")).unwrap(); // 4
    append(&log, batch(1, 0, 2, 1, true, "p1b")).unwrap(); // 5
    log.update_high_watermark(log.log_end_offset());
    assert_eq!(log.ongoing_txns(), vec![(2, 1), (4, 2)]);
    assert_eq!(log.last_stable_offset(), 2);
    assert_eq!(log.producer_entry(1).unwrap().current_txn_first_offset, 2);

    // A non-transactional write while the transaction is open is refused.
    assert_eq!(append(&log, batch(1, 0, 3, 1, false, "bad")).unwrap_err().error_code(), ec::INVALID_TXN_STATE);
    // Clients may not write control batches.
    let marker = producer_state::TxnMarker { commit: true, coordinator_epoch: 0 }.build_batch(1, 0, 5).unwrap();
    assert_eq!(append(&log, marker).unwrap_err().error_code(), ec::INVALID_RECORD);

    // p1 aborts: the marker is at 6; the LSO stays at the marker until the
    // HW passes it, then moves to p2's open transaction.
    let m = log.append_end_txn_marker(1, 0, 3, false, 0).unwrap();
    assert_eq!((m.first_offset, m.last_offset, m.num_records), (6, 6, 1));
    assert_eq!(log.last_stable_offset(), 2, "not replicated yet");
    log.update_high_watermark(7);
    assert_eq!(log.last_stable_offset(), 4);
    assert_eq!(all_aborted(&log), vec![AbortedTxn { producer_id: 1, first_offset: 2, last_offset: 6, last_stable_offset: 4 }]);
    assert_eq!(txn_files(&dir).len(), 1);
    let e = log.producer_entry(1).unwrap();
    assert_eq!((e.current_txn_first_offset, e.coordinator_epoch), (-1, 3));

    // Fencing of markers: an older producer epoch, an older coordinator epoch.
    assert_eq!(log.append_end_txn_marker(1, -1, 3, true, 0).unwrap_err().error_code(), ec::INVALID_PRODUCER_EPOCH);
    assert_eq!(log.append_end_txn_marker(1, 0, 2, true, 0).unwrap_err().error_code(), ec::TRANSACTION_COORDINATOR_FENCED);

    // p2 commits: nothing indexed; with the HW at the end the LSO is the HW.
    log.append_end_txn_marker(2, 0, 3, true, 0).unwrap(); // 7
    assert_eq!(log.last_stable_offset(), 4);
    log.update_high_watermark(log.log_end_offset());
    assert_eq!(log.last_stable_offset(), 8);
    assert_eq!(all_aborted(&log).len(), 1);
    // A marker for a producer without open transaction is written but completes nothing.
    log.append_end_txn_marker(9, 0, 3, false, 0).unwrap();
    assert_eq!(all_aborted(&log).len(), 1);
    // Range queries: only transactions overlapping [from, to).
    assert!(log.collect_aborted_transactions(7, 9).is_empty());
    assert_eq!(log.collect_aborted_transactions(0, 3).len(), 1);
    // The reader bounded by the LSO stops before an open transaction.
    append(&log, batch(3, 0, 0, 1, true, "p3")).unwrap(); // 9
    log.update_high_watermark(log.log_end_offset());
    assert_eq!(log.last_stable_offset(), 9);
    let (mut from, mut last) = (0, -1);
    loop {
        let f = log.read(from, 1 << 20, Some(log.last_stable_offset()), true).unwrap();
        if f.records.is_empty() {
            break;
        }
        for b in records::batches(f.records) {
            last = b.unwrap().last_offset();
            from = last + 1;
        }
    }
    assert_eq!(last, 8);
}

#[test]
fn transactions_survive_restarts_rolls_truncation_and_replication() {
    let d = TempDir::new("txn-restart");
    let dir = d.0.join("t-0");
    let tp = TopicPartition::new("t", 0);
    let log = Log::open(&dir, tp.clone(), config(), LogOpenState::default()).unwrap();
    // Many transactions over several segments: even ones abort.
    let mut seqs = [0, 0];
    let mut expected = Vec::new();
    for i in 0..12 {
        let pid = 10 + (i % 2) as i64;
        let first = append(&log, batch(pid, 0, seqs[i % 2], 2, true, &format!("t{i}"))).unwrap().first_offset;
        seqs[i % 2] += 2;
        let m = log.append_end_txn_marker(pid, 0, 1, i % 2 == 1, 0).unwrap();
        if i % 2 == 0 {
            expected.push(AbortedTxn { producer_id: pid, first_offset: first, last_offset: m.first_offset, last_stable_offset: m.first_offset + 1 });
        }
    }
    // And one left open.
    let open_at = append(&log, batch(10, 0, seqs[0], 1, true, "open")).unwrap().first_offset;
    log.update_high_watermark(log.log_end_offset());
    assert!(log.num_segments() > 2);
    assert!(txn_files(&dir).len() > 1);
    assert_eq!(all_aborted(&log), expected);
    assert_eq!(log.last_stable_offset(), open_at);
    let leo = log.log_end_offset();

    // Clean close: snapshot at the end; the open transaction is remembered.
    log.close().unwrap();
    drop(log);
    let open = |state: LogOpenState| Log::open(&dir, tp.clone(), config(), state).unwrap();
    let log = open(LogOpenState { had_clean_shutdown: true, recovery_point: leo, high_watermark: Some(leo), ..Default::default() });
    assert_eq!(all_aborted(&log), expected);
    assert_eq!(log.last_stable_offset(), open_at);
    assert_eq!(log.ongoing_txns(), vec![(open_at, 10)]);
    drop(log);

    // Torn restart with every segment recovered: the .txnindex files are
    // rebuilt from the markers (delete them first to prove it).
    for f in txn_files(&dir) {
        fs::remove_file(dir.join(f)).unwrap();
    }
    for o in producer_state::list_snapshots(&dir) {
        fs::remove_file(dir.join(segment_file_name(o, ".snapshot"))).unwrap();
    }
    let log = open(LogOpenState { recovery_point: 0, high_watermark: Some(leo), ..Default::default() });
    assert_eq!(all_aborted(&log), expected);
    assert_eq!(log.last_stable_offset(), open_at);
    // A corrupt .txnindex makes its segment recover at the next open.
    drop(log);
    let victim = txn_files(&dir)[0].clone();
    fs::write(dir.join(&victim), b"garbage").unwrap();
    let log = open(LogOpenState { had_clean_shutdown: true, recovery_point: leo, high_watermark: Some(leo), ..Default::default() });
    assert_eq!(all_aborted(&log), expected);

    // Follower replication carries the markers: same aborted list and LSO.
    let follower = Log::open(&d.0.join("f-0"), TopicPartition::new("f", 0), config(), LogOpenState::default()).unwrap();
    let mut from = 0;
    while from < leo {
        let f = log.read(from, 1 << 20, None, true).unwrap();
        follower.append_as_follower(f.records).unwrap();
        from = follower.log_end_offset();
    }
    follower.update_high_watermark(leo);
    assert_eq!(follower.collect_aborted_transactions(0, i64::MAX), expected);
    assert_eq!(follower.last_stable_offset(), open_at);
    assert_eq!(follower.ongoing_txns(), log.ongoing_txns());

    // Truncation below the last abort drops its entry and reopens what was
    // open at the new end.
    let last = *expected.last().unwrap();
    log.truncate_to(last.last_offset).unwrap();
    assert_eq!(all_aborted(&log), expected[..expected.len() - 1].to_vec());
    assert_eq!(log.ongoing_txns(), vec![(last.first_offset, last.producer_id)]);
    log.update_high_watermark(log.log_end_offset());
    assert_eq!(log.last_stable_offset(), last.first_offset);
    // Emptying the log forgets every transaction.
    log.truncate_fully_and_start_at(500).unwrap();
    assert!(log.ongoing_txns().is_empty() && all_aborted(&log).is_empty());
    assert!(txn_files(&dir).is_empty());
}
