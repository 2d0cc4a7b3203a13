#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `--threads 1,2` runs fillsync once per count, and the report's syncs per
//! acknowledged write is the engine's own sync count over its acknowledged
//! writes: from the `Fs` counters for ours, `n/a` (never a guess) for a peer
//! without a sync counter. Checks of the computation, never of timing.

use clap::Parser;
use kv_bench::cli::Cli;
use kv_bench::report::table;
use kv_bench::report::threads::scaling;
use kv_bench::results::WorkloadResult;
use kv_bench::runner;

const SYNC_OPS: u64 = 60;

fn run(engines: &str, dir: &std::path::Path) -> kv_bench::results::RunReport {
    let dir = dir.to_str().unwrap();
    let cli = Cli::try_parse_from([
        "kv-bench",
        "--engines",
        engines,
        "--workloads",
        "fillsync",
        "--threads",
        "1,2",
        "--num",
        "1000",
        "--sync-num",
        &SYNC_OPS.to_string(),
        "--in-process",
        "--dir",
        dir,
    ])
    .unwrap();
    let settings = cli.run.settings().unwrap();
    let report = runner::run(&settings, None).unwrap();
    assert!(report.all_engines_finished(), "{:?}", report.engines);
    report
}

fn result<'a>(
    report: &'a kv_bench::results::RunReport,
    engine: &str,
    label: &str,
) -> &'a WorkloadResult {
    report
        .results
        .iter()
        .find(|r| r.engine == engine && r.workload == label)
        .unwrap_or_else(|| panic!("no {engine} {label} in {:?}", report.results))
}

/// Each thread count is its own run on a fresh store, labelled with the count,
/// and writes every fillsync key once.
#[test]
fn fillsync_runs_once_per_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let report = run("bitcask", dir.path());
    for threads in [1, 2] {
        let r = result(&report, "bitcask", &format!("fillsync/{threads}t"));
        assert_eq!(r.threads, threads);
        assert_eq!(r.sync, "always");
        assert_eq!(r.writes, SYNC_OPS);
        assert_eq!(r.live_keys, SYNC_OPS, "a fresh store per count");
    }
    let sweeps = scaling(&report.results);
    assert_eq!(sweeps.len(), 1, "{sweeps:?}");
    let counts: Vec<usize> = sweeps[0].points.iter().map(|p| p.0).collect();
    assert_eq!(counts, [1, 2]);
    assert!((sweeps[0].points[0].2 - 1.0).abs() < 1e-12);
}

/// Ours: the engine's Fs syncs over acknowledged writes; a single writer
/// under `Always` needs at least one sync per write.
#[test]
fn syncs_per_write_is_the_fs_sync_count_over_acknowledged_writes() {
    let dir = tempfile::tempdir().unwrap();
    let report = run("bitcask", dir.path());
    for label in ["fillsync/1t", "fillsync/2t"] {
        let r = result(&report, "bitcask", label);
        let fs = r.fs_io.unwrap();
        let syncs = fs.file_syncs + fs.dir_syncs;
        assert_eq!(r.engine_syncs, Some(syncs), "{label}");
        let expected = syncs as f64 / r.writes as f64;
        assert_eq!(r.syncs_per_write, Some(expected), "{label}");
    }
    let single = result(&report, "bitcask", "fillsync/1t");
    assert!(single.syncs_per_write.unwrap() >= 1.0, "{single:?}");
    let text = table::render(&report);
    assert!(text.contains("Syncs per acknowledged write"), "{text}");
    assert!(text.contains("Thread scaling"), "{text}");
}

/// A peer without a sync counter reports none: `n/a`, not an estimate.
#[cfg(feature = "fjall")]
#[test]
fn a_peer_without_a_sync_counter_shows_n_a() {
    let dir = tempfile::tempdir().unwrap();
    let report = run("bitcask,fjall", dir.path());
    let r = result(&report, "fjall", "fillsync/2t");
    assert_eq!(r.engine_syncs, None);
    assert_eq!(r.syncs_per_write, None);
    let text = table::render(&report);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("fillsync/2t") && l.contains("fjall n/a"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("bitcask "), "{line}");
}
