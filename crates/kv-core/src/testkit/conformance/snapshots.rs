//! Snapshot scans, for engines that claim them (`Engine::snapshot_scans`):
//! a scan sees exactly the state at its start. Later writes are invisible,
//! a batch is all or nothing, while writers and `compact()` run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use super::harness::{cap, ok, passed, scan_vec, TempStore};
use super::{CaseOutcome, Engine};
use crate::batch::WriteBatch;
use crate::store::{Direction, KeyRange, KvPair, Store};
use crate::testkit::show_bytes;

/// Keys every batch of the case rewrites together.
const KEYS: usize = 200;

fn snap_key(i: usize) -> Vec<u8> {
    format!("snap{i:04}").into_bytes()
}

fn snap_value(i: usize, version: u64) -> Vec<u8> {
    format!("snap{i:04}@{version:08}").into_bytes()
}

/// One batch setting every key to `version`.
fn all_keys_at(version: u64) -> WriteBatch {
    let mut batch = WriteBatch::new();
    for i in 0..KEYS {
        batch.put(snap_key(i), snap_value(i, version));
    }
    batch
}

/// The single version every pair of a scan holds; panics if the scan mixes
/// versions or misses keys (a torn snapshot).
fn single_version(items: &[KvPair], direction: Direction, context: &str) -> u64 {
    assert_eq!(
        items.len(),
        KEYS,
        "{context}: a {direction:?} scan yielded {} keys, every snapshot holds {KEYS}",
        items.len()
    );
    let version_of = |v: &[u8]| -> u64 {
        std::str::from_utf8(v)
            .ok()
            .and_then(|s| s.rsplit('@').next())
            .and_then(|d| d.parse().ok())
            .unwrap_or_else(|| panic!("{context}: a scan yielded the value {}", show_bytes(v)))
    };
    let first = version_of(&items[0].1);
    for (k, v) in items {
        assert!(
            version_of(v) == first,
            "{context}: a {direction:?} scan saw {} = {} and {} at version {first}: not one snapshot",
            show_bytes(k),
            show_bytes(v),
            show_bytes(&items[0].0)
        );
    }
    first
}

/// A scan opened before a batch rewriting every key and a `compact()`, read
/// on after them, yields only the old versions (both directions).
fn later_writes_are_invisible(store: &dyn Store) {
    for (round, direction) in [Direction::Forward, Direction::Reverse]
        .into_iter()
        .enumerate()
    {
        let old = 1 + round as u64 * 2;
        ok(store.write(&all_keys_at(old)), "a batch of every key");
        let mut iter = ok(store.scan(&KeyRange::all(), direction), "scan");
        let mut items: Vec<KvPair> = Vec::new();
        for _ in 0..KEYS / 4 {
            if let Some(item) = iter.next() {
                items.push(ok(item, "scan item"));
            }
        }
        ok(
            store.write(&all_keys_at(old + 1)),
            "a batch while the scan is open",
        );
        ok(
            store.delete(&snap_key(KEYS - 1)),
            "a delete while the scan is open",
        );
        ok(store.compact(), "compact() while the scan is open");
        for item in iter {
            items.push(ok(item, "scan item after the writes"));
        }
        let context = "a scan opened before a batch, a delete and compact()";
        let seen = single_version(&items, direction, context);
        assert_eq!(
            seen, old,
            "{context} saw version {seen}, it started at version {old}"
        );
        ok(
            store.put(&snap_key(KEYS - 1), &snap_value(KEYS - 1, old + 1)),
            "put back",
        );
    }
}

/// Where `Engine::snapshot_scans` is true: a scan opened before a batch, a
/// delete and `compact()` sees none of them; and while a writer rewrites
/// every key in one batch at a time and another thread runs `compact()`,
/// every scan holds all keys at one version, never lower than the scanner
/// saw before. Skipped where the engine does not claim snapshot scans.
pub fn scans_see_a_snapshot_while_writers_and_compaction_run(engine: &Engine) -> CaseOutcome {
    if !engine.snapshot_scans {
        return CaseOutcome::Skipped(format!(
            "engine '{}' does not claim snapshot scans",
            engine.name
        ));
    }
    let db = TempStore::new(engine);
    let store = db.open();
    later_writes_are_invisible(&*store);
    let batches = cap(60, 1000) as u64;
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        let store = &*store;
        let done = &done;
        let scanners: Vec<_> = [Direction::Forward, Direction::Reverse]
            .into_iter()
            .map(|direction| {
                s.spawn(move || {
                    let mut last = 0;
                    let mut scans = 0;
                    while !done.load(Ordering::Acquire) || scans < 3 {
                        let items = scan_vec(store, &KeyRange::all(), direction, "scan");
                        let seen = single_version(&items, direction, "a scan while writers run");
                        assert!(
                            seen >= last,
                            "a {direction:?} scan saw version {seen} after version {last}"
                        );
                        last = seen;
                        scans += 1;
                    }
                })
            })
            .collect();
        let compactor = s.spawn(move || {
            let mut runs = 0;
            while !done.load(Ordering::Acquire) || runs < 2 {
                ok(store.compact(), "compact() while scans run");
                runs += 1;
            }
        });
        for version in 10..10 + batches {
            ok(store.write(&all_keys_at(version)), "a batch of every key");
        }
        done.store(true, Ordering::Release);
        let results: Vec<_> = scanners
            .into_iter()
            .map(|h| h.join())
            .chain([compactor.join()])
            .collect();
        for result in results {
            if let Err(payload) = result {
                std::panic::resume_unwind(payload);
            }
        }
    });
    passed(store)
}
