//! TransactionLog: the records of `__transaction_state` exactly as Kafka 2.8
//! writes them (key v0 `{transactional_id}`; value v0 `{producer_id,
//! producer_epoch, transaction_timeout_ms, transaction_status,
//! transaction_partitions (null when Empty), last_update_timestamp,
//! start_timestamp}`), the partition of a transactional id, and replaying a
//! partition's log into transaction metadata. Maps to Kafka's
//! `kafka.coordinator.transaction.TransactionLog` (TransactionLogKey.json /
//! TransactionLogValue.json) and the loading loop of `TransactionStateManager`.

use crate::common::{java_string_hash, kafka_abs, TopicPartition};
use crate::coordinator::transaction::transaction_metadata::{TxnState, TxnTransit, NO_PRODUCER_EPOCH, NO_PRODUCER_ID};
use crate::protocol::compression::Compression;
use crate::protocol::records::{batches, RecordBatchBuilder};
use crate::protocol::{Reader, Writer};
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The internal topic of the transaction coordinator.
pub const TRANSACTION_STATE_TOPIC_NAME: &str = "__transaction_state";

/// The `__transaction_state` partition of a transactional id.
pub fn partition_for(transactional_id: &str, num_partitions: i32) -> i32 {
    kafka_abs(java_string_hash(transactional_id)) % num_partitions.max(1)
}

/// Key version 0: the transactional id.
pub fn key_to_bytes(transactional_id: &str) -> Bytes {
    let mut w = Writer::new();
    w.i16(0);
    w.string(false, transactional_id);
    w.into_bytes()
}

/// Value version 0. An Empty transaction writes a null partition list.
pub fn value_to_bytes(t: &TxnTransit) -> Bytes {
    let mut w = Writer::new();
    w.i16(0);
    w.i64(t.producer_id);
    w.i16(t.producer_epoch);
    w.i32(t.txn_timeout_ms);
    w.i8(t.state.byte());
    if t.state == TxnState::Empty {
        w.array_len(false, None);
    } else {
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for tp in &t.partitions {
            by_topic.entry(tp.topic.as_str()).or_default().push(tp.partition);
        }
        let topics: Vec<(&str, Vec<i32>)> = by_topic.into_iter().collect();
        w.array(false, &topics, |w, (topic, partitions)| {
            w.string(false, topic);
            w.i32_array(false, partitions);
        });
    }
    w.i64(t.txn_last_update_timestamp);
    w.i64(t.txn_start_timestamp);
    w.into_bytes()
}

pub fn read_key(buf: Bytes) -> Result<String, String> {
    let mut r = Reader::new(buf);
    let version = r.i16().map_err(|e| e.to_string())?;
    if version != 0 {
        return Err(format!("unknown key version {version} in {TRANSACTION_STATE_TOPIC_NAME}"));
    }
    r.string(false).map_err(|e| e.to_string())
}

pub fn read_value(buf: Bytes) -> Result<TxnTransit, String> {
    let e = |e: crate::protocol::CodecError| e.to_string();
    let mut r = Reader::new(buf);
    let version = r.i16().map_err(e)?;
    if version != 0 {
        return Err(format!("unknown value version {version} in {TRANSACTION_STATE_TOPIC_NAME}"));
    }
    let producer_id = r.i64().map_err(e)?;
    let producer_epoch = r.i16().map_err(e)?;
    let txn_timeout_ms = r.i32().map_err(e)?;
    let status = r.i8().map_err(e)?;
    let state = TxnState::from_byte(status).ok_or_else(|| format!("unknown transaction status {status}"))?;
    let topics = r.nullable_array(false, |r| Ok((r.string(false)?, r.i32_array(false)?))).map_err(e)?;
    let txn_last_update_timestamp = r.i64().map_err(e)?;
    let txn_start_timestamp = r.i64().map_err(e)?;
    let mut partitions = BTreeSet::new();
    if state != TxnState::Empty {
        for (topic, ps) in topics.unwrap_or_default() {
            for p in ps {
                partitions.insert(TopicPartition::new(topic.clone(), p));
            }
        }
    }
    Ok(TxnTransit {
        producer_id,
        last_producer_id: NO_PRODUCER_ID,
        producer_epoch,
        last_producer_epoch: NO_PRODUCER_EPOCH,
        txn_timeout_ms,
        state,
        partitions,
        txn_start_timestamp,
        txn_last_update_timestamp,
    })
}

/// One record batch (uncompressed, as Kafka enforces) for the log.
pub fn build_batch(records: &[(Bytes, Option<Bytes>)], now: i64) -> std::io::Result<Bytes> {
    let mut b = RecordBatchBuilder::new(Compression::None);
    for (k, v) in records {
        b.append(now, Some(k), v.as_deref(), &[]);
    }
    b.build()
}

