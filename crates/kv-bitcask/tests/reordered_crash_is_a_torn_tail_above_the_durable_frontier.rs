//! Under reordered writeback (any subset of the unsynced 4 KiB pieces
//! reaches the disk) a crash under `SyncPolicy::Manual` leaves zeros or old
//! bytes followed by valid records that were never synced. That is a normal
//! crash: open never fails with `Corruption`, it truncates at the damage
//! (dropping the unsynced records after it) and the store holds a prefix of
//! the acknowledged writes that includes every synced one. Damage below the
//! durable frontier (bytes that had been synced) is still `Corruption`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{dir, key, sim_options, value};
use kv_bitcask::Bitcask;
use kv_core::testkit::{CrashMode, History, Model, ModelOp, SeedGuard, SimFs, UnsyncedData};
use kv_core::{Error, Store, StoreExt, WriteBatch};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Large enough that one file takes the whole workload (the file a crash can
/// tear is the one being judged), small write buffer so flush groups are many.
const MAX_FILE_BYTES: u64 = 1 << 20;

fn random_op(rng: &mut StdRng, step: usize) -> ModelOp {
    let i = rng.random_range(0..40);
    match rng.random_range(0..10) {
        0 => ModelOp::Delete { key: key(i) },
        1 => ModelOp::Sync,
        2 => {
            let mut batch = WriteBatch::new();
            for m in 0..rng.random_range(1..6) {
                let j = rng.random_range(0..40);
                batch.put(key(j), value(j, step * 8 + m, rng.random_range(0..300)));
            }
            ModelOp::Batch(batch)
        }
        _ => ModelOp::Put {
            key: key(i),
            value: value(i, step, rng.random_range(0..600)),
        },
    }
}

fn apply(store: &Bitcask, op: &ModelOp) -> kv_core::Result<()> {
    match op {
        ModelOp::Put { key, value } => store.put(key, value),
        ModelOp::Delete { key } => store.delete(key),
        ModelOp::Batch(batch) => store.write(batch),
        ModelOp::Sync => store.sync(),
        other => panic!("not in this workload: {other:?}"),
    }
}

#[test]
fn reordered_crash_under_manual_never_fails_open() {
    let guard = SeedGuard::new("reordered_crash_under_manual_never_fails_open");
    let mut rng = StdRng::seed_from_u64(guard.seed());
    for round in 0..60u64 {
        let sim = SimFs::new(guard.seed() ^ round);
        let store = Bitcask::open(dir(), sim_options(&sim, MAX_FILE_BYTES)).unwrap();
        let mut history = History::new(Model::new());
        for step in 0..rng.random_range(20..120) {
            let op = random_op(&mut rng, step);
            apply(&store, &op).unwrap();
            history.acknowledge(&op);
            if op == ModelOp::Sync {
                history.mark_synced();
            }
        }
        for (tear_sectors, forget) in [(false, true), (true, true), (true, false)] {
            let mode = CrashMode {
                unsynced: UnsyncedData::Reordered { tear_sectors },
                forget_unsynced_dir_entries: forget,
            };
            let context = format!("round {round}, {mode:?}");
            let crashed = sim.crash_with(mode);
            let reopened = Bitcask::open(dir(), sim_options(&crashed, MAX_FILE_BYTES))
                .unwrap_or_else(|e| panic!("{context}: a reordered crash failed the open: {e}"));
            let recovered = reopened.scan_all().unwrap();
            history
                .check_recovered(&recovered)
                .unwrap_or_else(|e| panic!("{context}: {e}"));
            let report = reopened.check().unwrap();
            assert!(report.is_clean(), "{context}: {report:?}");
        }
        drop(store);
    }
}

#[test]
fn damage_below_the_durable_frontier_is_corruption() {
    let sim = SimFs::new(7);
    let store = Bitcask::open(dir(), sim_options(&sim, MAX_FILE_BYTES)).unwrap();
    // Several flush groups with syncs in between: frontier records land in
    // the file past the first records.
    for i in 0..200 {
        store.put(&key(i), &value(i, 0, 200)).unwrap();
        if i % 20 == 19 {
            store.sync().unwrap();
        }
    }
    store.sync().unwrap();
    let file = common::data_files(&sim).pop().unwrap();
    // Damage the third record's value (synced long ago), then crash: only
    // synced bytes survive, so the frontier after the damage is on disk.
    let record = 23 + key(0).len() as u64 + 200;
    let third = 24 + 2 * record;
    assert!(sim.corrupt(&file, third + 30, b"X"));
    let crashed = sim.crash();
    drop(store);
    match Bitcask::open(dir(), sim_options(&crashed, MAX_FILE_BYTES)) {
        Err(Error::Corruption {
            file: f, offset, ..
        }) => {
            assert_eq!((f, offset), (file, third));
        }
        other => panic!("expected corruption below the frontier, got {other:?}"),
    }
}
