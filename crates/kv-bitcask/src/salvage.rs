//! What salvage drops when it skips damage: never part of a batch.
//!
//! A batch is a `BatchBegin` record announcing `n` members, then `n` plain
//! `Put`/`Delete` records with consecutive sequence numbers. Only the
//! `BatchBegin` marks them as members, so when salvage resumes after damage
//! it must decide whether the records it resumes at belong to a batch the
//! damage broke. The rules:
//!
//! 1. **Damage inside a batch whose `BatchBegin` decodes** (the reader failed
//!    at a member). The batch's sequence numbers are known: `first_seq ..
//!    first_seq + n`. The members before the damage are dropped with it, and
//!    so is every record salvage resumes at while its sequence number lies in
//!    that range. Exact for that batch.
//! 2. **The damaged bytes** (from the record that failed to where salvage
//!    resumes) may have held the start of a batch too, whose members may
//!    follow. If those bytes still split into well-formed record headers
//!    (lengths consistent with kinds, chaining exactly to where salvage
//!    resumes) and none of them is a `BatchBegin`, they held single records
//!    or members only, and nothing more is dropped. No single bit flip can
//!    turn a `BatchBegin` header into a consistent `Put` or `Delete` header
//!    (their length rules differ), so this is a sound test for ordinary bit
//!    rot.
//! 3. **Otherwise** (a `BatchBegin` among the damaged bytes, whose member
//!    count cannot be trusted, or bytes that do not parse at all) a batch
//!    may have begun in them, and its length is unknown. Salvage drops the records it resumes at while their
//!    sequence numbers run on consecutively (every batch's members do), up
//!    to the next batch, a gap in the numbers, the end of the file, or
//!    `MAX_BATCH_OPS` records (no batch is longer). This never keeps part of
//!    a batch, at the price of also dropping single writes that follow the
//!    batch in the same run; they are reported like everything else.
//!
//! Rules combine: a record is dropped if a rule in force claims it. Further
//! damage keeps a batch's range and restarts a run at the resume point.

use kv_core::codec::{decode_header, decode_record, Decoded, RecordKind};
use kv_core::limits::MAX_BATCH_OPS;

use crate::ttl::plain_seq;

/// What salvage drops of the records it resumes at after damage: a record
/// is dropped if either rule in force claims it; a rule that does not claim
/// a record has ended. A whole batch group ends every rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Skip {
    /// Rule 1: the sequence numbers `first..end` of a batch the damage broke.
    batch: Option<(u64, u64)>,
    /// Rule 3: a run of consecutive sequence numbers of unknown length.
    run: Option<Run>,
}

/// The state of a rule 3 run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Run {
    /// The sequence number the next record must have to continue the run
    /// (`None`: the next record starts it).
    next: Option<u64>,
    /// Records the run has dropped.
    dropped: u64,
}

impl Run {
    fn claims(&mut self, seq: u64) -> bool {
        let continues = self.next.is_none_or(|n| n == seq) && self.dropped < MAX_BATCH_OPS as u64;
        if continues {
            self.next = seq.checked_add(1);
            self.dropped += 1;
        }
        continues
    }
}

impl Skip {
    /// True if a single record with stored sequence number `stored_seq` is
    /// dropped. Rules that do not claim it end.
    pub fn drops(&mut self, stored_seq: u64) -> bool {
        let seq = plain_seq(stored_seq);
        let in_batch = self
            .batch
            .is_some_and(|(first, end)| (first..end).contains(&seq));
        if !in_batch {
            self.batch = None;
        }
        let in_run = self.run.as_mut().is_some_and(|run| run.claims(seq));
        if !in_run {
            self.run = None;
        }
        in_batch || in_run
    }

    /// True once every rule has ended.
    pub fn is_over(&self) -> bool {
        self.batch.is_none() && self.run.is_none()
    }
}

/// What salvage decided about one damaged stretch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The rules in force from the resume point on.
    pub skip: Skip,
    /// Intact batch members before the damage that are dropped with it.
    pub intact_members_dropped: u64,
}

/// Decides what to drop after damage. `data` is the log in memory;
/// `entry_start` is where the entry that failed begins (the reader's valid
/// end), `damage` where the record that failed to decode begins (equal to
/// `entry_start`, or a member inside the batch starting there), `resume`
/// where the next valid record starts; all are indices into `data`.
/// `current` holds the rules already in force: further damage keeps a
/// batch's range, and restarts a run at the resume point, since the damage
/// may have taken records of it. `whole` is false when `data` holds only the
/// start of the damaged stretch (a long one is not read whole): rule 2 then
/// cannot clear it, and rule 3 applies.
pub fn decide(
    data: &[u8],
    entry_start: usize,
    damage: usize,
    resume: usize,
    current: Skip,
    whole: bool,
) -> Decision {
    let open = (damage > entry_start)
        .then(|| open_batch(data, entry_start, damage))
        .flatten();
    // The damaged stretch: from the failed record (the batch's intact start
    // is accounted for by its range) to where salvage resumes. It may hold
    // more than the rest of one batch: other entries, another batch's start.
    let damaged_from = if open.is_some() { damage } else { entry_start };
    let damaged = data.get(damaged_from..resume).unwrap_or_default();
    let singles_only = whole
        && loose_kinds(damaged).is_some_and(|kinds| {
            kinds
                .iter()
                .all(|kind| *kind != RecordKind::BatchBegin.tag())
        });
    let (batch, run, intact_members_dropped) = match open {
        // The reader reached this batch's `BatchBegin`: earlier rules had
        // ended.
        Some((first, count, members)) => {
            let range = (first, first.saturating_add(u64::from(count)));
            (Some(range), None, members)
        }
        None => (current.batch, current.run, 0),
    };
    let run = (!singles_only || run.is_some()).then(|| Run {
        next: None,
        dropped: run.map_or(0, |run| run.dropped),
    });
    Decision {
        skip: Skip { batch, run },
        intact_members_dropped,
    }
}

