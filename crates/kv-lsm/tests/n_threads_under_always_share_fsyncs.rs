//! Under `SyncPolicy::Always` concurrent writers share WAL fsyncs (group
//! commit), the writer lock is not held across an fsync, and a write becomes
//! visible only once a sync covered it.
//!
//! Deterministic: a [`gate::GateFs`] holds the first writer's fsync (the
//! group leader's) until the other writers have all appended behind it, so
//! when the gate opens exactly one more fsync covers all of them, whatever
//! the scheduling. Waiting for the writers to append is done by watching the
//! store's counters, which needs the writer lock: if an fsync held it, the
//! test would hang, not pass.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod gate;

use std::sync::Arc;

use common::{dir, key, value};
use gate::GateFs;
use kv_core::testkit::{SeedGuard, SimFs};
use kv_core::{Background, Options, Store, SyncPolicy};
use kv_lsm::{Lsm, LsmOptions};

const FOLLOWERS: usize = 7;
const VALUE_BYTES: usize = 50;

fn options(fs: &GateFs) -> LsmOptions {
    // Default sizes: nothing is flushed, every sync is a WAL sync.
    LsmOptions::new(
        Options::with_fs(Arc::new(fs.clone()))
            .sync(SyncPolicy::Always)
            .background(Background::Inline),
    )
}

fn user_bytes(store: &Lsm) -> u64 {
    store.stats().extra["user_bytes_written"]
}

#[test]
fn n_threads_under_always_share_fsyncs() {
    let guard = SeedGuard::new("n_threads_under_always_share_fsyncs");
    let sim = SimFs::new(guard.seed());
    let fs = GateFs::new(sim.clone());
    let store = Arc::new(Lsm::open(dir(), options(&fs)).unwrap());
    store.put(b"before", b"durable").unwrap();
    let put_bytes = (key(0).len() + value(0, 0, VALUE_BYTES).len()) as u64;
    let io_before = store.stats().io;
    let wal_syncs_before = fs.wal_syncs();
    let base = user_bytes(&store);

    fs.close_gate();
    let leader = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || store.put(&key(0), &value(0, 0, VALUE_BYTES)))
    };
    fs.wait_for_blocked(1);
    let followers: Vec<_> = (1..=FOLLOWERS)
        .map(|i| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || store.put(&key(i), &value(i, 0, VALUE_BYTES)))
        })
        .collect();
    // Every follower appends (under the writer lock, which the blocked
    // leader does not hold) and queues behind the leader's fsync.
    while user_bytes(&store) < base + put_bytes * (FOLLOWERS as u64 + 1) {
        std::thread::yield_now();
    }
    // A get waits for no fsync; the pending writes are not visible yet.
    assert_eq!(
        store.get(b"before").unwrap().as_deref(),
        Some(&b"durable"[..])
    );
    for i in 0..=FOLLOWERS {
        assert_eq!(
            store.get(&key(i)).unwrap(),
            None,
            "put {i} visible before its sync"
        );
    }
    fs.open_gate();
    leader.join().unwrap().unwrap();
    for f in followers {
        f.join().unwrap().unwrap();
    }

    let io = store.stats().io;
    let syncs = io.file_syncs - io_before.file_syncs;
    assert_eq!(
        fs.wal_syncs() - wal_syncs_before,
        2,
        "the leader's fsync and one fsync shared by all {FOLLOWERS} followers"
    );
    assert_eq!(syncs, 2, "file syncs counted by the store's Fs counters");
    for i in 0..=FOLLOWERS {
        assert_eq!(store.get(&key(i)).unwrap(), Some(value(i, 0, VALUE_BYTES)));
    }

    // Power loss without a close: every acknowledged put survives.
    let crashed = sim.crash();
    drop(store);
    let reopened = Lsm::open(dir(), options(&GateFs::new(crashed))).unwrap();
    for i in 0..=FOLLOWERS {
        assert_eq!(
            reopened.get(&key(i)).unwrap(),
            Some(value(i, 0, VALUE_BYTES)),
            "acknowledged put {i} lost"
        );
    }
    assert!(reopened.check().unwrap().damage.is_empty());
}
