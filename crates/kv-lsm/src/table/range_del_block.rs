//! The range-del block: the range tombstones of one table (table format
//! version 2; a table without range tombstones is written as version 1 and
//! has no such block).
//!
//! ```text
//! | count (varint) | tombstone x count | crc32 (4, seal_block) |
//! tombstone: | seq (varint) | start len (varint) | start | has end (u8: 0 or 1) |
//!            | [end len (varint) | end]   (only when has end = 1) |
//! ```
//!
//! Tombstones are sorted by start, then sequence number descending. The
//! range is `[start, end)`; no end means "to the last key". The block is
//! read and verified (crc32, every field) when the table opens and kept in
//! memory, like the index.
//!
//! A table may hold range tombstones and no point entry (a memtable that
//! held only a `delete_range`). Its properties then say `entries = 0` and
//! its smallest and largest key are both the *anchor* key the writer chose
//! (the smallest start for a flush, the compaction's smallest key for a
//! compaction), so the table still has a place in its level that overlaps
//! no other table of that level.

use kv_core::codec::{put_varint, seal_block, LeReader};
use kv_core::CorruptionKind;

use super::props::Props;
use crate::ikey;
use crate::range_del::{self, RangeTombstone};

/// Most tombstones accepted in one block when decoding.
pub const MAX_RANGE_DELS_PER_TABLE: u64 = 1 << 20;

/// The sealed block holding `tombstones` (sorted here).
pub fn encode(tombstones: &[RangeTombstone]) -> Vec<u8> {
    let mut sorted = tombstones.to_vec();
    range_del::sort(&mut sorted);
    let mut out = Vec::new();
    put_varint(&mut out, sorted.len() as u64);
    for t in &sorted {
        t.encode_into(&mut out);
    }
    seal_block(&mut out);
    out
}

/// Parses a payload (trailer verified and removed).
///
/// # Errors
/// The corruption found: a bad count, a damaged tombstone, tombstones out
/// of order, bytes left over.
pub fn decode(payload: &[u8]) -> Result<Vec<RangeTombstone>, CorruptionKind> {
    let mut r = LeReader::new(payload);
    let count = r
        .varint()
        .ok_or_else(|| CorruptionKind::Invariant("range-del block without a count".into()))?;
    if count == 0 || count > MAX_RANGE_DELS_PER_TABLE {
        return Err(CorruptionKind::BadLength {
            got: count,
            max: MAX_RANGE_DELS_PER_TABLE,
        });
    }
    let mut out: Vec<RangeTombstone> = Vec::new();
    for _ in 0..count {
        let t = RangeTombstone::decode_from(&mut r)?;
        if let Some(prev) = out.last() {
            if (prev.start.as_slice(), std::cmp::Reverse(prev.seq))
                > (t.start.as_slice(), std::cmp::Reverse(t.seq))
            {
                return Err(CorruptionKind::Invariant(
                    "range tombstones out of order".into(),
                ));
            }
        }
        out.push(t);
    }
    if !r.is_empty() {
        return Err(CorruptionKind::Invariant(
            "bytes after the range tombstones".into(),
        ));
    }
    Ok(out)
}

/// Folds the tombstones into the table's properties before they are
/// written: the sequence range covers them, and a table without point
/// entries takes `anchor` as its smallest and largest key.
pub fn fold_into_props(props: &mut Props, tombstones: &[RangeTombstone], anchor: &[u8]) {
    let (Some(min), Some(max)) = (
        tombstones.iter().map(|t| t.seq).min(),
        tombstones.iter().map(|t| t.seq).max(),
    ) else {
        return;
    };
    if props.entries == 0 {
        props.smallest = ikey::encode(anchor, 0, ikey::KIND_DELETE);
        props.largest = props.smallest.clone();
        props.min_seq = min;
        props.max_seq = max;
    } else {
        props.min_seq = props.min_seq.min(min);
        props.max_seq = props.max_seq.max(max);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The worked example of `docs/format-sstable.md` (section 7, range-del block).
    #[test]
    fn worked_example_matches_the_doc() {
        let t = RangeTombstone {
            start: b"a".to_vec(),
            end: Some(b"c".to_vec()),
            seq: 9,
        };
        let sealed = encode(&[t]);
        assert_eq!(&sealed[..7], &[0x01, 0x09, 0x01, 0x61, 0x01, 0x01, 0x63]);
        assert_eq!(sealed.len(), 7 + 4);
    }

    #[test]
    fn block_round_trips_sorted() {
        let a = RangeTombstone {
            start: b"m".to_vec(),
            end: None,
            seq: 3,
        };
        let b = RangeTombstone {
            start: b"a".to_vec(),
            end: Some(b"c".to_vec()),
            seq: 9,
        };
        let sealed = encode(&[a.clone(), b.clone()]);
        let payload = kv_core::codec::open_block(&sealed, std::path::Path::new("t"), 0).unwrap();
        assert_eq!(decode(payload).unwrap(), vec![b, a]);
        assert!(decode(&[0]).is_err());
        assert!(decode(&[]).is_err());
    }
}
