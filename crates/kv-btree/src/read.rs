//! Point reads: descend from the snapshot's root to the leaf that holds
//! the key. One node per level, searched in place (see
//! [`crate::node::view`]): the root from the pager's root slot
//! ([`Pager::load_root`]), each node below it through the pointer its
//! parent's view remembers ([`Pager::load_child`]) or from the cache; and, for a large value, one
//! read of its overflow run.

use std::sync::Arc;

use kv_core::{CorruptionKind, Error, Result};

use crate::node::view::{NodeView, ValueRef};
use crate::page::RunRef;
use crate::pager::Pager;
use crate::txn::Tree;

/// The bytes of a leaf entry's value.
///
/// # Errors
/// I/O and `Corruption` from the overflow run.
pub(crate) fn value_bytes(pager: &Pager, value: ValueRef<'_>) -> Result<Vec<u8>> {
    match value {
        ValueRef::Inline(v) => Ok(v.to_vec()),
        ValueRef::Overflow { run, len } => pager.read_value(run, len),
    }
}

/// Child `i` of the branch `node`.
///
/// # Errors
/// `Corruption` when the node has no child `i` (a leaf where a branch
/// should be).
pub(crate) fn child(pager: &Pager, node: &NodeView, i: usize) -> Result<RunRef> {
    node.child(i).ok_or_else(|| {
        Error::corruption(
            pager.path(),
            0,
            CorruptionKind::Invariant(format!("branch has no child {i}")),
        )
    })
}

/// The leaf that holds `key`, or `None` for the empty tree.
fn leaf_for(pager: &Pager, tree: &Tree, key: &[u8]) -> Result<Option<Arc<NodeView>>> {
    let Some(mut run) = tree.root else {
        return Ok(None);
    };
    let mut node = pager.load_root(run)?;
    // Hits through remembered children, counted once at the end (a count
    // per level would be a locked add per level).
    let mut hits = 0;
    for _ in 0..tree.depth {
        if node.is_leaf() {
            break;
        }
        let i = node.child_index(key);
        node = match node.prefetch_child(i) {
            Some(view) => {
                hits += 1;
                view
            }
            None => {
                run = child(pager, &node, i)?;
                pager.load_child(&node, i, run)?
            }
        };
    }
    pager.count_hits(hits);
    if node.is_leaf() {
        return Ok(Some(node));
    }
    Err(Error::corruption(
        pager.path(),
        run.offset(),
        CorruptionKind::Invariant(format!("no leaf within the tree's depth {}", tree.depth)),
    ))
}

/// The value of `key` in `tree`.
///
/// # Errors
/// I/O failures and `Corruption` of a node or value on the path.
pub(crate) fn get(pager: &Pager, tree: &Tree, key: &[u8]) -> Result<Option<Vec<u8>>> {
    let Some(leaf) = leaf_for(pager, tree, key)? else {
        return Ok(None);
    };
    leaf.find(key)
        .and_then(|i| leaf.value(i))
        .map(|v| value_bytes(pager, v))
        .transpose()
}
