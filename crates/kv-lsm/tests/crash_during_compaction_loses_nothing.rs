//! Power is cut at every file-system operation of a compaction (a full
//! `compact()` over several levels, and the leveled compactions that
//! writes make due), under several crash modes: the reopened store holds
//! exactly the synced content and `check()` finds no damage.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_matches, crash_modes, dir, options, random_writes};
use kv_core::testkit::{Model, SeedGuard, SimFs};
use kv_core::Store;
use kv_lsm::Lsm;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn setup(seed: u64) -> (SimFs, Lsm, Model) {
    let sim = SimFs::new(seed);
    let mut o = options(&sim);
    o.l0_compaction_trigger = 8; // let L0 fill so that compact() merges levels
    o.l0_slowdown_writes = 8;
    o.l0_stop_writes = 8;
    let store = Lsm::open(dir(), o).unwrap();
    let mut model = Model::new();
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..4 {
        random_writes(&store, &mut model, &mut rng, 80, 80);
        store.flush().unwrap();
    }
    store.sync().unwrap();
    (sim, store, model)
}

fn reopen(sim: &SimFs) -> kv_core::Result<Lsm> {
    let mut o = options(sim);
    o.l0_compaction_trigger = 8;
    o.l0_slowdown_writes = 8;
    o.l0_stop_writes = 8;
    Lsm::open(dir(), o)
}

#[test]
fn crash_during_compaction_loses_nothing() {
    let guard = SeedGuard::new("crash_during_compaction_loses_nothing");
    let (sim, store, model) = setup(guard.seed());
    let before = sim.op_count();
    store.compact().unwrap();
    let total = sim.op_count() - before;
    assert!(store.stats().extra["compactions"] >= 1, "no compaction ran");
    assert_matches(&store, &model, "after an uninterrupted compaction");
    drop(store);
    for n in 0..=total {
        let (sim, store, model) = setup(guard.seed());
        sim.power_off_after(n);
        let _ = store.compact();
        for mode in crash_modes() {
            let context = format!("power cut after {n} of {total} compaction operations, {mode:?}");
            let crashed = sim.crash_with(mode);
            let reopened = reopen(&crashed).unwrap_or_else(|e| panic!("{context}: {e}"));
            assert_matches(&reopened, &model, &context);
            let report = reopened.check().unwrap();
            assert!(report.damage.is_empty(), "{context}: {:?}", report.damage);
            reopened.compact().unwrap();
            assert_matches(&reopened, &model, &format!("{context}, then compact"));
        }
        drop(store);
    }
}
