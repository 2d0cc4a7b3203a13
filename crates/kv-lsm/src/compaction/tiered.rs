//! Tiered (size-tiered) compaction: which sorted runs to merge next.
//!
//! # Sorted runs
//! The runs, newest first, are every L0 table on its own, then each
//! non-empty level L1..L6 (one sorted run of non-overlapping tables per
//! level, deeper is older): the same state leveled compaction keeps, so a
//! store switches strategy at open without rewriting anything.
//!
//! # What is merged, in order
//! 1. **Space amplification** (RocksDB universal): when the runs newer than
//!    the oldest add up to more than `max_space_amp_percent` of the oldest,
//!    every run is merged into one. This bounds the bytes on disk to about
//!    `(1 + max_space_amp_percent / 100)` times the oldest run.
//! 2. **Size tiers** (Cassandra STCS, from `run_trigger` runs on): the
//!    newest group of at least `min_merge_width` runs adjacent in age whose
//!    sizes are alike (each run joins when it is within
//!    `bucket_low_percent..=bucket_high_percent` of the average of the newer
//!    runs of its group) is merged into one. With a fan-in of 4 a byte is
//!    rewritten about `log4(data / memtable)` times.
//! 3. **Run count**: failing 2, above `max_runs` runs the newest are merged
//!    so that `max_runs - 1` remain.
//!
//! # Where the output goes
//! A group is always adjacent in age, and a group that ends among the L0
//! tables is widened to the oldest L0 table, so no older table is ever read
//! before the output. The output goes into the deepest level the group
//! read; a group of L0 tables alone goes into the empty level just above
//! the shallowest non-empty one (L6 in an empty store). When L1 is taken,
//! the levels are first moved down, whole and without a rewrite, into the
//! empty levels below them ([`Compaction::move_only`]); when all six are
//! taken, the two adjacent levels of most alike sizes are merged first, to
//! free one.
//!
//! Each merge turns at least two runs into one and each move shifts a run
//! one level down, so inline compaction ends. Tombstones and old versions
//! follow the rules of leveled compaction (`compaction/run.rs`): a
//! tombstone is dropped only when no level below the output overlaps the
//! merge, an old version only when no live snapshot reads it.

use std::sync::Arc;

use super::strategy::TieredOptions;
use super::Compaction;
use crate::options::NUM_LEVELS;
use crate::table::Table;
use crate::version::Version;

/// One sorted run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Its level (0 for an L0 table).
    pub level: usize,
    /// Its tables.
    pub tables: Vec<Arc<Table>>,
    /// Bytes of its tables.
    pub bytes: u64,
}

/// The sorted runs of `version`, newest first.
pub fn runs(version: &Version) -> Vec<Run> {
    let mut out: Vec<Run> = version.levels[0]
        .iter()
        .map(|t| Run {
            level: 0,
            tables: vec![Arc::clone(t)],
            bytes: t.size(),
        })
        .collect();
    for (level, files) in version.levels.iter().enumerate().skip(1) {
        if !files.is_empty() {
            out.push(Run {
                level,
                tables: files.clone(),
                bytes: files.iter().map(|t| t.size()).sum(),
            });
        }
    }
    out
}

/// True when the runs newer than the oldest exceed the space bound.
pub fn space_amp_exceeded(runs: &[Run], options: &TieredOptions) -> bool {
    let Some((oldest, newer)) = runs.split_last() else {
        return false;
    };
    let newer: u64 = newer.iter().map(|r| r.bytes).sum();
    u128::from(newer) * 100 > u128::from(options.max_space_amp_percent) * u128::from(oldest.bytes)
}

/// True when a run of `bytes` belongs to a tier of `count` runs holding
/// `sum` bytes.
fn in_tier(bytes: u64, sum: u64, count: usize, options: &TieredOptions) -> bool {
    let scaled = u128::from(bytes) * 100 * count as u128;
    let sum = u128::from(sum);
    scaled >= sum * u128::from(options.bucket_low_percent)
        && scaled <= sum * u128::from(options.bucket_high_percent)
}

/// The end (exclusive) of the size tier that starts at run `start`.
fn tier_end(runs: &[Run], start: usize, options: &TieredOptions) -> usize {
    let mut sum = runs.get(start).map_or(0, |r| r.bytes);
    let mut end = start + 1;
    while let Some(next) = runs.get(end) {
        if !in_tier(next.bytes, sum, end - start, options) {
            break;
        }
        sum += next.bytes;
        end += 1;
    }
    end
}

