//! Step 4 of open: the tails settled. The active file (the one the file
//! set names, or for a store from before it, the one the contents say:
//! [`super::torn_tail`]) may end in a torn write, which is dropped; a bad
//! tail anywhere else is damage (or, under salvage, dropped and reported).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;

use kv_core::{CorruptionKind, Error, Result};

use super::judge::Fate;
use super::load::{BadTail, LoadedFile, Loader};
use super::torn_tail::{may_be_torn, TailFacts};
use super::Recovery;
use crate::file_set::FileSet;

/// A truncation a read-write open makes: file index, new length.
pub(super) type Truncation = (usize, u64);

/// The facts the rule of [`super::torn_tail`] needs about a file.
pub(super) fn tail_facts(f: &LoadedFile) -> TailFacts {
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
pub(super) fn active_at_crash(
    files: &[LoadedFile],
    fates: &[Fate],
    set: Option<&FileSet>,
) -> Option<u32> {
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
    pub(super) fn settle_tails(
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

    fn note_torn_tail(&mut self, f: &LoadedFile, tail: &BadTail) {
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

    fn judge_bad_tail(&mut self, f: &LoadedFile, tail: &BadTail) -> Result<()> {
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
}
