//! Range scans: a cursor over one snapshot.
//!
//! The cursor holds the snapshot's tree (so none of its pages can be
//! reused while it lives) and a stack of the nodes on its path with the
//! position in each. Seeking descends once; stepping moves within the leaf
//! and, at its end, climbs to the nearest branch with a next (or previous)
//! child and descends to that child's first (or last) leaf. Writes made
//! after the scan started are invisible to it, and it never blocks them.
//!
//! A salvaging cursor (on a store opened `OpenMode::Verify`) skips what it
//! cannot read, a damaged node's subtree or a damaged value, and yields the
//! rest: the store "opens with what it could read", and `check()` lists the
//! damage.

use std::ops::Bound;
use std::sync::Arc;

use kv_core::{Direction, KeyRange, KvPair, Result};

use crate::node::view::NodeView;
use crate::page::RunRef;
use crate::pager::Pager;
use crate::read::{child, value_bytes};
use crate::txn::Tree;

/// A scan in progress.
pub struct Cursor<'p> {
    pager: &'p Pager,
    tree: Arc<Tree>,
    range: KeyRange,
    direction: Direction,
    /// Nodes on the path with the next position (forward: next index to
    /// yield or descend; reverse: one past it).
    stack: Vec<(Arc<NodeView>, usize)>,
    started: bool,
    done: bool,
    salvage: bool,
}

impl<'p> Cursor<'p> {
    /// A cursor over `range` of `tree`, in `direction`.
    pub fn new(pager: &'p Pager, tree: Arc<Tree>, range: KeyRange, direction: Direction) -> Self {
        let done = range.is_empty() || tree.root.is_none();
        Self {
            pager,
            tree,
            range,
            direction,
            stack: Vec::new(),
            started: false,
            done,
            salvage: false,
        }
    }

    /// Skips damaged nodes and values instead of yielding
    /// `Err(Corruption)` (see the module docs).
    pub fn salvage(mut self, salvage: bool) -> Self {
        self.salvage = salvage;
        self
    }

    /// `result`, or under salvage `None` in place of a `Corruption`.
    fn salvaged<T>(&self, result: Result<T>) -> Result<Option<T>> {
        match result {
            Ok(v) => Ok(Some(v)),
            Err(e) if self.salvage && e.is_corruption() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The node at `run`: child `index` of the node on top of the stack
    /// (through the view that node remembers, as gets follow it: see
    /// [`Pager::load_child`]) or, for `None`, the root.
    fn load(&self, run: RunRef, index: Option<usize>) -> Result<Arc<NodeView>> {
        match (index, self.stack.last()) {
            (Some(i), Some((parent, _))) => self.pager.load_child(parent, i, run),
            _ => self.pager.load_root(run),
        }
    }

    /// Descends from `run` (child `index` of the node on top of the stack,
    /// or the root for `None`) to a leaf: toward `bound` or to the edge.
    fn descend(
        &mut self,
        mut run: RunRef,
        mut index: Option<usize>,
        bound: Option<&Bound<Vec<u8>>>,
    ) -> Result<()> {
        let forward = self.direction == Direction::Forward;
        loop {
            let loaded = self.load(run, index);
            let node = match self.salvaged(loaded)? {
                Some(node) => node,
                None => Arc::new(NodeView::empty_leaf()),
            };
            if node.is_leaf() {
                // Forward: the first key at (Included) or after
                // (Excluded) the bound; reverse: one past the last key at
                // or before (Included), or before (Excluded), it.
                let pos = match bound {
                    Some(Bound::Included(k)) => node.keys_below(k, !forward),
                    Some(Bound::Excluded(k)) => node.keys_below(k, forward),
                    _ if forward => 0,
                    _ => node.len(),
                };
                self.stack.push((node, pos));
                return Ok(());
            }
            // The child that holds the bound: separators at or below it;
            // reverse Excluded, those below it (the last key before a
            // separator lies in the child left of it).
            let i = match bound {
                Some(Bound::Included(k)) => node.seps_below(k, true),
                Some(Bound::Excluded(k)) => node.seps_below(k, forward),
                _ if forward => 0,
                _ => node.len().saturating_sub(1),
            };
            run = child(self.pager, &node, i)?;
            index = Some(i);
            let next = if forward { i + 1 } else { i };
            self.stack.push((node, next));
        }
    }

    /// Moves to the next leaf; false at the end of the tree.
    fn next_leaf(&mut self) -> Result<bool> {
        let forward = self.direction == Direction::Forward;
        self.stack.pop();
        while let Some((node, pos)) = self.stack.pop() {
            if node.is_leaf() {
                continue;
            }
            let next = if forward {
                (pos < node.len()).then_some(pos)
            } else {
                pos.checked_sub(1)
            };
            if let Some(i) = next {
                let run = child(self.pager, &node, i)?;
                self.stack.push((node, if forward { i + 1 } else { i }));
                self.descend(run, Some(i), None)?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn step(&mut self) -> Result<Option<KvPair>> {
        if !self.started {
            self.started = true;
            let Some(root) = self.tree.root else {
                return Ok(None);
            };
            let bound = match self.direction {
                Direction::Forward => self.range.start.clone(),
                Direction::Reverse => self.range.end.clone(),
            };
            self.descend(root, None, Some(&bound))?;
        }
        loop {
            let Some((node, pos)) = self.stack.last_mut() else {
                return Ok(None);
            };
            if !node.is_leaf() {
                return Ok(None);
            }
            let at = match self.direction {
                Direction::Forward => (*pos < node.len()).then(|| {
                    *pos += 1;
                    *pos - 1
                }),
                Direction::Reverse => pos.checked_sub(1).inspect(|p| *pos = *p),
            };
            let Some((key, value)) = at.and_then(|i| node.key_value(i)) else {
                if !self.next_leaf()? {
                    return Ok(None);
                }
                continue;
            };
            if !self.range.contains(key) {
                return Ok(None);
            }
            let key = key.to_vec();
            let read = value_bytes(self.pager, value);
            if let Some(value) = self.salvaged(read)? {
                return Ok(Some((key, value)));
            }
        }
    }
}

impl Iterator for Cursor<'_> {
    type Item = Result<KvPair>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(pair)) => Some(Ok(pair)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
