//! Injected I/O failures (`FaultFs` over a `SimFs`): a failed write or
//! sync poisons the store (later writes are `Err(Poisoned)`, reads still
//! work, nothing unacknowledged shows up), a full disk is an I/O error, a
//! failed compaction loses nothing, and a reopen recovers the durable state.

use std::io;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::RngExt;

use super::harness::{
    assert_get, assert_matches_model, key, ok, open_on, read_all, seeded_rng, sim_arc, value,
    write_op,
};
use super::recovery::{crash_and_verify, random_writes};
use super::{CaseOutcome, Engine};
use crate::batch::WriteBatch;
use crate::error::Error;
use crate::fs::Fs;
use crate::options::SyncPolicy;
use crate::store::Store;
use crate::testkit::{
    describe_op, CrashMode, FailMode, FaultFs, FaultOp, History, Model, ModelOp, SeedGuard, SimFs,
};

/// A `SimFs` with a `FaultFs` over it, and the engine opened on the latter.
fn faulty_store(engine: &Engine, seed: u64, sync: SyncPolicy) -> (SimFs, FaultFs, Box<dyn Store>) {
    let sim = SimFs::new(seed);
    let fault = FaultFs::new(sim_arc(&sim));
    let fs: Arc<dyn Fs> = Arc::new(fault.clone());
    let store = open_on(engine, fs, sync, "opening on a FaultFs");
    (sim, fault, store)
}

/// Applies `ops`, all of which must succeed, recording them in `history`.
fn apply_acknowledged(store: &dyn Store, ops: &[ModelOp], history: &mut History) {
    for op in ops {
        ok(write_op(store, op), describe_op(op));
        history.acknowledge(op);
    }
}

/// Every kind of write is refused with `Err(Poisoned)`.
fn assert_poisoned(store: &dyn Store, context: &str) {
    let mut batch = WriteBatch::new();
    batch.put(b"poisoned-batch".to_vec(), b"x".to_vec());
    let attempts = [
        ("put", store.put(b"poisoned-put", b"x")),
        ("delete", store.delete(&key(0))),
        ("write", store.write(&batch)),
    ];
    for (what, result) in attempts {
        match result {
            Err(Error::Poisoned { .. }) => {}
            Err(e) => panic!("{context}: a later {what} failed with `{e}`, expected Err(Poisoned)"),
            Ok(()) => panic!(
                "{context}: a later {what} succeeded on a poisoned store, expected Err(Poisoned)"
            ),
        }
    }
    assert!(
        store.sync().is_err(),
        "{context}: sync() on a poisoned store returned Ok, claiming durability it cannot give"
    );
}

/// Drops `store`, crashes the file system and checks the recovered state;
/// then checks that the recovered store takes writes again.
fn recover(engine: &Engine, sim: &SimFs, store: Box<dyn Store>, history: &History, context: &str) {
    drop(store);
    let (_, reopened, _) = crash_and_verify(
        engine,
        sim,
        CrashMode::default(),
        SyncPolicy::Manual,
        history,
        context,
    );
    ok(
        reopened.put(b"after-reopen", b"ok"),
        format!("{context}: a put after reopening (the poison must not persist)"),
    );
}

/// Calls `sync()` with the next `File::sync` failing. An engine may have
/// made every write durable already (a file rollover syncs what it seals),
/// and then a `sync()` that calls no `File::sync` is right: this writes one
/// more small put and tries again, up to 100 times, so the case meets a
/// sync with writes pending whatever the engine's file sizes and the seed
/// (`KV_SEED=6324941883741315532` ended its writes on a bitcask rollover).
fn sync_with_writes_pending(
    store: &dyn Store,
    fault: &FaultFs,
    history: &mut History,
) -> crate::error::Result<()> {
    for extra in 0..100 {
        fault.fail_nth(FaultOp::Sync, 0, FailMode::Once);
        let result = store.sync();
        if result.is_err() || fault.injected() > 0 {
            return result;
        }
        fault.clear();
        history.mark_synced();
        let op = ModelOp::Put {
            key: key(10_000 + extra),
            value: value(extra, 1, 20),
        };
        apply_acknowledged(store, std::slice::from_ref(&op), history);
    }
    fault.fail_nth(FaultOp::Sync, 0, FailMode::Once);
    store.sync()
}

