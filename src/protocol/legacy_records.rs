//! The legacy message formats, magic v0 and v1 (Kafka's `LegacyRecord` and
//! `AbstractLegacyRecordBatch`): reading a message set (one entry per
//! message, or a compressed wrapper message whose value holds the inner
//! messages), writing one (`MemoryRecordsBuilder` for magic < 2), and the
//! down-conversion of v2 batches for old fetchers (`RecordsUtil.downConvert`
//! with `LazyDownConversionRecords`' size rule).
//!
//! Entry layout: `offset int64, size int32, crc uint32 (CRC-32/IEEE of
//! magic..end), magic int8, attributes int8, [timestamp int64 (v1)],
//! key bytes, value bytes` (int32 lengths, -1 = null). Attributes: bits 0-2
//! codec (none, gzip, snappy, lz4), bit 3 LogAppendTime (v1).

use crate::protocol::compression::{self, Compression};
use crate::protocol::primitives::Writer;
use crate::protocol::records::{
    self, entry_prefix, RecordBatch, RecordsError, Result, TimestampType, LOG_OVERHEAD, MAGIC_OFFSET, MAGIC_V0,
    MAGIC_V1, MAGIC_V2, MAX_DECOMPRESSED_BATCH, MIN_ENTRY_SIZE, NO_TIMESTAMP,
};
use bytes::Bytes;

/// crc + magic + attributes + key length + value length.
pub const RECORD_OVERHEAD_V0: usize = 14;
/// v0 plus the timestamp.
pub const RECORD_OVERHEAD_V1: usize = 22;

const CRC_OFFSET: usize = LOG_OVERHEAD;
const ATTRIBUTES_OFFSET: usize = LOG_OVERHEAD + 5;
const TIMESTAMP_OFFSET: usize = LOG_OVERHEAD + 6;
const COMPRESSION_MASK: i8 = 0x07;
const TIMESTAMP_TYPE_MASK: i8 = 0x08;

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// CRC-32 (IEEE) as used by v0/v1 messages.
pub fn crc32(data: &[u8]) -> u32 {
    CRC32.checksum(data)
}

fn corrupt(s: impl Into<String>) -> RecordsError {
    RecordsError::Corrupt(s.into())
}
fn invalid(s: impl Into<String>) -> RecordsError {
    RecordsError::InvalidRecord(s.into())
}

/// The magic byte of the entry at the start of `b` (same position in every format).
pub fn entry_magic(b: &[u8]) -> Option<i8> {
    b.get(MAGIC_OFFSET).map(|m| *m as i8)
}

/// Splits a record set into whole entries of any magic (a partial trailing
/// entry ends the iteration; `remaining()` tells its size).
pub struct EntryIter {
    buf: Bytes,
    failed: bool,
}

pub fn entries(buf: Bytes) -> EntryIter {
    EntryIter { buf, failed: false }
}

impl EntryIter {
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }
}

impl Iterator for EntryIter {
    type Item = Result<Bytes>;
    fn next(&mut self) -> Option<Result<Bytes>> {
        if self.failed {
            return None;
        }
        let (_, size) = entry_prefix(&self.buf)?;
        if size < MIN_ENTRY_SIZE {
            self.failed = true;
            return Some(Err(corrupt(format!("entry size {size} is below the minimum {MIN_ENTRY_SIZE}"))));
        }
        let total = LOG_OVERHEAD + size as usize;
        if self.buf.len() < total {
            return None;
        }
        Some(Ok(self.buf.split_to(total)))
    }
}

/// One v0/v1 message with its log entry prefix: a view over its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct LegacyRecord {
    buf: Bytes,
}

impl std::fmt::Debug for LegacyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegacyRecord")
            .field("offset", &self.offset())
            .field("magic", &self.magic())
            .field("compression", &self.compression())
            .field("timestamp", &self.timestamp())
            .finish()
    }
}

fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

