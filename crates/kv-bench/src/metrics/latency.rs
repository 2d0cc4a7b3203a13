//! Latency: an hdrhistogram per thread, merged, summarized as percentiles.
//!
//! # What one sample is
//!
//! The runner reads the clock ([`super::clock::Clock`]) once per operation: a sample is the time from
//! the end of the previous operation to the end of this one, so it includes
//! the harness's own work for the operation (drawing the next index, making
//! the key), which the `null` engine measures. For a write batch of `n`
//! operations, the batch's time divided by `n` is recorded `n` times. For a
//! full scan (`readseq`, `readreverse`) each item is one operation.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Largest latency the histogram resolves (one hour, in nanoseconds); larger
/// samples are recorded as this value.
pub const MAX_TRACKABLE_NS: u64 = 3_600_000_000_000;

/// Significant decimal digits kept per sample (0.1% resolution).
const SIGNIFICANT_DIGITS: u8 = 3;

/// Per-thread latency recorder.
#[derive(Debug, Clone)]
pub struct LatencyRecorder {
    histogram: Histogram<u64>,
}

impl Default for LatencyRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyRecorder {
    /// An empty recorder.
    pub fn new() -> Self {
        // Creation fails only for bounds or digits out of range; ours are
        // valid constants, checked by the tests.
        #[allow(clippy::expect_used)]
        let histogram = Histogram::new_with_bounds(1, MAX_TRACKABLE_NS, SIGNIFICANT_DIGITS)
            .expect("constant histogram bounds are valid");
        Self { histogram }
    }

    /// Records one operation of `ns` nanoseconds.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.histogram.saturating_record(ns);
    }

    /// Records `count` operations of `ns` nanoseconds each.
    #[inline]
    pub fn record_n(&mut self, ns: u64, count: u64) {
        self.histogram.saturating_record_n(ns, count);
    }

    /// Adds every sample of `other`, exactly: the result is the histogram
    /// that recording every sample of both into one recorder would give
    /// (same bucket counts, same min, max and percentiles).
    ///
    /// Uses `Histogram::add`, which adds bucket counts one to one. Every
    /// recorder has the same bounds ([`MAX_TRACKABLE_NS`], 3 digits), so the
    /// addition always fits; were it ever refused, each bucket of `other` is
    /// recorded at its lowest value instead (same counts, a bucket's
    /// low edge rather than the top edge).
    pub fn merge(&mut self, other: &LatencyRecorder) {
        if self.histogram.add(&other.histogram).is_err() {
            for value in other.histogram.iter_recorded() {
                let low = other.histogram.lowest_equivalent(value.value_iterated_to());
                self.histogram
                    .saturating_record_n(low, value.count_at_value());
            }
        }
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// The percentiles.
    pub fn summary(&self) -> LatencySummary {
        let h = &self.histogram;
        if h.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            samples: h.len(),
            mean_ns: h.mean(),
            p50_ns: h.value_at_quantile(0.50),
            p99_ns: h.value_at_quantile(0.99),
            p999_ns: h.value_at_quantile(0.999),
            max_ns: h.max(),
        }
    }
}

/// Latency percentiles of one workload, in nanoseconds (hdrhistogram values:
/// accurate to 0.1%).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Samples recorded (operations).
    pub samples: u64,
    /// Mean.
    pub mean_ns: f64,
    /// Median.
    pub p50_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// Largest sample.
    pub max_ns: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut a = LatencyRecorder::new();
        for ns in 1..=1000 {
            a.record(ns * 1000);
        }
        let mut b = LatencyRecorder::new();
        b.record_n(5_000_000, 10);
        a.merge(&b);
        let s = a.summary();
        assert_eq!(s.samples, 1010);
        assert!((495_000..=510_000).contains(&s.p50_ns), "{s:?}");
        assert!((985_000..=1_000_999).contains(&s.p99_ns), "{s:?}");
        assert!((4_990_000..=5_010_000).contains(&s.max_ns), "{s:?}");
        assert_eq!(LatencyRecorder::new().summary(), LatencySummary::default());
    }

    /// Merging per-thread recorders must give exactly what one recorder of
    /// every sample gives: bucket counts, min, max and every percentile (a
    /// merge that re-records each bucket's top edge moves the minimum up and
    /// loses the exact extremes).
    #[test]
    fn merge_equals_recording_every_sample_in_one_recorder() {
        use rand::rngs::Xoshiro256PlusPlus;
        use rand::{RngExt, SeedableRng};

        let guard =
            kv_core::testkit::SeedGuard::new("merge_equals_recording_every_sample_in_one_recorder");
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(guard.seed());
        let mut threads = vec![LatencyRecorder::new(); 3];
        let mut single = LatencyRecorder::new();
        for i in 0..30_000u64 {
            // Log-uniform from 100 ns to about 100 ms: many buckets, and
            // samples that are not on a bucket's edge.
            let ns = (100.0 * 10f64.powf(rng.random::<f64>() * 6.0)) as u64;
            threads[(i % 3) as usize].record(ns);
            single.record(ns);
        }
        threads[1].record_n(1_234_567, 7);
        single.record_n(1_234_567, 7);
        let mut merged = LatencyRecorder::new();
        for recorder in &threads {
            merged.merge(recorder);
        }
        assert_eq!(merged.summary(), single.summary());
        assert_eq!(merged.histogram.min_nz(), single.histogram.min_nz());
        assert_eq!(merged.histogram, single.histogram);
        for quantile in [0.1, 0.5, 0.9, 0.99, 0.999, 0.9999] {
            assert_eq!(
                merged.histogram.value_at_quantile(quantile),
                single.histogram.value_at_quantile(quantile),
                "quantile {quantile}"
            );
        }
    }
}
