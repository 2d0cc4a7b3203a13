//! The memtable: a concurrent skiplist (`crossbeam-skiplist`) over internal
//! keys (user key ascending, sequence number descending), one per WAL.
//!
//! Writers insert under the engine's write lock; readers and scans read it
//! concurrently without locks. A full memtable becomes immutable (nothing
//! inserts into it again) and is flushed to an L0 table.
//!
//! Range tombstones (`delete_range`) are kept beside the skiplist in a short
//! list: one entry per `delete_range`, whatever the number of keys it covers.
//!
//! Its size is counted in heap bytes ([`entry_heap_bytes`]): the skiplist
//! node and the one allocation holding key and value, as the allocator
//! rounds them, so `write_buffer_bytes` bounds the memory a memtable takes.

mod key;
mod source;

use std::ops::Bound;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};

use crossbeam_skiplist::SkipMap;
use kv_core::merge_iter::VersionedEntry;

use crate::range_del::RangeTombstone;

pub use key::{entry_heap_bytes, KeyView, MemKey, Probe};
pub use source::MemSource;

/// One memtable and the WAL that holds its writes.
#[derive(Debug)]
pub struct Memtable {
    map: SkipMap<MemKey, ()>,
    bytes: AtomicUsize,
    max_seq: AtomicU64,
    wal_number: u64,
    range_dels: RwLock<Vec<RangeTombstone>>,
    /// Range tombstones held (read without the lock on every `get`).
    range_del_count: AtomicUsize,
}

impl Memtable {
    /// An empty memtable whose writes go to WAL `wal_number`.
    pub fn new(wal_number: u64) -> Self {
        Self {
            map: SkipMap::new(),
            bytes: AtomicUsize::new(0),
            max_seq: AtomicU64::new(0),
            wal_number,
            range_dels: RwLock::new(Vec::new()),
            range_del_count: AtomicUsize::new(0),
        }
    }

    /// The number of the WAL holding this memtable's writes.
    pub fn wal_number(&self) -> u64 {
        self.wal_number
    }

    /// Inserts one version (`None` = tombstone).
    pub fn insert(&self, key: &[u8], seq: u64, value: Option<&[u8]>) {
        let size = entry_heap_bytes(key.len(), value.map_or(0, <[u8]>::len));
        self.bytes.fetch_add(size, Ordering::Relaxed);
        self.max_seq.fetch_max(seq, Ordering::Relaxed);
        self.map.insert(MemKey::version(key, seq, value), ());
    }

    /// Inserts a range tombstone (its `seq` is the delete's).
    pub fn insert_range_del(&self, tombstone: RangeTombstone) {
        let size = entry_heap_bytes(tombstone.bound_bytes(), 0);
        self.bytes.fetch_add(size, Ordering::Relaxed);
        self.max_seq.fetch_max(tombstone.seq, Ordering::Relaxed);
        self.range_dels
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(tombstone);
        self.range_del_count.fetch_add(1, Ordering::Release);
    }

    /// The range tombstones held, in insertion order.
    pub fn range_dels(&self) -> Vec<RangeTombstone> {
        if self.range_del_count.load(Ordering::Acquire) == 0 {
            return Vec::new();
        }
        self.range_dels
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The newest range tombstone covering `key` visible at `snapshot` (0
    /// when none).
    pub fn newest_range_del(&self, key: &[u8], snapshot: u64) -> u64 {
        if self.range_del_count.load(Ordering::Acquire) == 0 {
            return 0;
        }
        let list = self
            .range_dels
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        list.iter()
            .filter(|t| t.seq <= snapshot && t.contains(key))
            .map(|t| t.seq)
            .max()
            .unwrap_or(0)
    }

    /// Heap bytes held by its entries and range tombstones, as counted by
    /// [`entry_heap_bytes`].
    pub fn approximate_bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Number of versions held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when it holds neither a version nor a range tombstone.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
            && self
                .range_dels
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .is_empty()
    }

    /// Largest sequence number inserted (0 when empty).
    pub fn max_seq(&self) -> u64 {
        self.max_seq.load(Ordering::Relaxed)
    }

    /// The newest version of `key` with `seq <= snapshot`: `None` when the
    /// memtable has none, `Some(None)` for a tombstone.
    pub fn get(&self, key: &[u8], snapshot: u64) -> Option<Option<Vec<u8>>> {
        self.lookup(key, snapshot).map(|(_, v)| v)
    }

    /// As [`Memtable::get`], with the sequence number of the version found.
    pub fn lookup(&self, key: &[u8], snapshot: u64) -> Option<(u64, Option<Vec<u8>>)> {
        let probe = Probe::new(key, snapshot);
        let entry = self
            .map
            .lower_bound::<dyn KeyView>(Bound::Included(&probe as &dyn KeyView))?;
        let found = entry.key();
        (found.user() == key).then(|| (found.seq(), found.value().map(<[u8]>::to_vec)))
    }

    /// Every version in internal-key order (for flushes).
    pub fn entries(&self) -> impl Iterator<Item = VersionedEntry> + '_ {
        self.map.iter().map(|e| source::owned(e.key()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn get_sees_the_newest_version_at_a_snapshot() {
        let mem = Memtable::new(1);
        mem.insert(b"k", 1, Some(b"one"));
        mem.insert(b"k", 3, None);
        assert_eq!(mem.get(b"k", 2), Some(Some(b"one".to_vec())));
        assert_eq!(mem.get(b"k", 3), Some(None));
        assert_eq!(mem.get(b"k", 0), None);
        assert_eq!(mem.get(b"j", 9), None);
    }
}
