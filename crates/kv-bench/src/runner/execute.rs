//! The hot loops: apply a stream of operations to a store, timing each.
//!
//! Lean by design, because the `null` engine measures exactly this code: one
//! clock read per operation (the time-stamp counter where the kernel trusts
//! it, see [`Clock`]), progress reported once per [`PROGRESS_STRIDE`]
//! operations, keys written into one reused buffer, values
//! borrowed from the pool, no allocation per operation except what the
//! `Store` API itself needs (`get` returns an owned value; a `WriteBatch`
//! owns its keys and values; a scan owns its start key).
//!
//! # The `--duration` cap
//!
//! The deadline is converted once, before the loops start, into a reading of
//! the per-operation clock ([`Clock::deadline_ticks`]) and compared with the
//! reading every operation takes anyway: a loop stops after the first
//! operation (or write batch) that ends at or past the deadline, so it
//! overshoots by at most one operation (a few milliseconds for a synced
//! write), whatever the speed of the engine, at the cost of one integer
//! comparison. The clock is part of [`LoopSettings`], so the tests drive the
//! loops with a clock that advances a fixed step per reading and check the
//! exact operation the loop stops after, independent of timing.

use std::ops::Bound;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use kv_core::{Direction, Error, KeyRange, Result, Store, WriteBatch};

use crate::metrics::clock::Clock;
use crate::metrics::latency::LatencyRecorder;
use crate::progress::{PhaseProgress, PROGRESS_STRIDE};
use crate::workload::keys::{KeyFormat, ValuePool};
use crate::workload::live::LiveSet;
use crate::workload::ops::{Op, OpStream};

/// The harness's sync cadence (`--sync-every`): `sync()` after every
/// `every` acknowledged writes, counted over every loop writing to the store
/// (so several writer threads share one count), the same for every engine.
#[derive(Debug, Default)]
pub struct SyncCadence {
    every: u64,
    writes: AtomicU64,
    /// At most the next multiple of `every` above `writes`: below it no
    /// multiple can be crossed, so a sole writer compares with it instead of
    /// dividing on every write.
    next_sync: AtomicU64,
    syncs: AtomicU64,
}

impl SyncCadence {
    /// A cadence of one `sync()` per `every` writes (0: never).
    pub fn new(every: u64) -> Self {
        Self {
            every,
            next_sync: AtomicU64::new(every),
            ..Self::default()
        }
    }

    /// Writes between syncs (0: none).
    pub fn every(&self) -> u64 {
        self.every
    }

    /// Syncs made so far.
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Relaxed)
    }

    /// Records `n` acknowledged writes; syncs `store` when they cross a
    /// multiple of `every`. A `sole_writer` (no other loop writes to the
    /// store meanwhile) counts with a plain load and store instead of an
    /// atomic read-modify-write, and divides only when the count reaches the
    /// next multiple of `every` (two divisions per write were a measurable
    /// part of the harness's cost).
    ///
    /// # Errors
    /// The store's sync error.
    #[inline]
    pub fn wrote(&self, store: &dyn Store, n: u64, sole_writer: bool) -> Result<()> {
        if self.every == 0 {
            return Ok(());
        }
        let after = if sole_writer {
            let after = self.writes.load(Relaxed) + n;
            self.writes.store(after, Relaxed);
            if after < self.next_sync.load(Relaxed) {
                return Ok(());
            }
            self.next_sync
                .store((after / self.every + 1) * self.every, Relaxed);
            after
        } else {
            self.writes.fetch_add(n, Relaxed) + n
        };
        if after / self.every > (after - n) / self.every {
            store.sync()?;
            self.syncs.fetch_add(1, Relaxed);
        }
        Ok(())
    }
}

/// The store under test and what the loops need to address it.
#[derive(Clone, Copy)]
pub struct Target<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// Key bytes from indices.
    pub keys: KeyFormat,
    /// Value bytes.
    pub values: &'a ValuePool,
    /// Live key indices, updated by every acknowledged put and delete.
    pub live: &'a LiveSet,
    /// When the harness syncs between writes.
    pub cadence: &'a SyncCadence,
}

