//! The write-ahead log: one file per memtable, in the shared record format
//! (`docs/format-record.md`) after a 16-byte file header.
//!
//! ```text
//! | file header: magic "KVLSMWAL" (8) | version (4) | crc32 (4) |
//! | record | record | BatchBegin(n) | record x n | ...
//! ```
//!
//! Every use of the shared codec by the WAL is in this file, so moving the
//! WAL to a newer record format touches nothing else.
//!
//! # Format versions
//! - Version 2 (written now) uses record format v2: the WAL carries durable
//!   frontier records (`kv_core::codec::frontier`). Each flush group (the
//!   bytes of one `append`) starts with a frontier record when the synced
//!   length has advanced (the first time, then every 4 KiB), and a WAL that
//!   is retired (rotation) or closed cleanly ends with a frontier covering
//!   all of it ([`Wal::seal`]). Replay applies the frontier rule: damage at
//!   or above the highest frontier, even with valid records after it, is
//!   the torn tail of a crash under reordered writeback (the never-synced
//!   records after it are dropped, so the state stays a prefix); damage
//!   below it hit synced bytes and is `Corruption`.
//! - Version 1 WALs (no frontier records) are still read, under the
//!   version-1 rule: damage followed by a valid record is `Corruption`.
//!
//! # Durability
//! Records collect in a buffer above the [`kv_core::Fs`] layer and reach the
//! file in one `append` when the buffer fills, on [`Wal::sync`], and on
//! close. A batch is one framed group: recovery applies it whole or not at
//! all. A new WAL's directory entry is synced when it is created. Under
//! group commit the leader fsyncs [`Wal::file`] without the writer lock and
//! reports the synced length with [`Wal::note_synced`] (see `crate::write`).
//!
//! # Recovery
//! [`replay`] streams the file through [`LogStream`]: bounded memory (a
//! window of about 1 MiB, at most one maximal record; a batch group is
//! read one member at a time), the same verdicts as a `LogReader` over the
//! whole file. A group's records are staged and handed to `apply` only at
//! the group's end, so a replay that stops inside a group (an I/O error,
//! which a `Verify` open records and survives) applies none of it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kv_core::codec::{
    decode_file_header, encode_batch, encode_delete, encode_engine_record, encode_file_header,
    encode_put, next_valid_record, EngineKind, EngineKinds, FrontierTracker, LogStream, RecordKind,
    RecordRef, StreamEntry, Tail, FILE_HEADER_BYTES,
};
use kv_core::{Error, File, Fs, Result, WriteBatch};

/// Magic of a WAL file header ("KVLSMWAL").
pub const WAL_MAGIC: u64 = u64::from_le_bytes(*b"KVLSMWAL");
/// WAL format version written (the record format version it uses; 2: with
/// durable frontier records).
pub const WAL_VERSION: u32 = 2;
/// The first WAL version with durable frontier records.
pub const WAL_FRONTIER_VERSION: u32 = 2;
/// Buffered bytes that trigger an `append` to the file.
pub const WAL_BUFFER_BYTES: usize = 64 << 10;

/// An open WAL being appended to.
#[derive(Debug)]
pub struct Wal {
    file: Arc<dyn File>,
    number: u64,
    buffer: Vec<u8>,
    bytes: u64,
    frontier: FrontierTracker,
    /// Nothing was written since the last [`Wal::seal`].
    sealed: bool,
}

impl Wal {
    /// Creates WAL `number` at `path`, writes and syncs its header and syncs
    /// the directory, so the new file cannot vanish or lose its header.
    ///
    /// # Errors
    /// I/O failures.
    pub fn create(fs: &dyn Fs, dir: &Path, path: &Path, number: u64) -> Result<Self> {
        let file = fs.create(path)?;
        let header = encode_file_header(WAL_MAGIC, WAL_VERSION);
        file.append(&header)?;
        file.sync()?;
        fs.sync_dir(dir)?;
        Ok(Self {
            file,
            number,
            buffer: Vec::with_capacity(WAL_BUFFER_BYTES),
            bytes: FILE_HEADER_BYTES as u64,
            frontier: FrontierTracker::new(FILE_HEADER_BYTES as u64),
            sealed: false,
        })
    }

    /// The WAL's file number.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// Bytes in the WAL, buffered ones included.
    pub fn bytes(&self) -> u64 {
        self.bytes + self.buffer.len() as u64
    }

    /// Buffers a put.
    pub fn put(&mut self, seq: u64, key: &[u8], value: &[u8]) {
        self.start_group();
        encode_put(&mut self.buffer, seq, key, value);
    }

