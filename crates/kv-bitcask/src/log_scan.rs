//! Walking the records of a data file held in memory, with the codec's
//! torn-tail rules and the optional salvage of damaged records. Used by
//! open (files without a usable hint), merge and check.

use std::path::Path;

use kv_core::codec::{decode_record, Decoded, LogEntry, LogReader, RecordRef, Tail};
use kv_core::{CorruptionKind, Damage, Error, Result};

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
}

/// Calls `visit(offset, len, record)` for every `Put` and `Delete` record of
/// `data` (the bytes of `path` from file offset `base` on), batch members
/// included; a batch group cut short by the end is part of the torn tail and
/// is not visited.
///
/// # Errors
/// `Corruption` for a damaged record with valid data after it, unless
/// `salvage`, in which case the damaged bytes up to the next valid record
/// are skipped and counted, and so is every intact record that belonged to
/// a batch the damage broke: salvage never visits part of a batch (the
/// rules, and their one limitation, are in [`crate::salvage`]). Errors from
/// `visit` are passed through.
pub fn scan_log(
    path: &Path,
    data: &[u8],
    base: u64,
    salvage: bool,
    visit: impl FnMut(u64, u32, &RecordRef<'_>) -> Result<()>,
) -> Result<ScanOutcome> {
    scan_log_with(path, data, base, salvage, false, visit)
}

/// As [`scan_log`], and with `frontier_rule` the codec's durable frontier
/// rule of format version 2 (`LogReader::with_frontier_rule`): damage at or
/// above the highest frontier, even with valid records after it, ends the
/// scan as a torn tail (`torn_bytes`, with `dropped_unsynced` set when valid
/// records were dropped with it). Only for files a crash may have torn.
pub fn scan_log_with(
    path: &Path,
    data: &[u8],
    base: u64,
    salvage: bool,
    frontier_rule: bool,
    mut visit: impl FnMut(u64, u32, &RecordRef<'_>) -> Result<()>,
) -> Result<ScanOutcome> {
    let mut outcome = ScanOutcome::default();
    let mut start = 0usize;
    let mut skip = Skip::default();
    loop {
        let mut reader = LogReader::new(path, &data[start..], base + start as u64);
        if frontier_rule {
            reader = reader.with_frontier_rule();
        }
        let mut failure = None;
        for item in reader.by_ref() {
            match item {
                Ok(LogEntry::Single(rec)) => {
                    if skip.drops(rec.record.seq) {
                        outcome.salvaged_records += 1;
                        outcome.salvaged_bytes += u64::from(rec.len);
                        continue;
                    }
                    visit(rec.offset, rec.len, &rec.record)?;
                    outcome.records += 1;
                }
                Ok(LogEntry::Batch { members, .. }) => {
                    skip = Skip::default();
                    for rec in &members {
                        visit(rec.offset, rec.len, &rec.record)?;
                    }
                    outcome.records += members.len() as u64;
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        outcome.valid_end = reader.valid_end();
        let Some(error) = failure else {
            if let Tail::Torn { bytes, .. } = reader.tail() {
                outcome.torn_bytes = bytes;
                outcome.dropped_unsynced = reader.dropped_valid_records();
            }
            return Ok(outcome);
        };
        let Error::Corruption { offset, kind, .. } = &error else {
            return Err(error);
        };
        if !salvage {
            return Err(error);
        }
        let entry_start = (outcome.valid_end - base) as usize;
        let damage = (offset.saturating_sub(base) as usize).max(entry_start);
        let Some(next) = resume_point(data, damage, kind).filter(|&next| next > start) else {
            return Err(error);
        };
        outcome.damage.extend(Damage::from_error(&error));
        let decision = salvage::decide(data, entry_start, damage, next, skip);
        skip = decision.skip;
        outcome.salvaged_records += decision.intact_members_dropped;
        outcome.salvaged_bytes += (next - entry_start) as u64;
        start = next;
    }
}

/// Where salvage resumes after the record at `damage` failed with `kind`:
/// at that record if it is valid (an intact record where a batch member
/// belonged), else at the first valid record after it. After a checksum
/// failure the search starts at the record's claimed end, not inside it, as
/// the reader's does: a value may hold the image of a record, which must not
/// come back as data.
fn resume_point(data: &[u8], damage: usize, kind: &CorruptionKind) -> Option<usize> {
    let at = data.get(damage..)?;
    if matches!(decode_record(at), Decoded::Record { .. }) {
        return Some(damage);
    }
    let claimed_end = match kind {
        CorruptionKind::ChecksumMismatch { .. } => at
            .get(4..8)
            .map(|b| 8 + u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize),
        _ => None,
    };
    let from = damage + claimed_end.unwrap_or(1).max(1);
    (from..data.len()).find(|&i| matches!(decode_record(&data[i..]), Decoded::Record { .. }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kv_core::codec::encode_put;

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
        let p = Path::new("d");
        let err = scan_log(p, &buf, 16, false, |_, _, _| Ok(())).unwrap_err();
        assert!(err.is_corruption());
        let mut keys = Vec::new();
        let out = scan_log(p, &buf, 16, true, |_, _, r| {
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
        let out = scan_log(Path::new("d"), cut, 16, false, |_, _, _| Ok(())).unwrap();
        assert_eq!(out.records, 2);
        assert_eq!(out.torn_bytes, (buf.len() / 3 - 3) as u64);
        assert_eq!(out.valid_end, 16 + (buf.len() / 3 * 2) as u64);
    }
}

#[cfg(test)]
mod salvage_tests {
    use super::*;
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
            let scanned = scan_log(Path::new("d"), &bad, 0, true, |offset, len, _| {
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
