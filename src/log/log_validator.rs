//! The leader's validation of appended records (Kafka's `kafka.log.LogValidator`
//! with `Log.analyzeAndValidateRecords`): size and CRC checks, batch and
//! record rules, timestamps (`message.timestamp.type`,
//! `message.timestamp.difference.max.ms`), the topic's `compression.type`
//! (recompression), and the up-conversion of magic v0/v1 message sets to v2
//! batches. A pure function of the bytes, the topic's settings and the
//! clock: it returns v2 batches whose offsets are relative to the first
//! (0, 1, ...), which `Log::append_as_leader` then places at the log end
//! with `assign_offsets` (offset and leader epoch lie outside the CRC).
//!
//! Uncompressed v2 batches that need no change take the fast path: their
//! records' framing is scanned without building records, and the bytes are
//! not copied: each batch is handed to the log as its 61-byte header (a
//! copy, patched: offsets, epoch, and for a LogAppendTime topic or a wrong
//! max timestamp the attributes, max timestamp and CRC) followed by its
//! records, a slice of the request's own buffer (`ValidatedRecords::parts`,
//! written with one `pwritev`).

use crate::log::log_config::LogConfig;
use crate::protocol::compression::Compression;
use crate::protocol::legacy_records::{self, LegacyRecord};
use crate::protocol::records::{
    self, entry_prefix, patch_offset_and_epoch, RecordBatch, RecordBatchBuilder, RecordsError, Result, SimpleRecord,
    TimestampType, LOG_OVERHEAD, MAGIC_V0, MAGIC_V1, MAGIC_V2, NO_TIMESTAMP,
};
use bytes::{Bytes, BytesMut};

/// A v2 batch header (`RECORD_BATCH_OVERHEAD` bytes).
pub type BatchHeader = [u8; records::RECORD_BATCH_OVERHEAD];

/// Where an append comes from (Kafka's `AppendOrigin`): only the
/// coordinator may write control batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendOrigin {
    Client,
    Coordinator,
}

/// A topic's `compression.type` (Kafka's `BrokerCompressionCodec`):
/// `producer` keeps the producer's codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerCompression {
    Producer,
    Codec(Compression),
}

impl BrokerCompression {
    /// `producer`, `uncompressed`, `gzip`, `snappy`, `lz4`, `zstd`.
    pub fn from_name(name: &str) -> Option<BrokerCompression> {
        match name.trim().to_ascii_lowercase().as_str() {
            "producer" => Some(BrokerCompression::Producer),
            "uncompressed" => Some(BrokerCompression::Codec(Compression::None)),
            "gzip" | "snappy" | "lz4" | "zstd" => Compression::from_name(name.trim()).map(BrokerCompression::Codec),
            _ => None,
        }
    }
    /// The codec stored batches get (Kafka's `getTargetCompressionCodec`).
    pub fn target(self, source: Compression) -> Compression {
        match self {
            BrokerCompression::Producer => source,
            BrokerCompression::Codec(c) => c,
        }
    }
}

/// The settings validation depends on, taken from the log's config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidationConfig {
    pub now: i64,
    pub compression: BrokerCompression,
    pub timestamp_type: TimestampType,
    pub timestamp_difference_max_ms: i64,
    pub max_message_bytes: usize,
    /// `cleanup.policy` includes `compact`: every record needs a key.
    pub compacted: bool,
    pub origin: AppendOrigin,
}

impl ValidationConfig {
    pub fn new(config: &LogConfig, now: i64, origin: AppendOrigin) -> ValidationConfig {
        ValidationConfig {
            now,
            // LogConfig refuses other names; an odd one behaves as `producer`.
            compression: BrokerCompression::from_name(&config.compression_type).unwrap_or(BrokerCompression::Producer),
            timestamp_type: config.message_timestamp_type,
            timestamp_difference_max_ms: config.message_timestamp_difference_max_ms,
            max_message_bytes: config.max_message_bytes,
            compacted: config.cleanup_policy.split(',').any(|p| p.trim() == "compact"),
            origin,
        }
    }
}

