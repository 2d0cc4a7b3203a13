//! `delete_range`: every key inside the range goes, every key outside
//! stays, for every bound kind (the default implementation and native
//! overrides alike), across a reopen; and a range small enough for one
//! batch is deleted all or nothing across a crash.

use std::ops::Bound;

use rand::rngs::StdRng;
use rand::RngExt;

use super::harness::{
    apply_both, assert_matches_model, cap, crash_points, key, ok, passed, scan_vec, seeded_rng,
    value, TempStore,
};
use super::recovery::{crash_and_verify, crash_modes, fresh_sim_store};
use super::{CaseOutcome, Engine};
use crate::batch::WriteBatch;
use crate::options::SyncPolicy;
use crate::store::{Direction, KeyRange, Store};
use crate::testkit::{History, Model, ModelOp, SeedGuard};

/// Keys the delete_range cases draw from.
const KEY_SPACE: usize = 300;

/// A range with the given bounds over [`key`] indices.
fn range(start: Bound<usize>, end: Bound<usize>) -> KeyRange {
    let own = |b: Bound<usize>| match b {
        Bound::Included(i) => Bound::Included(key(i)),
        Bound::Excluded(i) => Bound::Excluded(key(i)),
        Bound::Unbounded => Bound::Unbounded,
    };
    KeyRange {
        start: own(start),
        end: own(end),
    }
}

/// Ranges with every bound kind on both ends, each bound on a key that
/// exists, plus an empty, an inverted and a prefix range.
fn fixed_ranges() -> Vec<KeyRange> {
    use Bound::{Excluded, Included, Unbounded};
    vec![
        range(Included(10), Excluded(20)),
        range(Excluded(30), Included(40)),
        range(Excluded(50), Excluded(60)),
        range(Included(70), Included(80)),
        range(Unbounded, Excluded(5)),
        range(Excluded(290), Unbounded),
        range(Included(100), Excluded(100)),
        range(Included(200), Excluded(150)),
        KeyRange::prefix(b"key0001"),
    ]
}

/// A random range: two random keys (in any order), random bound kinds.
fn random_range(rng: &mut StdRng) -> KeyRange {
    let bound = |rng: &mut StdRng| match rng.random_range(0..5) {
        0 => Bound::Unbounded,
        1 | 2 => Bound::Included(rng.random_range(0..KEY_SPACE)),
        _ => Bound::Excluded(rng.random_range(0..KEY_SPACE)),
    };
    let start = bound(rng);
    range(start, bound(rng))
}

/// Deletes `range` from the model.
fn model_delete_range(model: &mut Model, range: &KeyRange) {
    if range.is_empty() {
        return;
    }
    let doomed: Vec<Vec<u8>> = model
        .map()
        .keys()
        .filter(|k| range.contains(k))
        .cloned()
        .collect();
    for k in doomed {
        model.delete(&k);
    }
}

/// Forward and reverse scans of `check` agree with the model.
fn assert_scans_match(store: &dyn Store, model: &Model, check: &KeyRange, context: &str) {
    for direction in [Direction::Forward, Direction::Reverse] {
        let got = scan_vec(store, check, direction, context);
        let expected = model.scan(check, direction);
        assert!(
            got == expected,
            "{context}: a {direction:?} scan of {check:?} yielded {} pairs, the model has {}",
            got.len(),
            expected.len()
        );
    }
}

/// Fills about half the key space with fresh values.
fn refill(store: &dyn Store, model: &mut Model, rng: &mut StdRng, round: u32) {
    for i in 0..KEY_SPACE {
        if rng.random_bool(0.5) {
            let op = ModelOp::Put {
                key: key(i),
                value: value(i, round, 20),
            };
            apply_both(store, model, &op);
        }
    }
}

/// `delete_range` over fixed ranges (every bound kind, empty, inverted,
/// prefix) and random ones: afterwards full, forward and reverse scans
/// match the model, and (for persistent engines) so does the store after a
/// reopen.
pub fn delete_range_matches_the_model(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!("{}::delete_range_matches_the_model", engine.name));
    let mut rng = seeded_rng(guard.seed());
    let db = TempStore::new(engine);
    let mut store = db.open();
    let mut model = Model::new();
    for i in 0..KEY_SPACE {
        apply_both(
            &*store,
            &mut model,
            &ModelOp::Put {
                key: key(i),
                value: value(i, 0, 20),
            },
        );
    }
    let mut ranges = fixed_ranges();
    ranges.extend((0..cap(20, 300)).map(|_| random_range(&mut rng)));
    for (n, deleted) in ranges.iter().enumerate() {
        let context = format!("after delete_range({deleted:?}), range {n}");
        ok(store.delete_range(deleted), &context);
        model_delete_range(&mut model, deleted);
        assert_scans_match(&*store, &model, deleted, &context);
        assert_scans_match(&*store, &model, &random_range(&mut rng), &context);
        assert_matches_model(&*store, &model, &context);
        if n % 4 == 3 {
            refill(&*store, &mut model, &mut rng, n as u32);
        }
        if engine.persistent && n % 7 == 6 {
            store = db.reopen(store);
            assert_matches_model(&*store, &model, format!("{context} and a reopen"));
        }
    }
    passed(store)
}

/// Under `SyncPolicy::Always`, power is cut at every file-system operation
/// (sampled) of a `delete_range` over 400 keys (one batch of the default
/// implementation): after a crash in every crash mode either every key of
/// the range is gone or none is, and every key outside it stays; a
/// `delete_range` that returned `Ok` is there whole.
pub fn delete_range_batches_are_atomic_across_crash(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!(
        "{}::delete_range_batches_are_atomic_across_crash",
        engine.name
    ));
    let mut rng = seeded_rng(guard.seed());
    let doomed = range(Bound::Included(100), Bound::Excluded(500));
    let mut as_batch = WriteBatch::new();
    for i in 100..500 {
        as_batch.delete(key(i));
    }
    let op = ModelOp::Batch(as_batch);
    let run = |seed: u64, cut: Option<u64>| {
        let (sim, store) = fresh_sim_store(engine, seed, SyncPolicy::Always);
        let mut preload = Model::new();
        for i in 0..600 {
            let v = value(i, 1, 40);
            ok(store.put(&key(i), &v), "preload put");
            preload.put(&key(i), &v);
        }
        let mut history = History::new(preload);
        let before = sim.op_count();
        if let Some(n) = cut {
            sim.power_off_after(n);
        }
        match store.delete_range(&doomed) {
            Ok(()) => {
                history.acknowledge(&op);
                history.mark_synced();
            }
            Err(_) => history.fail(&op),
        }
        (sim.op_count() - before, sim, store, history)
    };
    let (total, _, _, _) = run(guard.seed(), None);
    for n in crash_points(total, cap(20, 400), &mut rng) {
        let (_, sim, store, history) = run(guard.seed() ^ n, Some(n));
        for mode in crash_modes(&mut rng) {
            let context = format!("power cut after {n} of delete_range's {total} operations");
            crash_and_verify(engine, &sim, mode, SyncPolicy::Always, &history, context);
        }
        drop(store);
    }
    CaseOutcome::Passed
}
