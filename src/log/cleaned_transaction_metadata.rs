//! Transactions under compaction (Kafka's `CleanedTransactionMetadata`,
//! `AbortedTransactionMetadata`, `LastRecord`, and the transaction part of
//! `Cleaner.cleanInto`'s `checkBatchRetention` / `shouldDiscardBatch`):
//! pure decisions, taken batch by batch in log order as the cleaner walks
//! the segments it rewrites, about which batches of transactions go and
//! which aborted transactions the cleaned segment's `.txnindex` keeps.
//!
//! The rules (Kafka 2.8):
//! - a data batch of an aborted transaction (known from the `.txnindex`
//!   entries) is discarded; the transaction is remembered as having had a
//!   batch in this pass;
//! - an ABORT marker can go once no batch of its transaction was met in this
//!   pass (they were removed by an earlier clean); while one was, the marker
//!   stays and its aborted transaction is written to the cleaned `.txnindex`
//!   (otherwise the entry goes with the data);
//! - a COMMIT marker can go once no batch of its transaction was met in this
//!   pass (compaction removed them all);
//! - an empty control batch (already cleaned) can go; a control record of
//!   another type stays;
//! - a marker that can go is removed only from a segment older than the
//!   delete horizon (`delete.retention.ms`, the tombstones' horizon), so a
//!   consumer that read the data before the clean still meets the marker;
//! - whatever the above says, the batch holding an active producer's last
//!   data offset, or its last marker when the producer has no data batch at
//!   its current epoch, is kept (emptied if need be): it carries the
//!   producer's sequence and epoch across a reload.

use crate::log::log_cleaner::BatchRetention;
use crate::log::producer_state::{CONTROL_TYPE_ABORT, CONTROL_TYPE_COMMIT};
use crate::log::transaction_index::AbortedTxn;
use crate::protocol::records::RecordBatch;
use std::collections::{HashMap, HashSet, VecDeque};

/// What the log knows of an active producer's last write (Kafka's
/// `LastRecord`): the last offset of its last data batch at its current
/// epoch (`None` if its last write is a marker with a new epoch) and that
/// epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastRecord {
    pub last_data_offset: Option<i64>,
    pub producer_epoch: i16,
}

/// The type of a control batch's record (Kafka's `ControlRecordType`);
/// `Empty` for a control batch whose record an earlier clean removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlType {
    Abort,
    Commit,
    /// Another type, a newer key version's unknown type, or a malformed key:
    /// kept.
    Unknown,
    Empty,
}

/// What the transaction rules need of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchFacts {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub last_offset: i64,
    pub is_transactional: bool,
    /// `Some` for control batches.
    pub control: Option<ControlType>,
}

impl BatchFacts {
    /// Reads the facts of a v2 batch (the control record's key for control
    /// batches: version (i16, >= 0) and type (i16)).
    pub fn of(batch: &RecordBatch) -> BatchFacts {
        let control = batch.is_control().then(|| {
            if batch.records_count() == 0 {
                return ControlType::Empty;
            }
            let Ok(recs) = batch.records() else { return ControlType::Unknown };
            let Some(key) = recs.first().and_then(|r| r.key.clone()) else { return ControlType::Unknown };
            control_type_of_key(&key)
        });
        BatchFacts {
            producer_id: batch.producer_id(),
            producer_epoch: batch.producer_epoch(),
            last_offset: batch.last_offset(),
            is_transactional: batch.is_transactional(),
            control,
        }
    }
}

/// Kafka's `ControlRecordType.parse` without its exceptions: a short key or
/// a negative version is `Unknown` (such a batch is kept).
pub fn control_type_of_key(key: &[u8]) -> ControlType {
    if key.len() < 4 || i16::from_be_bytes([key[0], key[1]]) < 0 {
        return ControlType::Unknown;
    }
    match i16::from_be_bytes([key[2], key[3]]) {
        CONTROL_TYPE_ABORT => ControlType::Abort,
        CONTROL_TYPE_COMMIT => ControlType::Commit,
        _ => ControlType::Unknown,
    }
}

