//! The commit protocol: making a committed tree durable.
//!
//! By default one barrier (redb's 1PC+C, see `docs/btree.md` section 4):
//!
//! 1. release the pages no reader and no commit that may still be opened
//!    can reach (freed by the durable commit or earlier), trim free pages
//!    off the end of the file, and place the new free list (in pages that
//!    are free *now*, never in pages the durable commit can reach; after a
//!    clean durable commit, whose slot vouches for its free pages, past its
//!    end and without the trim);
//! 2. write every dirty run and the free list;
//! 3. write the commit slot into the page that does not hold the durable
//!    commit, with the previous durable txn and the digest of the runs of
//!    step 2 (`crate::written`), then **fsync**: the commit is durable;
//! 4. cut the file to the new page count (a crash before it leaves a tail
//!    that the next open cuts).
//!
//! A crash before step 3's fsync returns leaves the previous commit's slot
//! and every page it reaches untouched (the new commit only wrote pages
//! that were free in it, or past its end). Open takes the new slot only if
//! it is whole and every run it names as written verifies and reproduces
//! its digest; otherwise it takes the previous commit and notes the fall-
//! back. With [`crate::BtreeOptions::two_fsync_commit`], and always for a
//! clean close, step 2 is followed by its own fsync (LMDB's and bbolt's
//! order), so the slot never reaches the disk before the pages.

use kv_core::Result;

use crate::commit_slot::CommitSlot;
use crate::freelist::{self, FreeSpace};
use crate::page::{pages_for, seal_run_pages, Kind, RunRef, PAGE_BYTES};
use crate::pager::ExtraRun;
use crate::store::Inner;
use crate::txn::Tree;
use crate::writer::{release, Writer};
use crate::written::digest_written;

/// Places the free list of the commit `txn` in free pages (or the tail;
/// only the tail when `at_tail`) and returns its run and bytes; `None` when
/// nothing is free or pending.
fn place_free_list(space: &mut FreeSpace, txn: u64, at_tail: bool) -> Option<(RunRef, Vec<u8>)> {
    let extents = space.persisted_extents();
    if extents.is_empty() {
        return None;
    }
    let mut need = pages_for(freelist::encode(&extents).len());
    loop {
        let page = if at_tail {
            space.allocate_at_tail(need)
        } else {
            space.allocate(need)
        };
        let body = freelist::encode(&space.persisted_extents());
        if pages_for(body.len()) <= need {
            let run = RunRef {
                page,
                txn,
                pages: need,
            };
            return Some((run, seal_run_pages(Kind::FreeList, page, txn, &body, need)));
        }
        space.unallocate(page, need);
        need += 1;
    }
}

/// Sealed pages of kind `Free` over every unverified free extent, so that
/// a clean close leaves only sealed pages below the page count.
fn seal_unverified(space: &FreeSpace, txn: u64) -> Vec<ExtraRun> {
    space
        .unverified_extents()
        .into_iter()
        .flat_map(|(s, l)| s..s + l)
        .map(|page| {
            let run = RunRef {
                page,
                txn,
                pages: 1,
            };
            ExtraRun {
                run,
                sealed: seal_run_pages(Kind::Free, page, txn, &[], 1),
                covered: false,
            }
        })
        .collect()
}

/// Makes `tree` (the newest commit) and every commit before it durable.
/// `clean` marks the slot as written by a clean close (every free page
/// then holds a sealed page; the unverified ones are rewritten first).
///
/// # Errors
/// I/O failures (the caller poisons the store).
pub(crate) fn flush(inner: &Inner, w: &mut Writer, tree: &Tree, clean: bool) -> Result<()> {
    if tree.txn == w.durable.txn {
        return Ok(());
    }
    release(inner, w);
    // A clean durable commit vouches for its free pages (each holds a
    // sealed page that `check()` verifies), and until this commit is
    // durable a crash brings it back, even if only this commit's slot is
    // lost. So this commit writes nothing into them: no free extent is cut
    // off the end, and the free list goes past the clean commit's last page
    // (its unallocated tail, which an open after a crash cuts). Only the
    // first commit after a clean reopen (or a clean close of a store with
    // no free pages) meets this; its runs find no free pages anyway (after
    // a reopen nothing is pending, and `open` writes this commit first
    // when any page is free).
    let vouched = w.durable_clean;
    if !vouched {
        while w.space.trim_tail() {}
    }
    if let Some(old) = w.free_list.take() {
        w.space.free_later(tree.txn, old, w.durable.txn);
    }
    let placed = place_free_list(&mut w.space, tree.txn, vouched);
    let mut extra: Vec<ExtraRun> = placed
        .iter()
        .map(|(run, sealed)| ExtraRun {
            run: *run,
            sealed: sealed.clone(),
            covered: true,
        })
        .collect();
    if clean {
        extra.extend(seal_unverified(&w.space, tree.txn));
    }
    let file = inner.pager.file();
    let written = inner.pager.write_dirty(&extra, &w.space.volatile_runs())?;
    // A clean close's sealed free pages are not among the runs open
    // verifies, so they must be on disk before the slot that vouches for them.
    if clean || inner.options.two_fsync_commit {
        file.sync()?;
    }
    let free_list = placed.as_ref().map(|p| p.0);
    let slot = CommitSlot {
        txn: tree.txn,
        root: tree.root,
        depth: tree.depth,
        page_count: w.space.page_count,
        free_list,
        counts: tree.counts,
        clean,
        prev_txn: w.durable.txn,
        digest: digest_written(
            &inner.pager,
            &written,
            (tree.root, free_list, w.durable.txn),
        )?,
    };
    let target = 1 - w.durable_slot;
    file.write_at(&slot.encode(), target * PAGE_BYTES as u64)?;
    file.sync()?;
    finish(inner, w, tree, &slot, target)
}

/// After the commit's last fsync: the writer's view of the durable commit,
/// the cache, and the file's length.
fn finish(
    inner: &Inner,
    w: &mut Writer,
    tree: &Tree,
    slot: &CommitSlot,
    target: u64,
) -> Result<()> {
    w.durable_slot = target;
    w.durable_clean = slot.clean;
    w.durable = *tree;
    w.free_list = slot.free_list;
    if slot.clean {
        w.space.trust_free_pages();
    }
    inner.pager.settle();
    w.nodes.clear();
    let file = inner.pager.file();
    let want = w.space.page_count * PAGE_BYTES as u64;
    if file.len()? > want {
        file.truncate(want)?;
    }
    inner.figures.durable_commit(w);
    Ok(())
}
