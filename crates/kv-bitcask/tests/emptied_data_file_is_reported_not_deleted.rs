//! A data file emptied to 0 bytes, or cut to its header, is reported, never
//! deleted with its hint: its hint (or the file set, for a file whose
//! header was made durable before it was listed) proves it held records.
//! Open fails with `Corruption` naming the file under `ReadWrite` and
//! `ReadOnly`, changing no byte; `Verify` lists it in `check()`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::damage::{assert_reported, data_path, file_set, store_with_history};

#[test]
fn emptied_data_file_is_reported_not_deleted() {
    for (cut, what) in [
        (0, "emptied"),
        (24, "cut to its header"),
        (10, "cut inside its header"),
    ] {
        let (sim, _) = store_with_history(31);
        let set = file_set(&sim);
        let sealed = *set.sealed.keys().nth(1).unwrap();
        for id in [sealed, set.active.unwrap()] {
            let (sim, _) = store_with_history(31);
            assert!(sim.set_len_durably(&data_path(id), cut));
            assert_reported(&sim, &data_path(id), &format!("file {id} {what}"));
            assert!(sim.contents(&data_path(id)).is_some(), "never deleted");
        }
    }
}
