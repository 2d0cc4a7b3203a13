//! Open, per file: read one data file's header, its hint, and the records
//! its hint does not cover, into a [`LoadedFile`]. Nothing here changes the
//! disk or decides what a bad tail means (that depends on the other files:
//! see [`crate::recovery`]).

use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use kv_core::codec::{highest_frontier_in_file, RecordKind};
use kv_core::{CorruptionKind, Damage, Error, Fs, OpenMode, Result};

use crate::data_file::{
    data_file_name, decode_data_header, header_len, hint_file_name, DataFile, CURRENT_HEADER_BYTES,
    DATA_HEADER_BYTES, FRONTIER_FORMAT_VERSION,
};
use crate::entry_list::EntryList;
use crate::hint::{open_hint, read_hint, Hint};
use crate::keydir::Entry;
use crate::log_scan::{all_zero, scan_log, LogRange};
use crate::options::BitcaskOptions;
use crate::stats::EngineCounters;
use crate::ttl::plain_seq;

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
    /// The rules of an open with `options`.
    pub fn of(options: &BitcaskOptions) -> Self {
        let mode = options.core.open_mode;
        Self {
            read_only: mode.is_read_only(),
            verify: mode == OpenMode::Verify,
            salvage: options.salvage,
        }
    }

    /// Damage is skipped rather than refused.
    pub fn skips_damage(self) -> bool {
        self.salvage || self.verify
    }
}

/// What open noticed on the way: notes, and the damage `Verify` records.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub notes: Vec<String>,
    pub damage: Vec<Damage>,
}

impl Findings {
    /// Under `Verify`, records the damage an `Err(Corruption)` describes and
    /// returns `Ok`; otherwise (or for any other error) returns the error.
    pub fn absorb(&mut self, rules: Rules, error: Error) -> Result<()> {
        match Damage::from_error(&error) {
            Some(damage) if rules.verify => {
                self.damage.push(damage);
                Ok(())
            }
            _ => Err(error),
        }
    }

    /// As [`Findings::absorb`], and under `salvage` too (then the damage
    /// is a note and open goes on with the files as they are): for damage
    /// to the file set, which salvage accepts rather than repairs.
    pub fn absorb_or_accept(&mut self, rules: Rules, error: Error) -> Result<()> {
        if rules.salvage && !rules.verify && error.is_corruption() {
            self.notes
                .push(format!("salvage accepted the file set as found: {error}"));
            return Ok(());
        }
        self.absorb(rules, error)
    }
}

/// One data file as loaded.
pub(crate) struct LoadedFile {
    pub handle: Arc<DataFile>,
    pub len: u64,
    /// Newest record per key in this file, sorted.
    pub run: EntryList,
    pub min_seq: u64,
    pub max_seq: u64,
    pub records: u64,
    /// Length covered by a usable hint (0 if none).
    pub hint_covers: u64,
    pub hint_bytes: u64,
    /// A hint file of this data file exists (usable or not).
    pub has_hint_file: bool,
    /// The data file format version of its header (0 if unreadable).
    pub version: u32,
    /// Bytes after the last complete record, not acted on yet.
    pub bad_tail: Option<BadTail>,
}

impl LoadedFile {
    /// True if the file holds a complete record.
    pub fn has_records(&self) -> bool {
        self.min_seq <= self.max_seq
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.handle.path
    }
}

/// Bytes at the end of a data file that hold no complete record: a torn
/// write, preallocated space, or damage.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BadTail {
    /// Where they start (0 for a file whose header is bad too).
    pub valid_end: u64,
    /// How many there are.
    pub bytes: u64,
    /// Every one of them is zero: in the file a crash may have torn, this
    /// is preallocated space, not a torn write.
    pub zero_filled: bool,
    /// The durable frontier rule judged it: damage with valid records after
    /// it. Only the file a crash may have torn may end so; any other file is
    /// scanned again from `valid_end` with the strict rule.
    pub frontier_judged: bool,
}

impl BadTail {
    /// The tail of a file: `bytes` bytes from `valid_end` on, all zero if
    /// `zero_filled`.
    fn of(valid_end: u64, bytes: u64, zero_filled: bool) -> Self {
        Self {
            valid_end,
            bytes,
            zero_filled,
            frontier_judged: false,
        }
    }
}

