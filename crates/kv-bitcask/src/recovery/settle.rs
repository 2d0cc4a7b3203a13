//! Step 7 of open (read-write only): the active file reused or created,
//! missing hints rebuilt, everything recovered made durable, and the file
//! set recorded as this open leaves it (and the store marker's format, for
//! a store upgraded from format 2). A read-only open gets a writer that
//! never writes instead.

use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use kv_core::codec::{frontier_at_end, FrontierTracker, HEADER_BYTES};
use kv_core::fs::write_file_atomic;
use kv_core::identity::IDENTITY_FILE_NAME;
use kv_core::{Fs, Result, StoreIdentity};

use super::load::LoadedFile;
use super::read_only::NoFile;
use super::Recovery;
use crate::data_file::{
    create_new_file, data_file_name, file_ids_exhausted, hint_file_name, DataFile,
    DATA_FORMAT_VERSION, ENGINE_NAME, STORE_FORMAT_VERSION,
};
use crate::file_set::{write_file_set, FileSet};
use crate::hint::{encode_hint, Hint};
use crate::merge_commit::remove_merge_commit;
use crate::state::{FileInfo, State};
use crate::stats::EngineCounters;
use crate::writer::Writer;

impl Recovery<'_> {
    /// Read-write only: picks or creates the active file, rebuilds missing
    /// hints, and makes everything recovered durable. Returns the writer
    /// and the next file id.
    pub(super) fn settle_on_disk(
        &mut self,
        loaded: &[LoadedFile],
        empty_active: Option<&LoadedFile>,
        state: &mut State,
        (next_seq, mut next_file_id): (u64, u64),
    ) -> Result<(Writer, u64)> {
        let fs = self.fs;
        let reused = match empty_active {
            Some(f) => Some(f),
            None => pick_active(loaded, self.options.max_file_bytes).map(|i| &loaded[i]),
        };
        let mut writer = match reused {
            Some(f) => {
                state
                    .files
                    .entry(f.handle.id)
                    .or_insert_with(|| FileInfo::new(Arc::clone(&f.handle), f.len));
                reused_writer(f, next_seq)?
            }
            None => {
                let id = u32::try_from(next_file_id).map_err(|_| file_ids_exhausted())?;
                next_file_id += 1;
                let path = self.dir.join(data_file_name(id));
                let file = create_new_file(&**fs, &path)?;
                let handle = Arc::new(DataFile::new(id, path, file, 0));
                let mut w = Writer::with_new_file(Arc::clone(&handle), next_seq);
                // Its header is durable before the file set lists it.
                w.make_header_durable()?;
                state
                    .files
                    .insert(id, FileInfo::new(handle, w.logical_len()));
                w
            }
        };
        let o = self.options;
        writer.set_preallocation(o.preallocation_step_bytes(), o.max_file_bytes);
        let active_id = writer.active.id;
        for f in loaded
            .iter()
            .filter(|f| f.handle.id != active_id && f.hint_covers != f.len)
        {
            rebuild_hint(&**fs, self.dir, f, state, self.counters);
        }
        // Everything recovered is durable before the first write: the
        // reused file's bytes (a killed process may have left them
        // unsynced), then every name this open created or removed.
        if reused.is_some() {
            writer.active.file.sync()?;
        }
        fs.sync_dir(self.dir)?;
        writer.dir_unsynced = false;
        Ok((writer, next_file_id))
    }

    /// Read-write only, last: records the file set as this open leaves it
    /// (if it changed), then removes a finished merge's commit record and,
    /// for a store upgraded from an earlier format, rewrites its marker.
    pub(super) fn record_file_set(
        &mut self,
        state: &State,
        writer: &Writer,
        next_file_id: u64,
        found: Option<&FileSet>,
        marker_version: u32,
        retired: &[u32],
    ) -> Result<()> {
        let now = FileSet::of(&state.files, writer.active.id, next_file_id);
        if found != Some(&now) {
            write_file_set(self.fs(), self.dir, &now)?;
        }
        if !retired.is_empty() {
            remove_merge_commit(self.fs(), self.dir)?;
        }
        if marker_version < STORE_FORMAT_VERSION {
            let marker = StoreIdentity::new(ENGINE_NAME, STORE_FORMAT_VERSION);
            write_file_atomic(self.fs(), self.dir, IDENTITY_FILE_NAME, &marker.encode())?;
        }
        Ok(())
    }
}

