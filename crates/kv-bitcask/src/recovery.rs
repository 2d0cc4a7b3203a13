//! Open: everything between claiming the directory and the first write, in
//! the order it happens. Each step is safe to crash in; open is
//! idempotent. Nothing on disk changes before every file has been judged,
//! so an open that reports damage leaves every byte as it found it.
//!
//! 1. **What is there.** A merge that committed (`MERGE_COMMIT`) but did
//!    not finish deleting its inputs has them deleted (read-write) or left
//!    out (read-only). The directory is listed: data files, hints, and
//!    leftovers (`*.tmp`).
//! 2. **Load** every data file ([`crate::load`]): header (with the file id
//!    it names), hint, and a scan of what the hint does not cover.
//! 3. **Judge the file set** against the store's record of it
//!    ([`crate::file_set`]): every listed file is there, every sealed one
//!    exactly as long as when it was sealed, every hint has its data file,
//!    and no file that ever held records is empty. Files with no record
//!    are a torn creation (removed), or moved to `quarantine/`.
//! 4. **Settle the tails**: the active file (the one the file set names, or
//!    for a store from before it, the one the contents say, see
//!    [`crate::torn_tail`]) may end in a torn write, which is truncated;
//!    a bad tail anywhere else is damage.
//! 5. **Act** (read-write only): remove leftovers and torn creations, move
//!    quarantined files, truncate torn tails.
//! 6. **Rebuild the keydir** from the newest record per key of every file
//!    (sequence numbers decide, not file ids).
//! 7. **Settle on disk** (read-write only): reuse or create the active
//!    file, rebuild missing hints, sync, and write the file set (and the
//!    store marker's format, for a store upgraded from format 2).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use kv_core::codec::{frontier_at_end, FrontierTracker, HEADER_BYTES};
use kv_core::fs::write_file_atomic;
use kv_core::identity::IDENTITY_FILE_NAME;
use kv_core::{CorruptionKind, CountingFs, Damage, Error, Fs, Result, StoreIdentity};

use crate::data_file::{
    create_new_file, data_file_name, file_ids_exhausted, hint_file_name, parse_file_name,
    verify_put, DataFile, FileName, DATA_FORMAT_VERSION, ENGINE_NAME, FILE_SET_STORE_VERSION,
    STORE_FORMAT_VERSION,
};
use crate::entry_list::EntryList;
use crate::expiry_index::ExpiryIndex;
use crate::file_set::{read_file_set, write_file_set, FileSet, FILE_SET_NAME};
use crate::hint::{encode_hint, Hint};
use crate::keydir::KeydirBuilder;
use crate::load::{Findings, LoadedFile, Loader, Rules};
use crate::merge_commit::{
    pending_merge_inputs, remove_inputs, remove_merge_commit, MERGE_COMMIT_FILE_NAME,
};
use crate::options::BitcaskOptions;
use crate::read_only::NoFile;
use crate::resolve::{resolve, Run};
use crate::state::{payload_bytes, FileInfo, State};
use crate::stats::EngineCounters;
use crate::torn_tail::{may_be_torn, TailFacts};
use crate::writer::Writer;

/// Name of the directory files are moved to instead of being deleted.
pub const QUARANTINE_DIR: &str = "quarantine";

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

/// Names a store directory may hold besides data, hint and temporary files.
const KNOWN_NAMES: [&str; 6] = [
    "LOCK",
    IDENTITY_FILE_NAME,
    "KVLAB.tmp",
    MERGE_COMMIT_FILE_NAME,
    FILE_SET_NAME,
    QUARANTINE_DIR,
];

/// What the directory holds.
#[derive(Debug, Default)]
struct Listing {
    data_ids: Vec<u32>,
    hint_ids: BTreeSet<u32>,
    /// Unfinished merge output and temporary files: removed (read-write).
    leftovers: Vec<PathBuf>,
}

/// What open does with a data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Part of the store (dropped from memory if it holds no record).
    Keep,
    /// A file created after the last file-set record, nothing of it
    /// durable: removed.
    TornCreation,
    /// A file with no record the store cannot account for: moved to
    /// `quarantine/`, never deleted.
    Quarantine,
}

