//! `churn`: heavy overwrites and deletes over the loaded key space, to make
//! dead data that merge and compaction have to reclaim.
//!
//! Each operation picks a uniformly random index in `0..keys`: 75% of them
//! write a fresh value (an overwrite, or a re-insert of a deleted key), 25%
//! delete it. The live fraction settles at about 75%, while every operation
//! leaves a dead record (old value or tombstone) behind in a log-structured
//! engine.

use super::ops::{Op, OpRng};

/// Percent of churn operations that are puts; the rest are deletes.
pub const CHURN_PUT_PERCENT: u64 = 75;

/// The churn stream.
#[derive(Debug, Clone)]
pub struct Churn {
    rng: OpRng,
    keys: u64,
    remaining: u64,
}

impl Churn {
    /// `count` operations over indices `0..keys`.
    pub fn new(rng: OpRng, keys: u64, count: u64) -> Self {
        Self {
            rng,
            keys,
            remaining: count,
        }
    }

    /// The next operation.
    #[inline]
    pub fn next_op(&mut self) -> Option<Op> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let index = self.rng.below(self.keys);
        Some(if self.rng.below(100) < CHURN_PUT_PERCENT {
            Op::Put(index)
        } else {
            Op::Delete(index)
        })
    }

    /// Operations left.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn churn_mixes_puts_and_deletes() {
        let mut churn = Churn::new(OpRng::new(4, 4), 100, 4000);
        let ops: Vec<_> = std::iter::from_fn(|| churn.next_op()).collect();
        let deletes = ops.iter().filter(|op| matches!(op, Op::Delete(_))).count();
        assert_eq!(ops.len(), 4000);
        assert!((800..1200).contains(&deletes), "{deletes}");
        assert!(ops
            .iter()
            .all(|op| matches!(op, Op::Put(i) | Op::Delete(i) if *i < 100)));
    }
}
