//! A data file that is missing while the store knows it existed is
//! reported: one whose hint is left, one removed together with its hint
//! (the file set lists it), and the active file. The store knows its own
//! file set; open fails with `Corruption` naming the missing file under
//! `ReadWrite` and `ReadOnly`, changing no byte (the orphan hint is kept),
//! and `Verify` lists it in `check()`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::damage::{assert_reported, data_path, file_set, hint_path, store_with_history};
use common::dir;
use kv_core::Fs;

#[test]
fn missing_data_file_is_reported() {
    let (sim, _) = store_with_history(41);
    let set = file_set(&sim);
    let sealed: Vec<u32> = set.sealed.keys().copied().collect();
    let cases = [
        (sealed[0], false, "sealed file removed, its hint left"),
        (sealed[2], true, "sealed file removed with its hint"),
        (
            set.active.unwrap(),
            true,
            "active file removed with its hint",
        ),
    ];
    for (id, with_hint, what) in cases {
        let (sim, _) = store_with_history(41);
        sim.remove(&data_path(id)).unwrap();
        if with_hint {
            sim.remove(&hint_path(id)).unwrap();
        }
        sim.sync_dir(dir()).unwrap();
        assert_reported(&sim, &data_path(id), what);
        assert_eq!(sim.contents(&hint_path(id)).is_some(), !with_hint);
    }
}
