//! Finds the slow operations of kv-bench's 4M-key sequence and when they
//! happened, to line them up with what the store was doing: fillrandom (one
//! put per key in random order, `sync()` every 10,000 writes), a reopen,
//! overwrite (which triggers automatic merges), readrandom (while those
//! merges run). Every put, `sync()` and get slower than the threshold is
//! printed with its wall-clock time (microseconds since the Unix epoch),
//! its phase and the store's file count and merge count at that moment, so
//! a trace of the process's file system calls taken at the same time
//! (`strace -f -tt -T -e trace=fdatasync,fsync,unlink,rename,openat`)
//! shows which call each stall waited behind.
//!
//! Run with `cargo run --release -p kv-bitcask --example stalls [N] [DIR] [THRESHOLD_MS]`
//! (default 4,000,000 keys in a temporary directory under `.`, 20 ms).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kv_bitcask::{Bitcask, BitcaskOptions};
use kv_core::Store;

mod common;
use common::{mix, random_key};

/// The slow operations of a run, and each phase's maximum.
struct Stalls {
    threshold: Duration,
    slow: Vec<String>,
}

impl Stalls {
    /// Runs `op`, and notes it if it took longer than the threshold.
    fn time<T>(&mut self, store: &Bitcask, what: &str, op: impl FnOnce() -> T) -> (T, Duration) {
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let t = Instant::now();
        let out = op();
        let took = t.elapsed();
        if took > self.threshold {
            let s = store.stats();
            self.slow.push(format!(
                "{}.{:06} {what} {:.1} ms (files {}, merges run {})",
                wall.as_secs(),
                wall.subsec_micros(),
                took.as_secs_f64() * 1e3,
                s.extra["files"],
                s.extra["merges_run"]
            ));
        }
        (out, took)
    }

    fn print(&mut self, phase: &str, max: Duration) {
        println!(
            "{phase}: max {:.1} ms, {} over the threshold",
            max.as_secs_f64() * 1e3,
            self.slow.len()
        );
        for line in self.slow.drain(..) {
            println!("  {line}");
        }
    }
}

/// Puts every key of `order` (sync every 10,000), timing each op.
fn write_phase(store: &Bitcask, stalls: &mut Stalls, phase: &str, order: &[u32]) {
    let value = [0x5au8; 100];
    let mut max = Duration::ZERO;
    for (i, k) in order.iter().enumerate() {
        let (r, took) = stalls.time(store, &format!("{phase} put {i}"), || {
            store.put(&random_key(u64::from(*k)), &value)
        });
        r.unwrap();
        max = max.max(took);
        if i % 10_000 == 9_999 {
            let (r, took) = stalls.time(store, &format!("{phase} sync after {i}"), || store.sync());
            r.unwrap();
            max = max.max(took);
        }
    }
    store.sync().unwrap();
    stalls.print(phase, max);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(4_000_000);
    let tmp = tempfile::tempdir_in(args.next().unwrap_or_else(|| ".".into())).unwrap();
    let threshold_ms: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let dir = tmp.path().join("db");
    let mut stalls = Stalls {
        threshold: Duration::from_millis(threshold_ms),
        slow: Vec::new(),
    };
    let shuffled = |round: u64| {
        let mut perm: Vec<u32> = (0..n as u32).collect();
        for i in (1..perm.len()).rev() {
            perm.swap(i, (mix(i as u64 ^ (round << 40)) % (i as u64 + 1)) as usize);
        }
        perm
    };

    let store = Bitcask::open(&dir, BitcaskOptions::default()).unwrap();
    write_phase(&store, &mut stalls, "fillrandom", &shuffled(0));
    drop(store);
    let store = Bitcask::open(&dir, BitcaskOptions::default()).unwrap();
    let overwrite: Vec<u32> = (0..n).map(|i| (mix(i ^ (1 << 40)) % n) as u32).collect();
    write_phase(&store, &mut stalls, "overwrite", &overwrite);

    let mut max = Duration::ZERO;
    for i in 0..n {
        let k = random_key(mix(i ^ (2 << 40)) % n);
        let (got, took) = stalls.time(&store, &format!("readrandom get {i}"), || store.get(&k));
        assert!(got.unwrap().is_some());
        max = max.max(took);
    }
    stalls.print("readrandom", max);
    let s = store.stats();
    let lock: Vec<String> = s
        .extra
        .iter()
        .filter(|(k, _)| {
            k.starts_with("keydir_write_lock_max_us") || k.starts_with("keydir_read_lock")
        })
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    println!("{}; merges run {}", lock.join(", "), s.extra["merges_run"]);
}