/// One open's context.
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
    let active = active_at_crash(&files, &fates, set.as_ref());
    let mut disk_lengths = BTreeMap::new();
    let truncations = r.settle_tails(&mut files, &fates, active, &mut disk_lengths)?;
    // 5. Act.
    if !r.rules.read_only {
        r.act(&listing, &files, &fates, &truncations)?;
    }
    let (mut files, empty_active) = kept_files(files, &fates, active);
    // 6. Rebuild the keydir.
    let keep = r.runs_needed_later(&files);
    let (mut state, live_ttl) = build_state(&mut files, keep);
    index_expiries(&mut state, &live_ttl, &mut r.found)?;
    let next_seq = next_sequence(dir, &files)?;
    let next_file_id = listing
        .data_ids
        .iter()
        .chain(&listing.hint_ids) // a hint whose removal a crash undid must never describe a new file
        .map(|id| u64::from(*id) + 1)
        .chain(set.as_ref().map(|s| s.next_id))
        .max()
        .unwrap_or(1);
    // 7. Settle on disk.
    let (writer, next_file_id) = if r.rules.read_only {
        (read_only_writer(dir, next_seq), next_file_id)
    } else {
        let (w, next) = r.settle_on_disk(
            &files,
            empty_active.as_ref(),
            &mut state,
            (next_seq, next_file_id),
        )?;
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

    /// The inputs of a merge that committed but did not finish deleting
    /// them: deleted now (read-write; the commit record stays until the
    /// file set no longer lists them), left out (read-only).
    fn pending_merge(&mut self) -> Result<Vec<u32>> {
        let ids = match pending_merge_inputs(self.fs(), self.dir) {
            Ok(ids) => ids,
            Err(e) => return self.found.absorb(self.rules, e).map(|()| Vec::new()),
        };
        if !self.rules.read_only && !ids.is_empty() {
            remove_inputs(self.fs(), self.dir, &ids)?;
        }
        Ok(ids)
    }

    /// The data and hint file ids of the directory (the `retired` inputs of
    /// a committed merge left out) and its leftovers. Anything else is
    /// reported in the notes and left alone.
    fn list_dir(&mut self, retired: &[u32]) -> Result<Listing> {
        let mut listing = Listing::default();
        for name in self.fs().list(self.dir)? {
            match parse_file_name(&name) {
                FileName::Tmp => listing.leftovers.push(self.dir.join(&name)),
                FileName::Data(id) | FileName::Hint(id) if retired.contains(&id) => {}
                FileName::Data(id) => listing.data_ids.push(id),
                FileName::Hint(id) => {
                    listing.hint_ids.insert(id);
                }
                FileName::Other if KNOWN_NAMES.contains(&name.as_str()) => {}
                FileName::Other => self.found.notes.push(format!(
                    "unexpected file {} in the store directory; left alone",
                    self.dir.join(&name).display()
                )),
            }
        }
        listing.data_ids.sort_unstable();
        Ok(listing)
    }

    fn load_files(&mut self, listing: &Listing) -> Result<Vec<LoadedFile>> {
        let loader = Loader {
            fs: self.fs(),
            dir: self.dir,
            rules: self.rules,
            counters: self.counters,
        };
        let mut files = Vec::with_capacity(listing.data_ids.len());
        for &id in &listing.data_ids {
            let has_hint = listing.hint_ids.contains(&id);
            files.push(loader.load(id, has_hint, &mut self.found)?);
        }
        Ok(files)
    }

    /// The store's file-set record. A store marked with a format from
    /// before it has none (it gets one at the end of this open, read-write);
    /// one marked with a later format must have it, unless nothing was ever
    /// written to it (a crash between creating the store and writing its
    /// first record).
    fn file_set(
        &mut self,
        listing: &Listing,
        files: &[LoadedFile],
        marker_version: u32,
    ) -> Result<Option<FileSet>> {
        let path = self.dir.join(FILE_SET_NAME);
        let missing = match read_file_set(self.fs(), self.dir) {
            Ok(Some(set)) => return Ok(Some(set)),
            Ok(None) => Error::corruption(
                &path,
                0,
                CorruptionKind::Invariant(
                    "the store's file-set record is missing, so which data files it should hold is unknown".into(),
                ),
            ),
            Err(e) => e,
        };
        let never_written = listing.hint_ids.is_empty() && files.iter().all(|f| !f.has_records());
        if marker_version < FILE_SET_STORE_VERSION {
            self.found.notes.push(format!(
                "the store predates the file-set record (format {marker_version}); {}",
                if self.rules.read_only {
                    "missing or cut data files cannot be detected until a read-write open upgrades it"
                } else {
                    "this open records it"
                }
            ));
        } else if !never_written || self.fs().exists(&path)? {
            self.found.absorb_or_accept(self.rules, missing)?;
        }
        Ok(None)
    }

    /// Every data file the file set lists, or a hint describes, exists
    /// (the inputs of a committed merge excepted).
    fn judge_missing(
        &mut self,
        listing: &Listing,
        retired: &[u32],
        set: Option<&FileSet>,
    ) -> Result<()> {
        let mut said_to_exist: BTreeSet<u32> = listing.hint_ids.clone();
        said_to_exist.extend(set.map(FileSet::ids).unwrap_or_default());
        for id in said_to_exist {
            if listing.data_ids.binary_search(&id).is_ok() || retired.contains(&id) {
                continue;
            }
            let witness = if set.is_some_and(|s| s.lists(id)) {
                format!("the file set ({FILE_SET_NAME}) lists it")
            } else {
                format!("its hint {} describes it", hint_file_name(id))
            };
            let missing = Error::corruption(
                self.dir.join(data_file_name(id)),
                0,
                CorruptionKind::Invariant(format!("data file {id} is missing, but {witness}")),
            );
            self.found.absorb_or_accept(self.rules, missing)?;
        }
        Ok(())
    }

    /// Every sealed file is exactly as long as when it was sealed: it was
    /// synced whole and never changes, so a shorter one lost durable data
    /// (even cut at a record boundary) and a longer one gained bytes.
    fn judge_sealed_lengths(&mut self, files: &[LoadedFile], set: Option<&FileSet>) -> Result<()> {
        let Some(set) = set else {
            return Ok(());
        };
        for f in files {
            let Some(&sealed_len) = set.sealed.get(&f.handle.id) else {
                continue;
            };
            if f.len != sealed_len {
                let wrong = Error::corruption(
                    f.path(),
                    f.len.min(sealed_len),
                    CorruptionKind::Invariant(format!(
                        "sealed data file has {} bytes, but it had {sealed_len} when it was sealed ({FILE_SET_NAME}): {}",
                        f.len,
                        if f.len < sealed_len { "durable data is gone" } else { "bytes were added" }
                    )),
                );
                self.found.absorb_or_accept(self.rules, wrong)?;
            }
        }
        Ok(())
    }

    /// What becomes of each file; damage for a file with no complete
    /// record that once held some (it has a hint, or the file set lists it
    /// and its header, durable before it was listed, is gone).
    fn fates(&mut self, files: &[LoadedFile], set: Option<&FileSet>) -> Result<Vec<Fate>> {
        let facts: Vec<TailFacts> = files.iter().map(tail_facts).collect();
        let legacy_torn = may_be_torn(&facts);
        let mut fates = Vec::with_capacity(files.len());
        for f in files {
            let fate = if f.has_records() {
                Fate::Keep
            } else {
                self.fate_of_empty(f, set, legacy_torn)?
            };
            fates.push(fate);
        }
        Ok(fates)
    }

    fn fate_of_empty(
        &mut self,
        f: &LoadedFile,
        set: Option<&FileSet>,
        legacy_torn: Option<u32>,
    ) -> Result<Fate> {
        let id = f.handle.id;
        let header_ok = f.version > 0;
        let listed = set.is_some_and(|s| s.lists(id));
        let path = f.path();
        let already_reported = self.found.damage.iter().any(|d| d.file == path);
        let emptied = f.version == 0 || f.len <= f.handle.header_len;
        let once_held = if already_reported || !emptied {
            // Damage took its records (reported already), or they are in a
            // bad tail (judged with the tails).
            None
        } else if f.has_hint_file {
            Some(format!(
                "its hint {} says it held records",
                hint_file_name(id)
            ))
        } else if listed && !header_ok {
            Some(format!(
                "{FILE_SET_NAME} lists it, so its header was durable"
            ))
        } else {
            None
        };
        if let Some(why) = once_held {
            let emptied = Error::corruption(
                f.path(),
                0,
                CorruptionKind::Invariant(format!(
                    "data file of {} bytes holds no complete record, but {why}: it was emptied or cut to its header",
                    f.len
                )),
            );
            self.found.absorb_or_accept(self.rules, emptied)?;
            return Ok(if self.rules.salvage {
                Fate::Quarantine
            } else {
                Fate::Keep
            });
        }
        if listed || already_reported {
            return Ok(Fate::Keep); // an active file with nothing in it yet
        }
        let torn_creation = match set {
            Some(s) => u64::from(id) >= s.next_id,
            None => legacy_torn == Some(id),
        };
        if torn_creation {
            return Ok(Fate::TornCreation);
        }
        self.found.notes.push(format!(
            "{} holds no complete record and the store has no account of it; {}",
            f.path().display(),
            if self.rules.read_only {
                "left alone (a read-write open moves it to quarantine/)"
            } else {
                "moved to quarantine/"
            }
        ));
        Ok(Fate::Quarantine)
    }
}

