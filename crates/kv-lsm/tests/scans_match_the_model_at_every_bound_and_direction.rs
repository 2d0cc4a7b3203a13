//! Every scan, from any start to any end bound (included, excluded,
//! unbounded; keys present, absent, between blocks and tables), forward and
//! reverse, yields exactly the model's pairs, whether the versions live in
//! the memtable, in L0 tables or in the deeper levels, with several versions
//! of a key in different places, point and range tombstones among them.
//! Also a seek that reads only its first few items (what `seekrandom`
//! does). Seeded from `KV_SEED`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::ops::Bound;

use common::{key, options, random_writes};
use kv_core::testkit::{Model, SeedGuard, SimFs};
use kv_core::{Direction, KeyRange, Store};
use kv_lsm::{CompactionStrategy, Lsm, TieredOptions};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const KEYS: usize = 600;

/// A bound at a key that may or may not be stored (`key(i)` and the keys
/// just below and above it).
fn bound(rng: &mut StdRng) -> Bound<Vec<u8>> {
    let i = rng.random_range(0..KEYS + 2);
    let mut k = key(i);
    match rng.random_range(0..4) {
        0 => k.push(0),
        1 => {
            k.pop();
        }
        _ => {}
    }
    match rng.random_range(0..5) {
        0 => Bound::Unbounded,
        1 | 2 => Bound::Included(k),
        _ => Bound::Excluded(k),
    }
}

fn model_delete_range(model: &mut Model, range: &KeyRange) {
    let doomed: Vec<Vec<u8>> = model
        .map()
        .keys()
        .filter(|k| range.contains(k))
        .cloned()
        .collect();
    for k in doomed {
        model.delete(&k);
    }
}

/// Writes in rounds with flushes and full compactions in between, so keys
/// have versions spread over a deeper level, L0 and the memtable.
fn build(sim: &SimFs, strategy: CompactionStrategy, rng: &mut StdRng) -> (Lsm, Model) {
    // L0 is compacted only when the test says so, so tables stay in L0
    // beside the deeper levels.
    let mut o = options(sim);
    o.l0_compaction_trigger = 64;
    o.l0_slowdown_writes = 64;
    o.l0_stop_writes = 64;
    o.compaction = match strategy {
        CompactionStrategy::Tiered(t) => CompactionStrategy::Tiered(TieredOptions {
            run_trigger: 64,
            ..t
        }),
        leveled => leveled,
    };
    // Blocks of a few restart intervals (restarts every 4 entries), so
    // seeks and reverse steps cross restart points inside a block.
    o.block_bytes = 1024;
    o.restart_interval = 4;
    let store = Lsm::open(common::dir(), o).unwrap();
    let mut model = Model::new();
    // A scan held open over rounds 1 to 3 pins a snapshot, so the flushes
    // and the compaction meanwhile keep older versions: keys then have
    // several versions in one table, some spanning two blocks.
    let mut pinned = None;
    for round in 0..6 {
        match round {
            1 => pinned = Some(store.scan(&KeyRange::all(), Direction::Forward).unwrap()),
            4 => pinned = None,
            _ => {}
        }
        random_writes(&store, &mut model, rng, 700, KEYS);
        if rng.random_range(0..2) == 0 {
            let a = rng.random_range(0..KEYS);
            let range = KeyRange {
                start: Bound::Included(key(a)),
                end: Bound::Excluded(key(a + rng.random_range(1..40))),
            };
            store.delete_range(&range).unwrap();
            model_delete_range(&mut model, &range);
        }
        match round % 3 {
            0 => store.compact().unwrap(),
            1 => store.flush().unwrap(),
            _ => {}
        }
    }
    drop(pinned);
    // A last table in L0 and a few writes after it in the memtable.
    random_writes(&store, &mut model, rng, 300, KEYS);
    store.flush().unwrap();
    random_writes(&store, &mut model, rng, 20, KEYS);
    (store, model)
}

fn levels_used(store: &Lsm) -> (u64, u64) {
    let stats = store.stats();
    let l0 = stats.extra["level0_files"];
    let deeper = (1..7)
        .map(|l| stats.extra[&format!("level{l}_files")])
        .sum();
    (l0, deeper)
}

fn check_scans(store: &Lsm, model: &Model, rng: &mut StdRng) {
    for _ in 0..300 {
        let range = KeyRange {
            start: bound(rng),
            end: bound(rng),
        };
        for direction in [Direction::Forward, Direction::Reverse] {
            let want = model.scan(&range, direction);
            let got: Vec<_> = store
                .scan(&range, direction)
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            if got != want {
                let at = got.iter().zip(&want).position(|(g, w)| g != w);
                let at = at.unwrap_or(got.len().min(want.len()));
                let show = |v: &[kv_core::KvPair]| {
                    v.get(at)
                        .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
                };
                panic!(
                    "{direction:?} {range:?}: {} pairs, the model {}; first difference at {at}: {:?}, the model {:?}",
                    got.len(),
                    want.len(),
                    show(&got),
                    show(&want)
                );
            }
            // A seek that reads its first items only, then drops the scan.
            let first: Vec<_> = store
                .scan(&range, direction)
                .unwrap()
                .take(3)
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(first.as_slice(), &want[..want.len().min(3)]);
        }
    }
}

#[test]
fn scans_match_the_model_at_every_bound_and_direction() {
    let guard = SeedGuard::new("scans_match_the_model_at_every_bound_and_direction");
    for strategy in [CompactionStrategy::Leveled, CompactionStrategy::tiered()] {
        let sim = SimFs::new(guard.seed());
        let mut rng = StdRng::seed_from_u64(guard.seed());
        let (store, model) = build(&sim, strategy, &mut rng);
        let (l0, deeper) = levels_used(&store);
        assert!(
            l0 > 0 && deeper > 0,
            "{strategy:?}: L0 {l0} tables, deeper {deeper}"
        );
        assert!(store.stats().extra["memtable_bytes"] > 0);
        check_scans(&store, &model, &mut rng);
    }
}
