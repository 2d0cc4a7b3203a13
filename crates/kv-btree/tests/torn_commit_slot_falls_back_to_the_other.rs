//! A commit slot torn by a crash (its checksum fails) is passed over: open
//! takes the other slot, the previous durable commit, whole; `check()`
//! passes and notes the torn slot; the next durable commit rewrites it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{file, key, open, read_all, small_shape, value};
use kv_btree::commit_slot::CommitSlot;
use kv_btree::page::PAGE_BYTES;
use kv_core::testkit::SimFs;
use kv_core::{Store, SyncPolicy};

/// The slot index holding the newest valid commit in `bytes`.
fn newest_slot(bytes: &[u8]) -> (u64, u64) {
    (0..2u64)
        .filter_map(|i| {
            let page = &bytes[i as usize * PAGE_BYTES..(i as usize + 1) * PAGE_BYTES];
            CommitSlot::decode(page, i, &file())
                .ok()
                .map(|s| (i, s.txn))
        })
        .max_by_key(|(_, txn)| *txn)
        .unwrap()
}

#[test]
fn torn_commit_slot_falls_back_to_the_other() {
    let sim = SimFs::new(7);
    let store = open(&sim, SyncPolicy::Always, small_shape());
    for i in 0..50 {
        store.put(&key(i), &value(i, 0, 60)).unwrap();
    }
    let previous = read_all(&store);
    store.delete(&key(3)).unwrap();
    let crashed = sim.crash();
    drop(store);
    let bytes = crashed.contents(&file()).unwrap();
    let (index, txn) = newest_slot(&bytes);
    // Tear the newest slot in the middle, as a crash inside its write would.
    let offset = index * PAGE_BYTES as u64 + 2000;
    assert!(crashed.corrupt(&file(), offset, &[0xAB; 16]));
    let store = open(&crashed, SyncPolicy::Always, small_shape());
    let got = read_all(&store);
    assert_eq!(
        got, previous,
        "the torn slot of txn {txn} must fall back to the commit before it"
    );
    let report = store.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.damage);
    assert!(
        report.notes.iter().any(|n| n.contains("commit slot")),
        "the torn slot should be noted: {:?}",
        report.notes
    );
    store.put(b"after", b"x").unwrap();
    drop(store);
    let again = crashed.crash();
    let store = open(&again, SyncPolicy::Always, small_shape());
    assert_eq!(store.get(b"after").unwrap(), Some(b"x".to_vec()));
    let bytes = again.contents(&file()).unwrap();
    for i in 0..2u64 {
        let page = &bytes[i as usize * PAGE_BYTES..(i as usize + 1) * PAGE_BYTES];
        assert!(
            CommitSlot::decode(page, i, &file()).is_ok(),
            "slot {i} was not rewritten"
        );
    }
}
