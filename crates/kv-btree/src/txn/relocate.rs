//! Relocation: the write-transaction side of vacuum.

use std::sync::Arc;

use kv_core::Result;

use super::Txn;
use crate::node::{Child, Node, Value};
use crate::page::Kind;

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
            // A view's node is never a patch.
            Node::Patched(_) => Err(self.patch_error()),
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
