//! [`LogStream`]: the records of a log file read in chunks, in bounded
//! memory however large the file and however large a batch group, with the
//! same verdicts as a [`LogReader`] over the whole file.
//!
//! # What it yields
//!
//! [`StreamEntry::Single`] for a lone record; for a batch group,
//! [`StreamEntry::GroupBegin`], then its members one at a time
//! ([`StreamEntry::Member`]), then [`StreamEntry::GroupEnd`].
//!
//! **A group is all or nothing.** `GroupBegin` is yielded only once the
//! whole group has been validated: every member read, its checksum, kind
//! and sequence number checked, the member count reached. So a torn group
//! at the tail, or a group with a damaged member, yields no `GroupBegin` and
//! no member at all: it ends the stream as a torn tail, or as
//! `Err(Corruption)`, exactly as [`LogReader`] judges it. After a
//! `GroupBegin` the stream yields exactly its `members` members and then
//! `GroupEnd`, unless an I/O error intervenes: the only `Err` possible
//! inside a group is `Error::Io` (a failed read, or the bytes changed
//! between the two passes, `InvalidData`), never `Corruption`. A consumer
//! that gives up on an I/O error may apply members as they come; one that
//! carries on after an error applies what it staged only at `GroupEnd`.
//!
//! # Memory and I/O: why two passes
//!
//! The alternative, yielding members provisionally and a verdict at the
//! end, reads every byte once, but makes every consumer stage a group it
//! cannot yet apply (up to [`MAX_GROUP_BYTES`], 88 MiB, if it stages
//! values), and a consumer that applies early and forgets the verdict
//! breaks atomicity. Validating first keeps the guarantee in one place:
//!
//! - a group that fits in one window (at most [`MAX_RECORD_BYTES`], the
//!   window a lone record may need anyway, 16 MiB) stays in the window
//!   while it is checked and is yielded from it: read once;
//! - a larger group (only batches of more than 16 MiB) is checked with
//!   its bytes let go as the check moves on, then read a second time to
//!   yield its members: twice its bytes of I/O, for at most
//!   [`MAX_RECORD_BYTES`] of memory instead of the group's size. Members'
//!   checksums are computed in both passes (the second catches a file
//!   changed in between).
//!
//! The window (the entry being read and the read-ahead after it; reads are
//! at least [`STREAM_CHUNK_BYTES`], 1 MiB) therefore never holds more than
//! `max(MAX_RECORD_BYTES, STREAM_CHUNK_BYTES)`. When damage needs the rest
//! of the log to be judged (is there a valid record after it? the highest
//! durable frontier after it?), the rest is read in chunks too: one chunk
//! plus, for a candidate record that runs past the chunk, that record. At
//! most [`STREAM_MEMORY_BYTES`] = `2 × MAX_RECORD_BYTES +
//! STREAM_CHUNK_BYTES` is held at once; [`LogStream::peak_window_bytes`]
//! reports what a stream held.
//!
//! # Verdicts
//!
//! Each record is decided by a [`LogReader`] over the window, which answers
//! the questions about the bytes past the window through the file: torn
//! tail, corruption, the members of a group and the durable frontier rule
//! are the reader's own code, so a stream and a reader over the whole file
//! in memory agree.

use std::io;
use std::path::{Path, PathBuf};

use super::file_rest::{grow_exact, FileRest};
use super::log_reader::{Damage, Group, Judged, Located, LogReader, Tail};
use super::record::{decode_header, record_of_accepted, EngineKinds, RecordKind, HEADER_BYTES};
use super::MAX_RECORD_BYTES;
use crate::error::{Error, Result};
use crate::fs::File;
use crate::limits::{MAX_BATCH_BYTES, MAX_BATCH_OPS};

/// The smallest read the stream makes (1 MiB).
pub const STREAM_CHUNK_BYTES: usize = 1 << 20;

/// The largest batch group a writer produces: its members' keys and values
/// (at most `MAX_BATCH_BYTES`), their headers and the `BatchBegin`. The
/// stream needs no such bound (it holds one member at a time).
pub const MAX_GROUP_BYTES: usize = MAX_BATCH_BYTES + (MAX_BATCH_OPS + 1) * HEADER_BYTES;

