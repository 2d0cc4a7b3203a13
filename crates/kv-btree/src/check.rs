//! `check()`: full verification of the newest commit and the file's space.
//!
//! - Both commit slots are read: the slot of the newest durable commit
//!   must decode and name it; the other must decode too, or be a slot a
//!   crash tore (then it is noted, since the next durable commit rewrites
//!   it).
//! - The tree is walked from the root; every run is read from the file
//!   (not the cache) and verified: checksum, page number, transaction,
//!   kind, body. Keys ascend strictly within each node and lie between the
//!   separators that lead to it; every branch has two children or more;
//!   every non-root leaf holds a key; every leaf is at the tree's depth;
//!   every run is exactly as long as its body needs. Every overflow run is
//!   read and verified.
//! - Space: the two slots, the tree's runs, the free-list run, the free
//!   extents and the pending extents must together cover every page below
//!   the page count exactly once (no leak, no page used twice); the file
//!   past the page count is the unallocated tail.
//! - The live key count and bytes recorded by the commit must match the
//!   tree.
//!
//! - Free pages: every free page that is known to hold a sealed page (all,
//!   except those that were free when a crash was recovered, until a clean
//!   close rewrites them) must verify on its own.
//!
//! On every handle (read-write, read-only, verify) the report lists every
//! finding in `damage` (under `OpenMode::Verify` the damage open recorded
//! included); `Err` is only for I/O failures while reading.
//!
//! Cost: one read of every page the tree reaches (values included) and of
//! every free page, with
//! the writer lock held (writes wait; reads do not). Every finding is a
//! damage entry; the check never stops at the first.

use kv_core::{CheckReport, CorruptionKind, Damage, Error, Result};

use crate::commit_slot::{CommitSlot, SLOT_PAGES};
use crate::node::{Child, Node, Value, NODE_CAPACITY};
use crate::open::read_free_list;
use crate::page::{open_page, pages_for, RunRef, PAGE_BYTES};
use crate::pager::Pager;
use crate::store::Inner;
use crate::txn::Tree;
use crate::writer::{lock, Writer};

/// Who owns a page, for the partition check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    None,
    Slot,
    Tree,
    FreeList,
    Free,
    Pending,
}

struct Checker<'a> {
    pager: &'a Pager,
    min_fill: usize,
    tree: Tree,
    owners: Vec<Owner>,
    report: CheckReport,
    keys: u64,
    bytes: u64,
    underfull: u64,
    /// Tree runs that could not be read: the key and byte counts below
    /// them are unknown, so the totals are not compared.
    unreadable: u64,
}

