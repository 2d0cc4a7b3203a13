//! Regression (review finding 1): open reused the active file without
//! making what it had recovered durable.
//!
//! The story. Under `SyncPolicy::Manual` a rollover creates data file G; its
//! directory entry was not synced yet (today the rollover makes G's name
//! and header durable when it lists G in the file set, but G's records are
//! still unsynced). Puts are flushed into G, and then the process is killed
//! before any `sync()`: the OS still shows G and its bytes, but neither G's
//! name nor its data is durable. The next open finds G's records newest and
//! reuses G as the active file. Recovery built that writer as if everything
//! it had read were on disk (`unsynced = false`, `dir_unsynced = false`) and
//! synced nothing itself. So after `put(x)`, `sync()` synced G's data but not
//! the directory and returned `Ok`; a power loss then took G's name, and G
//! and x with it, although `sync` had promised x. With no write after the
//! reopen, `sync()` did nothing at all, and the power loss took back a state
//! the reopen had shown, against the `Store` contract ("a state that a reopen
//! after a crash showed is never lost by a later crash").
//!
//! The fix: recovery ends by syncing the reused active file and then the
//! directory, so every name, removal and truncation it made or saw is durable
//! before the store accepts a write.
//!
//! How the test kills the process: it drops the store while a `FaultFs`
//! fails every sync, so the clean close can make nothing durable (the store
//! is poisoned, and still releases its lock). The `SimFs` underneath then
//! holds what a killed process leaves behind: its written bytes and names,
//! none of them durable. (`SimFs::crash_with` cannot stand in for the kill:
//! the world it returns is entirely durable, so the bug would not show.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::{assert_matches, dir, key, open, sim_options, value};
use kv_bitcask::Bitcask;
use kv_core::testkit::{FailMode, FaultFs, FaultOp, Model, SimFs};
use kv_core::{Options, Store, SyncPolicy};

/// Files of this size hold 50 puts of 81 bytes.
const MAX_FILE_BYTES: u64 = 4096;

fn data_files(sim: &SimFs) -> Vec<PathBuf> {
    sim.files()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "data"))
        .collect()
}

/// A store whose first file is synced, whose second file G (created by a
/// rollover) holds flushed but unsynced puts, and whose process was then
/// killed. Returns the file system and what the store had acknowledged.
fn killed_after_rollover(seed: u64) -> (SimFs, Model) {
    let sim = SimFs::new(seed);
    let faults = FaultFs::new(Arc::new(sim.clone()));
    let mut options = sim_options(&sim, MAX_FILE_BYTES);
    options.core = Options::with_fs(Arc::new(faults.clone())).sync(SyncPolicy::Manual);
    let store = Bitcask::open(dir(), options).unwrap();
    let mut model = Model::new();
    for i in 0..30 {
        store.put(&key(i), &value(i, 1, 50)).unwrap();
        model.put(&key(i), &value(i, 1, 50));
    }
    store.sync().unwrap();
    for i in 30..60 {
        store.put(&key(i), &value(i, 1, 50)).unwrap();
        model.put(&key(i), &value(i, 1, 50));
    }
    // The kill: from now on nothing becomes durable.
    faults.fail_nth(FaultOp::Sync, 0, FailMode::FromThenOn);
    faults.fail_nth(FaultOp::SyncDir, 0, FailMode::FromThenOn);
    drop(store);

    let files = data_files(&sim);
    assert_eq!(files.len(), 2, "the puts rolled over into a second file");
    let g = &files[1];
    // A rollover makes G's name and header durable (the file set lists G),
    // but none of G's records.
    assert!(
        sim.durable_contents(g).map_or(0, |c| c.len()) <= 24,
        "G's records must not be durable before the reopen"
    );
    assert!(sim.contents(g).unwrap().len() > 24, "G holds flushed puts");
    (sim, model)
}

#[test]
fn recovery_makes_what_it_recovered_durable() {
    let (sim, model) = killed_after_rollover(1);
    let store = open(&sim, MAX_FILE_BYTES);
    assert_matches(&store, &model, "after the kill");
    // Power loss with no write after the reopen: what it showed stays.
    let crashed = sim.crash();
    drop(store);
    let store = open(&crashed, MAX_FILE_BYTES);
    assert_matches(&store, &model, "power loss right after the reopen");
    store.check().unwrap();
}

#[test]
fn sync_after_reopen_makes_the_reused_file_durable() {
    let (sim, mut model) = killed_after_rollover(2);
    let store = open(&sim, MAX_FILE_BYTES);
    assert_matches(&store, &model, "after the kill");
    store.put(b"x", b"written after the reopen").unwrap();
    model.put(b"x", b"written after the reopen");
    store.sync().unwrap();
    let crashed = sim.crash();
    drop(store);
    let store = open(&crashed, MAX_FILE_BYTES);
    assert_matches(&store, &model, "power loss after put(x) and sync()");
    store.check().unwrap();
}
