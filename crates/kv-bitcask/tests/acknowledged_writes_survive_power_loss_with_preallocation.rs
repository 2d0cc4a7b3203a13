//! Under `SyncPolicy::Always` with preallocation, power is cut at every
//! file-system operation of a workload of puts, deletes and batches whose
//! files are extended several times and roll over (so the cut hits
//! extensions, writes into preallocated space, syncs, the trims before
//! rollovers and the creation of new files). In every crash mode (unsynced
//! data lost, kept, torn at a few sizes, garbage after the end, random) the
//! reopened store holds the model after a prefix of the workload that
//! includes every acknowledged write, `check()` passes, a power loss that
//! keeps only synced data leaves nothing that counts as torn, and the store
//! takes a synced write that survives the next crash.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{always_options, dir, key, value};
use kv_bitcask::Bitcask;
use kv_core::testkit::{CrashMode, History, Model, ModelOp, SeedGuard, SimFs, UnsyncedData};
use kv_core::{Store, StoreExt, WriteBatch};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const MAX_FILE_BYTES: u64 = 1200;

/// Record bytes the workload writes at least: three files' worth, so every
/// seed rolls over at least twice (a sealed file holds at most
/// `MAX_FILE_BYTES`).
const MIN_WORKLOAD_BYTES: usize = 3 * MAX_FILE_BYTES as usize;

/// Operations the workload has at least: each one does at least two file
/// system operations (its write and its sync), so more than 80 in all.
const MIN_WORKLOAD_OPS: usize = 41;

/// A random workload that meets its preconditions for every seed by
/// construction: it grows until it has written [`MIN_WORKLOAD_BYTES`] in at
/// least [`MIN_WORKLOAD_OPS`] operations, and it deletes only live keys (a
/// delete of a missing key writes nothing, which once made some seeds run
/// short of operations).
fn workload(rng: &mut StdRng) -> Vec<ModelOp> {
    let record = |k: &[u8], v: usize| 23 + k.len() + v;
    let mut live = std::collections::BTreeSet::new();
    let (mut ops, mut bytes) = (Vec::new(), 0);
    let mut step = 0;
    while bytes < MIN_WORKLOAD_BYTES || ops.len() < MIN_WORKLOAD_OPS {
        step += 1;
        let i = rng.random_range(0..12);
        let op = match rng.random_range(0..8) {
            0 if live.contains(&i) => {
                live.remove(&i);
                bytes += record(&key(i), 0);
                ModelOp::Delete { key: key(i) }
            }
            1 => {
                let mut batch = WriteBatch::new();
                bytes += 23;
                for m in 0..rng.random_range(1..4) {
                    let j = rng.random_range(0..12);
                    let v = value(j, step * 4 + m, rng.random_range(0..60));
                    bytes += record(&key(j), v.len());
                    batch.put(key(j), v);
                    live.insert(j);
                }
                batch.delete(key(i));
                bytes += record(&key(i), 0);
                live.remove(&i);
                ModelOp::Batch(batch)
            }
            _ => {
                let v = value(i, step, rng.random_range(0..150));
                bytes += record(&key(i), v.len());
                live.insert(i);
                ModelOp::Put {
                    key: key(i),
                    value: v,
                }
            }
        };
        ops.push(op);
    }
    ops
}

fn apply(store: &Bitcask, op: &ModelOp) -> kv_core::Result<()> {
    match op {
        ModelOp::Put { key, value } => store.put(key, value),
        ModelOp::Delete { key } => store.delete(key),
        ModelOp::Batch(batch) => store.write(batch),
        other => panic!("not a write: {other:?}"),
    }
}

/// Runs `ops` until one fails; every acknowledged write is durable.
fn run(store: &Bitcask, ops: &[ModelOp]) -> History {
    let mut history = History::new(Model::new());
    for op in ops {
        match apply(store, op) {
            Ok(()) => {
                history.acknowledge(op);
                history.mark_synced();
            }
            Err(_) => {
                history.fail(op);
                break;
            }
        }
    }
    history
}

fn crash_modes() -> Vec<CrashMode> {
    let mode = |unsynced, forget_unsynced_dir_entries| CrashMode {
        unsynced,
        forget_unsynced_dir_entries,
    };
    vec![
        CrashMode::default(),
        mode(UnsyncedData::Kept, false),
        mode(UnsyncedData::Kept, true),
        mode(UnsyncedData::TornLastWrite { keep_bytes: 0 }, true),
        mode(UnsyncedData::TornLastWrite { keep_bytes: 9 }, true),
        mode(UnsyncedData::TornLastWrite { keep_bytes: 40 }, false),
        mode(UnsyncedData::GarbageTail { bytes: 50 }, true),
        mode(UnsyncedData::Random, true),
        mode(UnsyncedData::Random, false),
    ]
}

