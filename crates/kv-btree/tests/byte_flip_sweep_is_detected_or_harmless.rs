//! A byte flipped anywhere in a cleanly closed store file (slots, branch
//! and leaf pages, overflow runs, the free list, free pages, padding) is
//! detected: open fails with `Corruption`, or a read or `check()` reports
//! it, and under `OpenMode::Verify` the store opens and `check()` lists
//! it. No read ever returns data that was not written.
//!
//! The one exception is the protocol's own: a flip in the newest commit
//! slot, or in a page the newest commit wrote (its one-fsync commit is
//! trusted only if every such page verifies), makes it look torn, and open
//! takes the other slot, the previous durable commit, whole (a prefix of
//! what was written; `Verify` lists the bad slot or page, and a page's
//! fall-back shows in `torn_commit_fell_back`). A torn commit cannot be
//! told from one damaged after it was acknowledged.
//! And a flip in the older slot, or in the free page the free list goes to
//! next, is healed rather than reported by a read-write open whose first
//! durable commit rewrites that page (a `Verify` open lists it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{file, key, open, options, small_shape, value, DIR};
use kv_btree::page::PAGE_BYTES;
use kv_btree::Btree;
use kv_core::testkit::{Model, SimFs};
use kv_core::{Error, OpenMode, Store, StoreExt, SyncPolicy};

/// Bytes between flips (a prime, so every offset within a page is hit).
const STEP: usize = 251;

fn written() -> (SimFs, Model, Model) {
    let sim = SimFs::new(21);
    let store = open(&sim, SyncPolicy::Manual, small_shape());
    let mut model = Model::new();
    for i in 0..120 {
        let v = value(i, 0, if i % 17 == 0 { 6000 } else { i % 90 });
        store.put(&key(i), &v).unwrap();
        model.put(&key(i), &v);
    }
    store.sync().unwrap();
    let previous = model.clone();
    for i in (0..120).step_by(4) {
        store.delete(&key(i)).unwrap();
        model.delete(&key(i));
    }
    drop(store);
    (sim, model, previous)
}

/// True if open passed over the newest commit as torn.
fn fell_back(store: &Btree) -> bool {
    store.stats().extra.get("torn_commit_fell_back") == Some(&1)
}

/// True if the flip was detected; panics on wrong data.
fn reads_agree_or_fail(store: &Btree, model: &Model, at: u64) -> bool {
    let mut detected = false;
    for (k, v) in model.map() {
        match store.get(k) {
            Ok(got) => assert!(
                got.as_deref() == Some(v.as_slice()),
                "flip at {at}: wrong data"
            ),
            Err(e) if e.is_corruption() => detected = true,
            Err(e) => panic!("flip at {at}: {e}"),
        }
    }
    match store.scan_all() {
        Ok(all) => assert!(
            all == model.pairs(),
            "flip at {at}: the scan returned other data"
        ),
        Err(e) => assert!(e.is_corruption(), "flip at {at}: {e}"),
    }
    detected
}

#[test]
fn byte_flip_sweep_is_detected_or_harmless() {
    let (sim, model, previous) = written();
    let len = sim.contents(&file()).unwrap().len() as u64;
    let mut detected = 0;
    let mut harmless = 0;
    for at in (0..len).step_by(STEP) {
        let world = sim.crash_with(kv_core::testkit::CrashMode {
            unsynced: kv_core::testkit::UnsyncedData::Kept,
            forget_unsynced_dir_entries: false,
        });
        let old = world.contents(&file()).unwrap()[at as usize];
        assert!(world.corrupt(&file(), at, &[old ^ 0x21]));
        let mut verify_options =
            options(Arc::new(world.clone()), SyncPolicy::Manual, small_shape());
        verify_options.core = verify_options.core.open_mode(OpenMode::Verify);
        let verify = Btree::open(Path::new(DIR), verify_options)
            .unwrap_or_else(|e| panic!("flip at {at}: a Verify open failed: {e}"));
        let listed = !verify.check().unwrap().is_clean();
        drop(verify);
        match common::try_open(&world, SyncPolicy::Manual, small_shape()) {
            Err(Error::Corruption { .. }) => {
                assert!(
                    listed,
                    "flip at {at}: open refused it but Verify's check() lists nothing"
                );
                detected += 1;
            }
            Err(e) => panic!("flip at {at}: open failed with {e}"),
            Ok(store)
                if (at < 2 * PAGE_BYTES as u64 || fell_back(&store))
                    && store.scan_all().unwrap() != model.pairs() =>
            {
                assert!(
                    listed,
                    "flip at {at}: a slot fell back but Verify lists nothing"
                );
                reads_agree_or_fail(&store, &previous, at);
                detected += 1;
            }
            Ok(store) => {
                let by_reads = reads_agree_or_fail(&store, &model, at);
                let by_check = !store.check().unwrap().is_clean();
                if by_reads || by_check {
                    assert!(
                        listed,
                        "flip at {at}: found by reads but Verify's check() lists nothing"
                    );
                    detected += 1;
                } else {
                    // Healed: the read-write open's first durable commit
                    // rewrote the damaged page (the older slot, or the free
                    // page its free list went to). Verify saw it.
                    assert!(listed, "flip at {at}: Verify's check() lists nothing");
                    harmless += 1;
                }
            }
        }
    }
    assert!(detected > 0);
    println!("{detected} flips detected, {harmless} harmless");
    assert!(
        harmless <= 3 * (PAGE_BYTES / STEP) as u64,
        "{harmless} flips healed, more than the pages an open rewrites"
    );
}
