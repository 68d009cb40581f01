//! TransactionMetadata: the state of one transactional id and the pure
//! decisions of the transaction state machine (Empty, Ongoing, PrepareCommit,
//! PrepareAbort, CompleteCommit, CompleteAbort, Dead, PrepareEpochFence).
//! Every decision takes the current metadata and the request and returns an
//! error or the transition to write to `__transaction_state`; nothing here
//! does I/O. Maps to Kafka's `kafka.coordinator.transaction.TransactionMetadata`
//! and the decision parts of `TransactionCoordinator` (handleInitProducerId,
//! handleAddPartitionsToTransaction, handleEndTransaction, abort of timed-out
//! transactions).

use crate::common::TopicPartition;
use crate::protocol::error::{self, ErrorCode};
use std::collections::BTreeSet;

pub const NO_PRODUCER_ID: i64 = -1;
pub const NO_PRODUCER_EPOCH: i16 = -1;

/// The states, with the status byte Kafka writes for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnState {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
    Dead,
    PrepareEpochFence,
}

impl TxnState {
    pub fn byte(self) -> i8 {
        match self {
            TxnState::Empty => 0,
            TxnState::Ongoing => 1,
            TxnState::PrepareCommit => 2,
            TxnState::PrepareAbort => 3,
            TxnState::CompleteCommit => 4,
            TxnState::CompleteAbort => 5,
            TxnState::Dead => 6,
            TxnState::PrepareEpochFence => 7,
        }
    }

    pub fn from_byte(b: i8) -> Option<TxnState> {
        Some(match b {
            0 => TxnState::Empty,
            1 => TxnState::Ongoing,
            2 => TxnState::PrepareCommit,
            3 => TxnState::PrepareAbort,
            4 => TxnState::CompleteCommit,
            5 => TxnState::CompleteAbort,
            6 => TxnState::Dead,
            7 => TxnState::PrepareEpochFence,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
            TxnState::Dead => "Dead",
            TxnState::PrepareEpochFence => "PrepareEpochFence",
        }
    }

    /// The states a transition into `self` may start from (Kafka's
    /// `TransactionMetadata.validPreviousStates`).
    pub fn valid_previous(self) -> &'static [TxnState] {
        use TxnState::*;
        match self {
            Empty => &[Empty, CompleteCommit, CompleteAbort],
            Ongoing => &[Ongoing, Empty, CompleteCommit, CompleteAbort],
            PrepareCommit => &[Ongoing],
            PrepareAbort => &[Ongoing, PrepareEpochFence],
            CompleteCommit => &[PrepareCommit],
            CompleteAbort => &[PrepareAbort],
            Dead => &[Empty, CompleteAbort, CompleteCommit],
            PrepareEpochFence => &[Ongoing],
        }
    }

    pub fn is_complete(self) -> bool {
        matches!(self, TxnState::CompleteCommit | TxnState::CompleteAbort)
    }
}

/// An epoch that cannot be bumped again: a new producer id is needed.
pub fn is_epoch_exhausted(epoch: i16) -> bool {
    epoch >= i16::MAX - 1
}

/// What a record of `__transaction_state` holds, and what a transition writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnTransit {
    pub producer_id: i64,
    pub last_producer_id: i64,
    pub producer_epoch: i16,
    pub last_producer_epoch: i16,
    pub txn_timeout_ms: i32,
    pub state: TxnState,
    pub partitions: BTreeSet<TopicPartition>,
    pub txn_start_timestamp: i64,
    pub txn_last_update_timestamp: i64,
}

/// One transactional id's state as the coordinator holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnMetadata {
    pub transactional_id: String,
    pub producer_id: i64,
    pub last_producer_id: i64,
    pub producer_epoch: i16,
    pub last_producer_epoch: i16,
    pub txn_timeout_ms: i32,
    pub state: TxnState,
    pub partitions: BTreeSet<TopicPartition>,
    pub txn_start_timestamp: i64,
    pub txn_last_update_timestamp: i64,
    /// The state of a transition being written; requests meanwhile get
    /// CONCURRENT_TRANSACTIONS.
    pub pending_state: Option<TxnState>,
}

