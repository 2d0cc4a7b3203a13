//! Under `SyncPolicy::Always` with several writer threads, one failed WAL
//! sync fails the writers of its group (the leader with the I/O error, the
//! rest with `Poisoned`) and poisons the store: no thread sees `Ok` after one
//! of its writes failed, every later write is `Poisoned`, no failed write is
//! ever visible, and every write that returned `Ok` survives a power loss.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod gate;

use std::sync::Arc;

use common::{dir, key, value};
use gate::GateFs;
use kv_core::testkit::{FailMode, FaultFs, FaultOp, SeedGuard, SimFs};
use kv_core::{Background, Error, Fs, Options, Store, SyncPolicy};
use kv_lsm::{Lsm, LsmOptions};

const THREADS: usize = 4;
const PUTS_PER_THREAD: usize = 40;

fn always(fs: Arc<dyn Fs>) -> LsmOptions {
    // Default sizes: no flush runs, every sync is a WAL (group) sync.
    LsmOptions::new(
        Options::with_fs(fs)
            .sync(SyncPolicy::Always)
            .background(Background::Inline),
    )
}

fn thread_key(t: usize, i: usize) -> Vec<u8> {
    format!("t{t}-{i:04}").into_bytes()
}

fn thread_value(t: usize, i: usize) -> Vec<u8> {
    format!("value of thread {t} put {i}").into_bytes()
}

fn is_injected(e: &Error) -> bool {
    matches!(e, Error::Io(io) if io.to_string().contains("injected"))
}

/// Free-running threads through a `FaultFs` that fails one seeded WAL sync.
#[test]
fn a_failed_group_sync_fails_its_writers_and_poisons() {
    let guard = SeedGuard::new("a_failed_group_sync_fails_its_writers_and_poisons");
    let sim = SimFs::new(guard.seed());
    let fault = FaultFs::new(Arc::new(sim.clone()));
    let store = Arc::new(Lsm::open(dir(), always(Arc::new(fault.clone()))).unwrap());
    // A sync covers at most one put of each thread (a thread's next put is
    // appended only after its previous one returned), so PUTS_PER_THREAD
    // sequential puts per thread need at least that many syncs: the chosen
    // one always happens, whatever the interleaving.
    let nth = guard.seed() % (PUTS_PER_THREAD as u64 - 10);
    fault.fail_nth(FaultOp::Sync, nth, FailMode::Once);
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                (0..PUTS_PER_THREAD)
                    .map(|i| store.put(&thread_key(t, i), &thread_value(t, i)))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let outcomes: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(fault.injected(), 1, "the chosen sync did not happen");

    let mut injected_errors = 0;
    for (t, results) in outcomes.iter().enumerate() {
        if let Some(first) = results.iter().position(Result::is_err) {
            assert!(
                results[first..].iter().all(Result::is_err),
                "thread {t} saw Ok after its put {first} failed: {results:?}"
            );
        }
        for (i, r) in results.iter().enumerate() {
            match r {
                Ok(()) => {}
                Err(e) if is_injected(e) => injected_errors += 1,
                Err(Error::Poisoned { .. }) => {}
                Err(other) => panic!("thread {t}: unexpected error {other}"),
            }
            if r.is_err() {
                assert_eq!(
                    store.get(&thread_key(t, i)).unwrap(),
                    None,
                    "failed put {i} of thread {t} is visible"
                );
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
    let reopened = Lsm::open(dir(), always(Arc::new(crashed))).unwrap();
    for (t, results) in outcomes.iter().enumerate() {
        for (i, r) in results.iter().enumerate() {
            if r.is_ok() {
                assert_eq!(
                    reopened.get(&thread_key(t, i)).unwrap(),
                    Some(thread_value(t, i)),
                    "acknowledged put {i} of thread {t} lost"
                );
            }
        }
    }
    assert!(reopened.check().unwrap().damage.is_empty());
}

/// The same with the group lined up deterministically: the leader's fsync
/// is held at a gate until every follower queued behind it, then fails.
#[test]
fn a_failed_leader_sync_fails_every_queued_writer() {
    const FOLLOWERS: usize = 5;
    let guard = SeedGuard::new("a_failed_leader_sync_fails_every_queued_writer");
    let sim = SimFs::new(guard.seed());
    let fs = GateFs::new(sim.clone());
    let store = Arc::new(Lsm::open(dir(), always(Arc::new(fs.clone()))).unwrap());
    store.put(b"before", b"durable").unwrap();
    let put_bytes = (key(0).len() + value(0, 0, 30).len()) as u64;
    let base = store.stats().extra["user_bytes_written"];
    fs.close_gate();
    fs.fail_next_sync();
    let writers: Vec<_> = (0..=FOLLOWERS)
        .map(|i| {
            let store = Arc::clone(&store);
            let handle = std::thread::spawn(move || store.put(&key(i), &value(i, 0, 30)));
            if i == 0 {
                fs.wait_for_blocked(1); // the leader holds the sync
            }
            handle
        })
        .collect();
    while store.stats().extra["user_bytes_written"] < base + put_bytes * (FOLLOWERS as u64 + 1) {
        std::thread::yield_now();
    }
    fs.open_gate();
    let results: Vec<_> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    assert!(
        results[0]
            .as_ref()
            .is_err_and(|e| matches!(e, Error::Io(_))),
        "the leader gets the I/O error: {:?}",
        results[0]
    );
    for (i, r) in results.iter().enumerate().skip(1) {
        assert!(
            matches!(r, Err(Error::Poisoned { .. })),
            "follower {i} shared the failed sync: {r:?}"
        );
    }
    for i in 0..=FOLLOWERS {
        assert_eq!(store.get(&key(i)).unwrap(), None, "failed put {i} visible");
    }
    assert!(matches!(store.sync(), Err(Error::Poisoned { .. })));
    assert!(matches!(store.put(b"x", b"y"), Err(Error::Poisoned { .. })));
    let crashed = sim.crash();
    drop(store);
    let reopened = Lsm::open(dir(), always(Arc::new(crashed))).unwrap();
    assert_eq!(
        reopened.get(b"before").unwrap().as_deref(),
        Some(&b"durable"[..])
    );
    assert!(reopened.check().unwrap().damage.is_empty());
}
