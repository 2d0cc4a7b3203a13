//! A write transaction: copy-on-write edits of the tree, then a commit that
//! gives every new node and value its pages.
//!
//! Editing a node copies it into the transaction's arena (its old run is
//! freed by this transaction) and edits the copy in place, so a batch that
//! touches one leaf a thousand times copies it once. Nothing is allocated
//! or written until [`Txn::commit`], which walks the copied nodes
//! bottom-up: overflow values first, then each node once its children have
//! their pages. Readers never see the arena: they keep reading the
//! committed tree they started on.
//!
//! Inserts split a node that outgrows a page ([`crate::split`]); a split
//! of the root adds a level. Deletes merge or rebalance a node that falls
//! under the fill threshold ([`Shape::min_fill`]) with a sibling; a root branch left with one child is
//! replaced by it. Either way every leaf stays at the same depth.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use kv_core::{CorruptionKind, Error, Result};

use crate::commit_slot::TreeCounts;
use crate::node::patch::Patch;
use crate::node::view::key_prefix;
use crate::node::{Bytes, Child, Entry, Node, Seps, Shape, Value};
use crate::page::{Kind, RunRef};
use crate::pager::{DirtyRun, Pager};
use crate::split::{cut_node_as, Cut};

mod commit;
mod delete;
mod relocate;

/// A committed tree: what a snapshot reads and a commit slot records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tree {
    /// The transaction that committed it.
    pub txn: u64,
    /// Its root, `None` when empty.
    pub root: Option<RunRef>,
    /// Its depth (0 empty, 1 a single leaf).
    pub depth: u32,
    /// Its key, byte and page counts.
    pub counts: TreeCounts,
}

/// What a commit produced: the new tree and the runs to write.
#[derive(Debug)]
pub struct Committed {
    /// The new tree.
    pub tree: Tree,
    /// Its new runs.
    pub runs: Vec<DirtyRun>,
    /// The owned nodes of the runs committed since the last durable
    /// commit, this commit's included (see [`NodeTable`]).
    pub nodes: NodeTable,
}

/// Owned copies of the branches committed in memory, by first page, each
/// with the exact run it was committed as: the writer's dirty-node table.
///
/// A transaction that edits a node copies it into its arena. When the node
/// is a branch written by an earlier commit since the last durable one, its
/// owned form is taken from this table (moved, not decoded), so a run of
/// commits that keeps editing the same root and branches allocates nothing
/// per separator for them. Leaves are not kept: a put into a leaf an earlier
/// commit wrote patches that commit's view ([`Patch`], no decode either
/// way), and a patch's entries are freed by the commit that encoded them,
/// while they are still in the CPU's caches. The run itself stays
/// immutable: readers of older snapshots keep reading its view in the
/// pager, and the edited node is committed as a new run. An entry matches
/// only the exact reference (page *and* transaction), so a reused page
/// never hands out stale content. The writer empties the table at every
/// durable commit, which bounds it by the dirty budget.
pub type NodeTable = HashMap<u64, (RunRef, Node)>;

/// An open write transaction.
pub struct Txn<'p> {
    pager: &'p Pager,
    shape: Shape,
    txn: u64,
    arena: Vec<Node>,
    root: Option<Child>,
    depth: u32,
    counts: TreeCounts,
    freed: Vec<(RunRef, Kind)>,
    changed: bool,
    nodes: NodeTable,
}

/// `a` compared with `b`, whose [`key_prefix`] is `b_prefix`: one integer
/// comparison when the first eight bytes differ (most comparisons of a
/// search), else the slices.
pub(crate) fn cmp_key(a: &[u8], b: &[u8], b_prefix: u64) -> Ordering {
    match key_prefix(a).cmp(&b_prefix) {
        Ordering::Equal => a.cmp(b),
        other => other,
    }
}

type Splits = Vec<(Bytes, usize)>;

impl<'p> Txn<'p> {
    /// Starts transaction `txn` on `base`, shaping nodes as `shape` says.
    pub fn begin(pager: &'p Pager, shape: Shape, base: &Tree, txn: u64) -> Self {
        Self {
            pager,
            shape: shape.clamped(),
            txn,
            arena: Vec::new(),
            root: base.root.map(Child::Disk),
            depth: base.depth,
            counts: base.counts,
            freed: Vec::new(),
            changed: false,
            nodes: NodeTable::new(),
        }
    }

    /// Gives the transaction the writer's dirty-node table (see
    /// [`NodeTable`]); the commit hands it back in [`Committed::nodes`].
    pub fn with_nodes(mut self, nodes: NodeTable) -> Self {
        self.nodes = nodes;
        self
    }

    /// Ends a transaction that changed nothing, handing back the
    /// dirty-node table.
    pub fn into_nodes(self) -> NodeTable {
        self.nodes
    }

