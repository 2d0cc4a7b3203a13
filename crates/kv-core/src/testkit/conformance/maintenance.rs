//! Maintenance: `check()`, `stats()`, and `compact()`, which keeps the
//! content, never resurrects a delete and does not grow the store.

use super::harness::{apply_both, assert_matches_model, key, ok, passed, value, TempStore};
use super::{CaseOutcome, Engine};
use crate::batch::WriteBatch;
use crate::store::Store;
use crate::testkit::{Model, ModelOp};

/// Puts, overwrites, deletes (some of missing keys) and a batch with a key
/// twice: the workload the maintenance cases start from.
fn busy_workload(store: &dyn Store, model: &mut Model) {
    for i in 0..400 {
        apply_both(
            store,
            model,
            &ModelOp::Put {
                key: key(i),
                value: value(i, 1, 80),
            },
        );
    }
    for i in (0..400).step_by(2) {
        apply_both(
            store,
            model,
            &ModelOp::Put {
                key: key(i),
                value: value(i, 2, 60),
            },
        );
    }
    for i in (0..500).step_by(3) {
        apply_both(store, model, &ModelOp::Delete { key: key(i) });
    }
    let mut batch = WriteBatch::new();
    batch
        .put(key(1), b"x".to_vec())
        .put(key(1), b"y".to_vec())
        .delete(key(5))
        .put(key(1000), b"new".to_vec());
    apply_both(store, model, &ModelOp::Batch(batch));
}

/// `stats().live_keys` equals the model where the engine claims it exact
/// (`live_keys_exact`); `check()` counts exactly everywhere.
fn assert_live_keys(store: &dyn Store, model: &Model, context: &str) {
    let checked = ok(store.check(), format!("{context}: check()"));
    assert_eq!(
        checked.live_keys,
        model.len() as u64,
        "{context}: check() found {} live keys, the model has {}",
        checked.live_keys,
        model.len()
    );
    let stats = store.stats();
    if !stats.live_keys_exact {
        return;
    }
    assert_eq!(
        stats.live_keys,
        model.len() as u64,
        "{context}: stats().live_keys is {}, the model has {} keys",
        stats.live_keys,
        model.len()
    );
}

/// `check()` passes on an empty store and on a busy one, and reports the
/// number of live keys it found.
pub fn check_passes_on_a_busy_store(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let store = db.open();
    let empty = ok(store.check(), "check() on an empty store");
    assert!(
        empty.damage.is_empty(),
        "check() on an empty store found damage: {:?}",
        empty.damage
    );
    assert_eq!(
        empty.live_keys, 0,
        "check() on an empty store found live keys"
    );
    let mut model = Model::new();
    busy_workload(&*store, &mut model);
    let report = ok(store.check(), "check() after a busy workload");
    assert!(
        report.damage.is_empty(),
        "check() on a sound busy store found damage: {:?}",
        report.damage
    );
    assert_eq!(
        report.live_keys,
        model.len() as u64,
        "check() reports {} live keys, the model has {}",
        report.live_keys,
        model.len()
    );
    passed(store)
}

/// `stats().live_keys` equals the model's key count after writes, deletes
/// of present and missing keys and batches, after `compact()`, and (for
/// persistent engines) after a reopen, where `stats().live_keys_exact`
/// claims exactness (an estimate is not checked); `check().live_keys` is
/// exact everywhere.
pub fn stats_live_keys_match_model(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let mut store = db.open();
    let mut model = Model::new();
    assert_live_keys(&*store, &model, "on an empty store");
    busy_workload(&*store, &mut model);
    assert_live_keys(&*store, &model, "after a busy workload");
    ok(store.compact(), "compact");
    assert_live_keys(&*store, &model, "after compact()");
    if engine.persistent {
        ok(store.sync(), "sync");
        store = db.reopen(store);
        assert_live_keys(&*store, &model, "after a reopen");
    }
    passed(store)
}

