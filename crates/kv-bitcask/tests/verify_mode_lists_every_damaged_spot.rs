//! `OpenMode::Verify` records damage instead of failing: on a store with
//! three separate damaged records (two in one sealed file, one in another)
//! a normal open fails with `Corruption`, while a `Verify` open succeeds,
//! serves every intact key, and `check()` lists exactly the three damaged
//! spots, in file and offset order, changing no byte.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{data_files, dir, key, sim_options, value};
use kv_bitcask::Bitcask;
use kv_core::testkit::SimFs;
use kv_core::{OpenMode, Store, StoreExt};

const VALUE_BYTES: usize = 100;

fn record_bytes() -> u64 {
    23 + key(0).len() as u64 + VALUE_BYTES as u64
}

#[test]
fn verify_mode_lists_every_damaged_spot() {
    let sim = SimFs::new(5);
    let store = Bitcask::open(dir(), sim_options(&sim, 1024)).unwrap();
    for i in 0..30 {
        store.put(&key(i), &value(i, 0, VALUE_BYTES)).unwrap();
    }
    drop(store);
    // Remove the hints, so open scans the data (hints only save the scan).
    for hint in sim
        .files()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "hint"))
    {
        assert!(sim.set_len_durably(&hint, 0));
    }
    let files = data_files(&sim);
    assert!(files.len() >= 3, "{files:?}");
    let r = record_bytes();
    let spots = [
        (&files[0], 24 + 30),
        (&files[0], 24 + 2 * r + 40),
        (&files[1], 24 + r + 50),
    ];
    for (file, at) in spots {
        assert!(sim.corrupt(file, at, b"#"));
    }
    let err = Bitcask::open(dir(), sim_options(&sim, 1024)).unwrap_err();
    assert!(err.is_corruption(), "{err}");
    let before: Vec<_> = sim.files().into_iter().map(|p| sim.contents(&p)).collect();
    let mut options = sim_options(&sim, 1024);
    options.core = options.core.open_mode(OpenMode::Verify);
    let store = Bitcask::open(dir(), options).unwrap();
    let report = store.check().unwrap();
    let found: Vec<_> = report.damage.iter().map(|d| (&d.file, d.offset)).collect();
    let expected = vec![
        (&files[0], 24),
        (&files[0], 24 + 2 * r),
        (&files[1], 24 + r),
    ];
    assert_eq!(found, expected, "{report:?}");
    // The intact keys are served; the damaged ones are missing.
    assert_eq!(store.scan_all().unwrap().len(), 30 - 3);
    drop(store);
    let after: Vec<_> = sim.files().into_iter().map(|p| sim.contents(&p)).collect();
    assert_eq!(before, after, "a verify open changed a byte");
}
