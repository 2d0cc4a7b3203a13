//! `OpenMode::ReadOnly` recovers in memory only: after a crash that left a
//! torn tail, a read-only open serves the recovered state, refuses writes
//! with `ReadOnly`, and changes no byte and no name in the directory (no
//! truncation, no new active file, no hint rewrite, no marker); `check()`
//! notes the torn tail it left on disk without calling it damage. A second
//! read-only open may run beside it; a read-write open may not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use common::{dir, key, sim_options, value};
use kv_bitcask::Bitcask;
use kv_core::testkit::{CrashMode, SimFs, UnsyncedData};
use kv_core::{Error, OpenMode, Store, StoreExt, WriteBatch};

fn images(sim: &SimFs) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    sim.files()
        .into_iter()
        .map(|p| {
            let bytes = sim.contents(&p);
            (p, bytes)
        })
        .collect()
}

/// A store with a sealed file, a hint, and an active file whose unsynced
/// tail a crash tore.
fn crashed_store() -> SimFs {
    let sim = SimFs::new(3);
    let store = Bitcask::open(dir(), sim_options(&sim, 2048)).unwrap();
    for i in 0..40 {
        store.put(&key(i), &value(i, 0, 80)).unwrap();
    }
    store.sync().unwrap();
    for i in 0..5 {
        store.put(&key(i), &value(i, 1, 300)).unwrap();
    }
    let crashed = sim.crash_with(CrashMode {
        unsynced: UnsyncedData::TornLastWrite { keep_bytes: 40 },
        forget_unsynced_dir_entries: false,
    });
    drop(store);
    crashed
}

#[test]
fn read_only_open_changes_no_byte() {
    let sim = crashed_store();
    let before = images(&sim);
    let mut options = sim_options(&sim, 2048);
    options.core = options.core.open_mode(OpenMode::ReadOnly);
    let store = Bitcask::open(dir(), options.clone()).unwrap();
    let seen = store.scan_all().unwrap();
    assert!(seen.len() >= 40, "the synced puts are served");
    assert!(matches!(store.put(b"k", b"v"), Err(Error::ReadOnly)));
    assert!(matches!(store.delete(&key(1)), Err(Error::ReadOnly)));
    assert!(matches!(
        store.write(WriteBatch::new().put(b"a", b"b")),
        Err(Error::ReadOnly)
    ));
    assert!(matches!(store.compact(), Err(Error::ReadOnly)));
    store.sync().unwrap();
    let report = store.check().unwrap();
    assert!(report.is_clean(), "{report:?}");
    // A second read-only open beside the first; a writer is locked out.
    let second = Bitcask::open(dir(), options.clone()).unwrap();
    assert_eq!(second.scan_all().unwrap(), seen);
    let err = Bitcask::open(dir(), sim_options(&sim, 2048)).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    drop(second);
    Box::new(store).close().unwrap();
    assert_eq!(
        images(&sim),
        before,
        "a read-only open changed the directory"
    );
    // A read-write open then repairs the tail and serves the same state.
    let store = Bitcask::open(dir(), sim_options(&sim, 2048)).unwrap();
    assert_eq!(store.scan_all().unwrap(), seen);
    assert!(store.check().unwrap().is_clean());
}

#[test]
fn read_only_open_of_an_empty_directory_is_no_store_and_creates_nothing() {
    let sim = SimFs::new(4);
    let mut options = sim_options(&sim, 2048);
    options.core = options.core.open_mode(OpenMode::ReadOnly);
    let err = Bitcask::open(dir(), options).unwrap_err();
    assert!(matches!(err, Error::NoStore { .. }), "{err}");
    assert!(sim.files().is_empty(), "created {:?}", sim.files());
}
