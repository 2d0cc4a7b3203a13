//! Power is cut at every file-system operation of a merge (full and
//! partial), and the machine comes back under several crash modes: the
//! reopened store always holds exactly the synced content, however far the
//! merge got, and `check()` passes. The workload mixes overwrites, deletes,
//! batches and expired TTL puts, so the merge copies, drops, keeps
//! tombstones and turns expired puts into tombstones.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{assert_matches, key, random_writes, sim_options, value};
use kv_bitcask::{Bitcask, BitcaskOptions, ManualClock, MergePolicy};
use kv_core::testkit::{CrashMode, Model, SeedGuard, SimFs, UnsyncedData};
use kv_core::Store;
use rand::rngs::StdRng;
use rand::SeedableRng;

const MAX_FILE_BYTES: u64 = 600;

fn options(sim: &SimFs, clock: &Arc<ManualClock>) -> BitcaskOptions {
    let mut options = sim_options(sim, MAX_FILE_BYTES);
    options.clock = Arc::clone(clock) as Arc<dyn kv_bitcask::Clock>;
    options.merge = MergePolicy {
        auto: false,
        trigger_dead_percent: 50,
        threshold_dead_percent: 50,
        small_file_bytes: 0,
        ..MergePolicy::default()
    };
    options
}

/// The same synced store every time for a seed: random writes, a first
/// merge (so that file ids no longer follow the age of the data: merge
/// output takes fresh ids but keeps old records), more writes, TTL puts of
/// which some have expired, and a sync.
fn setup(seed: u64) -> (SimFs, Arc<ManualClock>, Bitcask, Model) {
    let sim = SimFs::new(seed);
    let clock = Arc::new(ManualClock::new(1_000_000));
    let store = Bitcask::open(common::dir(), options(&sim, &clock)).unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut model = Model::new();
    random_writes(&store, &mut model, &mut rng, 120, 30, 80);
    for i in 200..205 {
        store.put(&key(i), &value(i, 0, 30)).unwrap();
    }
    store.compact().unwrap();
    // Tombstones in the (low-id) active file for puts the merge just copied
    // into (high-id) output files, and no later write to those keys: a merge
    // that deleted its inputs one by one in id order, without a commit
    // record, would let a crash remove the tombstones but not the puts.
    for i in 200..205 {
        store.delete(&key(i)).unwrap();
    }
    random_writes(&store, &mut model, &mut rng, 60, 30, 80);
    for i in 0..6 {
        let v = value(100 + i, 0, 40);
        let ttl = Duration::from_secs(if i % 2 == 0 { 10 } else { 1000 });
        store.put_with_ttl(&key(100 + i), &v, ttl).unwrap();
        if i % 2 == 1 {
            model.put(&key(100 + i), &v);
        }
    }
    random_writes(&store, &mut model, &mut rng, 60, 30, 80);
    store.sync().unwrap();
    clock.advance(Duration::from_secs(100)); // the even TTL puts expire
    (sim, clock, store, model)
}

fn crash_modes() -> [CrashMode; 5] {
    let mode = |unsynced, forget_unsynced_dir_entries| CrashMode {
        unsynced,
        forget_unsynced_dir_entries,
    };
    [
        CrashMode::default(),
        mode(UnsyncedData::Kept, false),
        mode(UnsyncedData::Kept, true),
        mode(UnsyncedData::Random, true),
        mode(UnsyncedData::TornLastWrite { keep_bytes: 7 }, false),
    ]
}

fn crash_at_every_operation(name: &str, merge: fn(&Bitcask) -> kv_core::Result<()>) {
    let guard = SeedGuard::new(name);
    let seed = guard.seed();
    let (sim, _clock, store, model) = setup(seed);
    let before = sim.op_count();
    merge(&store).unwrap();
    let total = sim.op_count() - before;
    assert!(
        store.stats().extra["merges_run"] == 2,
        "{name}: no merge ran"
    );
    assert_matches(&store, &model, "after an uninterrupted merge");
    drop(store);
    assert!(total > 5, "{name}: the merge did only {total} operations");
    for n in 0..=total {
        let (sim, clock, store, model) = setup(seed);
        sim.power_off_after(n);
        let _ = merge(&store);
        for mode in crash_modes() {
            let context = format!("{name}: power cut after {n} of {total} operations, {mode:?}");
            let crashed = sim.crash_with(mode);
            let reopened = Bitcask::open(common::dir(), options(&crashed, &clock))
                .unwrap_or_else(|e| panic!("{context}: reopen failed: {e}"));
            assert_matches(&reopened, &model, &context);
            reopened
                .check()
                .unwrap_or_else(|e| panic!("{context}: check failed: {e}"));
            // And a merge after recovery still loses nothing.
            reopened.compact().unwrap();
            assert_matches(&reopened, &model, &format!("{context}, then compact"));
        }
        drop(store);
    }
}

#[test]
fn crash_during_merge_loses_nothing() {
    crash_at_every_operation("crash_during_merge_loses_nothing", |s| s.compact());
}

#[test]
fn crash_during_partial_merge_loses_nothing() {
    crash_at_every_operation("crash_during_partial_merge_loses_nothing", |s| {
        assert!(s.merge_if_needed()?, "the policy picked nothing");
        Ok(())
    });
}
