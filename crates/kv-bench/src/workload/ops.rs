//! The operations a workload produces, the seeded random source every stream
//! draws from, and [`OpStream`], the one type the runner executes.
//!
//! A stream only produces operations on key *indices*; the runner turns an
//! index into key bytes ([`super::keys::KeyFormat`]) and applies the
//! operation to the store. So a stream is a pure function of its seed (and,
//! for YCSB D and E with several threads, of the shared insert counter), and
//! tests can check determinism without any store.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use super::churn::Churn;
use super::db_bench::{Permuted, Sequential, Uniform};
use super::keys::splitmix64;
use super::planned::Planned;
use super::ycsb::Ycsb;

/// One operation on key indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Read the key of this index.
    Get(u64),
    /// Read a key that is absent (see `KeyFormat::write_missing_key`).
    GetMissing(u64),
    /// Write the key of this index with a fresh value.
    Put(u64),
    /// Delete the key of this index.
    Delete(u64),
    /// Seek to the key of `start` and read up to `items` items forward.
    Scan {
        /// Index of the first key.
        start: u64,
        /// Items to read (the seek's own item included).
        items: u32,
    },
    /// Read the key, then write it with a fresh value (YCSB F).
    ReadModifyWrite(u64),
}

impl Op {
    /// True for puts and deletes (the operations a write batch can group).
    pub fn is_plain_write(&self) -> bool {
        matches!(self, Op::Put(_) | Op::Delete(_))
    }
}

/// The seeded generator behind every stream: xoshiro256++, whose output is
/// fixed by its algorithm (not by a library version).
#[derive(Debug, Clone)]
pub struct OpRng(Xoshiro256PlusPlus);

impl OpRng {
    /// A generator for stream `stream` of the run seeded with `seed`.
    pub fn new(seed: u64, stream: u64) -> Self {
        Self(Xoshiro256PlusPlus::seed_from_u64(splitmix64(
            seed ^ splitmix64(stream),
        )))
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        self.0.random_range(0..n)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        self.0.random::<f64>()
    }

    /// Uniform in `low..=high`.
    pub fn between(&mut self, low: u32, high: u32) -> u32 {
        self.0.random_range(low..=high.max(low))
    }
}

/// A finite (or, for a background writer, endless) stream of operations.
#[derive(Debug, Clone)]
pub enum OpStream {
    /// Indices in ascending order.
    Sequential(Sequential),
    /// A shuffled order of indices, each once.
    Permuted(Permuted),
    /// Uniformly random indices, with replacement.
    Uniform(Uniform),
    /// A YCSB core workload.
    Ycsb(Ycsb),
    /// Heavy overwrites and deletes.
    Churn(Churn),
    /// Operations drawn before the clock started (see [`super::planned`]).
    Planned(Planned),
}

impl OpStream {
    /// The next operation, or `None` when the stream is done.
    #[inline]
    pub fn next_op(&mut self) -> Option<Op> {
        match self {
            OpStream::Sequential(s) => s.next_op(),
            OpStream::Permuted(s) => s.next_op(),
            OpStream::Uniform(s) => s.next_op(),
            OpStream::Ycsb(s) => s.next_op(),
            OpStream::Churn(s) => s.next_op(),
            OpStream::Planned(s) => s.next_op(),
        }
    }

    /// Operations this stream will produce (`u64::MAX` for an endless one).
    pub fn planned_ops(&self) -> u64 {
        match self {
            OpStream::Sequential(s) => s.remaining(),
            OpStream::Permuted(s) => s.remaining(),
            OpStream::Uniform(s) => s.remaining(),
            OpStream::Ycsb(s) => s.remaining(),
            OpStream::Churn(s) => s.remaining(),
            OpStream::Planned(s) => s.remaining(),
        }
    }
}

impl Iterator for OpStream {
    type Item = Op;

    fn next(&mut self) -> Option<Op> {
        self.next_op()
    }
}

/// The share of `total` operations thread `thread` of `threads` runs: as
/// equal as possible, the first threads taking the remainder.
pub fn thread_share(total: u64, threads: usize, thread: usize) -> u64 {
    let threads = threads.max(1) as u64;
    let thread = thread as u64;
    total / threads + u64::from(thread < total % threads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up() {
        for (total, threads) in [(10, 3), (0, 4), (7, 1), (5, 8)] {
            let sum: u64 = (0..threads).map(|t| thread_share(total, threads, t)).sum();
            assert_eq!(sum, total);
        }
    }

    #[test]
    fn rng_streams_differ_and_replay() {
        let mut a = OpRng::new(1, 2);
        let mut b = OpRng::new(1, 2);
        let mut c = OpRng::new(1, 3);
        let xs: Vec<_> = (0..10).map(|_| a.below(1000)).collect();
        let ys: Vec<_> = (0..10).map(|_| b.below(1000)).collect();
        let zs: Vec<_> = (0..10).map(|_| c.below(1000)).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
        assert_eq!(a.below(0), 0);
    }
}