/// Reads data files for one open.
pub(crate) struct Loader<'a> {
    pub fs: &'a dyn Fs,
    pub dir: &'a Path,
    pub rules: Rules,
    pub counters: &'a EngineCounters,
}

impl Loader<'_> {
    /// Loads data file `id`: its records, and its bad tail if it has one
    /// (not acted on here: whether it is a torn write depends on the other
    /// files).
    ///
    /// # Errors
    /// I/O errors; `Corruption` (recorded instead under `Verify`) for a
    /// damaged header, a file holding another file's bytes, a hint that
    /// covers more than its data file has, and damage in the records.
    pub fn load(&self, id: u32, has_hint: bool, found: &mut Findings) -> Result<LoadedFile> {
        let path = self.dir.join(data_file_name(id));
        let file = if self.rules.read_only {
            self.fs.open_read(&path)?
        } else {
            self.fs.open(&path)?
        };
        let len = file.len()?;
        let mut f = LoadedFile {
            handle: Arc::new(DataFile::new(id, path, file, len)),
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
        if !self.read_header(&mut f, found)? {
            return Ok(f);
        }
        if has_hint {
            self.take_hint(&mut f, found)?;
        }
        self.scan_rest(&mut f, found)?;
        f.run.sort_and_keep_newest();
        Ok(f)
    }

    /// Reads and checks the header; false if there is nothing more to load
    /// (a file shorter than its header or with a bad one: then all of it
    /// may be a bad tail, or it is damage, recorded under `Verify`).
    fn read_header(&self, f: &mut LoadedFile, found: &mut Findings) -> Result<bool> {
        let file = Arc::clone(&f.handle.file);
        let mut header = vec![0; f.len.min(CURRENT_HEADER_BYTES) as usize];
        file.read_exact_at(&mut header, 0)?;
        let decoded = decode_data_header(&header, f.path());
        match decoded {
            Ok(Some(h)) => {
                if let Err(e) = h.check_id(f.path(), f.handle.id) {
                    found.absorb(self.rules, e)?;
                    return Ok(false); // another file's bytes: nothing of it is loaded
                }
                f.version = h.version;
                let handle = DataFile::new(f.handle.id, f.path().into(), file, f.len);
                f.handle = Arc::new(handle.of_version(h.version));
                Ok(true)
            }
            Ok(None) => {
                let zeros = header.iter().all(|&b| b == 0);
                f.bad_tail = (f.len > 0).then(|| BadTail::of(0, f.len, zeros));
                Ok(false)
            }
            Err(damage) => {
                // A header that never reached the disk whole, with garbage
                // (or zeros) where it should be (a crash right after the file
                // was created), looks like damage. If nothing after it proves
                // the header was synced (a durable frontier past 0: format 2
                // writes one in the first flush group after the first sync),
                // the whole file is a bad tail. Otherwise it is damage.
                if highest_frontier_in_file(&*file, DATA_HEADER_BYTES, f.len)? > 0 {
                    found.absorb(self.rules, damage)?;
                } else {
                    f.bad_tail = Some(BadTail::of(0, f.len, all_zero(&*file, 0, f.len)?));
                }
                Ok(false)
            }
        }
    }

    /// Reads the hint of `f`. A hint is written only after the bytes it
    /// covers were synced, so one that covers more than the data file has
    /// proves durable data is gone: `Corruption` (recorded under `Verify`).
    /// A hint that is damaged, cut short or of another file is only unused
    /// (the data file is scanned), with a note. `Verify` checks the hint
    /// but never uses it: it reads every record, so the keydir never points
    /// at damage.
    fn take_hint(&self, f: &mut LoadedFile, found: &mut Findings) -> Result<()> {
        let hint_path = self.dir.join(hint_file_name(f.handle.id));
        let Some(file) = open_hint(self.fs, &hint_path)? else {
            return Ok(());
        };
        let (h, hint_bytes) = match read_hint(&*file, &hint_path, f.handle.id) {
            Ok(read) => read,
            Err(e @ Error::Io(_)) => return Err(e),
            Err(e) => {
                found.notes.push(format!(
                    "hint unusable ({e}); scanned the data file instead"
                ));
                return Ok(());
            }
        };
        if h.covered_len > f.len {
            let lost = Error::corruption(
                f.path(),
                f.len,
                CorruptionKind::Invariant(format!(
                    "the data file has {} bytes, but its hint {} proves {} bytes of it were synced: durable data is gone",
                    f.len,
                    hint_path.display(),
                    h.covered_len
                )),
            );
            return found.absorb_or_accept(self.rules, lost); // salvage: scan what is left
        }
        if self.rules.verify || h.covered_len < f.handle.header_len {
            return Ok(());
        }
        self.counters.hints_loaded.fetch_add(1, Relaxed);
        self.use_hint(f, h, hint_bytes);
        Ok(())
    }

    fn use_hint(&self, f: &mut LoadedFile, h: Hint, hint_bytes: u64) {
        f.run = h.entries;
        f.min_seq = h.min_seq;
        f.max_seq = h.max_seq;
        f.records = h.records;
        f.hint_covers = h.covered_len;
        f.hint_bytes = hint_bytes;
    }

    /// Scans the part of a data file its hint does not cover (all of it
    /// without a usable hint), every record's CRC checked.
    fn scan_rest(&self, f: &mut LoadedFile, found: &mut Findings) -> Result<()> {
        let scan_from = f.hint_covers.max(header_len(f.version));
        if scan_from >= f.len {
            return Ok(());
        }
        self.counters.data_files_scanned.fetch_add(1, Relaxed);
        let frontier_rule = f.version >= FRONTIER_FORMAT_VERSION;
        self.scan_range(f, scan_from, frontier_rule, found)
    }

    /// Scans `f` from `scan_from` to its end, adding its records; leaves a
    /// bad tail in `f.bad_tail`.
    pub fn scan_range(
        &self,
        f: &mut LoadedFile,
        scan_from: u64,
        frontier_rule: bool,
        found: &mut Findings,
    ) -> Result<()> {
        let (id, path, file) = (
            f.handle.id,
            f.path().to_path_buf(),
            Arc::clone(&f.handle.file),
        );
        let range = LogRange {
            path: &path,
            file: &*file,
            from: scan_from,
            to: f.len,
        };
        let mut visited = 0;
        let LoadedFile {
            run,
            min_seq,
            max_seq,
            ..
        } = f;
        let skips = self.rules.skips_damage();
        let scanned = scan_log(range, skips, frontier_rule, |offset, rec_len, rec, _| {
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
        });
        let outcome = match scanned {
            Ok(outcome) => outcome,
            Err(e) => {
                // Under `Verify`: damage with no valid record to resume at.
                // Keep what was read before it; nothing after it is loaded.
                f.records += visited;
                return found.absorb(self.rules, e);
            }
        };
        f.records += outcome.records;
        if outcome.salvaged_bytes > 0 {
            self.note_salvage(&path, &outcome, found);
        }
        if outcome.torn_bytes > 0 {
            let zeros = all_zero(&*file, outcome.valid_end, f.len)?;
            let mut bad = BadTail::of(outcome.valid_end, outcome.torn_bytes, zeros);
            bad.frontier_judged = outcome.dropped_unsynced;
            f.bad_tail = Some(bad);
        }
        Ok(())
    }

    fn note_salvage(
        &self,
        path: &Path,
        outcome: &crate::log_scan::ScanOutcome,
        found: &mut Findings,
    ) {
        let c = self.counters;
        c.salvaged_bytes.fetch_add(outcome.salvaged_bytes, Relaxed);
        c.salvaged_records
            .fetch_add(outcome.salvaged_records, Relaxed);
        found.notes.push(format!(
            "{} skipped {} damaged bytes of {} and dropped {} intact records of the batches the damage broke",
            if self.rules.salvage { "salvage" } else { "verify" },
            outcome.salvaged_bytes,
            path.display(),
            outcome.salvaged_records
        ));
        if !self.rules.salvage {
            found.damage.extend(outcome.damage.iter().cloned());
        }
    }
}
