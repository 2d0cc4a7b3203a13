#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The fairness rules of `docs/benchmarking.md` that a computation check can
//! pin (never a timed test): the harness sync cadence reaches every engine
//! the same way; write amplification has both columns; space amplification
//! comes from allocated blocks; the harness-cost ratio is computed for every
//! workload and flagged over 10%.

use kv_bench::registry;
use kv_bench::report::compare::{harness_cost, HARNESS_COST_LIMIT};
use kv_bench::results::WorkloadResult;
use kv_bench::runner::run_engine;
use kv_bench::settings::{EngineCache, Isolation, Settings, SyncChoice};
use kv_bench::workload::{Workload, WorkloadConfig};

const NUM: u64 = 1_200;
const EVERY: u64 = 500;

fn settings(engine: &str, workloads: Vec<Workload>, dir: &std::path::Path) -> Settings {
    Settings {
        engines: vec![engine.into()],
        workloads,
        config: WorkloadConfig {
            num: NUM,
            sync_ops: 50,
            ..WorkloadConfig::default()
        },
        sync: SyncChoice::Manual,
        sync_every: EVERY,
        store_dir: Some(dir.to_path_buf()),
        isolation: Isolation::Shared,
        cache_mb: 8,
        engine_caches: EngineCache::of(&[engine.into()]),
    }
}

fn run(engine: &str, workloads: Vec<Workload>) -> Vec<WorkloadResult> {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(engine, workloads, dir.path());
    let (results, run) = run_engine(&settings, engine, dir.path());
    assert!(run.error.is_none(), "{engine}: {:?}", run.error);
    results
}

/// Under `--sync manual` every engine is synced by the harness every
/// `--sync-every` writes, counted across the store's workloads; under
/// `always` (fillsync) the harness adds none.
#[test]
fn sync_cadence_is_applied_to_every_engine() {
    for info in registry::engines().into_iter().filter(|e| e.persistent) {
        let results = run(
            info.name,
            vec![
                Workload::FillSync,
                Workload::FillRandom,
                Workload::Overwrite,
            ],
        );
        let by_name = |w: &str| results.iter().find(|r| r.workload == w).unwrap();
        let fillsync = by_name("fillsync");
        assert_eq!(
            (fillsync.sync_every, fillsync.harness_syncs),
            (0, 0),
            "{}",
            info.name
        );
        // fillrandom: writes 1..=1200 cross 500 and 1000; overwrite, on the
        // same store: 1201..=2400 cross 1500 and 2000.
        for w in ["fillrandom", "overwrite"] {
            let r = by_name(w);
            assert_eq!(r.writes, NUM, "{} {w}", info.name);
            assert_eq!(r.sync_every, EVERY, "{} {w}", info.name);
            assert_eq!(r.harness_syncs, 2, "{} {w}", info.name);
        }
    }
}

/// Every persistent engine's write workloads have the wchar column, and the
/// last workload of a store also has the column including its compaction,
/// which cannot be below the workload's own figure.
#[test]
fn both_write_amplification_columns_are_present() {
    for info in registry::engines().into_iter().filter(|e| e.persistent) {
        let results = run(info.name, vec![Workload::FillSeq, Workload::Overwrite]);
        for r in &results {
            assert!(r.write_amp_wchar.is_some(), "{} {}", info.name, r.workload);
        }
        let last = results.last().unwrap();
        let during = last.write_amp_wchar.unwrap();
        let with = last
            .write_amp_with_compaction
            .unwrap_or_else(|| panic!("{}: no column including compact()", info.name));
        assert!(with >= during, "{}: {with} < {during}", info.name);
        let compaction = last.compaction.unwrap();
        let expected = (last.proc_io.unwrap().wchar + compaction.proc_io.unwrap().wchar) as f64
            / last.user_bytes_written as f64;
        assert!((with - expected).abs() < 1e-9, "{}", info.name);
    }
}

/// Space amplification is allocated blocks over live bytes, for every
/// engine and workload (the apparent length is reported beside it).
#[test]
fn space_amplification_is_from_allocated_blocks() {
    for info in registry::engines().into_iter().filter(|e| e.persistent) {
        for r in run(info.name, vec![Workload::FillSync, Workload::FillSeq]) {
            let disk = r.disk.unwrap();
            let expected = disk.allocated_bytes as f64 / r.live_bytes as f64;
            assert_eq!(r.space_amp, Some(expected), "{} {}", info.name, r.workload);
            let apparent = disk.file_bytes as f64 / r.live_bytes as f64;
            assert_eq!(
                r.space_amp_apparent,
                Some(apparent),
                "{} {}",
                info.name,
                r.workload
            );
        }
    }
}

fn result(engine: &str, workload: &str, ns_per_op: f64) -> WorkloadResult {
    let mut r = run("memory", vec![Workload::ReadRandom]).remove(0);
    r.engine = engine.into();
    r.workload = workload.into();
    r.kind = if engine == "null" { "harness" } else { "peer" }.into();
    r.persistent = engine != "null";
    r.ns_per_op = ns_per_op;
    r.ops = 10;
    r
}

/// The harness-cost ratio is computed for every workload that has `null`
/// and a real engine, against the fastest one, and flags over 10%.
#[test]
fn harness_cost_is_computed_for_every_workload_and_flags_over_the_limit() {
    let results = vec![
        result("null", "readmissing", 30.0),
        result("redb", "readmissing", 400.0),
        result("lmdb", "readmissing", 250.0),
        result("null", "fillseq", 30.0),
        result("redb", "fillseq", 1_000.0),
    ];
    let costs = harness_cost(&results);
    assert_eq!(costs.len(), 2);
    let missing = costs.iter().find(|c| c.workload == "readmissing").unwrap();
    assert_eq!(missing.fastest_engine, "lmdb");
    assert!((missing.share - 0.12).abs() < 1e-12);
    assert!(missing.share > HARNESS_COST_LIMIT && !missing.within_limit());
    let fill = costs.iter().find(|c| c.workload == "fillseq").unwrap();
    assert!(fill.within_limit());
}
