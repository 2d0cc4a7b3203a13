//! The write path: WAL append, memtable insert, sequence numbers, memtable
//! rotation, write stalls and the inline background work.
//!
//! # Atomic visibility
//! A write (or a whole batch) takes sequence numbers `first..=last` under the
//! writer lock, goes to the WAL as one record or one framed group, is
//! inserted into the memtable, and only then is `visible_seq` advanced to
//! `last`. Readers read at `visible_seq`, so they see all of a batch or none.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kv_core::{Background, BatchOp, Error, Result, SyncPolicy, WriteBatch};

use crate::compaction::run::compact_once;
use crate::flush::flush_oldest;
use crate::inner::{lock, Inner, Writer};
use crate::memtable::Memtable;
use crate::version::SuperVersion;
use crate::wal::{Wal, WAL_BUFFER_BYTES};

/// One write request.
#[derive(Debug, Clone, Copy)]
pub enum Op<'a> {
    /// A put.
    Put(&'a [u8], &'a [u8]),
    /// A delete.
    Delete(&'a [u8]),
    /// A batch.
    Batch(&'a WriteBatch),
    /// A range delete (one tombstone; its `seq` is assigned here).
    RangeDel(&'a crate::range_del::RangeTombstone),
}

impl Op<'_> {
    fn count(&self) -> u64 {
        match self {
            Op::Batch(b) => b.len() as u64,
            _ => 1,
        }
    }

    fn user_bytes(&self) -> u64 {
        match self {
            Op::Put(k, v) => (k.len() + v.len()) as u64,
            Op::Delete(k) => k.len() as u64,
            Op::Batch(b) => b.payload_bytes() as u64,
            Op::RangeDel(r) => r.bound_bytes() as u64,
        }
    }
}

fn insert(mem: &Memtable, first: u64, op: Op<'_>) {
    match op {
        Op::Put(k, v) => mem.insert(k, first, Some(v)),
        Op::Delete(k) => mem.insert(k, first, None),
        Op::Batch(b) => {
            for (i, o) in b.ops().iter().enumerate() {
                let seq = first + i as u64;
                match o {
                    BatchOp::Put { key, value } => mem.insert(key, seq, Some(value)),
                    BatchOp::Delete { key } => mem.insert(key, seq, None),
                }
            }
        }
        Op::RangeDel(r) => crate::range_del_log::insert(mem, first, r),
    }
}

fn log(wal: &mut Wal, first: u64, op: Op<'_>) {
    match op {
        Op::Put(k, v) => wal.put(first, k, v),
        Op::Delete(k) => wal.delete(first, k),
        Op::Batch(b) => wal.batch(first, b),
        Op::RangeDel(r) => crate::range_del_log::log(wal, first, r),
    }
}

/// Makes the WAL as durable as the sync policy asks after a write.
fn settle(inner: &Inner, w: &mut Writer) -> Result<()> {
    let Some(wal) = w.wal.as_mut() else {
        return Err(Error::ReadOnly);
    };
    match inner.options.core.sync {
        SyncPolicy::Always => wal.sync()?,
        SyncPolicy::Manual => wal.write_out(WAL_BUFFER_BYTES)?,
        SyncPolicy::Interval { interval_ms } => {
            if w.last_sync.elapsed() >= Duration::from_millis(interval_ms) {
                wal.sync()?;
                w.last_sync = Instant::now();
            } else {
                wal.write_out(WAL_BUFFER_BYTES)?;
            }
        }
    }
    Ok(())
}

/// Applies one write.
///
/// # Errors
/// `ReadOnly`, `Poisoned`, I/O failures (which poison).
pub fn write(inner: &Inner, op: Op<'_>) -> Result<()> {
    if inner.read_only {
        return Err(Error::ReadOnly);
    }
    inner.poison.check()?;
    if op.count() == 0 {
        return Ok(());
    }
    before_write(inner)?;
    let mut w = lock(&inner.writer);
    inner.poison.check()?;
    // A full memtable is rotated before the write, so a failure there
    // leaves nothing of this write applied.
    if inner.current().mem.approximate_bytes() >= inner.options.write_buffer_bytes {
        inner.poison.guard(rotate(inner, &mut w))?;
    }
    let first = w.last_seq + 1;
    let Some(wal) = w.wal.as_mut() else {
        return Err(Error::ReadOnly);
    };
    let wal_before = wal.bytes();
    log(wal, first, op);
    let live_delta = if inner.options.exact_live_keys {
        live_key_delta(inner, op)
    } else {
        Ok(0)
    };
    let wal_after = wal.bytes();
    inner.poison.guard(settle(inner, &mut w))?;
    let sv = inner.current();
    insert(&sv.mem, first, op);
    if let Ok(d) = live_delta {
        inner.live_keys.fetch_add(d, Ordering::Relaxed);
    }
    w.last_seq = first + op.count() - 1;
    inner.visible_seq.store(w.last_seq, Ordering::Release);
    inner
        .counters
        .add(&inner.counters.user_bytes_written, op.user_bytes());
    inner
        .counters
        .add(&inner.counters.wal_bytes_written, wal_after - wal_before);
    let full = sv.mem.approximate_bytes() >= inner.options.write_buffer_bytes;
    drop(w);
    if full && inner.options.core.background == Background::Threads {
        // Rotate now so the background flush can start; a failure here
        // poisons the store but does not undo this write, which is applied.
        // (Inline, the next write rotates and flushes before it applies.)
        let mut w = lock(&inner.writer);
        if inner.current().mem.approximate_bytes() >= inner.options.write_buffer_bytes {
            let _ = inner.poison.guard(rotate(inner, &mut w));
        }
    }
    Ok(())
}

/// What a write does before it takes the writer lock. With threads: wait
/// out a stall. Inline: rotate a full memtable and run every pending flush
/// and compaction on the caller's thread, *before* the write is applied, so
/// a failure of that work (a full disk) is this write's own error, the
/// write is not applied, and every write acknowledged before it stays
/// intact in its WAL.
///
/// # Errors
/// `Poisoned`, and the failure of the inline work (which poisons).
fn before_write(inner: &Inner) -> Result<()> {
    if inner.options.core.background == Background::Threads {
        return stall(inner);
    }
    {
        let mut w = lock(&inner.writer);
        inner.poison.check()?;
        if inner.current().mem.approximate_bytes() >= inner.options.write_buffer_bytes {
            inner.poison.guard(rotate(inner, &mut w))?;
        }
    }
    run_pending_work(inner)
}

/// How much `op` changes the number of live keys: each key's liveness
/// before (a lookup at the current, fully visible state, or the batch's own
/// earlier operations) against after. Called with the writer lock held.
fn live_key_delta(inner: &Inner, op: Op<'_>) -> Result<i64> {
    let was_live = |k: &[u8]| crate::read::get(inner, k).map(|v| v.is_some());
    match op {
        Op::Put(k, _) => Ok(i64::from(!was_live(k)?)),
        Op::Delete(k) => Ok(-i64::from(was_live(k)?)),
        Op::RangeDel(r) => crate::range_del_log::live_keys_in(inner, r).map(|n| -n),
        Op::Batch(b) => {
            let mut state: std::collections::HashMap<&[u8], (bool, bool)> = Default::default();
            for o in b.ops() {
                let now = matches!(o, BatchOp::Put { .. });
                if let Some(entry) = state.get_mut(o.key()) {
                    entry.1 = now;
                } else {
                    state.insert(o.key(), (was_live(o.key())?, now));
                }
            }
            Ok(state
                .values()
                .map(|&(before, after)| i64::from(after) - i64::from(before))
                .sum())
        }
    }
}

/// Makes the mutable memtable immutable and starts a new one with a new
/// WAL (the old WAL is synced and sealed with a final frontier first). Called with the writer lock held.
///
/// # Errors
/// I/O failures.
pub fn rotate(inner: &Inner, w: &mut Writer) -> Result<()> {
    let Some(old) = w.wal.as_mut() else {
        return Err(Error::ReadOnly);
    };
    old.seal()?;
    let number = inner.alloc_file();
    let path = crate::wal::wal_path(&inner.dir, number);
    let wal = Wal::create(&*inner.fs, &inner.dir, &path, number)?;
    w.wal = Some(wal);
    w.last_sync = Instant::now();
    inner.install(|sv| {
        let mut imms = Vec::with_capacity(sv.imms.len() + 1);
        imms.push(Arc::clone(&sv.mem));
        imms.extend(sv.imms.iter().cloned());
        SuperVersion {
            mem: Arc::new(Memtable::new(number)),
            imms,
            version: Arc::clone(&sv.version),
        }
    });
    inner.signal.wake();
    Ok(())
}

/// Flushes every immutable memtable, then compacts until no level needs it.
///
/// # Errors
/// I/O failures and corruption (which poison).
pub fn run_pending_work(inner: &Inner) -> Result<()> {
    while inner.poison.guard(flush_oldest(inner))? {}
    while inner.poison.guard(compact_once(inner))? {}
    Ok(())
}

/// Slows down or stops a write while immutable memtables or L0 tables pile
/// up (threads mode only: inline, the write itself runs the work).
fn stall(inner: &Inner) -> Result<()> {
    let o = &inner.options;
    let start = Instant::now();
    let mut stopped = false;
    loop {
        inner.poison.check()?;
        let sv = inner.current();
        let l0 = sv.version.levels[0].len();
        if sv.imms.len() >= o.max_immutable_memtables || l0 >= o.l0_stop_writes {
            if !stopped {
                inner.counters.add(&inner.counters.stops, 1);
                stopped = true;
            }
            let generation = lock(&inner.signal.generation);
            let _ = inner
                .signal
                .condvar
                .wait_timeout(generation, Duration::from_millis(10));
            continue;
        }
        if l0 >= o.l0_slowdown_writes && !stopped {
            inner.counters.add(&inner.counters.slowdowns, 1);
            std::thread::sleep(Duration::from_millis(1));
        }
        break;
    }
    let waited = start.elapsed().as_micros() as u64;
    if waited > 0 && (stopped || inner.current().version.levels[0].len() >= o.l0_slowdown_writes) {
        inner.counters.add(&inner.counters.stall_micros, waited);
    }
    Ok(())
}

/// Makes every acknowledged write durable.
///
/// # Errors
/// I/O failures (which poison).
pub fn sync(inner: &Inner) -> Result<()> {
    sync_wal(inner, false)
}

/// As [`sync`], and seals the WAL with a frontier covering all of it
/// ([`Wal::seal`]): a clean close.
///
/// # Errors
/// I/O failures (which poison).
pub fn seal(inner: &Inner) -> Result<()> {
    sync_wal(inner, true)
}

fn sync_wal(inner: &Inner, seal: bool) -> Result<()> {
    if inner.read_only {
        return Ok(());
    }
    inner.poison.check()?;
    let mut w = lock(&inner.writer);
    let result = match w.wal.as_mut() {
        Some(wal) if seal => wal.seal(),
        Some(wal) => wal.sync(),
        None => Ok(()),
    };
    w.last_sync = Instant::now();
    inner.poison.guard(result)
}