/// An aborted transaction whose marker has not been met yet (Kafka's
/// `AbortedTransactionMetadata`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OngoingAborted {
    txn: AbortedTxn,
    /// Last offset of the last batch of the transaction met in this pass.
    last_observed_batch_offset: Option<i64>,
}

/// Kafka's `CleanedTransactionMetadata`: the transactions the cleaner is
/// inside of as it walks the log in offset order, for one clean (carried
/// from one group of segments to the next).
#[derive(Debug, Default)]
pub struct CleanedTransactionMetadata {
    /// Producers with a transactional batch met since their last COMMIT.
    ongoing_committed_txns: HashSet<i64>,
    /// Producer id -> its aborted transaction begun but not yet ended.
    ongoing_aborted_txns: HashMap<i64, OngoingAborted>,
    /// Aborted transactions not begun yet, by first offset.
    aborted_txns: VecDeque<AbortedTxn>,
    /// The aborted transactions the cleaned segment's `.txnindex` keeps, in
    /// marker order, since the last `take_cleaned_index`.
    cleaned_index: Vec<AbortedTxn>,
}

impl CleanedTransactionMetadata {
    /// The state for a clean that knows these aborted transactions (every
    /// `.txnindex` entry of the log; duplicates are ignored).
    pub fn new(aborted: impl IntoIterator<Item = AbortedTxn>) -> CleanedTransactionMetadata {
        let mut v: Vec<AbortedTxn> = aborted.into_iter().collect();
        v.sort_by_key(|t| (t.first_offset, t.producer_id, t.last_offset));
        v.dedup_by_key(|t| (t.first_offset, t.producer_id));
        CleanedTransactionMetadata { aborted_txns: v.into(), ..Default::default() }
    }

    /// Kafka's `consumeAbortedTxnsUpTo`: aborted transactions starting at or
    /// before `offset` become ongoing.
    fn consume_aborted_txns_up_to(&mut self, offset: i64) {
        while self.aborted_txns.front().is_some_and(|t| t.first_offset <= offset) {
            if let Some(t) = self.aborted_txns.pop_front() {
                self.ongoing_aborted_txns
                    .entry(t.producer_id)
                    .or_insert(OngoingAborted { txn: t, last_observed_batch_offset: None });
            }
        }
    }

    /// Kafka's `onControlBatchRead`: a control batch was met; whether it may
    /// be discarded as far as its transaction goes (the delete horizon is
    /// the caller's). A retained ABORT marker whose transaction still had a
    /// batch in this pass goes to the cleaned `.txnindex`.
    pub fn on_control_batch_read(&mut self, b: &BatchFacts) -> bool {
        self.consume_aborted_txns_up_to(b.last_offset);
        match b.control.unwrap_or(ControlType::Unknown) {
            ControlType::Abort => match self.ongoing_aborted_txns.remove(&b.producer_id) {
                Some(OngoingAborted { txn, last_observed_batch_offset: Some(_) }) => {
                    self.cleaned_index.push(txn);
                    false
                }
                _ => true,
            },
            ControlType::Commit => !self.ongoing_committed_txns.remove(&b.producer_id),
            ControlType::Unknown => false,
            ControlType::Empty => true,
        }
    }

    /// Kafka's `onBatchRead`: a data batch was met; whether it belongs to an
    /// aborted transaction (and may be discarded).
    pub fn on_batch_read(&mut self, b: &BatchFacts) -> bool {
        self.consume_aborted_txns_up_to(b.last_offset);
        if !b.is_transactional {
            return false;
        }
        match self.ongoing_aborted_txns.get_mut(&b.producer_id) {
            Some(a) => {
                a.last_observed_batch_offset = Some(b.last_offset);
                true
            }
            None => {
                self.ongoing_committed_txns.insert(b.producer_id);
                false
            }
        }
    }

