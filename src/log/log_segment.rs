//! One segment of a partition log (Kafka's `LogSegment`): the `.log` file of
//! back-to-back record batches plus its `.index` and `.timeindex`. Knows how
//! to append, map offsets/timestamps to file positions, recover (re-validate
//! and rebuild indexes) and truncate.

use crate::log::errors::{LogError, LogResult};
use crate::log::file_records::FileRecords;
use crate::log::log_config::LogConfig;
use crate::log::offset_index::OffsetIndex;
use crate::log::segment_file_name;
use crate::log::time_index::TimeIndex;
use crate::log::transaction_index::{AbortedTxn, TransactionIndex, TXN_INDEX_FILE_SUFFIX};
use crate::protocol::records::{self, RecordBatch, LOG_OVERHEAD, MAGIC_V2, RECORD_BATCH_OVERHEAD};
use bytes::Bytes;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const LOG_FILE_SUFFIX: &str = ".log";
pub const INDEX_FILE_SUFFIX: &str = ".index";
pub const TIME_INDEX_FILE_SUFFIX: &str = ".timeindex";

/// The header fields of a batch on disk that the log needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    /// Whole batch size including the 12-byte prefix.
    pub size: u64,
    pub last_offset: i64,
    pub max_timestamp: i64,
    pub partition_leader_epoch: i32,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub attributes: i16,
}

impl BatchHeader {
    /// Parses a v2 header from at least `RECORD_BATCH_OVERHEAD` bytes.
    pub fn parse(b: &[u8]) -> LogResult<BatchHeader> {
        if b.len() < RECORD_BATCH_OVERHEAD {
            return Err(LogError::Corrupt("short batch header".into()));
        }
        let i64_at = |at: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[at..at + 8]);
            i64::from_be_bytes(a)
        };
        let i32_at = |at: usize| i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let magic = b[records::MAGIC_OFFSET] as i8;
        if magic != MAGIC_V2 {
            return Err(LogError::Corrupt(format!("magic {magic} batch in segment")));
        }
        let len = i32_at(records::LENGTH_OFFSET);
        if (len as i64) < (RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) as i64 {
            return Err(LogError::Corrupt(format!("batch length {len} below the header size")));
        }
        let base_offset = i64_at(records::BASE_OFFSET_OFFSET);
        let delta = i32_at(records::LAST_OFFSET_DELTA_OFFSET);
        if base_offset < 0 || delta < 0 {
            return Err(LogError::Corrupt(format!("bad offsets {base_offset}+{delta} in batch header")));
        }
        Ok(BatchHeader {
            base_offset,
            size: LOG_OVERHEAD as u64 + len as u64,
            last_offset: base_offset + delta as i64,
            max_timestamp: i64_at(records::MAX_TIMESTAMP_OFFSET),
            partition_leader_epoch: i32_at(records::PARTITION_LEADER_EPOCH_OFFSET),
            producer_id: i64_at(records::PRODUCER_ID_OFFSET),
            producer_epoch: i16::from_be_bytes([b[records::PRODUCER_EPOCH_OFFSET], b[records::PRODUCER_EPOCH_OFFSET + 1]]),
            base_sequence: i32_at(records::BASE_SEQUENCE_OFFSET),
            attributes: i16::from_be_bytes([b[records::ATTRIBUTES_OFFSET], b[records::ATTRIBUTES_OFFSET + 1]]),
        })
    }
}

/// A file range to read once the log lock is released.
#[derive(Debug, Clone)]
pub struct ReadPlan {
    pub file: Arc<File>,
    pub position: u64,
    pub len: usize,
    /// The range ends where a batch ends (not cut by the size limit).
    pub ends_on_batch: bool,
}

impl ReadPlan {
    /// The range as a file slice of whole batches, without reading the
    /// records (see `FileRecords`); `None` if too many tiny batches would
    /// have to be walked to find the last whole one (read it instead).
    pub fn file_records(&self) -> LogResult<Option<FileRecords>> {
        if self.ends_on_batch {
            return Ok(Some(FileRecords { file: self.file.clone(), position: self.position, len: self.len }));
        }
        FileRecords::whole_batches(&self.file, self.position, self.len)
    }

