//! The v2 record-batch format (Kafka's `DefaultRecordBatch`, `DefaultRecord`,
//! `MemoryRecords`, `MemoryRecordsBuilder`): a zero-copy header view over
//! `Bytes`, CRC-32C validation, a splitter for concatenated batches, record
//! decoding (with decompression), an allocation-free scan of the records'
//! framing, and a builder that encodes records. Validation, offset
//! assignment and format conversion are the log's (`log::log_validator`);
//! the v0/v1 formats are in `protocol::legacy_records`.

use crate::protocol::compression::{self, Compression};
use crate::protocol::error::{self as ec, ErrorCode};
use crate::protocol::primitives::{Reader, Writer};
use bytes::Bytes;
use std::fmt;

pub const MAGIC_V0: i8 = 0;
pub const MAGIC_V1: i8 = 1;
pub const MAGIC_V2: i8 = 2;

/// `offset` + `size` prefix every log entry of every magic starts with.
pub const LOG_OVERHEAD: usize = 12;
/// Size of a v2 batch header (everything before the records).
pub const RECORD_BATCH_OVERHEAD: usize = 61;
/// Smallest legal value of the size field of any entry (v0 message overhead).
pub const MIN_ENTRY_SIZE: i32 = 14;

pub const BASE_OFFSET_OFFSET: usize = 0;
pub const LENGTH_OFFSET: usize = 8;
pub const PARTITION_LEADER_EPOCH_OFFSET: usize = 12;
pub const MAGIC_OFFSET: usize = 16;
pub const CRC_OFFSET: usize = 17;
pub const ATTRIBUTES_OFFSET: usize = 21;
pub const LAST_OFFSET_DELTA_OFFSET: usize = 23;
pub const BASE_TIMESTAMP_OFFSET: usize = 27;
pub const MAX_TIMESTAMP_OFFSET: usize = 35;
pub const PRODUCER_ID_OFFSET: usize = 43;
pub const PRODUCER_EPOCH_OFFSET: usize = 51;
pub const BASE_SEQUENCE_OFFSET: usize = 53;
pub const RECORDS_COUNT_OFFSET: usize = 57;

pub const NO_TIMESTAMP: i64 = -1;
pub const NO_PARTITION_LEADER_EPOCH: i32 = -1;
pub const NO_PRODUCER_ID: i64 = -1;
pub const NO_PRODUCER_EPOCH: i16 = -1;
pub const NO_SEQUENCE: i32 = -1;

const COMPRESSION_MASK: i16 = 0x07;
const TIMESTAMP_TYPE_MASK: i16 = 0x08;
const TRANSACTIONAL_MASK: i16 = 0x10;
const CONTROL_MASK: i16 = 0x20;

/// Upper bound on what one compressed batch may expand to.
pub const MAX_DECOMPRESSED_BATCH: usize = 256 * 1024 * 1024;

/// CRC-32C (Castagnoli) as used by v2 batches (Kafka's `Crc32C`), with the
/// CPU's CRC32 instruction (SSE 4.2 on x86-64, the CRC extension on AArch64;
/// detected at run time, with a table fallback elsewhere): every produced
/// and replicated byte passes through it once.
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}

/// Why a record set was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordsError {
    /// Bytes that cannot be a batch: bad sizes, bad CRC (`CORRUPT_MESSAGE`).
    Corrupt(String),
    /// A well-framed batch whose content breaks the rules (`INVALID_RECORD`).
    InvalidRecord(String),
    /// A v0/v1 message set, or an unknown magic (`UNSUPPORTED_FOR_MESSAGE_FORMAT`).
    UnsupportedMagic(i8),
    /// A batch larger than `max.message.bytes` (`MESSAGE_TOO_LARGE`).
    MessageTooLarge { size: usize, max: usize },
    /// A record timestamp out of the allowed range, or a client batch
    /// claiming LogAppendTime (`INVALID_TIMESTAMP`).
    InvalidTimestamp(String),
    /// A codec the requested format cannot carry, e.g. zstd for magic 0/1
    /// (`UNSUPPORTED_COMPRESSION_TYPE`).
    UnsupportedCompression(String),
}

impl RecordsError {
    pub fn error_code(&self) -> ErrorCode {
        match self {
            RecordsError::Corrupt(_) => ec::CORRUPT_MESSAGE,
            RecordsError::InvalidRecord(_) => ec::INVALID_RECORD,
            RecordsError::UnsupportedMagic(_) => ec::UNSUPPORTED_FOR_MESSAGE_FORMAT,
            RecordsError::MessageTooLarge { .. } => ec::MESSAGE_TOO_LARGE,
            RecordsError::InvalidTimestamp(_) => ec::INVALID_TIMESTAMP,
            RecordsError::UnsupportedCompression(_) => ec::UNSUPPORTED_COMPRESSION_TYPE,
        }
    }
}

