//! A one-fsync commit cut between its writes and its fsync, with its slot
//! reaching the disk but any one of the pages it wrote lost (the disk still
//! holds the page's older image): open finds that page fails verification
//! (or the commit's written digest), passes over the newest slot and opens
//! the previous commit, whole; `check()` passes and notes it, and
//! `stats()` shows `torn_commit_fell_back` = 1. The pages the torn commit
//! used are free again: later commits reuse them, nothing leaks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{figure, file, key, open, read_all, small_shape, value};
use kv_btree::commit_slot::CommitSlot;
use kv_btree::page::PAGE_BYTES;
use kv_core::testkit::{CrashMode, SimFs, UnsyncedData};
use kv_core::{KvPair, Store, SyncPolicy, WriteBatch};

const SEED: u64 = 11;

/// A durable store of 80 keys; the state it holds.
fn base() -> (SimFs, Vec<KvPair>) {
    let sim = SimFs::new(SEED);
    let store = open(&sim, SyncPolicy::Always, small_shape());
    for i in 0..80 {
        store.put(&key(i), &value(i, 0, (i * 11) % 150)).unwrap();
    }
    let before = read_all(&store);
    drop(store);
    (sim, before)
}

fn the_commit() -> WriteBatch {
    let mut batch = WriteBatch::new();
    for i in (0..80).step_by(5) {
        batch.delete(key(i));
    }
    for i in 100..130 {
        batch.put(key(i), value(i, 1, (i * 7) % 140));
    }
    batch
}

fn newest_txn(bytes: &[u8]) -> u64 {
    (0..2u64)
        .filter_map(|i| {
            let page = bytes.get(i as usize * PAGE_BYTES..(i as usize + 1) * PAGE_BYTES)?;
            CommitSlot::decode(page, i, &file()).ok().map(|s| s.txn)
        })
        .max()
        .unwrap()
}

/// The commit's world cut just before its fsync: everything it wrote kept
/// (the slot included), nothing synced; and the durable bytes before it.
fn cut_before_the_fsync() -> (SimFs, Vec<u8>) {
    for n in 0.. {
        let (sim, _) = base();
        let store = open(&sim, SyncPolicy::Always, small_shape());
        let durable = sim.durable_contents(&file()).unwrap();
        sim.power_off_after(n);
        let done = store.write(&the_commit()).is_ok();
        assert!(
            !done,
            "the commit finished before its slot was seen unsynced"
        );
        let kept = sim.crash_with(CrashMode {
            unsynced: UnsyncedData::Kept,
            forget_unsynced_dir_entries: false,
        });
        let bytes = kept.contents(&file()).unwrap();
        if newest_txn(&bytes) > newest_txn(&durable) {
            assert_eq!(sim.durable_contents(&file()).unwrap(), durable);
            return (kept, durable);
        }
    }
    unreachable!()
}

#[test]
fn torn_one_fsync_commit_falls_back_to_the_previous_commit() {
    let (_, before) = base();
    let (kept, durable) = cut_before_the_fsync();
    let bytes = kept.contents(&file()).unwrap();
    let written: Vec<usize> = (2..durable.len() / PAGE_BYTES)
        .filter(|&p| {
            bytes[p * PAGE_BYTES..(p + 1) * PAGE_BYTES]
                != durable[p * PAGE_BYTES..(p + 1) * PAGE_BYTES]
        })
        .collect();
    assert!(
        written.len() >= 2,
        "the commit should rewrite pages in the file"
    );
    for &page in &written {
        let world = kept.crash();
        let old = &durable[page * PAGE_BYTES..(page + 1) * PAGE_BYTES];
        assert!(world.corrupt(&file(), (page * PAGE_BYTES) as u64, old));
        let store = open(&world, SyncPolicy::Always, small_shape());
        assert_eq!(
            read_all(&store),
            before,
            "page {page} lost: the previous commit"
        );
        assert_eq!(figure(&store, "torn_commit_fell_back"), 1, "page {page}");
        let report = store.check().unwrap();
        assert!(report.is_clean(), "page {page}: {:?}", report.damage);
        assert!(
            report
                .notes
                .iter()
                .any(|n| n.contains("torn_commit_fell_back")),
            "page {page}: the fall-back should be noted: {:?}",
            report.notes
        );
        // The torn commit's pages are free again: the commit made anew
        // reuses them, and nothing leaks or is used twice.
        store.write(&the_commit()).unwrap();
        let after = read_all(&store);
        let report = store.check().unwrap();
        assert!(
            report.is_clean(),
            "page {page}, redone: {:?}",
            report.damage
        );
        drop(store);
        let again = open(&world.crash(), SyncPolicy::Always, small_shape());
        assert_eq!(read_all(&again), after);
        assert_eq!(figure(&again, "torn_commit_fell_back"), 0);
    }
    // With every page kept, the commit is whole: the slot is trusted.
    let store = open(&kept, SyncPolicy::Always, small_shape());
    assert_eq!(figure(&store, "torn_commit_fell_back"), 0);
    assert_ne!(read_all(&store), before);
}
