//! Tiered (size-tiered, "universal") compaction: which sorted runs to merge
//! next.
//!
//! # Sorted runs
//! The runs, newest first, are every L0 table on its own, then each
//! non-empty level L1..L6 (one sorted run of non-overlapping tables per
//! level, deeper is older): the same state leveled compaction keeps, so a
//! store switches strategy at open without rewriting anything. A merge
//! always takes the newest runs (every L0 table among them, so no older L0
//! table is left above the output) and writes one run into the deepest
//! level it read, or, when it read only L0 tables, into the empty level just
//! above the shallowest non-empty one (into L1 with L1 merged too when L1
//! is taken; into L6 in an empty store).
//!
//! # What is merged, in order (RocksDB universal compaction)
//! 1. **Space amplification**: when the runs newer than the oldest add up
//!    to more than `max_space_amp_percent` of the oldest, every run is
//!    merged into one. This bounds the bytes on disk to about
//!    `(1 + max_space_amp_percent / 100)` times the oldest run.
//! 2. **Size ratio** (from `run_trigger` runs on): starting at the newest
//!    run, the next older run joins while it is at most the sum of the runs
//!    picked so far plus `size_ratio_percent`; at least `min_merge_width`
//!    runs.
//! 3. **Run count**: failing 2, the newest runs are merged so that
//!    `run_trigger - 1` runs remain.
//!
//! Each merge turns at least two runs into one, so inline compaction ends.
//! Tombstones and old versions follow the rules of leveled compaction
//! (`compaction/run.rs`): a tombstone is dropped only when no level below
//! the output overlaps the merge, an old version only when no live snapshot
//! reads it.

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

/// How many of the newest runs the size-ratio rule takes.
fn size_ratio_span(runs: &[Run], options: &TieredOptions) -> usize {
    let Some(first) = runs.first() else {
        return 0;
    };
    let mut sum = u128::from(first.bytes);
    let mut n = 1;
    while let Some(next) = runs.get(n) {
        if u128::from(next.bytes) * 100 > sum * u128::from(100 + options.size_ratio_percent) {
            break;
        }
        sum += u128::from(next.bytes);
        n += 1;
    }
    n
}

/// The next tiered compaction, or `None` when none is due.
pub fn pick(version: &Version, options: &TieredOptions) -> Option<Compaction> {
    let runs = runs(version);
    if runs.len() < 2 {
        return None;
    }
    if space_amp_exceeded(&runs, options) {
        return plan(version, &runs, runs.len(), true);
    }
    if runs.len() < options.run_trigger.max(2) {
        return None;
    }
    let mut span = size_ratio_span(&runs, options);
    if span < options.min_merge_width.max(2) {
        span = (runs.len() + 2).saturating_sub(options.run_trigger).max(2);
    }
    let span = span.max(version.levels[0].len()).min(runs.len());
    plan(version, &runs, span, false)
}

/// The compaction merging the newest `span` runs.
fn plan(version: &Version, runs: &[Run], mut span: usize, full: bool) -> Option<Compaction> {
    let last = runs.get(span.checked_sub(1)?)?;
    let output_level = if last.level > 0 {
        last.level
    } else {
        match (1..NUM_LEVELS).find(|&l| !version.levels[l].is_empty()) {
            None => NUM_LEVELS - 1,
            Some(1) => {
                span += 1; // no free level above L1: L1 joins the merge
                1
            }
            Some(first) => first - 1,
        }
    };
    let mut inputs: Vec<(usize, Vec<Arc<Table>>)> = Vec::new();
    for run in runs.iter().take(span) {
        match inputs.last_mut() {
            Some((0, tables)) if run.level == 0 => tables.extend(run.tables.iter().cloned()),
            _ => inputs.push((run.level, run.tables.clone())),
        }
    }
    Some(Compaction {
        inputs,
        output_level,
        full,
    })
}
