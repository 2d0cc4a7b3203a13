//! Walking the records of a data file, read in chunks with the codec's
//! [`LogStream`] (bounded memory: no file, and no batch group, is read
//! whole), with the codec's torn-tail rules and the optional salvage of
//! damaged records. Used by open (files without a usable hint), merge and
//! check.
//!
//! # Batch groups
//!
//! The stream yields a group's members one at a time, and only after it
//! checked the whole group (see [`LogStream`]): a torn or damaged group
//! yields no member. Inside a group the only possible error is an I/O
//! error, which every caller (open, merge, check, the active file's hint)
//! returns as the failure of the whole operation, so the members a visitor
//! saw before it are never used: no caller stages a group.

use std::io;
use std::path::Path;

use kv_core::codec::{
    decode_header, decode_record, next_valid_record, Decoded, LogStream, RecordRef, StreamEntry,
    Tail, HEADER_BYTES, MAX_RECORD_BYTES, STREAM_CHUNK_BYTES,
};
use kv_core::{CorruptionKind, Damage, Error, File, Result};

use crate::salvage::{self, Skip};

/// How a scan ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanOutcome {
    /// File offset just past the last complete entry.
    pub valid_end: u64,
    /// Bytes after `valid_end` that are a torn tail (0 if the log ended
    /// cleanly).
    pub torn_bytes: u64,
    /// Bytes salvage dropped: damaged bytes, and the intact records dropped
    /// with them (salvage only).
    pub salvaged_bytes: u64,
    /// Intact records salvage dropped because they belonged to a batch the
    /// damage broke (see [`crate::salvage`]); the damaged records themselves
    /// are counted in `salvaged_bytes` only.
    pub salvaged_records: u64,
    /// Put and delete records visited.
    pub records: u64,
    /// Every damaged spot salvage skipped, in file order (salvage only; a
    /// scan without salvage stops at the first with `Err(Corruption)`).
    pub damage: Vec<Damage>,
    /// The torn tail was judged by the durable frontier rule and held valid
    /// records that had never been synced (dropped with it).
    pub dropped_unsynced: bool,
    /// The most bytes of the file the scan held in memory at once (see
    /// `LogStream::peak_window_bytes`).
    pub peak_window: usize,
}

/// The bytes `from..to` of a data file.
#[derive(Debug, Clone, Copy)]
pub struct LogRange<'f> {
    /// The file's path (for errors).
    pub path: &'f Path,
    /// The file.
    pub file: &'f dyn File,
    /// First byte of the range (the first record).
    pub from: u64,
    /// End of the range (the end of the data).
    pub to: u64,
}

