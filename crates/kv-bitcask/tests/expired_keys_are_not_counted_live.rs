//! `stats().live_keys` and `live_bytes` count the visible keys only (the
//! `Stats` contract): a TTL put stops counting the moment the store's clock
//! passes its expiry, before any merge drops it, and `check()` agrees. This
//! holds however the put got into the keydir (written now under `Manual` or
//! `Always`, loaded from a hint or from a scanned data file at reopen, or
//! moved by a merge) and however it leaves (overwritten by a plain or TTL
//! put, deleted in a batch, dropped by a merge). The clock is a
//! `ManualClock`: no sleeps.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{key, sim_options, value};
use kv_bitcask::{Bitcask, BitcaskOptions, Clock, ManualClock};
use kv_core::testkit::{Model, SimFs};
use kv_core::{Options, Store, SyncPolicy, WriteBatch};

fn options(sim: &SimFs, clock: &Arc<ManualClock>, sync: SyncPolicy) -> BitcaskOptions {
    let mut options = sim_options(sim, 2048);
    options.core = Options::with_fs(Arc::new(sim.clone())).sync(sync);
    options.clock = Arc::clone(clock) as Arc<dyn Clock>;
    options
}

/// The stats and the check report count exactly the model's keys, and the
/// stats its key plus value bytes.
fn assert_counts(store: &Bitcask, model: &Model, context: &str) {
    let stats = store.stats();
    let bytes: u64 = model
        .map()
        .iter()
        .map(|(k, v)| (k.len() + v.len()) as u64)
        .sum();
    assert_eq!(stats.live_keys, model.len() as u64, "{context}: live_keys");
    assert_eq!(stats.live_bytes, bytes, "{context}: live_bytes");
    assert!(stats.live_keys_exact, "{context}");
    let report = store.check().unwrap();
    assert!(report.damage.is_empty(), "{context}: {:?}", report.damage);
    assert_eq!(
        report.live_keys,
        model.len() as u64,
        "{context}: check().live_keys"
    );
}

/// Writes plain puts 0..20 and TTL puts 100..110 (60 s), 200..205 (10 s),
/// plus the overwrites and deletes that end TTL puts early; returns the
/// model of what is visible before any expiry, and the TTL-10-s keys.
fn write_history(store: &Bitcask, model: &mut Model) -> Vec<Vec<u8>> {
    let minute = Duration::from_secs(60);
    for i in 0..20 {
        store.put(&key(i), &value(i, 0, 40)).unwrap();
        model.put(&key(i), &value(i, 0, 40));
    }
    for i in 100..110 {
        store
            .put_with_ttl(&key(i), &value(i, 0, 40), minute)
            .unwrap();
        model.put(&key(i), &value(i, 0, 40));
    }
    let short: Vec<Vec<u8>> = (200..205).map(key).collect();
    for (n, k) in short.iter().enumerate() {
        let v = value(200 + n, 0, 30);
        store.put_with_ttl(k, &v, Duration::from_secs(10)).unwrap();
        model.put(k, &v);
    }
    // A plain put ends a TTL put; a TTL put replaces a TTL put (new expiry,
    // new length); a batch deletes one.
    store.put(&key(100), &value(100, 1, 50)).unwrap();
    model.put(&key(100), &value(100, 1, 50));
    store
        .put_with_ttl(&key(101), &value(101, 1, 70), minute * 2)
        .unwrap();
    model.put(&key(101), &value(101, 1, 70));
    let mut batch = WriteBatch::new();
    batch.delete(key(102)).put(key(0), value(0, 1, 40));
    store.write(&batch).unwrap();
    model.delete(&key(102));
    model.put(&key(0), &value(0, 1, 40));
    short
}

fn run(sync: SyncPolicy) {
    let sim = SimFs::new(11);
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let store = Bitcask::open(common::dir(), options(&sim, &clock, sync)).unwrap();
    let mut model = Model::new();
    let short = write_history(&store, &mut model);
    assert_counts(&store, &model, "before any expiry");

    clock.advance(Duration::from_secs(10));
    for k in &short {
        model.delete(k);
    }
    assert_counts(&store, &model, "the 10 s puts expired, nothing merged");
    assert!(store.stats().extra["expired_keys"] == short.len() as u64);

    // Reopen: the expiries come back from the records (files with hints
    // and the active file, scanned).
    store.sync().unwrap();
    drop(store);
    let store = Bitcask::open(common::dir(), options(&sim, &clock, sync)).unwrap();
    assert_counts(&store, &model, "after a reopen");

    clock.advance(Duration::from_secs(50));
    for i in 103..110 {
        model.delete(&key(i));
    }
    assert_counts(&store, &model, "the 60 s puts expired");

    // A merge drops the expired puts and moves key 101's, which still
    // expires later.
    store.compact().unwrap();
    assert_counts(&store, &model, "after compact");
    assert_eq!(store.stats().extra["expired_keys"], 0);
    assert_eq!(store.stats().extra["ttl_keys"], 1);
    clock.advance(Duration::from_secs(60));
    model.delete(&key(101));
    assert_counts(&store, &model, "the moved TTL put expired");
    drop(store);
    let store = Bitcask::open(common::dir(), options(&sim.crash(), &clock, sync)).unwrap();
    assert_counts(&store, &model, "after a crash and a reopen");
}

#[test]
fn expired_keys_are_not_counted_live() {
    run(SyncPolicy::Manual);
}

#[test]
fn expired_keys_are_not_counted_live_when_writes_publish_after_their_sync() {
    run(SyncPolicy::Always);
}
