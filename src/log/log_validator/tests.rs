//! Unit tests of `LogValidator`: the fast path, recompression to every
//! codec, LogAppendTime, the timestamp range, up-conversion of v0/v1 sets,
//! and every refusal.

use super::*;
use crate::protocol::error::{self as ec, ErrorCode};
use crate::protocol::legacy_records::{build_legacy, LegacyWrite};
use crate::protocol::records::{
    batches, legacy_message_for_test, Record, LAST_OFFSET_DELTA_OFFSET, RECORDS_COUNT_OFFSET, RECORD_BATCH_OVERHEAD,
};

const NOW: i64 = 1_700_000_000_000;
const CODECS: [Compression; 5] = [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd];

fn cfg() -> ValidationConfig {
    ValidationConfig {
        now: NOW,
        compression: BrokerCompression::Producer,
        timestamp_type: TimestampType::CreateTime,
        timestamp_difference_max_ms: i64::MAX,
        max_message_bytes: 1 << 20,
        compacted: false,
        origin: AppendOrigin::Client,
    }
}

fn batch_with(c: Compression, n: usize, ts: i64, producer: Option<(i64, i16, i32, bool)>) -> Bytes {
    let mut b = RecordBatchBuilder::new(c);
    if let Some((id, epoch, seq, txn)) = producer {
        b = b.producer(id, epoch, seq).transactional(txn);
    }
    for i in 0..n {
        let v = format!("value-{i}-{}", "x".repeat(i % 50));
        if i % 3 == 0 {
            b.append(ts + i as i64, None, Some(v.as_bytes()), &[]);
        } else {
            b.append(ts + i as i64, Some(format!("k{i}").as_bytes()), Some(v.as_bytes()), &[("h1", Some(b"hv")), ("h2", None)]);
        }
    }
    b.build().unwrap()
}

fn batch(c: Compression, n: usize) -> Bytes {
    batch_with(c, n, NOW - 500, None)
}

/// The records of the single v2 batch of a validated set.
fn only_batch(v: &ValidatedRecords) -> (RecordBatch, Vec<Record>) {
    let mut it = batches(v.to_bytes().freeze());
    let b = it.next().unwrap().unwrap();
    assert!(it.next().is_none());
    assert!(b.is_valid());
    let r = b.records().unwrap();
    (b, r)
}

fn code(r: Result<ValidatedRecords>) -> ErrorCode {
    r.unwrap_err().error_code()
}

#[test]
fn broker_compression_names() {
    assert_eq!(BrokerCompression::from_name("producer"), Some(BrokerCompression::Producer));
    assert_eq!(BrokerCompression::from_name("uncompressed"), Some(BrokerCompression::Codec(Compression::None)));
    assert_eq!(BrokerCompression::from_name("ZSTD"), Some(BrokerCompression::Codec(Compression::Zstd)));
    assert_eq!(BrokerCompression::from_name("none"), None);
    assert_eq!(BrokerCompression::from_name("brotli"), None);
    assert_eq!(BrokerCompression::Producer.target(Compression::Lz4), Compression::Lz4);
    assert_eq!(BrokerCompression::Codec(Compression::Gzip).target(Compression::Lz4), Compression::Gzip);
}

#[test]
fn fast_path_keeps_the_bytes_and_assigns_offsets() {
    for c in CODECS {
        let bytes = batch_with(c, 40, NOW - 500, Some((9, 2, 100, true)));
        let mut v = validate(&bytes, &cfg()).unwrap();
        assert!(!v.rebuilt, "{c:?}");
        assert_eq!(&v.to_bytes()[..], &bytes[..], "{c:?}: no change before offsets");
        // the records are the request's own bytes, not a copy
        assert_eq!(v.body(&v.batches[0]).as_ptr(), bytes[RECORD_BATCH_OVERHEAD..].as_ptr(), "{c:?}");
        assert_eq!(v.total_records, 40);
        assert_eq!(v.max_timestamp, NOW - 500 + 39);
        assert_eq!(v.offset_of_max_timestamp, 39);
        assert_eq!(v.log_append_time, NO_TIMESTAMP);
        let vb = &v.batches[0];
        assert_eq!((vb.producer_id, vb.producer_epoch, vb.base_sequence, vb.is_transactional), (9, 2, 100, true));
        v.assign_offsets(1000, 7);
        let (b, recs) = only_batch(&v);
        assert_eq!(b.base_offset(), 1000);
        assert_eq!(b.partition_leader_epoch(), 7);
        assert_eq!(recs[5].offset, 1005);
    }
}