    /// Buffers a delete.
    pub fn delete(&mut self, seq: u64, key: &[u8]) {
        self.start_group();
        encode_delete(&mut self.buffer, seq, key);
    }

    /// Buffers a batch as one framed group with sequence numbers
    /// `first_seq..first_seq + batch.len()`.
    pub fn batch(&mut self, first_seq: u64, batch: &WriteBatch) {
        self.start_group();
        encode_batch(&mut self.buffer, first_seq, batch);
    }

    /// Buffers an engine-private record (the range tombstone of
    /// `src/range_del_log.rs`).
    pub fn engine_record(&mut self, kind: EngineKind, seq: u64, key: &[u8], value: &[u8]) {
        self.start_group();
        encode_engine_record(&mut self.buffer, kind, seq, key, value);
    }

    /// At the start of a flush group (empty buffer): records the durable
    /// frontier if one is due.
    fn start_group(&mut self) {
        self.sealed = false;
        if self.buffer.is_empty() {
            self.frontier.emit_if_due(&mut self.buffer);
        }
    }

    /// The WAL length known to be durable.
    pub fn synced_len(&self) -> u64 {
        self.frontier.synced_len()
    }

    /// Appends the buffer to the file if it holds at least `threshold` bytes.
    ///
    /// # Errors
    /// I/O failures (the caller poisons the store).
    pub fn write_out(&mut self, threshold: usize) -> Result<()> {
        if self.buffer.is_empty() || self.buffer.len() < threshold {
            return Ok(());
        }
        self.file.append(&self.buffer)?;
        self.bytes += self.buffer.len() as u64;
        self.buffer.clear();
        Ok(())
    }

    /// The WAL's file, for a group-commit leader that fsyncs it without the
    /// writer lock held (see `crate::write`).
    pub fn file(&self) -> Arc<dyn File> {
        Arc::clone(&self.file)
    }

    /// Bytes handed to the file system so far (the buffer excluded).
    pub fn written_len(&self) -> u64 {
        self.bytes
    }

    /// Records that a sync run outside the writer lock made the first `len`
    /// bytes durable (they had been handed to the file before it started).
    pub fn note_synced(&mut self, len: u64) {
        self.frontier.synced(len);
    }

    /// Appends everything buffered and syncs the file.
    ///
    /// # Errors
    /// I/O failures (the caller poisons the store).
    pub fn sync(&mut self) -> Result<()> {
        self.write_out(0)?;
        self.file.sync()?;
        self.frontier.synced(self.bytes);
        Ok(())
    }

    /// Syncs the WAL, then appends a frontier record covering all of it and
    /// syncs again, so damage to any of its records is later `Corruption`,
    /// not a torn tail. Used when the WAL is retired (rotation) or the store
    /// closes; costs a 23-byte record and a sync, nothing if the last
    /// frontier is already current.
    ///
    /// # Errors
    /// I/O failures (the caller poisons the store).
    pub fn seal(&mut self) -> Result<()> {
        if self.sealed {
            return Ok(());
        }
        self.sync()?;
        if self.frontier.emit_if_current(&mut self.buffer) {
            self.sync()?;
        }
        self.sealed = true;
        Ok(())
    }
}

/// Receives every replayed record: (seq, key, value or `None` for a delete).
pub type ApplyFn<'a> = dyn FnMut(u64, &[u8], Option<&[u8]>) + 'a;

/// What replaying a WAL found.
#[derive(Debug, Default)]
pub struct Replayed {
    /// Largest sequence number applied.
    pub max_seq: u64,
    /// Records applied.
    pub records: u64,
    /// Bytes of torn tail after the last complete entry.
    pub torn_bytes: u64,
    /// Damage with valid data after it (replay stopped there).
    pub damage: Option<Error>,
}

/// Replays the WAL at `path`, calling `apply(seq, key, value)` for every
/// record of every complete entry (`value` `None` for a delete), in log
/// order. A torn tail ends the replay cleanly; damage before valid data
/// stops it and is returned in [`Replayed::damage`].
///
/// The log is streamed through [`LogStream`]: memory for reading it is one
/// window (about 1 MiB of read-ahead, at most one maximal record; a batch
/// group is read one member at a time), however long the WAL, plus the
/// records of one batch group, staged until the group's end so that `apply`
/// sees a group whole or not at all. Only the bytes present when the
/// replay starts are read.
///
/// # Errors
/// I/O failures; a damaged file header is returned as `damage`.
pub fn replay(fs: &dyn Fs, path: &Path, apply: &mut ApplyFn<'_>) -> Result<Replayed> {
    replay_with(fs, path, apply, &mut |_, _| {})
}

