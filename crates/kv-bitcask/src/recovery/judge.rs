//! Step 3 of open: the data files judged against the store's record of
//! its file set ([`crate::file_set`]): every listed file (and every file a
//! hint describes) is there, every sealed one exactly as long as when it
//! was sealed, and what becomes of a file with no complete record (kept,
//! removed as a torn creation, or quarantined; damage if it once held
//! records).

use std::collections::BTreeSet;

use kv_core::{CorruptionKind, Error, Result};

use super::listing::Listing;
use super::load::LoadedFile;
use super::tails::tail_facts;
use super::torn_tail::{may_be_torn, TailFacts};
use super::Recovery;
use crate::data_file::{
    data_file_name, hint_file_name, DATA_FORMAT_VERSION, FILE_SET_STORE_VERSION,
};
use crate::file_set::{read_file_set, FileSet, FILE_SET_NAME};

/// What open does with a data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fate {
    /// Part of the store (dropped from memory if it holds no record).
    Keep,
    /// A file created after the last file-set record, nothing of it
    /// durable: removed.
    TornCreation,
    /// A file with no record the store cannot account for: moved to
    /// `quarantine/`, never deleted.
    Quarantine,
}

impl Recovery<'_> {
    /// The store's file-set record. A store marked with a format from
    /// before it has none (it gets one at the end of this open, read-write);
    /// one marked with a later format must have it, unless nothing was ever
    /// written to it (a crash between creating the store and writing its
    /// first record).
    pub(super) fn file_set(
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
    pub(super) fn judge_missing(
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
    pub(super) fn judge_sealed_lengths(
        &mut self,
        files: &[LoadedFile],
        set: Option<&FileSet>,
    ) -> Result<()> {
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
    pub(super) fn fates(
        &mut self,
        files: &[LoadedFile],
        set: Option<&FileSet>,
    ) -> Result<Vec<Fate>> {
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
pub(super) fn kept_files(
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
