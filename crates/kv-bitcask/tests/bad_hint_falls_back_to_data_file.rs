//! A hint is an optimization, never a source of truth: a hint that is
//! damaged, truncated, or for another data file is ignored, its data file
//! is scanned (every CRC checked), the store opens with all its data, and
//! open writes a good hint back. A valid hint claiming more bytes than its
//! data file has is different: a hint is written only after the bytes it
//! covers were synced, so it proves durable data is gone, and open reports
//! the data file as damaged (`Corruption`) instead of falling back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use common::{assert_matches, dir, key, open, sim_options, value};
use kv_bitcask::hint::{decode_hint, encode_hint};
use kv_bitcask::Bitcask;
use kv_core::testkit::{Model, SimFs};
use kv_core::{Error, Fs, Store};

const MAX_FILE_BYTES: u64 = 1024;

fn hints(sim: &SimFs) -> Vec<PathBuf> {
    sim.files()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "hint"))
        .collect()
}

fn id_of(path: &std::path::Path) -> u32 {
    path.file_stem().unwrap().to_str().unwrap().parse().unwrap()
}

#[test]
fn bad_hint_falls_back_to_data_file() {
    let sim = SimFs::new(7);
    let store = open(&sim, MAX_FILE_BYTES);
    let mut model = Model::new();
    for i in 0..120 {
        let v = value(i, 1, 60);
        store.put(&key(i), &v).unwrap();
        model.put(&key(i), &v);
    }
    for i in (0..120).step_by(3) {
        store.delete(&key(i)).unwrap();
        model.delete(&key(i));
    }
    drop(store); // a clean close hints the active file too

    let store = open(&sim, MAX_FILE_BYTES);
    let stats = store.stats();
    assert_eq!(
        stats.extra["data_files_scanned_at_open"], 0,
        "every file has a hint"
    );
    assert_eq!(stats.extra["hints_loaded_at_open"], stats.extra["files"]);
    assert_matches(&store, &model, "opened from hints");
    drop(store);

    let hints = hints(&sim);
    assert!(hints.len() >= 5, "only {} hint files", hints.len());
    // 1: a flipped byte in the middle (checksum mismatch).
    let flipped = &hints[0];
    let len = sim.contents(flipped).unwrap().len() as u64;
    assert!(sim.corrupt(
        flipped,
        len / 2,
        &[0xA5 ^ sim.contents(flipped).unwrap()[len as usize / 2]]
    ));
    // 2: cut short.
    assert!(sim.set_len_durably(&hints[1], 30));
    // 3: a valid hint, but of another data file.
    let other = sim.contents(&hints[3]).unwrap();
    let f = sim.create(&hints[2]).unwrap();
    f.append(&other).unwrap();
    f.sync().unwrap();
    let store = open(&sim, MAX_FILE_BYTES);
    let stats = store.stats();
    assert_eq!(stats.extra["data_files_scanned_at_open"], 3);
    assert_eq!(stats.extra["hints_rebuilt_at_open"], 3);
    assert_matches(&store, &model, "after falling back to the data files");
    let report = store.check().unwrap();
    assert!(
        report.notes.iter().filter(|n| n.contains("hint")).count() >= 3,
        "open's notes name the bad hints: {:?}",
        report.notes
    );
    drop(store);

    // The rebuilt hints are good: the next open scans nothing.
    let store = open(&sim, MAX_FILE_BYTES);
    assert_eq!(store.stats().extra["data_files_scanned_at_open"], 0);
    assert_matches(&store, &model, "opened from rebuilt hints");
    store.check().unwrap();
    drop(store);

    // 4: a valid hint claiming more bytes than its data file has proves
    // that synced bytes are gone: the data file is reported, not scanned.
    let id = id_of(&hints[4]);
    let mut hint = decode_hint(&sim.contents(&hints[4]).unwrap(), &hints[4], id).unwrap();
    hint.covered_len += 1_000_000;
    let f = sim.create(&hints[4]).unwrap();
    f.append(&encode_hint(&hint)).unwrap();
    f.sync().unwrap();
    let data = hints[4].with_extension("data");
    match Bitcask::open(dir(), sim_options(&sim, MAX_FILE_BYTES)) {
        Err(Error::Corruption { file, .. }) => assert_eq!(file, data),
        other => panic!(
            "expected Corruption naming {}, got {other:?}",
            data.display()
        ),
    }
}

#[test]
fn missing_hint_of_the_reused_active_file_is_scanned_past_its_coverage() {
    let sim = SimFs::new(8);
    let store = open(&sim, 1 << 20);
    let mut model = Model::new();
    for i in 0..50 {
        store.put(&key(i), &value(i, 1, 40)).unwrap();
        model.put(&key(i), &value(i, 1, 40));
    }
    drop(store); // hint covers the first 50 puts
    let store = open(&sim, 1 << 20);
    for i in 25..75 {
        store.put(&key(i), &value(i, 2, 40)).unwrap();
        model.put(&key(i), &value(i, 2, 40));
    }
    store.sync().unwrap();
    // Power loss without a clean close: the hint covers only a prefix.
    let crashed = sim.crash();
    drop(store);
    let store = open(&crashed, 1 << 20);
    let stats = store.stats();
    assert_eq!(stats.extra["hints_loaded_at_open"], 1);
    assert_eq!(
        stats.extra["data_files_scanned_at_open"], 1,
        "the unhinted tail is scanned"
    );
    assert_matches(&store, &model, "hint for the prefix, scan for the rest");
    store.check().unwrap();
}
