//! The scaling sweep, `--scale 100k,1M,10M`: how each engine's cost grows
//! with its data.
//!
//! For each key count, in ascending order, every engine (but `null`) runs
//! [`SCALE_WORKLOADS`] with `--num` set to that count and every other option
//! as given, each engine in its own child process (so its peak RSS is its
//! own). The sweep records, per count and engine, the whole results; the
//! report draws `scale.svg` (ops/s, write and space amplification, peak RSS
//! against the key count) and writes `scale.md`.
//!
//! It is never part of the default run: its duration grows with the largest
//! count (measured figures are in `docs/benchmarking.md`).

use std::path::Path;
use std::time::Instant;

use kv_core::Result;
use serde::{Deserialize, Serialize};

use crate::cli::MAX_NUM;
use crate::machine::MachineInfo;
use crate::report::compare::NULL_ENGINE;
use crate::results::{EngineRun, WorkloadResult};
use crate::runner::{self, child::run_child};
use crate::settings::{Isolation, Settings};
use crate::workload::Workload;

/// What runs at each key count: a random load, random reads of it, and a
/// pass of random overwrites (whose write and space amplification show
/// what the engine's merging or page rewriting costs at that size).
pub const SCALE_WORKLOADS: [Workload; 3] = [
    Workload::FillRandom,
    Workload::ReadRandom,
    Workload::Overwrite,
];

/// Key counts of a sweep, ascending, without duplicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCounts(pub Vec<u64>);

/// One count, `100k`, `1M`, `2.5m` or `250000` (suffix `k` = 1,000 and `m`
/// = 1,000,000, either case).
fn parse_count(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let (number, factor) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1e3),
        Some('m' | 'M') => (&t[..t.len() - 1], 1e6),
        _ => (t, 1.0),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{t}' is not a key count (e.g. 100k, 1M, 250000)"))?;
    let count = value * factor;
    if count.fract() != 0.0 || count < 1.0 || count > MAX_NUM as f64 {
        return Err(format!(
            "key count '{t}' is out of range: use a whole number from 1 to {MAX_NUM}"
        ));
    }
    Ok(count as u64)
}

/// Parses `--scale`: comma-separated key counts.
///
/// # Errors
/// A one-line message naming the bad count.
pub fn parse_counts(text: &str) -> std::result::Result<KeyCounts, String> {
    let mut counts: Vec<u64> = text
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(parse_count)
        .collect::<std::result::Result<_, _>>()?;
    if counts.is_empty() {
        return Err("no key count given (e.g. --scale 100k,1M,10M)".into());
    }
    counts.sort_unstable();
    counts.dedup();
    Ok(KeyCounts(counts))
}

/// The runs at one key count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaleStep {
    /// Keys loaded (`--num`).
    pub num: u64,
    /// One entry per engine.
    pub engines: Vec<EngineRun>,
    /// One entry per engine and workload.
    pub results: Vec<WorkloadResult>,
}

/// A whole sweep: the `--json` document of `--scale`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaleReport {
    /// Always `kv-bench scale`.
    pub tool: String,
    /// The machine it ran on.
    pub machine: MachineInfo,
    /// The settings of the first step (`num` varies by step).
    pub settings: Settings,
    /// One entry per key count, ascending.
    pub steps: Vec<ScaleStep>,
    /// Wall time of the whole sweep, in seconds.
    pub wall_secs: f64,
}

/// The settings of one step: `settings` with `num` keys, the sweep's
/// workloads, and no `null` engine.
pub fn step_settings(settings: &Settings, num: u64) -> Settings {
    let mut s = settings.clone();
    s.config.num = num;
    s.workloads = SCALE_WORKLOADS.to_vec();
    s.engines.retain(|e| e != NULL_ENGINE);
    s.engine_caches.retain(|c| c.engine != NULL_ENGINE);
    s
}

/// Runs the sweep: every count, every engine (in child processes of `exe`
/// under process isolation). A failing engine is recorded in its
/// [`EngineRun`] and the sweep goes on.
///
/// # Errors
/// I/O errors creating the store directory.
pub fn run_scale(
    settings: &Settings,
    counts: &KeyCounts,
    exe: Option<&Path>,
) -> Result<ScaleReport> {
    let start = Instant::now();
    let (root, _temp) = runner::store_root(settings)?;
    let machine = MachineInfo::collect(&root);
    let mut steps = Vec::new();
    for &num in &counts.0 {
        let s = step_settings(settings, num);
        let mut step = ScaleStep {
            num,
            engines: Vec::new(),
            results: Vec::new(),
        };
        for engine in &s.engines {
            let (results, run) = match (s.isolation, exe) {
                (Isolation::Process, Some(exe)) => run_child(exe, &s, engine, &root),
                _ => runner::run_engine(&s, engine, &root),
            };
            if let Some(error) = &run.error {
                eprintln!("kv-bench: scale {num}: engine {engine} failed: {error}");
            }
            step.results.extend(results);
            step.engines.push(run);
        }
        steps.push(step);
    }
    Ok(ScaleReport {
        tool: "kv-bench scale".into(),
        machine,
        settings: step_settings(settings, counts.0.first().copied().unwrap_or(1)),
        steps,
        wall_secs: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_counts_take_k_and_m_suffixes_and_sort() {
        assert_eq!(
            parse_counts("10M,100k,1M").unwrap().0,
            vec![100_000, 1_000_000, 10_000_000]
        );
        assert_eq!(
            parse_counts("2.5m,250000,250K").unwrap().0,
            vec![250_000, 2_500_000]
        );
    }

    #[test]
    fn bad_key_counts_are_refused_with_their_text() {
        assert!(parse_counts("").is_err());
        assert!(parse_counts("0").unwrap_err().contains("'0'"));
        assert!(parse_counts("ten").unwrap_err().contains("'ten'"));
        assert!(parse_counts("1.5k5").is_err());
        assert!(parse_counts("99999999999").is_err());
        assert!(parse_counts("0.5").is_err());
    }
}