/// The most a [`LogStream`] with the default chunk holds at once: a window
/// of at most one maximal record, and, while damage is judged, a chunk and
/// one candidate record of the rest of the file.
pub const STREAM_MEMORY_BYTES: usize = 2 * MAX_RECORD_BYTES + STREAM_CHUNK_BYTES;

/// One thing a [`LogStream`] yields (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEntry<'a> {
    /// A `Put`, `Delete` or declared engine record outside any batch.
    Single(Located<'a>),
    /// A batch group, already validated whole: exactly `members`
    /// [`StreamEntry::Member`]s follow, then [`StreamEntry::GroupEnd`].
    GroupBegin {
        /// File offset of the `BatchBegin` record.
        offset: u64,
        /// Number of members.
        members: u32,
    },
    /// The next member of the group begun last.
    Member(Located<'a>),
    /// The group begun at `offset` is complete; `end` is the file offset
    /// just past its last member.
    GroupEnd {
        /// File offset of the `BatchBegin` record.
        offset: u64,
        /// File offset just past the group.
        end: u64,
    },
}

/// What to yield, as offsets (the borrow of the window is made last).
#[derive(Debug, Clone, Copy)]
enum Out {
    Single { at: u64, len: usize },
    GroupBegin(Group),
    Member { at: u64, len: usize },
    GroupEnd { offset: u64, end: u64 },
}

/// Where the stream stands.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Between entries, at `LogStream::next`.
    Entries,
    /// Yielding the members of a validated group: the next one is at `at`.
    Members { group: Group, at: u64, yielded: u32 },
}

/// Streams the entries of `file[start..end)`: see the module docs.
#[derive(Debug)]
pub struct LogStream<'f> {
    path: PathBuf,
    rest: FileRest<'f>,
    /// File bytes from `buf_off` on.
    buf: Vec<u8>,
    buf_off: u64,
    /// File offset of the next entry: the end of the last complete one.
    next: u64,
    phase: Phase,
    tail: Tail,
    frontier: u64,
    frontier_rule: bool,
    dropped_after_damage: bool,
    /// A group whose bytes fit in this many stays in the window.
    keep_group_bytes: usize,
    peak: usize,
    engine_kinds: EngineKinds,
}

