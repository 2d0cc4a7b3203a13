//! Where to cut an over-full node, and how to re-cut two siblings after a
//! delete (merge when they fit in one node, rebalance when they do not).
//!
//! Both use one rule: cut a sequence of items (leaf entries, or branch
//! children with their separators) into parts of at most
//! the node capacity ([`crate::node::Shape`]), each cut at the byte midpoint of what it
//! divides, so the parts are as even as the item sizes allow. A part that
//! holds a single item larger than a page (a maximum-size key) stays whole
//! and is written as a run of two pages.

use std::ops::Range;

use crate::node::{
    entry_bytes, key_bytes, shortest_separator, Bytes, Child, Entry, Node, Seps, REF_BYTES,
};

/// Cuts items of the given encoded sizes into ranges of at most
/// `capacity` bytes (`overhead` added to each part), each part holding at
/// least `min_items` items.
pub fn balanced_parts(
    sizes: &[usize],
    overhead: usize,
    min_items: usize,
    capacity: usize,
) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let limits = (overhead, min_items.max(1), capacity);
    cut(sizes, 0, limits, &mut out);
    out
}

fn cut(sizes: &[usize], base: usize, limits: (usize, usize, usize), out: &mut Vec<Range<usize>>) {
    let (overhead, min, capacity) = limits;
    let total: usize = sizes.iter().sum::<usize>() + overhead;
    if total <= capacity || sizes.len() < 2 * min {
        out.push(base..base + sizes.len());
        return;
    }
    let half = total / 2;
    let mut best = min;
    let mut best_gap = usize::MAX;
    let mut prefix = overhead;
    for (i, s) in sizes.iter().enumerate() {
        let m = i + 1;
        prefix += s;
        if m < min || sizes.len() - m < min {
            continue;
        }
        let gap = prefix.abs_diff(half);
        if gap < best_gap {
            best_gap = gap;
            best = m;
        }
    }
    let (left, right) = sizes.split_at(best);
    cut(left, base, limits, out);
    cut(right, base + best, limits, out);
}

/// Cuts items as [`balanced_parts`] does, except that the first part is
/// as full as `capacity` allows (keeping at least `min_items` items for
/// the rest), and only the rest is cut evenly: the cut for a node that
/// overflowed because a key was appended at the right end of the tree.
/// Ascending inserts then leave every node but the rightmost full, where
/// a middle cut would leave them half full (SQLite's "quick balance" of
/// the rightmost leaf; LMDB's split point under `MDB_APPEND`).
pub fn append_parts(
    sizes: &[usize],
    overhead: usize,
    min_items: usize,
    capacity: usize,
) -> Vec<Range<usize>> {
    let min = min_items.max(1);
    let total: usize = sizes.iter().sum::<usize>() + overhead;
    if total <= capacity || sizes.len() < 2 * min {
        return balanced_parts(sizes, overhead, min, capacity);
    }
    let mut fill = overhead;
    let mut first = 0;
    for (i, s) in sizes.iter().enumerate() {
        if fill + s > capacity || sizes.len() - i <= min {
            break;
        }
        fill += s;
        first = i + 1;
    }
    let first = first.max(min);
    let rest = sizes.get(first..).unwrap_or_default();
    let shifted = balanced_parts(rest, overhead, min, capacity)
        .into_iter()
        .map(|r| r.start + first..r.end + first);
    std::iter::once(0..first).chain(shifted).collect()
}

/// How to cut a node that outgrew its page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// At the byte midpoints ([`balanced_parts`]).
    Even,
    /// The first part full ([`append_parts`]), for an append at the right
    /// end of the tree.
    Append,
}

/// Cuts `node` into parts that fit (see the module docs): the first part
/// and, for each further part, the separator before it and the part. A
/// node that fits comes back whole with no further parts.
pub fn cut_node(node: Node, capacity: usize) -> (Node, Vec<(Bytes, Node)>) {
    cut_node_as(node, capacity, Cut::Even)
}

