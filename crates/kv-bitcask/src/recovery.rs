//! Open: list the directory, load every data file's hint or scan the data
//! file, truncate a torn tail, rebuild the keydir, pick the active file,
//! rebuild missing hints, and make all of it durable.
//!
//! Steps, in order (each is safe to crash in; open is idempotent):
//!
//! 1. Finish a committed merge's deletion of its inputs (see
//!    [`crate::merge_commit`]). Remove `*.tmp` (an unfinished merge's
//!    output: the merge had not committed, its inputs are intact) and hints
//!    whose data file is gone.
//! 2. For each data file: a file shorter than its header, or whose header
//!    is garbage with no valid record after it, holds no records and is all
//!    tail; otherwise check the header, then take the newest record per key
//!    from its hint (if the hint decodes, checksums, and covers at most the
//!    file's length) and scan the rest of the file (all of it without a
//!    usable hint) with every record's CRC checked. Damage with valid data
//!    after it is `Corruption` unless `salvage`.
//! 3. Settle the tails: only the file a crash may have torn (see
//!    [`crate::torn_tail`]) has its torn tail truncated (and synced); a bad
//!    tail anywhere else is `Corruption`, or with `salvage` truncated and
//!    reported as salvaged. Remove files with no records. A tail of that
//!    file that is all zero bytes is preallocated space the crash left (see
//!    `BitcaskOptions::preallocate_bytes`), not a torn write: it is
//!    truncated the same way but counted in
//!    `preallocated_bytes_trimmed_at_open`, not in `torn_bytes_truncated`.
//!    Zeros are only ever judged after the codec's reader has stopped (a
//!    valid record may end in zero bytes); a complete record never starts
//!    with eight zero bytes (its checksum and a length of at least 15), so
//!    a zero tail cannot hide one, and a torn write whose persisted part is
//!    all zeros is dropped either way.
//! 4. Resolve the newest record per key across files (sequence numbers
//!    decide, not file ids) and build the keydir from the sorted stream.
//! 5. Reuse the file holding the newest records as the active file if every
//!    record in it is newer than every record elsewhere and it has room;
//!    otherwise create a new one (never over an existing name).
//! 6. Write hints for immutable files that had no usable one.
//! 7. Make what was recovered durable: sync the reused active file, then
//!    the directory (removals, truncations' names, the new file). A state a
//!    reopen showed is never lost by a later crash, and the writer can start
//!    with nothing unsynced.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use kv_core::codec::{decode_file_header, decode_record, Decoded, RecordKind};
use kv_core::fs::read_file_if_exists;
use kv_core::{CorruptionKind, CountingFs, Error, Fs, Result};

use crate::data_file::{
    create_new_file, data_file_name, file_ids_exhausted, hint_file_name, parse_file_name, DataFile,
    FileName, DATA_FORMAT_VERSION, DATA_HEADER_BYTES, DATA_MAGIC,
};
use crate::entry_list::EntryList;
use crate::hint::{decode_hint, encode_hint, Hint};
use crate::keydir::{Entry, KeydirBuilder};
use crate::log_scan::scan_log;
use crate::merge_commit::finish_pending_merge;
use crate::options::BitcaskOptions;
use crate::resolve::resolve;
use crate::state::{payload_bytes, FileInfo, State};
use crate::stats::EngineCounters;
use crate::torn_tail::{may_be_torn, TailFacts};
use crate::ttl::plain_seq;
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
}

/// One data file as loaded.
struct LoadedFile {
    handle: Arc<DataFile>,
    len: u64,
    /// Newest record per key in this file, sorted.
    run: EntryList,
    min_seq: u64,
    max_seq: u64,
    records: u64,
    /// Length covered by a usable hint (0 if none).
    hint_covers: u64,
    hint_bytes: u64,
    /// A hint file of this data file exists (usable or not).
    has_hint_file: bool,
    /// Bytes after the last complete record, not acted on yet.
    bad_tail: Option<BadTail>,
}

/// Bytes at the end of a data file that hold no complete record: a torn
/// write, preallocated space, or damage.
#[derive(Debug, Clone, Copy)]
struct BadTail {
    /// Where they start (0 for a file whose header is bad too).
    valid_end: u64,
    /// How many there are.
    bytes: u64,
    /// Every one of them is zero: in the file a crash may have torn, this
    /// is preallocated space, not a torn write.
    zero_filled: bool,
}

impl BadTail {
    /// The tail `bytes` of a file, starting at `valid_end`.
    fn of(valid_end: u64, bytes: &[u8]) -> Self {
        Self {
            valid_end,
            bytes: bytes.len() as u64,
            zero_filled: bytes.iter().all(|&b| b == 0),
        }
    }
}

