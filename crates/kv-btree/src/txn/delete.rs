//! Deletes: remove a key, then merge or rebalance a node that fell under
//! the fill threshold ([`Shape::min_fill`](crate::node::Shape::min_fill))
//! with a sibling; a root branch left with one child is replaced by it.

use kv_core::Result;

use super::{Splits, Txn};
use crate::node::{Child, Node};
use crate::split::{cut_node, Cut};

impl Txn<'_> {
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
                if let Ok(pos) = entries.binary_search_by(|e| e.key[..].cmp(key)) {
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
                let ci = keys.child_index(key);
                Some((ci, children.get(ci).copied()))
            }
            // `own` merged every patch on the way here.
            Node::Patched(_) => return Err(self.patch_error()),
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
        Ok(self.split(idx, Cut::Even))
    }

    fn underfull(&self, idx: usize) -> bool {
        let node = &self.arena[idx];
        match node {
            Node::Leaf(_) | Node::Patched(_) => node.body_bytes() < self.shape.min_fill(),
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
                ka.extend(kb.into_vec());
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
}
