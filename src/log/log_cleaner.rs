//! Log compaction (Kafka's `LogCleaner`, `Cleaner`, `SkimpyOffsetMap` and
//! `Throttler`): `log.cleaner.threads` threads each repeatedly take the
//! filthiest compacted log from the `LogCleanerManager`, build a key ->
//! latest-offset map over its dirty section (bounded by
//! `log.cleaner.dedupe.buffer.size`), then rewrite the log from its start up
//! to the end of what the map covers, a group of segments at a time
//! (`groupSegmentsBySize`), keeping each key's latest record at its
//! original offset, dropping tombstones once `delete.retention.ms` has
//! passed, dropping the records of aborted transactions and, once
//! `delete.retention.ms` has passed too, the COMMIT/ABORT markers of
//! transactions with no batch left (`CleanedTransactionMetadata`, which also
//! says which aborted transactions the cleaned `.txnindex` keeps), keeping
//! the last batch of every active producer (emptied if need be) so
//! idempotent producers keep their sequence state, decompressing and
//! recompressing batches with their own codec. Output goes to
//! `<base>.log.cleaned`, is fsynced and swapped in under the log's lock
//! (`Log::replace_segments`); I/O is throttled by
//! `log.cleaner.io.max.bytes.per.second`. Each clean is logged with Kafka's
//! statistics lines ("Log cleaner thread 0 cleaned log ...").
//!
//! The per-record and per-batch decisions (`should_retain_record`,
//! `filter_batch`, and the transaction rules in
//! `cleaned_transaction_metadata.rs`) and the offset map are pure and
//! unit-tested; file effects live in `Cleaner`.

use crate::common::{now_ms, TopicPartition};
use crate::log::cleaned_transaction_metadata::{check_batch_retention, BatchFacts, CleanedTransactionMetadata};
use crate::config::KafkaConfig;
use crate::log::errors::{LogError, LogResult};
use crate::log::log::{CleanerSegment, CleanerView, Log, CLEANED_FILE_SUFFIX};
use crate::log::log_cleaner_manager::{group_segments_by_size, segments_in_range, GroupingInput, LogCleanerManager, LogToClean};
use crate::log::log_manager::LogManager;
use crate::log::log_segment::{LogSegment, INDEX_FILE_SUFFIX, LOG_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX};
use crate::log::segment_file_name;
use crate::log::transaction_index::TXN_INDEX_FILE_SUFFIX;
use crate::protocol::compression;
use crate::protocol::records::{
    self, RecordBatch, LOG_OVERHEAD, MAGIC_V2, MIN_ENTRY_SIZE, NO_TIMESTAMP, RECORD_BATCH_OVERHEAD,
};
use bytes::Bytes;
use std::fs::File;
use std::hash::Hasher;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

// ------------------------------------------------------------------ config

/// The broker's `log.cleaner.*` settings (Kafka's `CleanerConfig`).
#[derive(Debug, Clone, PartialEq)]
pub struct CleanerConfig {
    pub num_threads: usize,
    pub dedupe_buffer_size: u64,
    pub dedupe_buffer_load_factor: f64,
    pub io_buffer_size: usize,
    pub max_message_size: usize,
    pub max_io_bytes_per_second: f64,
    pub backoff_ms: u64,
    pub enable_cleaner: bool,
}

impl Default for CleanerConfig {
    fn default() -> Self {
        CleanerConfig {
            num_threads: 1,
            dedupe_buffer_size: 128 * 1024 * 1024,
            dedupe_buffer_load_factor: 0.9,
            io_buffer_size: 512 * 1024,
            max_message_size: 1024 * 1024 + 12,
            max_io_bytes_per_second: f64::MAX,
            backoff_ms: 15_000,
            enable_cleaner: true,
        }
    }
}

impl CleanerConfig {
    /// Kafka's `LogCleaner.cleanerConfig`, with its validation of the keys.
    pub fn from_kafka_config(c: &KafkaConfig) -> Result<CleanerConfig, String> {
        fn num<T: std::str::FromStr>(c: &KafkaConfig, key: &str) -> Result<T, String> {
            let v = c.get(key).unwrap_or_default();
            v.trim().parse::<T>().map_err(|_| format!("Invalid value {v} for configuration {key}"))
        }
        let threads: i64 = num(c, "log.cleaner.threads")?;
        if threads < 0 {
            return Err(format!("Invalid value {threads} for configuration log.cleaner.threads: Value must be at least 0"));
        }
        let dedupe: i64 = num(c, "log.cleaner.dedupe.buffer.size")?;
        let load: f64 = num(c, "log.cleaner.io.buffer.load.factor")?;
        let io: i64 = num(c, "log.cleaner.io.buffer.size")?;
        if io < 0 {
            return Err(format!("Invalid value {io} for configuration log.cleaner.io.buffer.size: Value must be at least 0"));
        }
        let rate: f64 = num(c, "log.cleaner.io.max.bytes.per.second")?;
        let backoff: i64 = num(c, "log.cleaner.backoff.ms")?;
        if backoff < 0 {
            return Err(format!("Invalid value {backoff} for configuration log.cleaner.backoff.ms: Value must be at least 0"));
        }
        let enable: bool = num(c, "log.cleaner.enable")?;
        let cfg = CleanerConfig {
            num_threads: threads as usize,
            dedupe_buffer_size: dedupe.max(0) as u64,
            dedupe_buffer_load_factor: load,
            io_buffer_size: io as usize,
            max_message_size: c.message_max_bytes.max(0) as usize,
            max_io_bytes_per_second: if rate > 0.0 { rate } else { f64::MAX },
            backoff_ms: backoff as u64,
            enable_cleaner: enable,
        };
        if cfg.enable_cleaner && cfg.num_threads > 0 && cfg.slots_per_thread() as f64 * cfg.dedupe_buffer_load_factor <= 1.0 {
            return Err("offset map is too small to fit in even a single message, so log cleaning will never make progress. \
                        You can increase log.cleaner.dedupe.buffer.size or decrease log.cleaner.threads"
                .into());
        }
        Ok(cfg)
    }

    /// Offset-map entries each thread may use (Kafka caps a thread's map at 2 GiB).
    pub fn slots_per_thread(&self) -> usize {
        let per_thread = (self.dedupe_buffer_size / self.num_threads.max(1) as u64).min(i32::MAX as u64);
        per_thread as usize / OffsetMap::BYTES_PER_ENTRY
    }
}

// -------------------------------------------------------------- offset map

/// Kafka's `SkimpyOffsetMap`: key -> latest offset, storing a 128-bit hash
/// of each key instead of the key (24 bytes an entry), open addressing with
/// linear probing. It starts small and doubles up to the slots its memory
/// budget allows, so small logs do not touch the whole dedupe buffer.
pub struct OffsetMap {
    /// (hash hi, hash lo, offset); offset -1 marks a free slot.
    table: Vec<(u64, u64, i64)>,
    max_slots: usize,
    entries: usize,
    latest_offset: i64,
}

