//! `OpenMode::ReadOnly` replays the WAL in memory only: every file keeps its
//! bytes, no file appears or disappears, writes are `ReadOnly`, and the
//! store reads as it was. `OpenMode::Verify` opens a damaged store and
//! `check()` lists the damage.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_matches, dir, key, open, options, value};
use kv_core::testkit::{Model, SimFs};
use kv_core::{Error, OpenMode, Store};
use kv_lsm::Lsm;

fn written() -> (SimFs, Model) {
    let sim = SimFs::new(5);
    let store = open(&sim);
    let mut model = Model::new();
    for i in 0..300 {
        let v = value(i, 0, 40);
        store.put(&key(i), &v).unwrap();
        model.put(&key(i), &v);
    }
    drop(store);
    // Unflushed writes in the WAL too.
    let mut o = options(&sim);
    o.write_buffer_bytes = 1 << 20;
    let store = Lsm::open(dir(), o).unwrap();
    for i in 0..20 {
        store.delete(&key(i * 3)).unwrap();
        model.delete(&key(i * 3));
    }
    drop(store);
    (sim, model)
}

fn snapshot(sim: &SimFs) -> Vec<(std::path::PathBuf, Option<Vec<u8>>)> {
    sim.files()
        .into_iter()
        .map(|p| {
            let c = sim.contents(&p);
            (p, c)
        })
        .collect()
}

#[test]
fn read_only_open_changes_nothing() {
    let (sim, model) = written();
    let before = snapshot(&sim);
    let mut o = options(&sim);
    o.core = o.core.open_mode(OpenMode::ReadOnly);
    let store = Lsm::open(dir(), o.clone()).unwrap();
    let second = Lsm::open(dir(), o).unwrap(); // shared lock
    assert_matches(&store, &model, "read-only");
    assert_matches(&second, &model, "second read-only handle");
    assert!(matches!(store.put(b"k", b"v"), Err(Error::ReadOnly)));
    assert!(matches!(store.delete(b"k"), Err(Error::ReadOnly)));
    assert!(matches!(store.compact(), Err(Error::ReadOnly)));
    assert!(store.check().unwrap().damage.is_empty());
    drop(store);
    drop(second);
    assert!(
        snapshot(&sim) == before,
        "a read-only open changed the files"
    );
}

#[test]
fn verify_open_lists_damage_in_check() {
    let (sim, _model) = written();
    let table = sim
        .files()
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "sst"))
        .unwrap();
    assert!(sim.corrupt(&table, 10, &[0xee]));
    let mut o = options(&sim);
    o.core = o.core.open_mode(OpenMode::Verify);
    let store = Lsm::open(dir(), o).unwrap();
    let report = store.check().unwrap();
    assert!(
        report.damage.iter().any(|d| d.file == table),
        "damage in {} not listed: {:?}",
        table.display(),
        report.damage
    );
}
