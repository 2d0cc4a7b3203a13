//! Merge: rewrite the live records of immutable data files into new data
//! and hint files, then drop the old files. Reads and writes go on
//! meanwhile; only one merge runs at a time.
//!
//! # Protocol (see `docs/bitcask.md` for what a crash at each step leaves)
//!
//! 1. Plan (writer lock held briefly): pick the input files, never the
//!    active one (`compact` first rolls the active file over if it holds
//!    dead bytes); note `survivors_min_seq`, the lowest sequence number of
//!    any file that is not an input.
//! 2. Rewrite: scan each input (every CRC checked). A put is copied
//!    verbatim if the keydir still points at it. An expired TTL put is
//!    dropped, or turned into a tombstone with its sequence number when some
//!    surviving file might hold an older put of the key. A tombstone is
//!    dropped if a newer put of its key exists or if no surviving file can
//!    hold an older record (`seq < survivors_min_seq`); otherwise copied.
//!    Output goes to `*.data.tmp` and `*.hint.tmp`, each synced when done.
//! 3. Commit: rename the outputs into place, sync the directory, sync the
//!    active file (every record that made a dropped one obsolete is then
//!    durable), and write the merge commit record naming the inputs
//!    ([`crate::merge_commit`]), durably.
//! 4. Switch: add the outputs to the file table, then move every copied
//!    key whose entry still points at the record copied (the same stored
//!    sequence number), walking the outputs' hint entries one key at a
//!    time, each under its leaf's write lock; then drop the inputs from the
//!    file table. The hint entries are the only list
//!    of copied keys a merge keeps in memory.
//! 5. Delete the inputs (hint, then data), sync the directory, remove the
//!    commit record. A crash in between leaves the record, and open
//!    finishes the deletion before loading anything.
//!
//! A failure before step 3 removes the temporaries and leaves the store as
//! it was. A failure from step 3 on poisons the store: the directory may
//! then hold files the in-memory state does not know of, and only a reopen
//! accounts for them (the tombstone rule above relies on knowing every file).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use kv_core::codec::{encode_delete, RecordKind};
use kv_core::{Fs, Result};

use crate::data_file::{data_file_name, hint_file_name, DataFile};
use crate::entry_list::EntryList;
use crate::keydir::Entry;
use crate::lock_hold::Holder;
use crate::log::Log;
use crate::log_scan::{scan_log, LogRange};
use crate::merge_commit::{remove_inputs, remove_merge_commit, write_merge_commit};
use crate::merge_health::MergeHealth;
use crate::merge_output::{Output, Outputs};
use crate::options::{BitcaskOptions, MergePolicy};
use crate::shared_state::SharedState;
use crate::state::{Accounting, FileInfo};
use crate::stats::EngineCounters;
use crate::store_dir::StoreDir;
use crate::ttl::split_expiry;

/// Which files a merge takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selection {
    /// Every immutable file (`Store::compact`).
    All,
    /// The files the [`MergePolicy`] picks, if it is triggered.
    Auto,
}

#[derive(Debug)]
struct Input {
    id: u32,
    handle: Arc<DataFile>,
    total_bytes: u64,
    hint_bytes: u64,
}

#[derive(Debug)]
struct Plan {
    inputs: Vec<Input>,
    survivors_min_seq: u64,
    now_unix_ms: u64,
}

/// Keys to change in the keydir once the outputs are committed, besides
/// the copied puts (which the outputs' hint entries list: the switch reads
/// them there, so a merge holds one list of the keys it copies, not two).
#[derive(Debug, Default)]
struct Moves {
    /// Expired puts to remove, at their old location.
    expired: EntryList,
}

