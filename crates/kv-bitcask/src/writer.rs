//! [`Writer`]: what the writer lock guards: the active data file, its
//! append buffer, sequence numbers, the durable frontier, preallocation
//! and the poison flag; [`WriteOp`], one write request, and how it is
//! encoded. The write path that drives it (locking, group commit,
//! publication, rollover) is [`crate::log`].
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

use std::io;
use std::sync::Arc;
use std::time::Instant;

use kv_core::codec::{
    encode_batch, encode_delete, encode_put, encoded_len, FrontierTracker, HEADER_BYTES,
};
use kv_core::{BatchOp, Error, Poison, Result, WriteBatch};

use crate::data_file::{data_file_header, DataFile};
use crate::entry_list::EntryList;
use crate::keydir::Entry;
use crate::ttl::{EXPIRY_PREFIX_BYTES, MAX_SEQUENCE, TTL_SEQ_FLAG};

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
    /// Bytes the encoded request takes in the file.
    pub fn encoded_bytes(&self) -> u64 {
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

    /// Sequence numbers the request takes.
    pub fn sequence_numbers(&self) -> u64 {
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
    /// this handle sealed, summed (see `crate::log` on group commit).
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

    /// Takes `n` consecutive sequence numbers; returns the first.
    ///
    /// # Errors
    /// `InvalidArgument` once they are used up.
    pub fn take_sequence_numbers(&mut self, n: u64) -> Result<u64> {
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
    pub fn encode(&mut self, op: WriteOp<'_>, first_seq: u64) {
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
    pub fn start_file(&mut self, active: Arc<DataFile>) {
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
