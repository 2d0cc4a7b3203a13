//! The single writer: free space, the durable commit, and the snapshots
//! readers may still hold, behind one `Mutex`.
//!
//! A write takes the mutex, starts a [`Txn`] on the newest tree, applies
//! its operations, commits (pages are allocated), publishes the new runs
//! to the pager and swaps the newest tree that readers start from. Readers
//! never take this mutex: they clone the newest tree's `Arc` and read.

use std::sync::{Arc, PoisonError, Weak};
use std::time::Instant;

use kv_core::{Background, Error, Result, SyncPolicy};

use crate::durable::flush;
use crate::freelist::FreeSpace;
use crate::page::RunRef;
use crate::store::Inner;
use crate::txn::{NodeTable, Tree, Txn};

/// What only the writer touches.
#[derive(Debug)]
pub(crate) struct Writer {
    /// Free, pending and tail pages.
    pub space: FreeSpace,
    /// The newest durable commit.
    pub durable: Tree,
    /// The slot (0 or 1) that holds it.
    pub durable_slot: u64,
    /// True when it was written by a clean close: its slot vouches for
    /// every free page holding a sealed page, so the next durable commit
    /// must not write into them (see [`crate::durable::flush`]).
    pub durable_clean: bool,
    /// Its free-list run.
    pub free_list: Option<RunRef>,
    /// Every tree published to readers that may still be held.
    pub snapshots: Vec<Weak<Tree>>,
    /// When the last durable commit was made (for `SyncPolicy::Interval`).
    pub last_durable: Instant,
    /// Owned branches committed since the last durable commit (see
    /// [`NodeTable`]; emptied by every durable commit).
    pub nodes: NodeTable,
}

/// The oldest transaction a reader may still read.
fn oldest_reader(w: &mut Writer) -> u64 {
    w.snapshots.retain(|s| s.strong_count() > 0);
    w.snapshots
        .iter()
        .filter_map(Weak::upgrade)
        .map(|t| t.txn)
        .min()
        .unwrap_or(u64::MAX)
}

/// Frees the pending pages that no reader and no durable commit can reach:
/// those freed by transactions no newer than both the oldest reader's and
/// the newest durable commit (or, for runs no durable commit reached, no
/// newer than the oldest reader's).
pub(crate) fn release(inner: &Inner, w: &mut Writer) {
    let reader = oldest_reader(w);
    let forgotten = w.space.release(w.durable.txn, reader);
    inner.pager.forget(&forgotten);
}

/// True when the commit just made must be made durable at once.
fn durable_now(inner: &Inner, w: &Writer) -> bool {
    match inner.options.core.sync {
        SyncPolicy::Always => true,
        SyncPolicy::Manual => inner.pager.dirty_bytes() > inner.options.dirty_budget_bytes,
        SyncPolicy::Interval { interval_ms } => {
            inner.options.core.background == Background::Inline
                || w.last_durable.elapsed().as_millis() >= u128::from(interval_ms)
                || inner.pager.dirty_bytes() > inner.options.dirty_budget_bytes
        }
    }
}

/// Locks the writer.
pub(crate) fn lock(inner: &Inner) -> std::sync::MutexGuard<'_, Writer> {
    inner.writer.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `ops` as one transaction and commits it (durably where the sync
/// policy says so).
///
/// # Errors
/// `ReadOnly`, `Poisoned`; read errors from `ops` (nothing changed); I/O
/// failures of a durable commit (which poison).
pub(crate) fn write(inner: &Inner, ops: impl FnOnce(&mut Txn<'_>) -> Result<()>) -> Result<()> {
    if inner.read_only {
        return Err(Error::ReadOnly);
    }
    inner.poison.check()?;
    let mut w = lock(inner);
    inner.poison.check()?;
    let base = inner.newest();
    let nodes = std::mem::take(&mut w.nodes);
    let mut txn =
        Txn::begin(&inner.pager, inner.options.shape, &base, base.txn + 1).with_nodes(nodes);
    ops(&mut txn)?;
    if !txn.changed() {
        w.nodes = txn.into_nodes();
        return Ok(());
    }
    release(inner, &mut w);
    let durable_txn = w.durable.txn;
    let committed = txn.commit(&mut w.space, durable_txn);
    w.nodes = committed.nodes;
    let tree = Arc::new(committed.tree);
    inner.pager.publish(committed.runs);
    if durable_now(inner, &w) {
        inner.poison.guard(flush(inner, &mut w, &tree, false))?;
        w.last_durable = Instant::now();
    }
    w.snapshots.push(Arc::downgrade(&tree));
    inner.set_newest(tree);
    // The runs this commit replaced that no durable commit reached are
    // reachable only from older trees: with no reader holding one (`base`
    // was the writer's own handle), release them now, so that their
    // in-memory versions are freed at once and not one commit later.
    drop(base);
    release(inner, &mut w);
    inner.figures.commit(&w);
    Ok(())
}

/// Makes every commit so far durable.
///
/// # Errors
/// `Poisoned`; I/O failures (which poison).
pub(crate) fn sync(inner: &Inner) -> Result<()> {
    if inner.read_only {
        return Ok(());
    }
    inner.poison.check()?;
    let mut w = lock(inner);
    let tree = inner.newest();
    inner.poison.guard(flush(inner, &mut w, &tree, false))?;
    w.last_durable = Instant::now();
    Ok(())
}

/// A durable commit that changes no key, marked `clean` or not: what open
/// writes to mark the store in use, and what close writes to mark it
/// closed cleanly. It also releases pages and cuts the free tail.
///
/// # Errors
/// I/O failures (which poison).
pub(crate) fn settle(inner: &Inner, w: &mut Writer, clean: bool) -> Result<()> {
    let mut tree = *inner.newest();
    tree.txn += 1;
    let tree = Arc::new(tree);
    inner.poison.guard(flush(inner, w, &tree, clean))?;
    w.last_durable = Instant::now();
    w.snapshots.push(Arc::downgrade(&tree));
    inner.set_newest(tree);
    inner.figures.commit(w);
    Ok(())
}

/// Closes cleanly: makes every commit durable under a clean slot.
///
/// # Errors
/// `Poisoned`; I/O failures.
pub(crate) fn close(inner: &Inner) -> Result<()> {
    if inner.read_only {
        return Ok(());
    }
    inner.poison.check()?;
    let mut w = lock(inner);
    settle(inner, &mut w, true)
}
