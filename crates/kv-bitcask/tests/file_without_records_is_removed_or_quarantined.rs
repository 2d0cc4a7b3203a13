//! A data file with no complete record and no hint is never deleted on a
//! guess. One created after the last durable file-set record (its id is
//! at or above the record's `next_id`: a rollover or open that crashed
//! before listing it) is a torn creation and is removed. Any other the
//! store cannot account for is moved to `quarantine/` by a read-write open
//! (a read-only open leaves it alone) and noted by `check()`; in both
//! cases the store opens with exactly its durable state.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::damage::{data_path, file_set, options, store_with_history};
use common::{assert_matches, dir};
use kv_bitcask::Bitcask;
use kv_core::{Fs, OpenMode, Store};

#[test]
fn file_created_after_the_file_set_record_is_a_torn_creation() {
    let (sim, model) = store_with_history(61);
    let next = u32::try_from(file_set(&sim).next_id).unwrap();
    let garbage: Vec<u8> = (0..40u32).map(|i| (i * 37 + 11) as u8).collect();
    let f = sim.create(&data_path(next)).unwrap();
    f.append(&garbage).unwrap();
    f.sync().unwrap();
    sim.sync_dir(dir()).unwrap();
    let store = Bitcask::open(dir(), options(&sim, OpenMode::ReadWrite)).unwrap();
    assert_matches(&store, &model, "after removing the torn creation");
    assert_eq!(store.stats().torn_bytes_truncated, 40);
    assert!(sim.contents(&data_path(next)).is_none(), "removed");
    store.check().unwrap();
}

#[test]
fn unaccounted_file_without_records_is_quarantined_not_deleted() {
    let (sim, model) = store_with_history(62);
    let set = file_set(&sim);
    // An id below `next_id` that the store no longer uses (a merge input).
    let stray = (1..u32::try_from(set.next_id).unwrap())
        .find(|id| !set.lists(*id))
        .unwrap();
    let f = sim.create(&data_path(stray)).unwrap();
    f.append(b"KVBC").unwrap();
    f.sync().unwrap();
    sim.sync_dir(dir()).unwrap();

    let store = Bitcask::open(dir(), options(&sim, OpenMode::ReadOnly)).unwrap();
    assert_matches(&store, &model, "read-only, the stray file left alone");
    drop(store);
    assert!(sim.contents(&data_path(stray)).is_some());

    let store = Bitcask::open(dir(), options(&sim, OpenMode::ReadWrite)).unwrap();
    assert_matches(&store, &model, "after moving the stray file aside");
    let quarantined = dir().join("quarantine").join(format!("{stray:010}.data"));
    assert_eq!(sim.contents(&quarantined).unwrap(), b"KVBC");
    assert!(sim.contents(&data_path(stray)).is_none());
    let report = store.check().unwrap();
    assert!(
        report.notes.iter().any(|n| n.contains("quarantine")),
        "{report:?}"
    );
    drop(store);
    let store = Bitcask::open(dir(), options(&sim, OpenMode::ReadWrite)).unwrap();
    assert_matches(&store, &model, "reopened with the quarantine directory");
    store.check().unwrap();
}
