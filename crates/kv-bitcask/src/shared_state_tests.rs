//! The invariants of [`SharedState`]'s locking, each in a test named after
//! it. Every verdict holds whatever the threads' interleaving: the
//! concurrent tests check what must be true of *every* interleaving, and
//! the blocking tests wait (without a clock) for a state they then check
//! with `try_` locks, never with a timeout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, TryLockError};

use kv_core::testkit::{SeedGuard, SimFs};
use kv_core::Fs;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::*;

fn handle(sim: &SimFs, id: u32) -> Arc<DataFile> {
    let path = PathBuf::from(format!("/sim/{id}.data"));
    let file = sim.create(&path).unwrap();
    Arc::new(DataFile::new(id, path, file, 0))
}

/// A state with data files `ids` (empty) and no key.
fn state_with_files(ids: &[u32]) -> (SharedState, Arc<EngineCounters>) {
    let sim = SimFs::new(1);
    sim.create_dir(std::path::Path::new("/sim")).unwrap();
    let counters = Arc::new(EngineCounters::default());
    let state = SharedState::new(State::default(), Arc::clone(&counters));
    let infos = ids
        .iter()
        .map(|id| FileInfo::new(handle(&sim, *id), 0))
        .collect();
    state.add_files(Holder::Rollover, infos);
    (state, counters)
}

fn key(i: u32) -> Vec<u8> {
    format!("key{i:08}").into_bytes()
}

fn entry(file_id: u32, seq: u64) -> Entry {
    Entry {
        file_id,
        offset: (seq as u32) * 100,
        len: 100,
        stored_seq: seq,
    }
}

fn put(state: &SharedState, k: &[u8], e: Entry) {
    let change = Change::Put {
        entry: e,
        expiry_unix_ms: None,
    };
    state.apply(Holder::Publish, k, change, None);
}

/// True if the index lock's write side is held (or queued for).
fn index_write_locked(state: &SharedState) -> bool {
    matches!(
        state.index.lock_for_tests().try_read(),
        Err(TryLockError::WouldBlock)
    )
}

/// Per file, the keys the keydir points at and their bytes.
fn counts_from_keydir(state: &SharedState) -> BTreeMap<u32, (u64, u64)> {
    let mut counts = BTreeMap::new();
    state.with_all_keys(|all| {
        for (_, e) in all {
            let c = counts.entry(e.file_id).or_insert((0, 0));
            c.0 += 1;
            c.1 += u64::from(e.len);
        }
    });
    counts
}

fn assert_counts_match_the_keydir(state: &SharedState) {
    let want = counts_from_keydir(state);
    let accounting = state.accounting();
    for (id, f) in &accounting.files {
        let (keys, bytes) = want.get(id).copied().unwrap_or((0, 0));
        assert_eq!((f.live_keys, f.live_bytes), (keys, bytes), "file {id}");
    }
}

#[test]
fn a_write_to_one_leaf_excludes_no_reader_of_another_leaf() {
    let (state, _) = state_with_files(&[1]);
    let state = Arc::new(state);
    for i in 0..1_000 {
        put(&state, &key(i), entry(1, u64::from(i) + 1));
    }
    // Hold the accounting: a put then blocks inside its leaf's write lock.
    let accounting = state.accounting();
    let writer = {
        let state = Arc::clone(&state);
        std::thread::spawn(move || put(&state, &key(0), entry(1, 5_000)))
    };
    // Wait (no clock) until the writer holds key 0's leaf.
    while !state.leaf_write_locked_for_tests(&key(0)) {
        std::thread::yield_now();
    }
    assert!(
        !index_write_locked(&state),
        "a put must not hold the store-wide lock"
    );
    // Every key of another leaf is readable meanwhile, with its handle.
    for i in 500..1_000 {
        assert!(!state.leaf_write_locked_for_tests(&key(i)));
        let (e, h) = state.lookup(&key(i)).unwrap();
        assert_eq!(e, entry(1, u64::from(i) + 1));
        assert!(h.is_some());
    }
    drop(accounting);
    writer.join().unwrap();
    assert_eq!(state.entry(&key(0)), Some(entry(1, 5_000)));
}

#[test]
fn a_batch_is_published_under_one_store_wide_hold() {
    let (state, counters) = state_with_files(&[1]);
    let state = Arc::new(state);
    let before = counters.keydir_write_lock.holds_by(Holder::Publish);
    // Hold the accounting: the batch then blocks inside its hold.
    let accounting = state.accounting();
    let writer = {
        let state = Arc::clone(&state);
        std::thread::spawn(move || {
            let keys: Vec<Vec<u8>> = (0..300).map(key).collect();
            let changes = keys.iter().enumerate().map(|(i, k)| {
                let change = Change::Put {
                    entry: entry(1, i as u64 + 1),
                    expiry_unix_ms: None,
                };
                (k.as_slice(), change)
            });
            state.apply_all(Holder::Publish, changes, None);
        })
    };
    while !index_write_locked(&state) {
        std::thread::yield_now();
    }
    // No reader can get in while any part of the batch is applied.
    drop(accounting);
    writer.join().unwrap();
    assert_eq!(state.keydir_len(), 300);
    for i in 0..300 {
        assert_eq!(state.entry(&key(i)), Some(entry(1, u64::from(i) + 1)));
    }
    let holds = counters.keydir_write_lock.holds_by(Holder::Publish) - before;
    assert_eq!(holds, 1, "the batch's splits are made inside its one hold");
    assert_eq!(counters.keydir_leaf_lock.holds_by(Holder::Publish), 0);
}