/// What a scan visits: a record's offset, encoded length, the record, and
/// its encoded bytes.
pub trait Visit: FnMut(u64, u32, &RecordRef<'_>, &[u8]) -> Result<()> {}
impl<F: FnMut(u64, u32, &RecordRef<'_>, &[u8]) -> Result<()>> Visit for F {}

/// Calls `visit(offset, len, record, bytes)` for every `Put` and `Delete`
/// record of `range`, batch members included; a batch group cut short by
/// the end is part of the torn tail and is not visited. The file is read in
/// chunks (see [`LogStream`]). With `frontier_rule`, the codec's durable
/// frontier rule of format version 2 (`LogStream::with_frontier_rule`):
/// damage at or above the highest frontier, even with valid records after
/// it, ends the scan as a torn tail (`torn_bytes`, with `dropped_unsynced`
/// set when valid records were dropped with it). Only for files a crash may
/// have torn.
///
/// # Errors
/// `Corruption` for a damaged record with valid data after it, unless
/// `salvage`, in which case the damaged bytes up to the next valid record
/// are skipped and counted, and so is every intact record that belonged to
/// a batch the damage broke: salvage never visits part of a batch (the
/// rules, and their one limitation, are in [`crate::salvage`]). Errors from
/// `visit` and I/O errors are passed through.
pub fn scan_log(
    range: LogRange<'_>,
    salvage: bool,
    frontier_rule: bool,
    mut visit: impl Visit,
) -> Result<ScanOutcome> {
    let mut outcome = ScanOutcome::default();
    let mut stream = LogStream::new(range.path, range.file, range.from, range.to);
    if frontier_rule {
        stream = stream.with_frontier_rule();
    }
    let mut start = range.from;
    let mut skip = Skip::default();
    loop {
        let failure = visit_entries(&mut stream, &mut skip, &mut outcome, &mut visit)?;
        outcome.valid_end = stream.valid_end();
        outcome.peak_window = outcome.peak_window.max(stream.peak_window_bytes());
        let Some(error) = failure else {
            if let Tail::Torn { bytes, .. } = stream.tail() {
                outcome.torn_bytes = bytes;
                outcome.dropped_unsynced = stream.dropped_valid_records();
            }
            return Ok(outcome);
        };
        let Error::Corruption { offset, kind, .. } = &error else {
            return Err(error);
        };
        if !salvage {
            return Err(error);
        }
        let entry_start = outcome.valid_end;
        let damage = (*offset).max(entry_start);
        let Some(next) = resume_point(range, damage, kind)?.filter(|&next| next > start) else {
            return Err(error);
        };
        outcome.damage.extend(Damage::from_error(&error));
        let decision = decide(range, entry_start, damage, next, skip)?;
        skip = decision.skip;
        outcome.salvaged_records += decision.intact_members_dropped;
        outcome.salvaged_bytes += next - entry_start;
        start = next;
        stream.resume_at(next);
    }
}

/// Visits the entries of `stream` until its end or its first error, which
/// is returned (errors of `visit` are passed through as `Err`).
fn visit_entries(
    stream: &mut LogStream<'_>,
    skip: &mut Skip,
    outcome: &mut ScanOutcome,
    visit: &mut impl Visit,
) -> Result<Option<Error>> {
    while let Some(item) = stream.next_entry() {
        match item {
            Ok(StreamEntry::Single(rec)) => {
                if skip.drops(rec.record.seq) {
                    outcome.salvaged_records += 1;
                    outcome.salvaged_bytes += u64::from(rec.len);
                    continue;
                }
                visit(rec.offset, rec.len, &rec.record, rec.bytes)?;
                outcome.records += 1;
            }
            // Checked whole before its first member comes (see the module
            // docs), so a member is visited as it comes.
            Ok(StreamEntry::GroupBegin { .. }) => *skip = Skip::default(),
            Ok(StreamEntry::Member(rec)) => {
                visit(rec.offset, rec.len, &rec.record, rec.bytes)?;
                outcome.records += 1;
            }
            Ok(StreamEntry::GroupEnd { .. }) => {}
            Err(e) => return Ok(Some(e)),
        }
    }
    Ok(None)
}

/// Reads bytes `from..to` of `range`'s file (`to` clamped to its end).
fn read(range: LogRange<'_>, from: u64, to: u64) -> io::Result<Vec<u8>> {
    let to = to.min(range.to);
    let mut buf = vec![0; to.saturating_sub(from) as usize];
    range.file.read_exact_at(&mut buf, from)?;
    Ok(buf)
}

/// Where salvage resumes after the record at `damage` failed with `kind`:
/// at that record if it is valid (an intact record where a batch member
/// belonged), else at the first valid record after it. After a checksum
/// failure the search starts at the record's claimed end, not inside it, as
/// the reader's does: a value may hold the image of a record, which must not
/// come back as data.
fn resume_point(range: LogRange<'_>, damage: u64, kind: &CorruptionKind) -> Result<Option<u64>> {
    let header = read(range, damage, damage + HEADER_BYTES as u64)?;
    if let Some(Ok(h)) = decode_header(&header) {
        let record = read(range, damage, damage + h.encoded_len as u64)?;
        if matches!(decode_record(&record), Decoded::Record { .. }) {
            return Ok(Some(damage));
        }
    }
    let claimed_end = match kind {
        CorruptionKind::ChecksumMismatch { .. } => header
            .get(4..8)
            .map(|b| 8 + u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
        _ => None,
    };
    let from = damage + claimed_end.unwrap_or(1).max(1);
    next_valid_record(range.file, from, range.to)
}

/// The most of a damaged stretch salvage reads to decide what to drop; a
/// longer stretch is decided without its bytes, conservatively (see
/// [`salvage::decide`]).
const MAX_DAMAGED_STRETCH: u64 = (MAX_RECORD_BYTES + STREAM_CHUNK_BYTES) as u64;

/// [`salvage::decide`] over the stretch `entry_start..resume` of the file,
/// read whole if it is at most [`MAX_DAMAGED_STRETCH`] bytes.
fn decide(
    range: LogRange<'_>,
    entry_start: u64,
    damage: u64,
    resume: u64,
    skip: Skip,
) -> Result<salvage::Decision> {
    let whole = resume - entry_start <= MAX_DAMAGED_STRETCH;
    let to = entry_start + (resume - entry_start).min(MAX_DAMAGED_STRETCH);
    let data = read(range, entry_start, to)?;
    let (damage, resume) = ((damage - entry_start) as usize, (to - entry_start) as usize);
    Ok(salvage::decide(
        &data,
        0,
        damage.min(resume),
        resume,
        skip,
        whole,
    ))
}

/// True if every byte of `file[from..to)` is zero, read in chunks.
///
/// # Errors
/// I/O failures.
pub fn all_zero(file: &dyn File, from: u64, to: u64) -> Result<bool> {
    let mut buf = Vec::new();
    let mut at = from;
    while at < to {
        let n = (to - at).min(STREAM_CHUNK_BYTES as u64) as usize;
        buf.resize(n, 0);
        file.read_exact_at(&mut buf, at)?;
        if buf.iter().any(|&b| b != 0) {
            return Ok(false);
        }
        at += n as u64;
    }
    Ok(true)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use kv_core::codec::encode_put;
    use kv_core::{Fs, StdFs};

    /// Scans `data` placed at offset `base` of a real file.
    pub(crate) fn scan_bytes(
        data: &[u8],
        base: u64,
        salvage: bool,
        visit: impl Visit,
    ) -> Result<ScanOutcome> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d");
        let file = StdFs.create(&path).unwrap();
        file.write_at(&vec![0; base as usize], 0).unwrap();
        file.write_at(data, base).unwrap();
        let range = LogRange {
            path: &path,
            file: &*file,
            from: base,
            to: base + data.len() as u64,
        };
        scan_log(range, salvage, false, visit)
    }

    fn log() -> (Vec<u8>, usize) {
        let mut buf = Vec::new();
        encode_put(&mut buf, 1, b"a", b"1");
        let first = buf.len();
        encode_put(&mut buf, 2, b"b", b"2");
        encode_put(&mut buf, 3, b"c", b"3");
        (buf, first)
    }

    #[test]
    fn damage_in_the_middle_is_corruption_or_salvaged() {
        let (mut buf, first) = log();
        buf[first + 23] ^= 0xff; // the second record's key
        let err = scan_bytes(&buf, 16, false, |_, _, _, _| Ok(())).unwrap_err();
        assert!(err.is_corruption());
        let mut keys = Vec::new();
        let out = scan_bytes(&buf, 16, true, |_, _, r, _| {
            keys.push(r.key.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(keys, vec![b"a".to_vec(), b"c".to_vec()]);
        assert_eq!(out.salvaged_bytes, (buf.len() - first) as u64 / 2);
        assert_eq!(out.torn_bytes, 0);
    }

    #[test]
    fn torn_tail_is_reported() {
        let (buf, _) = log();
        let cut = &buf[..buf.len() - 3];
        let out = scan_bytes(cut, 16, false, |_, _, _, _| Ok(())).unwrap();
        assert_eq!(out.records, 2);
        assert_eq!(out.torn_bytes, (buf.len() / 3 - 3) as u64);
        assert_eq!(out.valid_end, 16 + (buf.len() / 3 * 2) as u64);
    }
}

#[cfg(test)]
mod salvage_tests {
    use kv_core::codec::{encode_batch, encode_put};
    use kv_core::testkit::SeedGuard;
    use kv_core::WriteBatch;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    /// A log of singles and batches with consecutive sequence numbers, as
    /// the writer lays it out; returns it and, per batch, the offsets of its
    /// members.
    fn random_log(rng: &mut StdRng) -> (Vec<u8>, Vec<Vec<u64>>) {
        let mut buf = Vec::new();
        let mut batches = Vec::new();
        let mut seq = 1;
        for _ in 0..rng.random_range(3..12) {
            let value = vec![b'v'; rng.random_range(0..40)];
            if rng.random_range(0..3) == 0 {
                let mut batch = WriteBatch::new();
                let n = rng.random_range(1..5);
                for i in 0..n {
                    batch.put(format!("b{seq}.{i}").into_bytes(), value.clone());
                }
                let mut at = buf.len() + HEADER_BYTES;
                let mut members = Vec::new();
                for op in batch.ops() {
                    members.push(at as u64);
                    if let kv_core::BatchOp::Put { key, value } = op {
                        at += HEADER_BYTES + key.len() + value.len();
                    }
                }
                encode_batch(&mut buf, seq, &batch);
                seq += n as u64;
                batches.push(members);
            } else {
                encode_put(&mut buf, seq, format!("s{seq}").as_bytes(), &value);
                seq += 1;
            }
        }
        (buf, batches)
    }

    use kv_core::codec::HEADER_BYTES;

    /// Whatever the damage, salvage visits only records that were written,
    /// at their place, and of every batch all members or none.
    #[test]
    fn salvage_visits_whole_batches_or_nothing_of_them() {
        let guard = SeedGuard::new("salvage_visits_whole_batches_or_nothing_of_them");
        let mut rng = StdRng::seed_from_u64(guard.seed());
        for round in 0..400 {
            let (good, batches) = random_log(&mut rng);
            let mut bad = good.clone();
            // A few flipped bytes, or a stretch of garbage.
            if rng.random_range(0..2) == 0 {
                for _ in 0..rng.random_range(1..4) {
                    let at = rng.random_range(0..bad.len());
                    bad[at] ^= rng.random_range(1..=255u8);
                }
            } else {
                let at = rng.random_range(0..bad.len());
                let end = (at + rng.random_range(1..64)).min(bad.len());
                for b in &mut bad[at..end] {
                    *b = rng.random();
                }
            }
            let mut seen = Vec::new();
            let scanned = super::tests::scan_bytes(&bad, 0, true, |offset, len, _, _| {
                seen.push(offset);
                let (at, end) = (offset as usize, offset as usize + len as usize);
                assert_eq!(bad[at..end], good[at..end], "round {round}: a phantom");
                Ok(())
            });
            if scanned.is_err() {
                continue; // no valid record after the damage to resume at
            }
            for members in &batches {
                let visited = members.iter().filter(|m| seen.contains(m)).count();
                assert!(
                    visited == 0 || visited == members.len(),
                    "round {round}: {visited} of {} members of a batch",
                    members.len()
                );
            }
        }
    }
}
