//! A crash during the first open can leave the page file shorter than the
//! two commit slots, or holding a torn prefix of them: no commit was ever
//! durable. Every open mode then opens an empty store whose `check()` lists
//! no damage (a torn first commit is not corruption).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{file, options, small_shape, DIR};
use kv_btree::Btree;
use kv_core::testkit::SimFs;
use kv_core::{Fs, OpenMode, Store, StoreExt, SyncPolicy};

fn open_in(sim: &SimFs, mode: OpenMode) -> Btree {
    let mut opts = options(Arc::new(sim.clone()), SyncPolicy::Always, small_shape());
    opts.core = opts.core.open_mode(mode);
    Btree::open(Path::new(DIR), opts).unwrap_or_else(|e| panic!("{mode:?} open failed: {e}"))
}

#[test]
fn torn_first_commit_opens_empty_on_every_handle() {
    let full = {
        let sim = SimFs::new(1);
        drop(common::open(&sim, SyncPolicy::Always, small_shape()));
        sim.contents(&file()).unwrap()
    };
    for cut in [0usize, 100, 4096, 4097, 6000, full.len() - 1] {
        for mode in [OpenMode::ReadOnly, OpenMode::Verify, OpenMode::ReadWrite] {
            let sim = SimFs::new(2);
            drop(common::open(&sim, SyncPolicy::Always, small_shape()));
            let f = sim.open(&file()).unwrap();
            f.truncate(cut as u64).unwrap();
            f.sync().unwrap();
            drop(f);
            // The second half of what reached the disk is garbage.
            let garbage = vec![0x5a; cut - cut / 2];
            if !garbage.is_empty() {
                assert!(sim.corrupt(&file(), (cut / 2) as u64, &garbage));
            }
            let store = open_in(&sim, mode);
            assert!(store.scan_all().unwrap().is_empty(), "cut {cut} {mode:?}");
            let report = store.check().unwrap();
            assert!(
                report.is_clean(),
                "cut {cut} {mode:?}: a torn first commit listed as damage: {:?}",
                report.damage
            );
        }
    }
}
