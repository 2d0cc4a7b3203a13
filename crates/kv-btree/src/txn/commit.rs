//! The commit: give every copied node and new value its pages, encode
//! them (sealing waits for the write, see [`crate::pager::DirtyRun`]),
//! keep the owned branches for the next transaction ([`super::NodeTable`]),
//! and record the freed runs as pending.

use std::sync::Arc;

use super::{Committed, Tree, Txn};
use crate::freelist::FreeSpace;
use crate::node::view::NodeView;
use crate::node::{Child, Node, Value};
use crate::page::{pages_for, Kind, RunRef};
use crate::pager::DirtyRun;

impl Txn<'_> {
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
            nodes: std::mem::take(&mut self.nodes),
        }
    }

    fn resolve(&mut self, child: Child, space: &mut FreeSpace, runs: &mut Vec<DirtyRun>) -> RunRef {
        let i = match child {
            Child::Disk(r) => return r,
            Child::Dirty(i) => i,
        };
        let mut node = std::mem::replace(&mut self.arena[i], Node::Leaf(Vec::new()));
        if matches!(&node, Node::Patched(p) if p.has_pending()) {
            node = node.into_plain();
        }
        match &mut node {
            // Encoded as it is (no value to write).
            Node::Patched(_) => {}
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
        let view = NodeView::encode(&node);
        let pages = pages_for(view.body().len());
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
        runs.push(DirtyRun {
            run,
            node: Some(Arc::new(view)),
            value: None,
        });
        // The next transaction that edits this branch takes it back as it
        // is. A leaf is not kept: the next put into it patches the view just
        // encoded (no decode either way), and its entries are freed now, while
        // they are still in the CPU's caches, instead of at the durable commit.
        if kind == Kind::Branch {
            self.nodes.insert(page, (run, node));
        }
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
        value: Some(Arc::clone(bytes)),
    });
    run
}
