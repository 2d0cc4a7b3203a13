//! A byte flipped anywhere in a table is detected (`Corruption` from the
//! open, a get, a scan or `check()`) or harmless (every read still returns
//! the data written); no flip makes a read return different data.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use common::{dir, key, open, options, value};
use kv_core::testkit::{Model, SimFs};
use kv_core::{Direction, KeyRange, Store};
use kv_lsm::Lsm;

fn build() -> (SimFs, Model, PathBuf) {
    let sim = SimFs::new(3);
    let store = open(&sim);
    let mut model = Model::new();
    for i in 0..120 {
        let v = value(i, 0, 20 + i % 30);
        store.put(&key(i), &v).unwrap();
        model.put(&key(i), &v);
    }
    store.delete(&key(7)).unwrap();
    model.delete(&key(7));
    store.compact().unwrap();
    drop(store);
    let table = sim
        .files()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "sst"))
        .max_by_key(|p| sim.contents(p).map_or(0, |c| c.len()))
        .unwrap();
    (sim, model, table)
}

/// True if any read reported corruption; panics on wrong data.
fn read_everything(store: &Lsm, model: &Model, context: &str) -> bool {
    let mut detected = false;
    for i in 0..120 {
        match store.get(&key(i)) {
            Ok(got) => assert_eq!(got.as_deref(), model.get(&key(i)), "{context}: get({i})"),
            Err(e) if e.is_corruption() => detected = true,
            Err(e) => panic!("{context}: get failed with {e}"),
        }
    }
    let mut items = Vec::new();
    let scan = match store.scan(&KeyRange::all(), Direction::Forward) {
        Ok(scan) => scan,
        Err(e) if e.is_corruption() => return true,
        Err(e) => panic!("{context}: scan failed with {e}"),
    };
    for item in scan {
        match item {
            Ok(pair) => items.push(pair),
            Err(e) if e.is_corruption() => return true,
            Err(e) => panic!("{context}: scan failed with {e}"),
        }
    }
    assert!(
        items == model.pairs(),
        "{context}: the scan returned different data"
    );
    detected || !store.check().unwrap().damage.is_empty()
}

#[test]
fn every_byte_flip_in_a_table_is_detected_or_harmless() {
    let (sim, model, table) = build();
    let len = sim.contents(&table).unwrap().len();
    let mut detected = 0;
    for offset in 0..len {
        let (sim, model2, table2) = build();
        assert_eq!(table2, table);
        let old = sim.contents(&table).unwrap()[offset];
        assert!(sim.corrupt(&table, offset as u64, &[old ^ 0x20]));
        let context = format!("flip at byte {offset} of {len}");
        match Lsm::open(dir(), options(&sim)) {
            Err(e) if e.is_corruption() => detected += 1,
            Err(e) => panic!("{context}: open failed with {e}"),
            Ok(store) => {
                if read_everything(&store, &model2, &context) {
                    detected += 1;
                }
            }
        }
    }
    assert_eq!(model.len(), 119);
    assert_eq!(
        detected, len,
        "every byte of a table is covered by a checksum"
    );
}
