//! The read path: `get` and snapshot scans.
//!
//! `get` looks in the mutable memtable, the immutable ones newest first, L0
//! newest first, then in at most one table per deeper level (binary search
//! by key range; every table consults its bloom filter before any block).
//!
//! Range tombstones: a version found is hidden when a range tombstone that
//! the reader's snapshot sees covers its key with a larger sequence number
//! (from any memtable or any table: they are applied by sequence number,
//! not by where they sit). `get` looks them up in the memtables' short
//! lists and the version's [`crate::range_del::Fragments`] (one binary
//! search); a scan fragments the ones its snapshot sees once, at its start.
//!
//! A scan pins a sequence number (`visible_seq` at its start) and the
//! [`SuperVersion`] (memtables and tables) it reads: later writes are
//! invisible, a batch is all or nothing, and no table it reads is removed
//! while it lives. It registers its sequence number as a live snapshot for
//! compactions.

use std::ops::Bound;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use kv_core::merge_iter::{satisfies_start, MergeIter, MergeMode, SortedSource};
use kv_core::{Direction, KeyRange, KvPair, Result, ScanIter};

use crate::inner::{lock, Inner, Snapshots};
use crate::memtable::MemSource;
use crate::range_del::Fragments;
use crate::table::iter::{LevelSource, TableSource};
use crate::version::SuperVersion;

/// The value of `key` as of now.
///
/// # Errors
/// I/O failures and corruption of a block read.
pub fn get(inner: &Inner, key: &[u8]) -> Result<Option<Vec<u8>>> {
    get_at(inner, key, inner.visible_seq.load(Ordering::Acquire))
}

/// The value of `key` as of sequence number `snapshot` (the write path
/// reads at its last sequence number, which may be ahead of `visible_seq`
/// while a group commit is pending).
///
/// # Errors
/// I/O failures and corruption of a block read.
pub fn get_at(inner: &Inner, key: &[u8], snapshot: u64) -> Result<Option<Vec<u8>>> {
    let sv = inner.current();
    let hidden_below = newest_range_del(&sv, key, snapshot);
    Ok(match newest_version(&sv, key, snapshot)? {
        Some((seq, value)) if seq > hidden_below => value,
        _ => None,
    })
}

/// The newest range tombstone covering `key` that `snapshot` sees (0 when
/// none).
fn newest_range_del(sv: &SuperVersion, key: &[u8], snapshot: u64) -> u64 {
    std::iter::once(&sv.mem)
        .chain(sv.imms.iter())
        .map(|m| m.newest_range_del(key, snapshot))
        .chain(std::iter::once(
            sv.version.range_dels.newest_visible(key, snapshot),
        ))
        .max()
        .unwrap_or(0)
}

/// The newest version of `key` with `seq <= snapshot`, with its sequence
/// number (`None` value for a tombstone).
fn newest_version(
    sv: &SuperVersion,
    key: &[u8],
    snapshot: u64,
) -> Result<Option<(u64, Option<Vec<u8>>)>> {
    if let Some(found) = sv.mem.lookup(key, snapshot) {
        return Ok(Some(found));
    }
    for imm in &sv.imms {
        if let Some(found) = imm.lookup(key, snapshot) {
            return Ok(Some(found));
        }
    }
    // One hash of the key for every bloom filter probed.
    let hash = crate::table::bloom::hash(key);
    for table in &sv.version.levels[0] {
        if let Some(found) = table.lookup_hashed(key, hash, snapshot)? {
            return Ok(Some(found));
        }
    }
    for files in sv.version.levels.iter().skip(1) {
        let i = files.partition_point(|t| t.largest() < key);
        if let Some(t) = files.get(i).filter(|t| t.smallest() <= key) {
            if let Some(found) = t.lookup_hashed(key, hash, snapshot)? {
                return Ok(Some(found));
            }
        }
    }
    Ok(None)
}

/// The range tombstones of the memtables that `snapshot` sees, fragmented
/// (the tables' are fragmented once per version: [`Version::range_dels`]).
///
/// [`Version::range_dels`]: crate::version::Version::range_dels
fn memtable_range_dels(sv: &SuperVersion, snapshot: u64) -> Fragments {
    let mut list = Vec::new();
    for m in std::iter::once(&sv.mem).chain(sv.imms.iter()) {
        list.extend(m.range_dels().into_iter().filter(|t| t.seq <= snapshot));
    }
    Fragments::new(&list)
}

/// Unregisters a scan's snapshot when the scan is dropped.
struct SnapshotGuard {
    snapshots: Snapshots,
    seq: u64,
}

impl Drop for SnapshotGuard {
    fn drop(&mut self) {
        let mut map = lock(&self.snapshots);
        if let Some(n) = map.get_mut(&self.seq) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.seq);
            }
        }
    }
}