/// When a loop stops early.
#[derive(Debug, Clone, Copy, Default)]
pub struct StopWhen<'a> {
    /// Stop after the first operation whose reading of the loop's clock is
    /// at or past this tick value (`--duration`; see
    /// [`Clock::deadline_ticks`]).
    pub deadline: Option<u64>,
    /// Stop once this flag is set (the `readwhilewriting` writer).
    pub flag: Option<&'a AtomicBool>,
    /// Set this flag once the first operation is done (so readers can wait
    /// for the `readwhilewriting` writer to be writing).
    pub started: Option<&'a AtomicBool>,
}

/// What one loop did.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Per-operation latency.
    pub latency: LatencyRecorder,
    /// Operations.
    pub ops: u64,
    /// Gets, seeks and scanned items of a full scan.
    pub reads: u64,
    /// Puts and deletes.
    pub writes: u64,
    /// Reads that found a value.
    pub found: u64,
    /// Items returned by scans.
    pub items_scanned: u64,
    /// Keys plus values of puts, keys of deletes.
    pub user_bytes_written: u64,
    /// True if the deadline cut the loop short.
    pub capped: bool,
}

impl Tally {
    /// Adds `other` to `self`.
    pub fn merge(&mut self, other: &Tally) {
        self.latency.merge(&other.latency);
        self.ops += other.ops;
        self.reads += other.reads;
        self.writes += other.writes;
        self.found += other.found;
        self.items_scanned += other.items_scanned;
        self.user_bytes_written += other.user_bytes_written;
        self.capped |= other.capped;
    }
}

/// How one loop runs.
#[derive(Debug, Clone, Copy)]
pub struct LoopSettings<'a> {
    /// Puts and deletes per write batch (1: none).
    pub batch: usize,
    /// When to stop early.
    pub stop: StopWhen<'a>,
    /// Start of this loop's value sequence (distinct per loop, reproducible).
    pub value_base: u64,
    /// True if no other loop writes to the store meanwhile: the live set is
    /// then updated without atomic read-modify-writes.
    pub sole_writer: bool,
    /// The per-operation clock (latency samples and the deadline):
    /// [`Clock::get`] in a run.
    pub clock: Clock,
}

/// The per-loop state of [`run_stream`].
struct Worker<'a> {
    target: Target<'a>,
    key: Vec<u8>,
    next_value: u64,
    sole_writer: bool,
    tally: Tally,
}

impl Worker<'_> {
    #[inline]
    fn mark_live(&self, index: u64) {
        if self.sole_writer {
            self.target.live.insert_single_writer(index);
        } else {
            self.target.live.insert(index);
        }
    }

    #[inline]
    fn mark_dead(&self, index: u64) {
        if self.sole_writer {
            self.target.live.remove_single_writer(index);
        } else {
            self.target.live.remove(index);
        }
    }

    fn value(&mut self) -> &[u8] {
        self.next_value = self.next_value.wrapping_add(1);
        self.target.values.value(self.next_value)
    }

    fn put(&mut self, index: u64) -> Result<()> {
        self.target.keys.write_key(index, &mut self.key);
        let value = self.target.values.value(self.next_value);
        self.next_value = self.next_value.wrapping_add(1);
        self.target.store.put(&self.key, value)?;
        self.mark_live(index);
        self.tally.writes += 1;
        self.tally.user_bytes_written += (self.key.len() + value.len()) as u64;
        self.target
            .cadence
            .wrote(self.target.store, 1, self.sole_writer)
    }

    fn get(&mut self, index: u64, missing: bool) -> Result<()> {
        if missing {
            self.target.keys.write_missing_key(index, &mut self.key);
        } else {
            self.target.keys.write_key(index, &mut self.key);
        }
        let found = self.target.store.get(&self.key)?.is_some();
        self.tally.reads += 1;
        self.tally.found += u64::from(found);
        Ok(())
    }

    fn apply(&mut self, op: Op) -> Result<()> {
        match op {
            Op::Get(index) => self.get(index, false),
            Op::GetMissing(index) => self.get(index, true),
            Op::Put(index) => self.put(index),
            Op::Delete(index) => {
                self.target.keys.write_key(index, &mut self.key);
                self.target.store.delete(&self.key)?;
                self.mark_dead(index);
                self.tally.writes += 1;
                self.tally.user_bytes_written += self.key.len() as u64;
                self.target
                    .cadence
                    .wrote(self.target.store, 1, self.sole_writer)
            }
            Op::Scan { start, items } => {
                self.target.keys.write_key(start, &mut self.key);
                let range = KeyRange {
                    start: Bound::Included(self.key.clone()),
                    end: Bound::Unbounded,
                };
                let mut seen = 0;
                for item in self.target.store.scan(&range, Direction::Forward)? {
                    item?;
                    seen += 1;
                    if seen >= u64::from(items) {
                        break;
                    }
                }
                self.tally.reads += 1;
                self.tally.found += u64::from(seen > 0);
                self.tally.items_scanned += seen;
                Ok(())
            }
            Op::ReadModifyWrite(index) => {
                self.get(index, false)?;
                self.put(index)
            }
        }
    }

    /// Adds a put or delete to `batch`; returns the index it touches.
    fn add_to_batch(&mut self, op: Op, batch: &mut WriteBatch) -> Option<(u64, bool)> {
        match op {
            Op::Put(index) => {
                self.target.keys.write_key(index, &mut self.key);
                let key = self.key.clone();
                let value = self.value().to_vec();
                self.tally.user_bytes_written += (key.len() + value.len()) as u64;
                batch.put(key, value);
                Some((index, true))
            }
            Op::Delete(index) => {
                self.target.keys.write_key(index, &mut self.key);
                self.tally.user_bytes_written += self.key.len() as u64;
                batch.delete(self.key.clone());
                Some((index, false))
            }
            _ => None,
        }
    }
}

