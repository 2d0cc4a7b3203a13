//! Deletes stay deleted while their tombstones travel down the levels: a
//! tombstone is dropped only where no older version can remain below it.
//! Old data is pushed to the deep levels first, then deleted; every
//! round of flushes, leveled compactions, full compactions and reopens must
//! leave the deleted keys missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_matches, key, open, value};
use kv_core::testkit::{Model, SimFs};
use kv_core::Store;

#[test]
fn no_resurrected_deletes_across_compaction() {
    let sim = SimFs::new(7);
    let mut store = open(&sim);
    let mut model = Model::new();
    // Old data, deep: enough for several levels of the tiny layout.
    for i in 0..1500 {
        let v = value(i, 0, 60);
        store.put(&key(i), &v).unwrap();
        model.put(&key(i), &v);
    }
    store.compact().unwrap();
    let stats = store.stats();
    let deep = (2..7).any(|l| stats.extra[&format!("level{l}_files")] > 0);
    assert!(
        deep,
        "the old data did not reach L2 or deeper: {:?}",
        stats.extra
    );
    for round in 0..4 {
        // Delete a slice of the old keys; the tombstones land in L0 above
        // the old versions, then travel down with leveled compactions.
        for i in (round..1500).step_by(5) {
            store.delete(&key(i)).unwrap();
            model.delete(&key(i));
        }
        for i in 0..100 {
            let v = value(i * 7 % 1500, round + 1, 30);
            store.put(&key(i * 7 % 1500), &v).unwrap();
            model.put(&key(i * 7 % 1500), &v);
        }
        store.flush().unwrap();
        store.compact_pending().unwrap();
        assert_matches(
            &store,
            &model,
            &format!("round {round}, after leveled compaction"),
        );
        drop(store);
        store = open(&sim);
        assert_matches(&store, &model, &format!("round {round}, after reopen"));
    }
    store.compact().unwrap();
    assert_matches(&store, &model, "after a full compaction");
    drop(store);
    let store = open(&sim);
    assert_matches(&store, &model, "after the last reopen");
    assert!(store.check().unwrap().damage.is_empty());
}
