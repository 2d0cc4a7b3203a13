//! Leveled compaction: which tables to merge next.
//!
//! - **Score** of L0: files / `l0_compaction_trigger`; of Ln (n >= 1): bytes
//!   / `max_level_bytes(n)` (`base_level_bytes` x `level_size_multiplier`^(n-1)).
//!   The level with the highest score >= 1 is compacted; the last level never
//!   is.
//! - **L0 -> L1**: every L0 table (they overlap each other) plus the L1
//!   tables their key range meets.
//! - **Ln -> Ln+1**: the one table of Ln whose key range meets the fewest
//!   bytes of Ln+1 (least write amplification), plus those Ln+1 tables.
//!   When it meets none, the table is moved down without a rewrite (a
//!   trivial move).

use std::sync::Arc;

use super::Compaction;
use crate::options::{LsmOptions, NUM_LEVELS};
use crate::table::Table;
use crate::version::Version;

/// The level most in need of compaction and its score, if any is >= 1.
pub fn most_urgent(version: &Version, options: &LsmOptions) -> Option<(usize, f64)> {
    let mut best: Option<(usize, f64)> = None;
    for level in 0..NUM_LEVELS - 1 {
        let score = if level == 0 {
            version.levels[0].len() as f64 / options.l0_compaction_trigger as f64
        } else {
            version.level_bytes(level) as f64 / options.max_level_bytes(level) as f64
        };
        if score >= 1.0 && best.is_none_or(|(_, s)| score > s) {
            best = Some((level, score));
        }
    }
    best
}

fn range_of(tables: &[Arc<Table>]) -> Option<(Vec<u8>, Vec<u8>)> {
    let smallest = tables.iter().map(|t| t.smallest()).min()?;
    let largest = tables.iter().map(|t| t.largest()).max()?;
    Some((smallest.to_vec(), largest.to_vec()))
}

/// The next compaction, or `None` when every level is within its size.
pub fn pick(version: &Version, options: &LsmOptions) -> Option<Compaction> {
    let (level, _) = most_urgent(version, options)?;
    let inputs = if level == 0 {
        version.levels[0].clone()
    } else {
        let best = version.levels[level].iter().min_by_key(|t| {
            version
                .overlapping(level + 1, t.smallest(), t.largest())
                .iter()
                .map(|o| o.size())
                .sum::<u64>()
        })?;
        vec![Arc::clone(best)]
    };
    let (smallest, largest) = range_of(&inputs)?;
    let next = version.overlapping(level + 1, &smallest, &largest);
    Some(Compaction {
        inputs: vec![(level, inputs), (level + 1, next)],
        output_level: level + 1,
        full: false,
        move_only: false,
    })
}

/// A compaction of every table of the store into its deepest non-empty
/// level (L1 at least), or `None` for a store without tables.
pub fn pick_full(version: &Version) -> Option<Compaction> {
    let deepest = (1..NUM_LEVELS)
        .rev()
        .find(|&l| !version.levels[l].is_empty())
        .unwrap_or(1);
    let inputs: Vec<_> = version
        .levels
        .iter()
        .enumerate()
        .filter(|(_, files)| !files.is_empty())
        .map(|(l, files)| (l, files.clone()))
        .collect();
    if inputs.is_empty() {
        return None;
    }
    Some(Compaction {
        inputs,
        output_level: deepest,
        full: true,
        move_only: false,
    })
}

/// True when `c` moves its tables down without rewriting them: a level
/// move ([`Compaction::move_only`]) or a compaction of one table that
/// meets nothing below.
pub fn is_trivial_move(c: &Compaction) -> bool {
    c.move_only
        || (!c.full
            && c.tables().count() == 1
            && c.inputs.first().is_some_and(|(_, t)| t.len() == 1))
}
