//! The model test: random sequences of puts, deletes, batches, gets, scans,
//! syncs, compactions and (for persistent engines) reopens, compared step by
//! step with the `BTreeMap` model. Proptest drives it from a seed taken
//! from `KV_SEED`, and shrinks a failure to a minimal sequence.

use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use rand::RngExt;

use super::harness::{cap, seeded_rng, write_op, TempStore};
use super::{CaseOutcome, Engine};
use crate::error::Result;
use crate::store::{Direction, KeyRange, Store};
use crate::testkit::{describe_op, diff_lines, model_ops, show_bytes, Model, ModelOp, SeedGuard};

/// Longest operation sequence of one proptest case.
const MAX_OPS: usize = 64;

fn fail(step: usize, op: &ModelOp, what: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(format!("step {step}, {}: {what}", describe_op(op)))
}

fn collect_scan(
    store: &dyn Store,
    range: &KeyRange,
    direction: Direction,
) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    store.scan(range, direction)?.collect()
}

/// Runs one sequence against a fresh store; `Err` describes the first step
/// where the store and the model disagree.
fn run_sequence(engine: &Engine, ops: &[ModelOp]) -> std::result::Result<(), TestCaseError> {
    let db = TempStore::new(engine);
    let open_error = |e| TestCaseError::fail(format!("open failed: {e}"));
    let mut store = db.try_open().map_err(open_error)?;
    let mut model = Model::new();
    for (step, op) in ops.iter().enumerate() {
        match op {
            ModelOp::Put { .. } | ModelOp::Delete { .. } | ModelOp::Batch(_) => {
                write_op(&*store, op).map_err(|e| fail(step, op, e))?;
                model.apply(op);
            }
            ModelOp::Sync => store.sync().map_err(|e| fail(step, op, e))?,
            ModelOp::Compact => store.compact().map_err(|e| fail(step, op, e))?,
            ModelOp::Reopen => {
                drop(store);
                store = db.try_open().map_err(|e| fail(step, op, e))?;
            }
            ModelOp::Get { key } => {
                let got = store.get(key).map_err(|e| fail(step, op, e))?;
                if got.as_deref() != model.get(key) {
                    let show = |v: Option<&[u8]>| v.map_or("None".into(), show_bytes);
                    return Err(fail(
                        step,
                        op,
                        format!(
                            "returned {}, the model has {}",
                            show(got.as_deref()),
                            show(model.get(key))
                        ),
                    ));
                }
            }
            ModelOp::Scan { range, direction } => {
                let got =
                    collect_scan(&*store, range, *direction).map_err(|e| fail(step, op, e))?;
                let expected = model.scan(range, *direction);
                if got != expected {
                    let keys = |pairs: &[(Vec<u8>, Vec<u8>)]| {
                        pairs
                            .iter()
                            .map(|(k, _)| show_bytes(k))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    return Err(fail(
                        step,
                        op,
                        format!(
                            "yielded [{}], the model has [{}]",
                            keys(&got),
                            keys(&expected)
                        ),
                    ));
                }
            }
        }
    }
    let all = collect_scan(&*store, &KeyRange::all(), Direction::Forward)
        .map_err(|e| TestCaseError::fail(format!("final scan: {e}")))?;
    if all != model.pairs() {
        let got: Model = all.into_iter().collect();
        return Err(TestCaseError::fail(format!(
            "final state differs from the model: {:?}",
            diff_lines(&model, &got)
        )));
    }
    let report = store
        .check()
        .map_err(|e| TestCaseError::fail(format!("final check(): {e}")))?;
    if !report.damage.is_empty() {
        return Err(TestCaseError::fail(format!(
            "final check() found damage on a sound store: {:?}",
            report.damage
        )));
    }
    Ok(())
}

/// 256 random sequences of up to 64 operations (with reopens for persistent
/// engines) agree with the model at every get and scan and at the end, and
/// `check()` passes after each. The proptest RNG is seeded from `KV_SEED`.
pub fn random_operations_match_model(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!("{}::random_operations_match_model", engine.name));
    let mut seed_bytes = [0u8; 32];
    seeded_rng(guard.seed()).fill(&mut seed_bytes);
    let config = Config {
        cases: cap(256, 4096) as u32,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let strategy = model_ops(MAX_OPS, engine.persistent);
    match runner.run(&strategy, |ops| run_sequence(engine, &ops)) {
        Ok(()) => CaseOutcome::Passed,
        Err(TestError::Fail(reason, ops)) => {
            let steps: Vec<String> = ops
                .iter()
                .enumerate()
                .map(|(i, op)| format!("  {i}: {}", describe_op(op)))
                .collect();
            panic!(
                "engine '{}' diverged from the model: {reason}\nminimal failing sequence:\n{}",
                engine.name,
                steps.join("\n")
            );
        }
        Err(TestError::Abort(reason)) => panic!("the model test aborted: {reason}"),
    }
}
