//! The durability contract under simulated power loss (`SimFs`): what a
//! crash at any file-system operation may leave, under every sync policy.
//!
//! Every case judges the recovered state with [`History`]: it must equal the
//! model after a prefix of the acknowledged writes that includes everything
//! before the last successful sync (under `Always`: every acknowledged
//! write), plus possibly the one write that failed when the power went.

use std::time::Duration;

use rand::RngExt;

use super::harness::{
    cap, crash_points, key, ok, open_on, passed, read_all, seeded_rng, sim_arc, try_open_on, value,
    write_op,
};
use super::recovery::{crash_and_verify, crash_modes, fresh_sim_store, random_writes};
use super::{CaseOutcome, Engine};
use crate::options::SyncPolicy;
use crate::store::Store;
use crate::testkit::{diff_lines, CrashMode, History, Model, ModelOp, SeedGuard, SimFs};

/// Applies `ops` until one fails, recording each in `history`; under
/// `Always` every acknowledged write is durable. `Sync` ops call `sync()`.
/// Returns false if some operation failed.
fn run_until_failure(
    store: &dyn Store,
    ops: &[ModelOp],
    history: &mut History,
    always: bool,
) -> bool {
    for op in ops {
        if *op == ModelOp::Sync {
            match store.sync() {
                Ok(()) => history.mark_synced(),
                Err(_) => return false,
            }
            continue;
        }
        match write_op(store, op) {
            Ok(()) => {
                history.acknowledge(op);
                if always {
                    history.mark_synced();
                }
            }
            Err(_) => {
                history.fail(op);
                return false;
            }
        }
    }
    true
}

/// After recovery, the store must take new writes: a synced put lands, and
/// survives another crash together with everything recovered.
fn assert_appendable_after_recovery(
    engine: &Engine,
    sim: &SimFs,
    store: Box<dyn Store>,
    recovered: Model,
    context: &str,
) {
    ok(
        store.put(b"after-recovery", b"marker"),
        format!("{context}: a put after recovery"),
    );
    ok(store.sync(), format!("{context}: sync after recovery"));
    let mut history = History::new(recovered);
    history.acknowledge(&ModelOp::Put {
        key: b"after-recovery".to_vec(),
        value: b"marker".to_vec(),
    });
    history.mark_synced();
    let context = format!("{context}, then a synced put and a second crash");
    crash_and_verify(
        engine,
        sim,
        CrashMode::default(),
        SyncPolicy::Manual,
        &history,
        context,
    );
    drop(store);
}

/// Under `SyncPolicy::Always`, power is cut at every file-system operation
/// of a random workload (sampled when there are many): after a crash in
/// every crash mode, every write that returned `Ok` is there and the state
/// is a prefix of the workload; the recovered store takes new writes that
/// survive the next crash.
pub fn acknowledged_writes_survive_crash_under_always_sync(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!(
        "{}::acknowledged_writes_survive_crash_under_always_sync",
        engine.name
    ));
    let mut rng = seeded_rng(guard.seed());
    let ops = random_writes(&mut rng, 40, 24, 300);
    let (sim, store) = fresh_sim_store(engine, guard.seed(), SyncPolicy::Always);
    let before = sim.op_count();
    assert!(
        run_until_failure(&*store, &ops, &mut History::new(Model::new()), true),
        "the workload failed without a crash"
    );
    let total = sim.op_count() - before;
    drop(store);
    for n in crash_points(total, cap(60, 2000), &mut rng) {
        let (sim, store) = fresh_sim_store(engine, guard.seed() ^ n, SyncPolicy::Always);
        let mut history = History::new(Model::new());
        sim.power_off_after(n);
        run_until_failure(&*store, &ops, &mut history, true);
        for mode in crash_modes(&mut rng) {
            let context = format!("power cut after {n} of {total} operations under Always");
            let (crashed, recovered_store, recovered) =
                crash_and_verify(engine, &sim, mode, SyncPolicy::Always, &history, &context);
            assert_appendable_after_recovery(
                engine,
                &crashed,
                recovered_store,
                recovered,
                &context,
            );
        }
        drop(store);
    }
    CaseOutcome::Passed
}

/// Under `SyncPolicy::Manual`, random writes with occasional `sync()` calls
/// (and sometimes a power cut at a random operation) followed by a crash in
/// every crash mode (torn, garbage and random tails included) recover to a
/// prefix of the acknowledged writes that includes everything before the
/// last successful `sync()`.
pub fn recovered_state_is_a_synced_prefix_under_manual_sync(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!(
        "{}::recovered_state_is_a_synced_prefix_under_manual_sync",
        engine.name
    ));
    let mut rng = seeded_rng(guard.seed());
    for trial in 0..cap(24, 500) as u64 {
        let len = rng.random_range(10..80);
        let mut ops = random_writes(&mut rng, len, 20, 200);
        for _ in 0..len / 6 {
            let at = rng.random_range(0..=ops.len());
            ops.insert(at, ModelOp::Sync);
        }
        let (sim, store) = fresh_sim_store(engine, guard.seed() ^ trial, SyncPolicy::Manual);
        let cut = rng
            .random_bool(0.5)
            .then(|| rng.random_range(0..2 * len as u64));
        if let Some(n) = cut {
            sim.power_off_after(n);
        }
        let mut history = History::new(Model::new());
        run_until_failure(&*store, &ops, &mut history, false);
        for mode in crash_modes(&mut rng) {
            let context = format!("trial {trial}: {} ops, power cut {cut:?}", ops.len());
            crash_and_verify(engine, &sim, mode, SyncPolicy::Manual, &history, context);
        }
        drop(store);
    }
    CaseOutcome::Passed
}

