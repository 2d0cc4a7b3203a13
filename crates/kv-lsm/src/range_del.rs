//! Range tombstones: one record that deletes every key in `[start, end)`
//! written before it, whatever the number of keys (RocksDB's `DeleteRange`).
//!
//! A [`RangeTombstone`] with sequence number `s` hides every version of a key
//! `start <= key < end` whose sequence number is below `s`, for every reader
//! whose snapshot is at least `s`. It lives in the memtable (beside the
//! point entries), then in the range-del block of the tables
//! (`table/range_del_block.rs`), and travels with them through flushes and
//! compactions. Reads never search for it by level: a version holds every
//! table's tombstones as [`Fragments`], so the rule above is checked by
//! sequence number alone, wherever the tombstone and the key are.
//!
//! Bounds: [`RangeTombstone::from_range`] turns any [`KeyRange`] into a
//! half-open `[start, end)` (`Excluded(s)` starts at `s || 0x00`, the next
//! key; `Included(e)` ends at `e || 0x00`; an unbounded end is `None`).

use std::cmp::Ordering;

use kv_core::codec::{put_varint, LeReader};
use kv_core::limits::check_key;
use kv_core::{CorruptionKind, KeyRange, Result};

/// Largest bound length accepted when decoding (a key plus the `0x00` that
/// makes an excluded start or an included end half-open).
const MAX_BOUND_BYTES: u64 = kv_core::limits::MAX_KEY_BYTES as u64 + 1;

/// Deletes every key in `[start, end)` (`end: None` = no upper bound) older
/// than `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeTombstone {
    /// First key deleted.
    pub start: Vec<u8>,
    /// First key past the range; `None` when the range has no end.
    pub end: Option<Vec<u8>>,
    /// Sequence number of the delete.
    pub seq: u64,
}

fn successor(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 1);
    out.extend_from_slice(key);
    out.push(0);
    out
}

impl RangeTombstone {
    /// The half-open tombstone for `range` (sequence number 0 until the
    /// write path assigns one); `Ok(None)` for a range that holds no key.
    ///
    /// # Errors
    /// `TooLarge` when a bound key is longer than a key may be.
    pub fn from_range(range: &KeyRange) -> Result<Option<Self>> {
        use std::ops::Bound;
        if range.is_empty() {
            return Ok(None);
        }
        for b in [&range.start, &range.end] {
            if let Bound::Included(k) | Bound::Excluded(k) = b {
                check_key(k)?;
            }
        }
        let start = match &range.start {
            Bound::Included(s) => s.clone(),
            Bound::Excluded(s) => successor(s),
            Bound::Unbounded => Vec::new(),
        };
        let end = match &range.end {
            Bound::Included(e) => Some(successor(e)),
            Bound::Excluded(e) => Some(e.clone()),
            Bound::Unbounded => None,
        };
        let out = Self { start, end, seq: 0 };
        Ok((!out.is_empty()).then_some(out))
    }

    /// True when no key lies in `[start, end)`.
    pub fn is_empty(&self) -> bool {
        self.end.as_ref().is_some_and(|e| *e <= self.start)
    }

    /// True if `key` lies in `[start, end)`.
    pub fn contains(&self, key: &[u8]) -> bool {
        key >= self.start.as_slice() && self.end.as_ref().is_none_or(|e| key < e.as_slice())
    }

    /// True if some key of `[smallest, largest]` lies in the range.
    pub fn overlaps(&self, smallest: &[u8], largest: &[u8]) -> bool {
        largest >= self.start.as_slice()
            && self.end.as_ref().is_none_or(|e| smallest < e.as_slice())
    }

    /// Bytes of the bounds (what the write path counts as user bytes).
    pub fn bound_bytes(&self) -> usize {
        self.start.len() + self.end.as_ref().map_or(0, Vec::len)
    }

