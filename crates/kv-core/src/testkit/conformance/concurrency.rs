//! Several threads on one store: writers and readers agree with the model,
//! scans stay in range and in order while writers run, and writes made
//! while a scan is open do not block.
//!
//! What a scan sees of writes made while it runs is up to the engine (its
//! docs say); the suite checks only the minimum every engine promises:
//! every yielded key is in range, in strict order, with no duplicates, and
//! every yielded value is one that was written for that key.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::RngExt;

use super::harness::{
    assert_check_passes, assert_matches_model, cap, ok, passed, scan_vec, seeded_rng, TempStore,
};
use super::{CaseOutcome, Engine};
use crate::batch::WriteBatch;
use crate::store::{Direction, KeyRange, Store};
use crate::testkit::{show_bytes, Model, SeedGuard};

/// Key `j` of writer `w`.
fn writer_key(w: usize, j: usize) -> Vec<u8> {
    format!("w{w}:{j:03}").into_bytes()
}

/// Version `version` of the value of `key`: names the key, so a value
/// read under the wrong key is caught.
fn versioned_value(key: &[u8], version: u64) -> Vec<u8> {
    let mut v = key.to_vec();
    v.extend_from_slice(format!("#v{version:08}").as_bytes());
    v
}

/// The version in a value written for `key`; panics if the value was never
/// written for it.
fn version_of(key: &[u8], value: &[u8], context: &str) -> u64 {
    let version = value
        .strip_prefix(key)
        .and_then(|rest| rest.strip_prefix(b"#v"))
        .and_then(|digits| std::str::from_utf8(digits).ok())
        .and_then(|digits| digits.parse().ok());
    version.unwrap_or_else(|| {
        panic!(
            "{context}: key {} holds {}, a value never written for it",
            show_bytes(key),
            show_bytes(value)
        )
    })
}

/// Writer `w`: puts, deletes and batches over its own keys, with versions
/// increasing per key. Returns the model of its keys.
fn run_writer(store: &dyn Store, w: usize, keys: usize, ops: usize, rng: &mut StdRng) -> Model {
    let mut model = Model::new();
    for n in 0..ops as u64 {
        let k = writer_key(w, rng.random_range(0..keys));
        match rng.random_range(0..10) {
            0..=5 => {
                let v = versioned_value(&k, n);
                ok(store.put(&k, &v), "concurrent put");
                model.put(&k, &v);
            }
            6 | 7 => {
                ok(store.delete(&k), "concurrent delete");
                model.delete(&k);
            }
            _ => {
                let k2 = writer_key(w, rng.random_range(0..keys));
                let mut batch = WriteBatch::new();
                batch
                    .put(k.clone(), versioned_value(&k, n))
                    .delete(k2.clone());
                ok(store.write(&batch), "concurrent batch");
                model.apply_batch(&batch);
            }
        }
    }
    model
}

/// Joins scoped threads, keeping each one's panic.
fn join_all<T>(handles: Vec<thread::ScopedJoinHandle<'_, T>>) -> Vec<thread::Result<T>> {
    handles.into_iter().map(|h| h.join()).collect()
}

/// The threads' results, re-raising the first panic with its own message.
fn unwrap_joined<T>(results: Vec<thread::Result<T>>) -> Vec<T> {
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|payload| std::panic::resume_unwind(payload)))
        .collect()
}

/// Four writers, each owning a key range, and two readers run together:
/// readers only ever see values written for the key they read, never an
/// older version after a newer one, and the final state equals the union of
/// the writers' models.
pub fn concurrent_writers_and_readers_agree_with_model(engine: &Engine) -> CaseOutcome {
    const WRITERS: usize = 4;
    const KEYS_PER_WRITER: usize = 40;
    let guard = SeedGuard::new(format!(
        "{}::concurrent_writers_and_readers_agree_with_model",
        engine.name
    ));
    let ops = cap(1500, 20_000);
    let db = TempStore::new(engine);
    let store = db.open();
    let done = AtomicBool::new(false);
    let models = thread::scope(|s| {
        let readers: Vec<_> = (0..2u64)
            .map(|r| {
                let (store, done) = (&*store, &done);
                let mut rng = seeded_rng(guard.seed() ^ (100 + r));
                s.spawn(move || {
                    let mut last_seen: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
                    while !done.load(Ordering::Acquire) {
                        let k = writer_key(
                            rng.random_range(0..WRITERS),
                            rng.random_range(0..KEYS_PER_WRITER),
                        );
                        if let Some(v) = ok(store.get(&k), "concurrent get") {
                            let version = version_of(&k, &v, "concurrent get");
                            let last = last_seen.entry(k.clone()).or_insert(version);
                            assert!(
                                version >= *last,
                                "reader {r} saw version {version} of {} after version {last}",
                                show_bytes(&k)
                            );
                            *last = version;
                        }
                    }
                })
            })
            .collect();
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let store = &*store;
                let mut rng = seeded_rng(guard.seed() ^ w as u64);
                s.spawn(move || run_writer(store, w, KEYS_PER_WRITER, ops, &mut rng))
            })
            .collect();
        let models = join_all(writers);
        done.store(true, Ordering::Release);
        unwrap_joined(join_all(readers));
        unwrap_joined(models)
    });
    let model: Model = models.into_iter().flat_map(|m| m.pairs()).collect();
    assert_matches_model(&*store, &model, "after concurrent writers");
    passed(store)
}