impl LegacyRecord {
    /// Wraps exactly one entry, checking its framing (magic, sizes of key
    /// and value); `ensure_valid` checks the CRC.
    pub fn parse(buf: Bytes) -> Result<LegacyRecord> {
        let magic = entry_magic(&buf).ok_or_else(|| corrupt("entry too short for a message"))?;
        let overhead = match magic {
            MAGIC_V0 => RECORD_OVERHEAD_V0,
            MAGIC_V1 => RECORD_OVERHEAD_V1,
            m => return Err(corrupt(format!("magic {m} is not a legacy message"))),
        };
        if buf.len() < LOG_OVERHEAD + overhead {
            return Err(corrupt(format!("{} bytes are too few for a magic {magic} message", buf.len())));
        }
        let size = be_i32(&buf, 8);
        if size < 0 || size as usize + LOG_OVERHEAD != buf.len() {
            return Err(corrupt(format!("message size {size} disagrees with the {} bytes present", buf.len())));
        }
        let r = LegacyRecord { buf };
        // key and value must fill the message exactly
        let key_at = r.key_size_offset();
        let klen = be_i32(&r.buf, key_at);
        let value_at = match klen {
            -1 => key_at + 4,
            n if n >= 0 => key_at + 4 + n as usize,
            n => return Err(corrupt(format!("invalid key length {n}"))),
        };
        if value_at + 4 > r.buf.len() {
            return Err(corrupt("key overruns the message"));
        }
        let vlen = be_i32(&r.buf, value_at);
        let end = match vlen {
            -1 => value_at + 4,
            n if n >= 0 => value_at + 4 + n as usize,
            n => return Err(corrupt(format!("invalid value length {n}"))),
        };
        if end != r.buf.len() {
            return Err(corrupt(format!("message of {} bytes holds {end} bytes of fields", r.buf.len())));
        }
        Ok(r)
    }

    fn key_size_offset(&self) -> usize {
        if self.magic() == MAGIC_V0 {
            TIMESTAMP_OFFSET
        } else {
            TIMESTAMP_OFFSET + 8
        }
    }
    pub fn offset(&self) -> i64 {
        be_i64(&self.buf, 0)
    }
    pub fn crc(&self) -> u32 {
        be_i32(&self.buf, CRC_OFFSET) as u32
    }
    pub fn magic(&self) -> i8 {
        self.buf[MAGIC_OFFSET] as i8
    }
    pub fn attributes(&self) -> i8 {
        self.buf[ATTRIBUTES_OFFSET] as i8
    }
    /// `None` for codec ids a legacy message cannot carry (zstd and 5..7).
    pub fn compression(&self) -> Option<Compression> {
        match Compression::from_id((self.attributes() & COMPRESSION_MASK) as i16) {
            Some(Compression::Zstd) | None => None,
            c => c,
        }
    }
    pub fn is_compressed(&self) -> bool {
        self.attributes() & COMPRESSION_MASK != 0
    }
    pub fn timestamp_type(&self) -> TimestampType {
        if self.magic() > MAGIC_V0 && self.attributes() & TIMESTAMP_TYPE_MASK != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }
    /// v0 messages have none (`NO_TIMESTAMP`).
    pub fn timestamp(&self) -> i64 {
        if self.magic() == MAGIC_V0 {
            NO_TIMESTAMP
        } else {
            be_i64(&self.buf, TIMESTAMP_OFFSET)
        }
    }
    pub fn key(&self) -> Option<Bytes> {
        let at = self.key_size_offset();
        let n = be_i32(&self.buf, at);
        (n >= 0).then(|| self.buf.slice(at + 4..at + 4 + n as usize))
    }
    pub fn value(&self) -> Option<Bytes> {
        let at = self.key_size_offset();
        let k = be_i32(&self.buf, at).max(0) as usize;
        let vat = at + 4 + k;
        let n = be_i32(&self.buf, vat);
        (n >= 0).then(|| self.buf.slice(vat + 4..vat + 4 + n as usize))
    }
    pub fn size_in_bytes(&self) -> usize {
        self.buf.len()
    }
    pub fn as_bytes(&self) -> &Bytes {
        &self.buf
    }
    pub fn compute_crc(&self) -> u32 {
        crc32(&self.buf[MAGIC_OFFSET..])
    }
    /// `CORRUPT_MESSAGE` unless the stored CRC matches.
    pub fn ensure_valid(&self) -> Result<()> {
        let (stored, computed) = (self.crc(), self.compute_crc());
        if stored != computed {
            return Err(corrupt(format!(
                "message at offset {} is corrupt: stored crc {stored:#010x}, computed {computed:#010x}",
                self.offset()
            )));
        }
        Ok(())
    }

