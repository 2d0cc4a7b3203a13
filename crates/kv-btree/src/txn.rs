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

use std::sync::Arc;

use kv_core::{CorruptionKind, Error, Result};

use crate::commit_slot::TreeCounts;
use crate::freelist::FreeSpace;
use crate::node::view::NodeView;
use crate::node::{encode_body, Child, Entry, Node, Shape, Value};
use crate::page::{pages_for, seal_run, Kind, RunRef};
use crate::pager::{DirtyRun, Pager};
use crate::split::cut_node;

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
}

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
}

/// The child of a branch that holds `key`.
pub fn child_index(keys: &[Vec<u8>], key: &[u8]) -> usize {
    keys.partition_point(|k| k.as_slice() <= key)
}

type Splits = Vec<(Vec<u8>, usize)>;

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
        }
    }

    /// True once an operation changed the tree.
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// Copies `child` into the arena (freeing its run) unless it is there.
    fn own(&mut self, child: Child) -> Result<usize> {
        match child {
            Child::Dirty(i) => Ok(i),
            Child::Disk(run) => {
                let node = self.pager.load_node(run)?;
                self.freed.push((run, node.kind()));
                self.arena.push(node.to_node());
                Ok(self.arena.len() - 1)
            }
        }
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
                        return Ok(entries
                            .binary_search_by(|e| e.key.as_slice().cmp(key))
                            .is_ok())
                    }
                    Node::Branch { keys, children } => *children
                        .get(child_index(keys, key))
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
            Value::Inline(value.to_vec())
        };
        self.changed = true;
        let entry = Entry {
            key: key.to_vec(),
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
        let idx = self.own(root)?;
        let splits = self.insert_rec(idx, entry)?;
        self.grow_root(idx, splits);
        Ok(())
    }

    /// Makes `idx` the root, adding levels while it splits.
    fn grow_root(&mut self, mut idx: usize, mut splits: Splits) {
        while !splits.is_empty() {
            let mut keys = Vec::with_capacity(splits.len());
            let mut children = vec![Child::Dirty(idx)];
            for (sep, i) in splits {
                keys.push(sep);
                children.push(Child::Dirty(i));
            }
            self.arena.push(Node::Branch { keys, children });
            idx = self.arena.len() - 1;
            self.depth += 1;
            splits = self.split(idx);
        }
        self.root = Some(Child::Dirty(idx));
    }

    fn insert_rec(&mut self, idx: usize, entry: Entry) -> Result<Splits> {
        let step = match &self.arena[idx] {
            Node::Leaf(_) => None,
            Node::Branch { keys, children } => {
                let ci = child_index(keys, &entry.key);
                Some((ci, *children.get(ci).ok_or_else(|| self.depth_error())?))
            }
        };
        match step {
            None => self.leaf_put(idx, entry),
            Some((ci, child)) => {
                let c = self.own(child)?;
                let splits = self.insert_rec(c, entry)?;
                self.adopt(idx, ci, c, splits);
            }
        }
        Ok(self.split(idx))
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

    fn leaf_put(&mut self, idx: usize, entry: Entry) {
        let Node::Leaf(entries) = &mut self.arena[idx] else {
            return;
        };
        let added = entry.key.len() as u64 + entry.value.len();
        match entries.binary_search_by(|e| e.key.cmp(&entry.key)) {
            Ok(pos) => {
                let old = std::mem::replace(&mut entries[pos], entry);
                self.counts.live_bytes = self
                    .counts
                    .live_bytes
                    .saturating_sub(old.key.len() as u64 + old.value.len())
                    + added;
                self.drop_value(&old.value);
            }
            Err(pos) => {
                entries.insert(pos, entry);
                self.counts.live_keys += 1;
                self.counts.live_bytes += added;
            }
        }
    }

    /// Splits arena node `idx` if it outgrew a page; returns the new right
    /// siblings with their separators.
    fn split(&mut self, idx: usize) -> Splits {
        if self.arena[idx].body_bytes() <= self.shape.node_capacity {
            return Vec::new();
        }
        let node = std::mem::replace(&mut self.arena[idx], Node::Leaf(Vec::new()));
        let (first, rest) = cut_node(node, self.shape.node_capacity);
        self.arena[idx] = first;
        rest.into_iter()
            .map(|(sep, n)| {
                self.arena.push(n);
                (sep, self.arena.len() - 1)
            })
            .collect()
    }

    /// Removes `key`; false if it was not there (nothing is copied then).
    ///
    /// # Errors
    /// I/O and `Corruption` from reading the nodes on the key's path and
    /// their siblings.
    pub fn delete(&mut self, key: &[u8]) -> Result<bool> {
        if !self.contains(key)? {
            return Ok(false);
        }
        let Some(root) = self.root else {
            return Ok(false);
        };
        self.changed = true;
        let idx = self.own(root)?;
        let splits = self.delete_rec(idx, key)?;
        self.grow_root(idx, splits);
        self.shrink_root()
    }

    /// Replaces a root branch with one child by that child, and an empty
    /// root leaf by the empty tree.
    fn shrink_root(&mut self) -> Result<bool> {
        while let Some(Child::Dirty(i)) = self.root {
            match &self.arena[i] {
                Node::Branch { children, .. } if children.len() == 1 => {
                    self.root = children.first().copied();
                    self.depth -= 1;
                }
                Node::Leaf(entries) if entries.is_empty() => {
                    self.root = None;
                    self.depth = 0;
                }
                _ => break,
            }
        }
        Ok(true)
    }

    fn delete_rec(&mut self, idx: usize, key: &[u8]) -> Result<Splits> {
        let step = match &mut self.arena[idx] {
            Node::Leaf(entries) => {
                if let Ok(pos) = entries.binary_search_by(|e| e.key.as_slice().cmp(key)) {
                    let old = entries.remove(pos);
                    self.counts.live_keys = self.counts.live_keys.saturating_sub(1);
                    self.counts.live_bytes = self
                        .counts
                        .live_bytes
                        .saturating_sub(old.key.len() as u64 + old.value.len());
                    self.drop_value(&old.value);
                }
                None
            }
            Node::Branch { keys, children } => {
                let ci = child_index(keys, key);
                Some((ci, children.get(ci).copied()))
            }
        };
        if let Some((ci, child)) = step {
            let child = child.ok_or_else(|| self.depth_error())?;
            let c = self.own(child)?;
            let splits = self.delete_rec(c, key)?;
            let grew = !splits.is_empty();
            self.adopt(idx, ci, c, splits);
            if !grew && self.underfull(c) {
                self.fix_child(idx, ci)?;
            }
        }
        Ok(self.split(idx))
    }

    fn underfull(&self, idx: usize) -> bool {
        let node = &self.arena[idx];
        match node {
            Node::Leaf(_) => node.body_bytes() < self.shape.min_fill(),
            Node::Branch { children, .. } => {
                children.len() < 2 || node.body_bytes() < self.shape.min_fill()
            }
        }
    }

    /// Merges child `ci` of branch `parent` with a sibling, or rebalances
    /// the two when they do not fit in one node.
    fn fix_child(&mut self, parent: usize, ci: usize) -> Result<()> {
        let Node::Branch { keys, children } = &self.arena[parent] else {
            return Ok(());
        };
        if children.len() < 2 {
            return Ok(());
        }
        let l = if ci + 1 < children.len() { ci } else { ci - 1 };
        let (lc, rc) = (children[l], children[l + 1]);
        let sep = keys.get(l).cloned().unwrap_or_default();
        let li = self.own(lc)?;
        let ri = self.own(rc)?;
        let left = std::mem::replace(&mut self.arena[li], Node::Leaf(Vec::new()));
        let right = std::mem::replace(&mut self.arena[ri], Node::Leaf(Vec::new()));
        let combined = match (left, right) {
            (Node::Leaf(mut a), Node::Leaf(b)) => {
                a.extend(b);
                Node::Leaf(a)
            }
            (
                Node::Branch {
                    keys: mut ka,
                    children: mut ca,
                },
                Node::Branch {
                    keys: kb,
                    children: cb,
                },
            ) => {
                ka.push(sep);
                ka.extend(kb);
                ca.extend(cb);
                Node::Branch {
                    keys: ka,
                    children: ca,
                }
            }
            _ => return Err(self.depth_error()),
        };
        let (first, rest) = cut_node(combined, self.shape.node_capacity);
        self.arena[li] = first;
        let mut new_keys = Vec::with_capacity(rest.len());
        let mut new_children = vec![Child::Dirty(li)];
        for (s, node) in rest {
            self.arena.push(node);
            new_keys.push(s);
            new_children.push(Child::Dirty(self.arena.len() - 1));
        }
        if let Node::Branch { keys, children } = &mut self.arena[parent] {
            keys.splice(l..l + 1, new_keys);
            children.splice(l..l + 2, new_children);
        }
        Ok(())
    }

    /// Gives every copied node and new value its pages (from `space`),
    /// records the freed runs as pending under this transaction, and
    /// returns the new tree with the runs to write.
    /// `durable_txn` is the newest durable commit (see
    /// [`FreeSpace::free_later`]).
    pub fn commit(mut self, space: &mut FreeSpace, durable_txn: u64) -> Committed {
        let mut runs = Vec::new();
        let root = self.root.map(|r| self.resolve(r, space, &mut runs));
        for (run, kind) in std::mem::take(&mut self.freed) {
            space.free_later(self.txn, run, durable_txn);
            let pages = u64::from(run.pages);
            let counter = match kind {
                Kind::Leaf => &mut self.counts.leaf_pages,
                Kind::Branch => &mut self.counts.branch_pages,
                _ => &mut self.counts.overflow_pages,
            };
            *counter = counter.saturating_sub(pages);
        }
        Committed {
            tree: Tree {
                txn: self.txn,
                root,
                depth: self.depth,
                counts: self.counts,
            },
            runs,
        }
    }

    fn resolve(&mut self, child: Child, space: &mut FreeSpace, runs: &mut Vec<DirtyRun>) -> RunRef {
        let i = match child {
            Child::Disk(r) => return r,
            Child::Dirty(i) => i,
        };
        let mut node = std::mem::replace(&mut self.arena[i], Node::Leaf(Vec::new()));
        match &mut node {
            Node::Branch { children, .. } => {
                for c in children.iter_mut() {
                    *c = Child::Disk(self.resolve(*c, space, runs));
                }
            }
            Node::Leaf(entries) => {
                for e in entries.iter_mut() {
                    if let Value::Pending(bytes) = &e.value {
                        let run = write_value(self.txn, bytes, space, runs);
                        self.counts.overflow_pages += u64::from(run.pages);
                        e.value = Value::Overflow {
                            run,
                            len: bytes.len() as u32,
                        };
                    }
                }
            }
        }
        let body = encode_body(&node);
        let pages = pages_for(body.len());
        let page = space.allocate(pages);
        let kind = node.kind();
        match kind {
            Kind::Branch => self.counts.branch_pages += u64::from(pages),
            _ => self.counts.leaf_pages += u64::from(pages),
        }
        let run = RunRef {
            page,
            txn: self.txn,
            pages,
        };
        let bytes = Arc::new(seal_run(kind, page, self.txn, &body));
        // The body was just encoded from a valid node, so it parses
        // (`view::tests` pins the round trip).
        let view = NodeView::parse(kind, body).ok().map(Arc::new);
        runs.push(DirtyRun {
            run,
            node: view,
            bytes,
            value: None,
        });
        run
    }
}