impl TxnMetadata {
    /// A new transactional id: Empty, no epoch yet.
    pub fn new(transactional_id: &str, producer_id: i64, txn_timeout_ms: i32, now: i64) -> TxnMetadata {
        TxnMetadata {
            transactional_id: transactional_id.to_string(),
            producer_id,
            last_producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            last_producer_epoch: NO_PRODUCER_EPOCH,
            txn_timeout_ms,
            state: TxnState::Empty,
            partitions: BTreeSet::new(),
            txn_start_timestamp: -1,
            txn_last_update_timestamp: now,
            pending_state: None,
        }
    }

    /// The metadata a loaded record describes.
    pub fn from_transit(transactional_id: &str, t: &TxnTransit) -> TxnMetadata {
        TxnMetadata {
            transactional_id: transactional_id.to_string(),
            producer_id: t.producer_id,
            last_producer_id: t.last_producer_id,
            producer_epoch: t.producer_epoch,
            last_producer_epoch: t.last_producer_epoch,
            txn_timeout_ms: t.txn_timeout_ms,
            state: t.state,
            partitions: t.partitions.clone(),
            txn_start_timestamp: t.txn_start_timestamp,
            txn_last_update_timestamp: t.txn_last_update_timestamp,
            pending_state: None,
        }
    }

    fn transit(&self) -> TxnTransit {
        TxnTransit {
            producer_id: self.producer_id,
            last_producer_id: self.last_producer_id,
            producer_epoch: self.producer_epoch,
            last_producer_epoch: self.last_producer_epoch,
            txn_timeout_ms: self.txn_timeout_ms,
            state: self.state,
            partitions: self.partitions.clone(),
            txn_start_timestamp: self.txn_start_timestamp,
            txn_last_update_timestamp: self.txn_last_update_timestamp,
        }
    }

    /// Marks `t` as being written (Kafka's `prepareTransitionTo`).
    pub fn begin(&mut self, t: &TxnTransit) {
        self.pending_state = Some(t.state);
    }

    /// Applies a written transition (Kafka's `completeTransitionTo`).
    /// Returns false (and changes nothing but the pending state) when the
    /// transition is not valid from the current state.
    pub fn complete(&mut self, t: &TxnTransit) -> bool {
        self.pending_state = None;
        let from = self.state;
        if !t.state.valid_previous().contains(&from) && !(from == TxnState::Ongoing && t.state == TxnState::PrepareAbort) {
            return false;
        }
        self.producer_id = t.producer_id;
        self.last_producer_id = t.last_producer_id;
        self.producer_epoch = t.producer_epoch;
        self.last_producer_epoch = t.last_producer_epoch;
        self.txn_timeout_ms = t.txn_timeout_ms;
        self.state = t.state;
        self.partitions = t.partitions.clone();
        self.txn_start_timestamp = t.txn_start_timestamp;
        self.txn_last_update_timestamp = t.txn_last_update_timestamp;
        true
    }

    /// The transition that ends a PrepareCommit/PrepareAbort once every
    /// marker is written (Kafka's `prepareComplete`).
    pub fn prepare_complete(&self, now: i64) -> Option<TxnTransit> {
        let state = match self.state {
            TxnState::PrepareCommit => TxnState::CompleteCommit,
            TxnState::PrepareAbort => TxnState::CompleteAbort,
            _ => return None,
        };
        Some(TxnTransit { state, partitions: BTreeSet::new(), txn_last_update_timestamp: now, ..self.transit() })
    }

    /// Whether an Ongoing transaction has outlived its timeout.
    pub fn is_timed_out(&self, now: i64) -> bool {
        self.state == TxnState::Ongoing && self.pending_state.is_none() && self.txn_start_timestamp + self.txn_timeout_ms as i64 <= now
    }

