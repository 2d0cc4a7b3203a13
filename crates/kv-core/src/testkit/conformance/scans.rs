//! Scans: every bound kind on both ends, both directions, empty and inverted
//! ranges, prefixes, and scans seeing the writes made before them.

use std::ops::Bound;

use rand::RngExt;

use super::harness::{
    apply_both, assert_matches_model, key, ok, passed, scan_vec, seeded_rng, value, TempStore,
};
use super::{CaseOutcome, Engine};
use crate::batch::WriteBatch;
use crate::store::{Direction, KeyRange, Store};
use crate::testkit::{show_bytes, Model, ModelOp, SeedGuard};

/// Stored keys for the bound cases: binary, with prefixes of one another.
const STORED: &[&[u8]] = &[
    b"",
    b"\x00",
    b"a",
    b"a\x00",
    b"a\xff",
    b"ab",
    b"b",
    b"ba",
    b"c",
    b"\xff",
    b"\xff\xff",
];

/// Bound keys: every stored key plus keys between, before and after them.
const BOUND_KEYS: &[&[u8]] = &[
    b"",
    b"\x00",
    b"\x00\x00",
    b"a",
    b"a\x00",
    b"aa",
    b"b",
    b"bb",
    b"c",
    b"d",
    b"\xff",
    b"\xff\xff",
    b"\xff\xff\xff",
];

fn store_with_binary_keys(db: &TempStore<'_>) -> (Box<dyn Store>, Model) {
    let store = db.open();
    let mut model = Model::new();
    for k in STORED {
        ok(store.put(k, &[k, &b"-value"[..]].concat()), "put");
        model.put(k, &[k, &b"-value"[..]].concat());
    }
    (store, model)
}

/// Every bound: unbounded, and each of [`BOUND_KEYS`] included and excluded.
fn all_bounds() -> Vec<Bound<Vec<u8>>> {
    let mut bounds = vec![Bound::Unbounded];
    for k in BOUND_KEYS {
        bounds.push(Bound::Included(k.to_vec()));
        bounds.push(Bound::Excluded(k.to_vec()));
    }
    bounds
}

/// Compares every combination of bounds in `direction` with the model.
fn check_every_bound_kind(engine: &Engine, direction: Direction) -> CaseOutcome {
    let db = TempStore::new(engine);
    let (store, model) = store_with_binary_keys(&db);
    let bounds = all_bounds();
    for start in &bounds {
        for end in &bounds {
            let range = KeyRange {
                start: start.clone(),
                end: end.clone(),
            };
            let got = scan_vec(&*store, &range, direction, "bound kinds");
            let expected = model.scan(&range, direction);
            if got != expected {
                let show = |pairs: &[(Vec<u8>, Vec<u8>)]| {
                    pairs
                        .iter()
                        .map(|(k, _)| show_bytes(k))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                panic!(
                    "scan({range:?}, {direction:?}) yielded keys [{}], expected [{}]",
                    show(&got),
                    show(&expected)
                );
            }
        }
    }
    passed(store)
}

/// A scan of an empty store yields nothing, in both directions, for
/// unbounded, bounded and prefix ranges.
pub fn scan_of_empty_store_yields_nothing(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let store = db.open();
    let ranges = [
        KeyRange::all(),
        KeyRange::new(b"a".to_vec()..b"z".to_vec()),
        KeyRange::prefix(b"a"),
        KeyRange::prefix(b""),
    ];
    for range in &ranges {
        for direction in [Direction::Forward, Direction::Reverse] {
            let got = scan_vec(&*store, range, direction, "empty store");
            assert!(
                got.is_empty(),
                "scan({range:?}, {direction:?}) of an empty store yielded {} pairs",
                got.len()
            );
        }
    }
    passed(store)
}

/// A full scan yields every stored pair exactly once, in strictly ascending
/// key order; the reverse scan yields the same pairs descending.
pub fn full_scan_is_ascending_and_complete(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!(
        "{}::full_scan_is_ascending_and_complete",
        engine.name
    ));
    let mut rng = seeded_rng(guard.seed());
    let db = TempStore::new(engine);
    let store = db.open();
    let mut model = Model::new();
    for _ in 0..600 {
        let k: Vec<u8> = (0..rng.random_range(0..6))
            .map(|_| rng.random::<u8>())
            .collect();
        if rng.random_range(0..5) == 0 {
            apply_both(&*store, &mut model, &ModelOp::Delete { key: k });
        } else {
            let v = value(0, rng.random(), rng.random_range(0..40));
            apply_both(&*store, &mut model, &ModelOp::Put { key: k, value: v });
        }
    }
    assert_matches_model(&*store, &model, "after 600 random puts and deletes");
    let reverse = scan_vec(
        &*store,
        &KeyRange::all(),
        Direction::Reverse,
        "full reverse scan",
    );
    assert!(
        reverse.windows(2).all(|w| w[0].0 > w[1].0),
        "reverse scan is not strictly descending"
    );
    assert_eq!(
        reverse,
        model.scan(&KeyRange::all(), Direction::Reverse),
        "reverse scan differs from the model"
    );
    passed(store)
}

