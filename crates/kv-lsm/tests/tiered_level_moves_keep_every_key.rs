//! When tiered compaction needs an empty level above L1 for a merge of L0
//! tables, it moves levels down whole into the empty levels below them,
//! without rewriting them, and when all six levels are taken it first
//! merges the two of most alike sizes. Random writes over many keys with
//! the space bound out of the way (so no full merge resets the levels)
//! fill every level: moves happen, and after each the store still equals
//! the model (each run kept its place in age: a move never puts an older
//! run above a newer one), `check()` finds nothing, and a reopen (the moves
//! replayed from the manifest) equals the model too, under either strategy.
//! The writes come from `KV_SEED`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_matches, dir, key, options, value};
use kv_core::testkit::{Model, SeedGuard, SimFs};
use kv_core::Store;
use kv_lsm::{CompactionStrategy, Lsm, TieredOptions};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Keys written: about 140 memtables of 4 KiB when all are live, so the
/// runs outgrow the six levels.
const KEYS: usize = 6000;
/// Writes of random keys (one in ten a delete): most keys are written
/// more than once, so the runs hold versions of the same keys and a run
/// out of its place in age would show an old one.
const PUTS: usize = 9000;
/// The store is compared with the model after the first this many moves.
const CHECKED_MOVES: u64 = 8;

fn open(sim: &SimFs, strategy: CompactionStrategy) -> Lsm {
    let mut o = options(sim);
    o.compaction = strategy;
    Lsm::open(dir(), o).unwrap()
}

fn no_space_bound() -> CompactionStrategy {
    CompactionStrategy::Tiered(TieredOptions {
        max_space_amp_percent: u64::MAX / 200,
        ..TieredOptions::default()
    })
}

#[test]
fn tiered_level_moves_keep_every_key() {
    let guard = SeedGuard::new("tiered_level_moves_keep_every_key");
    let sim = SimFs::new(guard.seed());
    let mut rng = StdRng::seed_from_u64(guard.seed());
    let mut model = Model::new();
    let store = open(&sim, no_space_bound());
    let mut moves = 0;
    for n in 0..PUTS {
        let i = rng.random_range(0..KEYS);
        if rng.random_range(0..10) == 0 {
            store.delete(&key(i)).unwrap();
            model.delete(&key(i));
        } else {
            let v = value(i, n, rng.random_range(40..80));
            store.put(&key(i), &v).unwrap();
            model.put(&key(i), &v);
        }
        let now = store.stats().extra["trivial_moves"];
        if now > moves && moves < CHECKED_MOVES {
            assert_matches(&store, &model, &format!("write {n}, after move {now}"));
        }
        moves = now;
    }
    assert!(moves > 0, "no level was moved down");
    store.compact_pending().unwrap();
    assert_matches(&store, &model, "at the end");
    assert!(store.check().unwrap().damage.is_empty());
    Box::new(store).close().unwrap();
    for strategy in [no_space_bound(), CompactionStrategy::Leveled] {
        let store = open(&sim, strategy);
        assert_matches(&store, &model, &format!("reopened, {}", strategy.name()));
        Box::new(store).close().unwrap();
    }
}
