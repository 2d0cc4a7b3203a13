//! Damage from the command line: `kv check` on a damaged store lists every
//! damaged spot, exits 4, gives the same answer twice and changes no byte;
//! `kv salvage --to NEW_DIR` copies every intact pair into a new store,
//! reports what it left behind, and never modifies the source.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::{fails_with, kv, ok, snapshot, stdout};

const KEYS: usize = 20;

fn key(i: usize) -> String {
    format!("key{i:02}")
}

fn value(i: usize) -> String {
    format!("{i:02}-").repeat(60)
}

/// The data file: the one that holds the first key's bytes.
fn data_file(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "data"))
        .find(|p| {
            let bytes = std::fs::read(p).unwrap();
            bytes.windows(5).any(|w| w == key(0).as_bytes())
        })
        .expect("a data file holding the keys")
}

/// A store of [`KEYS`] pairs whose values of keys 3 and 15 have one byte
/// flipped (checksum failures with valid records after them).
fn damaged_store(dir: &Path) -> [usize; 2] {
    for i in 0..KEYS {
        ok(kv(dir, &["put", &key(i), &value(i)]));
    }
    ok(kv(dir, &["check"]));
    let file = data_file(dir);
    let mut bytes = std::fs::read(&file).unwrap();
    let damaged = [3, 15];
    for i in damaged {
        let needle = format!("{}{}", key(i), &value(i)[..6]);
        let at = bytes
            .windows(needle.len())
            .position(|w| w == needle.as_bytes())
            .expect("the key and value in the data file");
        bytes[at + needle.len() + 10] ^= 0x20;
    }
    std::fs::write(&file, &bytes).unwrap();
    damaged
}

#[test]
fn check_lists_every_damaged_spot_exits_4_twice_alike_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    damaged_store(d);
    let before = snapshot(d);
    let first = kv(d, &["check"]);
    let first_listing = stdout(&first);
    let first_line = fails_with(first, 4);
    let second = kv(d, &["check"]);
    let second_listing = stdout(&second);
    let second_line = fails_with(second, 4);
    assert_eq!(first_listing, second_listing);
    assert_eq!(first_line, second_line);
    assert_eq!(snapshot(d), before, "check changed the store");
    let spots: Vec<&str> = first_listing
        .lines()
        .filter(|l| l.starts_with("  ") && l.contains(" at offset "))
        .collect();
    // Each flipped record is a spot of its own in the data file (the hint
    // file, whose record count no longer matches, may add one of its own).
    let in_data = spots
        .iter()
        .filter(|l| l.contains(".data at offset"))
        .count();
    assert_eq!(in_data, 2, "{first_listing}");
    let header = format!("damage: {} damaged spots", spots.len());
    assert!(first_listing.contains(&header), "{first_listing}");
    assert!(
        first_line.contains(&format!("{} damaged spots", spots.len())),
        "{first_line}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&kv(d, &["check", "--json"]))).unwrap();
    assert_eq!(
        json["damage"].as_array().unwrap().len(),
        spots.len(),
        "{json}"
    );
}

#[test]
fn salvage_copies_every_intact_pair_and_leaves_the_source_alone() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let damaged = damaged_store(&source);
    let before = snapshot(&source);
    let target = dir.path().join("salvaged");
    let report = ok(kv(&source, &["salvage", "--to", target.to_str().unwrap()]));
    assert_eq!(snapshot(&source), before, "salvage changed the source");
    let in_data = report
        .lines()
        .filter(|l| l.contains(".data at offset"))
        .count();
    assert_eq!(in_data, 2, "{report}");
    // Whether the engine's verify open already dropped the damaged pairs
    // or its scan stops at them ("unreadable pairs skipped"), every intact
    // pair is copied.
    let intact: Vec<usize> = (0..KEYS).filter(|i| !damaged.contains(i)).collect();
    assert!(
        report.starts_with(&format!("copied {} pairs into ", intact.len())),
        "{report}"
    );
    let expected: String = intact
        .iter()
        .map(|&i| format!("{}\t{}\n", key(i), value(i)))
        .collect();
    assert_eq!(ok(kv(&target, &["scan"])), expected);
    ok(kv(&target, &["check"]));
}

#[test]
fn salvage_refuses_a_target_that_is_not_empty() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    ok(kv(&source, &["put", "k", "v"]));
    let target = dir.path().join("busy");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("file"), b"x").unwrap();
    let before = snapshot(dir.path());
    let line = fails_with(
        kv(&source, &["salvage", "--to", target.to_str().unwrap()]),
        2,
    );
    assert!(line.contains("is not empty"), "{line}");
    let line = fails_with(
        kv(&source, &["salvage", "--to", source.to_str().unwrap()]),
        2,
    );
    assert!(line.contains("is not empty"), "{line}");
    assert_eq!(snapshot(dir.path()), before);
}