    /// True once an operation changed the tree.
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// Copies `child` into the arena (freeing its run) unless it is there,
    /// as an ordinary node: a patch ([`Node::Patched`]) is merged first.
    fn own(&mut self, child: Child) -> Result<usize> {
        let i = self.own_as(child, false)?;
        if matches!(self.arena[i], Node::Patched(_)) {
            let node = std::mem::replace(&mut self.arena[i], Node::Leaf(Vec::new()));
            self.arena[i] = node.into_plain();
        }
        Ok(i)
    }

    /// As [`Txn::own`] for the put path: a leaf copied from its view
    /// becomes a patch of it, and a patch stays one.
    fn own_for_put(&mut self, child: Child) -> Result<usize> {
        self.own_as(child, true)
    }

    fn own_as(&mut self, child: Child, patch: bool) -> Result<usize> {
        match child {
            Child::Dirty(i) => Ok(i),
            Child::Disk(run) => {
                let node = match self.nodes.remove(&run.page) {
                    Some((r, node)) if r == run => node,
                    _ => {
                        let view = self.pager.load_node_to_copy(run)?;
                        if patch && view.is_leaf() {
                            Node::Patched(Patch::new(view))
                        } else {
                            view.to_node()
                        }
                    }
                };
                self.freed.push((run, node.kind()));
                self.arena.push(node);
                Ok(self.arena.len() - 1)
            }
        }
    }

    /// A patch where only an ordinary node can be ([`Txn::own`] merges
    /// them): a bug, reported instead of acted on.
    fn patch_error(&self) -> Error {
        Error::corruption(
            self.pager.path(),
            0,
            CorruptionKind::Invariant("an unmerged leaf patch outside the put path".into()),
        )
    }

    fn depth_error(&self) -> Error {
        Error::corruption(
            self.pager.path(),
            0,
            CorruptionKind::Invariant(
                "sibling nodes of different kinds (leaves at unequal depth)".into(),
            ),
        )
    }

    /// True if `key` is in the tree as this transaction sees it.
    pub fn contains(&self, key: &[u8]) -> Result<bool> {
        let Some(mut at) = self.root else {
            return Ok(false);
        };
        for _ in 0..=self.depth {
            at = match at {
                Child::Dirty(i) => match &self.arena[i] {
                    Node::Leaf(entries) => {
                        return Ok(entries.binary_search_by(|e| e.key[..].cmp(key)).is_ok())
                    }
                    Node::Patched(p) => return Ok(p.contains(key)),
                    Node::Branch { keys, children } => *children
                        .get(keys.child_index(key))
                        .ok_or_else(|| self.depth_error())?,
                },
                Child::Disk(run) => {
                    let view = self.pager.load_node(run)?;
                    if view.is_leaf() {
                        return Ok(view.find(key).is_some());
                    }
                    Child::Disk(
                        view.child(view.child_index(key))
                            .ok_or_else(|| self.depth_error())?,
                    )
                }
            };
        }
        Err(self.depth_error())
    }

    fn drop_value(&mut self, value: &Value) {
        if let Value::Overflow { run, .. } = value {
            self.freed.push((*run, Kind::Overflow));
        }
    }

