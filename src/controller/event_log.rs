//! The controller's event log for the live view: a bounded, in-memory ring of
//! what this broker's KafkaController (and its ReplicaManager/Partition) just
//! did — the ZooKeeper watch that fired, the ControllerEvent processed, state
//! machine transitions, elections, fenced ZooKeeper writes, LeaderAndIsr /
//! UpdateMetadata / StopReplica sent and answered, ISR changes, truncations,
//! session re-registration. Kafka has no such thing (its state-change.log and
//! controller.log come closest); this one feeds the page served on
//! `metrics.port` (`server::cluster_view`).
//!
//! One per process (a broker is a process): hooks call [`record_event!`]
//! without plumbing. Recording takes a short mutex and never blocks on I/O;
//! the ring keeps the last [`CAPACITY`] entries, and each text is cut to
//! [`MAX_TEXT`] bytes, so memory stays bounded whatever happens.

use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Mutex, OnceLock};

/// Entries kept (older ones are dropped first).
pub const CAPACITY: usize = 4096;
/// Longest text kept per entry, in bytes.
pub const MAX_TEXT: usize = 600;

/// What kind of step an entry is (the page colours and filters by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    /// A ZooKeeper watch fired and queued a controller event.
    Watch,
    /// The controller took an event off its queue (BrokerChange, ...).
    Event,
    /// Controller election / resignation.
    Controller,
    /// A partition or replica state machine transition.
    StateChange,
    /// A partition leader was chosen (and why).
    Election,
    /// A write to ZooKeeper fenced by the controller epoch.
    ZkWrite,
    /// A request the controller sent to a broker.
    Request,
    /// A broker's answer to the controller.
    Response,
    /// A broker's own step (ISR shrink/expand, truncation, becoming leader or
    /// follower, session re-registration).
    Broker,
}

/// One step, as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Increases by one per entry in this process, from 1.
    pub seq: u64,
    /// Wall-clock milliseconds.
    pub time_ms: i64,
    pub kind: Kind,
    /// The zkafka source file that recorded it (`file!()`).
    pub source: &'static str,
    /// The Kafka class that does this step in Kafka 2.8.
    pub kafka_class: &'static str,
    pub text: String,
}

/// A bounded ring of entries.
#[derive(Debug)]
pub struct EventLog {
    capacity: usize,
    next_seq: u64,
    entries: VecDeque<Entry>,
}

impl EventLog {
    pub fn new(capacity: usize) -> Self {
        EventLog { capacity: capacity.max(1), next_seq: 1, entries: VecDeque::new() }
    }

    pub fn push(&mut self, time_ms: i64, kind: Kind, source: &'static str, kafka_class: &'static str, mut text: String) -> u64 {
        if text.len() > MAX_TEXT {
            let mut cut = MAX_TEXT;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push('…');
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(Entry { seq, time_ms, kind, source, kafka_class, text });
        seq
    }

    /// The sequence number of the newest entry (0 when none yet).
    pub fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// The oldest `limit` entries with `seq > since` (a reader that fell
    /// behind catches up over several reads, in order; what the ring already
    /// dropped is gone).
    pub fn since(&self, since: u64, limit: usize) -> Vec<Entry> {
        self.entries.iter().filter(|e| e.seq > since).take(limit).cloned().collect()
    }

    /// Where the next read after `since(since, ..)` returned `read` starts:
    /// after the last entry read; unchanged when nothing was new; and the
    /// newest seq when `since` is beyond it (this process restarted and
    /// counts from 1 again: a reader seeing its cursor go down starts over).
    pub fn cursor_after(&self, since: u64, read: &[Entry]) -> u64 {
        match read.last() {
            Some(e) => e.seq,
            None => since.min(self.last_seq()),
        }
    }
}

fn global() -> &'static Mutex<EventLog> {
    static LOG: OnceLock<Mutex<EventLog>> = OnceLock::new();
    LOG.get_or_init(|| Mutex::new(EventLog::new(CAPACITY)))
}

