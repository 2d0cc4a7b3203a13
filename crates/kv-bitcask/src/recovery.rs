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

use kv_core::codec::{
    decode_file_header, frontier_at_end, highest_frontier_in, FrontierTracker, RecordKind,
    HEADER_BYTES,
};
use kv_core::fs::read_file_if_exists;
use kv_core::identity::IDENTITY_FILE_NAME;
use kv_core::{CorruptionKind, CountingFs, Damage, Error, Fs, OpenMode, Result};

use crate::data_file::{
    create_new_file, data_file_name, file_ids_exhausted, hint_file_name, parse_file_name, DataFile,
    FileName, DATA_FORMAT_VERSION, DATA_HEADER_BYTES, DATA_MAGIC, FRONTIER_FORMAT_VERSION,
};
use crate::entry_list::EntryList;
use crate::hint::{decode_hint, encode_hint, Hint};
use crate::keydir::{Entry, KeydirBuilder};
use crate::log_scan::scan_log_with;
use crate::merge_commit::{finish_pending_merge, pending_merge_inputs, MERGE_COMMIT_FILE_NAME};
use crate::options::BitcaskOptions;
use crate::read_only::NoFile;
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
    /// Damage a `Verify` open recorded instead of failing.
    pub damage: Vec<Damage>,
    /// Files a read-only open shortened in memory only: their disk length.
    pub disk_lengths: BTreeMap<u32, u64>,
}

/// What an open may do to the disk, and what it does with damage.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules {
    /// `ReadOnly` or `Verify`: create, change, truncate and remove nothing.
    pub read_only: bool,
    /// `Verify`: record damage and open with what can be read.
    pub verify: bool,
    /// `BitcaskOptions::salvage`: drop damage (on disk, unless read-only).
    pub salvage: bool,
}

impl Rules {
    fn of(options: &BitcaskOptions) -> Self {
        let mode = options.core.open_mode;
        Self {
            read_only: mode.is_read_only(),
            verify: mode == OpenMode::Verify,
            salvage: options.salvage,
        }
    }

    /// Damage is skipped rather than refused.
    fn skips_damage(self) -> bool {
        self.salvage || self.verify
    }
}

/// What open noticed on the way: notes, and the damage `Verify` records.
#[derive(Debug, Default)]
struct Findings {
    notes: Vec<String>,
    damage: Vec<Damage>,
}

impl Findings {
    /// Under `Verify`, records the damage an `Err(Corruption)` describes and
    /// returns `Ok`; otherwise (or for any other error) returns the error.
    fn absorb(&mut self, rules: Rules, error: Error) -> Result<()> {
        match Damage::from_error(&error) {
            Some(damage) if rules.verify => {
                self.damage.push(damage);
                Ok(())
            }
            _ => Err(error),
        }
    }
}

/// Names a store directory may hold besides data, hint and temporary files.
const KNOWN_NAMES: [&str; 4] = [
    "LOCK",
    IDENTITY_FILE_NAME,
    "KVLAB.tmp",
    MERGE_COMMIT_FILE_NAME,
];

/// The data and hint file ids of the directory, after removing what a
/// read-write open removes (unfinished merge output, hints without data).
/// Files named by an unfinished merge deletion (`skipped`) are left out.
/// Anything else is reported in the notes and left alone.
fn list_dir(
    fs: &dyn Fs,
    dir: &Path,
    rules: Rules,
    skipped: &[u32],
    found: &mut Findings,
) -> Result<(Vec<u32>, BTreeSet<u32>)> {
    let mut data_ids = Vec::new();
    let mut hint_ids = BTreeSet::new();
    for name in fs.list(dir)? {
        match parse_file_name(&name) {
            FileName::Tmp if !rules.read_only => fs.remove(&dir.join(&name))?,
            FileName::Tmp => {}
            FileName::Data(id) if !skipped.contains(&id) => data_ids.push(id),
            FileName::Hint(id) if !skipped.contains(&id) => {
                hint_ids.insert(id);
            }
            FileName::Data(_) | FileName::Hint(_) => {}
            FileName::Other if KNOWN_NAMES.contains(&name.as_str()) => {}
            FileName::Other => found.notes.push(format!(
                "unexpected file {} in the store directory; left alone",
                dir.join(&name).display()
            )),
        }
    }
    for id in &hint_ids {
        if data_ids.binary_search(id).is_err() && !rules.read_only {
            fs.remove(&dir.join(hint_file_name(*id)))?;
        }
    }
    Ok((data_ids, hint_ids))
}

