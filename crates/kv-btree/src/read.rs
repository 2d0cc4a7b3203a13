//! Point reads: descend from the snapshot's root to the leaf that holds
//! the key. One node per level (usually from the cache) and, for a large
//! value, one read of its overflow run.

use std::sync::Arc;

use kv_core::{CorruptionKind, Error, Result};

use crate::node::{Child, Node, Value};
use crate::page::RunRef;
use crate::pager::Pager;
use crate::txn::{child_index, Tree};

/// The value stored in a leaf entry.
///
/// # Errors
/// I/O and `Corruption` from the overflow run.
pub(crate) fn value_bytes(pager: &Pager, value: &Value) -> Result<Vec<u8>> {
    match value {
        Value::Inline(v) => Ok(v.clone()),
        Value::Overflow { run, len } => pager.read_value(*run, *len),
        Value::Pending(v) => Ok(v.to_vec()),
    }
}

/// The disk reference of a branch's child `i` (committed nodes only hold
/// disk references).
pub(crate) fn disk_child(pager: &Pager, children: &[Child], i: usize) -> Result<RunRef> {
    match children.get(i) {
        Some(Child::Disk(run)) => Ok(*run),
        _ => Err(Error::corruption(
            pager.path(),
            0,
            CorruptionKind::Invariant(format!("branch has no child {i}")),
        )),
    }
}

/// The leaf that holds `key`, or `None` for the empty tree.
fn leaf_for(pager: &Pager, tree: &Tree, key: &[u8]) -> Result<Option<Arc<Node>>> {
    let Some(mut run) = tree.root else {
        return Ok(None);
    };
    for _ in 0..=tree.depth {
        let node = pager.load_node(run)?;
        match &*node {
            Node::Leaf(_) => return Ok(Some(node)),
            Node::Branch { keys, children } => {
                run = disk_child(pager, children, child_index(keys, key))?;
            }
        }
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
    let Node::Leaf(entries) = &*leaf else {
        return Ok(None);
    };
    match entries.binary_search_by(|e| e.key.as_slice().cmp(key)) {
        Ok(pos) => entries
            .get(pos)
            .map(|e| value_bytes(pager, &e.value))
            .transpose(),
        Err(_) => Ok(None),
    }
}
