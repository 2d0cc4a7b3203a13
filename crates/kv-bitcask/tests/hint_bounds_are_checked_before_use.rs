//! Regression (review finding 5, hints): a hint that passed its checksum was
//! trusted for numbers it had no business claiming.
//!
//! The story. Open takes a data file's sequence bounds from its hint and
//! resumes numbering at the highest bound plus one. `decode_hint` checked
//! the checksum and each entry's place in the file, but not that the bounds
//! made sense: a hint claiming `max_seq = u64::MAX` made `max_seq + 1`
//! overflow (a panic in a debug build), and a hint whose `max_seq` was below
//! the sequence numbers of its own entries made the store hand out numbers
//! that were already used, so a later put of a key lost to its older record
//! on the next open. Nor was an entry's length capped: a read allocates that
//! many bytes.
//!
//! The fix: a hint is refused (and its data file scanned instead) unless
//! `min_seq <= max_seq < MAX_SEQUENCE`, every entry's sequence number lies
//! within those bounds, and every entry is at most `MAX_RECORD_BYTES` long.
//! Open also computes the next sequence number with checked arithmetic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::{key, open, value};
use kv_bitcask::hint::{decode_hint, encode_hint, Hint};
use kv_core::testkit::SimFs;
use kv_core::{Fs, Store};

/// One data file with puts of keys 0..8 (sequence numbers 1..=8), closed
/// cleanly so its hint covers it; returns the hint's path and contents.
fn store_with_one_hint(seed: u64) -> (SimFs, PathBuf, Hint) {
    let sim = SimFs::new(seed);
    let store = open(&sim, 1 << 20);
    for i in 0..8 {
        store.put(&key(i), &value(i, 0, 50)).unwrap();
    }
    drop(store);
    let path = sim
        .files()
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "hint"))
        .unwrap();
    let hint = decode_hint(&sim.contents(&path).unwrap(), &path, 1).unwrap();
    assert_eq!((hint.min_seq, hint.max_seq), (1, 8));
    (sim, path, hint)
}

fn rewrite(sim: &SimFs, path: &Path, hint: &Hint) {
    let file = sim.create(path).unwrap();
    file.append(&encode_hint(hint)).unwrap();
    file.sync().unwrap();
}

#[test]
fn hint_bounds_are_checked_before_use() {
    let (sim, path, mut hint) = store_with_one_hint(51);
    hint.max_seq = u64::MAX;
    rewrite(&sim, &path, &hint);
    let store = open(&sim, 1 << 20);
    assert_eq!(store.stats().extra["hints_loaded_at_open"], 0, "refused");
    for i in 0..8 {
        assert_eq!(store.get(&key(i)).unwrap(), Some(value(i, 0, 50)), "{i}");
    }
    store.put(&key(3), b"newer").unwrap();
    drop(store);
    let store = open(&sim, 1 << 20);
    assert_eq!(store.get(&key(3)).unwrap(), Some(b"newer".to_vec()));
    store.check().unwrap();
}

#[test]
fn a_hint_whose_entries_exceed_its_bounds_is_refused() {
    let (sim, path, mut hint) = store_with_one_hint(52);
    // Claims the file's records stop at sequence 3, below its own entries.
    hint.max_seq = 3;
    rewrite(&sim, &path, &hint);
    let store = open(&sim, 1 << 20);
    let hints_loaded = store.stats().extra["hints_loaded_at_open"];
    store.put(&key(7), b"newer").unwrap();
    store.sync().unwrap();
    let crashed = sim.crash();
    drop(store);
    // The put must be numbered above every record already in the file, or
    // the older record of key 7 wins when the store is opened again.
    let store = open(&crashed, 1 << 20);
    assert_eq!(store.get(&key(7)).unwrap(), Some(b"newer".to_vec()));
    for i in 0..7 {
        assert_eq!(store.get(&key(i)).unwrap(), Some(value(i, 0, 50)), "{i}");
    }
    store.check().unwrap();
    assert_eq!(hints_loaded, 0, "the hint was refused");
}