    /// The messages of this entry with absolute offsets and effective
    /// timestamps: itself if uncompressed, else the inner messages of the
    /// wrapper (magic 1 inner offsets are relative to the wrapper's, which
    /// is the last inner offset; a LogAppendTime wrapper's timestamp applies
    /// to all). Inner CRCs and magics are checked; a compressed inner
    /// message is INVALID_RECORD.
    pub fn deep_records(&self) -> Result<Vec<LegacyMessage>> {
        let codec = self.compression().ok_or_else(|| {
            invalid(format!("invalid compression id {} for a magic {} message", self.attributes() & COMPRESSION_MASK, self.magic()))
        })?;
        if codec == Compression::None {
            return Ok(vec![LegacyMessage::of(self, self.offset(), self.timestamp(), self.timestamp_type())]);
        }
        let value = self.value().ok_or_else(|| invalid("compressed message without a value"))?;
        let data = decompress_legacy(codec, self.magic(), &value)?;
        let mut inner = Vec::new();
        let mut it = entries(Bytes::from(data));
        for e in &mut it {
            let rec = LegacyRecord::parse(e?)?;
            rec.ensure_valid()?;
            if rec.magic() != self.magic() {
                return Err(invalid(format!(
                    "inner message magic {} does not match the wrapper's {}",
                    rec.magic(),
                    self.magic()
                )));
            }
            if rec.is_compressed() {
                return Err(invalid("Compressed outer record should not have an inner record with a compression attribute set"));
            }
            inner.push(rec);
        }
        if it.remaining() > 0 {
            return Err(corrupt(format!("{} trailing bytes inside a compressed message", it.remaining())));
        }
        if inner.is_empty() {
            return Err(invalid("compressed message set holds no message"));
        }
        let wrapper_offset = self.offset();
        let log_append = self.magic() == MAGIC_V1 && self.timestamp_type() == TimestampType::LogAppendTime;
        let last_relative = inner.last().map_or(0, |r| r.offset());
        Ok(inner
            .iter()
            .map(|r| {
                let offset = if self.magic() == MAGIC_V1 {
                    wrapper_offset.wrapping_sub(last_relative).wrapping_add(r.offset())
                } else {
                    r.offset()
                };
                let (ts, tt) =
                    if log_append { (self.timestamp(), TimestampType::LogAppendTime) } else { (r.timestamp(), r.timestamp_type()) };
                LegacyMessage::of(r, offset, ts, tt)
            })
            .collect())
    }
}

/// One message of a legacy set after unwrapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyMessage {
    pub magic: i8,
    /// Absolute for magic 0 and uncompressed magic 1; for a magic 1 wrapper
    /// as the producer wrote it (relative + wrapper - last).
    pub offset: i64,
    /// Offset as written inside the wrapper (relative for magic 1).
    pub inner_offset: i64,
    pub timestamp: i64,
    pub timestamp_type: TimestampType,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
}

impl LegacyMessage {
    fn of(r: &LegacyRecord, offset: i64, timestamp: i64, timestamp_type: TimestampType) -> LegacyMessage {
        LegacyMessage {
            magic: r.magic(),
            offset,
            inner_offset: r.offset(),
            timestamp,
            timestamp_type,
            key: r.key(),
            value: r.value(),
        }
    }
}

// ---------------------------------------------------------------- LZ4 frame header check byte

const P1: u32 = 2_654_435_761;
const P2: u32 = 2_246_822_519;
const P3: u32 = 3_266_489_917;
const P4: u32 = 668_265_263;
const P5: u32 = 374_761_393;