/// The files that stay, with records; and the active file if it stays
/// but holds no record yet (it is appended to again: it is listed, so
/// removing it would make it missing if the next step crashed).
fn kept_files(
    files: Vec<LoadedFile>,
    fates: &[Fate],
    active: Option<u32>,
) -> (Vec<LoadedFile>, Option<LoadedFile>) {
    let mut kept = Vec::with_capacity(files.len());
    let mut empty_active = None;
    for (f, fate) in files.into_iter().zip(fates) {
        if *fate != Fate::Keep {
            continue;
        }
        if f.has_records() {
            kept.push(f);
        } else if Some(f.handle.id) == active && f.version == DATA_FORMAT_VERSION {
            empty_active = Some(f);
        }
    }
    (kept, empty_active)
}

/// The facts the rule of [`crate::torn_tail`] needs about a file.
fn tail_facts(f: &LoadedFile) -> TailFacts {
    TailFacts {
        id: f.handle.id,
        records: f.records,
        max_seq: f.max_seq,
        has_hint_file: f.has_hint_file,
    }
}

/// The data file that was being appended to when the store last stopped:
/// the file set's active file, or for a store without one, the file the
/// contents point at ([`may_be_torn`]). Files with no record that go
/// away never count.
fn active_at_crash(files: &[LoadedFile], fates: &[Fate], set: Option<&FileSet>) -> Option<u32> {
    if let Some(set) = set {
        return set.active;
    }
    let facts: Vec<TailFacts> = files
        .iter()
        .zip(fates)
        .filter(|(_, fate)| **fate == Fate::Keep)
        .map(|(f, _)| tail_facts(f))
        .collect();
    may_be_torn(&facts)
}

