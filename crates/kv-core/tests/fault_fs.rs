//! FaultFs fails exactly the operations it is told to, before they reach the
//! wrapped file system, and counts what it saw.
#![cfg(feature = "testkit")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kv_core::fs::{Fs, StdFs};
use kv_core::testkit::{FailMode, FaultFs, FaultOp, SimFs};

const DIR: &str = "/db";

fn path(name: &str) -> PathBuf {
    Path::new(DIR).join(name)
}

/// A FaultFs over a SimFs, so tests can look at what really got written.
fn faulty() -> (FaultFs, SimFs) {
    let sim = SimFs::new(7);
    sim.create_dir(Path::new(DIR)).unwrap();
    (FaultFs::new(Arc::new(sim.clone())), sim)
}

fn is_injected(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Other && e.to_string().contains("injected fault")
}

#[test]
fn nth_write_fails_once_then_writes_pass_again() {
    let (fs, sim) = faulty();
    let f = fs.create(&path("f")).unwrap();
    fs.fail_nth(FaultOp::Write, 2, FailMode::Once);
    assert_eq!(f.append(b"a").unwrap(), 0);
    f.write_at(b"b", 1).unwrap();
    let err = f.append(b"c").unwrap_err();
    assert!(is_injected(&err), "{err}");
    assert!(err.to_string().contains("Write #2"), "{err}");
    assert_eq!(f.append(b"d").unwrap(), 2);
    assert_eq!(sim.contents(&path("f")).unwrap(), b"abd");
    assert_eq!(fs.count(FaultOp::Write), 4);
    assert_eq!(fs.injected(), 1);
}

#[test]
fn from_then_on_fails_the_nth_write_and_every_later_one() {
    let (fs, sim) = faulty();
    let f = fs.create(&path("f")).unwrap();
    fs.fail_nth(FaultOp::Write, 1, FailMode::FromThenOn);
    f.append(b"ok").unwrap();
    for _ in 0..5 {
        assert!(is_injected(&f.append(b"no").unwrap_err()));
        assert!(is_injected(&f.write_at(b"no", 0).unwrap_err()));
    }
    assert_eq!(fs.injected(), 10);
    assert_eq!(sim.contents(&path("f")).unwrap(), b"ok");
    // Other operations are untouched.
    f.sync().unwrap();
    assert_eq!(sim.durable_contents(&path("f")), None); // name not synced yet
    fs.sync_dir(Path::new(DIR)).unwrap();
    assert_eq!(sim.durable_contents(&path("f")).unwrap(), b"ok");
}

#[test]
fn n_counts_from_the_call_not_from_creation() {
    let (fs, _sim) = faulty();
    let f = fs.create(&path("f")).unwrap();
    for _ in 0..3 {
        f.append(b"x").unwrap();
    }
    fs.fail_nth(FaultOp::Write, 0, FailMode::Once);
    let err = f.append(b"y").unwrap_err();
    assert!(err.to_string().contains("Write #3"), "{err}");
    f.append(b"z").unwrap();
}

#[test]
fn failed_write_writes_nothing() {
    let (fs, sim) = faulty();
    let f = fs.create(&path("f")).unwrap();
    f.append(b"0123").unwrap();
    fs.fail_nth(FaultOp::Write, 0, FailMode::FromThenOn);
    f.write_at(b"XX", 1).unwrap_err();
    f.write_at(b"tail", 10).unwrap_err();
    f.append(b"more").unwrap_err();
    assert_eq!(f.len().unwrap(), 4);
    assert_eq!(sim.contents(&path("f")).unwrap(), b"0123");
    assert_eq!(
        sim.op_count(),
        3,
        "create_dir, create, append reached SimFs"
    );
}

#[test]
fn nth_sync_fails_and_leaves_the_data_unsynced() {
    let (fs, sim) = faulty();
    let f = fs.create(&path("f")).unwrap();
    fs.sync_dir(Path::new(DIR)).unwrap();
    fs.fail_nth(FaultOp::Sync, 1, FailMode::Once);
    f.append(b"first").unwrap();
    f.sync().unwrap();
    f.append(b"+second").unwrap();
    assert!(is_injected(&f.sync().unwrap_err()));
    assert_eq!(sim.durable_contents(&path("f")).unwrap(), b"first");
    f.sync().unwrap();
    assert_eq!(sim.durable_contents(&path("f")).unwrap(), b"first+second");
    assert_eq!(fs.count(FaultOp::Sync), 3);
}

#[test]
fn nth_rename_fails_and_both_names_stay() {
    let (fs, sim) = faulty();
    fs.create(&path("a")).unwrap();
    fs.create(&path("b")).unwrap();
    fs.fail_nth(FaultOp::Rename, 0, FailMode::Once);
    assert!(is_injected(&fs.rename(&path("a"), &path("b")).unwrap_err()));
    assert_eq!(sim.files(), [path("a"), path("b")]);
    fs.rename(&path("a"), &path("b")).unwrap();
    assert_eq!(sim.files(), [path("b")]);
    assert_eq!(fs.count(FaultOp::Rename), 2);
}

#[test]
fn nth_truncate_fails_and_keeps_the_length() {
    let (fs, _sim) = faulty();
    let f = fs.create(&path("f")).unwrap();
    f.append(b"0123456789").unwrap();
    fs.fail_nth(FaultOp::Truncate, 1, FailMode::FromThenOn);
    f.truncate(8).unwrap();
    assert!(is_injected(&f.truncate(4).unwrap_err()));
    assert!(is_injected(&f.truncate(2).unwrap_err()));
    assert_eq!(f.len().unwrap(), 8);
}

