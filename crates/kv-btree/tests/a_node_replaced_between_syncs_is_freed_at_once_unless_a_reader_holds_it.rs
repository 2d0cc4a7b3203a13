//! Under `SyncPolicy::Manual` a commit that replaces a node written by an
//! earlier commit since the last `sync()` frees that version at once when
//! no reader holds a tree that reaches it: its pages are free for the next
//! commit and its in-memory bytes are dropped, instead of waiting one more
//! commit. A version a reader's snapshot still reaches stays (pending) until
//! the reader is gone, and the reader reads its own tree unchanged; a
//! version the durable commit reaches stays pending until the next durable
//! commit, so a crash still finds the last durable tree whole.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{figure, key, open, read_all, small_shape, value};
use kv_core::testkit::{Model, SeedGuard, SimFs};
use kv_core::{Direction, KeyRange, Store, SyncPolicy};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

#[test]
fn a_node_replaced_between_syncs_is_freed_at_once_unless_a_reader_holds_it() {
    let guard =
        SeedGuard::new("a_node_replaced_between_syncs_is_freed_at_once_unless_a_reader_holds_it");
    let mut rng = StdRng::seed_from_u64(guard.seed());
    let sim = SimFs::new(guard.seed());
    let store = open(&sim, SyncPolicy::Manual, small_shape());
    let mut model = Model::new();
    for i in 0..300 {
        let v = value(i, 0, 20);
        store.put(&key(i), &v).unwrap();
        model.put(&key(i), &v);
    }
    store.sync().unwrap();
    let durable = model.pairs();
    let k = rng.random_range(0..300);
    // Same key, same value length: every put rewrites the same path and
    // nothing splits.
    let put = |round: usize, model: &mut Model| {
        let v = value(k, round, 20);
        store.put(&key(k), &v).unwrap();
        model.put(&key(k), &v);
    };
    // The first put frees the durable path: pending until the next sync.
    put(1, &mut model);
    let durable_path = figure(&store, "pending_pages");
    assert!(durable_path > 0, "the durable path must be pending");
    // The second frees the first one's path, which no durable commit and no
    // reader reaches: released at once.
    put(2, &mut model);
    assert_eq!(
        figure(&store, "pending_pages"),
        durable_path,
        "a replaced version no reader holds must be freed by the commit that replaced it"
    );
    // A reader holds the tree of the second put: the third put's
    // replaced versions stay pending, and the reader reads its tree.
    let before = model.pairs();
    let mut scan = store.scan(&KeyRange::all(), Direction::Forward).unwrap();
    let first = scan.next().unwrap().unwrap();
    for round in 3..6 {
        put(round, &mut model);
        assert!(
            figure(&store, "pending_pages") > durable_path,
            "a version a reader reaches must stay pending"
        );
    }
    assert!(store.check().unwrap().is_clean());
    let mut seen = vec![first];
    seen.extend(scan.map(|r| r.unwrap()));
    assert_eq!(seen, before, "the reader must read its own tree");
    // With the reader gone, the next commit frees everything it held.
    put(6, &mut model);
    assert_eq!(figure(&store, "pending_pages"), durable_path);
    assert_eq!(read_all(&store), model.pairs());
    assert!(store.check().unwrap().is_clean());
    // None of it was durable: a crash leaves the last synced tree, whole.
    let crashed = sim.crash();
    let reopened = open(&crashed, SyncPolicy::Manual, small_shape());
    assert_eq!(read_all(&reopened), durable);
    assert!(reopened.check().unwrap().is_clean());
    assert_eq!(figure(&reopened, "torn_commit_fell_back"), 0);
}
