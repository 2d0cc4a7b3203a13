//! Runs the benchmark: every engine through every chosen workload.
//!
//! With [`Isolation::Process`] (the default of the `kv-bench` binary when it
//! compares several engines) each engine runs in a child process of the same
//! binary (`kv-bench --single-engine NAME ... --json -`), whose JSON the
//! parent collects: peak RSS and `/proc/self/io` then belong to that engine
//! alone, and a crash of one engine does not end the comparison. With
//! [`Isolation::Shared`] the engines run one after the other in this process.

pub mod child;
pub mod engine;
pub mod execute;

use std::path::{Path, PathBuf};
use std::time::Instant;

use kv_core::Result;

use crate::machine::MachineInfo;
use crate::results::{EngineRun, RunReport, WorkloadResult};
use crate::settings::{Isolation, Settings};

use self::engine::EngineBench;

/// The directory stores go in: `--dir`, or a temporary directory removed
/// when the returned guard is dropped.
///
/// # Errors
/// I/O errors creating it.
pub fn store_root(settings: &Settings) -> Result<(PathBuf, Option<tempfile::TempDir>)> {
    match &settings.store_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            Ok((dir.clone(), None))
        }
        None => {
            let temp = tempfile::Builder::new().prefix("kv-bench-").tempdir()?;
            Ok((temp.path().to_path_buf(), Some(temp)))
        }
    }
}

/// Runs one engine in this process.
pub fn run_engine(
    settings: &Settings,
    engine: &str,
    root: &Path,
) -> (Vec<WorkloadResult>, EngineRun) {
    let start = Instant::now();
    let (results, peak, error) = match EngineBench::new(engine, settings, root) {
        Ok(bench) => bench.run(),
        Err(e) => (Vec::new(), None, Some(e)),
    };
    let run = EngineRun {
        engine: engine.to_owned(),
        process: "shared".into(),
        peak_rss_bytes: peak,
        wall_secs: start.elapsed().as_secs_f64(),
        error: error.map(|e| e.to_string()),
    };
    (results, run)
}

/// Runs every engine of `settings`, in child processes of `exe` when the
/// settings ask for process isolation and `exe` is known, else in this
/// process. A failing engine is recorded in its [`EngineRun`] and the others
/// still run.
///
/// # Errors
/// I/O errors creating the store directory.
pub fn run(settings: &Settings, exe: Option<&Path>) -> Result<RunReport> {
    let (root, _temp) = store_root(settings)?;
    let machine = MachineInfo::collect(&root);
    let mut results = Vec::new();
    let mut engines = Vec::new();
    for engine in &settings.engines {
        let (mut got, run) = match (settings.isolation, exe) {
            (Isolation::Process, Some(exe)) => child::run_child(exe, settings, engine, &root),
            _ => run_engine(settings, engine, &root),
        };
        if let Some(error) = &run.error {
            eprintln!("kv-bench: engine {engine} failed: {error}");
        }
        results.append(&mut got);
        engines.push(run);
    }
    Ok(RunReport {
        tool: "kv-bench".into(),
        machine,
        settings: settings.clone(),
        engines,
        results,
    })
}