#[test]
fn wrong_max_timestamp_in_header_is_rewritten() {
    let mut m = batch(Compression::None, 3).to_vec();
    m[records::MAX_TIMESTAMP_OFFSET..records::MAX_TIMESTAMP_OFFSET + 8].copy_from_slice(&5i64.to_be_bytes());
    let crc = records::crc32c(&m[records::ATTRIBUTES_OFFSET..]);
    m[records::CRC_OFFSET..records::CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    let v = validate(&Bytes::from(m), &cfg()).unwrap();
    let (b, _) = only_batch(&v);
    assert_eq!(b.max_timestamp(), NOW - 500 + 2);
}

#[test]
fn recompression_to_every_codec() {
    for source in CODECS {
        for target in CODECS {
            let bytes = batch_with(source, 25, NOW - 100, Some((4, 1, 50, false)));
            let c = ValidationConfig { compression: BrokerCompression::Codec(target), ..cfg() };
            let mut v = validate(&bytes, &c).unwrap();
            assert_eq!(v.rebuilt, source != target, "{source:?} -> {target:?}");
            v.assign_offsets(300, 3);
            let (b, recs) = only_batch(&v);
            assert_eq!(b.compression(), Some(target), "{source:?} -> {target:?}");
            assert_eq!((b.producer_id(), b.producer_epoch(), b.base_sequence()), (4, 1, 50));
            assert_eq!(b.base_offset(), 300);
            assert_eq!(b.partition_leader_epoch(), 3);
            assert_eq!(b.max_timestamp(), NOW - 100 + 24);
            let orig = RecordBatch::parse(bytes.clone()).unwrap().records().unwrap();
            assert_eq!(recs.len(), orig.len());
            for (a, o) in recs.iter().zip(&orig) {
                assert_eq!((a.offset, a.timestamp), (o.offset + 300, o.timestamp));
                assert_eq!((&a.key, &a.value, &a.headers), (&o.key, &o.value, &o.headers));
            }
        }
    }
    // the transactional flag survives a rebuild
    let bytes = batch_with(Compression::Lz4, 3, NOW, Some((4, 1, 0, true)));
    let c = ValidationConfig { compression: BrokerCompression::Codec(Compression::Gzip), ..cfg() };
    let (b, _) = only_batch(&validate(&bytes, &c).unwrap());
    assert!(b.is_transactional());
    // a rebuilt batch over max.message.bytes is refused
    let big = {
        let mut b = RecordBatchBuilder::new(Compression::Gzip);
        for _ in 0..100 {
            b.append(NOW, None, Some(&[b'a'; 1000]), &[]);
        }
        b.build().unwrap()
    };
    let c = ValidationConfig { compression: BrokerCompression::Codec(Compression::None), max_message_bytes: 50_000, ..cfg() };
    assert_eq!(code(validate(&big, &c)), ec::MESSAGE_TOO_LARGE);
}

#[test]
fn log_append_time_stamps_every_path() {
    for (source, target) in [
        (Compression::None, BrokerCompression::Producer),
        (Compression::Snappy, BrokerCompression::Producer),
        (Compression::None, BrokerCompression::Codec(Compression::Gzip)),
    ] {
        let c = ValidationConfig { timestamp_type: TimestampType::LogAppendTime, compression: target, ..cfg() };
        let v = validate(&batch_with(source, 6, 12_345, None), &c).unwrap();
        assert_eq!(v.log_append_time, NOW);
        assert_eq!(v.max_timestamp, NOW);
        assert_eq!(v.offset_of_max_timestamp, 5);
        let (b, recs) = only_batch(&v);
        assert_eq!(b.timestamp_type(), TimestampType::LogAppendTime);
        assert_eq!(b.max_timestamp(), NOW);
        assert!(recs.iter().all(|r| r.timestamp == NOW), "{source:?} {target:?}");
    }
    // A LogAppendTime topic takes any producer timestamp, however old.
    let c = ValidationConfig { timestamp_type: TimestampType::LogAppendTime, timestamp_difference_max_ms: 1000, ..cfg() };
    assert!(validate(&batch_with(Compression::None, 2, 5, None), &c).is_ok());
}

#[test]
fn timestamp_difference_refuses_records_out_of_range() {
    let c = ValidationConfig { timestamp_difference_max_ms: 60_000, ..cfg() };
    for codec in [Compression::None, Compression::Gzip] {
        assert!(validate(&batch_with(codec, 3, NOW - 59_000, None), &c).is_ok());
        assert_eq!(code(validate(&batch_with(codec, 3, NOW - 3_600_000, None), &c)), ec::INVALID_TIMESTAMP);
        assert_eq!(code(validate(&batch_with(codec, 3, NOW + 61_000, None), &c)), ec::INVALID_TIMESTAMP);
    }
    let e = validate(&batch_with(Compression::None, 1, NOW - 3_600_000, None), &c).unwrap_err();
    assert!(e.to_string().contains("out of range"), "{e}");
    // also on the rebuild path
    let c2 = ValidationConfig { compression: BrokerCompression::Codec(Compression::Lz4), ..c };
    assert_eq!(code(validate(&batch_with(Compression::None, 3, NOW - 3_600_000, None), &c2)), ec::INVALID_TIMESTAMP);
    // v0 messages have no timestamp: never out of range
    let v0 = build_legacy(0, Compression::None, TimestampType::CreateTime, -1, &[LegacyWrite { offset: 0, timestamp: -1, key: None, value: Some(b"a") }]).unwrap();
    assert!(validate(&v0, &c).is_ok());
    // a producer may not claim LogAppendTime
    let lat = RecordBatchBuilder::new(Compression::None).log_append_time(NOW);
    let mut lat = lat;
    lat.append(NOW, None, Some(b"x"), &[]);
    assert_eq!(code(validate(&lat.build().unwrap(), &cfg())), ec::INVALID_TIMESTAMP);
}

fn legacy(magic: i8, codec: Compression, n: usize, tt: TimestampType) -> Bytes {
    let vals: Vec<String> = (0..n).map(|i| format!("old-{i}")).collect();
    let keys: Vec<String> = (0..n).map(|i| format!("key-{i}")).collect();
    let w: Vec<LegacyWrite<'_>> = (0..n)
        .map(|i| LegacyWrite {
            offset: i as i64,
            timestamp: NOW - 1000 + i as i64,
            key: (i % 2 == 0).then(|| keys[i].as_bytes()),
            value: Some(vals[i].as_bytes()),
        })
        .collect();
    build_legacy(magic, codec, tt, NOW - 7, &w).unwrap()
}

#[test]
fn up_conversion_of_v0_and_v1() {
    for magic in [0i8, 1] {
        for codec in [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4] {
            for target in [BrokerCompression::Producer, BrokerCompression::Codec(Compression::Zstd)] {
                let set = legacy(magic, codec, 5, TimestampType::CreateTime);
                let c = ValidationConfig { compression: target, ..cfg() };
                let mut v = validate(&set, &c).unwrap();
                assert!(v.rebuilt);
                v.assign_offsets(42, 1);
                let (b, recs) = only_batch(&v);
                assert_eq!(b.magic(), MAGIC_V2);
                assert_eq!(b.compression(), Some(target.target(codec)), "v{magic} {codec:?}");
                assert_eq!(b.producer_id(), -1);
                assert_eq!(b.base_offset(), 42);
                assert_eq!(recs.len(), 5);
                for (i, r) in recs.iter().enumerate() {
                    assert_eq!(r.offset, 42 + i as i64);
                    assert_eq!(r.timestamp, if magic == 0 { -1 } else { NOW - 1000 + i as i64 });
                    assert_eq!(r.value.as_deref(), Some(format!("old-{i}").as_bytes()));
                    assert_eq!(r.key.is_some(), i % 2 == 0);
                    assert!(r.headers.is_empty());
                }
                assert_eq!(v.max_timestamp, if magic == 0 { -1 } else { NOW - 1000 + 4 });
            }
        }
    }
    // LogAppendTime topic: the converted batch carries the broker's time
    let c = ValidationConfig { timestamp_type: TimestampType::LogAppendTime, ..cfg() };
    let (b, recs) = only_batch(&validate(&legacy(1, Compression::Gzip, 3, TimestampType::CreateTime), &c).unwrap());
    assert_eq!(b.timestamp_type(), TimestampType::LogAppendTime);
    assert!(recs.iter().all(|r| r.timestamp == NOW));
    // a v1 producer may not claim LogAppendTime either
    assert_eq!(code(validate(&legacy(1, Compression::None, 2, TimestampType::LogAppendTime), &cfg())), ec::INVALID_TIMESTAMP);
    // the timestamp range applies to v1 records
    let c = ValidationConfig { timestamp_difference_max_ms: 10, ..cfg() };
    assert_eq!(code(validate(&legacy(1, Compression::Gzip, 3, TimestampType::CreateTime), &c)), ec::INVALID_TIMESTAMP);
    // a corrupt legacy message is CORRUPT_MESSAGE, one with zstd INVALID_RECORD
    let mut m = legacy(1, Compression::None, 1, TimestampType::CreateTime).to_vec();
    let n = m.len();
    m[n - 1] ^= 1;
    assert_eq!(code(validate(&Bytes::from(m), &cfg())), ec::CORRUPT_MESSAGE);
    let mut m = legacy(1, Compression::None, 1, TimestampType::CreateTime).to_vec();
    m[17] = 4;
    let crc = crate::protocol::legacy_records::crc32(&m[16..]);
    m[12..16].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(code(validate(&Bytes::from(m), &cfg())), ec::INVALID_RECORD);
    // mixed magics are refused
    let mut m = legacy(1, Compression::None, 1, TimestampType::CreateTime).to_vec();
    m.extend_from_slice(&legacy(0, Compression::None, 1, TimestampType::CreateTime));
    assert_eq!(code(validate(&Bytes::from(m), &cfg())), ec::INVALID_RECORD);
    assert_eq!(code(validate(&legacy_message_for_test(1, 0, b"x").slice(..20), &cfg())), ec::CORRUPT_MESSAGE);
}

#[test]
fn compacted_topics_need_keys() {
    let c = ValidationConfig { compacted: true, ..cfg() };
    assert_eq!(code(validate(&batch(Compression::None, 3), &c)), ec::INVALID_RECORD);
    let mut b = RecordBatchBuilder::new(Compression::Gzip);
    b.append(NOW, Some(b"k"), None, &[]);
    assert!(validate(&b.build().unwrap(), &c).is_ok());
}

#[test]
fn config_from_log_config() {
    let mut lc = LogConfig::default();
    lc.set("compression.type", "lz4").unwrap();
    lc.set("message.timestamp.type", "LogAppendTime").unwrap();
    lc.set("message.timestamp.difference.max.ms", "60000").unwrap();
    lc.set("cleanup.policy", "compact,delete").unwrap();
    assert!(lc.set("compression.type", "brotli").is_err());
    let c = ValidationConfig::new(&lc, 5, AppendOrigin::Client);
    assert_eq!(c.compression, BrokerCompression::Codec(Compression::Lz4));
    assert_eq!(c.timestamp_type, TimestampType::LogAppendTime);
    assert_eq!(c.timestamp_difference_max_ms, 60_000);
    assert!(c.compacted);
}

fn resign(m: &mut [u8]) {
    let crc = records::crc32c(&m[records::ATTRIBUTES_OFFSET..]);
    m[records::CRC_OFFSET..records::CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
}

#[test]
fn validation_errors() {
    let good = batch(Compression::None, 5);
    let check = |m: Vec<u8>, code: ErrorCode| {
        let e = validate(&Bytes::from(m), &cfg()).unwrap_err();
        assert_eq!(e.error_code(), code, "{e}");
    };
    let small = ValidationConfig { max_message_bytes: 50, ..cfg() };
    assert_eq!(validate(&good, &small).unwrap_err().error_code(), ec::MESSAGE_TOO_LARGE);
    // count mismatch
    let mut m = good.to_vec();
    m[RECORDS_COUNT_OFFSET..RECORDS_COUNT_OFFSET + 4].copy_from_slice(&6i32.to_be_bytes());
    resign(&mut m);
    check(m, ec::INVALID_RECORD);
    // lastOffsetDelta and count agree but records do not
    let mut m = good.to_vec();
    m[RECORDS_COUNT_OFFSET..RECORDS_COUNT_OFFSET + 4].copy_from_slice(&4i32.to_be_bytes());
    m[LAST_OFFSET_DELTA_OFFSET..LAST_OFFSET_DELTA_OFFSET + 4].copy_from_slice(&3i32.to_be_bytes());
    resign(&mut m);
    check(m, ec::INVALID_RECORD);
    // offset delta out of sequence: second record's offsetDelta byte (1 -> 3)
    let mut m = good.to_vec();
    let first_len = m[RECORD_BATCH_OVERHEAD] as usize / 2;
    let second = RECORD_BATCH_OVERHEAD + 1 + first_len;
    assert_eq!(m[second + 3], 2);
    m[second + 3] = 6;
    resign(&mut m);
    check(m, ec::INVALID_RECORD);
    // record length inconsistent
    let mut m = good.to_vec();
    m[RECORD_BATCH_OVERHEAD] += 2;
    resign(&mut m);
    check(m, ec::INVALID_RECORD);
    // partial trailing entry, tiny size field
    let mut m = good.to_vec();
    m.truncate(m.len() - 1);
    check(m, ec::CORRUPT_MESSAGE);
    let mut m = good.to_vec();
    m[records::LENGTH_OFFSET..records::LENGTH_OFFSET + 4].copy_from_slice(&3i32.to_be_bytes());
    check(m, ec::CORRUPT_MESSAGE);
    // unknown magic
    let mut m = good.to_vec();
    m[records::MAGIC_OFFSET] = 9;
    check(m, ec::CORRUPT_MESSAGE);
    // unknown codec
    let mut m = good.to_vec();
    m[records::ATTRIBUTES_OFFSET + 1] |= 0x07;
    resign(&mut m);
    check(m, ec::INVALID_RECORD);
    // control batch from a client
    let mut m = good.to_vec();
    m[records::ATTRIBUTES_OFFSET + 1] |= 0x20;
    resign(&mut m);
    check(m, ec::INVALID_RECORD);
    // compressed batch with garbage body
    let mut m = batch(Compression::Gzip, 5).to_vec();
    let n = m.len();
    m[n - 12] ^= 0xff;
    m[n - 13] ^= 0xff;
    resign(&mut m);
    check(m, ec::INVALID_RECORD);
    check(Vec::new(), ec::CORRUPT_MESSAGE);
    // a good batch followed by a bad one: the whole set is refused
    let mut m = good.to_vec();
    let mut bad = good.to_vec();
    bad[40] ^= 1;
    m.extend_from_slice(&bad);
    check(m, ec::CORRUPT_MESSAGE);
    // two compressed batches, or two batches to be compressed
    let mut m = batch(Compression::Gzip, 2).to_vec();
    m.extend_from_slice(&batch(Compression::Gzip, 2));
    check(m, ec::INVALID_RECORD);
    let mut m = good.to_vec();
    m.extend_from_slice(&good);
    let c = ValidationConfig { compression: BrokerCompression::Codec(Compression::Gzip), ..cfg() };
    assert_eq!(code(validate(&Bytes::from(m.clone()), &c)), ec::INVALID_RECORD);
    // two uncompressed v2 batches pass as they are
    let v = validate(&Bytes::from(m), &cfg()).unwrap();
    assert_eq!(v.batches.len(), 2);
    assert_eq!(v.batches[1].relative_offset, 5);
    assert_eq!(v.batches[1].position, good.len());
    // a control batch is fine from the coordinator
    let mut m = good.to_vec();
    m[records::ATTRIBUTES_OFFSET + 1] |= 0x20;
    resign(&mut m);
    let c = ValidationConfig { origin: AppendOrigin::Coordinator, compression: BrokerCompression::Codec(Compression::Gzip), ..cfg() };
    assert!(!validate(&Bytes::from(m), &c).unwrap().rebuilt, "uncompressed control records stay uncompressed");
}

#[test]
fn garbage_never_panics() {
    let sources = [batch(Compression::Zstd, 10), batch(Compression::None, 10), legacy(1, Compression::Gzip, 4, TimestampType::CreateTime), legacy(0, Compression::None, 4, TimestampType::CreateTime)];
    let mut seed = 12345u64;
    for good in sources {
        for _ in 0..300 {
            let mut m = good.to_vec();
            for _ in 0..3 {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let pos = (seed >> 33) as usize % m.len();
                m[pos] = (seed >> 20) as u8;
            }
            let c = ValidationConfig { compression: BrokerCompression::Codec(Compression::Lz4), ..cfg() };
            let _ = validate(&Bytes::from(m.clone()), &cfg());
            let _ = validate(&Bytes::from(m), &c);
        }
    }
}

#[test]
fn compressed_batch_with_wrong_inner_offsets_is_rebuilt() {
    // An uncompressed batch whose second record says offset delta 3 ...
    let mut m = batch(Compression::None, 5).to_vec();
    let first_len = m[RECORD_BATCH_OVERHEAD] as usize / 2;
    let second = RECORD_BATCH_OVERHEAD + 1 + first_len;
    assert_eq!(m[second + 3], 2);
    m[second + 3] = 6;
    resign(&mut m);
    assert_eq!(code(validate(&Bytes::from(m.clone()), &cfg())), ec::INVALID_RECORD);
    // ... and the same records gzip-compressed: Kafka rewrites such batches.
    let body = crate::protocol::compression::compress(Compression::Gzip, &m[RECORD_BATCH_OVERHEAD..]).unwrap();
    let mut z = m[..RECORD_BATCH_OVERHEAD].to_vec();
    z.extend_from_slice(&body);
    let len = (z.len() - LOG_OVERHEAD) as i32;
    z[records::LENGTH_OFFSET..records::LENGTH_OFFSET + 4].copy_from_slice(&len.to_be_bytes());
    z[records::ATTRIBUTES_OFFSET + 1] |= 1;
    resign(&mut z);
    let mut v = validate(&Bytes::from(z), &cfg()).unwrap();
    assert!(v.rebuilt);
    v.assign_offsets(10, 0);
    let (b, recs) = only_batch(&v);
    assert_eq!(b.compression(), Some(Compression::Gzip));
    assert_eq!(recs.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![10, 11, 12, 13, 14]);
}
