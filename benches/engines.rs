//! Micro-benchmarks of `get` and `put` on every engine of the registry, on a
//! small store (10,000 keys of 16 bytes, 100-byte values, sync `Manual`).
//!
//! Run with `cargo bench --bench engines`; pick engines with a filter, e.g.
//! `cargo bench --bench engines -- bitcask`. The full comparison with
//! amplification figures is `cargo run --release -p kv-bench`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use kv_bench::registry::{self, OpenConfig};
use kv_bench::workload::keys::{splitmix64, KeyFormat, ValuePool};
use kv_core::{Store, SyncPolicy};

/// Keys loaded before measuring.
const KEYS: u64 = 10_000;

fn open_loaded(
    name: &str,
    dir: &std::path::Path,
    keys: &KeyFormat,
    values: &ValuePool,
) -> Option<Box<dyn Store>> {
    let config = OpenConfig {
        sync: SyncPolicy::Manual,
        ..OpenConfig::default()
    };
    let store = match registry::open(name, dir, &config) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("skipping {name}: {e}");
            return None;
        }
    };
    for i in 0..KEYS {
        if let Err(e) = store.put(&keys.key(i), values.value(i)) {
            eprintln!("skipping {name}: load failed: {e}");
            return None;
        }
    }
    store.sync().ok()?;
    Some(store)
}

fn engines(c: &mut Criterion) {
    let keys = KeyFormat::new(16).expect("16-byte keys are valid");
    let values = ValuePool::new(42, 100).expect("100-byte values are valid");
    let mut group = c.benchmark_group("engines");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for info in registry::engines() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let Some(store) = open_loaded(info.name, dir.path(), &keys, &values) else {
            continue;
        };
        let mut key = vec![0u8; keys.key_size()];
        let mut n = 0u64;
        group.bench_function(BenchmarkId::new("get", info.name), |b| {
            b.iter(|| {
                n += 1;
                keys.write_key(splitmix64(n) % KEYS, &mut key);
                black_box(store.get(black_box(&key)).ok().flatten().map(|v| v.len()))
            })
        });
        group.bench_function(BenchmarkId::new("put", info.name), |b| {
            b.iter(|| {
                n += 1;
                keys.write_key(splitmix64(n) % KEYS, &mut key);
                black_box(store.put(black_box(&key), values.value(n)).is_ok())
            })
        });
        drop(store);
    }
    group.finish();
}

criterion_group!(benches, engines);
criterion_main!(benches);
