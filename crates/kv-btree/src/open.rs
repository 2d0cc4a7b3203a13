//! Opening a store: claim the directory, pick the commit, verify it.
//!
//! Open reads the two commit slots and takes the valid one with the higher
//! transaction id (a torn or damaged slot fails its checksum and the other
//! one is used). It then verifies that commit: its root, every run the
//! commit wrote (found from the root by following only references with a
//! txn newer than the slot's previous durable txn, see `crate::written`),
//! whose pages must verify and together reproduce the slot's written
//! digest, and its free list. If the newest commit fails, it was torn by a
//! crash before its one fsync (or damaged after it, which looks the same):
//! the other slot is opened and the fall-back noted (`torn_commit_fell_back`).
//! That is all it reads: open time depends on the size of the last commit,
//! not on the size of the file, and a clean open walks nothing else.

use std::io;
use std::path::Path;
use std::sync::Arc;

use kv_core::{CheckReport, CorruptionKind, Damage, Error, File, OpenMode, Result};

use crate::commit_slot::{CommitSlot, SLOT_PAGES};
use crate::freelist;
use crate::page::{open_run, Kind, RunRef, PAGE_BYTES};
use crate::pager::Pager;
use crate::written::{digest_on_disk, written_runs};

/// The commit open settled on.
#[derive(Debug)]
pub(crate) struct Recovered {
    /// The chosen slot's contents.
    pub slot: CommitSlot,
    /// Which slot (0 or 1) holds it.
    pub slot_index: u64,
    /// Its free extents.
    pub free: Vec<(u64, u64)>,
    /// True when the file held no commit yet (a new store).
    pub fresh: bool,
    /// Damage found (kept only under `OpenMode::Verify`).
    pub damage: Vec<Damage>,
    /// Things worth knowing (a torn slot that was passed over).
    pub notes: Vec<String>,
    /// True when the newest whole slot's commit failed to verify and the
    /// previous one was opened (a torn one-fsync commit).
    pub torn_fell_back: bool,
}

/// The slots a new store starts with: an empty tree at txn 1 in slot 0,
/// and an older empty tree in slot 1.
pub(crate) fn initial_slots() -> (CommitSlot, CommitSlot) {
    let first = CommitSlot {
        txn: 1,
        page_count: SLOT_PAGES,
        // Not clean: a crash while the two slots are first written may
        // tear the other one.
        clean: false,
        ..CommitSlot::default()
    };
    let older = CommitSlot { txn: 0, ..first };
    (first, older)
}

/// Writes and syncs the two initial slots.
///
/// # Errors
/// I/O failures.
pub(crate) fn init_file(file: &dyn File) -> Result<()> {
    let (a, b) = initial_slots();
    let mut bytes = a.encode();
    bytes.extend_from_slice(&b.encode());
    file.truncate(0)?;
    file.write_at(&bytes, 0)?;
    file.sync()?;
    Ok(())
}

/// Reads and decodes a free-list run.
pub(crate) fn read_free_list(
    pager: &Pager,
    run: RunRef,
    page_count: u64,
) -> Result<Vec<(u64, u64)>> {
    let buf = pager.read_run(run)?;
    let (kind, body) = open_run(&buf, run, pager.path())?;
    let bad = |what: String| {
        Error::corruption(pager.path(), run.offset(), CorruptionKind::Invariant(what))
    };
    if kind != Kind::FreeList {
        return Err(bad(format!("a {kind:?} run where the free list should be")));
    }
    freelist::decode(&body, SLOT_PAGES, page_count).map_err(bad)
}

/// Verifies the commit in `slot`: its root, every run it wrote (each
/// page's checksum, number and txn, and together the slot's written
/// digest) and its free list; returns the free extents.
fn verify_commit(pager: &Pager, slot: &CommitSlot) -> Result<Vec<(u64, u64)>> {
    if let Some(root) = slot.root.filter(|r| r.txn <= slot.prev_txn) {
        pager.load_node_from_disk(root)?;
    }
    let runs = written_runs(pager, slot.root, slot.free_list, slot.prev_txn, true)?;
    let got = digest_on_disk(pager, &runs)?;
    if got != slot.digest {
        return Err(Error::corruption(
            pager.path(),
            0,
            CorruptionKind::Mismatch(format!(
                "txn {}: the {} runs it wrote have digest {got:#010x}, its slot says {:#010x}",
                slot.txn,
                runs.len(),
                slot.digest
            )),
        ));
    }
    match slot.free_list {
        Some(run) => read_free_list(pager, run, slot.page_count),
        None => Ok(Vec::new()),
    }
}