impl OffsetMap {
    pub const BYTES_PER_ENTRY: usize = 24;

    pub fn new(max_slots: usize) -> OffsetMap {
        let max_slots = max_slots.max(2);
        OffsetMap { table: vec![(0, 0, -1); max_slots.min(1024)], max_slots, entries: 0, latest_offset: -1 }
    }

    fn hash(key: &[u8]) -> (u64, u64) {
        let mut a = std::collections::hash_map::DefaultHasher::new();
        a.write(key);
        let mut b = std::collections::hash_map::DefaultHasher::new();
        b.write_u8(0x5a);
        b.write(key);
        (a.finish(), b.finish())
    }

    fn slot_of(h: u64, cap: usize) -> usize {
        ((h as u128 * cap as u128) >> 64) as usize
    }

    fn find(&self, h: (u64, u64)) -> usize {
        let cap = self.table.len();
        let mut i = Self::slot_of(h.0, cap);
        loop {
            let e = self.table[i];
            if e.2 < 0 || (e.0 == h.0 && e.1 == h.1) {
                return i;
            }
            i += 1;
            if i == cap {
                i = 0;
            }
        }
    }

    fn grow(&mut self) {
        let new_cap = (self.table.len() * 2).min(self.max_slots);
        let old = std::mem::replace(&mut self.table, vec![(0, 0, -1); new_cap]);
        for e in old.into_iter().filter(|e| e.2 >= 0) {
            let i = self.find((e.0, e.1));
            self.table[i] = e;
        }
    }

    /// Records `offset` as the latest for `key` (and as the map's latest offset).
    pub fn put(&mut self, key: &[u8], offset: i64) {
        if (self.entries + 1) * 10 > self.table.len() * 9 && self.table.len() < self.max_slots {
            self.grow();
        }
        let h = Self::hash(key);
        let i = self.find(h);
        if self.table[i].2 < 0 {
            self.entries += 1;
        }
        self.table[i] = (h.0, h.1, offset);
        self.latest_offset = offset;
    }

    /// The latest offset of `key`, -1 if absent.
    pub fn get(&self, key: &[u8]) -> i64 {
        let i = self.find(Self::hash(key));
        self.table[i].2
    }

    pub fn size(&self) -> usize {
        self.entries
    }
    pub fn slots(&self) -> usize {
        self.max_slots
    }
    pub fn latest_offset(&self) -> i64 {
        self.latest_offset
    }
    pub fn update_latest_offset(&mut self, o: i64) {
        self.latest_offset = o;
    }
    pub fn utilization(&self) -> f64 {
        self.entries as f64 / self.max_slots as f64
    }
    pub fn clear(&mut self) {
        self.table.clear();
        self.table.resize(self.max_slots.min(1024), (0, 0, -1));
        self.entries = 0;
        self.latest_offset = -1;
    }
}

// ----------------------------------------------------------------- records

/// One record of a batch body, undecoded beyond what the cleaner needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawRecord<'a> {
    pub offset_delta: i32,
    pub timestamp_delta: i64,
    pub key: Option<&'a [u8]>,
    pub has_value: bool,
    /// The whole record, its length varint included (copied as is when kept).
    pub raw: &'a [u8],
}

fn read_varlong(b: &[u8], pos: &mut usize) -> Result<i64, String> {
    let mut v: u64 = 0;
    let mut shift = 0;
    loop {
        let byte = *b.get(*pos).ok_or("truncated varint")?;
        *pos += 1;
        v |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 63 {
            return Err("varint too long".into());
        }
    }
    Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
}

fn read_varbytes<'a>(b: &'a [u8], pos: &mut usize) -> Result<Option<&'a [u8]>, String> {
    let len = read_varlong(b, pos)?;
    if len < 0 {
        return if len == -1 { Ok(None) } else { Err(format!("negative length {len}")) };
    }
    let end = pos.checked_add(len as usize).filter(|e| *e <= b.len()).ok_or("length past the record's end")?;
    let out = &b[*pos..end];
    *pos = end;
    Ok(Some(out))
}

/// Splits a (decompressed) records body into its `count` records.
pub fn scan_records(body: &[u8], count: i32) -> Result<Vec<RawRecord<'_>>, String> {
    if count < 0 || count as usize > body.len() / 7 + 1 {
        return Err(format!("records count {count} does not fit {} bytes", body.len()));
    }
    let mut out = Vec::with_capacity(count as usize);
    let mut pos = 0usize;
    for _ in 0..count {
        let start = pos;
        let len = read_varlong(body, &mut pos)?;
        if len < 0 || pos + len as usize > body.len() {
            return Err(format!("record length {len} past the body's end"));
        }
        let end = pos + len as usize;
        let rec = &body[pos..end];
        let mut p = 1usize; // attributes
        if rec.is_empty() {
            return Err("empty record".into());
        }
        let timestamp_delta = read_varlong(rec, &mut p)?;
        let offset_delta = read_varlong(rec, &mut p)?;
        let key = read_varbytes(rec, &mut p)?;
        let value = read_varbytes(rec, &mut p)?;
        if offset_delta < 0 || offset_delta > i32::MAX as i64 {
            return Err(format!("bad offset delta {offset_delta}"));
        }
        out.push(RawRecord { offset_delta: offset_delta as i32, timestamp_delta, key, has_value: value.is_some(), raw: &body[start..end] });
        pos = end;
    }
    if pos != body.len() {
        return Err(format!("{} bytes left over after {count} records", body.len() - pos));
    }
    Ok(out)
}

/// Kafka's `Cleaner.shouldRetainRecord`: records past what the map covers
/// stay; a keyless record goes (it is invalid in a compacted log); a keyed
/// one stays if it is its key's latest and is not a tombstone past the
/// delete horizon.
pub fn should_retain_record(map: &OffsetMap, retain_deletes: bool, offset: i64, key: Option<&[u8]>, has_value: bool) -> bool {
    if offset > map.latest_offset() {
        return true;
    }
    match key {
        Some(k) => offset >= map.get(k) && (has_value || retain_deletes),
        None => false,
    }
}

/// Kafka's `BatchRetention`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchRetention {
    /// Drop the whole batch.
    Delete,
    /// Drop the batch if no record is retained.
    DeleteEmpty,
    /// Keep at least the header (the producer's last batch).
    RetainEmpty,
}

/// What became of one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filtered {
    /// Every record stays: write the batch unchanged.
    Original { records: usize },
    /// Some records stay: a new batch (same base and last offset, producer
    /// fields and codec) holding them.
    Rewritten { batch: Bytes, records: usize },
    /// Nothing stays but the producer state: an empty batch header.
    Empty { batch: Bytes },
    Dropped,
}

