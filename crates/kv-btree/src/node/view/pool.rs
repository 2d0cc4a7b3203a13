//! Recycled allocations for views: the buffers of views that were dropped
//! are handed to the next views built, instead of going back to the
//! system allocator.
//!
//! A batched random fill builds a view for every node a commit writes
//! (about 4.4 KiB for a leaf, 6 KiB for a branch) and drops the version it
//! replaces, and the cache swaps the same number at every durable commit:
//! thousands of buffers of a few KiB a second, allocated and freed in
//! bursts. glibc's allocator serves blocks of that size from its bins,
//! splitting and coalescing free chunks on every call (and consolidating
//! its fast bins first whenever such a block is asked for): 18% of the
//! fill's samples in session 9's profile, and the engine ran 10% faster
//! under jemalloc than under glibc's allocator. A pool hands back a block
//! of the right size in one atomic operation.
//!
//! Buffers are pooled by *class*: their capacity is rounded up to a
//! multiple of [`CLASS_BYTES`], up to [`LARGEST_POOLED_BYTES`]. Larger
//! views are allocated exactly and freed as usual: those of two-page runs
//! (keys near 4 KiB), and of leaves whose entries average under about 12
//! encoded bytes (4-byte keys with 4-byte values), whose 12-byte table
//! entries then outweigh the body. Each class is a bounded lock-free queue, and all the
//! pool holds is at most [`IDLE_MAX_BYTES`]: a buffer dropped when the pool
//! is full goes back to the allocator. A view built from a pooled buffer
//! keeps it whole, so what the page cache weighs ([`super::NodeView::weight`])
//! is the class size, not the bytes used.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::LazyLock;

use bytes::Bytes;
use crossbeam_queue::ArrayQueue;

/// Capacities are multiples of this.
pub(super) const CLASS_BYTES: usize = 256;

/// The largest capacity pooled: a one-page branch with its tables takes at
/// most about 6.5 KiB, and so does a leaf whose entries average 25 encoded
/// bytes or more (16-byte keys with 100-byte values: about 4.4 KiB).
pub(super) const LARGEST_POOLED_BYTES: usize = 8 << 10;

/// The most bytes of idle buffers the pool holds.
pub const IDLE_MAX_BYTES: usize = 16 << 20;

/// Buffers each class holds at most (the queues' slots take 32 bytes each,
/// 1 MiB for the whole pool, allocated when the first view is built).
const SLOTS_PER_CLASS: usize = 1024;

const CLASSES: usize = LARGEST_POOLED_BYTES / CLASS_BYTES;

struct Pool {
    /// Class `i` holds empty buffers of capacity `(i + 1) * CLASS_BYTES`.
    classes: Vec<ArrayQueue<Vec<u8>>>,
    /// Capacity of every buffer held, summed.
    idle: AtomicUsize,
    /// The most `idle` may reach.
    idle_max: usize,
}

static POOL: LazyLock<Pool> = LazyLock::new(|| Pool::new(IDLE_MAX_BYTES));

/// The class of a buffer that must hold `bytes`, if pooled.
fn class_of(bytes: usize) -> Option<usize> {
    (bytes <= LARGEST_POOLED_BYTES).then(|| bytes.max(1).div_ceil(CLASS_BYTES) - 1)
}

/// The class of a buffer of capacity `cap`, if that is a class's capacity.
fn class_of_capacity(cap: usize) -> Option<usize> {
    class_of(cap).filter(|c| (c + 1) * CLASS_BYTES == cap)
}

/// The capacity a view that holds `bytes` is given (and weighed at).
pub(super) fn capacity_for(bytes: usize) -> usize {
    class_of(bytes).map_or(bytes, |c| (c + 1) * CLASS_BYTES)
}

impl Pool {
    fn new(idle_max: usize) -> Self {
        Self {
            classes: (0..CLASSES)
                .map(|_| ArrayQueue::new(SLOTS_PER_CLASS))
                .collect(),
            idle: AtomicUsize::new(0),
            idle_max,
        }
    }

    /// An empty buffer with room for `bytes`: a pooled one of its class,
    /// or a new one of the class's capacity (exactly `bytes` past the
    /// largest class).
    fn take(&self, bytes: usize) -> Vec<u8> {
        let Some(class) = class_of(bytes) else {
            return Vec::with_capacity(bytes);
        };
        if let Some(buf) = self.classes.get(class).and_then(ArrayQueue::pop) {
            self.idle.fetch_sub(buf.capacity(), Ordering::Relaxed);
            return buf;
        }
        Vec::with_capacity((class + 1) * CLASS_BYTES)
    }