fn read_slots(
    pager: &Pager,
    len: u64,
    notes: &mut Vec<String>,
    bad_slots: &mut Vec<Error>,
) -> Result<Vec<(u64, CommitSlot)>> {
    let mut slots = Vec::new();
    for index in 0..SLOT_PAGES {
        if len < (index + 1) * PAGE_BYTES as u64 {
            continue;
        }
        let mut page = vec![0; PAGE_BYTES];
        pager
            .file()
            .read_exact_at(&mut page, index * PAGE_BYTES as u64)?;
        match CommitSlot::decode(&page, index, pager.path()) {
            Ok(slot) => slots.push((index, slot)),
            // A whole slot of another format version (its checksum held):
            // a file this build does not read, never a torn slot.
            Err(
                e @ Error::Corruption {
                    kind: CorruptionKind::BadVersion { .. },
                    ..
                },
            ) => return Err(e),
            Err(e) if e.is_corruption() => {
                notes.push(format!(
                    "commit slot {index} is not valid ({e}); the other slot is used"
                ));
                bad_slots.push(e);
            }
            Err(e) => return Err(e),
        }
    }
    slots.sort_by_key(|(_, s)| std::cmp::Reverse(s.txn));
    Ok(slots)
}

/// Picks and verifies the commit to open (see the module docs).
///
/// # Errors
/// I/O failures; `Corruption` when the newest valid commit fails to verify
/// or no slot is valid in a file that held commits (under `Verify` these
/// are recorded and the store opens with what could be read).
pub(crate) fn recover(pager: &Pager, mode: OpenMode) -> Result<Recovered> {
    let len = pager.file().len()?;
    let mut notes = Vec::new();
    let mut bad_slots = Vec::new();
    let slots = read_slots(pager, len, &mut notes, &mut bad_slots)?;
    let mut report = CheckReport::default();
    if mode == OpenMode::Verify && !slots.is_empty() {
        // A torn slot and a damaged one look alike: Verify lists both.
        for e in bad_slots {
            report.record(e)?;
        }
    }
    let mut torn_fell_back = false;
    for (n, (index, slot)) in slots.iter().enumerate() {
        match verify_commit(pager, slot) {
            Ok(free) => {
                return Ok(Recovered {
                    slot: *slot,
                    slot_index: *index,
                    free,
                    fresh: false,
                    damage: report.damage,
                    notes,
                    torn_fell_back,
                })
            }
            Err(e) if n == 0 && slots.len() > 1 && e.is_corruption() => {
                // Its one fsync never returned (or its pages were damaged
                // after it did: the two look alike): the previous commit.
                notes.push(format!(
                    "torn_commit_fell_back: the newest commit (txn {}, slot {index}) does not verify ({e}); \
                     it was torn by a crash before its fsync, so the previous commit (txn {}) is opened",
                    slot.txn, slots[1].1.txn
                ));
                torn_fell_back = true;
                if mode == OpenMode::Verify {
                    // Torn and damaged look alike: Verify lists it.
                    report.record(e)?;
                }
            }
            Err(e) if mode == OpenMode::Verify => report.record(e)?,
            Err(e) => return Err(e),
        }
    }
    if slots.is_empty() && len <= SLOT_PAGES * PAGE_BYTES as u64 {
        let (slot, _) = initial_slots();
        return Ok(Recovered {
            slot,
            slot_index: 0,
            free: Vec::new(),
            fresh: true,
            damage: Vec::new(),
            notes,
            torn_fell_back,
        });
    }
    let err = Error::corruption(
        pager.path(),
        0,
        CorruptionKind::Invariant("no commit slot holds a valid commit".into()),
    );
    if mode != OpenMode::Verify {
        return Err(err);
    }
    report.record(err)?;
    let (mut slot, _) = initial_slots();
    slot.page_count = (len / PAGE_BYTES as u64).max(SLOT_PAGES);
    slot.txn = slots.first().map_or(1, |(_, s)| s.txn + 1);
    Ok(Recovered {
        slot,
        slot_index: 0,
        free: Vec::new(),
        fresh: false,
        damage: report.damage,
        notes,
        torn_fell_back,
    })
}

/// Opens (or creates, when writable) the store file.
///
/// # Errors
/// I/O failures; `Corruption` (`MissingFile`) for a read-only open of a
/// store whose file is missing.
pub(crate) fn open_file(
    fs: &dyn kv_core::Fs,
    dir: &Path,
    path: &Path,
    read_only: bool,
) -> Result<(Arc<dyn File>, bool)> {
    let opened = if read_only {
        fs.open_read(path)
    } else {
        fs.open(path)
    };
    match opened {
        Ok(file) => Ok((file, false)),
        Err(e) if e.kind() == io::ErrorKind::NotFound && !read_only => {
            let file = fs.create(path)?;
            fs.sync_dir(dir)?;
            Ok((file, true))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::corruption(
            path,
            0,
            CorruptionKind::MissingFile(format!("{} (the store's page file)", path.display())),
        )),
        Err(e) => Err(Error::Io(e)),
    }
}