/// The writer of a read-only store: it never writes (every write is refused
/// with `ReadOnly` before it reaches the writer), so its active file is an
/// empty placeholder that is not in the file table.
pub(super) fn read_only_writer(dir: &Path, next_seq: u64) -> Writer {
    let handle = DataFile::new(
        u32::MAX,
        dir.join("(no active file: opened read-only)"),
        Arc::new(NoFile),
        0,
    );
    Writer::new(Arc::new(handle), 0, next_seq)
}

/// A writer appending to the reused active file `f`.
fn reused_writer(f: &LoadedFile, next_seq: u64) -> Result<Writer> {
    let mut w = Writer::new(Arc::clone(&f.handle), f.len, next_seq);
    w.frontier = resumed_frontier(&*f.handle.file, f.len, f.handle.header_len)?;
    w.min_seq = f.min_seq;
    w.max_seq = f.max_seq;
    w.records = f.records;
    w.hint_covers = f.hint_covers;
    for (key, tombstone, entry) in f.run.iter().filter(|(_, t, _)| *t) {
        w.tombstones.push(key, tombstone, entry);
    }
    Ok(w)
}

/// The index of the file to keep appending to: the one with the newest
/// records, if all of its records are newer than any other file's (so the
/// active file keeps holding only the newest data, which merge's tombstone
/// rule relies on), it is of the current format, and it has room.
pub(super) fn pick_active(loaded: &[LoadedFile], max_file_bytes: u64) -> Option<usize> {
    let (i, newest) = loaded
        .iter()
        .enumerate()
        .max_by_key(|(_, f)| (f.max_seq, f.handle.id))?;
    let older_max = loaded
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(_, f)| f.max_seq)
        .max()
        .unwrap_or(0);
    // An older-format file is never appended to: a format-1 file's readers
    // know no frontier records, a format-2 file names no id.
    let current_format = newest.version == DATA_FORMAT_VERSION;
    (current_format && newest.min_seq > older_max && newest.len < max_file_bytes).then_some(i)
}

/// The durable frontier of a reused active file (which open syncs whole): if
/// it ends with the frontier record a clean close wrote, nothing new is due
/// (so reopening and closing a store without writes adds no byte).
fn resumed_frontier(
    file: &dyn kv_core::File,
    len: u64,
    header_len: u64,
) -> Result<FrontierTracker> {
    let from = len.saturating_sub(HEADER_BYTES as u64).max(header_len);
    let mut tail = vec![0; len.saturating_sub(from) as usize];
    file.read_exact_at(&mut tail, from)?;
    let recorded = frontier_at_end(&tail, len).unwrap_or(0);
    Ok(FrontierTracker::resume(len, recorded))
}

/// Writes the hint of an immutable file that had none (best effort).
fn rebuild_hint(
    fs: &dyn Fs,
    dir: &Path,
    f: &LoadedFile,
    state: &mut State,
    counters: &EngineCounters,
) {
    let id = f.handle.id;
    // A hint must never describe bytes a crash could still take away.
    if f.handle.file.sync().is_err() {
        counters.add_hint_write_failure();
        return;
    }
    let hint = Hint {
        data_file_id: id,
        covered_len: f.len,
        min_seq: f.min_seq,
        max_seq: f.max_seq,
        records: f.records,
        entries: f.run.clone(),
    };
    let bytes = encode_hint(&hint);
    let path = dir.join(hint_file_name(id));
    match fs.create(&path).and_then(|file| file.append(&bytes)) {
        Ok(_) => {
            counters.hints_rebuilt.fetch_add(1, Relaxed);
            if let Some(info) = state.files.get_mut(&id) {
                info.hint_bytes = bytes.len() as u64;
            }
        }
        Err(_) => {
            counters.add_hint_write_failure();
            let _ = fs.remove(&path);
        }
    }
}
