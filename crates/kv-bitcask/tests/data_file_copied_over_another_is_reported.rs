//! One data file's bytes copied over another's are reported: every data
//! file's header names its own id (format 3), and open reads every header,
//! so the copy is `Corruption` naming the overwritten file under
//! `ReadWrite` and `ReadOnly` (even though that file's own hint is intact
//! and would otherwise spare open from reading its records), changing no
//! byte; `Verify` lists it in `check()`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::damage::{assert_reported, data_path, file_set, store_with_history};
use kv_core::Fs;

#[test]
fn data_file_copied_over_another_is_reported() {
    let (sim, _) = store_with_history(51);
    let set = file_set(&sim);
    let sealed: Vec<u32> = set.sealed.keys().copied().collect();
    let cases = [
        (sealed[0], sealed[1], "a sealed file over another"),
        (
            sealed[1],
            set.active.unwrap(),
            "a sealed file over the active one",
        ),
        (
            set.active.unwrap(),
            sealed[2],
            "the active file over a sealed one",
        ),
    ];
    for (from, onto, what) in cases {
        let (sim, _) = store_with_history(51);
        let bytes = sim.contents(&data_path(from)).unwrap();
        let f = sim.create(&data_path(onto)).unwrap();
        f.append(&bytes).unwrap();
        f.sync().unwrap();
        assert_reported(&sim, &data_path(onto), what);
    }
}
