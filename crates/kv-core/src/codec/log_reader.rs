//! [`LogReader`]: walks a log file's records, applies the batch framing, and
//! tells a torn tail from corruption.
//!
//! # Torn tail or corruption
//!
//! When the record at some offset does not decode, the reader decides:
//!
//! - **The header is well formed but the record runs past the end of the
//!   data**: a torn tail. Nothing can follow a record that extends past the
//!   end, so there is nothing to search.
//! - **The header is well formed, the record fits, but its checksum fails**:
//!   the reader looks for a valid record starting at or after the record's
//!   claimed end (not inside it: a value may itself hold a record image).
//! - **The header is malformed** (unknown kind, inconsistent lengths): the
//!   record's extent is unknown, so the reader looks for a valid record at
//!   any later byte.
//!
//! If a valid record is found, the damage is in the middle of the log:
//! `Err(Corruption { file, offset })`. If none is, it is a torn tail:
//! iteration ends, [`LogReader::tail`] reports it, and the engine truncates
//! the file at [`LogReader::valid_end`]. A batch group cut short by the end of
//! the log is part of the torn tail: the whole group is dropped.
//!
//! `Frontier` records (format version 2) are consumed, never yielded; with
//! [`LogReader::with_frontier_rule`], damage followed by valid records is a
//! torn tail when it lies at or above the highest durable frontier (see
//! [`super::frontier`]).

use std::path::Path;

use super::frontier::{highest_frontier_in, judge_damage, DamageVerdict};
use super::record::{decode_header, decode_record, Decoded, EngineKinds, RecordKind, RecordRef};
use crate::error::{CorruptionKind, Error, Result};

/// What lies after damage, when the reader's `data` is only a window of the
/// log (the streaming reader answers these by reading the file in chunks).
/// Offsets are file offsets; both questions cover the log to its end.
pub(crate) trait Rest {
    /// True if a valid record starts at `offset` or after.
    fn valid_record_from(&self, offset: u64) -> Result<bool>;
    /// The highest frontier held by a valid `Frontier` record starting at
    /// `offset` or after (0 if none).
    fn highest_frontier_from(&self, offset: u64) -> Result<u64>;
}

/// One decoded record with its place in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Located<'a> {
    /// Offset of the record in the file.
    pub offset: u64,
    /// Its encoded length.
    pub len: u32,
    /// The record.
    pub record: RecordRef<'a>,
    /// Its encoded bytes (`len` of them), as they are in the file.
    pub bytes: &'a [u8],
}

/// What the log yields: a lone record or a whole batch group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEntry<'a> {
    /// A `Put` or `Delete` outside any batch.
    Single(Located<'a>),
    /// A complete batch group: the `BatchBegin` offset and the members.
    Batch {
        /// Offset of the `BatchBegin` record.
        offset: u64,
        /// The member records, in order.
        members: Vec<Located<'a>>,
    },
}

/// How the log ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// Iteration has not reached the end yet.
    Pending,
    /// The last record ends exactly at the end of the data.
    Clean,
    /// `bytes` bytes after the last complete entry are a torn tail.
    Torn {
        /// Where the torn tail starts.
        offset: u64,
        /// How many bytes it has.
        bytes: u64,
    },
}

/// Iterates over the entries of a log held in memory.
///
/// `data` is the file's contents from `base_offset` on (after its header,
/// usually). Offsets in entries and errors are file offsets.
pub struct LogReader<'a> {
    file: &'a Path,
    /// Answers for the bytes past `data` (None: `data` runs to the log's end).
    rest: Option<&'a dyn Rest>,
    data: &'a [u8],
    base_offset: u64,
    pos: usize,
    tail: Tail,
    /// Highest frontier value read so far.
    frontier: u64,
    /// Apply the version-2 durable frontier rule to damage.
    frontier_rule: bool,
    /// The torn tail was judged by the frontier rule and held valid records.
    dropped_after_damage: bool,
    /// Engine-private kinds yielded as entries; any other is damage.
    engine_kinds: EngineKinds,
}

