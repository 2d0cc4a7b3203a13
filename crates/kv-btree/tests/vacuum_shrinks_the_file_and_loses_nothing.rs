//! `compact()` moves live pages toward the front and cuts the file: after
//! most keys are deleted the file shrinks to about what the rest needs,
//! every key and value is still there (also after a reopen and after a
//! crash), and a reader open during the vacuum keeps its snapshot; the
//! pages it holds are cut off by a later vacuum once it is gone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{figure, key, open, read_all, small_shape, value};
use kv_btree::Shape;
use kv_core::testkit::{Model, SimFs};
use kv_core::{Direction, KeyRange, Store, SyncPolicy};

fn filled(sim: &SimFs, shape: Shape) -> (kv_btree::Btree, Model) {
    let store = open(sim, SyncPolicy::Manual, shape);
    let mut model = Model::new();
    for i in 0..3000 {
        let v = value(i, 0, if i % 97 == 0 { 9000 } else { 40 + i % 200 });
        store.put(&key(i), &v).unwrap();
        model.put(&key(i), &v);
    }
    store.sync().unwrap();
    for i in 0..3000 {
        if i % 10 != 0 {
            store.delete(&key(i)).unwrap();
            model.delete(&key(i));
        }
    }
    store.sync().unwrap();
    (store, model)
}

#[test]
fn vacuum_shrinks_the_file_and_loses_nothing() {
    for shape in [Shape::default(), small_shape()] {
        let sim = SimFs::new(5);
        let (store, model) = filled(&sim, shape);
        let before = figure(&store, "file_pages");
        let live = figure(&store, "leaf_pages")
            + figure(&store, "branch_pages")
            + figure(&store, "overflow_pages");
        store.compact().unwrap();
        let after = figure(&store, "file_pages");
        assert!(
            after * 2 < before && after <= live + live / 4 + 4,
            "{shape:?}: vacuum left {after} pages of {before} for {live} live pages"
        );
        assert_eq!(
            read_all(&store),
            model.pairs(),
            "{shape:?}: vacuum lost data"
        );
        assert!(store.check().unwrap().is_clean());
        let on_disk = sim.contents(&common::file()).unwrap().len() as u64;
        assert_eq!(
            on_disk,
            after * 4096,
            "{shape:?}: the file itself was not cut"
        );
        let crashed = sim.crash();
        drop(store);
        let store = open(&crashed, SyncPolicy::Manual, shape);
        assert_eq!(
            read_all(&store),
            model.pairs(),
            "{shape:?}: lost after a crash"
        );
    }
}

#[test]
fn vacuum_with_an_open_reader_keeps_its_snapshot_and_shrinks_later() {
    let sim = SimFs::new(6);
    let (store, model) = filled(&sim, small_shape());
    let mut reader = store.scan(&KeyRange::all(), Direction::Forward).unwrap();
    let first = reader.next().unwrap().unwrap();
    store.put(b"zzz-new", b"after the reader started").unwrap();
    store.compact().unwrap();
    let mut seen = vec![first];
    seen.extend(reader.map(|r| r.unwrap()));
    assert_eq!(
        seen,
        model.pairs(),
        "the reader must see its snapshot through vacuum"
    );
    let with_reader = figure(&store, "file_pages");
    store.compact().unwrap();
    assert!(
        figure(&store, "file_pages") < with_reader,
        "once the reader is gone a vacuum must cut the pages it held"
    );
    assert_eq!(
        store.get(b"zzz-new").unwrap(),
        Some(b"after the reader started".to_vec())
    );
}
