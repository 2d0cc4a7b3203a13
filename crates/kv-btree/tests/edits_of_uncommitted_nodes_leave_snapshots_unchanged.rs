//! Under `SyncPolicy::Manual` a transaction edits the owned copy of a node
//! that an earlier, not yet durable commit wrote (the writer's dirty-node
//! table) instead of decoding its run again. A reader that started on the
//! earlier commit must still read exactly that commit, and a crash must
//! still leave the last durable one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{key, open, read_all, small_shape, value};
use kv_core::testkit::{Model, SeedGuard, SimFs};
use kv_core::{Direction, KeyRange, Store, SyncPolicy};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

#[test]
fn edits_of_uncommitted_nodes_leave_snapshots_unchanged() {
    let guard = SeedGuard::new("edits_of_uncommitted_nodes_leave_snapshots_unchanged");
    let mut rng = StdRng::seed_from_u64(guard.seed());
    let sim = SimFs::new(guard.seed());
    let store = open(&sim, SyncPolicy::Manual, small_shape());
    let mut newest = Model::new();
    for i in 0..300 {
        let v = value(i, 0, 40);
        store.put(&key(i), &v).unwrap();
        newest.put(&key(i), &v);
    }
    store.sync().unwrap();
    for round in 1..=4 {
        // Single puts: each commits in memory and edits the nodes the one
        // before it wrote.
        for _ in 0..150 {
            let i = rng.random_range(0..400);
            let v = value(i, round, rng.random_range(1..90));
            store.put(&key(i), &v).unwrap();
            newest.put(&key(i), &v);
        }
        let before = newest.pairs();
        let mut scan = store.scan(&KeyRange::all(), Direction::Forward).unwrap();
        let first = scan.next().unwrap().unwrap();
        for _ in 0..150 {
            let i = rng.random_range(0..400);
            let v = value(i, round + 10, rng.random_range(1..90));
            store.put(&key(i), &v).unwrap();
            newest.put(&key(i), &v);
        }
        let mut seen = vec![first];
        seen.extend(scan.map(|r| r.unwrap()));
        assert_eq!(seen, before, "round {round}: the scan left its snapshot");
        assert_eq!(read_all(&store), newest.pairs());
        assert!(store.check().unwrap().is_clean());
    }
    drop(store);
    // Dropping made every commit durable; a crash now loses nothing.
    let sim = sim.crash();
    let store = open(&sim, SyncPolicy::Manual, small_shape());
    assert_eq!(read_all(&store), newest.pairs());
    assert!(store.check().unwrap().is_clean());
}
