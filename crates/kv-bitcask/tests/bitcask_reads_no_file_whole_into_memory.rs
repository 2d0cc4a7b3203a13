//! Bitcask reads no data file whole into memory: opening (a scan of a data
//! file without a hint), merging and checking a store whose one data file
//! holds 256 MiB keep the heap within about two maximal records plus a read
//! chunk, measured by a counting global allocator in this test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

use kv_bitcask::{Bitcask, BitcaskOptions, MergePolicy};
use kv_core::codec::{MAX_RECORD_BYTES, STREAM_CHUNK_BYTES};
use kv_core::limits::MAX_VALUE_BYTES;
use kv_core::{Options, StdFs, Store};

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
const BOUND: usize = 2 * MAX_RECORD_BYTES + STREAM_CHUNK_BYTES;

fn options() -> BitcaskOptions {
    let mut o = BitcaskOptions::with_core(Options::with_fs(Arc::new(StdFs)));
    o.max_file_bytes = 1 << 30;
    o.merge = MergePolicy::manual();
    o
}

fn value(i: usize) -> Vec<u8> {
    let mut v = vec![i as u8; MAX_VALUE_BYTES];
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
        for i in 0..VALUES {
            store
                .put(format!("key{i:02}").as_bytes(), &value(i))
                .unwrap();
        }
        Box::new(store).close().unwrap();
    }
    let data_bytes: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .max()
        .unwrap();
    assert!(
        data_bytes >= (VALUES * MAX_VALUE_BYTES) as u64,
        "one data file of 256 MiB"
    );
    remove_hints(&dir); // open must scan the data file

    let (store, opened) = peak_during(|| Bitcask::open(&dir, options()).unwrap());
    let ((), merged) = peak_during(|| store.compact().unwrap());
    let (report, checked) = peak_during(|| store.check().unwrap());
    assert!(report.damage.is_empty(), "{report:?}");
    let got = store.get(b"key07").unwrap().unwrap();
    assert_eq!(got, value(7));
    drop(got);
    Box::new(store).close().unwrap();

    remove_hints(&dir);
    let (store, reopened) = peak_during(|| Bitcask::open(&dir, options()).unwrap());
    assert_eq!(store.get(b"key15").unwrap().unwrap(), value(15));
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
