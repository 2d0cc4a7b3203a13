//! A [`Version`]: the live tables of every level, immutable and shared; and
//! a [`SuperVersion`]: a version with the memtables in front of it, what a
//! read or a scan pins.
//!
//! # Invariants
//! - L0 tables are ordered newest first (by file number: tables reach L0 in
//!   the order their memtables were written); they may overlap.
//! - Every level below L0 is sorted by key and its tables do not overlap.
//! - Deeper data is older: for any key, a version in a shallower level (or
//!   a newer L0 table) has a larger sequence number than one below it. Both
//!   compaction strategies keep this (leveled and tiered alike merge a
//!   level's data only into a deeper or the same level).
//! - Range tombstones are not placed by level: [`Version::range_dels`]
//!   holds every table's, fragmented, and a read applies them by sequence
//!   number alone.

use std::sync::Arc;

use crate::memtable::Memtable;
use crate::options::NUM_LEVELS;
use crate::range_del::Fragments;
use crate::table::Table;

/// The live tables per level.
#[derive(Debug, Clone)]
pub struct Version {
    /// `levels[0]` newest first; deeper levels sorted by smallest key.
    pub levels: Vec<Vec<Arc<Table>>>,
    /// The range tombstones of every table, fragmented.
    pub range_dels: Arc<Fragments>,
}

impl Default for Version {
    fn default() -> Self {
        Self {
            levels: vec![Vec::new(); NUM_LEVELS],
            range_dels: Arc::default(),
        }
    }
}

impl Version {
    /// This version with `deleted` tables removed and `added` ones added.
    pub fn apply(&self, deleted: &[(usize, u64)], added: &[(usize, Arc<Table>)]) -> Self {
        let mut levels = self.levels.clone();
        for &(level, number) in deleted {
            if let Some(files) = levels.get_mut(level) {
                files.retain(|t| t.number() != number);
            }
        }
        for (level, table) in added {
            if let Some(files) = levels.get_mut(*level) {
                files.push(Arc::clone(table));
            }
        }
        let range_dels = Arc::new(Fragments::new(
            levels.iter().flatten().flat_map(|t| t.range_dels().iter()),
        ));
        let mut out = Self { levels, range_dels };
        out.sort();
        out
    }

    /// The sorted runs, newest first: every L0 table on its own, then each
    /// non-empty deeper level as one run.
    pub fn sorted_runs(&self) -> usize {
        self.levels.first().map_or(0, Vec::len)
            + self.levels.iter().skip(1).filter(|l| !l.is_empty()).count()
    }

    fn sort(&mut self) {
        for (level, files) in self.levels.iter_mut().enumerate() {
            if level == 0 {
                files.sort_by_key(|t| std::cmp::Reverse(t.number()));
            } else {
                files.sort_by(|a, b| a.smallest().cmp(b.smallest()));
            }
        }
    }

    /// Bytes of the tables of `level`.
    pub fn level_bytes(&self, level: usize) -> u64 {
        self.levels
            .get(level)
            .map_or(0, |files| files.iter().map(|t| t.size()).sum())
    }

    /// Tables of `level` whose key range meets `[smallest, largest]`.
    pub fn overlapping(&self, level: usize, smallest: &[u8], largest: &[u8]) -> Vec<Arc<Table>> {
        self.levels.get(level).map_or_else(Vec::new, |files| {
            files
                .iter()
                .filter(|t| t.largest() >= smallest && t.smallest() <= largest)
                .cloned()
                .collect()
        })
    }

    /// Every table.
    pub fn all_tables(&self) -> impl Iterator<Item = (usize, &Arc<Table>)> {
        self.levels
            .iter()
            .enumerate()
            .flat_map(|(l, files)| files.iter().map(move |t| (l, t)))
    }
}

/// What a read pins: the mutable memtable, the immutable ones (newest
/// first) and the version.
#[derive(Debug, Clone)]
pub struct SuperVersion {
    /// The memtable writes go to.
    pub mem: Arc<Memtable>,
    /// Full memtables waiting for their flush, newest first.
    pub imms: Vec<Arc<Memtable>>,
    /// The tables.
    pub version: Arc<Version>,
}
