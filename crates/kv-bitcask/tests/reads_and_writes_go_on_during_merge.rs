//! Merges run while readers and writers work: every read returns a value
//! that was written for that key (never another key's, never a torn one),
//! and at the end the store matches what the writers wrote, before and
//! after a reopen, with `check()` passing. Automatic merges run on the
//! background thread at the same time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{assert_matches, key, sim_options};
use kv_bitcask::{Bitcask, MergePolicy};
use kv_core::testkit::{Model, SimFs};
use kv_core::{Store, StoreExt, WriteBatch};

const WRITERS: usize = 3;
const KEYS_PER_WRITER: usize = 40;
const ROUNDS: usize = 60;

fn value_for(k: usize, round: usize) -> Vec<u8> {
    format!("key{k}:round{round}:{}", "x".repeat(k % 50)).into_bytes()
}

#[test]
fn reads_and_writes_go_on_during_merge() {
    let sim = SimFs::new(21);
    let mut options = sim_options(&sim, 2048);
    options.merge = MergePolicy {
        auto: true,
        check_interval_ms: 1,
        small_file_bytes: 4096,
        ..MergePolicy::default()
    };
    let store = Arc::new(Bitcask::open(common::dir(), options.clone()).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    std::thread::scope(|s| {
        let mut busy = Vec::new();
        for w in 0..WRITERS {
            let store = Arc::clone(&store);
            busy.push(s.spawn(move || {
                for round in 0..ROUNDS {
                    let mut batch = WriteBatch::new();
                    for i in 0..KEYS_PER_WRITER {
                        let k = w * KEYS_PER_WRITER + i;
                        if (i + round).is_multiple_of(7) {
                            batch.delete(key(k));
                        } else {
                            batch.put(key(k), value_for(k, round));
                        }
                    }
                    store.write(&batch).unwrap();
                    if round.is_multiple_of(5) {
                        store
                            .put(&key(k_single(w)), &value_for(k_single(w), round))
                            .unwrap();
                    }
                }
            }));
        }
        let merger = Arc::clone(&store);
        let writers_done = Arc::clone(&done);
        let merging = s.spawn(move || {
            // Merges until the writers are done (at least once): how many
            // run, and how many find files to merge, depends on scheduling.
            loop {
                merger.compact().unwrap();
                if writers_done.load(Ordering::Relaxed) {
                    return;
                }
            }
        });
        for _ in 0..2 {
            let store = Arc::clone(&store);
            let done = Arc::clone(&done);
            s.spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    for k in 0..WRITERS * KEYS_PER_WRITER {
                        if let Some(v) = store.get(&key(k)).unwrap() {
                            let text = String::from_utf8(v).unwrap();
                            assert!(text.starts_with(&format!("key{k}:")), "{text}");
                        }
                    }
                    let all = store.scan_all().unwrap();
                    assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
                }
            });
        }
        for handle in busy {
            handle.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
        merging.join().unwrap();
    });
    let mut model = Model::new();
    let last = ROUNDS - 1;
    for w in 0..WRITERS {
        for i in 0..KEYS_PER_WRITER {
            let k = w * KEYS_PER_WRITER + i;
            if !(i + last).is_multiple_of(7) {
                model.put(&key(k), &value_for(k, last));
            }
        }
        let k = k_single(w);
        model.put(&key(k), &value_for(k, 55));
    }
    assert_matches(&*store, &model, "after the threads");
    store.check().unwrap();
    // What holds under any interleaving: a compaction of a store whose
    // writers wrote many files' worth finds files to merge, and merges.
    let merges_before = store.stats().extra["merges_run"];
    store.compact().unwrap();
    assert_eq!(store.stats().extra["merges_run"], merges_before + 1);
    assert_matches(&*store, &model, "after a final merge");
    store.check().unwrap();
    drop(store);
    let store = Bitcask::open(common::dir(), options).unwrap();
    assert_matches(&store, &model, "after a reopen");
    store.check().unwrap();
}

/// A key outside every writer's batch range, written alone by writer `w`.
fn k_single(w: usize) -> usize {
    1000 + w
}
