//! [`Log`]: the write path, from a `put` to its bytes on disk: the writer
//! lock, the records still in the write buffer ([`UnflushedTail`]), group
//! commit, publication in the keydir, rollover, the active file's hint,
//! and a clean close. [`Writer`] (`crate::writer`) is the state the writer
//! lock guards: the active file, its buffer and its counters.
//!
//! # What happens on put
//!
//! `Bitcask::put` checks its arguments and calls [`Log::write`], which,
//! under the writer lock ([`Log::write_locked`]): refuses a poisoned store,
//! rolls the active file over if the record would pass `max_file_bytes`
//! ([`Log::rollover`]), takes sequence numbers, encodes the record into the
//! buffer (a durable-frontier record first at the start of a flush group),
//! hands the buffer to the file system in one positioned write if it is
//! full, mirrors the buffer in the [`UnflushedTail`] and publishes the
//! write in the keydir ([`Log::publish`]). Then, with the writer lock
//! released, it waits for the group sync that covers it when the policy
//! says so ([`GroupCommit::wait_durable`], [`Log::sync_group`]). Keydir
//! updates happen under the writer lock, so in sequence order. Lock order:
//! writer, then the state's locks (in the order `crate::shared_state`
//! gives), then the group-commit queue's own lock.
//!
//! # Group commit
//!
//! A write that must be durable before it returns (`SyncPolicy::Always`, an
//! `Interval` write whose interval has passed, `sync()`) notes its end as a
//! *log position* and releases the writer lock before waiting on the store's
//! [`GroupCommit`]: the first such writer becomes the group's leader and
//! runs [`Log::sync_group`], which takes the writer lock only to hand the
//! whole buffer (every waiting writer's records) to the file system in one
//! write, then fsyncs with the lock released. The writers that arrived
//! meanwhile share that fsync or the next one. So the writer lock is never
//! held across a group's fsync. (Sealing a file at rollover and a clean
//! close still sync under the writer lock: they happen once per file.) A
//! `get` never takes the writer lock: a record still in the buffer is
//! copied from its mirror, [`crate::unflushed`], which the writer updates
//! (a memory copy) before publishing the write.
//!
//! A log position is `Writer::base + offset in the active file`, where
//! `base` is the sum of the lengths of the files sealed by this handle: it
//! only grows, across rollovers, so a writer that appended to a file that
//! was sealed before it got to wait finds its position covered (the
//! rollover synced the old file fully and noted it durable) and never waits
//! on a position of a file that is no longer written. That is why the queue
//! is never `reset`.
//!
//! Under `Always` a write is published in the keydir only once a sync
//! covered it: its records wait in `Writer::unpublished` (in sequence
//! order) and the sync that made them durable (a group leader's, or a
//! rollover's or close's) applies them before any of their writers
//! returns. So a `get` never sees a write that a failed sync may have lost,
//! and a writer reads its own write once its `put` returned. Under
//! `Interval` a write is published at once and the due sync then runs
//! through the queue (a failure there poisons the store and fails that
//! write, whose value stays readable until the store is reopened).
//!
//! With group commit several flushes can be unsynced at once even under
//! `Always` (a leader's write, and a full buffer flushed while its fsync
//! runs), so a crash can leave zeros followed by valid records inside the
//! preallocated space (see `crate::writer`). That is safe because of the
//! durable frontier: a frontier record only ever claims bytes a completed
//! sync covered (the leader reports the length it flushed *before* its
//! fsync), so everything past the last frontier, zeros and records alike,
//! is judged a torn tail, never corruption, and no acknowledged write lies
//! there.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use kv_core::codec::RecordKind;
use kv_core::{Background, BatchOp, Error, Fs, GroupCommit, Result, SyncPolicy};

use crate::data_file::{create_new_file, data_file_name, hint_file_name, DataFile};
use crate::entry_list::EntryList;
use crate::hint::{encode_hint, Hint};
use crate::keydir::Entry;
use crate::lock_hold::Holder;
use crate::log_scan::{scan_log, LogRange};
use crate::maintenance::Signal;
use crate::options::BitcaskOptions;
use crate::shared_state::{Change, SharedState};
use crate::state::{Appended, FileInfo};
use crate::stats::EngineCounters;
use crate::store_dir::StoreDir;
use crate::unflushed::UnflushedTail;
use crate::writer::{Unpublished, WriteOp, Writer};