/// Kafka's `MemoryRecords.filterTo` for one v2 batch: control batches stay
/// as they are; otherwise each record is kept if `retain(offset, key,
/// has_value)`, and the batch rebuilt if some went.
pub fn filter_batch(
    batch: &RecordBatch,
    retention: BatchRetention,
    mut retain: impl FnMut(i64, Option<&[u8]>, bool) -> bool,
) -> Result<(Filtered, usize), String> {
    let count = batch.records_count();
    if batch.is_control() {
        return Ok((Filtered::Original { records: count.max(0) as usize }, count.max(0) as usize));
    }
    if retention == BatchRetention::Delete {
        return Ok((Filtered::Dropped, count.max(0) as usize));
    }
    let codec = batch.compression().ok_or_else(|| format!("unknown compression in batch at {}", batch.base_offset()))?;
    let body = batch.records_body().map_err(|e| e.to_string())?;
    let recs = scan_records(&body, count)?;
    let base = batch.base_offset();
    let kept: Vec<&RawRecord<'_>> = recs.iter().filter(|r| retain(base + r.offset_delta as i64, r.key, r.has_value)).collect();
    let read = recs.len();
    if kept.len() == recs.len() && !recs.is_empty() {
        return Ok((Filtered::Original { records: read }, read));
    }
    if kept.is_empty() {
        if retention == BatchRetention::RetainEmpty {
            return Ok((Filtered::Empty { batch: empty_batch(batch) }, read));
        }
        return Ok((Filtered::Dropped, read));
    }
    let base_ts = batch.base_timestamp();
    let max_ts = match batch.timestamp_type() {
        records::TimestampType::LogAppendTime => batch.max_timestamp(),
        records::TimestampType::CreateTime => kept.iter().map(|r| base_ts.wrapping_add(r.timestamp_delta)).max().unwrap_or(NO_TIMESTAMP),
    };
    let mut plain = Vec::with_capacity(kept.iter().map(|r| r.raw.len()).sum());
    for r in &kept {
        plain.extend_from_slice(r.raw);
    }
    let body = compression::compress(codec, &plain).map_err(|e| format!("cannot recompress with {}: {e}", codec.name()))?;
    let header = &batch.as_bytes()[..RECORD_BATCH_OVERHEAD];
    let mut out = Vec::with_capacity(RECORD_BATCH_OVERHEAD + body.len());
    out.extend_from_slice(header);
    out.extend_from_slice(&body);
    let len = (out.len() - LOG_OVERHEAD) as i32;
    out[records::LENGTH_OFFSET..records::LENGTH_OFFSET + 4].copy_from_slice(&len.to_be_bytes());
    out[records::MAX_TIMESTAMP_OFFSET..records::MAX_TIMESTAMP_OFFSET + 8].copy_from_slice(&max_ts.to_be_bytes());
    out[records::RECORDS_COUNT_OFFSET..records::RECORDS_COUNT_OFFSET + 4].copy_from_slice(&(kept.len() as i32).to_be_bytes());
    let crc = records::crc32c(&out[records::ATTRIBUTES_OFFSET..]);
    out[records::CRC_OFFSET..records::CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    Ok((Filtered::Rewritten { batch: Bytes::from(out), records: kept.len() }, read))
}

/// Kafka's `DefaultRecordBatch.writeEmptyHeader`: the header of `batch`
/// with no records, uncompressed, first and max timestamp = its max timestamp.
pub fn empty_batch(batch: &RecordBatch) -> Bytes {
    let mut out = batch.as_bytes()[..RECORD_BATCH_OVERHEAD].to_vec();
    let len = (RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) as i32;
    out[records::LENGTH_OFFSET..records::LENGTH_OFFSET + 4].copy_from_slice(&len.to_be_bytes());
    let attrs = batch.attributes() & !0x07;
    out[records::ATTRIBUTES_OFFSET..records::ATTRIBUTES_OFFSET + 2].copy_from_slice(&attrs.to_be_bytes());
    let ts = batch.max_timestamp();
    out[records::BASE_TIMESTAMP_OFFSET..records::BASE_TIMESTAMP_OFFSET + 8].copy_from_slice(&ts.to_be_bytes());
    out[records::RECORDS_COUNT_OFFSET..records::RECORDS_COUNT_OFFSET + 4].copy_from_slice(&0i32.to_be_bytes());
    let crc = records::crc32c(&out[records::ATTRIBUTES_OFFSET..]);
    out[records::CRC_OFFSET..records::CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(out)
}

// -------------------------------------------------------------- throttler

/// Kafka's `Throttler`: shared by the cleaner threads, sleeps whenever the
/// observed byte rate over the last check interval (300 ms) exceeds the
/// desired rate.
pub struct Throttler {
    desired_per_sec: Mutex<f64>,
    state: Mutex<(Instant, f64)>,
}

impl Throttler {
    const CHECK_INTERVAL: Duration = Duration::from_millis(300);

    pub fn new(desired_per_sec: f64) -> Throttler {
        Throttler { desired_per_sec: Mutex::new(desired_per_sec), state: Mutex::new((Instant::now(), 0.0)) }
    }
    pub fn set_rate(&self, r: f64) {
        *self.desired_per_sec.lock().unwrap_or_else(|e| e.into_inner()) = r;
    }
    pub fn maybe_throttle(&self, observed: u64) {
        let desired = *self.desired_per_sec.lock().unwrap_or_else(|e| e.into_inner());
        if desired >= f64::MAX / 2.0 || desired <= 0.0 {
            return;
        }
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.1 == 0.0 {
            // A window starts with its first bytes, not with the idle time before.
            st.0 = Instant::now();
        }
        st.1 += observed as f64;
        // Sleep as long as the bytes of this window need at the desired rate
        // (checked at every call, so that short cleans are throttled too).
        let elapsed = st.0.elapsed().as_secs_f64();
        let needed = st.1 / desired;
        if needed > elapsed {
            std::thread::sleep(Duration::from_secs_f64((needed - elapsed).min(60.0)));
        }
        if st.0.elapsed() > Self::CHECK_INTERVAL {
            *st = (Instant::now(), 0.0);
        }
    }
}

// ---------------------------------------------------------------- cleaner

/// Kafka's `CleanerStats`.
#[derive(Debug, Clone, Default)]
pub struct CleanerStats {
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub map_bytes_read: u64,
    pub map_messages_read: u64,
    pub messages_read: u64,
    pub messages_written: u64,
    pub invalid_messages_read: u64,
    pub buffer_utilization: f64,
    pub elapsed_secs: f64,
    pub elapsed_index_secs: f64,
}

/// Why a clean stopped early.
#[derive(Debug)]
pub enum CleanError {
    /// Aborted (pause, deletion, shutdown) or the log changed underneath.
    Aborted,
    Failed(String),
}

impl From<LogError> for CleanError {
    fn from(e: LogError) -> Self {
        match e {
            LogError::Closed => CleanError::Aborted,
            e => CleanError::Failed(e.to_string()),
        }
    }
}
impl From<std::io::Error> for CleanError {
    fn from(e: std::io::Error) -> Self {
        CleanError::Failed(e.to_string())
    }
}

/// Reads the batches of a segment file in chunks, outside the log's lock.
struct BatchReader<'a> {
    file: &'a File,
    end: u64,
    pos: u64,
    chunk: Bytes,
    chunk_start: u64,
    chunk_size: usize,
    /// Check each batch's CRC (the rewrite does: it must never re-sign
    /// corrupted bytes; the offset map only reads keys, as Kafka's does).
    verify_crc: bool,
}

impl<'a> BatchReader<'a> {
    fn new(file: &'a File, end: u64, chunk_size: usize, verify_crc: bool) -> Self {
        BatchReader { file, end, pos: 0, chunk: Bytes::new(), chunk_start: 0, chunk_size: chunk_size.max(64 * 1024), verify_crc }
    }

    fn fill(&mut self, at_least: usize) -> LogResult<()> {
        let len = (self.end - self.pos).min(self.chunk_size.max(at_least) as u64) as usize;
        let mut buf = vec![0u8; len];
        self.file.read_exact_at(&mut buf, self.pos)?;
        self.chunk = Bytes::from(buf);
        self.chunk_start = self.pos;
        Ok(())
    }

    /// The next whole batch and the bytes read from the file for it.
    fn next_batch(&mut self) -> LogResult<Option<RecordBatch>> {
        if self.pos >= self.end {
            return Ok(None);
        }
        let avail = |s: &Self| (s.chunk_start + s.chunk.len() as u64).saturating_sub(s.pos) as usize;
        if self.pos < self.chunk_start || avail(self) < LOG_OVERHEAD {
            self.fill(LOG_OVERHEAD)?;
        }
        let off = (self.pos - self.chunk_start) as usize;
        let (_, size) = records::entry_prefix(&self.chunk[off..])
            .ok_or_else(|| LogError::Corrupt(format!("truncated batch header at position {}", self.pos)))?;
        if size < MIN_ENTRY_SIZE || self.pos + LOG_OVERHEAD as u64 + size as u64 > self.end {
            return Err(LogError::Corrupt(format!("batch size {size} at position {} does not fit the segment", self.pos)));
        }
        let total = LOG_OVERHEAD + size as usize;
        if avail(self) < total {
            self.fill(total)?;
        }
        let off = (self.pos - self.chunk_start) as usize;
        let bytes = self.chunk.slice(off..off + total);
        if bytes.len() > RECORD_BATCH_OVERHEAD && bytes[records::MAGIC_OFFSET] as i8 != MAGIC_V2 {
            return Err(LogError::Corrupt(format!("magic {} batch at position {}", bytes[records::MAGIC_OFFSET], self.pos)));
        }
        let batch = RecordBatch::parse(bytes).map_err(|e| LogError::Corrupt(format!("at position {}: {e}", self.pos)))?;
        if self.verify_crc && !batch.is_valid() {
            return Err(LogError::Corrupt(format!("CRC mismatch in the batch at position {}", self.pos)));
        }
        self.pos += total as u64;
        Ok(Some(batch))
    }
}

/// Kafka's `Cleaner`: one thread's offset map and the cleaning of a log.
pub struct Cleaner {
    pub id: usize,
    map: OffsetMap,
    load_factor: f64,
    io_buffer_size: usize,
    throttler: Arc<Throttler>,
}

impl Cleaner {
    pub fn new(id: usize, config: &CleanerConfig, throttler: Arc<Throttler>) -> Cleaner {
        Cleaner {
            id,
            map: OffsetMap::new(config.slots_per_thread()),
            load_factor: config.dedupe_buffer_load_factor,
            io_buffer_size: (config.io_buffer_size / config.num_threads.max(1) / 2).max(64 * 1024),
            throttler,
        }
    }

    /// Cleans `to_clean` (Kafka's `Cleaner.clean` + `doClean`); `check_done`
    /// says whether to stop. Returns the first offset not cleaned.
    pub fn clean(&mut self, to_clean: &LogToClean, check_done: &dyn Fn() -> bool) -> Result<(i64, CleanerStats), CleanError> {
        let generation = to_clean.log.segments_generation();
        match self.do_clean(to_clean, check_done) {
            // A read error on files a truncation changed is an abort, not a fault.
            Err(CleanError::Failed(e)) if to_clean.log.segments_generation() != generation => {
                log::info!("Cleaner {}: {} changed while it was cleaned ({e})", self.id, to_clean.tp);
                Err(CleanError::Aborted)
            }
            r => r,
        }
    }

    fn do_clean(&mut self, to_clean: &LogToClean, check_done: &dyn Fn() -> bool) -> Result<(i64, CleanerStats), CleanError> {
        let started = Instant::now();
        let log = &to_clean.log;
        let view = log.cleaner_view()?;
        let mut stats = CleanerStats::default();
        // Tombstones go once their segment is older than the last clean
        // segment's time minus delete.retention.ms.
        let delete_horizon_ms = segments_in_range(&view.segments, 0, to_clean.first_dirty_offset)
            .last()
            .map_or(0, |s| s.last_modified_ms - view.config.delete_retention_ms);
        log::info!("Cleaner {}: Beginning cleaning of log {}.", self.id, to_clean.tp);
        // The log may have changed since it was chosen: never the active segment.
        let first_uncleanable = to_clean.first_uncleanable_offset.min(view.active_base_offset());
        let first_dirty = to_clean.first_dirty_offset.min(first_uncleanable);
        self.build_offset_map(&to_clean.tp, &view, first_dirty, first_uncleanable, &mut stats, check_done)?;
        let end_offset = self.map.latest_offset() + 1;
        stats.elapsed_index_secs = started.elapsed().as_secs_f64();
        let to_rewrite: Vec<&CleanerSegment> = segments_in_range(&view.segments, 0, end_offset).collect();
        let inputs: Vec<GroupingInput> = to_rewrite
            .iter()
            .map(|s| GroupingInput {
                base_offset: s.base_offset,
                size: s.size,
                offset_index_bytes: s.offset_index_bytes,
                time_index_bytes: s.time_index_bytes,
            })
            .collect();
        let groups = group_segments_by_size(&inputs, view.config.segment_bytes, view.config.segment_index_bytes, first_uncleanable);
        log::info!(
            "Cleaner {}: Cleaning log {} (cleaning prior to offset {end_offset}, discarding tombstones and transaction markers prior to {delete_horizon_ms} ms) in {} group(s)",
            self.id,
            to_clean.tp,
            groups.len()
        );
        // One transaction state for the whole clean, carried from group to
        // group (a transaction may span them), fed every aborted
        // transaction of the log (`.txnindex` entries sit in the segment of
        // their marker, which may come after the data's).
        let mut pass = CleanPass { delete_horizon_ms, txns: CleanedTransactionMetadata::new(all_aborted_txns(&view)) };
        for g in groups {
            self.clean_segments(log, &view, &to_rewrite[g], &mut pass, &mut stats, check_done)?;
        }
        stats.buffer_utilization = self.map.utilization();
        stats.elapsed_secs = started.elapsed().as_secs_f64();
        Ok((end_offset, stats))
    }

    /// Kafka's `buildOffsetMap`: keys of `[start, end)` -> their latest
    /// offset, stopping when the map holds `slots * load factor` keys.
    fn build_offset_map(
        &mut self,
        tp: &TopicPartition,
        view: &CleanerView,
        start: i64,
        end: i64,
        stats: &mut CleanerStats,
        check_done: &dyn Fn() -> bool,
    ) -> Result<(), CleanError> {
        self.map.clear();
        let mut txns = CleanedTransactionMetadata::new(all_aborted_txns(view));
        let dirty: Vec<&CleanerSegment> = segments_in_range(&view.segments, start, end).collect();
        log::info!("Cleaner {}: Building offset map for log {tp} for {} segments in offset range [{start}, {end}).", self.id, dirty.len());
        let max_desired = (self.map.slots() as f64 * self.load_factor) as usize;
        for (i, seg) in dirty.iter().enumerate() {
            if check_done() {
                return Err(CleanError::Aborted);
            }
            let next_start = dirty.get(i + 1).map_or(end, |n| n.base_offset);
            let mut reader = BatchReader::new(&seg.file, seg.size, self.io_buffer_size, false);
            let mut n = 0u32;
            while let Some(batch) = reader.next_batch()? {
                n += 1;
                if n.is_multiple_of(256) && check_done() {
                    return Err(CleanError::Aborted);
                }
                let size = batch.size_in_bytes() as u64;
                stats.map_bytes_read += size;
                self.throttler.maybe_throttle(size);
                if batch.base_offset() >= end {
                    break;
                }
                // Records of aborted transactions never shadow other records
                // (every batch is fed to the transaction state, in order).
                let facts = BatchFacts::of(&batch);
                let aborted = if batch.is_control() {
                    txns.on_control_batch_read(&facts);
                    true
                } else {
                    txns.on_batch_read(&facts)
                };
                if batch.last_offset() < start {
                    continue;
                }
                if !aborted {
                    let body = batch.records_body().map_err(|e| CleanError::Failed(e.to_string()))?;
                    let recs = scan_records(&body, batch.records_count()).map_err(CleanError::Failed)?;
                    for r in recs {
                        let offset = batch.base_offset() + r.offset_delta as i64;
                        if let Some(k) = r.key {
                            if offset >= start {
                                if self.map.size() >= max_desired {
                                    log::debug!("offset map of {tp} is full at offset {offset}");
                                    return Ok(());
                                }
                                self.map.put(k, offset);
                            }
                        }
                        stats.map_messages_read += 1;
                    }
                }
                if batch.last_offset() >= start {
                    self.map.update_latest_offset(batch.last_offset());
                }
            }
            // Offsets gaps: the map covers everything before the next segment.
            self.map.update_latest_offset(next_start - 1);
        }
        Ok(())
    }

    /// Kafka's `cleanSegments`: rewrites `group` into one `.cleaned` segment
    /// and swaps it in.
    fn clean_segments(
        &mut self,
        log: &Log,
        view: &CleanerView,
        group: &[&CleanerSegment],
        pass: &mut CleanPass,
        stats: &mut CleanerStats,
        check_done: &dyn Fn() -> bool,
    ) -> Result<(), CleanError> {
        let Some(first) = group.first() else { return Ok(()) };
        let base = first.base_offset;
        let dir = &view.dir;
        delete_cleaned_files(dir, base);
        let mut cleaned = LogSegment::open_with_suffix(dir, base, &view.config, now_ms(), CLEANED_FILE_SUFFIX)?;
        let result = self.clean_into(view, group, &mut cleaned, pass, stats, check_done).and_then(|()| {
            cleaned.on_become_inactive()?;
            cleaned.flush()?;
            if let Some(last) = group.last() {
                cleaned.set_last_modified_ms(last.last_modified_ms)?;
            }
            Ok(())
        });
        if let Err(e) = result {
            let _ = cleaned.delete_files();
            return Err(e);
        }
        let bases: Vec<i64> = group.iter().map(|s| s.base_offset).collect();
        match log.replace_segments(cleaned, &bases, view.generation)? {
            Ok(old) => {
                log::info!("Cleaner {}: Swapped in cleaned segment {base} for segment(s) {bases:?} in log {}", self.id, log.topic_partition());
                for s in old {
                    if let Err(e) = s.delete_files() {
                        log::warn!("cannot delete a replaced segment of {}: {e}", log.topic_partition());
                    }
                }
                Ok(())
            }
            Err(cleaned) => {
                let _ = cleaned.delete_files();
                log::info!("Cleaner {}: {} changed while it was cleaned; dropping the cleaned segment {base}", self.id, log.topic_partition());
                Err(CleanError::Aborted)
            }
        }
    }

    /// Kafka's `cleanInto` for each segment of the group.
    fn clean_into(
        &mut self,
        view: &CleanerView,
        group: &[&CleanerSegment],
        dest: &mut LogSegment,
        pass: &mut CleanPass,
        stats: &mut CleanerStats,
        check_done: &dyn Fn() -> bool,
    ) -> Result<(), CleanError> {
        let flush_at = view.config.index_interval_bytes.max(4096) as usize;
        for seg in group {
            // Tombstones and transaction markers share the horizon.
            let retain_deletes = seg.last_modified_ms > pass.delete_horizon_ms;
            let mut reader = BatchReader::new(&seg.file, seg.size, self.io_buffer_size, true);
            let mut out = WriteBuffer::default();
            let mut n = 0u32;
            while let Some(batch) = reader.next_batch()? {
                n += 1;
                if n.is_multiple_of(256) && check_done() {
                    return Err(CleanError::Aborted);
                }
                let size = batch.size_in_bytes();
                self.throttler.maybe_throttle(size as u64);
                stats.bytes_read += size as u64;
                let facts = BatchFacts::of(&batch);
                let discard = pass.txns.should_discard_batch(&facts, retain_deletes);
                let retention = check_batch_retention(&facts, discard, &view.last_records_of_active_producers);
                // A discarded batch (aborted data, or a marker whose
                // transaction has no batch left, past the horizon) goes; a
                // producer's last one keeps its header. Other control batches
                // stay as they are.
                if discard || batch.is_control() {
                    let count = batch.records_count().max(0) as u64;
                    stats.messages_read += count;
                    let bytes = match retention {
                        BatchRetention::Delete => None,
                        BatchRetention::RetainEmpty if discard => Some(empty_batch(&batch)),
                        // A marker that stays (Kafka's filter keeps its record).
                        _ if !discard => {
                            stats.messages_written += count;
                            Some(batch.as_bytes().clone())
                        }
                        BatchRetention::DeleteEmpty | BatchRetention::RetainEmpty => None,
                    };
                    if let Some(bytes) = bytes {
                        stats.bytes_written += bytes.len() as u64;
                        out.push(&batch, bytes);
                    }
                    continue;
                }
                let map = &self.map;
                let mut invalid = 0u64;
                let (outcome, read) = filter_batch(&batch, retention, |offset, key, has_value| {
                    if key.is_none() && offset <= map.latest_offset() {
                        invalid += 1;
                    }
                    should_retain_record(map, retain_deletes, offset, key, has_value)
                })
                .map_err(|e| CleanError::Failed(format!("batch at offset {}: {e}", batch.base_offset())))?;
                stats.invalid_messages_read += invalid;
                stats.messages_read += read as u64;
                let (bytes, kept) = match outcome {
                    Filtered::Original { records } => (batch.as_bytes().clone(), records),
                    Filtered::Rewritten { batch, records } => (batch, records),
                    Filtered::Empty { batch } => (batch, 0),
                    Filtered::Dropped => continue,
                };
                stats.messages_written += kept as u64;
                stats.bytes_written += bytes.len() as u64;
                out.push(&batch, bytes);
                if out.data.len() >= flush_at {
                    out.write_to(dest)?;
                }
            }
            out.write_to(dest)?;
        }
        // Kafka rebuilds the cleaned segment's `.txnindex`: the aborted
        // transactions whose ABORT marker it keeps with data met in this clean.
        for t in pass.txns.take_cleaned_index() {
            dest.append_aborted_txn(t)?;
        }
        Ok(())
    }
}

/// What one clean carries from group to group: the horizon of tombstones
/// and markers, and the transactions it is inside of.
struct CleanPass {
    delete_horizon_ms: i64,
    txns: CleanedTransactionMetadata,
}

/// Every aborted transaction of the log (the `.txnindex` entries of all its
/// segments), for `CleanedTransactionMetadata`.
fn all_aborted_txns(view: &CleanerView) -> impl Iterator<Item = crate::log::transaction_index::AbortedTxn> + '_ {
    view.segments.iter().flat_map(|s| s.aborted_txns.iter().copied())
}

