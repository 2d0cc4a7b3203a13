//! The table cache bounds the open table files by `max_open_files`: a store
//! with many more tables than that reads every key correctly (closed files
//! are reopened on demand) and never holds more than the bound open.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{dir, key, options, table_files, value};
use kv_core::testkit::SimFs;
use kv_core::{Direction, KeyRange, Store};
use kv_lsm::Lsm;

#[test]
fn open_table_files_stay_within_max_open_files() {
    let sim = SimFs::new(31);
    let mut o = options(&sim);
    o.max_open_files = 3;
    let store = Lsm::open(dir(), o).unwrap();
    for i in 0..2000 {
        store.put(&key(i), &value(i, 0, 60)).unwrap();
    }
    assert!(table_files(&sim) > 10, "only {} tables", table_files(&sim));
    for round in 0..2 {
        for i in (0..2000).rev() {
            assert_eq!(
                store.get(&key(i)).unwrap(),
                Some(value(i, 0, 60)),
                "round {round}"
            );
            assert!(store.stats().extra["open_table_files"] <= 3);
        }
    }
    let all: Vec<_> = store
        .scan(&KeyRange::all(), Direction::Reverse)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(all.len(), 2000);
    assert!(store.stats().extra["open_table_files"] <= 3);
    assert!(store.check().unwrap().damage.is_empty());
}