impl<'f> LogStream<'f> {
    /// A stream over bytes `start..end` of `file` (named `path` in errors).
    pub fn new(path: &Path, file: &'f dyn File, start: u64, end: u64) -> Self {
        Self {
            path: path.to_path_buf(),
            rest: FileRest::new(file, end),
            buf: Vec::new(),
            buf_off: start,
            next: start,
            phase: Phase::Entries,
            tail: Tail::Pending,
            frontier: 0,
            frontier_rule: false,
            dropped_after_damage: false,
            keep_group_bytes: MAX_RECORD_BYTES,
            peak: 0,
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

    /// Reads `bytes` at a time instead of [`STREAM_CHUNK_BYTES`], and keeps
    /// a group in the window only while it spans at most `keep_group`
    /// bytes instead of [`MAX_RECORD_BYTES`] (tests exercise both paths and
    /// the window bound with small logs).
    #[cfg(test)]
    pub(crate) fn with_limits(mut self, bytes: usize, keep_group: usize) -> Self {
        self.rest.chunk = bytes.max(1);
        self.keep_group_bytes = keep_group;
        self
    }

    /// File offset just past the last complete entry read so far (a group
    /// counts once its `GroupEnd` was yielded).
    pub fn valid_end(&self) -> u64 {
        self.next
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

    /// The most bytes the stream held at once: its window's capacity, plus
    /// the buffers of a damage search while one ran. At most
    /// [`STREAM_MEMORY_BYTES`] with the default chunk.
    pub fn peak_window_bytes(&self) -> usize {
        self.peak
    }

    /// Goes on reading at file offset `offset` (salvage resumes after
    /// damage); the frontier read so far is kept.
    pub fn resume_at(&mut self, offset: u64) {
        self.next = offset;
        self.phase = Phase::Entries;
        self.tail = Tail::Pending;
    }

    /// The next entry, `None` at the end (see [`Self::tail`]). After an
    /// `Err` the stream yields nothing more until [`Self::resume_at`].
    ///
    /// # Errors
    /// `Corruption` as [`LogReader`] decides it (never after a
    /// `GroupBegin`); I/O failures, and `Io(InvalidData)` if a group's bytes
    /// changed between its check and its members' reading.
    pub fn next_entry(&mut self) -> Option<Result<StreamEntry<'_>>> {
        if self.tail != Tail::Pending {
            return None;
        }
        let step = match self.phase {
            Phase::Entries => self.entry_step(),
            Phase::Members { group, at, yielded } => self.member_step(group, at, yielded),
        };
        let out = match step.and_then(|out| self.holds(out)) {
            Ok(Some(out)) => out,
            Ok(None) => return None,
            Err(e) => {
                self.tail = Tail::Clean;
                self.phase = Phase::Entries;
                return Some(Err(e));
            }
        };
        Some(self.entry(out))
    }

    /// Checks that the window holds the record `out` yields (it always
    /// does: the reader just accepted it there).
    fn holds(&self, out: Option<Out>) -> Result<Option<Out>> {
        if let Some(Out::Single { at, len } | Out::Member { at, len }) = out {
            self.located(at, len)?;
        }
        Ok(out)
    }

    /// Reads up to the next entry, consuming frontier records; `None` at
    /// the end (the tail is set).
    fn entry_step(&mut self) -> Result<Option<Out>> {
        loop {
            let at = self.next;
            if at >= self.rest.end {
                self.tail = Tail::Clean;
                return Ok(None);
            }
            self.ensure_record(at, at)?;
            let decoded = self
                .reader_at(at)
                .decode_at(0)
                .map(|(r, len)| (r.kind, r.seq, r.batch_len, len));
            match decoded {
                Ok((RecordKind::Frontier, value, _, len)) => {
                    self.frontier = self.frontier.max(value);
                    self.next += len as u64;
                }
                Ok((RecordKind::BatchBegin, first_seq, count, len)) => {
                    let group = Group {
                        offset: at,
                        first_seq,
                        count,
                    };
                    return self.check_group(group, len);
                }
                Ok((_, _, _, len)) => {
                    self.next += len as u64;
                    return Ok(Some(Out::Single { at, len }));
                }
                Err(d) => return self.damaged(at, d).map(|()| None),
            }
        }
    }

    /// Checks every member of `group` (its `BatchBegin` is `begin_len`
    /// bytes) without yielding any; on success the members are yielded
    /// next, from the group's first member on.
    fn check_group(&mut self, group: Group, begin_len: usize) -> Result<Option<Out>> {
        let first = group.offset + begin_len as u64;
        let mut at = first;
        for i in 0..group.count {
            self.ensure_record(group.offset, at)?;
            let checked = self
                .reader_at(at)
                .member_at(0, group, i)
                .map(|(_, len)| len);
            match checked {
                Ok(len) => at += len as u64,
                Err(d) => return self.damaged(at, d).map(|()| None),
            }
        }
        self.phase = Phase::Members {
            group,
            at: first,
            yielded: 0,
        };
        Ok(Some(Out::GroupBegin(group)))
    }

    /// The next member of a validated group (read again if the window let
    /// it go), or the group's end.
    fn member_step(&mut self, group: Group, at: u64, yielded: u32) -> Result<Option<Out>> {
        if yielded == group.count {
            self.phase = Phase::Entries;
            self.next = at;
            return Ok(Some(Out::GroupEnd {
                offset: group.offset,
                end: at,
            }));
        }
        self.ensure_record(group.offset, at)?;
        let checked = self.reader_at(at).member_at(0, group, yielded);
        let len = match checked {
            Ok((_, len)) => len,
            Err(d) => return Err(changed(&self.path, group, at, &d)),
        };
        self.phase = Phase::Members {
            group,
            at: at + len as u64,
            yielded: yielded + 1,
        };
        Ok(Some(Out::Member { at, len }))
    }

    /// Judges damage `d` found at file offset `at`: `Err(Corruption)`, or
    /// a torn tail from the entry being read (a lone record's or a group's
    /// start) to the end.
    fn damaged(&mut self, at: u64, d: Damage) -> Result<()> {
        let judged = self.reader_at(at).judge(0, d.kind, d.search_from);
        let searched = self.rest.take_peak_bytes();
        self.peak = self.peak.max(self.buf.capacity() + searched);
        match judged? {
            Judged::Corrupt(e) => Err(e),
            Judged::Torn { valid_after } => {
                self.dropped_after_damage = valid_after;
                self.tail = Tail::Torn {
                    offset: self.next,
                    bytes: self.rest.end - self.next,
                };
                Ok(())
            }
        }
    }

    /// A reader over the window from file offset `at` (which it holds).
    fn reader_at(&self, at: u64) -> LogReader<'_> {
        let mut reader = LogReader::new(&self.path, self.window_from(at), at)
            .windowed(&self.rest, self.frontier)
            .accept_engine_kinds(self.engine_kinds);
        if self.frontier_rule {
            reader = reader.with_frontier_rule();
        }
        reader
    }

    /// The window's bytes from file offset `at` on.
    fn window_from(&self, at: u64) -> &[u8] {
        let from = at
            .checked_sub(self.buf_off)
            .map_or(usize::MAX, |d| d as usize);
        self.buf.get(from..).unwrap_or_default()
    }

    /// The entry `out` stands for, borrowed from the window.
    fn entry(&self, out: Out) -> Result<StreamEntry<'_>> {
        Ok(match out {
            Out::Single { at, len } => StreamEntry::Single(self.located(at, len)?),
            Out::Member { at, len } => StreamEntry::Member(self.located(at, len)?),
            Out::GroupBegin(group) => StreamEntry::GroupBegin {
                offset: group.offset,
                members: group.count,
            },
            Out::GroupEnd { offset, end } => StreamEntry::GroupEnd { offset, end },
        })
    }