/// Runs merges (see the module docs): one at a time, under its lock,
/// reading the keydir and file table in `state`, writing its outputs in
/// `dir`, and using the write path (`&Log`, passed to each call) to roll
/// the active file over, sync it, record the file set and poison the store.
/// Lock order: the merge lock, then the writer lock, then the state lock.
#[derive(Debug)]
pub(crate) struct Merger {
    /// Serializes merges (and `check`, which must not race one).
    lock: Mutex<()>,
    /// What failed merges left for `check()`, and the automatic back-off.
    health: MergeHealth,
    options: BitcaskOptions,
    dir: Arc<StoreDir>,
    state: Arc<SharedState>,
    counters: Arc<EngineCounters>,
}

impl Merger {
    /// A merger of the store in `dir` whose state is `state`.
    pub fn new(
        options: BitcaskOptions,
        dir: Arc<StoreDir>,
        state: Arc<SharedState>,
        counters: Arc<EngineCounters>,
    ) -> Self {
        Self {
            lock: Mutex::new(()),
            health: MergeHealth::default(),
            options,
            dir,
            state,
            counters,
        }
    }

    /// The merge lock: no merge runs while it is held (`check` takes it).
    pub(crate) fn lock(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What failed merges left (damage, I/O failures) and the back-off.
    pub(crate) fn health(&self) -> &MergeHealth {
        &self.health
    }

    /// Merges every immutable file (after rolling the active file over if it
    /// holds dead bytes).
    ///
    /// # Errors
    /// I/O or corruption in an input (nothing changed); a failure while
    /// committing poisons the store.
    pub(crate) fn compact(&self, log: &Log) -> Result<()> {
        self.run(log, Selection::All).map(|_| ())
    }

    /// Merges the files the policy picks, if a trigger is met; returns true if
    /// a merge ran.
    ///
    /// # Errors
    /// As [`Merger::compact`].
    pub(crate) fn auto_merge(&self, log: &Log) -> Result<bool> {
        self.run(log, Selection::Auto)
    }

    /// Runs a merge; a failure is counted in `merge_failures` (every failed
    /// merge, asked for or automatic).
    fn run(&self, log: &Log, selection: Selection) -> Result<bool> {
        if self.options.core.open_mode.is_read_only() {
            return Err(kv_core::Error::ReadOnly);
        }
        if selection == Selection::Auto && !self.health.may_try() {
            return Ok(false); // backing off after a failure
        }
        let ran = self.run_once(log, selection);
        match &ran {
            Ok(true) => self.health.succeeded(),
            Ok(false) => {}
            Err(e) => {
                self.counters.add_merge_failure();
                self.health.failed(e);
            }
        }
        ran
    }

    fn run_once(&self, log: &Log, selection: Selection) -> Result<bool> {
        let _merging = self.lock();
        let Some(plan) = self.plan(log, selection)? else {
            return Ok(false);
        };
        let mut outputs = Outputs::new(
            &self.dir,
            self.options.max_file_bytes,
            self.options.write_buffer_bytes,
        );
        let mut moves = Moves::default();
        let written = self.rewrite_all(&plan, &mut outputs, &mut moves);
        if let Err(e) = written {
            outputs.discard();
            return Err(e);
        }
        self.install_outputs(log, &plan, &outputs.done, &moves)?;
        Ok(true)
    }

    fn plan(&self, log: &Log, selection: Selection) -> Result<Option<Plan>> {
        let mut w = log.lock_writer();
        w.check_usable()?;
        if selection == Selection::All && w.has_records() {
            let active_dead = self
                .state
                .accounting()
                .files
                .get(&w.active.id)
                .map_or(0, FileInfo::dead_bytes);
            if active_dead > 0 {
                log.rollover(&mut w)?;
            }
        }
        let st = self.state.accounting();
        let active = w.active.id;
        let ids: Vec<u32> = match selection {
            Selection::All => st
                .files
                .keys()
                .copied()
                .filter(|id| *id != active)
                .collect(),
            Selection::Auto => auto_inputs(&st, active, &self.options.merge),
        };
        if ids.is_empty() {
            return Ok(None);
        }
        let survivors_min_seq = st
            .files
            .iter()
            .filter(|(id, _)| !ids.contains(id))
            .map(|(_, f)| f.min_seq)
            .min()
            .unwrap_or(u64::MAX);
        let inputs = ids
            .iter()
            .filter_map(|id| {
                st.files.get(id).map(|f| Input {
                    id: *id,
                    handle: Arc::clone(&f.handle),
                    total_bytes: f.total_bytes,
                    hint_bytes: f.hint_bytes,
                })
            })
            .collect();
        Ok(Some(Plan {
            inputs,
            survivors_min_seq,
            now_unix_ms: self.options.clock.now_unix_ms(),
        }))
    }

    fn rewrite_all(&self, plan: &Plan, outputs: &mut Outputs<'_>, moves: &mut Moves) -> Result<()> {
        for input in &plan.inputs {
            self.rewrite(plan, input, outputs, moves)?;
        }
        outputs.finish()
    }

    /// Copies what must survive of one input file.
    fn rewrite(
        &self,
        plan: &Plan,
        input: &Input,
        outputs: &mut Outputs<'_>,
        moves: &mut Moves,
    ) -> Result<()> {
        let header = input.handle.header_len;
        let range = LogRange {
            path: &input.handle.path,
            file: &*input.handle.file,
            from: header,
            to: input.total_bytes.max(header),
        };
        let mut tombstone = Vec::new();
        // Strict, whatever `salvage` says: a merge that skipped damage would
        // delete the only copy of the damaged bytes with its inputs.
        scan_log(range, false, false, |offset, len, rec, bytes| {
            let old = Entry {
                file_id: input.id,
                offset: offset as u32,
                len,
                stored_seq: rec.seq,
            };
            let current = self.state.entry(rec.key);
            // Could a surviving file hold an older record of this key?
            let older_may_survive = old.seq() >= plan.survivors_min_seq;
            match rec.kind {
                RecordKind::Put if current == Some(old) => {
                    let expired = old.has_ttl()
                        && split_expiry(rec.value).is_some_and(|(at, _)| at <= plan.now_unix_ms);
                    if !expired {
                        outputs.append(bytes, rec.key, false, rec.seq)?;
                        return Ok(());
                    }
                    if older_may_survive {
                        tombstone.clear();
                        encode_delete(&mut tombstone, old.seq(), rec.key);
                        outputs.append(&tombstone, rec.key, true, old.seq())?;
                    }
                    moves.expired.push(rec.key, false, old);
                }
                RecordKind::Delete => {
                    let superseded = current.is_some_and(|c| c.seq() > old.seq());
                    if !superseded && older_may_survive {
                        outputs.append(bytes, rec.key, true, rec.seq)?;
                    }
                }
                _ => {} // a dead put
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Steps 3 to 5 of the protocol: makes the sealed outputs part of the
    /// store (renamed into place, the directory and the active file synced, the
    /// merge commit record written), switches the keydir to them, deletes the
    /// inputs and records the file set without them.
    ///
    /// # Errors
    /// The I/O error of any step, after which the store is poisoned.
    fn install_outputs(
        &self,
        log: &Log,
        plan: &Plan,
        outputs: &[Output],
        moves: &Moves,
    ) -> Result<()> {
        let fs = self.dir.fs();
        let input_ids: Vec<u32> = plan.inputs.iter().map(|i| i.id).collect();
        let committed = (|| -> Result<()> {
            for o in outputs {
                fs.rename(&o.tmp_data, &self.dir.join(data_file_name(o.id)))?;
                fs.rename(&o.tmp_hint, &self.dir.join(hint_file_name(o.id)))?;
            }
            self.dir.sync()?;
            {
                let mut w = log.lock_writer();
                log.sync_locked(&mut w)?;
            }
            Ok(write_merge_commit(fs, self.dir.path(), &input_ids)?)
        })();
        if let Err(e) = committed {
            log.poison(format!("a merge failed while committing its output ({e})"));
            return Err(e);
        }
        self.switch(plan, outputs, moves);
        // The file set stops listing the inputs (and lists the outputs) before
        // the commit record that excuses their absence goes.
        let removed = remove_inputs(fs, self.dir.path(), &input_ids)
            .and_then(|()| log.record_file_set(&log.lock_writer()))
            .and_then(|()| remove_merge_commit(fs, self.dir.path()));
        if let Err(e) = removed {
            log.poison(format!("a merge failed while deleting its input ({e})"));
            return Err(e.into());
        }
        let written: u64 = outputs.iter().map(|o| o.len + o.hint_bytes).sum();
        let before: u64 = plan
            .inputs
            .iter()
            .map(|i| i.total_bytes + i.hint_bytes)
            .sum();
        self.counters
            .add_merge(written, before.saturating_sub(written));
        Ok(())
    }

    /// Step 4: points the keydir at the committed outputs, one key at a
    /// time under that key's leaf lock (each hold excludes only the readers
    /// of one leaf), each key moved only if it still points at the record
    /// copied. Every key is consistent on its own throughout: it points at
    /// an input (still in the file table and on disk until step 5) or at an
    /// output (added first); a key written meanwhile keeps its newer entry.
    /// The inputs leave the file table only after every key was visited.
    fn switch(&self, plan: &Plan, outputs: &[Output], moves: &Moves) {
        // Summarized before any lock is taken: that reads every hint entry.
        let infos: Vec<FileInfo> = outputs
            .iter()
            .map(|o| {
                let path = self.dir.join(data_file_name(o.id));
                let handle = Arc::new(DataFile::new(o.id, path, Arc::clone(&o.file), o.len));
                let bounds = (o.min_seq, o.max_seq);
                FileInfo::summarized(handle, o.len, bounds, o.records, o.hint_bytes, &o.hint)
            })
            .collect();
        self.state.add_files(Holder::MergeSwitch, infos);
        for o in outputs {
            for (key, tombstone, copy) in o.hint.iter() {
                if !tombstone {
                    self.state.switch_to_copy(key, copy);
                }
            }
        }
        for (key, _, old) in moves.expired.iter() {
            self.state.remove_if_unchanged(key, old);
        }
        let input_ids: Vec<u32> = plan.inputs.iter().map(|i| i.id).collect();
        let removed = self.state.remove_files(Holder::MergeSwitch, &input_ids);
        // Dropped with the lock released: the last handle of a file closes it.
        drop(removed);
    }
}

/// Bytes a merge of `f` alone would surely reclaim: its dead bytes, minus
/// its tombstones when an older file might still need them.
fn reclaimable(st: &Accounting, id: u32, f: &FileInfo) -> u64 {
    let pinned = st
        .files
        .iter()
        .any(|(other, g)| *other != id && g.min_seq < f.tombstone_max_seq);
    if pinned {
        f.dead_bytes().saturating_sub(f.tombstone_bytes)
    } else {
        f.dead_bytes()
    }
}

/// The inputs of an automatic merge: none unless some immutable file meets
/// a trigger; then every immutable file that meets a threshold.
fn auto_inputs(st: &Accounting, active: u32, policy: &MergePolicy) -> Vec<u32> {
    let meets = |id: u32, f: &FileInfo, percent: u32, bytes: u64| {
        let dead = reclaimable(st, id, f);
        let payload = f
            .total_bytes
            .saturating_sub(crate::data_file::DATA_HEADER_BYTES);
        dead > 0 && (dead * 100 >= u64::from(percent) * payload || dead >= bytes)
    };
    let immutable = || st.files.iter().filter(|(id, _)| **id != active);
    let triggered = immutable().any(|(id, f)| {
        meets(
            *id,
            f,
            policy.trigger_dead_percent,
            policy.trigger_dead_bytes,
        )
    });
    if !triggered {
        return Vec::new();
    }
    immutable()
        .filter(|(id, f)| {
            meets(
                **id,
                f,
                policy.threshold_dead_percent,
                policy.threshold_dead_bytes,
            ) || f.total_bytes < policy.small_file_bytes
        })
        .map(|(id, _)| *id)
        .collect()
}