/// Rebuilds the store's state from the directory.
pub(crate) fn recover(
    fs: &Arc<CountingFs>,
    dir: &Path,
    options: &BitcaskOptions,
    counters: &EngineCounters,
) -> Result<Recovered> {
    finish_pending_merge(&**fs, dir)?;
    let mut data_ids = Vec::new();
    let mut hint_ids = BTreeSet::new();
    for name in fs.list(dir)? {
        match parse_file_name(&name) {
            FileName::Tmp => fs.remove(&dir.join(&name))?,
            FileName::Data(id) => data_ids.push(id),
            FileName::Hint(id) => {
                hint_ids.insert(id);
            }
            FileName::Other => {}
        }
    }
    for id in &hint_ids {
        if data_ids.binary_search(id).is_err() {
            fs.remove(&dir.join(hint_file_name(*id)))?;
        }
    }
    let mut notes = Vec::new();
    let mut loaded = Vec::new();
    for &id in &data_ids {
        let has_hint = hint_ids.contains(&id);
        loaded.push(load_file(
            &**fs,
            dir,
            id,
            has_hint,
            options.salvage,
            counters,
            &mut notes,
        )?);
    }
    settle_tails(&mut loaded, options.salvage, counters, &mut notes)?;
    let mut kept = Vec::with_capacity(loaded.len());
    for f in loaded {
        if f.min_seq <= f.max_seq {
            kept.push(f);
        } else {
            remove_file(&**fs, dir, &f)?; // no records
        }
    }
    let loaded = kept;
    let (keydir_state, files) = build_state(&loaded);
    let mut state = keydir_state;
    state.files = files;
    let newest_seq = loaded.iter().map(|f| f.max_seq).max().unwrap_or(0);
    let next_seq = newest_seq.checked_add(1).ok_or_else(|| {
        Error::corruption(
            dir,
            0,
            CorruptionKind::Invariant(format!("sequence number {newest_seq} has no successor")),
        )
    })?;
    // Hint ids count too: a hint whose removal a crash undid must never
    // describe a new data file.
    let mut next_file_id = data_ids
        .iter()
        .chain(&hint_ids)
        .max()
        .map_or(1, |id| u64::from(*id) + 1);
    let active = pick_active(&loaded, options.max_file_bytes);
    let mut writer = match active {
        Some(i) => {
            let f = &loaded[i];
            let mut w = Writer::new(Arc::clone(&f.handle), f.len, next_seq);
            w.min_seq = f.min_seq;
            w.max_seq = f.max_seq;
            w.records = f.records;
            w.hint_covers = f.hint_covers;
            for (key, tombstone, entry) in f.run.iter().filter(|(_, t, _)| *t) {
                w.tombstones.push(key, tombstone, entry);
            }
            w
        }
        None => {
            let id = u32::try_from(next_file_id).map_err(|_| file_ids_exhausted())?;
            next_file_id += 1;
            let path = dir.join(data_file_name(id));
            let file = create_new_file(&**fs, &path)?;
            let handle = Arc::new(DataFile::new(id, path, file, 0));
            let w = Writer::with_new_file(Arc::clone(&handle), next_seq);
            state
                .files
                .insert(id, FileInfo::new(handle, w.logical_len()));
            w
        }
    };
    writer.set_preallocation(options.preallocation_step_bytes(), options.max_file_bytes);
    let active_id = writer.active.id;
    for f in loaded
        .iter()
        .filter(|f| f.handle.id != active_id && f.hint_covers != f.len)
    {
        rebuild_hint(&**fs, dir, f, &mut state, counters);
    }
    // Everything recovered is durable before the first write: the reused
    // file's bytes (a killed process may have left them unsynced), then every
    // name this open created or removed (the new active file included).
    if active.is_some() {
        writer.active.file.sync()?;
    }
    fs.sync_dir(dir)?;
    writer.dir_unsynced = false;
    Ok(Recovered {
        state,
        writer,
        next_file_id,
        notes,
    })
}

/// Removes a data file that holds no records, and its hint.
fn remove_file(fs: &dyn Fs, dir: &Path, f: &LoadedFile) -> Result<()> {
    if f.has_hint_file {
        fs.remove(&dir.join(hint_file_name(f.handle.id)))?;
    }
    fs.remove(&f.handle.path)?;
    Ok(())
}

