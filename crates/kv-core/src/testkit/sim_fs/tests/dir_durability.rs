//! Directory durability: a directory is an entry of its parent, durable only
//! once the parent is synced, and everything in a vanished directory
//! vanishes with it.

use std::path::Path;

use super::super::*;
use crate::fs::create_dir_durably;

/// A file at `path` whose data and name (in its own directory) are synced.
fn synced_file(fs: &SimFs, path: &Path, data: &[u8]) {
    let f = fs.create(path).unwrap();
    f.append(data).unwrap();
    f.sync().unwrap();
    fs.sync_dir(path.parent().unwrap()).unwrap();
}

#[test]
fn a_directory_whose_parent_was_not_synced_can_vanish() {
    let fs = SimFs::new(1);
    fs.create_dir(Path::new("/db")).unwrap();
    synced_file(&fs, Path::new("/db/data"), b"synced inside");
    assert!(!fs.dir_is_durable(Path::new("/db")));
    let after = fs.crash();
    assert!(!after.exists(Path::new("/db")).unwrap());
    assert!(after.files().is_empty(), "its synced file went with it");
    assert_eq!(after.list(Path::new("/")).unwrap(), Vec::<String>::new());
    assert!(
        after.create(Path::new("/db/data")).is_err(),
        "no parent any more"
    );
}

#[test]
fn a_synced_parent_keeps_a_new_directory() {
    let fs = SimFs::new(2);
    fs.create_dir(Path::new("/db")).unwrap();
    fs.sync_dir(Path::new("/")).unwrap();
    synced_file(&fs, Path::new("/db/data"), b"kept");
    assert!(fs.dir_is_durable(Path::new("/db")));
    let after = fs.crash();
    assert!(after.exists(Path::new("/db")).unwrap());
    assert_eq!(after.contents(Path::new("/db/data")).unwrap(), b"kept");
}

#[test]
fn a_directory_survives_only_if_every_ancestor_entry_was_synced() {
    let fs = SimFs::new(3);
    fs.create_dir(Path::new("/a/b/c")).unwrap();
    fs.sync_dir(Path::new("/a")).unwrap(); // b's entry, but not a's
    fs.sync_dir(Path::new("/a/b")).unwrap();
    synced_file(&fs, Path::new("/a/b/c/f"), b"x");
    assert!(!fs.dir_is_durable(Path::new("/a/b")));
    let after = fs.crash();
    assert!(!after.exists(Path::new("/a")).unwrap());
    assert!(!after.exists(Path::new("/a/b/c")).unwrap());

    fs.sync_dir(Path::new("/")).unwrap();
    assert!(fs.dir_is_durable(Path::new("/a/b/c")));
    let after = fs.crash();
    assert_eq!(after.contents(Path::new("/a/b/c/f")).unwrap(), b"x");
}

#[test]
fn create_dir_durably_keeps_the_store_directory_and_its_parents() {
    let fs = SimFs::new(4);
    create_dir_durably(&fs, Path::new("/sim/db")).unwrap();
    assert!(fs.dir_is_durable(Path::new("/sim/db")));
    assert!(fs.crash().exists(Path::new("/sim/db")).unwrap());
}

#[test]
fn a_relative_directory_is_durable_once_the_root_is_synced() {
    let fs = SimFs::new(4);
    fs.create_dir(Path::new("rel/db")).unwrap();
    fs.sync_dir(Path::new("rel")).unwrap();
    assert!(!fs.crash().exists(Path::new("rel/db")).unwrap());
    fs.sync_dir(Path::new("")).unwrap();
    assert!(fs.dir_is_durable(Path::new("rel/db")));
    assert!(fs.crash().exists(Path::new("rel/db")).unwrap());
}

#[test]
fn the_roots_always_exist_and_are_durable() {
    let fs = SimFs::new(5);
    for root in ["/", ""] {
        assert!(fs.dir_is_durable(Path::new(root)));
        let after = fs.crash();
        assert!(after.exists(Path::new(root)).unwrap());
        assert_eq!(after.list(Path::new(root)).unwrap(), Vec::<String>::new());
    }
    synced_file(&fs, Path::new("/top"), b"t");
    synced_file(&fs, Path::new("bare"), b"b");
    let after = fs.crash();
    assert_eq!(after.contents(Path::new("/top")).unwrap(), b"t");
    assert_eq!(after.contents(Path::new("bare")).unwrap(), b"b");
}

#[test]
fn unsynced_directories_survive_when_entries_are_kept() {
    let fs = SimFs::new(6);
    fs.create_dir(Path::new("/db/sub")).unwrap();
    let f = fs.create(Path::new("/db/sub/f")).unwrap();
    f.append(b"unsynced").unwrap();
    for mode in [
        CrashMode::process_kill(),
        CrashMode::new(UnsyncedData::Lost, false),
    ] {
        let after = fs.crash_with(mode);
        assert!(after.exists(Path::new("/db/sub")).unwrap(), "{mode:?}");
        assert!(
            after.dir_is_durable(Path::new("/db/sub")),
            "the crashed world is synced"
        );
        assert!(after.contents(Path::new("/db/sub/f")).is_some(), "{mode:?}");
    }
    assert_eq!(
        fs.crash_with(CrashMode::process_kill())
            .contents(Path::new("/db/sub/f"))
            .unwrap(),
        b"unsynced"
    );
}

#[test]
fn a_directory_synced_into_its_parent_stays_after_later_syncs() {
    let fs = SimFs::new(7);
    fs.create_dir(Path::new("/a")).unwrap();
    fs.sync_dir(Path::new("/")).unwrap();
    fs.create_dir(Path::new("/b")).unwrap();
    synced_file(&fs, Path::new("/f"), b"f"); // syncs / again, with /b now
    let after = fs.crash();
    assert!(after.exists(Path::new("/a")).unwrap());
    assert!(after.exists(Path::new("/b")).unwrap());
    assert_eq!(after.list(Path::new("/")).unwrap(), ["a", "b", "f"]);
}
