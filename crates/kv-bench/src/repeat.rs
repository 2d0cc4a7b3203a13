//! Repeated runs of one workload, to show its spread (`--repeat-fillsync`).
//!
//! fillsync measures a few thousand synced writes, so it is at the mercy of
//! the device and of every other writer on the machine: one run of the
//! default comparison moved an engine from 0.47× to 1.10× of the best peer.
//! Repeating it, every engine once per round (so a noisy minute hits all
//! engines rather than one), gives a median and a min-max range; charts
//! show the median with whiskers.

use std::path::Path;

use kv_core::Result;

use crate::results::WorkloadResult;
use crate::runner::{self, child::run_child};
use crate::settings::{Isolation, Settings};
use crate::workload::Workload;

/// Runs `workload` `extra_runs` more times on every engine of `settings`
/// (round-robin: each round runs every engine once), in child processes of
/// `exe` under process isolation, and returns every result. An engine that
/// fails a round is reported on stderr and left out of that round.
///
/// # Errors
/// I/O errors creating the store directory.
pub fn repeat_workload(
    settings: &Settings,
    exe: Option<&Path>,
    workload: Workload,
    extra_runs: u64,
) -> Result<Vec<WorkloadResult>> {
    let mut one = settings.clone();
    one.workloads = vec![workload];
    let (root, _temp) = runner::store_root(&one)?;
    let mut out = Vec::new();
    for round in 0..extra_runs {
        for engine in &one.engines {
            let (results, run) = match (one.isolation, exe) {
                (Isolation::Process, Some(exe)) => run_child(exe, &one, engine, &root),
                _ => runner::run_engine(&one, engine, &root),
            };
            if let Some(error) = run.error {
                eprintln!(
                    "kv-bench: {engine} {} repeat {}: failed: {error}",
                    workload.name(),
                    round + 2
                );
            }
            out.extend(
                results
                    .into_iter()
                    .filter(|r| r.workload == workload.name()),
            );
        }
    }
    Ok(out)
}