enum Step<'a> {
    Entry(LogEntry<'a>, usize),
    /// A `Frontier` record with its value and length: consumed, not yielded.
    Frontier(u64, usize),
    /// The entry at `at` does not decode. `search_from` is where valid data
    /// after the damage would prove corruption; `None` means nothing can
    /// follow (the record runs past the end): a torn tail.
    Damaged {
        at: usize,
        kind: CorruptionKind,
        search_from: Option<usize>,
    },
}

/// Why the record at some offset did not decode.
#[derive(Debug)]
pub(crate) struct Damage {
    /// What is wrong.
    pub kind: CorruptionKind,
    /// Where valid data would prove corruption (`None`: nothing can follow).
    pub search_from: Option<usize>,
}

impl<'a> LogReader<'a> {
    /// A reader over `data`, which starts at `base_offset` of `file`.
    pub fn new(file: &'a Path, data: &'a [u8], base_offset: u64) -> Self {
        Self {
            file,
            data,
            base_offset,
            rest: None,
            pos: 0,
            tail: Tail::Pending,
            frontier: 0,
            frontier_rule: false,
            dropped_after_damage: false,
            engine_kinds: EngineKinds::NONE,
        }
    }

    /// Yields records of the engine-private `kinds` as entries (alone or as
    /// batch members), like puts and deletes. Without it, and for a kind not
    /// in the set, an engine-private record is damage (`BadKind`): an engine
    /// never sees a kind it did not declare.
    pub fn accept_engine_kinds(mut self, kinds: EngineKinds) -> Self {
        self.engine_kinds = kinds;
        self
    }

    /// Applies the durable frontier rule of format version 2 (see
    /// [`super::frontier`]): damage followed by valid records is a torn tail,
    /// not corruption, when it lies at or above the highest frontier found in
    /// the log (valid records after the damage included). Use it for logs
    /// written with version 2 whose tail a crash may have torn; without it
    /// (version 1, or a log that was sealed whole) damage followed by a valid
    /// record is always corruption.
    pub fn with_frontier_rule(mut self) -> Self {
        self.frontier_rule = true;
        self
    }

    /// A reader over a window of the log: `data` is complete for the first
    /// entry, and `rest` answers for everything after the window;
    /// `frontier` is the highest frontier read before the window.
    pub(crate) fn windowed(mut self, rest: &'a dyn Rest, frontier: u64) -> Self {
        self.rest = Some(rest);
        self.frontier = frontier;
        self
    }

    /// Highest durable frontier read so far (0 if none).
    pub fn durable_frontier(&self) -> u64 {
        self.frontier
    }

    /// True if the torn tail was judged by the frontier rule with valid (never
    /// synced) records after the damage, which were dropped with it.
    pub fn dropped_valid_records(&self) -> bool {
        self.dropped_after_damage
    }

    /// File offset just past the last complete entry read so far: where the
    /// file should be truncated when the tail is torn.
    pub fn valid_end(&self) -> u64 {
        self.base_offset + self.pos as u64
    }

    /// How the log ended (meaningful once iteration returned `None`).
    pub fn tail(&self) -> Tail {
        self.tail
    }

    /// Decodes the record at `data[at..]`; an engine kind not declared is
    /// damage.
    pub(crate) fn decode_at(
        &self,
        at: usize,
    ) -> std::result::Result<(RecordRef<'a>, usize), Damage> {
        let data: &'a [u8] = self.data;
        match decode_record(&data[at..]) {
            Decoded::Record { record, len } => match record.kind {
                RecordKind::Engine(kind) if !self.engine_kinds.contains(kind) => Err(Damage {
                    kind: CorruptionKind::BadKind { got: kind.tag() },
                    search_from: Some(at + len),
                }),
                _ => Ok((record, len)),
            },
            Decoded::Incomplete { needed } => Err(Damage {
                kind: CorruptionKind::BadLength {
                    got: needed as u64,
                    max: (data.len() - at) as u64,
                },
                search_from: None,
            }),
            Decoded::Invalid(kind) => {
                let search_from = match kind {
                    // The header held together: skip the record's own bytes.
                    CorruptionKind::ChecksumMismatch { .. } => match decode_header(&data[at..]) {
                        Some(Ok(header)) => at + header.encoded_len,
                        _ => at + 1,
                    },
                    _ => at + 1,
                };
                Err(Damage {
                    kind,
                    search_from: Some(search_from),
                })
            }
        }
    }

