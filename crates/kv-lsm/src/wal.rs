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
//! [`replay`] streams the file through [`LogStream`]: bounded memory (one
//! window of about 1 MiB plus one entry), the same verdicts as a
//! `LogReader` over the whole file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kv_core::codec::{
    decode_file_header, encode_batch, encode_delete, encode_engine_record, encode_file_header,
    encode_put, next_valid_record, EngineKind, EngineKinds, FrontierTracker, LogEntry, LogStream,
    RecordKind, RecordRef, Tail, FILE_HEADER_BYTES,
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
/// window (about 1 MiB of read-ahead plus the entry being applied, a batch
/// group whole), however long the WAL. Only the bytes present when the
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
    while let Some(entry) = stream.next_entry() {
        match entry {
            Ok(LogEntry::Single(one)) => apply_one(&mut out, &one.record),
            Ok(LogEntry::Batch { members, .. }) => {
                for m in &members {
                    apply_one(&mut out, &m.record);
                }
            }
            Err(e) => {
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

/// The path of WAL `number` in `dir`.
pub fn wal_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(crate::files::file_name(crate::files::FileKind::Wal, number))
}
