//! The kvlab conformance suite, run against the B+tree twice:
//!
//! - `btree_small_cache`: default node shape, a 64 KiB node cache (reads go
//!   to the file inside every case) and a 256 KiB dirty budget (Manual
//!   cases make commits durable on their own as well as at `sync()`);
//! - `small_nodes::btree_small_nodes`: nodes split past 256 bytes and
//!   values over 48 bytes go to overflow runs, so the suite's small
//!   workloads (tens to hundreds of keys, values of 0 to 300 bytes) build
//!   trees three and four levels deep, mix inline and overflow values in
//!   every leaf, and split, merge and rebalance inside every crash case;
//!   the limits cases' 4 KiB keys become multi-page nodes.
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

mod small_nodes {
    use kv_btree::{Btree, BtreeOptions, Shape};
    use kv_core::testkit::conformance::Engine;

    fn btree_small_nodes() -> Engine {
        Engine::new("btree-small-nodes", |dir, core| {
            let shape = Shape {
                node_capacity: 256,
                inline_value_max: 48,
            };
            let options = BtreeOptions::new(core.cache_bytes(256 << 10)).shape(shape);
            Ok(Box::new(Btree::open(dir, options)?))
        })
        .snapshot_scans(true)
    }

    kv_core::conformance_suite!(btree_small_nodes);
}
