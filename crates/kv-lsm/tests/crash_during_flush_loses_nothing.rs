//! Power is cut at every file-system operation of a flush (table write,
//! table sync, directory sync, manifest edit, WAL removal), under several
//! crash modes: the reopened store holds exactly the synced content, and
//! `check()` finds no damage.
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
    o.write_buffer_bytes = 1 << 20; // only the explicit flush flushes
    let store = Lsm::open(dir(), o).unwrap();
    let mut model = Model::new();
    let mut rng = StdRng::seed_from_u64(seed);
    random_writes(&store, &mut model, &mut rng, 150, 60);
    store.sync().unwrap();
    (sim, store, model)
}

#[test]
fn crash_during_flush_loses_nothing() {
    let guard = SeedGuard::new("crash_during_flush_loses_nothing");
    let (sim, store, model) = setup(guard.seed());
    let before = sim.op_count();
    store.flush().unwrap();
    let total = sim.op_count() - before;
    assert!(total > 4, "the flush did only {total} operations");
    assert_eq!(store.stats().extra["flushes"], 1);
    assert_matches(&store, &model, "after an uninterrupted flush");
    drop(store);
    for n in 0..=total {
        let (sim, store, model) = setup(guard.seed());
        sim.power_off_after(n);
        let _ = store.flush();
        for mode in crash_modes() {
            let context = format!("power cut after {n} of {total} flush operations, {mode:?}");
            let crashed = sim.crash_with(mode);
            let mut o = options(&crashed);
            o.write_buffer_bytes = 1 << 20;
            let reopened = Lsm::open(dir(), o).unwrap_or_else(|e| panic!("{context}: {e}"));
            assert_matches(&reopened, &model, &context);
            let report = reopened.check().unwrap();
            assert!(report.damage.is_empty(), "{context}: {:?}", report.damage);
        }
        drop(store);
    }
}
