//! Whole-file damage to a bitcask store through the `kv` binary: for every
//! damage class (a sealed file cut at a record boundary, the newest file
//! cut below its hint, a file emptied, a file missing, a file copied over
//! another), `kv get` exits 4 naming the damaged file, and `kv check` exits
//! 4 listing it, twice in a row with the same output, and no byte of the
//! store changes. A stray file with no record is harmless: `kv get` serves
//! the data and `kv check` exits 0.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::{fails_with, kv, ok, snapshot, stdout};
use kv_bitcask::file_set::read_file_set;
use kv_bitcask::{Bitcask, BitcaskOptions, MergePolicy};
use kv_core::{StdFs, Store};

fn key(i: usize) -> String {
    format!("key{i:03}")
}

fn value(i: usize, version: usize) -> String {
    format!("v{version}-{i:03}-").repeat(6)
}

/// A store of small files: several sealed files with hints, a finished
/// merge, more sealed files, and a hinted active file (closed cleanly).
fn store_with_history(dir: &Path) {
    let options = BitcaskOptions {
        max_file_bytes: 1024,
        merge: MergePolicy::manual(),
        ..BitcaskOptions::default()
    };
    let store = Bitcask::open(dir, options).unwrap();
    for i in 0..60 {
        store
            .put(key(i).as_bytes(), value(i, 1).as_bytes())
            .unwrap();
    }
    for i in (0..60).step_by(4) {
        store.delete(key(i).as_bytes()).unwrap();
    }
    store.compact().unwrap();
    for i in 30..70 {
        store
            .put(key(i).as_bytes(), value(i, 2).as_bytes())
            .unwrap();
    }
    Box::new(store).close().unwrap();
}

fn data(dir: &Path, id: u32) -> PathBuf {
    dir.join(format!("{id:010}.data"))
}

/// Ids of the sealed files and of the active file.
fn files(dir: &Path) -> (Vec<u32>, u32) {
    let set = read_file_set(&StdFs, dir).unwrap().unwrap();
    (set.sealed.keys().copied().collect(), set.active.unwrap())
}

/// Asserts the two commands report `file`, alike twice, changing nothing.
fn assert_reported(dir: &Path, file: &Path, what: &str) {
    let name = file.file_name().unwrap().to_str().unwrap();
    let before = snapshot(dir);
    let line = fails_with(kv(dir, &["get", &key(33)]), 4);
    assert!(line.contains(name), "{what}: kv get names {name}: {line}");
    let first = kv(dir, &["check"]);
    let first_out = stdout(&first);
    let first_line = fails_with(first, 4);
    let second = kv(dir, &["check"]);
    let second_out = stdout(&second);
    let second_line = fails_with(second, 4);
    assert_eq!(first_out, second_out, "{what}: two checks alike");
    assert_eq!(first_line, second_line, "{what}");
    assert!(
        first_out
            .lines()
            .any(|l| l.starts_with("  ") && l.contains(name)),
        "{what}: kv check lists {name}:\n{first_out}"
    );
    assert!(
        snapshot(dir) == before,
        "{what}: the commands changed the store"
    );
}

/// A fresh copy of the pristine store in `root/name`.
fn copy_of(pristine: &Path, root: &Path, name: &str) -> PathBuf {
    let to = root.join(name);
    std::fs::create_dir(&to).unwrap();
    for entry in std::fs::read_dir(pristine).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
    to
}

fn cut(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

#[test]
fn kv_get_and_check_exit_4_naming_the_damaged_file() {
    let root = tempfile::tempdir().unwrap();
    let pristine = root.path().join("pristine");
    store_with_history(&pristine);
    ok(kv(&pristine, &["check"]));
    let (sealed, active) = files(&pristine);
    assert!(sealed.len() >= 4, "{sealed:?}");

    let d = copy_of(&pristine, root.path(), "cut-sealed");
    let len = std::fs::metadata(data(&d, sealed[1])).unwrap().len();
    cut(&data(&d, sealed[1]), len - 81); // one 81-byte record: a record boundary
    assert_reported(&d, &data(&d, sealed[1]), "sealed file cut");

    let d = copy_of(&pristine, root.path(), "cut-newest");
    cut(&data(&d, active), 100);
    assert_reported(&d, &data(&d, active), "newest file cut below its hint");

    let d = copy_of(&pristine, root.path(), "emptied");
    cut(&data(&d, sealed[0]), 0);
    assert_reported(&d, &data(&d, sealed[0]), "sealed file emptied");

    let d = copy_of(&pristine, root.path(), "missing");
    std::fs::remove_file(data(&d, sealed[2])).unwrap();
    std::fs::remove_file(d.join(format!("{:010}.hint", sealed[2]))).unwrap();
    assert_reported(&d, &data(&d, sealed[2]), "file removed with its hint");

    let d = copy_of(&pristine, root.path(), "copied");
    std::fs::copy(data(&d, sealed[0]), data(&d, sealed[3])).unwrap();
    assert_reported(&d, &data(&d, sealed[3]), "file copied over another");
}

#[test]
fn a_stray_file_without_records_is_harmless_to_readers() {
    let root = tempfile::tempdir().unwrap();
    let pristine = root.path().join("pristine");
    store_with_history(&pristine);
    let (sealed, _) = files(&pristine);
    let d = copy_of(&pristine, root.path(), "stray");
    let stray = (1..)
        .find(|id| !sealed.contains(id) && !data(&d, *id).exists())
        .unwrap();
    std::fs::write(data(&d, stray), b"").unwrap();
    let before = snapshot(&d);
    assert_eq!(ok(kv(&d, &["get", &key(33)])).trim_end(), value(33, 2));
    ok(kv(&d, &["check"]));
    assert!(snapshot(&d) == before, "reads and check changed nothing");
}