    fn located(&self, at: usize, record: RecordRef<'a>, len: usize) -> Located<'a> {
        Located {
            offset: self.base_offset + at as u64,
            len: len as u32,
            record,
            bytes: self.data.get(at..at + len).unwrap_or_default(),
        }
    }

    fn step(&self) -> Step<'a> {
        let start = self.pos;
        let (first, len) = match self.decode_at(start) {
            Ok(ok) => ok,
            Err(d) => return damaged(start, d),
        };
        if first.kind == RecordKind::Frontier {
            return Step::Frontier(first.seq, len);
        }
        if first.kind != RecordKind::BatchBegin {
            return Step::Entry(LogEntry::Single(self.located(start, first, len)), len);
        }
        let mut at = start + len;
        let mut members = Vec::new();
        let group = Group {
            offset: self.base_offset + start as u64,
            first_seq: first.seq,
            count: first.batch_len,
        };
        for i in 0..first.batch_len {
            let (member, mlen) = match self.member_at(at, group, i) {
                Ok(ok) => ok,
                Err(d) => return damaged(at, d),
            };
            members.push(self.located(at, member, mlen));
            at += mlen;
        }
        Step::Entry(
            LogEntry::Batch {
                offset: group.offset,
                members,
            },
            at - start,
        )
    }

    /// Decodes member `i` of `group` at `data[at..]`: a put, delete or
    /// declared engine record with the group's next sequence number. The
    /// group's other members are not looked at, so a streaming reader
    /// checks a group one member at a time with the same code.
    pub(crate) fn member_at(
        &self,
        at: usize,
        group: Group,
        i: u32,
    ) -> std::result::Result<(RecordRef<'a>, usize), Damage> {
        if at >= self.data.len() {
            return Err(Damage {
                search_from: None,
                kind: CorruptionKind::Mismatch(format!(
                    "batch at offset {} ends after {i} of {} members",
                    group.offset, group.count
                )),
            });
        }
        let (member, mlen) = self.decode_at(at)?;
        let want = group.first_seq.wrapping_add(u64::from(i));
        if matches!(member.kind, RecordKind::BatchBegin | RecordKind::Frontier)
            || member.seq != want
        {
            // A valid record where a member belongs: valid data follows
            // the damage by definition.
            return Err(Damage {
                search_from: Some(at),
                kind: CorruptionKind::Mismatch(format!(
                    "batch member {i} has kind {:?} and sequence {} (expected a put or delete with sequence {want})",
                    member.kind, member.seq
                )),
            });
        }
        Ok((member, mlen))
    }

    /// Under the frontier rule, true if damage at `at` lies at or above the
    /// highest frontier of the log.
    fn torn_above_frontier(&self, at: usize) -> Result<bool> {
        if !self.frontier_rule {
            return Ok(false);
        }
        let after = match self.rest {
            Some(rest) => rest.highest_frontier_from(self.base_offset + at as u64)?,
            None => highest_frontier_in(self.data.get(at..).unwrap_or_default()),
        };
        let frontier = self.frontier.max(after);
        Ok(judge_damage(self.base_offset + at as u64, frontier) == DamageVerdict::TornTail)
    }

    /// True if a valid record starts anywhere in the log from `data[from..]` on.
    fn valid_record_after(&self, from: usize) -> Result<bool> {
        if let Some(rest) = self.rest {
            return rest.valid_record_from(self.base_offset + from as u64);
        }
        Ok((from..self.data.len())
            .any(|at| matches!(decode_record(&self.data[at..]), Decoded::Record { .. })))
    }
}

fn damaged<'a>(at: usize, d: Damage) -> Step<'a> {
    Step::Damaged {
        at,
        kind: d.kind,
        search_from: d.search_from,
    }
}

impl std::fmt::Debug for LogReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogReader")
            .field("file", &self.file)
            .field("base_offset", &self.base_offset)
            .field("pos", &self.pos)
            .field("tail", &self.tail)
            .field("windowed", &self.rest.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a> Iterator for LogReader<'a> {
    type Item = Result<LogEntry<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.tail != Tail::Pending {
                return None;
            }
            if self.pos >= self.data.len() {
                self.tail = Tail::Clean;
                return None;
            }
            match self.step() {
                Step::Frontier(value, len) => {
                    self.frontier = self.frontier.max(value);
                    self.pos += len;
                }
                Step::Entry(entry, len) => {
                    self.pos += len;
                    return Some(Ok(entry));
                }
                Step::Damaged {
                    at,
                    kind,
                    search_from,
                } => return self.damaged_at(at, kind, search_from),
            }
        }
    }
}

