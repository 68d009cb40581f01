//! The log's side of compaction (Kafka's `Log.replaceSegments` and the
//! `.cleaned` / `.swap` handling of `Log.loadSegmentFiles` /
//! `completeSwapOperations`): a consistent view of the segments for the log
//! cleaner, the swap of a cleaned segment for the segments it replaces
//! (under the log's lock, so readers and appends never see a hole), and the
//! start-up recovery of a swap interrupted by a crash. A child module of
//! `log.rs` so it can reach the log's state without widening it.

use super::*;
use crate::log::cleaned_transaction_metadata::LastRecord;
use std::collections::HashMap;
use std::fs::File;
use std::sync::Arc;

/// Suffix of the cleaner's output while it is written (Kafka's `Log.CleanedFileSuffix`).
pub const CLEANED_FILE_SUFFIX: &str = ".cleaned";
/// Suffix of a cleaned segment being swapped in (Kafka's `Log.SwapFileSuffix`).
pub const SWAP_FILE_SUFFIX: &str = ".swap";

/// What the log cleaner knows of one segment, taken under the log's lock.
/// The file handle stays readable outside the lock (segments other than the
/// active one are immutable; a truncation changes the log's generation,
/// which makes the swap refuse).
#[derive(Debug, Clone)]
pub struct CleanerSegment {
    pub base_offset: i64,
    pub size: u64,
    pub next_offset: i64,
    /// Kafka's `largestTimestamp`: the largest record timestamp, else the mtime.
    pub largest_timestamp: i64,
    pub last_modified_ms: i64,
    /// The first batch's max timestamp (-1 if none), for `max.compaction.lag.ms`.
    pub first_batch_timestamp: i64,
    pub offset_index_bytes: u64,
    pub time_index_bytes: u64,
    pub file: Arc<File>,
    /// The segment's `.txnindex` entries (the cleaner's
    /// `CleanedTransactionMetadata` decides which the cleaned segment keeps).
    pub aborted_txns: Vec<crate::log::transaction_index::AbortedTxn>,
}

/// A snapshot of a log for the cleaner.
#[derive(Debug, Clone)]
pub struct CleanerView {
    /// Changes whenever segments are removed other than by the cleaner
    /// (truncation, replacement by a future log, deletion).
    pub generation: u64,
    /// Every segment, oldest first; the last one is the active segment.
    pub segments: Vec<CleanerSegment>,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    pub config: LogConfig,
    /// Kafka's `lastRecordsOfActiveProducers`: producer id -> offset of its
    /// last data batch's last record (none if its last write is a marker at
    /// a new epoch) and its epoch.
    pub last_records_of_active_producers: HashMap<i64, LastRecord>,
    pub dir: PathBuf,
    /// Kafka's `firstUnstableOffset`: the cleaner stops before it.
    pub first_unstable_offset: Option<i64>,
}

impl CleanerView {
    pub fn active_base_offset(&self) -> i64 {
        self.segments.last().map_or(self.log_end_offset, |s| s.base_offset)
    }
}

impl Log {
    /// The cleaner's view of this log (see `CleanerView`).
    pub fn cleaner_view(&self) -> LogResult<CleanerView> {
        let g = self.lock()?;
        let mut segments = Vec::with_capacity(g.segments.len());
        for s in g.segments.values() {
            let last_modified_ms = s.last_modified_ms();
            let largest_timestamp = if s.max_timestamp_so_far() >= 0 { s.max_timestamp_so_far() } else { last_modified_ms };
            let first_batch_timestamp = s.read_header_at(0).ok().flatten().map_or(-1, |h| h.max_timestamp);
            let (offset_index_bytes, time_index_bytes) = s.index_sizes_in_bytes();
            segments.push(CleanerSegment {
                base_offset: s.base_offset(),
                size: s.size(),
                next_offset: s.next_offset(),
                largest_timestamp,
                last_modified_ms,
                first_batch_timestamp,
                offset_index_bytes,
                time_index_bytes,
                file: s.log_file(),
                aborted_txns: s.txn_index().entries().to_vec(),
            });
        }
        let last_records_of_active_producers = g
            .producer_state
            .producers()
            .iter()
            .map(|(pid, e)| {
                let last_data_offset = Some(e.last_offset()).filter(|o| *o >= 0);
                (*pid, LastRecord { last_data_offset, producer_epoch: e.producer_epoch })
            })
            .collect();
        Ok(CleanerView {
            generation: g.segments_generation,
            segments,
            log_start_offset: g.log_start_offset,
            log_end_offset: g.log_end_offset,
            config: g.config.clone(),
            last_records_of_active_producers,
            dir: g.dir.clone(),
            first_unstable_offset: g.producer_state.first_unstable_offset(),
        })
    }

