//! One handle per directory: a second open is `Err(Locked)` at once, and
//! the directory opens again once the first handle is dropped.

use super::harness::{assert_get, ok, open_on, passed, sim_arc, try_open_on, TempStore};
use super::{CaseOutcome, Engine};
use crate::error::{Error, Result};
use crate::options::SyncPolicy;
use crate::store::Store;
use crate::testkit::SimFs;

fn assert_locked(second: Result<Box<dyn Store>>, context: &str) {
    match second {
        Err(Error::Locked { .. }) => {}
        Err(e) => panic!("{context}: a second open failed with `{e}`, expected Err(Locked)"),
        Ok(_) => panic!("{context}: a second open of a directory that is already open succeeded, expected Err(Locked)"),
    }
}

/// On the real file system, opening a directory that is already open is
/// `Err(Locked)`; the first handle keeps working, and after it is dropped
/// the directory opens with its data.
pub fn second_open_of_a_directory_is_locked(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let first = db.open();
    ok(first.put(b"k", b"v"), "put");
    assert_locked(db.try_open(), "real file system");
    assert_locked(db.try_open(), "real file system, third attempt");
    ok(
        first.put(b"k2", b"v2"),
        "put through the first handle after refused opens",
    );
    drop(first);
    let again = db.open();
    assert_get(
        &*again,
        b"k",
        Some(b"v"),
        "after the first handle was dropped",
    );
    assert_get(
        &*again,
        b"k2",
        Some(b"v2"),
        "after the first handle was dropped",
    );
    passed(again)
}

/// On a `SimFs`, opening a directory that is already open is
/// `Err(Locked)`, and after the first handle is dropped it opens again.
pub fn second_open_on_sim_fs_is_locked(engine: &Engine) -> CaseOutcome {
    let sim = SimFs::new(7);
    let first = open_on(engine, sim_arc(&sim), SyncPolicy::Manual, "first open");
    ok(first.put(b"k", b"v"), "put");
    assert_locked(
        try_open_on(engine, sim_arc(&sim), SyncPolicy::Manual),
        "SimFs",
    );
    drop(first);
    let again = open_on(
        engine,
        sim_arc(&sim),
        SyncPolicy::Manual,
        "open after the first handle was dropped",
    );
    assert_get(
        &*again,
        b"k",
        Some(b"v"),
        "after the first handle was dropped",
    );
    passed(again)
}