/// Finishes (read-write) or notes (read-only: the files it names are left
/// out) a merge's committed deletion; returns the ids to leave out.
fn pending_merge(fs: &dyn Fs, dir: &Path, rules: Rules, found: &mut Findings) -> Result<Vec<u32>> {
    if !rules.read_only {
        finish_pending_merge(fs, dir)?;
        return Ok(Vec::new());
    }
    match pending_merge_inputs(fs, dir) {
        Ok(ids) => Ok(ids),
        Err(e) => found.absorb(rules, e).map(|()| Vec::new()),
    }
}

/// Rebuilds the store's state from the directory.
pub(crate) fn recover(
    fs: &Arc<CountingFs>,
    dir: &Path,
    options: &BitcaskOptions,
    counters: &EngineCounters,
) -> Result<Recovered> {
    let rules = Rules::of(options);
    let mut found = Findings::default();
    let skipped = pending_merge(&**fs, dir, rules, &mut found)?;
    let (data_ids, hint_ids) = list_dir(&**fs, dir, rules, &skipped, &mut found)?;
    let mut loaded = Vec::new();
    for &id in &data_ids {
        let has_hint = hint_ids.contains(&id);
        loaded.push(load_file(
            &**fs, dir, id, has_hint, rules, counters, &mut found,
        )?);
    }
    let mut disk_lengths = BTreeMap::new();
    settle_tails(&mut loaded, rules, counters, &mut found, &mut disk_lengths)?;
    let mut kept = Vec::with_capacity(loaded.len());
    for f in loaded {
        if f.min_seq <= f.max_seq {
            kept.push(f);
        } else if !rules.read_only {
            remove_file(&**fs, dir, &f)?; // no records
        }
    }
    let loaded = kept;
    let (mut state, files) = build_state(&loaded);
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
    let next_file_id = data_ids
        .iter()
        .chain(&hint_ids)
        .max()
        .map_or(1, |id| u64::from(*id) + 1);
    let (writer, next_file_id) = if rules.read_only {
        (read_only_writer(dir, next_seq), next_file_id)
    } else {
        settle_on_disk(
            fs,
            dir,
            options,
            &loaded,
            &mut state,
            counters,
            (next_seq, next_file_id),
        )?
    };
    Ok(Recovered {
        state,
        writer,
        next_file_id,
        notes: found.notes,
        damage: found.damage,
        disk_lengths,
    })
}

/// The writer of a read-only store: it never writes (every write is refused
/// with `ReadOnly` before it reaches the writer), so its active file is an
/// empty placeholder that is not in the file table.
fn read_only_writer(dir: &Path, next_seq: u64) -> Writer {
    let handle = DataFile::new(
        u32::MAX,
        dir.join("(no active file: opened read-only)"),
        Arc::new(NoFile),
        0,
    );
    Writer::new(Arc::new(handle), 0, next_seq)
}