    /// Whether an idle transactional id may be removed
    /// (`transactional.id.expiration.ms`).
    pub fn is_expired(&self, now: i64, expiration_ms: i64) -> bool {
        self.pending_state.is_none()
            && matches!(self.state, TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort)
            && self.txn_last_update_timestamp + expiration_ms <= now
    }
}

/// What InitProducerId should do for a transactional id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitDecision {
    Error(ErrorCode),
    /// A retried request: answer this id and epoch, nothing to write.
    Respond(i64, i16),
    /// Write this Empty transition, then answer its id and epoch.
    Write(TxnTransit),
    /// The epoch is exhausted: allocate a new producer id and call
    /// `rotate_producer_id`.
    NeedNewProducerId,
    /// An Ongoing transaction of an older producer: write this PrepareAbort
    /// (with the epoch bumped, so the zombie is fenced), send abort markers,
    /// and answer CONCURRENT_TRANSACTIONS so that the client retries.
    FenceAndAbort(TxnTransit),
}

/// InitProducerId with a transactional id whose metadata exists (a new id
/// starts as `TxnMetadata::new`, epoch -1). `expected` is the client's current
/// (producer id, epoch) of KIP-360, if it sent one.
pub fn init_producer_id(md: &TxnMetadata, expected: Option<(i64, i16)>, timeout_ms: i32, now: i64) -> InitDecision {
    use TxnState::*;
    if md.pending_state.is_some() {
        return InitDecision::Error(error::CONCURRENT_TRANSACTIONS);
    }
    if let Some((pid, epoch)) = expected {
        // The client's id must be the current one, or the previous one when
        // its epoch ran out (the id was rotated on its behalf).
        let valid = pid == md.producer_id || (pid == md.last_producer_id && is_epoch_exhausted(epoch));
        if !valid {
            return InitDecision::Error(error::PRODUCER_FENCED);
        }
    }
    match md.state {
        PrepareCommit | PrepareAbort => InitDecision::Error(error::CONCURRENT_TRANSACTIONS),
        Dead | PrepareEpochFence => InitDecision::Error(error::CONCURRENT_TRANSACTIONS),
        Ongoing => {
            // Fence: bump the epoch (unless exhausted) and abort.
            let epoch = if is_epoch_exhausted(md.producer_epoch) { md.producer_epoch } else { md.producer_epoch + 1 };
            InitDecision::FenceAndAbort(TxnTransit {
                producer_epoch: epoch,
                last_producer_epoch: NO_PRODUCER_EPOCH,
                state: PrepareAbort,
                txn_last_update_timestamp: now,
                ..md.transit()
            })
        }
        Empty | CompleteCommit | CompleteAbort => {
            // A retry of a request that already bumped: same answer.
            if let Some((pid, epoch)) = expected {
                if pid == md.producer_id && epoch == md.last_producer_epoch && md.last_producer_epoch != NO_PRODUCER_EPOCH {
                    return InitDecision::Respond(md.producer_id, md.producer_epoch);
                }
                if pid == md.last_producer_id && md.last_producer_id != NO_PRODUCER_ID && is_epoch_exhausted(epoch) {
                    return InitDecision::Respond(md.producer_id, md.producer_epoch);
                }
            }
            if is_epoch_exhausted(md.producer_epoch) {
                return InitDecision::NeedNewProducerId;
            }
            let (epoch, last_epoch) = match expected {
                None => (md.producer_epoch + 1, NO_PRODUCER_EPOCH),
                Some((_, e)) if md.producer_epoch == NO_PRODUCER_EPOCH || e == md.producer_epoch => (md.producer_epoch + 1, md.producer_epoch),
                Some(_) => return InitDecision::Error(error::PRODUCER_FENCED),
            };
            InitDecision::Write(TxnTransit {
                producer_epoch: epoch,
                last_producer_epoch: last_epoch,
                txn_timeout_ms: timeout_ms,
                state: Empty,
                partitions: BTreeSet::new(),
                txn_start_timestamp: -1,
                txn_last_update_timestamp: now,
                ..md.transit()
            })
        }
    }
}

