//! What the cases share: opening the engine on a temporary directory or a
//! simulated file system, assertions with clear messages, seeded randomness
//! and the caps that keep the suite fast.

use std::fmt::Display;
use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tempfile::TempDir;

use super::{CaseOutcome, Engine};
use crate::error::Result;
use crate::fs::{Fs, StdFs};
use crate::options::{Background, OpenMode, Options, SyncPolicy};
use crate::store::{Direction, KeyRange, KvPair, Store};
use crate::testkit::model::{describe_op, diff_lines, show_bytes, Model, ModelOp};
use crate::testkit::SimFs;

/// The store directory cases on a `SimFs` (or a `FaultFs` over one) use.
pub const SIM_DB_DIR: &str = "/sim/db";

/// Name of the environment variable that raises the caps of crash loops and
/// random cases.
pub(super) const SOAK_ENV: &str = "KV_SOAK";

/// True when `KV_SOAK=1`: longer crash loops and more random cases.
pub(super) fn soak() -> bool {
    std::env::var(SOAK_ENV).is_ok_and(|v| v == "1")
}

/// `normal`, or `soaked` under `KV_SOAK=1`.
pub(super) fn cap(normal: usize, soaked: usize) -> usize {
    if soak() {
        soaked
    } else {
        normal
    }
}

/// A store directory on the real file system, removed when the case ends.
pub(super) struct TempStore<'e> {
    engine: &'e Engine,
    dir: TempDir,
    sync: SyncPolicy,
}

impl<'e> TempStore<'e> {
    /// A fresh directory; the engine opens with `SyncPolicy::Manual`.
    pub(super) fn new(engine: &'e Engine) -> Self {
        Self::with_sync(engine, SyncPolicy::Manual)
    }

    /// A fresh directory; the engine opens with `sync`.
    pub(super) fn with_sync(engine: &'e Engine, sync: SyncPolicy) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("kv-conformance-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        Self { engine, dir, sync }
    }

    /// Opens the engine on the directory.
    pub(super) fn try_open(&self) -> Result<Box<dyn Store>> {
        (self.engine.open)(
            self.dir.path(),
            Options::with_fs(Arc::new(StdFs)).sync(self.sync),
        )
    }

    /// Opens the engine on the directory; panics if that fails.
    pub(super) fn open(&self) -> Box<dyn Store> {
        self.try_open().unwrap_or_else(|e| {
            panic!(
                "opening engine '{}' in {} failed: {e}",
                self.engine.name,
                self.dir.path().display()
            )
        })
    }

    /// Drops `store` (a clean close) and opens the directory again.
    pub(super) fn reopen(&self, store: Box<dyn Store>) -> Box<dyn Store> {
        drop(store);
        self.open()
    }
}

/// `fs` as the `Arc<dyn Fs>` that goes into `Options`.
pub(super) fn sim_arc(sim: &SimFs) -> Arc<dyn Fs> {
    Arc::new(sim.clone())
}

/// Opens the engine in [`SIM_DB_DIR`] on `fs`, with background work
/// [`Background::Inline`] so the case replays exactly from its seed.
pub(super) fn try_open_on(
    engine: &Engine,
    fs: Arc<dyn Fs>,
    sync: SyncPolicy,
) -> Result<Box<dyn Store>> {
    (engine.open)(
        Path::new(SIM_DB_DIR),
        Options::with_fs(fs)
            .sync(sync)
            .background(Background::Inline),
    )
}

/// Opens the engine in [`SIM_DB_DIR`] on `fs` in `mode`, background work
/// [`Background::Inline`].
pub(super) fn try_open_on_with(
    engine: &Engine,
    fs: Arc<dyn Fs>,
    sync: SyncPolicy,
    mode: OpenMode,
) -> Result<Box<dyn Store>> {
    (engine.open)(
        Path::new(SIM_DB_DIR),
        Options::with_fs(fs)
            .sync(sync)
            .background(Background::Inline)
            .open_mode(mode),
    )
}

/// Opens the engine in [`SIM_DB_DIR`] on `fs`; panics naming `context` if
/// that fails.
pub(super) fn open_on(
    engine: &Engine,
    fs: Arc<dyn Fs>,
    sync: SyncPolicy,
    context: impl Display,
) -> Box<dyn Store> {
    try_open_on(engine, fs, sync).unwrap_or_else(|e| {
        panic!(
            "{context}: opening engine '{}' in {SIM_DB_DIR} failed: {e}",
            engine.name
        )
    })
}

/// The value of `result`, or a panic naming what failed.
pub(super) fn ok<T>(result: Result<T>, what: impl Display) -> T {
    result.unwrap_or_else(|e| panic!("{what} failed: {e}"))
}

/// Applies a write (`Put`, `Delete`, `Batch`) to `store`; other operations
/// are not writes and do nothing here.
pub(super) fn write_op(store: &dyn Store, op: &ModelOp) -> Result<()> {
    match op {
        ModelOp::Put { key, value } => store.put(key, value),
        ModelOp::Delete { key } => store.delete(key),
        ModelOp::Batch(batch) => store.write(batch),
        _ => Ok(()),
    }
}

/// Applies a write to `store` and `model`; panics if the store refuses it.
pub(super) fn apply_both(store: &dyn Store, model: &mut Model, op: &ModelOp) {
    ok(write_op(store, op), describe_op(op));
    model.apply(op);
}

/// A scan collected; panics with `context` on an error.
pub(super) fn scan_vec(
    store: &dyn Store,
    range: &KeyRange,
    direction: Direction,
    context: impl Display,
) -> Vec<KvPair> {
    let iter = ok(
        store.scan(range, direction),
        format!("{context}: scan({range:?}, {direction:?})"),
    );
    iter.collect::<Result<Vec<_>>>().unwrap_or_else(|e| {
        panic!("{context}: scan({range:?}, {direction:?}) yielded an error: {e}")
    })
}