/// Replays whole batches of a partition's log: the last record of each
/// transactional id wins, a tombstone removes it. Returns the next offset.
pub fn replay(log_bytes: Bytes, into: &mut HashMap<String, TxnTransit>) -> Result<i64, String> {
    let mut next = -1;
    for batch in batches(log_bytes) {
        let batch = batch.map_err(|e| e.to_string())?;
        next = batch.next_offset();
        if batch.is_control() {
            continue;
        }
        for rec in batch.records().map_err(|e| e.to_string())? {
            let Some(key) = rec.key else { continue };
            let id = match read_key(key) {
                Ok(id) => id,
                Err(e) => {
                    log::warn!("skipping record at offset {} of {TRANSACTION_STATE_TOPIC_NAME}: {e}", rec.offset);
                    continue;
                }
            };
            match rec.value {
                None => {
                    into.remove(&id);
                }
                Some(v) => match read_value(v) {
                    Ok(t) => {
                        into.insert(id, t);
                    }
                    Err(e) => log::warn!("skipping record at offset {} of {TRANSACTION_STATE_TOPIC_NAME}: {e}", rec.offset),
                },
            }
        }
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transit(state: TxnState, parts: &[(&str, i32)]) -> TxnTransit {
        TxnTransit {
            producer_id: 1,
            last_producer_id: NO_PRODUCER_ID,
            producer_epoch: 2,
            last_producer_epoch: NO_PRODUCER_EPOCH,
            txn_timeout_ms: 60_000,
            state,
            partitions: parts.iter().map(|(t, p)| TopicPartition::new(*t, *p)).collect(),
            txn_start_timestamp: 5,
            txn_last_update_timestamp: 6,
        }
    }

    #[test]
    fn partition_rule_is_kafkas() {
        // abs(String.hashCode) % 50, as for groups
        assert_eq!(partition_for("my-group", 50), 12);
        assert_eq!(partition_for("test", 50), 48);
    }

    #[test]
    fn key_bytes() {
        let k = key_to_bytes("tx");
        assert_eq!(&k[..], &[0, 0, 0, 2, b't', b'x']);
        assert_eq!(read_key(k).unwrap(), "tx");
        assert!(read_key(Bytes::from_static(&[0, 1, 0, 0])).is_err());
        assert!(read_key(Bytes::from_static(&[0])).is_err());
    }

    #[test]
    fn value_bytes_ongoing() {
        let t = transit(TxnState::Ongoing, &[("b", 1), ("a", 0), ("a", 2)]);
        let v = value_to_bytes(&t);
        let want: Vec<u8> = [
            &[0, 0][..],                            // version
            &[0, 0, 0, 0, 0, 0, 0, 1],              // producer id
            &[0, 2],                                // epoch
            &[0, 0, 0xea, 0x60],                    // timeout 60000
            &[1],                                   // Ongoing
            &[0, 0, 0, 2],                          // two topics
            &[0, 1, b'a', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2],
            &[0, 1, b'b', 0, 0, 0, 1, 0, 0, 0, 1],
            &[0, 0, 0, 0, 0, 0, 0, 6],              // last update
            &[0, 0, 0, 0, 0, 0, 0, 5],              // start
        ]
        .concat();
        assert_eq!(&v[..], &want[..]);
        assert_eq!(read_value(v).unwrap(), t);
    }

    #[test]
    fn value_bytes_empty_has_null_partitions() {
        let t = transit(TxnState::Empty, &[]);
        let v = value_to_bytes(&t);
        assert_eq!(&v[17..21], &[0xff, 0xff, 0xff, 0xff]);
        assert_eq!(read_value(v).unwrap(), t);
        // an unknown status byte or a truncated value is an error, not a panic
        let mut bad = value_to_bytes(&t).to_vec();
        bad[16] = 9;
        assert!(read_value(Bytes::from(bad)).is_err());
        assert!(read_value(value_to_bytes(&t).slice(..10)).is_err());
    }

    #[test]
    fn replay_keeps_the_last_record_and_applies_tombstones() {
        let b1 = build_batch(
            &[
                (key_to_bytes("x"), Some(value_to_bytes(&transit(TxnState::Empty, &[])))),
                (key_to_bytes("x"), Some(value_to_bytes(&transit(TxnState::PrepareCommit, &[("t", 0)])))),
                (key_to_bytes("y"), Some(value_to_bytes(&transit(TxnState::Empty, &[])))),
            ],
            1,
        )
        .unwrap();
        let b2 = build_batch(&[(key_to_bytes("y"), None)], 2).unwrap();
        let mut all = b1.to_vec();
        all.extend_from_slice(&b2);
        let mut m = HashMap::new();
        replay(Bytes::from(all), &mut m).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m["x"].state, TxnState::PrepareCommit);
        assert_eq!(m["x"].partitions.len(), 1);
    }
}