/// Runs `stream` against the store, grouping puts and deletes into write
/// batches of `settings.batch` operations when it is above 1 (other
/// operations run one by one).
///
/// # Errors
/// The first error the store returns; the loop stops there.
pub fn run_stream(
    target: Target<'_>,
    stream: &mut OpStream,
    settings: LoopSettings<'_>,
    progress: &PhaseProgress,
) -> Result<Tally> {
    let LoopSettings { batch, stop, .. } = settings;
    let mut worker = Worker {
        target,
        key: vec![0; target.keys.key_size()],
        next_value: settings.value_base,
        sole_writer: settings.sole_writer,
        tally: Tally::default(),
    };
    let mut pending = WriteBatch::new();
    let mut pending_indices: Vec<(u64, bool)> = Vec::with_capacity(batch);
    let clock = settings.clock;
    let deadline = stop.deadline.unwrap_or(u64::MAX);
    let mut last = clock.now();
    let mut since_progress = 0u64;
    loop {
        if stop.flag.is_some_and(|f| f.load(Relaxed)) {
            break;
        }
        let next = stream.next_op();
        let done = match next {
            Some(op) if batch > 1 && op.is_plain_write() => {
                if let Some(touched) = worker.add_to_batch(op, &mut pending) {
                    pending_indices.push(touched);
                }
                if pending.len() < batch {
                    continue;
                }
                flush(&mut worker, &mut pending, &mut pending_indices)?
            }
            Some(op) => {
                worker.apply(op)?;
                1
            }
            None if !pending.is_empty() => flush(&mut worker, &mut pending, &mut pending_indices)?,
            None => break,
        };
        let now = clock.now();
        let ns = clock.nanos(now.wrapping_sub(last));
        last = now;
        if done == 1 {
            worker.tally.latency.record(ns);
        } else {
            worker.tally.latency.record_n(ns / done, done);
        }
        worker.tally.ops += done;
        if worker.tally.ops == done {
            if let Some(started) = stop.started {
                started.store(true, Relaxed);
            }
        }
        since_progress += done;
        if since_progress >= PROGRESS_STRIDE {
            progress.inc(since_progress);
            since_progress = 0;
        }
        if next.is_none() {
            break;
        }
        if now >= deadline {
            worker.tally.capped = stream.planned_ops() > 0;
            break;
        }
    }
    progress.inc(since_progress);
    Ok(worker.tally)
}

/// Writes the pending batch and marks its keys; returns its size.
fn flush(
    worker: &mut Worker<'_>,
    pending: &mut WriteBatch,
    indices: &mut Vec<(u64, bool)>,
) -> Result<u64> {
    worker.target.store.write(pending)?;
    for &(index, put) in indices.iter() {
        if put {
            worker.mark_live(index);
        } else {
            worker.mark_dead(index);
        }
    }
    let n = pending.len() as u64;
    worker.tally.writes += n;
    pending.clear();
    indices.clear();
    worker
        .target
        .cadence
        .wrote(worker.target.store, n, worker.sole_writer)?;
    Ok(n)
}

