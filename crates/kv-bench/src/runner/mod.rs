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

use crate::crash::RecoveryTiming;
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
        peak_rss_bytes: peak,
        wall_secs: start.elapsed().as_secs_f64(),
        error: error.map(|e| e.to_string()),
        ..EngineRun::new(engine, "shared")
    };
    (results, run)
}

/// Measures crash recovery of a persistent `engine` into `run` (nothing
/// for the others): a child of `exe` loads `num` keys in write batches of
/// [`LOAD_BATCH`](crate::crash::child::LOAD_BATCH) with the harness's sync
/// cadence, then overwrites half a cadence's worth of keys (at most `num`)
/// without a sync, and is SIGKILLed; the next open is timed in this
/// process. Records the open (`crash_recovery_secs`), the load child's time
/// and the whole phase's wall time, or the error.
pub fn crash_recovery(settings: &Settings, exe: &Path, run: &mut EngineRun, root: &Path) {
    let start = Instant::now();
    let engine = run.engine.clone();
    match measure_recovery(settings, exe, &engine, root) {
        Ok(None) => return,
        Ok(Some(timing)) => {
            run.crash_recovery_secs = Some(timing.open_secs);
            run.crash_recovery_load_secs = Some(timing.load_secs);
        }
        Err(e) => {
            eprintln!("kv-bench: engine {engine}: crash recovery not measured: {e}");
            run.crash_recovery_error = Some(e.to_string());
        }
    }
    run.crash_recovery_wall_secs = Some(start.elapsed().as_secs_f64());
}

fn measure_recovery(
    settings: &Settings,
    exe: &Path,
    engine: &str,
    root: &Path,
) -> Result<Option<RecoveryTiming>> {
    if !crate::registry::info(engine)?.persistent {
        return Ok(None);
    }
    let config = &settings.config;
    let plan = crate::crash::child::LoadPlan {
        keys: config.num,
        sync_every: settings.sync_every,
        unsynced_tail: (settings.sync_every.max(2) / 2).min(config.num),
        batch: crate::crash::child::LOAD_BATCH,
        key_size: config.key_size,
        value_size: config.value_size,
        seed: config.seed,
    };
    let open = crate::registry::OpenConfig {
        sync: settings.sync.policy(),
        cache_bytes: settings.cache_bytes(),
        ..crate::registry::OpenConfig::default()
    };
    let dir = root.join(format!("{engine}-crash-recovery"));
    let timing = crate::progress::with_spinner(&format!("{engine} crash recovery"), || {
        crate::crash::measure_crash_recovery(exe, engine, &dir, plan, &open)
    });
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Some(timing?))
}

/// Runs every engine of `settings`, in child processes of `exe` when the
/// settings ask for process isolation and `exe` is known, else in this
/// process. A failing engine is recorded in its [`EngineRun`] and the others
/// still run.
///
/// # Errors
/// I/O errors creating the store directory.
pub fn run(settings: &Settings, exe: Option<&Path>) -> Result<RunReport> {
    let start = Instant::now();
    let (root, _temp) = store_root(settings)?;
    let machine = MachineInfo::collect(&root);
    let mut results = Vec::new();
    let mut engines = Vec::new();
    for engine in &settings.engines {
        let (mut got, run) = match (settings.isolation, exe) {
            (Isolation::Process, Some(exe)) => child::run_child(exe, settings, engine, &root),
            _ => run_engine(settings, engine, &root),
        };
        let mut run = run;
        if let Some(error) = &run.error {
            eprintln!("kv-bench: engine {engine} failed: {error}");
        }
        if let Some(exe) = exe {
            crash_recovery(settings, exe, &mut run, &root);
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
        repeats: Vec::new(),
        wall_secs: Some(start.elapsed().as_secs_f64()),
        repeats_wall_secs: None,
    })
}
