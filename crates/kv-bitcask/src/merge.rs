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
//!    sequence number), walking the outputs' hint entries in chunks of
//!    [`SWITCH_CHUNK_KEYS`] per hold of the keydir's write lock; then drop
//!    the inputs from the file table. The hint entries are the only list
//!    of copied keys a merge keeps in memory.
//! 5. Delete the inputs (hint, then data), sync the directory, remove the
//!    commit record. A crash in between leaves the record, and open
//!    finishes the deletion before loading anything.
//!
//! A failure before step 3 removes the temporaries and leaves the store as
//! it was. A failure from step 3 on poisons the store: the directory may
//! then hold files the in-memory state does not know of, and only a reopen
//! accounts for them (the tombstone rule above relies on knowing every file).

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use kv_core::codec::{encode_delete, RecordKind};
use kv_core::{File, Fs, Result};

use crate::data_file::{data_file_header, data_file_name, hint_file_name, DataFile, TMP_SUFFIX};
use crate::entry_list::EntryList;
use crate::hint::{encode_hint, Hint};
use crate::keydir::Entry;
use crate::lock_hold::Holder;
use crate::log_scan::{scan_log, LogRange};
use crate::merge_commit::{remove_inputs, remove_merge_commit, write_merge_commit};
use crate::options::MergePolicy;
use crate::state::{FileInfo, State};
use crate::store::Inner;
use crate::ttl::split_expiry;

/// Which files a merge takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selection {
    /// Every immutable file (`Store::compact`).
    All,
    /// The files the [`MergePolicy`] picks, if it is triggered.
    Auto,
}

/// Merges every immutable file (after rolling the active file over if it
/// holds dead bytes).
///
/// # Errors
/// I/O or corruption in an input (nothing changed); a failure while
/// committing poisons the store.
pub(crate) fn compact(inner: &Inner) -> Result<()> {
    run(inner, Selection::All).map(|_| ())
}

/// Merges the files the policy picks, if a trigger is met; returns true if
/// a merge ran.
///
/// # Errors
/// As [`compact`].
pub(crate) fn auto_merge(inner: &Inner) -> Result<bool> {
    run(inner, Selection::Auto)
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

/// Runs a merge; a failure is counted in `merge_failures` (every failed
/// merge, asked for or automatic).
fn run(inner: &Inner, selection: Selection) -> Result<bool> {
    if inner.options.core.open_mode.is_read_only() {
        return Err(kv_core::Error::ReadOnly);
    }
    if selection == Selection::Auto && !inner.merge_health.may_try() {
        return Ok(false); // backing off after a failure
    }
    let ran = run_once(inner, selection);
    match &ran {
        Ok(true) => inner.merge_health.succeeded(),
        Ok(false) => {}
        Err(e) => {
            inner.counters.add_merge_failure();
            inner.merge_health.failed(e);
        }
    }
    ran
}

fn run_once(inner: &Inner, selection: Selection) -> Result<bool> {
    let _merging = inner.lock_merge();
    let Some(plan) = plan(inner, selection)? else {
        return Ok(false);
    };
    let mut outputs = Outputs::new(inner);
    let mut moves = Moves::default();
    let written = rewrite_all(inner, &plan, &mut outputs, &mut moves);
    if let Err(e) = written {
        outputs.discard();
        return Err(e);
    }
    install_outputs(inner, &plan, &outputs.done, &moves)?;
    Ok(true)
}

fn plan(inner: &Inner, selection: Selection) -> Result<Option<Plan>> {
    let mut w = inner.lock_writer();
    w.check_usable()?;
    if selection == Selection::All && w.has_records() {
        let active_dead = inner
            .read_state()
            .files
            .get(&w.active.id)
            .map_or(0, FileInfo::dead_bytes);
        if active_dead > 0 {
            inner.rollover(&mut w)?;
        }
    }
    let st = inner.read_state();
    let active = w.active.id;
    let ids: Vec<u32> = match selection {
        Selection::All => st
            .files
            .keys()
            .copied()
            .filter(|id| *id != active)
            .collect(),
        Selection::Auto => auto_inputs(&st, active, &inner.options.merge),
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
        now_unix_ms: inner.options.clock.now_unix_ms(),
    }))
}

