//! Keys inserted in ascending order leave every leaf but the last full:
//! a leaf that overflows because a key was appended at the right end of the
//! tree is cut full-left, not at its midpoint (`split::append_parts`).
//! Random inserts keep even cuts, and both trees stay valid.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{figure, key, open, read_all, value};
use kv_btree::Shape;
use kv_core::testkit::{Model, SeedGuard, SimFs};
use kv_core::{Store, SyncPolicy};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

const KEYS: usize = 5_000;
const VALUE: usize = 100;

/// Leaves needed when every leaf is packed as full as a page allows.
fn packed_leaves() -> u64 {
    // A leaf entry: key length, key, value tag, value length, value.
    let entry = 1 + key(0).len() + 1 + 1 + VALUE;
    let per_leaf = (Shape::default().node_capacity - 3) / entry;
    KEYS.div_ceil(per_leaf) as u64
}

/// Leaf pages after loading, what the store reads back, what it should.
type Loaded = (u64, Vec<(Vec<u8>, Vec<u8>)>, Model);

fn load(order: &[usize], seed: u64) -> Loaded {
    let sim = SimFs::new(seed);
    let store = open(&sim, SyncPolicy::Manual, Shape::default());
    let mut model = Model::new();
    for &i in order {
        let v = value(i, 0, VALUE);
        store.put(&key(i), &v).unwrap();
        model.put(&key(i), &v);
    }
    store.sync().unwrap();
    assert!(store.check().unwrap().is_clean());
    (figure(&store, "leaf_pages"), read_all(&store), model)
}

#[test]
fn ascending_inserts_fill_every_leaf_but_the_last() {
    let guard = SeedGuard::new("ascending_inserts_fill_every_leaf_but_the_last");
    let up: Vec<usize> = (0..KEYS).collect();
    let (leaves, pairs, model) = load(&up, guard.seed());
    assert_eq!(pairs, model.pairs());
    assert!(
        leaves <= packed_leaves() + 1,
        "{leaves} leaves for {KEYS} ascending keys; packed full they take {}",
        packed_leaves()
    );

    let mut random = up.clone();
    random.shuffle(&mut StdRng::seed_from_u64(guard.seed()));
    let (random_leaves, pairs, model) = load(&random, guard.seed());
    assert_eq!(pairs, model.pairs());
    assert!(
        random_leaves > leaves + leaves / 10,
        "random inserts cut evenly: {random_leaves} leaves against {leaves} ascending"
    );
}
