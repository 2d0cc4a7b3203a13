//! A quick, rough timing of the hot paths (not the project's benchmark; see
//! kv-bench for that): 1M random puts of 16-byte keys and 100-byte values in
//! batches of 1,000 (Manual sync), 1M random gets, a sync, open with and
//! without hint files, space amplification after overwriting every key once
//! (before and after a merge), 2,000 puts under `SyncPolicy::Always` without
//! and with preallocation of the active file, and open after a crash that
//! left a preallocated tail (against the same files without the tail).
//!
//! Run with `cargo run --release -p kv-bitcask --example quick_bench [N]`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use kv_bitcask::options::DEFAULT_PREALLOCATE_BYTES;
use kv_bitcask::{Bitcask, BitcaskOptions, MergePolicy};
use kv_core::{Store, SyncPolicy, WriteBatch};

mod common;
use common::{mix, random_key as key};

/// CPU seconds (user + system) this process has used, from /proc (Linux;
/// 0 elsewhere): on a busy machine wall time overstates the cost.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0 // utime, stime in clock ticks of 10 ms
}

fn options() -> BitcaskOptions {
    BitcaskOptions {
        merge: MergePolicy::manual(),
        ..BitcaskOptions::default()
    }
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let value = [b'v'; 100];
    let store = Bitcask::open(dir.path(), options()).unwrap();

    let (start, cpu) = (Instant::now(), cpu_seconds());
    let mut batch = WriteBatch::new();
    for i in 0..n {
        batch.put(key(i).to_vec(), value.to_vec());
        if batch.len() == 1000 {
            store.write(&batch).unwrap();
            batch.clear();
        }
    }
    store.write(&batch).unwrap();
    let fill = start.elapsed();
    let fill_cpu = cpu_seconds() - cpu;
    println!(
        "fillrandom: {n} puts in batches of 1000: {:.3} s, {:.0} ops/s; {fill_cpu:.2} CPU s, {:.0} ops per CPU s (batch building included)",
        fill.as_secs_f64(),
        n as f64 / fill.as_secs_f64(),
        n as f64 / fill_cpu
    );
    let start = Instant::now();
    store.sync().unwrap();
    println!("sync: {:.3} s", start.elapsed().as_secs_f64());

    let (start, cpu) = (Instant::now(), cpu_seconds());
    let mut found = 0u64;
    for i in 0..n {
        let k = key(mix(i ^ 0x5555) % n);
        if store.get(&k).unwrap().is_some() {
            found += 1;
        }
    }
    let read = start.elapsed();
    let read_cpu = cpu_seconds() - cpu;
    assert_eq!(found, n);
    println!(
        "readrandom: {n} gets: {:.3} s, {:.0} ops/s; {read_cpu:.2} CPU s, {:.0} ops per CPU s",
        read.as_secs_f64(),
        n as f64 / read.as_secs_f64(),
        n as f64 / read_cpu
    );
    let stats = store.stats();
    let keydir = stats.extra["keydir_bytes"];
    println!(
        "keydir: {} bytes for {} keys = {:.1} bytes/key ({:.1} beyond the 16-byte key)",
        keydir,
        stats.live_keys,
        keydir as f64 / stats.live_keys as f64,
        keydir as f64 / stats.live_keys as f64 - 16.0
    );
    println!("disk: {} bytes, io: {:?}", stats.disk_bytes, stats.io);
    drop(store);

    let start = Instant::now();
    let store = Bitcask::open(dir.path(), options()).unwrap();
    let with_hints = start.elapsed();
    let s = store.stats();
    println!(
        "open with hints: {:.3} s ({} hints loaded, {} files scanned)",
        with_hints.as_secs_f64(),
        s.extra["hints_loaded_at_open"],
        s.extra["data_files_scanned_at_open"]
    );
    drop(store);
    for name in std::fs::read_dir(dir.path()).unwrap() {
        let path = name.unwrap().path();
        if path.extension().is_some_and(|e| e == "hint") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let start = Instant::now();
    let store = Bitcask::open(dir.path(), options()).unwrap();
    let without = start.elapsed();
    let s = store.stats();
    println!(
        "open without hints: {:.3} s ({} files scanned); ratio {:.2}",
        without.as_secs_f64(),
        s.extra["data_files_scanned_at_open"],
        with_hints.as_secs_f64() / without.as_secs_f64()
    );
    assert_eq!(s.live_keys, n);

    // Space amplification after overwriting every key once, before and after
    // a merge: bytes on disk / live key and value bytes.
    let mut batch = WriteBatch::new();
    for i in 0..n {
        batch.put(key(i).to_vec(), value.to_vec());
        if batch.len() == 1000 {
            store.write(&batch).unwrap();
            batch.clear();
        }
    }
    store.write(&batch).unwrap();
    store.sync().unwrap();
    let space_amp = |s: &kv_core::Stats| s.disk_bytes as f64 / s.live_bytes as f64;
    let before = store.stats();
    let start = Instant::now();
    store.compact().unwrap();
    let merge_time = start.elapsed();
    let after = store.stats();
    println!(
        "space amplification after overwriting every key once: {:.2} before merge, {:.2} after ({:.3} s merge; {} -> {} disk bytes for {} live bytes)",
        space_amp(&before),
        space_amp(&after),
        merge_time.as_secs_f64(),
        before.disk_bytes,
        after.disk_bytes,
        after.live_bytes
    );
    drop(store);

    // fillsync: every put synced before it returns, without and with
    // preallocation, alternating so that machine noise hits both.
    let mut took = [Duration::ZERO; 2];
    let mut syncs = [0; 2];
    let puts = 1000;
    for _round in 0..2 {
        for (slot, preallocate_bytes) in [0, DEFAULT_PREALLOCATE_BYTES].into_iter().enumerate() {
            let sync_dir = tempfile::tempdir().unwrap();
            let store = Bitcask::open(sync_dir.path(), sync_options(preallocate_bytes)).unwrap();
            let start = Instant::now();
            for i in 0..puts {
                store.put(&key(i), &value).unwrap();
            }
            took[slot] += start.elapsed();
            syncs[slot] += store.stats().io.file_syncs;
        }
    }
    for (slot, what) in ["without preallocation", "with 1 MiB preallocation"]
        .iter()
        .enumerate()
    {
        println!(
            "fillsync {what}: {} synced puts: {:.3} s, {:.0} ops/s, {} file syncs",
            2 * puts,
            took[slot].as_secs_f64(),
            (2 * puts) as f64 / took[slot].as_secs_f64(),
            syncs[slot]
        );
    }
    println!(
        "fillsync with/without preallocation: {:.2}x",
        took[0].as_secs_f64() / took[1].as_secs_f64()
    );
    open_after_crash_with_preallocated_tail(&value);
}

fn sync_options(preallocate_bytes: u64) -> BitcaskOptions {
    let mut options = options();
    options.core.sync = SyncPolicy::Always;
    options.preallocate_bytes = preallocate_bytes;
    options
}

/// Copies the data and hint files of an open store: what a killed process
/// leaves behind.
fn copy_store_files(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "data" || e == "hint") {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
}

/// Open after a crash right after one synced put: the active file ends in
/// about 1 MiB of preallocated zeros, which open scans and trims. Timed
/// against the same files with the tail cut off beforehand.
fn open_after_crash_with_preallocated_tail(value: &[u8]) {
    let live = tempfile::tempdir().unwrap();
    let store = Bitcask::open(live.path(), sync_options(DEFAULT_PREALLOCATE_BYTES)).unwrap();
    store.put(&key(0), value).unwrap();
    let data_len = store.stats().extra["file.0000000001.total_bytes"];
    let (with_tail, without_tail) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    copy_store_files(live.path(), with_tail.path());
    copy_store_files(live.path(), without_tail.path());
    drop(store);
    let data = std::fs::OpenOptions::new()
        .write(true)
        .open(without_tail.path().join("0000000001.data"))
        .unwrap();
    data.set_len(data_len).unwrap();
    let mut times = Vec::new();
    for dir in [with_tail.path(), without_tail.path()] {
        let start = Instant::now();
        let store = Bitcask::open(dir, sync_options(DEFAULT_PREALLOCATE_BYTES)).unwrap();
        times.push(start.elapsed());
        let s = store.stats();
        assert_eq!((s.live_keys, s.torn_bytes_truncated), (1, 0));
        if dir == with_tail.path() {
            println!(
                "open after a crash with a preallocated tail: {:.1} ms ({} zero bytes trimmed)",
                times[0].as_secs_f64() * 1e3,
                s.extra["preallocated_bytes_trimmed_at_open"]
            );
        }
    }
    println!(
        "open of the same files without the tail: {:.1} ms",
        times[1].as_secs_f64() * 1e3
    );
}
