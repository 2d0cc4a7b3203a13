//! Gets and seeks follow the child views a branch remembers (see
//! `node::view` and `Pager::load_child`), and search nodes by key prefix
//! first. With a page cache far smaller than the tree, remembered children
//! are evicted all the time: a read must then go back to the cache or the
//! file and still see exactly the committed tree, never an evicted or
//! older view. Half of the keys share their first eight bytes, so searches
//! also take the whole-key path. Every get and seek (both directions,
//! every kind of bound) is checked against a `BTreeMap` of what was put.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use common::{options, DIR};
use kv_btree::{Btree, Shape};
use kv_core::testkit::{SeedGuard, SimFs};
use kv_core::{Direction, KeyRange, Store, SyncPolicy, WriteBatch};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const KEYS: u64 = 4_000;
const ROUNDS: usize = 3;
const PROBES: usize = 1_500;
/// Items read after each seek.
const SEEK_ITEMS: usize = 12;

/// Key `i`: even indices share the prefix `tiedkey:` (the first eight
/// bytes), odd ones differ in their first bytes.
fn key(i: u64) -> Vec<u8> {
    if i.is_multiple_of(2) {
        format!("tiedkey:{i:06}").into_bytes()
    } else {
        format!("{:08x}-{i}", i.wrapping_mul(0x9e37_79b9) % 0xffff_ffff).into_bytes()
    }
}

fn random_bound(rng: &mut StdRng) -> Bound<Vec<u8>> {
    let k = key(rng.random_range(0..KEYS + 10));
    let mut k = if rng.random_range(0..4u8) == 0 {
        // Between stored keys.
        let mut k = k;
        k.push(b'!');
        k
    } else {
        k
    };
    match rng.random_range(0..5u8) {
        0 => Bound::Unbounded,
        1 | 2 => Bound::Included(std::mem::take(&mut k)),
        _ => Bound::Excluded(k),
    }
}

fn model_range(
    model: &BTreeMap<Vec<u8>, Vec<u8>>,
    range: &KeyRange,
    direction: Direction,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let all = model
        .range::<Vec<u8>, _>((range.start.clone(), range.end.clone()))
        .map(|(k, v)| (k.clone(), v.clone()));
    match direction {
        Direction::Forward => all.take(SEEK_ITEMS).collect(),
        Direction::Reverse => all.rev().take(SEEK_ITEMS).collect(),
    }
}

fn check_reads(store: &Btree, model: &BTreeMap<Vec<u8>, Vec<u8>>, rng: &mut StdRng) {
    for _ in 0..PROBES {
        let k = key(rng.random_range(0..KEYS + 10));
        assert_eq!(store.get(&k).unwrap(), model.get(&k).cloned(), "get {k:?}");
        let range = KeyRange {
            start: random_bound(rng),
            end: Bound::Unbounded,
        };
        let (range, direction) = if rng.random_range(0..2u8) == 0 {
            (range, Direction::Forward)
        } else {
            let end = random_bound(rng);
            (
                KeyRange {
                    start: Bound::Unbounded,
                    end,
                },
                Direction::Reverse,
            )
        };
        let got: Vec<_> = store
            .scan(&range, direction)
            .unwrap()
            .take(SEEK_ITEMS)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            got,
            model_range(model, &range, direction),
            "{range:?} {direction:?}"
        );
    }
}

fn run(cache_bytes: u64, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let sim = SimFs::new(seed);
    let mut opts = options(Arc::new(sim.clone()), SyncPolicy::Manual, Shape::default());
    opts.core = opts.core.cache_bytes(cache_bytes);
    let store = Btree::open(Path::new(DIR), opts).unwrap();
    let mut model = BTreeMap::new();
    for round in 0..ROUNDS {
        let mut batch = WriteBatch::new();
        for _ in 0..KEYS {
            let i = rng.random_range(0..KEYS);
            let k = key(i);
            if rng.random_range(0..8u8) == 0 {
                batch.delete(k.clone());
                model.remove(&k);
            } else {
                let v = format!("{i}-{round}-{}", "v".repeat(rng.random_range(0..90))).into_bytes();
                batch.put(k.clone(), v.clone());
                model.insert(k, v);
            }
        }
        store.write(&batch).unwrap();
        check_reads(&store, &model, &mut rng);
        store.sync().unwrap();
        check_reads(&store, &model, &mut rng);
    }
}

#[test]
fn reads_through_remembered_children_match_a_model() {
    let guard = SeedGuard::new("reads_through_remembered_children_match_a_model");
    // A cache of a few nodes (children evicted under their parents all
    // the time) and one that holds the whole tree.
    run(16 << 10, guard.seed());
    run(64 << 20, guard.seed());
}
