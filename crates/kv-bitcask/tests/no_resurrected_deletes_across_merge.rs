//! A key deleted stays deleted however merges cut the files: a merge may drop
//! a tombstone only when no file that survives it can hold an older put of
//! the key. Partial merges (the automatic policy picks some files, not
//! others) are the dangerous case: the tombstone's file is merged while an
//! older file holding the put is not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_matches, key, open, random_writes, sim_options, value};
use kv_bitcask::{Bitcask, MergePolicy};
use kv_core::testkit::{Model, SeedGuard, SimFs};
use kv_core::Store;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Policy that merges only files mostly dead, never small live ones.
fn picky() -> MergePolicy {
    MergePolicy {
        auto: false,
        trigger_dead_percent: 60,
        threshold_dead_percent: 60,
        small_file_bytes: 0,
        ..MergePolicy::default()
    }
}

#[test]
fn no_resurrected_deletes_across_merge() {
    let sim = SimFs::new(1);
    let mut options = sim_options(&sim, 1024);
    options.merge = picky();
    let store = Bitcask::open(common::dir(), options.clone()).unwrap();
    // Old files: 40 keys, 100-byte values (seven 131-byte records a file).
    for i in 0..40 {
        store.put(&key(i), &value(i, 0, 100)).unwrap();
    }
    // Newer files: delete one key of each old file (which stay mostly
    // live, so the policy leaves them alone), then churn one key so the
    // newer files are mostly dead and get merged, tombstones and all.
    let deleted: Vec<usize> = (0..40).filter(|i| i % 7 == 3).collect();
    for v in 0..8 {
        store.put(&key(39), &value(39, 100 + v, 100)).unwrap(); // fill the active file
    }
    for &i in &deleted {
        store.delete(&key(i)).unwrap();
    }
    for v in 0..40 {
        store.put(&key(39), &value(39, v, 100)).unwrap();
    }
    store.sync().unwrap();
    let mut model = Model::new();
    for i in (0..40).filter(|i| !deleted.contains(i)) {
        model.put(&key(i), &value(i, if i == 39 { 39 } else { 0 }, 100));
    }
    assert_matches(&store, &model, "before the merge");
    let files_before = store.stats().extra["files"];
    assert!(
        store.merge_if_needed().unwrap(),
        "the policy should pick the churned files"
    );
    let tombstone_bytes: u64 = store
        .stats()
        .extra
        .iter()
        .filter(|(k, _)| k.ends_with(".tombstone_bytes"))
        .map(|(_, v)| *v)
        .sum();
    assert!(
        tombstone_bytes > 0 && store.stats().extra["files"] > 4,
        "the merge had to keep the tombstones of keys whose puts live in unmerged files \
         ({files_before} files before the merge): {:?}",
        store.stats().extra
    );
    assert_eq!(store.stats().extra["merges_run"], 1);
    assert_matches(&store, &model, "after the partial merge");
    store.check().unwrap();
    drop(store);

    let store = Bitcask::open(common::dir(), options.clone()).unwrap();
    assert_matches(&store, &model, "after a partial merge and a reopen");
    // Power loss right after, too: the merge synced what it relied on.
    drop(store);
    let crashed = sim.crash();
    let store = open(&crashed, 1024);
    assert_matches(&store, &model, "after a partial merge and a crash");
    store.compact().unwrap();
    store.check().unwrap();
    let dead: u64 = store
        .stats()
        .extra
        .iter()
        .filter(|(k, _)| k.ends_with(".tombstone_bytes"))
        .map(|(_, v)| *v)
        .sum();
    assert_eq!(dead, 0, "a full merge drops every tombstone");
    drop(store);
    let store = open(&crashed, 1024);
    assert_matches(&store, &model, "after a full merge and a reopen");
}

#[test]
fn random_workloads_with_partial_and_full_merges_match_the_model() {
    let guard = SeedGuard::new("random_workloads_with_partial_and_full_merges_match_the_model");
    let mut rng = StdRng::seed_from_u64(guard.seed());
    let sim = SimFs::new(guard.seed());
    let mut options = sim_options(&sim, 700);
    let mut store = Bitcask::open(common::dir(), options.clone()).unwrap();
    let mut model = Model::new();
    let mut merges = 0;
    for round in 0..60 {
        random_writes(&store, &mut model, &mut rng, 40, 30, 120);
        match rng.random_range(0..6) {
            0 => store.compact().unwrap(),
            1 => {
                merges += store.stats().extra["merges_run"];
                drop(store);
                options.merge = MergePolicy {
                    auto: false,
                    trigger_dead_percent: rng.random_range(10..90),
                    threshold_dead_percent: rng.random_range(10..90),
                    small_file_bytes: rng.random_range(0..400),
                    ..MergePolicy::default()
                };
                store = Bitcask::open(common::dir(), options.clone()).unwrap();
            }
            _ => {
                store.merge_if_needed().unwrap();
            }
        }
        assert_matches(&store, &model, &format!("round {round}"));
        if round % 10 == 9 {
            store.check().unwrap();
            merges += store.stats().extra["merges_run"];
            drop(store);
            store = Bitcask::open(common::dir(), options.clone()).unwrap();
            assert_matches(&store, &model, &format!("round {round}, reopened"));
        }
    }
    merges += store.stats().extra["merges_run"];
    assert!(merges > 0, "no merge ran: the test did not test merges");
}
