//! Sorted sources over tables for the merging iterator: one table
//! ([`TableSource`]) or a level of non-overlapping tables ([`LevelSource`]).
//! Both read one decoded block at a time, forward or reverse.

use std::ops::{Bound, Range};
use std::sync::Arc;

use kv_core::merge_iter::{SortedSource, VersionedEntry};
use kv_core::{CorruptionKind, Direction, Error, Result};

use super::block::Block;
use super::reader::Table;
use crate::ikey;

/// A source over one table.
#[derive(Debug)]
pub struct TableSource {
    table: Arc<Table>,
    direction: Direction,
    block_idx: usize,
    block: Option<Arc<Block>>,
    entries: Vec<(Vec<u8>, Range<usize>)>,
    pos: usize,
    skip_key: Option<Vec<u8>>,
    done: bool,
}

impl TableSource {
    /// A source over `table` in `direction`; call `seek` first.
    pub fn new(table: Arc<Table>, direction: Direction) -> Self {
        Self {
            table,
            direction,
            block_idx: 0,
            block: None,
            entries: Vec::new(),
            pos: 0,
            skip_key: None,
            done: true,
        }
    }

    fn load(&mut self, i: usize) -> Result<()> {
        let block = self.table.block(i)?;
        let offset = self.table.index()[i].handle.offset;
        self.entries = block
            .entries()
            .map_err(|kind| Error::corruption(self.table.path(), offset, kind))?;
        self.block = Some(block);
        self.block_idx = i;
        Ok(())
    }

    fn entry(&self, i: usize) -> Result<VersionedEntry> {
        let (ik, range) = &self.entries[i];
        let bad = || {
            let offset = self.table.index()[self.block_idx].handle.offset;
            Error::corruption(
                self.table.path(),
                offset,
                CorruptionKind::Invariant("entry key is not an internal key".into()),
            )
        };
        let (user, seq, kind) = ikey::decode(ik).ok_or_else(bad)?;
        let value = match (&self.block, kind) {
            (Some(block), ikey::KIND_PUT) => Some(block.value(range).to_vec()),
            _ => None,
        };
        Ok(VersionedEntry {
            key: user.to_vec(),
            seq,
            value,
        })
    }

    fn seek_inner(&mut self, start: Bound<&[u8]>) -> Result<()> {
        let blocks = self.table.index().len();
        if blocks == 0 {
            // A table of range tombstones only: no point entry to yield.
            self.done = true;
            return Ok(());
        }
        self.skip_key = match start {
            Bound::Excluded(k) => Some(k.to_vec()),
            _ => None,
        };
        let key = match start {
            Bound::Included(k) | Bound::Excluded(k) => Some(k),
            Bound::Unbounded => None,
        };
        match (self.direction, key) {
            (Direction::Forward, None) => {
                self.load(0)?;
                self.pos = 0;
            }
            (Direction::Forward, Some(k)) => {
                let target = ikey::encode(k, ikey::MAX_SEQ, ikey::KIND_PUT);
                let i = self.table.find_block(&target);
                if i >= blocks {
                    self.done = true;
                    return Ok(());
                }
                self.load(i)?;
                self.pos = self.entries.partition_point(|(e, _)| ikey::user_key(e) < k);
            }
            (Direction::Reverse, None) => {
                self.load(blocks - 1)?;
                self.pos = self.entries.len();
            }
            (Direction::Reverse, Some(k)) => {
                let target = ikey::encode(k, 0, ikey::KIND_DELETE);
                let i = self.table.find_block(&target).min(blocks - 1);
                self.load(i)?;
                self.pos = self
                    .entries
                    .partition_point(|(e, _)| ikey::user_key(e) <= k);
            }
        }
        Ok(())
    }

    fn step(&mut self) -> Result<Option<VersionedEntry>> {
        loop {
            if self.done {
                return Ok(None);
            }
            let next = match self.direction {
                Direction::Forward if self.pos < self.entries.len() => {
                    self.pos += 1;
                    Some(self.pos - 1)
                }
                Direction::Reverse if self.pos > 0 => {
                    self.pos -= 1;
                    Some(self.pos)
                }
                _ => None,
            };
            if let Some(i) = next {
                let e = self.entry(i)?;
                if self.skip_key.as_deref() == Some(e.key.as_slice()) {
                    continue;
                }
                return Ok(Some(e));
            }
            match self.direction {
                Direction::Forward if self.block_idx + 1 < self.table.index().len() => {
                    self.load(self.block_idx + 1)?;
                    self.pos = 0;
                }
                Direction::Reverse if self.block_idx > 0 => {
                    self.load(self.block_idx - 1)?;
                    self.pos = self.entries.len();
                }
                _ => self.done = true,
            }
        }
    }
}

impl SortedSource for TableSource {
    fn seek(&mut self, start: Bound<&[u8]>) -> Result<()> {
        self.done = false;
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

/// A source over the tables of one level below L0 (sorted, not
/// overlapping), opening one table at a time.
#[derive(Debug)]
pub struct LevelSource {
    tables: Vec<Arc<Table>>,
    direction: Direction,
    idx: usize,
    cur: Option<TableSource>,
}

impl LevelSource {
    /// A source over `tables` (sorted by key, not overlapping).
    pub fn new(tables: Vec<Arc<Table>>, direction: Direction) -> Self {
        Self {
            tables,
            direction,
            idx: 0,
            cur: None,
        }
    }

    fn open(&mut self, idx: usize, start: Bound<&[u8]>) -> Result<()> {
        self.idx = idx;
        let Some(t) = self.tables.get(idx) else {
            self.cur = None;
            return Ok(());
        };
        let mut src = TableSource::new(Arc::clone(t), self.direction);
        src.seek(start)?;
        self.cur = Some(src);
        Ok(())
    }
}

impl SortedSource for LevelSource {
    fn seek(&mut self, start: Bound<&[u8]>) -> Result<()> {
        let n = self.tables.len();
        let idx = match (self.direction, start) {
            (Direction::Forward, Bound::Unbounded) => 0,
            (Direction::Forward, Bound::Included(k) | Bound::Excluded(k)) => {
                self.tables.partition_point(|t| t.largest() < k)
            }
            (Direction::Reverse, Bound::Unbounded) => n.wrapping_sub(1),
            (Direction::Reverse, Bound::Included(k) | Bound::Excluded(k)) => self
                .tables
                .partition_point(|t| t.smallest() <= k)
                .wrapping_sub(1),
        };
        self.open(idx, start)
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
            if let Err(e) = self.open(next, Bound::Unbounded) {
                self.cur = None;
                return Some(Err(e));
            }
        }
    }
}
