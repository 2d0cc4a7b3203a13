//! Under `SyncPolicy::Manual` with the WAL written out in several flush
//! groups between syncs, a crash with out-of-order writeback (4 KiB pieces,
//! with and without torn 512-byte sectors) can leave zeros or old bytes in
//! the WAL followed by valid never-synced records. The durable frontier
//! (WAL format 2) makes that a torn tail: the reopen never fails, `check()`
//! finds no damage, and the store holds exactly the state after some write
//! at or after the last sync (a prefix of the writes, all synced ones kept).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{dir, key, options, value};
use kv_core::testkit::{CrashMode, Model, SeedGuard, SimFs};
use kv_core::{Direction, KeyRange, Store};
use kv_lsm::Lsm;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Crash rounds per run, each on its own seed-derived file system.
const ROUNDS: u64 = 24;

/// Writes random puts (values up to 1.5 KiB, so the 64 KiB WAL buffer is
/// written out unsynced between syncs) and deletes with occasional syncs;
/// returns the model after every write and the index of the last synced one.
fn workload(store: &Lsm, rng: &mut StdRng) -> (Vec<Model>, usize) {
    let mut model = Model::new();
    let mut states = vec![model.clone()];
    let mut synced = 0;
    for step in 0..600 {
        let i = rng.random_range(0..80);
        if rng.random_range(0..5) == 0 {
            store.delete(&key(i)).unwrap();
            model.delete(&key(i));
        } else {
            let v = value(i, step, rng.random_range(1..1500));
            store.put(&key(i), &v).unwrap();
            model.put(&key(i), &v);
        }
        states.push(model.clone());
        if rng.random_range(0..100) == 0 {
            store.sync().unwrap();
            synced = states.len() - 1;
        }
    }
    (states, synced)
}

fn pairs(store: &Lsm) -> Vec<(Vec<u8>, Vec<u8>)> {
    store
        .scan(&KeyRange::all(), Direction::Forward)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn reordered_crash_under_manual_never_fails_open() {
    let guard = SeedGuard::new("reordered_crash_under_manual_never_fails_open");
    for round in 0..ROUNDS {
        let seed = guard.seed().wrapping_add(round);
        let sim = SimFs::new(seed);
        let mut o = options(&sim);
        o.write_buffer_bytes = 1 << 20; // the whole workload stays in one WAL
        let store = Lsm::open(dir(), o).unwrap();
        let mut rng = StdRng::seed_from_u64(seed);
        let (states, synced) = workload(&store, &mut rng);
        // Crash without a clean close (no final sync or seal).
        std::mem::forget(store);
        for mode in [
            CrashMode::reordered_writeback(),
            CrashMode::reordered_writeback_torn_sectors(),
        ] {
            let context = format!("round {round} (seed {seed}), {mode:?}");
            let crashed = sim.crash_with(mode);
            let mut o = options(&crashed);
            o.write_buffer_bytes = 1 << 20;
            let reopened = Lsm::open(dir(), o).unwrap_or_else(|e| panic!("{context}: {e}"));
            let got = pairs(&reopened);
            assert!(
                states[synced..].iter().any(|m| m.pairs() == got),
                "{context}: the state is not the state after a write at or after the last sync \
                 (write {synced})"
            );
            let report = reopened.check().unwrap();
            assert!(report.damage.is_empty(), "{context}: {:?}", report.damage);
        }
    }
}
