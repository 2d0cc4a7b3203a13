//! Sorted sources over tables for the merging iterator: one table
//! ([`TableSource`]) or a level of non-overlapping tables ([`LevelSource`]).
//!
//! A [`TableSource`] holds one block at a time (through the block cache,
//! verified before it is cached) and a [`BlockIter`] over it, which decodes
//! one entry per step into a reused key buffer: a seek reads one block and
//! decodes at most one restart interval, and the only allocations per item
//! are the key and value handed to the merge. The next block is read when
//! the current one is used up, not before.
//!
//! A [`LevelSource`] is LevelDB's concatenating ("two-level") iterator: a
//! seek binary-searches the level's tables by key range and opens only the
//! one that may hold the start; the next table is opened when the current
//! one ends. At most one table of the level is open at a time.

use std::ops::Bound;
use std::sync::Arc;

use kv_core::merge_iter::{SortedSource, VersionedEntry};
use kv_core::{CorruptionKind, Direction, Error, Result};

use super::block_iter::BlockIter;
use super::reader::Table;
use crate::ikey;
use crate::version::Version;

/// A block-entry order against a seek target (see [`BlockIter::seek`]).
type Cmp = fn(&[u8], &[u8]) -> std::cmp::Ordering;

/// Orders an internal key against a user key: `Less` while the entry's user
/// key is `< target` (the first entry not `Less` is the first `>= target`).
fn user_at_or_after(entry: &[u8], target: &[u8]) -> std::cmp::Ordering {
    if ikey::user_key(entry) < target {
        std::cmp::Ordering::Less
    } else {
        std::cmp::Ordering::Greater
    }
}

/// Orders an internal key against a user key: `Less` while the entry's user
/// key is `<= target` (the first entry not `Less` is the first `> target`).
fn user_after(entry: &[u8], target: &[u8]) -> std::cmp::Ordering {
    if ikey::user_key(entry) <= target {
        std::cmp::Ordering::Less
    } else {
        std::cmp::Ordering::Greater
    }
}

/// A source over one table.
#[derive(Debug)]
pub struct TableSource {
    table: Arc<Table>,
    direction: Direction,
    block_idx: usize,
    iter: Option<BlockIter>,
    /// The cursor's entry was yielded: step before yielding again.
    step_first: bool,
    done: bool,
    /// Blocks read from the file enter the cache ([`Table::block_with`]).
    fill_cache: bool,
}

impl TableSource {
    /// A source over `table` in `direction`; call `seek` first.
    pub fn new(table: Arc<Table>, direction: Direction) -> Self {
        Self {
            table,
            direction,
            block_idx: 0,
            iter: None,
            step_first: false,
            done: true,
            fill_cache: true,
        }
    }

    /// As [`TableSource::new`], but the blocks it reads from the file are
    /// not cached (compaction inputs; see [`Table::block_with`]).
    pub fn uncached(table: Arc<Table>, direction: Direction) -> Self {
        Self {
            fill_cache: false,
            ..Self::new(table, direction)
        }
    }

    fn corruption(&self, kind: CorruptionKind) -> Error {
        let offset = self
            .table
            .index()
            .get(self.block_idx)
            .map_or(0, |e| e.handle.offset);
        Error::corruption(self.table.path(), offset, kind)
    }

    /// Reads block `i` into a fresh cursor (not positioned).
    fn load(&mut self, i: usize) -> Result<&mut BlockIter> {
        let block = self.table.block_with(i, self.fill_cache)?;
        self.block_idx = i;
        Ok(self.iter.insert(BlockIter::new(block)))
    }

