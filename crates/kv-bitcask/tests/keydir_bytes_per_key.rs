//! The keydir stays small: at most 40 bytes of memory per key beyond the key
//! itself (Riak's sizing rule for basho/bitcask is 44.5 bytes plus the
//! key), measured with a counting allocator for 16-byte random keys, both
//! when built by inserts and when bulk-built at open; and `heap_bytes()`
//! (what `stats()` reports as `keydir_bytes`) agrees with the allocator.
//! Run with `--nocapture` to see the figures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use kv_bitcask::keydir::{Entry, Keydir, KeydirBuilder};
use kv_core::testkit::SeedGuard;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Counts the bytes currently allocated through it.
struct Counting;

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size() as isize, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        ALLOCATED.fetch_sub(layout.size() as isize, Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(new_size as isize - layout.size() as isize, Ordering::SeqCst);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const KEYS: usize = 200_000;
const KEY_BYTES: usize = 16;
const MAX_OVERHEAD_PER_KEY: f64 = 40.0;

fn entry(i: usize) -> Entry {
    Entry {
        file_id: 1,
        offset: i as u32,
        len: 139,
        stored_seq: i as u64,
    }
}

fn keys(seed: u64) -> Vec<[u8; KEY_BYTES]> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..KEYS).map(|_| rng.random()).collect()
}

fn report(what: &str, measured: isize, estimated: usize) -> f64 {
    let per_key = measured as f64 / KEYS as f64;
    let overhead = per_key - KEY_BYTES as f64;
    eprintln!(
        "{what}: {measured} bytes for {KEYS} keys of {KEY_BYTES} bytes = {per_key:.1} bytes/key, \
         {overhead:.1} beyond the key (heap_bytes() says {estimated})"
    );
    let ratio = estimated as f64 / measured as f64;
    assert!(
        (0.9..=1.1).contains(&ratio),
        "{what}: heap_bytes() {estimated} is off the allocator's {measured}"
    );
    overhead
}

#[test]
fn keydir_bytes_per_key() {
    let guard = SeedGuard::new("keydir_bytes_per_key");
    let keys = keys(guard.seed());

    let before = ALLOCATED.load(Ordering::SeqCst);
    let mut keydir = Keydir::new();
    for (i, k) in keys.iter().enumerate() {
        keydir.insert(k, entry(i));
    }
    let inserted = ALLOCATED.load(Ordering::SeqCst) - before;
    let overhead = report("random inserts", inserted, keydir.heap_bytes());
    assert!(overhead <= MAX_OVERHEAD_PER_KEY, "{overhead:.1} bytes/key");
    drop(keydir);

    let mut sorted = keys.clone();
    sorted.sort_unstable();
    sorted.dedup();
    let before = ALLOCATED.load(Ordering::SeqCst);
    let mut builder = KeydirBuilder::new();
    for (i, k) in sorted.iter().enumerate() {
        builder.push(k, entry(i));
    }
    let keydir = builder.finish();
    let built = ALLOCATED.load(Ordering::SeqCst) - before;
    let overhead = report("bulk build at open", built, keydir.heap_bytes());
    assert!(overhead <= MAX_OVERHEAD_PER_KEY, "{overhead:.1} bytes/key");
}
