//! Kafka's `DelayedOperationPurgatory` gauges (`kafka.server:type=
//! DelayedOperationPurgatory,name=PurgatorySize|NumDelayedOperations,
//! delayedOperation=Produce|Fetch|DeleteRecords`). zkafka's delayed
//! operations are waiting tasks rather than entries in a timing wheel: each
//! holds a `Delayed` guard while it waits, so both gauges count the waiting
//! operations.

use super::{Kind, MetricsText};
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Clone, Copy, Debug)]
pub enum DelayedOperation {
    Produce = 0,
    Fetch = 1,
    DeleteRecords = 2,
}

const NAMES: [&str; 3] = ["Produce", "Fetch", "DeleteRecords"];

#[derive(Default)]
pub struct DelayedOperationPurgatoryMetrics {
    waiting: [AtomicI64; 3],
}

/// Counts one waiting operation until dropped.
pub struct Delayed(DelayedOperation);

impl Drop for Delayed {
    fn drop(&mut self) {
        super::metrics().purgatory.waiting[self.0 as usize].fetch_sub(1, Ordering::Relaxed);
    }
}

/// A delayed operation starts waiting.
pub fn delayed(op: DelayedOperation) -> Delayed {
    super::metrics().purgatory.waiting[op as usize].fetch_add(1, Ordering::Relaxed);
    Delayed(op)
}

impl DelayedOperationPurgatoryMetrics {
    pub fn waiting(&self, op: DelayedOperation) -> i64 {
        self.waiting[op as usize].load(Ordering::Relaxed)
    }

    pub fn write(&self, t: &mut MetricsText) {
        for (part, help) in [
            ("purgatorysize", "PurgatorySize: operations waiting in the purgatory"),
            ("numdelayedoperations", "NumDelayedOperations: delayed operations not yet completed"),
        ] {
            let name = format!("kafka_server_delayedoperationpurgatory_{part}");
            t.family(&name, Kind::Gauge, help);
            for (i, op) in NAMES.iter().enumerate() {
                t.sample(&name, &[("delayedOperation", op)], self.waiting[i].load(Ordering::Relaxed).max(0) as f64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_counts_while_waiting() {
        let before = super::super::metrics().purgatory.waiting(DelayedOperation::DeleteRecords);
        let g = delayed(DelayedOperation::DeleteRecords);
        assert_eq!(super::super::metrics().purgatory.waiting(DelayedOperation::DeleteRecords), before + 1);
        drop(g);
        assert_eq!(super::super::metrics().purgatory.waiting(DelayedOperation::DeleteRecords), before);
    }
}