/// A `File::sync` failure makes `sync()` fail and poisons the store: later
/// writes are `Err(Poisoned)`, reads return every acknowledged value, and a
/// reopen after a crash recovers at least what the last good sync covered.
pub fn failed_sync_poisons_the_store(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!("{}::failed_sync_poisons_the_store", engine.name));
    let mut rng = seeded_rng(guard.seed());
    let (sim, fault, store) = faulty_store(engine, guard.seed(), SyncPolicy::Manual);
    let mut history = History::new(Model::new());
    apply_acknowledged(&*store, &random_writes(&mut rng, 30, 25, 100), &mut history);
    ok(store.sync(), "sync");
    history.mark_synced();
    apply_acknowledged(&*store, &random_writes(&mut rng, 30, 25, 100), &mut history);
    let result = sync_with_writes_pending(&*store, &fault, &mut history);
    assert!(
        result.is_err(),
        "sync() returned Ok although {}",
        if fault.injected() == 0 {
            "it never called File::sync with writes pending"
        } else {
            "its File::sync failed"
        }
    );
    assert_poisoned(&*store, "after a failed sync");
    assert_matches_model(&*store, history.model(), "reads after a failed sync");
    recover(engine, &sim, store, &history, "after a failed sync");
    CaseOutcome::Passed
}

/// A failed file write poisons the store. Under `Always` the put that hit
/// it fails and its value never shows up; under `Manual`, with every write
/// failing, some put or the final `sync()` must fail (data has to reach the
/// disk to become durable), and everything after the first failure is
/// `Err(Poisoned)`. Reads keep working and a reopen recovers the durable
/// state.
pub fn failed_write_poisons_the_store(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!("{}::failed_write_poisons_the_store", engine.name));
    let mut rng = seeded_rng(guard.seed());
    failed_write_under_always(engine, guard.seed(), &mut rng);
    failed_write_under_manual(engine, guard.seed() ^ 1, &mut rng);
    CaseOutcome::Passed
}

/// The `Always` half of [`failed_write_poisons_the_store`].
fn failed_write_under_always(engine: &Engine, seed: u64, rng: &mut StdRng) {
    let (sim, fault, store) = faulty_store(engine, seed, SyncPolicy::Always);
    let mut history = History::new(Model::new());
    apply_acknowledged(&*store, &random_writes(rng, 30, 25, 100), &mut history);
    history.mark_synced();
    let old = history.model().get(&key(3)).map(<[u8]>::to_vec);
    // Every write fails until the put returns, not only the first: a put
    // may first write files that are only an optimization (bitcask's hint
    // of the file a rollover seals is best effort), and a fault spent on
    // one of those left the put's own write succeeding (KV_SEED 205 and
    // 4321 with bitcask).
    fault.fail_nth(FaultOp::Write, 0, FailMode::FromThenOn);
    let op = ModelOp::Put {
        key: key(3),
        value: b"never acknowledged".to_vec(),
    };
    let outcome = write_op(&*store, &op);
    fault.clear();
    match outcome {
        Err(_) => history.fail(&op),
        Ok(()) if fault.injected() == 0 => {
            panic!("under Always, a put returned Ok without writing anything to the Fs")
        }
        Ok(()) => panic!("under Always, a put returned Ok although its file write failed"),
    }
    assert_get(
        &*store,
        &key(3),
        old.as_deref(),
        "Always: the key of a failed put (nothing unacknowledged may show up)",
    );
    assert_poisoned(&*store, "Always: after a failed write");
    assert_matches_model(
        &*store,
        history.model(),
        "Always: reads after a failed write",
    );
    recover(
        engine,
        &sim,
        store,
        &history,
        "Always: after a failed write",
    );
}

/// The `Manual` half of [`failed_write_poisons_the_store`].
fn failed_write_under_manual(engine: &Engine, seed: u64, rng: &mut StdRng) {
    let (sim, fault, store) = faulty_store(engine, seed, SyncPolicy::Manual);
    let mut history = History::new(Model::new());
    apply_acknowledged(&*store, &random_writes(rng, 20, 25, 100), &mut history);
    ok(store.sync(), "sync");
    history.mark_synced();
    fault.fail_nth(FaultOp::Write, 0, FailMode::FromThenOn);
    let mut failed = false;
    for op in random_writes(rng, 20, 25, 100) {
        match write_op(&*store, &op) {
            Ok(()) => history.acknowledge(&op),
            Err(_) => {
                history.fail(&op);
                failed = true;
                break;
            }
        }
    }
    if !failed {
        assert!(
            store.sync().is_err(),
            "Manual: every file write failed, yet the puts and sync() all returned Ok"
        );
    }
    fault.clear();
    assert_poisoned(&*store, "Manual: after a failed write");
    assert_matches_model(
        &*store,
        history.model(),
        "Manual: reads after a failed write",
    );
    recover(
        engine,
        &sim,
        store,
        &history,
        "Manual: after a failed write",
    );
}

