//! Tiered compaction writes fewer bytes than leveled compaction for the
//! same workload, and holds at most `1 + max_space_amp_percent / 100` times
//! the live data on disk while doing so.
//!
//! The workload is the benchmark's `fillrandom` then `overwrite` (every key
//! once in random order, then as many puts of random keys), scaled down:
//! tiny memtables and files (`LsmOptions::tiny`, in the same proportions
//! as the defaults) and about 30 memtables of data, as 10 million 116-byte
//! entries are to a 64 MiB write buffer. Write amplification is counted in
//! bytes: every byte the engine wrote through its file system (WAL,
//! tables, manifest) over the user bytes of the puts; nothing depends on
//! time. The keys come from `KV_SEED`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{dir, key, options, value};
use kv_core::testkit::{SeedGuard, SimFs};
use kv_core::Store;
use kv_lsm::{CompactionStrategy, Lsm, TieredOptions};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

/// Keys of the workload: about 30 memtables of 4 KiB (an entry of a
/// 9-byte key and a 100-byte value counts 208 heap bytes).
const KEYS: usize = 600;
/// Bytes of each value (the benchmark's 100).
const VALUE_BYTES: usize = 100;
/// Space is sampled after every this many overwrites.
const SAMPLE_EVERY: usize = 25;

/// What one run of the workload measured.
#[derive(Debug)]
struct Measured {
    /// Bytes written through the file system per user byte.
    write_amp: f64,
    /// Largest table bytes seen during the overwrites (when every key is
    /// live) over the fully compacted size.
    worst_space_amp: f64,
    /// Memtables flushed.
    flushes: u64,
}

fn table_bytes(store: &Lsm) -> u64 {
    let extra = store.stats().extra;
    (0..7).map(|l| extra[&format!("level{l}_bytes")]).sum()
}

fn workload(strategy: CompactionStrategy, seed: u64) -> Measured {
    let sim = SimFs::new(seed);
    let mut o = options(&sim);
    o.compaction = strategy;
    let store = Lsm::open(dir(), o).unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..KEYS).collect();
    order.shuffle(&mut rng);
    let overwrites: Vec<usize> = (0..KEYS).map(|_| rng.random_range(0..KEYS)).collect();
    let io_before = store.stats().io.bytes_written;
    let mut user = 0u64;
    let mut worst = 0u64;
    for (n, &i) in order.iter().chain(&overwrites).enumerate() {
        let (k, v) = (key(i), value(i, n, VALUE_BYTES));
        user += (k.len() + v.len()) as u64;
        store.put(&k, &v).unwrap();
        if n >= KEYS && n % SAMPLE_EVERY == 0 {
            store.compact_pending().unwrap();
            worst = worst.max(table_bytes(&store));
        }
    }
    store.compact_pending().unwrap();
    let written = store.stats().io.bytes_written - io_before;
    worst = worst.max(table_bytes(&store));
    let flushes = store.stats().extra["flushes"];
    store.compact().unwrap();
    let live = table_bytes(&store).max(1) as f64;
    Measured {
        write_amp: written as f64 / user as f64,
        worst_space_amp: worst as f64 / live,
        flushes,
    }
}

#[test]
fn tiered_writes_less_than_leveled() {
    let guard = SeedGuard::new("tiered_writes_less_than_leveled");
    let tiered_options = TieredOptions::default();
    let leveled = workload(CompactionStrategy::Leveled, guard.seed());
    let tiered = workload(CompactionStrategy::Tiered(tiered_options), guard.seed());
    let report = format!("leveled {leveled:?}, tiered {tiered:?}");
    assert!(
        (40..=90).contains(&tiered.flushes),
        "the workload is not at the intended scale: {report}"
    );
    assert!(
        tiered.write_amp < leveled.write_amp,
        "tiered must write less than leveled: {report}"
    );
    let bound = 1.0 + tiered_options.max_space_amp_percent as f64 / 100.0;
    // Slack for what a full merge cannot shrink: the per-table index,
    // filter and footer of the many small files of the tiny sizes.
    assert!(
        tiered.worst_space_amp <= bound * 1.1,
        "tiered space amplification above {bound}: {report}"
    );
    println!("{report}");
}