/// Acts on the bad tails found: truncates the torn tail of the one file a
/// crash may have torn; any other bad tail is damage.
///
/// # Errors
/// `Corruption` for a bad tail in a file no crash could have torn, unless
/// `salvage` (then it is truncated and reported as salvaged); I/O errors.
fn settle_tails(
    loaded: &mut [LoadedFile],
    salvage: bool,
    counters: &EngineCounters,
    notes: &mut Vec<String>,
) -> Result<()> {
    let facts: Vec<TailFacts> = loaded
        .iter()
        .map(|f| TailFacts {
            id: f.handle.id,
            records: f.records,
            max_seq: f.max_seq,
            has_hint_file: f.has_hint_file,
        })
        .collect();
    let torn_candidate = may_be_torn(&facts);
    for f in loaded.iter_mut() {
        let Some(tail) = f.bad_tail.take() else {
            continue;
        };
        let path = &f.handle.path;
        if Some(f.handle.id) == torn_candidate {
            let counter = if tail.zero_filled {
                &counters.preallocated_bytes_trimmed
            } else {
                &counters.torn_bytes_truncated
            };
            counter.fetch_add(tail.bytes, Relaxed);
        } else if salvage {
            counters.salvaged_bytes.fetch_add(tail.bytes, Relaxed);
            notes.push(format!(
                "salvage dropped {} damaged bytes at the end of {} (from offset {})",
                tail.bytes,
                path.display(),
                tail.valid_end
            ));
        } else {
            return Err(Error::corruption(
                path,
                tail.valid_end,
                CorruptionKind::Invariant(format!(
                    "{} bytes after the last complete record of a data file that was not being appended to (only that file can be torn by a crash, so this is damage)",
                    tail.bytes
                )),
            ));
        }
        if f.records > 0 {
            f.handle.file.truncate(tail.valid_end)?;
            f.handle.file.sync()?;
            f.handle.set_trimmed_len(tail.valid_end);
            f.len = tail.valid_end;
        } // else the whole file goes
    }
    Ok(())
}

/// Loads one data file: its records, and its bad tail if it has one (not
/// acted on here: whether it is a torn write depends on the other files).
fn load_file(
    fs: &dyn Fs,
    dir: &Path,
    id: u32,
    has_hint: bool,
    salvage: bool,
    counters: &EngineCounters,
    notes: &mut Vec<String>,
) -> Result<LoadedFile> {
    let path = dir.join(data_file_name(id));
    let hint_path = dir.join(hint_file_name(id));
    let file = fs.open(&path)?;
    let len = file.len()?;
    let mut loaded = LoadedFile {
        handle: Arc::new(DataFile::new(id, path.clone(), Arc::clone(&file), len)),
        len,
        run: EntryList::new(),
        min_seq: u64::MAX,
        max_seq: 0,
        records: 0,
        hint_covers: 0,
        hint_bytes: 0,
        has_hint_file: has_hint,
        bad_tail: None,
    };
    if len < DATA_HEADER_BYTES {
        let bytes = read_range(&*file, 0, len)?;
        loaded.bad_tail = (len > 0).then(|| BadTail::of(0, &bytes)); // never written whole
        return Ok(loaded);
    }
    let mut header = [0; DATA_HEADER_BYTES as usize];
    file.read_exact_at(&mut header, 0)?;
    if let Err(damage) = decode_file_header(&header, &path, DATA_MAGIC, DATA_FORMAT_VERSION) {
        // A header that never reached the disk whole, with garbage (or the
        // zeros of preallocated space) where it should be (a crash right
        // after the file was created), looks like damage. With no valid
        // record anywhere after it, nothing was ever synced there: the
        // whole file is a bad tail. Otherwise it is damage.
        let all = read_range(&*file, 0, len)?;
        let body = all.get(DATA_HEADER_BYTES as usize..).unwrap_or_default();
        let any_record =
            (0..body.len()).any(|at| matches!(decode_record(&body[at..]), Decoded::Record { .. }));
        if any_record {
            return Err(damage);
        }
        loaded.bad_tail = Some(BadTail::of(0, &all));
        return Ok(loaded);
    }

    if has_hint {
        if let Some((h, bytes)) = load_hint(fs, &hint_path, id, len, notes)? {
            counters.hints_loaded.fetch_add(1, Relaxed);
            loaded.run = h.entries;
            loaded.min_seq = h.min_seq;
            loaded.max_seq = h.max_seq;
            loaded.records = h.records;
            loaded.hint_covers = h.covered_len;
            loaded.hint_bytes = bytes;
        }
    }
    let scan_from = loaded.hint_covers.max(DATA_HEADER_BYTES);
    if scan_from < len {
        counters.data_files_scanned.fetch_add(1, Relaxed);
        let data = read_range(&*file, scan_from, len)?;
        let LoadedFile {
            run,
            min_seq,
            max_seq,
            ..
        } = &mut loaded;
        let outcome = scan_log(&path, &data, scan_from, salvage, |offset, rec_len, rec| {
            let entry = Entry {
                file_id: id,
                offset: offset as u32,
                len: rec_len,
                stored_seq: rec.seq,
            };
            *min_seq = (*min_seq).min(plain_seq(rec.seq));
            *max_seq = (*max_seq).max(plain_seq(rec.seq));
            run.push(rec.key, rec.kind == RecordKind::Delete, entry);
            Ok(())
        })?;
        loaded.records += outcome.records;
        if outcome.salvaged_bytes > 0 {
            counters
                .salvaged_bytes
                .fetch_add(outcome.salvaged_bytes, Relaxed);
            counters
                .salvaged_records
                .fetch_add(outcome.salvaged_records, Relaxed);
            notes.push(format!(
                "salvage skipped {} damaged bytes of {} and dropped {} intact records of the batches the damage broke",
                outcome.salvaged_bytes,
                path.display(),
                outcome.salvaged_records
            ));
        }
        if outcome.torn_bytes > 0 {
            let tail_start = outcome.valid_end.saturating_sub(scan_from) as usize;
            let tail = data.get(tail_start..).unwrap_or_default();
            loaded.bad_tail = Some(BadTail::of(outcome.valid_end, tail));
        }
    }
    loaded.run.sort_and_keep_newest();
    Ok(loaded)
}

