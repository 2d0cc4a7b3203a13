//! The streams behind the db_bench-style workloads (LevelDB's `db_bench`):
//! sequential, shuffled and uniformly random key indices.

use std::sync::Arc;

use super::ops::{Op, OpRng};

/// Which operation a stream applies to each index it draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexOp {
    /// [`Op::Get`].
    Get,
    /// [`Op::GetMissing`].
    GetMissing,
    /// [`Op::Put`].
    Put,
    /// [`Op::Delete`].
    Delete,
    /// [`Op::Scan`] of this many items.
    Scan(u32),
}

impl IndexOp {
    #[inline]
    fn on(self, index: u64) -> Op {
        match self {
            IndexOp::Get => Op::Get(index),
            IndexOp::GetMissing => Op::GetMissing(index),
            IndexOp::Put => Op::Put(index),
            IndexOp::Delete => Op::Delete(index),
            IndexOp::Scan(items) => Op::Scan {
                start: index,
                items,
            },
        }
    }
}

/// Indices `start, start + 1, ..., end - 1`, each with the same operation.
#[derive(Debug, Clone)]
pub struct Sequential {
    next: u64,
    end: u64,
    op: IndexOp,
}

impl Sequential {
    /// The stream over `start..end`.
    pub fn new(start: u64, end: u64, op: IndexOp) -> Self {
        Self {
            next: start,
            end,
            op,
        }
    }

    /// The next operation.
    #[inline]
    pub fn next_op(&mut self) -> Option<Op> {
        (self.next < self.end).then(|| {
            self.next += 1;
            self.op.on(self.next - 1)
        })
    }

    /// Operations left.
    pub fn remaining(&self) -> u64 {
        self.end.saturating_sub(self.next)
    }
}

/// A seeded random permutation of `0..n` (Fisher-Yates). Indices are `u32`
/// to halve its size; the harness limits `--num` accordingly.
pub fn permutation(rng: &mut OpRng, n: u32) -> Vec<u32> {
    let mut order: Vec<u32> = (0..n).collect();
    for i in (1..order.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order
}

/// The first `len` entries of a shared permutation, each once.
#[derive(Debug, Clone)]
pub struct Permuted {
    order: Arc<[u32]>,
    pos: usize,
    end: usize,
    op: IndexOp,
}

impl Permuted {
    /// Walks `order[..len]` (clamped to the permutation's length).
    pub fn new(order: Arc<[u32]>, len: u64, op: IndexOp) -> Self {
        let end = order.len().min(usize::try_from(len).unwrap_or(usize::MAX));
        Self {
            order,
            pos: 0,
            end,
            op,
        }
    }

    /// The next operation.
    #[inline]
    pub fn next_op(&mut self) -> Option<Op> {
        let index = *self.order.get(self.pos).filter(|_| self.pos < self.end)?;
        self.pos += 1;
        Some(self.op.on(u64::from(index)))
    }

    /// Walks `order[start..end]` (both clamped to the permutation's
    /// length): one thread's share of a shuffled order that several threads
    /// split between them.
    pub fn slice(order: Arc<[u32]>, start: u64, end: u64, op: IndexOp) -> Self {
        let len = order.len();
        let clamp = |i: u64| len.min(usize::try_from(i).unwrap_or(usize::MAX));
        let end = clamp(end);
        Self {
            order,
            pos: clamp(start).min(end),
            end,
            op,
        }
    }

    /// Operations left.
    pub fn remaining(&self) -> u64 {
        (self.end - self.pos) as u64
    }
}

/// `count` uniformly random indices in `0..keys`, with replacement.
#[derive(Debug, Clone)]
pub struct Uniform {
    rng: OpRng,
    keys: u64,
    remaining: u64,
    op: IndexOp,
}

impl Uniform {
    /// The stream; `count = u64::MAX` makes it endless (a background writer).
    pub fn new(rng: OpRng, keys: u64, count: u64, op: IndexOp) -> Self {
        Self {
            rng,
            keys,
            remaining: count,
            op,
        }
    }

    /// The next operation.
    #[inline]
    pub fn next_op(&mut self) -> Option<Op> {
        if self.remaining == 0 {
            return None;
        }
        if self.remaining != u64::MAX {
            self.remaining -= 1;
        }
        Some(self.op.on(self.rng.below(self.keys)))
    }

    /// Operations left (`u64::MAX`: endless).
    pub fn remaining(&self) -> u64 {
        self.remaining
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_permutation_and_seeded() {
        let a = permutation(&mut OpRng::new(5, 0), 1000);
        let b = permutation(&mut OpRng::new(5, 0), 1000);
        let c = permutation(&mut OpRng::new(6, 0), 1000);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
        assert_ne!(a, sorted, "shuffled");
    }

    #[test]
    fn streams_produce_what_they_plan() {
        let mut seq = Sequential::new(3, 6, IndexOp::Put);
        assert_eq!(seq.remaining(), 3);
        let ops: Vec<_> = std::iter::from_fn(|| seq.next_op()).collect();
        assert_eq!(ops, vec![Op::Put(3), Op::Put(4), Op::Put(5)]);
        let order: Arc<[u32]> = vec![2, 0, 1].into();
        let mut p = Permuted::new(order, 2, IndexOp::Delete);
        let ops: Vec<_> = std::iter::from_fn(|| p.next_op()).collect();
        assert_eq!(ops, vec![Op::Delete(2), Op::Delete(0)]);
        let mut u = Uniform::new(OpRng::new(1, 1), 10, 100, IndexOp::Get);
        let ops: Vec<_> = std::iter::from_fn(|| u.next_op()).collect();
        assert_eq!(ops.len(), 100);
        assert!(ops.iter().all(|op| matches!(op, Op::Get(i) if *i < 10)));
    }
}
