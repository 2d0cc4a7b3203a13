//! A store directory knows its engine: `kv --engine X` on a directory that
//! holds another engine's store exits 2 naming the engine that wrote it and
//! leaves every byte as it was; `kv` without `--engine` opens whatever the
//! directory holds (bitcask for a new one).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{fails_with, kv, kv_any, kv_raw, ok, snapshot, stdout};
use kv_core::identity::IDENTITY_FILE_NAME;
use kv_core::StoreIdentity;

fn stats_engine(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix("engine"))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn another_engine_on_a_bitcask_store_exits_2_naming_bitcask_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(kv(d, &["put", "k", "v"]));
    let before = snapshot(d);
    let path = d.to_str().unwrap();
    for args in [
        &["--engine", "redb", "--path", path, "get", "k"][..],
        &["--engine", "redb", "--path", path, "put", "k", "w"][..],
        &["--engine", "sled", "--path", path, "scan"][..],
        &["--engine", "fjall", "--path", path, "check"][..],
    ] {
        let line = fails_with(kv_raw(args, b""), 2);
        assert!(line.contains("holds a bitcask store"), "{args:?}: {line}");
        assert!(line.contains("--engine bitcask"), "{args:?}: {line}");
        assert_eq!(snapshot(d), before, "{args:?} changed the directory");
    }
}

#[test]
fn bitcask_on_another_engines_store_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let marker = StoreIdentity::new("redb", 1).encode();
    std::fs::write(d.join(IDENTITY_FILE_NAME), &marker).unwrap();
    let before = snapshot(d);
    for args in [&["put", "k", "v"][..], &["get", "k"], &["stats"]] {
        let line = fails_with(kv(d, args), 2);
        assert!(line.contains("holds a redb store"), "{args:?}: {line}");
        assert!(line.contains("--engine redb"), "{args:?}: {line}");
        assert_eq!(snapshot(d), before, "{args:?} changed the directory");
    }
}

#[test]
fn without_engine_kv_opens_the_engine_the_directory_names() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join(IDENTITY_FILE_NAME),
        StoreIdentity::new("redb", 1).encode(),
    )
    .unwrap();
    ok(kv_any(d, &["put", "k", "v"]));
    assert_eq!(ok(kv_any(d, &["get", "k"])), "v\n");
    assert_eq!(stats_engine(&ok(kv_any(d, &["stats"]))), "redb");
}

#[test]
fn without_engine_a_new_directory_becomes_a_bitcask_store() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("new");
    ok(kv_any(&d, &["put", "k", "v"]));
    assert_eq!(ok(kv_any(&d, &["get", "k"])), "v\n");
    assert_eq!(stats_engine(&ok(kv_any(&d, &["stats"]))), "bitcask");
    assert_eq!(ok(kv(&d, &["get", "k"])), "v\n");
}

#[test]
fn an_engine_missing_from_this_build_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join(IDENTITY_FILE_NAME),
        StoreIdentity::new("tokudb", 3).encode(),
    )
    .unwrap();
    let before = snapshot(d);
    let out = kv_any(d, &["get", "k"]);
    assert!(stdout(&out).is_empty());
    let line = fails_with(out, 2);
    assert!(line.contains("holds a tokudb store"), "{line}");
    assert!(line.contains("no engine tokudb"), "{line}");
    assert_eq!(snapshot(d), before);
}