struct Scan {
    merged: MergeIter,
    /// The memtables' range tombstones (the tables' are in `_sv.version`).
    mem_range_dels: Fragments,
    /// False when no range tombstone can hide anything from this scan.
    any_range_dels: bool,
    snapshot: u64,
    end: Bound<Vec<u8>>,
    direction: Direction,
    done: bool,
    _sv: Arc<SuperVersion>,
    _guard: SnapshotGuard,
}

impl Scan {
    /// True when a range tombstone the snapshot sees covers (`key`, `seq`).
    fn range_deleted(&self, key: &[u8], seq: u64) -> bool {
        let newest = self.mem_range_dels.newest_visible(key, self.snapshot).max(
            self._sv
                .version
                .range_dels
                .newest_visible(key, self.snapshot),
        );
        newest > seq
    }
}

impl Iterator for Scan {
    type Item = Result<KvPair>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            return match self.merged.next() {
                Some(Ok(e)) => {
                    // Past the far bound: the scan is over.
                    let end = self.end.as_ref().map(Vec::as_slice);
                    let reverse = match self.direction {
                        Direction::Forward => Direction::Reverse,
                        Direction::Reverse => Direction::Forward,
                    };
                    if !satisfies_start(&e.key, end, reverse) {
                        self.done = true;
                        return None;
                    }
                    if self.any_range_dels && self.range_deleted(&e.key, e.seq) {
                        continue;
                    }
                    Some(Ok((e.key, e.value.unwrap_or_default())))
                }
                Some(Err(err)) => {
                    self.done = true;
                    Some(Err(err))
                }
                None => {
                    self.done = true;
                    None
                }
            };
        }
    }
}

fn overlaps(range: &KeyRange, smallest: &[u8], largest: &[u8]) -> bool {
    let after_start = match &range.start {
        Bound::Included(s) => largest >= s.as_slice(),
        Bound::Excluded(s) => largest > s.as_slice(),
        Bound::Unbounded => true,
    };
    let before_end = match &range.end {
        Bound::Included(e) => smallest <= e.as_slice(),
        Bound::Excluded(e) => smallest < e.as_slice(),
        Bound::Unbounded => true,
    };
    after_start && before_end
}

/// A snapshot scan of `range` in `direction`.
///
/// # Errors
/// I/O failures and corruption while positioning.
pub fn scan<'a>(inner: &Inner, range: &KeyRange, direction: Direction) -> Result<ScanIter<'a>> {
    if range.is_empty() {
        return Ok(Box::new(std::iter::empty()));
    }
    let snapshot = inner.visible_seq.load(Ordering::Acquire);
    *lock(&inner.snapshots).entry(snapshot).or_insert(0) += 1;
    let guard = SnapshotGuard {
        snapshots: Arc::clone(&inner.snapshots),
        seq: snapshot,
    };
    let sv = inner.current();
    let mut sources: Vec<Box<dyn SortedSource>> = Vec::with_capacity(2 + sv.imms.len());
    for mem in std::iter::once(&sv.mem).chain(sv.imms.iter()) {
        let source = MemSource::visible_at(Arc::clone(mem), direction, snapshot);
        sources.push(Box::new(source));
    }
    for t in &sv.version.levels[0] {
        if overlaps(range, t.smallest(), t.largest()) {
            sources.push(Box::new(TableSource::new(Arc::clone(t), direction)));
        }
    }
    // One lazily concatenated source per deeper level: the seek opens the
    // one table that may hold the start, nothing is copied per table.
    for (level, files) in sv.version.levels.iter().enumerate().skip(1) {
        if let (Some(first), Some(last)) = (files.first(), files.last()) {
            if overlaps(range, first.smallest(), last.largest()) {
                let version = Arc::clone(&sv.version);
                sources.push(Box::new(LevelSource::of_level(version, level, direction)));
            }
        }
    }
    let mut merged = MergeIter::new(sources, direction, MergeMode::Visible { snapshot });
    let (start, end) = match direction {
        Direction::Forward => (range.start.clone(), range.end.clone()),
        Direction::Reverse => (range.end.clone(), range.start.clone()),
    };
    merged.seek(start.as_ref().map(Vec::as_slice))?;
    let mem_range_dels = memtable_range_dels(&sv, snapshot);
    let any_range_dels = !mem_range_dels.is_empty() || !sv.version.range_dels.is_empty();
    Ok(Box::new(Scan {
        merged,
        mem_range_dels,
        any_range_dels,
        snapshot,
        end,
        direction,
        done: false,
        _sv: sv,
        _guard: guard,
    }))
}
