//! The figures of `docs/choosing.md`, the guide to picking an engine,
//! computed from one run's JSON: per workload shape (write-heavy, durable
//! writes, read-heavy, range scans, mixed, small memory, fast restart,
//! space, large values) the winner, by how much, and each of our engines
//! against the best peer.
//!
//! `kv-bench --from-json RUN.json --guide docs/choosing.md` rewrites the
//! guide's generated blocks ([`document`]) from these figures
//! ([`render`]); the test `tests/choosing_guide_matches_its_json.rs`
//! regenerates them from the JSON the guide names and fails if the guide
//! differs, and [`claims`] checks the prose around them: no figure outside
//! the generated blocks, and every bold claim (`**bitcask wins**`, `**lsm
//! loses**`, `**redb beats btree**`) true of that run.

pub mod claims;
pub mod document;
pub mod render;

use super::compare::{best_peer, typical_ops, NULL_ENGINE};
use crate::results::RunReport;

/// What decides a shape's winner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Throughput over the shape's workloads (higher is better): the
    /// geometric mean of each engine's ops/s (the median of repeated runs).
    Throughput(&'static [&'static str]),
    /// The engine's peak RSS over the whole run (lower is better).
    PeakRss,
    /// The first open after a SIGKILL (lower is better).
    CrashRecovery,
    /// Space amplification after the last compaction (lower is better).
    SpaceAfterCompact,
}

/// One workload shape of the guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// The name of its generated block (`<!-- BEGIN generated: NAME ... -->`).
    pub block: &'static str,
    /// Its name in the at-a-glance table.
    pub title: &'static str,
    /// What decides the winner.
    pub metric: Metric,
}

/// The shapes, in the guide's order. A throughput shape uses those of its
/// workloads that the run has; a shape with none is "not measured".
pub const SHAPES: [Shape; 9] = [
    Shape {
        block: "write-heavy",
        title: "write-heavy (fill, overwrite, churn)",
        metric: Metric::Throughput(&[
            "fillseq",
            "fillrandom",
            "overwrite",
            "overwrite3x",
            "churn",
            "deleterandom",
        ]),
    },
    Shape {
        block: "durable-writes",
        title: "durable writes (each synced)",
        metric: Metric::Throughput(&["fillsync"]),
    },
    Shape {
        block: "read-heavy",
        title: "read-heavy (point gets)",
        metric: Metric::Throughput(&["readrandom", "readmissing", "ycsb-c"]),
    },
    Shape {
        block: "range-scans",
        title: "range scans",
        metric: Metric::Throughput(&["readseq", "readreverse", "seekrandom", "ycsb-e"]),
    },
    Shape {
        block: "mixed",
        title: "mixed (YCSB) and reads under a writer",
        metric: Metric::Throughput(&["ycsb-a", "ycsb-b", "ycsb-d", "ycsb-f", "readwhilewriting"]),
    },
    Shape {
        block: "memory",
        title: "small memory (peak RSS)",
        metric: Metric::PeakRss,
    },
    Shape {
        block: "restart",
        title: "fast restart after a crash",
        metric: Metric::CrashRecovery,
    },
    Shape {
        block: "space",
        title: "space (disk over live data, after compaction)",
        metric: Metric::SpaceAfterCompact,
    },
    Shape {
        block: "large-values",
        title: "large values",
        metric: Metric::Throughput(&[]),
    },
];

/// Values at least this large make a run a large-value run: the
/// `large-values` shape then reports the run's throughput shapes.
pub const LARGE_VALUE_BYTES: usize = 1024;

/// The shape whose generated block is `block`.
pub fn shape(block: &str) -> Option<&'static Shape> {
    SHAPES.iter().find(|s| s.block == block)
}

/// An engine's score on a shape, with the direction of "better".
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// Engine name.
    pub engine: String,
    /// The figure (ops/s, bytes, seconds or a ratio, per [`Metric`]).
    pub value: f64,
}

/// A shape's figures: every engine's score, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeFigures {
    /// The shape.
    pub shape: Shape,
    /// The workloads of the run that belong to it (throughput shapes).
    pub workloads: Vec<String>,
    /// Every scored engine, best first (empty: not measured by this run).
    pub ranking: Vec<Score>,
    /// True if higher values are better.
    pub higher_is_better: bool,
}

impl ShapeFigures {
    /// The best engine.
    pub fn winner(&self) -> Option<&Score> {
        self.ranking.first()
    }

    /// How much better the winner is than the runner-up (at least 1).
    pub fn margin(&self) -> Option<f64> {
        let (a, b) = (self.ranking.first()?, self.ranking.get(1)?);
        let m = if self.higher_is_better {
            a.value / b.value
        } else {
            b.value / a.value
        };
        m.is_finite().then_some(m)
    }

    /// The score of `engine`.
    pub fn score(&self, engine: &str) -> Option<f64> {
        self.ranking
            .iter()
            .find(|s| s.engine == engine)
            .map(|s| s.value)
    }

    /// True if `a` scored strictly better than `b`.
    pub fn better(&self, a: &str, b: &str) -> Option<bool> {
        let (x, y) = (self.score(a)?, self.score(b)?);
        Some(if self.higher_is_better { x > y } else { x < y })
    }
}

