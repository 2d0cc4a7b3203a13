//! The cost of a native `delete_range` does not depend on how many keys the
//! range holds: deleting a range over 100 keys and over 10,000 keys writes
//! the same bytes, in the same number of write calls and syncs, and adds
//! one range tombstone (both stores took 10,000 writes, so the delete's
//! sequence number has the same size) (counted by the file system's I/O counters, never by
//! time). The default trait implementation, which deletes key by key,
//! writes more for more keys: the baseline the native one departs from.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{dir, key, options, value};
use kv_core::testkit::SimFs;
use kv_core::{Direction, IoCounters, KeyRange, Store};
use kv_lsm::Lsm;

/// Writes in every store, so that the delete gets the same sequence number
/// (its varint) in each.
const WRITES: usize = 10_000;

/// A store holding `keys` live keys, flushed, after [`WRITES`] puts.
fn store_with(keys: usize) -> Lsm {
    let sim = SimFs::new(1);
    let mut o = options(&sim);
    o.exact_live_keys = false; // the exact count scans the range on purpose
    let store = Lsm::open(dir(), o).unwrap();
    for n in 0..WRITES {
        let i = n % keys;
        store.put(&key(i), &value(i, n, 20)).unwrap();
    }
    store.flush().unwrap();
    store.compact_pending().unwrap();
    store.sync().unwrap();
    store
}

/// I/O of `f` on `store`: (bytes written, write calls, file syncs).
fn io_of(store: &Lsm, f: impl FnOnce(&Lsm)) -> (u64, u64, u64) {
    let before: IoCounters = store.stats().io;
    f(store);
    let after = store.stats().io;
    (
        after.bytes_written - before.bytes_written,
        after.write_calls - before.write_calls,
        after.file_syncs - before.file_syncs,
    )
}

fn everything() -> KeyRange {
    KeyRange::new(key(0)..key(999_999))
}

/// What the trait's default does: scan, and delete in batches.
fn default_delete_range(store: &Lsm, range: &KeyRange) {
    let keys: Vec<Vec<u8>> = store
        .scan(range, Direction::Forward)
        .unwrap()
        .map(|kv| kv.unwrap().0)
        .collect();
    for chunk in keys.chunks(kv_core::store::DELETE_RANGE_BATCH_KEYS) {
        let mut batch = kv_core::WriteBatch::new();
        for k in chunk {
            batch.delete(k.clone());
        }
        store.write(&batch).unwrap();
    }
}

#[test]
fn range_delete_cost_does_not_grow_with_the_keys_deleted() {
    let (small, large) = (store_with(100), store_with(10_000));
    let native = |s: &Lsm| {
        s.delete_range(&everything()).unwrap();
        s.sync().unwrap();
    };
    let cost_small = io_of(&small, native);
    let cost_large = io_of(&large, native);
    assert_eq!(
        cost_small, cost_large,
        "native delete_range of 100 and of 10,000 keys: (bytes, writes, syncs)"
    );
    assert!(
        cost_small.0 < 200,
        "one WAL record, got {} bytes",
        cost_small.0
    );
    for s in [&small, &large] {
        assert_eq!(s.stats().extra["range_tombstones"], 1);
        assert_eq!(
            s.scan(&KeyRange::all(), Direction::Reverse)
                .unwrap()
                .count(),
            0
        );
        assert_eq!(s.get(&key(42)).unwrap(), None);
    }
    // The key-by-key baseline grows with the keys.
    let (small, large) = (store_with(100), store_with(10_000));
    let by_key = |s: &Lsm| {
        default_delete_range(s, &everything());
        s.sync().unwrap();
    };
    let base_small = io_of(&small, by_key);
    let base_large = io_of(&large, by_key);
    assert!(
        base_large.0 > 50 * base_small.0.max(1) && base_large.0 > 100 * cost_large.0,
        "key by key: {base_small:?} vs {base_large:?}, native {cost_large:?}"
    );
}
