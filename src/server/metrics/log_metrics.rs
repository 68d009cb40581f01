//! Kafka's `Log` gauges (`kafka.log:type=Log,name=Size|LogStartOffset|
//! LogEndOffset|NumLogSegments,topic=t,partition=p`), read from the
//! LogManager's logs at scrape time, and `LogFlushStats`
//! (`kafka.log:type=LogFlushStats,name=LogFlushRateAndTimeMs`), recorded by
//! `Log::flush`.

use super::histogram::Histogram;
use super::{Kind, MetricsText};
use crate::log::LogManager;

pub struct LogFlushStats {
    pub log_flush_rate_and_time: Histogram,
}

impl Default for LogFlushStats {
    fn default() -> Self {
        LogFlushStats { log_flush_rate_and_time: Histogram::timer() }
    }
}

/// Times one flush into LogFlushRateAndTimeMs (`Log.flush`), when dropped.
pub struct FlushTimer(std::time::Instant);

impl FlushTimer {
    pub fn start() -> FlushTimer {
        FlushTimer(std::time::Instant::now())
    }
}

impl Drop for FlushTimer {
    fn drop(&mut self) {
        super::metrics().log_flush.log_flush_rate_and_time.record_duration(self.0.elapsed());
    }
}

pub fn write(t: &mut MetricsText, lm: &LogManager) {
    let mut logs: Vec<_> = lm.all_logs().into_iter().map(|l| (l.topic_partition().clone(), l)).collect();
    logs.sort_by(|a, b| a.0.cmp(&b.0));
    type Get = fn(&crate::log::Log) -> f64;
    let gauges: [(&str, &str, Get); 4] = [
        ("size", "Size: bytes of the partition's log", |l| l.size_in_bytes() as f64),
        ("logstartoffset", "LogStartOffset", |l| l.log_start_offset() as f64),
        ("logendoffset", "LogEndOffset", |l| l.log_end_offset() as f64),
        ("numlogsegments", "NumLogSegments", |l| l.num_segments() as f64),
    ];
    for (part, help, get) in gauges {
        let name = format!("kafka_log_log_{part}");
        t.family(&name, Kind::Gauge, help);
        for (tp, log) in &logs {
            t.sample(&name, &[("topic", &tp.topic), ("partition", &tp.partition.to_string())], get(log));
        }
    }
    let h = &super::metrics().log_flush.log_flush_rate_and_time;
    t.histogram_families("kafka_log_logflushstats_logflushrateandtimems", "LogFlushRateAndTimeMs: log flushes (fsync)", [(Vec::new(), h)]);
}
