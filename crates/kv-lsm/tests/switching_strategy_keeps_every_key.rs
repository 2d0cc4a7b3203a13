//! Reopening a store with the other compaction strategy keeps every key:
//! leveled -> tiered -> leveled, with writes, deletes, a range delete and
//! compactions under each, the store always equals the model, `check()`
//! finds nothing, and the manifest records the strategy of each open.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::{assert_matches, dir, key, options, random_writes};
use kv_core::testkit::{Model, SeedGuard, SimFs};
use kv_core::{KeyRange, Store};
use kv_lsm::{CompactionStrategy, Lsm};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn open(sim: &SimFs, strategy: CompactionStrategy) -> Lsm {
    let mut o = options(sim);
    o.compaction = strategy;
    Lsm::open(dir(), o).unwrap()
}

fn recorded_strategy(sim: &SimFs) -> Option<u64> {
    let fs: Arc<dyn kv_core::Fs> = Arc::new(sim.clone());
    kv_lsm::manifest::load(&*fs, dir()).unwrap().state.strategy
}

#[test]
fn switching_strategy_keeps_every_key() {
    let guard = SeedGuard::new("switching_strategy_keeps_every_key");
    let sim = SimFs::new(guard.seed());
    let mut rng = StdRng::seed_from_u64(guard.seed());
    let mut model = Model::new();
    let plan = [
        CompactionStrategy::Leveled,
        CompactionStrategy::tiered(),
        CompactionStrategy::Leveled,
        CompactionStrategy::tiered(),
    ];
    for (step, strategy) in plan.into_iter().enumerate() {
        let context = format!("step {step}, {}", strategy.name());
        let store = open(&sim, strategy);
        assert_eq!(recorded_strategy(&sim), Some(strategy.tag()), "{context}");
        assert_matches(&store, &model, &format!("{context}: at open"));
        random_writes(&store, &mut model, &mut rng, 600, 300);
        let doomed = KeyRange::new(key(step * 50)..key(step * 50 + 30));
        store.delete_range(&doomed).unwrap();
        for k in model.scan(&doomed, kv_core::Direction::Forward) {
            model.delete(&k.0);
        }
        random_writes(&store, &mut model, &mut rng, 300, 300);
        store.compact_pending().unwrap();
        assert_matches(&store, &model, &format!("{context}: after writes"));
        let stats = store.stats();
        assert_eq!(stats.extra["compaction_tiered"], strategy.tag());
        assert!(
            stats.extra["compactions"] > 0,
            "{context}: no compaction ran"
        );
        assert!(store.check().unwrap().damage.is_empty(), "{context}");
        if step == 2 {
            store.compact().unwrap();
            assert_matches(&store, &model, &format!("{context}: after compact"));
        }
    }
}
