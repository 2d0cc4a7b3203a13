//! [`CompactionStrategy`]: which of the two classic strategies merges the
//! tables, chosen at open ([`crate::LsmOptions::compaction`]) and recorded
//! in the manifest.
//!
//! Both keep the same on-disk state (L0 tables that may overlap, then
//! levels that are each one sorted run, deeper data older), so a store
//! opened with the other strategy than last time simply goes on with it:
//! nothing is rewritten at open.

/// How the engine compacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompactionStrategy {
    /// Leveled (LevelDB, RocksDB's default, fjall's default): each level ten
    /// times the last, tables merged one level down. Low space and read
    /// amplification, higher write amplification.
    #[default]
    Leveled,
    /// Size-tiered / universal (RocksDB universal, Cassandra STCS, fjall's
    /// `Tiered`): sorted runs of similar size merged together. Lower write
    /// amplification, higher space and read amplification.
    Tiered(TieredOptions),
}

impl CompactionStrategy {
    /// Tiered with the default options.
    pub fn tiered() -> Self {
        Self::Tiered(TieredOptions::default())
    }

    /// The tag recorded in the manifest: 0 leveled, 1 tiered.
    pub fn tag(&self) -> u64 {
        match self {
            Self::Leveled => 0,
            Self::Tiered(_) => 1,
        }
    }

    /// A short name for stats and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Leveled => "leveled",
            Self::Tiered(_) => "tiered",
        }
    }
}

/// Default size ratio of tiered compaction, in percent (RocksDB universal's
/// `size_ratio`: 1).
pub const DEFAULT_SIZE_RATIO_PERCENT: u64 = 1;
/// Default space-amplification bound of tiered compaction, in percent
/// (RocksDB universal's `max_size_amplification_percent`: 200).
pub const DEFAULT_MAX_SPACE_AMP_PERCENT: u64 = 200;
/// Default number of sorted runs that starts a tiered compaction (RocksDB
/// universal uses `level0_file_num_compaction_trigger`, 4).
pub const DEFAULT_RUN_TRIGGER: usize = 4;

/// Knobs of tiered compaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TieredOptions {
    /// Runs are merged while the next older run is at most the sum of the
    /// newer ones picked so far, plus this percentage.
    pub size_ratio_percent: u64,
    /// When the runs newer than the oldest add up to more than this
    /// percentage of the oldest, every run is merged into one (bounds space
    /// amplification to about `1 + max_space_amp_percent / 100`).
    pub max_space_amp_percent: u64,
    /// Sorted runs (each L0 table is one, each non-empty deeper level one)
    /// from which a size-ratio merge is considered.
    pub run_trigger: usize,
    /// Fewest runs a size-ratio merge takes.
    pub min_merge_width: usize,
}

impl Default for TieredOptions {
    fn default() -> Self {
        Self {
            size_ratio_percent: DEFAULT_SIZE_RATIO_PERCENT,
            max_space_amp_percent: DEFAULT_MAX_SPACE_AMP_PERCENT,
            run_trigger: DEFAULT_RUN_TRIGGER,
            min_merge_width: 2,
        }
    }
}
