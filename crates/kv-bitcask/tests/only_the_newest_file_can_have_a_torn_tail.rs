//! Regression (review finding 2): open truncated a "torn tail" in any data
//! file, sealed ones included, and so could resurrect a delete.
//!
//! The story. A crash can tear only the file being appended to when it hit:
//! the active file. Every other data file was synced whole before it was
//! sealed (rollover syncs before it creates the next file; merge output is
//! synced before it is renamed into place), so its tail cannot be torn. Open
//! nevertheless ran the torn-tail rule on every data file it had to scan.
//! Sealed file F ended with `Delete(K)`, an older file E held `Put(K)`, F's
//! hint was missing (a rollover writes the hint without syncing it), and bit
//! rot hit F's last record: open called it a torn tail, truncated it durably,
//! and K came back.
//!
//! The fix: only the file that could have been active at the crash (the one
//! holding the newest records, or a file holding none yet) may have its tail
//! truncated. A failing tail anywhere else is `Corruption`, unless `salvage`
//! is on, which drops it and reports it in `salvaged_bytes`, not as torn.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use common::{dir, key, open, sim_options, value};
use kv_bitcask::Bitcask;
use kv_core::testkit::SimFs;
use kv_core::{Error, Store};

/// Room for four puts of 81 bytes and a delete of 31 after the header.
const MAX_FILE_BYTES: u64 = 400;
const PUT_BYTES: u64 = 23 + 8 + 50;
const DELETE_BYTES: u64 = 23 + 8;

fn files(sim: &SimFs, ext: &str) -> Vec<PathBuf> {
    sim.files()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect()
}

/// E = file 1: puts of keys 0..4. F = file 2: puts of keys 4..8, then the
/// delete of key 0 as its last record. H = file 3 (active): puts of keys
/// 8..10. Closed cleanly, then F's hint is lost. Returns the paths of F and
/// H.
fn sealed_file_ending_in_a_delete(sim: &SimFs) -> (PathBuf, PathBuf) {
    let store = open(sim, MAX_FILE_BYTES);
    for i in 0..8 {
        store.put(&key(i), &value(i, 0, 50)).unwrap();
    }
    store.delete(&key(0)).unwrap();
    for i in 8..10 {
        store.put(&key(i), &value(i, 0, 50)).unwrap();
    }
    drop(store);
    let data = files(sim, "data");
    assert_eq!(data.len(), 3, "{data:?}");
    let f = data[1].clone();
    assert_eq!(
        sim.contents(&f).unwrap().len() as u64,
        24 + 4 * PUT_BYTES + DELETE_BYTES,
        "F ends with the delete"
    );
    let f_hint = f.with_extension("hint");
    assert!(sim.set_len_durably(&f_hint, 0), "lose F's hint");
    (f, data[2].clone())
}

#[test]
fn only_the_newest_file_can_have_a_torn_tail() {
    let sim = SimFs::new(21);
    let (f, _) = sealed_file_ending_in_a_delete(&sim);
    let delete_at = 24 + 4 * PUT_BYTES;
    assert!(sim.corrupt(&f, delete_at + 25, b"#"), "bit rot in the key");
    let err = Bitcask::open(dir(), sim_options(&sim, MAX_FILE_BYTES)).unwrap_err();
    match &err {
        Error::Corruption { file, offset, .. } => {
            assert_eq!(file, &f, "{err}");
            assert_eq!(*offset, delete_at, "{err}");
        }
        other => panic!("expected corruption in the sealed file, got {other}"),
    }
    assert_eq!(
        sim.contents(&f).unwrap().len() as u64,
        delete_at + DELETE_BYTES,
        "the sealed file was not truncated"
    );
}

#[test]
fn salvage_drops_a_sealed_file_s_bad_tail_and_reports_it() {
    let sim = SimFs::new(22);
    let (f, _) = sealed_file_ending_in_a_delete(&sim);
    let delete_at = 24 + 4 * PUT_BYTES;
    assert!(sim.corrupt(&f, delete_at + 25, b"#"));
    let mut options = sim_options(&sim, MAX_FILE_BYTES);
    options.salvage = true;
    let store = Bitcask::open(dir(), options).unwrap();
    let stats = store.stats();
    assert_eq!(stats.torn_bytes_truncated, 0, "not a torn tail");
    assert_eq!(stats.extra["salvaged_bytes"], DELETE_BYTES);
    // Salvage dropped the damaged tombstone, so key 0 is back: that is what
    // salvage means, and it said so.
    assert_eq!(store.get(&key(0)).unwrap(), Some(value(0, 0, 50)));
    for i in 1..10 {
        assert_eq!(store.get(&key(i)).unwrap(), Some(value(i, 0, 50)), "{i}");
    }
    assert!(
        store
            .check()
            .unwrap()
            .notes
            .iter()
            .any(|n| n.contains("salvage")),
        "check() reports what salvage dropped"
    );
}

#[test]
fn the_newest_file_s_tail_is_still_truncated() {
    let sim = SimFs::new(23);
    let (_, h) = sealed_file_ending_in_a_delete(&sim);
    // H, the file that was active, loses its hint and its last record is
    // cut short, as a crash in the middle of an append leaves it.
    assert!(sim.set_len_durably(&h.with_extension("hint"), 0));
    // A clean close ended H with a frontier record (23 bytes, as large as a
    // record header): the cut takes it and the last 10 bytes of the put.
    let len = sim.contents(&h).unwrap().len() as u64;
    let frontier_bytes = kv_core::codec::HEADER_BYTES as u64;
    assert!(sim.set_len_durably(&h, len - frontier_bytes - 10));
    let store = open(&sim, MAX_FILE_BYTES);
    assert_eq!(store.stats().torn_bytes_truncated, PUT_BYTES - 10);
    assert_eq!(store.get(&key(0)).unwrap(), None, "the delete holds");
    assert_eq!(store.get(&key(8)).unwrap(), Some(value(8, 0, 50)));
    assert_eq!(store.get(&key(9)).unwrap(), None, "the torn put is gone");
    store.check().unwrap();
}
