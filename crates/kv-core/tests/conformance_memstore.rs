//! The conformance suite against `MemStore`, the in-memory reference store:
//! proves the suite itself (every case passes, or skips when it needs
//! persistence or our `Fs`).
#![cfg(feature = "testkit")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kv_core::testkit::conformance::{self, CaseResult, Engine};
use kv_core::testkit::MemStore;

fn memstore_engine() -> Engine {
    Engine::new("memory", |_dir, _options| Ok(Box::new(MemStore::new())))
        .persistent(false)
        .uses_fs(false)
        .snapshot_scans(true)
}

kv_core::conformance_suite!(memstore_engine);

/// The runtime list `kv-bench conformance` uses skips exactly the cases that
/// need persistence or our `Fs`, and passes the others. (Each case is also
/// stamped as its own test above; this checks the runner, not the cases.)
#[test]
fn runner_skips_persistence_and_fs_cases_for_memstore() {
    let engine = memstore_engine();
    let mut names = std::collections::BTreeSet::new();
    for case in conformance::cases() {
        assert!(
            names.insert(case.name),
            "case {} is listed twice",
            case.name
        );
        if case.needs_persistence || case.needs_our_fs {
            let result = conformance::run_case(&case, &engine);
            assert!(
                matches!(result, CaseResult::Skipped(_)),
                "{}: {result:?}",
                case.name
            );
        }
    }
    assert!(names.len() >= 40, "only {} cases", names.len());
}
