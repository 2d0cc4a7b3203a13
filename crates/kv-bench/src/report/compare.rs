//! Figures derived from the results: our engines against the best peer, the
//! harness's own cost (the `null` engine), and one representative
//! amplification figure per engine.

use crate::results::{RunReport, WorkloadResult};
use crate::settings::Settings;

/// Largest acceptable harness cost, as a share of the fastest real engine's
/// time per operation.
pub const HARNESS_COST_LIMIT: f64 = 0.10;

/// Name of the engine that does nothing (the harness-cost baseline).
pub const NULL_ENGINE: &str = "null";

/// Workload names in the order they appear in `results`.
pub fn workloads(results: &[WorkloadResult]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in results {
        if !out.contains(&r.workload) {
            out.push(r.workload.clone());
        }
    }
    out
}

/// Engine names in the order they appear in `results`.
pub fn engines(results: &[WorkloadResult]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in results {
        if !out.contains(&r.engine) {
            out.push(r.engine.clone());
        }
    }
    out
}

/// The result of `engine` on `workload`.
pub fn find<'a>(
    results: &'a [WorkloadResult],
    engine: &str,
    workload: &str,
) -> Option<&'a WorkloadResult> {
    results
        .iter()
        .find(|r| r.engine == engine && r.workload == workload)
}

/// True for a peer: a persistent engine that is not ours.
pub fn is_peer(r: &WorkloadResult) -> bool {
    !r.ours && r.persistent
}

/// True for an engine that stores data for real (not `memory`, not `null`).
pub fn is_real(r: &WorkloadResult) -> bool {
    r.persistent
}

/// One of our engines against the fastest peer on one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerRatio {
    /// Workload.
    pub workload: String,
    /// Our engine.
    pub engine: String,
    /// Its throughput.
    pub ops_per_sec: f64,
    /// The fastest peer on this workload.
    pub best_peer: String,
    /// The peer's throughput.
    pub best_peer_ops_per_sec: f64,
    /// `ops_per_sec / best_peer_ops_per_sec` (above 1: ours is faster).
    pub ratio: f64,
}

/// For each workload and each of our persistent engines: its throughput over
/// the best peer's. Empty when no peer ran.
pub fn ratios_to_best_peer(results: &[WorkloadResult]) -> Vec<PeerRatio> {
    let mut out = Vec::new();
    for workload in workloads(results) {
        let on: Vec<_> = results.iter().filter(|r| r.workload == workload).collect();
        let Some(best) = on
            .iter()
            .filter(|r| is_peer(r) && r.ops_per_sec > 0.0)
            .max_by(|a, b| a.ops_per_sec.total_cmp(&b.ops_per_sec))
        else {
            continue;
        };
        for ours in on.iter().filter(|r| r.ours && r.persistent) {
            out.push(PeerRatio {
                workload: workload.clone(),
                engine: ours.engine.clone(),
                ops_per_sec: ours.ops_per_sec,
                best_peer: best.engine.clone(),
                best_peer_ops_per_sec: best.ops_per_sec,
                ratio: ours.ops_per_sec / best.ops_per_sec,
            });
        }
    }
    out
}

/// The harness's cost on one workload: the `null` engine's time per
/// operation against the fastest real engine's.
#[derive(Debug, Clone, PartialEq)]
pub struct HarnessCost {
    /// Workload.
    pub workload: String,
    /// Time per operation of the `null` engine (pure harness), ns.
    pub null_ns_per_op: f64,
    /// The fastest persistent engine on this workload.
    pub fastest_engine: String,
    /// Its time per operation, ns.
    pub fastest_ns_per_op: f64,
    /// `null_ns_per_op / fastest_ns_per_op`.
    pub share: f64,
}

impl HarnessCost {
    /// True if the harness costs less than [`HARNESS_COST_LIMIT`] of the
    /// fastest engine's time.
    pub fn within_limit(&self) -> bool {
        self.share < HARNESS_COST_LIMIT
    }
}

/// Harness cost per workload (needs the `null` engine and a real one).
pub fn harness_cost(results: &[WorkloadResult]) -> Vec<HarnessCost> {
    let mut out = Vec::new();
    for workload in workloads(results) {
        let Some(null) = find(results, NULL_ENGINE, &workload).filter(|r| r.ops > 0) else {
            continue;
        };
        let Some(fastest) = results
            .iter()
            .filter(|r| r.workload == workload && is_real(r) && r.ops > 0)
            .min_by(|a, b| a.ns_per_op.total_cmp(&b.ns_per_op))
        else {
            continue;
        };
        out.push(HarnessCost {
            workload,
            null_ns_per_op: null.ns_per_op,
            fastest_engine: fastest.engine.clone(),
            fastest_ns_per_op: fastest.ns_per_op,
            share: null.ns_per_op / fastest.ns_per_op,
        });
    }
    out
}

/// A figure with the workload it was taken from.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// The value.
    pub value: f64,
    /// The workload it comes from.
    pub workload: String,
}

/// One representative figure of each amplification for one engine.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AmplificationSummary {
    /// Engine.
    pub engine: String,
    /// `wchar` bytes per user byte, from the preferred write workload.
    pub write_amp_wchar: Option<Figure>,
    /// Device (`write_bytes - cancelled_write_bytes`) bytes per user byte,
    /// same workload.
    pub write_amp_device: Option<Figure>,
    /// `Fs` bytes per user byte (kvlab engines), same workload.
    pub write_amp_fs: Option<Figure>,
    /// `rchar` per read, from the preferred read workload.
    pub rchar_per_read: Option<Figure>,
    /// `Fs` bytes read per read (kvlab engines), same workload.
    pub fs_bytes_per_read: Option<Figure>,
    /// Space amplification after the last workload that was followed by a
    /// compaction, before compacting.
    pub space_amp: Option<Figure>,
    /// The same store after `compact()`.
    pub space_amp_after_compact: Option<Figure>,
}