/// The Empty transition that moves an exhausted transactional id to a new
/// producer id with epoch 0 (Kafka's `prepareProducerIdRotation`).
pub fn rotate_producer_id(md: &TxnMetadata, new_producer_id: i64, timeout_ms: i32, recorded_last: bool, now: i64) -> TxnTransit {
    TxnTransit {
        producer_id: new_producer_id,
        last_producer_id: md.producer_id,
        producer_epoch: 0,
        last_producer_epoch: if recorded_last { md.producer_epoch } else { NO_PRODUCER_EPOCH },
        txn_timeout_ms: timeout_ms,
        state: TxnState::Empty,
        partitions: BTreeSet::new(),
        txn_start_timestamp: -1,
        txn_last_update_timestamp: now,
    }
}

/// The checks every client request of an ongoing transaction makes.
fn check_producer(md: &TxnMetadata, producer_id: i64, producer_epoch: i16) -> Result<(), ErrorCode> {
    if md.producer_id != producer_id {
        Err(error::INVALID_PRODUCER_ID_MAPPING)
    } else if md.producer_epoch != producer_epoch {
        Err(error::PRODUCER_FENCED)
    } else {
        Ok(())
    }
}

/// AddPartitionsToTxn (and AddOffsetsToTxn's offsets partition): `Ok(None)`
/// when every partition is already in the ongoing transaction.
pub fn add_partitions(
    md: &TxnMetadata,
    producer_id: i64,
    producer_epoch: i16,
    partitions: &[TopicPartition],
    now: i64,
) -> Result<Option<TxnTransit>, ErrorCode> {
    use TxnState::*;
    check_producer(md, producer_id, producer_epoch)?;
    if md.pending_state.is_some() {
        return Err(error::CONCURRENT_TRANSACTIONS);
    }
    match md.state {
        PrepareCommit | PrepareAbort => return Err(error::CONCURRENT_TRANSACTIONS),
        Dead | PrepareEpochFence => return Err(error::INVALID_TXN_STATE),
        Ongoing if partitions.iter().all(|tp| md.partitions.contains(tp)) => return Ok(None),
        _ => {}
    }
    let mut all = md.partitions.clone();
    all.extend(partitions.iter().cloned());
    let start = if md.state == Ongoing { md.txn_start_timestamp } else { now };
    Ok(Some(TxnTransit { state: Ongoing, partitions: all, txn_start_timestamp: start, txn_last_update_timestamp: now, ..md.transit() }))
}

/// What EndTxn should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndDecision {
    Error(ErrorCode),
    /// Already done (a retried EndTxn): answer NONE, nothing to write.
    Done,
    /// Write this PrepareCommit/PrepareAbort, answer, then send markers.
    Write(TxnTransit),
}

/// EndTxn from a client (strict epoch) or from the coordinator itself
/// (timeouts: the epoch may be newer).
pub fn end_txn(md: &TxnMetadata, producer_id: i64, producer_epoch: i16, commit: bool, from_client: bool, now: i64) -> EndDecision {
    use TxnState::*;
    if md.producer_id != producer_id {
        return EndDecision::Error(error::INVALID_PRODUCER_ID_MAPPING);
    }
    if (from_client && producer_epoch != md.producer_epoch) || producer_epoch < md.producer_epoch {
        return EndDecision::Error(error::PRODUCER_FENCED);
    }
    if md.pending_state.is_some() {
        return EndDecision::Error(error::CONCURRENT_TRANSACTIONS);
    }
    let same = |want: bool, busy: bool| -> EndDecision {
        if want == commit {
            if busy { EndDecision::Error(error::CONCURRENT_TRANSACTIONS) } else { EndDecision::Done }
        } else {
            EndDecision::Error(error::INVALID_TXN_STATE)
        }
    };
    match md.state {
        Ongoing => EndDecision::Write(TxnTransit {
            state: if commit { PrepareCommit } else { PrepareAbort },
            txn_last_update_timestamp: now,
            ..md.transit()
        }),
        CompleteCommit => same(true, false),
        CompleteAbort => same(false, false),
        PrepareCommit => same(true, true),
        PrepareAbort => same(false, true),
        Empty | Dead | PrepareEpochFence => EndDecision::Error(error::INVALID_TXN_STATE),
    }
}