#[test]
fn nth_sync_dir_fails_and_the_entry_stays_unsynced() {
    let (fs, sim) = faulty();
    fs.create(&path("f")).unwrap();
    fs.fail_nth(FaultOp::SyncDir, 0, FailMode::Once);
    assert!(is_injected(&fs.sync_dir(Path::new(DIR)).unwrap_err()));
    assert_eq!(sim.durable_contents(&path("f")), None);
    fs.sync_dir(Path::new(DIR)).unwrap();
    assert_eq!(sim.durable_contents(&path("f")).unwrap(), b"");
}

#[test]
fn nth_create_and_remove_fail_without_effect() {
    let (fs, sim) = faulty();
    fs.fail_nth(FaultOp::Create, 0, FailMode::Once);
    fs.fail_nth(FaultOp::Remove, 0, FailMode::Once);
    assert!(is_injected(&fs.create(&path("f")).unwrap_err()));
    assert!(sim.files().is_empty());
    fs.create(&path("f")).unwrap();
    assert!(is_injected(&fs.remove(&path("f")).unwrap_err()));
    assert_eq!(sim.files(), [path("f")]);
    fs.remove(&path("f")).unwrap();
    assert!(sim.files().is_empty());
}

#[test]
fn storage_full_kind_is_reported_as_chosen() {
    let (fs, sim) = faulty();
    let f = fs.create(&path("f")).unwrap();
    fs.fail_nth_with(
        FaultOp::Write,
        0,
        FailMode::FromThenOn,
        io::ErrorKind::StorageFull,
    );
    let err = f.append(b"x").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    assert!(sim.contents(&path("f")).unwrap().is_empty());
}

#[test]
fn reads_fail_through_every_read_helper() {
    let (fs, _sim) = faulty();
    let f = fs.create(&path("f")).unwrap();
    f.append(b"data").unwrap();
    let reopened = fs.open(&path("f")).unwrap();
    fs.fail_nth(FaultOp::Read, 0, FailMode::FromThenOn);
    let mut buf = [0; 4];
    assert!(is_injected(&f.read_at(&mut buf, 0).unwrap_err()));
    assert!(is_injected(
        &reopened.read_exact_at(&mut buf, 0).unwrap_err()
    ));
    assert!(is_injected(&reopened.read_all().unwrap_err()));
    fs.clear();
    assert_eq!(reopened.read_all().unwrap(), b"data");
}

#[test]
fn clear_removes_all_rules_but_keeps_counters() {
    let (fs, _sim) = faulty();
    let f = fs.create(&path("f")).unwrap();
    fs.fail_nth(FaultOp::Write, 0, FailMode::FromThenOn);
    fs.fail_nth(FaultOp::Sync, 0, FailMode::FromThenOn);
    f.append(b"x").unwrap_err();
    fs.clear();
    f.append(b"x").unwrap();
    f.sync().unwrap();
    assert_eq!(fs.count(FaultOp::Write), 2);
    assert_eq!(fs.count(FaultOp::Sync), 1);
    assert_eq!(fs.injected(), 1);
}

#[test]
fn counts_are_per_operation_and_include_failed_attempts() {
    let (fs, _sim) = faulty();
    let f = fs.create(&path("f")).unwrap();
    let g = fs.create(&path("g")).unwrap();
    f.append(b"1").unwrap();
    g.write_at(b"2", 0).unwrap();
    f.sync().unwrap();
    f.truncate(0).unwrap();
    fs.sync_dir(Path::new(DIR)).unwrap();
    fs.rename(&path("g"), &path("h")).unwrap();
    fs.remove(&path("h")).unwrap();
    let mut buf = [0; 1];
    f.read_at(&mut buf, 0).unwrap();
    fs.fail_nth(FaultOp::Remove, 0, FailMode::Once);
    fs.remove(&path("f")).unwrap_err();
    // Not counted: open, list, exists, create_dir, lock_dir, len.
    fs.open(&path("f")).unwrap();
    fs.list(Path::new(DIR)).unwrap();
    fs.exists(&path("f")).unwrap();
    fs.create_dir(Path::new("/other")).unwrap();
    drop(fs.lock_dir(Path::new(DIR)).unwrap());
    f.len().unwrap();

    let expected = [
        (FaultOp::Create, 2),
        (FaultOp::Write, 2),
        (FaultOp::Sync, 1),
        (FaultOp::Truncate, 1),
        (FaultOp::SyncDir, 1),
        (FaultOp::Rename, 1),
        (FaultOp::Remove, 2),
        (FaultOp::Read, 1),
    ];
    for (op, n) in expected {
        assert_eq!(fs.count(op), n, "{op:?}");
    }
    assert_eq!(fs.injected(), 1);
}

#[test]
fn clones_share_rules_and_counters() {
    let (fs, _sim) = faulty();
    let clone = fs.clone();
    clone.fail_nth(FaultOp::Create, 0, FailMode::Once);
    assert!(is_injected(&fs.create(&path("f")).unwrap_err()));
    assert_eq!(clone.count(FaultOp::Create), 1);
    assert_eq!(clone.injected(), 1);
}

#[test]
fn wraps_the_real_file_system_too() {
    let dir = tempfile::tempdir().unwrap();
    let fs = FaultFs::new(Arc::new(StdFs));
    let f = fs.create(&dir.path().join("f")).unwrap();
    fs.fail_nth(FaultOp::Write, 1, FailMode::Once);
    f.append(b"kept").unwrap();
    f.append(b"lost").unwrap_err();
    f.sync().unwrap();
    assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), b"kept");
}
