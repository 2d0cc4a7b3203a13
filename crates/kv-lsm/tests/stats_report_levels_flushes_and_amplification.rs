//! `stats()` reports what the engine did: files and bytes per level that
//! match the table files on disk, flushes, compactions and the bytes they
//! wrote, block cache hits and misses, and a write amplification above 1;
//! `live_keys` is exact with `exact_live_keys` and an estimate without (the
//! default).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{dir, key, options, table_files, value};
use kv_core::testkit::SimFs;
use kv_core::Store;
use kv_lsm::Lsm;

#[test]
fn stats_report_levels_flushes_and_amplification() {
    let sim = SimFs::new(21);
    let mut o = options(&sim);
    o.exact_live_keys = true;
    let store = Lsm::open(dir(), o).unwrap();
    for round in 0..3 {
        for i in 0..600 {
            store.put(&key(i), &value(i, round, 80)).unwrap();
        }
    }
    for i in 0..600 {
        assert!(store.get(&key(i)).unwrap().is_some());
    }
    let s = store.stats();
    let x = &s.extra;
    assert!(x["flushes"] > 0 && x["compactions"] > 0, "{x:?}");
    assert!(x["compaction_bytes_written"] > 0 && x["flush_bytes_written"] > 0);
    let files: u64 = (0..7).map(|l| x[&format!("level{l}_files")]).sum();
    assert_eq!(files, table_files(&sim) as u64);
    let deep: u64 = (1..7).map(|l| x[&format!("level{l}_bytes")]).sum();
    assert!(deep > 0, "nothing below L0: {x:?}");
    assert!(x["block_cache_hits"] + x["block_cache_misses"] > 0);
    assert!(x["write_amp_x100"] > 100, "{x:?}");
    assert!(s.live_keys_exact);
    assert_eq!(s.live_keys, 600);
    assert!(s.disk_bytes > 0 && s.io.bytes_written > 0);
    drop(store);
    let store = Lsm::open(dir(), options(&sim)).unwrap();
    assert!(!store.stats().live_keys_exact, "the default is an estimate");
}
