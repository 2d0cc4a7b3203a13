//! `Store::close` does what a drop does (flush, trim, sync, hint) but
//! reports a failure: a close whose final sync fails returns the error
//! instead of pretending the acknowledged writes reached the disk; a clean
//! close returns `Ok` and the next open finds everything.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::{dir, key, sim_options, value};
use kv_bitcask::Bitcask;
use kv_core::testkit::{FailMode, FaultFs, FaultOp, SimFs};
use kv_core::{Options, Store, SyncPolicy};

#[test]
fn close_reports_a_failed_final_sync() {
    let sim = SimFs::new(13);
    let fault = FaultFs::new(Arc::new(sim.clone()));
    let mut options = sim_options(&sim, 4096);
    options.core = Options::with_fs(Arc::new(fault.clone())).sync(SyncPolicy::Manual);
    let store: Box<dyn Store> = Box::new(Bitcask::open(dir(), options).unwrap());
    store.put(&key(1), &value(1, 0, 40)).unwrap();
    fault.fail_nth(FaultOp::Sync, 0, FailMode::FromThenOn);
    let err = store.close().unwrap_err();
    assert!(err.to_string().contains("injected fault"), "{err}");
}

#[test]
fn clean_close_is_ok_and_loses_nothing() {
    let sim = SimFs::new(14);
    let store: Box<dyn Store> = Box::new(Bitcask::open(dir(), sim_options(&sim, 4096)).unwrap());
    for i in 0..50 {
        store.put(&key(i), &value(i, 0, 100)).unwrap();
    }
    store.close().unwrap();
    let crashed = sim.crash(); // only what close synced survives
    let store = Bitcask::open(dir(), sim_options(&crashed, 4096)).unwrap();
    for i in 0..50 {
        assert_eq!(store.get(&key(i)).unwrap(), Some(value(i, 0, 100)));
    }
}