/// Checks one scan taken while writers run; returns how many pairs it had.
fn check_scan_under_writes(store: &dyn Store, range: &KeyRange, direction: Direction) -> usize {
    let items = scan_vec(store, range, direction, "scan while writers run");
    for pair in items.windows(2) {
        let ordered = match direction {
            Direction::Forward => pair[0].0 < pair[1].0,
            Direction::Reverse => pair[0].0 > pair[1].0,
        };
        assert!(
            ordered,
            "{direction:?} scan({range:?}) yielded {} then {} while writers ran",
            show_bytes(&pair[0].0),
            show_bytes(&pair[1].0)
        );
    }
    for (k, v) in &items {
        assert!(
            range.contains(k),
            "scan({range:?}) yielded {}, outside the range, while writers ran",
            show_bytes(k)
        );
        version_of(k, v, "scan while writers run");
    }
    items.len()
}

/// Two scanners run full and bounded scans, both directions, while two
/// writers change the keys under them: every scan is in range, strictly
/// ordered, without duplicates, with values written for their keys.
pub fn scans_stay_ordered_while_writers_run(engine: &Engine) -> CaseOutcome {
    const WRITERS: usize = 2;
    const KEYS_PER_WRITER: usize = 300;
    let guard = SeedGuard::new(format!(
        "{}::scans_stay_ordered_while_writers_run",
        engine.name
    ));
    let db = TempStore::new(engine);
    let store = db.open();
    let mut preload = Model::new();
    for w in 0..WRITERS {
        for j in 0..KEYS_PER_WRITER {
            let k = writer_key(w, j);
            ok(store.put(&k, &versioned_value(&k, 0)), "preload put");
            preload.put(&k, &versioned_value(&k, 0));
        }
    }
    let done = AtomicBool::new(false);
    let ops = cap(1500, 20_000);
    thread::scope(|s| {
        let scanners: Vec<_> = (0..2u64)
            .map(|r| {
                let (store, done) = (&*store, &done);
                let mut rng = seeded_rng(guard.seed() ^ (100 + r));
                s.spawn(move || {
                    let mut scans = 0;
                    while !done.load(Ordering::Acquire) || scans < 4 {
                        let start = writer_key(
                            rng.random_range(0..WRITERS),
                            rng.random_range(0..KEYS_PER_WRITER),
                        );
                        let range = match rng.random_range(0..3) {
                            0 => KeyRange::all(),
                            1 => KeyRange {
                                start: Bound::Included(start),
                                end: Bound::Unbounded,
                            },
                            _ => KeyRange::prefix(&start[..3]),
                        };
                        let direction = if rng.random() {
                            Direction::Forward
                        } else {
                            Direction::Reverse
                        };
                        check_scan_under_writes(store, &range, direction);
                        scans += 1;
                    }
                })
            })
            .collect();
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let store = &*store;
                let mut rng = seeded_rng(guard.seed() ^ w as u64);
                s.spawn(move || run_writer(store, w, KEYS_PER_WRITER, ops, &mut rng))
            })
            .collect();
        let writers = join_all(writers);
        done.store(true, Ordering::Release);
        unwrap_joined(join_all(scanners));
        unwrap_joined(writers);
    });
    passed(store)
}