/// Power goes out in the middle of the last write under `Always` and the
/// crash keeps a few bytes of it (a torn tail, for several tear sizes):
/// open truncates it, keeps everything acknowledged before, and the next
/// synced put survives a reopen and another crash.
pub fn torn_tail_is_truncated_and_later_appends_survive(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!(
        "{}::torn_tail_is_truncated_and_later_appends_survive",
        engine.name
    ));
    let seed = guard.seed();
    let last = ModelOp::Put {
        key: b"last".to_vec(),
        value: value(7, 7, 4000),
    };
    let setup = |seed: u64| {
        let (sim, store) = fresh_sim_store(engine, seed, SyncPolicy::Always);
        let mut history = History::new(Model::new());
        let ops: Vec<ModelOp> = (0..50)
            .map(|i| ModelOp::Put {
                key: key(i),
                value: value(i, 1, 100),
            })
            .collect();
        assert!(
            run_until_failure(&*store, &ops, &mut history, true),
            "setup writes failed without a crash"
        );
        ok(store.sync(), "sync");
        (sim, store, history)
    };
    let (sim, store, _) = setup(seed);
    let before = sim.op_count();
    ok(write_op(&*store, &last), "the last put without a crash");
    let last_put_ops = sim.op_count() - before;
    drop(store);
    for keep_bytes in [0, 1, 8, 22, 23, 24, 100, 2048, 4000, 4100] {
        for n in 0..last_put_ops.min(8) {
            let context = format!("power cut after {n} of the last put's {last_put_ops} operations, torn to {keep_bytes} bytes");
            let (sim, store, mut history) = setup(seed ^ n);
            sim.power_off_after(n);
            run_until_failure(&*store, std::slice::from_ref(&last), &mut history, true);
            let mode = CrashMode::torn_last_write(keep_bytes);
            let (crashed, recovered_store, recovered) =
                crash_and_verify(engine, &sim, mode, SyncPolicy::Always, &history, &context);
            drop(store);
            assert_append_after_torn_tail(engine, &crashed, recovered_store, recovered, &context);
        }
    }
    CaseOutcome::Passed
}

/// After recovery from a torn tail: a put lands, is there after a clean
/// reopen, and survives another crash.
fn assert_append_after_torn_tail(
    engine: &Engine,
    crashed: &SimFs,
    store: Box<dyn Store>,
    mut recovered: Model,
    context: &str,
) {
    let next = b"append after the torn tail";
    ok(
        store.put(b"next", next),
        format!("{context}: put after recovery"),
    );
    recovered.put(b"next", next);
    drop(store);
    let reopened = open_on(
        engine,
        sim_arc(crashed),
        SyncPolicy::Always,
        format!("{context}: clean reopen"),
    );
    let got: Model = read_all(&*reopened, context).into_iter().collect();
    assert!(
        got == recovered,
        "{context}: after a put and a clean reopen: {:?}",
        diff_lines(&recovered, &got)
    );
    drop(reopened);
    let mut history = History::new(recovered);
    history.mark_synced();
    let context = format!("{context}, then a put and a crash");
    crash_and_verify(
        engine,
        crashed,
        CrashMode::default(),
        SyncPolicy::Always,
        &history,
        context,
    );
}

/// Rounds of random writes, sometimes synced, each ended by a crash (the
/// rounds go through every crash mode in turn) and a reopen: every round recovers a prefix that keeps its
/// synced writes, and what a reopen showed is never lost by a later crash.
pub fn synced_state_survives_repeated_crashes(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!(
        "{}::synced_state_survives_repeated_crashes",
        engine.name
    ));
    let mut rng = seeded_rng(guard.seed());
    let (mut sim, mut store) = fresh_sim_store(engine, guard.seed(), SyncPolicy::Manual);
    let mut history = History::new(Model::new());
    for round in 0..cap(12, 200) {
        let count = rng.random_range(0..30);
        let mut ops = random_writes(&mut rng, count, 30, 150);
        if rng.random_bool(0.5) {
            ops.push(ModelOp::Sync);
        }
        assert!(
            run_until_failure(&*store, &ops, &mut history, false),
            "round {round}: a write failed without a crash"
        );
        let modes = crash_modes(&mut rng);
        // Round by round through every mode, so each one runs for every seed.
        let mode = modes[round % modes.len()];
        let context = format!("round {round}");
        let (crashed, reopened, recovered) =
            crash_and_verify(engine, &sim, mode, SyncPolicy::Manual, &history, context);
        drop(store);
        (sim, store) = (crashed, reopened);
        history = History::new(recovered);
    }
    passed(store)
}

