//! Synced puts from 1, 2, 4 and 8 threads under `SyncPolicy::Always` on the
//! real file system (a temporary directory), to see group commit at work:
//! prints ops/s and file syncs per acknowledged write (from `stats().io`)
//! for each thread count. A rough figure, not the project's benchmark (see
//! kv-bench's `fillsync`).
//!
//! Run with `cargo run --release -p kv-bitcask --example fillsync_threads [PUTS_PER_THREAD]`
//! (default 2,000 puts per thread).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Instant;

use kv_bitcask::{Bitcask, BitcaskOptions, MergePolicy};
use kv_core::{Options, Store, SyncPolicy};

fn run(threads: usize, puts_per_thread: usize) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let options = BitcaskOptions {
        core: Options::default().sync(SyncPolicy::Always),
        merge: MergePolicy::manual(),
        ..BitcaskOptions::default()
    };
    let store = Arc::new(Bitcask::open(dir.path(), options).unwrap());
    let before = store.stats().io.file_syncs;
    let value = [7u8; 100];
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..puts_per_thread {
                    let key = format!("{t:02}-{i:012}");
                    store.put(key.as_bytes(), &value).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let writes = (threads * puts_per_thread) as f64;
    let syncs = (store.stats().io.file_syncs - before) as f64;
    (writes / secs, syncs / writes)
}

fn main() {
    let puts_per_thread: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000);
    println!("threads  ops/s  syncs/write");
    for threads in [1, 2, 4, 8] {
        let (ops, per_write) = run(threads, puts_per_thread);
        println!("{threads:>7}  {ops:>9.0}  {per_write:.3}");
    }
}
