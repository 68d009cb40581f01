//! The retention decision of Kafka's `Log.deleteOldSegments` as a pure
//! function: given the segments (base offset, size, largest timestamp), the
//! log end offset, high watermark, log start offset and the topic's
//! `retention.ms` / `retention.bytes` / `cleanup.policy`, which oldest
//! segments are deletable (Kafka's `deletableSegments` with the
//! retention-time, retention-size and log-start-offset predicates), whether
//! the active segment must be rolled first, and the log start offset after.
//! The effects (roll, rename to `.deleted`, checkpoint, delayed delete) live
//! in `Log` and `LogManager`.

/// What retention needs to know of one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentSummary {
    pub base_offset: i64,
    pub size: u64,
    /// Kafka's `LogSegment.largestTimestamp`: the largest record timestamp,
    /// or the file's last-modified time when the segment has none.
    pub largest_timestamp: i64,
}

impl SegmentSummary {
    /// `largestTimestamp` from the segment's max timestamp (< 0 = none) and
    /// its file's mtime.
    pub fn new(base_offset: i64, size: u64, max_timestamp: i64, last_modified_ms: i64) -> SegmentSummary {
        let largest_timestamp = if max_timestamp >= 0 { max_timestamp } else { last_modified_ms };
        SegmentSummary { base_offset, size, largest_timestamp }
    }
}

/// The inputs of the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionInput<'a> {
    /// All segments, oldest first (never empty for a real log).
    pub segments: &'a [SegmentSummary],
    pub log_end_offset: i64,
    pub high_watermark: i64,
    pub log_start_offset: i64,
    /// `retention.ms`; negative = unlimited.
    pub retention_ms: i64,
    /// `retention.bytes`; negative = unlimited.
    pub retention_bytes: i64,
    /// `cleanup.policy` contains `delete`: time and size retention apply.
    /// Whatever the policy, segments wholly below the log start offset go.
    pub delete_enabled: bool,
    pub now_ms: i64,
}

/// Why segments go (Kafka's `SegmentDeletionReason`), for the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletionReason {
    RetentionMsBreach,
    RetentionSizeBreach,
    LogStartOffsetBreach,
}

/// The decision: the first `count` segments go (each with its reason).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RetentionDecision {
    /// Number of segments to delete, from the oldest.
    pub count: usize,
    /// One reason per deleted segment.
    pub reasons: Vec<DeletionReason>,
    /// Every segment goes: roll a new active segment (at the log end) first.
    pub roll_first: bool,
    /// The log start offset after the deletion (never lower than before).
    pub new_log_start_offset: i64,
}

/// Kafka's `deletableSegments`: from `from`, the longest run of segments
/// whose upper bound (the next segment's base, or the log end for the last)
/// is at or below the high watermark and that `pred` accepts; a last segment
/// that is empty never qualifies.
fn deletable_run(
    input: &RetentionInput<'_>,
    from: usize,
    mut pred: impl FnMut(&SegmentSummary, Option<&SegmentSummary>) -> bool,
) -> usize {
    let segs = input.segments;
    let mut n = 0;
    for i in from..segs.len() {
        let seg = &segs[i];
        let next = segs.get(i + 1);
        let (upper, last_and_empty) = match next {
            Some(nx) => (nx.base_offset, false),
            None => (input.log_end_offset, seg.size == 0),
        };
        if input.high_watermark >= upper && !last_and_empty && pred(seg, next) {
            n += 1;
        } else {
            break;
        }
    }
    n
}

