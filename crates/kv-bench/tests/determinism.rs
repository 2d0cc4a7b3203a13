#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! A run is a function of its seed: the same seed gives the same operations
//! (so the same live keys, hits and scanned items) on any engine, another
//! seed gives other ones.

use kv_bench::results::WorkloadResult;
use kv_bench::runner::run_engine;
use kv_bench::settings::{
    EngineCache, Isolation, Settings, SyncChoice, DEFAULT_CACHE_MB, DEFAULT_SYNC_EVERY,
};
use kv_bench::workload::{WorkloadConfig, ALL};

fn settings(seed: u64, dir: &std::path::Path) -> Settings {
    Settings {
        engines: vec!["memory".into()],
        workloads: ALL.to_vec(),
        config: WorkloadConfig {
            num: 1_000,
            seed,
            sync_ops: 100,
            ..WorkloadConfig::default()
        },
        sync: SyncChoice::Manual,
        sync_every: DEFAULT_SYNC_EVERY,
        store_dir: Some(dir.to_path_buf()),
        isolation: Isolation::Shared,
        cache_mb: DEFAULT_CACHE_MB,
        engine_caches: EngineCache::of(&["memory".into()]),
    }
}

/// What must not depend on timing.
fn outcome(results: &[WorkloadResult]) -> Vec<(String, u64, u64, u64, u64, u64)> {
    results
        .iter()
        .map(|r| {
            (
                r.workload.clone(),
                r.ops,
                r.writes,
                r.found,
                r.items_scanned,
                r.live_keys,
            )
        })
        .collect()
}

#[test]
fn same_seed_same_operations_other_seed_other_operations() {
    let guard =
        kv_core::testkit::SeedGuard::new("same_seed_same_operations_other_seed_other_operations");
    let dir = tempfile::tempdir().unwrap();
    let run = |seed| {
        let (results, engine) = run_engine(&settings(seed, dir.path()), "memory", dir.path());
        assert!(engine.error.is_none(), "{:?}", engine.error);
        assert_eq!(results.len(), ALL.len());
        outcome(&results)
    };
    let first = run(guard.seed());
    assert_eq!(first, run(guard.seed()));
    assert_ne!(first, run(guard.seed().wrapping_add(1)));
}
