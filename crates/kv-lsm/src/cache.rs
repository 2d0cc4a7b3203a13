//! The block cache: one byte budget (`Options::cache_bytes`) for decoded
//! data blocks, in a `quick_cache` (S3-FIFO) concurrent cache.
//!
//! Blocks enter the cache only after their checksum verified. A block larger
//! than [`MAX_ADMIT_FRACTION`] of the budget is never admitted, so one huge
//! value cannot flush the whole cache.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::Weighter;

use crate::table::block::Block;

/// A block larger than `budget / MAX_ADMIT_FRACTION` is not cached.
pub const MAX_ADMIT_FRACTION: u64 = 8;

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

    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        self.cache.as_ref().map_or(0, Cache::weight)
    }
}
