//! [`LogStream`]: the records of a log file read in chunks, with bounded
//! memory, and the same verdicts as [`LogReader`].
//!
//! # Memory
//!
//! The stream keeps one window of the file: the entry it is about to yield
//! and the read-ahead after it. Reads are at least [`STREAM_CHUNK_BYTES`]
//! (1 MiB) and grow only as far as one entry needs: a lone record is at most
//! [`MAX_RECORD_BYTES`](super::MAX_RECORD_BYTES), so the window stays under `MAX_RECORD_BYTES +
//! STREAM_CHUNK_BYTES` for logs of lone records, however large the file. A
//! batch group is yielded whole, so its window is the group's size (at most
//! [`MAX_GROUP_BYTES`]).
//!
//! When damage needs the rest of the log to be judged (is there a valid
//! record after it? the highest durable frontier after it?), the rest is
//! read in chunks too: one chunk plus, for a candidate record that runs past
//! the chunk, that one record.
//!
//! # Verdicts
//!
//! Each entry is decided by a [`LogReader`] over the window, which answers
//! the questions about the bytes past the window through the file: torn
//! tail, corruption and the durable frontier rule are the reader's own code,
//! so a stream and a reader over the whole file in memory agree.

use std::io;
use std::path::{Path, PathBuf};

use super::log_reader::{LogEntry, LogReader, Rest, Tail};
use super::record::{decode_header, decode_record, Decoded, EngineKinds, RecordKind, HEADER_BYTES};
use crate::error::{CorruptionKind, Error, Result};
use crate::fs::File;
use crate::limits::{MAX_BATCH_BYTES, MAX_BATCH_OPS};

/// The smallest read the stream makes (1 MiB).
pub const STREAM_CHUNK_BYTES: usize = 1 << 20;

/// The largest batch group a stream accepts: its members' keys and values
/// (at most `MAX_BATCH_BYTES`), their headers and the `BatchBegin`. A group
/// whose headers claim more is `Corruption` (no writer produces one).
pub const MAX_GROUP_BYTES: usize = MAX_BATCH_BYTES + (MAX_BATCH_OPS + 1) * HEADER_BYTES;

/// Reads bytes `[from, end)` of a log file to answer [`Rest`] questions.
#[derive(Debug, Clone, Copy)]
struct FileRest<'f> {
    file: &'f dyn File,
    end: u64,
    /// Bytes per read (`STREAM_CHUNK_BYTES`; smaller in tests).
    chunk: usize,
}

impl FileRest<'_> {
    /// Calls `found` with each valid record starting at `from` or after, in
    /// file order, until it returns true; returns true if it did.
    fn each_valid(
        &self,
        from: u64,
        mut found: impl FnMut(u64, &Decoded<'_>) -> bool,
    ) -> io::Result<bool> {
        let (mut chunk, mut scratch) = (Vec::new(), Vec::new());
        let mut start = from;
        while start < self.end {
            let len = (self.end - start).min((self.chunk + HEADER_BYTES) as u64) as usize;
            chunk.resize(len, 0);
            self.file.read_exact_at(&mut chunk, start)?;
            let starts = len.min(self.chunk);
            for i in 0..starts {
                let Some(Ok(header)) = decode_header(&chunk[i..]) else {
                    continue;
                };
                let at = start + i as u64;
                if at + header.encoded_len as u64 > self.end {
                    continue;
                }
                let bytes = match chunk.get(i..i + header.encoded_len) {
                    Some(bytes) => bytes,
                    None => {
                        scratch.resize(header.encoded_len, 0);
                        self.file.read_exact_at(&mut scratch, at)?;
                        &scratch[..]
                    }
                };
                let decoded = decode_record(bytes);
                if matches!(decoded, Decoded::Record { .. }) && found(at, &decoded) {
                    return Ok(true);
                }
            }
            start += starts as u64;
        }
        Ok(false)
    }
}

impl Rest for FileRest<'_> {
    fn valid_record_from(&self, offset: u64) -> Result<bool> {
        Ok(self.each_valid(offset, |_, _| true)?)
    }

    fn highest_frontier_from(&self, offset: u64) -> Result<u64> {
        let mut highest = 0;
        self.each_valid(offset, |_, d| {
            if let Decoded::Record { record, .. } = d {
                if record.kind == RecordKind::Frontier {
                    highest = highest.max(record.seq);
                }
            }
            false
        })?;
        Ok(highest)
    }
}

