//! Under `Background::Inline` bitcask starts no thread: automatic merges run
//! inside the writes that make them due (after a rollover, and every
//! `INLINE_MERGE_CHECK_WRITES` writes), so the same workload from the same
//! seed does exactly the same I/O, runs the same merges, and ends in the
//! same bytes on disk, run after run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use common::{dir, key, sim_options, value};
use kv_bitcask::{Bitcask, MergePolicy};
use kv_core::testkit::{SeedGuard, SimFs};
use kv_core::{Background, Store};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Every file of a store and its bytes.
type Images = Vec<(PathBuf, Option<Vec<u8>>)>;

/// Merges run, I/O counters and the bytes on disk after the workload.
fn run(seed: u64) -> (u64, kv_core::IoCounters, Images) {
    let sim = SimFs::new(seed);
    let mut options = sim_options(&sim, 2048);
    options.core = options.core.background(Background::Inline);
    options.merge = MergePolicy {
        auto: true,
        check_interval_ms: 1, // would be a busy thread under `Threads`
        small_file_bytes: 1024,
        ..MergePolicy::default()
    };
    let store = Bitcask::open(dir(), options).unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    for step in 0..1500 {
        let i = rng.random_range(0..30);
        if rng.random_range(0..5) == 0 {
            store.delete(&key(i)).unwrap();
        } else {
            store
                .put(&key(i), &value(i, step, rng.random_range(0..120)))
                .unwrap();
        }
    }
    let stats = store.stats();
    drop(store);
    let files = sim.files().into_iter().map(|p| {
        let bytes = sim.contents(&p);
        (p, bytes)
    });
    (stats.extra["merges_run"], stats.io, files.collect())
}

#[test]
fn inline_background_replays_exactly() {
    let guard = SeedGuard::new("inline_background_replays_exactly");
    let first = run(guard.seed());
    assert!(first.0 > 0, "the workload makes merges due: {first:?}");
    let second = run(guard.seed());
    assert_eq!(first.0, second.0, "merges run");
    assert_eq!(first.1, second.1, "I/O counters");
    assert_eq!(first.2, second.2, "bytes on disk");
}
