//! A store to damage by hand, and the assertion every whole-file damage
//! class shares: a read-write and a read-only open fail with `Corruption`
//! naming the file (and change no byte), and a `Verify` open lists the file
//! in `check()`'s damage.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kv_bitcask::file_set::{read_file_set, FileSet};
use kv_bitcask::Bitcask;
use kv_core::testkit::{Model, SimFs};
use kv_core::{Error, OpenMode, Store};

use super::{assert_matches, dir, key, sim_options, value};

/// Files of this size hold about a dozen puts.
pub const MAX_FILE_BYTES: u64 = 1024;

/// A store with several sealed files (each with a hint), merge output from
/// a finished merge, more sealed files after it, and an active file with
/// a hint (the store was closed cleanly). Returns it with its contents.
pub fn store_with_history(seed: u64) -> (SimFs, Model) {
    let sim = SimFs::new(seed);
    let store = Bitcask::open(dir(), sim_options(&sim, MAX_FILE_BYTES)).unwrap();
    let mut model = Model::new();
    for i in 0..60 {
        let v = value(i, 1, 60);
        store.put(&key(i), &v).unwrap();
        model.put(&key(i), &v);
    }
    for i in (0..60).step_by(4) {
        store.delete(&key(i)).unwrap();
        model.delete(&key(i));
    }
    store.compact().unwrap();
    assert_eq!(store.stats().extra["merges_run"], 1);
    for i in 30..70 {
        let v = value(i, 2, 60);
        store.put(&key(i), &v).unwrap();
        model.put(&key(i), &v);
    }
    drop(store);
    let set = file_set(&sim);
    assert!(set.sealed.len() >= 4, "several sealed files: {set:?}");
    assert!(set.active.is_some());
    for id in set.ids() {
        assert!(
            sim.contents(&hint_path(id)).is_some(),
            "file {id} has a hint"
        );
    }
    (sim, model)
}

/// The store's file-set record.
pub fn file_set(sim: &SimFs) -> FileSet {
    read_file_set(sim, dir())
        .unwrap()
        .expect("a file-set record")
}

/// The path of data file `id`.
pub fn data_path(id: u32) -> PathBuf {
    dir().join(format!("{id:010}.data"))
}

/// The path of the hint of data file `id`.
pub fn hint_path(id: u32) -> PathBuf {
    dir().join(format!("{id:010}.hint"))
}

/// Every file's bytes.
pub fn snapshot(sim: &SimFs) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    sim.files()
        .into_iter()
        .map(|p| {
            let bytes = sim.contents(&p);
            (p, bytes)
        })
        .collect()
}

/// Options for `mode`.
pub fn options(sim: &SimFs, mode: OpenMode) -> kv_bitcask::BitcaskOptions {
    let mut options = sim_options(sim, MAX_FILE_BYTES);
    options.core = options.core.open_mode(mode);
    options
}

/// Asserts that `file` is reported: a read-write and a read-only open fail
/// with `Corruption` naming it and leave every byte as it was; a `Verify`
/// open succeeds and `check()` lists damage in it.
pub fn assert_reported(sim: &SimFs, file: &Path, context: &str) {
    let before = snapshot(sim);
    for mode in [OpenMode::ReadWrite, OpenMode::ReadOnly] {
        match Bitcask::open(dir(), options(sim, mode)) {
            Err(Error::Corruption { file: f, .. }) => {
                assert_eq!(f, file, "{context}: {mode:?} open names the damaged file");
            }
            Err(other) => panic!("{context}: {mode:?} open: expected Corruption, got {other}"),
            Ok(_) => panic!("{context}: {mode:?} open succeeded on a damaged store"),
        }
        assert!(
            snapshot(sim) == before,
            "{context}: a failed {mode:?} open changed the store"
        );
    }
    let store = Bitcask::open(dir(), options(sim, OpenMode::Verify)).unwrap();
    let report = store.check().unwrap();
    assert!(
        report.damage.iter().any(|d| d.file == file),
        "{context}: check() under Verify lists {}: {report:?}",
        file.display()
    );
    drop(store);
    assert!(
        snapshot(sim) == before,
        "{context}: Verify changed the store"
    );
}

/// Asserts a read-write open serves exactly `model` and `check()` passes.
pub fn assert_opens_with(sim: &SimFs, model: &Model, context: &str) {
    let store = Bitcask::open(dir(), sim_options(sim, MAX_FILE_BYTES)).unwrap();
    assert_matches(&store, model, context);
    store.check().unwrap();
}