impl Checker<'_> {
    fn damage(&mut self, offset: u64, what: String) {
        self.report.damage.push(Damage {
            file: self.pager.path().to_path_buf(),
            offset,
            kind: CorruptionKind::Invariant(what),
        });
    }

    fn record(&mut self, e: Error) -> Result<()> {
        self.report.record(e)
    }

    /// Claims `[page, page+pages)` for `owner`; false if any page was
    /// already claimed or lies past the page count.
    fn claim(&mut self, page: u64, pages: u64, owner: Owner) -> bool {
        for p in page..page.saturating_add(pages) {
            match self.owners.get_mut(p as usize) {
                Some(slot) if *slot == Owner::None => *slot = owner,
                Some(slot) => {
                    let was = *slot;
                    self.damage(
                        p * PAGE_BYTES as u64,
                        format!("page {p} used twice: {was:?} and {owner:?}"),
                    );
                    return false;
                }
                None => {
                    self.damage(
                        p * PAGE_BYTES as u64,
                        format!(
                            "{owner:?} page {p} lies past the page count {}",
                            self.owners.len()
                        ),
                    );
                    return false;
                }
            }
        }
        true
    }

    fn check_value(&mut self, run: RunRef, len: u32) -> Result<()> {
        if !self.claim(run.page, u64::from(run.pages), Owner::Tree) {
            return Ok(());
        }
        self.report.items_checked += 1;
        self.report.bytes_checked += run.bytes() as u64;
        if let Err(e) = self.pager.read_value(run, len) {
            self.record(e)?;
        }
        Ok(())
    }

    fn check_node(
        &mut self,
        run: RunRef,
        level: u32,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
    ) -> Result<()> {
        if !self.claim(run.page, u64::from(run.pages), Owner::Tree) {
            return Ok(());
        }
        if run.txn > self.tree.txn {
            self.damage(
                run.offset(),
                format!(
                    "run written by txn {} after the commit's txn {}",
                    run.txn, self.tree.txn
                ),
            );
        }
        self.report.items_checked += 1;
        self.report.bytes_checked += run.bytes() as u64;
        let node = match self.pager.load_node_from_disk(run) {
            Ok(node) => node,
            Err(e) => {
                self.unreadable += 1;
                return self.record(e);
            }
        };
        let offset = run.offset();
        if pages_for(node.body_bytes()) != run.pages {
            self.damage(
                offset,
                format!(
                    "a node of {} bytes in a run of {} pages",
                    node.body_bytes(),
                    run.pages
                ),
            );
        }
        let splittable = match &*node {
            Node::Leaf(e) => e.len() >= 2,
            Node::Patched(p) => p.len() >= 2,
            Node::Branch { children, .. } => children.len() >= 4,
        };
        if splittable && node.body_bytes() > NODE_CAPACITY {
            self.damage(
                offset,
                format!(
                    "a node of {} bytes that should have been split",
                    node.body_bytes()
                ),
            );
        }
        if level > 1 && node.body_bytes() < self.min_fill {
            self.underfull += 1;
        }
        let keys: Vec<&[u8]> = match &*node {
            Node::Leaf(entries) => entries.iter().map(|e| &e.key[..]).collect(),
            Node::Branch { keys, .. } => keys.iter().map(|k| &k[..]).collect(),
            // Never read from a file (only a write transaction makes one).
            Node::Patched(_) => Vec::new(),
        };
        if !keys.windows(2).all(|w| w[0] < w[1]) {
            self.damage(offset, "keys out of order within a node".into());
        }
        let out_of_bounds = keys
            .iter()
            .any(|k| lo.is_some_and(|lo| *k < lo) || hi.is_some_and(|hi| *k >= hi));
        if out_of_bounds {
            self.damage(
                offset,
                "a key outside the separators that lead to its node".into(),
            );
        }
        match &*node {
            Node::Patched(_) => {
                self.damage(offset, "a node read as an unmerged patch".into());
            }
            Node::Leaf(entries) => {
                if level != self.tree.depth {
                    self.damage(
                        offset,
                        format!(
                            "a leaf at depth {level}, the tree's depth is {}",
                            self.tree.depth
                        ),
                    );
                }
                if entries.is_empty() && level > 1 {
                    self.damage(offset, "an empty leaf below the root".into());
                }
                for e in entries {
                    self.keys += 1;
                    self.bytes += e.key.len() as u64 + e.value.len();
                    if let Value::Overflow { run, len } = &e.value {
                        self.check_value(*run, *len)?;
                    }
                }
            }
            Node::Branch { keys, children } => {
                if level >= self.tree.depth || children.len() < 2 {
                    self.damage(
                        offset,
                        format!("a branch at depth {level} with {} children", children.len()),
                    );
                    return Ok(());
                }
                for (i, child) in children.iter().enumerate() {
                    let Child::Disk(c) = child else { continue };
                    let lo = if i == 0 {
                        lo
                    } else {
                        keys.get(i - 1).map(|k| &k[..])
                    };
                    let hi = keys.get(i).map(|k| &k[..]).or(hi);
                    self.check_node(*c, level + 1, lo, hi)?;
                }
            }
        }
        Ok(())
    }
}

fn check_slots(c: &mut Checker<'_>, w: &Writer, file_len: u64, unwritten: bool) -> Result<()> {
    if unwritten {
        // No commit was ever durable: a torn first open, not damage (a
        // read-write open rewrites both slots).
        c.report.notes.push(
            "no commit slot holds a commit yet (a crash during the first open): the store is empty"
                .into(),
        );
        return Ok(());
    }
    let (durable_txn, durable_slot) = (w.durable.txn, w.durable_slot);
    for index in 0..SLOT_PAGES {
        let mut page = vec![0; PAGE_BYTES];
        if file_len < (index + 1) * PAGE_BYTES as u64 {
            if index == durable_slot {
                c.damage(
                    index * PAGE_BYTES as u64,
                    format!("commit slot {index} is missing"),
                );
            } else {
                c.report.notes.push(format!(
                    "the older commit slot {index} was never written whole (a crash during the first open)"
                ));
            }
            continue;
        }
        c.pager
            .file()
            .read_exact_at(&mut page, index * PAGE_BYTES as u64)?;
        c.report.items_checked += 1;
        match CommitSlot::decode(&page, index, c.pager.path()) {
            Ok(slot) if index == durable_slot && slot.txn != durable_txn => {
                c.damage(index * PAGE_BYTES as u64, format!("slot {index} holds txn {}, not the durable txn {durable_txn}", slot.txn));
            }
            Ok(_) => {}
            Err(e) if index == durable_slot => c.record(e)?,
            Err(e) => c.report.notes.push(format!("the older commit slot {index} does not verify ({e}): a commit torn by a crash; the next durable commit rewrites it")),
        }
    }
    Ok(())
}