/// As [`cut_node`], with the cut `how`.
pub fn cut_node_as(node: Node, capacity: usize, how: Cut) -> (Node, Vec<(Bytes, Node)>) {
    let parts = |sizes: &[usize], min: usize| match how {
        Cut::Even => balanced_parts(sizes, 3, min, capacity),
        Cut::Append => append_parts(sizes, 3, min, capacity),
    };
    match node {
        Node::Patched(p) => cut_node_as(Node::Leaf(p.into_entries()), capacity, how),
        Node::Leaf(entries) => {
            let sizes: Vec<usize> = entries.iter().map(entry_bytes).collect();
            let parts = parts(&sizes, 1);
            let mut pieces: Vec<Vec<Entry>> = Vec::with_capacity(parts.len());
            let mut rest = entries;
            for p in parts.iter().rev() {
                pieces.push(rest.split_off(p.start));
            }
            pieces.reverse();
            let mut iter = pieces.into_iter();
            let first = iter.next().unwrap_or_default();
            let mut prev_last = first.last().map(|e| e.key.clone()).unwrap_or_default();
            let mut out = Vec::new();
            for piece in iter {
                let first_key = piece.first().map(|e| e.key.clone()).unwrap_or_default();
                let sep = shortest_separator(&prev_last, &first_key);
                prev_last = piece.last().map(|e| e.key.clone()).unwrap_or_default();
                out.push((sep, Node::Leaf(piece)));
            }
            (Node::Leaf(first), out)
        }
        Node::Branch { keys, children } => {
            let sizes: Vec<usize> = (0..children.len())
                .map(|i| {
                    REF_BYTES
                        + if i > 0 {
                            keys.get(i - 1).map_or(0, |k| key_bytes(k))
                        } else {
                            0
                        }
                })
                .collect();
            let parts = parts(&sizes, 2);
            let piece = |r: &Range<usize>| -> (Seps, Vec<Child>) {
                let k = keys
                    .get(r.start..r.end.saturating_sub(1))
                    .unwrap_or_default()
                    .iter()
                    .cloned()
                    .collect();
                let c = children.get(r.clone()).unwrap_or_default().to_vec();
                (k, c)
            };
            let mut iter = parts.iter();
            let first = iter.next().map(piece).unwrap_or_default();
            let out = iter
                .map(|r| {
                    let sep = r
                        .start
                        .checked_sub(1)
                        .and_then(|i| keys.get(i))
                        .cloned()
                        .unwrap_or_default();
                    let (keys, children) = piece(r);
                    (sep, Node::Branch { keys, children })
                })
                .collect();
            (
                Node::Branch {
                    keys: first.0,
                    children: first.1,
                },
                out,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::NODE_CAPACITY;

    #[test]
    fn parts_fit_and_cover_everything() {
        let sizes: Vec<usize> = (0..200).map(|i| 10 + (i * 37) % 300).collect();
        let parts = balanced_parts(&sizes, 4, 1, NODE_CAPACITY);
        assert!(parts.len() > 1);
        let mut next = 0;
        for p in &parts {
            assert_eq!(p.start, next);
            next = p.end;
            assert!(sizes[p.clone()].iter().sum::<usize>() + 4 <= NODE_CAPACITY);
        }
        assert_eq!(next, sizes.len());
        assert_eq!(balanced_parts(&[5000, 5000], 0, 1, NODE_CAPACITY).len(), 2);
        assert_eq!(append_parts(&[5000, 5000], 0, 1, NODE_CAPACITY).len(), 2);
        assert_eq!(
            balanced_parts(&[5000, 5000, 30], 0, 2, NODE_CAPACITY).len(),
            1
        );
    }

    #[test]
    fn an_append_cut_fills_the_left_part() {
        let sizes = vec![120; 34];
        let total: usize = sizes.iter().sum::<usize>() + 3;
        assert!(total > NODE_CAPACITY);
        let parts = append_parts(&sizes, 3, 1, NODE_CAPACITY);
        assert_eq!(
            parts,
            vec![0..33, 33..34],
            "all but the appended entry stay left"
        );
        let parts = append_parts(&sizes, 3, 2, NODE_CAPACITY);
        assert_eq!(parts, vec![0..32, 32..34], "the right part keeps min_items");
        let even = balanced_parts(&sizes, 3, 1, NODE_CAPACITY);
        assert_eq!(even, vec![0..17, 17..34]);
        let small = append_parts(&[100; 5], 3, 1, NODE_CAPACITY);
        assert_eq!(small, vec![0..5], "a node that fits stays whole");
    }
}
