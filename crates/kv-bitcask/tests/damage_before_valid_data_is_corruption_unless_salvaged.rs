//! A record that fails its checksum with valid records after it is damage,
//! not a torn tail: open fails with `Corruption` naming the file and offset,
//! unless the caller opts in to `salvage`, which skips the damaged bytes,
//! reports them in `stats().extra["salvaged_bytes"]`, and keeps everything
//! else (a merge still refuses to read past the damage: merges are strict). Reading a damaged record is `Corruption` too, never other data, and
//! `check()` lists the damaged spot.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use common::{key, open, sim_options, value};
use kv_bitcask::Bitcask;
use kv_core::testkit::SimFs;
use kv_core::{Error, Store};

fn data_files(sim: &SimFs) -> Vec<PathBuf> {
    sim.files()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "data"))
        .collect()
}

/// One data file of 10 records of 24 + 23 + 8 + 50 bytes; no hint.
fn setup() -> (SimFs, PathBuf) {
    let sim = SimFs::new(11);
    let store = open(&sim, 1 << 20);
    for i in 0..10 {
        store.put(&key(i), &value(i, 0, 50)).unwrap();
    }
    drop(store);
    for hint in sim
        .files()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "hint"))
    {
        assert!(sim.set_len_durably(&hint, 0), "drop the hint so open scans");
    }
    let file = data_files(&sim).pop().unwrap();
    (sim, file)
}

const RECORD_BYTES: u64 = 23 + 8 + 50;

#[test]
fn damage_before_valid_data_is_corruption() {
    let (sim, file) = setup();
    let third = 24 + 2 * RECORD_BYTES;
    assert!(sim.corrupt(&file, third + 30, b"X"));
    let err = Bitcask::open(common::dir(), sim_options(&sim, 1 << 20)).unwrap_err();
    match err {
        Error::Corruption {
            file: f, offset, ..
        } => {
            assert_eq!(f, file);
            assert_eq!(offset, third);
        }
        other => panic!("expected corruption, got {other}"),
    }
}

#[test]
fn salvage_skips_the_damage_and_reports_it() {
    let (sim, file) = setup();
    let third = 24 + 2 * RECORD_BYTES;
    assert!(sim.corrupt(&file, third + 30, b"X"));
    let mut options = sim_options(&sim, 1 << 20);
    options.salvage = true;
    let store = Bitcask::open(common::dir(), options.clone()).unwrap();
    assert_eq!(store.stats().extra["salvaged_bytes"], RECORD_BYTES);
    for i in 0..10 {
        let want = (i != 2).then(|| value(i, 0, 50));
        assert_eq!(store.get(&key(i)).unwrap(), want, "key {i}");
    }
    // A merge reads its inputs strictly, salvage or not: it meets the
    // damage, fails, and deletes nothing (the damaged bytes are left for
    // the user to see); `check()` still lists them.
    let before = sim.contents(&file).unwrap();
    match store.compact() {
        Err(Error::Corruption {
            file: f, offset, ..
        }) => {
            assert_eq!((f, offset), (file.clone(), third));
        }
        other => panic!("expected the merge to fail with corruption, got {other:?}"),
    }
    assert_eq!(store.stats().extra["merge_failures"], 1);
    assert_eq!(sim.contents(&file).unwrap(), before);
    let report = store.check().unwrap();
    assert!(report
        .damage
        .iter()
        .any(|d| d.file == file && d.offset == third));
    drop(store);
    let store = Bitcask::open(common::dir(), options).unwrap();
    assert_eq!(store.get(&key(5)).unwrap(), Some(value(5, 0, 50)));
    assert_eq!(store.get(&key(2)).unwrap(), None);
}

#[test]
fn reading_a_damaged_record_is_corruption() {
    let sim = SimFs::new(12);
    let store = open(&sim, 1 << 20);
    for i in 0..10 {
        store.put(&key(i), &value(i, 0, 50)).unwrap();
    }
    store.sync().unwrap();
    let file = data_files(&sim).pop().unwrap();
    let fourth = 24 + 3 * RECORD_BYTES;
    assert!(sim.corrupt(&file, fourth + 40, b"Y"));
    assert!(store.get(&key(3)).unwrap_err().is_corruption());
    assert_eq!(store.get(&key(4)).unwrap(), Some(value(4, 0, 50)));
    // check() lists the damage (it is not an error: damage is a list).
    let report = store.check().unwrap();
    assert_eq!(report.damage.len(), 1, "{report:?}");
    assert_eq!(
        (&report.damage[0].file, report.damage[0].offset),
        (&file, fourth)
    );
}

#[test]
fn damaged_header_with_records_after_it_is_corruption() {
    let (sim, file) = setup();
    assert!(sim.corrupt(&file, 3, b"Z"));
    let err = Bitcask::open(common::dir(), sim_options(&sim, 1 << 20)).unwrap_err();
    assert!(
        matches!(&err, Error::Corruption { file: f, offset: 0, .. } if *f == file),
        "{err}"
    );
}
