//! Flushes and compactions read their input blocks without caching them
//! (LevelDB's `fill_cache = false`): a write-only workload that compacts
//! many times leaves the block cache empty, and a later `get` still
//! caches what it reads.
#![allow(clippy::unwrap_used)]

mod common;

use common::{dir, key, options, value};
use kv_core::testkit::SimFs;
use kv_core::Store;
use kv_lsm::Lsm;

#[test]
fn compaction_reads_do_not_fill_the_block_cache() {
    let sim = SimFs::new(1);
    let mut o = options(&sim);
    o.core.cache_bytes = 1 << 20;
    let store = Lsm::open(dir(), o).unwrap();
    for round in 0..4 {
        for i in 0..600 {
            store.put(&key(i), &value(i, round, 100)).unwrap();
        }
    }
    store.compact_pending().unwrap();
    let extra = store.stats().extra;
    assert!(
        extra["compactions"] >= 5,
        "the workload compacts: {extra:?}"
    );
    assert_eq!(extra["block_cache_bytes"], 0, "{extra:?}");
    assert_eq!(store.get(&key(7)).unwrap(), Some(value(7, 3, 100)));
    assert!(store.stats().extra["block_cache_bytes"] > 0);
}