/// Bytes a merge of `f` alone would surely reclaim: its dead bytes, minus
/// its tombstones when an older file might still need them.
fn reclaimable(st: &State, id: u32, f: &FileInfo) -> u64 {
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
fn auto_inputs(st: &State, active: u32, policy: &MergePolicy) -> Vec<u32> {
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

fn rewrite_all(
    inner: &Inner,
    plan: &Plan,
    outputs: &mut Outputs<'_>,
    moves: &mut Moves,
) -> Result<()> {
    for input in &plan.inputs {
        rewrite(inner, plan, input, outputs, moves)?;
    }
    outputs.finish()
}

/// Copies what must survive of one input file.
fn rewrite(
    inner: &Inner,
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
        let current = inner.read_state().keydir.get(rec.key);
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
fn install_outputs(inner: &Inner, plan: &Plan, outputs: &[Output], moves: &Moves) -> Result<()> {
    let fs = &inner.fs;
    let input_ids: Vec<u32> = plan.inputs.iter().map(|i| i.id).collect();
    let committed = (|| -> Result<()> {
        for o in outputs {
            fs.rename(&o.tmp_data, &inner.dir.join(data_file_name(o.id)))?;
            fs.rename(&o.tmp_hint, &inner.dir.join(hint_file_name(o.id)))?;
        }
        fs.sync_dir(&inner.dir)?;
        {
            let mut w = inner.lock_writer();
            inner.sync_locked(&mut w)?;
        }
        Ok(write_merge_commit(&**fs, &inner.dir, &input_ids)?)
    })();
    if let Err(e) = committed {
        inner.poison(format!("a merge failed while committing its output ({e})"));
        return Err(e);
    }
    switch(inner, plan, outputs, moves);
    // The file set stops listing the inputs (and lists the outputs) before
    // the commit record that excuses their absence goes.
    let removed = remove_inputs(&**fs, &inner.dir, &input_ids)
        .and_then(|()| inner.record_file_set(&inner.lock_writer()))
        .and_then(|()| remove_merge_commit(&**fs, &inner.dir));
    if let Err(e) = removed {
        inner.poison(format!("a merge failed while deleting its input ({e})"));
        return Err(e.into());
    }
    let written: u64 = outputs.iter().map(|o| o.len + o.hint_bytes).sum();
    let before: u64 = plan
        .inputs
        .iter()
        .map(|i| i.total_bytes + i.hint_bytes)
        .sum();
    inner
        .counters
        .add_merge(written, before.saturating_sub(written));
    Ok(())
}

/// Keys moved per hold of the keydir's write lock while a merge switches
/// the keydir to its output: readers and writers wait at most for this
/// many keydir updates (well under a millisecond), whatever the merge's
/// size.
pub const SWITCH_CHUNK_KEYS: usize = 1024;

/// Step 4: points the keydir at the committed outputs, in chunks of
/// [`SWITCH_CHUNK_KEYS`] keys per hold of the write lock. Between chunks
/// every key is consistent on its own: it points at an input (still in the
/// file table and on disk until step 5) or at an output (added first); a
/// key written meanwhile keeps its newer entry.
fn switch(inner: &Inner, plan: &Plan, outputs: &[Output], moves: &Moves) {
    // Summarized before the lock is taken: that reads every hint entry.
    let infos: Vec<FileInfo> = outputs
        .iter()
        .map(|o| {
            let path = inner.dir.join(data_file_name(o.id));
            let handle = Arc::new(DataFile::new(o.id, path, Arc::clone(&o.file), o.len));
            let bounds = (o.min_seq, o.max_seq);
            FileInfo::summarized(handle, o.len, bounds, o.records, o.hint_bytes, &o.hint)
        })
        .collect();
    {
        let mut st = inner.write_state(Holder::MergeSwitch);
        for info in infos {
            st.files.insert(info.handle.id, info);
        }
    }
    for o in outputs {
        for start in (0..o.hint.len()).step_by(SWITCH_CHUNK_KEYS) {
            let mut st = inner.write_state(Holder::MergeSwitch);
            for i in start..(start + SWITCH_CHUNK_KEYS).min(o.hint.len()) {
                let (key, tombstone, copy) = o.hint.get(i);
                if !tombstone {
                    st.switch_to_copy(key, copy);
                }
            }
        }
    }
    for start in (0..moves.expired.len()).step_by(SWITCH_CHUNK_KEYS) {
        let mut st = inner.write_state(Holder::MergeSwitch);
        for i in start..(start + SWITCH_CHUNK_KEYS).min(moves.expired.len()) {
            let (key, _, old) = moves.expired.get(i);
            st.remove_if_unchanged(key, old);
        }
    }
    let removed: Vec<FileInfo> = {
        let mut st = inner.write_state(Holder::MergeSwitch);
        plan.inputs
            .iter()
            .filter_map(|input| st.files.remove(&input.id))
            .collect()
    };
    // Dropped with the lock released: the last handle of a file closes it.
    drop(removed);
}

/// One output data file being written.
#[derive(Debug)]
struct Output {
    id: u32,
    tmp_data: PathBuf,
    tmp_hint: PathBuf,
    file: Arc<dyn File>,
    buffer: Vec<u8>,
    len: u64,
    hint: EntryList,
    min_seq: u64,
    max_seq: u64,
    /// Records appended.
    records: u64,
    hint_bytes: u64,
}

/// The output files of a merge, rolled at `max_file_bytes`.
struct Outputs<'a> {
    inner: &'a Inner,
    current: Option<Output>,
    done: Vec<Output>,
}

impl<'a> Outputs<'a> {
    fn new(inner: &'a Inner) -> Self {
        Self {
            inner,
            current: None,
            done: Vec::new(),
        }
    }

    /// Appends one encoded record; returns where it went.
    fn append(
        &mut self,
        record: &[u8],
        key: &[u8],
        tombstone: bool,
        stored_seq: u64,
    ) -> Result<Entry> {
        let full = self.current.as_ref().is_some_and(|o| {
            o.min_seq <= o.max_seq
                && o.len + record.len() as u64 > self.inner.options.max_file_bytes
        });
        if full {
            self.seal()?;
        }
        let mut o = match self.current.take() {
            Some(o) => o,
            None => self.create()?,
        };
        let entry = Entry {
            file_id: o.id,
            offset: o.len as u32,
            len: record.len() as u32,
            stored_seq,
        };
        o.buffer.extend_from_slice(record);
        o.len += record.len() as u64;
        o.hint.push(key, tombstone, entry);
        o.records += 1;
        o.min_seq = o.min_seq.min(entry.seq());
        o.max_seq = o.max_seq.max(entry.seq());
        let flush = o.buffer.len() >= self.inner.options.write_buffer_bytes;
        let result = if flush { flush_output(&mut o) } else { Ok(()) };
        self.current = Some(o);
        result?;
        Ok(entry)
    }

    fn create(&self) -> Result<Output> {
        let id = self.inner.allocate_file_id()?;
        let dir = &self.inner.dir;
        let fs = &*self.inner.fs;
        // The commit renames the output onto these names: they must be free.
        for name in [data_file_name(id), hint_file_name(id)] {
            let path = dir.join(&name);
            if fs.exists(&path)? {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "{} already exists where a merge was about to put its output; refusing to overwrite it",
                        path.display()
                    ),
                )
                .into());
            }
        }
        let tmp_data = dir.join(format!("{}{TMP_SUFFIX}", data_file_name(id)));
        let tmp_hint = dir.join(format!("{}{TMP_SUFFIX}", hint_file_name(id)));
        let file = fs.create(&tmp_data)?;
        Ok(Output {
            id,
            tmp_data,
            tmp_hint,
            file,
            buffer: data_file_header(id).to_vec(),
            len: crate::data_file::CURRENT_HEADER_BYTES,
            hint: EntryList::new(),
            min_seq: u64::MAX,
            max_seq: 0,
            records: 0,
            hint_bytes: 0,
        })
    }

    /// Finishes the current output: data flushed and synced, hint written
    /// and synced.
    fn seal(&mut self) -> Result<()> {
        let Some(mut o) = self.current.take() else {
            return Ok(());
        };
        let sealed = seal_output(&self.inner.fs, &mut o);
        self.done.push(o);
        sealed
    }

    fn finish(&mut self) -> Result<()> {
        self.seal()
    }

    /// Removes every temporary file (best effort: open removes leftovers).
    fn discard(&mut self) {
        self.done.extend(self.current.take());
        for o in &self.done {
            let _ = self.inner.fs.remove(&o.tmp_data);
            let _ = self.inner.fs.remove(&o.tmp_hint);
        }
    }
}

/// Flushes and syncs an output's data, then writes and syncs its hint.
fn seal_output(fs: &kv_core::CountingFs, o: &mut Output) -> Result<()> {
    flush_output(o)?;
    o.file.sync()?;
    o.hint.sort_and_keep_newest();
    let hint = Hint {
        data_file_id: o.id,
        covered_len: o.len,
        min_seq: o.min_seq,
        max_seq: o.max_seq,
        records: o.records,
        entries: std::mem::take(&mut o.hint),
    };
    let bytes = encode_hint(&hint);
    o.hint = hint.entries; // kept for the keydir switch and its tombstone accounting
    o.hint.shrink_to_fit();
    let hint_file = fs.create(&o.tmp_hint)?;
    hint_file.append(&bytes)?;
    hint_file.sync()?;
    o.hint_bytes = bytes.len() as u64;
    Ok(())
}

fn flush_output(o: &mut Output) -> Result<()> {
    if !o.buffer.is_empty() {
        o.file.append(&o.buffer)?;
        o.buffer.clear();
    }
    Ok(())
}