    /// Appends `| seq | start len | start | has end (u8) | [end len | end] |`
    /// (varints) to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        put_varint(out, self.seq);
        put_varint(out, self.start.len() as u64);
        out.extend_from_slice(&self.start);
        match &self.end {
            Some(e) => {
                out.push(1);
                put_varint(out, e.len() as u64);
                out.extend_from_slice(e);
            }
            None => out.push(0),
        }
    }

    /// Reads one tombstone written by [`RangeTombstone::encode_into`].
    ///
    /// # Errors
    /// The corruption found (cut short, a bound too long, an empty range).
    pub fn decode_from(r: &mut LeReader<'_>) -> std::result::Result<Self, CorruptionKind> {
        let cut = || CorruptionKind::Invariant("range tombstone cut short".into());
        let seq = r.varint().ok_or_else(cut)?;
        let bound = |r: &mut LeReader<'_>| -> std::result::Result<Vec<u8>, CorruptionKind> {
            let len = r.varint().ok_or_else(cut)?;
            if len > MAX_BOUND_BYTES {
                return Err(CorruptionKind::BadLength {
                    got: len,
                    max: MAX_BOUND_BYTES,
                });
            }
            Ok(r.bytes(len as usize).ok_or_else(cut)?.to_vec())
        };
        let start = bound(r)?;
        let end = match r.u8().ok_or_else(cut)? {
            0 => None,
            1 => Some(bound(r)?),
            other => return Err(CorruptionKind::BadKind { got: other }),
        };
        let out = Self { start, end, seq };
        if out.is_empty() {
            return Err(CorruptionKind::Invariant(
                "range tombstone with an empty range".into(),
            ));
        }
        Ok(out)
    }

    /// The encoded tombstone alone.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Decodes exactly one tombstone from `bytes`.
    ///
    /// # Errors
    /// As [`RangeTombstone::decode_from`]; trailing bytes are corruption.
    pub fn decode(bytes: &[u8]) -> std::result::Result<Self, CorruptionKind> {
        let mut r = LeReader::new(bytes);
        let out = Self::decode_from(&mut r)?;
        if !r.is_empty() {
            return Err(CorruptionKind::Invariant(
                "bytes after a range tombstone".into(),
            ));
        }
        Ok(out)
    }
}

/// Range tombstones cut at every bound into disjoint fragments, each with
/// the ascending sequence numbers of the tombstones covering it: a lookup
/// is one binary search, whatever the number of tombstones or of keys they
/// cover.
#[derive(Debug, Clone, Default)]
pub struct Fragments {
    /// Fragment `i` is `[points[i], points[i + 1])`; the last one has no end.
    points: Vec<Vec<u8>>,
    /// Sequence numbers covering fragment `i`, ascending.
    seqs: Vec<Vec<u64>>,
}