/// Write workloads, most representative first.
const WRITE_PREFERENCE: [&str; 4] = ["fillrandom", "fillseq", "overwrite", "churn"];
/// Read workloads, most representative first.
const READ_PREFERENCE: [&str; 3] = ["readrandom", "ycsb-c", "ycsb-b"];

fn pick<'a>(
    mine: &[&'a WorkloadResult],
    preference: &[&str],
    usable: impl Fn(&WorkloadResult) -> bool,
) -> Option<&'a WorkloadResult> {
    preference
        .iter()
        .find_map(|w| mine.iter().copied().find(|r| r.workload == *w && usable(r)))
        .or_else(|| mine.iter().copied().find(|r| usable(r)))
}

fn figure(r: &WorkloadResult, value: Option<f64>) -> Option<Figure> {
    value.map(|value| Figure {
        value,
        workload: r.workload.clone(),
    })
}

/// The representative amplification figures of every engine.
pub fn amplification_summary(results: &[WorkloadResult]) -> Vec<AmplificationSummary> {
    engines(results)
        .into_iter()
        .map(|engine| {
            let mine: Vec<_> = results.iter().filter(|r| r.engine == engine).collect();
            let mut s = AmplificationSummary {
                engine,
                ..AmplificationSummary::default()
            };
            if let Some(w) = pick(&mine, &WRITE_PREFERENCE, |r| r.user_bytes_written > 0) {
                s.write_amp_wchar = figure(w, w.write_amp_wchar);
                s.write_amp_device = figure(w, w.write_amp_device);
                s.write_amp_fs = figure(w, w.write_amp_fs);
            }
            if let Some(r) = pick(&mine, &READ_PREFERENCE, |r| {
                r.reads > 0 && r.items_scanned == 0
            }) {
                s.rchar_per_read = figure(r, r.rchar_per_read);
                s.fs_bytes_per_read = figure(r, r.read_bytes_per_read_fs);
            }
            if let Some(c) = mine.iter().rev().find(|r| r.compaction.is_some()) {
                s.space_amp = figure(c, c.space_amp);
                s.space_amp_after_compact = figure(c, c.compaction.and_then(|k| k.space_amp_after));
            }
            s
        })
        .collect()
}

/// The engines of the comparison charts: every engine but `null` (whose
/// cost is the harness's, shown in the harness-cost table instead).
pub fn chart_engines(results: &[WorkloadResult]) -> Vec<String> {
    engines(results)
        .into_iter()
        .filter(|e| e != NULL_ENGINE)
        .collect()
}

/// True if `engine` reads through a memory map, so its reads bypass both
/// kvlab's `Fs` counters and `rchar` (page faults are not system calls):
/// its read amplification is not measurable by kv-bench. Taken from the
/// registry's description of what the engine does with the cache budget
/// (recorded in the run's settings, so it holds for a JSON read back).
pub fn reads_bypass_counters(settings: &Settings, engine: &str) -> bool {
    settings
        .cache_of(engine)
        .is_some_and(|cache| cache.contains("mmap"))
}

/// The spread of a workload run several times on one engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Spread {
    /// Runs measured.
    pub runs: usize,
    /// Median throughput (the mean of the middle two for an even count).
    pub median: f64,
    /// Slowest run.
    pub min: f64,
    /// Fastest run.
    pub max: f64,
}

impl Spread {
    /// The spread of `values` (`None` if empty).
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Spread {
            runs: n,
            median,
            min: v[0],
            max: v[n - 1],
        })
    }
}

/// Throughput of every run of `engine` on `workload`: the main result and
/// its repeats.
pub fn runs_of(report: &RunReport, engine: &str, workload: &str) -> Vec<f64> {
    report
        .results
        .iter()
        .chain(&report.repeats)
        .filter(|r| r.engine == engine && r.workload == workload && r.ops > 0)
        .map(|r| r.ops_per_sec)
        .collect()
}

/// The throughput a chart shows for `engine` on `workload`: the median of
/// its runs when the workload was repeated, else its one run.
pub fn typical_ops(report: &RunReport, engine: &str, workload: &str) -> Option<f64> {
    Spread::of(&runs_of(report, engine, workload)).map(|s| s.median)
}

/// The peer with the highest [`typical_ops`] on `workload`, and that figure.
pub fn best_peer(report: &RunReport, workload: &str) -> Option<(String, f64)> {
    report
        .results
        .iter()
        .filter(|r| r.workload == workload && is_peer(r))
        .filter_map(|r| typical_ops(report, &r.engine, workload).map(|v| (r.engine.clone(), v)))
        .filter(|(_, v)| *v > 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// Bytes of one record as the user sees it: key plus value.
pub fn record_bytes(settings: &Settings) -> f64 {
    (settings.config.key_size + settings.config.value_size) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_median_min_and_max() {
        let s = Spread::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.runs, s.median, s.min, s.max), (3, 2.0, 1.0, 3.0));
        let s = Spread::of(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.median, 2.5);
        assert_eq!(Spread::of(&[]), None);
    }
}
