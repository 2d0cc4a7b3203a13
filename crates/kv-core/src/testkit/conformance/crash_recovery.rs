//! Crashes around recovery: power cut at every (sampled) operation of the
//! open that repairs a crashed store, and a model test whose sequence is
//! cut by random power failures and reopens.

use rand::rngs::StdRng;
use rand::RngExt;

use super::harness::{
    assert_matches_model, cap, crash_points, key, ok, seeded_rng, sim_arc, try_open_on, value,
    write_op,
};
use super::recovery::{
    copy_of, crash_and_verify, crash_modes, crashed_with_unsynced_tail, fresh_sim_store,
    random_writes, TORN_KEEP_BYTES,
};
use super::{CaseOutcome, Engine};
use crate::options::SyncPolicy;
use crate::store::Store;
use crate::testkit::{CrashMode, History, Model, ModelOp, SeedGuard};

/// Power is cut at every file-system operation (sampled when there are
/// many) of the open that recovers a crashed store (synced writes, then
/// unsynced ones, crashed with a torn last write, reordered writeback or a
/// random prefix); after a crash in every crash mode, the next open
/// succeeds and holds a state the original history allows (a prefix that
/// keeps every synced write).
pub fn crash_during_recovery_leaves_a_recoverable_store(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!(
        "{}::crash_during_recovery_leaves_a_recoverable_store",
        engine.name
    ));
    let mut rng = seeded_rng(guard.seed());
    let first_crashes = [
        CrashMode::torn_last_write(TORN_KEEP_BYTES),
        CrashMode::reordered_writeback(),
        CrashMode::random_prefix(),
    ];
    for first in first_crashes {
        let (crashed, history) = crashed_with_unsynced_tail(engine, guard.seed(), first);
        let dry = copy_of(&crashed);
        let store = try_open_on(engine, sim_arc(&dry), SyncPolicy::Manual).unwrap_or_else(|e| {
            panic!("recovering from {first:?} without a second crash failed: {e}")
        });
        let total = dry.op_count();
        drop(store);
        for n in crash_points(total, cap(20, 500), &mut rng) {
            let sim = copy_of(&crashed);
            sim.power_off_after(n);
            drop(try_open_on(engine, sim_arc(&sim), SyncPolicy::Manual));
            for mode in crash_modes(&mut rng) {
                let context = format!(
                    "first crash {first:?}, power cut after {n} of the recovering open's {total} operations"
                );
                crash_and_verify(engine, &sim, mode, SyncPolicy::Manual, &history, context);
            }
        }
    }
    CaseOutcome::Passed
}

/// One round of [`power_cut_plan`]: writes (with `Sync` ops), maybe a power
/// cut after some operations, and the crash that ends the round.
#[derive(Debug, Clone)]
pub(super) struct Round {
    pub(super) ops: Vec<ModelOp>,
    pub(super) cut: Option<u64>,
    pub(super) mode: CrashMode,
}

/// The rounds of [`random_power_cuts_match_the_acknowledged_history`]: random
/// writes and syncs, a power cut in some, and round `r` crashing in mode
/// `r % 7` of the suite's modes (16 rounds cover all seven); but every
/// fourth round (from round 1) ends with an unsynced put and a torn crash
/// without a power cut, and the round after it ends with a `sync()` and no
/// cut, so that recovery from a torn tail is followed by synced appends in
/// every plan.
pub(super) fn power_cut_plan(rng: &mut StdRng, rounds: usize) -> Vec<Round> {
    (0..rounds)
        .map(|r| {
            let len = rng.random_range(4..40);
            let mut ops = random_writes(rng, len, 30, 200);
            for _ in 0..len / 8 {
                let at = rng.random_range(0..=ops.len());
                ops.insert(at, ModelOp::Sync);
            }
            let modes = crash_modes(rng);
            match r % 4 {
                1 => {
                    ops.push(ModelOp::Put {
                        key: key(9000 + r),
                        value: value(r, 9, 300),
                    });
                    Round {
                        ops,
                        cut: None,
                        mode: CrashMode::torn_last_write(TORN_KEEP_BYTES),
                    }
                }
                2 => {
                    ops.push(ModelOp::Sync);
                    Round {
                        ops,
                        cut: None,
                        mode: modes[r % modes.len()],
                    }
                }
                // Round 0 always cuts the power, so every plan has at least
                // one cut whatever the seed (a precondition of the case).
                _ => Round {
                    cut: (r == 0 || rng.random_bool(0.6))
                        .then(|| rng.random_range(0..2 * ops.len() as u64)),
                    ops,
                    mode: modes[r % modes.len()],
                },
            }
        })
        .collect()
}