/// Reads the whole store in `direction`, one operation per item.
///
/// # Errors
/// The first error of the scan.
pub fn run_full_scan(
    target: Target<'_>,
    direction: Direction,
    stop: StopWhen<'_>,
    clock: Clock,
    progress: &PhaseProgress,
) -> Result<Tally> {
    let mut tally = Tally::default();
    let deadline = stop.deadline.unwrap_or(u64::MAX);
    let mut last = clock.now();
    let mut since_progress = 0u64;
    let mut items = target.store.scan(&KeyRange::all(), direction)?;
    for item in &mut items {
        item?;
        let now = clock.now();
        tally.latency.record(clock.nanos(now.wrapping_sub(last)));
        last = now;
        tally.ops += 1;
        since_progress += 1;
        if since_progress >= PROGRESS_STRIDE {
            progress.inc(since_progress);
            since_progress = 0;
        }
        if now >= deadline {
            tally.capped = true;
            break;
        }
    }
    progress.inc(since_progress);
    tally.reads = tally.ops;
    tally.found = tally.ops;
    tally.items_scanned = tally.ops;
    Ok(tally)
}

/// Runs one stream per thread (on this thread when there is only one) and
/// merges their tallies. With several streams the loops are not sole
/// writers; each gets its own value sequence.
///
/// # Errors
/// The first error of any thread; a panicking thread is reported as an I/O
/// error rather than propagated.
pub fn run_threads(
    target: Target<'_>,
    streams: Vec<OpStream>,
    settings: LoopSettings<'_>,
    progress: &PhaseProgress,
) -> Result<Tally> {
    let mut streams = streams;
    if streams.len() == 1 {
        if let Some(stream) = streams.first_mut() {
            return run_stream(target, stream, settings, progress);
        }
    }
    let outcomes: Vec<Result<Tally>> = std::thread::scope(|scope| {
        let handles: Vec<_> = streams
            .into_iter()
            .enumerate()
            .map(|(thread, mut stream)| {
                let settings = LoopSettings {
                    value_base: settings.value_base.wrapping_add((thread as u64) << 32),
                    sole_writer: false,
                    ..settings
                };
                scope.spawn(move || run_stream(target, &mut stream, settings, progress))
            })
            .collect();
        handles.into_iter().map(join_thread).collect()
    });
    let mut total = Tally::default();
    for outcome in outcomes {
        total.merge(&outcome?);
    }
    Ok(total)
}

/// Joins a benchmark thread, turning a panic into an error.
pub fn join_thread<T>(handle: std::thread::ScopedJoinHandle<'_, Result<T>>) -> Result<T> {
    handle.join().unwrap_or_else(|_| {
        Err(Error::Io(std::io::Error::other(
            "a benchmark thread panicked (see the message above)",
        )))
    })
}

#[cfg(test)]
mod tests {
    use kv_core::{CheckReport, Stats};

    use super::*;
    use crate::null::NullStore;
    use crate::workload::db_bench::{IndexOp, Sequential};

    /// A clock step: the time each operation takes in the capped loops
    /// (like one synced write).
    const STEP_NS: u64 = 3_000_000;

    /// Puts of keys `0..10_000` with a `cap_ns` deadline on a clock that
    /// advances [`STEP_NS`] per reading (one reading before the loop, one
    /// per operation or write batch).
    fn run_capped(batch: usize, cap_ns: u64) -> Tally {
        let keys = KeyFormat::new(16).unwrap();
        let values = ValuePool::new(1, 100).unwrap();
        let live = LiveSet::new(10_000);
        let cadence = SyncCadence::new(0);
        let target = Target {
            store: &NullStore,
            keys,
            values: &values,
            live: &live,
            cadence: &cadence,
        };
        let clock = Clock::stepping(STEP_NS);
        let mut stream = OpStream::Sequential(Sequential::new(0, 10_000, IndexOp::Put));
        let settings = LoopSettings {
            batch,
            stop: StopWhen {
                deadline: Some(cap_ns),
                ..StopWhen::default()
            },
            value_base: 0,
            sole_writer: true,
            clock,
        };
        run_stream(target, &mut stream, settings, &PhaseProgress::hidden()).unwrap()
    }

