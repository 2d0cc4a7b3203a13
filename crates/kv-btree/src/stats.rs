//! `stats()`: counters and figures, no I/O.
//!
//! `live_keys` and `live_bytes` are exact: every commit records them in
//! its slot. Engine figures in `extra`: `depth`, `leaf_pages`,
//! `branch_pages`, `overflow_pages`, `free_pages`, `pending_pages`,
//! `file_pages`, `commits`, `durable_commits`, `vacuums`, `cache_hits`,
//! `cache_misses`, and `torn_commit_fell_back` (1 when open passed over a
//! torn newest commit and opened the previous one).

use kv_core::Stats;

use crate::page::PAGE_BYTES;
use crate::store::{Btree, Inner, ENGINE_NAME};

/// Builds the stats of `inner`.
pub(crate) fn stats(inner: &Inner) -> Stats {
    let tree = inner.newest();
    let [commits, durable, free, pending, pages, vacuums] = Btree::figures(inner);
    let (hits, misses) = inner.pager.cache_counts();
    let mut s = Stats::new(ENGINE_NAME);
    s.live_keys = tree.counts.live_keys;
    s.live_bytes = tree.counts.live_bytes;
    s.disk_bytes = pages * PAGE_BYTES as u64;
    s.io = inner.fs.counters();
    let c = &tree.counts;
    for (name, v) in [
        ("depth", u64::from(tree.depth)),
        ("leaf_pages", c.leaf_pages),
        ("branch_pages", c.branch_pages),
        ("overflow_pages", c.overflow_pages),
        ("free_pages", free),
        ("pending_pages", pending),
        ("file_pages", pages),
        ("commits", commits),
        ("durable_commits", durable),
        ("vacuums", vacuums),
        ("cache_hits", hits),
        ("cache_misses", misses),
        ("torn_commit_fell_back", u64::from(inner.torn_fell_back)),
    ] {
        s.extra.insert(name.to_string(), v);
    }
    s
}
