//! `stats().extra["keydir_write_lock_holds.{holder}"]` counts every hold of
//! the store-wide index lock's write side (which excludes every reader) by
//! its holder, `keydir_leaf_lock_holds.{holder}` every hold of one keydir
//! leaf's write lock (which excludes only that leaf's readers), and the
//! `_over_1ms` figures the long ones among them. A single put publishes
//! under one leaf hold and takes the store-wide lock only when its leaf
//! splits; a batch publishes under one store-wide hold, whatever its size;
//! a delete of an absent key takes none; a rollover takes one store-wide
//! hold. (Issue #11: the long holds were the writer preempted; these counts
//! say how often, and which readers, could have waited that long.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{key, open, value};
use kv_core::testkit::SimFs;
use kv_core::{Store, WriteBatch};

fn figure(store: &dyn Store, name: &str) -> u64 {
    let extra = store.stats().extra;
    *extra
        .get(name)
        .unwrap_or_else(|| panic!("stats().extra has no {name}"))
}

#[test]
fn a_put_holds_one_leaf_and_only_splits_batches_and_rollovers_hold_the_store_wide_lock() {
    let sim = SimFs::new(11); // no crash or fault is injected: the seed picks nothing here
    let store = open(&sim, 4096);
    for i in 0..300 {
        store.put(&key(i), &value(i, 0, 40)).unwrap();
    }
    store.delete(b"never written").unwrap();
    let mut batch = WriteBatch::new();
    for i in 0..50 {
        batch.put(key(i), value(i, 1, 40));
    }
    store.write(&batch).unwrap();
    let leaf = figure(&store, "keydir_leaf_lock_holds.publish");
    assert_eq!(
        leaf, 300,
        "one leaf hold per put; the batch takes none, nor the no-op delete"
    );
    // No key was removed, so every leaf but the first came from a split,
    // and the batch (which only overwrites) split none.
    let splits = figure(&store, "keydir_leaves") - 1;
    assert!(splits > 0, "the test needs leaf splits");
    let publish = figure(&store, "keydir_write_lock_holds.publish");
    assert_eq!(
        publish,
        1 + splits,
        "one store-wide hold for the batch and one per leaf split"
    );
    for lock in ["keydir_write_lock", "keydir_leaf_lock"] {
        let long = figure(&store, &format!("{lock}_holds_over_1ms.publish"));
        let all = figure(&store, &format!("{lock}_holds.publish"));
        assert!(long <= all, "{lock}: {long} long holds of {all}");
    }
    let files = figure(&store, "files");
    assert!(files > 2, "the test needs rollovers: {files} files");
    assert_eq!(
        figure(&store, "keydir_write_lock_holds.rollover"),
        files - 1,
        "one hold per file after the first"
    );
    assert_eq!(figure(&store, "keydir_leaf_lock_holds.rollover"), 0);
    assert_eq!(figure(&store, "keydir_write_lock_holds.merge_switch"), 0);
    assert_eq!(figure(&store, "keydir_leaf_lock_holds.merge_switch"), 0);
}