/// Every pair, ascending; panics with `context` on an error.
pub(super) fn read_all(store: &dyn Store, context: impl Display) -> Vec<KvPair> {
    scan_vec(store, &KeyRange::all(), Direction::Forward, context)
}

/// Asserts that a full scan and a `get` of every key agree with `model`.
pub(super) fn assert_matches_model(store: &dyn Store, model: &Model, context: impl Display) {
    let got = read_all(store, &context);
    if got != model.pairs() {
        let got_model: Model = got.into_iter().collect();
        let diff = diff_lines(model, &got_model);
        let shown: Vec<&String> = diff.iter().take(12).collect();
        panic!(
            "{context}: a full scan differs from the model ({} keys expected, {} found) in {} keys: {shown:#?}{}",
            model.len(),
            got_model.len(),
            diff.len(),
            if diff.is_empty() { " (same pairs in a different order or with duplicates)" } else { "" }
        );
    }
    for (key, value) in model.map() {
        let got = ok(
            store.get(key),
            format!("{context}: get({})", show_bytes(key)),
        );
        assert!(
            got.as_deref() == Some(value.as_slice()),
            "{context}: get({}) returned {} but a scan and the model say {}",
            show_bytes(key),
            got.as_deref().map_or("None".into(), show_bytes),
            show_bytes(value)
        );
    }
}

/// Asserts that `store.get(key)` returns `expected`.
pub(super) fn assert_get(
    store: &dyn Store,
    key: &[u8],
    expected: Option<&[u8]>,
    context: impl Display,
) {
    let got = ok(
        store.get(key),
        format!("{context}: get({})", show_bytes(key)),
    );
    assert!(
        got.as_deref() == expected,
        "{context}: get({}) returned {}, expected {}",
        show_bytes(key),
        got.as_deref().map_or("None".into(), show_bytes),
        expected.map_or("None".into(), show_bytes)
    );
}

/// Asserts that `check()` returns `Ok` with an empty damage list.
pub(super) fn assert_check_passes(store: &dyn Store, context: impl Display) {
    match store.check() {
        Err(e) => panic!("{context}: check() failed: {e}"),
        Ok(report) if !report.damage.is_empty() => {
            let shown: Vec<String> = report
                .damage
                .iter()
                .take(8)
                .map(|d| d.to_string())
                .collect();
            panic!(
                "{context}: check() found {} damaged spots on a sound store: {shown:#?}",
                report.damage.len()
            );
        }
        Ok(_) => {}
    }
}

/// Ends a case: `check()` must pass on the store it leaves.
pub(super) fn passed(store: Box<dyn Store>) -> CaseOutcome {
    assert_check_passes(&*store, "at the end of the case");
    CaseOutcome::Passed
}

/// Drops `store` on another thread and fails if that takes longer than
/// `limit` (a background thread that never stops, a deadlock).
pub(super) fn drop_within(store: Box<dyn Store>, limit: Duration, context: impl Display) {
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        drop(store);
        let _ = done_tx.send(());
    });
    if done_rx.recv_timeout(limit).is_err() {
        panic!("{context}: dropping the store did not return within {limit:?}");
    }
}

/// A random generator replaying exactly from `seed`.
pub(super) fn seeded_rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Which of the operation indices `0..=total` a crash loop visits: all of
/// them if there are at most `max_points`, else the first and last few and
/// an even spread with random jitter (deterministic from `rng`), sorted.
pub(super) fn crash_points(total: u64, max_points: usize, rng: &mut StdRng) -> Vec<u64> {
    let count = total + 1;
    if count <= max_points as u64 {
        return (0..=total).collect();
    }
    let edge = 4u64;
    let mut points: Vec<u64> = (0..edge).chain(total + 1 - edge..=total).collect();
    let inner = (max_points as u64).saturating_sub(2 * edge).max(1);
    let span = (total + 1 - 2 * edge) as f64 / inner as f64;
    for i in 0..inner {
        let from = edge + (i as f64 * span) as u64;
        let to = (edge + ((i + 1) as f64 * span) as u64).max(from + 1);
        points.push(rng.random_range(from..to));
    }
    points.sort_unstable();
    points.dedup();
    points
}

/// The key of item `i` in the cases' sequential data sets (`key000042`):
/// sorted by `i`.
pub(super) fn key(i: usize) -> Vec<u8> {
    format!("key{i:06}").into_bytes()
}

/// A value for item `i`, `version`, `len_bytes` long, that names both (so a
/// value read for the wrong key or version is caught).
pub(super) fn value(i: usize, version: u32, len_bytes: usize) -> Vec<u8> {
    let mut v = format!("v{version}:{i}:").into_bytes();
    let mut x = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(version);
    while v.len() < len_bytes {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.push(b'a' + (x % 26) as u8);
    }
    v.truncate(len_bytes);
    v
}

/// `n` random bytes.
pub(super) fn random_bytes(rng: &mut StdRng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.random::<u8>()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_points_cover_small_ranges_and_sample_large_ones() {
        let mut rng = seeded_rng(1);
        assert_eq!(crash_points(5, 10, &mut rng), vec![0, 1, 2, 3, 4, 5]);
        let p = crash_points(10_000, 100, &mut rng);
        assert!(p.len() <= 100 && p.len() >= 90, "{}", p.len());
        assert_eq!(p[0], 0);
        assert_eq!(*p.last().unwrap(), 10_000);
        assert!(p.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn values_have_the_asked_length() {
        for len in [0, 1, 5, 100] {
            assert_eq!(value(7, 3, len).len(), len);
        }
        assert_ne!(value(1, 1, 50), value(1, 2, 50));
    }
}
