//! A synced `delete_range` survives a crash in every crash mode (it is one
//! WAL record: all of it or none, never part), survives the recovery flush,
//! and survives a power cut at every file-system operation of the
//! compaction that merges it with the keys it covers: no deleted key comes
//! back. Compaction drops the tombstone only where nothing it covers can
//! remain: not while a scan's snapshot still reads the covered keys, and
//! after a full `compact()` with no snapshot it is gone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_matches, crash_modes, dir, key, options, random_writes};
use kv_core::testkit::{Model, SeedGuard, SimFs};
use kv_core::{Direction, KeyRange, Store};
use kv_lsm::{CompactionStrategy, Lsm};
use rand::rngs::StdRng;
use rand::SeedableRng;

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

fn open(sim: &SimFs, strategy: CompactionStrategy) -> kv_core::Result<Lsm> {
    let mut o = options(sim);
    o.compaction = strategy;
    o.l0_compaction_trigger = 8; // keep tables in L0 so compact() merges them
    o.l0_slowdown_writes = 8;
    o.l0_stop_writes = 8;
    Lsm::open(dir(), o)
}

/// Tables of keys, all synced.
fn fill(seed: u64, strategy: CompactionStrategy) -> (SimFs, Lsm, Model) {
    let sim = SimFs::new(seed);
    let store = open(&sim, strategy).unwrap();
    let mut model = Model::new();
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..3 {
        random_writes(&store, &mut model, &mut rng, 60, 80);
        store.flush().unwrap();
    }
    (sim, store, model)
}

/// A range delete over half of the keys, in a table of its own, synced.
fn delete_half(store: &Lsm, model: &mut Model) {
    let doomed = KeyRange::new(key(20)..key(60));
    store.delete_range(&doomed).unwrap();
    model_delete_range(model, &doomed);
    store.flush().unwrap();
    store.sync().unwrap();
}

fn setup(seed: u64, strategy: CompactionStrategy) -> (SimFs, Lsm, Model) {
    let (sim, store, mut model) = fill(seed, strategy);
    delete_half(&store, &mut model);
    (sim, store, model)
}

fn tombstones(store: &Lsm) -> u64 {
    store.stats().extra["range_tombstones"]
}

#[test]
fn range_delete_survives_crash_and_compaction() {
    let guard = SeedGuard::new("range_delete_survives_crash_and_compaction");
    for strategy in [CompactionStrategy::Leveled, CompactionStrategy::tiered()] {
        let name = strategy.name();
        // A crash right after the synced delete, before any flush.
        let sim = SimFs::new(guard.seed());
        let store = open(&sim, strategy).unwrap();
        let mut model = Model::new();
        let mut rng = StdRng::seed_from_u64(guard.seed());
        random_writes(&store, &mut model, &mut rng, 200, 80);
        let doomed = KeyRange::new(key(10)..=key(50));
        store.delete_range(&doomed).unwrap();
        model_delete_range(&mut model, &doomed);
        store.sync().unwrap();
        for mode in crash_modes() {
            let context = format!("{name}: crash after a synced delete_range, {mode:?}");
            let reopened = open(&sim.crash_with(mode), strategy).unwrap();
            assert_matches(&reopened, &model, &context);
            drop(reopened);
        }
        drop(store);

        // The tombstone and the keys it covers, merged by compaction.
        let (sim, store, mut model) = fill(guard.seed(), strategy);
        let pinned = store.scan(&KeyRange::all(), Direction::Forward).unwrap();
        let expected = model.pairs();
        delete_half(&store, &mut model);
        assert!(
            tombstones(&store) >= 1,
            "{name}: the tombstone is in a table"
        );
        store.compact().unwrap();
        assert!(
            tombstones(&store) >= 1,
            "{name}: a snapshot older than the delete still reads covered keys, the tombstone stays"
        );
        assert_matches(
            &store,
            &model,
            &format!("{name}: after compact under a snapshot"),
        );
        let seen: Vec<_> = pinned.map(Result::unwrap).collect();
        assert!(
            seen == expected,
            "{name}: the older snapshot lost covered keys"
        );
        store.compact().unwrap();
        assert_eq!(
            tombstones(&store),
            0,
            "{name}: nothing older remains, it goes"
        );
        assert_matches(&store, &model, &format!("{name}: after compact"));
        drop((sim, store));

        let (sim, store, model) = setup(guard.seed(), strategy);
        let before = sim.op_count();
        store.compact().unwrap();
        let total = sim.op_count() - before;
        assert_eq!(tombstones(&store), 0, "{name}: a full compaction drops it");
        assert_matches(
            &store,
            &model,
            &format!("{name}: after an uninterrupted compact"),
        );
        drop(store);

        for n in 0..=total {
            let (sim, store, model) = setup(guard.seed(), strategy);
            sim.power_off_after(n);
            let _ = store.compact();
            for mode in crash_modes() {
                let context = format!("{name}: power cut after {n} of {total} ops, {mode:?}");
                let crashed = sim.crash_with(mode);
                let reopened =
                    open(&crashed, strategy).unwrap_or_else(|e| panic!("{context}: {e}"));
                assert_matches(&reopened, &model, &context);
                let report = reopened.check().unwrap();
                assert!(report.damage.is_empty(), "{context}: {:?}", report.damage);
                reopened.compact().unwrap();
                assert_matches(&reopened, &model, &format!("{context}, then compact"));
            }
            drop(store);
        }
    }
}
