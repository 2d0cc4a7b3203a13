//! A read never writes: `get`, `scan`, `stats` and `check` on a missing, an
//! empty or a non-store directory exit 2 and leave the listing as it was;
//! on a store they change no byte; `delete` on a directory without a store
//! creates none.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::{fails_with, kv, names, ok, snapshot};

const READS: [&[&str]; 5] = [
    &["get", "k"],
    &["scan"],
    &["stats"],
    &["check"],
    &["scan", "--reverse"],
];

fn every_read_exits_2_and_changes_nothing(dir: &Path, expect: &str) {
    let before = snapshot(dir);
    let existed = dir.exists();
    for args in READS {
        let line = fails_with(kv(dir, args), 2);
        assert!(line.contains(expect), "{args:?}: {line}");
        assert_eq!(
            names(&snapshot(dir)),
            names(&before),
            "{args:?} changed the listing"
        );
        assert_eq!(snapshot(dir), before, "{args:?} changed a file");
        assert_eq!(dir.exists(), existed, "{args:?} created the directory");
    }
}

#[test]
fn reads_of_a_missing_directory_exit_2_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    every_read_exits_2_and_changes_nothing(&dir.path().join("missing"), "holds no store");
}

#[test]
fn reads_of_an_empty_directory_exit_2_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    every_read_exits_2_and_changes_nothing(dir.path(), "holds no store");
}

#[test]
fn reads_of_a_directory_of_other_files_exit_2_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"my notes").unwrap();
    std::fs::create_dir(dir.path().join("photos")).unwrap();
    every_read_exits_2_and_changes_nothing(dir.path(), "no kvlab store");
}

#[test]
fn delete_and_compact_on_no_store_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    for args in [&["delete", "k"][..], &["compact"]] {
        let line = fails_with(kv(&missing, args), 2);
        assert!(line.contains("holds no store"), "{args:?}: {line}");
        assert!(!missing.exists(), "{args:?} created the directory");
        fails_with(kv(dir.path(), args), 2);
        assert!(snapshot(dir.path()).is_empty(), "{args:?} wrote");
    }
}

#[test]
fn reads_of_a_store_change_no_byte() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for i in 0..10 {
        ok(kv(d, &["put", &format!("k{i}"), "value"]));
    }
    let before = snapshot(d);
    assert_eq!(ok(kv(d, &["get", "k3"])), "value\n");
    fails_with(kv(d, &["get", "nope"]), 1);
    assert_eq!(ok(kv(d, &["scan"])).lines().count(), 10);
    ok(kv(d, &["stats"]));
    ok(kv(d, &["check"]));
    assert_eq!(
        names(&snapshot(d)),
        names(&before),
        "a read changed the listing"
    );
    assert_eq!(snapshot(d), before, "a read changed a file");
}
