//! Engine counters, kept in atomics and reported by `stats()`.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters updated by the read, write and background paths.
#[derive(Debug, Default)]
pub struct Counters {
    /// Table lookups the bloom filter answered "absent".
    pub bloom_negatives: AtomicU64,
    /// Memtables flushed to L0.
    pub flushes: AtomicU64,
    /// Bytes of tables written by flushes.
    pub flush_bytes_written: AtomicU64,
    /// Compactions run (trivial moves excluded).
    pub compactions: AtomicU64,
    /// Trivial moves (a file moved down a level without a rewrite).
    pub trivial_moves: AtomicU64,
    /// Bytes of input tables read by compactions.
    pub compaction_bytes_read: AtomicU64,
    /// Bytes of tables written by compactions.
    pub compaction_bytes_written: AtomicU64,
    /// User bytes (keys plus values) written through the API.
    pub user_bytes_written: AtomicU64,
    /// Bytes appended to WALs.
    pub wal_bytes_written: AtomicU64,
    /// Writes that were slowed down.
    pub slowdowns: AtomicU64,
    /// Writes that waited for a flush or compaction.
    pub stops: AtomicU64,
    /// Microseconds writes spent slowed down or waiting.
    pub stall_micros: AtomicU64,
    /// Bytes of torn WAL tail dropped at the last open.
    pub torn_bytes: AtomicU64,
}

impl Counters {
    /// Adds `n` to `counter`.
    pub fn add(&self, counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads `counter`.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