impl<'a> LogReader<'a> {
    /// Ends iteration at damage found at `at`: corruption if something valid
    /// follows it (unless the frontier rule judges it torn), else a torn tail.
    fn damaged_at(
        &mut self,
        at: usize,
        kind: CorruptionKind,
        search_from: Option<usize>,
    ) -> Option<Result<LogEntry<'a>>> {
        match self.judge(at, kind, search_from) {
            Err(e) | Ok(Judged::Corrupt(e)) => {
                self.tail = Tail::Clean;
                Some(Err(e))
            }
            Ok(Judged::Torn { valid_after }) => {
                self.dropped_after_damage = valid_after;
                self.tail = Tail::Torn {
                    offset: self.valid_end(),
                    bytes: (self.data.len() - self.pos) as u64,
                };
                None
            }
        }
    }

    /// Judges damage of `kind` found at `data[at..]`: `Corrupt` if a valid
    /// record starts at `search_from` or later (unless the frontier rule
    /// judges the damage torn), else `Torn`; `search_from` `None` means
    /// nothing can follow the damage (a torn tail without a search).
    ///
    /// # Errors
    /// I/O failures of a windowed reader's [`Rest`].
    pub(crate) fn judge(
        &self,
        at: usize,
        kind: CorruptionKind,
        search_from: Option<usize>,
    ) -> Result<Judged> {
        let valid_after = match search_from {
            Some(from) => self.valid_record_after(from)?,
            None => false,
        };
        if valid_after && !self.torn_above_frontier(at)? {
            // Something valid follows: this is damage, not a tear.
            let error = Error::corruption(self.file, self.base_offset + at as u64, kind);
            return Ok(Judged::Corrupt(error));
        }
        Ok(Judged::Torn { valid_after })
    }
}

/// A batch group as its `BatchBegin` announces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Group {
    /// File offset of the `BatchBegin`.
    pub offset: u64,
    /// Sequence number of the first member.
    pub first_seq: u64,
    /// Number of members.
    pub count: u32,
}

