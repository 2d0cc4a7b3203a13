//! Compaction: merging tables into new tables further down. The
//! [`CompactionStrategy`] chosen at open decides what to compact
//! ([`leveled`] or [`tiered`]); [`run`] does it, with the range tombstones
//! of the inputs handled by [`range_dels`].

pub mod leveled;
pub mod range_dels;
pub mod run;
pub mod strategy;
pub mod tiered;

use std::sync::Arc;

pub use strategy::{CompactionStrategy, TieredOptions};

use crate::options::LsmOptions;
use crate::table::Table;
use crate::version::Version;

/// The next compaction the strategy of `options` calls for, if any.
pub fn pick(version: &Version, options: &LsmOptions) -> Option<Compaction> {
    match &options.compaction {
        CompactionStrategy::Leveled => leveled::pick(version, options),
        CompactionStrategy::Tiered(t) => tiered::pick(version, t),
    }
}

/// One compaction: input tables per level and the level the output goes to.
#[derive(Debug, Clone)]
pub struct Compaction {
    /// Input tables, by level (L0 tables may overlap; others do not).
    pub inputs: Vec<(usize, Vec<Arc<Table>>)>,
    /// Where the output tables go.
    pub output_level: usize,
    /// True for `compact()`: every table of the store.
    pub full: bool,
    /// True when the inputs, every table of one level, are moved into the
    /// empty `output_level` without a rewrite (tiered compaction making
    /// room; only ever into an empty level with no run between the two).
    pub move_only: bool,
}

impl Compaction {
    /// Every input table with its level.
    pub fn tables(&self) -> impl Iterator<Item = (usize, &Arc<Table>)> {
        self.inputs
            .iter()
            .flat_map(|(l, ts)| ts.iter().map(move |t| (*l, t)))
    }

    /// Smallest and largest user key of the inputs.
    pub fn key_range(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        let mut range: Option<(Vec<u8>, Vec<u8>)> = None;
        for (_, t) in self.tables() {
            range = Some(match range {
                None => (t.smallest().to_vec(), t.largest().to_vec()),
                Some((s, l)) => (s.min(t.smallest().to_vec()), l.max(t.largest().to_vec())),
            });
        }
        range
    }
}
