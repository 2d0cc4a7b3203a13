//! The one allocation behind a [`NodeView`](super::NodeView): the search
//! tables, then the node's body as its run holds it.
//!
//! ```text
//! prefixes   p × u64 LE   leaf: key_prefix of each key (p = entries)
//!                         branch: key_prefix of each separator (p = children - 1)
//! offsets    c × u32 LE   leaf: where entry i starts in the body (its key
//!                               length varint; c = entries)
//!                         branch: where child i's 20-byte reference is in
//!                                 the body (c = children)
//! body       the run body (see `node::leaf`, `node::branch`)
//! ```
//!
//! Why one allocation, and this order: a read that reaches a node it has
//! not touched lately pays a cache miss per line it reads. The prefix
//! table is 8 bytes a key in a row (a leaf of 33 keys: five lines, all
//! fetched at once by [`prefixes_below`]'s linear pass), then one offset and
//! the line of the key and value it points at. Two keys with different
//! prefixes are ordered by them (see `key_prefix`), so a search compares
//! whole keys only where prefixes tie: once, at the match, for keys whose
//! first eight bytes differ. A table of 12 bytes an entry instead of a
//! 32-byte slot also lets a cache of a given size hold more leaves.
//!
//! Every offset was checked against the body when the view was built (the
//! body parsed, see `node::leaf::parse`), so the readers below are in
//! bounds for a built layout; they still return empty values instead of
//! panicking on anything else.

use super::{KeySpan, LeafSlot, REF_BYTES};
use crate::node::{key_bytes, varint_len, Child, Seps};

/// Bytes of one prefix in the table.
pub(super) const PREFIX_BYTES: usize = 8;

/// Bytes of one offset in the table.
pub(super) const OFFSET_BYTES: usize = 4;

/// A table range no longer than this is searched by one linear pass (all
/// of its lines requested at once) instead of halving it further: 32
/// prefixes, four cache lines.
const LINEAR_SEARCH_MAX: usize = 32;

/// Bytes of the tables of a node with `prefixes` prefixes and `offsets`
/// offsets (where its body starts in the allocation).
pub(super) fn table_bytes(prefixes: usize, offsets: usize) -> usize {
    prefixes * PREFIX_BYTES + offsets * OFFSET_BYTES
}

/// The allocation of a leaf: its tables from `slots` (what
/// `node::leaf::parse` found in `body`), then `body`.
pub(super) fn build_leaf(body: &[u8], slots: &[LeafSlot]) -> Vec<u8> {
    let table = table_bytes(slots.len(), slots.len());
    let mut data = super::pool::take(table + body.len());
    data.resize(table, 0);
    data.extend_from_slice(body);
    fill_leaf_table(&mut data, slots, 0);
    data
}