/// The next sequence number: one above every record.
fn next_sequence(dir: &Path, files: &[LoadedFile]) -> Result<u64> {
    let newest_seq = files.iter().map(|f| f.max_seq).max().unwrap_or(0);
    newest_seq.checked_add(1).ok_or_else(|| {
        Error::corruption(
            dir,
            0,
            CorruptionKind::Invariant(format!("sequence number {newest_seq} has no successor")),
        )
    })
}

/// A truncation a read-write open makes: file index, new length.
type Truncation = (usize, u64);

impl Recovery<'_> {
    /// Judges the bad tails found: the torn tail of the active file is
    /// dropped (returned as a truncation to make, read-write); any other
    /// bad tail is damage. A read-only open shortens the files in memory
    /// only and notes their disk length in `disk_lengths`.
    ///
    /// # Errors
    /// `Corruption` for a bad tail in a file no crash could have torn,
    /// unless `salvage` (then it is truncated and reported as salvaged) or
    /// `Verify` (then it is recorded); I/O errors.
    fn settle_tails(
        &mut self,
        files: &mut [LoadedFile],
        fates: &[Fate],
        active: Option<u32>,
        disk_lengths: &mut BTreeMap<u32, u64>,
    ) -> Result<Vec<Truncation>> {
        let mut truncations = Vec::new();
        for (i, f) in files.iter_mut().enumerate() {
            match fates[i] {
                Fate::Keep => {}
                Fate::TornCreation => {
                    if let Some(tail) = f.bad_tail.take() {
                        self.note_torn_tail(f, &tail); // the whole file goes
                    }
                    continue;
                }
                Fate::Quarantine => continue,
            }
            let is_active = Some(f.handle.id) == active;
            if !is_active {
                self.rescan_strictly(f)?;
            }
            let Some(tail) = f.bad_tail.take() else {
                continue;
            };
            if is_active {
                self.note_torn_tail(f, &tail);
                if self.rules.read_only {
                    disk_lengths.insert(f.handle.id, f.len);
                }
            } else {
                self.judge_bad_tail(f, &tail)?;
            }
            if f.has_records() || is_active {
                truncations.push((i, tail.valid_end));
            }
            f.handle.set_trimmed_len(tail.valid_end);
            f.len = tail.valid_end;
        }
        Ok(truncations)
    }

    fn note_torn_tail(&mut self, f: &LoadedFile, tail: &crate::load::BadTail) {
        if tail.frontier_judged {
            self.found.notes.push(format!(
                "{}: damage at or above the durable frontier (offset {}) with valid records after it: a crash under reordered writeback; the {} bytes from there were never synced and are dropped as a torn tail",
                f.path().display(),
                tail.valid_end,
                tail.bytes
            ));
        }
        let counter = if tail.zero_filled {
            &self.counters.preallocated_bytes_trimmed
        } else {
            &self.counters.torn_bytes_truncated
        };
        counter.fetch_add(tail.bytes, Relaxed);
    }

    fn judge_bad_tail(&mut self, f: &LoadedFile, tail: &crate::load::BadTail) -> Result<()> {
        let damage = Error::corruption(
            f.path(),
            tail.valid_end,
            CorruptionKind::Invariant(format!(
                "{} bytes after the last complete record of a data file that was not being appended to (only that file can be torn by a crash, so this is damage)",
                tail.bytes
            )),
        );
        if !self.rules.salvage {
            return self.found.absorb(self.rules, damage);
        }
        self.counters.salvaged_bytes.fetch_add(tail.bytes, Relaxed);
        self.found.notes.push(format!(
            "salvage dropped {} damaged bytes at the end of {} (from offset {})",
            tail.bytes,
            f.path().display(),
            tail.valid_end
        ));
        Ok(())
    }

    /// A file no crash could have torn whose tail the durable frontier rule
    /// judged (damage with valid records after it) is scanned again from the
    /// damage with the strict rule, so the damage is reported where it is
    /// (or, under salvage or `Verify`, skipped and the records after it
    /// kept).
    fn rescan_strictly(&mut self, f: &mut LoadedFile) -> Result<()> {
        let Some(tail) = f.bad_tail.filter(|t| t.frontier_judged) else {
            return Ok(());
        };
        f.bad_tail = None;
        let loader = Loader {
            fs: self.fs(),
            dir: self.dir,
            rules: self.rules,
            counters: self.counters,
        };
        loader.scan_range(f, tail.valid_end, false, &mut self.found)?;
        f.run.sort_and_keep_newest();
        Ok(())
    }

    /// Read-write, once everything is judged: removes leftovers and torn
    /// creations, quarantines, truncates.
    fn act(
        &mut self,
        listing: &Listing,
        files: &[LoadedFile],
        fates: &[Fate],
        truncations: &[Truncation],
    ) -> Result<()> {
        let fs = self.fs();
        for path in &listing.leftovers {
            fs.remove(path)?;
        }
        for &(i, len) in truncations {
            files[i].handle.file.truncate(len)?;
            files[i].handle.file.sync()?;
        }
        for (f, fate) in files.iter().zip(fates) {
            match fate {
                Fate::Keep => {}
                Fate::TornCreation => fs.remove(f.path())?,
                Fate::Quarantine => self.quarantine(f)?,
            }
        }
        Ok(())
    }

    /// Moves a data file (and its hint) to `quarantine/`, durably.
    fn quarantine(&self, f: &LoadedFile) -> Result<()> {
        let fs = self.fs();
        let to = self.dir.join(QUARANTINE_DIR);
        if !fs.exists(&to)? {
            fs.create_dir(&to)?;
            fs.sync_dir(self.dir)?;
        }
        let id = f.handle.id;
        for name in [data_file_name(id), hint_file_name(id)] {
            let from = self.dir.join(&name);
            if fs.exists(&from)? {
                fs.rename(&from, &to.join(&name))?;
            }
        }
        fs.sync_dir(&to)?;
        Ok(())
    }
}