    /// Kafka's `shouldDiscardBatch`: a marker goes if its transaction allows
    /// and its segment is past the delete horizon (`retain_txn_markers`
    /// false); a data batch goes if it belongs to an aborted transaction.
    pub fn should_discard_batch(&mut self, b: &BatchFacts, retain_txn_markers: bool) -> bool {
        if b.control.is_some() {
            self.on_control_batch_read(b) && !retain_txn_markers
        } else {
            self.on_batch_read(b)
        }
    }

    /// The aborted transactions to write to the cleaned segment's
    /// `.txnindex` (in marker order) since the last call.
    pub fn take_cleaned_index(&mut self) -> Vec<AbortedTxn> {
        std::mem::take(&mut self.cleaned_index)
    }
}

/// Kafka's `isBatchLastRecordOfProducer`: the batch holds the last data
/// offset of an active producer, or is the control batch at the epoch of an
/// active producer without data at that epoch.
pub fn is_batch_last_record_of_producer(b: &BatchFacts, last_records: &HashMap<i64, LastRecord>) -> bool {
    last_records.get(&b.producer_id).is_some_and(|r| match r.last_data_offset {
        Some(o) => b.last_offset == o,
        None => b.control.is_some() && b.producer_epoch == r.producer_epoch,
    })
}

