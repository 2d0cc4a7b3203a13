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

use crate::node::{entry_bytes, key_bytes, shortest_separator, Child, Entry, Node, REF_BYTES};

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

/// Cuts `node` into parts that fit (see the module docs): the first part
/// and, for each further part, the separator before it and the part. A
/// node that fits comes back whole with no further parts.
pub fn cut_node(node: Node, capacity: usize) -> (Node, Vec<(Vec<u8>, Node)>) {
    match node {
        Node::Leaf(entries) => {
            let sizes: Vec<usize> = entries.iter().map(entry_bytes).collect();
            let parts = balanced_parts(&sizes, 3, 1, capacity);
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
            let parts = balanced_parts(&sizes, 3, 2, capacity);
            let piece = |r: &Range<usize>| -> (Vec<Vec<u8>>, Vec<Child>) {
                let k = keys
                    .get(r.start..r.end.saturating_sub(1))
                    .unwrap_or_default()
                    .to_vec();
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
        assert_eq!(
            balanced_parts(&[5000, 5000, 30], 0, 2, NODE_CAPACITY).len(),
            1
        );
    }
}