/// Power is cut at every file-system operation of `compact()` (sampled when
/// there are many) after a synced workload of overwrites and deletes: after
/// a crash the store holds exactly the synced content, however far the
/// compaction got.
pub fn crash_during_compact_loses_nothing(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!(
        "{}::crash_during_compact_loses_nothing",
        engine.name
    ));
    let mut rng = seeded_rng(guard.seed());
    let mut ops = random_writes(&mut rng, 150, 40, 400);
    ops.push(ModelOp::Sync);
    let (sim, store) = fresh_sim_store(engine, guard.seed(), SyncPolicy::Manual);
    assert!(
        run_until_failure(&*store, &ops, &mut History::new(Model::new()), false),
        "the workload failed without a crash"
    );
    let before = sim.op_count();
    ok(store.compact(), "compact() without a crash");
    let total = sim.op_count() - before;
    drop(store);
    for n in crash_points(total, cap(40, 1000), &mut rng) {
        let (sim, store) = fresh_sim_store(engine, guard.seed() ^ n, SyncPolicy::Manual);
        let mut history = History::new(Model::new());
        assert!(
            run_until_failure(&*store, &ops, &mut history, false),
            "the workload failed without a crash"
        );
        sim.power_off_after(n);
        let _ = store.compact();
        for mode in crash_modes(&mut rng) {
            let context = format!("power cut after {n} of compact()'s {total} operations");
            crash_and_verify(engine, &sim, mode, SyncPolicy::Manual, &history, context);
        }
        drop(store);
    }
    CaseOutcome::Passed
}

/// Power is cut at every file-system operation of the very first open and
/// a first synced put: the directory opens again after the crash, holding
/// nothing or that put.
pub fn crash_during_first_open_leaves_an_openable_store(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!(
        "{}::crash_during_first_open_leaves_an_openable_store",
        engine.name
    ));
    let mut rng = seeded_rng(guard.seed());
    let first = ModelOp::Put {
        key: b"first".to_vec(),
        value: b"put".to_vec(),
    };
    let (sim, store) = fresh_sim_store(engine, guard.seed(), SyncPolicy::Always);
    ok(write_op(&*store, &first), "first put without a crash");
    let total = sim.op_count();
    drop(store);
    for n in crash_points(total, cap(30, 500), &mut rng) {
        let sim = SimFs::new(guard.seed() ^ n);
        sim.power_off_after(n);
        let mut history = History::new(Model::new());
        let opened = try_open_on(engine, sim_arc(&sim), SyncPolicy::Always);
        if let Ok(store) = &opened {
            run_until_failure(&**store, std::slice::from_ref(&first), &mut history, true);
        }
        for mode in crash_modes(&mut rng) {
            let context =
                format!("power cut after {n} of {total} operations of the first open and put");
            crash_and_verify(engine, &sim, mode, SyncPolicy::Always, &history, context);
        }
        drop(opened);
    }
    CaseOutcome::Passed
}

/// Under `SyncPolicy::Interval` (with `Background::Inline`, as every SimFs
/// case), writes never followed by `sync()` are durable once the interval
/// has passed and the next write ran the due sync: after five intervals and
/// one more put, a crash keeps every write before that put.
pub fn interval_policy_makes_writes_durable_without_sync(engine: &Engine) -> CaseOutcome {
    const INTERVAL_MS: u64 = 50;
    let guard = SeedGuard::new(format!(
        "{}::interval_policy_makes_writes_durable_without_sync",
        engine.name
    ));
    let mut rng = seeded_rng(guard.seed());
    let policy = SyncPolicy::Interval {
        interval_ms: INTERVAL_MS,
    };
    let (sim, store) = fresh_sim_store(engine, guard.seed(), policy);
    let mut history = History::new(Model::new());
    for round in 0..2 {
        let ops = random_writes(&mut rng, 60, 40, 200);
        assert!(
            run_until_failure(&*store, &ops, &mut history, false),
            "round {round}: a write failed without a crash"
        );
        // Sleeping only guarantees that the interval has passed; the verdict
        // does not depend on how much longer the sleep took.
        std::thread::sleep(Duration::from_millis(5 * INTERVAL_MS));
        let mut must_survive = history.clone();
        must_survive.mark_synced();
        let trigger = ModelOp::Put {
            key: format!("trigger{round}").into_bytes(),
            value: b"the write that runs the due sync".to_vec(),
        };
        assert!(
            run_until_failure(&*store, std::slice::from_ref(&trigger), &mut history, false),
            "round {round}: the trigger put failed without a crash"
        );
        must_survive.acknowledge(&trigger);
        let context = format!(
            "round {round}: {INTERVAL_MS} ms sync interval, a put {} ms after the last write, then a crash",
            5 * INTERVAL_MS
        );
        crash_and_verify(
            engine,
            &sim,
            CrashMode::default(),
            policy,
            &must_survive,
            context,
        );
    }
    passed(store)
}