/// One v2 batch of the validated set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedBatch {
    /// Byte position of the batch within `ValidatedRecords::source`.
    pub position: usize,
    pub size: usize,
    /// The batch's header as it will be written (a patched copy; the
    /// records after it are `source[position + 61..position + size]`).
    pub header: BatchHeader,
    /// First offset of the batch relative to the first of the set.
    pub relative_offset: i64,
    pub records_count: i32,
    pub last_offset_delta: i32,
    /// Largest record timestamp (the append time for LogAppendTime).
    pub max_timestamp: i64,
    /// Offset delta of the record with the largest timestamp.
    pub offset_delta_of_max_timestamp: i32,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub is_transactional: bool,
    pub compression: Compression,
}

/// What `validate` hands to the log (Kafka's `ValidationAndOffsetAssignResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedRecords {
    /// Where the batches' record bytes are: the request's own buffer (fast
    /// path, untouched) or the rebuilt batch. Their headers are in
    /// `batches[i].header`, with base offsets relative to the first until
    /// `assign_offsets`.
    pub source: Bytes,
    pub batches: Vec<ValidatedBatch>,
    pub total_records: i64,
    pub max_timestamp: i64,
    /// Relative offset of the record with `max_timestamp`.
    pub offset_of_max_timestamp: i64,
    /// The broker time stamped into the batches, `NO_TIMESTAMP` for CreateTime.
    pub log_append_time: i64,
    /// The batches were rebuilt (recompressed or up-converted).
    pub rebuilt: bool,
}

impl ValidatedRecords {
    /// Places the validated batches at `first_offset` under `leader_epoch`
    /// (only the headers change).
    pub fn assign_offsets(&mut self, first_offset: i64, leader_epoch: i32) {
        for b in &mut self.batches {
            patch_offset_and_epoch(&mut b.header, first_offset + b.relative_offset, leader_epoch);
        }
    }
    /// Total size of the batches as written.
    pub fn size_in_bytes(&self) -> usize {
        self.batches.iter().map(|b| b.size).sum()
    }
    /// The bytes to write, in order: header, records, header, records, ...
    /// (no copy of the records).
    pub fn parts(&self) -> Vec<&[u8]> {
        let mut parts = Vec::with_capacity(2 * self.batches.len());
        for b in &self.batches {
            parts.push(&b.header[..]);
            parts.push(self.body(b));
        }
        parts
    }
    /// The records of `b` (the bytes after its header).
    pub fn body(&self, b: &ValidatedBatch) -> &[u8] {
        &self.source[b.position + records::RECORD_BATCH_OVERHEAD..b.position + b.size]
    }
    /// The batch `b` as received or rebuilt (header not patched), without a copy.
    pub fn original(&self, b: &ValidatedBatch) -> Bytes {
        self.source.slice(b.position..b.position + b.size)
    }
    /// The batches as written, in one buffer (a copy: for tests and tools).
    pub fn to_bytes(&self) -> BytesMut {
        let mut out = BytesMut::with_capacity(self.size_in_bytes());
        for p in self.parts() {
            out.extend_from_slice(p);
        }
        out
    }
}

/// A copy of the header of `batch` (at least `RECORD_BATCH_OVERHEAD` bytes:
/// `RecordBatch::parse` refuses shorter ones).
fn header_of(batch: &[u8]) -> BatchHeader {
    let mut h = [0u8; records::RECORD_BATCH_OVERHEAD];
    let n = batch.len().min(records::RECORD_BATCH_OVERHEAD);
    h[..n].copy_from_slice(&batch[..n]);
    h
}

fn invalid(s: impl Into<String>) -> RecordsError {
    RecordsError::InvalidRecord(s.into())
}
fn corrupt(s: impl Into<String>) -> RecordsError {
    RecordsError::Corrupt(s.into())
}

/// An entry of the incoming set after the first checks.
enum Entry {
    V2(RecordBatch),
    Legacy(LegacyRecord),
}

impl Entry {
    fn magic(&self) -> i8 {
        match self {
            Entry::V2(_) => MAGIC_V2,
            Entry::Legacy(r) => r.magic(),
        }
    }
    fn codec(&self) -> Result<Compression> {
        match self {
            Entry::V2(b) => b.compression_or_invalid(),
            Entry::Legacy(r) => r.compression().ok_or_else(|| {
                invalid(format!("invalid compression id {} for a magic {} message", r.attributes() & 7, r.magic()))
            }),
        }
    }
}