/// Read-write only: picks or creates the active file, rebuilds missing
/// hints, and makes everything recovered durable. Returns the writer and
/// the next file id.
fn settle_on_disk(
    fs: &Arc<CountingFs>,
    dir: &Path,
    options: &BitcaskOptions,
    loaded: &[LoadedFile],
    state: &mut State,
    counters: &EngineCounters,
    (next_seq, mut next_file_id): (u64, u64),
) -> Result<(Writer, u64)> {
    let active = pick_active(loaded, options.max_file_bytes);
    let mut writer = match active {
        Some(i) => {
            let f = &loaded[i];
            let mut w = Writer::new(Arc::clone(&f.handle), f.len, next_seq);
            w.frontier = resumed_frontier(&*f.handle.file, f.len)?;
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
        rebuild_hint(&**fs, dir, f, state, counters);
    }
    // Everything recovered is durable before the first write: the reused
    // file's bytes (a killed process may have left them unsynced), then every
    // name this open created or removed (the new active file included).
    if active.is_some() {
        writer.active.file.sync()?;
    }
    fs.sync_dir(dir)?;
    writer.dir_unsynced = false;
    Ok((writer, next_file_id))
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
    /// The data file format version of its header (0 if unreadable).
    version: u32,
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
    /// The durable frontier rule judged it: damage with valid records after
    /// it. Only the file a crash may have torn may end so; any other file is
    /// scanned again from `valid_end` with the strict rule.
    frontier_judged: bool,
}

impl BadTail {
    /// The tail `bytes` of a file, starting at `valid_end`.
    fn of(valid_end: u64, bytes: &[u8]) -> Self {
        Self {
            valid_end,
            bytes: bytes.len() as u64,
            zero_filled: bytes.iter().all(|&b| b == 0),
            frontier_judged: false,
        }
    }
}

/// The durable frontier of a reused active file (which open syncs whole): if
/// it ends with the frontier record a clean close wrote, nothing new is due
/// (so reopening and closing a store without writes adds no byte).
fn resumed_frontier(file: &dyn kv_core::File, len: u64) -> Result<FrontierTracker> {
    let from = len
        .saturating_sub(HEADER_BYTES as u64)
        .max(DATA_HEADER_BYTES);
    let tail = read_range(file, from, len)?;
    let recorded = frontier_at_end(&tail, len).unwrap_or(0);
    Ok(FrontierTracker::resume(len, recorded))
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
/// crash may have torn; any other bad tail is damage. A read-only open
/// shortens the files in memory only and notes their disk length in
/// `disk_lengths`.
///
/// # Errors
/// `Corruption` for a bad tail in a file no crash could have torn, unless
/// `salvage` (then it is truncated and reported as salvaged) or `Verify`
/// (then it is recorded); I/O errors.
fn settle_tails(
    loaded: &mut [LoadedFile],
    rules: Rules,
    counters: &EngineCounters,
    found: &mut Findings,
    disk_lengths: &mut BTreeMap<u32, u64>,
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
        if Some(f.handle.id) != torn_candidate {
            rescan_strictly(f, rules, counters, found)?;
        }
        let Some(tail) = f.bad_tail.take() else {
            continue;
        };
        let path = &f.handle.path;
        if Some(f.handle.id) == torn_candidate {
            if tail.frontier_judged {
                found.notes.push(format!(
                    "{}: damage at or above the durable frontier (offset {}) with valid records after it: a crash under reordered writeback; the {} bytes from there were never synced and are dropped as a torn tail",
                    path.display(),
                    tail.valid_end,
                    tail.bytes
                ));
            }
            let counter = if tail.zero_filled {
                &counters.preallocated_bytes_trimmed
            } else {
                &counters.torn_bytes_truncated
            };
            counter.fetch_add(tail.bytes, Relaxed);
        } else {
            let damage = Error::corruption(
                path,
                tail.valid_end,
                CorruptionKind::Invariant(format!(
                    "{} bytes after the last complete record of a data file that was not being appended to (only that file can be torn by a crash, so this is damage)",
                    tail.bytes
                )),
            );
            if rules.salvage {
                counters.salvaged_bytes.fetch_add(tail.bytes, Relaxed);
                found.notes.push(format!(
                    "salvage dropped {} damaged bytes at the end of {} (from offset {})",
                    tail.bytes,
                    path.display(),
                    tail.valid_end
                ));
            } else {
                found.absorb(rules, damage)?;
            }
        }
        if rules.read_only {
            if Some(f.handle.id) == torn_candidate {
                disk_lengths.insert(f.handle.id, f.len);
            }
        } else if f.records > 0 {
            f.handle.file.truncate(tail.valid_end)?;
            f.handle.file.sync()?;
        } // else the whole file goes
        f.handle.set_trimmed_len(tail.valid_end);
        f.len = tail.valid_end;
    }
    Ok(())
}

/// A file no crash could have torn whose tail the durable frontier rule
/// judged (damage with valid records after it) is scanned again from the
/// damage with the strict rule, so the damage is reported where it is (or,
/// under salvage or `Verify`, skipped and the records after it kept).
fn rescan_strictly(
    f: &mut LoadedFile,
    rules: Rules,
    counters: &EngineCounters,
    found: &mut Findings,
) -> Result<()> {
    let Some(tail) = f.bad_tail.filter(|t| t.frontier_judged) else {
        return Ok(());
    };
    f.bad_tail = None;
    scan_range(f, tail.valid_end, false, rules, counters, found)?;
    f.run.sort_and_keep_newest();
    Ok(())
}

/// Loads one data file: its records, and its bad tail if it has one (not
/// acted on here: whether it is a torn write depends on the other files).
fn load_file(
    fs: &dyn Fs,
    dir: &Path,
    id: u32,
    has_hint: bool,
    rules: Rules,
    counters: &EngineCounters,
    found: &mut Findings,
) -> Result<LoadedFile> {
    let path = dir.join(data_file_name(id));
    let file = if rules.read_only {
        fs.open_read(&path)?
    } else {
        fs.open(&path)?
    };
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
        version: 0,
        bad_tail: None,
    };
    if len < DATA_HEADER_BYTES {
        let bytes = read_range(&*file, 0, len)?;
        loaded.bad_tail = (len > 0).then(|| BadTail::of(0, &bytes)); // never written whole
        return Ok(loaded);
    }
    let mut header = [0; DATA_HEADER_BYTES as usize];
    file.read_exact_at(&mut header, 0)?;
    match decode_file_header(&header, &path, DATA_MAGIC, DATA_FORMAT_VERSION) {
        Ok(h) => loaded.version = h.map_or(0, |h| h.version),
        Err(damage) => {
            // A header that never reached the disk whole, with garbage (or
            // the zeros of preallocated space or of reordered writeback) where
            // it should be (a crash right after the file was created), looks
            // like damage. If nothing after it proves the header was synced
            // (a valid record under format 1; a durable frontier past 0 under
            // format 2, whose version the broken header no longer tells), the
            // whole file is a bad tail. Otherwise it is damage (under `Verify`
            // recorded, and the file's records are not loaded).
            let all = read_range(&*file, 0, len)?;
            if header_was_synced(&all) {
                found.absorb(rules, damage)?;
                return Ok(loaded);
            }
            loaded.bad_tail = Some(BadTail::of(0, &all));
            return Ok(loaded);
        }
    }
    // `Verify` reads every record instead of trusting hints, so the keydir
    // never points at a damaged record (a read then never meets damage).
    if has_hint && !rules.verify {
        let hint_path = dir.join(hint_file_name(id));
        if let Some((h, bytes)) = load_hint(fs, &hint_path, id, len, &mut found.notes)? {
            counters.hints_loaded.fetch_add(1, Relaxed);
            loaded.run = h.entries;
            loaded.min_seq = h.min_seq;
            loaded.max_seq = h.max_seq;
            loaded.records = h.records;
            loaded.hint_covers = h.covered_len;
            loaded.hint_bytes = bytes;
        }
    }
    scan_rest(&mut loaded, rules, counters, found)?;
    loaded.run.sort_and_keep_newest();
    Ok(loaded)
}

