//! Write batches: every operation applies, the later operation on a key
//! wins, the empty batch changes nothing, and a batch is all or nothing
//! across a crash at any file-system operation.

use super::harness::{
    apply_both, assert_matches_model, cap, crash_points, key, ok, passed, seeded_rng, value,
    TempStore,
};
use super::recovery::{crash_and_verify, crash_modes, fresh_sim_store};
use super::{CaseOutcome, Engine};
use crate::batch::WriteBatch;
use crate::options::SyncPolicy;
use crate::store::Store;
use crate::testkit::{History, Model, ModelOp, SeedGuard};

/// A batch's puts (new keys and overwrites) and deletes (present and missing
/// keys) are all visible after `write` returns.
pub fn batch_applies_all_puts_and_deletes(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let store = db.open();
    let mut model = Model::new();
    for i in 0..20 {
        apply_both(
            &*store,
            &mut model,
            &ModelOp::Put {
                key: key(i),
                value: value(i, 1, 30),
            },
        );
    }
    let mut batch = WriteBatch::new();
    for i in 15..30 {
        batch.put(key(i), value(i, 2, 40));
    }
    for i in (0..10).chain(100..105) {
        batch.delete(key(i));
    }
    batch.put(b"".to_vec(), b"empty key in a batch".to_vec());
    apply_both(&*store, &mut model, &ModelOp::Batch(batch));
    assert_matches_model(&*store, &model, "after a batch of puts and deletes");
    passed(store)
}

/// Within a batch, the later operation on the same key wins: put-put keeps
/// the second value, put-delete deletes, delete-put puts; also after a
/// reopen.
pub fn later_op_on_same_key_in_batch_wins(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let mut store = db.open();
    let mut model = Model::new();
    apply_both(
        &*store,
        &mut model,
        &ModelOp::Put {
            key: b"c".to_vec(),
            value: b"old".to_vec(),
        },
    );
    let mut batch = WriteBatch::new();
    batch
        .put(b"a".to_vec(), b"1".to_vec())
        .put(b"a".to_vec(), b"2".to_vec())
        .put(b"b".to_vec(), b"1".to_vec())
        .delete(b"b".to_vec())
        .delete(b"c".to_vec())
        .put(b"c".to_vec(), b"new".to_vec())
        .put(b"d".to_vec(), b"1".to_vec())
        .delete(b"d".to_vec())
        .put(b"d".to_vec(), b"3".to_vec());
    apply_both(&*store, &mut model, &ModelOp::Batch(batch));
    assert_eq!(model.get(b"a"), Some(&b"2"[..]));
    assert_matches_model(&*store, &model, "after a batch touching keys twice");
    if engine.persistent {
        ok(store.sync(), "sync");
        store = db.reopen(store);
        assert_matches_model(
            &*store,
            &model,
            "after a batch touching keys twice and a reopen",
        );
    }
    passed(store)
}

/// Writing an empty batch is `Ok` and changes nothing.
pub fn empty_batch_is_a_no_op(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let store = db.open();
    let mut model = Model::new();
    ok(
        store.write(&WriteBatch::new()),
        "an empty batch on an empty store",
    );
    apply_both(
        &*store,
        &mut model,
        &ModelOp::Put {
            key: b"k".to_vec(),
            value: b"v".to_vec(),
        },
    );
    ok(store.write(&WriteBatch::new()), "an empty batch");
    assert_matches_model(&*store, &model, "after empty batches");
    passed(store)
}

/// The preload of the crash loop: 100 keys, each put synced (`Always`).
fn preload(store: &dyn Store, history: &mut History) {
    for i in 0..100 {
        let op = ModelOp::Put {
            key: key(i),
            value: value(i, 1, 100),
        };
        ok(super::harness::write_op(store, &op), "preload put");
        history.acknowledge(&op);
    }
    history.mark_synced();
}

/// The big batch: overwrites, new keys, deletes, about 300 KiB.
fn big_batch() -> WriteBatch {
    let mut batch = WriteBatch::new();
    for i in 50..350 {
        batch.put(key(i), value(i, 2, 1000));
    }
    for i in 0..50 {
        batch.delete(key(i));
    }
    batch
}

