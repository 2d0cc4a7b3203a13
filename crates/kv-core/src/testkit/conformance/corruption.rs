//! Damaged data is reported, never returned.
//!
//! # The rule
//!
//! After a byte in the middle of a store's data is damaged (bit rot, with
//! valid data after it, so it cannot pass for a torn tail), the engine must
//! say so with `Err(Corruption { file, offset, .. })` from `open`, or else
//! from `get`, `scan` or `check()`. Every value it does return must be the
//! one written: silently different or missing data is a failure, and so is
//! damage that `open`, every read and `check()` all fail to notice. Other
//! errors (`Io`, `InvalidArgument`) are failures too: damage is corruption.
//!
//! The case knows nothing about the engine's files: it damages the largest
//! file it finds on the `SimFs`, at a third, a half and two thirds of its
//! length.

use std::path::PathBuf;

use super::harness::{key, ok, read_all, sim_arc, try_open_on, value};
use super::recovery::fresh_sim_store;
use super::{CaseOutcome, Engine};
use crate::error::{Error, Result};
use crate::options::SyncPolicy;
use crate::store::{Direction, KeyRange, Store};
use crate::testkit::{show_bytes, Model, SeedGuard, SimFs};

/// Writes 300 fresh keys under `Always`, closes the store, and returns the
/// file system and the model.
fn written_store(engine: &Engine, seed: u64) -> (SimFs, Model) {
    let (sim, store) = fresh_sim_store(engine, seed, SyncPolicy::Always);
    let mut model = Model::new();
    for i in 0..300 {
        let v = value(i, 1, 100 + i % 100);
        ok(store.put(&key(i), &v), "put");
        model.put(&key(i), &v);
    }
    let all = read_all(&*store, "before the damage");
    assert!(
        all == model.pairs(),
        "the store differs from the model before any damage"
    );
    drop(store);
    (sim, model)
}

/// The largest file on `sim` and its length.
fn largest_file(sim: &SimFs) -> (PathBuf, u64) {
    sim.files()
        .into_iter()
        .filter_map(|path| sim.contents(&path).map(|bytes| (path, bytes.len() as u64)))
        .max_by_key(|(_, len)| *len)
        .filter(|(_, len)| *len > 0)
        .unwrap_or_else(|| {
            panic!("the engine wrote 300 keys but left no non-empty file on the SimFs")
        })
}

/// `Ok(true)` if `result` is a corruption error, `Ok(false)` if it is `Ok`,
/// a panic for any other error.
fn corruption_or_ok<T>(result: &Result<T>, what: &str, damage: &str) -> bool {
    match result {
        Ok(_) => false,
        Err(e) if e.is_corruption() => true,
        Err(e) => {
            panic!("{damage}: {what} failed with `{e}`, expected Err(Corruption) or correct data")
        }
    }
}

/// Reads everything through `store` after the damage; returns whether any
/// read reported corruption, and panics on wrong data.
fn read_through_damage(store: &dyn Store, model: &Model, damage: &str) -> bool {
    let mut detected = false;
    for (k, v) in model.map() {
        let got = store.get(k);
        if corruption_or_ok(&got, &format!("get({})", show_bytes(k)), damage) {
            detected = true;
        } else if let Ok(got) = got {
            assert!(
                got.as_deref() == Some(v.as_slice()),
                "{damage}: get({}) silently returned {} instead of {}",
                show_bytes(k),
                got.as_deref().map_or("None".into(), show_bytes),
                show_bytes(v)
            );
        }
    }
    let scan = store.scan(&KeyRange::all(), Direction::Forward);
    if corruption_or_ok(&scan, "scan()", damage) {
        return true;
    }
    let mut expected = model.map().iter();
    if let Ok(iter) = scan {
        for item in iter {
            if corruption_or_ok(&item, "a scan item", damage) {
                return true;
            }
            if let Ok((k, v)) = item {
                let want = expected.next();
                assert!(
                    want == Some((&k, &v)),
                    "{damage}: the scan silently yielded {} = {} where the model has {:?}",
                    show_bytes(&k),
                    show_bytes(&v),
                    want.map(|(k, _)| show_bytes(k))
                );
            }
        }
        if let Some((k, _)) = expected.next() {
            panic!(
                "{damage}: the scan ended without an error before key {}",
                show_bytes(k)
            );
        }
    }
    detected
}

/// A byte flipped in the middle of the store's largest file is reported as
/// `Err(Corruption)` by open, a read or `check()`, and no read returns
/// different data (see the module docs for the exact rule).
pub fn corrupt_record_is_reported_not_skipped(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!(
        "{}::corrupt_record_is_reported_not_skipped",
        engine.name
    ));
    for (numerator, denominator) in [(1u64, 3u64), (1, 2), (2, 3)] {
        let (sim, model) = written_store(engine, guard.seed());
        let (file, len) = largest_file(&sim);
        let offset = len * numerator / denominator;
        let old = sim
            .contents(&file)
            .and_then(|b| b.get(offset as usize).copied())
            .unwrap_or(0);
        assert!(
            sim.corrupt(&file, offset, &[old ^ 0xff]),
            "SimFs refused to damage {}",
            file.display()
        );
        let damage = format!(
            "after flipping byte {offset} of {} ({len} bytes)",
            file.display()
        );
        let store = match try_open_on(engine, sim_arc(&sim), SyncPolicy::Always) {
            Err(Error::Corruption { .. }) => continue,
            Err(e) => panic!("{damage}: open failed with `{e}`, expected Err(Corruption)"),
            Ok(store) => store,
        };
        let mut detected = read_through_damage(&*store, &model, &damage);
        detected |= corruption_or_ok(&store.check(), "check()", &damage);
        assert!(
            detected,
            "{damage}: open, get, scan and check() all missed the damage"
        );
    }
    CaseOutcome::Passed
}
