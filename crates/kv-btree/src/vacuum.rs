//! `compact()` is vacuum: live pages move toward the front of the file and
//! the file shrinks.
//!
//! Each pass makes everything durable, then rewrites every node and
//! overflow run that lies past the *boundary* (the pages the tree and its
//! free list need, right after the two slots), together with their
//! ancestors, into the lowest free pages; a durable commit later, the old
//! pages are free and the free pages at the end of the file are cut off.
//! Passes stop when the file no longer shrinks (at most
//! [`MAX_VACUUM_PASSES`]).
//!
//! Vacuum is a sequence of ordinary write transactions, so readers are
//! never blocked and a crash at any point leaves the last durable commit.
//! Pages an open reader still holds are pending, not free: the file then
//! shrinks at a later vacuum (or commit) once the reader is gone.

use std::sync::Arc;

use kv_core::{Error, Result};

use crate::commit_slot::SLOT_PAGES;
use crate::durable::flush;
use crate::store::Inner;
use crate::txn::{Tree, Txn};
use crate::writer::{lock, release, Writer};

/// Most passes one `compact()` runs.
pub const MAX_VACUUM_PASSES: usize = 4;

/// Publishes `tree` and makes it durable.
fn commit_durably(inner: &Inner, w: &mut Writer, tree: Tree) -> Result<()> {
    let tree = Arc::new(tree);
    inner.poison.guard(flush(inner, w, &tree, false))?;
    w.snapshots.push(Arc::downgrade(&tree));
    inner.set_newest(tree);
    inner.figures.commit(w);
    Ok(())
}

fn settle(inner: &Inner, w: &mut Writer) -> Result<()> {
    crate::writer::settle(inner, w, false)
}

/// Runs vacuum (see the module docs).
///
/// # Errors
/// `ReadOnly`, `Poisoned`, I/O failures (which poison) and `Corruption`
/// from reading the tree.
pub(crate) fn vacuum(inner: &Inner) -> Result<()> {
    if inner.read_only {
        return Err(Error::ReadOnly);
    }
    inner.poison.check()?;
    let mut w = lock(inner);
    settle(inner, &mut w)?;
    settle(inner, &mut w)?;
    for _ in 0..MAX_VACUUM_PASSES {
        let before = w.space.page_count;
        // A copy: holding the `Arc` would count as a reader of the old tree
        // and keep its pages pending.
        let base = *inner.newest();
        let c = base.counts;
        let boundary = SLOT_PAGES + c.leaf_pages + c.branch_pages + c.overflow_pages + 1;
        if before <= boundary {
            break;
        }
        let mut txn = Txn::begin(&inner.pager, inner.options.shape, &base, base.txn + 1);
        txn.relocate(boundary)?;
        if !txn.changed() {
            break;
        }
        release(inner, &mut w);
        let durable_txn = w.durable.txn;
        let committed = txn.commit(&mut w.space, durable_txn);
        inner.pager.publish(committed.runs);
        commit_durably(inner, &mut w, committed.tree)?;
        settle(inner, &mut w)?;
        settle(inner, &mut w)?;
        if w.space.page_count >= before {
            break;
        }
    }
    inner.figures.vacuum();
    Ok(())
}