#[test]
fn a_switch_moves_a_key_only_if_it_still_points_at_the_copied_record() {
    let (state, _) = state_with_files(&[1, 2, 3]);
    put(&state, b"a", entry(1, 10));
    put(&state, b"b", entry(1, 11));
    // "b" was overwritten after the merge copied it.
    put(&state, b"b", entry(3, 20));
    assert!(state.switch_to_copy(b"a", entry(2, 10)));
    assert!(!state.switch_to_copy(b"b", entry(2, 11)));
    assert!(!state.switch_to_copy(b"absent", entry(2, 12)));
    assert_eq!(state.entry(b"a"), Some(entry(2, 10)));
    assert_eq!(state.entry(b"b"), Some(entry(3, 20)));
    // The same for an expired key's removal.
    assert!(!state.remove_if_unchanged(b"b", entry(1, 11)));
    assert!(state.remove_if_unchanged(b"a", entry(2, 10)));
    assert_eq!(state.entry(b"a"), None);
    assert_counts_match_the_keydir(&state);
}

#[test]
fn a_key_no_one_writes_is_found_by_every_read_during_splits_and_folds() {
    let guard = SeedGuard::new("shared_state_stable_keys");
    let seed = guard.seed();
    let (state, _) = state_with_files(&[1, 2]);
    let state = Arc::new(state);
    // Stable keys (even numbers) that no one writes after this.
    for i in (0..4_000).step_by(2) {
        put(&state, &key(i), entry(1, u64::from(i) + 1));
    }
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let (state, done) = (Arc::clone(&state), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(seed ^ r);
                let mut reads = 0u64;
                while !done.load(Ordering::SeqCst) || reads < 10_000 {
                    let i = rng.random_range(0..2_000u32) * 2;
                    let found = state.lookup(&key(i));
                    let want = entry(1, u64::from(i) + 1);
                    assert_eq!(found.map(|(e, _)| e), Some(want), "key {i} (seed {seed})");
                    reads += 1;
                }
            })
        })
        .collect();
    // The writer inserts and removes the odd keys around them: leaves split
    // and fold under the readers.
    let mut rng = StdRng::seed_from_u64(seed);
    for round in 0..6u64 {
        for i in (1..4_000).step_by(2) {
            if rng.random_range(0..4u32) != 0 {
                put(&state, &key(i), entry(2, round * 10_000 + u64::from(i)));
            }
        }
        for i in (1..4_000).step_by(2) {
            let change = Change::Delete {
                tombstone: entry(2, round * 10_000 + 5_000 + u64::from(i)),
            };
            state.apply(Holder::Publish, &key(i), change, None);
        }
    }
    done.store(true, Ordering::SeqCst);
    for r in readers {
        r.join().unwrap();
    }
    assert_eq!(state.keydir_len(), 2_000);
    let mut scanned = Vec::new();
    state.visit_range((Bound::Unbounded, Bound::Unbounded), false, |k, _, _| {
        scanned.push(k.to_vec());
        true
    });
    let want: Vec<Vec<u8>> = (0..4_000).step_by(2).map(key).collect();
    assert_eq!(scanned, want);
}

#[test]
fn per_file_counts_match_the_keydir_after_concurrent_switches_and_writes() {
    let guard = SeedGuard::new("shared_state_concurrent_counts");
    let seed = guard.seed();
    let (state, _) = state_with_files(&[1, 2, 3]);
    let state = Arc::new(state);
    for i in 0..3_000 {
        put(&state, &key(i), entry(1, u64::from(i) + 1));
    }
    // A merge copies file 1 into file 2 while a writer overwrites some
    // keys into file 3 and deletes others.
    let merge = {
        let state = Arc::clone(&state);
        std::thread::spawn(move || {
            for i in 0..3_000 {
                state.switch_to_copy(&key(i), entry(2, u64::from(i) + 1));
            }
        })
    };
    let mut rng = StdRng::seed_from_u64(seed);
    for n in 0..3_000u64 {
        let i = rng.random_range(0..3_000u32);
        if rng.random_range(0..4u32) == 0 {
            let change = Change::Delete {
                tombstone: entry(3, 10_000 + n),
            };
            state.apply(Holder::Publish, &key(i), change, None);
        } else {
            put(&state, &key(i), entry(3, 10_000 + n));
        }
    }
    merge.join().unwrap();
    // Every key left in file 1 was switched (none is written there).
    assert!(!counts_from_keydir(&state).contains_key(&1), "seed {seed}");
    assert_counts_match_the_keydir(&state);
    let dropped = state.remove_files(Holder::MergeSwitch, &[1]);
    assert_eq!(dropped.len(), 1);
}

#[test]
fn a_get_finds_its_files_handle_while_a_merge_switches_and_drops_the_input() {
    let (state, _) = state_with_files(&[1, 2]);
    let state = Arc::new(state);
    for i in 0..2_000 {
        put(&state, &key(i), entry(1, u64::from(i) + 1));
    }
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (state, done) = (Arc::clone(&state), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut i = 0;
            while !done.load(Ordering::SeqCst) || i < 4_000 {
                let (e, h) = state.lookup(&key(i % 2_000)).unwrap();
                let h = h.unwrap_or_else(|| panic!("no handle for file {}", e.file_id));
                assert_eq!(h.id, e.file_id);
                i += 1;
            }
        })
    };
    for i in 0..2_000 {
        assert!(state.switch_to_copy(&key(i), entry(2, u64::from(i) + 1)));
    }
    drop(state.remove_files(Holder::MergeSwitch, &[1]));
    done.store(true, Ordering::SeqCst);
    reader.join().unwrap();
}