/// The batch whose `BatchBegin` decodes at `start` and whose member at
/// `damage` does not: its first sequence number, member count, and the
/// number of intact members before `damage`.
fn open_batch(data: &[u8], start: usize, damage: usize) -> Option<(u64, u32, u64)> {
    let Decoded::Record { record, len } = decode_record(data.get(start..)?) else {
        return None;
    };
    if record.kind != RecordKind::BatchBegin {
        return None;
    }
    let mut at = start + len;
    let mut members = 0;
    while at < damage {
        let Decoded::Record { len, .. } = decode_record(data.get(at..)?) else {
            break;
        };
        members += 1;
        at += len;
    }
    Some((plain_seq(record.seq), record.batch_len, members))
}

/// The kind tags of the records `region` holds, read from their headers
/// alone (checksums are not checked), if it splits exactly into headers
/// whose lengths agree with their kinds; `None` if it does not.
fn loose_kinds(region: &[u8]) -> Option<Vec<u8>> {
    let mut kinds = Vec::new();
    let mut at = 0;
    while at < region.len() {
        let header = decode_header(&region[at..])?.ok()?;
        kinds.push(header.kind.tag());
        at += header.encoded_len;
    }
    (at == region.len()).then_some(kinds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kv_core::codec::{encode_batch, encode_put, HEADER_BYTES};
    use kv_core::WriteBatch;

    #[test]
    fn loose_kinds_splits_damaged_records_by_their_headers() {
        let mut buf = Vec::new();
        encode_put(&mut buf, 1, b"k", b"v");
        let mut batch = WriteBatch::new();
        batch.put(b"a", b"1").delete(b"b");
        encode_batch(&mut buf, 2, &batch);
        let last = buf.len() - 1;
        buf[last] ^= 0xff; // a checksum failure: headers alone are read
        assert_eq!(loose_kinds(&buf), Some(vec![1, 3, 1, 2]));
        assert_eq!(loose_kinds(&buf[..buf.len() - 1]), None, "cut short");
        let mut bad_len = buf.clone();
        bad_len[4] ^= 1;
        assert_eq!(loose_kinds(&bad_len), None);
    }

    #[test]
    fn no_single_bit_flip_turns_a_batch_begin_into_a_single() {
        let mut batch = WriteBatch::new();
        batch.put(b"a", b"1").put(b"b", b"2");
        let mut buf = Vec::new();
        encode_batch(&mut buf, 7, &batch);
        let begin = &buf[..HEADER_BYTES];
        for byte in 0..HEADER_BYTES {
            for bit in 0..8 {
                let mut flipped = begin.to_vec();
                flipped[byte] ^= 1 << bit;
                if let Some(kinds) = loose_kinds(&flipped) {
                    assert_eq!(kinds, vec![3], "flip at {byte}:{bit}");
                }
            }
        }
    }

    #[test]
    fn runs_end_at_a_gap_and_ranges_at_their_end() {
        let mut run = Skip {
            batch: None,
            run: Some(Run::default()),
        };
        assert!(run.drops(10));
        assert!(run.drops(11 | crate::ttl::TTL_SEQ_FLAG));
        assert!(!run.drops(13));
        assert!(run.is_over());
        let mut range = Skip {
            batch: Some((4, 6)),
            run: None,
        };
        assert!(range.drops(5));
        assert!(!range.drops(6));
        assert!(range.is_over());
    }

    #[test]
    fn each_rule_ends_on_its_own() {
        let both = Skip {
            batch: Some((4, 10)),
            run: Some(Run::default()),
        };
        // A gap ends the run; the batch's range still claims its members.
        let mut gap = both;
        assert!(gap.drops(5));
        assert!(gap.drops(7));
        assert!(gap.drops(8));
        assert!(!gap.drops(10));
        assert!(gap.is_over());
        // The range ends; the run goes on while the numbers do.
        let mut past = Skip {
            batch: Some((4, 6)),
            ..both
        };
        assert!(past.drops(5));
        assert!(past.drops(6));
        assert!(past.drops(7));
        assert!(!past.drops(9));
        assert!(past.is_over());
    }
}
