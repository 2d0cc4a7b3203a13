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

/// Default lower bound of a size tier, in percent of the tier's average
/// (Cassandra STCS's `bucket_low`: 0.5).
pub const DEFAULT_BUCKET_LOW_PERCENT: u64 = 50;
/// Default upper bound of a size tier, in percent of the tier's average
/// (Cassandra STCS's `bucket_high`: 1.5).
pub const DEFAULT_BUCKET_HIGH_PERCENT: u64 = 150;
/// Default space-amplification bound of tiered compaction, in percent
/// (RocksDB universal's `max_size_amplification_percent`: 200).
pub const DEFAULT_MAX_SPACE_AMP_PERCENT: u64 = 200;
/// Default number of sorted runs from which a tiered compaction is
/// considered (RocksDB universal's `level0_file_num_compaction_trigger`, 4).
pub const DEFAULT_RUN_TRIGGER: usize = 4;
/// Default number of runs of one size tier merged together (Cassandra
/// STCS's `min_threshold`, 4): the fan-in that makes a byte be rewritten
/// about `log4(data / memtable)` times.
pub const DEFAULT_MIN_MERGE_WIDTH: usize = 4;
/// Default hard cap on sorted runs (our `l0_stop_writes`, 12): above it the
/// newest runs are merged whatever their sizes.
pub const DEFAULT_MAX_RUNS: usize = 12;

/// Knobs of tiered compaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TieredOptions {
    /// A run joins the size tier of the newer runs next to it when its
    /// size is at least this percentage of the tier's average so far.
    pub bucket_low_percent: u64,
    /// ... and at most this percentage of it.
    pub bucket_high_percent: u64,
    /// When the runs newer than the oldest add up to more than this
    /// percentage of the oldest, every run is merged into one (bounds space
    /// amplification to about `1 + max_space_amp_percent / 100`).
    pub max_space_amp_percent: u64,
    /// Sorted runs (each L0 table is one, each non-empty deeper level one)
    /// from which a size-tier or run-count merge is considered.
    pub run_trigger: usize,
    /// Fewest runs of one size tier merged together (at least 2).
    pub min_merge_width: usize,
    /// More sorted runs than this and, failing a size-tier merge, the
    /// newest runs are merged so that `max_runs - 1` remain.
    pub max_runs: usize,
}

impl Default for TieredOptions {
    fn default() -> Self {
        Self {
            bucket_low_percent: DEFAULT_BUCKET_LOW_PERCENT,
            bucket_high_percent: DEFAULT_BUCKET_HIGH_PERCENT,
            max_space_amp_percent: DEFAULT_MAX_SPACE_AMP_PERCENT,
            run_trigger: DEFAULT_RUN_TRIGGER,
            min_merge_width: DEFAULT_MIN_MERGE_WIDTH,
            max_runs: DEFAULT_MAX_RUNS,
        }
    }
}
