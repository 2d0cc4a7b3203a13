//! Seeded, deterministic workloads: the db_bench phases, YCSB A-F and churn.
//!
//! # Phase dependencies
//!
//! Every workload declares what it [`Needs`]:
//!
//! - [`Needs::EmptyStore`]: the fills (`fillseq`, `fillrandom`, `fillsync`)
//!   run on a fresh, empty store;
//! - [`Needs::LoadedStore`]: everything else runs on a store that holds every
//!   key index `0..num`.
//!
//! The runner runs the chosen workloads in the canonical order of [`ALL`]
//! (whatever order they were given in), tracks which indices are live in a
//! bitset, and before a workload that needs a loaded store checks that every
//! index `0..num` is live; if not (no fill ran, `fillsync` wrote only a few
//! keys, or `deleterandom` removed some) it starts a fresh store and loads it
//! with an untimed `fillseq`. So one load serves every read workload, and the
//! destructive workloads (`deleterandom`, `churn`) come last.

pub mod churn;
pub mod db_bench;
pub mod keys;
pub mod live;
pub mod ops;
pub mod planned;
pub mod ycsb;
pub mod zipfian;

use std::sync::Arc;

use kv_core::{Direction, SyncPolicy};
use serde::{Deserialize, Serialize};

use self::churn::Churn;
use self::db_bench::{permutation, IndexOp, Permuted, Sequential, Uniform};
use self::ops::{thread_share, OpRng, OpStream};
use self::ycsb::{InsertCounter, Ycsb, YcsbMix};
use self::zipfian::{Zipfian, YCSB_ZIPFIAN_CONSTANT};

/// A benchmark workload. The declaration order is the canonical run order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Workload {
    /// Random-order puts of a small count, every write synced.
    FillSync,
    /// Puts of every key in ascending order into an empty store.
    FillSeq,
    /// Puts of every key in a shuffled order (each once) into an empty store.
    FillRandom,
    /// `num` puts of uniformly random existing keys.
    Overwrite,
    /// [`STEADY_OVERWRITE_FACTOR`] × `num` puts of uniformly random existing
    /// keys: long enough (three times the data) for compaction or merging to
    /// reach its steady state, so its write amplification is the engine's
    /// sustained cost, not the first pass.
    OverwriteSteady,
    /// `num` gets of uniformly random existing keys.
    ReadRandom,
    /// `num` gets of absent keys that sort next to existing ones.
    ReadMissing,
    /// One forward scan over the whole store.
    ReadSeq,
    /// One reverse scan over the whole store.
    ReadReverse,
    /// `num` seeks to random keys, each followed by `--seek-nexts` nexts.
    SeekRandom,
    /// `num` random gets by `--threads` readers while one writer overwrites.
    ReadWhileWriting,
    /// YCSB A: 50% read, 50% update.
    YcsbA,
    /// YCSB B: 95% read, 5% update.
    YcsbB,
    /// YCSB C: read only.
    YcsbC,
    /// YCSB F: 50% read, 50% read-modify-write.
    YcsbF,
    /// YCSB D: 95% read latest, 5% insert.
    YcsbD,
    /// YCSB E: 95% short scans, 5% insert.
    YcsbE,
    /// `num` deletes of uniformly random keys (with replacement).
    DeleteRandom,
    /// `num` operations: 75% overwrite, 25% delete, uniformly random.
    Churn,
}

/// Every workload, in canonical run order.
pub const ALL: [Workload; 19] = [
    Workload::FillSync,
    Workload::FillSeq,
    Workload::FillRandom,
    Workload::Overwrite,
    Workload::OverwriteSteady,
    Workload::ReadRandom,
    Workload::ReadMissing,
    Workload::ReadSeq,
    Workload::ReadReverse,
    Workload::SeekRandom,
    Workload::ReadWhileWriting,
    Workload::YcsbA,
    Workload::YcsbB,
    Workload::YcsbC,
    Workload::YcsbF,
    Workload::YcsbD,
    Workload::YcsbE,
    Workload::DeleteRandom,
    Workload::Churn,
];