/// Bytes `from..to` of `file`.
fn read_range(file: &dyn kv_core::File, from: u64, to: u64) -> Result<Vec<u8>> {
    let mut data = vec![0; to.saturating_sub(from) as usize];
    file.read_exact_at(&mut data, from)?;
    Ok(data)
}

/// The hint of data file `id` if it is usable for a data file of
/// `data_len` bytes; a note says why not otherwise.
fn load_hint(
    fs: &dyn Fs,
    hint_path: &Path,
    id: u32,
    data_len: u64,
    notes: &mut Vec<String>,
) -> Result<Option<(Hint, u64)>> {
    let Some(bytes) = read_file_if_exists(fs, hint_path)? else {
        return Ok(None);
    };
    match decode_hint(&bytes, hint_path, id) {
        Ok(h) if (DATA_HEADER_BYTES..=data_len).contains(&h.covered_len) => {
            Ok(Some((h, bytes.len() as u64)))
        }
        Ok(h) => {
            notes.push(format!(
                "hint {} covers {} bytes but its data file has {data_len}; scanned the data file instead",
                hint_path.display(),
                h.covered_len
            ));
            Ok(None)
        }
        Err(e) => {
            notes.push(format!(
                "hint unusable ({e}); scanned the data file instead"
            ));
            Ok(None)
        }
    }
}

/// The keydir and file table from the loaded runs.
fn build_state(loaded: &[LoadedFile]) -> (State, BTreeMap<u32, FileInfo>) {
    let mut files: BTreeMap<u32, FileInfo> = BTreeMap::new();
    for f in loaded {
        let info = FileInfo::summarized(
            Arc::clone(&f.handle),
            f.len,
            (f.min_seq, f.max_seq),
            f.records,
            f.hint_bytes,
            &f.run,
        );
        files.insert(f.handle.id, info);
    }
    let runs: Vec<&EntryList> = loaded.iter().map(|f| &f.run).collect();
    let mut builder = KeydirBuilder::new();
    let mut live_payload_bytes = 0;
    resolve(&runs, |key, tombstone, entry| {
        if tombstone {
            return;
        }
        builder.push(key, entry);
        live_payload_bytes += payload_bytes(&entry);
        if let Some(f) = files.get_mut(&entry.file_id) {
            f.live_bytes += u64::from(entry.len);
            f.live_keys += 1;
        }
    });
    let state = State {
        keydir: builder.finish(),
        files: BTreeMap::new(),
        live_payload_bytes,
    };
    (state, files)
}

/// The index of the file to keep appending to: the one with the newest
/// records, if all of its records are newer than any other file's (so the
/// active file keeps holding only the newest data, which merge's tombstone
/// rule relies on) and it has room.
fn pick_active(loaded: &[LoadedFile], max_file_bytes: u64) -> Option<usize> {
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
    (newest.min_seq > older_max && newest.len < max_file_bytes).then_some(i)
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
