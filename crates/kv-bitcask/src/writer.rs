//! The write path: the active data file, its append buffer, sequence
//! numbers, syncing, rollover, and poisoning.
//!
//! One `Mutex<Writer>` serializes writers. A write encodes its records into
//! the buffer (no allocation per record), hands the buffer to the file
//! system in one positioned write when it is full, and then updates the
//! keydir under the state lock, still holding the writer lock so keydir
//! updates happen in sequence order. Lock order: writer, then state, then
//! the group-commit queue's own lock.
//!
//! # Group commit
//!
//! A write that must be durable before it returns (`SyncPolicy::Always`, an
//! `Interval` write whose interval has passed, `sync()`) notes its end as a
//! *log position* and releases the writer lock before waiting on the store's
//! [`kv_core::GroupCommit`]: the first such writer becomes the group's
//! leader and runs [`Inner::sync_group`], which takes the writer lock only to
//! hand the whole buffer (every waiting writer's records) to the file system
//! in one write, then fsyncs with the lock released. The writers that
//! arrived meanwhile share that fsync or the next one. So the writer lock is
//! never held across a group's fsync. (Sealing a file at rollover and a
//! clean close still sync under the writer lock: they happen once per
//! file.) A `get` never takes the writer lock: a record still in the
//! buffer is copied from its mirror, [`crate::unflushed`], which the
//! writer updates (a memory copy) before publishing the write.
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
//! # Preallocation
//!
//! Under `SyncPolicy::Always` the active file is extended ahead of its data
//! (see `BitcaskOptions::preallocate_bytes`), so the file is longer than
//! its data: the writer writes at its own tracked offset (`flushed_len`)
//! with `File::write_at`, never with `File::append` (which writes at the
//! file's length). Before a file is sealed, and on a clean close, it is
//! truncated back to its data, so only the newest file can ever end in
//! zero-filled space (open trims that, see `crate::recovery`).
//!
//! With group commit several flushes can be unsynced at once even under
//! `Always` (a leader's write, and a full buffer flushed while its fsync
//! runs), so a crash can leave zeros followed by valid records inside the
//! preallocated space. That is safe because of the durable frontier: a
//! frontier record only ever claims bytes a completed sync covered (the
//! leader reports the length it flushed *before* its fsync), so everything
//! past the last frontier, zeros and records alike, is judged a torn tail,
//! never corruption, and no acknowledged write lies there.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kv_core::codec::{
    encode_batch, encode_delete, encode_put, encoded_len, FrontierTracker, RecordKind, HEADER_BYTES,
};
use kv_core::{Background, BatchOp, Error, Fs, Poison, Result, SyncPolicy, WriteBatch};

use crate::data_file::{
    create_new_file, data_file_header, data_file_name, hint_file_name, DataFile,
};
use crate::entry_list::EntryList;
use crate::file_set::{write_file_set, FileSet};
use crate::hint::{encode_hint, Hint};
use crate::keydir::Entry;
use crate::lock_hold::Holder;
use crate::log_scan::{scan_log, LogRange};
use crate::merge;
use crate::state::FileInfo;
use crate::store::Inner;
use crate::ttl::{EXPIRY_PREFIX_BYTES, MAX_SEQUENCE, TTL_SEQ_FLAG};

/// Under `Background::Inline`, the automatic merge policy is also looked at
/// after every this many writes (besides after every rollover).
pub const INLINE_MERGE_CHECK_WRITES: u64 = 1024;

/// A write buffer grown past this by a huge batch is given back after the
/// flush.
const MAX_RETAINED_BUFFER_BYTES: usize = 8 * 1024 * 1024;

/// One write request, before encoding.
#[derive(Debug, Clone, Copy)]
pub enum WriteOp<'a> {
    /// A put, with an expiry for a TTL put.
    Put {
        /// The key.
        key: &'a [u8],
        /// The user value.
        value: &'a [u8],
        /// Expiry in Unix milliseconds, for a TTL put.
        expiry_unix_ms: Option<u64>,
    },
    /// A delete.
    Delete {
        /// The key.
        key: &'a [u8],
    },
    /// A batch, written as one framed group.
    Batch(&'a WriteBatch),
}