/// The workloads of the default comparison.
pub const DEFAULT: [Workload; 13] = [
    Workload::FillSync,
    Workload::FillSeq,
    Workload::FillRandom,
    Workload::Overwrite,
    Workload::OverwriteSteady,
    Workload::ReadRandom,
    Workload::ReadMissing,
    Workload::ReadSeq,
    Workload::SeekRandom,
    Workload::ReadWhileWriting,
    Workload::YcsbA,
    Workload::YcsbB,
    Workload::Churn,
];

/// Puts of `overwrite3x` per loaded key: at least three times the data.
pub const STEADY_OVERWRITE_FACTOR: u64 = 3;

/// What a workload needs before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// A fresh, empty store.
    EmptyStore,
    /// A store holding every key index `0..num`.
    LoadedStore,
}

/// How the runner drives a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One [`OpStream`] per thread.
    Streams,
    /// One scan over the whole store; each item is one operation.
    FullScan(Direction),
    /// Reader streams plus one background writer that runs until they finish.
    ReadersWithWriter,
}

/// The settings every workload is sized by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadConfig {
    /// Keys in the loaded store; operations per workload.
    pub num: u64,
    /// Bytes per key.
    pub key_size: usize,
    /// Bytes per value.
    pub value_size: usize,
    /// Puts and deletes per write batch (1: no batches).
    pub batch: usize,
    /// Threads of the multi-threaded workloads (in a `--threads` sweep: the
    /// count of the current run).
    pub threads: usize,
    /// `--threads`: each threaded workload (see [`Workload::is_threaded`])
    /// runs once per count, in this order; `threads` starts as the first.
    /// Empty in JSON written before the list existed: `threads` alone.
    #[serde(default)]
    pub thread_counts: Vec<usize>,
    /// The seed every stream derives from.
    pub seed: u64,
    /// Items read after each seek of `seekrandom`.
    pub seek_nexts: u32,
    /// Operations of `fillsync`.
    pub sync_ops: u64,
    /// Operations of each random-read workload (readrandom, readmissing,
    /// seekrandom), db_bench's `--reads`; `None`: `num`. Keys are still
    /// drawn from all `num`.
    #[serde(default)]
    pub reads: Option<u64>,
    /// Cap on the measured time of one workload in seconds, if any.
    pub duration_secs: Option<f64>,
}

/// Default `--num`: keys in the loaded store and operations per workload.
///
/// 50,000 keys of 16 + 100 bytes (5.8 MB of data) keep the quiet default
/// run near two minutes (the arithmetic is in docs/benchmarking.md,
/// "Measured durations"); the data stays far below the 64 MiB cache budget
/// and the LSM's 64 MiB memtable, as it already was at 200,000 keys (23 MB).
pub const DEFAULT_NUM: u64 = 50_000;

impl Default for WorkloadConfig {
    fn default() -> Self {
        Self {
            num: DEFAULT_NUM,
            key_size: 16,
            value_size: 100,
            batch: 1,
            threads: 1,
            thread_counts: Vec::new(),
            seed: 42,
            seek_nexts: 10,
            sync_ops: 2_000,
            reads: None,
            duration_secs: None,
        }
    }
}

impl WorkloadConfig {
    /// Operations of readrandom, readmissing and seekrandom: `reads`, or
    /// `num` when it is not set.
    pub fn read_ops(&self) -> u64 {
        self.reads.unwrap_or(self.num)
    }
}

