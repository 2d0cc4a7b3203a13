//! The kvlab conformance suite, run against the B+tree twice: with a tiny
//! node cache (64 KiB, so reads go to the file inside every case), and in
//! `large_and_tiny` with a wrapper that stores every value both as given
//! and under a maximum-size key with a large value beside it, so that
//! splits across multi-page nodes, merges and overflow runs happen inside
//! every crash case (reordered and torn writeback included).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kv_btree::{Btree, BtreeOptions};
use kv_core::testkit::conformance::Engine;

fn btree_small_cache() -> Engine {
    Engine::new("btree", |dir, core| {
        let options = BtreeOptions::new(core.cache_bytes(64 << 10)).dirty_budget_bytes(256 << 10);
        Ok(Box::new(Btree::open(dir, options)?))
    })
    .snapshot_scans(true)
}

kv_core::conformance_suite!(btree_small_cache);