/// Power is cut at every file-system operation of a big batch (sampled when
/// there are many); after a crash in every crash mode the store holds either
/// the whole batch or none of it, and a batch that returned `Ok` (under
/// `SyncPolicy::Always`) is there whole.
pub fn batch_is_atomic_across_crash(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!("{}::batch_is_atomic_across_crash", engine.name));
    let mut rng = seeded_rng(guard.seed());
    let batch = big_batch();
    let op = ModelOp::Batch(batch.clone());
    // Dry run: how many mutating operations the batch takes.
    let (sim, store) = fresh_sim_store(engine, guard.seed(), SyncPolicy::Always);
    preload(&*store, &mut History::new(Model::new()));
    let before = sim.op_count();
    ok(store.write(&batch), "the big batch without a crash");
    let total = sim.op_count() - before;
    drop(store);
    let points = crash_points(total, cap(40, 1000), &mut rng);
    for &n in &points {
        let (sim, store) = fresh_sim_store(engine, guard.seed() ^ n, SyncPolicy::Always);
        let mut history = History::new(Model::new());
        preload(&*store, &mut history);
        sim.power_off_after(n);
        match store.write(&batch) {
            Ok(()) => {
                history.acknowledge(&op);
                history.mark_synced();
            }
            Err(_) => history.fail(&op),
        }
        for mode in crash_modes(&mut rng) {
            let context =
                format!("power cut after {n} of the batch's {total} file-system operations");
            crash_and_verify(engine, &sim, mode, SyncPolicy::Always, &history, context);
        }
        drop(store);
    }
    CaseOutcome::Passed
}

/// Operations in the batch of [`batch_larger_than_a_file_is_all_or_nothing`].
const LARGE_BATCH_OPS: usize = 1200;

/// 1,000 puts of 300-byte values (new keys and overwrites) and 200 deletes:
/// about 330 KiB, more than a data file of most engines' test setups.
fn larger_than_a_file() -> WriteBatch {
    let mut batch = WriteBatch::new();
    for i in 0..1000 {
        batch.put(key(i), value(i, 3, 300));
    }
    for i in 1000..LARGE_BATCH_OPS {
        batch.delete(key(i));
    }
    batch
}

/// A batch of 1,200 operations (about 330 KiB, larger than one data file)
/// crashed at every file-system operation (sampled) of its write and, under
/// `Manual`, of the `sync()` after it: under `Always` and under `Manual`,
/// after a crash in every crash mode, all of it is there or none of it.
pub fn batch_larger_than_a_file_is_all_or_nothing(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!(
        "{}::batch_larger_than_a_file_is_all_or_nothing",
        engine.name
    ));
    let mut rng = seeded_rng(guard.seed());
    let batch = larger_than_a_file();
    assert!(
        batch.len() > 1000,
        "the batch has only {} operations",
        batch.len()
    );
    let op = ModelOp::Batch(batch.clone());
    for policy in [SyncPolicy::Always, SyncPolicy::Manual] {
        let run = |seed: u64, cut: Option<u64>| {
            let (sim, store) = fresh_sim_store(engine, seed, policy);
            let mut history = History::new(Model::new());
            for i in 900..LARGE_BATCH_OPS {
                let put = ModelOp::Put {
                    key: key(i),
                    value: value(i, 1, 50),
                };
                ok(super::harness::write_op(&*store, &put), "preload put");
                history.acknowledge(&put);
            }
            ok(store.sync(), "preload sync");
            history.mark_synced();
            let before = sim.op_count();
            if let Some(n) = cut {
                sim.power_off_after(n);
            }
            match store.write(&batch).and_then(|()| store.sync()) {
                Ok(()) => {
                    history.acknowledge(&op);
                    history.mark_synced();
                }
                Err(_) => history.fail(&op),
            }
            (sim.op_count() - before, sim, store, history)
        };
        let (total, _, _, _) = run(guard.seed(), None);
        for n in crash_points(total, cap(12, 300), &mut rng) {
            let (_, sim, store, history) = run(guard.seed() ^ n, Some(n));
            for mode in crash_modes(&mut rng) {
                let context = format!(
                    "{policy:?}: power cut after {n} of the batch's {total} file-system operations"
                );
                crash_and_verify(engine, &sim, mode, policy, &history, context);
            }
            drop(store);
        }
    }
    CaseOutcome::Passed
}
