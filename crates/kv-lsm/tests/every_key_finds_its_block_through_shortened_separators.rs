//! Index separators are shortened (`table::separator`), yet every stored key
//! still finds its block and no absent key is found: with one entry per data
//! block, keys that are prefixes of the next key, keys of `0xFF` bytes, the
//! empty-adjacent and the longest shapes, gets of present and absent keys and
//! forward and reverse scans from every bound agree with the model, and
//! `check()` (which verifies every separator against its blocks) finds
//! nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::ops::Bound;

use common::{assert_matches, dir, options};
use kv_core::testkit::{seed_from_env, Model, SimFs};
use kv_core::{Direction, KeyRange, Store};
use kv_lsm::Lsm;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

fn edge_keys() -> Vec<Vec<u8>> {
    let fixed: [&[u8]; 18] = [
        b"\x00",
        b"\x00\x00",
        b"a",
        b"a\x00",
        b"a\xff",
        b"a\xff\xff",
        b"a\xff\xff\x00",
        b"ab",
        b"abc",
        b"abd",
        b"abd\x00",
        b"abdxyz",
        b"b",
        b"key000123",
        b"key000200",
        b"\xfe\xff",
        b"\xff",
        b"\xff\xff\xff",
    ];
    fixed.iter().map(|k| k.to_vec()).collect()
}

/// Keys not stored, each between or around stored ones.
fn absent_keys() -> Vec<Vec<u8>> {
    let fixed: [&[u8]; 12] = [
        b"\x00\x01",
        b"a\x01",
        b"a\xfe",
        b"a\xff\x00",
        b"aa",
        b"abc\x00",
        b"abe",
        b"ac",
        b"key0002",
        b"l",
        b"\xfe",
        b"\xff\xff",
    ];
    fixed.iter().map(|k| k.to_vec()).collect()
}

fn random_key(rng: &mut StdRng) -> Vec<u8> {
    // Few distinct bytes, so prefixes and 0xFF runs are common.
    let alphabet = [0x00u8, 0x01, b'a', b'b', 0xfe, 0xff];
    let len = rng.random_range(1..6);
    (0..len)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())])
        .collect()
}

#[test]
fn every_key_finds_its_block_through_shortened_separators() {
    let seed = seed_from_env();
    println!("KV_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let sim = SimFs::new(seed);
    let mut opts = options(&sim);
    opts.block_bytes = 1; // one entry per data block: a separator per key
    let store = Lsm::open(dir(), opts).unwrap();
    let mut model = Model::new();
    let mut keys = edge_keys();
    keys.extend((0..300).map(|_| random_key(&mut rng)));
    for (i, k) in keys.iter().enumerate() {
        let v = format!("value {i}").into_bytes();
        store.put(k, &v).unwrap();
        model.put(k, &v);
    }
    // Two versions of some keys, so one user key can span two blocks.
    for k in keys.iter().step_by(3) {
        store.put(k, b"newer").unwrap();
        model.put(k, b"newer");
    }
    store.compact().unwrap();
    assert_matches(&store, &model, &format!("seed {seed}"));
    for k in &absent_keys() {
        if model.get(k).is_none() {
            assert_eq!(
                store.get(k).unwrap(),
                None,
                "seed {seed}: absent key {k:?} found"
            );
        }
    }
    let mut probes = keys.clone();
    probes.extend(absent_keys());
    for p in &probes {
        for direction in [Direction::Forward, Direction::Reverse] {
            let range = match direction {
                Direction::Forward => KeyRange {
                    start: Bound::Included(p.clone()),
                    end: Bound::Unbounded,
                },
                Direction::Reverse => KeyRange {
                    start: Bound::Unbounded,
                    end: Bound::Included(p.clone()),
                },
            };
            let got = store
                .scan(&range, direction)
                .unwrap()
                .next()
                .transpose()
                .unwrap()
                .map(|(k, _)| k);
            let want = match direction {
                Direction::Forward => model.map().range(p.clone()..).next(),
                Direction::Reverse => model.map().range(..=p.clone()).next_back(),
            }
            .map(|(k, _)| k.clone());
            assert_eq!(
                got, want,
                "seed {seed}: first key of a {direction:?} scan from {p:?}"
            );
        }
    }
    let report = store.check().unwrap();
    assert!(report.damage.is_empty(), "seed {seed}: {:?}", report.damage);
}
