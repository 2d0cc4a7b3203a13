//! Stats that must move: `stats().io` counts the engine's writes, syncs and
//! reads through its `Fs`, and `stats().torn_bytes_truncated` reports the
//! torn tail an open cut off.

use super::harness::{key, ok, open_on, read_all, sim_arc, value};
use super::recovery::{copy_of, fresh_sim_store, store_with_torn_tail};
use super::{CaseOutcome, Engine};
use crate::fs::IoCounters;
use crate::options::SyncPolicy;
use crate::testkit::SeedGuard;

/// Every counter of `later` is at least the one of `earlier`.
fn assert_monotonic(earlier: &IoCounters, later: &IoCounters, context: &str) {
    let pairs = [
        ("bytes_read", earlier.bytes_read, later.bytes_read),
        ("read_calls", earlier.read_calls, later.read_calls),
        ("bytes_written", earlier.bytes_written, later.bytes_written),
        ("write_calls", earlier.write_calls, later.write_calls),
        ("file_syncs", earlier.file_syncs, later.file_syncs),
    ];
    for (name, before, after) in pairs {
        assert!(
            after >= before,
            "{context}: stats().io.{name} went down from {before} to {after}"
        );
    }
}

/// `stats().io` moves where it must: 200 puts and a `sync()` raise
/// `bytes_written` (by at least the bytes of the keys), `write_calls` and
/// `file_syncs`; reopening the store and reading every key raise
/// `bytes_read` and `read_calls`; no counter ever goes down. After a crash
/// that tore a tail, if the open cut non-zero bytes off a file,
/// `stats().torn_bytes_truncated` is not zero.
pub fn stats_io_and_torn_bytes_move_when_they_must(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!(
        "{}::stats_io_and_torn_bytes_move_when_they_must",
        engine.name
    ));
    let (sim, store) = fresh_sim_store(engine, guard.seed(), SyncPolicy::Manual);
    let start = store.stats().io;
    let mut key_bytes = 0;
    for i in 0..200 {
        key_bytes += key(i).len() as u64;
        ok(store.put(&key(i), &value(i, 1, 100)), "put");
    }
    ok(store.sync(), "sync");
    let written = store.stats().io;
    assert_monotonic(&start, &written, "after puts and a sync");
    let moved = written.since(&start);
    assert!(
        moved.bytes_written >= key_bytes && moved.write_calls > 0 && moved.file_syncs > 0,
        "200 puts of {key_bytes} key bytes and a sync moved stats().io by {moved:?}"
    );
    drop(store);
    let store = open_on(engine, sim_arc(&sim), SyncPolicy::Manual, "reopen");
    let opened = store.stats().io;
    let all = read_all(&*store, "reading after the reopen");
    assert_eq!(
        all.len(),
        200,
        "the reopened store holds {} keys",
        all.len()
    );
    for i in 0..200 {
        ok(store.get(&key(i)), "get");
    }
    let read = store.stats().io;
    assert_monotonic(&opened, &read, "after reads");
    assert!(
        read.bytes_read > 0 && read.read_calls > 0,
        "opening a store of 200 keys and reading every one moved stats().io to {read:?}"
    );
    drop(store);
    assert_torn_bytes_reported(engine, guard.seed());
    CaseOutcome::Passed
}

/// The torn-tail half of [`stats_io_and_torn_bytes_move_when_they_must`].
fn assert_torn_bytes_reported(engine: &Engine, seed: u64) {
    let (crashed, _) = store_with_torn_tail(engine, seed);
    let sim = copy_of(&crashed);
    let before: Vec<_> = sim
        .files()
        .into_iter()
        .map(|p| (sim.contents(&p), p))
        .collect();
    let store = open_on(
        engine,
        sim_arc(&sim),
        SyncPolicy::Manual,
        "open after a torn crash",
    );
    let cut_nonzero = before
        .iter()
        .any(|(old, path)| match (old, sim.contents(path)) {
            (Some(old), Some(now)) if now.len() < old.len() => {
                old[now.len()..].iter().any(|&b| b != 0) && old.starts_with(&now)
            }
            _ => false,
        });
    let torn = store.stats().torn_bytes_truncated;
    assert!(
        !cut_nonzero || torn > 0,
        "the open after a torn crash cut non-zero bytes off a file but stats().torn_bytes_truncated is 0"
    );
}