/// What every plan must hold, whatever the seed: at least one round of
/// writes ending unsynced with a torn crash and no power cut, followed by a
/// round ending with a sync and no cut; and at least one power cut.
pub(super) fn plan_preconditions(plan: &[Round]) -> Result<(), String> {
    let torn_then_synced = plan.windows(2).any(|w| {
        w[0].cut.is_none()
            && w[0].ops.last().is_some_and(ModelOp::is_write)
            && w[0].mode == CrashMode::torn_last_write(TORN_KEEP_BYTES)
            && w[1].cut.is_none()
            && w[1].ops.last() == Some(&ModelOp::Sync)
    });
    if !torn_then_synced {
        return Err("no torn-crash round followed by a synced round".into());
    }
    if !plan.iter().any(|r| r.cut.is_some()) {
        return Err("no power cut in the whole plan".into());
    }
    Ok(())
}

/// Applies `ops` to `store` until one fails, recording them in `history`;
/// `Sync` ops call `sync()`. Returns false if an operation failed.
fn apply_round(store: &dyn Store, ops: &[ModelOp], history: &mut History) -> bool {
    for op in ops {
        let result = if *op == ModelOp::Sync {
            store.sync()
        } else {
            write_op(store, op)
        };
        match (result, op) {
            (Ok(()), ModelOp::Sync) => history.mark_synced(),
            (Ok(()), _) => history.acknowledge(op),
            (Err(_), _) => {
                history.fail(op);
                return false;
            }
        }
    }
    true
}

/// A model test with power failures inside the sequence: rounds of random
/// writes and syncs, some cut by a power failure after a random number of
/// file-system operations, each ended by a crash (mode from the seed) and a
/// reopen. Reads before each crash (when nothing failed) match the
/// acknowledged model; every recovered state is one the history of the
/// round allows; and the store goes on from what it recovered.
pub fn random_power_cuts_match_the_acknowledged_history(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!(
        "{}::random_power_cuts_match_the_acknowledged_history",
        engine.name
    ));
    let mut rng = seeded_rng(guard.seed());
    let plan = power_cut_plan(&mut rng, cap(16, 300));
    if let Err(why) = plan_preconditions(&plan) {
        panic!(
            "the power-cut plan for seed {} misses a precondition: {why}",
            guard.seed()
        );
    }
    let (mut sim, mut store) = fresh_sim_store(engine, guard.seed(), SyncPolicy::Manual);
    let mut history = History::new(Model::new());
    for (r, round) in plan.iter().enumerate() {
        if let Some(n) = round.cut {
            sim.power_off_after(n);
        }
        if apply_round(&*store, &round.ops, &mut history) {
            assert_matches_model(
                &*store,
                history.model(),
                format!("round {r}: before the crash"),
            );
        }
        let context = format!(
            "round {r}: {} ops, power cut {:?}",
            round.ops.len(),
            round.cut
        );
        let (crashed, reopened, recovered) = crash_and_verify(
            engine,
            &sim,
            round.mode,
            SyncPolicy::Manual,
            &history,
            context,
        );
        drop(store);
        (sim, store) = (crashed, reopened);
        history = History::new(recovered);
    }
    ok(store.sync(), "a final sync");
    CaseOutcome::Passed
}
