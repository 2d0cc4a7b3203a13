//! Power is cut at every file-system operation of one commit that splits
//! and merges nodes and writes overflow runs: after the crash (every crash
//! mode), the store holds exactly the state before that commit or exactly
//! the state after it, and `check()` passes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{key, open, read_all, small_shape, value};
use kv_core::testkit::{CrashMode, SimFs, UnsyncedData};
use kv_core::{KvPair, Store, SyncPolicy, WriteBatch};

fn base_store(seed: u64) -> (SimFs, Vec<KvPair>) {
    let sim = SimFs::new(seed);
    let store = open(&sim, SyncPolicy::Always, small_shape());
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
    let (probe, before) = base_store(1);
    let reopened = open(&probe, SyncPolicy::Always, small_shape());
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
        total >= 4,
        "a durable commit takes at least two writes and two syncs"
    );
    let modes = [
        CrashMode::default(),
        CrashMode {
            unsynced: UnsyncedData::Kept,
            forget_unsynced_dir_entries: true,
        },
        CrashMode {
            unsynced: UnsyncedData::TornLastWrite { keep_bytes: 100 },
            forget_unsynced_dir_entries: true,
        },
        CrashMode {
            unsynced: UnsyncedData::Random,
            forget_unsynced_dir_entries: true,
        },
    ];
    for n in 0..=total + 1 {
        for mode in modes {
            let (sim, base) = base_store(n + 10);
            assert_eq!(base, before);
            let store = open(&sim, SyncPolicy::Always, small_shape());
            sim.power_off_after(n);
            let _ = store.write(&the_commit());
            let crashed = sim.crash_with(mode);
            std::mem::forget(store);
            let recovered = open(&crashed, SyncPolicy::Always, small_shape());
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
