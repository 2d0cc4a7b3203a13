//! Persistence across a clean reopen: puts, deletes and batches survive,
//! a clean close keeps unsynced writes, the store keeps working after many
//! reopens, and an `Interval` store closes and reopens cleanly.

use std::time::Duration;

use rand::RngExt;

use super::harness::{
    apply_both, assert_matches_model, drop_within, key, ok, passed, seeded_rng, value, TempStore,
};
use super::{CaseOutcome, Engine};
use crate::batch::WriteBatch;
use crate::options::SyncPolicy;
use crate::testkit::{Model, ModelOp, SeedGuard};

/// Synced puts (new keys and overwrites) are all there after a reopen.
pub fn puts_survive_reopen(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let store = db.open();
    let mut model = Model::new();
    for i in 0..500 {
        apply_both(
            &*store,
            &mut model,
            &ModelOp::Put {
                key: key(i),
                value: value(i, 1, i % 200),
            },
        );
    }
    for i in (0..500).step_by(3) {
        apply_both(
            &*store,
            &mut model,
            &ModelOp::Put {
                key: key(i),
                value: value(i, 2, 50),
            },
        );
    }
    ok(store.sync(), "sync");
    let store = db.reopen(store);
    assert_matches_model(&*store, &model, "after puts, sync and a reopen");
    passed(store)
}

/// Synced deletes stay deleted after a reopen, and a key deleted then
/// written again has its new value after a reopen.
pub fn deletes_stay_deleted_after_reopen(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let store = db.open();
    let mut model = Model::new();
    for i in 0..300 {
        apply_both(
            &*store,
            &mut model,
            &ModelOp::Put {
                key: key(i),
                value: value(i, 1, 64),
            },
        );
    }
    ok(store.sync(), "sync");
    for i in (0..300).filter(|i| i % 2 == 0) {
        apply_both(&*store, &mut model, &ModelOp::Delete { key: key(i) });
    }
    ok(store.sync(), "sync");
    let store = db.reopen(store);
    assert_matches_model(
        &*store,
        &model,
        "after deleting half the keys, sync and a reopen",
    );
    for i in (0..300).step_by(10) {
        apply_both(
            &*store,
            &mut model,
            &ModelOp::Put {
                key: key(i),
                value: value(i, 3, 8),
            },
        );
    }
    ok(store.sync(), "sync");
    let store = db.reopen(store);
    assert_matches_model(
        &*store,
        &model,
        "after writing deleted keys again and a reopen",
    );
    passed(store)
}

/// Synced batches (puts and deletes) survive a reopen as written.
pub fn batches_survive_reopen(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let store = db.open();
    let mut model = Model::new();
    for round in 0..20usize {
        let mut batch = WriteBatch::new();
        for j in 0..25 {
            batch.put(key(round * 10 + j), value(j, round as u32, 30));
        }
        for j in 0..5 {
            batch.delete(key(round * 7 + j));
        }
        apply_both(&*store, &mut model, &ModelOp::Batch(batch));
    }
    ok(store.sync(), "sync");
    let store = db.reopen(store);
    assert_matches_model(&*store, &model, "after 20 batches, sync and a reopen");
    passed(store)
}

/// Dropping a store is a clean close: writes acknowledged under `Manual`
/// but never synced are there after a reopen (no crash happened).
pub fn clean_close_keeps_unsynced_writes(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let store = db.open();
    let mut model = Model::new();
    for i in 0..200 {
        apply_both(
            &*store,
            &mut model,
            &ModelOp::Put {
                key: key(i),
                value: value(i, 1, 40),
            },
        );
    }
    ok(store.sync(), "sync");
    for i in 150..250 {
        apply_both(
            &*store,
            &mut model,
            &ModelOp::Put {
                key: key(i),
                value: value(i, 2, 40),
            },
        );
    }
    apply_both(&*store, &mut model, &ModelOp::Delete { key: key(3) });
    let mut batch = WriteBatch::new();
    batch
        .put(b"batched".to_vec(), b"unsynced".to_vec())
        .delete(key(4));
    apply_both(&*store, &mut model, &ModelOp::Batch(batch));
    let store = db.reopen(store);
    assert_matches_model(
        &*store,
        &model,
        "after unsynced writes and a clean close (dropping a store must keep every acknowledged write)",
    );
    passed(store)
}

/// After a reopen, new writes (new keys, overwrites, deletes) are seen by
/// scans together with what was recovered, and all of it survives the next
/// reopen.
pub fn writes_after_reopen_are_seen_by_scans(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let store = db.open();
    let mut model = Model::new();
    for i in 0..100 {
        apply_both(
            &*store,
            &mut model,
            &ModelOp::Put {
                key: key(i * 2),
                value: value(i, 1, 20),
            },
        );
    }
    ok(store.sync(), "sync");
    let store = db.reopen(store);
    for i in 0..100 {
        let op = match i % 3 {
            0 => ModelOp::Put {
                key: key(i * 2 + 1),
                value: value(i, 2, 20),
            },
            1 => ModelOp::Put {
                key: key(i * 2),
                value: value(i, 3, 25),
            },
            _ => ModelOp::Delete { key: key(i * 2) },
        };
        apply_both(&*store, &mut model, &op);
    }
    assert_matches_model(
        &*store,
        &model,
        "recovered keys mixed with writes made after the reopen",
    );
    ok(store.sync(), "sync");
    let store = db.reopen(store);
    assert_matches_model(&*store, &model, "after a second reopen");
    passed(store)
}

/// Twenty reopens in a row, with random writes (synced or not) between
/// them, keep every write.
pub fn many_reopens_keep_every_write(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!("{}::many_reopens_keep_every_write", engine.name));
    let mut rng = seeded_rng(guard.seed());
    let db = TempStore::new(engine);
    let mut store = db.open();
    let mut model = Model::new();
    for round in 0..20u32 {
        for _ in 0..rng.random_range(0..40) {
            let i = rng.random_range(0..150);
            let op = if rng.random_range(0..4) == 0 {
                ModelOp::Delete { key: key(i) }
            } else {
                ModelOp::Put {
                    key: key(i),
                    value: value(i, round, rng.random_range(0..100)),
                }
            };
            apply_both(&*store, &mut model, &op);
        }
        if rng.random() {
            ok(store.sync(), "sync");
        }
        store = db.reopen(store);
        assert_matches_model(&*store, &model, format!("after reopen {}", round + 1));
    }
    passed(store)
}

/// A store under `SyncPolicy::Interval` (with its background syncing)
/// drops within a few seconds, releases its directory, and reopens at once
/// with every write.
pub fn interval_policy_store_closes_and_reopens_cleanly(engine: &Engine) -> CaseOutcome {
    let db = TempStore::with_sync(engine, SyncPolicy::Interval { interval_ms: 10 });
    let mut model = Model::new();
    let mut store = db.open();
    for round in 0..3u32 {
        for i in 0..100 {
            apply_both(
                &*store,
                &mut model,
                &ModelOp::Put {
                    key: key(i),
                    value: value(i, round, 30),
                },
            );
        }
        apply_both(
            &*store,
            &mut model,
            &ModelOp::Delete {
                key: key(round as usize),
            },
        );
        if round == 1 {
            std::thread::sleep(Duration::from_millis(30));
        }
        drop_within(
            store,
            Duration::from_secs(10),
            format!("Interval policy, round {round}"),
        );
        store = db.open();
        assert_matches_model(
            &*store,
            &model,
            format!("Interval policy, after reopen {}", round + 1),
        );
    }
    passed(store)
}
