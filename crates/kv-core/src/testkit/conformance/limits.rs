//! Size limits: the largest key and value are accepted; anything larger is
//! `TooLarge` with nothing written, also after a reopen, and the store stays
//! usable (a refused request does not poison it).

use super::harness::{assert_get, assert_matches_model, key, ok, passed, value, TempStore};
use super::{CaseOutcome, Engine};
use crate::batch::WriteBatch;
use crate::error::{Error, Result};
use crate::limits::{MAX_BATCH_BYTES, MAX_KEY_BYTES, MAX_VALUE_BYTES};
use crate::store::Store;
use crate::testkit::Model;

/// A key of exactly `MAX_KEY_BYTES` and a value of exactly
/// `MAX_VALUE_BYTES` are accepted and read back, also after a reopen.
pub fn max_key_and_value_sizes_are_accepted(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let mut store = db.open();
    let max_key: Vec<u8> = (0..MAX_KEY_BYTES).map(|i| (i % 251) as u8).collect();
    let max_value: Vec<u8> = (0..MAX_VALUE_BYTES).map(|i| (i % 253) as u8).collect();
    let mut model = Model::new();
    ok(
        store.put(&max_key, b"small"),
        "put with a key of MAX_KEY_BYTES",
    );
    model.put(&max_key, b"small");
    ok(
        store.put(b"big", &max_value),
        "put with a value of MAX_VALUE_BYTES",
    );
    model.put(b"big", &max_value);
    let mut batch = WriteBatch::new();
    let mut other_key = max_key.clone();
    other_key[0] ^= 0xff;
    batch.put(other_key.clone(), b"in a batch".to_vec());
    ok(store.write(&batch), "batch with a key of MAX_KEY_BYTES");
    model.put(&other_key, b"in a batch");
    assert_matches_model(&*store, &model, "with the largest key and value");
    if engine.persistent {
        ok(store.sync(), "sync");
        store = db.reopen(store);
        assert_matches_model(
            &*store,
            &model,
            "after a reopen, with the largest key and value",
        );
    }
    passed(store)
}

/// Preloads a few keys and returns the model of them.
fn preload(store: &dyn Store) -> Model {
    let mut model = Model::new();
    for i in 0..5 {
        ok(store.put(&key(i), &value(i, 1, 16)), "preload put");
        model.put(&key(i), &value(i, 1, 16));
    }
    model
}

/// Asserts `result` is `TooLarge` for `what` with `got` over `limit`.
fn assert_too_large(result: Result<()>, what: &str, limit: usize, context: &str) {
    match result {
        Err(Error::TooLarge {
            what: w,
            limit: l,
            got,
        }) => {
            assert_eq!(
                (w, l),
                (what, limit),
                "{context}: TooLarge names the wrong limit"
            );
            assert!(
                got > l,
                "{context}: TooLarge reports got={got}, not above limit={l}"
            );
        }
        Err(e) => {
            panic!("{context}: expected Err(TooLarge {{ what: {what:?}, .. }}), got Err({e})")
        }
        Ok(()) => panic!("{context}: expected Err(TooLarge {{ what: {what:?}, .. }}), got Ok"),
    }
}

/// After refused requests: the store equals `model`, still accepts a write
/// (it is not poisoned), and, for persistent engines, equals it after a
/// reopen too.
fn assert_nothing_written(
    db: &TempStore<'_>,
    engine: &Engine,
    store: Box<dyn Store>,
    mut model: Model,
) -> CaseOutcome {
    assert_matches_model(&*store, &model, "after refused requests");
    ok(
        store.put(b"after", b"refusal"),
        "a put after a TooLarge refusal (the store must not be poisoned)",
    );
    model.put(b"after", b"refusal");
    let mut store = store;
    if engine.persistent {
        ok(store.sync(), "sync");
        store = db.reopen(store);
        assert_matches_model(&*store, &model, "after refused requests and a reopen");
    }
    passed(store)
}

/// A key one byte over `MAX_KEY_BYTES` is refused by put, delete and in a
/// batch, with nothing written.
pub fn oversized_key_is_refused_with_nothing_written(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let store = db.open();
    let model = preload(&*store);
    let big_key = vec![b'k'; MAX_KEY_BYTES + 1];
    assert_too_large(
        store.put(&big_key, b"v"),
        "key",
        MAX_KEY_BYTES,
        "put with an oversized key",
    );
    assert_too_large(
        store.delete(&big_key),
        "key",
        MAX_KEY_BYTES,
        "delete with an oversized key",
    );
    let mut batch = WriteBatch::new();
    batch
        .put(b"new".to_vec(), b"1".to_vec())
        .delete(key(0))
        .put(big_key.clone(), b"v".to_vec());
    assert_too_large(
        store.write(&batch),
        "key",
        MAX_KEY_BYTES,
        "batch with an oversized key last",
    );
    assert_get(&*store, b"new", None, "a put in a refused batch");
    assert_nothing_written(&db, engine, store, model)
}

/// A value one byte over `MAX_VALUE_BYTES` is refused by put and in a batch,
/// with nothing written.
pub fn oversized_value_is_refused_with_nothing_written(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let store = db.open();
    let model = preload(&*store);
    let big_value = vec![b'v'; MAX_VALUE_BYTES + 1];
    assert_too_large(
        store.put(b"k", &big_value),
        "value",
        MAX_VALUE_BYTES,
        "put with an oversized value",
    );
    assert_too_large(
        store.put(&key(1), &big_value),
        "value",
        MAX_VALUE_BYTES,
        "overwrite with an oversized value",
    );
    let mut batch = WriteBatch::new();
    batch
        .delete(key(2))
        .put(b"k".to_vec(), big_value)
        .put(b"z".to_vec(), b"1".to_vec());
    assert_too_large(
        store.write(&batch),
        "value",
        MAX_VALUE_BYTES,
        "batch with an oversized value",
    );
    assert_nothing_written(&db, engine, store, model)
}

/// A batch over `MAX_BATCH_BYTES` made of valid operations is refused
/// whole: none of its puts or deletes shows up.
pub fn oversized_batch_is_refused_with_nothing_written(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let store = db.open();
    let model = preload(&*store);
    let piece_bytes = MAX_VALUE_BYTES - 1024;
    let pieces = MAX_BATCH_BYTES / piece_bytes + 1;
    let mut batch = WriteBatch::new();
    batch.delete(key(0)).put(key(1), b"changed".to_vec());
    for i in 0..pieces {
        batch.put(format!("piece{i}").into_bytes(), vec![b'p'; piece_bytes]);
    }
    assert!(batch.payload_bytes() > MAX_BATCH_BYTES);
    assert_too_large(
        store.write(&batch),
        "batch",
        MAX_BATCH_BYTES,
        "batch over MAX_BATCH_BYTES",
    );
    drop(batch);
    assert_nothing_written(&db, engine, store, model)
}
