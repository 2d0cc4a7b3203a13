//! Tests of the suite itself: a correct persistent store passes every case,
//! and each deliberate bug makes the case guarding against it fail. The
//! bugs are [`Bug`] variants of the test `LogStore` and, for the `Store`
//! methods with default implementations (`delete_range`, `close`),
//! [`Override`]s of a wrapper around it.

use super::log_store_for_tests::{
    damage_a_shadowed_record, damage_separate_records, Bug, LogStore, Overridden, Override,
};
use super::{cases, run_case, CaseResult, Engine};

/// The log store with `bug`, declaring snapshot scans and both damage hooks.
fn log_engine_with(bug: Bug) -> Engine {
    Engine::new("test-log", move |dir, options| {
        Ok(Box::new(LogStore::open(dir, options, bug)?))
    })
    .snapshot_scans(true)
    .hidden_damage(damage_a_shadowed_record)
    .separate_damage(damage_separate_records)
}

/// The correct log store wrapped with a wrong `delete_range` or `close`.
fn log_engine_overridden(defect: Override) -> Engine {
    Engine::new("test-log-overridden", move |dir, options| {
        Ok(Box::new(Overridden {
            store: LogStore::open(dir, options, Bug::None)?,
            defect,
        }))
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

/// Runs `case` against `engine`; it must fail, with a message containing
/// one of `expected`.
fn assert_caught(engine: &Engine, what: &str, case: &str, expected: &[&str]) {
    let case = cases()
        .into_iter()
        .find(|c| c.name == case)
        .unwrap_or_else(|| panic!("no case named {case}"));
    match run_case(&case, engine) {
        CaseResult::Failed(message) => {
            assert!(
                expected.iter().any(|e| message.contains(e)),
                "{what} failed {} with an unexpected message: {message}",
                case.name
            )
        }
        other => panic!("{what} was not caught by {}: {other:?}", case.name),
    }
}

/// Runs `case` against the log store with `bug`; it must fail, and its
/// message must contain `expected`.
fn assert_bug_caught(bug: Bug, case: &str, expected: &str) {
    assert_caught(
        &log_engine_with(bug),
        &format!("{bug:?}"),
        case,
        &[expected],
    );
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

const NOT_A_PREFIX: &str = "not the model after any allowed prefix";

#[test]
fn a_check_that_trusts_memory_is_caught() {
    assert_bug_caught(
        Bug::CheckTrustsMemory,
        "check_finds_damage_reads_cannot_see",
        "check() did not list the damage",
    );
}

#[test]
fn a_check_that_stops_at_the_first_damage_is_caught() {
    assert_bug_caught(
        Bug::CheckStopsAtFirstDamage,
        "verify_mode_lists_every_damaged_spot",
        "listed 1 damaged spots, expected 3",
    );
}

#[test]
fn a_compaction_that_brings_back_old_versions_is_caught() {
    assert_caught(
        &log_engine_with(Bug::CompactKeepsFirstVersion),
        "CompactKeepsFirstVersion",
        "compact_while_readers_and_writers_run",
        &["a full scan differs from the model", "while compact() ran"],
    );
}

#[test]
fn a_compaction_of_the_synced_prefix_only_is_caught() {
    assert_bug_caught(
        Bug::CompactsSyncedPrefixOnly,
        "crash_during_compaction_with_unsynced_writes_loses_nothing_synced",
        NOT_A_PREFIX,
    );
}

#[test]
fn splitting_large_batches_is_caught() {
    assert_bug_caught(
        Bug::SplitsLargeBatches,
        "batch_larger_than_a_file_is_all_or_nothing",
        NOT_A_PREFIX,
    );
}

#[test]
fn rewriting_the_log_during_recovery_is_caught() {
    assert_bug_caught(
        Bug::RewritesLogOnRecovery,
        "crash_during_recovery_leaves_a_recoverable_store",
        NOT_A_PREFIX,
    );
}

#[test]
fn leaving_a_torn_tail_in_place_is_caught() {
    assert_bug_caught(
        Bug::LeavesTornTail,
        "random_power_cuts_match_the_acknowledged_history",
        "reopening after the crash: opening engine",
    );
}

#[test]
fn a_read_only_open_that_repairs_is_caught() {
    assert_bug_caught(
        Bug::ReadOnlyRepairs,
        "read_only_open_changes_no_byte",
        "mutating file-system operations",
    );
}

#[test]
fn live_scans_are_caught_where_snapshots_are_claimed() {
    assert_caught(
        &log_engine_with(Bug::ScansReadLive),
        "ScansReadLive",
        "scans_see_a_snapshot_while_writers_and_compaction_run",
        &["not one snapshot", "every snapshot holds"],
    );
}

#[test]
fn missing_io_counters_are_caught() {
    assert_bug_caught(
        Bug::ReportsNoIo,
        "stats_io_and_torn_bytes_move_when_they_must",
        "moved stats().io by",
    );
}

#[test]
fn unreported_torn_bytes_are_caught() {
    assert_bug_caught(
        Bug::ForgetsTornBytes,
        "stats_io_and_torn_bytes_move_when_they_must",
        "torn_bytes_truncated is 0",
    );
}

#[test]
fn a_delete_range_that_includes_an_excluded_end_is_caught() {
    assert_caught(
        &log_engine_overridden(Override::DeleteRangeIncludesExcludedEnd),
        "DeleteRangeIncludesExcludedEnd",
        "delete_range_matches_the_model",
        &["scan of", "a full scan differs from the model"],
    );
}

#[test]
fn a_delete_range_of_single_deletes_is_caught() {
    assert_caught(
        &log_engine_overridden(Override::DeleteRangeKeyByKey),
        "DeleteRangeKeyByKey",
        "delete_range_batches_are_atomic_across_crash",
        &[NOT_A_PREFIX],
    );
}

#[test]
fn a_close_that_keeps_the_lock_is_caught() {
    assert_caught(
        &log_engine_overridden(Override::CloseKeepsLock),
        "CloseKeepsLock",
        "close_reports_success_and_releases_the_lock",
        &["still locked after close()"],
    );
}

#[test]
fn the_damage_cases_skip_an_engine_without_hooks() {
    let plain = log_engine_overridden(Override::CloseKeepsLock);
    for name in [
        "check_finds_damage_reads_cannot_see",
        "verify_mode_lists_every_damaged_spot",
        "scans_see_a_snapshot_while_writers_and_compaction_run",
    ] {
        let case = cases().into_iter().find(|c| c.name == name).unwrap();
        assert!(
            matches!(run_case(&case, &plain), CaseResult::Skipped(_)),
            "{name} did not skip an engine that declares no hook / no snapshot scans"
        );
    }
}

#[test]
fn live_keys_are_checked_exactly_only_where_claimed_exact() {
    assert_bug_caught(
        Bug::OvercountsLiveKeys,
        "stats_live_keys_match_model",
        "stats().live_keys is",
    );
    let case = cases()
        .into_iter()
        .find(|c| c.name == "stats_live_keys_match_model")
        .unwrap();
    let result = run_case(&case, &log_engine_with(Bug::EstimatesLiveKeys));
    assert_eq!(
        result,
        CaseResult::Passed,
        "an estimate flagged live_keys_exact: false must pass"
    );
}
