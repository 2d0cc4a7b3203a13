//! A miss while the page cache has room reads the aligned 64-page window
//! around the page and caches the valid node pages in it, so a cache that
//! holds the whole tree warms with about one read per window; pages on
//! disk that are stale (older versions of reused pages) are cached under
//! their own transaction and never returned for a reference that names
//! another one, so every get still reads what the last commit wrote. A
//! cache without room reads each missed page alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{key, options, value, DIR};
use kv_btree::{Btree, Shape};
use kv_core::testkit::SimFs;
use kv_core::{Store, SyncPolicy};

const KEYS: usize = 6_000;
const ROUNDS: usize = 4;

/// A store whose file holds many stale pages: every key rewritten in
/// `ROUNDS` rounds, each made durable.
fn rewritten_store() -> SimFs {
    let sim = SimFs::new(7);
    let store = Btree::open(
        Path::new(DIR),
        options(Arc::new(sim.clone()), SyncPolicy::Manual, Shape::default()),
    )
    .unwrap();
    for round in 0..ROUNDS {
        for i in 0..KEYS {
            let i = (i * 7919 + round * 31) % KEYS;
            store.put(&key(i), &value(i, round, 100)).unwrap();
        }
        store.sync().unwrap();
    }
    drop(store);
    sim
}

/// Reads every key on a fresh open with `cache_bytes`, checks each value,
/// and returns the read calls the gets made.
fn read_calls_of_every_get(sim: &SimFs, cache_bytes: u64) -> u64 {
    let mut opts = options(Arc::new(sim.clone()), SyncPolicy::Manual, Shape::default());
    opts.core = opts.core.cache_bytes(cache_bytes);
    let store = Btree::open(Path::new(DIR), opts).unwrap();
    let before = store.stats().io.read_calls;
    for i in 0..KEYS {
        let i = (i * 104_729) % KEYS;
        assert_eq!(
            store.get(&key(i)).unwrap(),
            Some(value(i, ROUNDS - 1, 100)),
            "key {i} after {ROUNDS} rounds"
        );
    }
    let calls = store.stats().io.read_calls - before;
    assert!(store.check().unwrap().is_clean());
    calls
}

#[test]
fn a_cold_cache_with_room_warms_a_window_per_read() {
    let sim = rewritten_store();
    let tree_pages = (KEYS * 120 / 4060) as u64;
    let alone = read_calls_of_every_get(&sim, 64 << 10);
    let around = read_calls_of_every_get(&sim, 64 << 20);
    assert!(
        alone >= tree_pages,
        "a cache without room reads each missed page alone: {alone} reads, {tree_pages}+ leaves"
    );
    assert!(
        around * 4 < alone,
        "a cache with room reads windows: {around} reads against {alone}"
    );
}
