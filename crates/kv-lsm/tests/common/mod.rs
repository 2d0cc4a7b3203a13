//! Helpers shared by the integration tests: stores on a `SimFs` with tiny
//! sizes and inline background work, keys and values that say what they
//! are, a seeded random workload, and comparison with the `BTreeMap` model.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use kv_core::testkit::{CrashMode, Model, SimFs, UnsyncedData};
use kv_core::{Background, Direction, KeyRange, Options, Store, SyncPolicy, WriteBatch};
use kv_lsm::{Lsm, LsmOptions};
use rand::rngs::StdRng;
use rand::RngExt;

/// The store directory on a `SimFs`.
pub fn dir() -> &'static Path {
    Path::new("/sim/db")
}

/// Tiny sizes, `Manual` sync, inline background work, on `sim`.
pub fn options(sim: &SimFs) -> LsmOptions {
    LsmOptions::tiny(
        Options::with_fs(Arc::new(sim.clone()))
            .sync(SyncPolicy::Manual)
            .background(Background::Inline),
    )
}

/// Opens the store on `sim` with `options`.
pub fn open(sim: &SimFs) -> Lsm {
    Lsm::open(dir(), options(sim)).unwrap()
}

/// Key `i`.
pub fn key(i: usize) -> Vec<u8> {
    format!("key{i:06}").into_bytes()
}

/// A value naming key `i` and version `v`, `len` bytes long.
pub fn value(i: usize, v: usize, len: usize) -> Vec<u8> {
    let mut out = format!("v{v}:{i}:").into_bytes();
    out.resize(len.max(out.len()), b'x');
    out
}

/// `n` random puts, deletes and batches over `keys` keys, applied to the
/// store and the model.
pub fn random_writes(store: &Lsm, model: &mut Model, rng: &mut StdRng, n: usize, keys: usize) {
    for step in 0..n {
        let i = rng.random_range(0..keys);
        match rng.random_range(0..10) {
            0..=5 => {
                let v = value(i, step, rng.random_range(1..120));
                store.put(&key(i), &v).unwrap();
                model.put(&key(i), &v);
            }
            6..=7 => {
                store.delete(&key(i)).unwrap();
                model.delete(&key(i));
            }
            _ => {
                let mut batch = WriteBatch::new();
                for _ in 0..rng.random_range(1..6) {
                    let j = rng.random_range(0..keys);
                    if rng.random_range(0..3) == 0 {
                        batch.delete(key(j));
                    } else {
                        batch.put(key(j), value(j, step, 40));
                    }
                }
                store.write(&batch).unwrap();
                model.apply_batch(&batch);
            }
        }
    }
}

/// Asserts the store holds exactly the model: forward and reverse scans and
/// a get of every key the model has.
pub fn assert_matches(store: &dyn Store, model: &Model, context: &str) {
    let forward: Vec<_> = store
        .scan(&KeyRange::all(), Direction::Forward)
        .unwrap_or_else(|e| panic!("{context}: scan failed: {e}"))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{context}: scan item failed: {e}"));
    assert!(
        forward == model.pairs(),
        "{context}: forward scan has {} keys, the model {}",
        forward.len(),
        model.len()
    );
    let mut reverse: Vec<_> = store
        .scan(&KeyRange::all(), Direction::Reverse)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    reverse.reverse();
    assert!(reverse == forward, "{context}: reverse scan differs");
    for (k, v) in model.map() {
        assert_eq!(
            store.get(k).unwrap().as_deref(),
            Some(v.as_slice()),
            "{context}"
        );
    }
}

/// The crash modes every crash test tries.
pub fn crash_modes() -> [CrashMode; 5] {
    let mode = |unsynced, forget_unsynced_dir_entries| CrashMode {
        unsynced,
        forget_unsynced_dir_entries,
    };
    [
        CrashMode::default(),
        mode(UnsyncedData::Kept, false),
        mode(UnsyncedData::Lost, true),
        mode(UnsyncedData::Random, true),
        mode(UnsyncedData::TornLastWrite { keep_bytes: 7 }, true),
    ]
}

/// Table files on `sim`.
pub fn table_files(sim: &SimFs) -> usize {
    sim.files()
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "sst"))
        .count()
}
