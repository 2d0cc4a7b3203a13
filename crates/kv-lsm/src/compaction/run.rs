//! Running a compaction.
//!
//! # Crash barriers, in order
//! 1. every output table is written and synced, then the directory synced;
//! 2. the manifest edit (outputs added, inputs deleted) is appended and
//!    synced;
//! 3. the inputs are marked obsolete; each file is removed when the last
//!    version or scan holding it lets go.
//!
//! A crash before 2 leaves unnamed outputs (removed at open) and the inputs
//! live: nothing lost. After 2 the inputs are obsolete (removed at open if
//! still there): nothing resurrected, because the outputs hold every
//! version the inputs had that anyone can still read.
//!
//! # Tombstones and old versions
//! A tombstone is dropped only when no table in a level below the output
//! overlaps the compaction's key range (so no older version of its key can
//! exist below), and only if no live snapshot needs it. An old version is
//! dropped only when no live snapshot can read it
//! ([`kv_core::merge_iter::versions_to_keep`]).
//!
//! # Range tombstones
//! A version that a range tombstone of the inputs hides from every reader
//! is dropped; a range tombstone is kept unless nothing it can hide remains
//! (see [`super::range_dels`]). The kept ones go into the first output
//! table.

use std::ops::Bound;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use kv_core::merge_iter::{MergeIter, MergeMode, SortedSource};
use kv_core::{Direction, Result};

use super::leveled::{is_trivial_move, pick_full};
use super::range_dels::{CompactionRangeDels, HideCovered};
use super::{pick, Compaction};
use crate::flush::{open_built, write_tables_with};
use crate::inner::{lock, Inner};
use crate::manifest::VersionEdit;
use crate::options::NUM_LEVELS;
use crate::table::iter::{LevelSource, TableSource};
use crate::version::SuperVersion;

/// Runs one compaction if a level needs one; `Ok(false)` when none does.
///
/// # Errors
/// I/O failures and corruption of an input (the caller poisons the store).
pub fn compact_once(inner: &Inner) -> Result<bool> {
    let _one = lock(&inner.compaction_lock);
    let version = Arc::clone(&inner.current().version);
    let Some(c) = pick(&version, &inner.options) else {
        return Ok(false);
    };
    run(inner, &c)?;
    Ok(true)
}

/// Compacts every table into the deepest level.
///
/// # Errors
/// As [`compact_once`].
pub fn compact_full(inner: &Inner) -> Result<()> {
    let _one = lock(&inner.compaction_lock);
    let version = Arc::clone(&inner.current().version);
    if let Some(c) = pick_full(&version) {
        run(inner, &c)?;
    }
    Ok(())
}

/// The compaction's inputs as sorted sources, read without filling the
/// block cache ([`TableSource::uncached`]).
fn sources(c: &Compaction) -> Vec<Box<dyn SortedSource>> {
    let mut out: Vec<Box<dyn SortedSource>> = Vec::new();
    for (level, tables) in &c.inputs {
        if *level == 0 {
            for t in tables {
                out.push(Box::new(TableSource::uncached(
                    Arc::clone(t),
                    Direction::Forward,
                )));
            }
        } else if !tables.is_empty() {
            out.push(Box::new(LevelSource::uncached(
                tables.clone(),
                Direction::Forward,
            )));
        }
    }
    out
}

/// True when no table below the output level overlaps the key range.
fn nothing_below(inner: &Inner, c: &Compaction) -> bool {
    let Some((smallest, largest)) = c.key_range() else {
        return true;
    };
    let version = Arc::clone(&inner.current().version);
    (c.output_level + 1..NUM_LEVELS).all(|l| version.overlapping(l, &smallest, &largest).is_empty())
}

/// Runs `c`: a trivial move or a merge.
///
/// # Errors
/// As [`compact_once`].
pub fn run(inner: &Inner, c: &Compaction) -> Result<()> {
    let deleted: Vec<(usize, u64)> = c.tables().map(|(l, t)| (l, t.number())).collect();
    if is_trivial_move(c) {
        return move_tables(inner, c, &deleted);
    }
    let snapshots = inner.live_snapshots();
    let range_dels = CompactionRangeDels::new(c, &inner.current().version, &snapshots);
    let mode = MergeMode::Compaction {
        snapshots: snapshots.clone(),
        drop_tombstones: nothing_below(inner, c),
    };
    let mut merged = MergeIter::new(sources(c), Direction::Forward, mode);
    merged.seek(Bound::Unbounded)?;
    let mut merged = HideCovered {
        inner: merged,
        hiding: &range_dels.hiding,
        snapshots: &snapshots,
    };
    let anchor = c.key_range().map(|(s, _)| s).unwrap_or_default();
    let split = Some(inner.options.target_file_bytes);
    let built = write_tables_with(inner, &mut merged, split, range_dels.kept.clone(), &anchor)?;
    let tables = open_built(inner, &built)?;
    let edit = VersionEdit {
        next_file: Some(inner.next_file.load(Ordering::SeqCst)),
        added: built
            .iter()
            .map(|b| (c.output_level, b.number, b.size))
            .collect(),
        deleted: deleted.clone(),
        ..VersionEdit::default()
    };
    let added: Vec<_> = tables.into_iter().map(|t| (c.output_level, t)).collect();
    apply(inner, &edit, &deleted, added, Some(c))?;
    let read: u64 = c.tables().map(|(_, t)| t.size()).sum();
    let written: u64 = built.iter().map(|b| b.size).sum();
    inner.counters.add(&inner.counters.compactions, 1);
    inner
        .counters
        .add(&inner.counters.compaction_bytes_read, read);
    inner
        .counters
        .add(&inner.counters.compaction_bytes_written, written);
    Ok(())
}

/// Moves the input tables of `c` into its output level without rewriting
/// them: one manifest edit deleting each from its level and adding it to
/// the output level.
fn move_tables(inner: &Inner, c: &Compaction, deleted: &[(usize, u64)]) -> Result<()> {
    let moved: Vec<_> = c
        .tables()
        .map(|(_, t)| (c.output_level, Arc::clone(t)))
        .collect();
    if moved.is_empty() {
        return Ok(());
    }
    let edit = VersionEdit {
        added: moved
            .iter()
            .map(|(l, t)| (*l, t.number(), t.size()))
            .collect(),
        deleted: deleted.to_vec(),
        ..VersionEdit::default()
    };
    apply(inner, &edit, deleted, moved, None)?;
    inner.counters.add(&inner.counters.trivial_moves, 1);
    Ok(())
}

fn apply(
    inner: &Inner,
    edit: &VersionEdit,
    deleted: &[(usize, u64)],
    added: Vec<(usize, Arc<crate::table::Table>)>,
    obsolete: Option<&Compaction>,
) -> Result<()> {
    let mut manifest = lock(&inner.manifest);
    if let Some(m) = manifest.as_mut() {
        m.append(edit)?;
    }
    inner.install(|sv| SuperVersion {
        mem: Arc::clone(&sv.mem),
        imms: sv.imms.clone(),
        version: Arc::new(sv.version.apply(deleted, &added)),
    });
    drop(manifest);
    if let Some(c) = obsolete {
        for (_, t) in c.tables() {
            t.mark_obsolete();
        }
    }
    inner.signal.wake();
    Ok(())
}