fn open(sim: &SimFs, preallocate_bytes: u64) -> Bitcask {
    Bitcask::open(
        dir(),
        always_options(sim, MAX_FILE_BYTES, preallocate_bytes),
    )
    .unwrap()
}

/// Runs the workload of `seed` without a crash; returns the number of file
/// system operations it made, after asserting its preconditions.
fn complete_run(name: &str, seed: u64, ops: &[ModelOp], preallocate_bytes: u64) -> u64 {
    let sim = SimFs::new(seed);
    let store = open(&sim, preallocate_bytes);
    let before = sim.op_count();
    let complete = run(&store, ops);
    assert!(
        complete.acknowledged() == ops.len(),
        "{name}, seed {seed}: failed without a crash"
    );
    let total = sim.op_count() - before;
    assert!(total > 80, "{name}, seed {seed}: only {total} operations");
    assert!(
        store.stats().extra["files"] >= 3,
        "{name}, seed {seed}: too few rollovers: {:?}",
        store.stats().extra
    );
    total
}

fn crash_at_every_operation(name: &str, preallocate_bytes: u64) {
    let guard = SeedGuard::new(name);
    let mut rng = StdRng::seed_from_u64(guard.seed());
    let ops = workload(&mut rng);
    let total = complete_run(name, guard.seed(), &ops, preallocate_bytes);
    for n in 0..=total {
        let sim = SimFs::new(guard.seed() ^ n);
        let store = open(&sim, preallocate_bytes);
        sim.power_off_after(n);
        let history = run(&store, &ops);
        for mode in crash_modes() {
            let context = format!("{name}: power cut after {n} of {total} operations, {mode:?}");
            let crashed = sim.crash_with(mode);
            let reopened = Bitcask::open(
                dir(),
                always_options(&crashed, MAX_FILE_BYTES, preallocate_bytes),
            )
            .unwrap_or_else(|e| panic!("{context}: reopen failed: {e}"));
            let recovered = reopened.scan_all().unwrap();
            history
                .check_recovered(&recovered)
                .unwrap_or_else(|e| panic!("{context}: {e}"));
            reopened
                .check()
                .unwrap_or_else(|e| panic!("{context}: check failed: {e}"));
            if mode == CrashMode::default() {
                assert_eq!(
                    reopened.stats().torn_bytes_truncated,
                    0,
                    "{context}: only synced data survived, nothing can be torn"
                );
            }
            // The recovered store takes a synced write that survives.
            reopened.put(b"marker", b"after recovery").unwrap();
            let mut expected: Model = recovered.into_iter().collect();
            expected.put(b"marker", b"after recovery");
            let again = crashed.crash();
            drop(reopened);
            let reopened = Bitcask::open(
                dir(),
                always_options(&again, MAX_FILE_BYTES, preallocate_bytes),
            )
            .unwrap_or_else(|e| panic!("{context}: second reopen failed: {e}"));
            let got: Model = reopened.scan_all().unwrap().into_iter().collect();
            assert!(
                got == expected,
                "{context}: after a synced put and a second crash: {:?}",
                kv_core::testkit::diff_lines(&expected, &got)
            );
        }
        drop(store);
    }
}

#[test]
fn acknowledged_writes_survive_power_loss_with_preallocation() {
    // Several extensions per file, the last one capped at the file limit.
    crash_at_every_operation(
        "acknowledged_writes_survive_power_loss_with_preallocation",
        350,
    );
}

#[test]
fn acknowledged_writes_survive_power_loss_with_whole_file_preallocation() {
    // The default step, capped at the file limit: one extension per file.
    crash_at_every_operation(
        "acknowledged_writes_survive_power_loss_with_whole_file_preallocation",
        kv_bitcask::options::DEFAULT_PREALLOCATE_BYTES,
    );
}

/// The preconditions of the crash tests above (enough operations, enough
/// rollovers) hold for every seed, not only for the ones CI happened to try.
#[test]
fn workload_preconditions_hold_for_every_seed() {
    for seed in 0..1000 {
        let mut rng = StdRng::seed_from_u64(seed);
        let ops = workload(&mut rng);
        for step in [350, kv_bitcask::options::DEFAULT_PREALLOCATE_BYTES] {
            complete_run("precondition sweep", seed, &ops, step);
        }
    }
}