    /// `--duration` stops the loop after the first operation (or write
    /// batch) that ends at or past the deadline: with readings at 3, 6, 9
    /// ... ms and a 60 ms cap, the 19th operation ends at 60 ms, so 19 single
    /// writes, or 19 batches of 4; never the next thousand operations.
    #[test]
    fn duration_cap_stops_after_the_first_operation_past_the_deadline() {
        for (batch, ops) in [(1, 19), (4, 76)] {
            let tally = run_capped(batch, 60_000_000);
            assert!(tally.capped, "batch {batch}: {tally:?}");
            assert_eq!(tally.ops, ops, "batch {batch}");
            assert_eq!(tally.writes, ops, "batch {batch}");
            assert_eq!(tally.latency.summary().samples, ops, "batch {batch}");
        }
    }

    /// A deadline the stream never reaches does not mark the workload
    /// capped, and every operation runs.
    #[test]
    fn duration_cap_is_not_reported_when_the_stream_ends_first() {
        for batch in [1, 4] {
            let tally = run_capped(batch, 10_001 * STEP_NS);
            assert!(!tally.capped, "batch {batch}: {tally:?}");
            assert_eq!(tally.ops, 10_000, "batch {batch}");
        }
    }

    /// A full scan stops after the item past the deadline too.
    #[test]
    fn duration_cap_stops_a_full_scan() {
        let store = kv_core::MemStore::new();
        let keys = KeyFormat::new(16).unwrap();
        let mut key = vec![0; 16];
        for index in 0..100 {
            keys.write_key(index, &mut key);
            store.put(&key, b"v").unwrap();
        }
        let values = ValuePool::new(1, 100).unwrap();
        let live = LiveSet::new(100);
        let cadence = SyncCadence::new(0);
        let target = Target {
            store: &store,
            keys,
            values: &values,
            live: &live,
            cadence: &cadence,
        };
        let stop = StopWhen {
            deadline: Some(10 * STEP_NS),
            ..StopWhen::default()
        };
        let clock = Clock::stepping(STEP_NS);
        let tally = run_full_scan(
            target,
            Direction::Forward,
            stop,
            clock,
            &PhaseProgress::hidden(),
        )
        .unwrap();
        assert!(tally.capped);
        assert_eq!(tally.ops, 9);
    }

    /// A store that counts `sync()` calls.
    #[derive(Default)]
    struct SyncCounter(AtomicU64);

    impl Store for SyncCounter {
        fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
            NullStore.get(key)
        }
        fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
            NullStore.put(key, value)
        }
        fn delete(&self, key: &[u8]) -> Result<()> {
            NullStore.delete(key)
        }
        fn write(&self, batch: &WriteBatch) -> Result<()> {
            NullStore.write(batch)
        }
        fn scan(&self, range: &KeyRange, direction: Direction) -> Result<kv_core::ScanIter<'_>> {
            NullStore.scan(range, direction)
        }
        fn sync(&self) -> Result<()> {
            self.0.fetch_add(1, Relaxed);
            Ok(())
        }
        fn compact(&self) -> Result<()> {
            Ok(())
        }
        fn check(&self) -> Result<CheckReport> {
            NullStore.check()
        }
        fn stats(&self) -> Stats {
            NullStore.stats()
        }
    }

    /// The loop syncs once per `every` writes, with and without batches
    /// (a batch crossing a multiple syncs once, after it).
    #[test]
    fn sync_cadence_syncs_once_per_n_writes() {
        for (batch, every, syncs) in [(1, 100, 10), (1, 300, 3), (7, 100, 10), (1, 0, 0)] {
            let store = SyncCounter::default();
            let keys = KeyFormat::new(16).unwrap();
            let values = ValuePool::new(1, 100).unwrap();
            let live = LiveSet::new(1_000);
            let cadence = SyncCadence::new(every);
            let target = Target {
                store: &store,
                keys,
                values: &values,
                live: &live,
                cadence: &cadence,
            };
            let mut stream = OpStream::Sequential(Sequential::new(0, 1_000, IndexOp::Put));
            let settings = LoopSettings {
                batch,
                stop: StopWhen::default(),
                value_base: 0,
                sole_writer: true,
                clock: Clock::get(),
            };
            run_stream(target, &mut stream, settings, &PhaseProgress::hidden()).unwrap();
            assert_eq!(cadence.syncs(), syncs, "batch {batch}, every {every}");
            assert_eq!(store.0.load(Relaxed), syncs, "batch {batch}, every {every}");
        }
    }
}
