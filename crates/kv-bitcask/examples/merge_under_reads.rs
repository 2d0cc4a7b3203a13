//! The figures kv-bench does not report for bitcask: the longest hold of
//! the keydir's write lock (`stats().extra["keydir_write_lock_max_us"]`)
//! and the keydir's size, next to the process's peak RSS and the get
//! latencies, over kv-bench's sequence at N keys: fillrandom (one put per
//! key in random order, `sync()` every 10,000 writes), a reopen, overwrite
//! (N random overwrites, which trigger automatic merges on the maintenance
//! thread), then readrandom (N random gets while those merges run).
//! Default options, as kv-bench opens bitcask.
//!
//! Each phase also reports the longest hold per holder
//! (`keydir_write_lock_max_us.{holder}`) and the longest *oversleep* of a
//! canary thread that sleeps 1 ms in a loop: how long a runnable thread of
//! this process waited for a CPU. A lock hold far longer than its holder's
//! work but no longer than the canary's oversleep is the holder being
//! preempted, not work done under the lock.
//!
//! Run with `cargo run --release -p kv-bitcask --example merge_under_reads [N] [DIR]`
//! (default 4,000,000 keys in a temporary directory; the store is deleted
//! at the end).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kv_bitcask::{Bitcask, BitcaskOptions};
use kv_core::Store;

mod common;
use common::mix;

fn key(i: u64) -> [u8; 16] {
    let mut k = [0; 16];
    k[..8].copy_from_slice(&i.to_be_bytes());
    k[8..].copy_from_slice(&mix(i).to_be_bytes());
    k
}

/// `VmHWM` (peak RSS) of this process in bytes (0 if unknown).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Latencies in power-of-two-ish buckets (16 per octave): no per-op memory.
struct Histogram {
    buckets: Vec<u64>,
    max_ns: u64,
    count: u64,
}

impl Histogram {
    fn new() -> Self {
        Self {
            buckets: vec![0; 64 * 16],
            max_ns: 0,
            count: 0,
        }
    }

    fn bucket(ns: u64) -> usize {
        let ns = ns.max(1);
        let octave = 63 - ns.leading_zeros() as usize;
        let frac = if octave >= 4 {
            ((ns >> (octave - 4)) & 15) as usize
        } else {
            0
        };
        octave * 16 + frac
    }

    fn lower_bound(b: usize) -> u64 {
        let (octave, frac) = (b / 16, (b % 16) as u64);
        if octave >= 4 {
            (16 + frac) << (octave - 4)
        } else {
            1 << octave
        }
    }

    fn record(&mut self, ns: u64) {
        self.buckets[Self::bucket(ns)] += 1;
        self.max_ns = self.max_ns.max(ns);
        self.count += 1;
    }

    fn quantile(&self, q: f64) -> u64 {
        let want = (self.count as f64 * q).ceil() as u64;
        let mut seen = 0;
        for (b, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= want {
                return Self::lower_bound(b + 1);
            }
        }
        self.max_ns
    }
}

/// Sleeps 1 ms in a loop and records the longest oversleep (in us) in
/// `worst` until `stop`.
fn canary(worst: Arc<AtomicU64>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let t = Instant::now();
            std::thread::sleep(Duration::from_millis(1));
            let over = t.elapsed().saturating_sub(Duration::from_millis(1));
            worst.fetch_max(over.as_micros() as u64, Ordering::Relaxed);
        }
    })
}

fn report(store: &Bitcask, phase: &str, oversleep: &AtomicU64) {
    let s = store.stats();
    let holders: Vec<String> = s
        .extra
        .iter()
        .filter_map(|(k, v)| {
            Some(format!(
                "{} {v}",
                k.strip_prefix("keydir_write_lock_max_us.")?
            ))
        })
        .collect();
    println!(
        "{phase}: longest hold per holder (us): {}; canary's longest oversleep {} us",
        holders.join(", "),
        oversleep.swap(0, Ordering::Relaxed)
    );
    let keydir = s.extra["keydir_bytes"];
    let rss = peak_rss();
    println!(
        "{phase}: keydir {:.1} MiB, longest keydir write-lock hold {} us, merges run {}, peak RSS {:.1} MiB (limit 2 x keydir + 64 MiB = {:.1} MiB)",
        keydir as f64 / 1048576.0,
        s.extra["keydir_write_lock_max_us"],
        s.extra["merges_run"],
        rss as f64 / 1048576.0,
        (2 * keydir + 64 * 1048576) as f64 / 1048576.0
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(4_000_000);
    let tmp = tempfile::tempdir_in(args.next().unwrap_or_else(|| ".".into())).unwrap();
    let dir = tmp.path().join("db");
    let value = [0x5au8; 100];
    let order = |round: u64, i: u64| mix(i ^ (round << 40)) % n;

    let oversleep = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let canary = canary(Arc::clone(&oversleep), Arc::clone(&stop));
    let store = Bitcask::open(&dir, BitcaskOptions::default()).unwrap();
    let start = Instant::now();
    let mut perm: Vec<u32> = (0..n as u32).collect();
    for i in (1..perm.len()).rev() {
        perm.swap(i, (mix(i as u64) % (i as u64 + 1)) as usize);
    }
    for (i, k) in perm.iter().enumerate() {
        store.put(&key(u64::from(*k)), &value).unwrap();
        if i % 10_000 == 9_999 {
            store.sync().unwrap();
        }
    }
    drop(perm);
    store.sync().unwrap();
    println!("fillrandom: {:.1} s", start.elapsed().as_secs_f64());
    report(&store, "fillrandom", &oversleep);
    drop(store);
    let store = Bitcask::open(&dir, BitcaskOptions::default()).unwrap();
    report(&store, "reopen", &oversleep);

    let start = Instant::now();
    for i in 0..n {
        store.put(&key(order(1, i)), &value).unwrap();
        if i % 10_000 == 9_999 {
            store.sync().unwrap();
        }
    }
    store.sync().unwrap();
    println!("overwrite: {:.1} s", start.elapsed().as_secs_f64());
    report(&store, "overwrite", &oversleep);

    let mut h = Histogram::new();
    let start = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        let got = store.get(&key(order(2, i))).unwrap();
        h.record(t.elapsed().as_nanos() as u64);
        assert!(got.is_some());
    }
    println!(
        "readrandom: {:.1} s, p99 {:.1} us, p99.9 {:.2} ms, max {:.2} ms",
        start.elapsed().as_secs_f64(),
        h.quantile(0.99) as f64 / 1e3,
        h.quantile(0.999) as f64 / 1e6,
        h.max_ns as f64 / 1e6
    );
    report(&store, "readrandom", &oversleep);
    stop.store(true, Ordering::Relaxed);
    canary.join().unwrap();
}