/// Retained batches waiting to be appended to the cleaned segment.
#[derive(Default)]
struct WriteBuffer {
    data: Vec<u8>,
    largest_offset: i64,
    max_timestamp: i64,
    offset_of_max_timestamp: i64,
}

impl WriteBuffer {
    fn push(&mut self, original: &RecordBatch, bytes: Bytes) {
        if self.data.is_empty() {
            self.max_timestamp = NO_TIMESTAMP;
            self.offset_of_max_timestamp = -1;
        }
        let max_ts = bytes
            .get(records::MAX_TIMESTAMP_OFFSET..records::MAX_TIMESTAMP_OFFSET + 8)
            .map_or(original.max_timestamp(), |t| i64::from_be_bytes(t.try_into().unwrap_or([0xff; 8])));
        if max_ts > self.max_timestamp || self.offset_of_max_timestamp < 0 {
            self.max_timestamp = max_ts;
            self.offset_of_max_timestamp = original.last_offset();
        }
        self.largest_offset = original.last_offset();
        self.data.extend_from_slice(&bytes);
    }

    fn write_to(&mut self, dest: &mut LogSegment) -> LogResult<()> {
        if !self.data.is_empty() {
            dest.append(self.largest_offset, self.max_timestamp, self.offset_of_max_timestamp, &self.data)?;
            self.data.clear();
        }
        Ok(())
    }
}