impl WriteOp<'_> {
    fn encoded_bytes(&self) -> u64 {
        let n = match self {
            WriteOp::Put {
                key,
                value,
                expiry_unix_ms,
            } => {
                let prefix = if expiry_unix_ms.is_some() {
                    EXPIRY_PREFIX_BYTES
                } else {
                    0
                };
                encoded_len(key.len(), prefix + value.len())
            }
            WriteOp::Delete { key } => encoded_len(key.len(), 0),
            WriteOp::Batch(batch) => {
                HEADER_BYTES
                    + batch
                        .ops()
                        .iter()
                        .map(|op| match op {
                            BatchOp::Put { key, value } => encoded_len(key.len(), value.len()),
                            BatchOp::Delete { key } => encoded_len(key.len(), 0),
                        })
                        .sum::<usize>()
            }
        };
        n as u64
    }

    fn sequence_numbers(&self) -> u64 {
        match self {
            WriteOp::Batch(batch) => batch.len() as u64,
            _ => 1,
        }
    }
}

/// A record written under `SyncPolicy::Always` whose sync has not completed
/// yet, so the keydir does not show it.
#[derive(Debug)]
pub struct Unpublished {
    /// The record's key.
    pub key: Vec<u8>,
    /// Where the record is.
    pub entry: Entry,
    /// True for a tombstone.
    pub delete: bool,
    /// The expiry of a TTL put.
    pub expiry_unix_ms: Option<u64>,
    /// Log position of the end of the write it belongs to.
    pub end: u64,
}

/// The writer's state: the active file and everything not yet on disk.
#[derive(Debug)]
pub struct Writer {
    /// The file appends go to.
    pub active: Arc<DataFile>,
    /// Encoded records not yet handed to the file system.
    pub buffer: Vec<u8>,
    /// Bytes of the active file already handed to the file system: the
    /// offset the next flush writes at. The file may be longer (zero-filled
    /// preallocated space, `active.allocated_len()`).
    pub flushed_len: u64,
    /// The next sequence number to assign.
    pub next_seq: u64,
    /// Lowest sequence number in the active file (`u64::MAX` if none).
    pub min_seq: u64,
    /// Highest sequence number in the active file (0 if none).
    pub max_seq: u64,
    /// Put and delete records in the active file.
    pub records: u64,
    /// Tombstones written to the active file, for its hint.
    pub tombstones: EntryList,
    /// Length of the active file its current hint covers (0 if none).
    pub hint_covers: u64,
    /// Bytes were written since the last sync of the active file.
    pub unsynced: bool,
    /// Counts changes to the active file (flushes, extensions, trims), so a
    /// group sync that ran outside the writer lock clears `unsynced` only if
    /// nothing changed while it ran.
    pub changes: u64,
    /// Log position of offset 0 of the active file: the lengths of the files
    /// this handle sealed, summed (see the module docs on group commit).
    pub base: u64,
    /// The active file's durable frontier: what is synced, and what the last
    /// frontier record said (see `kv_core::codec::frontier`).
    pub frontier: FrontierTracker,
    /// A file was created since the directory was last synced.
    pub dir_unsynced: bool,
    /// When the active file was last synced.
    pub last_sync: Instant,
    /// Set by the first failed write, sync or merge commit; refuses every
    /// later write.
    pub poison: Poison,
    /// Entries of the records of the write being applied.
    pub pending: Vec<Entry>,
    /// Records written under `Always` awaiting the sync that publishes them,
    /// oldest first.
    pub unpublished: Vec<Unpublished>,
    /// Step by which the active file is extended ahead of its data (0: no
    /// preallocation; see `BitcaskOptions::preallocation_step_bytes`).
    pub preallocate_step_bytes: u64,
    /// Preallocation never extends the file past this (unless one write
    /// alone does): the rollover limit.
    pub max_file_bytes: u64,
    scratch: Vec<u8>,
}