/// The coordinator's abort of a timed-out transaction: bump the epoch
/// (fencing the producer) and prepare the abort (Kafka's
/// `abortTimedOutTransactions` with `prepareFenceProducerEpoch`).
pub fn abort_timed_out(md: &TxnMetadata, now: i64) -> Option<TxnTransit> {
    if !md.is_timed_out(now) {
        return None;
    }
    let epoch = if is_epoch_exhausted(md.producer_epoch) { md.producer_epoch } else { md.producer_epoch + 1 };
    Some(TxnTransit {
        producer_epoch: epoch,
        last_producer_epoch: NO_PRODUCER_EPOCH,
        state: TxnState::PrepareAbort,
        txn_last_update_timestamp: now,
        ..md.transit()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(t: &str, p: i32) -> TopicPartition {
        TopicPartition::new(t, p)
    }

    fn apply(md: &mut TxnMetadata, t: &TxnTransit) {
        md.begin(t);
        assert!(md.complete(t), "{:?} -> {:?}", md.state, t.state);
    }

    fn initialized() -> TxnMetadata {
        let mut md = TxnMetadata::new("tx", 1000, 60_000, 1);
        match init_producer_id(&md, None, 60_000, 2) {
            InitDecision::Write(t) => apply(&mut md, &t),
            d => panic!("{d:?}"),
        }
        md
    }

    #[test]
    fn status_bytes_are_kafkas() {
        let all = [
            TxnState::Empty,
            TxnState::Ongoing,
            TxnState::PrepareCommit,
            TxnState::PrepareAbort,
            TxnState::CompleteCommit,
            TxnState::CompleteAbort,
            TxnState::Dead,
            TxnState::PrepareEpochFence,
        ];
        for (i, s) in all.iter().enumerate() {
            assert_eq!(s.byte(), i as i8);
            assert_eq!(TxnState::from_byte(i as i8), Some(*s));
        }
        assert_eq!(TxnState::from_byte(8), None);
        assert_eq!(TxnState::from_byte(-1), None);
    }

    #[test]
    fn first_init_gives_epoch_zero_and_each_init_bumps() {
        let mut md = initialized();
        assert_eq!((md.producer_id, md.producer_epoch, md.state), (1000, 0, TxnState::Empty));
        match init_producer_id(&md, None, 30_000, 3) {
            InitDecision::Write(t) => {
                assert_eq!((t.producer_epoch, t.last_producer_epoch, t.txn_timeout_ms), (1, NO_PRODUCER_EPOCH, 30_000));
                apply(&mut md, &t);
            }
            d => panic!("{d:?}"),
        }
        assert_eq!(md.producer_epoch, 1);
    }

    #[test]
    fn kip360_bump_and_retry() {
        let mut md = initialized();
        // The client sends its current id and epoch 0: bump to 1, remember 0.
        let t = match init_producer_id(&md, Some((1000, 0)), 60_000, 3) {
            InitDecision::Write(t) => t,
            d => panic!("{d:?}"),
        };
        assert_eq!((t.producer_epoch, t.last_producer_epoch), (1, 0));
        apply(&mut md, &t);
        // The same request retried: the same answer, nothing written.
        assert_eq!(init_producer_id(&md, Some((1000, 0)), 60_000, 4), InitDecision::Respond(1000, 1));
        // An older epoch that is neither current nor last: fenced.
        let mut older = md.clone();
        older.producer_epoch = 5;
        older.last_producer_epoch = 4;
        assert_eq!(init_producer_id(&older, Some((1000, 2)), 60_000, 4), InitDecision::Error(error::PRODUCER_FENCED));
        // Another producer id altogether: fenced.
        assert_eq!(init_producer_id(&md, Some((7, 0)), 60_000, 4), InitDecision::Error(error::PRODUCER_FENCED));
    }

    #[test]
    fn exhausted_epoch_rotates_the_producer_id() {
        let mut md = initialized();
        md.producer_epoch = i16::MAX - 1;
        assert_eq!(init_producer_id(&md, None, 60_000, 5), InitDecision::NeedNewProducerId);
        let t = rotate_producer_id(&md, 2000, 60_000, false, 5);
        assert_eq!((t.producer_id, t.producer_epoch, t.last_producer_id), (2000, 0, 1000));
        apply(&mut md, &t);
        // The client that still holds the old id with the exhausted epoch
        // retries and gets the rotated id.
        assert_eq!(init_producer_id(&md, Some((1000, i16::MAX - 1)), 60_000, 6), InitDecision::Respond(2000, 0));
    }

    #[test]
    fn commit_path() {
        let mut md = initialized();
        let parts = [tp("a", 0), tp("b", 1)];
        let t = add_partitions(&md, 1000, 0, &parts, 10).unwrap().unwrap();
        assert_eq!((t.state, t.txn_start_timestamp, t.partitions.len()), (TxnState::Ongoing, 10, 2));
        apply(&mut md, &t);
        // Adding the same partitions again writes nothing.
        assert_eq!(add_partitions(&md, 1000, 0, &parts[..1], 11), Ok(None));
        // A new one keeps the start time.
        let t = add_partitions(&md, 1000, 0, &[tp("c", 0)], 12).unwrap().unwrap();
        assert_eq!((t.txn_start_timestamp, t.partitions.len()), (10, 3));
        apply(&mut md, &t);
        let t = match end_txn(&md, 1000, 0, true, true, 13) {
            EndDecision::Write(t) => t,
            d => panic!("{d:?}"),
        };
        assert_eq!(t.state, TxnState::PrepareCommit);
        apply(&mut md, &t);
        // While markers are out: a retried commit is CONCURRENT_TRANSACTIONS,
        // an abort INVALID_TXN_STATE, new partitions must wait.
        assert_eq!(end_txn(&md, 1000, 0, true, true, 14), EndDecision::Error(error::CONCURRENT_TRANSACTIONS));
        assert_eq!(end_txn(&md, 1000, 0, false, true, 14), EndDecision::Error(error::INVALID_TXN_STATE));
        assert_eq!(add_partitions(&md, 1000, 0, &parts, 14), Err(error::CONCURRENT_TRANSACTIONS));
        assert_eq!(init_producer_id(&md, None, 60_000, 14), InitDecision::Error(error::CONCURRENT_TRANSACTIONS));
        let c = md.prepare_complete(15).unwrap();
        assert_eq!((c.state, c.partitions.len()), (TxnState::CompleteCommit, 0));
        apply(&mut md, &c);
        assert_eq!(end_txn(&md, 1000, 0, true, true, 16), EndDecision::Done);
        assert_eq!(end_txn(&md, 1000, 0, false, true, 16), EndDecision::Error(error::INVALID_TXN_STATE));
        // The next transaction starts from CompleteCommit.
        let t = add_partitions(&md, 1000, 0, &parts[..1], 17).unwrap().unwrap();
        assert_eq!((t.state, t.txn_start_timestamp), (TxnState::Ongoing, 17));
    }

    #[test]
    fn bad_requests_change_nothing() {
        let md = initialized();
        // EndTxn with nothing ongoing
        assert_eq!(end_txn(&md, 1000, 0, true, true, 5), EndDecision::Error(error::INVALID_TXN_STATE));
        // wrong producer id, stale epoch
        assert_eq!(end_txn(&md, 1, 0, true, true, 5), EndDecision::Error(error::INVALID_PRODUCER_ID_MAPPING));
        assert_eq!(add_partitions(&md, 1000, 3, &[tp("a", 0)], 5), Err(error::PRODUCER_FENCED));
        assert_eq!(add_partitions(&md, 999, 0, &[tp("a", 0)], 5), Err(error::INVALID_PRODUCER_ID_MAPPING));
        let mut busy = md.clone();
        busy.pending_state = Some(TxnState::Ongoing);
        assert_eq!(add_partitions(&busy, 1000, 0, &[tp("a", 0)], 5), Err(error::CONCURRENT_TRANSACTIONS));
    }

    #[test]
    fn a_new_producer_fences_an_ongoing_transaction() {
        let mut md = initialized();
        let t = add_partitions(&md, 1000, 0, &[tp("a", 0)], 10).unwrap().unwrap();
        apply(&mut md, &t);
        let t = match init_producer_id(&md, None, 60_000, 11) {
            InitDecision::FenceAndAbort(t) => t,
            d => panic!("{d:?}"),
        };
        assert_eq!((t.state, t.producer_epoch, t.partitions.len()), (TxnState::PrepareAbort, 1, 1));
        apply(&mut md, &t);
        // The zombie (epoch 0) is fenced from now on.
        assert_eq!(end_txn(&md, 1000, 0, true, true, 12), EndDecision::Error(error::PRODUCER_FENCED));
        assert_eq!(add_partitions(&md, 1000, 0, &[tp("a", 0)], 12), Err(error::PRODUCER_FENCED));
        // The new producer retries until the abort completes, then gets epoch 2.
        assert_eq!(init_producer_id(&md, None, 60_000, 12), InitDecision::Error(error::CONCURRENT_TRANSACTIONS));
        let c = md.prepare_complete(13).unwrap();
        apply(&mut md, &c);
        match init_producer_id(&md, None, 60_000, 14) {
            InitDecision::Write(t) => assert_eq!(t.producer_epoch, 2),
            d => panic!("{d:?}"),
        }
    }

    #[test]
    fn timeouts_abort_with_a_bumped_epoch() {
        let mut md = initialized();
        md.txn_timeout_ms = 100;
        let t = add_partitions(&md, 1000, 0, &[tp("a", 0)], 1000).unwrap().unwrap();
        apply(&mut md, &t);
        assert_eq!(abort_timed_out(&md, 1099), None);
        let t = abort_timed_out(&md, 1100).unwrap();
        assert_eq!((t.state, t.producer_epoch), (TxnState::PrepareAbort, 1));
        apply(&mut md, &t);
        assert_eq!(abort_timed_out(&md, 5000), None);
        assert_eq!(end_txn(&md, 1000, 0, true, true, 1200), EndDecision::Error(error::PRODUCER_FENCED));
    }

    #[test]
    fn expiry_only_when_idle() {
        let mut md = initialized();
        assert!(!md.is_expired(100, 1000));
        assert!(md.is_expired(1002, 1000));
        let t = add_partitions(&md, 1000, 0, &[tp("a", 0)], 10).unwrap().unwrap();
        apply(&mut md, &t);
        assert!(!md.is_expired(1_000_000, 1000));
    }

    #[test]
    fn invalid_transitions_are_refused() {
        let mut md = initialized();
        let bad = TxnTransit { state: TxnState::CompleteCommit, ..md.transit() };
        md.begin(&bad);
        assert!(!md.complete(&bad));
        assert_eq!((md.state, md.pending_state), (TxnState::Empty, None));
        assert!(md.prepare_complete(1).is_none());
    }
}