    /// Sets `key` to `value`.
    ///
    /// # Errors
    /// I/O and `Corruption` from reading the nodes on the key's path.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        let value = if value.len() > self.shape.inline_value_max {
            Value::Pending(Arc::new(value.to_vec()))
        } else {
            Value::Inline(Bytes::copy_from_slice(value))
        };
        self.changed = true;
        let entry = Entry {
            key: Bytes::copy_from_slice(key),
            value,
        };
        let Some(root) = self.root else {
            self.counts.live_keys += 1;
            self.counts.live_bytes += entry.key.len() as u64 + entry.value.len();
            self.arena.push(Node::Leaf(vec![entry]));
            self.root = Some(Child::Dirty(self.arena.len() - 1));
            self.depth = 1;
            return Ok(());
        };
        let copied = matches!(root, Child::Disk(_));
        let idx = self.own_for_put(root)?;
        let (splits, _) = self.insert_rec(idx, entry, true, copied)?;
        self.grow_root(idx, splits);
        Ok(())
    }

    /// Makes `idx` the root, adding levels while it splits.
    fn grow_root(&mut self, mut idx: usize, mut splits: Splits) {
        while !splits.is_empty() {
            let mut keys = Seps::with_capacity(splits.len());
            let mut children = vec![Child::Dirty(idx)];
            for (sep, i) in splits {
                keys.push(sep);
                children.push(Child::Dirty(i));
            }
            self.arena.push(Node::Branch { keys, children });
            idx = self.arena.len() - 1;
            self.depth += 1;
            splits = self.split(idx, Cut::Even);
        }
        self.root = Some(Child::Dirty(idx));
    }

    /// Inserts `entry` under arena node `idx`; `rightmost` when `idx` is
    /// the last node of its level, `copied` when this insert copied it into
    /// the arena. Returns the parts `idx` split into and whether the key
    /// went after every key of the subtree. A node that outgrew its page
    /// because a key was appended at the right end of the tree is cut
    /// full-left ([`Cut::Append`]), any other evenly.
    ///
    /// A branch that was in the arena before and whose child did not split
    /// is left as it is: it has not changed since the operation that last
    /// edited it, which already cut it (so its size is not summed again on
    /// every insert of a batch).
    fn insert_rec(
        &mut self,
        idx: usize,
        entry: Entry,
        rightmost: bool,
        copied: bool,
    ) -> Result<(Splits, bool)> {
        let step = match &self.arena[idx] {
            Node::Leaf(_) | Node::Patched(_) => None,
            Node::Branch { keys, children } => {
                let ci = keys.child_index(&entry.key);
                let last = ci + 1 == children.len();
                Some((
                    ci,
                    *children.get(ci).ok_or_else(|| self.depth_error())?,
                    last,
                ))
            }
        };
        let (at_end, changed) = match step {
            None => (self.leaf_put(idx, entry), true),
            Some((ci, child, last)) => {
                let child_copied = matches!(child, Child::Disk(_));
                let c = self.own_for_put(child)?;
                let (splits, at_end) =
                    self.insert_rec(c, entry, rightmost && last, child_copied)?;
                let grew = !splits.is_empty();
                self.adopt(idx, ci, c, splits);
                (last && at_end, grew || copied)
            }
        };
        if !changed {
            return Ok((Vec::new(), at_end));
        }
        let how = if rightmost && at_end {
            Cut::Append
        } else {
            Cut::Even
        };
        Ok((self.split(idx, how), at_end))
    }

    /// Points child `ci` of branch `idx` at arena node `c`, and inserts the
    /// parts `c` split into after it.
    fn adopt(&mut self, idx: usize, ci: usize, c: usize, splits: Splits) {
        if let Node::Branch { keys, children } = &mut self.arena[idx] {
            if let Some(slot) = children.get_mut(ci) {
                *slot = Child::Dirty(c);
            }
            for (n, (sep, i)) in splits.into_iter().enumerate() {
                keys.insert(ci + n, sep);
                children.insert(ci + 1 + n, Child::Dirty(i));
            }
        }
    }

    /// Puts `entry` into leaf `idx`; true when it was added after the
    /// leaf's last key.
    fn leaf_put(&mut self, idx: usize, entry: Entry) -> bool {
        let added = entry.key.len() as u64 + entry.value.len();
        let entries = match &mut self.arena[idx] {
            Node::Leaf(entries) => entries,
            Node::Patched(p) => {
                let displaced = p.put(entry);
                match displaced.replaced_bytes {
                    Some(old) => {
                        self.counts.live_bytes = self.counts.live_bytes.saturating_sub(old) + added
                    }
                    None => {
                        self.counts.live_keys += 1;
                        self.counts.live_bytes += added;
                    }
                }
                if let Some(run) = displaced.overflow {
                    self.freed.push((run, Kind::Overflow));
                }
                return displaced.at_end;
            }
            Node::Branch { .. } => return false,
        };
        let prefix = key_prefix(&entry.key);
        match entries.binary_search_by(|e| cmp_key(&e.key, &entry.key, prefix)) {
            Ok(pos) => {
                let old = std::mem::replace(&mut entries[pos], entry);
                self.counts.live_bytes = self
                    .counts
                    .live_bytes
                    .saturating_sub(old.key.len() as u64 + old.value.len())
                    + added;
                self.drop_value(&old.value);
                false
            }
            Err(pos) => {
                let at_end = pos == entries.len();
                entries.insert(pos, entry);
                self.counts.live_keys += 1;
                self.counts.live_bytes += added;
                at_end
            }
        }
    }

    /// Splits arena node `idx` if it outgrew a page, cut `how`; returns
    /// the new right siblings with their separators.
    fn split(&mut self, idx: usize, how: Cut) -> Splits {
        if self.arena[idx].body_bytes() <= self.shape.node_capacity {
            return Vec::new();
        }
        let node = std::mem::replace(&mut self.arena[idx], Node::Leaf(Vec::new()));
        let (first, rest) = cut_node_as(node, self.shape.node_capacity, how);
        self.arena[idx] = first;
        rest.into_iter()
            .map(|(sep, n)| {
                self.arena.push(n);
                (sep, self.arena.len() - 1)
            })
            .collect()
    }
}
