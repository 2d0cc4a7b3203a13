//! Power is cut at every file-system operation of one commit that splits
//! and merges nodes and writes overflow runs: after the crash (every crash
//! mode, reordered writeback included), the store holds exactly the state
//! before that commit or exactly the state after it, and `check()` passes;
//! with the default one-fsync commit and with the two-fsync order.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{key, options, read_all, small_shape, value, DIR};
use kv_btree::Btree;
use kv_core::testkit::{CrashMode, SimFs};
use kv_core::{KvPair, Store, SyncPolicy, WriteBatch};

/// Opens the store on `sim` with the one-fsync (`two == false`) or the
/// two-fsync commit.
fn open(sim: &SimFs, two: bool) -> Btree {
    let o = options(Arc::new(sim.clone()), SyncPolicy::Always, small_shape()).two_fsync_commit(two);
    Btree::open(Path::new(DIR), o).unwrap_or_else(|e| panic!("open failed: {e}"))
}

fn base_store(seed: u64, two: bool) -> (SimFs, Vec<KvPair>) {
    let sim = SimFs::new(seed);
    let store = open(&sim, two);
    for i in 0..120 {
        store.put(&key(i), &value(i, 0, (i * 7) % 200)).unwrap();
    }
    let before = read_all(&store);
    drop(store);
    (sim, before)
}

fn the_commit() -> WriteBatch {
    let mut batch = WriteBatch::new();
    for i in (0..120).step_by(3) {
        batch.delete(key(i));
    }
    for i in 200..260 {
        batch.put(key(i), value(i, 1, (i * 13) % 300));
    }
    batch.put(key(1), vec![7u8; 20_000]);
    batch
}

#[test]
fn crash_during_commit_keeps_the_previous_root() {
    crash_at_every_operation(false);
}

#[test]
fn crash_during_a_two_fsync_commit_keeps_the_previous_root() {
    crash_at_every_operation(true);
}

fn crash_at_every_operation(two: bool) {
    let (probe, before) = base_store(1, two);
    let reopened = open(&probe, two);
    let start = probe.op_count();
    assert!(
        common::figure(&reopened, "depth") >= 3,
        "the base tree should be deep"
    );
    reopened.write(&the_commit()).unwrap();
    let after = read_all(&reopened);
    let total = probe.op_count() - start;
    drop(reopened);
    assert!(
        total >= 3,
        "a durable commit takes at least two writes and one sync"
    );
    let modes = [
        CrashMode::power_loss(),
        CrashMode::kept_data_lost_entries(),
        CrashMode::torn_last_write(100),
        CrashMode::random_prefix(),
        CrashMode::reordered_writeback_torn_sectors(),
    ];
    for n in 0..=total + 1 {
        for mode in modes {
            let (sim, base) = base_store(n + 10, two);
            assert_eq!(base, before);
            let store = open(&sim, two);
            sim.power_off_after(n);
            let _ = store.write(&the_commit());
            let crashed = sim.crash_with(mode);
            std::mem::forget(store);
            let recovered = open(&crashed, two);
            let got = read_all(&recovered);
            assert!(
                got == before || got == after,
                "power cut after {n} of {total} operations, {mode:?}: neither the old nor the new root"
            );
            assert!(
                recovered.check().unwrap().is_clean(),
                "check after crash at {n}, {mode:?}"
            );
        }
    }
}