thread_local! {
    /// The slot table of the leaf being encoded ([`encode_leaf`]): one
    /// buffer a thread reuses, instead of an allocation per leaf a commit
    /// writes.
    static SLOTS: std::cell::RefCell<Vec<LeafSlot>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The allocation of a leaf of `count` entries and `body_bytes` body
/// bytes that `write` encodes (appending the body to the buffer it is
/// given and each entry's slot to the table, as the encoders of
/// `node::leaf` do), with its entry count: the body is encoded in place
/// after room left for the tables, which are filled from the slots
/// afterwards, so a commit's leaf costs one buffer (from the pool) and no
/// copy of its body. Should `write` produce another number of slots than `count` (a
/// wrong count from the caller), the tables are built for the slots it
/// produced.
pub(super) fn encode_leaf(
    count: usize,
    body_bytes: usize,
    write: impl FnOnce(&mut Vec<u8>, &mut Vec<LeafSlot>),
) -> (Vec<u8>, usize) {
    let table = table_bytes(count, count);
    let mut data = super::pool::take(table + body_bytes);
    data.resize(table, 0);
    SLOTS.with_borrow_mut(|slots| {
        slots.clear();
        write(&mut data, slots);
        if slots.len() != count {
            let body = data.get(table..).unwrap_or_default();
            let moved: Vec<LeafSlot> = slots.iter().map(|s| s.moved(table, 0)).collect();
            return (build_leaf(body, &moved), moved.len());
        }
        fill_leaf_table(&mut data, slots, table);
        (data, count)
    })
}

/// Writes the prefix and offset tables of a leaf at the start of `data`,
/// from `slots`, whose offsets are `base` more than the body offsets the
/// table records.
fn fill_leaf_table(data: &mut [u8], slots: &[LeafSlot], base: usize) {
    let (prefixes, rest) = data.split_at_mut(slots.len() * PREFIX_BYTES);
    for (s, out) in slots.iter().zip(prefixes.chunks_exact_mut(PREFIX_BYTES)) {
        out.copy_from_slice(&s.key.prefix.to_le_bytes());
    }
    let offsets = rest
        .get_mut(..slots.len() * OFFSET_BYTES)
        .unwrap_or_default();
    for (s, out) in slots.iter().zip(offsets.chunks_exact_mut(OFFSET_BYTES)) {
        let start =
            (s.key.span.off as usize).saturating_sub(base + varint_len(u64::from(s.key.span.len)));
        out.copy_from_slice(&(start as u32).to_le_bytes());
    }
}

/// The allocation of a branch with separators `seps` (what
/// `node::branch::parse` found): its tables, then `body`.
/// Child 0's reference follows the count; child `i + 1`'s follows
/// separator `i`.
pub(super) fn build_branch(body: &[u8], seps: &[KeySpan]) -> Vec<u8> {
    let children = seps.len() + 1;
    let mut data = super::pool::take(table_bytes(seps.len(), children) + body.len());
    for s in seps {
        data.extend_from_slice(&s.prefix.to_le_bytes());
    }
    let first = varint_len(children as u64) as u32;
    data.extend_from_slice(&first.to_le_bytes());
    for s in seps {
        data.extend_from_slice(&(s.span.off + s.span.len).to_le_bytes());
    }
    data.extend_from_slice(body);
    data
}

/// The allocation of the branch `keys`, `children` encoded (every child
/// resolved): the tables computed from the separators (their prefixes are
/// kept by [`Seps`], and child `i + 1`'s reference starts where separator
/// `i` ends), then the body encoded in place after them: one buffer and no
/// pass over an encoded body.
pub(super) fn encode_branch(keys: &Seps, children: &[Child]) -> Vec<u8> {
    let n = children.len();
    let seps = n.saturating_sub(1);
    let body_bytes = varint_len(n as u64) + n * REF_BYTES + keys.encoded_bytes();
    let mut data = super::pool::take(table_bytes(seps, n) + body_bytes);
    for i in 0..seps {
        let prefix = keys.prefixes().get(i).copied().unwrap_or_default();
        data.extend_from_slice(&prefix.to_le_bytes());
    }
    let mut at = varint_len(n as u64);
    if n > 0 {
        data.extend_from_slice(&(at as u32).to_le_bytes());
    }
    for i in 0..seps {
        at += REF_BYTES + keys.get(i).map_or(1, |k| key_bytes(k));
        data.extend_from_slice(&(at as u32).to_le_bytes());
    }
    crate::node::branch::encode(keys, children, &mut data);
    data
}

/// Prefix `i` of the table.
#[inline]
pub(super) fn prefix(data: &[u8], i: usize) -> u64 {
    let at = i * PREFIX_BYTES;
    data.get(at..at + PREFIX_BYTES)
        .and_then(|b| <[u8; PREFIX_BYTES]>::try_from(b).ok())
        .map_or(0, u64::from_le_bytes)
}

/// Offset `i` of a table with `prefixes` prefixes.
#[inline]
pub(super) fn offset(data: &[u8], prefixes: usize, i: usize) -> usize {
    let at = prefixes * PREFIX_BYTES + i * OFFSET_BYTES;
    data.get(at..at + OFFSET_BYTES)
        .and_then(|b| <[u8; OFFSET_BYTES]>::try_from(b).ok())
        .map_or(0, |b| u32::from_le_bytes(b) as usize)
}

/// How many of the `count` (ascending) prefixes are below `key_prefix`:
/// halving while the range is long, then one linear pass whose loads do
/// not depend on each other (so their cache misses overlap).
#[inline]
pub(super) fn prefixes_below(data: &[u8], count: usize, key_prefix: u64) -> usize {
    let (mut lo, mut len) = (0, count);
    while len > LINEAR_SEARCH_MAX {
        let half = len / 2;
        if prefix(data, lo + half) < key_prefix {
            lo += half + 1;
            len -= half + 1;
        } else {
            len = half;
        }
    }
    let range = data
        .get(lo * PREFIX_BYTES..(lo + len) * PREFIX_BYTES)
        .unwrap_or_default();
    let below = range
        .chunks_exact(PREFIX_BYTES)
        .map(|b| {
            let p = <[u8; PREFIX_BYTES]>::try_from(b).map_or(0, u64::from_le_bytes);
            usize::from(p < key_prefix)
        })
        .sum::<usize>();
    lo + below
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(prefixes: &[u64]) -> Vec<u8> {
        prefixes.iter().flat_map(|p| p.to_le_bytes()).collect()
    }

    #[test]
    fn prefixes_below_counts_like_a_partition_point() {
        // Long tables (halved first) and short ones, with runs of equal
        // prefixes, probed at, between and beyond every value.
        for n in [0usize, 1, 2, 5, 31, 32, 33, 64, 100, 257] {
            let prefixes: Vec<u64> = (0..n as u64).map(|i| i / 3 * 10 + 5).collect();
            let data = table(&prefixes);
            for probe in 0..(n as u64 / 3 * 10 + 20) {
                let want = prefixes.partition_point(|&p| p < probe);
                assert_eq!(prefixes_below(&data, n, probe), want, "n {n} probe {probe}");
            }
            assert_eq!(prefixes_below(&data, n, u64::MAX), n);
        }
    }

    #[test]
    fn readers_past_the_table_return_zero() {
        let data = table(&[7, 9]);
        assert_eq!(prefix(&data, 1), 9);
        assert_eq!(prefix(&data, 2), 0);
        assert_eq!(offset(&data, 2, 0), 0);
        assert_eq!(offset(&data, 1, 0), 9);
    }
}