fn write_value(
    txn: u64,
    bytes: &Arc<Vec<u8>>,
    space: &mut FreeSpace,
    runs: &mut Vec<DirtyRun>,
) -> RunRef {
    let pages = pages_for(bytes.len());
    let page = space.allocate(pages);
    let run = RunRef { page, txn, pages };
    runs.push(DirtyRun {
        run,
        node: None,
        bytes: Arc::new(seal_run(Kind::Overflow, page, txn, bytes)),
        value: Some(Arc::clone(bytes)),
    });
    run
}

impl Txn<'_> {
    /// Copies every node and overflow run that ends past page `boundary`
    /// (and every ancestor of one) so that the commit places it again,
    /// first-fit from the lowest free pages: one pass of vacuum.
    ///
    /// # Errors
    /// I/O and `Corruption` from reading the tree.
    pub fn relocate(&mut self, boundary: u64) -> Result<()> {
        let Some(root) = self.root else {
            return Ok(());
        };
        if let Some(i) = self.relocate_rec(root, boundary)? {
            self.root = Some(Child::Dirty(i));
            self.changed = true;
        }
        Ok(())
    }

    fn relocate_rec(&mut self, child: Child, boundary: u64) -> Result<Option<usize>> {
        let Child::Disk(run) = child else {
            return Ok(None);
        };
        let node = self.pager.load_node(run)?.to_node();
        let high = run.page + u64::from(run.pages) > boundary;
        match &node {
            Node::Branch { children, .. } => {
                let mut moved = Vec::new();
                for (i, c) in children.iter().enumerate() {
                    if let Some(n) = self.relocate_rec(*c, boundary)? {
                        moved.push((i, n));
                    }
                }
                if moved.is_empty() && !high {
                    return Ok(None);
                }
                let idx = self.own(child)?;
                if let Node::Branch { children, .. } = &mut self.arena[idx] {
                    for (i, n) in moved {
                        if let Some(slot) = children.get_mut(i) {
                            *slot = Child::Dirty(n);
                        }
                    }
                }
                Ok(Some(idx))
            }
            Node::Leaf(entries) => {
                let big: Vec<usize> = entries
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| {
                        matches!(&e.value, Value::Overflow { run, .. }
                            if run.page + u64::from(run.pages) > boundary)
                    })
                    .map(|(i, _)| i)
                    .collect();
                if big.is_empty() && !high {
                    return Ok(None);
                }
                let idx = self.own(child)?;
                for i in big {
                    let Node::Leaf(entries) = &self.arena[idx] else {
                        break;
                    };
                    let Some(Value::Overflow { run, len }) =
                        entries.get(i).map(|e| e.value.clone())
                    else {
                        continue;
                    };
                    let bytes = self.pager.read_value(run, len)?;
                    self.freed.push((run, Kind::Overflow));
                    if let Node::Leaf(entries) = &mut self.arena[idx] {
                        if let Some(e) = entries.get_mut(i) {
                            e.value = Value::Pending(Arc::new(bytes));
                        }
                    }
                }
                Ok(Some(idx))
            }
        }
    }
}
