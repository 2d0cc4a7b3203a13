//! A merge reads its inputs strictly, whatever `salvage` says: damage it
//! meets in a sealed file aborts it with `Corruption` naming the file and
//! the spot, deletes nothing and changes no input, is counted in
//! `stats().extra["merge_failures"]`, and `check()` reports it as damage.
//! Every other key is still served, and the next automatic merges back off.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::damage::{data_path, file_set, snapshot, store_with_history, MAX_FILE_BYTES};
use common::{dir, key, sim_options};
use kv_bitcask::Bitcask;
use kv_core::{Error, Store};

#[test]
fn merge_meeting_damage_returns_the_error_and_loses_nothing() {
    let (sim, model) = store_with_history(71);
    let store = Bitcask::open(dir(), sim_options(&sim, MAX_FILE_BYTES)).unwrap();
    let (&id, _) = file_set(&sim).sealed.iter().nth(1).unwrap();
    let path = data_path(id);
    // A flipped byte inside the second record's value (after the open, so
    // the open did not see it; the file's hint spared it from reading).
    let at = 24 + 81 + 60;
    let byte = sim.contents(&path).unwrap()[at as usize];
    assert!(sim.corrupt(&path, at, &[byte ^ 0x40]));
    let sealed: Vec<u32> = file_set(&sim).sealed.keys().copied().collect();
    let before = snapshot(&sim);
    match store.compact() {
        Err(Error::Corruption { file, offset, .. }) => {
            assert_eq!(file, path);
            assert!(offset <= at, "the damaged record starts at or before {at}");
        }
        other => panic!("expected the merge to fail with Corruption, got {other:?}"),
    }
    assert_eq!(store.stats().extra["merge_failures"], 1);
    assert_eq!(store.stats().extra["merges_run"], 0);
    // `compact` may have rolled the active file over first; no input was
    // deleted or changed, and no output was left behind.
    let after = snapshot(&sim);
    for id in sealed {
        assert_eq!(
            after.get(&data_path(id)),
            before.get(&data_path(id)),
            "file {id}"
        );
    }
    assert!(
        !after.keys().any(|p| p.to_string_lossy().ends_with(".tmp")),
        "the merge's output was removed"
    );
    let report = store.check().unwrap();
    assert!(report.damage.iter().any(|d| d.file == path), "{report:?}");
    // Nothing lost: every key is served, except the one whose record is
    // damaged, which is Corruption, never another value.
    let mut damaged = 0;
    for (k, v) in model.map() {
        match store.get(k) {
            Ok(got) => assert_eq!(got.as_deref(), Some(&v[..])),
            Err(e) => {
                assert!(e.is_corruption(), "{e}");
                damaged += 1;
            }
        }
    }
    assert!(damaged <= 1, "{damaged} keys unreadable");
    assert!(store.get(&key(1000)).unwrap().is_none());
}
