//! Basic cases: get, put, overwrite, delete, the empty key and value, binary
//! keys in byte order, large values and many keys.

use rand::seq::SliceRandom;
use rand::RngExt;

use super::harness::{
    assert_get, assert_matches_model, key, ok, passed, random_bytes, read_all, seeded_rng, value,
    TempStore,
};
use super::{CaseOutcome, Engine};
use crate::batch::WriteBatch;
use crate::store::{Direction, KeyRange};
use crate::testkit::{Model, SeedGuard};

/// `get` returns exactly what `put` stored, for several keys at once.
pub fn get_returns_what_put_stored(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let store = db.open();
    let mut model = Model::new();
    for i in 0..100 {
        ok(store.put(&key(i), &value(i, 1, 10 + i)), "put");
        model.put(&key(i), &value(i, 1, 10 + i));
        assert_get(
            &*store,
            &key(i),
            Some(&value(i, 1, 10 + i)),
            "right after the put",
        );
    }
    assert_matches_model(&*store, &model, "after 100 puts");
    passed(store)
}

/// `get` of a key that was never written is `None`: on an empty store, and
/// before, between and after existing keys.
pub fn get_of_missing_key_is_none(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let store = db.open();
    for k in [&b"missing"[..], b"", b"\x00", b"\xff"] {
        assert_get(&*store, k, None, "on an empty store");
    }
    for k in [&b"b"[..], b"d", b"f"] {
        ok(store.put(k, b"x"), "put");
    }
    for k in [&b"a"[..], b"c", b"e", b"g", b"b\x00", b"", b"\xff\xff"] {
        assert_get(&*store, k, None, "with keys b, d, f stored");
    }
    passed(store)
}

/// A second put of a key replaces its value (longer, shorter and empty
/// values), and the key still appears once in a scan.
pub fn put_overwrites_previous_value(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let store = db.open();
    ok(store.put(b"before", b"0"), "put");
    ok(store.put(b"zafter", b"0"), "put");
    let values: [&[u8]; 5] = [b"first", b"a much longer second value", b"3", b"", b"fifth"];
    for v in values {
        ok(store.put(b"key", v), "overwrite");
        assert_get(&*store, b"key", Some(v), "after an overwrite");
    }
    let mut model = Model::new();
    model.put(b"before", b"0");
    model.put(b"zafter", b"0");
    model.put(b"key", b"fifth");
    assert_matches_model(&*store, &model, "after five overwrites");
    passed(store)
}

/// `delete` removes a key from gets and scans, leaves its neighbours, and
/// the key can be written again afterwards.
pub fn delete_removes_key(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let store = db.open();
    let mut model = Model::new();
    for i in 0..10 {
        ok(store.put(&key(i), &value(i, 1, 20)), "put");
        model.put(&key(i), &value(i, 1, 20));
    }
    for i in [0, 4, 9] {
        ok(store.delete(&key(i)), "delete");
        model.delete(&key(i));
        assert_get(&*store, &key(i), None, "right after the delete");
    }
    assert_matches_model(
        &*store,
        &model,
        "after deleting the first, a middle and the last key",
    );
    ok(store.put(&key(4), b"again"), "put after delete");
    model.put(&key(4), b"again");
    assert_matches_model(&*store, &model, "after writing a deleted key again");
    passed(store)
}

/// Deleting a key that does not exist is `Ok`, twice in a row too, and
/// leaves no trace in scans.
pub fn delete_of_missing_key_is_ok(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let store = db.open();
    ok(
        store.delete(b"never-written"),
        "delete of a missing key on an empty store",
    );
    ok(store.put(b"a", b"1"), "put");
    ok(store.delete(b"b"), "delete of a missing key");
    ok(store.delete(b"b"), "second delete of the same missing key");
    ok(store.delete(b"a"), "delete");
    ok(store.delete(b"a"), "delete of a key already deleted");
    let all = read_all(&*store, "after deletes of missing keys");
    assert!(
        all.is_empty(),
        "deletes of missing keys left entries behind: {} pairs",
        all.len()
    );
    passed(store)
}

/// The empty key is a valid key, distinct from `b"\x00"`, first in scans.
pub fn empty_key_is_a_valid_key(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let store = db.open();
    ok(store.put(b"\x00", b"zero"), "put(\\x00)");
    ok(store.put(b"", b"empty-key"), "put of the empty key");
    ok(store.put(b"a", b"a"), "put(a)");
    assert_get(&*store, b"", Some(b"empty-key"), "empty key");
    assert_get(
        &*store,
        b"\x00",
        Some(b"zero"),
        "key \\x00 next to the empty key",
    );
    let all = read_all(&*store, "with the empty key stored");
    assert_eq!(
        all.first().map(|(k, _)| k.as_slice()),
        Some(&b""[..]),
        "the empty key must come first in a scan"
    );
    assert_eq!(all.len(), 3, "scan length with the empty key stored");
    ok(store.delete(b""), "delete of the empty key");
    assert_get(&*store, b"", None, "empty key after its delete");
    assert_get(
        &*store,
        b"\x00",
        Some(b"zero"),
        "key \\x00 after the empty key's delete",
    );
    passed(store)
}