/// The keydir and file table from the loaded runs, and the live TTL puts
/// (whose expiries [`index_expiries`] reads).
///
/// # Memory
/// The runs of the files not in `keep` are consumed: each chunk is freed
/// as the keydir grows past it, so open holds about the larger of the runs
/// and the keydir, not their sum. `keep` (by index into `loaded`) names the
/// files whose run is needed after this ([`Recovery::runs_needed_later`]).
fn build_state(loaded: &mut [LoadedFile], keep: Vec<bool>) -> (State, EntryList) {
    let mut files: BTreeMap<u32, FileInfo> = BTreeMap::new();
    for f in loaded.iter() {
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
    let runs: Vec<Run<'_>> = loaded
        .iter_mut()
        .zip(keep)
        .map(|(f, keep)| {
            if keep {
                Run::Borrowed(&f.run)
            } else {
                Run::Owned(std::mem::take(&mut f.run))
            }
        })
        .collect();
    let mut builder = KeydirBuilder::new();
    let mut live_payload_bytes = 0;
    let mut live_ttl = EntryList::new();
    resolve(runs, |key, tombstone, entry| {
        if tombstone {
            return;
        }
        if entry.has_ttl() {
            live_ttl.push(key, false, entry);
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
        files,
        live_payload_bytes,
        expiring: ExpiryIndex::new(),
    };
    (state, live_ttl)
}

/// Indexes the expiry of every live TTL put (`live_ttl`, from
/// [`build_state`]): a hint holds no expiry, so each one is read from its
/// record, one positioned read per live TTL put (none in a store without
/// them). A record that cannot be read is left out of the index (its key
/// counts as live; its `get` reports the damage), with a note.
fn index_expiries(state: &mut State, live_ttl: &EntryList, found: &mut Findings) -> Result<()> {
    let mut buf = Vec::new();
    let mut unreadable = 0u64;
    for (key, _, entry) in live_ttl.iter() {
        let Some(handle) = state.handle(entry.file_id) else {
            unreadable += 1;
            continue;
        };
        let expiry = match handle.read_record(&entry, &mut buf) {
            Ok(()) => verify_put(&handle.path, &entry, key, &buf)
                .ok()
                .and_then(|put| put.expiry_unix_ms),
            Err(Error::Io(e)) => return Err(Error::Io(e)),
            Err(_) => None,
        };
        match expiry {
            Some(at) => state.expiring.insert(key, at, payload_bytes(&entry)),
            None => unreadable += 1,
        }
    }
    if unreadable > 0 {
        found.notes.push(format!(
            "the expiry of {unreadable} TTL puts could not be read at open; they count as live in stats() until rewritten"
        ));
    }
    Ok(())
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

impl Recovery<'_> {
    /// Which loaded files' runs open still reads after the keydir is
    /// built (read-write only): a file its hint does not cover whole (its
    /// hint is rebuilt from the run) and the file that may be kept as the
    /// active one (its tombstones go to the writer).
    fn runs_needed_later(&self, loaded: &[LoadedFile]) -> Vec<bool> {
        let active = pick_active(loaded, self.options.max_file_bytes);
        (0..loaded.len())
            .map(|i| {
                let f = &loaded[i];
                !self.rules.read_only && (f.hint_covers != f.len || Some(i) == active)
            })
            .collect()
    }

    /// Read-write only: picks or creates the active file, rebuilds missing
    /// hints, and makes everything recovered durable. Returns the writer
    /// and the next file id.
    fn settle_on_disk(
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
    fn record_file_set(
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
