//! Running cases: skipping those that do not apply, and turning a failing
//! case's panic into a [`CaseResult::Failed`] for tables.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::{cases, Case, CaseOutcome, Engine};

/// How one case ended against one engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseResult {
    /// Every assertion held.
    Passed,
    /// The case does not apply to the engine, and why.
    Skipped(String),
    /// An assertion failed (or the engine panicked); the panic message.
    Failed(String),
}

impl CaseResult {
    /// True unless the case failed.
    pub fn is_ok(&self) -> bool {
        !matches!(self, Self::Failed(_))
    }
}

/// Why `case` does not apply to `engine`, or `None` if it does.
pub fn skip_reason(case: &Case, engine: &Engine) -> Option<String> {
    if case.needs_persistence && !engine.persistent {
        return Some(format!(
            "engine '{}' keeps nothing across reopen",
            engine.name
        ));
    }
    if case.needs_our_fs && !engine.uses_fs {
        return Some(format!(
            "engine '{}' ignores Options::fs, so SimFs/FaultFs cannot reach it",
            engine.name
        ));
    }
    None
}

/// Runs one case, catching the panic of a failure. The panic still goes
/// through the process's panic hook (which prints it unless the caller
/// replaced the hook).
pub fn run_case(case: &Case, engine: &Engine) -> CaseResult {
    if let Some(reason) = skip_reason(case, engine) {
        return CaseResult::Skipped(reason);
    }
    match catch_unwind(AssertUnwindSafe(|| (case.run)(engine))) {
        Ok(CaseOutcome::Passed) => CaseResult::Passed,
        Ok(CaseOutcome::Skipped(reason)) => CaseResult::Skipped(reason),
        Err(payload) => CaseResult::Failed(panic_message(payload.as_ref())),
    }
}

/// Runs every case of [`cases()`] against `engine`, in order.
pub fn run_all(engine: &Engine) -> Vec<(&'static str, CaseResult)> {
    cases()
        .iter()
        .map(|case| (case.name, run_case(case, engine)))
        .collect()
}

/// What a stamped `#[test]` calls: runs the case without catching its panic
/// (so the test fails with the case's own message and location), and prints
/// `skipped: <reason>` for a case that does not apply.
pub fn run_case_in_test(case: &Case, engine: &Engine) {
    let outcome = match skip_reason(case, engine) {
        Some(reason) => CaseOutcome::Skipped(reason),
        None => (case.run)(engine),
    };
    if let CaseOutcome::Skipped(reason) = outcome {
        println!("skipped: {reason}");
    }
}

/// The text of a panic payload (`panic!` with a literal or a format).
pub(super) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "the case panicked with a non-text payload".to_string()
    }
}