/// The first file offset at or after `from` of `file[from..end)` where a
/// valid record starts, read in chunks (salvage resumes there).
///
/// # Errors
/// I/O failures.
pub fn next_valid_record(file: &dyn File, from: u64, end: u64) -> Result<Option<u64>> {
    let mut found = None;
    FileRest {
        file,
        end,
        chunk: STREAM_CHUNK_BYTES,
    }
    .each_valid(from, |at, _| {
        found = Some(at);
        true
    })?;
    Ok(found)
}

/// The highest durable frontier held by a valid `Frontier` record starting
/// anywhere in `file[from..end)` (0 if none), read in chunks: the streaming
/// form of [`super::highest_frontier_in`].
///
/// # Errors
/// I/O failures.
pub fn highest_frontier_in_file(file: &dyn File, from: u64, end: u64) -> Result<u64> {
    FileRest {
        file,
        end,
        chunk: STREAM_CHUNK_BYTES,
    }
    .highest_frontier_from(from)
}

/// Streams the entries of `file[start..end)`: see the module docs.
#[derive(Debug)]
pub struct LogStream<'f> {
    path: PathBuf,
    rest: FileRest<'f>,
    /// File bytes from `buf_off` on.
    buf: Vec<u8>,
    buf_off: u64,
    /// Index in `buf` of the next entry.
    pos: usize,
    tail: Tail,
    frontier: u64,
    frontier_rule: bool,
    dropped_after_damage: bool,
    largest_window: usize,
    engine_kinds: EngineKinds,
}

impl<'f> LogStream<'f> {
    /// A stream over bytes `start..end` of `file` (named `path` in errors).
    pub fn new(path: &Path, file: &'f dyn File, start: u64, end: u64) -> Self {
        Self {
            path: path.to_path_buf(),
            rest: FileRest {
                file,
                end,
                chunk: STREAM_CHUNK_BYTES,
            },
            buf: Vec::new(),
            buf_off: start,
            pos: 0,
            tail: Tail::Pending,
            frontier: 0,
            frontier_rule: false,
            dropped_after_damage: false,
            largest_window: 0,
            engine_kinds: EngineKinds::NONE,
        }
    }

    /// Yields the engine-private `kinds`, as [`LogReader::accept_engine_kinds`].
    pub fn accept_engine_kinds(mut self, kinds: EngineKinds) -> Self {
        self.engine_kinds = kinds;
        self
    }

    /// Applies the durable frontier rule, as [`LogReader::with_frontier_rule`].
    pub fn with_frontier_rule(mut self) -> Self {
        self.frontier_rule = true;
        self
    }

    /// Reads `bytes` at a time instead of [`STREAM_CHUNK_BYTES`] (tests
    /// exercise window growth with small logs).
    #[cfg(test)]
    pub(crate) fn with_chunk_bytes(mut self, bytes: usize) -> Self {
        self.rest.chunk = bytes.max(1);
        self
    }

    /// File offset just past the last complete entry read so far.
    pub fn valid_end(&self) -> u64 {
        self.buf_off + self.pos as u64
    }

    /// How the log ended (meaningful once [`Self::next_entry`] returned
    /// `None`); a torn tail runs from `valid_end` to the end of the range.
    pub fn tail(&self) -> Tail {
        self.tail
    }

    /// Highest durable frontier read so far (0 if none).
    pub fn durable_frontier(&self) -> u64 {
        self.frontier
    }

    /// As [`LogReader::dropped_valid_records`].
    pub fn dropped_valid_records(&self) -> bool {
        self.dropped_after_damage
    }

    /// The largest window the stream held, in bytes (for tests of the bound).
    pub fn largest_window(&self) -> usize {
        self.largest_window
    }

    /// Goes on reading at file offset `offset` (salvage resumes after
    /// damage); the frontier read so far is kept.
    pub fn resume_at(&mut self, offset: u64) {
        self.buf.clear();
        self.buf_off = offset;
        self.pos = 0;
        self.tail = Tail::Pending;
    }

