//! Open: everything between claiming the directory and the first write, in
//! the order it happens, one file per step. Each step is safe to crash in;
//! open is idempotent. Nothing on disk changes before every file has been
//! judged (step 5), so an open that reports damage leaves every byte as it
//! found it. [`recover`] runs the steps top-down (`docs/bitcask.md`,
//! section 7, numbers them 2-8: its step 1 is claiming the directory, in
//! `Bitcask::open`):
//!
//! 1. **What is there** ([`listing`]). A merge that committed
//!    (`MERGE_COMMIT`) but did not finish deleting its inputs has them
//!    deleted (read-write) or left out (read-only). The directory is
//!    listed: data files, hints, and leftovers (`*.tmp`).
//! 2. **Load** every data file ([`load`]): header (with the file id it
//!    names), hint, and a scan of what the hint does not cover
//!    ([`crate::log_scan`], with [`crate::salvage`]'s rule if asked).
//! 3. **Judge the file set** ([`judge`]) against the store's record of it
//!    ([`crate::file_set`]): every listed file is there, every sealed one
//!    exactly as long as when it was sealed, every hint has its data file,
//!    and no file that ever held records is empty. Files with no record
//!    are a torn creation (removed), or moved to `quarantine/`.
//! 4. **Settle the tails** ([`tails`]): the active file (the one the file
//!    set names, or for a store from before it, the one the contents say,
//!    see [`torn_tail`]) may end in a torn write, which is truncated; a bad
//!    tail anywhere else is damage.
//! 5. **Act** ([`act`], read-write only): remove leftovers and torn
//!    creations, move quarantined files, truncate torn tails.
//! 6. **Rebuild the keydir** ([`rebuild`]) from the newest record per key
//!    of every file ([`resolve`]: sequence numbers decide, not file ids).
//! 7. **Settle on disk** ([`settle`], read-write only): reuse or create the
//!    active file, rebuild missing hints, sync, and write the file set (and
//!    the store marker's format, for a store upgraded from format 2). A
//!    read-only open gets a writer that never writes ([`read_only`]).

mod act;
mod judge;
mod listing;
pub(crate) mod load;
mod read_only;
mod rebuild;
pub mod resolve;
mod settle;
mod tails;
pub mod torn_tail;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use kv_core::{CountingFs, Damage, Fs, Result};

use load::{Findings, Rules};

use crate::options::BitcaskOptions;
use crate::state::State;
use crate::stats::EngineCounters;
use crate::writer::Writer;

/// What open rebuilt.
#[derive(Debug)]
pub(crate) struct Recovered {
    pub state: State,
    pub writer: Writer,
    /// The next data file id to hand out (a `u64`, so it cannot wrap; ids
    /// past `u32::MAX` are refused when taken).
    pub next_file_id: u64,
    pub notes: Vec<String>,
    /// Damage a `Verify` open recorded instead of failing.
    pub damage: Vec<Damage>,
    /// Files a read-only open shortened in memory only: their disk length.
    pub disk_lengths: BTreeMap<u32, u64>,
}

/// One open's context: where, under which rules, and what it found so far
/// (notes and, under `Verify`, damage). Each step is a method of it, in
/// the file of that step.
struct Recovery<'a> {
    fs: &'a Arc<CountingFs>,
    dir: &'a Path,
    options: &'a BitcaskOptions,
    rules: Rules,
    counters: &'a EngineCounters,
    found: Findings,
}

/// Rebuilds the store's state from the directory (see the module docs).
/// `marker_version` is the store format of the directory's `KVLAB` marker
/// (0 for a store from before markers).
///
/// # Errors
/// `Corruption` naming the damaged file (recorded instead under `Verify`);
/// I/O errors.
pub(crate) fn recover(
    fs: &Arc<CountingFs>,
    dir: &Path,
    options: &BitcaskOptions,
    counters: &EngineCounters,
    marker_version: u32,
) -> Result<Recovered> {
    let mut r = Recovery {
        fs,
        dir,
        options,
        rules: Rules::of(options),
        counters,
        found: Findings::default(),
    };
    // 1. What is there.
    let retired = r.pending_merge()?;
    let listing = r.list_dir(&retired)?;
    // 2. Load.
    let mut files = r.load_files(&listing)?;
    // 3. Judge the file set.
    let set = r.file_set(&listing, &files, marker_version)?;
    r.judge_missing(&listing, &retired, set.as_ref())?;
    r.judge_sealed_lengths(&files, set.as_ref())?;
    let fates = r.fates(&files, set.as_ref())?;
    // 4. Settle the tails.
    let active = tails::active_at_crash(&files, &fates, set.as_ref());
    let mut disk_lengths = BTreeMap::new();
    let truncations = r.settle_tails(&mut files, &fates, active, &mut disk_lengths)?;
    // 5. Act.
    if !r.rules.read_only {
        r.act(&listing, &files, &fates, &truncations)?;
    }
    let (mut files, empty_active) = judge::kept_files(files, &fates, active);
    // 6. Rebuild the keydir.
    let (mut state, next_seq) = r.rebuild_state(&mut files)?;
    let next_file_id = listing.next_file_id(set.as_ref());
    // 7. Settle on disk.
    let (writer, next_file_id) = if r.rules.read_only {
        (settle::read_only_writer(dir, next_seq), next_file_id)
    } else {
        let ids = (next_seq, next_file_id);
        let (w, next) = r.settle_on_disk(&files, empty_active.as_ref(), &mut state, ids)?;
        r.record_file_set(&state, &w, next, set.as_ref(), marker_version, &retired)?;
        (w, next)
    };
    Ok(Recovered {
        state,
        writer,
        next_file_id,
        notes: r.found.notes,
        damage: r.found.damage,
        disk_lengths,
    })
}

impl<'a> Recovery<'a> {
    fn fs(&self) -> &'a dyn Fs {
        &**self.fs
    }
}