    /// Positions at the first entry of `start`'s side in the table.
    fn seek_inner(&mut self, start: Bound<&[u8]>) -> Result<()> {
        let blocks = self.table.index().len();
        if blocks == 0 {
            // A table of range tombstones only: no point entry to yield.
            self.done = true;
            return Ok(());
        }
        // The internal key a seek for `k` looks the block up by: with
        // `MAX_SEQ` the first version of `k`, with 0 past its last version.
        // The block found holds the first entry on the wanted side of the
        // bound, or that entry starts the next block (forward) or ends the
        // previous one (reverse): a key's versions may span blocks.
        let positioned = match (self.direction, start) {
            (Direction::Forward, Bound::Unbounded) => self.load(0)?.seek_to_first(),
            (Direction::Reverse, Bound::Unbounded) => self.load(blocks - 1)?.seek_to_last(),
            (Direction::Forward, Bound::Included(k)) => {
                self.seek_forward(k, ikey::MAX_SEQ, user_at_or_after)?
            }
            (Direction::Forward, Bound::Excluded(k)) => self.seek_forward(k, 0, user_after)?,
            (Direction::Reverse, Bound::Included(k)) => self.seek_reverse(k, 0, user_after)?,
            (Direction::Reverse, Bound::Excluded(k)) => {
                self.seek_reverse(k, ikey::MAX_SEQ, user_at_or_after)?
            }
        };
        positioned.map_err(|kind| self.corruption(kind))?;
        self.step_first = false;
        Ok(())
    }

    /// Forward: positions at the first entry not `Less` than `k` under
    /// `cmp`, in the block found by (`k`, `seq`) (invalid when that entry
    /// starts the next block; `advance` moves there). `Ok(Err)` is damage
    /// in the block.
    fn seek_forward(
        &mut self,
        k: &[u8],
        seq: u64,
        cmp: Cmp,
    ) -> Result<std::result::Result<(), CorruptionKind>> {
        let i = self.table.find_block(&ikey::encode(k, seq, ikey::KIND_PUT));
        if i >= self.table.index().len() {
            self.done = true;
            return Ok(Ok(()));
        }
        Ok(self.load(i)?.seek(k, cmp))
    }

    /// Reverse: positions at the last entry `Less` than `k` under `cmp`:
    /// one step back from the first entry that is not, in the block found
    /// by (`k`, `seq`) (invalid when it ends the previous block).
    fn seek_reverse(
        &mut self,
        k: &[u8],
        seq: u64,
        cmp: Cmp,
    ) -> Result<std::result::Result<(), CorruptionKind>> {
        let blocks = self.table.index().len();
        let i = self
            .table
            .find_block(&ikey::encode(k, seq, ikey::KIND_PUT))
            .min(blocks.saturating_sub(1));
        let it = self.load(i)?;
        Ok(it.seek(k, cmp).and_then(|()| {
            if it.valid() {
                it.step_back()
            } else {
                it.seek_to_last()
            }
        }))
    }

    /// Moves the cursor one entry in the source's direction, onto the next
    /// block when this one is used up; `false` at the end of the table.
    fn advance(&mut self) -> Result<bool> {
        let Some(it) = self.iter.as_mut() else {
            return Ok(false);
        };
        if self.step_first {
            let stepped = match self.direction {
                Direction::Forward => it.step(),
                Direction::Reverse => it.step_back(),
            };
            stepped.map_err(|kind| self.corruption(kind))?;
            self.step_first = false;
        }
        loop {
            if self.iter.as_ref().is_some_and(BlockIter::valid) {
                return Ok(true);
            }
            let blocks = self.table.index().len();
            let positioned = match self.direction {
                Direction::Forward if self.block_idx + 1 < blocks => {
                    self.load(self.block_idx + 1)?.seek_to_first()
                }
                Direction::Reverse if self.block_idx > 0 => {
                    self.load(self.block_idx - 1)?.seek_to_last()
                }
                _ => return Ok(false),
            };
            positioned.map_err(|kind| self.corruption(kind))?;
        }
    }

    /// The entry under the cursor, copied out for the merge.
    fn current(&self) -> Result<VersionedEntry> {
        let bad = || {
            self.corruption(CorruptionKind::Invariant(
                "entry key is not an internal key".into(),
            ))
        };
        let it = self.iter.as_ref().ok_or_else(bad)?;
        let (user, seq, kind) = ikey::decode(it.key()).ok_or_else(bad)?;
        Ok(VersionedEntry {
            key: user.to_vec(),
            seq,
            value: (kind == ikey::KIND_PUT).then(|| it.value().to_vec()),
        })
    }

    fn step(&mut self) -> Result<Option<VersionedEntry>> {
        if self.done || !self.advance()? {
            self.done = true;
            return Ok(None);
        }
        let entry = self.current()?;
        self.step_first = true;
        Ok(Some(entry))
    }
}

