//! A scan pins its sequence number and the tables it reads: writes,
//! flushes, leveled compactions and a full compaction made while it is open
//! change nothing it yields (forward and reverse), and the tables it pinned
//! are removed once it is dropped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{key, open, table_files, value};
use kv_core::testkit::{Model, SimFs};
use kv_core::{Direction, KeyRange, Store};

#[test]
fn scan_is_a_snapshot_while_compaction_runs() {
    let sim = SimFs::new(11);
    let store = open(&sim);
    let mut model = Model::new();
    for i in 0..800 {
        let v = value(i, 0, 50);
        store.put(&key(i), &v).unwrap();
        model.put(&key(i), &v);
    }
    for direction in [Direction::Forward, Direction::Reverse] {
        let mut expected = model.pairs();
        if direction == Direction::Reverse {
            expected.reverse();
        }
        let mut scan = store.scan(&KeyRange::all(), direction).unwrap();
        let mut got: Vec<_> = scan.by_ref().take(10).map(Result::unwrap).collect();
        let compactions_before = store.stats().extra["compactions"];
        for i in 0..800 {
            if i % 3 == 0 {
                store.delete(&key(i)).unwrap();
            } else {
                store.put(&key(i), &value(i, 1, 70)).unwrap();
            }
        }
        store.compact().unwrap();
        assert!(store.stats().extra["compactions"] > compactions_before);
        got.extend(scan.map(Result::unwrap));
        assert!(got == expected, "{direction:?}: the scan saw later writes");
        // Undo the writes in the model's terms for the next direction.
        for i in 0..800 {
            let v = value(i, 0, 50);
            store.put(&key(i), &v).unwrap();
        }
    }
    store.compact().unwrap();
    let live: u64 = (0..7)
        .map(|l| store.stats().extra[&format!("level{l}_files")])
        .sum();
    assert_eq!(
        table_files(&sim) as u64,
        live,
        "obsolete tables were left behind"
    );
    assert!(store.check().unwrap().damage.is_empty());
}