/// Forward scans honour `Included`, `Excluded` and `Unbounded` on both ends,
/// with bounds on, between, before and after the stored keys.
pub fn forward_scans_honour_every_bound_kind(engine: &Engine) -> CaseOutcome {
    check_every_bound_kind(engine, Direction::Forward)
}

/// Reverse scans honour every bound kind the same way, yielding the mirror
/// of the forward scan.
pub fn reverse_scans_honour_every_bound_kind(engine: &Engine) -> CaseOutcome {
    check_every_bound_kind(engine, Direction::Reverse)
}

/// Empty ranges (`b..b`, `(b, b]`, `(b, b)`) and inverted ranges (`c..a`)
/// yield nothing, and are not errors.
pub fn empty_and_inverted_ranges_yield_nothing(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let (store, _model) = store_with_binary_keys(&db);
    let inc = |k: &[u8]| Bound::Included(k.to_vec());
    let exc = |k: &[u8]| Bound::Excluded(k.to_vec());
    let ranges = [
        (inc(b"b"), exc(b"b")),
        (exc(b"b"), inc(b"b")),
        (exc(b"b"), exc(b"b")),
        (inc(b"c"), inc(b"a")),
        (inc(b"c"), exc(b"a")),
        (exc(b"\xff"), inc(b"")),
        (inc(b"b"), exc(b"a\xff")),
        (exc(b""), exc(b"")),
    ];
    for (start, end) in ranges {
        let range = KeyRange { start, end };
        for direction in [Direction::Forward, Direction::Reverse] {
            let got = scan_vec(&*store, &range, direction, "empty or inverted range");
            assert!(
                got.is_empty(),
                "scan({range:?}, {direction:?}) must yield nothing, yielded {} pairs",
                got.len()
            );
        }
    }
    passed(store)
}

/// `KeyRange::prefix(p)` yields exactly the keys starting with `p`, also
/// when `p` ends in `0xff` bytes, is all `0xff`, or is empty.
pub fn prefix_scan_yields_exactly_the_prefix(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let (store, _) = store_with_binary_keys(&db);
    let mut model: Model = ok(store.scan(&KeyRange::all(), Direction::Forward), "scan")
        .collect::<crate::Result<Vec<_>>>()
        .unwrap_or_else(|e| panic!("scan failed: {e}"))
        .into_iter()
        .collect();
    for k in [
        &b"a\xff\x00"[..],
        b"a\xff\xff\x01",
        b"b\x00",
        b"\xff\x00",
        b"\xff\xff\x00",
    ] {
        ok(store.put(k, b"p"), "put");
        model.put(k, b"p");
    }
    for prefix in [
        &b""[..],
        b"a",
        b"a\xff",
        b"a\xff\xff",
        b"b",
        b"\xff",
        b"\xff\xff",
        b"zz",
        b"\x00",
    ] {
        let range = KeyRange::prefix(prefix);
        for direction in [Direction::Forward, Direction::Reverse] {
            let got = scan_vec(&*store, &range, direction, "prefix scan");
            assert!(
                got.iter().all(|(k, _)| k.starts_with(prefix)),
                "prefix scan {} yielded a key without the prefix",
                show_bytes(prefix)
            );
            assert_eq!(
                got,
                model.scan(&range, direction),
                "prefix scan {} {direction:?}",
                show_bytes(prefix)
            );
        }
    }
    passed(store)
}

/// A scan started after a put, a delete or a batch sees its effect.
pub fn scan_sees_writes_made_before_it(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let store = db.open();
    let mut model = Model::new();
    for round in 0..20u32 {
        let i = (round as usize * 7) % 13;
        apply_both(
            &*store,
            &mut model,
            &ModelOp::Put {
                key: key(i),
                value: value(i, round, 12),
            },
        );
        assert_matches_model(&*store, &model, format!("round {round}, after a put"));
        apply_both(
            &*store,
            &mut model,
            &ModelOp::Delete {
                key: key((i + 5) % 13),
            },
        );
        assert_matches_model(&*store, &model, format!("round {round}, after a delete"));
        let mut batch = WriteBatch::new();
        batch
            .put(key(i + 100), value(i, round, 3))
            .delete(key((i + 3) % 13));
        apply_both(&*store, &mut model, &ModelOp::Batch(batch));
        assert_matches_model(&*store, &model, format!("round {round}, after a batch"));
    }
    passed(store)
}
