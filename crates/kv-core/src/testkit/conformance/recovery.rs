//! Power loss on a `SimFs`: cut the power, crash with a [`CrashMode`],
//! reopen the engine on what survived, and judge the recovered state with a
//! [`History`].

use std::fmt::Display;

use rand::rngs::StdRng;
use rand::RngExt;

use super::harness::{assert_check_passes, key, open_on, read_all, sim_arc, value};
use super::Engine;
use crate::batch::WriteBatch;
use crate::options::SyncPolicy;
use crate::store::Store;
use crate::testkit::{CrashMode, History, Model, ModelOp, SimFs, UnsyncedData};

/// Crash modes every crash loop tries: the harsh default, a process crash
/// (everything written kept), torn last writes, a garbage tail and the
/// seeded random mode, with and without forgetting unsynced directory
/// entries.
pub(super) fn crash_modes(rng: &mut StdRng) -> Vec<CrashMode> {
    let mode = |unsynced, forget_unsynced_dir_entries| CrashMode {
        unsynced,
        forget_unsynced_dir_entries,
    };
    vec![
        CrashMode::default(),
        mode(UnsyncedData::Kept, false),
        mode(UnsyncedData::Kept, true),
        mode(
            UnsyncedData::TornLastWrite {
                keep_bytes: rng.random_range(0..64),
            },
            true,
        ),
        mode(
            UnsyncedData::GarbageTail {
                bytes: rng.random_range(1..200),
            },
            true,
        ),
        mode(UnsyncedData::Random, true),
        mode(UnsyncedData::Random, false),
    ]
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
