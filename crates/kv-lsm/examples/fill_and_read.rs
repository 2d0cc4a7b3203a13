//! A quick db_bench-style run on the real file system: fillrandom, then
//! readrandom and readmissing, with the engine's figures afterwards.
//!
//! `cargo run --release -p kv-lsm --example fill_and_read -- [NUM] [DIR]`
//! (default 1,000,000 keys of 16 bytes with 100-byte values, in a temporary
//! directory). Measurements only: nothing here asserts a time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use kv_core::{Options, Store};
use kv_lsm::{Lsm, LsmOptions};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

fn key(i: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&i.to_be_bytes());
    k[8..].copy_from_slice(&(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_be_bytes());
    k
}

fn main() {
    let mut args = std::env::args().skip(1);
    let num: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let tmp = tempfile::tempdir().unwrap();
    let dir = args
        .next()
        .map_or_else(|| tmp.path().join("db"), Into::into);
    let mut options = LsmOptions::new(Options::new().cache_bytes(64 << 20));
    options.exact_live_keys = std::env::var("EXACT").is_ok_and(|v| v == "1");
    let store = Lsm::open(&dir, options).unwrap();
    let mut rng = StdRng::seed_from_u64(42);
    let mut order: Vec<u64> = (0..num).collect();
    order.shuffle(&mut rng);
    let value = vec![b'v'; 100];
    let t = Instant::now();
    for &i in &order {
        store.put(&key(i), &value).unwrap();
    }
    store.sync().unwrap();
    let fill = t.elapsed();
    println!(
        "fillrandom  {:>10.0} ops/s  ({num} puts in {fill:?})",
        num as f64 / fill.as_secs_f64()
    );
    let t = Instant::now();
    for _ in 0..num {
        let i = rng.random_range(0..num);
        assert!(store.get(&key(i)).unwrap().is_some());
    }
    let read = t.elapsed();
    println!(
        "readrandom  {:>10.0} ops/s",
        num as f64 / read.as_secs_f64()
    );
    let t = Instant::now();
    for _ in 0..num {
        let i = rng.random_range(num..num * 2);
        assert!(store.get(&key(i)).unwrap().is_none());
    }
    let missing = t.elapsed();
    println!(
        "readmissing {:>10.0} ops/s",
        num as f64 / missing.as_secs_f64()
    );
    let stats = store.stats();
    let user = num * 116;
    println!(
        "write amplification (device bytes / user bytes): {:.2}",
        stats.io.bytes_written as f64 / user as f64
    );
    for (k, v) in &stats.extra {
        println!("  {k} = {v}");
    }
    let t = Instant::now();
    store.compact().unwrap();
    let stats = store.stats();
    println!(
        "compact() {:?}: disk {} bytes for {} user bytes (space amplification {:.2})",
        t.elapsed(),
        stats.disk_bytes,
        user,
        stats.disk_bytes as f64 / user as f64
    );
}