impl fmt::Display for RecordsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordsError::Corrupt(s) => write!(f, "corrupt record batch: {s}"),
            RecordsError::InvalidRecord(s) => write!(f, "invalid record: {s}"),
            RecordsError::UnsupportedMagic(m) => write!(f, "unsupported message format magic {m}"),
            RecordsError::MessageTooLarge { size, max } => {
                write!(f, "batch of {size} bytes exceeds max.message.bytes {max}")
            }
            RecordsError::InvalidTimestamp(s) => write!(f, "{s}"),
            RecordsError::UnsupportedCompression(s) => write!(f, "{s}"),
        }
    }
}

impl std::error::Error for RecordsError {}

pub type Result<T> = std::result::Result<T, RecordsError>;

fn corrupt(s: impl Into<String>) -> RecordsError {
    RecordsError::Corrupt(s.into())
}
fn invalid(s: impl Into<String>) -> RecordsError {
    RecordsError::InvalidRecord(s.into())
}

/// Bit 3 of the attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    CreateTime,
    LogAppendTime,
}

impl TimestampType {
    pub fn from_name(s: &str) -> Option<TimestampType> {
        match s {
            "CreateTime" => Some(TimestampType::CreateTime),
            "LogAppendTime" => Some(TimestampType::LogAppendTime),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        }
    }
}

fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

/// Reads the 12-byte entry prefix (`baseOffset`, `size`) of any magic, if present.
pub fn entry_prefix(b: &[u8]) -> Option<(i64, i32)> {
    if b.len() < LOG_OVERHEAD {
        return None;
    }
    Some((be_i64(b, BASE_OFFSET_OFFSET), be_i32(b, LENGTH_OFFSET)))
}

/// One v2 record batch: a view over exactly its bytes (header + records).
/// Construction checks only framing (length, magic); `ensure_valid` checks the CRC.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordBatch {
    buf: Bytes,
}

impl fmt::Debug for RecordBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordBatch")
            .field("base_offset", &self.base_offset())
            .field("last_offset", &self.last_offset())
            .field("size", &self.size_in_bytes())
            .field("count", &self.records_count())
            .field("compression", &self.compression())
            .finish()
    }
}

impl RecordBatch {
    /// Wraps the bytes of exactly one v2 batch.
    pub fn parse(buf: Bytes) -> Result<RecordBatch> {
        if buf.len() < LOG_OVERHEAD + 5 {
            return Err(corrupt(format!("{} bytes are too few for a batch", buf.len())));
        }
        let magic = buf[MAGIC_OFFSET] as i8;
        if magic != MAGIC_V2 {
            return Err(if magic == MAGIC_V0 || magic == MAGIC_V1 {
                RecordsError::UnsupportedMagic(magic)
            } else {
                corrupt(format!("unknown magic {magic}"))
            });
        }
        if buf.len() < RECORD_BATCH_OVERHEAD {
            return Err(corrupt(format!("{} bytes are too few for a v2 batch", buf.len())));
        }
        let len = be_i32(&buf, LENGTH_OFFSET);
        if len < 0 || len as usize + LOG_OVERHEAD != buf.len() {
            return Err(corrupt(format!(
                "batchLength {len} disagrees with the {} bytes present",
                buf.len()
            )));
        }
        Ok(RecordBatch { buf })
    }