    /// Keeps `buf` if it is of a class and the pool has room; otherwise
    /// frees it.
    fn give(&self, mut buf: Vec<u8>) {
        let cap = buf.capacity();
        let Some(class) = class_of_capacity(cap) else {
            return;
        };
        if self.idle.fetch_add(cap, Ordering::Relaxed) + cap > self.idle_max {
            self.idle.fetch_sub(cap, Ordering::Relaxed);
            return;
        }
        buf.clear();
        if let Some(queue) = self.classes.get(class) {
            if queue.push(buf).is_err() {
                self.idle.fetch_sub(cap, Ordering::Relaxed);
            }
        }
    }
}

/// An empty buffer with room for `bytes`, from the pool when it holds one
/// of that class (see [`capacity_for`]).
pub(super) fn take(bytes: usize) -> Vec<u8> {
    POOL.take(bytes)
}

/// A buffer that goes back to the pool when the last [`Bytes`] sharing it
/// is dropped.
struct Pooled(Vec<u8>);

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        POOL.give(std::mem::take(&mut self.0));
    }
}

/// `buf` as shared bytes that return it to the pool once dropped (a
/// buffer of no class is converted as usual).
pub(super) fn into_bytes(buf: Vec<u8>) -> Bytes {
    if class_of_capacity(buf.capacity()).is_some() {
        Bytes::from_owner(Pooled(buf))
    } else {
        Bytes::from(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_in_classes_and_are_reused() {
        assert_eq!(capacity_for(1), CLASS_BYTES);
        assert_eq!(capacity_for(CLASS_BYTES), CLASS_BYTES);
        assert_eq!(capacity_for(CLASS_BYTES + 1), 2 * CLASS_BYTES);
        assert_eq!(capacity_for(LARGEST_POOLED_BYTES), LARGEST_POOLED_BYTES);
        let pool = Pool::new(3 * CLASS_BYTES);
        let mut buf = pool.take(CLASS_BYTES + 7);
        assert!(buf.is_empty() && buf.capacity() == 2 * CLASS_BYTES);
        buf.extend_from_slice(b"first use");
        let ptr = buf.as_ptr();
        pool.give(buf);
        assert_eq!(pool.idle.load(Ordering::Relaxed), 2 * CLASS_BYTES);
        let again = pool.take(2 * CLASS_BYTES);
        assert!(again.is_empty(), "a pooled buffer comes back empty");
        assert_eq!(
            again.as_ptr(),
            ptr,
            "the dropped buffer is handed out again"
        );
        assert_eq!(pool.idle.load(Ordering::Relaxed), 0);
        let other = pool.take(CLASS_BYTES + 7);
        assert_ne!(other.as_ptr(), ptr, "an empty class allocates");
        pool.give(again);
        pool.give(other);
        assert_eq!(
            pool.idle.load(Ordering::Relaxed),
            2 * CLASS_BYTES,
            "past the idle budget a buffer is freed"
        );
    }

    #[test]
    fn only_class_buffers_are_pooled() {
        let pool = Pool::new(IDLE_MAX_BYTES);
        let big = pool.take(LARGEST_POOLED_BYTES + 100);
        assert_eq!(big.capacity(), LARGEST_POOLED_BYTES + 100);
        pool.give(big);
        pool.give(Vec::with_capacity(CLASS_BYTES + 1));
        assert_eq!(pool.idle.load(Ordering::Relaxed), 0);
        let shared = into_bytes(take(100));
        assert!(shared.is_empty());
        let mut buf = take(100);
        buf.extend_from_slice(b"a view");
        let shared = into_bytes(buf);
        let part = shared.slice(2..);
        drop(shared);
        assert_eq!(&part[..], b"view", "a slice keeps the buffer alive");
    }

    #[test]
    fn idle_bytes_stay_within_the_budget_and_match_what_is_held() {
        // Threads taking and giving buffers of several classes at once:
        // whatever the interleaving, the pool ends holding no more than its
        // budget, and its count is what its queues hold.
        let pool = Pool::new(40 * CLASS_BYTES);
        std::thread::scope(|scope| {
            for t in 0..4usize {
                let pool = &pool;
                scope.spawn(move || {
                    let mut held = Vec::new();
                    for i in 0..2000usize {
                        let bytes = 1 + (i * 7 + t * 13) % (4 * CLASS_BYTES);
                        held.push(pool.take(bytes));
                        if i % 3 != 0 {
                            if let Some(buf) = held.pop() {
                                pool.give(buf);
                            }
                        }
                        if held.len() > 8 {
                            pool.give(held.remove(0));
                        }
                    }
                    for buf in held {
                        pool.give(buf);
                    }
                });
            }
        });
        let idle = pool.idle.load(Ordering::Relaxed);
        assert!(idle <= 40 * CLASS_BYTES, "{idle}");
        let mut held = 0;
        for queue in &pool.classes {
            while let Some(buf) = queue.pop() {
                held += buf.capacity();
            }
        }
        assert_eq!(idle, held);
    }
}