fn delete_cleaned_files(dir: &Path, base: i64) {
    for suffix in [LOG_FILE_SUFFIX, INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX, TXN_INDEX_FILE_SUFFIX] {
        let _ = std::fs::remove_file(dir.join(format!("{}{CLEANED_FILE_SUFFIX}", segment_file_name(base, suffix))));
    }
}

/// Kafka's `recordStats` message.
pub fn stats_message(id: usize, name: &str, from: i64, to: i64, s: &CleanerStats) -> String {
    let mb = |b: f64| b / (1024.0 * 1024.0);
    let secs = s.elapsed_secs.max(1e-6);
    let index_secs = s.elapsed_index_secs.max(1e-6);
    let clean_secs = (s.elapsed_secs - s.elapsed_index_secs).max(1e-6);
    let read = s.bytes_read as f64;
    format!(
        "\n\tLog cleaner thread {id} cleaned log {name} (dirty section = [{from}, {to}])\n\
         \t{:.1} MB of log processed in {:.1} seconds ({:.1} MB/sec).\n\
         \tIndexed {:.1} MB in {:.1} seconds ({:.1} Mb/sec, {:.1}% of total time)\n\
         \tBuffer utilization: {:.1}%\n\
         \tCleaned {:.1} MB in {:.1} seconds ({:.1} Mb/sec, {:.1}% of total time)\n\
         \tStart size: {:.1} MB ({} messages)\n\
         \tEnd size: {:.1} MB ({} messages)\n\
         \t{:.1}% size reduction ({:.1}% fewer messages)\n",
        mb(read),
        s.elapsed_secs,
        mb(read) / secs,
        mb(s.map_bytes_read as f64),
        s.elapsed_index_secs,
        mb(s.map_bytes_read as f64) / index_secs,
        100.0 * s.elapsed_index_secs / secs,
        100.0 * s.buffer_utilization,
        mb(read),
        s.elapsed_secs - s.elapsed_index_secs,
        mb(read) / clean_secs,
        100.0 * (s.elapsed_secs - s.elapsed_index_secs) / secs,
        mb(read),
        s.messages_read,
        mb(s.bytes_written as f64),
        s.messages_written,
        100.0 * (1.0 - s.bytes_written as f64 / read.max(1.0)),
        100.0 * (1.0 - s.messages_written as f64 / (s.messages_read as f64).max(1.0)),
    )
}

