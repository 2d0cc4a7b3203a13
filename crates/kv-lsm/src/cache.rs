//! The block cache: one byte budget (`Options::cache_bytes`) for data,
//! index and filter blocks. Data blocks live in a `quick_cache` (S3-FIFO)
//! concurrent cache; each open table's index and bloom filter stay decoded
//! in memory for as long as the table is open (pinned, as LevelDB keeps
//! them in its table cache), and their bytes are charged to the same
//! budget: the data-block cache gets what the pinned blocks leave, but
//! never less than `1 / MIN_DATA_FRACTION` of the budget (so a store whose
//! filters and indexes alone outgrow the budget still caches data blocks,
//! and exceeds the budget by its pinned bytes only; `stats()` shows both).
//!
//! Blocks enter the cache only after their checksum verified. A block larger
//! than [`MAX_ADMIT_FRACTION`] of the budget is never admitted, so one huge
//! value cannot flush the whole cache.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use quick_cache::sync::Cache;
use quick_cache::Weighter;

use crate::table::block::Block;

/// A block larger than `budget / MAX_ADMIT_FRACTION` is not cached.
pub const MAX_ADMIT_FRACTION: u64 = 8;

/// The data-block cache keeps at least `budget / MIN_DATA_FRACTION`,
/// whatever the pinned blocks take.
pub const MIN_DATA_FRACTION: u64 = 8;

/// Cache key: (table file number, block offset).
pub type BlockKey = (u64, u64);

#[derive(Debug, Clone, Copy)]
struct BlockWeight;

impl Weighter<BlockKey, Arc<Block>> for BlockWeight {
    fn weight(&self, _: &BlockKey, block: &Arc<Block>) -> u64 {
        block.size_bytes() as u64
    }
}

/// The shared block cache with hit and miss counters.
pub struct BlockCache {
    cache: Option<Cache<BlockKey, Arc<Block>, BlockWeight>>,
    budget_bytes: u64,
    /// Bytes of the index and filter blocks of the open tables.
    pinned: Mutex<u64>,
    max_admit_bytes: u64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for BlockCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockCache")
            .field("max_admit_bytes", &self.max_admit_bytes)
            .finish_non_exhaustive()
    }
}

impl BlockCache {
    /// A cache of `budget_bytes` (0 disables it).
    pub fn new(budget_bytes: u64) -> Self {
        let cache = (budget_bytes > 0).then(|| {
            let items = (budget_bytes / 4096).clamp(16, 1 << 22) as usize;
            Cache::with_weighter(items, budget_bytes, BlockWeight)
        });
        Self {
            cache,
            budget_bytes,
            pinned: Mutex::new(0),
            max_admit_bytes: budget_bytes / MAX_ADMIT_FRACTION,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The cached block, counting a hit or a miss.
    pub fn get(&self, key: BlockKey) -> Option<Arc<Block>> {
        let found = self.cache.as_ref().and_then(|c| c.get(&key));
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Caches a verified block unless it is too large.
    pub fn insert(&self, key: BlockKey, block: Arc<Block>) {
        if let Some(cache) = &self.cache {
            if block.size_bytes() as u64 <= self.max_admit_bytes {
                cache.insert(key, block);
            }
        }
    }

    /// (hits, misses) since open.
    pub fn counters(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// Bytes of data blocks held.
    pub fn bytes(&self) -> u64 {
        self.cache.as_ref().map_or(0, Cache::weight)
    }

    /// Charges `bytes` of a table's pinned index and filter to the budget,
    /// shrinking the data-block cache (evicting if it is over).
    pub fn pin(&self, bytes: u64) {
        let mut pinned = self.pinned.lock().unwrap_or_else(PoisonError::into_inner);
        *pinned += bytes;
        self.resize(*pinned);
    }

    /// Gives back what [`BlockCache::pin`] charged, when its table closes.
    pub fn unpin(&self, bytes: u64) {
        let mut pinned = self.pinned.lock().unwrap_or_else(PoisonError::into_inner);
        *pinned = pinned.saturating_sub(bytes);
        self.resize(*pinned);
    }

    /// Bytes of index and filter blocks pinned by the open tables.
    pub fn pinned_bytes(&self) -> u64 {
        *self.pinned.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What the data-block cache may hold now.
    pub fn data_capacity(&self) -> u64 {
        self.cache.as_ref().map_or(0, Cache::capacity)
    }

    /// Sets the data-block capacity for `pinned` bytes of pinned blocks
    /// (called under the `pinned` lock, so capacities follow the pins in
    /// order).
    fn resize(&self, pinned: u64) {
        if let Some(cache) = &self.cache {
            let floor = self.budget_bytes / MIN_DATA_FRACTION;
            cache.set_capacity(self.budget_bytes.saturating_sub(pinned).max(floor));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_blocks_shrink_the_data_cache_down_to_its_floor() {
        let cache = BlockCache::new(64 << 20);
        assert_eq!(cache.data_capacity(), 64 << 20);
        cache.pin(10 << 20);
        cache.pin(6 << 20);
        assert_eq!(cache.data_capacity(), 48 << 20);
        assert_eq!(cache.pinned_bytes(), 16 << 20);
        cache.pin(100 << 20);
        assert_eq!(
            cache.data_capacity(),
            8 << 20,
            "the floor: 1/8 of the budget"
        );
        cache.unpin(100 << 20);
        cache.unpin(6 << 20);
        assert_eq!(cache.data_capacity(), 54 << 20);
        cache.unpin(10 << 20);
        assert_eq!((cache.data_capacity(), cache.pinned_bytes()), (64 << 20, 0));
    }
}
