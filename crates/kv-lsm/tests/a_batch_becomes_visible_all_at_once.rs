//! A batch becomes visible all at once: while a writer applies batches that
//! set ten keys to the same value (with background flushes and compactions
//! running on threads), every scan sees the ten keys with one value.
//!
//! The verdict does not depend on timing: a correct engine passes under any
//! interleaving; only a torn batch fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicBool, Ordering};

use kv_core::{Direction, KeyRange, Options, Store, WriteBatch};
use kv_lsm::{Lsm, LsmOptions};

#[test]
fn a_batch_becomes_visible_all_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Lsm::open(tmp.path().join("db"), LsmOptions::tiny(Options::new())).unwrap();
    let mut first = WriteBatch::new();
    for k in 0..10u8 {
        first.put(vec![b'k', k], 0u32.to_le_bytes().to_vec());
    }
    store.write(&first).unwrap();
    let done = AtomicBool::new(false);
    let (store_ref, done_ref) = (&store, &done);
    std::thread::scope(|s| {
        s.spawn(move || {
            let (store, done) = (store_ref, done_ref);
            for round in 1..400u32 {
                let mut batch = WriteBatch::new();
                for k in 0..10u8 {
                    batch.put(vec![b'k', k], round.to_le_bytes().to_vec());
                    batch.put(vec![b'p', k, round as u8], vec![0u8; 64]);
                }
                store.write(&batch).unwrap();
            }
            done.store(true, Ordering::Release);
        });
        for direction in [Direction::Forward, Direction::Reverse] {
            s.spawn(move || {
                let (store, done) = (store_ref, done_ref);
                let range = KeyRange::prefix(b"k");
                loop {
                    let finished = done.load(Ordering::Acquire);
                    let items: Vec<_> = store
                        .scan(&range, direction)
                        .unwrap()
                        .collect::<Result<_, _>>()
                        .unwrap();
                    assert_eq!(items.len(), 10, "{direction:?}: a key is missing");
                    let v = &items[0].1;
                    assert!(
                        items.iter().all(|(_, x)| x == v),
                        "{direction:?}: a torn batch"
                    );
                    if finished {
                        break;
                    }
                }
            });
        }
    });
    assert!(store.check().unwrap().damage.is_empty());
}
