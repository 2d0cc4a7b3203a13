//! A durable commit's written digest is computed from the runs it writes
//! (every dirty run, less those freed since the last durable commit that a
//! reader still holds, plus the free list), not from a walk of the tree:
//! it must name exactly the runs open walks, or open would take a good
//! commit for a torn one. A `sync()` made while a reader holds versions a
//! later commit replaced (written, but no longer in the tree) is cut at
//! every operation, under every crash mode (reordered writeback with torn
//! sectors included): the reopened store is the synced tree or the one
//! before it, never anything else, it is the synced tree whenever `sync()`
//! returned, and open never falls back over a commit whose sync returned.
//! (Debug builds also check every durable commit's runs against the walk.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{figure, key, open, read_all, small_shape, value};
use kv_core::testkit::{CrashMode, Model, SeedGuard, SimFs};
use kv_core::{Direction, KeyRange, Store, SyncPolicy};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Every pair of a store.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Pairs before the sync, pairs after it, the file system, and whether the
/// sync returned with the power on, for a power cut after `cut` operations
/// of the sync (`None`: no cut).
fn run(seed: u64, cut: Option<u64>) -> (Pairs, Pairs, SimFs, bool) {
    let mut rng = StdRng::seed_from_u64(seed);
    let sim = SimFs::new(seed);
    let store = open(&sim, SyncPolicy::Manual, small_shape());
    let mut model = Model::new();
    for i in 0..200 {
        let v = value(i, 0, rng.random_range(1..80));
        store.put(&key(i), &v).unwrap();
        model.put(&key(i), &v);
    }
    store.sync().unwrap();
    let durable = model.pairs();
    for round in 1..3 {
        for _ in 0..40 {
            let i = rng.random_range(0..260);
            let v = value(i, round, rng.random_range(1..80));
            store.put(&key(i), &v).unwrap();
            model.put(&key(i), &v);
        }
    }
    // The reader holds versions the next commits replace: dirty runs that
    // the sync writes but that its tree no longer reaches.
    let mut scan = store.scan(&KeyRange::all(), Direction::Forward).unwrap();
    let held = model.pairs();
    let first = scan.next().unwrap().unwrap();
    for _ in 0..40 {
        let i = rng.random_range(0..260);
        let v = value(i, 9, rng.random_range(1..80));
        store.put(&key(i), &v).unwrap();
        model.put(&key(i), &v);
    }
    assert!(figure(&store, "pending_pages") > 0);
    if let Some(n) = cut {
        sim.power_off_after(n);
    }
    let synced = store.sync().is_ok() && !sim.is_powered_off();
    if cut.is_none() {
        let mut seen = vec![first];
        seen.extend(scan.by_ref().map(|r| r.unwrap()));
        assert_eq!(seen, held, "the reader must read its own tree");
    }
    drop(scan);
    // No close: what a crash finds is what the sync left.
    std::mem::forget(store);
    (durable, model.pairs(), sim, synced)
}

#[test]
fn written_digest_covers_exactly_the_runs_open_walks() {
    let guard = SeedGuard::new("written_digest_covers_exactly_the_runs_open_walks");
    let seed = guard.seed();
    let (_, after, sim, synced) = run(seed, None);
    assert!(synced);
    let reopened = open(&sim.crash(), SyncPolicy::Manual, small_shape());
    assert!(read_all(&reopened) == after, "the synced tree was lost");
    assert_eq!(figure(&reopened, "torn_commit_fell_back"), 0);
    assert!(reopened.check().unwrap().is_clean());
    let modes = [
        CrashMode::power_loss(),
        CrashMode::kept_data_lost_entries(),
        CrashMode::random_prefix(),
        CrashMode::reordered_writeback_torn_sectors(),
    ];
    let mut cut = 0;
    loop {
        let (before, after, sim, synced) = run(seed, Some(cut));
        for mode in modes {
            let reopened = open(&sim.crash_with(mode), SyncPolicy::Manual, small_shape());
            let got = read_all(&reopened);
            assert!(
                got == before || got == after,
                "cut {cut}, {mode:?}: the store is neither the synced tree nor the one before"
            );
            if synced {
                assert!(
                    got == after,
                    "cut {cut}, {mode:?}: sync returned, its tree was lost"
                );
                assert_eq!(
                    figure(&reopened, "torn_commit_fell_back"),
                    0,
                    "cut {cut}, {mode:?}"
                );
            }
            let report = reopened.check().unwrap();
            assert!(
                report.damage.is_empty(),
                "cut {cut}, {mode:?}: {:?}",
                report.damage
            );
        }
        if synced {
            break;
        }
        cut += 1;
        assert!(cut < 10_000, "the sync never completed");
    }
}