/// Kafka's `Log.deleteOldSegments` decision: with `delete` in the policy,
/// the retention-time pass, then the retention-size pass, then the
/// log-start-offset pass, each over the segments the previous passes left
/// (as Kafka runs them one after the other); without it only the last pass.
pub fn deletable_segments(input: &RetentionInput<'_>) -> RetentionDecision {
    let segs = input.segments;
    let mut reasons = Vec::new();
    let mut log_start = input.log_start_offset;
    // Kafka raises the log start offset to the first remaining segment after
    // each pass; the next pass's predicates see that.
    let apply = |reasons: &mut Vec<DeletionReason>, n: usize, reason: DeletionReason, log_start: &mut i64| {
        let from = reasons.len();
        reasons.extend(std::iter::repeat(reason).take(n));
        if n > 0 {
            let first_left = segs.get(from + n).map_or(input.log_end_offset, |s| s.base_offset);
            *log_start = (*log_start).max(first_left);
        }
    };
    if input.delete_enabled {
        if input.retention_ms >= 0 {
            let n = deletable_run(input, 0, |seg, _| input.now_ms.saturating_sub(seg.largest_timestamp) > input.retention_ms);
            apply(&mut reasons, n, DeletionReason::RetentionMsBreach, &mut log_start);
        }
        let from = reasons.len();
        let size: u64 = segs[from..].iter().map(|s| s.size).sum();
        if input.retention_bytes >= 0 && size >= input.retention_bytes as u64 {
            let mut diff = size - input.retention_bytes as u64;
            let n = deletable_run(input, from, |seg, _| {
                if diff >= seg.size {
                    diff -= seg.size;
                    true
                } else {
                    false
                }
            });
            apply(&mut reasons, n, DeletionReason::RetentionSizeBreach, &mut log_start);
        }
    }
    let from = reasons.len();
    let start_now = log_start;
    let n = deletable_run(input, from, |_, next| next.is_some_and(|nx| nx.base_offset <= start_now));
    apply(&mut reasons, n, DeletionReason::LogStartOffsetBreach, &mut log_start);
    let count = reasons.len();
    RetentionDecision {
        count,
        roll_first: count > 0 && count == segs.len(),
        reasons,
        new_log_start_offset: if count > 0 { log_start } else { input.log_start_offset },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeletionReason::*;

    fn seg(base: i64, size: u64, ts: i64) -> SegmentSummary {
        SegmentSummary { base_offset: base, size, largest_timestamp: ts }
    }

    fn input(segments: &[SegmentSummary], leo: i64, hw: i64) -> RetentionInput<'_> {
        RetentionInput {
            segments,
            log_end_offset: leo,
            high_watermark: hw,
            log_start_offset: segments.first().map_or(0, |s| s.base_offset),
            retention_ms: -1,
            retention_bytes: -1,
            delete_enabled: true,
            now_ms: 10_000,
        }
    }

    #[test]
    fn unlimited_deletes_nothing() {
        let s = [seg(0, 100, 0), seg(10, 100, 0), seg(20, 100, 0)];
        let d = deletable_segments(&input(&s, 30, 30));
        assert_eq!(d.count, 0);
        assert!(!d.roll_first);
        assert_eq!(d.new_log_start_offset, 0);
    }

    #[test]
    fn time_retention_uses_largest_timestamp_and_stops_at_first_young_segment() {
        // Segment 1 is young, segment 2 old again: deletion stops at 1 (oldest first only).
        let s = [seg(0, 100, 1_000), seg(10, 100, 9_500), seg(20, 100, 1_000), seg(30, 100, 9_900)];
        let mut i = input(&s, 40, 40);
        i.retention_ms = 5_000;
        let d = deletable_segments(&i);
        assert_eq!(d.count, 1);
        assert_eq!(d.reasons, vec![RetentionMsBreach]);
        assert_eq!(d.new_log_start_offset, 10);
        // Exactly at the limit is kept (Kafka: now - ts > retention).
        let s = [seg(0, 100, 5_000), seg(10, 100, 9_000)];
        let mut i = input(&s, 20, 20);
        i.retention_ms = 5_000;
        assert_eq!(deletable_segments(&i).count, 0);
    }

    #[test]
    fn mtime_fallback_when_no_timestamps() {
        assert_eq!(SegmentSummary::new(0, 1, -1, 777).largest_timestamp, 777);
        assert_eq!(SegmentSummary::new(0, 1, 5, 777).largest_timestamp, 5);
    }

    #[test]
    fn all_old_rolls_the_active_segment_first() {
        let s = [seg(0, 100, 1), seg(10, 100, 2)];
        let mut i = input(&s, 20, 20);
        i.retention_ms = 1_000;
        let d = deletable_segments(&i);
        assert_eq!(d.count, 2);
        assert!(d.roll_first);
        assert_eq!(d.new_log_start_offset, 20);
    }

    #[test]
    fn never_past_the_high_watermark() {
        let s = [seg(0, 100, 1), seg(10, 100, 2), seg(20, 100, 3)];
        let mut i = input(&s, 30, 15);
        i.retention_ms = 1_000;
        let d = deletable_segments(&i);
        // Segment 10..20 ends above the HW 15: only the first goes.
        assert_eq!(d.count, 1);
        assert_eq!(d.new_log_start_offset, 10);
        // The active segment with everything below the HW but not the end.
        let mut i = input(&s, 30, 29);
        i.retention_ms = 1_000;
        assert_eq!(deletable_segments(&i).count, 2);
    }

    #[test]
    fn empty_active_segment_is_never_deleted() {
        let s = [seg(0, 100, 1), seg(10, 0, -1)];
        let mut i = input(&s, 10, 10);
        i.retention_ms = 1_000;
        let d = deletable_segments(&i);
        assert_eq!(d.count, 1);
        assert!(!d.roll_first);
        assert_eq!(d.new_log_start_offset, 10);
    }

    #[test]
    fn size_retention_deletes_oldest_while_over_the_limit() {
        let s = [seg(0, 100, 9_999), seg(10, 100, 9_999), seg(20, 100, 9_999), seg(30, 50, 9_999)];
        let mut i = input(&s, 40, 40);
        i.retention_bytes = 200; // total 350: 150 over; deleting 100 leaves 50 over, the next would undershoot
        let d = deletable_segments(&i);
        assert_eq!(d.count, 1);
        assert_eq!(d.reasons, vec![RetentionSizeBreach]);
        i.retention_bytes = 150; // exactly 200 over: two go
        assert_eq!(deletable_segments(&i).count, 2);
        i.retention_bytes = 350; // at the limit: nothing
        assert_eq!(deletable_segments(&i).count, 0);
        i.retention_bytes = 0; // everything, the active segment rolled first
        let d = deletable_segments(&i);
        assert_eq!(d.count, 4);
        assert!(d.roll_first);
    }

    #[test]
    fn time_then_size_passes_combine() {
        let s = [seg(0, 100, 1), seg(10, 100, 9_999), seg(20, 100, 9_999), seg(30, 100, 9_999)];
        let mut i = input(&s, 40, 40);
        i.retention_ms = 5_000;
        i.retention_bytes = 200; // after the time pass 300 remain: one more goes
        let d = deletable_segments(&i);
        assert_eq!(d.reasons, vec![RetentionMsBreach, RetentionSizeBreach]);
        assert_eq!(d.new_log_start_offset, 20);
    }

    #[test]
    fn log_start_offset_breach_applies_whatever_the_policy() {
        // DeleteRecords moved the start to 25: segments 0 and 10 end below it.
        let s = [seg(0, 100, 1), seg(10, 100, 1), seg(20, 100, 1), seg(30, 100, 1)];
        let mut i = input(&s, 40, 40);
        i.log_start_offset = 25;
        i.retention_ms = 1_000;
        i.delete_enabled = false; // compact-only: no time retention
        let d = deletable_segments(&i);
        assert_eq!(d.count, 2);
        assert_eq!(d.reasons, vec![LogStartOffsetBreach, LogStartOffsetBreach]);
        // The start offset stays where DeleteRecords put it.
        assert_eq!(d.new_log_start_offset, 25);
        // A start exactly at a segment base frees everything before it.
        i.log_start_offset = 30;
        assert_eq!(deletable_segments(&i).count, 3);
        // The last segment is never deleted by this pass.
        i.log_start_offset = 40;
        assert_eq!(deletable_segments(&i).count, 3);
    }

    #[test]
    fn nothing_with_high_watermark_at_start() {
        let s = [seg(0, 100, 1), seg(10, 100, 1)];
        let mut i = input(&s, 20, 0);
        i.retention_ms = 0;
        i.retention_bytes = 0;
        assert_eq!(deletable_segments(&i).count, 0);
    }
}