    /// Reads the range and keeps whole batches only.
    pub fn read(&self) -> LogResult<Bytes> {
        let mut buf = vec![0u8; self.len];
        let mut done = 0;
        while done < buf.len() {
            let n = self.file.read_at(&mut buf[done..], self.position + done as u64)?;
            if n == 0 {
                break; // the file shrank underneath us (truncation)
            }
            done += n;
        }
        buf.truncate(done);
        let mut whole = 0usize;
        while let Some((_, size)) = records::entry_prefix(&buf[whole..]) {
            if size < records::MIN_ENTRY_SIZE {
                break;
            }
            let total = LOG_OVERHEAD + size as usize;
            if buf.len() - whole < total {
                break;
            }
            whole += total;
        }
        buf.truncate(whole);
        Ok(Bytes::from(buf))
    }
}

/// Writes `parts` one after the other at `pos` (`pwritev`, as many calls
/// as short writes need).
fn write_all_vectored_at(file: &File, parts: &[&[u8]], mut pos: u64) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let mut parts: Vec<&[u8]> = parts.iter().copied().filter(|p| !p.is_empty()).collect();
        let mut first = 0;
        while first < parts.len() {
            let iov: Vec<libc::iovec> = parts[first..]
                .iter()
                .take(1024) // IOV_MAX
                .map(|p| libc::iovec { iov_base: p.as_ptr() as *mut libc::c_void, iov_len: p.len() })
                .collect();
            // SAFETY: every iovec points into a live borrowed slice; the fd is open.
            let n = unsafe { libc::pwritev(file.as_raw_fd(), iov.as_ptr(), iov.len() as libc::c_int, pos as libc::off_t) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if n == 0 {
                return Err(std::io::Error::new(std::io::ErrorKind::WriteZero, "pwritev wrote nothing"));
            }
            let mut n = n as usize;
            pos += n as u64;
            while n > 0 {
                let p = parts[first];
                if n >= p.len() {
                    n -= p.len();
                    first += 1;
                } else {
                    parts[first] = &p[n..];
                    n = 0;
                }
            }
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        for p in parts {
            file.write_all_at(p, pos)?;
            pos += p.len() as u64;
        }
        Ok(())
    }
}

#[derive(Debug)]
pub struct LogSegment {
    base_offset: i64,
    log_path: PathBuf,
    log: Arc<File>,
    size: u64,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    /// Aborted transactions whose ABORT marker is in this segment.
    txn_index: TransactionIndex,
    /// The `.txnindex` file could not be read: `Log::open` recovers the segment.
    txn_index_unreadable: bool,
    index_interval_bytes: u64,
    bytes_since_last_index_entry: u64,
    max_timestamp_so_far: i64,
    offset_of_max_timestamp_so_far: i64,
    /// Max timestamp of the first batch (drives `segment.ms`).
    rolling_based_timestamp: Option<i64>,
    created_ms: i64,
    next_offset: i64,
}

impl LogSegment {
    /// Opens (creating if absent) the segment files in `dir`. Index content
    /// is not trusted: call `sanity_check` or `recover`.
    pub fn open(dir: &Path, base_offset: i64, config: &LogConfig, now_ms: i64) -> LogResult<LogSegment> {
        Self::open_with_suffix(dir, base_offset, config, now_ms, "")
    }