impl Writer {
    /// A writer appending to `active`, whose first `len` bytes are on disk
    /// and which is exactly that long (no preallocated space; preallocation
    /// is off until [`Writer::set_preallocation`]).
    pub fn new(active: Arc<DataFile>, len: u64, next_seq: u64) -> Self {
        Self {
            active,
            buffer: Vec::new(),
            flushed_len: len,
            next_seq,
            min_seq: u64::MAX,
            max_seq: 0,
            records: 0,
            tombstones: EntryList::new(),
            hint_covers: 0,
            unsynced: false,
            changes: 0,
            base: 0,
            frontier: FrontierTracker::new(len),
            dir_unsynced: false,
            last_sync: Instant::now(),
            poison: Poison::new(),
            pending: Vec::new(),
            unpublished: Vec::new(),
            preallocate_step_bytes: 0,
            max_file_bytes: u64::MAX,
            scratch: Vec::new(),
        }
    }

    /// Turns preallocation on (`step_bytes > 0`) or off; extensions stop at
    /// `max_file_bytes`.
    pub fn set_preallocation(&mut self, step_bytes: u64, max_file_bytes: u64) {
        self.preallocate_step_bytes = step_bytes;
        self.max_file_bytes = max_file_bytes;
    }

    /// A writer for a brand-new file: its header goes in the buffer.
    pub fn with_new_file(active: Arc<DataFile>, next_seq: u64) -> Self {
        let mut w = Self::new(active, 0, next_seq);
        w.buffer.extend_from_slice(&data_file_header(w.active.id));
        w.dir_unsynced = true;
        w
    }

    /// Writes and syncs what is buffered of a brand-new active file (its
    /// header), so that the file set may list it: a listed file's header
    /// is durable, and a listed file without one was damaged.
    ///
    /// # Errors
    /// The I/O error of the write or sync.
    pub fn make_header_durable(&mut self) -> io::Result<()> {
        self.flush()?;
        self.active.file.sync()?;
        // The frontier tracker is not told: a header alone needs no
        // frontier record (claiming less than is synced is always safe).
        self.unsynced = false;
        Ok(())
    }

    /// Length of the active file including the buffer.
    pub fn logical_len(&self) -> u64 {
        self.flushed_len + self.buffer.len() as u64
    }

    /// Log position of the end of the active file including the buffer.
    pub fn log_end(&self) -> u64 {
        self.base + self.logical_len()
    }

    /// Log position of the end of what was handed to the file system.
    pub fn flushed_log_end(&self) -> u64 {
        self.base + self.flushed_len
    }

    /// True if a record of `key` waits for its sync (see [`Unpublished`]).
    pub fn has_unpublished(&self, key: &[u8]) -> bool {
        self.unpublished.iter().any(|u| u.key == key)
    }

    /// True if the active file holds a record.
    pub fn has_records(&self) -> bool {
        self.min_seq <= self.max_seq
    }

    /// `Err(Poisoned)` once a write or sync failed.
    pub fn check_usable(&self) -> Result<()> {
        self.poison.check()
    }

    /// Marks the store poisoned by `e` and returns it as an error.
    pub fn poison(&mut self, e: io::Error) -> Error {
        self.poison.poison(&e);
        Error::Io(e)
    }

