//! A store directory knows its engine: bitcask writes the `KVLAB` marker
//! when it creates a store; opening another engine's store is
//! `WrongEngine` naming it, a directory of unrelated files is
//! `ForeignDirectory` (and nothing in it is touched), and a bitcask store
//! written before markers existed (only `*.data`/`*.hint` files) is
//! recognised and opened, the marker then added.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{dir, key, sim_options, value};
use kv_bitcask::Bitcask;
use kv_core::identity::IDENTITY_FILE_NAME;
use kv_core::testkit::SimFs;
use kv_core::{read_identity, Error, Fs, Store, StoreIdentity};

fn write_file(sim: &SimFs, path: &Path, bytes: &[u8]) {
    let f = sim.create(path).unwrap();
    f.append(bytes).unwrap();
    f.sync().unwrap();
}

#[test]
fn opening_another_engines_store_is_an_error() {
    let sim = SimFs::new(8);
    sim.create_dir(dir()).unwrap();
    write_file(
        &sim,
        &dir().join(IDENTITY_FILE_NAME),
        &StoreIdentity::new("redb", 1).encode(),
    );
    match Bitcask::open(dir(), sim_options(&sim, 4096)).unwrap_err() {
        Error::WrongEngine {
            found, expected, ..
        } => {
            assert_eq!((found.as_str(), expected.as_str()), ("redb", "bitcask"));
        }
        other => panic!("{other}"),
    }
}

#[test]
fn a_directory_of_other_files_is_foreign_and_left_alone() {
    let sim = SimFs::new(9);
    sim.create_dir(dir()).unwrap();
    write_file(&sim, &dir().join("notes.txt"), b"mine");
    let err = Bitcask::open(dir(), sim_options(&sim, 4096)).unwrap_err();
    assert!(matches!(err, Error::ForeignDirectory { .. }), "{err}");
    assert_eq!(sim.files(), vec![dir().join("notes.txt")]);
}

#[test]
fn a_store_without_marker_is_recognised_as_legacy_bitcask() {
    let sim = SimFs::new(10);
    let store = Bitcask::open(dir(), sim_options(&sim, 4096)).unwrap();
    for i in 0..20 {
        store.put(&key(i), &value(i, 0, 50)).unwrap();
    }
    drop(store);
    Arc::new(sim.clone())
        .remove(&dir().join(IDENTITY_FILE_NAME))
        .unwrap();
    let store = Bitcask::open(dir(), sim_options(&sim, 4096)).unwrap();
    assert_eq!(store.get(&key(3)).unwrap(), Some(value(3, 0, 50)));
    assert_eq!(
        read_identity(&sim, dir()).unwrap().map(|id| id.engine),
        Some("bitcask".to_string())
    );
}

#[test]
fn unexpected_files_are_noted_by_check_and_never_deleted() {
    let sim = SimFs::new(11);
    let store = Bitcask::open(dir(), sim_options(&sim, 4096)).unwrap();
    store.put(b"k", b"v").unwrap();
    drop(store);
    let stray = dir().join("backup-notes.txt");
    write_file(&sim, &stray, b"keep me");
    let store = Bitcask::open(dir(), sim_options(&sim, 4096)).unwrap();
    let report = store.check().unwrap();
    assert!(report.is_clean());
    assert!(
        report.notes.iter().any(|n| n.contains("backup-notes.txt")),
        "{:?}",
        report.notes
    );
    drop(store);
    assert_eq!(sim.contents(&stray).as_deref(), Some(&b"keep me"[..]));
}
