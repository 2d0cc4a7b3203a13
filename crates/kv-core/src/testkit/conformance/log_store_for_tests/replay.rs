//! Reading the test store's log: replay into a map (failing at, stopping
//! at, or listing every damaged record), and the damage hooks the suite's
//! damage cases call.

use std::collections::BTreeMap;
use std::path::Path;

use crate::codec::{decode_record, Decoded, LogEntry, LogReader, RecordKind, Tail};
use crate::error::{Error, Result};
use crate::store::Damage;
use crate::testkit::conformance::PlantedDamage;
use crate::testkit::SimFs;

use super::LOG_NAME;

/// The map a log replays to.
pub(super) type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// What replay does at a damaged record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OnDamage {
    /// Returns the `Err(Corruption)` for damage before `frontier` (the log
    /// length known to be synced); damage at or after it is a torn tail.
    Fail {
        /// The durable frontier.
        frontier: u64,
    },
    /// Treats the damage as the end of the log (a bug).
    Stop,
    /// Records the damage and goes on at the next valid record, listing at
    /// most this many damaged spots.
    List(usize),
}

/// A replayed log.
#[derive(Debug, Default)]
pub(super) struct Replayed {
    pub(super) map: Map,
    pub(super) next_seq: u64,
    /// Offset just past the last complete entry.
    pub(super) valid_end: u64,
    /// Bytes of torn tail after `valid_end`.
    pub(super) torn_bytes: u64,
    /// Entries read.
    pub(super) entries: u64,
    /// Damaged spots (under `OnDamage::List`).
    pub(super) damage: Vec<Damage>,
}

impl Replayed {
    fn apply(&mut self, entry: LogEntry<'_>) {
        let members = match entry {
            LogEntry::Single(one) => vec![one],
            LogEntry::Batch { members, .. } => members,
        };
        for m in members {
            let r = m.record;
            match r.kind {
                RecordKind::Put => self.map.insert(r.key.to_vec(), r.value.to_vec()),
                _ => self.map.remove(r.key),
            };
            self.next_seq = self.next_seq.max(r.seq + 1);
        }
        self.entries += 1;
    }
}

/// Replays the log `data` of `path`.
///
/// # Errors
/// `Corruption` at the first damaged record under `OnDamage::Fail`.
pub(super) fn replay(path: &Path, data: &[u8], on_damage: OnDamage) -> Result<Replayed> {
    let mut out = Replayed::default();
    let mut from = 0usize;
    loop {
        let mut reader = LogReader::new(path, &data[from..], from as u64);
        let mut damaged_at = None;
        for entry in reader.by_ref() {
            match entry {
                Ok(entry) => out.apply(entry),
                Err(e) => {
                    damaged_at = Some(e);
                    break;
                }
            }
        }
        // Where the damaged entry starts: for a batch group the error names
        // the damaged member, but the group is cut off whole.
        let entry_start = reader.valid_end();
        let Some(error) = damaged_at else {
            out.valid_end = reader.valid_end();
            if let Tail::Torn { bytes, .. } = reader.tail() {
                out.torn_bytes = bytes;
            }
            return Ok(out);
        };
        let at = match &error {
            Error::Corruption { offset, .. } => *offset,
            _ => return Err(error),
        };
        match on_damage {
            OnDamage::Fail { frontier } if entry_start < frontier => return Err(error),
            OnDamage::Fail { .. } | OnDamage::Stop => {
                out.valid_end = entry_start;
                out.torn_bytes = data.len() as u64 - entry_start;
                return Ok(out);
            }
            OnDamage::List(max) => {
                if out.damage.len() < max {
                    out.damage.extend(Damage::from_error(&error));
                }
                // The reader only reports damage when a valid record follows.
                match next_valid_record(data, at as usize + 1) {
                    Some(next) => from = next,
                    None => {
                        out.valid_end = data.len() as u64;
                        return Ok(out);
                    }
                }
            }
        }
    }
}

/// The first offset at or after `from` where a valid record starts.
fn next_valid_record(data: &[u8], from: usize) -> Option<usize> {
    (from..data.len()).find(|&at| matches!(decode_record(&data[at..]), Decoded::Record { .. }))
}

/// Offsets and lengths of the single (non-batch) records of the log in
/// `dir` on `sim`.
fn single_records(sim: &SimFs, dir: &Path) -> (std::path::PathBuf, Vec<(u64, u64)>) {
    let path = dir.join(LOG_NAME);
    let data = sim.contents(&path).unwrap_or_default();
    let records = LogReader::new(&path, &data, 0)
        .filter_map(|entry| match entry {
            Ok(LogEntry::Single(one)) => Some((one.offset, u64::from(one.len))),
            _ => None,
        })
        .collect();
    (path, records)
}

/// Flips the last byte (a value byte) of the record at `offset`, `len`.
fn flip_last_byte(sim: &SimFs, path: &Path, offset: u64, len: u64) -> PlantedDamage {
    let at = offset + len - 1;
    let old = sim
        .contents(path)
        .and_then(|d| d.get(at as usize).copied())
        .unwrap_or(0);
    assert!(
        sim.corrupt(path, at, &[old ^ 0x5a]),
        "cannot damage the log"
    );
    PlantedDamage::new(path, at)
}

/// The test store's hidden damage: the first record of the log, a value
/// shadowed by a later put of the same key, which no read returns.
pub(in crate::testkit::conformance) fn damage_a_shadowed_record(
    sim: &SimFs,
    dir: &Path,
) -> Vec<PlantedDamage> {
    let (path, records) = single_records(sim, dir);
    records
        .first()
        .map(|&(offset, len)| vec![flip_last_byte(sim, &path, offset, len)])
        .unwrap_or_default()
}

/// The test store's separate damage: `count` records spread evenly over the
/// log.
pub(in crate::testkit::conformance) fn damage_separate_records(
    sim: &SimFs,
    dir: &Path,
    count: usize,
) -> Vec<PlantedDamage> {
    let (path, records) = single_records(sim, dir);
    (1..=count)
        .filter_map(|i| records.get(i * records.len() / (count + 1)).copied())
        .map(|(offset, len)| flip_last_byte(sim, &path, offset, len))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::WriteBatch;
    use crate::codec::{encode_batch, encode_put};

    /// Found by the soak run of `random_power_cuts_match_the_acknowledged_history`
    /// under reordered writeback: a batch whose later members reached the
    /// disk without an earlier page reads as damage at the *member*, and
    /// cutting the torn tail there kept the batch's first members on disk;
    /// the next batch, written after them with the same sequence numbers,
    /// then made the log unreadable. The cut must be at the group's start.
    #[test]
    fn a_torn_batch_is_cut_off_at_its_start_not_at_the_damaged_member() {
        let mut data = Vec::new();
        encode_put(&mut data, 0, b"a", b"1");
        let batch_start = data.len() as u64;
        let mut batch = WriteBatch::new();
        for k in [b"b", b"c", b"d", b"e"] {
            batch.put(k.to_vec(), vec![7u8; 64]);
        }
        encode_batch(&mut data, 1, &batch);
        encode_put(&mut data, 5, b"f", b"2");
        let damaged = data.len() - 150;
        data[damaged] ^= 0xff;
        let path = Path::new("log");
        let replayed = replay(path, &data, OnDamage::Fail { frontier: 0 }).unwrap();
        assert_eq!(replayed.valid_end, batch_start);
        assert_eq!(replayed.map.len(), 1);
        assert!(replay(path, &data, OnDamage::Fail { frontier: u64::MAX }).is_err());
    }
}