impl Fragments {
    /// The fragments of `tombstones`.
    pub fn new<'a>(tombstones: impl IntoIterator<Item = &'a RangeTombstone>) -> Self {
        let list: Vec<&RangeTombstone> = tombstones.into_iter().collect();
        let mut points: Vec<Vec<u8>> = Vec::with_capacity(list.len() * 2);
        for t in &list {
            points.push(t.start.clone());
            if let Some(e) = &t.end {
                points.push(e.clone());
            }
        }
        points.sort();
        points.dedup();
        let mut seqs = vec![Vec::new(); points.len()];
        for t in &list {
            let from = points.partition_point(|p| *p < t.start);
            let to = match &t.end {
                Some(e) => points.partition_point(|p| p < e),
                None => points.len(),
            };
            for s in seqs.iter_mut().take(to).skip(from) {
                s.push(t.seq);
            }
        }
        for s in &mut seqs {
            s.sort_unstable();
            s.dedup();
        }
        Self { points, seqs }
    }

    /// True when there is no tombstone.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Sequence numbers of the tombstones covering `key`, ascending.
    pub fn covering(&self, key: &[u8]) -> &[u64] {
        let i = self.points.partition_point(|p| p.as_slice() <= key);
        match i.checked_sub(1).and_then(|i| self.seqs.get(i)) {
            Some(s) => s,
            None => &[],
        }
    }

    /// The newest tombstone covering `key` that a reader at `snapshot` sees
    /// (0 when none does).
    pub fn newest_visible(&self, key: &[u8], snapshot: u64) -> u64 {
        let seqs = self.covering(key);
        let n = seqs.partition_point(|&s| s <= snapshot);
        n.checked_sub(1)
            .and_then(|i| seqs.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// True if the version (`key`, `seq`) is hidden from every reader that
    /// can still read anything: a tombstone covers it with a larger
    /// sequence number and no live snapshot (ascending) lies in between.
    pub fn hides_for_every_reader(&self, key: &[u8], seq: u64, snapshots: &[u64]) -> bool {
        let seqs = self.covering(key);
        let Some(&newer) = seqs.get(seqs.partition_point(|&s| s <= seq)) else {
            return false;
        };
        let i = snapshots.partition_point(|&s| s < seq);
        snapshots.get(i).is_none_or(|&s| s >= newer)
    }
}

/// Orders tombstones by start, then sequence number descending (the order
/// of the range-del block).
pub fn sort(tombstones: &mut [RangeTombstone]) {
    tombstones.sort_by(|a, b| match a.start.cmp(&b.start) {
        Ordering::Equal => b.seq.cmp(&a.seq),
        other => other,
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rt(start: &[u8], end: Option<&[u8]>, seq: u64) -> RangeTombstone {
        RangeTombstone {
            start: start.to_vec(),
            end: end.map(<[u8]>::to_vec),
            seq,
        }
    }

    #[test]
    fn bounds_become_half_open() {
        let r = RangeTombstone::from_range(&KeyRange::new(b"a".to_vec()..=b"c".to_vec()))
            .unwrap()
            .unwrap();
        assert!(r.contains(b"a") && r.contains(b"c") && !r.contains(b"c\0"));
        let r = RangeTombstone::from_range(&KeyRange {
            start: std::ops::Bound::Excluded(b"a".to_vec()),
            end: std::ops::Bound::Unbounded,
        })
        .unwrap()
        .unwrap();
        assert!(!r.contains(b"a") && r.contains(b"a\0") && r.contains(b"\xff\xff"));
        let empty = KeyRange::new(b"b".to_vec()..b"b".to_vec());
        assert!(RangeTombstone::from_range(&empty).unwrap().is_none());
    }

    #[test]
    fn encoding_round_trips_and_rejects_damage() {
        for t in [rt(b"", None, 7), rt(b"a", Some(b"b"), 1 << 40)] {
            assert_eq!(RangeTombstone::decode(&t.encode()).unwrap(), t);
        }
        assert!(RangeTombstone::decode(&rt(b"b", Some(b"a"), 1).encode()).is_err());
        assert!(RangeTombstone::decode(&[1, 1]).is_err());
    }

    #[test]
    fn fragments_answer_by_sequence_number() {
        let f = Fragments::new(&[rt(b"b", Some(b"f"), 5), rt(b"d", None, 9)]);
        assert_eq!(f.covering(b"a"), &[] as &[u64]);
        assert_eq!(f.covering(b"c"), &[5]);
        assert_eq!(f.covering(b"e"), &[5, 9]);
        assert_eq!(f.covering(b"z"), &[9]);
        assert_eq!(f.newest_visible(b"e", 8), 5);
        assert_eq!(f.newest_visible(b"e", 4), 0);
        assert!(f.hides_for_every_reader(b"c", 3, &[]));
        assert!(!f.hides_for_every_reader(b"c", 3, &[4]));
        assert!(f.hides_for_every_reader(b"c", 3, &[5]));
        assert!(!f.hides_for_every_reader(b"c", 6, &[]));
    }
}
