//! The group coordinator's side of a transaction's end: when a COMMIT/ABORT
//! marker lands in `__consumer_offsets` partitions, the offsets a transactional
//! producer committed there (TxnOffsetCommit) become visible or are dropped.
//! Maps to Kafka's `GroupCoordinator.scheduleHandleTxnCompletion` /
//! `GroupMetadataManager.handleTxnCompletion`.
//!
//! STUB: the `txncoord` branch owns the pending transactional offsets and
//! replaces this body; the WriteTxnMarkers handler already calls it.

use super::GroupCoordinator;

impl GroupCoordinator {
    /// Completes the pending transactional offsets of `producer_id` in the
    /// groups hosted by the `__consumer_offsets` partitions `offsets_partitions`:
    /// materialised on `commit`, discarded otherwise.
    pub fn handle_txn_completion(&self, producer_id: i64, offsets_partitions: &[i32], commit: bool) {
        let _ = (producer_id, offsets_partitions, commit);
    }
}