// ------------------------------------------------------------ LogCleaner

struct ThreadHandle {
    stop: Arc<AtomicBool>,
    wake: Arc<(Mutex<bool>, Condvar)>,
    join: std::thread::JoinHandle<()>,
}

/// Kafka's `LogCleaner`: the cleaner threads over the `LogManager`'s logs.
pub struct LogCleaner {
    config: Mutex<CleanerConfig>,
    log_manager: Weak<LogManager>,
    manager: Arc<LogCleanerManager>,
    throttler: Arc<Throttler>,
    threads: Mutex<Vec<ThreadHandle>>,
}

impl LogCleaner {
    pub fn new(config: CleanerConfig, log_manager: &Arc<LogManager>) -> Arc<LogCleaner> {
        Arc::new(LogCleaner {
            throttler: Arc::new(Throttler::new(config.max_io_bytes_per_second)),
            config: Mutex::new(config),
            log_manager: Arc::downgrade(log_manager),
            manager: log_manager.cleaner_manager().clone(),
            threads: Mutex::new(Vec::new()),
        })
    }

    pub fn cleaner_manager(&self) -> &Arc<LogCleanerManager> {
        &self.manager
    }

    pub fn current_config(&self) -> CleanerConfig {
        self.config.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Starts `log.cleaner.threads` threads ("kafka-log-cleaner-thread-N").
    pub fn startup(self: &Arc<Self>) {
        let config = self.current_config();
        log::info!("Starting the log cleaner");
        let mut threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        for id in 0..config.num_threads {
            let stop = Arc::new(AtomicBool::new(false));
            let wake = Arc::new((Mutex::new(false), Condvar::new()));
            let me = self.clone();
            let (s2, w2, c2) = (stop.clone(), wake.clone(), config.clone());
            match std::thread::Builder::new()
                .name(format!("kafka-log-cleaner-thread-{id}"))
                .spawn(move || me.run_thread(id, c2, s2, w2))
            {
                Ok(join) => threads.push(ThreadHandle { stop, wake, join }),
                // Startup and reconfigure both come here: a thread the OS
                // refuses leaves fewer cleaners, never a dead broker.
                Err(e) => log::error!("Cannot start log cleaner thread {id}: {e}"),
            }
        }
    }

    /// Stops the threads; a clean in progress is aborted (its `.cleaned`
    /// files are deleted).
    pub fn shutdown(&self) {
        let threads: Vec<ThreadHandle> = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        if threads.is_empty() {
            return;
        }
        log::info!("Shutting down the log cleaner.");
        for t in &threads {
            t.stop.store(true, Ordering::SeqCst);
            let (m, c) = &*t.wake;
            *m.lock().unwrap_or_else(|e| e.into_inner()) = true;
            c.notify_all();
        }
        for t in threads {
            let _ = t.join.join();
        }
    }

    /// Applies new `log.cleaner.threads`, `log.cleaner.io.max.bytes.per.second`,
    /// `log.cleaner.dedupe.buffer.size` and `log.cleaner.backoff.ms` (Kafka's
    /// `reconfigure`: restarts the threads). `None` keeps a value. Refuses,
    /// as Kafka's `validateReconfiguration` does, fewer than 1 thread, less
    /// than half or more than double the current count.
    pub fn reconfigure(
        self: &Arc<Self>,
        threads: Option<usize>,
        io_max_bytes_per_second: Option<f64>,
        dedupe_buffer_size: Option<u64>,
        backoff_ms: Option<u64>,
    ) -> Result<(), String> {
        let mut new = self.current_config();
        if let Some(t) = threads {
            let cur = new.num_threads;
            if t < 1 {
                return Err("Log cleaner threads should be at least 1".into());
            }
            if t < cur / 2 {
                return Err(format!("Log cleaner threads cannot be reduced to less than half the current value {cur}"));
            }
            if t > cur * 2 {
                return Err(format!("Log cleaner threads cannot be increased to more than double the current value {cur}"));
            }
            new.num_threads = t;
        }
        if let Some(r) = io_max_bytes_per_second {
            new.max_io_bytes_per_second = if r > 0.0 { r } else { f64::MAX };
        }
        if let Some(d) = dedupe_buffer_size {
            new.dedupe_buffer_size = d;
        }
        if let Some(b) = backoff_ms {
            new.backoff_ms = b;
        }
        if new.slots_per_thread() as f64 * new.dedupe_buffer_load_factor <= 1.0 {
            return Err("log.cleaner.dedupe.buffer.size is too small for one entry per cleaner thread".into());
        }
        self.throttler.set_rate(new.max_io_bytes_per_second);
        *self.config.lock().unwrap_or_else(|e| e.into_inner()) = new.clone();
        if new.enable_cleaner {
            self.shutdown();
            self.startup();
        }
        Ok(())
    }

    fn run_thread(self: Arc<Self>, id: usize, config: CleanerConfig, stop: Arc<AtomicBool>, wake: Arc<(Mutex<bool>, Condvar)>) {
        let mut cleaner = Cleaner::new(id, &config, self.throttler.clone());
        while !stop.load(Ordering::SeqCst) {
            let cleaned = match self.log_manager.upgrade() {
                Some(lm) => self.clean_filthiest_log(&mut cleaner, &lm, &stop),
                None => break,
            };
            if !cleaned {
                let (m, c) = &*wake;
                let g = m.lock().unwrap_or_else(|e| e.into_inner());
                if !*g {
                    let _ = c.wait_timeout(g, Duration::from_millis(config.backoff_ms)).unwrap_or_else(|e| e.into_inner());
                }
            }
        }
    }

    /// Kafka's `cleanFilthiestLog` + `cleanLog`. Returns whether a log was cleaned.
    fn clean_filthiest_log(&self, cleaner: &mut Cleaner, lm: &LogManager, stop: &AtomicBool) -> bool {
        let Some(to_clean) = self.manager.grab_filthiest_compacted_log(&lm.all_logs(), now_ms()) else {
            return false;
        };
        let tp = to_clean.tp.clone();
        let dir = to_clean.log.dir().parent().map(Path::to_path_buf).unwrap_or_default();
        let manager = self.manager.clone();
        let tp2 = tp.clone();
        let check_done = move || stop.load(Ordering::SeqCst) || manager.is_cleaning_aborted(&tp2);
        let start = to_clean.first_dirty_offset;
        let result = cleaner.clean(&to_clean, &check_done);
        let end = match result {
            Ok((end, stats)) => {
                log::info!("{}", stats_message(cleaner.id, &tp.to_string(), start, end, &stats));
                if stats.invalid_messages_read > 0 {
                    log::warn!("\tFound {} invalid messages during compaction.", stats.invalid_messages_read);
                }
                Some(end)
            }
            Err(CleanError::Aborted) => {
                log::info!("Cleaner {}: cleaning of {tp} was aborted", cleaner.id);
                None
            }
            Err(CleanError::Failed(e)) => {
                log::error!(
                    "Unexpected exception thrown when cleaning log {tp}: {e}. Marking its partition ({tp}) as uncleanable"
                );
                self.manager.mark_partition_uncleanable(&tp);
                None
            }
        };
        self.manager.done_cleaning(&tp, &dir, end);
        end.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::cleaned_transaction_metadata::LastRecord;
    use crate::protocol::compression::Compression;
    use crate::protocol::records::RecordBatchBuilder;
    use std::collections::HashMap;

    fn batch(codec: Compression, base: i64, recs: &[(Option<&str>, Option<&str>)]) -> RecordBatch {
        let mut b = RecordBatchBuilder::new(codec).base_offset(base);
        for (i, (k, v)) in recs.iter().enumerate() {
            b.append(1000 + i as i64, k.map(str::as_bytes), v.map(str::as_bytes), &[("h", Some(b"hv"))]);
        }
        RecordBatch::parse(b.build().unwrap()).unwrap()
    }

    #[test]
    fn offset_map_puts_gets_grows_and_clears() {
        let mut m = OffsetMap::new(100_000);
        for i in 0..50_000i64 {
            m.put(format!("k{}", i % 20_000).as_bytes(), i);
        }
        assert_eq!(m.size(), 20_000);
        assert_eq!(m.get(b"k5"), 40_005);
        assert_eq!(m.get(b"nope"), -1);
        assert_eq!(m.latest_offset(), 49_999);
        m.update_latest_offset(60_000);
        assert_eq!(m.latest_offset(), 60_000);
        m.clear();
        assert_eq!((m.size(), m.get(b"k5"), m.latest_offset()), (0, -1, -1));
        // The table never exceeds its slots; at load factor 0.9 it still answers.
        let mut small = OffsetMap::new(100);
        for i in 0..90 {
            small.put(format!("x{i}").as_bytes(), i);
        }
        assert_eq!(small.size(), 90);
        assert!(small.table.len() <= 100);
        assert_eq!(small.get(b"x89"), 89);
    }

    #[test]
    fn retain_latest_per_key_and_tombstones_until_the_horizon() {
        let mut m = OffsetMap::new(1000);
        m.put(b"a", 5);
        m.put(b"b", 7);
        m.update_latest_offset(9);
        assert!(!should_retain_record(&m, true, 3, Some(b"a"), true));
        assert!(should_retain_record(&m, true, 5, Some(b"a"), true));
        assert!(should_retain_record(&m, true, 2, Some(b"c"), true), "keys not in the dirty section stay");
        assert!(should_retain_record(&m, true, 7, Some(b"b"), false), "a tombstone before the horizon stays");
        assert!(!should_retain_record(&m, false, 7, Some(b"b"), false), "a tombstone past the horizon goes");
        assert!(!should_retain_record(&m, true, 4, None, true), "keyless records go");
        assert!(should_retain_record(&m, false, 10, Some(b"a"), false), "past the map's end everything stays");
    }

    #[test]
    fn filter_keeps_offsets_codec_headers_and_producer_batches() {
        for codec in [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd] {
            let b = batch(codec, 100, &[(Some("a"), Some("1")), (Some("b"), Some("2")), (Some("a"), Some("3")), (Some("c"), None)]);
            // Keep offsets 101 and 102 only.
            let (out, read) = filter_batch(&b, BatchRetention::DeleteEmpty, |o, _, _| o == 101 || o == 102).unwrap();
            assert_eq!(read, 4);
            let Filtered::Rewritten { batch: bytes, records } = out else { panic!("{codec:?}: {out:?}") };
            assert_eq!(records, 2);
            let nb = RecordBatch::parse(bytes).unwrap();
            nb.ensure_valid().unwrap();
            assert_eq!(nb.compression(), Some(codec));
            assert_eq!((nb.base_offset(), nb.last_offset(), nb.records_count()), (100, 103, 2));
            let recs = nb.records().unwrap();
            assert_eq!(recs.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![101, 102]);
            assert_eq!(recs[1].value.as_deref(), Some(&b"3"[..]));
            assert_eq!(recs[0].timestamp, 1001);
            assert_eq!(recs[1].headers[0].key, "h");
            assert_eq!(nb.max_timestamp(), 1002);
            // Everything kept: the original bytes.
            let (out, _) = filter_batch(&b, BatchRetention::DeleteEmpty, |_, _, _| true).unwrap();
            assert_eq!(out, Filtered::Original { records: 4 });
            // Nothing kept.
            let (out, _) = filter_batch(&b, BatchRetention::DeleteEmpty, |_, _, _| false).unwrap();
            assert_eq!(out, Filtered::Dropped);
        }
        // An active producer's last batch survives empty, with its producer fields.
        let mut pb = RecordBatchBuilder::new(Compression::Lz4).base_offset(10).producer(77, 3, 40);
        pb.append(5, Some(b"k"), Some(b"v"), &[]);
        pb.append(6, Some(b"k"), Some(b"w"), &[]);
        let pb = RecordBatch::parse(pb.build().unwrap()).unwrap();
        let active: HashMap<i64, LastRecord> = [(77, LastRecord { last_data_offset: Some(11), producer_epoch: 3 })].into_iter().collect();
        let facts = BatchFacts::of(&pb);
        let r = check_batch_retention(&facts, false, &active);
        assert_eq!(r, BatchRetention::RetainEmpty);
        let earlier = BatchFacts { last_offset: 10, ..facts };
        assert_eq!(check_batch_retention(&earlier, false, &active), BatchRetention::DeleteEmpty);
        let (out, _) = filter_batch(&pb, r, |_, _, _| false).unwrap();
        let Filtered::Empty { batch: e } = out else { panic!("{out:?}") };
        let eb = RecordBatch::parse(e).unwrap();
        eb.ensure_valid().unwrap();
        assert_eq!((eb.base_offset(), eb.last_offset(), eb.records_count()), (10, 11, 0));
        assert_eq!((eb.producer_id(), eb.producer_epoch(), eb.base_sequence()), (77, 3, 40));
        assert_eq!(eb.compression(), Some(Compression::None));
        assert!(eb.records().unwrap().is_empty());
        // Malformed bodies are errors, not panics.
        assert!(scan_records(&[0x7f], 1).is_err());
        assert!(scan_records(&[], 5).is_err());
    }

    #[test]
    fn throttler_holds_the_rate() {
        let t = Throttler::new(1_000_000.0);
        let started = Instant::now();
        for _ in 0..40 {
            t.maybe_throttle(10_000); // 400 KB at 1 MB/s: ~0.4 s
        }
        let secs = started.elapsed().as_secs_f64();
        assert!(secs >= 0.35, "{secs}");
        let free = Throttler::new(f64::MAX);
        let started = Instant::now();
        for _ in 0..1000 {
            free.maybe_throttle(1 << 20);
        }
        assert!(started.elapsed() < Duration::from_millis(200));
    }

    #[test]
    fn stats_line_has_kafkas_shape() {
        let s = CleanerStats { bytes_read: 10 << 20, bytes_written: 1 << 20, messages_read: 100, messages_written: 10, elapsed_secs: 2.0, elapsed_index_secs: 0.5, ..Default::default() };
        let m = stats_message(0, "t-0", 0, 100, &s);
        assert!(m.contains("Log cleaner thread 0 cleaned log t-0 (dirty section = [0, 100])"), "{m}");
        assert!(m.contains("10.0 MB of log processed in 2.0 seconds (5.0 MB/sec)."), "{m}");
        assert!(m.contains("90.0% size reduction (90.0% fewer messages)"), "{m}");
    }
}