/// True if the bytes after a damaged header prove the header was synced: a
/// durable frontier record past 0 (format 2 writes one in the first flush
/// group after the first sync). Records without any frontier come from an
/// unsynced first flush group (a torn creation) or from a format-1 file;
/// without the version the two cannot be told apart, so such a file is a
/// bad tail, a torn creation only if it is the file a crash may have torn
/// (see `settle_tails`), and damage otherwise.
fn header_was_synced(all: &[u8]) -> bool {
    let body = all.get(DATA_HEADER_BYTES as usize..).unwrap_or_default();
    highest_frontier_in(body) > 0
}

/// Scans the part of a data file its hint does not cover (all of it without
/// a usable hint), every record's CRC checked, adding its records to `f`.
fn scan_rest(
    f: &mut LoadedFile,
    rules: Rules,
    counters: &EngineCounters,
    found: &mut Findings,
) -> Result<()> {
    let scan_from = f.hint_covers.max(DATA_HEADER_BYTES);
    if scan_from >= f.len {
        return Ok(());
    }
    counters.data_files_scanned.fetch_add(1, Relaxed);
    let frontier_rule = f.version >= FRONTIER_FORMAT_VERSION;
    scan_range(f, scan_from, frontier_rule, rules, counters, found)
}

/// Scans `f` from `scan_from` to its end, adding its records; leaves a bad
/// tail in `f.bad_tail`.
fn scan_range(
    f: &mut LoadedFile,
    scan_from: u64,
    frontier_rule: bool,
    rules: Rules,
    counters: &EngineCounters,
    found: &mut Findings,
) -> Result<()> {
    let data = read_range(&*f.handle.file, scan_from, f.len)?;
    let (id, path) = (f.handle.id, f.handle.path.clone());
    let mut visited = 0;
    let LoadedFile {
        run,
        min_seq,
        max_seq,
        ..
    } = f;
    let skips = rules.skips_damage();
    let scanned = scan_log_with(
        &path,
        &data,
        scan_from,
        skips,
        frontier_rule,
        |offset, rec_len, rec| {
            let entry = Entry {
                file_id: id,
                offset: offset as u32,
                len: rec_len,
                stored_seq: rec.seq,
            };
            *min_seq = (*min_seq).min(plain_seq(rec.seq));
            *max_seq = (*max_seq).max(plain_seq(rec.seq));
            run.push(rec.key, rec.kind == RecordKind::Delete, entry);
            visited += 1;
            Ok(())
        },
    );
    let outcome = match scanned {
        Ok(outcome) => outcome,
        Err(e) => {
            // Under `Verify`: damage with no valid record to resume at.
            // Keep what was read before it; nothing after it is loaded.
            f.records += visited;
            return found.absorb(rules, e);
        }
    };
    f.records += outcome.records;
    if outcome.salvaged_bytes > 0 {
        counters
            .salvaged_bytes
            .fetch_add(outcome.salvaged_bytes, Relaxed);
        counters
            .salvaged_records
            .fetch_add(outcome.salvaged_records, Relaxed);
        found.notes.push(format!(
            "{} skipped {} damaged bytes of {} and dropped {} intact records of the batches the damage broke",
            if rules.salvage { "salvage" } else { "verify" },
            outcome.salvaged_bytes,
            path.display(),
            outcome.salvaged_records
        ));
        if !rules.salvage {
            found.damage.extend(outcome.damage.iter().cloned());
        }
    }
    if outcome.torn_bytes > 0 {
        let tail_start = outcome.valid_end.saturating_sub(scan_from) as usize;
        let tail = data.get(tail_start..).unwrap_or_default();
        let mut bad = BadTail::of(outcome.valid_end, tail);
        bad.frontier_judged = outcome.dropped_unsynced;
        f.bad_tail = Some(bad);
    }
    Ok(())
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
    // A format-1 file is never appended to: its readers apply the version-1
    // rule, which knows no frontier records.
    let current_format = newest.version >= FRONTIER_FORMAT_VERSION;
    (current_format && newest.min_seq > older_max && newest.len < max_file_bytes).then_some(i)
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