    /// Hands the buffer to the file system in one positioned write at
    /// `flushed_len` (after extending the file if preallocation is on and
    /// the write would pass its end). On failure the buffer is kept (reads
    /// are served from it) and nothing is published.
    pub fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let end = self.logical_len();
        self.reserve(end)?;
        self.active.file.write_at(&self.buffer, self.flushed_len)?;
        self.flushed_len = end;
        if self.active.allocated_len() < end {
            self.active.set_allocated_len(end);
        }
        self.active.set_readable_len(end);
        self.buffer.clear();
        if self.buffer.capacity() > MAX_RETAINED_BUFFER_BYTES {
            self.buffer = Vec::new(); // a huge batch passed through
        }
        self.unsynced = true;
        self.changes += 1;
        Ok(())
    }

    /// With preallocation on, makes the active file at least `end` bytes
    /// long: when a write would pass its length, extends it by the step (or
    /// by what the write needs, if more), but not past `max_file_bytes`
    /// unless the write itself does. The new length becomes durable with
    /// the next sync, which pays for the size change once; the syncs after
    /// it find the size unchanged.
    fn reserve(&mut self, end: u64) -> io::Result<()> {
        let allocated = self.active.allocated_len();
        if self.preallocate_step_bytes == 0 || end <= allocated {
            return Ok(());
        }
        let target = allocated
            .saturating_add(self.preallocate_step_bytes)
            .min(self.max_file_bytes)
            .max(end);
        self.active.file.truncate(target)?;
        self.active.set_allocated_len(target);
        self.unsynced = true;
        self.changes += 1;
        Ok(())
    }

    /// Truncates the active file to its data (`flushed_len`), dropping the
    /// preallocated space, so that a sealed or cleanly closed file ends
    /// with its last record. Made durable by the next sync. REQUIRES: the
    /// buffer is flushed (else the file would end short of the data).
    pub fn trim_preallocated(&mut self) -> io::Result<()> {
        if self.active.allocated_len() <= self.flushed_len {
            return Ok(());
        }
        self.active.file.truncate(self.flushed_len)?;
        self.active.set_trimmed_len(self.flushed_len);
        self.unsynced = true;
        self.changes += 1;
        Ok(())
    }

    fn take_sequence_numbers(&mut self, n: u64) -> Result<u64> {
        let first = self.next_seq;
        if first + n >= MAX_SEQUENCE {
            return Err(Error::InvalidArgument(
                "sequence numbers are exhausted; copy the data to a new store".into(),
            ));
        }
        self.next_seq += n;
        Ok(first)
    }

    fn entry_at(&self, offset: u64, len: usize, stored_seq: u64) -> Entry {
        Entry {
            file_id: self.active.id,
            offset: offset as u32,
            len: len as u32,
            stored_seq,
        }
    }

    /// Encodes `op` with sequence numbers from `first_seq` into the buffer
    /// and leaves the entries of its records in `pending`.
    fn encode(&mut self, op: WriteOp<'_>, first_seq: u64) {
        self.pending.clear();
        let start = self.logical_len();
        match op {
            WriteOp::Put {
                key,
                value,
                expiry_unix_ms: None,
            } => {
                encode_put(&mut self.buffer, first_seq, key, value);
                let e = self.entry_at(start, encoded_len(key.len(), value.len()), first_seq);
                self.pending.push(e);
            }
            WriteOp::Put {
                key,
                value,
                expiry_unix_ms: Some(expiry),
            } => {
                self.scratch.clear();
                self.scratch.extend_from_slice(&expiry.to_le_bytes());
                self.scratch.extend_from_slice(value);
                let stored_seq = first_seq | TTL_SEQ_FLAG;
                encode_put(&mut self.buffer, stored_seq, key, &self.scratch);
                let len = encoded_len(key.len(), self.scratch.len());
                let e = self.entry_at(start, len, stored_seq);
                self.pending.push(e);
            }
            WriteOp::Delete { key } => {
                encode_delete(&mut self.buffer, first_seq, key);
                let e = self.entry_at(start, encoded_len(key.len(), 0), first_seq);
                self.pending.push(e);
            }
            WriteOp::Batch(batch) => {
                encode_batch(&mut self.buffer, first_seq, batch);
                let mut at = start + HEADER_BYTES as u64;
                for (i, op) in batch.ops().iter().enumerate() {
                    let len = match op {
                        BatchOp::Put { key, value } => encoded_len(key.len(), value.len()),
                        BatchOp::Delete { key } => encoded_len(key.len(), 0),
                    };
                    let e = self.entry_at(at, len, first_seq + i as u64);
                    self.pending.push(e);
                    at += len as u64;
                }
                debug_assert_eq!(at, self.logical_len());
            }
        }
    }

    /// Starts appending to a brand-new file.
    fn start_file(&mut self, active: Arc<DataFile>) {
        self.base += self.flushed_len;
        self.active = active;
        self.buffer.clear();
        self.buffer
            .extend_from_slice(&data_file_header(self.active.id));
        self.flushed_len = 0;
        self.min_seq = u64::MAX;
        self.max_seq = 0;
        self.records = 0;
        self.tombstones.clear();
        self.hint_covers = 0;
        self.unsynced = false;
        self.frontier = FrontierTracker::new(0);
        self.dir_unsynced = true;
    }
}

