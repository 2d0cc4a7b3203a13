//! Power loss on a `SimFs`: cut the power, crash with a [`CrashMode`],
//! reopen the engine on what survived, and judge the recovered state with a
//! [`History`].

use std::fmt::Display;

use rand::rngs::StdRng;
use rand::RngExt;

use super::harness::{assert_check_passes, key, ok, open_on, read_all, sim_arc, value, write_op};
use super::Engine;
use crate::batch::WriteBatch;
use crate::options::SyncPolicy;
use crate::store::Store;
use crate::testkit::{CrashMode, History, Model, ModelOp, SimFs};

/// The crash modes every crash case runs under: SimFs's
/// [`CrashMode::suite_modes`] (power loss, torn last write, garbage tail,
/// random prefix, reordered writeback with and without torn sectors, process
/// kill), their sizes drawn from `rng`.
pub(super) fn crash_modes(rng: &mut StdRng) -> Vec<CrashMode> {
    CrashMode::suite_modes(rng.random())
}

/// Opens the engine on an empty `SimFs` with `seed`.
pub(super) fn fresh_sim_store(
    engine: &Engine,
    seed: u64,
    sync: SyncPolicy,
) -> (SimFs, Box<dyn Store>) {
    let sim = SimFs::new(seed);
    let store = open_on(engine, sim_arc(&sim), sync, "opening on an empty SimFs");
    (sim, store)
}

/// Crashes `sim` with `mode`, opens the engine on what survived, and checks
/// that the recovered state is allowed by `history` and that `check()`
/// passes. Returns the crashed file system, the reopened store and the
/// recovered contents.
pub(super) fn crash_and_verify(
    engine: &Engine,
    sim: &SimFs,
    mode: CrashMode,
    sync: SyncPolicy,
    history: &History,
    context: impl Display,
) -> (SimFs, Box<dyn Store>, Model) {
    let context = format!("{context}, crash mode {mode:?}");
    let crashed = sim.crash_with(mode);
    let store = open_on(
        engine,
        sim_arc(&crashed),
        sync,
        format!("{context}: reopening after the crash"),
    );
    let recovered = read_all(&*store, format!("{context}: reading after the crash"));
    if let Err(report) = history.check_recovered(&recovered) {
        panic!("{context}: {report}");
    }
    assert_check_passes(&*store, format!("{context}: after the crash"));
    (crashed, store, recovered.into_iter().collect())
}

/// `count` random writes over `key_space` keys: puts (values up to
/// `max_value_bytes`), deletes and small batches.
pub(super) fn random_writes(
    rng: &mut StdRng,
    count: usize,
    key_space: usize,
    max_value_bytes: usize,
) -> Vec<ModelOp> {
    (0..count)
        .map(|n| {
            let i = rng.random_range(0..key_space);
            match rng.random_range(0..10) {
                0..=5 => ModelOp::Put {
                    key: key(i),
                    value: value(i, n as u32, rng.random_range(0..=max_value_bytes)),
                },
                6 | 7 => ModelOp::Delete { key: key(i) },
                _ => {
                    let mut batch = WriteBatch::new();
                    for m in 0..rng.random_range(1..6) {
                        let j = rng.random_range(0..key_space);
                        if rng.random_range(0..4) == 0 {
                            batch.delete(key(j));
                        } else {
                            batch.put(
                                key(j),
                                value(j, (n * 8 + m) as u32, rng.random_range(0..=max_value_bytes)),
                            );
                        }
                    }
                    ModelOp::Batch(batch)
                }
            }
        })
        .collect()
}

/// Keep this many bytes of every file's last unsynced write in
/// [`store_with_torn_tail`]: less than any record header.
pub(super) const TORN_KEEP_BYTES: usize = 12;

/// A crashed store whose recovery has work to do: 100 synced puts, then
/// unsynced puts (a 4000-byte value last) until the engine has handed some
/// of them to the file system, then a crash that keeps only the first
/// [`TORN_KEEP_BYTES`] bytes of every file's last write (a torn tail).
/// Returns the crashed file system and the history it must recover from.
pub(super) fn store_with_torn_tail(engine: &Engine, seed: u64) -> (SimFs, History) {
    crashed_with_unsynced_tail(engine, seed, CrashMode::torn_last_write(TORN_KEEP_BYTES))
}

/// As [`store_with_torn_tail`], but crashed with `mode`.
pub(super) fn crashed_with_unsynced_tail(
    engine: &Engine,
    seed: u64,
    mode: CrashMode,
) -> (SimFs, History) {
    let (sim, store) = fresh_sim_store(engine, seed, SyncPolicy::Manual);
    let mut history = History::new(Model::new());
    for i in 0..100 {
        let op = ModelOp::Put {
            key: key(i),
            value: value(i, 1, 60),
        };
        ok(write_op(&*store, &op), "synced put");
        history.acknowledge(&op);
    }
    ok(store.sync(), "sync");
    history.mark_synced();
    let before = sim.op_count();
    for i in 0..200 {
        let op = ModelOp::Put {
            key: key(1000 + i),
            value: value(i, 2, if i == 0 { 4000 } else { 300 }),
        };
        ok(write_op(&*store, &op), "unsynced put");
        history.acknowledge(&op);
        if sim.op_count() > before {
            break;
        }
    }
    let crashed = sim.crash_with(mode);
    drop(store);
    (crashed, history)
}

/// A copy of `sim` (every file and directory as it is now): a crash that
/// keeps everything.
pub(super) fn copy_of(sim: &SimFs) -> SimFs {
    sim.crash_with(CrashMode::process_kill())
}

/// A file's path with its current and durable bytes.
pub(super) type FileImage = (std::path::PathBuf, Option<Vec<u8>>, Option<Vec<u8>>);

/// Every file of `sim` with its current and durable bytes.
pub(super) fn file_images(sim: &SimFs) -> Vec<FileImage> {
    sim.files()
        .into_iter()
        .map(|path| {
            let (now, durable) = (sim.contents(&path), sim.durable_contents(&path));
            (path, now, durable)
        })
        .collect()
}
