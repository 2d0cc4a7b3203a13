//! Open after a crash reads the two slots, the root, the pages the last
//! transaction wrote and the free list: what it reads does not grow with
//! the store (a ten times larger store opens with the same reads), and
//! damage in a page the last transaction did not write is found by
//! `check()`, not by open.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{file, key, open, value};
use kv_btree::Shape;
use kv_core::testkit::SimFs;
use kv_core::{Store, SyncPolicy};

/// Writes `keys` keys, then one more commit, and crashes; returns the
/// crashed file system and the bytes read by the open after it.
fn bytes_read_by_open(keys: usize) -> (SimFs, u64, u64) {
    let sim = SimFs::new(11);
    let store = open(&sim, SyncPolicy::Manual, Shape::default());
    for i in 0..keys {
        store.put(&key(i), &value(i, 0, 100)).unwrap();
    }
    store.sync().unwrap();
    store.put(&key(keys / 2), &value(0, 1, 100)).unwrap();
    store.sync().unwrap();
    let crashed = sim.crash();
    std::mem::forget(store);
    let reopened = open(&crashed, SyncPolicy::Manual, Shape::default());
    let io = reopened.stats().io;
    let file_bytes = crashed.contents(&file()).unwrap().len() as u64;
    drop(reopened);
    (crashed, io.bytes_read, file_bytes)
}

#[test]
fn open_after_a_crash_reads_only_the_last_commit() {
    let (_, small_read, small_file) = bytes_read_by_open(2_000);
    let (crashed, large_read, large_file) = bytes_read_by_open(20_000);
    assert!(
        large_file > 5 * small_file,
        "the larger store is not larger: {large_file} vs {small_file}"
    );
    assert!(
        large_read <= small_read + 2 * 4096,
        "open read {large_read} bytes of a {large_file}-byte store, {small_read} of a {small_file}-byte one"
    );
    assert!(large_read < 32 * 4096, "open read {large_read} bytes");
    // A flipped byte in a leaf the last commit did not write: open does not
    // read it, check() finds it.
    let bytes = crashed.contents(&file()).unwrap();
    let offset = (bytes.len() / 3) as u64;
    assert!(crashed.corrupt(&file(), offset, &[bytes[offset as usize] ^ 0x5a]));
    let store = open(&crashed, SyncPolicy::Manual, Shape::default());
    let report = store.check().unwrap();
    assert!(!report.is_clean(), "check() lists no damage: {report:?}");
}