/// The empty value is a value: `get` returns `Some(vec![])`, a scan yields
/// the pair, and only a delete makes the key missing.
pub fn empty_value_is_distinct_from_missing(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let store = db.open();
    ok(store.put(b"k", b""), "put with an empty value");
    assert_get(&*store, b"k", Some(b""), "key with an empty value");
    assert_eq!(
        read_all(&*store, "empty value"),
        vec![(b"k".to_vec(), Vec::new())],
        "scan of a key with an empty value"
    );
    ok(store.put(b"", b""), "empty key with an empty value");
    assert_get(&*store, b"", Some(b""), "empty key with an empty value");
    ok(store.delete(b"k"), "delete");
    assert_get(
        &*store,
        b"k",
        None,
        "after deleting the key with the empty value",
    );
    passed(store)
}

/// Keys compare as unsigned bytes: `""` < `"\x00"` < `"a"` < `"a\x00"` <
/// `"a\xff"` < `"b"` < `"\x80"` < `"\xff"` < `"\xff\x00"`, whatever order
/// they were written in; reverse scans give the exact mirror.
pub fn binary_keys_sort_in_byte_order(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!("{}::binary_keys_sort_in_byte_order", engine.name));
    let mut rng = seeded_rng(guard.seed());
    let sorted: Vec<&[u8]> = vec![
        b"",
        b"\x00",
        b"\x00\x00",
        b"\x00\x01",
        b"\x01",
        b"a",
        b"a\x00",
        b"a\x01",
        b"ab",
        b"a\xff",
        b"a\xff\xff",
        b"b",
        b"\x7f",
        b"\x80",
        b"\xfe",
        b"\xff",
        b"\xff\x00",
        b"\xff\xff",
        b"\xff\xff\xff",
    ];
    let mut shuffled = sorted.clone();
    shuffled.shuffle(&mut rng);
    let db = TempStore::new(engine);
    let store = db.open();
    for k in &shuffled {
        ok(store.put(k, k), "put");
    }
    let expected: Vec<_> = sorted.iter().map(|k| (k.to_vec(), k.to_vec())).collect();
    assert_eq!(
        read_all(&*store, "binary keys"),
        expected,
        "forward scan must be in unsigned byte order"
    );
    let mut reversed = expected.clone();
    reversed.reverse();
    let got_rev: Vec<_> = ok(
        store.scan(&KeyRange::all(), Direction::Reverse),
        "reverse scan",
    )
    .collect::<crate::Result<_>>()
    .unwrap_or_else(|e| panic!("reverse scan yielded an error: {e}"));
    assert_eq!(got_rev, reversed, "reverse scan must be the exact mirror");
    for k in &sorted {
        assert_get(&*store, k, Some(k), "binary key");
    }
    passed(store)
}

/// 1 MiB values (random bytes) round-trip through put, get, scan and a
/// batch, and can be replaced by small ones.
pub fn large_values_round_trip(engine: &Engine) -> CaseOutcome {
    const MIB: usize = 1 << 20;
    let guard = SeedGuard::new(format!("{}::large_values_round_trip", engine.name));
    let mut rng = seeded_rng(guard.seed());
    let db = TempStore::new(engine);
    let store = db.open();
    let mut model = Model::new();
    for i in 0..3 {
        let v = random_bytes(&mut rng, MIB + i);
        ok(store.put(&key(i), &v), "put of a 1 MiB value");
        model.put(&key(i), &v);
    }
    let mut batch = WriteBatch::new();
    let v = random_bytes(&mut rng, MIB);
    batch
        .put(key(3), v.clone())
        .put(b"small".to_vec(), b"s".to_vec());
    model.put(&key(3), &v);
    model.put(b"small", b"s");
    ok(store.write(&batch), "batch with a 1 MiB value");
    assert_matches_model(&*store, &model, "with four 1 MiB values");
    ok(
        store.put(&key(1), b"now small"),
        "overwrite a large value with a small one",
    );
    model.put(&key(1), b"now small");
    assert_matches_model(&*store, &model, "after shrinking a value");
    passed(store)
}

/// 20,000 keys written in random order (puts and batches) all read back,
/// and scans yield them in order, whole and in ranges.
pub fn many_keys_round_trip_in_order(engine: &Engine) -> CaseOutcome {
    const KEYS: usize = 20_000;
    let guard = SeedGuard::new(format!("{}::many_keys_round_trip_in_order", engine.name));
    let mut rng = seeded_rng(guard.seed());
    let mut order: Vec<usize> = (0..KEYS).collect();
    order.shuffle(&mut rng);
    let db = TempStore::new(engine);
    let store = db.open();
    let mut model = Model::new();
    let (singles, batched) = order.split_at(KEYS / 2);
    for &i in singles {
        let v = value(i, 1, rng.random_range(0..64));
        ok(store.put(&key(i), &v), "put");
        model.put(&key(i), &v);
    }
    for chunk in batched.chunks(500) {
        let mut batch = WriteBatch::new();
        for &i in chunk {
            let v = value(i, 1, rng.random_range(0..64));
            batch.put(key(i), v.clone());
            model.put(&key(i), &v);
        }
        ok(store.write(&batch), "batch of 500 puts");
    }
    assert_matches_model(&*store, &model, "after 20,000 keys");
    let range = KeyRange::new(key(5_000)..key(5_100));
    let got = super::harness::scan_vec(&*store, &range, Direction::Forward, "range of 100 keys");
    assert_eq!(
        got,
        model.scan(&range, Direction::Forward),
        "range scan over 20,000 keys"
    );
    passed(store)
}