/// xxHash32 (seed 0) of a short input, as the LZ4 frame header check uses.
fn xxh32_short(data: &[u8]) -> u32 {
    debug_assert!(data.len() < 16);
    let mut h = P5.wrapping_add(data.len() as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        h = h.wrapping_add(k.wrapping_mul(P3)).rotate_left(17).wrapping_mul(P4);
    }
    for &b in chunks.remainder() {
        h = h.wrapping_add((b as u32).wrapping_mul(P5)).rotate_left(11).wrapping_mul(P1);
    }
    h ^= h >> 15;
    h = h.wrapping_mul(P2);
    h ^= h >> 13;
    h = h.wrapping_mul(P3);
    h ^= h >> 16;
    h
}

/// Rewrites the header check byte of an LZ4 frame: `broken` computes it the
/// way Kafka's magic-0 writer did (over the magic number too).
fn set_lz4_header_checksum(frame: &mut [u8], broken: bool) {
    if frame.len() < 7 {
        return;
    }
    let flg = frame[4];
    let desc_end = 6 + if flg & 0x08 != 0 { 8 } else { 0 } + if flg & 0x01 != 0 { 4 } else { 0 };
    if frame.len() <= desc_end {
        return;
    }
    let from = if broken { 0 } else { 4 };
    frame[desc_end] = (xxh32_short(&frame[from..desc_end]) >> 8) as u8;
}

fn decompress_legacy(codec: Compression, magic: i8, data: &[u8]) -> Result<Vec<u8>> {
    let fixed;
    let input = if codec == Compression::Lz4 && magic == MAGIC_V0 {
        // Old clients wrote a wrong header check byte for magic 0; Kafka ignores it.
        let mut v = data.to_vec();
        set_lz4_header_checksum(&mut v, false);
        fixed = v;
        &fixed[..]
    } else {
        data
    };
    compression::decompress(codec, input, MAX_DECOMPRESSED_BATCH)
        .map_err(|e| invalid(format!("cannot decompress {} message set: {e}", codec.name())))
}

// ---------------------------------------------------------------- writing

/// One message to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyWrite<'a> {
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
}

fn put_bytes(w: &mut Writer, b: Option<&[u8]>) {
    match b {
        None => w.i32(-1),
        Some(b) => {
            w.i32(b.len() as i32);
            w.raw(b);
        }
    }
}

/// Appends one entry (offset, size, crc, message) to `w`.
pub fn write_message(w: &mut Writer, magic: i8, attributes: i8, offset: i64, timestamp: i64, key: Option<&[u8]>, value: Option<&[u8]>) {
    let mut m = Writer::with_capacity(RECORD_OVERHEAD_V1 + key.map_or(0, |k| k.len()) + value.map_or(0, |v| v.len()));
    m.i8(magic);
    m.i8(attributes);
    if magic > MAGIC_V0 {
        m.i64(timestamp);
    }
    put_bytes(&mut m, key);
    put_bytes(&mut m, value);
    w.i64(offset);
    w.i32(4 + m.len() as i32);
    w.u32(crc32(m.as_slice()));
    w.raw(m.as_slice());
}

