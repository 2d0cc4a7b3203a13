//! Tests of the suite itself: a correct persistent store passes every case,
//! and each deliberate bug makes the case guarding against it fail.

use super::log_store_for_tests::{Bug, LogStore};
use super::{cases, run_case, CaseResult, Engine};

fn log_engine_with(bug: Bug) -> Engine {
    Engine::new("test-log", move |dir, options| {
        Ok(Box::new(LogStore::open(dir, options, bug)?))
    })
}

fn log_engine() -> Engine {
    log_engine_with(Bug::None)
}

/// Every case, stamped by the same macro engines use, against the correct
/// log store: all must pass (none may skip: the store is persistent and
/// uses our `Fs`).
mod correct_log_store {
    use super::log_engine;
    crate::conformance_suite!(log_engine);
}

#[test]
fn no_case_skips_for_a_persistent_engine_on_our_fs() {
    let engine = log_engine();
    for case in cases() {
        assert_eq!(super::skip_reason(&case, &engine), None, "{}", case.name);
    }
}

/// Runs `case` against the log store with `bug`; it must fail, and its
/// message must contain `expected`.
fn assert_bug_caught(bug: Bug, case: &str, expected: &str) {
    let case = cases()
        .into_iter()
        .find(|c| c.name == case)
        .unwrap_or_else(|| panic!("no case named {case}"));
    match run_case(&case, &log_engine_with(bug)) {
        CaseResult::Failed(message) => {
            assert!(
                message.contains(expected),
                "{bug:?} failed {} with an unexpected message: {message}",
                case.name
            )
        }
        other => panic!("{bug:?} was not caught by {}: {other:?}", case.name),
    }
}

#[test]
fn skipping_fsync_under_always_is_caught() {
    assert_bug_caught(
        Bug::SkipsSyncUnderAlways,
        "acknowledged_writes_survive_crash_under_always_sync",
        "not the model after any allowed prefix",
    );
}

#[test]
fn splitting_batches_is_caught() {
    assert_bug_caught(
        Bug::SplitsBatches,
        "batch_is_atomic_across_crash",
        "not the model after any allowed prefix",
    );
}

#[test]
fn skipping_corruption_is_caught() {
    assert_bug_caught(
        Bug::SkipsCorruption,
        "corrupt_record_is_reported_not_skipped",
        "silently",
    );
}

#[test]
fn forgetting_the_directory_sync_is_caught() {
    assert_bug_caught(
        Bug::ForgetsDirSync,
        "acknowledged_writes_survive_crash_under_always_sync",
        "not the model after any allowed prefix",
    );
}

#[test]
fn ignoring_poison_is_caught() {
    assert_bug_caught(
        Bug::IgnoresPoison,
        "failed_sync_poisons_the_store",
        "expected Err(Poisoned)",
    );
    assert_bug_caught(
        Bug::IgnoresPoison,
        "failed_write_poisons_the_store",
        "expected Err(Poisoned)",
    );
}

#[test]
fn compacting_in_place_is_caught() {
    assert_bug_caught(
        Bug::CompactsInPlace,
        "crash_during_compact_loses_nothing",
        "not the model after any allowed prefix",
    );
}

#[test]
fn an_interval_policy_that_never_syncs_is_caught() {
    assert_bug_caught(
        Bug::IntervalNeverSyncs,
        "interval_policy_makes_writes_durable_without_sync",
        "not the model after any allowed prefix",
    );
}

#[test]
fn the_model_test_catches_a_store_that_loses_writes_on_reopen() {
    // Reopening on a fresh directory every time loses everything: only the
    // model test and the persistence cases can notice.
    let forgetful = Engine::new("forgetful", |_, _| {
        Ok(Box::new(crate::testkit::MemStore::new()))
    })
    .uses_fs(false);
    for name in [
        "random_operations_match_model",
        "puts_survive_reopen",
        "clean_close_keeps_unsynced_writes",
    ] {
        let case = cases().into_iter().find(|c| c.name == name).unwrap();
        assert!(
            matches!(run_case(&case, &forgetful), CaseResult::Failed(_)),
            "{name} passed a store that forgets"
        );
    }
}
