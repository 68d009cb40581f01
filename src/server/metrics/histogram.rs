//! Kafka's Yammer `Histogram` / `Timer` as atomics: counts per log-linear
//! bucket, so that recording is three relaxed atomic additions and no
//! allocation. The JMX exporter reads a histogram's `Count` and its
//! `50thPercentile` .. `999thPercentile`; we answer those from the samples of
//! the last one to two minutes (two windows that take turns), where Yammer
//! uses an exponentially decaying reservoir weighted to the last ~5 minutes.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets: 0..4 exact, then four per power of two up to 2^40.
const BUCKETS: usize = 4 + 38 * 4 + 4;
/// How long one window collects before the other takes over.
const WINDOW: Duration = Duration::from_secs(60);

/// The quantiles Kafka's MBeans expose, with the label the JMX exporter's
/// rules give them (`quantile: "0.$N"` from `$NthPercentile`).
pub const QUANTILES: [(f64, &str); 6] =
    [(0.50, "0.50"), (0.75, "0.75"), (0.95, "0.95"), (0.98, "0.98"), (0.99, "0.99"), (0.999, "0.999")];

pub fn bucket_of(v: u64) -> usize {
    if v < 4 {
        return v as usize;
    }
    let e = 63 - v.leading_zeros() as usize; // >= 2
    if e > 40 {
        return BUCKETS - 1;
    }
    let sub = ((v >> (e - 2)) & 3) as usize;
    4 + (e - 2) * 4 + sub
}

/// The value a bucket stands for (the middle of its range).
pub fn bucket_value(i: usize) -> f64 {
    if i < 4 {
        return i as f64;
    }
    let e = (i - 4) / 4 + 2;
    let sub = ((i - 4) % 4) as u64;
    let low = (4 + sub) << (e - 2);
    let width = 1u64 << (e - 2);
    low as f64 + (width as f64 - 1.0) / 2.0
}

struct Window {
    counts: Vec<AtomicU64>,
}

impl Window {
    fn new() -> Window {
        Window { counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect() }
    }
}

/// A histogram of non-negative integer samples (microseconds for times,
/// bytes for sizes); `scale` divides them when reported (1000 for ms).
pub struct Histogram {
    windows: [Window; 2],
    current: AtomicUsize,
    rotated: Mutex<Instant>,
    count: AtomicU64,
    sum: AtomicU64,
    scale: f64,
}

impl Histogram {
    pub fn new(scale: f64) -> Histogram {
        Histogram {
            windows: [Window::new(), Window::new()],
            current: AtomicUsize::new(0),
            rotated: Mutex::new(Instant::now()),
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            scale,
        }
    }

    /// A histogram of times, recorded with `record_duration`, reported in ms.
    pub fn timer() -> Histogram {
        Histogram::new(1000.0)
    }

    pub fn record(&self, v: u64) {
        let w = self.current.load(Ordering::Relaxed) & 1;
        self.windows[w].counts[bucket_of(v)].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(v, Ordering::Relaxed);
    }

    pub fn record_duration(&self, d: Duration) {
        self.record(d.as_micros().min(u64::MAX as u128) as u64);
    }

    /// Samples ever recorded (Yammer's `Count`).
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Sum of the samples ever recorded, in reported units.
    pub fn sum(&self) -> f64 {
        self.sum.load(Ordering::Relaxed) as f64 / self.scale
    }

    /// The reported quantiles (in `QUANTILES` order) of the recent samples;
    /// zeros when there are none, as Yammer reports an empty histogram.
    /// Called at scrape time: it also lets the windows take turns.
    pub fn quantiles(&self) -> [f64; 6] {
        self.maybe_rotate(Instant::now());
        let mut counts = vec![0u64; BUCKETS];
        for w in &self.windows {
            for (c, b) in counts.iter_mut().zip(&w.counts) {
                *c += b.load(Ordering::Relaxed);
            }
        }
        quantiles_of(&counts).map(|v| v / self.scale)
    }

    fn maybe_rotate(&self, now: Instant) {
        let mut at = self.rotated.lock().unwrap_or_else(|p| p.into_inner());
        if now.duration_since(*at) < WINDOW {
            return;
        }
        *at = now;
        // The older window is emptied and becomes the one recorded into.
        let old = (self.current.load(Ordering::Relaxed) + 1) & 1;
        for b in &self.windows[old].counts {
            b.store(0, Ordering::Relaxed);
        }
        self.current.store(old, Ordering::Relaxed);
    }
}

/// Quantiles of a bucketed distribution: for each q the value of the bucket
/// holding the sample of rank ceil(q * n).
pub fn quantiles_of(counts: &[u64]) -> [f64; 6] {
    let n: u64 = counts.iter().sum();
    let mut out = [0.0; 6];
    if n == 0 {
        return out;
    }
    for (slot, (q, _)) in out.iter_mut().zip(QUANTILES) {
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                *slot = bucket_value(i);
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_close() {
        let mut last = 0;
        for v in [0u64, 1, 3, 4, 5, 7, 8, 100, 1000, 123_456, 1 << 39, (1 << 41) - 1] {
            let b = bucket_of(v);
            assert!(b >= last, "bucket of {v}");
            last = b;
            let rep = bucket_value(b);
            // Within a quarter of the power of two (log-linear, 4 per octave).
            assert!((rep - v as f64).abs() <= (v as f64) / 4.0 + 0.5, "{v} -> {rep}");
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_of_known_samples() {
        let h = Histogram::new(1.0);
        for v in 1..=100u64 {
            h.record(v);
        }
        assert_eq!(h.count(), 100);
        assert_eq!(h.sum(), 5050.0);
        let q = h.quantiles();
        // The median is near 50, the 99th near 99 (bucket resolution ~12%).
        assert!((q[0] - 50.0).abs() <= 7.0, "{q:?}");
        assert!((q[4] - 99.0).abs() <= 12.0, "{q:?}");
        assert!(q.windows(2).all(|w| w[0] <= w[1]), "{q:?}");
        assert_eq!(Histogram::timer().quantiles(), [0.0; 6]);
    }

    #[test]
    fn timers_report_milliseconds() {
        let h = Histogram::timer();
        h.record_duration(Duration::from_millis(20));
        let q = h.quantiles();
        assert!((q[0] - 20.0).abs() <= 3.0, "{q:?}");
        assert!((h.sum() - 20.0).abs() < 1e-9);
    }

    #[test]
    fn old_window_is_forgotten() {
        let h = Histogram::new(1.0);
        h.record(1000);
        // Two turns: the sample's window is emptied.
        h.maybe_rotate(Instant::now() + WINDOW);
        h.maybe_rotate(Instant::now() + 3 * WINDOW);
        assert_eq!(h.quantiles(), [0.0; 6]);
        assert_eq!(h.count(), 1, "the count is for ever, as Yammer's");
    }
}
