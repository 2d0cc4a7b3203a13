//! A durable commit makes exactly one fsync (pages, free list and slot
//! written, then one barrier), whether made by `SyncPolicy::Always` or by
//! `sync()`; with `two_fsync_commit` it makes two (LMDB's and bbolt's
//! order). Counted through the Fs counters in `stats().io`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{key, options, small_shape, value, DIR};
use kv_btree::Btree;
use kv_core::testkit::SimFs;
use kv_core::{Store, SyncPolicy};

fn syncs(store: &Btree) -> u64 {
    store.stats().io.file_syncs
}

fn open(sim: &SimFs, sync: SyncPolicy, two_fsync: bool) -> Btree {
    let o = options(Arc::new(sim.clone()), sync, small_shape()).two_fsync_commit(two_fsync);
    Btree::open(Path::new(DIR), o).unwrap()
}

/// File syncs made by each of 40 puts (some split nodes, some overflow).
fn syncs_per_put(store: &Btree) -> Vec<u64> {
    (0..40)
        .map(|i| {
            let before = syncs(store);
            store.put(&key(i), &value(i, 0, (i * 37) % 120)).unwrap();
            syncs(store) - before
        })
        .collect()
}

#[test]
fn a_durable_commit_makes_one_fsync() {
    let store = open(&SimFs::new(3), SyncPolicy::Always, false);
    assert_eq!(syncs_per_put(&store), vec![1; 40]);
    let before = syncs(&store);
    store.delete(&key(5)).unwrap();
    assert_eq!(syncs(&store) - before, 1, "a delete's commit");

    let manual = open(&SimFs::new(4), SyncPolicy::Manual, false);
    let before = syncs(&manual);
    for i in 0..30 {
        manual.put(&key(i), &value(i, 1, 90)).unwrap();
    }
    assert_eq!(syncs(&manual), before, "Manual commits write nothing");
    manual.sync().unwrap();
    assert_eq!(
        syncs(&manual) - before,
        1,
        "sync() makes one durable commit"
    );
}

#[test]
fn the_two_fsync_order_makes_two_fsyncs() {
    let store = open(&SimFs::new(5), SyncPolicy::Always, true);
    assert_eq!(syncs_per_put(&store), vec![2; 40]);
    drop(store);
}