/// Under `Background::Inline`, the automatic merge policy is also looked at
/// after every this many writes (besides after every rollover).
pub const INLINE_MERGE_CHECK_WRITES: u64 = 1024;

/// The write path (see the module docs).
#[derive(Debug)]
pub(crate) struct Log {
    writer: Mutex<Writer>,
    /// The active file's records still in the writer's buffer, readable
    /// without the writer lock.
    unflushed: UnflushedTail,
    /// Shares syncs among concurrent writers; positions are
    /// `Writer::log_end` values.
    group: GroupCommit,
    /// Writes made, for the periodic merge check under `Background::Inline`.
    inline_writes: AtomicU64,
    options: BitcaskOptions,
    /// Where new active files and hints are created.
    dir: Arc<StoreDir>,
    /// Where writes are published.
    state: Arc<SharedState>,
    /// Where failed hint writes are counted.
    counters: Arc<EngineCounters>,
    /// Woken after a rollover (the merge triggers may be met).
    signal: Arc<Signal>,
}

/// What a [`Log`] works on besides its own state: the store's directory,
/// its shared state, its counters and the background thread's signal.
#[derive(Debug)]
pub(crate) struct LogParts {
    /// Where new active files, hints and the file-set record go.
    pub dir: Arc<StoreDir>,
    /// Where writes are published.
    pub state: Arc<SharedState>,
    /// Where failed hint writes (and the state's write holds) are counted.
    pub counters: Arc<EngineCounters>,
    /// Woken after a rollover.
    pub signal: Arc<Signal>,
}

impl Log {
    /// The write path of a store whose writer, as recovered by open, is
    /// `writer`.
    pub fn new(writer: Writer, options: BitcaskOptions, parts: LogParts) -> Self {
        Self {
            group: GroupCommit::new(writer.flushed_log_end()),
            writer: Mutex::new(writer),
            unflushed: UnflushedTail::default(),
            inline_writes: AtomicU64::new(0),
            options,
            dir: parts.dir,
            state: parts.state,
            counters: parts.counters,
            signal: parts.signal,
        }
    }

