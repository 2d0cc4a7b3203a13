//! The runs a commit wrote, and their digest (what makes a one-fsync
//! commit safe to trust).
//!
//! A durable commit that follows the durable commit `prev_txn` writes
//! exactly the runs its tree reaches whose txn is newer than `prev_txn`
//! (copy-on-write: a rewritten run's parent is rewritten too, so they are
//! found from the root by following only such references), plus its free
//! list. Its slot records `prev_txn` and a crc32 over
//! `(page, txn, pages, crc32 of the run's bytes)` of each of those runs,
//! sorted by page. Open walks the same runs on disk, verifies each (page
//! checksum, page number, txn) and recomputes the digest: a run lost or
//! torn by a crash before the commit's one fsync, or an older image of the
//! same pages (even one written by a torn commit with the same txn), fails
//! one or the other, and the previous slot is used.

use kv_core::Result;

use crate::node::view::ValueRef;
use crate::page::{RunRef, PAGE_BYTES, TRAILER_BYTES};
use crate::pager::Pager;

/// The runs reachable from `root` written after `prev_txn`, plus the
/// free list if it was. Nodes come from the dirty runs when they are
/// still in memory (at commit) or from the file, verified (at open, when
/// the cache is still empty);
/// overflow runs are read and verified only when `on_disk`.
///
/// # Errors
/// I/O failures; `Corruption` for a run that fails verification.
pub(crate) fn written_runs(
    pager: &Pager,
    root: Option<RunRef>,
    free_list: Option<RunRef>,
    prev_txn: u64,
    on_disk: bool,
) -> Result<Vec<RunRef>> {
    let mut runs = Vec::new();
    if let Some(root) = root.filter(|r| r.txn > prev_txn) {
        walk(pager, root, (prev_txn, on_disk), &mut runs)?;
    }
    runs.extend(free_list.filter(|r| r.txn > prev_txn));
    Ok(runs)
}

fn walk(pager: &Pager, run: RunRef, how: (u64, bool), out: &mut Vec<RunRef>) -> Result<()> {
    let (prev_txn, on_disk) = how;
    out.push(run);
    let view = pager.load_node(run)?;
    if view.is_leaf() {
        for i in 0..view.len() {
            if let Some(ValueRef::Overflow { run, len }) = view.value(i) {
                if run.txn > prev_txn {
                    if on_disk {
                        pager.read_value(run, len)?;
                    }
                    out.push(run);
                }
            }
        }
    } else {
        for c in view.children() {
            if c.txn > prev_txn {
                walk(pager, c, how, out)?;
            }
        }
    }
    Ok(())
}

/// The digest of `runs` given the crc32 of each run's bytes.
///
/// # Errors
/// Those of `crc_of`.
pub fn digest(runs: &[RunRef], crc_of: impl Fn(&RunRef) -> Result<u32>) -> Result<u32> {
    let mut sorted = Vec::with_capacity(runs.len());
    for run in runs {
        sorted.push((*run, crc_of(run)?));
    }
    sorted.sort_unstable_by_key(|r| r.0.page);
    Ok(digest_sorted(&sorted))
}

/// The digest of runs with the crc32 of their bytes, sorted by page (what
/// `Pager::write_dirty` returns; [`digest`] sorts first).
pub fn digest_sorted(runs: &[(RunRef, u32)]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    for (run, crc) in runs {
        h.update(&run.page.to_le_bytes());
        h.update(&run.txn.to_le_bytes());
        h.update(&run.pages.to_le_bytes());
        h.update(&crc.to_le_bytes());
    }
    h.finalize()
}

/// The crc32 of a sealed run's bytes (what the digest takes of each run),
/// from the checksum each page already carries in its trailer: every page
/// ends with the crc32 of its first `PAGE_BYTES - 4` bytes, so the page's
/// crc32 is that value continued over the trailer's four bytes, and the
/// pages' crc32s combine into the run's. One pass over the run's bytes (the
/// sealing) instead of two. Equal to `crc32fast::hash(sealed)` for every
/// sealed run (`sealed_run_crc_equals_the_hash_of_its_bytes`); bytes that
/// are not whole pages are hashed as they are.
pub(crate) fn sealed_run_crc(sealed: &[u8]) -> u32 {
    let body = PAGE_BYTES - TRAILER_BYTES;
    if sealed.is_empty() || !sealed.len().is_multiple_of(PAGE_BYTES) {
        return crc32fast::hash(sealed);
    }
    let mut run = crc32fast::Hasher::new();
    for page in sealed.chunks_exact(PAGE_BYTES) {
        let (head, trailer) = page.split_at(body);
        let Some(stored) = trailer.first_chunk::<4>() else {
            return crc32fast::hash(sealed);
        };
        let mut h =
            crc32fast::Hasher::new_with_initial_len(u32::from_le_bytes(*stored), head.len() as u64);
        h.update(trailer);
        run.combine(&h);
    }
    run.finalize()
}

/// The digest of `runs` as they are on disk (what open recomputes).
///
/// # Errors
/// I/O failures.
pub(crate) fn digest_on_disk(pager: &Pager, runs: &[RunRef]) -> Result<u32> {
    digest(runs, |r| Ok(crc32fast::hash(&pager.read_run(*r)?)))
}

/// The digest of the runs a durable commit just wrote, from what
/// `Pager::write_dirty` returned (every dirty run still reachable, and the
/// free list), without walking the tree.
///
/// The dirty runs are exactly the runs published since the last durable
/// commit `prev_txn` and not yet released; a run leaves the tree only when
/// a commit frees it, and a freed run that no durable commit reached stays
/// *volatile* in [`crate::freelist::FreeSpace`] until it is released (and
/// forgotten by the pager). So the dirty runs less the volatile ones still
/// pending are exactly the runs of the tree newer than `prev_txn`: what
/// open walks ([`written_runs`]). Debug builds walk the tree as open does
/// and check that both give the same runs.
///
/// # Errors
/// In debug builds, those of the walk.
pub(crate) fn digest_written(
    pager: &Pager,
    written: &[(RunRef, u32)],
    walked: (Option<RunRef>, Option<RunRef>, u64),
) -> Result<u32> {
    if cfg!(debug_assertions) {
        let (root, free_list, prev_txn) = walked;
        let mut runs = written_runs(pager, root, free_list, prev_txn, false)?;
        runs.sort_unstable_by_key(|r| r.page);
        let covered: Vec<RunRef> = written.iter().map(|w| w.0).collect();
        assert_eq!(
            covered, runs,
            "the runs written for the digest are not the runs open walks"
        );
    }
    Ok(digest_sorted(written))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::{seal_run, Kind};

    #[test]
    fn sealed_run_crc_equals_the_hash_of_its_bytes() {
        for len in [0usize, 1, 100, 4060, 4061, 9000, 3 * 4060] {
            let body: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            for kind in [Kind::Leaf, Kind::Overflow] {
                let sealed = seal_run(kind, 7 + len as u64, 42, &body);
                assert_eq!(sealed_run_crc(&sealed), crc32fast::hash(&sealed), "{len}");
            }
        }
        assert_eq!(
            sealed_run_crc(b"not a page"),
            crc32fast::hash(b"not a page")
        );
    }
}
