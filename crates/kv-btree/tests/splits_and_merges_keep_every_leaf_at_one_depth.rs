//! Inserts that split leaves and branches up to a new root, and deletes
//! that merge and rebalance down to a single leaf, keep every leaf at the
//! tree's depth (what `check()` verifies, with key order, separators and
//! fill) at every step, in ascending, descending and seeded random order.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{figure, key, open, read_all, small_shape, value};
use kv_core::testkit::{Model, SeedGuard, SimFs};
use kv_core::{Store, SyncPolicy};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

fn orders(seed: u64) -> Vec<Vec<usize>> {
    let up: Vec<usize> = (0..400).collect();
    let down: Vec<usize> = up.iter().rev().copied().collect();
    let mut random = up.clone();
    random.shuffle(&mut StdRng::seed_from_u64(seed));
    vec![up, down, random]
}

#[test]
fn splits_and_merges_keep_every_leaf_at_one_depth() {
    let guard = SeedGuard::new("splits_and_merges_keep_every_leaf_at_one_depth");
    for order in orders(guard.seed()) {
        let sim = SimFs::new(guard.seed());
        let store = open(&sim, SyncPolicy::Manual, small_shape());
        let mut model = Model::new();
        let mut max_depth = 0;
        for (n, &i) in order.iter().enumerate() {
            let v = value(i, 0, (i * 31) % 120);
            store.put(&key(i), &v).unwrap();
            model.put(&key(i), &v);
            if n % 50 == 0 {
                assert!(store.check().unwrap().is_clean(), "after {n} inserts");
            }
            max_depth = max_depth.max(figure(&store, "depth"));
        }
        assert!(
            max_depth >= 4,
            "400 keys in 256-byte nodes should be 4 levels deep, got {max_depth}"
        );
        assert_eq!(read_all(&store), model.pairs());
        for (n, &i) in order.iter().rev().enumerate() {
            store.delete(&key(i)).unwrap();
            model.delete(&key(i));
            if n % 40 == 0 || order.len() - n < 5 {
                let report = store.check().unwrap();
                assert!(report.is_clean(), "after {n} deletes");
                assert_eq!(report.live_keys as usize, model.len());
            }
        }
        assert_eq!(
            figure(&store, "depth"),
            0,
            "deleting every key empties the tree"
        );
        assert_eq!(
            figure(&store, "leaf_pages") + figure(&store, "branch_pages"),
            0
        );
        assert!(read_all(&store).is_empty());
    }
}