/// A put, a delete, a batch and a sync made while a scan iterator is open
/// (on another thread, between items) all return within 10 s, and the scan
/// then runs to its end in order.
pub fn writes_while_a_scan_is_open_do_not_block(engine: &Engine) -> CaseOutcome {
    let db = TempStore::new(engine);
    let store: Arc<dyn Store> = Arc::from(db.open());
    let mut model = Model::new();
    for j in 0..100 {
        let k = writer_key(0, j);
        ok(store.put(&k, &versioned_value(&k, 0)), "preload put");
        model.put(&k, &versioned_value(&k, 0));
    }
    let (done_tx, done_rx) = mpsc::channel();
    let worker_store = Arc::clone(&store);
    let worker = thread::spawn(move || {
        let store = &*worker_store;
        let mut iter = ok(store.scan(&KeyRange::all(), Direction::Forward), "scan");
        let mut keys: Vec<Vec<u8>> = Vec::new();
        for _ in 0..10 {
            if let Some(item) = iter.next() {
                keys.push(ok(item, "scan item").0);
            }
        }
        let k = writer_key(0, 500);
        ok(
            store.put(&k, &versioned_value(&k, 1)),
            "put while a scan is open",
        );
        ok(
            store.delete(&writer_key(0, 50)),
            "delete while a scan is open",
        );
        let mut batch = WriteBatch::new();
        batch
            .put(writer_key(0, 5), versioned_value(&writer_key(0, 5), 1))
            .delete(writer_key(0, 60));
        ok(store.write(&batch), "batch while a scan is open");
        ok(store.sync(), "sync while a scan is open");
        for item in iter {
            let (k, v) = ok(item, "scan item after the writes");
            version_of(&k, &v, "scan item after the writes");
            keys.push(k);
        }
        assert!(
            keys.windows(2).all(|w| w[0] < w[1]),
            "the scan open across writes is not strictly ascending"
        );
        let _ = done_tx.send(());
    });
    match done_rx.recv_timeout(Duration::from_secs(10)) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("writes made while a scan was open did not finish within 10 s (a lock held by the scan iterator?)"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {}
    }
    if let Err(payload) = worker.join() {
        std::panic::resume_unwind(payload);
    }
    let k = writer_key(0, 500);
    model.put(&k, &versioned_value(&k, 1));
    model.delete(&writer_key(0, 50));
    model.put(&writer_key(0, 5), &versioned_value(&writer_key(0, 5), 1));
    model.delete(&writer_key(0, 60));
    assert_matches_model(&*store, &model, "after writes made during a scan");
    assert_check_passes(&*store, "at the end of the case");
    CaseOutcome::Passed
}

/// Three writers (each owning its keys, versions increasing per key), two
/// readers and a thread running `compact()` over and over, together: every
/// value a reader gets was written for that key, and no reader sees a
/// version older than one it saw before; after the threads stop, one more
/// `compact()` leaves exactly the union of the writers' models.
pub fn compact_while_readers_and_writers_run(engine: &Engine) -> CaseOutcome {
    const WRITERS: usize = 3;
    const KEYS_PER_WRITER: usize = 40;
    let guard = SeedGuard::new(format!(
        "{}::compact_while_readers_and_writers_run",
        engine.name
    ));
    let ops = cap(600, 10_000);
    let db = TempStore::new(engine);
    let store = db.open();
    let done = AtomicBool::new(false);
    let models = thread::scope(|s| {
        let (store, done) = (&*store, &done);
        let mut helpers: Vec<thread::ScopedJoinHandle<'_, ()>> = (0..2u64)
            .map(|r| {
                let mut rng = seeded_rng(guard.seed() ^ (200 + r));
                s.spawn(move || {
                    let mut last_seen: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
                    while !done.load(Ordering::Acquire) {
                        let k = writer_key(rng.random_range(0..WRITERS), rng.random_range(0..KEYS_PER_WRITER));
                        if let Some(v) = ok(store.get(&k), "get while compact() runs") {
                            let version = version_of(&k, &v, "get while compact() runs");
                            let last = last_seen.entry(k.clone()).or_insert(version);
                            assert!(
                                version >= *last,
                                "reader {r} saw version {version} of {} after version {last} while compact() ran",
                                show_bytes(&k)
                            );
                            *last = version;
                        }
                    }
                })
            })
            .collect();
        helpers.push(s.spawn(move || {
            let mut runs = 0;
            while !done.load(Ordering::Acquire) || runs < 3 {
                ok(store.compact(), "compact() while readers and writers run");
                runs += 1;
            }
        }));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let mut rng = seeded_rng(guard.seed() ^ (300 + w as u64));
                s.spawn(move || run_writer(store, w, KEYS_PER_WRITER, ops, &mut rng))
            })
            .collect();
        let models = join_all(writers);
        done.store(true, Ordering::Release);
        unwrap_joined(join_all(helpers));
        unwrap_joined(models)
    });
    let model: Model = models.into_iter().flat_map(|m| m.pairs()).collect();
    assert_matches_model(
        &*store,
        &model,
        "after readers, writers and compact() ran together",
    );
    ok(store.compact(), "a last compact()");
    assert_matches_model(
        &*store,
        &model,
        "after the threads stopped and a last compact()",
    );
    passed(store)
}