    /// The record of `len` bytes at `at`, which the window holds and the
    /// reader accepted.
    fn located(&self, at: u64, len: usize) -> Result<Located<'_>> {
        let bytes = self.window_from(at).get(..len).unwrap_or_default();
        let record = record_of_accepted(bytes).ok_or_else(|| {
            io::Error::other(format!(
                "{}: the stream's window lost the record at offset {at}",
                self.path.display()
            ))
        })?;
        Ok(Located {
            offset: at,
            len: len as u32,
            record,
            bytes,
        })
    }

    fn window_end(&self) -> u64 {
        self.buf_off + self.buf.len() as u64
    }

    /// Makes the window hold the whole record at `at` as far as its header
    /// tells (or up to the end), keeping bytes from `keep` on if they fit.
    fn ensure_record(&mut self, keep: u64, at: u64) -> io::Result<()> {
        self.ensure(keep, at, HEADER_BYTES)?;
        let need = match decode_header(self.window_from(at)) {
            Some(Ok(header)) => header.encoded_len,
            _ => HEADER_BYTES,
        };
        self.ensure(keep, at, need)
    }

    /// Makes the window hold file bytes `at..at + need` (fewer at the end),
    /// reading at least a chunk. Bytes from `keep` (at most `at`) on stay
    /// in the window as long as it then spans at most `keep_group_bytes`;
    /// else the window starts at `at`, so it never exceeds
    /// `max(need, chunk, keep_group_bytes)`.
    fn ensure(&mut self, keep: u64, at: u64, need: usize) -> io::Result<()> {
        let end = self.rest.end;
        let want_end = at.saturating_add(need as u64).min(end);
        if at >= self.buf_off && want_end <= self.window_end() {
            return Ok(());
        }
        let read_end = want_end.max(at.saturating_add(self.rest.chunk as u64).min(end));
        let keeps =
            keep >= self.buf_off && keep <= at && read_end - keep <= self.keep_group_bytes as u64;
        let start = if keeps { keep } else { at };
        if start >= self.buf_off && start <= self.window_end() {
            self.buf.drain(..(start - self.buf_off) as usize);
        } else {
            self.buf.clear();
        }
        self.buf_off = start;
        let old = self.buf.len();
        grow_exact(&mut self.buf, (read_end - start) as usize);
        self.peak = self.peak.max(self.buf.capacity());
        let fresh = self.buf.get_mut(old..).unwrap_or_default();
        self.rest.file.read_exact_at(fresh, start + old as u64)
    }
}

/// The error for a group member that no longer checks when it is read to be
/// yielded, after the whole group checked: the file changed in between.
fn changed(path: &Path, group: Group, at: u64, d: &Damage) -> Error {
    Error::Io(io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "{}: the batch group at offset {} changed while it was read (member at offset {at}: {:?})",
            path.display(),
            group.offset,
            d.kind
        ),
    ))
}

#[cfg(test)]
#[path = "log_stream_tests.rs"]
mod tests;
