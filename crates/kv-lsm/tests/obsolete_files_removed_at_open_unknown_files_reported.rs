//! At open, files the manifest proves obsolete (an unnamed table left by a
//! crashed flush, a WAL below the log number) are removed; a file the engine
//! does not know is left alone and reported in `check()` notes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::{key, open, value};
use kv_core::testkit::SimFs;
use kv_core::{Fs, Store};

#[test]
fn obsolete_files_removed_at_open_unknown_files_reported() {
    let sim = SimFs::new(9);
    let store = open(&sim);
    for i in 0..200 {
        store.put(&key(i), &value(i, 0, 50)).unwrap();
    }
    drop(store);
    let orphan = Path::new("/sim/db/999990.sst");
    let old_wal = Path::new("/sim/db/000001.log");
    let junk = Path::new("/sim/db/notes.txt");
    for p in [orphan, old_wal, junk] {
        let f = sim.create(p).unwrap();
        f.append(b"left over").unwrap();
        f.sync().unwrap();
    }
    sim.sync_dir(Path::new("/sim/db")).unwrap();
    let store = open(&sim);
    assert!(!sim.exists(orphan).unwrap(), "the unnamed table was kept");
    assert!(!sim.exists(old_wal).unwrap(), "the obsolete WAL was kept");
    assert!(sim.exists(junk).unwrap(), "an unknown file was deleted");
    let report = store.check().unwrap();
    assert!(report.damage.is_empty(), "{:?}", report.damage);
    assert!(
        report.notes.iter().any(|n| n.contains("notes.txt")),
        "{:?}",
        report.notes
    );
    for i in 0..200 {
        assert_eq!(store.get(&key(i)).unwrap(), Some(value(i, 0, 50)));
    }
}