/// Kafka's `analyzeAndValidateRecords`: whole entries only, each within
/// `max.message.bytes` and with a good CRC.
fn analyze(records: &Bytes, max_message_bytes: usize) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    let mut it = legacy_records::entries(records.clone());
    let mut position = 0usize;
    for e in &mut it {
        let e = e?;
        let size = e.len();
        if size > max_message_bytes {
            return Err(RecordsError::MessageTooLarge { size, max: max_message_bytes });
        }
        let entry = match legacy_records::entry_magic(&e) {
            Some(MAGIC_V0) | Some(MAGIC_V1) => {
                let r = LegacyRecord::parse(e)?;
                r.ensure_valid()?;
                Entry::Legacy(r)
            }
            _ => {
                let b = RecordBatch::parse(e)?;
                b.ensure_valid()?;
                Entry::V2(b)
            }
        };
        out.push(entry);
        position += size;
    }
    if it.remaining() > 0 {
        if let Some((_, size)) = entry_prefix(&records[position..]) {
            let total = LOG_OVERHEAD as i64 + size as i64;
            if total > max_message_bytes as i64 {
                return Err(RecordsError::MessageTooLarge { size: total as usize, max: max_message_bytes });
            }
        }
        return Err(corrupt(format!("{} trailing bytes do not form a whole batch", it.remaining())));
    }
    if out.is_empty() {
        return Err(corrupt("record set holds no batch"));
    }
    Ok(out)
}

/// Kafka's `validateBatch` for a v2 batch.
fn validate_v2_batch(batch: &RecordBatch, origin: AppendOrigin) -> Result<()> {
    if origin == AppendOrigin::Client {
        let count = batch.records_count();
        let lod = batch.last_offset_delta();
        if lod < 0 {
            return Err(invalid(format!("batch has an invalid offset range (lastOffsetDelta {lod})")));
        }
        if count <= 0 {
            return Err(invalid(format!("invalid record count {count}")));
        }
        if lod as i64 + 1 != count as i64 {
            return Err(invalid(format!("lastOffsetDelta {lod} disagrees with record count {count}")));
        }
        if batch.is_control() {
            return Err(invalid("clients may not write control batches"));
        }
        if batch.producer_id() >= 0 && batch.base_sequence() < 0 {
            return Err(invalid(format!(
                "invalid sequence number {} in record batch with producerId {}",
                batch.base_sequence(),
                batch.producer_id()
            )));
        }
    } else if batch.records_count() <= 0 || batch.last_offset_delta() as i64 + 1 != batch.records_count() as i64 {
        return Err(invalid(format!(
            "lastOffsetDelta {} disagrees with record count {}",
            batch.last_offset_delta(),
            batch.records_count()
        )));
    }
    if batch.is_transactional() && batch.producer_id() < 0 {
        return Err(invalid("transactional batch without producer id"));
    }
    Ok(())
}

/// Kafka's `validateTimestamp` (and `validateKey`) for one record. Called
/// for every record of every batch: the checks are inlined into the scan,
/// the refusals (which format messages) are out of line.
#[inline(always)]
fn validate_record(cfg: &ValidationConfig, batch_tt: TimestampType, ts: i64, has_key: bool, offset: i64) -> Result<()> {
    if cfg.compacted && !has_key {
        return Err(no_key());
    }
    if cfg.timestamp_type == TimestampType::CreateTime
        && ts != NO_TIMESTAMP
        && (ts as i128 - cfg.now as i128).abs() > cfg.timestamp_difference_max_ms as i128
    {
        return Err(timestamp_out_of_range(cfg, ts, offset));
    }
    if batch_tt == TimestampType::LogAppendTime {
        return Err(client_log_append_time());
    }
    Ok(())
}

#[cold]
#[inline(never)]
fn no_key() -> RecordsError {
    invalid("Compacted topic cannot accept message without key")
}

#[cold]
#[inline(never)]
fn timestamp_out_of_range(cfg: &ValidationConfig, ts: i64, offset: i64) -> RecordsError {
    let d = cfg.timestamp_difference_max_ms;
    RecordsError::InvalidTimestamp(format!(
        "Timestamp {ts} of message with offset {offset} is out of range. The timestamp should be within [{}, {}]",
        cfg.now.saturating_sub(d),
        cfg.now.saturating_add(d)
    ))
}

#[cold]
#[inline(never)]
fn client_log_append_time() -> RecordsError {
    RecordsError::InvalidTimestamp(
        "Invalid timestamp type in message. Producer should not set timestamp type to LogAppendTime.".into(),
    )
}

