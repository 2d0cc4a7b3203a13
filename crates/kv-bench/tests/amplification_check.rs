#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! A controlled check of the write-amplification figures: bitcask's
//! `fillseq` under `SyncPolicy::Manual` writes each record once, framed by
//! the codec, so the `Fs` figure must equal the codec's bytes per record
//! over the user bytes per record (plus batch framing when batched), and the
//! kernel's `wchar` must agree with the `Fs` counters.

use kv_bench::results::WorkloadResult;
use kv_bench::runner::run_engine;
use kv_bench::settings::{
    EngineCache, Isolation, Settings, SyncChoice, DEFAULT_CACHE_MB, DEFAULT_SYNC_EVERY,
};
use kv_bench::workload::{Workload, WorkloadConfig};
use kv_core::codec::encoded_len;

const KEYS: u64 = 4_000;
const KEY_BYTES: usize = 16;
const VALUE_BYTES: usize = 100;

fn fillseq(batch: usize, dir: &std::path::Path) -> WorkloadResult {
    let settings = Settings {
        engines: vec!["bitcask".into()],
        workloads: vec![Workload::FillSeq],
        config: WorkloadConfig {
            num: KEYS,
            key_size: KEY_BYTES,
            value_size: VALUE_BYTES,
            batch,
            ..WorkloadConfig::default()
        },
        sync: SyncChoice::Manual,
        sync_every: DEFAULT_SYNC_EVERY,
        store_dir: Some(dir.to_path_buf()),
        isolation: Isolation::Shared,
        cache_mb: DEFAULT_CACHE_MB,
        engine_caches: EngineCache::of(&["bitcask".into()]),
    };
    let (mut results, run) = run_engine(&settings, "bitcask", dir);
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(results.len(), 1);
    results.remove(0)
}

fn within(got: f64, expected: f64, tolerance: f64) -> bool {
    (got - expected).abs() <= expected * tolerance
}

fn check(result: &WorkloadResult, expected_bytes: f64) {
    let user = (KEYS as usize * (KEY_BYTES + VALUE_BYTES)) as f64;
    assert_eq!(result.user_bytes_written as f64, user);
    let expected = expected_bytes / user;
    let fs = result.write_amp_fs.expect("bitcask reports Fs counters");
    assert!(
        within(fs, expected, 0.05),
        "Fs write amplification {fs:.4}, codec says {expected:.4}"
    );
    let wchar = result.write_amp_wchar.expect("/proc/self/io is readable");
    assert!(
        within(wchar, fs, 0.05),
        "wchar write amplification {wchar:.4} vs Fs {fs:.4}"
    );
}

#[test]
fn bitcask_fillseq_write_amplification_matches_the_codec_and_wchar() {
    let dir = tempfile::tempdir().unwrap();
    let record = encoded_len(KEY_BYTES, VALUE_BYTES) as f64;
    // One record per put.
    check(&fillseq(1, dir.path()), KEYS as f64 * record);
    // Batches of 10: one BatchBegin record (no key, no value) per batch.
    let begin = encoded_len(0, 0) as f64;
    check(
        &fillseq(10, dir.path()),
        KEYS as f64 * record + (KEYS / 10) as f64 * begin,
    );
}
