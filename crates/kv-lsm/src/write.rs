//! The write path: WAL append, memtable insert, sequence numbers, group
//! commit, memtable rotation, write stalls and the inline background work.
//!
//! # Atomic visibility
//! A write (or a whole batch) takes sequence numbers `first..=last` under the
//! writer lock, goes to the WAL buffer as one record or one framed group, is
//! inserted into the memtable, and only then is `visible_seq` advanced to
//! `last` (under `SyncPolicy::Always`: once a sync covered it, see below).
//! Readers read at `visible_seq`, so they see all of a batch or none.
//!
//! # Group commit
//! Under `SyncPolicy::Always` (and for `sync()`, and a due `Interval` sync)
//! a writer notes the *log position* its records end at
//! (`Writer::log_end`: `wal_base` plus the WAL's length, buffered bytes
//! included; `wal_base` grows by each retired WAL's length, so positions
//! only grow across rotations) and **releases the writer lock** before
//! waiting on the store's [`kv_core::GroupCommit`]. The first such writer
//! becomes the leader and runs `sync_group`: it takes the writer lock only
//! to hand the whole buffer (every queued writer's records) to the file in
//! one write, fsyncs with the lock released, then records the synced length
//! in the WAL's durable frontier and advances `visible_seq` to the last
//! sequence number it covered. Writers that arrived meanwhile share that
//! sync or the next one. A `get` takes no writer lock at all, so it never
//! waits for an fsync.
//!
//! Under `Always` a write stays invisible (its sequence number is above
//! `visible_seq`) until a sync covered it, so no reader ever sees a write
//! that a failed sync may lose; its writer reads it once `put` returned. A
//! failed group sync poisons the store: the leader gets the I/O error, every
//! other waiter `Poisoned`, and nothing is published. Sealing a WAL at a
//! memtable rotation or a clean close still syncs under the writer lock (once
//! per memtable).
//!
//! # Durable frontier
//! The leader reports as durable only the bytes it had handed to the file
//! *before* its fsync, so records appended while it runs lie beyond every
//! frontier record written later until a sync covers them: a crash never
//! turns them into `Corruption` (see `crate::wal`).

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