/// Kafka's `checkBatchRetention` in `cleanInto`: a producer's last batch is
/// kept (emptied if need be), a discarded batch goes whole, others go if no
/// record stays.
pub fn check_batch_retention(b: &BatchFacts, discard: bool, last_records: &HashMap<i64, LastRecord>) -> BatchRetention {
    if b.producer_id >= 0 && is_batch_last_record_of_producer(b, last_records) {
        BatchRetention::RetainEmpty
    } else if discard {
        BatchRetention::Delete
    } else {
        BatchRetention::DeleteEmpty
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::producer_state::TxnMarker;
    use crate::protocol::compression::Compression;
    use crate::protocol::records::RecordBatchBuilder;

    fn data(pid: i64, last_offset: i64, txn: bool) -> BatchFacts {
        BatchFacts { producer_id: pid, producer_epoch: 0, last_offset, is_transactional: txn, control: None }
    }
    fn marker(pid: i64, offset: i64, t: ControlType) -> BatchFacts {
        BatchFacts { producer_id: pid, producer_epoch: 0, last_offset: offset, is_transactional: true, control: Some(t) }
    }
    fn aborted(pid: i64, first: i64, last: i64) -> AbortedTxn {
        AbortedTxn { producer_id: pid, first_offset: first, last_offset: last, last_stable_offset: last + 1 }
    }

    #[test]
    fn control_types_from_keys_and_batches() {
        assert_eq!(control_type_of_key(&[0, 0, 0, 0]), ControlType::Abort);
        assert_eq!(control_type_of_key(&[0, 0, 0, 1]), ControlType::Commit);
        assert_eq!(control_type_of_key(&[0, 0, 0, 7]), ControlType::Unknown);
        assert_eq!(control_type_of_key(&[0, 3, 0, 1]), ControlType::Commit, "a newer key version is read as Kafka does");
        assert_eq!(control_type_of_key(&[0xff, 0xff, 0, 1]), ControlType::Unknown, "negative version");
        assert_eq!(control_type_of_key(&[0, 0]), ControlType::Unknown, "short key");
        let b = TxnMarker { commit: true, coordinator_epoch: 3 }.build_batch(9, 2, 100).unwrap();
        let f = BatchFacts::of(&RecordBatch::parse(b).unwrap());
        assert_eq!(f, BatchFacts { producer_id: 9, producer_epoch: 2, last_offset: 0, is_transactional: true, control: Some(ControlType::Commit) });
        let b = TxnMarker { commit: false, coordinator_epoch: 3 }.build_batch(9, 2, 100).unwrap();
        let rb = RecordBatch::parse(b).unwrap();
        assert_eq!(BatchFacts::of(&rb).control, Some(ControlType::Abort));
        // The header left by an earlier clean: no records.
        let empty = RecordBatch::parse(crate::log::log_cleaner::empty_batch(&rb)).unwrap();
        assert_eq!(BatchFacts::of(&empty).control, Some(ControlType::Empty));
        let mut d = RecordBatchBuilder::new(Compression::None).producer(9, 2, 0).transactional(true);
        d.append(1, Some(b"k"), Some(b"v"), &[]);
        let f = BatchFacts::of(&RecordBatch::parse(d.build().unwrap()).unwrap());
        assert_eq!((f.control, f.is_transactional, f.producer_id), (None, true, 9));
    }

    #[test]
    fn commit_marker_goes_only_once_its_transaction_has_no_batch_left() {
        // Pass 1: the transaction's batch is still there (it may be compacted
        // away in this very pass): the marker stays.
        let mut m = CleanedTransactionMetadata::new([]);
        assert!(!m.on_batch_read(&data(1, 3, true)), "committed data is not discarded");
        assert!(!m.on_control_batch_read(&marker(1, 4, ControlType::Commit)));
        // Pass 2: no batch of the transaction: the marker may go.
        let mut m = CleanedTransactionMetadata::new([]);
        assert!(m.on_control_batch_read(&marker(1, 4, ControlType::Commit)));
        // Another producer's batch does not hold this producer's marker.
        let mut m = CleanedTransactionMetadata::new([]);
        m.on_batch_read(&data(2, 3, true));
        assert!(m.on_control_batch_read(&marker(1, 4, ControlType::Commit)));
        assert!(!m.on_control_batch_read(&marker(2, 5, ControlType::Commit)));
        // Non-transactional batches of the producer do not count.
        let mut m = CleanedTransactionMetadata::new([]);
        assert!(!m.on_batch_read(&data(1, 3, false)));
        assert!(m.on_control_batch_read(&marker(1, 4, ControlType::Commit)));
        // Each COMMIT closes its transaction: the next one starts afresh.
        let mut m = CleanedTransactionMetadata::new([]);
        m.on_batch_read(&data(1, 1, true));
        assert!(!m.on_control_batch_read(&marker(1, 2, ControlType::Commit)));
        assert!(m.on_control_batch_read(&marker(1, 3, ControlType::Commit)));
        assert!(m.take_cleaned_index().is_empty(), "commits never go to the index");
    }

    #[test]
    fn aborted_data_goes_and_the_abort_marker_follows_one_pass_later() {
        let t = aborted(7, 10, 14);
        // Pass 1: data at 10..13 met: discarded, marker kept, index entry kept.
        let mut m2 = CleanedTransactionMetadata::new([t]);
        assert!(!m2.on_batch_read(&data(8, 9, true)), "another producer's batch before the transaction");
        assert!(m2.on_batch_read(&data(7, 11, true)));
        assert!(!m2.on_batch_read(&data(8, 12, true)), "interleaved committed batch of another producer");
        assert!(m2.on_batch_read(&data(7, 13, true)));
        assert!(!m2.should_discard_batch(&marker(7, 14, ControlType::Abort), false), "kept: data met in this pass");
        assert_eq!(m2.take_cleaned_index(), vec![t]);
        assert!(m2.take_cleaned_index().is_empty(), "taken once");
        // Pass 2: no data left: the marker may go once past the horizon; the
        // entry is not written to the cleaned index either way.
        let mut m3 = CleanedTransactionMetadata::new([t]);
        assert!(!m3.should_discard_batch(&marker(7, 14, ControlType::Abort), true), "before the horizon: kept");
        assert!(m3.take_cleaned_index().is_empty());
        let mut m4 = CleanedTransactionMetadata::new([t]);
        assert!(m4.should_discard_batch(&marker(7, 14, ControlType::Abort), false), "past the horizon: goes");
        assert!(m4.take_cleaned_index().is_empty());
    }

    #[test]
    fn transactions_of_a_producer_one_after_the_other() {
        // pid 1: aborted [0, 2], committed [3, 5], aborted [6, 8]; pid 2
        // commits across them. Duplicated entries (one per segment) are one.
        let a1 = aborted(1, 0, 2);
        let a2 = aborted(1, 6, 8);
        let mut m = CleanedTransactionMetadata::new([a2, a1, a1]);
        assert!(m.should_discard_batch(&data(1, 1, true), true));
        assert!(!m.should_discard_batch(&data(2, 1, true), true));
        assert!(!m.should_discard_batch(&marker(1, 2, ControlType::Abort), false));
        assert!(!m.should_discard_batch(&data(1, 4, true), true), "the committed transaction after an abort is kept");
        assert!(!m.should_discard_batch(&marker(1, 5, ControlType::Commit), false));
        assert!(!m.should_discard_batch(&marker(2, 5, ControlType::Commit), false));
        // a2 had no data left: its marker goes (past the horizon), no entry.
        assert!(m.should_discard_batch(&marker(1, 8, ControlType::Abort), false));
        assert_eq!(m.take_cleaned_index(), vec![a1]);
        // A non-transactional batch inside a producer's aborted range (not
        // possible from a client) is never discarded by these rules.
        let mut m = CleanedTransactionMetadata::new([a1]);
        assert!(!m.on_batch_read(&data(1, 1, false)));
    }

    #[test]
    fn other_and_empty_control_batches() {
        let mut m = CleanedTransactionMetadata::new([]);
        assert!(!m.should_discard_batch(&marker(1, 0, ControlType::Unknown), false), "unknown control records stay");
        assert!(m.should_discard_batch(&marker(1, 1, ControlType::Empty), false), "an emptied marker goes past the horizon");
        assert!(!m.should_discard_batch(&marker(1, 2, ControlType::Empty), true), "and stays before it");
    }

    #[test]
    fn a_producers_last_batch_or_marker_is_retained_empty() {
        let mut last = HashMap::new();
        last.insert(1, LastRecord { last_data_offset: Some(13), producer_epoch: 0 });
        last.insert(2, LastRecord { last_data_offset: None, producer_epoch: 4 });
        // pid 1's last data batch: retained even when discarded (aborted).
        assert_eq!(check_batch_retention(&data(1, 13, true), true, &last), BatchRetention::RetainEmpty);
        assert_eq!(check_batch_retention(&data(1, 11, true), true, &last), BatchRetention::Delete);
        assert_eq!(check_batch_retention(&data(1, 11, true), false, &last), BatchRetention::DeleteEmpty);
        // A marker of a producer with a last data offset is not its last record.
        assert_eq!(check_batch_retention(&marker(1, 14, ControlType::Commit), true, &last), BatchRetention::Delete);
        // pid 2's last write is a marker at its new epoch: that marker stays.
        let mut mk = marker(2, 20, ControlType::Abort);
        mk.producer_epoch = 4;
        assert_eq!(check_batch_retention(&mk, true, &last), BatchRetention::RetainEmpty);
        mk.producer_epoch = 3;
        assert_eq!(check_batch_retention(&mk, true, &last), BatchRetention::Delete);
        assert_eq!(check_batch_retention(&data(2, 20, true), false, &last), BatchRetention::DeleteEmpty, "data is not the marker");
        // Batches without a producer id and unknown producers.
        assert_eq!(check_batch_retention(&data(-1, 13, false), false, &last), BatchRetention::DeleteEmpty);
        assert_eq!(check_batch_retention(&data(3, 13, true), true, &last), BatchRetention::Delete);
    }
}
