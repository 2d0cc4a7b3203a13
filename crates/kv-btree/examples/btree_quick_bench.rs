//! A quick figure, not a benchmark harness (use kv-bench for comparisons):
//! `cargo run --release -p kv-btree --example btree_quick_bench -- [keys]`
//! fills a store on the real file system with 16-byte keys and 100-byte
//! values in random order (batches of 1,000, `SyncPolicy::Manual`), then
//! reads every key back in random order and scans it once, and prints
//! ops/s with the write and space amplification the store's counters show.

use std::time::Instant;

use kv_btree::{Btree, BtreeOptions};
use kv_core::{Options, Store, StoreExt, WriteBatch};

fn key(i: u64) -> [u8; 16] {
    let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&x.to_be_bytes());
    k[8..].copy_from_slice(&i.to_be_bytes());
    k
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir()?;
    let store = Btree::open(
        dir.path(),
        BtreeOptions::new(Options::new().cache_bytes(64 << 20)),
    )?;
    let value = [7u8; 100];
    let t = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut batch = WriteBatch::new();
        for &i in chunk {
            batch.put(key(i).to_vec(), value.to_vec());
        }
        store.write(&batch)?;
        store.sync()?;
    }
    let fill = t.elapsed();
    let written = store.stats().io.bytes_written;
    let t = Instant::now();
    for i in 0..n {
        let j = i.wrapping_mul(2_654_435_761) % n;
        if store.get(&key(j))?.is_none() {
            return Err(format!("key {j} missing").into());
        }
    }
    let read = t.elapsed();
    let t = Instant::now();
    let count = store.scan_all()?.len() as u64;
    let scan = t.elapsed();
    let stats = store.stats();
    let user = n * 116;
    println!("keys {n}: fillrandom (batches of 1000, synced) {:.0} ops/s, readrandom {:.0} ops/s, readseq {:.0} ops/s",
        n as f64 / fill.as_secs_f64(), n as f64 / read.as_secs_f64(), count as f64 / scan.as_secs_f64());
    println!(
        "write amplification {:.1}, space amplification {:.2}, depth {}, cache hits {} misses {}",
        written as f64 / user as f64,
        stats.disk_bytes as f64 / user as f64,
        stats.extra["depth"],
        stats.extra["cache_hits"],
        stats.extra["cache_misses"]
    );
    Ok(())
}