/// When the disk fills up (writes fail with `StorageFull`), the failing
/// write returns `Err(Io)` of that kind and poisons the store, without a
/// panic; every acknowledged write is there after a reopen, clean or after a
/// crash, and the reopened store takes writes again.
pub fn full_disk_is_an_io_error_and_keeps_acknowledged_data(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!(
        "{}::full_disk_is_an_io_error_and_keeps_acknowledged_data",
        engine.name
    ));
    let mut rng = seeded_rng(guard.seed());
    let (sim, fault, store) = faulty_store(engine, guard.seed(), SyncPolicy::Always);
    let mut history = History::new(Model::new());
    apply_acknowledged(&*store, &random_writes(&mut rng, 30, 25, 200), &mut history);
    history.mark_synced();
    fault.fail_nth_with(
        FaultOp::Write,
        rng.random_range(0..4),
        FailMode::FromThenOn,
        io::ErrorKind::StorageFull,
    );
    let mut first_error = None;
    for i in 0..1000 {
        let op = ModelOp::Put {
            key: key(100 + i),
            value: value(i, 1, 500),
        };
        match write_op(&*store, &op) {
            Ok(()) => {
                history.acknowledge(&op);
                history.mark_synced();
            }
            Err(e) => {
                history.fail(&op);
                first_error = Some(e);
                break;
            }
        }
    }
    match first_error {
        Some(Error::Io(e)) if e.kind() == io::ErrorKind::StorageFull => {}
        Some(e) => {
            panic!("a write on a full disk failed with `{e}`, expected Err(Io) of kind StorageFull")
        }
        None => panic!(
            "1000 puts under Always succeeded although every file write failed with StorageFull"
        ),
    }
    assert_poisoned(&*store, "after a full disk");
    assert_matches_model(&*store, history.model(), "reads on a full disk");
    drop(store);
    fault.clear();
    let reopened = open_on(
        engine,
        sim_arc(&sim),
        SyncPolicy::Always,
        "clean reopen after a full disk",
    );
    if let Err(report) =
        history.check_recovered(&read_all(&*reopened, "clean reopen after a full disk"))
    {
        panic!("clean reopen after a full disk: {report}");
    }
    recover(engine, &sim, reopened, &history, "after a full disk");
    CaseOutcome::Passed
}

/// `compact()` hitting a failure of any kind of file-system operation (once,
/// or from then on) loses nothing: reads return the model, and a clean
/// reopen and a reopen after a crash both hold exactly the synced content.
pub fn failed_compact_loses_nothing(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!("{}::failed_compact_loses_nothing", engine.name));
    let mut rng = seeded_rng(guard.seed());
    let ops = random_writes(&mut rng, 120, 40, 300);
    for op_kind in FaultOp::ALL {
        for (n, mode) in [(0, FailMode::Once), (1, FailMode::FromThenOn)] {
            let context = format!("compact() with {op_kind:?} #{n} failing {mode:?}");
            let (sim, fault, store) = faulty_store(engine, guard.seed(), SyncPolicy::Manual);
            let mut history = History::new(Model::new());
            apply_acknowledged(&*store, &ops, &mut history);
            ok(store.sync(), "sync");
            history.mark_synced();
            fault.fail_nth(op_kind, n, mode);
            let _ = store.compact();
            fault.clear();
            assert_matches_model(
                &*store,
                history.model(),
                format!("{context}: reads after it"),
            );
            drop(store);
            let reopened = open_on(
                engine,
                sim_arc(&sim),
                SyncPolicy::Manual,
                format!("{context}: clean reopen"),
            );
            assert_matches_model(
                &*reopened,
                history.model(),
                format!("{context}: after a clean reopen"),
            );
            drop(reopened);
            let (_, recovered, _) = crash_and_verify(
                engine,
                &sim,
                CrashMode::default(),
                SyncPolicy::Manual,
                &history,
                &context,
            );
            drop(recovered);
        }
    }
    CaseOutcome::Passed
}