impl Inner {
    /// Writes `op`: encodes it, rolls over if needed, publishes it in the
    /// keydir, and then, with the writer lock released, waits for the group
    /// sync that covers it when the policy says so. Under
    /// `Background::Inline` with automatic merges on, the write then runs
    /// the merge policy itself at its deterministic points (see
    /// [`Inner::inline_maintenance`]).
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
    pub(crate) fn write_op(&self, op: WriteOp<'_>) -> Result<()> {
        if self.options.core.open_mode.is_read_only() {
            return Err(Error::ReadOnly);
        }
        if matches!(op, WriteOp::Batch(b) if b.is_empty()) {
            return Ok(());
        }
        let (rolled_over, durable_at) = {
            let mut w = self.lock_writer();
            self.write_op_locked(&mut w, op)?
        };
        if let Some(end) = durable_at {
            self.group.wait_durable(end, || self.sync_group())?;
        }
        self.inline_maintenance(rolled_over);
        Ok(())
    }

    /// The body of [`Inner::write_op`], under the writer lock; returns whether
    /// the write rolled the active file over, and the log position that must
    /// be durable before the write returns (if the policy asks for a sync).
    fn write_op_locked(&self, w: &mut Writer, op: WriteOp<'_>) -> Result<(bool, Option<u64>)> {
        w.check_usable()?;
        if let WriteOp::Delete { key } = op {
            if self.read_state().keydir.get(key).is_none() && !w.has_unpublished(key) {
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
        let synced = file.file.sync().and_then(|()| {
            if dir {
                self.fs.sync_dir(&self.dir)
            } else {
                Ok(())
            }
        });
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

    /// Under `Background::Inline` (no maintenance thread), runs the automatic
    /// merge policy on the caller's thread at deterministic points: after a
    /// write that rolled the active file over, and after every
    /// [`INLINE_MERGE_CHECK_WRITES`]th write (overwrites make immutable files
    /// dead without a rollover). A failed merge is counted in
    /// `merge_failures`, not returned: the write itself succeeded (a merge
    /// that failed while committing has poisoned the store, so the next
    /// write reports it).
    pub(crate) fn inline_maintenance(&self, rolled_over: bool) {
        if self.options.core.background != Background::Inline || !self.options.merge.auto {
            return;
        }
        let writes = self.inline_writes.fetch_add(1, Ordering::Relaxed) + 1;
        let due = rolled_over || writes.is_multiple_of(INLINE_MERGE_CHECK_WRITES);
        if due {
            let _ = merge::auto_merge(self); // counted in `merge_failures`
        }
    }

    /// Accounts the encoded write in `w.pending` in the file table, and
    /// applies it to the keydir now, or, if `defer`, once a sync covered it
    /// (see [`Unpublished`] and [`Inner::publish_durable`]).
    fn publish(&self, w: &mut Writer, op: WriteOp<'_>, first_seq: u64, defer: bool) {
        let last_seq = first_seq + op.sequence_numbers() - 1;
        w.min_seq = w.min_seq.min(first_seq);
        w.max_seq = w.max_seq.max(last_seq);
        w.records += op.sequence_numbers();
        let end = w.log_end();
        let mut st = self.write_state(Holder::Publish);
        if let Some(f) = st.files.get_mut(&w.active.id) {
            f.total_bytes = w.logical_len();
            f.records = w.records;
            f.note_seq(first_seq);
            f.note_seq(last_seq);
        }
        let Writer {
            pending,
            tombstones,
            unpublished,
            ..
        } = w;
        let mut apply = |key: &[u8], delete: bool, e: Entry, expiry_unix_ms: Option<u64>| {
            if defer {
                unpublished.push(Unpublished {
                    key: key.to_vec(),
                    entry: e,
                    delete,
                    expiry_unix_ms,
                    end,
                });
            } else if delete {
                st.apply_delete(key, e);
                tombstones.push(key, true, e);
            } else {
                st.apply_put(key, e, expiry_unix_ms);
            }
        };
        match op {
            WriteOp::Put {
                key,
                expiry_unix_ms,
                ..
            } => {
                if let Some(e) = pending.first() {
                    apply(key, false, *e, expiry_unix_ms);
                }
            }
            WriteOp::Delete { key } => {
                if let Some(e) = pending.first() {
                    apply(key, true, *e, None);
                }
            }
            WriteOp::Batch(batch) => {
                for (op, e) in batch.ops().iter().zip(pending.iter()) {
                    match op {
                        BatchOp::Put { key, .. } => apply(key, false, *e, None),
                        BatchOp::Delete { key } => apply(key, true, *e, None),
                    }
                }
            }
        }
    }

    /// Applies to the keydir, in order, the deferred records of the writes
    /// that end at or before log position `durable` (a completed sync
    /// covered them). Called under the writer lock before the sync is
    /// reported to the group-commit queue, so a writer finds its write
    /// published when it returns.
    fn publish_durable(&self, w: &mut Writer, durable: u64) {
        let covered = w.unpublished.partition_point(|u| u.end <= durable);
        if covered == 0 {
            return;
        }
        let mut st = self.write_state(Holder::PublishDurable);
        let Writer {
            unpublished,
            tombstones,
            ..
        } = w;
        for u in unpublished.drain(..covered) {
            if u.delete {
                st.apply_delete(&u.key, u.entry);
                tombstones.push(&u.key, true, u.entry);
            } else {
                st.apply_put(&u.key, u.entry, u.expiry_unix_ms);
            }
        }
    }

    /// Flushes and syncs the active file (and the directory if a file was
    /// created since its last sync) under the writer lock, and notes the
    /// flushed end durable in the group-commit queue. For rollover, close and
    /// merge; writes and `sync()` go through [`Inner::sync_group`]. Poisons
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
            if let Err(e) = self.fs.sync_dir(&self.dir) {
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
        let id = self.allocate_file_id()?;
        let path = self.dir.join(data_file_name(id));
        let file = match create_new_file(&*self.fs, &path) {
            Ok(file) => file,
            Err(e) => return Err(w.poison(e)),
        };
        let handle = Arc::new(DataFile::new(id, path, file, 0));
        w.start_file(Arc::clone(&handle));
        if let Err(e) = w.make_header_durable() {
            return Err(w.poison(e));
        }
        let total = w.logical_len();
        self.write_state(Holder::Rollover)
            .files
            .insert(id, FileInfo::new(handle, total));
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
        let set = FileSet::of(&self.read_state().files, w.active.id, self.next_file_id());
        write_file_set(&*self.fs, &self.dir, &set)
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
        let Ok(mut entries) = self.live_puts_of_active(w) else {
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
        let written = self.fs.create(&path).and_then(|f| {
            f.append(&bytes)?;
            if durable {
                f.sync()?;
                self.fs.sync_dir(&self.dir)?;
            }
            Ok(())
        });
        match written {
            Ok(_) => {
                w.hint_covers = w.flushed_len;
                if let Some(f) = self.write_state(Holder::HintSize).files.get_mut(&id) {
                    f.hint_bytes = bytes.len() as u64;
                }
            }
            Err(_) => {
                self.counters.add_hint_write_failure();
                let _ = self.fs.remove(&path);
            }
        }
    }

    /// The puts of the active file the keydir points at, found by reading
    /// the file back (just written, so usually from the page cache): costs
    /// the records of that file, not the whole keydir. REQUIRES: the buffer
    /// is flushed.
    fn live_puts_of_active(&self, w: &Writer) -> Result<EntryList> {
        let id = w.active.id;
        let range = LogRange {
            path: &w.active.path,
            file: &*w.active.file,
            from: w.active.header_len,
            to: w.flushed_len,
        };
        let mut live = EntryList::new();
        scan_log(range, false, false, |offset, len, rec, _| {
            if rec.kind == RecordKind::Put {
                let entry = Entry {
                    file_id: id,
                    offset: offset as u32,
                    len,
                    stored_seq: rec.seq,
                };
                if self.read_state().keydir.get(rec.key) == Some(entry) {
                    live.push(rec.key, false, entry);
                }
            }
            Ok(())
        })?;
        Ok(live)
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
