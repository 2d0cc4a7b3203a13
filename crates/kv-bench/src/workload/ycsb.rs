//! The YCSB core workloads A-F (Cooper et al., "Benchmarking Cloud Serving
//! Systems with YCSB", 2010), over a store loaded with `records` keys.
//!
//! | workload | mix | key choice |
//! |---|---|---|
//! | A | 50% read, 50% update | scrambled zipfian |
//! | B | 95% read, 5% update | scrambled zipfian |
//! | C | 100% read | scrambled zipfian |
//! | D | 95% read, 5% insert | latest: zipfian over recency, newest first |
//! | E | 95% scan (1-100 items, uniform), 5% insert | scrambled zipfian start |
//! | F | 50% read, 50% read-modify-write | scrambled zipfian |
//!
//! The zipfian constant is 0.99. An update writes a whole new value (YCSB
//! updates one field of ten; our values are opaque). Inserts take new indices
//! from a counter shared by every thread, starting at `records`; with one
//! thread the stream is fully determined by the seed, with several the
//! interleaving of inserts decides which thread gets which index.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use super::ops::{Op, OpRng};
use super::zipfian::{scramble, Zipfian};

/// Longest YCSB E scan, in items.
pub const MAX_SCAN_ITEMS: u32 = 100;

/// Which YCSB core workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YcsbMix {
    /// 50% read, 50% update.
    A,
    /// 95% read, 5% update.
    B,
    /// 100% read.
    C,
    /// 95% read of the latest keys, 5% insert.
    D,
    /// 95% short scan, 5% insert.
    E,
    /// 50% read, 50% read-modify-write.
    F,
}

impl YcsbMix {
    /// True if the mix inserts new keys.
    pub fn inserts(self) -> bool {
        matches!(self, YcsbMix::D | YcsbMix::E)
    }
}

/// Where inserts take their indices from, shared by every thread of a run.
#[derive(Debug, Clone)]
pub struct InsertCounter {
    next: Arc<AtomicU64>,
    limit: u64,
}

impl InsertCounter {
    /// Hands out `first..limit`.
    pub fn new(first: u64, limit: u64) -> Self {
        Self {
            next: Arc::new(AtomicU64::new(first)),
            limit,
        }
    }

    /// A new index, or `None` when the range is used up.
    pub fn take(&self) -> Option<u64> {
        let index = self.next.fetch_add(1, Relaxed);
        (index < self.limit).then_some(index)
    }

    /// The next index that will be handed out (one past the newest).
    pub fn peek(&self) -> u64 {
        self.next.load(Relaxed).min(self.limit)
    }
}

/// One thread's stream of a YCSB workload.
#[derive(Debug, Clone)]
pub struct Ycsb {
    mix: YcsbMix,
    rng: OpRng,
    zipf: Arc<Zipfian>,
    records: u64,
    inserts: InsertCounter,
    remaining: u64,
}

impl Ycsb {
    /// `count` operations of `mix` over `records` loaded keys.
    pub fn new(
        mix: YcsbMix,
        rng: OpRng,
        zipf: Arc<Zipfian>,
        records: u64,
        inserts: InsertCounter,
        count: u64,
    ) -> Self {
        Self {
            mix,
            rng,
            zipf,
            records,
            inserts,
            remaining: count,
        }
    }

    fn hot_key(&mut self) -> u64 {
        let rank = self.zipf.sample(self.rng.unit());
        scramble(rank, self.records)
    }

    fn latest_key(&mut self) -> u64 {
        let newest = self.inserts.peek().saturating_sub(1);
        newest.saturating_sub(self.zipf.sample(self.rng.unit()))
    }

    fn insert_or(&mut self, fallback: Op) -> Op {
        self.inserts.take().map_or(fallback, Op::Put)
    }

