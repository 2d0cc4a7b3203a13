//! `write_buffer_bytes` bounds memory: what a memtable counts is at least
//! the heap its entries really take, and not far above it.
//!
//! A counting global allocator measures the bytes requested and the number
//! of allocations while entries of several shapes are inserted. Every heap
//! chunk costs its request plus a header of at least 8 bytes and rounding
//! (glibc: 8-byte header, 16-byte granules), so the real heap lies between
//! `requested + 8 x allocations` and `requested + 24 x allocations`; the
//! memtable's count must lie there too.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use kv_lsm::memtable::Memtable;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static ALLOCATIONS: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; only a counter of
// the requested sizes is kept beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on to `System`.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        ALLOCATIONS.fetch_sub(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on to `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap bytes requested and allocations live after `fill` runs (from an
/// empty memtable), and the memtable's own count.
fn measure(fill: impl Fn(&Memtable)) -> (usize, usize, usize) {
    let mem = Memtable::new(1);
    let bytes = LIVE.load(Ordering::Relaxed);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    fill(&mem);
    let requested = LIVE.load(Ordering::Relaxed) - bytes;
    let chunks = ALLOCATIONS.load(Ordering::Relaxed) - allocations;
    (requested as usize, chunks as usize, mem.approximate_bytes())
}

#[test]
fn memtable_bytes_count_its_heap() {
    // (key bytes, value bytes or None for a tombstone)
    let shapes: [(usize, Option<usize>); 5] = [
        (16, Some(100)),
        (8, Some(8)),
        (24, None),
        (100, Some(1000)),
        (4096, Some(16)),
    ];
    for (key_len, value_len) in shapes {
        let value = vec![7u8; value_len.unwrap_or(0)];
        let (requested, chunks, counted) = measure(|mem| {
            for i in 0..20_000u64 {
                let mut key = vec![0u8; key_len];
                let n = key_len.min(8);
                key[..n].copy_from_slice(&i.to_be_bytes()[8 - n..]);
                mem.insert(&key, i + 1, value_len.map(|_| &value[..]));
            }
        });
        let (low, high) = (requested + 8 * chunks, requested + 24 * chunks);
        assert!(
            (low..=high).contains(&counted),
            "key {key_len}, value {value_len:?}: counted {counted}, heap between {low} and {high} \
             ({requested} bytes requested in {chunks} allocations)"
        );
    }
}