    /// Kafka's `replaceSegments`: swaps `cleaned` (files `*.cleaned`, base
    /// offset = the first old segment's) in for the segments at `old_bases`,
    /// under the log's lock. Order, for crash safety: rename the cleaned
    /// files `.swap`, rename the old segments' files `.deleted`, rename the
    /// swap files to their final names; a crash in between is finished by
    /// `complete_swap_operations` at start-up. Returns the old segments
    /// (files renamed `.deleted`, for the caller to remove), or `None` -- and
    /// changes nothing -- if the log changed underneath the cleaner
    /// (`generation` differs, a segment is gone, or one became active).
    pub fn replace_segments(
        &self,
        mut cleaned: LogSegment,
        old_bases: &[i64],
        generation: u64,
    ) -> LogResult<Result<Vec<LogSegment>, LogSegment>> {
        let mut g = self.lock()?;
        let active = g.segments.keys().next_back().copied();
        let refused = g.segments_generation != generation
            || old_bases.first() != Some(&cleaned.base_offset())
            || old_bases.iter().any(|b| !g.segments.contains_key(b) || Some(*b) == active);
        if refused {
            return Ok(Err(cleaned));
        }
        cleaned.change_file_suffixes(CLEANED_FILE_SUFFIX, SWAP_FILE_SUFFIX)?;
        for b in old_bases {
            if let Some(seg) = g.segments.get_mut(b) {
                seg.add_file_suffix(DELETED_FILE_SUFFIX)?;
            }
        }
        let mut old = Vec::with_capacity(old_bases.len());
        for b in old_bases {
            if let Some(seg) = g.segments.remove(b) {
                old.push(seg);
            }
        }
        cleaned.change_file_suffixes(SWAP_FILE_SUFFIX, "")?;
        g.segments.insert(cleaned.base_offset(), cleaned);
        Ok(Ok(old))
    }

    /// The generation the cleaner compares (see `CleanerView::generation`).
    pub fn segments_generation(&self) -> u64 {
        self.lock_any().segments_generation
    }
}

/// Start-up handling of the cleaner's leftovers in a log directory (Kafka's
/// `removeTempFilesAndCollectSwapFiles` + `completeSwapOperations`): every
/// `.cleaned` file and every `.swap` index goes (indexes are rebuilt); each
/// `<base>.log.swap` is recovered (validated, indexes rebuilt), the segments
/// it replaces -- those with a base offset in `[base, its next offset)` --
/// are deleted, and it is renamed to `<base>.log`.
pub(super) fn complete_swap_operations(dir: &Path, tp: &TopicPartition, config: &LogConfig, now: i64) -> LogResult<()> {
    let mut swaps = Vec::new();
    let mut log_bases = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(CLEANED_FILE_SUFFIX) {
            log::info!("{tp}: deleting {} left by an interrupted clean", entry.path().display());
            fs::remove_file(entry.path())?;
        } else if let Some(stem) = name.strip_suffix(SWAP_FILE_SUFFIX) {
            match parse_segment_name(stem, LOG_FILE_SUFFIX) {
                Some(base) => swaps.push(base),
                // The aborted transactions cannot be rebuilt from the swap
                // segment alone (they need the producers' state): kept.
                None if parse_segment_name(stem, TXN_INDEX_FILE_SUFFIX).is_some() => {}
                None => {
                    log::info!("{tp}: deleting index {} of an interrupted swap", entry.path().display());
                    fs::remove_file(entry.path())?;
                }
            }
        } else if let Some(b) = parse_segment_name(&name, LOG_FILE_SUFFIX) {
            log_bases.push(b);
        }
    }
    swaps.sort_unstable();
    for base in swaps {
        log::info!("{tp}: found {} from an interrupted swap; completing it", segment_file_name(base, ".log.swap"));
        let mut seg = LogSegment::open_with_suffix(dir, base, config, now, SWAP_FILE_SUFFIX)?;
        let aborted = seg.txn_index().entries().to_vec();
        seg.recover(&mut |_, _| {})?;
        let end = seg.next_offset();
        for t in aborted.into_iter().filter(|t| t.last_offset < end) {
            seg.append_aborted_txn(t)?;
        }
        let next = seg.next_offset().max(base + 1);
        for &b in log_bases.iter().filter(|b| **b >= base && **b < next) {
            for suffix in [LOG_FILE_SUFFIX, INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX, TXN_INDEX_FILE_SUFFIX] {
                match fs::remove_file(dir.join(segment_file_name(b, suffix))) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        seg.flush()?;
        seg.change_file_suffixes(SWAP_FILE_SUFFIX, "")?;
    }
    Ok(())
}