    pub fn base_offset(&self) -> i64 {
        be_i64(&self.buf, BASE_OFFSET_OFFSET)
    }
    pub fn batch_length(&self) -> i32 {
        be_i32(&self.buf, LENGTH_OFFSET)
    }
    pub fn partition_leader_epoch(&self) -> i32 {
        be_i32(&self.buf, PARTITION_LEADER_EPOCH_OFFSET)
    }
    pub fn magic(&self) -> i8 {
        self.buf[MAGIC_OFFSET] as i8
    }
    pub fn crc(&self) -> u32 {
        be_i32(&self.buf, CRC_OFFSET) as u32
    }
    pub fn attributes(&self) -> i16 {
        be_i16(&self.buf, ATTRIBUTES_OFFSET)
    }
    pub fn last_offset_delta(&self) -> i32 {
        be_i32(&self.buf, LAST_OFFSET_DELTA_OFFSET)
    }
    /// Kafka's `baseTimestamp` ("first timestamp").
    pub fn base_timestamp(&self) -> i64 {
        be_i64(&self.buf, BASE_TIMESTAMP_OFFSET)
    }
    pub fn max_timestamp(&self) -> i64 {
        be_i64(&self.buf, MAX_TIMESTAMP_OFFSET)
    }
    pub fn producer_id(&self) -> i64 {
        be_i64(&self.buf, PRODUCER_ID_OFFSET)
    }
    pub fn producer_epoch(&self) -> i16 {
        be_i16(&self.buf, PRODUCER_EPOCH_OFFSET)
    }
    pub fn base_sequence(&self) -> i32 {
        be_i32(&self.buf, BASE_SEQUENCE_OFFSET)
    }
    pub fn records_count(&self) -> i32 {
        be_i32(&self.buf, RECORDS_COUNT_OFFSET)
    }
    /// `None` for the unused codec ids 5..7.
    pub fn compression(&self) -> Option<Compression> {
        Compression::from_id(self.attributes() & COMPRESSION_MASK)
    }
    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes() & TIMESTAMP_TYPE_MASK != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }
    pub fn is_transactional(&self) -> bool {
        self.attributes() & TRANSACTIONAL_MASK != 0
    }
    pub fn is_control(&self) -> bool {
        self.attributes() & CONTROL_MASK != 0
    }
    pub fn last_offset(&self) -> i64 {
        self.base_offset().wrapping_add(self.last_offset_delta() as i64)
    }
    pub fn next_offset(&self) -> i64 {
        self.last_offset().wrapping_add(1)
    }
    pub fn size_in_bytes(&self) -> usize {
        self.buf.len()
    }
    pub fn as_bytes(&self) -> &Bytes {
        &self.buf
    }
    pub fn into_bytes(self) -> Bytes {
        self.buf
    }

    /// CRC-32C of `attributes` .. end, as it should be stored.
    pub fn compute_crc(&self) -> u32 {
        crc32c(&self.buf[ATTRIBUTES_OFFSET..])
    }
    pub fn is_valid(&self) -> bool {
        self.compute_crc() == self.crc()
    }
    /// `CORRUPT_MESSAGE` unless the stored CRC matches.
    pub fn ensure_valid(&self) -> Result<()> {
        let (stored, computed) = (self.crc(), self.compute_crc());
        if stored != computed {
            return Err(corrupt(format!(
                "CRC mismatch in batch at offset {}: stored {stored:#010x}, computed {computed:#010x}",
                self.base_offset()
            )));
        }
        Ok(())
    }

    /// The records body, decompressed if needed.
    pub fn records_body(&self) -> Result<Bytes> {
        let body = self.buf.slice(RECORD_BATCH_OVERHEAD..);
        match self.compression() {
            None => Err(invalid(format!("unknown compression id {}", self.attributes() & COMPRESSION_MASK))),
            Some(Compression::None) => Ok(body),
            Some(c) => compression::decompress(c, &body, MAX_DECOMPRESSED_BATCH)
                .map(Bytes::from)
                .map_err(|e| invalid(format!("cannot decompress {} batch: {e}", c.name()))),
        }
    }

    /// Decodes every record (zero-copy for uncompressed batches).
    pub fn records(&self) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        self.for_each_record(|r| {
            out.push(r);
            Ok(())
        })?;
        Ok(out)
    }

    /// Decodes records one by one, checking that exactly `recordsCount`
    /// well-formed records fill the body.
    pub fn for_each_record(&self, mut f: impl FnMut(Record) -> Result<()>) -> Result<()> {
        let count = self.records_count();
        let body = self.records_body()?;
        // Smallest possible record is 7 bytes; a count beyond that is a lie.
        if count < 0 || count as usize > body.len() / 7 + 1 {
            return Err(invalid(format!("records count {count} does not fit {} bytes", body.len())));
        }
        let base_offset = self.base_offset();
        let base_ts = self.base_timestamp();
        let append_time = match self.timestamp_type() {
            TimestampType::LogAppendTime => Some(self.max_timestamp()),
            TimestampType::CreateTime => None,
        };
        let mut r = Reader::new(body);
        for _ in 0..count {
            let rec = decode_record(&mut r, base_offset, base_ts, append_time)?;
            f(rec)?;
        }
        if !r.is_empty() {
            return Err(invalid(format!("{} bytes left over after {count} records", r.remaining())));
        }
        Ok(())
    }
}

/// One header of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordHeader {
    pub key: String,
    pub value: Option<Bytes>,
}

/// One decoded record with absolute offset and timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub offset: i64,
    pub offset_delta: i32,
    pub timestamp: i64,
    pub attributes: i8,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<RecordHeader>,
}

fn rec_err(e: crate::protocol::CodecError) -> RecordsError {
    invalid(format!("invalid record structure: {e}"))
}

fn nullable_varbytes(r: &mut Reader) -> Result<Option<Bytes>> {
    let len = r.varint().map_err(rec_err)?;
    if len == -1 {
        return Ok(None);
    }
    if len < -1 {
        return Err(invalid(format!("negative length {len}")));
    }
    r.take(len as usize).map(Some).map_err(rec_err)
}

