//! The durable frontier (record format version 2): telling a torn tail from
//! corruption when writeback reorders.
//!
//! A file system may persist any subset of a file's unsynced writes, in 4 KiB
//! units, in any order. After such a crash a log can hold zeros or old bytes
//! followed by valid records that were never synced: a normal crash, not
//! damage. But damage to bytes that *were* synced is corruption. The bytes
//! alone cannot tell the two apart, so the writer records what it knows: a
//! [`RecordKind::Frontier`] record whose `seq`
//! field holds the log offset known to be synced when it was written.
//!
//! # Writer side: [`FrontierTracker`]
//!
//! The writer tells the tracker each time a sync succeeds, and at the start
//! of each flush group (the first record put into an empty write buffer)
//! calls [`FrontierTracker::emit_if_due`], which appends a frontier record
//! when the synced length has advanced: always for the first advance of a
//! log (so a synced header is provable), then once at least
//! [`FRONTIER_STEP_BYTES`] more are synced. Cost: one 23-byte record per
//! flush group at most, and at most one per 4 KiB of synced log (under 0.6 %
//! of the log), plus one per file.
//!
//! # Reader side: [`judge_damage`]
//!
//! The highest frontier found anywhere in the log ([`highest_frontier_in`],
//! valid records after the damage included) is a lower bound of what had
//! been synced. Damage below it hit synced bytes: `Corruption`. Damage at or
//! above it may be the debris of a crash: a torn tail, truncated at the last
//! complete entry before the damage, dropping the valid (never synced)
//! records after it, so the recovered state stays a prefix.
//!
//! A frontier is conservative: bytes synced after the last frontier record
//! was written are not covered, so damage to them is taken for a torn tail
//! (at most one flush group, or [`FRONTIER_STEP_BYTES`], plus the bytes
//! written after the last sync). Logs written by format version 1 hold no
//! frontier; readers apply the version-1 rule to them (damage followed by a
//! valid record is corruption).

use super::record::{decode_record, encode_frontier, Decoded, RecordKind, HEADER_BYTES};

/// The synced length must advance this far past the last recorded frontier
/// before another frontier record is written (4 KiB, the writeback unit).
pub const FRONTIER_STEP_BYTES: u64 = 4096;

/// Writer-side bookkeeping of the durable frontier of one log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrontierTracker {
    synced_len: u64,
    recorded: u64,
}

impl FrontierTracker {
    /// A log whose first `synced_len` bytes are durable and whose last
    /// frontier record (if any) is unknown.
    pub fn new(synced_len: u64) -> Self {
        Self {
            synced_len,
            recorded: 0,
        }
    }

    /// A log reopened with its first `synced_len` bytes durable, whose last
    /// frontier record already covers everything up to `recorded` (e.g. it
    /// ends with the frontier a clean close wrote: see
    /// [`frontier_at_end`]), so no new frontier is due until more is synced.
    pub fn resume(synced_len: u64, recorded: u64) -> Self {
        Self {
            synced_len,
            recorded: recorded.min(synced_len),
        }
    }

    /// Records that a sync made the first `len` bytes of the log durable.
    pub fn synced(&mut self, len: u64) {
        self.synced_len = self.synced_len.max(len);
    }

    /// The log length known to be durable.
    pub fn synced_len(&self) -> u64 {
        self.synced_len
    }

    /// The frontier value last written (0 if none).
    pub fn recorded(&self) -> u64 {
        self.recorded
    }

    /// At the start of a flush group: appends a frontier record to `out` if
    /// one is due (see the module docs); returns true if it did.
    pub fn emit_if_due(&mut self, out: &mut Vec<u8>) -> bool {
        let advanced = self.synced_len > self.recorded;
        let due = advanced
            && (self.recorded == 0 || self.synced_len - self.recorded >= FRONTIER_STEP_BYTES);
        if due {
            encode_frontier(out, self.synced_len);
            self.recorded = self.synced_len;
        }
        due
    }
}

impl FrontierTracker {
    /// Appends a frontier record for the synced length if it is past the last
    /// one recorded, regardless of [`FRONTIER_STEP_BYTES`] (a clean close
    /// records the whole log); returns true if it did.
    pub fn emit_if_current(&mut self, out: &mut Vec<u8>) -> bool {
        if self.synced_len <= self.recorded {
            return false;
        }
        encode_frontier(out, self.synced_len);
        self.recorded = self.synced_len;
        true
    }
}

/// The highest frontier value held by a valid `Frontier` record starting at
/// any offset of `data` (0 if none). Looks at every byte offset, so it finds
/// frontier records after damage too; costs one header check per byte.
pub fn highest_frontier_in(data: &[u8]) -> u64 {
    (0..data.len())
        .filter_map(|at| match decode_record(&data[at..]) {
            Decoded::Record { record, .. } if record.kind == RecordKind::Frontier => {
                Some(record.seq)
            }
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// If `tail` (the last bytes of a log whose length is `log_len`) ends with a
/// `Frontier` record covering everything before it, as a clean close leaves
/// it, returns `log_len`: the log is recorded to its end.
pub fn frontier_at_end(tail: &[u8], log_len: u64) -> Option<u64> {
    let at = tail.len().checked_sub(HEADER_BYTES)?;
    match decode_record(&tail[at..]) {
        Decoded::Record { record, .. }
            if record.kind == RecordKind::Frontier
                && record.seq.checked_add(HEADER_BYTES as u64) == Some(log_len) =>
        {
            Some(log_len)
        }
        _ => None,
    }
}

/// What damage at some offset of a log is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DamageVerdict {
    /// Below the durable frontier: synced bytes are damaged.
    Corruption,
    /// At or above it: the debris of a crash; truncate before it.
    TornTail,
}

/// Judges damage at file offset `damage_offset` of a version-2 log whose
/// highest frontier (anywhere in the log) is `highest_frontier`.
pub fn judge_damage(damage_offset: u64, highest_frontier: u64) -> DamageVerdict {
    if damage_offset < highest_frontier {
        DamageVerdict::Corruption
    } else {
        DamageVerdict::TornTail
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode_put;

    #[test]
    fn tracker_emits_on_first_advance_then_by_steps() {
        let mut t = FrontierTracker::new(0);
        let mut out = Vec::new();
        assert!(!t.emit_if_due(&mut out), "nothing synced yet");
        t.synced(100);
        assert!(t.emit_if_due(&mut out));
        assert!(!t.emit_if_due(&mut out), "no advance");
        t.synced(100 + FRONTIER_STEP_BYTES - 1);
        assert!(!t.emit_if_due(&mut out), "advance below the step");
        t.synced(100 + FRONTIER_STEP_BYTES);
        assert!(t.emit_if_due(&mut out));
        assert_eq!(highest_frontier_in(&out), 100 + FRONTIER_STEP_BYTES);
        assert_eq!(out.len(), 2 * super::super::HEADER_BYTES);
    }

    #[test]
    fn frontier_after_damage_is_found_and_judges_it() {
        let mut log = Vec::new();
        encode_put(&mut log, 1, b"a", b"1");
        let damage_at = log.len() as u64;
        encode_put(&mut log, 2, b"b", b"2");
        encode_frontier(&mut log, 200);
        log[damage_at as usize + 3] ^= 0xff;
        assert_eq!(highest_frontier_in(&log), 200);
        assert_eq!(judge_damage(damage_at, 200), DamageVerdict::Corruption);
        assert_eq!(judge_damage(damage_at, damage_at), DamageVerdict::TornTail);
        assert_eq!(highest_frontier_in(&log[..damage_at as usize]), 0);
    }
}
