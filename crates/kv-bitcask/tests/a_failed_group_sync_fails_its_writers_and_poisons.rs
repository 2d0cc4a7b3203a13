//! Under `SyncPolicy::Always` with several writer threads, one failed file
//! sync fails the writers of its group (the leader with the I/O error, the
//! rest with `Poisoned`) and poisons the store: no thread sees `Ok` after one
//! of its writes failed, every later write is `Poisoned`, and every write
//! that returned `Ok` survives a power loss.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::{always_options, dir};
use kv_bitcask::Bitcask;
use kv_core::testkit::{FailMode, FaultFs, FaultOp, SeedGuard, SimFs};
use kv_core::{Error, Options, Store, SyncPolicy};

const THREADS: usize = 4;
const PUTS_PER_THREAD: usize = 40;

fn key(t: usize, i: usize) -> Vec<u8> {
    format!("t{t}-{i:04}").into_bytes()
}

fn value(t: usize, i: usize) -> Vec<u8> {
    format!("value of thread {t} put {i}").into_bytes()
}

/// Runs one writer thread's puts; returns each put's outcome.
fn writer(store: &Bitcask, t: usize) -> Vec<Result<(), Error>> {
    (0..PUTS_PER_THREAD)
        .map(|i| store.put(&key(t, i), &value(t, i)))
        .collect()
}

#[test]
fn a_failed_group_sync_fails_its_writers_and_poisons() {
    let guard = SeedGuard::new("a_failed_group_sync_fails_its_writers_and_poisons");
    let sim = SimFs::new(guard.seed());
    let fault = FaultFs::new(Arc::new(sim.clone()));
    let mut options = always_options(&sim, 2048, 512);
    options.core = Options::with_fs(Arc::new(fault.clone())).sync(SyncPolicy::Always);
    let store = Arc::new(Bitcask::open(dir(), options).unwrap());
    // A sync covers at most one put of each thread (a thread's next put is
    // appended only after its previous one returned), so the threads'
    // PUTS_PER_THREAD sequential puts need at least that many syncs: the
    // chosen one always happens, whatever the interleaving.
    let nth = guard.seed() % (PUTS_PER_THREAD as u64 - 10);
    fault.fail_nth(FaultOp::Sync, nth, FailMode::Once);
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || writer(&store, t))
        })
        .collect();
    let outcomes: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(fault.injected(), 1, "the chosen sync did not happen");

    let mut injected_errors = 0;
    for (t, results) in outcomes.iter().enumerate() {
        let first_err = results.iter().position(Result::is_err);
        if let Some(first) = first_err {
            assert!(
                results[first..].iter().all(Result::is_err),
                "thread {t} saw Ok after its put {first} failed: {results:?}"
            );
        }
        for err in results.iter().filter_map(|r| r.as_ref().err()) {
            match err {
                Error::Io(e) if e.to_string().contains("injected fault") => injected_errors += 1,
                Error::Poisoned { .. } => {}
                other => panic!("thread {t}: unexpected error {other}"),
            }
        }
    }
    assert_eq!(
        injected_errors, 1,
        "exactly the failed sync's leader gets its error; the rest of its group gets Poisoned"
    );
    let later = store.put(b"later", b"write").unwrap_err();
    assert!(matches!(later, Error::Poisoned { .. }), "{later}");

    // Power loss: every acknowledged put survives.
    let crashed = sim.crash();
    drop(store);
    let reopened = Bitcask::open(dir(), always_options(&crashed, 2048, 512)).unwrap();
    for (t, results) in outcomes.iter().enumerate() {
        for (i, r) in results.iter().enumerate() {
            if r.is_ok() {
                assert_eq!(
                    reopened.get(&key(t, i)).unwrap(),
                    Some(value(t, i)),
                    "acknowledged put {i} of thread {t} lost"
                );
            }
        }
    }
    reopened.check().unwrap();
}