/// What damage is, once judged.
#[derive(Debug)]
pub(crate) enum Judged {
    /// Valid data follows: `Err(Corruption)` to return.
    Corrupt(Error),
    /// A torn tail; `valid_after` if valid (never synced) records after the
    /// damage are dropped with it (the frontier rule).
    Torn {
        /// Valid records follow the damage.
        valid_after: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::WriteBatch;
    use crate::codec::{encode_batch, encode_delete, encode_put, HEADER_BYTES};

    fn sample_log() -> (Vec<u8>, Vec<usize>) {
        let mut buf = Vec::new();
        let mut ends = Vec::new();
        encode_put(&mut buf, 1, b"a", b"one");
        ends.push(buf.len());
        let mut batch = WriteBatch::new();
        batch.put(b"b", b"two").delete(b"a").put(b"c", b"three");
        encode_batch(&mut buf, 2, &batch);
        ends.push(buf.len());
        encode_delete(&mut buf, 5, b"b");
        ends.push(buf.len());
        (buf, ends)
    }

    fn read_all(data: &[u8]) -> (Result<Vec<LogEntry<'_>>>, Tail, u64) {
        let mut r = LogReader::new(Path::new("log"), data, 100);
        let entries: Result<Vec<_>> = r.by_ref().collect();
        (entries, r.tail(), r.valid_end())
    }

    #[test]
    fn clean_log_yields_singles_and_groups() {
        let (buf, _) = sample_log();
        let (entries, tail, end) = read_all(&buf);
        let entries = entries.unwrap();
        assert_eq!(entries.len(), 3);
        assert!(matches!(&entries[1], LogEntry::Batch { members, .. } if members.len() == 3));
        assert_eq!(tail, Tail::Clean);
        assert_eq!(end, 100 + buf.len() as u64);
    }

    #[test]
    fn every_cut_is_a_torn_tail_at_an_entry_boundary() {
        let (buf, ends) = sample_log();
        for cut in 0..buf.len() {
            let (entries, tail, end) = read_all(&buf[..cut]);
            let entries = entries.unwrap();
            let whole = ends.iter().filter(|&&e| e <= cut).count();
            assert_eq!(entries.len(), whole, "cut {cut}");
            let boundary = ends
                .iter()
                .copied()
                .filter(|&e| e <= cut)
                .max()
                .unwrap_or(0);
            assert_eq!(end, 100 + boundary as u64, "cut {cut}");
            if cut == boundary {
                assert_eq!(tail, Tail::Clean);
            } else {
                assert!(
                    matches!(tail, Tail::Torn { bytes, .. } if bytes == (cut - boundary) as u64)
                );
            }
        }
    }

    #[test]
    fn damage_before_valid_data_is_corruption_with_offset() {
        let (buf, ends) = sample_log();
        let mut bad = buf.clone();
        bad[ends[0] + 30] ^= 0xff; // inside the batch's first member
        let (entries, _, _) = read_all(&bad);
        match entries {
            Err(Error::Corruption { offset, .. }) => assert!(offset >= 100 + ends[0] as u64),
            other => panic!("expected corruption, got {other:?}"),
        }
    }

    #[test]
    fn byte_flip_sweep_never_yields_wrong_data() {
        let (buf, _) = sample_log();
        let (good, _, _) = read_all(&buf);
        let good = good.unwrap();
        for i in 0..buf.len() {
            let mut bad = buf.clone();
            bad[i] ^= 0x5a;
            let (entries, _, _) = read_all(&bad);
            if let Ok(entries) = entries {
                // Only a prefix of the real entries may come back.
                assert!(entries.len() < good.len(), "flip at {i} went unnoticed");
                assert_eq!(&good[..entries.len()], &entries[..]);
            }
        }
    }

    /// Regression: a torn last record whose value holds a complete record
    /// image (a user storing a log file as a value) was reported as
    /// corruption, because the search for valid data after the damage
    /// started inside the torn record and found the image.
    #[test]
    fn torn_record_holding_a_record_image_is_still_torn() {
        let mut image = Vec::new();
        encode_put(&mut image, 9, b"inner", b"value");
        let mut value = vec![0u8; 8];
        value.extend_from_slice(&image);
        value.extend_from_slice(&[0u8; 8]);
        let (mut buf, ends) = sample_log();
        let good_len = buf.len();
        encode_put(&mut buf, 6, b"outer", &value);
        for cut in good_len + 1..buf.len() {
            let (entries, tail, end) = read_all(&buf[..cut]);
            assert_eq!(entries.unwrap().len(), ends.len(), "cut {cut}");
            assert!(matches!(tail, Tail::Torn { .. }), "cut {cut}");
            assert_eq!(end, 100 + good_len as u64);
        }
        // With its checksum broken but all bytes present, the embedded image
        // is skipped too: the record is the last thing in the log, so torn.
        let mut whole = buf.clone();
        let last = whole.len() - 1;
        whole[last] ^= 1;
        let (entries, tail, _) = read_all(&whole);
        assert_eq!(entries.unwrap().len(), ends.len());
        assert!(matches!(tail, Tail::Torn { .. }));
    }

    #[test]
    fn checksum_failure_before_valid_record_is_corruption() {
        let (buf, ends) = sample_log();
        let mut bad = buf.clone();
        bad[ends[1] - 1] ^= 1; // last byte of the batch's last member
        match read_all(&bad).0 {
            Err(Error::Corruption {
                kind: CorruptionKind::ChecksumMismatch { .. },
                ..
            }) => {}
            other => panic!("expected a checksum corruption, got {other:?}"),
        }
    }

    /// Under reordered writeback, zeros where unsynced bytes never landed
    /// followed by valid unsynced records are a torn tail above the
    /// frontier, and the records after the zeros are dropped with it; the
    /// same damage below the frontier is corruption.
    #[test]
    fn frontier_rule_tells_reordered_crash_from_corruption() {
        use crate::codec::encode_frontier;
        let mut log = Vec::new();
        encode_put(&mut log, 1, b"a", b"synced");
        let synced = log.len();
        encode_frontier(&mut log, 100 + synced as u64);
        let hole = log.len();
        encode_put(&mut log, 2, b"b", b"lost");
        let hole_end = log.len();
        encode_put(&mut log, 3, b"c", b"landed");
        let mut crashed = log.clone();
        crashed[hole..hole_end].fill(0);
        let mut r = LogReader::new(Path::new("log"), &crashed, 100).with_frontier_rule();
        let entries: Vec<_> = r.by_ref().collect::<Result<_>>().unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(
            r.tail(),
            Tail::Torn {
                offset: 100 + hole as u64,
                bytes: (crashed.len() - hole) as u64
            }
        );
        assert!(r.dropped_valid_records());
        assert_eq!(r.durable_frontier(), 100 + synced as u64);
        // Without the rule (format version 1) it is corruption.
        assert!(read_all(&crashed).0.is_err());
        // Damage below the frontier (in the synced record), frontier after it.
        let mut damaged = log.clone();
        damaged[HEADER_BYTES + 2] ^= 0xff;
        let mut r = LogReader::new(Path::new("log"), &damaged, 100).with_frontier_rule();
        assert!(
            r.any(|e| e.is_err()),
            "damage below the frontier must be corruption"
        );
    }

    #[test]
    fn garbage_tail_is_torn() {
        let (mut buf, _) = sample_log();
        let len = buf.len();
        buf.extend_from_slice(&[0xab; 40]);
        let (entries, tail, end) = read_all(&buf);
        assert_eq!(entries.unwrap().len(), 3);
        assert_eq!(
            tail,
            Tail::Torn {
                offset: 100 + len as u64,
                bytes: 40
            }
        );
        assert_eq!(end, 100 + len as u64);
    }

    /// A log of a put, an engine record alone, and a batch holding one, then
    /// a put after them (valid data follows every engine record).
    fn engine_log(kind: crate::codec::EngineKind) -> Vec<u8> {
        use crate::codec::{encode_batch_begin, encode_engine_record};
        let mut buf = Vec::new();
        encode_put(&mut buf, 1, b"a", b"one");
        encode_engine_record(&mut buf, kind, 2, b"b", b"d");
        encode_batch_begin(&mut buf, 3, 2);
        encode_put(&mut buf, 3, b"x", b"y");
        encode_engine_record(&mut buf, kind, 4, b"m", b"n");
        encode_put(&mut buf, 5, b"z", b"last");
        buf
    }

    #[test]
    fn declared_engine_kinds_are_yielded_alone_and_in_batches() {
        let kind = crate::codec::EngineKind::new(0x80).unwrap();
        let data = engine_log(kind);
        let kinds = crate::codec::EngineKinds::of(&[kind]);
        let entries: Vec<_> = LogReader::new(Path::new("log"), &data, 0)
            .accept_engine_kinds(kinds)
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(entries.len(), 4);
        let LogEntry::Single(alone) = &entries[1] else {
            panic!("expected the engine record alone")
        };
        assert_eq!(alone.record.kind, RecordKind::Engine(kind));
        let LogEntry::Batch { members, .. } = &entries[2] else {
            panic!("expected the batch")
        };
        assert_eq!(members[1].record.kind, RecordKind::Engine(kind));
        assert_eq!(members[1].record.key, b"m");
    }

    #[test]
    fn undeclared_engine_kinds_are_damage_never_entries() {
        let kind = crate::codec::EngineKind::new(0x80).unwrap();
        let other = crate::codec::EngineKind::new(0x81).unwrap();
        let data = engine_log(kind);
        for declared in [
            crate::codec::EngineKinds::NONE,
            crate::codec::EngineKinds::of(&[other]),
        ] {
            let mut r = LogReader::new(Path::new("log"), &data, 0).accept_engine_kinds(declared);
            assert!(matches!(r.next(), Some(Ok(LogEntry::Single(_)))));
            match r.next() {
                Some(Err(Error::Corruption {
                    kind: CorruptionKind::BadKind { got: 0x80 },
                    ..
                })) => {}
                other => panic!("an undeclared engine kind read as {other:?}"),
            }
        }
    }
}
