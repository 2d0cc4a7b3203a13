//! Range tombstones in a compaction.
//!
//! - A version of the inputs that a range tombstone of the inputs hides
//!   from every reader (a larger sequence number, no live snapshot in
//!   between) is dropped ([`HideCovered`]).
//! - A range tombstone is written to the output unless it can go: no live
//!   snapshot is older than it (so every version it covers in the inputs was
//!   dropped), and no table outside the compaction holds a point entry in
//!   its range older than it (so nothing it hides can remain). Memtables
//!   hold only newer writes than any table, so they never matter.

use std::collections::BTreeSet;
use std::sync::Arc;

use kv_core::merge_iter::VersionedEntry;
use kv_core::Result;

use super::Compaction;
use crate::range_del::{Fragments, RangeTombstone};
use crate::table::Table;
use crate::version::Version;

/// The range tombstones of a compaction's inputs, split into what hides
/// versions and what is written out.
#[derive(Debug, Default)]
pub struct CompactionRangeDels {
    /// Every input tombstone, fragmented (what hides input versions).
    pub hiding: Fragments,
    /// The tombstones the output keeps.
    pub kept: Vec<RangeTombstone>,
    /// Tombstones dropped.
    pub dropped: u64,
}

impl CompactionRangeDels {
    /// The tombstones of `c`'s inputs, against the tables of `current`
    /// outside `c` and the live `snapshots` (ascending).
    pub fn new(c: &Compaction, current: &Version, snapshots: &[u64]) -> Self {
        let all: Vec<RangeTombstone> = c
            .tables()
            .flat_map(|(_, t)| t.range_dels().iter().cloned())
            .collect();
        if all.is_empty() {
            return Self::default();
        }
        let inputs: BTreeSet<u64> = c.tables().map(|(_, t)| t.number()).collect();
        let outside: Vec<&Arc<Table>> = current
            .all_tables()
            .map(|(_, t)| t)
            .filter(|t| !inputs.contains(&t.number()))
            .collect();
        let droppable = |r: &RangeTombstone| {
            snapshots.iter().all(|&s| s >= r.seq)
                && !outside.iter().any(|t| {
                    t.props().entries > 0
                        && t.props().min_seq < r.seq
                        && r.overlaps(t.smallest(), t.largest())
                })
        };
        let hiding = Fragments::new(&all);
        let (gone, kept): (Vec<_>, Vec<_>) = all.into_iter().partition(|r| droppable(r));
        Self {
            hiding,
            kept,
            dropped: gone.len() as u64,
        }
    }
}

/// Drops the versions a range tombstone hides from every reader.
pub struct HideCovered<'a, I> {
    /// The merged versions.
    pub inner: I,
    /// The input tombstones.
    pub hiding: &'a Fragments,
    /// Live snapshots, ascending.
    pub snapshots: &'a [u64],
}

impl<I: Iterator<Item = Result<VersionedEntry>>> Iterator for HideCovered<'_, I> {
    type Item = Result<VersionedEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.inner.next()? {
                Ok(e)
                    if !self.hiding.is_empty()
                        && self
                            .hiding
                            .hides_for_every_reader(&e.key, e.seq, self.snapshots) =>
                {
                    continue
                }
                other => return Some(other),
            }
        }
    }
}
