//! Tiered compaction bounds space amplification: overwriting the same keys
//! round after round, once the pending compactions have run the runs newer
//! than the oldest never add up to more than `max_space_amp_percent` of the
//! oldest, and the table bytes stay within `1 + max_space_amp_percent/100`
//! times the fully compacted size (with slack for the file format). The
//! run trigger is 12, so the size-tier rule stays idle while up to 11 L0
//! tables pile up: only the space bound, which forces a full merge, keeps
//! the dead versions in check (without it this test fails).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{dir, key, options, value};
use kv_core::testkit::{Model, SimFs};
use kv_core::Store;
use kv_lsm::{CompactionStrategy, Lsm, TieredOptions};

const KEYS: usize = 150;
const ROUNDS: usize = 40;

fn level_bytes(store: &Lsm) -> Vec<u64> {
    let extra = store.stats().extra;
    (0..7).map(|l| extra[&format!("level{l}_bytes")]).collect()
}

#[test]
fn tiered_space_amplification_stays_bounded() {
    let sim = SimFs::new(3);
    let tiered = TieredOptions {
        run_trigger: 12,
        ..TieredOptions::default()
    };
    let mut o = options(&sim);
    o.l0_compaction_trigger = 12;
    o.l0_slowdown_writes = 12;
    o.l0_stop_writes = 12;
    o.compaction = CompactionStrategy::Tiered(tiered);
    o.exact_live_keys = false;
    let store = Lsm::open(dir(), o).unwrap();
    let mut model = Model::new();
    let mut worst_total = 0u64;
    let mut full_merges_seen = 0;
    let mut last_oldest = 0u64;
    for round in 0..ROUNDS {
        for i in 0..KEYS {
            let v = value(i, round, 60);
            store.put(&key(i), &v).unwrap();
            model.put(&key(i), &v);
        }
        store.compact_pending().unwrap();
        let levels = level_bytes(&store);
        let l0_tables = store.stats().extra["level0_files"];
        let deeper: Vec<u64> = levels[1..].iter().copied().filter(|&b| b > 0).collect();
        let Some((&oldest, newer_levels)) = deeper.split_last() else {
            continue;
        };
        if oldest != last_oldest {
            full_merges_seen += 1;
            last_oldest = oldest;
        }
        let newer: u64 = newer_levels.iter().sum::<u64>() + levels[0];
        assert!(
            newer * 100 <= tiered.max_space_amp_percent * oldest,
            "round {round}: runs newer than the oldest hold {newer} bytes, the oldest {oldest} \
             ({l0_tables} L0 tables, levels {levels:?})"
        );
        worst_total = worst_total.max(newer + oldest);
    }
    assert!(store.stats().extra["compactions"] > 0);
    assert!(
        full_merges_seen >= 2,
        "the space bound forced {full_merges_seen} full merges"
    );
    store.compact().unwrap();
    let compacted: u64 = level_bytes(&store).iter().sum();
    let bound = compacted * (100 + tiered.max_space_amp_percent) / 100;
    assert!(
        worst_total <= bound + bound / 4,
        "worst table bytes {worst_total}, fully compacted {compacted}"
    );
    for (k, v) in model.map() {
        assert_eq!(store.get(k).unwrap().as_deref(), Some(v.as_slice()));
    }
}