/// Runs the full check (see the module docs).
///
/// # Errors
/// I/O failures while reading; damage is listed in the report, never
/// returned as `Err`.
pub(crate) fn check(inner: &Inner) -> Result<CheckReport> {
    let w = lock(inner);
    let tree = *inner.newest();
    let page_count = w.space.page_count;
    let file_len = inner.pager.file().len()?;
    let mut c = Checker {
        pager: &inner.pager,
        min_fill: inner.options.shape.clamped().min_fill(),
        tree,
        owners: vec![Owner::None; page_count as usize],
        report: CheckReport {
            files_checked: 1,
            notes: inner.open_notes.clone(),
            damage: inner.open_damage.clone(),
            ..CheckReport::default()
        },
        keys: 0,
        bytes: 0,
        underfull: 0,
        unreadable: 0,
    };
    c.claim(0, SLOT_PAGES, Owner::Slot);
    check_slots(&mut c, &w, file_len, inner.unwritten)?;
    if let Some(root) = tree.root {
        c.check_node(root, 1, None, None)?;
    }
    if let Some(run) = w.free_list {
        if c.claim(run.page, u64::from(run.pages), Owner::FreeList) {
            if let Err(e) = read_free_list(
                c.pager,
                run,
                page_count.max(run.page + u64::from(run.pages)),
            ) {
                c.record(e)?;
            }
        }
    }
    for (s, l) in w.space.free_extents() {
        c.claim(s, l, Owner::Free);
    }
    check_free_pages(
        &mut c,
        &w.space.free_extents(),
        &w.space.unverified_extents(),
        file_len,
    )?;
    for (_, s, l) in w.space.pending_extents() {
        c.claim(s, l, Owner::Pending);
    }
    let leaked: Vec<u64> = (0..page_count)
        .filter(|&p| c.owners.get(p as usize) == Some(&Owner::None))
        .collect();
    if let (Some(first), true) = (leaked.first(), c.unreadable > 0) {
        // Runs below an unreadable node cannot be claimed: not a leak.
        c.report.notes.push(format!(
            "{} pages below unreadable nodes not accounted for, first {first}",
            leaked.len()
        ));
    } else if let Some(first) = leaked.first() {
        c.damage(
            first * PAGE_BYTES as u64,
            format!(
                "{} pages leaked (neither reachable, free nor pending), first {first}",
                leaked.len()
            ),
        );
    }
    let counted = (c.keys, c.bytes);
    if c.unreadable == 0 && counted != (tree.counts.live_keys, tree.counts.live_bytes) {
        c.damage(
            0,
            format!(
                "the commit records {} keys of {} bytes, the tree holds {} keys of {} bytes",
                tree.counts.live_keys, tree.counts.live_bytes, c.keys, c.bytes
            ),
        );
    }
    if c.underfull > 0 {
        c.report.notes.push(format!(
            "{} nodes under the fill threshold ({} bytes)",
            c.underfull, c.min_fill
        ));
    }
    c.report.live_keys = c.keys;
    // A spot open recorded under `Verify` is found again by the walk: one
    // entry per spot.
    c.report
        .damage
        .sort_by(|a, b| (&a.file, a.offset).cmp(&(&b.file, b.offset)));
    c.report
        .damage
        .dedup_by(|a, b| a.file == b.file && a.offset == b.offset);
    Ok(c.report)
}

/// Verifies every free page that is known to hold a sealed page (all of
/// them, except those free when a crash was recovered): a flipped byte in
/// a free page is bit rot that the next reuse would hide.
fn check_free_pages(
    c: &mut Checker<'_>,
    free: &[(u64, u64)],
    unverified: &[(u64, u64)],
    file_len: u64,
) -> Result<()> {
    let trusted = |p: u64| !unverified.iter().any(|&(s, l)| p >= s && p < s + l);
    let mut page = vec![0; PAGE_BYTES];
    for &(s, l) in free {
        for p in (s..s + l).filter(|&p| trusted(p)) {
            let offset = p * PAGE_BYTES as u64;
            if offset + PAGE_BYTES as u64 > file_len {
                c.damage(
                    offset,
                    format!("free page {p} lies past the end of the file"),
                );
                continue;
            }
            c.pager.file().read_exact_at(&mut page, offset)?;
            c.report.items_checked += 1;
            c.report.bytes_checked += PAGE_BYTES as u64;
            if let Err(e) = open_page(&page, p, c.pager.path()) {
                c.record(e)?;
            }
        }
    }
    Ok(())
}