fn decode_record(r: &mut Reader, base_offset: i64, base_ts: i64, append_time: Option<i64>) -> Result<Record> {
    let len = r.varint().map_err(rec_err)?;
    if len < 0 || len as usize > r.remaining() {
        return Err(invalid(format!("record length {len} exceeds the {} bytes left", r.remaining())));
    }
    let mut rr = Reader::new(r.take(len as usize).map_err(rec_err)?);
    let attributes = rr.i8().map_err(rec_err)?;
    let ts_delta = rr.varlong().map_err(rec_err)?;
    let offset_delta = rr.varint().map_err(rec_err)?;
    let key = nullable_varbytes(&mut rr)?;
    let value = nullable_varbytes(&mut rr)?;
    let n_headers = rr.varint().map_err(rec_err)?;
    // Each header needs at least 2 bytes.
    if n_headers < 0 || n_headers as usize > rr.remaining() / 2 {
        return Err(invalid(format!("invalid header count {n_headers}")));
    }
    let mut headers = Vec::with_capacity(n_headers as usize);
    for _ in 0..n_headers {
        let k = match nullable_varbytes(&mut rr)? {
            Some(k) => String::from_utf8_lossy(&k).into_owned(),
            None => return Err(invalid("null header key")),
        };
        let v = nullable_varbytes(&mut rr)?;
        headers.push(RecordHeader { key: k, value: v });
    }
    if !rr.is_empty() {
        return Err(invalid(format!("record declared {len} bytes but {} were not read", rr.remaining())));
    }
    Ok(Record {
        offset: base_offset.wrapping_add(offset_delta as i64),
        offset_delta,
        timestamp: append_time.unwrap_or_else(|| base_ts.wrapping_add(ts_delta)),
        attributes,
        key,
        value,
        headers,
    })
}

/// Splits concatenated entries into batches. A partial trailing entry ends
/// the iteration cleanly (`remaining()` tells how many bytes were left);
/// a malformed entry yields one error and ends it.
pub struct BatchIter {
    buf: Bytes,
    failed: bool,
}

/// Iterates the batches in `buf`.
pub fn batches(buf: Bytes) -> BatchIter {
    BatchIter { buf, failed: false }
}

impl BatchIter {
    /// Bytes not yet returned (after the end: the partial trailing entry).
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }
}