    /// The next entry, `None` at the end (see [`Self::tail`]). After an
    /// `Err` the stream yields nothing more until [`Self::resume_at`].
    ///
    /// # Errors
    /// `Corruption` as [`LogReader`] decides it; I/O failures.
    pub fn next_entry(&mut self) -> Option<Result<LogEntry<'_>>> {
        if let Err(e) = self.settle() {
            self.tail = Tail::Clean;
            return Some(Err(e));
        }
        if self.tail != Tail::Pending {
            return None;
        }
        let base = self.valid_end();
        let data = &self.buf[self.pos..];
        let mut reader = LogReader::new(&self.path, data, base)
            .windowed(&self.rest, self.frontier)
            .accept_engine_kinds(self.engine_kinds);
        if self.frontier_rule {
            reader = reader.with_frontier_rule();
        }
        let item = reader.next();
        let (used, tail, dropped) = (
            (reader.valid_end() - base) as usize,
            reader.tail(),
            reader.dropped_valid_records(),
        );
        self.pos += used;
        match (&item, tail) {
            (Some(Ok(_)), _) => {}
            (Some(Err(_)), _) => self.tail = Tail::Clean,
            (None, Tail::Torn { .. }) => {
                self.dropped_after_damage = dropped;
                self.tail = Tail::Torn {
                    offset: base + used as u64,
                    bytes: self.rest.end - (base + used as u64),
                };
            }
            (None, _) => self.tail = Tail::Clean,
        }
        item
    }

    /// Consumes frontier records and fills the window until it holds the
    /// whole next entry (or reaches the end); sets `tail` at the end.
    fn settle(&mut self) -> Result<()> {
        loop {
            if self.tail != Tail::Pending {
                return Ok(());
            }
            if self.valid_end() >= self.rest.end {
                self.tail = Tail::Clean;
                return Ok(());
            }
            self.fill(HEADER_BYTES)?;
            let window = &self.buf[self.pos..];
            let need = entry_extent(window);
            if need > MAX_GROUP_BYTES {
                return Err(Error::corruption(
                    &self.path,
                    self.valid_end(),
                    CorruptionKind::BadLength {
                        got: need as u64,
                        max: MAX_GROUP_BYTES as u64,
                    },
                ));
            }
            if need > window.len() && self.window_end() < self.rest.end {
                self.fill(need)?;
                continue;
            }
            match decode_record(window) {
                Decoded::Record { record, len } if record.kind == RecordKind::Frontier => {
                    self.frontier = self.frontier.max(record.seq);
                    self.pos += len;
                }
                _ => return Ok(()),
            }
        }
    }

    fn window_end(&self) -> u64 {
        self.buf_off + self.buf.len() as u64
    }

    /// Makes the window hold `need` bytes from `pos` on (or up to the end),
    /// reading at least a chunk.
    fn fill(&mut self, need: usize) -> io::Result<()> {
        if self.buf.len() - self.pos >= need || self.window_end() >= self.rest.end {
            return Ok(());
        }
        self.buf.drain(..self.pos);
        self.buf_off += self.pos as u64;
        self.pos = 0;
        let want = need.max(self.rest.chunk) as u64;
        let target = want.min(self.rest.end - self.buf_off) as usize;
        let old = self.buf.len();
        if target > old {
            self.buf.resize(target, 0);
            self.rest
                .file
                .read_exact_at(&mut self.buf[old..], self.buf_off + old as u64)?;
        }
        self.largest_window = self.largest_window.max(self.buf.len());
        Ok(())
    }
}

/// Bytes the entry at the start of `data` spans as far as its headers tell
/// (checksums unchecked): a lone record's length, or a batch group's; where
/// a header is missing, up to and including it; at a malformed header, up
/// to it (the reader judges the damage).
fn entry_extent(data: &[u8]) -> usize {
    let first = match decode_header(data) {
        None => return HEADER_BYTES,
        Some(Err(_)) => return HEADER_BYTES.min(data.len()),
        Some(Ok(h)) => h,
    };
    let mut at = first.encoded_len;
    if first.kind != RecordKind::BatchBegin {
        return at;
    }
    for _ in 0..first.batch_len {
        match data.get(at..).map(decode_header) {
            None | Some(None) => return at + HEADER_BYTES,
            Some(Some(Err(_))) => return at + HEADER_BYTES,
            Some(Some(Ok(member))) => at += member.encoded_len,
        }
        if at > MAX_GROUP_BYTES {
            return at;
        }
    }
    at
}

#[cfg(test)]
#[path = "log_stream_tests.rs"]
mod tests;