/// Validates `records` for an append by the leader and prepares the bytes
/// to write (Kafka's `validateMessagesAndAssignOffsets`, with offsets
/// relative to 0). Nothing is appended if any entry or record fails.
pub fn validate(records: &Bytes, cfg: &ValidationConfig) -> Result<ValidatedRecords> {
    let entries = analyze(records, cfg.max_message_bytes)?;
    let first_magic = entries[0].magic();
    let mut source = Compression::None;
    for e in &entries {
        if e.magic() != first_magic {
            return Err(invalid(format!("batch magic {} is not the same as the first batch's magic {first_magic}", e.magic())));
        }
        let c = e.codec()?;
        if c != Compression::None {
            source = c;
        }
    }
    let target = cfg.compression.target(source);
    if first_magic == MAGIC_V2 && (source != Compression::None || target != Compression::None) && entries.len() > 1 {
        return Err(invalid("Compressed outer record has more than one batch"));
    }
    if first_magic < MAGIC_V2 && source != Compression::None && entries.len() > 1 {
        return Err(invalid("Compressed outer record has more than one batch"));
    }
    let batches: Vec<&RecordBatch> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::V2(b) => Some(b),
            Entry::Legacy(_) => None,
        })
        .collect();
    for b in &batches {
        validate_v2_batch(b, cfg.origin)?;
    }
    // Control batches stay as written (Kafka: no compression of uncompressed control records).
    let in_place = first_magic == MAGIC_V2 && (source == target || (source == Compression::None && batches[0].is_control()));
    // Kafka rebuilds a compressed batch whose inner offsets are not 0, 1, ...
    // (old clients got them wrong) instead of refusing it.
    if in_place {
        if let Some(v) = validate_in_place(records, &batches, cfg)? {
            return Ok(v);
        }
    }
    rebuild(&entries, target, cfg)
}

/// v2 batches written as they came: records scanned, headers fixed up.
/// `None`: a compressed batch whose offset deltas are not 0, 1, ... must be
/// rebuilt (Kafka does that rather than refuse old clients' batches); in an
/// uncompressed batch they are INVALID_RECORD.
fn validate_in_place(records: &Bytes, batches: &[&RecordBatch], cfg: &ValidationConfig) -> Result<Option<ValidatedRecords>> {
    let lat = cfg.timestamp_type == TimestampType::LogAppendTime;
    let mut out = ValidatedRecords {
        source: records.clone(),
        batches: Vec::with_capacity(batches.len()),
        total_records: 0,
        max_timestamp: NO_TIMESTAMP,
        offset_of_max_timestamp: 0,
        log_append_time: if lat { cfg.now } else { NO_TIMESTAMP },
        rebuilt: false,
    };
    let mut position = 0usize;
    let mut relative = 0i64;
    for batch in batches {
        let base_ts = batch.base_timestamp();
        let batch_tt = batch.timestamp_type();
        let mut expected = 0i32;
        let mut max_ts = NO_TIMESTAMP;
        let mut max_delta = 0i32;
        let compressed = batch.compression() != Some(Compression::None);
        let mut sparse = false;
        batch.scan_records(|r| {
            if r.offset_delta != expected {
                if !compressed {
                    return Err(invalid(format!("record offset delta {} where {expected} was expected", r.offset_delta)));
                }
                sparse = true;
            }
            let ts = base_ts.wrapping_add(r.timestamp_delta);
            validate_record(cfg, batch_tt, ts, r.has_key, relative + r.offset_delta as i64)?;
            if ts > max_ts {
                max_ts = ts;
                max_delta = r.offset_delta;
            }
            expected += 1;
            Ok(())
        })?;
        if sparse {
            return Ok(None);
        }
        let size = batch.size_in_bytes();
        let count = batch.records_count();
        let whole = &records[position..position + size];
        let mut header = header_of(whole);
        let body = &whole[header.len().min(whole.len())..];
        if lat {
            records::set_max_timestamp_split(&mut header, body, TimestampType::LogAppendTime, cfg.now);
            max_ts = cfg.now;
            max_delta = count - 1;
        } else if batch.max_timestamp() != max_ts {
            // Kafka rewrites the header's max timestamp with the records' own.
            records::set_max_timestamp_split(&mut header, body, TimestampType::CreateTime, max_ts);
        }
        if max_ts > out.max_timestamp || out.batches.is_empty() {
            out.max_timestamp = max_ts;
            out.offset_of_max_timestamp = relative + max_delta as i64;
        }
        out.batches.push(ValidatedBatch {
            position,
            size,
            header,
            relative_offset: relative,
            records_count: count,
            last_offset_delta: batch.last_offset_delta(),
            max_timestamp: max_ts,
            offset_delta_of_max_timestamp: max_delta,
            producer_id: batch.producer_id(),
            producer_epoch: batch.producer_epoch(),
            base_sequence: batch.base_sequence(),
            is_transactional: batch.is_transactional(),
            compression: batch.compression().unwrap_or(Compression::None),
        });
        out.total_records += count as i64;
        relative += count as i64;
        position += size;
    }
    Ok(Some(out))
}

