//! A `delete_range` hides every key of its range wherever the key's
//! versions live (the mutable memtable, an L0 table, a deeper level), for
//! `get`, forward and reverse scans and partial ranges, while a scan opened
//! before it still sees the keys (its snapshot), and keys written into the
//! range afterwards are visible. Checked for both compaction strategies,
//! after each flush, compaction and reopen.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::ops::Bound;

use common::{assert_matches, dir, key, options, value};
use kv_core::testkit::{Model, SimFs};
use kv_core::{Direction, KeyRange, Store};
use kv_lsm::{CompactionStrategy, Lsm, LsmOptions, TieredOptions};

/// Tiny sizes; L0 may hold 8 tables (8 runs for tiered) before they merge,
/// so versions stay in L0 beside the deeper levels.
fn opts(sim: &SimFs, strategy: CompactionStrategy) -> LsmOptions {
    let mut o = options(sim);
    o.l0_compaction_trigger = 8;
    o.l0_slowdown_writes = 8;
    o.l0_stop_writes = 8;
    o.compaction = match strategy {
        CompactionStrategy::Tiered(t) => CompactionStrategy::Tiered(TieredOptions {
            run_trigger: 8,
            ..t
        }),
        leveled => leveled,
    };
    o
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

fn assert_ranges_match(store: &Lsm, model: &Model, context: &str) {
    assert_matches(store, model, context);
    let ranges = [
        KeyRange::new(key(50)..key(350)),
        KeyRange::new(key(99)..=key(100)),
        KeyRange::new(key(299)..=key(301)),
        KeyRange {
            start: Bound::Excluded(key(120)),
            end: Bound::Unbounded,
        },
    ];
    for r in &ranges {
        for d in [Direction::Forward, Direction::Reverse] {
            let got: Vec<_> = store.scan(r, d).unwrap().map(Result::unwrap).collect();
            assert_eq!(got, model.scan(r, d), "{context}: scan {r:?} {d:?}");
        }
    }
    for i in 0..420 {
        assert_eq!(
            store.get(&key(i)).unwrap().as_deref(),
            model.get(&key(i)),
            "{context}: get key {i}"
        );
    }
}

fn level_files(store: &Lsm) -> (u64, u64) {
    let extra = store.stats().extra;
    let deeper = (1..7).map(|l| extra[&format!("level{l}_files")]).sum();
    (extra["level0_files"], deeper)
}

fn hides_in_every_level(strategy: CompactionStrategy) {
    let name = strategy.name();
    let sim = SimFs::new(7);
    let store = Lsm::open(dir(), opts(&sim, strategy)).unwrap();
    let mut model = Model::new();
    // Oldest versions: compacted into a deep level.
    for i in 0..400 {
        let v = value(i, 0, 30);
        store.put(&key(i), &v).unwrap();
        model.put(&key(i), &v);
    }
    store.compact().unwrap();
    // Newer versions of every third key: an L0 table.
    for i in (0..400).step_by(3) {
        let v = value(i, 1, 30);
        store.put(&key(i), &v).unwrap();
        model.put(&key(i), &v);
    }
    store.flush().unwrap();
    // Newest versions of every seventh key: the memtable.
    for i in (0..400).step_by(7) {
        let v = value(i, 2, 10);
        store.put(&key(i), &v).unwrap();
        model.put(&key(i), &v);
    }
    let (l0, deeper) = level_files(&store);
    assert!(
        l0 >= 1 && deeper >= 1,
        "{name}: L0 {l0} and deeper {deeper}"
    );
    let before: Vec<_> = store
        .scan(&KeyRange::all(), Direction::Forward)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut pinned = store.scan(&KeyRange::all(), Direction::Reverse).unwrap();
    let doomed = KeyRange::new(key(100)..key(300));
    store.delete_range(&doomed).unwrap();
    model_delete_range(&mut model, &doomed);
    assert_ranges_match(&store, &model, &format!("{name}: after delete_range"));
    let mut seen: Vec<_> = pinned.by_ref().map(Result::unwrap).collect();
    seen.reverse();
    assert_eq!(
        seen, before,
        "{name}: a scan opened before it sees its snapshot"
    );
    drop(pinned);
    // Writes into the range after the delete are visible.
    for i in [100, 150, 299] {
        let v = value(i, 3, 12);
        store.put(&key(i), &v).unwrap();
        model.put(&key(i), &v);
    }
    assert_ranges_match(&store, &model, &format!("{name}: after new writes"));
    store.flush().unwrap();
    assert_ranges_match(&store, &model, &format!("{name}: after flush"));
    for i in 400..420 {
        store.put(&key(i), &value(i, 4, 200)).unwrap();
        model.put(&key(i), &value(i, 4, 200));
    }
    store.compact_pending().unwrap();
    assert_ranges_match(
        &store,
        &model,
        &format!("{name}: after pending compactions"),
    );
    drop(store);
    let store = Lsm::open(dir(), opts(&sim, strategy)).unwrap();
    assert_ranges_match(&store, &model, &format!("{name}: after reopen"));
    store.compact().unwrap();
    assert_ranges_match(&store, &model, &format!("{name}: after compact"));
    assert!(store.check().unwrap().damage.is_empty(), "{name}: check");
}

#[test]
fn range_delete_hides_keys_in_every_level() {
    hides_in_every_level(CompactionStrategy::Leveled);
    hides_in_every_level(CompactionStrategy::tiered());
}
