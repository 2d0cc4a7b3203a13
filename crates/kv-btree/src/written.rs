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

use std::collections::HashMap;

use kv_core::Result;

use crate::node::view::ValueRef;
use crate::page::RunRef;
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
    let mut sorted = runs.to_vec();
    sorted.sort_by_key(|r| r.page);
    let mut h = crc32fast::Hasher::new();
    for run in &sorted {
        h.update(&run.page.to_le_bytes());
        h.update(&run.txn.to_le_bytes());
        h.update(&run.pages.to_le_bytes());
        h.update(&crc_of(run)?.to_le_bytes());
    }
    Ok(h.finalize())
}

/// The digest of `runs` as they are on disk (what open recomputes).
///
/// # Errors
/// I/O failures.
pub(crate) fn digest_on_disk(pager: &Pager, runs: &[RunRef]) -> Result<u32> {
    digest(runs, |r| Ok(crc32fast::hash(&pager.read_run(*r)?)))
}

/// The digest of `runs` just written, from the crc32 of each run's bytes
/// as `Pager::write_dirty` wrote them (a run not among them is read back).
///
/// # Errors
/// I/O failures.
pub(crate) fn digest_written(
    pager: &Pager,
    runs: &[RunRef],
    crcs: &HashMap<u64, u32>,
) -> Result<u32> {
    digest(runs, |r| match crcs.get(&r.page) {
        Some(crc) => Ok(*crc),
        None => Ok(crc32fast::hash(&pager.read_run(*r)?)),
    })
}