    /// The writer lock. Lock order: this, then the state lock.
    pub(crate) fn lock_writer(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The records not yet handed to the file system, for reads.
    pub(crate) fn unflushed(&self) -> &UnflushedTail {
        &self.unflushed
    }

    /// Marks the store poisoned (a merge failed after it started changing
    /// the directory): every later write is refused.
    pub(crate) fn poison(&self, cause: String) {
        self.lock_writer().poison.poison(cause);
    }

    /// Writes `op`: encodes it, rolls over if needed, publishes it in the
    /// keydir, and then, with the writer lock released, waits for the group
    /// sync that covers it when the policy says so. Returns true if the
    /// automatic merge policy is due to be looked at on the caller's thread
    /// (see [`Log::merge_check_due`]); the caller runs it.
    ///
    /// # Durability
    /// Under `SyncPolicy::Always` the write is on stable storage when this
    /// returns `Ok`, synced by this writer's group (see the module docs).
    ///
    /// # Errors
    /// `ReadOnly` on a store opened read-only or for verification;
    /// `Poisoned` after an earlier failure; I/O errors (which poison). A
    /// failed group sync fails every writer of that group with its error
    /// (or `Poisoned`), even though their writes were published.
    pub(crate) fn write(&self, op: WriteOp<'_>) -> Result<bool> {
        if self.options.core.open_mode.is_read_only() {
            return Err(Error::ReadOnly);
        }
        if matches!(op, WriteOp::Batch(b) if b.is_empty()) {
            return Ok(false);
        }
        let (rolled_over, durable_at) = {
            let mut w = self.lock_writer();
            self.write_locked(&mut w, op)?
        };
        if let Some(end) = durable_at {
            self.group.wait_durable(end, || self.sync_group())?;
        }
        Ok(self.merge_check_due(rolled_over))
    }

    /// The body of [`Log::write`], under the writer lock; returns whether
    /// the write rolled the active file over, and the log position that must
    /// be durable before the write returns (if the policy asks for a sync).
    fn write_locked(&self, w: &mut Writer, op: WriteOp<'_>) -> Result<(bool, Option<u64>)> {
        w.check_usable()?;
        if let WriteOp::Delete { key } = op {
            if self.state.entry(key).is_none() && !w.has_unpublished(key) {
                return Ok((false, None)); // nothing on disk can resurrect it: no tombstone needed
            }
        }
        let bytes = op.encoded_bytes();
        let rolled_over = w.has_records() && w.logical_len() + bytes > self.options.max_file_bytes;
        if rolled_over {
            self.rollover(w)?;
        }
        let first_seq = w.take_sequence_numbers(op.sequence_numbers())?;
        let mark = w.buffer.len();
        if w.buffer.is_empty() {
            // The start of a flush group: say what is durable so far.
            let Writer {
                frontier, buffer, ..
            } = &mut *w;
            frontier.emit_if_due(buffer);
        }
        w.encode(op, first_seq);
        let sync_now = match self.options.core.sync {
            SyncPolicy::Always => true,
            SyncPolicy::Interval { interval_ms } => {
                w.last_sync.elapsed() >= Duration::from_millis(interval_ms)
            }
            SyncPolicy::Manual => false,
        };
        if w.buffer.len() >= self.options.write_buffer_bytes {
            if let Err(e) = w.flush() {
                w.buffer.truncate(mark);
                return Err(w.poison(e));
            }
        }
        let defer = self.options.core.sync == SyncPolicy::Always;
        // Readable without the writer lock before the keydir points at it.
        self.unflushed.mirror(w.active.id, w.flushed_len, &w.buffer);
        self.publish(w, op, first_seq, defer);
        Ok((rolled_over, sync_now.then(|| w.log_end())))
    }

    /// The group leader's sync (the closure of
    /// [`kv_core::GroupCommit::wait_durable`]): under the writer lock, hands
    /// the whole buffer to the file system in one write; then, with the lock
    /// released, fsyncs the active file (and the directory if a file was
    /// created since its last sync); then records the synced length in the
    /// file's durable frontier. Returns the log position it made durable:
    /// the flushed end as of *before* the fsync, so a frontier never claims
    /// bytes flushed while it ran. Leaders never overlap (the queue runs one
    /// at a time); a rollover's or close's sync under the writer lock may
    /// run alongside, which is harmless (both only make bytes durable).
    ///
    /// # Errors
    /// `Poisoned` on a poisoned store; the I/O error of the write or sync,
    /// which poisons the store.
    pub(crate) fn sync_group(&self) -> Result<u64> {
        let (file, changes, flushed, end, dir) = {
            let mut w = self.lock_writer();
            w.check_usable()?;
            if let Err(e) = w.flush() {
                return Err(w.poison(e));
            }
            if !w.unsynced && !w.dir_unsynced {
                // An earlier sync covered everything flushed.
                let end = w.flushed_log_end();
                self.publish_durable(&mut w, end);
                return Ok(end);
            }
            let dir = w.dir_unsynced;
            let file = Arc::clone(&w.active);
            (file, w.changes, w.flushed_len, w.flushed_log_end(), dir)
        };
        let synced = file
            .file
            .sync()
            .and_then(|()| if dir { self.dir.sync() } else { Ok(()) });
        let mut w = self.lock_writer();
        if let Err(e) = synced {
            return Err(w.poison(e));
        }
        self.publish_durable(&mut w, end);
        if w.active.id == file.id {
            // Else a rollover sealed (and fully synced) the file meanwhile,
            // and `dir_unsynced` now speaks of its successor.
            w.frontier.synced(flushed);
            if w.changes == changes {
                w.unsynced = false;
            }
            if dir {
                w.dir_unsynced = false;
            }
        }
        w.last_sync = Instant::now();
        Ok(end)
    }

    /// Makes every write made so far durable through the group-commit queue
    /// (what `Store::sync` does): shares a sync in flight or the next one.
    ///
    /// # Errors
    /// `Poisoned` after an earlier failure; the I/O error of the group's
    /// sync (which poisons).
    pub(crate) fn sync_all(&self) -> Result<()> {
        let end = {
            let w = self.lock_writer();
            w.check_usable()?;
            w.log_end()
        };
        self.group.wait_durable(end, || self.sync_group())
    }

    /// Under `Background::Inline` with automatic merges on (no maintenance
    /// thread), whether the write that just succeeded is one of the
    /// deterministic points at which its caller runs the merge policy:
    /// one that rolled the active file over, or every
    /// [`INLINE_MERGE_CHECK_WRITES`]th write (overwrites make immutable
    /// files dead without a rollover). Counts the write.
    fn merge_check_due(&self, rolled_over: bool) -> bool {
        if self.options.core.background != Background::Inline || !self.options.merge.auto {
            return false;
        }
        let writes = self.inline_writes.fetch_add(1, Ordering::Relaxed) + 1;
        rolled_over || writes.is_multiple_of(INLINE_MERGE_CHECK_WRITES)
    }

    /// Accounts the encoded write in `w.pending` in the file table, and
    /// applies it to the keydir now, or, if `defer`, once a sync covered it
    /// (see [`Unpublished`] and [`Log::publish_durable`]). A single put or
    /// delete is applied under its key's leaf lock; a batch under the index
    /// write side, so a reader sees all of it or none (see
    /// [`crate::shared_state`]).
    fn publish(&self, w: &mut Writer, op: WriteOp<'_>, first_seq: u64, defer: bool) {
        let last_seq = first_seq + op.sequence_numbers() - 1;
        w.min_seq = w.min_seq.min(first_seq);
        w.max_seq = w.max_seq.max(last_seq);
        w.records += op.sequence_numbers();
        let end = w.log_end();
        let appended = Appended {
            file_id: w.active.id,
            total_bytes: w.logical_len(),
            records: w.records,
            seqs: (first_seq, last_seq),
        };
        let Writer {
            pending,
            tombstones,
            unpublished,
            ..
        } = w;
        let (single, batch) = op_records(op, pending);
        let changes: &[Rec<'_>] = match &single {
            Some(rec) => std::slice::from_ref(rec),
            None => &batch,
        };
        if defer {
            self.state.accounting().on_append(&appended);
            for &(key, delete, entry, expiry_unix_ms) in changes {
                unpublished.push(Unpublished {
                    key: key.to_vec(),
                    entry,
                    delete,
                    expiry_unix_ms,
                    end,
                });
            }
            return;
        }
        for &(key, delete, e, _) in changes {
            if delete {
                tombstones.push(key, true, e);
            }
        }
        if let [(key, delete, e, expiry)] = *changes {
            let change = change_of(delete, e, expiry);
            self.state
                .apply(Holder::Publish, key, change, Some(&appended));
        } else {
            let all = changes.iter().map(|&(k, d, e, x)| (k, change_of(d, e, x)));
            self.state.apply_all(Holder::Publish, all, Some(&appended));
        }
    }

    /// Applies to the keydir, in order, the deferred records of the writes
    /// that end at or before log position `durable` (a completed sync
    /// covered them): each single-key write under its leaf lock, each batch
    /// (the records sharing an end) under one index write hold. Called
    /// under the writer lock before the sync is reported to the
    /// group-commit queue, so a writer finds its write published when it
    /// returns.
    fn publish_durable(&self, w: &mut Writer, durable: u64) {
        let covered = w.unpublished.partition_point(|u| u.end <= durable);
        if covered == 0 {
            return;
        }
        let Writer {
            unpublished,
            tombstones,
            ..
        } = w;
        let done: Vec<Unpublished> = unpublished.drain(..covered).collect();
        for u in done.iter().filter(|u| u.delete) {
            tombstones.push(&u.key, true, u.entry);
        }
        let change = |u: &Unpublished| {
            if u.delete {
                Change::Delete { tombstone: u.entry }
            } else {
                Change::Put {
                    entry: u.entry,
                    expiry_unix_ms: u.expiry_unix_ms,
                }
            }
        };
        for write in done.chunk_by(|a, b| a.end == b.end) {
            if let [u] = write {
                self.state
                    .apply(Holder::PublishDurable, &u.key, change(u), None);
            } else {
                let all = write.iter().map(|u| (u.key.as_slice(), change(u)));
                self.state.apply_all(Holder::PublishDurable, all, None);
            }
        }
    }

    /// Flushes and syncs the active file (and the directory if a file was
    /// created since its last sync) under the writer lock, and notes the
    /// flushed end durable in the group-commit queue. For rollover, close and
    /// merge; writes and `sync()` go through [`Log::sync_group`]. Poisons
    /// on failure.
    pub(crate) fn sync_locked(&self, w: &mut Writer) -> Result<()> {
        w.check_usable()?;
        if let Err(e) = w.flush() {
            return Err(w.poison(e));
        }
        if w.unsynced {
            if let Err(e) = w.active.file.sync() {
                return Err(w.poison(e));
            }
            w.unsynced = false;
            let synced = w.flushed_len;
            w.frontier.synced(synced);
        }
        if w.dir_unsynced {
            if let Err(e) = self.dir.sync() {
                return Err(w.poison(e));
            }
            w.dir_unsynced = false;
        }
        w.last_sync = Instant::now();
        let durable = w.flushed_log_end();
        self.publish_durable(w, durable);
        self.group.note_durable(durable);
        Ok(())
    }

    /// Syncs through the group-commit queue if there are unsynced writes
    /// older than the sync interval (called by the background thread under
    /// `SyncPolicy::Interval`). A failure poisons the store; the next write
    /// reports it.
    pub(crate) fn sync_if_due(&self, interval: Duration) {
        let end = {
            let w = self.lock_writer();
            let dirty = w.unsynced || !w.buffer.is_empty() || w.dir_unsynced;
            if !dirty || w.poison.is_poisoned() || w.last_sync.elapsed() < interval {
                return;
            }
            w.log_end()
        };
        let _ = self.group.wait_durable(end, || self.sync_group());
    }

    /// Flushes the active file, trims it to its data and syncs it (and the
    /// directory if needed): what sealing a file and a clean close need.
    /// Poisons on failure.
    fn finish_active_locked(&self, w: &mut Writer) -> Result<()> {
        w.check_usable()?;
        if let Err(e) = w.flush().and_then(|()| w.trim_preallocated()) {
            return Err(w.poison(e));
        }
        self.sync_locked(w)
    }

    /// Seals the active file (flushed, trimmed to its data, synced, hinted)
    /// and starts a new one. The trim is durable before the next file
    /// exists, so a sealed file never ends in preallocated space.
    pub(crate) fn rollover(&self, w: &mut Writer) -> Result<()> {
        self.finish_active_locked(w)?;
        self.write_active_hint(w, false);
        let id = self.dir.allocate_file_id()?;
        let path = self.dir.join(data_file_name(id));
        let file = match create_new_file(self.dir.fs(), &path) {
            Ok(file) => file,
            Err(e) => return Err(w.poison(e)),
        };
        let handle = Arc::new(DataFile::new(id, path, file, 0));
        w.start_file(Arc::clone(&handle));
        if let Err(e) = w.make_header_durable() {
            return Err(w.poison(e));
        }
        let total = w.logical_len();
        self.state
            .add_files(Holder::Rollover, vec![FileInfo::new(handle, total)]);
        // The new file is listed (and its name durable: the record's write
        // syncs the directory) before anything is appended to it.
        if let Err(e) = self.record_file_set(w) {
            return Err(w.poison(e));
        }
        w.dir_unsynced = false;
        self.signal.wake();
        Ok(())
    }

    /// Writes the file-set record of the store as it is now (see
    /// [`crate::file_set`]). REQUIRES: the writer lock (`w`), which
    /// serializes the record's writers.
    pub(crate) fn record_file_set(&self, w: &Writer) -> io::Result<()> {
        // A copy, so no write waits on the accounting across the record's I/O.
        let files = self.state.accounting().files.clone();
        self.dir.record_file_set(&files, w.active.id)
    }

    /// Writes the hint of the active file, covering what is flushed. Best
    /// effort: a hint is an optimization, and a missing or torn one only
    /// means open scans the data file. REQUIRES: the data it covers is
    /// synced (a hint must never describe bytes a crash can take away).
    pub(crate) fn write_active_hint(&self, w: &mut Writer, durable: bool) {
        if !w.has_records() || w.hint_covers == w.flushed_len {
            return;
        }
        let id = w.active.id;
        let Ok(mut entries) = self.puts_of_active(w) else {
            self.counters.add_hint_write_failure();
            return;
        };
        for (key, tombstone, e) in w.tombstones.iter() {
            entries.push(key, tombstone, e);
        }
        entries.sort_and_keep_newest();
        let hint = Hint {
            data_file_id: id,
            covered_len: w.flushed_len,
            min_seq: w.min_seq,
            max_seq: w.max_seq,
            records: w.records,
            entries,
        };
        let bytes = encode_hint(&hint);
        let path = self.dir.join(hint_file_name(id));
        let written = self.dir.fs().create(&path).and_then(|f| {
            f.append(&bytes)?;
            if durable {
                f.sync()?;
                self.dir.sync()?;
            }
            Ok(())
        });
        match written {
            Ok(_) => {
                w.hint_covers = w.flushed_len;
                if let Some(f) = self.state.accounting().files.get_mut(&id) {
                    f.hint_bytes = bytes.len() as u64;
                }
            }
            Err(_) => {
                self.counters.add_hint_write_failure();
                let _ = self.dir.fs().remove(&path);
            }
        }
    }

    /// Every put of the active file, found by reading the file back (just
    /// written, so usually from the page cache): costs the records of that
    /// file, not the whole keydir. The caller keeps the newest record per
    /// key of the file (with its tombstones), which is exactly what the
    /// keydir points at in it: every record newer than one of the active
    /// file's is in the active file (a merge never takes it), and under
    /// `Always` the rollover's sync published every write first. So the
    /// keydir is not asked per record (that was 3 s of a 4M-key rollover,
    /// all under the writer lock: `examples/stalls.rs` under `perf`).
    /// REQUIRES: the buffer is flushed.
    fn puts_of_active(&self, w: &Writer) -> Result<EntryList> {
        let id = w.active.id;
        let range = LogRange {
            path: &w.active.path,
            file: &*w.active.file,
            from: w.active.header_len,
            to: w.flushed_len,
        };
        let mut puts = EntryList::new();
        scan_log(range, false, false, |offset, len, rec, _| {
            if rec.kind == RecordKind::Put {
                let entry = Entry {
                    file_id: id,
                    offset: offset as u32,
                    len,
                    stored_seq: rec.seq,
                };
                puts.push(rec.key, false, entry);
            }
            Ok(())
        })?;
        Ok(puts)
    }

    /// Clean shutdown: flush, trim the preallocated space, sync, and hint
    /// the active file (durably, so the next open reads the hint instead of
    /// scanning the file even after a power loss). Nothing happens on a
    /// poisoned store (open trims what is left) or a read-only one.
    ///
    /// # Errors
    /// `Poisoned`, or the I/O error of the flush, trim or sync (which
    /// poisons, so a second call reports `Poisoned`).
    pub(crate) fn close(&self) -> Result<()> {
        if self.options.core.open_mode.is_read_only() {
            return Ok(());
        }
        let mut w = self.lock_writer();
        self.finish_active_locked(&mut w)?;
        self.record_final_frontier(&mut w)?;
        self.write_active_hint(&mut w, true);
        Ok(())
    }

    /// After the final sync of a clean close, appends a frontier record
    /// covering the whole active file and syncs again, so that damage to any
    /// of its records is later `Corruption`, not a torn tail, even if its
    /// hint is lost. Costs 23 bytes and a sync per close, and nothing when
    /// the last frontier is already current. REQUIRES: the file is synced.
    fn record_final_frontier(&self, w: &mut Writer) -> Result<()> {
        if !w.has_records() {
            return Ok(());
        }
        let synced = w.flushed_len;
        w.frontier.synced(synced);
        let Writer {
            frontier, buffer, ..
        } = &mut *w;
        if !frontier.emit_if_current(buffer) {
            return Ok(());
        }
        w.preallocate_step_bytes = 0; // no extension for the last 23 bytes
        self.finish_active_locked(w)
    }
}

/// One key's record of a write: (key, is a tombstone, entry, expiry).
type Rec<'k> = (&'k [u8], bool, Entry, Option<u64>);