/// Receives every replayed range tombstone record: (seq, value).
pub type RangeDelFn<'a> = dyn FnMut(u64, &[u8]) + 'a;

/// As [`replay`], and calls `range_del(seq, value)` for every range
/// tombstone record ([`crate::range_del_log::RANGE_DEL_KIND`]).
///
/// # Errors
/// As [`replay`].
pub fn replay_with(
    fs: &dyn Fs,
    path: &Path,
    apply: &mut ApplyFn<'_>,
    range_del: &mut RangeDelFn<'_>,
) -> Result<Replayed> {
    let file = fs.open_read(path)?;
    let len = file.len()?;
    let mut out = Replayed::default();
    let mut header = vec![0u8; (len.min(FILE_HEADER_BYTES as u64)) as usize];
    file.read_exact_at(&mut header, 0)?;
    let version = match decode_file_header(&header, path, WAL_MAGIC, WAL_VERSION) {
        Ok(Some(header)) => header.version,
        Ok(None) => {
            out.torn_bytes = len;
            return Ok(out);
        }
        Err(e) => {
            // The header is synced before any record is written, so a bad
            // header with no valid record after it is a torn creation (a
            // crash while creating the file), not damage.
            if next_valid_record(&*file, FILE_HEADER_BYTES as u64, len)?.is_some() {
                out.damage = Some(e);
            } else {
                out.torn_bytes = len;
            }
            return Ok(out);
        }
    };
    let mut stream = LogStream::new(path, &*file, FILE_HEADER_BYTES as u64, len)
        .accept_engine_kinds(EngineKinds::of(&[crate::range_del_log::RANGE_DEL_KIND]));
    if version >= WAL_FRONTIER_VERSION {
        stream = stream.with_frontier_rule();
    }
    let mut apply_one = |out: &mut Replayed, r: &RecordRef<'_>| {
        if let RecordKind::Engine(_) = r.kind {
            range_del(r.seq, r.value);
        } else {
            let value = (r.kind == RecordKind::Put).then_some(r.value);
            apply(r.seq, r.key, value);
        }
        out.max_seq = out.max_seq.max(r.seq);
        out.records += 1;
    };
    let mut group = GroupStage::default();
    while let Some(entry) = stream.next_entry() {
        match entry {
            Ok(StreamEntry::Single(one)) => apply_one(&mut out, &one.record),
            Ok(StreamEntry::GroupBegin { .. }) => group.clear(),
            Ok(StreamEntry::Member(m)) => group.push(&m.record),
            Ok(StreamEntry::GroupEnd { .. }) => {
                group.each(|r| apply_one(&mut out, r));
                group.clear();
            }
            Err(e) => {
                // A group staged but not ended is dropped with the rest.
                out.damage = Some(e);
                return Ok(out);
            }
        }
    }
    if let Tail::Torn { bytes, .. } = stream.tail() {
        out.torn_bytes = bytes;
    }
    Ok(out)
}

/// The records of a batch group, staged until its end: keys and values
/// back to back in one buffer.
#[derive(Debug, Default)]
struct GroupStage {
    bytes: Vec<u8>,
    /// (kind, seq, key end, value end) per record, ends in `bytes`.
    records: Vec<(RecordKind, u64, usize, usize)>,
}

/// A stage grown past this by a huge group is given back after it.
const MAX_RETAINED_STAGE_BYTES: usize = 4 << 20;

impl GroupStage {
    fn push(&mut self, r: &RecordRef<'_>) {
        self.bytes.extend_from_slice(r.key);
        let key_end = self.bytes.len();
        self.bytes.extend_from_slice(r.value);
        self.records
            .push((r.kind, r.seq, key_end, self.bytes.len()));
    }

    /// Calls `f` with every staged record, in order.
    fn each(&self, mut f: impl FnMut(&RecordRef<'_>)) {
        let mut start = 0;
        for &(kind, seq, key_end, value_end) in &self.records {
            f(&RecordRef {
                kind,
                seq,
                key: self.bytes.get(start..key_end).unwrap_or_default(),
                value: self.bytes.get(key_end..value_end).unwrap_or_default(),
                batch_len: 0,
            });
            start = value_end;
        }
    }

    fn clear(&mut self) {
        if self.bytes.capacity() > MAX_RETAINED_STAGE_BYTES {
            *self = Self::default();
        }
        self.bytes.clear();
        self.records.clear();
    }
}

/// The path of WAL `number` in `dir`.
pub fn wal_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(crate::files::file_name(crate::files::FileKind::Wal, number))
}