/// Appends to this process's log (used through [`record_event!`]).
pub fn record(kind: Kind, source: &'static str, kafka_class: &'static str, text: String) {
    let now = crate::common::now_ms();
    let mut log = global().lock().unwrap_or_else(|e| e.into_inner());
    log.push(now, kind, source, kafka_class, text);
}

/// (the oldest `limit` entries newer than `since`; the cursor for the next read).
pub fn snapshot(since: u64, limit: usize) -> (Vec<Entry>, u64) {
    let log = global().lock().unwrap_or_else(|e| e.into_inner());
    let read = log.since(since, limit);
    let cursor = log.cursor_after(since, &read);
    (read, cursor)
}

/// Up to `n` items joined with ", " and "and N more" (for entry texts that
/// name partitions: a failover of 1,000 partitions stays one readable line).
pub fn some<T: std::fmt::Display>(items: impl IntoIterator<Item = T>, n: usize) -> String {
    let mut shown = Vec::new();
    let mut more = 0usize;
    for i in items {
        if shown.len() < n {
            shown.push(i.to_string());
        } else {
            more += 1;
        }
    }
    let mut s = shown.join(", ");
    if more > 0 {
        s.push_str(&format!(" and {more} more"));
    }
    s
}

/// `record_event!(Kind::Election, "PartitionStateMachine", "Elected {} ...", x)`:
/// records a step with this source file's name.
#[macro_export]
macro_rules! record_event {
    ($kind:expr, $class:expr, $($fmt:tt)+) => {
        $crate::controller::event_log::record($kind, file!(), $class, format!($($fmt)+))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_is_bounded_and_numbered() {
        let mut log = EventLog::new(3);
        for i in 0..5 {
            log.push(i, Kind::Event, "src/x.rs", "KafkaController", format!("e{i}"));
        }
        assert_eq!(log.last_seq(), 5);
        let all = log.since(0, 100);
        assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4, 5], "oldest dropped first");
        assert_eq!(log.since(4, 100).len(), 1);
        assert!(log.since(5, 100).is_empty());
        let first = log.since(0, 2);
        assert_eq!(first.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4], "a limited read gives the oldest, in order");
        assert_eq!(log.cursor_after(0, &first), 4);
        let rest = log.since(4, 2);
        assert_eq!(rest.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![5]);
        assert_eq!(log.cursor_after(4, &rest), 5);
        assert_eq!(log.cursor_after(5, &[]), 5, "nothing new: cursor unchanged");
        assert_eq!(log.cursor_after(90, &[]), 5, "a cursor from before a restart comes back down");
    }

    #[test]
    fn long_texts_are_cut_on_a_char_boundary() {
        let mut log = EventLog::new(2);
        log.push(0, Kind::Broker, "f", "C", "é".repeat(MAX_TEXT));
        let e = &log.since(0, 1)[0];
        assert!(e.text.len() <= MAX_TEXT + '…'.len_utf8());
        assert!(e.text.ends_with('…'));
    }

    #[test]
    fn some_names_a_few_and_counts_the_rest() {
        assert_eq!(some([1, 2, 3], 5), "1, 2, 3");
        assert_eq!(some([1, 2, 3, 4], 2), "1, 2 and 2 more");
        assert_eq!(some(Vec::<i32>::new(), 2), "");
    }

    #[test]
    fn entries_serialize_for_the_page() {
        let mut log = EventLog::new(2);
        log.push(7, Kind::ZkWrite, "src/controller/partition_state_machine.rs", "ZkPartitionStateMachine", "x".into());
        let v = serde_json::to_value(&log.since(0, 1)[0]).unwrap();
        assert_eq!(v["kind"], "ZkWrite");
        assert_eq!(v["kafka_class"], "ZkPartitionStateMachine");
        assert_eq!(v["seq"], 1);
    }
}