/// The records of `op`, whose encoded entries are `pending`: a single put
/// or delete as the first (no allocation for one key), a batch's as the
/// second.
fn op_records<'k>(op: WriteOp<'k>, pending: &[Entry]) -> (Option<Rec<'k>>, Vec<Rec<'k>>) {
    match op {
        WriteOp::Put {
            key,
            expiry_unix_ms,
            ..
        } => (
            pending.first().map(|e| (key, false, *e, expiry_unix_ms)),
            Vec::new(),
        ),
        WriteOp::Delete { key } => (pending.first().map(|e| (key, true, *e, None)), Vec::new()),
        WriteOp::Batch(batch) => {
            let records = batch
                .ops()
                .iter()
                .zip(pending.iter())
                .map(|(op, e)| match op {
                    BatchOp::Put { key, .. } => (key.as_slice(), false, *e, None),
                    BatchOp::Delete { key } => (key.as_slice(), true, *e, None),
                })
                .collect();
            (None, records)
        }
    }
}

/// The keydir change of one record.
fn change_of(delete: bool, entry: Entry, expiry_unix_ms: Option<u64>) -> Change {
    if delete {
        Change::Delete { tombstone: entry }
    } else {
        Change::Put {
            entry,
            expiry_unix_ms,
        }
    }
}