/// `compact()` keeps every live pair (on an empty store too), the store
/// keeps working after it, and (for persistent engines) the compacted
/// content survives a reopen.
pub fn compact_preserves_content(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let mut store = db.open();
    let mut model = Model::new();
    ok(store.compact(), "compact() on an empty store");
    assert_matches_model(&*store, &model, "after compacting an empty store");
    busy_workload(&*store, &mut model);
    ok(store.compact(), "compact");
    assert_matches_model(&*store, &model, "after compact()");
    for i in 390..420 {
        apply_both(
            &*store,
            &mut model,
            &ModelOp::Put {
                key: key(i),
                value: value(i, 4, 10),
            },
        );
    }
    ok(store.compact(), "second compact");
    assert_matches_model(&*store, &model, "after writes and a second compact()");
    if engine.persistent {
        store = db.reopen(store);
        assert_matches_model(&*store, &model, "after compact() and a reopen");
    }
    passed(store)
}

/// Deleted keys stay deleted through `compact()`, a reopen, another
/// `compact()` and another reopen (no resurrection of older values).
pub fn deleted_keys_stay_deleted_after_compact_and_reopen(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let mut store = db.open();
    let mut model = Model::new();
    for version in 1..=3 {
        for i in 0..300 {
            apply_both(
                &*store,
                &mut model,
                &ModelOp::Put {
                    key: key(i),
                    value: value(i, version, 50),
                },
            );
        }
        ok(store.sync(), "sync");
    }
    for i in (0..300).filter(|i| i % 4 != 0) {
        apply_both(&*store, &mut model, &ModelOp::Delete { key: key(i) });
    }
    ok(store.sync(), "sync");
    for round in 0..2 {
        ok(store.compact(), "compact");
        assert_matches_model(&*store, &model, format!("round {round}: after compact()"));
        if engine.persistent {
            store = db.reopen(store);
            assert_matches_model(
                &*store,
                &model,
                format!("round {round}: after compact() and a reopen"),
            );
        }
    }
    passed(store)
}

/// Writes made after `compact()` (overwrites and deletes of compacted keys,
/// new keys) survive a reopen, and so does a second compaction of them.
pub fn writes_after_compact_survive_reopen(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let store = db.open();
    let mut model = Model::new();
    busy_workload(&*store, &mut model);
    ok(store.compact(), "compact");
    for i in 0..200 {
        let op = match i % 4 {
            0 => ModelOp::Delete { key: key(i) },
            1 => ModelOp::Put {
                key: key(i),
                value: value(i, 5, 33),
            },
            _ => ModelOp::Put {
                key: key(i + 2000),
                value: value(i, 5, 12),
            },
        };
        apply_both(&*store, &mut model, &op);
    }
    ok(store.sync(), "sync");
    let store = db.reopen(store);
    assert_matches_model(&*store, &model, "after compact(), more writes and a reopen");
    ok(store.compact(), "compact after reopen");
    let store = db.reopen(store);
    assert_matches_model(&*store, &model, "after a second compact() and a reopen");
    passed(store)
}

/// After overwriting and deleting most of the data, `compact()` does not
/// make the store bigger on disk (`stats().disk_bytes` at most 10% + 64 KiB
/// above its size before). Skipped if the engine reports no `disk_bytes`.
pub fn compact_after_deletes_does_not_grow_disk(engine: &Engine) -> CaseOutcome {
    const SLACK_BYTES: u64 = 64 * 1024;
    let db = TempStore::new(engine);
    let store = db.open();
    let mut model = Model::new();
    for version in 1..=3 {
        for i in 0..1000 {
            apply_both(
                &*store,
                &mut model,
                &ModelOp::Put {
                    key: key(i),
                    value: value(i, version, 512),
                },
            );
        }
        ok(store.sync(), "sync");
    }
    for i in (0..1000).filter(|i| i % 4 != 0) {
        apply_both(&*store, &mut model, &ModelOp::Delete { key: key(i) });
    }
    ok(store.sync(), "sync");
    let before = store.stats().disk_bytes;
    if before == 0 {
        return super::CaseOutcome::Skipped(format!(
            "engine '{}' reports no stats().disk_bytes",
            engine.name
        ));
    }
    ok(store.compact(), "compact");
    let after = store.stats().disk_bytes;
    assert!(
        after <= before + before / 10 + SLACK_BYTES,
        "compact() after overwriting everything three times and deleting 3/4 of the keys grew the store from {before} to {after} bytes"
    );
    assert_matches_model(&*store, &model, "after compact()");
    passed(store)
}
