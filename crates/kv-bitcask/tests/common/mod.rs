//! Helpers shared by the integration tests: stores on a `SimFs`, keys and
//! values that say what they are, a seeded random workload, and comparison
//! with the `BTreeMap` model.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kv_bitcask::ttl::plain_seq;
use kv_bitcask::{Bitcask, BitcaskOptions, MergePolicy};
use kv_core::codec::{LogEntry, LogReader, Tail};
use kv_core::testkit::{Model, SimFs};
use kv_core::{Options, Store, StoreExt, SyncPolicy, WriteBatch};
use rand::rngs::StdRng;
use rand::RngExt;

/// The store directory on a `SimFs`.
pub const DIR: &str = "/sim/db";

/// The store directory as a path.
pub fn dir() -> &'static Path {
    Path::new(DIR)
}

/// Options on `sim` with small files and no automatic merges (so every I/O
/// happens on the test's thread, deterministically).
pub fn sim_options(sim: &SimFs, max_file_bytes: u64) -> BitcaskOptions {
    BitcaskOptions {
        core: Options::with_fs(Arc::new(sim.clone())).sync(SyncPolicy::Manual),
        max_file_bytes,
        merge: MergePolicy::manual(),
        write_buffer_bytes: 1024,
        ..BitcaskOptions::default()
    }
}

/// Options on `sim` under `SyncPolicy::Always`, where the active file is
/// preallocated `preallocate_bytes` at a time (no automatic merges).
pub fn always_options(sim: &SimFs, max_file_bytes: u64, preallocate_bytes: u64) -> BitcaskOptions {
    BitcaskOptions {
        core: Options::with_fs(Arc::new(sim.clone())).sync(SyncPolicy::Always),
        preallocate_bytes,
        ..sim_options(sim, max_file_bytes)
    }
}

/// The data files of `sim`, sorted by name.
pub fn data_files(sim: &SimFs) -> Vec<PathBuf> {
    sim.files()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "data"))
        .collect()
}

/// How the data file `bytes` ends and the highest sequence number in it
/// (0 if none). Panics on corruption.
pub fn read_log(bytes: &[u8]) -> (Tail, u64) {
    let body = bytes.get(24..).unwrap_or_default();
    let mut reader = LogReader::new(Path::new("data"), body, 24);
    let mut max_seq = 0;
    for entry in reader.by_ref() {
        match entry.unwrap() {
            LogEntry::Single(rec) => max_seq = max_seq.max(plain_seq(rec.record.seq)),
            LogEntry::Batch { members, .. } => {
                for rec in members {
                    max_seq = max_seq.max(plain_seq(rec.record.seq));
                }
            }
        }
    }
    (reader.tail(), max_seq)
}

/// Opens the store in [`DIR`] on `sim`.
pub fn open(sim: &SimFs, max_file_bytes: u64) -> Bitcask {
    Bitcask::open(dir(), sim_options(sim, max_file_bytes)).unwrap()
}

/// Key `i`.
pub fn key(i: usize) -> Vec<u8> {
    format!("key{i:05}").into_bytes()
}

/// A value naming its key and version, `len` bytes long (at least the name).
pub fn value(i: usize, version: usize, len: usize) -> Vec<u8> {
    let mut v = format!("v{version}:k{i}:").into_bytes();
    while v.len() < len {
        v.push(b'a' + (v.len() % 26) as u8);
    }
    v
}

/// Every key and value of the store.
pub fn contents(store: &dyn Store) -> Model {
    store.scan_all().unwrap().into_iter().collect()
}

/// Asserts the store holds exactly `model`, by scan and by get.
pub fn assert_matches(store: &dyn Store, model: &Model, context: &str) {
    let got = contents(store);
    assert!(
        got == *model,
        "{context}: store differs from the model: {:?}",
        kv_core::testkit::diff_lines(model, &got)
    );
    for (k, v) in model.map() {
        assert_eq!(
            store.get(k).unwrap().as_deref(),
            Some(&v[..]),
            "{context}: get"
        );
    }
}

/// Applies `n` random writes over `key_space` keys (puts, deletes, small
/// batches) to the store and the model.
pub fn random_writes(
    store: &dyn Store,
    model: &mut Model,
    rng: &mut StdRng,
    n: usize,
    key_space: usize,
    max_value_bytes: usize,
) {
    for step in 0..n {
        let i = rng.random_range(0..key_space);
        match rng.random_range(0..10) {
            0..=5 => {
                let v = value(i, step, rng.random_range(0..=max_value_bytes));
                store.put(&key(i), &v).unwrap();
                model.put(&key(i), &v);
            }
            6..=7 => {
                store.delete(&key(i)).unwrap();
                model.delete(&key(i));
            }
            _ => {
                let mut batch = WriteBatch::new();
                for m in 0..rng.random_range(1..5) {
                    let j = rng.random_range(0..key_space);
                    if rng.random_range(0..3) == 0 {
                        batch.delete(key(j));
                    } else {
                        batch.put(
                            key(j),
                            value(j, step * 8 + m, rng.random_range(0..=max_value_bytes)),
                        );
                    }
                }
                store.write(&batch).unwrap();
                model.apply_batch(&batch);
            }
        }
    }
}

pub mod damage;
