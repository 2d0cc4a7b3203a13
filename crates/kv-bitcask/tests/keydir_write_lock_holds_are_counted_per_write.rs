//! `stats().extra["keydir_write_lock_holds.{holder}"]` counts every hold of
//! the keydir's write lock by its holder, and
//! `keydir_write_lock_holds_over_1ms.{holder}` the long ones among them: a
//! write publishes under one hold (a batch too, whatever its size), a
//! delete of an absent key takes none, and a rollover takes one. (Issue
//! #11: the long `publish` holds were the writer preempted; these counts
//! say how often a reader could have waited that long.)
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
fn every_write_is_one_publish_hold_and_every_rollover_one_rollover_hold() {
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
    let publish = figure(&store, "keydir_write_lock_holds.publish");
    assert_eq!(
        publish, 301,
        "300 puts and one batch; the no-op delete takes no hold"
    );
    let long = figure(&store, "keydir_write_lock_holds_over_1ms.publish");
    assert!(long <= publish, "{long} long holds of {publish}");
    let files = figure(&store, "files");
    assert!(files > 2, "the test needs rollovers: {files} files");
    assert_eq!(
        figure(&store, "keydir_write_lock_holds.rollover"),
        files - 1,
        "one hold per file after the first"
    );
    assert_eq!(figure(&store, "keydir_write_lock_holds.merge_switch"), 0);
}