impl Iterator for BatchIter {
    type Item = Result<RecordBatch>;
    fn next(&mut self) -> Option<Self::Item> {
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
        let entry = self.buf.split_to(total);
        match RecordBatch::parse(entry) {
            Ok(b) => Some(Ok(b)),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Kept here for callers that name it through the codec; it is the log's
/// concept (`crate::log::log_validator::AppendOrigin`).
pub use crate::log::log_validator::AppendOrigin;

/// What the framing scan of one record tells, without copying it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordSummary {
    pub offset_delta: i32,
    pub timestamp_delta: i64,
    pub has_key: bool,
}

fn scan_err(what: &str) -> RecordsError {
    invalid(format!("invalid record structure: {what}"))
}

/// Unsigned LEB128 of at most `N` bytes (5 for a varint, 10 for a varlong)
/// at `*pos` of `b`. The common one-byte value costs one load and one
/// branch; a longer one is read from a fixed `N`-byte window with no
/// per-byte bounds check; only within `N` bytes of the end of `b` does it
/// go byte by byte. Every path accepts and rejects exactly the same bytes.
#[inline(always)]
fn scan_uvarint<const N: usize>(b: &[u8], pos: &mut usize) -> Result<u64> {
    let p = *pos;
    if let Some(&x) = b.get(p) {
        if x < 0x80 {
            *pos = p + 1;
            return Ok(x as u64);
        }
    }
    scan_uvarint_multi::<N>(b, pos)
}

/// `scan_uvarint` past its first byte.
#[inline]
fn scan_uvarint_multi<const N: usize>(b: &[u8], pos: &mut usize) -> Result<u64> {
    let p = *pos;
    if let Some(w) = b.get(p..).and_then(|s| s.first_chunk::<N>()) {
        let mut v = 0u64;
        for (i, &byte) in w.iter().enumerate() {
            v |= ((byte & 0x7f) as u64) << (7 * i);
            if byte < 0x80 {
                *pos = p + i + 1;
                return Ok(v);
            }
        }
        return Err(scan_err("varint too long"));
    }
    scan_uvarint_tail(b, pos, N)
}

/// `scan_uvarint` within `max_bytes` of the end of `b`: byte by byte.
#[cold]
#[inline(never)]
fn scan_uvarint_tail(b: &[u8], pos: &mut usize, max_bytes: usize) -> Result<u64> {
    let mut v = 0u64;
    for i in 0..max_bytes {
        let byte = *b.get(*pos).ok_or_else(|| scan_err("varint runs past the end"))?;
        *pos += 1;
        v |= ((byte & 0x7f) as u64) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(scan_err("varint too long"))
}

/// Zig-zag varint (at most 5 bytes, at most 32 bits of value).
#[inline(always)]
fn scan_varint(b: &[u8], pos: &mut usize) -> Result<i32> {
    let v = scan_uvarint::<5>(b, pos)?;
    if v > u32::MAX as u64 {
        return Err(scan_err("varint too long"));
    }
    let v = v as u32;
    Ok(((v >> 1) as i32) ^ -((v & 1) as i32))
}

/// Zig-zag varlong (at most 10 bytes).
#[inline(always)]
fn scan_varlong(b: &[u8], pos: &mut usize) -> Result<i64> {
    let v = scan_uvarint::<10>(b, pos)?;
    Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
}

/// Skips a nullable varint-length byte field of the record that ends at
/// `b.len()`; true if it was not null. The bytes are passed over by
/// their length, never sliced or copied.
#[inline(always)]
fn scan_skip_bytes(b: &[u8], pos: &mut usize) -> Result<bool> {
    let len = scan_varint(b, pos)?;
    if len == -1 {
        return Ok(false);
    }
    if len < -1 || len as usize > b.len() - *pos {
        return Err(invalid(format!("field length {len} exceeds the record")));
    }
    *pos += len as usize;
    Ok(true)
}

/// Walks the varint framing of `count` records in an uncompressed records
/// body (Kafka's `skipKeyValueIterator`, allocation-free): every record's
/// declared length must be filled exactly by its fields, and the records
/// must fill the body exactly. Key, value and header bytes are skipped by
/// their lengths; a header's key and value are only framed (Kafka's record
/// parsing checks no more of them either). The record's own length bounds
/// every read of its fields (one slice per record, no further bounds
/// checks against the body).
pub fn scan_record_bodies(body: &[u8], count: i32, mut f: impl FnMut(RecordSummary) -> Result<()>) -> Result<()> {
    if count < 0 || count as usize > body.len() / 7 + 1 {
        return Err(invalid(format!("records count {count} does not fit {} bytes", body.len())));
    }
    let mut pos = 0usize;
    for _ in 0..count {
        let len = scan_varint(body, &mut pos)?;
        let left = body.len() - pos;
        if len < 0 || len as usize > left {
            return Err(invalid(format!("record length {len} exceeds the {left} bytes left")));
        }
        if len == 0 {
            return Err(scan_err("empty record"));
        }
        let end = pos + len as usize;
        // The record, from its attributes byte (skipped: Kafka reads it
        // and ignores it) to its end.
        let rec = &body[pos + 1..end];
        let mut p = 0usize;
        let timestamp_delta = scan_varlong(rec, &mut p)?;
        let offset_delta = scan_varint(rec, &mut p)?;
        let has_key = scan_skip_bytes(rec, &mut p)?;
        scan_skip_bytes(rec, &mut p)?;
        let n_headers = scan_varint(rec, &mut p)?;
        if n_headers != 0 {
            scan_headers(rec, &mut p, n_headers)?;
        }
        if p != rec.len() {
            return Err(invalid(format!("record declared {len} bytes but {} were not read", rec.len() - p)));
        }
        pos = end;
        f(RecordSummary { offset_delta, timestamp_delta, has_key })?;
    }
    if pos != body.len() {
        return Err(invalid(format!("{} bytes left over after {count} records", body.len() - pos)));
    }
    Ok(())
}

/// The `n` headers of a record (`rec` ends where the record does): each a
/// non-null key and a nullable value, framed within the record.
#[inline(never)]
fn scan_headers(rec: &[u8], p: &mut usize, n: i32) -> Result<()> {
    // Each header needs at least 2 bytes.
    if n < 0 || n as usize > (rec.len() - *p) / 2 {
        return Err(invalid(format!("invalid header count {n}")));
    }
    for _ in 0..n {
        if !scan_skip_bytes(rec, p)? {
            return Err(invalid("null header key"));
        }
        scan_skip_bytes(rec, p)?;
    }
    Ok(())
}

impl RecordBatch {
    /// Scans the records' framing (decompressing first if the batch is
    /// compressed) without building records; see `scan_record_bodies`.
    pub fn scan_records(&self, f: impl FnMut(RecordSummary) -> Result<()>) -> Result<()> {
        match self.compression() {
            Some(Compression::None) => scan_record_bodies(&self.buf[RECORD_BATCH_OVERHEAD..], self.records_count(), f),
            _ => scan_record_bodies(&self.records_body()?, self.records_count(), f),
        }
    }

    /// The codec, or INVALID_RECORD for the unused ids 5..7.
    pub fn compression_or_invalid(&self) -> Result<Compression> {
        self.compression()
            .ok_or_else(|| invalid(format!("unknown compression id {}", self.attributes() & COMPRESSION_MASK)))
    }
}

/// Writes `baseOffset` and `partitionLeaderEpoch` into a batch header held in
/// `buf` (neither is covered by the CRC). `buf` must hold at least 17 bytes.
pub fn patch_offset_and_epoch(buf: &mut [u8], base_offset: i64, leader_epoch: i32) {
    buf[BASE_OFFSET_OFFSET..BASE_OFFSET_OFFSET + 8].copy_from_slice(&base_offset.to_be_bytes());
    buf[PARTITION_LEADER_EPOCH_OFFSET..PARTITION_LEADER_EPOCH_OFFSET + 4].copy_from_slice(&leader_epoch.to_be_bytes());
}

/// Marks a whole batch in `buf` as LogAppendTime with `now` as its max
/// timestamp and recomputes the CRC (`buf` is exactly one v2 batch).
pub fn set_log_append_time(buf: &mut [u8], now: i64) {
    set_max_timestamp(buf, TimestampType::LogAppendTime, now);
}

/// Sets the timestamp type bit and the max timestamp of the v2 batch that
/// is exactly `buf`, and recomputes its CRC (Kafka's `setMaxTimestamp`).
pub fn set_max_timestamp(buf: &mut [u8], tt: TimestampType, max_ts: i64) {
    if buf.len() < RECORD_BATCH_OVERHEAD {
        return;
    }
    let mut attrs = be_i16(buf, ATTRIBUTES_OFFSET);
    match tt {
        TimestampType::LogAppendTime => attrs |= TIMESTAMP_TYPE_MASK,
        TimestampType::CreateTime => attrs &= !TIMESTAMP_TYPE_MASK,
    }
    buf[ATTRIBUTES_OFFSET..ATTRIBUTES_OFFSET + 2].copy_from_slice(&attrs.to_be_bytes());
    buf[MAX_TIMESTAMP_OFFSET..MAX_TIMESTAMP_OFFSET + 8].copy_from_slice(&max_ts.to_be_bytes());
    let crc = crc32c(&buf[ATTRIBUTES_OFFSET..]);
    buf[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
}

/// `set_log_append_time` for a batch held as its header (`RECORD_BATCH_OVERHEAD`
/// bytes, patched) and the rest (`body`, unchanged): the CRC covers both.
pub fn set_log_append_time_split(header: &mut [u8], body: &[u8], now: i64) {
    set_max_timestamp_split(header, body, TimestampType::LogAppendTime, now);
}

/// `set_max_timestamp` for a batch held as its header (`RECORD_BATCH_OVERHEAD`
/// bytes, patched) and the rest (`body`, unchanged): the CRC covers both.
pub fn set_max_timestamp_split(header: &mut [u8], body: &[u8], tt: TimestampType, max_ts: i64) {
    if header.len() < RECORD_BATCH_OVERHEAD {
        return;
    }
    let mut attrs = be_i16(header, ATTRIBUTES_OFFSET);
    match tt {
        TimestampType::LogAppendTime => attrs |= TIMESTAMP_TYPE_MASK,
        TimestampType::CreateTime => attrs &= !TIMESTAMP_TYPE_MASK,
    }
    header[ATTRIBUTES_OFFSET..ATTRIBUTES_OFFSET + 2].copy_from_slice(&attrs.to_be_bytes());
    header[MAX_TIMESTAMP_OFFSET..MAX_TIMESTAMP_OFFSET + 8].copy_from_slice(&max_ts.to_be_bytes());
    let crc = crc32c::crc32c_append(crc32c(&header[ATTRIBUTES_OFFSET..RECORD_BATCH_OVERHEAD]), body);
    header[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
}

/// A record to be encoded by `RecordBatchBuilder`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleRecord {
    pub timestamp: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<RecordHeader>,
}

/// Encodes records into one v2 batch (Kafka's `MemoryRecordsBuilder`).
#[derive(Debug, Clone)]
pub struct RecordBatchBuilder {
    compression: Compression,
    timestamp_type: TimestampType,
    base_offset: i64,
    partition_leader_epoch: i32,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    transactional: bool,
    control: bool,
    log_append_time: i64,
    records: Vec<SimpleRecord>,
}

impl RecordBatchBuilder {
    pub fn new(compression: Compression) -> Self {
        RecordBatchBuilder {
            compression,
            timestamp_type: TimestampType::CreateTime,
            base_offset: 0,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            base_sequence: NO_SEQUENCE,
            transactional: false,
            control: false,
            log_append_time: NO_TIMESTAMP,
            records: Vec::new(),
        }
    }
    pub fn base_offset(mut self, o: i64) -> Self {
        self.base_offset = o;
        self
    }
    pub fn partition_leader_epoch(mut self, e: i32) -> Self {
        self.partition_leader_epoch = e;
        self
    }
    pub fn producer(mut self, id: i64, epoch: i16, base_sequence: i32) -> Self {
        self.producer_id = id;
        self.producer_epoch = epoch;
        self.base_sequence = base_sequence;
        self
    }
    pub fn transactional(mut self, t: bool) -> Self {
        self.transactional = t;
        self
    }
    pub fn control(mut self, c: bool) -> Self {
        self.control = c;
        self
    }
    /// LogAppendTime batches carry `append_time` as their max timestamp.
    pub fn log_append_time(mut self, append_time: i64) -> Self {
        self.timestamp_type = TimestampType::LogAppendTime;
        self.log_append_time = append_time;
        self
    }

    pub fn append(&mut self, timestamp: i64, key: Option<&[u8]>, value: Option<&[u8]>, headers: &[(&str, Option<&[u8]>)]) {
        self.records.push(SimpleRecord {
            timestamp,
            key: key.map(Bytes::copy_from_slice),
            value: value.map(Bytes::copy_from_slice),
            headers: headers
                .iter()
                .map(|(k, v)| RecordHeader { key: k.to_string(), value: v.map(Bytes::copy_from_slice) })
                .collect(),
        });
    }
    pub fn append_record(&mut self, r: SimpleRecord) {
        self.records.push(r);
    }
    pub fn len(&self) -> usize {
        self.records.len()
    }
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Encodes the batch. Fails on an empty builder or a codec error.
    pub fn build(&self) -> std::io::Result<Bytes> {
        if self.records.is_empty() {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty record batch"));
        }
        let base_ts = self.records[0].timestamp;
        let mut body = Writer::new();
        let mut rec = Writer::new();
        for (i, r) in self.records.iter().enumerate() {
            rec = Writer::with_capacity(rec.len());
            rec.i8(0);
            rec.varlong(r.timestamp.wrapping_sub(base_ts));
            rec.varint(i as i32);
            put_varbytes(&mut rec, r.key.as_deref());
            put_varbytes(&mut rec, r.value.as_deref());
            rec.varint(r.headers.len() as i32);
            for h in &r.headers {
                put_varbytes(&mut rec, Some(h.key.as_bytes()));
                put_varbytes(&mut rec, h.value.as_deref());
            }
            body.varint(rec.len() as i32);
            body.raw(rec.as_slice());
        }
        let body = compression::compress(self.compression, body.as_slice())?;
        let max_ts = match self.timestamp_type {
            TimestampType::LogAppendTime => self.log_append_time,
            TimestampType::CreateTime => self.records.iter().map(|r| r.timestamp).max().unwrap_or(NO_TIMESTAMP),
        };
        let mut attrs = self.compression.id();
        if self.timestamp_type == TimestampType::LogAppendTime {
            attrs |= TIMESTAMP_TYPE_MASK;
        }
        if self.transactional {
            attrs |= TRANSACTIONAL_MASK;
        }
        if self.control {
            attrs |= CONTROL_MASK;
        }
        let mut w = Writer::with_capacity(RECORD_BATCH_OVERHEAD + body.len());
        w.i64(self.base_offset);
        w.i32((RECORD_BATCH_OVERHEAD - LOG_OVERHEAD + body.len()) as i32);
        w.i32(self.partition_leader_epoch);
        w.i8(MAGIC_V2);
        w.u32(0);
        w.i16(attrs);
        w.i32(self.records.len() as i32 - 1);
        w.i64(base_ts);
        w.i64(max_ts);
        w.i64(self.producer_id);
        w.i16(self.producer_epoch);
        w.i32(self.base_sequence);
        w.i32(self.records.len() as i32);
        w.raw(&body);
        let mut buf = w.into_inner();
        let crc = crc32c(&buf[ATTRIBUTES_OFFSET..]);
        buf[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
        Ok(buf.freeze())
    }
}

fn put_varbytes(w: &mut Writer, b: Option<&[u8]>) {
    match b {
        None => w.varint(-1),
        Some(b) => {
            w.varint(b.len() as i32);
            w.raw(b);
        }
    }
}

/// Builds a legacy (magic 0 or 1) single-message entry; used to test that
/// such sets are refused.
pub fn legacy_message_for_test(magic: i8, offset: i64, value: &[u8]) -> Bytes {
    let mut m = Writer::new();
    m.i8(magic);
    m.i8(0);
    if magic == MAGIC_V1 {
        m.i64(0);
    }
    m.i32(-1);
    m.i32(value.len() as i32);
    m.raw(value);
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(m.as_slice());
    let mut w = Writer::new();
    w.i64(offset);
    w.i32(4 + m.len() as i32);
    w.u32(crc);
    w.raw(m.as_slice());
    w.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(c: Compression, n: usize) -> Bytes {
        let mut b = RecordBatchBuilder::new(c).base_offset(0);
        for i in 0..n {
            let v = format!("value-{i}-{}", "x".repeat(i % 50));
            let k = format!("k{i}");
            if i % 3 == 0 {
                b.append(1000 + i as i64, None, Some(v.as_bytes()), &[]);
            } else {
                b.append(1000 + i as i64, Some(k.as_bytes()), Some(v.as_bytes()), &[("h1", Some(b"hv")), ("h2", None)]);
            }
        }
        b.build().unwrap()
    }

    #[test]
    fn round_trip_every_codec() {
        for c in [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd] {
            let bytes = build(c, 40);
            let batch = RecordBatch::parse(bytes.clone()).unwrap();
            assert!(batch.is_valid());
            assert_eq!(batch.compression(), Some(c));
            assert_eq!(batch.records_count(), 40);
            assert_eq!(batch.last_offset_delta(), 39);
            assert_eq!(batch.base_timestamp(), 1000);
            assert_eq!(batch.max_timestamp(), 1039);
            assert_eq!(batch.producer_id(), -1);
            let recs = batch.records().unwrap();
            assert_eq!(recs.len(), 40);
            for (i, r) in recs.iter().enumerate() {
                assert_eq!(r.offset, i as i64);
                assert_eq!(r.timestamp, 1000 + i as i64);
                assert_eq!(r.value.as_deref(), Some(format!("value-{i}-{}", "x".repeat(i % 50)).as_bytes()));
                if i % 3 == 0 {
                    assert!(r.key.is_none());
                    assert!(r.headers.is_empty());
                } else {
                    assert_eq!(r.key.as_deref(), Some(format!("k{i}").as_bytes()));
                    assert_eq!(r.headers.len(), 2);
                    assert_eq!(r.headers[0].value.as_deref(), Some(&b"hv"[..]));
                    assert_eq!(r.headers[1].value, None);
                }
            }
            let mut n = 0;
            batch
                .scan_records(|r| {
                    assert_eq!(r.offset_delta, n);
                    assert_eq!(r.timestamp_delta, n as i64);
                    assert_eq!(r.has_key, n % 3 != 0);
                    n += 1;
                    Ok(())
                })
                .unwrap();
            assert_eq!(n, 40);
        }
    }

    #[test]
    fn crc32c_known_vectors() {
        // The CRC-32C check value and the iSCSI vectors of RFC 3720 B.4.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xFFu8; 32]), 0x62A8_AB43);
        let inc: Vec<u8> = (0u8..32).collect();
        assert_eq!(crc32c(&inc), 0x46DD_794E);
        let dec: Vec<u8> = (0u8..32).rev().collect();
        assert_eq!(crc32c(&dec), 0x113F_DB5C);
        assert_eq!(crc32c(&[]), 0);
    }

    #[test]
    fn crc32c_agrees_with_a_table_implementation() {
        // Every length and alignment the vectorised code paths split on.
        let table = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);
        let data: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for start in 0..9 {
            for len in (0..300).chain([1023, 1024, 1025, 4096, 4991 - start]) {
                let s = &data[start..start + len];
                assert_eq!(crc32c(s), table.checksum(s), "start {start} len {len}");
            }
        }
    }

    #[test]
    fn log_append_time_on_a_split_batch_matches_the_whole_one() {
        let bytes = build(Compression::None, 7);
        let mut whole = bytes.to_vec();
        set_log_append_time(&mut whole, 123_456);
        let mut header = bytes[..RECORD_BATCH_OVERHEAD].to_vec();
        set_log_append_time_split(&mut header, &bytes[RECORD_BATCH_OVERHEAD..], 123_456);
        assert_eq!(&header[..], &whole[..RECORD_BATCH_OVERHEAD]);
        assert!(RecordBatch::parse(Bytes::from(whole)).unwrap().is_valid());
    }

    #[test]
    fn crc_corruption_detected() {
        let bytes = build(Compression::None, 5);
        for pos in [ATTRIBUTES_OFFSET, 30, bytes.len() - 1] {
            let mut m = bytes.to_vec();
            m[pos] ^= 0x40;
            let b = RecordBatch::parse(Bytes::from(m.clone())).unwrap();
            assert_eq!(b.ensure_valid().unwrap_err().error_code(), ec::CORRUPT_MESSAGE);
        }
        // Offset and epoch are outside the CRC.
        let mut m = bytes.to_vec();
        patch_offset_and_epoch(&mut m, 12345, 7);
        let b = RecordBatch::parse(Bytes::from(m)).unwrap();
        assert!(b.is_valid());
        assert_eq!(b.base_offset(), 12345);
        assert_eq!(b.partition_leader_epoch(), 7);
        assert_eq!(b.records().unwrap()[2].offset, 12347);
    }

    #[test]
    fn iterator_stops_on_partial_tail() {
        let a = build(Compression::None, 3);
        let b = build(Compression::Lz4, 4);
        let mut all = a.to_vec();
        all.extend_from_slice(&b);
        all.extend_from_slice(&a[..a.len() - 5]);
        let mut it = batches(Bytes::from(all));
        assert_eq!(it.next().unwrap().unwrap().records_count(), 3);
        assert_eq!(it.next().unwrap().unwrap().records_count(), 4);
        assert!(it.next().is_none());
        assert_eq!(it.remaining(), a.len() - 5);
        let mut it = batches(Bytes::from_static(&[0, 0, 0]));
        assert!(it.next().is_none());
    }

    #[test]
    fn log_append_time_patch() {
        let mut m = build(Compression::Snappy, 3).to_vec();
        set_log_append_time(&mut m, 99_999);
        let b = RecordBatch::parse(Bytes::from(m)).unwrap();
        assert!(b.is_valid());
        assert_eq!(b.timestamp_type(), TimestampType::LogAppendTime);
        assert!(b.records().unwrap().iter().all(|r| r.timestamp == 99_999));
    }

    #[test]
    fn garbage_never_panics() {
        let good = build(Compression::Zstd, 10);
        let mut seed = 12345u64;
        for _ in 0..300 {
            let mut m = good.to_vec();
            for _ in 0..3 {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let pos = (seed >> 33) as usize % m.len();
                m[pos] = (seed >> 20) as u8;
            }
            let bytes = Bytes::from(m);
            for b in batches(bytes.clone()).flatten() {
                let _ = b.records();
            }
            for b in batches(bytes.clone()).flatten() {
                let _ = b.scan_records(|_| Ok(()));
            }
        }
    }
}

#[cfg(test)]
mod scan_tests;
