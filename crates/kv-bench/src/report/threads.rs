//! What concurrent writers cost: syncs per acknowledged write, and how each
//! engine's throughput scales across a `--threads` sweep (`--threads
//! 1,2,4,8`, whose results are labelled `NAME/Nt`, see
//! `Settings::label`). Shared by the terminal table and `report.md`.

use crate::results::WorkloadResult;

use super::compare::workloads;

/// Syncs per acknowledged write of every engine on one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncLine {
    /// The workload's label.
    pub workload: String,
    /// Per engine: syncs per acknowledged write, `None` where the engine
    /// has no sync counter (`n/a`).
    pub engines: Vec<(String, Option<f64>)>,
}

/// One [`SyncLine`] per workload whose stores synced every write (sync
/// policy `always`: fillsync, or every workload under `--sync always`) and
/// that wrote, in report order. Engines that store nothing on disk are left
/// out.
pub fn sync_lines(results: &[WorkloadResult]) -> Vec<SyncLine> {
    workloads(results)
        .into_iter()
        .filter_map(|workload| {
            let engines: Vec<(String, Option<f64>)> = results
                .iter()
                .filter(|r| r.workload == workload && r.persistent && r.sync == "always")
                .filter(|r| r.writes + r.background_writes > 0)
                .map(|r| (r.engine.clone(), r.syncs_per_write))
                .collect();
            (!engines.is_empty()).then_some(SyncLine { workload, engines })
        })
        .collect()
}

/// One engine's throughput on one workload at each thread count.
#[derive(Debug, Clone, PartialEq)]
pub struct Scaling {
    /// The workload's name (without the thread count).
    pub workload: String,
    /// The engine.
    pub engine: String,
    /// `(threads, ops/s, ops/s over the first count's, syncs per write)`,
    /// in run order.
    pub points: Vec<(usize, f64, f64, Option<f64>)>,
}

/// The workload name of a result label: `fillsync/4t` is `fillsync`.
pub fn base_name(label: &str) -> &str {
    label.split('/').next().unwrap_or(label)
}

/// Per workload and engine, the thread sweep: only workloads that ran at
/// more than one thread count. The speedup is against the engine's first
/// count (the first of `--threads`).
pub fn scaling(results: &[WorkloadResult]) -> Vec<Scaling> {
    let mut out: Vec<Scaling> = Vec::new();
    for r in results {
        let workload = base_name(&r.workload);
        let entry = out
            .iter_mut()
            .find(|s| s.workload == workload && s.engine == r.engine);
        let base = entry
            .as_ref()
            .and_then(|s| s.points.first())
            .map_or(r.ops_per_sec, |p| p.1);
        let speedup = if base > 0.0 {
            r.ops_per_sec / base
        } else {
            0.0
        };
        let point = (r.threads, r.ops_per_sec, speedup, r.syncs_per_write);
        match entry {
            Some(s) if !s.points.iter().any(|p| p.0 == r.threads) => s.points.push(point),
            Some(_) => {}
            None => out.push(Scaling {
                workload: workload.to_owned(),
                engine: r.engine.clone(),
                points: vec![point],
            }),
        }
    }
    out.retain(|s| s.points.len() > 1);
    out
}

/// `0.31`, or `n/a` for an engine without a sync counter.
pub fn syncs_text(syncs: Option<f64>) -> String {
    syncs.map_or_else(|| "n/a".to_owned(), |s| format!("{s:.2}"))
}