/// Builds a legacy message set (Kafka's `MemoryRecordsBuilder` for magic 0
/// or 1): one entry per message when uncompressed, else one wrapper whose
/// offset is the last message's and whose value is the compressed inner
/// set (magic 1: inner offsets relative, 0..n-1; magic 0: absolute). For
/// magic 1 with LogAppendTime every message carries `log_append_time`.
pub fn build_legacy(
    magic: i8,
    codec: Compression,
    timestamp_type: TimestampType,
    log_append_time: i64,
    msgs: &[LegacyWrite<'_>],
) -> Result<Bytes> {
    if magic != MAGIC_V0 && magic != MAGIC_V1 {
        return Err(corrupt(format!("magic {magic} is not a legacy format")));
    }
    if codec == Compression::Zstd {
        return Err(RecordsError::UnsupportedCompression(format!("zstd cannot be written with magic {magic}")));
    }
    let lat = magic == MAGIC_V1 && timestamp_type == TimestampType::LogAppendTime;
    let ts_attr = if lat { TIMESTAMP_TYPE_MASK } else { 0 };
    let ts = |m: &LegacyWrite<'_>| if lat { log_append_time } else { m.timestamp };
    let mut out = Writer::new();
    if codec == Compression::None {
        for m in msgs {
            write_message(&mut out, magic, ts_attr, m.offset, ts(m), m.key, m.value);
        }
        return Ok(out.into_bytes());
    }
    let Some(last) = msgs.last() else { return Ok(Bytes::new()) };
    let mut inner = Writer::new();
    for (i, m) in msgs.iter().enumerate() {
        let off = if magic == MAGIC_V1 { i as i64 } else { m.offset };
        write_message(&mut inner, magic, ts_attr, off, ts(m), m.key, m.value);
    }
    let mut z = compression::compress(codec, inner.as_slice()).map_err(|e| invalid(format!("cannot compress: {e}")))?;
    if codec == Compression::Lz4 && magic == MAGIC_V0 {
        set_lz4_header_checksum(&mut z, true);
    }
    let wrapper_ts = if lat { log_append_time } else { msgs.iter().map(|m| m.timestamp).max().unwrap_or(NO_TIMESTAMP) };
    write_message(&mut out, magic, codec.id() as i8 | ts_attr, last.offset, wrapper_ts, None, Some(&z));
    Ok(out.into_bytes())
}

// ---------------------------------------------------------------- down-conversion

/// Converts fetched v2 batches for a fetcher that reads only `to_magic` 0 or
/// 1 (Kafka's `RecordsUtil.downConvert`): each batch becomes messages of the
/// same codec (one wrapper if compressed), headers dropped, control batches
/// skipped, uncompressed records below `first_offset` dropped; entries
/// already at or below `to_magic` pass unchanged. As Kafka's
/// `LazyDownConversionRecords`, the result is cut at the larger of the
/// original size and the first converted batch, so a partial trailing
/// message may end it. A zstd batch cannot be converted: the error if it is
/// the first, else the conversion stops before it.
pub fn down_convert(records: &Bytes, to_magic: i8, first_offset: i64) -> Result<Bytes> {
    let mut out = Writer::with_capacity(records.len());
    let mut first_converted: Option<usize> = None;
    for e in entries(records.clone()) {
        let Ok(e) = e else { break };
        let before = out.len();
        let magic = entry_magic(&e).unwrap_or(MAGIC_V2);
        if magic <= to_magic {
            out.raw(&e);
        } else if magic == MAGIC_V2 {
            let batch = RecordBatch::parse(e)?;
            if batch.is_control() {
                continue;
            }
            let codec = batch.compression().ok_or_else(|| invalid("unknown compression id"))?;
            if codec == Compression::Zstd {
                if first_converted.is_none() && out.is_empty() {
                    return Err(RecordsError::UnsupportedCompression(
                        "zstd batches cannot be down-converted to magic 0/1".into(),
                    ));
                }
                break;
            }
            let recs = batch.records()?;
            let keep: Vec<&records::Record> =
                recs.iter().filter(|r| codec != Compression::None || r.offset >= first_offset).collect();
            if keep.is_empty() {
                continue;
            }
            let msgs: Vec<LegacyWrite<'_>> = keep
                .iter()
                .map(|r| LegacyWrite { offset: r.offset, timestamp: r.timestamp, key: r.key.as_deref(), value: r.value.as_deref() })
                .collect();
            let lat = if batch.timestamp_type() == TimestampType::LogAppendTime { batch.max_timestamp() } else { NO_TIMESTAMP };
            let converted = build_legacy(to_magic, codec, batch.timestamp_type(), lat, &msgs)?;
            out.raw(&converted);
        } else {
            // a v1 entry for a v0 fetcher
            let rec = LegacyRecord::parse(e)?;
            let codec = rec.compression().ok_or_else(|| invalid("unknown compression id"))?;
            let deep = rec.deep_records()?;
            let msgs: Vec<LegacyWrite<'_>> = deep
                .iter()
                .filter(|m| codec != Compression::None || m.offset >= first_offset)
                .map(|m| LegacyWrite { offset: m.offset, timestamp: m.timestamp, key: m.key.as_deref(), value: m.value.as_deref() })
                .collect();
            out.raw(&build_legacy(to_magic, codec, TimestampType::CreateTime, NO_TIMESTAMP, &msgs)?);
        }
        if first_converted.is_none() {
            first_converted = Some(out.len() - before);
        }
    }
    let limit = records.len().max(first_converted.unwrap_or(0));
    let mut b = out.into_bytes();
    b.truncate(limit);
    Ok(b)
}

/// True if every entry in `records` is at most `magic` (Kafka's `hasCompatibleMagic`).
pub fn has_compatible_magic(records: &Bytes, magic: i8) -> bool {
    entries(records.clone()).all(|e| e.map_or(true, |e| entry_magic(&e).is_some_and(|m| m <= magic)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::records::RecordBatchBuilder;

    type Msg = (i64, i64, Option<Vec<u8>>, Option<Vec<u8>>);

    fn msgs(n: usize) -> Vec<Msg> {
        (0..n)
            .map(|i| {
                let k = if i % 2 == 0 { Some(format!("k{i}").into_bytes()) } else { None };
                (i as i64, 1_000 + i as i64, k, Some(format!("v{i}-{}", "z".repeat(i)).into_bytes()))
            })
            .collect()
    }

    fn build(magic: i8, codec: Compression, base: i64, n: usize) -> Bytes {
        let m = msgs(n);
        let w: Vec<LegacyWrite<'_>> = m
            .iter()
            .map(|(o, t, k, v)| LegacyWrite { offset: base + o, timestamp: *t, key: k.as_deref(), value: v.as_deref() })
            .collect();
        build_legacy(magic, codec, TimestampType::CreateTime, -1, &w).unwrap()
    }

    #[test]
    fn xxh32_known_values() {
        // reference values of xxHash32 with seed 0
        assert_eq!(xxh32_short(b""), 0x02CC5D05);
        assert_eq!(xxh32_short(b"a"), 0x550D7456);
        assert_eq!(xxh32_short(b"abc"), 0x32D153FF);
    }

    #[test]
    fn round_trip_every_magic_and_codec() {
        for magic in [MAGIC_V0, MAGIC_V1] {
            for codec in [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4] {
                let set = build(magic, codec, 100, 7);
                let mut got = Vec::new();
                for e in entries(set.clone()) {
                    let r = LegacyRecord::parse(e.unwrap()).unwrap();
                    r.ensure_valid().unwrap();
                    assert_eq!(r.magic(), magic);
                    got.extend(r.deep_records().unwrap());
                }
                assert_eq!(got.len(), 7, "{magic} {codec:?}");
                for (i, (m, (o, t, k, v))) in got.iter().zip(msgs(7)).enumerate() {
                    assert_eq!(m.offset, 100 + o, "{magic} {codec:?} {i}");
                    assert_eq!(m.timestamp, if magic == MAGIC_V0 { -1 } else { t });
                    assert_eq!(m.key.as_deref(), k.as_deref());
                    assert_eq!(m.value.as_deref(), v.as_deref());
                }
            }
        }
        assert!(build_legacy(1, Compression::Zstd, TimestampType::CreateTime, -1, &[]).is_err());
    }

    #[test]
    fn corruption_and_bad_framing() {
        let set = build(MAGIC_V1, Compression::None, 0, 1);
        let mut m = set.to_vec();
        let n = m.len();
        m[n - 1] ^= 1;
        let r = LegacyRecord::parse(Bytes::from(m)).unwrap();
        assert!(r.ensure_valid().is_err());
        let mut m = set.to_vec();
        let n = m.len();
        m[n - 5] = 0x7f; // value length too large
        assert!(LegacyRecord::parse(Bytes::from(m)).is_err());
        assert!(LegacyRecord::parse(set.slice(..20)).is_err());
        // garbage never panics
        let good = build(MAGIC_V1, Compression::Gzip, 0, 5);
        let mut seed = 7u64;
        for _ in 0..300 {
            let mut m = good.to_vec();
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let pos = (seed >> 33) as usize % m.len();
            m[pos] = (seed >> 20) as u8;
            for e in entries(Bytes::from(m)).flatten() {
                if let Ok(r) = LegacyRecord::parse(e) {
                    let _ = r.deep_records();
                }
            }
        }
    }

    fn v2(codec: Compression, base: i64, n: usize, lat: Option<i64>) -> Bytes {
        let mut b = RecordBatchBuilder::new(codec).base_offset(base);
        if let Some(t) = lat {
            b = b.log_append_time(t);
        }
        for i in 0..n {
            b.append(5_000 + i as i64, Some(format!("k{i}").as_bytes()), Some(format!("v{i}").as_bytes()), &[("h", Some(b"x"))]);
        }
        b.build().unwrap()
    }

    #[test]
    fn down_conversion_round_trips() {
        for codec in [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4] {
            for magic in [MAGIC_V0, MAGIC_V1] {
                let mut src = v2(codec, 10, 4, None).to_vec();
                src.extend_from_slice(&v2(codec, 14, 3, Some(77_777)));
                let all = Bytes::from(src);
                // a consumer loop: what is cut off at the size limit is fetched next time
                let mut next = 11i64;
                let mut got: Vec<LegacyMessage> = Vec::new();
                while next < 17 {
                    let src: Vec<u8> = crate::protocol::records::batches(all.clone())
                        .map(|b| b.unwrap())
                        .filter(|b| b.last_offset() >= next)
                        .flat_map(|b| b.as_bytes().to_vec())
                        .collect();
                    let src = Bytes::from(src);
                    let out = down_convert(&src, magic, next).unwrap();
                    assert!(has_compatible_magic(&out, magic));
                    let before = got.len();
                    for e in entries(out.clone()) {
                        let r = LegacyRecord::parse(e.unwrap()).unwrap();
                        r.ensure_valid().unwrap();
                        assert_eq!(r.compression(), Some(codec));
                        for m in r.deep_records().unwrap() {
                            if got.last().is_none_or(|l| m.offset > l.offset) {
                                got.push(m);
                            }
                        }
                    }
                    assert!(got.len() > before, "progress");
                    next = got.last().unwrap().offset + 1;
                }
                // uncompressed records below the fetch offset are dropped
                let first = if codec == Compression::None { 11 } else { 10 };
                assert_eq!(got.iter().map(|m| m.offset).collect::<Vec<_>>(), (first..17).collect::<Vec<_>>(), "{codec:?} v{magic}");
                for m in &got {
                    let i = if m.offset < 14 { m.offset - 10 } else { m.offset - 14 };
                    assert_eq!(m.value.as_deref(), Some(format!("v{i}").as_bytes()));
                    let want_ts = match (magic, m.offset < 14) {
                        (MAGIC_V0, _) => -1,
                        (_, true) => 5_000 + i,
                        (_, false) => 77_777,
                    };
                    assert_eq!(m.timestamp, want_ts, "{codec:?} v{magic} {}", m.offset);
                }
            }
        }
        // zstd cannot be converted
        let e = down_convert(&v2(Compression::Zstd, 0, 2, None), 1, 0).unwrap_err();
        assert_eq!(e.error_code(), crate::protocol::error::UNSUPPORTED_COMPRESSION_TYPE);
        // a partial trailing batch (as a fetch may end) is fine
        let mut src = v2(Compression::None, 0, 3, None).to_vec();
        let tail = v2(Compression::None, 3, 3, None);
        src.extend_from_slice(&tail[..tail.len() - 4]);
        let out = down_convert(&Bytes::from(src.clone()), 1, 0).unwrap();
        assert_eq!(entries(out).count(), 3);
    }

    #[test]
    fn magic0_lz4_broken_checksum_is_read() {
        let set = build(MAGIC_V0, Compression::Lz4, 0, 3);
        let r = LegacyRecord::parse(entries(set).next().unwrap().unwrap()).unwrap();
        // the broken byte is not what a standard frame would hold
        let v = r.value().unwrap();
        assert!(compression::decompress(Compression::Lz4, &v, 1 << 20).is_err());
        assert_eq!(r.deep_records().unwrap().len(), 3);
    }
}