impl Workload {
    /// True for the workloads whose operation count is
    /// [`WorkloadConfig::read_ops`].
    pub fn counts_reads(self) -> bool {
        matches!(
            self,
            Workload::ReadRandom | Workload::ReadMissing | Workload::SeekRandom
        )
    }

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Workload::FillSync => "fillsync",
            Workload::FillSeq => "fillseq",
            Workload::FillRandom => "fillrandom",
            Workload::Overwrite => "overwrite",
            Workload::OverwriteSteady => "overwrite3x",
            Workload::ReadRandom => "readrandom",
            Workload::ReadMissing => "readmissing",
            Workload::ReadSeq => "readseq",
            Workload::ReadReverse => "readreverse",
            Workload::SeekRandom => "seekrandom",
            Workload::ReadWhileWriting => "readwhilewriting",
            Workload::YcsbA => "ycsb-a",
            Workload::YcsbB => "ycsb-b",
            Workload::YcsbC => "ycsb-c",
            Workload::YcsbF => "ycsb-f",
            Workload::YcsbD => "ycsb-d",
            Workload::YcsbE => "ycsb-e",
            Workload::DeleteRandom => "deleterandom",
            Workload::Churn => "churn",
        }
    }

    /// The workload called `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        ALL.into_iter().find(|w| w.name() == name)
    }

    /// Every workload name, comma-separated.
    pub fn names() -> String {
        ALL.map(Workload::name).join(", ")
    }

    /// Parses a comma-separated list (`all` and `default` stand for those
    /// sets) into canonical order without duplicates.
    ///
    /// # Errors
    /// A one-line message naming the unknown workload and the known ones.
    pub fn parse_list(text: &str) -> Result<Vec<Workload>, String> {
        let mut out = Vec::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "all" => out.extend(ALL),
                "default" => out.extend(DEFAULT),
                _ => out.push(Workload::from_name(name).ok_or_else(|| {
                    format!(
                        "unknown workload '{name}'; available: {}, or all, default",
                        Workload::names()
                    )
                })?),
            }
        }
        if out.is_empty() {
            return Err("no workload given".into());
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// What the store must hold before this workload.
    pub fn needs(self) -> Needs {
        match self {
            Workload::FillSync | Workload::FillSeq | Workload::FillRandom => Needs::EmptyStore,
            _ => Needs::LoadedStore,
        }
    }

    /// How the runner drives it.
    pub fn shape(self) -> Shape {
        match self {
            Workload::ReadSeq => Shape::FullScan(Direction::Forward),
            Workload::ReadReverse => Shape::FullScan(Direction::Reverse),
            Workload::ReadWhileWriting => Shape::ReadersWithWriter,
            _ => Shape::Streams,
        }
    }

    /// The sync policy this workload forces, if any (`fillsync`: `Always`).
    pub fn forced_sync(self) -> Option<SyncPolicy> {
        (self == Workload::FillSync).then_some(SyncPolicy::Always)
    }

    /// True if its puts and deletes are grouped into `--batch` write batches.
    pub fn batchable(self) -> bool {
        matches!(
            self,
            Workload::FillSync
                | Workload::FillSeq
                | Workload::FillRandom
                | Workload::Overwrite
                | Workload::OverwriteSteady
                | Workload::DeleteRandom
                | Workload::Churn
        )
    }

    /// Threads of operation streams: `--threads` for fillsync (concurrent
    /// synced writers, which an engine with group commit serves with fewer
    /// syncs than writes), the random reads, seeks and YCSB; one (a single
    /// writer) for the rest.
    pub fn threads(self, config: &WorkloadConfig) -> usize {
        match self {
            Workload::FillSync
            | Workload::ReadRandom
            | Workload::ReadMissing
            | Workload::SeekRandom
            | Workload::ReadWhileWriting
            | Workload::YcsbA
            | Workload::YcsbB
            | Workload::YcsbC
            | Workload::YcsbF
            | Workload::YcsbD
            | Workload::YcsbE => config.threads.max(1),
            _ => 1,
        }
    }

    /// True if `--threads` sets how many threads run it.
    pub fn is_threaded(self) -> bool {
        let many = WorkloadConfig {
            threads: 2,
            ..WorkloadConfig::default()
        };
        self.threads(&many) > 1
    }

    /// Most keys this workload can add beyond `0..num` (YCSB D and E insert).
    pub fn max_inserts(self, config: &WorkloadConfig) -> u64 {
        match self {
            Workload::YcsbD | Workload::YcsbE => config.num,
            _ => 0,
        }
    }

    fn ycsb_mix(self) -> Option<YcsbMix> {
        Some(match self {
            Workload::YcsbA => YcsbMix::A,
            Workload::YcsbB => YcsbMix::B,
            Workload::YcsbC => YcsbMix::C,
            Workload::YcsbD => YcsbMix::D,
            Workload::YcsbE => YcsbMix::E,
            Workload::YcsbF => YcsbMix::F,
            _ => return None,
        })
    }

    fn rng(self, config: &WorkloadConfig, thread: usize) -> OpRng {
        OpRng::new(config.seed, ((self as u64) << 32) | thread as u64)
    }

    /// The operation streams, one per thread (empty for [`Shape::FullScan`]).
    /// `inserts` hands out the indices of new keys (YCSB D and E).
    pub fn streams(self, config: &WorkloadConfig, inserts: &InsertCounter) -> Vec<OpStream> {
        let num = config.num;
        let threads = self.threads(config);
        let share = |t| thread_share(num, threads, t);
        let uniform =
            |t, op| OpStream::Uniform(Uniform::new(self.rng(config, t), num, share(t), op));
        let reads = |t, op| {
            let count = thread_share(config.read_ops(), threads, t);
            OpStream::Uniform(Uniform::new(self.rng(config, t), num, count, op))
        };
        let order = || -> Arc<[u32]> {
            Arc::from(permutation(
                &mut self.rng(config, 0),
                num.min(u64::from(u32::MAX)) as u32,
            ))
        };
        let shuffled = |len| OpStream::Permuted(Permuted::new(order(), len, IndexOp::Put));
        if let Some(mix) = self.ycsb_mix() {
            let zipf = Arc::new(Zipfian::new(num, YCSB_ZIPFIAN_CONSTANT));
            return (0..threads)
                .map(|t| {
                    let rng = self.rng(config, t);
                    let count = share(t);
                    let stream = OpStream::Ycsb(Ycsb::new(
                        mix,
                        rng,
                        zipf.clone(),
                        num,
                        inserts.clone(),
                        count,
                    ));
                    // Drawn before the clock where it can be (not D and E,
                    // whose inserts are decided at run time).
                    planned::plan(stream)
                })
                .collect();
        }
        match self {
            Workload::FillSeq => vec![OpStream::Sequential(Sequential::new(0, num, IndexOp::Put))],
            Workload::FillRandom => vec![shuffled(num)],
            Workload::FillSync => {
                // One shuffled order of `sync_ops` keys, split into
                // consecutive shares: every thread count writes the same keys.
                let order = order();
                let total = config.sync_ops.min(num);
                let mut start = 0;
                (0..threads)
                    .map(|t| {
                        let len = thread_share(total, threads, t);
                        let stream =
                            Permuted::slice(order.clone(), start, start + len, IndexOp::Put);
                        start += len;
                        OpStream::Permuted(stream)
                    })
                    .collect()
            }
            Workload::Overwrite => vec![uniform(0, IndexOp::Put)],
            Workload::OverwriteSteady => vec![OpStream::Uniform(Uniform::new(
                self.rng(config, 0),
                num,
                num.saturating_mul(STEADY_OVERWRITE_FACTOR),
                IndexOp::Put,
            ))],
            Workload::DeleteRandom => vec![uniform(0, IndexOp::Delete)],
            Workload::Churn => vec![OpStream::Churn(Churn::new(self.rng(config, 0), num, num))],
            Workload::ReadRandom => (0..threads).map(|t| reads(t, IndexOp::Get)).collect(),
            Workload::ReadWhileWriting => (0..threads).map(|t| uniform(t, IndexOp::Get)).collect(),
            Workload::ReadMissing => (0..threads)
                .map(|t| reads(t, IndexOp::GetMissing))
                .collect(),
            Workload::SeekRandom => {
                let items = config.seek_nexts.saturating_add(1);
                (0..threads)
                    .map(|t| reads(t, IndexOp::Scan(items)))
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// The endless overwrite stream of the `readwhilewriting` writer.
    pub fn background_writer(self, config: &WorkloadConfig) -> OpStream {
        let rng = self.rng(config, usize::MAX >> 32);
        OpStream::Uniform(Uniform::new(rng, config.num, u64::MAX, IndexOp::Put))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::ops::Op;

    fn collect(w: Workload, config: &WorkloadConfig) -> Vec<Vec<Op>> {
        let inserts = InsertCounter::new(config.num, config.num * 2);
        w.streams(config, &inserts)
            .into_iter()
            .map(|s| s.collect())
            .collect()
    }

    #[test]
    fn every_workload_is_deterministic_from_its_seed() {
        let guard =
            kv_core::testkit::SeedGuard::new("every_workload_is_deterministic_from_its_seed");
        let config = WorkloadConfig {
            num: 500,
            threads: 2,
            seed: guard.seed(),
            ..WorkloadConfig::default()
        };
        let other = WorkloadConfig {
            seed: guard.seed() ^ 1,
            ..config.clone()
        };
        for w in ALL {
            if w.shape() != Shape::Streams && w != Workload::ReadWhileWriting {
                continue;
            }
            let a = collect(w, &config);
            assert_eq!(a, collect(w, &config), "{}", w.name());
            if w != Workload::FillSeq {
                assert_ne!(a, collect(w, &other), "{} ignores the seed", w.name());
            }
            let planned: usize = a.iter().map(Vec::len).sum();
            let expected = match w {
                Workload::FillSync => 500.min(config.sync_ops),
                Workload::OverwriteSteady => 500 * STEADY_OVERWRITE_FACTOR,
                _ => 500,
            };
            assert_eq!(planned as u64, expected, "{}", w.name());
        }
        let mut writer = Workload::ReadWhileWriting.background_writer(&config);
        let first: Vec<_> = (0..5).filter_map(|_| writer.next_op()).collect();
        let mut again = Workload::ReadWhileWriting.background_writer(&config);
        assert_eq!(
            first,
            (0..5).filter_map(|_| again.next_op()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn reads_sets_the_count_of_random_reads_only() {
        let config = WorkloadConfig {
            num: 1_000,
            reads: Some(70),
            ..WorkloadConfig::default()
        };
        for w in ALL {
            if w.shape() != Shape::Streams {
                continue;
            }
            let planned: usize = collect(w, &config).iter().map(Vec::len).sum();
            let unlimited = WorkloadConfig {
                reads: None,
                ..config.clone()
            };
            let full: usize = collect(w, &unlimited).iter().map(Vec::len).sum();
            if w.counts_reads() {
                assert_eq!(planned, 70, "{}", w.name());
                assert_eq!(full, 1_000, "{}", w.name());
            } else {
                assert_eq!(planned, full, "{} must not follow --reads", w.name());
            }
        }
    }

    #[test]
    fn fills_cover_every_key_once() {
        let config = WorkloadConfig {
            num: 300,
            ..WorkloadConfig::default()
        };
        for w in [Workload::FillSeq, Workload::FillRandom] {
            let mut keys: Vec<u64> = collect(w, &config)
                .concat()
                .into_iter()
                .map(|op| match op {
                    Op::Put(i) => i,
                    other => panic!("{other:?}"),
                })
                .collect();
            keys.sort_unstable();
            assert_eq!(keys, (0..300).collect::<Vec<_>>(), "{}", w.name());
        }
    }

    /// fillsync with N threads writes the same keys as with one, each once,
    /// split into N shares that differ by at most one key.
    #[test]
    fn fillsync_threads_split_the_same_keys() {
        let base = WorkloadConfig {
            num: 1_000,
            sync_ops: 101,
            ..WorkloadConfig::default()
        };
        let one: Vec<Op> = collect(Workload::FillSync, &base).concat();
        assert_eq!(one.len(), 101);
        for threads in [2, 4, 8] {
            let config = WorkloadConfig {
                threads,
                ..base.clone()
            };
            let shares = collect(Workload::FillSync, &config);
            assert_eq!(shares.len(), threads);
            let lens: Vec<usize> = shares.iter().map(Vec::len).collect();
            assert!(
                lens.iter().max().unwrap() - lens.iter().min().unwrap() <= 1,
                "{lens:?}"
            );
            assert_eq!(shares.concat(), one, "{threads} threads");
        }
    }

    #[test]
    fn names_round_trip_and_lists_parse() {
        for w in ALL {
            assert_eq!(Workload::from_name(w.name()), Some(w));
        }
        assert_eq!(
            Workload::parse_list("readrandom,fillseq,readrandom").unwrap(),
            vec![Workload::FillSeq, Workload::ReadRandom]
        );
        assert_eq!(Workload::parse_list("all").unwrap(), ALL.to_vec());
        let err = Workload::parse_list("fillseq,nosuch").unwrap_err();
        assert!(err.contains("nosuch") && err.contains("ycsb-a") && !err.contains('\n'));
        assert!(Workload::parse_list(" , ").is_err());
    }
}
