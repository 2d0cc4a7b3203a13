//! A put with a time to live reads as missing once it expires (get, scan,
//! both directions), keeps its expiry across a reopen, and is dropped by
//! the next merge: its bytes are reclaimed, and an older put of the same
//! key in a file the merge did not take never comes back. A plain put stays
//! a plain codec record, so a value that looks like a TTL record is never
//! misread.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{assert_matches, key, sim_options, value};
use kv_bitcask::{Bitcask, BitcaskOptions, Clock, ManualClock, MergePolicy};
use kv_core::limits::MAX_VALUE_BYTES;
use kv_core::testkit::{Model, SimFs};
use kv_core::{Direction, Error, KeyRange, Store, StoreExt};

fn options(sim: &SimFs, clock: &Arc<ManualClock>) -> BitcaskOptions {
    let mut options = sim_options(sim, 1024);
    options.clock = Arc::clone(clock) as Arc<dyn Clock>;
    options
}

#[test]
fn ttl_expired_keys_vanish_and_merge_drops_them() {
    let sim = SimFs::new(3);
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let store = Bitcask::open(common::dir(), options(&sim, &clock)).unwrap();
    let mut model = Model::new();
    for i in 0..30 {
        store.put(&key(i), &value(i, 0, 60)).unwrap();
        model.put(&key(i), &value(i, 0, 60));
    }
    for i in 0..10 {
        store
            .put_with_ttl(
                &key(100 + i),
                &value(100 + i, 0, 60),
                Duration::from_secs(60),
            )
            .unwrap();
    }
    // A TTL put over an older plain put of the same key.
    store
        .put_with_ttl(&key(5), &value(5, 1, 60), Duration::from_secs(60))
        .unwrap();
    // A plain put replaces a TTL put and its expiry.
    store
        .put_with_ttl(&key(6), &value(6, 1, 60), Duration::from_secs(60))
        .unwrap();
    store.put(&key(6), &value(6, 2, 60)).unwrap();
    model.put(&key(6), &value(6, 2, 60));
    // A plain value that starts like an expiry prefix stays plain.
    store.put(&key(7), &0u64.to_le_bytes()).unwrap();
    model.put(&key(7), &0u64.to_le_bytes());

    assert_eq!(store.get(&key(103)).unwrap(), Some(value(103, 0, 60)));
    assert_eq!(store.get(&key(5)).unwrap(), Some(value(5, 1, 60)));
    clock.advance(Duration::from_secs(59));
    assert_eq!(
        store.get(&key(103)).unwrap(),
        Some(value(103, 0, 60)),
        "not yet"
    );
    clock.advance(Duration::from_secs(1));

    model.delete(&key(5));
    assert_matches(&store, &model, "after expiry");
    let reverse: Vec<_> = store
        .scan(&KeyRange::all(), Direction::Reverse)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        reverse.len(),
        model.len(),
        "reverse scans skip expired keys"
    );
    store.sync().unwrap();
    drop(store);

    // The expiry is in the records: still expired after a reopen.
    let store = Bitcask::open(common::dir(), options(&sim, &clock)).unwrap();
    assert_matches(&store, &model, "after a reopen");
    let disk_before = store.stats().disk_bytes;
    store.compact().unwrap();
    let stats = store.stats();
    assert_eq!(
        stats.live_keys,
        model.len() as u64,
        "merge dropped the expired keys"
    );
    assert!(
        stats.disk_bytes < disk_before,
        "merge reclaimed the expired puts ({disk_before} -> {})",
        stats.disk_bytes
    );
    assert_matches(&store, &model, "after compact");
    store.check().unwrap();
    drop(store);
    let store = Bitcask::open(common::dir(), options(&sim.crash(), &clock)).unwrap();
    assert_matches(&store, &model, "after compact, a crash and a reopen");
}

#[test]
fn expired_put_over_an_older_put_in_an_unmerged_file_stays_gone() {
    let sim = SimFs::new(4);
    let clock = Arc::new(ManualClock::new(1_000));
    let mut options = options(&sim, &clock);
    options.merge = MergePolicy {
        auto: false,
        trigger_dead_percent: 50,
        threshold_dead_percent: 50,
        small_file_bytes: 0,
        ..MergePolicy::default()
    };
    let store = Bitcask::open(common::dir(), options.clone()).unwrap();
    // Old, mostly live files holding plain puts of keys 0..28.
    for i in 0..28 {
        store.put(&key(i), &value(i, 0, 100)).unwrap();
    }
    for v in 0..8 {
        store.put(&key(99), &value(99, v, 100)).unwrap(); // fill the active file
    }
    // Newer file: TTL puts over keys 3 and 10, then churn so it is mostly dead.
    for i in [3, 10] {
        store
            .put_with_ttl(&key(i), &value(i, 1, 100), Duration::from_millis(10))
            .unwrap();
    }
    for v in 0..30 {
        store.put(&key(99), &value(99, 100 + v, 100)).unwrap();
    }
    clock.advance(Duration::from_secs(1));
    assert!(store.merge_if_needed().unwrap());
    let mut model = Model::new();
    for i in (0..28).filter(|i| *i != 3 && *i != 10) {
        model.put(&key(i), &value(i, 0, 100));
    }
    model.put(&key(99), &value(99, 129, 100));
    assert_matches(&store, &model, "after the partial merge");
    drop(store);
    let store = Bitcask::open(common::dir(), options.clone()).unwrap();
    assert_matches(&store, &model, "the older puts did not come back");
    store.check().unwrap();
    store.compact().unwrap();
    drop(store);
    let store = Bitcask::open(common::dir(), options).unwrap();
    assert_matches(&store, &model, "after a full merge and a reopen");
}

#[test]
fn ttl_values_leave_room_for_the_expiry() {
    let sim = SimFs::new(5);
    let clock = Arc::new(ManualClock::new(1_000));
    let store = Bitcask::open(common::dir(), options(&sim, &clock)).unwrap();
    let big = vec![1u8; MAX_VALUE_BYTES - 7];
    let err = store
        .put_with_ttl(b"k", &big, Duration::from_secs(1))
        .unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { what: "value", .. }),
        "{err}"
    );
    store
        .put_with_ttl(b"k", &big[1..], Duration::from_secs(1))
        .unwrap();
    assert_eq!(
        store.get(b"k").unwrap().map(|v| v.len()),
        Some(MAX_VALUE_BYTES - 8)
    );
    assert_eq!(store.scan_all().unwrap().len(), 1);
}