/// Recompression or up-conversion: every record validated, then one v2
/// batch with the target codec (Kafka's `buildRecordsAndAssignOffsets`),
/// keeping the first batch's producer id, epoch, sequence and
/// transactional flag.
fn rebuild(entries: &[Entry], target: Compression, cfg: &ValidationConfig) -> Result<ValidatedRecords> {
    let lat = cfg.timestamp_type == TimestampType::LogAppendTime;
    let mut recs: Vec<SimpleRecord> = Vec::new();
    let (mut pid, mut epoch, mut seq, mut txn) = (records::NO_PRODUCER_ID, records::NO_PRODUCER_EPOCH, records::NO_SEQUENCE, false);
    for (i, e) in entries.iter().enumerate() {
        match e {
            Entry::V2(b) => {
                if i == 0 {
                    (pid, epoch, seq, txn) = (b.producer_id(), b.producer_epoch(), b.base_sequence(), b.is_transactional());
                }
                let tt = b.timestamp_type();
                // offsets are assigned afresh: the deltas as sent do not matter
                b.for_each_record(|r| {
                    validate_record(cfg, tt, r.timestamp, r.key.is_some(), recs.len() as i64)?;
                    recs.push(SimpleRecord { timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers });
                    Ok(())
                })?;
            }
            Entry::Legacy(m) => {
                let wrapper_tt = m.timestamp_type();
                for r in m.deep_records()? {
                    validate_record(cfg, wrapper_tt, r.timestamp, r.key.is_some(), recs.len() as i64)?;
                    recs.push(SimpleRecord { timestamp: r.timestamp, key: r.key, value: r.value, headers: Vec::new() });
                }
            }
        }
    }
    if recs.is_empty() {
        return Err(invalid("record set holds no record"));
    }
    let mut builder = RecordBatchBuilder::new(target).producer(pid, epoch, seq).transactional(txn);
    if lat {
        builder = builder.log_append_time(cfg.now);
    }
    let (mut max_ts, mut max_delta) = (NO_TIMESTAMP, 0i32);
    for (i, r) in recs.iter().enumerate() {
        if r.timestamp > max_ts {
            max_ts = r.timestamp;
            max_delta = i as i32;
        }
    }
    let count = recs.len() as i32;
    for r in recs {
        builder.append_record(r);
    }
    let bytes = builder.build().map_err(|e| invalid(format!("cannot build the {} batch: {e}", target.name())))?;
    if bytes.len() > cfg.max_message_bytes {
        return Err(RecordsError::MessageTooLarge { size: bytes.len(), max: cfg.max_message_bytes });
    }
    if lat {
        max_ts = cfg.now;
        max_delta = count - 1;
    }
    let size = bytes.len();
    if size < records::RECORD_BATCH_OVERHEAD {
        return Err(invalid(format!("the rebuilt batch has only {size} bytes")));
    }
    Ok(ValidatedRecords {
        batches: vec![ValidatedBatch {
            position: 0,
            size,
            header: header_of(&bytes),
            relative_offset: 0,
            records_count: count,
            last_offset_delta: count - 1,
            max_timestamp: max_ts,
            offset_delta_of_max_timestamp: max_delta,
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: seq,
            is_transactional: txn,
            compression: target,
        }],
        total_records: count as i64,
        max_timestamp: max_ts,
        offset_of_max_timestamp: max_delta as i64,
        log_append_time: if lat { cfg.now } else { NO_TIMESTAMP },
        rebuilt: true,
        source: bytes,
    })
}

#[cfg(test)]
mod tests;