/// `end` widened so a group never ends among the L0 tables with an older
/// L0 table left out.
fn widen_to_l0_end(runs: &[Run], end: usize) -> usize {
    let l0 = runs.iter().take_while(|r| r.level == 0).count();
    if end < l0 {
        l0
    } else {
        end
    }
}

/// The newest size tier of at least `min_merge_width` runs, as a range of
/// run indices.
fn newest_tier(runs: &[Run], options: &TieredOptions) -> Option<std::ops::Range<usize>> {
    let width = options.min_merge_width.max(2);
    (0..runs.len()).find_map(|start| {
        let end = tier_end(runs, start, options);
        (end - start >= width).then(|| start..widen_to_l0_end(runs, end))
    })
}

/// The next tiered compaction, or `None` when none is due.
pub fn pick(version: &Version, options: &TieredOptions) -> Option<Compaction> {
    let runs = runs(version);
    if runs.len() < 2 {
        return None;
    }
    if space_amp_exceeded(&runs, options) {
        return plan(version, &runs, 0..runs.len(), true);
    }
    if runs.len() < options.run_trigger.max(2) {
        return None;
    }
    if let Some(group) = newest_tier(&runs, options) {
        return plan(version, &runs, group, false);
    }
    let cap = options.max_runs.max(2);
    if runs.len() > cap {
        let span = runs.len() + 2 - cap;
        return plan(version, &runs, 0..widen_to_l0_end(&runs, span), false);
    }
    None
}

/// The compaction merging `group` (run indices, adjacent in age, widened
/// to the oldest L0 table when it ends in L0), or the move that makes room
/// for its output.
fn plan(
    version: &Version,
    runs: &[Run],
    group: std::ops::Range<usize>,
    full: bool,
) -> Option<Compaction> {
    let group = runs.get(group)?;
    let deepest = group.iter().map(|r| r.level).max()?;
    let output_level = if deepest > 0 {
        deepest
    } else {
        match (1..NUM_LEVELS).find(|&l| !version.levels[l].is_empty()) {
            None => NUM_LEVELS - 1,
            Some(1) => return move_down(version).or_else(|| merge_most_alike(runs)),
            Some(first) => first - 1,
        }
    };
    let mut inputs: Vec<(usize, Vec<Arc<Table>>)> = Vec::new();
    for run in group {
        match inputs.last_mut() {
            Some((0, tables)) if run.level == 0 => tables.extend(run.tables.iter().cloned()),
            _ => inputs.push((run.level, run.tables.clone())),
        }
    }
    Some(Compaction {
        inputs,
        output_level,
        full,
        move_only: false,
    })
}

/// Moves the level just above the shallowest empty level below L1 one
/// level down (no rewrite: the run keeps its place in age, as no run lies
/// between the two levels), or `None` when L1..L6 are all taken.
fn move_down(version: &Version) -> Option<Compaction> {
    let empty = (2..NUM_LEVELS).find(|&l| version.levels[l].is_empty())?;
    let from = empty - 1;
    Some(Compaction {
        inputs: vec![(from, version.levels[from].clone())],
        output_level: empty,
        full: false,
        move_only: true,
    })
}

/// With L1..L6 all taken: the merge of the two adjacent levels whose sizes
/// are most alike, into the deeper one, which frees a level at the least
/// cost (merging the L0 tables into L1 instead would rewrite L1 again at
/// every merge of L0 tables while the levels stay full).
fn merge_most_alike(runs: &[Run]) -> Option<Compaction> {
    let levels: Vec<&Run> = runs.iter().filter(|r| r.level > 0).collect();
    let unlike = |pair: &&[&Run]| -> u128 {
        let (a, b) = (pair[0].bytes.max(1), pair[1].bytes.max(1));
        u128::from(a.max(b)) * 1_000_000 / u128::from(a.min(b))
    };
    let pair = levels.windows(2).min_by_key(unlike)?;
    Some(Compaction {
        inputs: pair.iter().map(|r| (r.level, r.tables.clone())).collect(),
        output_level: pair[1].level,
        full: false,
        move_only: false,
    })
}