/// Applies one write.
///
/// # Durability
/// Under `SyncPolicy::Always` the write is on stable storage when this
/// returns `Ok`: it waits, with the writer lock released, for the group
/// sync that covers it (see the module docs), and becomes visible to
/// readers only once that sync completed.
///
/// # Errors
/// `ReadOnly`, `Poisoned`, I/O failures (which poison). A failed group sync
/// fails every writer of its group: the leader with the I/O error, the
/// others with `Poisoned`.
pub fn write(inner: &Inner, op: Op<'_>) -> Result<()> {
    if inner.read_only {
        return Err(Error::ReadOnly);
    }
    inner.poison.check()?;
    if op.count() == 0 {
        return Ok(());
    }
    before_write(inner)?;
    let (wait_for, full) = {
        let mut w = lock(&inner.writer);
        inner.poison.check()?;
        // A full memtable is rotated before the write, so a failure there
        // leaves nothing of this write applied.
        if inner.current().mem.approximate_bytes() >= inner.options.write_buffer_bytes {
            inner.poison.guard(rotate(inner, &mut w))?;
        }
        append_locked(inner, &mut w, op)?
    };
    if let Some(end) = wait_for {
        inner
            .poison
            .guard(inner.group.wait_durable(end, || sync_group(inner)))?;
    }
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

/// The body of [`write`] under the writer lock: takes the sequence numbers,
/// encodes the write into the WAL buffer (handing a full buffer to the
/// file), inserts it into the memtable, and publishes it at once unless the
/// policy makes it wait for a sync. Returns the log position a group sync
/// must cover before the write returns (if any) and whether the memtable is
/// now full.
fn append_locked(inner: &Inner, w: &mut Writer, op: Op<'_>) -> Result<(Option<u64>, bool)> {
    let first = w.last_seq + 1;
    let live_delta = if inner.options.exact_live_keys {
        live_key_delta(inner, op, w.last_seq)
    } else {
        Ok(0)
    };
    let Some(wal) = w.wal.as_mut() else {
        return Err(Error::ReadOnly);
    };
    let wal_before = wal.bytes();
    log(wal, first, op);
    let wal_after = wal.bytes();
    inner.poison.guard(wal.write_out(WAL_BUFFER_BYTES))?;
    let sv = inner.current();
    insert(&sv.mem, first, op);
    if let Ok(d) = live_delta {
        inner.live_keys.fetch_add(d, Ordering::Relaxed);
    }
    w.last_seq = first + op.count() - 1;
    let wait_for = match inner.options.core.sync {
        SyncPolicy::Always => Some(w.log_end()),
        SyncPolicy::Manual => None,
        SyncPolicy::Interval { interval_ms } => {
            (w.last_sync.elapsed() >= Duration::from_millis(interval_ms)).then(|| w.log_end())
        }
    };
    if inner.options.core.sync != SyncPolicy::Always {
        publish(inner, w.last_seq);
    }
    inner
        .counters
        .add(&inner.counters.user_bytes_written, op.user_bytes());
    inner
        .counters
        .add(&inner.counters.wal_bytes_written, wal_after - wal_before);
    let full = sv.mem.approximate_bytes() >= inner.options.write_buffer_bytes;
    Ok((wait_for, full))
}

/// Makes the writes up to sequence number `seq` visible to readers (never
/// moves backwards).
fn publish(inner: &Inner, seq: u64) {
    inner.visible_seq.fetch_max(seq, Ordering::AcqRel);
}

/// The group leader's sync (the closure of
/// [`kv_core::GroupCommit::wait_durable`]): under the writer lock, hands the
/// whole WAL buffer (every waiting writer's records) to the file in one
/// write; then, with the lock released, fsyncs the WAL; then, under the
/// lock again, records the synced length in the WAL's durable frontier and
/// publishes every write it covered. Returns the log position it made
/// durable: the written end as of *before* the fsync, so a frontier never
/// claims bytes written while it ran.
///
/// If the memtable rotated while the fsync ran, the rotation sealed (fully
/// synced) that WAL, so the bytes are durable whatever this fsync returned.
///
/// # Errors
/// `Poisoned` on a poisoned store; the I/O error of the write or the fsync
/// (which poisons the store).
fn sync_group(inner: &Inner) -> Result<u64> {
    let (file, number, written, end, last_seq) = {
        let mut w = lock(&inner.writer);
        inner.poison.check()?;
        let (base, last_seq) = (w.wal_base, w.last_seq);
        let Some(wal) = w.wal.as_mut() else {
            return Err(Error::ReadOnly);
        };
        inner.poison.guard(wal.write_out(0))?;
        let written = wal.written_len();
        if written <= wal.synced_len() {
            // An earlier sync covered everything written.
            publish(inner, last_seq);
            return Ok(base + written);
        }
        (wal.file(), wal.number(), written, base + written, last_seq)
    };
    let synced = file.sync();
    let mut w = lock(&inner.writer);
    let same_wal = w.wal.as_ref().map(Wal::number) == Some(number);
    match synced {
        Ok(()) => {}
        Err(_) if !same_wal => {} // sealed by a rotation meanwhile
        Err(e) => return inner.poison.guard(Err(e.into())),
    }
    if let Some(wal) = w.wal.as_mut().filter(|_| same_wal) {
        wal.note_synced(written);
    }
    publish(inner, last_seq);
    w.last_sync = Instant::now();
    Ok(end)
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
/// earlier operations) against after. Called with the writer lock held;
/// reads at `last_seq`, the last write applied to the memtable (it may not
/// be visible yet: see [`publish`]).
fn live_key_delta(inner: &Inner, op: Op<'_>, last_seq: u64) -> Result<i64> {
    let was_live = |k: &[u8]| crate::read::get_at(inner, k, last_seq).map(|v| v.is_some());
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
/// WAL (the old WAL is synced and sealed with a final frontier first, which
/// makes every write in it durable: they are published and the group-commit
/// queue learns it). Called with the writer lock held.
///
/// # Errors
/// I/O failures.
pub fn rotate(inner: &Inner, w: &mut Writer) -> Result<()> {
    let Some(old) = w.wal.as_mut() else {
        return Err(Error::ReadOnly);
    };
    old.seal()?;
    let old_end = w.wal_base + old.bytes();
    publish(inner, w.last_seq);
    inner.group.note_durable(old_end);
    let number = inner.alloc_file();
    let path = crate::wal::wal_path(&inner.dir, number);
    let wal = Wal::create(&*inner.fs, &inner.dir, &path, number)?;
    w.wal = Some(wal);
    w.wal_base = old_end;
    w.last_sync = Instant::now();
    // The new WAL's header is synced by `Wal::create`.
    inner.group.note_durable(w.log_end());
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

/// Makes every write made so far durable through the group-commit queue:
/// shares a sync in flight or the next one.
///
/// # Errors
/// `Poisoned` after an earlier failure; the I/O error of the group's sync
/// (which poisons).
pub fn sync(inner: &Inner) -> Result<()> {
    if inner.read_only {
        return Ok(());
    }
    inner.poison.check()?;
    let end = lock(&inner.writer).log_end();
    inner
        .poison
        .guard(inner.group.wait_durable(end, || sync_group(inner)))
}

/// Syncs the WAL and seals it with a frontier covering all of it
/// ([`Wal::seal`]), under the writer lock: a clean close.
///
/// # Errors
/// I/O failures (which poison).
pub fn seal(inner: &Inner) -> Result<()> {
    if inner.read_only {
        return Ok(());
    }
    inner.poison.check()?;
    let mut w = lock(&inner.writer);
    let result = match w.wal.as_mut() {
        Some(wal) => wal.seal(),
        None => Ok(()),
    };
    w.last_sync = Instant::now();
    if result.is_ok() {
        publish(inner, w.last_seq);
        inner.group.note_durable(w.log_end());
    }
    inner.poison.guard(result)
}
