//! [`LsmOptions`]: the engine's knobs, with the anchors' defaults.

use kv_core::Options;

/// Default memtable size (64 MiB, as fjall and RocksDB).
pub const DEFAULT_WRITE_BUFFER_BYTES: usize = 64 << 20;
/// Default data block target (4 KiB, as every anchor).
pub const DEFAULT_BLOCK_BYTES: usize = 4096;
/// Default restart interval inside data blocks (16, as every anchor).
pub const DEFAULT_RESTART_INTERVAL: usize = 16;
/// Default bloom filter bits per key (10: about 1% false positives).
pub const DEFAULT_BLOOM_BITS_PER_KEY: usize = 10;
/// Default target size of a compaction output file (64 MiB, as fjall).
pub const DEFAULT_TARGET_FILE_BYTES: u64 = 64 << 20;
/// Default L1 size (4 target files, as fjall: 256 MiB).
pub const DEFAULT_BASE_LEVEL_BYTES: u64 = 256 << 20;
/// Default bound on open table files (1000, as LevelDB).
pub const DEFAULT_MAX_OPEN_FILES: usize = 1000;
/// Number of levels, L0 included (7, as LevelDB and fjall).
pub const NUM_LEVELS: usize = 7;

/// Options of the LSM engine. Build from [`LsmOptions::new`] and set fields.
#[derive(Debug, Clone)]
pub struct LsmOptions {
    /// The options every engine shares (file system, sync policy, background
    /// mode, cache budget, open mode).
    pub core: Options,
    /// A memtable becomes immutable once it holds about this many bytes.
    pub write_buffer_bytes: usize,
    /// Target size of a data block before it is cut.
    pub block_bytes: usize,
    /// Keys between restart points inside a data block.
    pub restart_interval: usize,
    /// Bloom filter bits per key.
    pub bloom_bits_per_key: usize,
    /// L0 file count that triggers an L0 -> L1 compaction.
    pub l0_compaction_trigger: usize,
    /// L0 file count from which writes slow down.
    pub l0_slowdown_writes: usize,
    /// L0 file count at which writes wait for compaction.
    pub l0_stop_writes: usize,
    /// Immutable memtables at which writes wait for the flush (default 1,
    /// as LevelDB and RocksDB's default `max_write_buffer_number = 2`: at
    /// most two memtables in memory, 2 x `write_buffer_bytes` of heap, since
    /// a memtable counts its heap bytes; fjall halts at four).
    pub max_immutable_memtables: usize,
    /// Maximum size of L1; each deeper level is `level_size_multiplier`
    /// times larger.
    pub base_level_bytes: u64,
    /// Size ratio between adjacent levels.
    pub level_size_multiplier: u64,
    /// Compaction outputs are cut at about this size.
    pub target_file_bytes: u64,
    /// Table files held open at once (the table cache); tables whose file
    /// was closed reopen it on their next read.
    pub max_open_files: usize,
    /// Keep `stats().live_keys` exact: every write looks up whether its key
    /// was live (a memtable probe and bloom probes, a block read for an
    /// overwrite of a flushed key), and open counts the live keys with a
    /// full scan. When false, `live_keys` is an estimate from the table
    /// properties, `stats().live_keys_exact` is false, and writes do no
    /// lookup. Default: false (the per-write lookup costs throughput).
    pub exact_live_keys: bool,
    /// Leveled (default) or tiered compaction; recorded in the manifest at
    /// each read-write open. A store opened with the other strategy than
    /// last time goes on with the new one (nothing is rewritten).
    pub compaction: crate::compaction::CompactionStrategy,
}

impl Default for LsmOptions {
    fn default() -> Self {
        Self::new(Options::default())
    }
}

impl LsmOptions {
    /// The anchors' defaults over `core`.
    pub fn new(core: Options) -> Self {
        Self {
            core,
            write_buffer_bytes: DEFAULT_WRITE_BUFFER_BYTES,
            block_bytes: DEFAULT_BLOCK_BYTES,
            restart_interval: DEFAULT_RESTART_INTERVAL,
            bloom_bits_per_key: DEFAULT_BLOOM_BITS_PER_KEY,
            l0_compaction_trigger: 4,
            l0_slowdown_writes: 8,
            l0_stop_writes: 12,
            max_immutable_memtables: 1,
            base_level_bytes: DEFAULT_BASE_LEVEL_BYTES,
            level_size_multiplier: 10,
            target_file_bytes: DEFAULT_TARGET_FILE_BYTES,
            exact_live_keys: false,
            max_open_files: DEFAULT_MAX_OPEN_FILES,
            compaction: crate::compaction::CompactionStrategy::Leveled,
        }
    }

    /// Tiny sizes so flushes and compactions run constantly (tests).
    pub fn tiny(core: Options) -> Self {
        Self {
            write_buffer_bytes: 4096,
            block_bytes: 256,
            base_level_bytes: 16 << 10,
            target_file_bytes: 4096,
            max_open_files: 8,
            ..Self::new(core)
        }
    }

    /// Largest size of `level` (1 and deeper) before it is compacted down.
    pub fn max_level_bytes(&self, level: usize) -> u64 {
        let mut bytes = self.base_level_bytes.max(1);
        for _ in 1..level {
            bytes = bytes.saturating_mul(self.level_size_multiplier.max(2));
        }
        bytes
    }

    /// Checks the options make sense.
    ///
    /// # Errors
    /// `InvalidArgument` naming the bad option.
    pub fn validate(&self) -> kv_core::Result<()> {
        let bad = |what: &str| Err(kv_core::Error::InvalidArgument(what.to_owned()));
        if self.restart_interval == 0 {
            return bad("restart_interval must be at least 1");
        }
        if self.block_bytes == 0 || self.target_file_bytes == 0 {
            return bad("block_bytes and target_file_bytes must be positive");
        }
        if self.l0_compaction_trigger == 0
            || self.l0_slowdown_writes < self.l0_compaction_trigger
            || self.l0_stop_writes < self.l0_slowdown_writes
        {
            return bad("need 1 <= l0_compaction_trigger <= l0_slowdown_writes <= l0_stop_writes");
        }
        if self.max_immutable_memtables == 0 {
            return bad("max_immutable_memtables must be at least 1");
        }
        Ok(())
    }
}
