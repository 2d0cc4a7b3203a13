//! Bitcask reads no data file whole into memory, and no batch group whole
//! either: opening (a scan of a data file without a hint), merging and
//! checking a store whose one data file holds 256 MiB, a quarter of it one
//! batch group of 64 MiB (the batch limit), keep the heap within about two
//! maximal records plus a read chunk (`STREAM_MEMORY_BYTES`), measured by a
//! counting global allocator in this test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

use kv_bitcask::{Bitcask, BitcaskOptions, MergePolicy};
use kv_core::codec::STREAM_MEMORY_BYTES;
use kv_core::limits::{MAX_BATCH_BYTES, MAX_VALUE_BYTES};
use kv_core::{Options, StdFs, Store, WriteBatch};

/// Counts live heap bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), SeqCst) + layout.size();
            PEAK.fetch_max(live, SeqCst);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), SeqCst);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Counted as the old and the new block both live, as a copy is.
            let live = LIVE.fetch_add(new_size, SeqCst) + new_size;
            PEAK.fetch_max(live, SeqCst);
            LIVE.fetch_sub(layout.size(), SeqCst);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The heap bytes `phase` allocated on top of what was live before it, at
/// its peak.
fn peak_during<T>(phase: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.load(SeqCst);
    PEAK.store(before, SeqCst);
    let out = phase();
    (out, PEAK.load(SeqCst).saturating_sub(before))
}

const VALUES: usize = 16;
/// Keys `SINGLES..VALUES` are written as one batch.
const SINGLES: usize = 12;
const BOUND: usize = STREAM_MEMORY_BYTES;

fn options() -> BitcaskOptions {
    let mut o = BitcaskOptions::with_core(Options::with_fs(Arc::new(StdFs)));
    o.max_file_bytes = 1 << 30;
    o.merge = MergePolicy::manual();
    o
}

/// Key `i`'s value: as large as a value may be, or for a batch member, as
/// large as the batch limit allows.
fn value(i: usize) -> Vec<u8> {
    let len = if i < SINGLES {
        MAX_VALUE_BYTES
    } else {
        MAX_BATCH_BYTES / (VALUES - SINGLES) - 64
    };
    let mut v = vec![i as u8; len];
    v[..8].copy_from_slice(&(i as u64).to_le_bytes());
    v
}

fn remove_hints(dir: &std::path::Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "hint") {
            std::fs::remove_file(path).unwrap();
        }
    }
}

#[test]
fn bitcask_reads_no_file_whole_into_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    {
        let store = Bitcask::open(&dir, options()).unwrap();
        for i in 0..SINGLES {
            store
                .put(format!("key{i:02}").as_bytes(), &value(i))
                .unwrap();
        }
        let mut batch = WriteBatch::new();
        for i in SINGLES..VALUES {
            batch.put(format!("key{i:02}"), value(i));
        }
        assert!(
            batch.payload_bytes() > 3 * BOUND / 2,
            "the group is far over the bound"
        );
        store.write(&batch).unwrap();
        drop(batch);
        Box::new(store).close().unwrap();
    }
    let data_bytes: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .max()
        .unwrap();
    assert!(
        data_bytes >= (VALUES * MAX_VALUE_BYTES - 1024) as u64,
        "one data file of 256 MiB"
    );
    remove_hints(&dir); // open must scan the data file

    let (store, opened) = peak_during(|| Bitcask::open(&dir, options()).unwrap());
    let ((), merged) = peak_during(|| store.compact().unwrap());
    let (report, checked) = peak_during(|| store.check().unwrap());
    assert!(report.damage.is_empty(), "{report:?}");
    for i in [7, 13] {
        let got = store.get(format!("key{i:02}").as_bytes()).unwrap().unwrap();
        assert!(got == value(i), "key{i:02} read back wrong");
    }
    Box::new(store).close().unwrap();

    remove_hints(&dir);
    let (store, reopened) = peak_during(|| Bitcask::open(&dir, options()).unwrap());
    for i in [3, 12, 15] {
        let got = store.get(format!("key{i:02}").as_bytes()).unwrap().unwrap();
        assert!(got == value(i), "key{i:02} read back wrong after reopen");
    }
    let mb = |b: usize| b as f64 / (1 << 20) as f64;
    println!(
        "data file {:.1} MiB; peak heap: open {:.1} MiB, merge {:.1} MiB, check {:.1} MiB, reopen {:.1} MiB; bound {:.1} MiB",
        mb(data_bytes as usize),
        mb(opened),
        mb(merged),
        mb(checked),
        mb(reopened),
        mb(BOUND)
    );
    for (phase, peak) in [
        ("open", opened),
        ("merge", merged),
        ("check", checked),
        ("reopen", reopened),
    ] {
        assert!(
            peak <= BOUND,
            "{phase} held {peak} heap bytes at once, over {BOUND}"
        );
    }
}