    /// The next operation.
    pub fn next_op(&mut self) -> Option<Op> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let roll = self.rng.below(100);
        let op = match self.mix {
            YcsbMix::A | YcsbMix::B => {
                let reads = if self.mix == YcsbMix::A { 50 } else { 95 };
                let key = self.hot_key();
                if roll < reads {
                    Op::Get(key)
                } else {
                    Op::Put(key)
                }
            }
            YcsbMix::C => Op::Get(self.hot_key()),
            YcsbMix::D => {
                let key = self.latest_key();
                if roll < 95 {
                    Op::Get(key)
                } else {
                    self.insert_or(Op::Get(key))
                }
            }
            YcsbMix::E => {
                let start = self.hot_key();
                let items = self.rng.between(1, MAX_SCAN_ITEMS);
                let scan = Op::Scan { start, items };
                if roll < 95 {
                    scan
                } else {
                    self.insert_or(scan)
                }
            }
            YcsbMix::F => {
                let key = self.hot_key();
                if roll < 50 {
                    Op::Get(key)
                } else {
                    Op::ReadModifyWrite(key)
                }
            }
        };
        Some(op)
    }

    /// Operations left.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// The mix this stream draws from.
    pub fn mix(&self) -> YcsbMix {
        self.mix
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::zipfian::YCSB_ZIPFIAN_CONSTANT;

    fn stream(mix: YcsbMix, seed: u64) -> Ycsb {
        let zipf = Arc::new(Zipfian::new(1000, YCSB_ZIPFIAN_CONSTANT));
        Ycsb::new(
            mix,
            OpRng::new(seed, 0),
            zipf,
            1000,
            InsertCounter::new(1000, 3000),
            10_000,
        )
    }

    #[test]
    fn mixes_have_their_proportions() {
        let count = |mix, pred: fn(&Op) -> bool| {
            let mut s = stream(mix, 3);
            std::iter::from_fn(|| s.next_op()).filter(pred).count()
        };
        let a_reads = count(YcsbMix::A, |op| matches!(op, Op::Get(_)));
        assert!((4500..5500).contains(&a_reads), "{a_reads}");
        let b_updates = count(YcsbMix::B, |op| matches!(op, Op::Put(_)));
        assert!((300..700).contains(&b_updates), "{b_updates}");
        assert_eq!(count(YcsbMix::C, |op| matches!(op, Op::Get(_))), 10_000);
        let e_scans = count(
            YcsbMix::E,
            |op| matches!(op, Op::Scan { items, .. } if (1..=MAX_SCAN_ITEMS).contains(items)),
        );
        assert!((9300..9700).contains(&e_scans), "{e_scans}");
        let f_rmw = count(YcsbMix::F, |op| matches!(op, Op::ReadModifyWrite(_)));
        assert!((4500..5500).contains(&f_rmw), "{f_rmw}");
    }

    #[test]
    fn d_inserts_new_keys_and_reads_the_latest() {
        let mut s = stream(YcsbMix::D, 9);
        let ops: Vec<_> = std::iter::from_fn(|| s.next_op()).collect();
        let inserts: Vec<u64> = ops
            .iter()
            .filter_map(|op| match op {
                Op::Put(i) => Some(*i),
                _ => None,
            })
            .collect();
        assert!(!inserts.is_empty());
        assert!(inserts.windows(2).all(|w| w[1] == w[0] + 1) && inserts[0] == 1000);
        // Reads favour the newest keys: measured against the newest key at
        // the time of each read, most reads land within the 100 newest.
        let mut newest = 999;
        let (mut recent, mut reads) = (0, 0);
        for op in &ops {
            match *op {
                Op::Put(i) => newest = i,
                Op::Get(i) => {
                    reads += 1;
                    recent += usize::from(newest - i < 100);
                }
                _ => {}
            }
        }
        assert!(recent * 2 > reads, "{recent} of {reads}");
    }

    #[test]
    fn inserts_stop_at_the_limit() {
        let counter = InsertCounter::new(5, 7);
        assert_eq!(
            (counter.take(), counter.take(), counter.take()),
            (Some(5), Some(6), None)
        );
        assert_eq!(counter.peek(), 7);
    }
}