    /// `open` for files named `<base>.log<file_suffix>` (and the indexes
    /// likewise), e.g. the log cleaner's `.cleaned` output or a `.swap`
    /// segment found at start-up (Kafka's `LogSegment.open(fileSuffix)`).
    pub fn open_with_suffix(
        dir: &Path,
        base_offset: i64,
        config: &LogConfig,
        now_ms: i64,
        file_suffix: &str,
    ) -> LogResult<LogSegment> {
        let named = |suffix: &str| dir.join(format!("{}{file_suffix}", segment_file_name(base_offset, suffix)));
        let log_path = named(LOG_FILE_SUFFIX);
        let file = OpenOptions::new().read(true).write(true).create(true).open(&log_path)?;
        let size = file.metadata()?.len();
        let offset_index = OffsetIndex::open(&named(INDEX_FILE_SUFFIX), base_offset, config.segment_index_bytes)?;
        let time_index = TimeIndex::open(&named(TIME_INDEX_FILE_SUFFIX), base_offset, config.segment_index_bytes)?;
        let txn_path = named(TXN_INDEX_FILE_SUFFIX);
        let (txn_index, txn_index_unreadable) = match TransactionIndex::open(&txn_path) {
            Ok(t) => (t, false),
            Err(e) => {
                log::warn!("{e}: the segment's transaction index will be rebuilt");
                (TransactionIndex::empty_at(&txn_path), true)
            }
        };
        Ok(LogSegment {
            base_offset,
            log_path,
            log: Arc::new(file),
            size,
            offset_index,
            time_index,
            txn_index,
            txn_index_unreadable,
            index_interval_bytes: config.index_interval_bytes,
            bytes_since_last_index_entry: 0,
            max_timestamp_so_far: records::NO_TIMESTAMP,
            offset_of_max_timestamp_so_far: base_offset,
            rolling_based_timestamp: None,
            created_ms: now_ms,
            next_offset: base_offset,
        })
    }

    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }
    pub fn size(&self) -> u64 {
        self.size
    }
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }
    pub fn max_timestamp_so_far(&self) -> i64 {
        self.max_timestamp_so_far
    }
    pub fn offset_index(&self) -> &OffsetIndex {
        &self.offset_index
    }
    pub fn time_index(&self) -> &TimeIndex {
        &self.time_index
    }
    pub fn txn_index(&self) -> &TransactionIndex {
        &self.txn_index
    }
    /// Whether the `.txnindex` could not be read at open (rebuild needed).
    pub fn txn_index_unreadable(&self) -> bool {
        self.txn_index_unreadable
    }
    /// Records a transaction aborted by a marker in this segment (Kafka's
    /// `LogSegment.updateTxnIndex`).
    pub fn append_aborted_txn(&mut self, txn: AbortedTxn) -> LogResult<()> {
        self.txn_index.append(txn)
    }
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }
    pub fn set_index_interval_bytes(&mut self, n: u64) {
        self.index_interval_bytes = n;
    }

    /// Reads the batch header at `pos`; `None` if no whole batch starts there.
    pub fn read_header_at(&self, pos: u64) -> LogResult<Option<BatchHeader>> {
        if pos + RECORD_BATCH_OVERHEAD as u64 > self.size {
            if pos < self.size {
                return Err(LogError::Corrupt(format!(
                    "{} bytes at {pos} of {} are too few for a batch",
                    self.size - pos,
                    self.log_path.display()
                )));
            }
            return Ok(None);
        }
        let mut b = [0u8; RECORD_BATCH_OVERHEAD];
        self.log.read_exact_at(&mut b, pos)?;
        let h = BatchHeader::parse(&b)?;
        if pos + h.size > self.size {
            return Err(LogError::Corrupt(format!(
                "batch at {pos} of {} runs past the end of the file",
                self.log_path.display()
            )));
        }
        Ok(Some(h))
    }

    /// Position and header of the first batch at or after `start_pos` whose
    /// last offset is >= `offset`.
    pub fn translate_offset(&self, offset: i64, start_pos: u64) -> LogResult<Option<(u64, BatchHeader)>> {
        let mut pos = start_pos;
        while let Some(h) = self.read_header_at(pos)? {
            if h.last_offset >= offset {
                return Ok(Some((pos, h)));
            }
            pos += h.size;
        }
        Ok(None)
    }

    /// The whole batch at `pos` of `size` bytes (from its header), `None` if
    /// it does not parse; bounded by the file size.
    pub fn read_batch_at(&self, pos: u64, size: u64) -> LogResult<Option<RecordBatch>> {
        if pos.saturating_add(size) > self.size {
            return Ok(None);
        }
        let mut buf = vec![0u8; size as usize];
        self.log.read_exact_at(&mut buf, pos)?;
        Ok(RecordBatch::parse(Bytes::from(buf)).ok())
    }

    /// Finds where `offset`'s batch starts using the index, then a short scan.
    pub fn find_batch(&self, offset: i64) -> LogResult<Option<(u64, BatchHeader)>> {
        let (_, pos) = self.offset_index.lookup(offset);
        self.translate_offset(offset, pos)
    }

    /// Loads next offset and max timestamp after an open without recovery.
    pub fn load_state(&mut self) -> LogResult<()> {
        let start = self.offset_index.last_entry().map_or(0, |e| e.1);
        let (ts, ts_off) = self.time_index.last_entry().unwrap_or((records::NO_TIMESTAMP, self.base_offset));
        self.max_timestamp_so_far = ts;
        self.offset_of_max_timestamp_so_far = ts_off;
        let ts_pos = self.offset_index.lookup(ts_off).1.min(start);
        let mut pos = ts_pos;
        let mut next = self.offset_index.last_entry().map_or(self.base_offset, |e| e.0 + 1);
        while let Some(h) = self.read_header_at(pos)? {
            if h.max_timestamp > self.max_timestamp_so_far {
                self.max_timestamp_so_far = h.max_timestamp;
                self.offset_of_max_timestamp_so_far = h.last_offset;
            }
            next = next.max(h.last_offset + 1);
            pos += h.size;
        }
        if pos != self.size {
            return Err(LogError::Corrupt(format!("trailing bytes in {}", self.log_path.display())));
        }
        self.next_offset = next;
        self.rolling_based_timestamp = self.read_header_at(0)?.map(|h| h.max_timestamp);
        Ok(())
    }

    /// Checks that the index files are plausible for this log file.
    pub fn sanity_check(&self) -> Result<(), String> {
        self.offset_index.sanity_check(self.size)?;
        if let Some((o, _)) = self.offset_index.last_entry() {
            if o >= self.next_offset {
                return Err(format!("offset index points past the log end in {}", self.log_path.display()));
            }
        }
        self.time_index.sanity_check(self.next_offset)
    }

    /// Appends validated batches whose offsets run up to `largest_offset`.
    pub fn append(
        &mut self,
        largest_offset: i64,
        largest_timestamp: i64,
        offset_of_max_timestamp: i64,
        data: &[u8],
    ) -> LogResult<()> {
        self.append_parts(largest_offset, largest_timestamp, offset_of_max_timestamp, &[data])
    }

    /// As `append`, with the bytes given as consecutive pieces (patched batch
    /// headers between unchanged record bytes), written with one `pwritev`.
    pub fn append_parts(
        &mut self,
        largest_offset: i64,
        largest_timestamp: i64,
        offset_of_max_timestamp: i64,
        parts: &[&[u8]],
    ) -> LogResult<()> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len == 0 {
            return Ok(());
        }
        let rel = largest_offset - self.base_offset;
        if rel < 0 || rel > i32::MAX as i64 {
            return Err(LogError::Storage(format!(
                "offset {largest_offset} does not fit segment {}",
                self.base_offset
            )));
        }
        let position = self.size;
        write_all_vectored_at(&self.log, parts, position)?;
        if self.size == 0 {
            self.rolling_based_timestamp = Some(largest_timestamp);
        }
        self.size += len as u64;
        self.next_offset = largest_offset + 1;
        if largest_timestamp > self.max_timestamp_so_far {
            self.max_timestamp_so_far = largest_timestamp;
            self.offset_of_max_timestamp_so_far = offset_of_max_timestamp;
        }
        if self.bytes_since_last_index_entry > self.index_interval_bytes {
            self.offset_index.append(largest_offset, position)?;
            self.time_index
                .maybe_append(self.max_timestamp_so_far, self.offset_of_max_timestamp_so_far, false)?;
            self.bytes_since_last_index_entry = 0;
        }
        self.bytes_since_last_index_entry += len as u64;
        Ok(())
    }

    /// Plans a read of whole batches from the batch containing `start_offset`:
    /// at most `max_size` bytes (or the first batch if `min_one`), never past
    /// `max_position`. `None` if the offset is beyond this segment.
    pub fn plan_read(
        &self,
        start_offset: i64,
        max_size: usize,
        max_position: u64,
        min_one: bool,
    ) -> LogResult<Option<ReadPlan>> {
        let Some((pos, first)) = self.find_batch(start_offset)? else {
            return Ok(None);
        };
        let max_position = max_position.min(self.size);
        if pos >= max_position {
            return Ok(Some(ReadPlan { file: self.log.clone(), position: pos, len: 0, ends_on_batch: true }));
        }
        let limit = if min_one { max_size.max(first.size as usize) } else { max_size };
        let len = (max_position - pos).min(limit as u64) as usize;
        // max_position is the segment's end or the start of a batch.
        let ends_on_batch = len as u64 == max_position - pos;
        Ok(Some(ReadPlan { file: self.log.clone(), position: pos, len, ends_on_batch }))
    }

    /// Start of the batch containing `offset` (segment end if none): where a
    /// read bounded by `offset` must stop.
    pub fn position_of(&self, offset: i64) -> LogResult<u64> {
        Ok(self.find_batch(offset)?.map_or(self.size, |(p, _)| p))
    }

    /// Rebuilds the indexes from the log, validating each batch (framing,
    /// CRC, monotonic offsets within this segment); cuts the file at the
    /// first bad batch. Returns the number of bytes cut.
    pub fn recover(&mut self, leader_epochs: &mut dyn FnMut(i32, i64)) -> LogResult<u64> {
        self.offset_index.reset()?;
        self.time_index.reset()?;
        // Rebuilt by the log from the markers (it knows the producers' state).
        self.txn_index.reset()?;
        self.txn_index_unreadable = false;
        self.max_timestamp_so_far = records::NO_TIMESTAMP;
        self.offset_of_max_timestamp_so_far = self.base_offset;
        self.rolling_based_timestamp = None;
        let mut pos = 0u64;
        let mut last_index_pos = 0u64;
        let mut next = self.base_offset;
        let mut header = [0u8; RECORD_BATCH_OVERHEAD];
        loop {
            if pos + RECORD_BATCH_OVERHEAD as u64 > self.size {
                break;
            }
            self.log.read_exact_at(&mut header, pos)?;
            let h = match BatchHeader::parse(&header) {
                Ok(h) => h,
                Err(e) => {
                    log::warn!("{}: invalid batch at {pos}: {e}", self.log_path.display());
                    break;
                }
            };
            if pos + h.size > self.size
                || h.base_offset < next
                || h.last_offset - self.base_offset > i32::MAX as i64
            {
                log::warn!("{}: bad batch at position {pos} ({h:?})", self.log_path.display());
                break;
            }
            // Bounded by the file size checked above.
            let mut buf = vec![0u8; h.size as usize];
            self.log.read_exact_at(&mut buf, pos)?;
            let valid = RecordBatch::parse(Bytes::from(buf)).map_or(false, |b| b.is_valid());
            if !valid {
                log::warn!("{}: CRC or framing mismatch at position {pos}", self.log_path.display());
                break;
            }
            if h.max_timestamp > self.max_timestamp_so_far {
                self.max_timestamp_so_far = h.max_timestamp;
                self.offset_of_max_timestamp_so_far = h.last_offset;
            }
            if self.rolling_based_timestamp.is_none() {
                self.rolling_based_timestamp = Some(h.max_timestamp);
            }
            if h.partition_leader_epoch >= 0 {
                leader_epochs(h.partition_leader_epoch, h.base_offset);
            }
            if pos - last_index_pos > self.index_interval_bytes {
                self.offset_index.append(h.last_offset, pos)?;
                self.time_index
                    .maybe_append(self.max_timestamp_so_far, self.offset_of_max_timestamp_so_far, false)?;
                last_index_pos = pos;
            }
            next = h.last_offset + 1;
            pos += h.size;
        }
        let cut = self.size - pos;
        if cut > 0 {
            log::warn!("{}: truncating {cut} invalid bytes at position {pos}", self.log_path.display());
            self.log.set_len(pos)?;
            self.size = pos;
        }
        self.next_offset = next;
        self.bytes_since_last_index_entry = pos - last_index_pos;
        Ok(cut)
    }

    /// Drops batches containing offsets >= `offset` (whole batches).
    /// Returns the bytes removed.
    pub fn truncate_to(&mut self, offset: i64) -> LogResult<u64> {
        let Some((pos, _)) = self.find_batch(offset)? else {
            return Ok(0);
        };
        self.offset_index.truncate_to(offset)?;
        self.time_index.truncate_to(offset)?;
        self.txn_index.truncate_to(offset)?;
        let removed = self.size - pos;
        self.log.set_len(pos)?;
        self.size = pos;
        self.bytes_since_last_index_entry = 0;
        // Recompute next offset and max timestamp from what is left.
        self.next_offset = self.base_offset;
        self.max_timestamp_so_far = records::NO_TIMESTAMP;
        self.offset_of_max_timestamp_so_far = self.base_offset;
        self.load_state()?;
        if self.size == 0 {
            self.rolling_based_timestamp = None;
        }
        Ok(removed)
    }

    /// (offset, timestamp, leader epoch) of the first record with timestamp
    /// >= `ts` at or after `starting_offset`.
    pub fn find_offset_by_timestamp(&self, ts: i64, starting_offset: i64) -> LogResult<Option<(i64, i64, i32)>> {
        let (_, ts_offset) = self.time_index.lookup(ts);
        let (_, mut pos) = self.offset_index.lookup(ts_offset.max(starting_offset));
        while let Some(h) = self.read_header_at(pos)? {
            if h.max_timestamp >= ts && h.last_offset >= starting_offset {
                let mut buf = vec![0u8; h.size as usize];
                self.log.read_exact_at(&mut buf, pos)?;
                let batch = RecordBatch::parse(Bytes::from(buf))?;
                let mut found = None;
                batch.for_each_record(|r| {
                    if found.is_none() && r.timestamp >= ts && r.offset >= starting_offset {
                        found = Some((r.offset, r.timestamp));
                    }
                    Ok(())
                })?;
                if let Some((o, t)) = found {
                    return Ok(Some((o, t, h.partition_leader_epoch)));
                }
            }
            pos += h.size;
        }
        Ok(None)
    }

    /// Kafka's `shouldRoll`.
    pub fn should_roll(&self, config: &LogConfig, set_size: u64, max_ts_in_set: i64, last_offset: i64) -> bool {
        if self.size == 0 {
            return last_offset - self.base_offset > i32::MAX as i64 || last_offset < self.base_offset;
        }
        let waited = match self.rolling_based_timestamp {
            Some(t) if t >= 0 => max_ts_in_set.saturating_sub(t),
            _ => crate::common::now_ms() - self.created_ms,
        };
        self.size > config.segment_bytes.saturating_sub(set_size)
            || waited > config.segment_ms - config.segment_jitter_ms
            || self.offset_index.is_full()
            || self.time_index.is_full()
            || last_offset - self.base_offset > i32::MAX as i64
    }

    /// The segment stops being the active one: record the final time index entry.
    pub fn on_become_inactive(&mut self) -> LogResult<()> {
        if self.max_timestamp_so_far >= 0 {
            self.time_index
                .maybe_append(self.max_timestamp_so_far, self.offset_of_max_timestamp_so_far, true)?;
        }
        Ok(())
    }

    /// What `flush` syncs, as descriptors a background thread can sync
    /// without this segment (`log_flush`).
    pub fn sync_handle(&self) -> LogResult<crate::log::log_flush::SegmentSync> {
        let indexes = [self.offset_index.sync_target()?, self.time_index.sync_target()?].into_iter().flatten().collect();
        Ok(crate::log::log_flush::SegmentSync {
            base_offset: self.base_offset,
            log: self.log.clone(),
            indexes,
            txn_index: self.txn_index.sync_path(),
        })
    }

    pub fn flush(&self) -> LogResult<()> {
        self.log.sync_data()?;
        self.offset_index.flush()?;
        self.time_index.flush()?;
        self.txn_index.flush()?;
        Ok(())
    }

    /// Removes the three files (open handles stay readable until dropped).
    pub fn delete_files(&self) -> LogResult<()> {
        for p in [self.log_path.as_path(), self.offset_index.path(), self.time_index.path(), self.txn_index.path()] {
            match fs::remove_file(p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// The `.log` file's last-modified time in ms (0 if unknown); Kafka's
    /// `LogSegment.lastModified`, the time retention's fallback when the
    /// segment has no timestamps.
    pub fn last_modified_ms(&self) -> i64 {
        fs::metadata(&self.log_path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64)
    }

    /// Renames the segment's files (`.log`, `.index`, `.timeindex`) by
    /// appending `suffix` (Kafka's `changeFileSuffixes("", ".deleted")`);
    /// open handles keep working. Returns the new paths of the files that
    /// existed.
    pub fn add_file_suffix(&mut self, suffix: &str) -> LogResult<Vec<PathBuf>> {
        let mut renamed = Vec::new();
        let with = |p: &Path| {
            let mut s = p.as_os_str().to_owned();
            s.push(suffix);
            PathBuf::from(s)
        };
        let log_to = with(&self.log_path);
        let idx_to = with(self.offset_index.path());
        let tidx_to = with(self.time_index.path());
        let txn_to = with(self.txn_index.path());
        for (from, to) in [
            (self.log_path.clone(), log_to.clone()),
            (self.offset_index.path().to_path_buf(), idx_to.clone()),
            (self.time_index.path().to_path_buf(), tidx_to.clone()),
            (self.txn_index.path().to_path_buf(), txn_to.clone()),
        ] {
            match fs::rename(&from, &to) {
                Ok(()) => renamed.push(to),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.log_path = log_to;
        self.offset_index.set_path(idx_to);
        self.time_index.set_path(tidx_to);
        self.txn_index.set_path(txn_to);
        Ok(renamed)
    }

    /// Renames the three files from `<name><old>` to `<name><new>` (Kafka's
    /// `changeFileSuffixes`: the log cleaner's `.cleaned` -> `.swap` -> "").
    pub fn change_file_suffixes(&mut self, old: &str, new: &str) -> LogResult<()> {
        let swap = |p: &Path| -> LogResult<PathBuf> {
            let s = p.to_string_lossy();
            let stem = s
                .strip_suffix(old)
                .ok_or_else(|| LogError::Storage(format!("{} does not end with {old:?}", p.display())))?;
            Ok(PathBuf::from(format!("{stem}{new}")))
        };
        let log_to = swap(&self.log_path)?;
        let idx_to = swap(self.offset_index.path())?;
        let tidx_to = swap(self.time_index.path())?;
        fs::rename(&self.log_path, &log_to)?;
        self.log_path = log_to;
        fs::rename(self.offset_index.path(), &idx_to)?;
        self.offset_index.set_path(idx_to);
        fs::rename(self.time_index.path(), &tidx_to)?;
        self.time_index.set_path(tidx_to);
        // The transaction index exists only once a transaction was aborted.
        let txn_to = swap(self.txn_index.path())?;
        match fs::rename(self.txn_index.path(), &txn_to) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        self.txn_index.set_path(txn_to);
        Ok(())
    }

    /// The open `.log` file (shared; the log cleaner reads it outside the
    /// log's lock, as fetches do).
    pub fn log_file(&self) -> Arc<File> {
        self.log.clone()
    }

    /// Bytes in use in the offset and time indexes (Kafka's
    /// `offsetIndex.sizeInBytes` / `timeIndex.sizeInBytes`).
    pub fn index_sizes_in_bytes(&self) -> (u64, u64) {
        (self.offset_index.len() as u64 * 8, self.time_index.len() as u64 * 12)
    }

    /// Sets the `.log` file's last-modified time (the cleaner keeps the
    /// replaced segments' time, as Kafka's `lastModified_=` does).
    pub fn set_last_modified_ms(&self, ms: i64) -> LogResult<()> {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
        self.log.set_modified(t)?;
        Ok(())
    }

    /// Follows a rename of the partition directory.
    pub fn set_dir(&mut self, dir: &Path) {
        self.log_path = dir.join(segment_file_name(self.base_offset, LOG_FILE_SUFFIX));
        self.offset_index.set_path(dir.join(segment_file_name(self.base_offset, INDEX_FILE_SUFFIX)));
        self.time_index.set_path(dir.join(segment_file_name(self.base_offset, TIME_INDEX_FILE_SUFFIX)));
        self.txn_index.set_path(dir.join(segment_file_name(self.base_offset, TXN_INDEX_FILE_SUFFIX)));
    }
}
