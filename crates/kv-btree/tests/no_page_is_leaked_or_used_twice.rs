//! Under seeded random work (puts of tiny to multi-page values, deletes,
//! batches, syncs, vacuums, readers held across commits, clean reopens and
//! crashes in every mode), `check()` proves after every step that the
//! slots, the tree, the free list, the free pages and the pending pages
//! cover every page below the page count exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{key, open, read_all, small_shape, value};
use kv_btree::Shape;
use kv_core::testkit::{CrashMode, SeedGuard, SimFs, UnsyncedData};
use kv_core::{Direction, KeyRange, Store, SyncPolicy, WriteBatch};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

fn random_len(rng: &mut StdRng) -> usize {
    match rng.random_range(0..10) {
        0..=5 => rng.random_range(0..40),
        6..=8 => rng.random_range(40..1500),
        _ => rng.random_range(4000..30_000),
    }
}

fn run(shape: Shape, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut sim = SimFs::new(seed);
    let mut store = open(&sim, SyncPolicy::Manual, shape);
    for step in 0..400 {
        let i = rng.random_range(0..150);
        match rng.random_range(0..100) {
            0..=49 => store
                .put(&key(i), &value(i, step, random_len(&mut rng)))
                .unwrap(),
            50..=69 => store.delete(&key(i)).unwrap(),
            70..=79 => {
                let mut batch = WriteBatch::new();
                for _ in 0..rng.random_range(1..20) {
                    let j = rng.random_range(0..150);
                    batch.put(key(j), value(j, step, random_len(&mut rng)));
                }
                store.write(&batch).unwrap();
            }
            80..=86 => store.sync().unwrap(),
            87..=89 => {
                // A reader held across a few commits.
                let mut reader = store.scan(&KeyRange::all(), Direction::Forward).unwrap();
                let first = reader.next();
                store
                    .put(&key(i), &value(i, step, random_len(&mut rng)))
                    .unwrap();
                store.sync().unwrap();
                assert!(
                    store.check().unwrap().is_clean(),
                    "seed {seed} step {step}: with a reader"
                );
                drop((first, reader));
            }
            90..=92 => store.compact().unwrap(),
            93..=95 => {
                drop(store);
                store = open(&sim, SyncPolicy::Manual, shape);
            }
            _ => {
                let unsynced = match rng.random_range(0..3) {
                    0 => UnsyncedData::Lost,
                    1 => UnsyncedData::Random,
                    _ => UnsyncedData::TornLastWrite {
                        keep_bytes: rng.random_range(0..5000),
                    },
                };
                let crashed = sim.crash_with(CrashMode {
                    unsynced,
                    forget_unsynced_dir_entries: true,
                });
                std::mem::forget(store);
                sim = crashed;
                store = open(&sim, SyncPolicy::Manual, shape);
                read_all(&store);
            }
        }
        let report = store
            .check()
            .unwrap_or_else(|e| panic!("seed {seed} step {step}: {e}"));
        assert!(
            report.is_clean(),
            "seed {seed} step {step}: {:?}",
            report.damage
        );
    }
}

#[test]
fn no_page_is_leaked_or_used_twice() {
    let guard = SeedGuard::new("no_page_is_leaked_or_used_twice");
    run(small_shape(), guard.seed());
    run(Shape::default(), guard.seed() ^ 0x5555);
}