impl SortedSource for TableSource {
    fn seek(&mut self, start: Bound<&[u8]>) -> Result<()> {
        self.done = false;
        self.iter = None;
        let r = self.seek_inner(start);
        if r.is_err() {
            self.done = true;
        }
        r
    }

    fn next_entry(&mut self) -> Option<Result<VersionedEntry>> {
        match self.step() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// The tables of a [`LevelSource`]: a list of its own (compactions) or a
/// level of a pinned version (scans: nothing is copied per scan).
#[derive(Debug)]
enum Tables {
    Owned(Vec<Arc<Table>>),
    Level(Arc<Version>, usize),
}

impl Tables {
    fn as_slice(&self) -> &[Arc<Table>] {
        match self {
            Tables::Owned(v) => v,
            Tables::Level(version, level) => version.levels.get(*level).map_or(&[], Vec::as_slice),
        }
    }
}

/// A source over the tables of one level below L0 (sorted, not
/// overlapping), opening one table at a time.
#[derive(Debug)]
pub struct LevelSource {
    tables: Tables,
    direction: Direction,
    /// The bound of the last seek: every table opened is positioned by it
    /// (a key's versions may span two tables of a level, so the next table
    /// may still begin with the excluded key).
    start: Bound<Vec<u8>>,
    idx: usize,
    cur: Option<TableSource>,
    /// Passed to each table's source ([`TableSource::uncached`]).
    fill_cache: bool,
}

impl LevelSource {
    /// A source over `tables` (sorted by key, not overlapping).
    pub fn new(tables: Vec<Arc<Table>>, direction: Direction) -> Self {
        Self::over(Tables::Owned(tables), direction)
    }

    /// As [`LevelSource::new`], reading without filling the cache
    /// (compaction inputs).
    pub fn uncached(tables: Vec<Arc<Table>>, direction: Direction) -> Self {
        Self {
            fill_cache: false,
            ..Self::new(tables, direction)
        }
    }

    /// A source over level `level` (>= 1) of `version`, which it pins.
    pub fn of_level(version: Arc<Version>, level: usize, direction: Direction) -> Self {
        Self::over(Tables::Level(version, level), direction)
    }

    fn over(tables: Tables, direction: Direction) -> Self {
        Self {
            tables,
            direction,
            start: Bound::Unbounded,
            idx: 0,
            cur: None,
            fill_cache: true,
        }
    }

    fn open(&mut self, idx: usize) -> Result<()> {
        self.idx = idx;
        let Some(t) = self.tables.as_slice().get(idx) else {
            self.cur = None;
            return Ok(());
        };
        let table = Arc::clone(t);
        let source = if self.fill_cache {
            TableSource::new(table, self.direction)
        } else {
            TableSource::uncached(table, self.direction)
        };
        let src = self.cur.insert(source);
        src.seek(self.start.as_ref().map(Vec::as_slice))
    }
}

impl SortedSource for LevelSource {
    fn seek(&mut self, start: Bound<&[u8]>) -> Result<()> {
        let tables = self.tables.as_slice();
        let n = tables.len();
        let idx = match (self.direction, start) {
            (Direction::Forward, Bound::Unbounded) => 0,
            (Direction::Forward, Bound::Included(k) | Bound::Excluded(k)) => {
                tables.partition_point(|t| t.largest() < k)
            }
            (Direction::Reverse, Bound::Unbounded) => n.wrapping_sub(1),
            (Direction::Reverse, Bound::Included(k) | Bound::Excluded(k)) => tables
                .partition_point(|t| t.smallest() <= k)
                .wrapping_sub(1),
        };
        self.start = start.map(<[u8]>::to_vec);
        self.open(idx)
    }

    fn next_entry(&mut self) -> Option<Result<VersionedEntry>> {
        loop {
            let cur = self.cur.as_mut()?;
            if let Some(item) = cur.next_entry() {
                return Some(item);
            }
            let next = match self.direction {
                Direction::Forward => self.idx + 1,
                Direction::Reverse => self.idx.wrapping_sub(1),
            };
            if let Err(e) = self.open(next) {
                self.cur = None;
                return Some(Err(e));
            }
        }
    }
}
