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

use crate::node::Node;
use crate::page::RunRef;
use crate::pager::Pager;
use crate::read::{disk_child, value_bytes};
use crate::txn::Tree;

/// A scan in progress.
pub struct Cursor<'p> {
    pager: &'p Pager,
    tree: Arc<Tree>,
    range: KeyRange,
    direction: Direction,
    /// Nodes on the path with the next position (forward: next index to
    /// yield or descend; reverse: one past it).
    stack: Vec<(Arc<Node>, usize)>,
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

    /// Descends from `run` to a leaf: toward `bound` or to the edge.
    fn descend(&mut self, mut run: RunRef, bound: Option<&Bound<Vec<u8>>>) -> Result<()> {
        let forward = self.direction == Direction::Forward;
        loop {
            let loaded = self.pager.load_node(run);
            let node = self
                .salvaged(loaded)?
                .unwrap_or_else(|| Arc::new(Node::Leaf(Vec::new())));
            match &*node {
                Node::Branch { keys, children } => {
                    let i = match bound {
                        Some(Bound::Included(k)) => keys.partition_point(|s| s <= k),
                        Some(Bound::Excluded(k)) if forward => keys.partition_point(|s| s <= k),
                        Some(Bound::Excluded(k)) => keys.partition_point(|s| s < k),
                        _ if forward => 0,
                        _ => children.len().saturating_sub(1),
                    };
                    run = disk_child(self.pager, children, i)?;
                    let next = if forward { i + 1 } else { i };
                    self.stack.push((Arc::clone(&node), next));
                }
                Node::Leaf(entries) => {
                    let pos = match bound {
                        Some(Bound::Included(k)) if forward => {
                            entries.partition_point(|e| e.key < *k)
                        }
                        Some(Bound::Excluded(k)) if forward => {
                            entries.partition_point(|e| e.key <= *k)
                        }
                        Some(Bound::Included(k)) => entries.partition_point(|e| e.key <= *k),
                        Some(Bound::Excluded(k)) => entries.partition_point(|e| e.key < *k),
                        _ if forward => 0,
                        _ => entries.len(),
                    };
                    self.stack.push((Arc::clone(&node), pos));
                    return Ok(());
                }
            }
        }
    }

    /// Moves to the next leaf; false at the end of the tree.
    fn next_leaf(&mut self) -> Result<bool> {
        let forward = self.direction == Direction::Forward;
        self.stack.pop();
        while let Some((node, pos)) = self.stack.pop() {
            let Node::Branch { children, .. } = &*node else {
                continue;
            };
            let child = if forward {
                (pos < children.len()).then_some(pos)
            } else {
                pos.checked_sub(1)
            };
            if let Some(i) = child {
                let run = disk_child(self.pager, children, i)?;
                self.stack
                    .push((Arc::clone(&node), if forward { i + 1 } else { i }));
                self.descend(run, None)?;
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
            self.descend(root, Some(&bound))?;
        }
        loop {
            let Some((node, pos)) = self.stack.last_mut() else {
                return Ok(None);
            };
            let Node::Leaf(entries) = &**node else {
                return Ok(None);
            };
            let at = match self.direction {
                Direction::Forward => (*pos < entries.len()).then(|| {
                    *pos += 1;
                    *pos - 1
                }),
                Direction::Reverse => pos.checked_sub(1).inspect(|p| *pos = *p),
            };
            let Some(entry) = at.and_then(|i| entries.get(i)) else {
                if !self.next_leaf()? {
                    return Ok(None);
                }
                continue;
            };
            if !self.range.contains(&entry.key) {
                return Ok(None);
            }
            let key = entry.key.clone();
            let read = value_bytes(self.pager, &entry.value);
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