/// The engines the guide compares: every engine that ran, in run order,
/// except `null` and engines that keep nothing on disk.
pub fn guide_engines(report: &RunReport) -> Vec<String> {
    report
        .engines
        .iter()
        .map(|e| e.engine.clone())
        .filter(|e| e != NULL_ENGINE && is_persistent(report, e))
        .collect()
}

/// True if `engine` is one of ours.
pub fn is_ours(report: &RunReport, engine: &str) -> bool {
    report.results.iter().any(|r| r.engine == engine && r.ours)
}

fn is_persistent(report: &RunReport, engine: &str) -> bool {
    report
        .results
        .iter()
        .any(|r| r.engine == engine && r.persistent)
}

/// The run's workloads that belong to `names`, in run order.
pub fn present(report: &RunReport, names: &[&str]) -> Vec<String> {
    super::compare::workloads(&report.results)
        .into_iter()
        .filter(|w| names.contains(&w.as_str()))
        .collect()
}

fn geomean(values: &[f64]) -> Option<f64> {
    if values.is_empty() || values.iter().any(|v| *v <= 0.0 || !v.is_finite()) {
        return None;
    }
    Some((values.iter().map(|v| v.ln()).sum::<f64>() / values.len() as f64).exp())
}

/// Geometric mean of `engine`'s throughput over `workloads` (`None` if it
/// lacks one of them).
pub fn throughput_score(report: &RunReport, engine: &str, workloads: &[String]) -> Option<f64> {
    let ops: Option<Vec<f64>> = workloads
        .iter()
        .map(|w| typical_ops(report, engine, w))
        .collect();
    geomean(&ops?)
}

/// Geometric mean over `workloads` of `engine`'s throughput over the best
/// peer's on each (above 1: faster than the best peer).
pub fn ratio_to_best_peer(report: &RunReport, engine: &str, workloads: &[String]) -> Option<f64> {
    let ratios: Option<Vec<f64>> = workloads
        .iter()
        .map(|w| Some(typical_ops(report, engine, w)? / best_peer(report, w)?.1))
        .collect();
    geomean(&ratios?)
}

fn workloads_of(report: &RunReport, shape: &Shape) -> Vec<String> {
    match shape.metric {
        Metric::Throughput(names) if shape.block == "large-values" => {
            if report.settings.config.value_size >= LARGE_VALUE_BYTES {
                let all: Vec<&str> = SHAPES
                    .iter()
                    .filter_map(|s| match s.metric {
                        Metric::Throughput(n) => Some(n),
                        _ => None,
                    })
                    .flatten()
                    .copied()
                    .chain(names.iter().copied())
                    .collect();
                present(report, &all)
            } else {
                Vec::new()
            }
        }
        Metric::Throughput(names) => present(report, names),
        _ => Vec::new(),
    }
}

fn other_score(report: &RunReport, metric: Metric, engine: &str) -> Option<f64> {
    let run = report.engines.iter().find(|e| e.engine == engine)?;
    match metric {
        Metric::PeakRss => run.peak_rss_bytes.map(|b| b as f64),
        Metric::CrashRecovery => run.crash_recovery_secs,
        Metric::SpaceAfterCompact => super::compare::amplification_summary(&report.results)
            .into_iter()
            .find(|s| s.engine == engine)?
            .space_amp_after_compact
            .map(|f| f.value),
        Metric::Throughput(_) => None,
    }
}

/// The figures of `shape` in `report`.
pub fn figures(report: &RunReport, shape: &Shape) -> ShapeFigures {
    let workloads = workloads_of(report, shape);
    let higher_is_better = matches!(shape.metric, Metric::Throughput(_));
    let mut ranking: Vec<Score> = guide_engines(report)
        .into_iter()
        .filter_map(|engine| {
            let value = match shape.metric {
                Metric::Throughput(_) if workloads.is_empty() => None,
                Metric::Throughput(_) => throughput_score(report, &engine, &workloads),
                other => other_score(report, other, &engine),
            }?;
            value.is_finite().then_some(Score { engine, value })
        })
        .collect();
    ranking.sort_by(|a, b| {
        if higher_is_better {
            b.value.total_cmp(&a.value)
        } else {
            a.value.total_cmp(&b.value)
        }
    });
    ShapeFigures {
        shape: *shape,
        workloads,
        ranking,
        higher_is_better,
    }
}

/// The best peer on a non-throughput shape (or on the throughput score).
pub fn best_peer_of(report: &RunReport, figures: &ShapeFigures) -> Option<Score> {
    figures
        .ranking
        .iter()
        .find(|s| !is_ours(report, &s.engine))
        .cloned()
}

/// How `engine` compares with the best peer on `figures`, as a factor
/// where above 1 means better than the best peer: for throughput shapes
/// the geometric mean of per-workload ratios; otherwise the peer's figure
/// over ours (lower is better there).
pub fn versus_best_peer(report: &RunReport, figures: &ShapeFigures, engine: &str) -> Option<f64> {
    if figures.higher_is_better {
        return ratio_to_best_peer(report, engine, &figures.workloads);
    }
    let ours = figures.score(engine)?;
    let peer = best_peer_of(report, figures)?.value;
    let v = peer / ours;
    v.is_finite().then_some(v)
}
