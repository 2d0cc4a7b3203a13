//! Reproduces the keydir write-lock holds of `publish` (issue #11) in
//! process: N random puts of 16-byte keys and 100-byte values (fillrandom),
//! then N random overwrites, one put per write, `SyncPolicy::Manual` with a
//! `sync()` every 10,000 writes (kv-bench's default), default options
//! otherwise (automatic merges on). Prints the longest hold per holder and
//! the count of holds at or above 1 ms after each phase.
//!
//! Run with `cargo run --release -p kv-bitcask --example publish_holds [N]`
//! (N defaults to 4,000,000).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use kv_bitcask::{Bitcask, BitcaskOptions};
use kv_core::{Store, SyncPolicy};

mod common;
use common::{mix, random_key as key};

/// Writes between two `sync()` calls, as kv-bench's default.
const SYNC_EVERY: u64 = 10_000;

fn report(phase: &str, store: &Bitcask, secs: f64) {
    let extra = store.stats().extra;
    let mut holds: Vec<_> = extra
        .iter()
        .filter(|(k, _)| k.starts_with("keydir_write_lock"))
        .collect();
    holds.sort();
    println!("{phase}: {secs:.1} s");
    for (k, v) in holds {
        println!("  {k} = {v}");
    }
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(4_000_000);
    let dir = tempfile::tempdir().unwrap();
    let mut options = BitcaskOptions::default();
    options.core.sync = SyncPolicy::Manual;
    let store = Bitcask::open(dir.path(), options).unwrap();
    let value = [b'v'; 100];
    for (phase, salt) in [("fillrandom", 0u64), ("overwrite", 1)] {
        let start = Instant::now();
        for i in 0..n {
            let k = key(mix(i ^ (salt << 40)) % n);
            store.put(&k, &value).unwrap();
            if (i + 1) % SYNC_EVERY == 0 {
                store.sync().unwrap();
            }
        }
        store.sync().unwrap();
        report(phase, &store, start.elapsed().as_secs_f64());
    }
}
