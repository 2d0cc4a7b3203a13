//! Steps 1 and 2 of open: what the directory holds (a committed merge's
//! inputs deleted first), and every data file loaded ([`super::load`]).

use std::collections::BTreeSet;
use std::path::PathBuf;

use kv_core::identity::IDENTITY_FILE_NAME;
use kv_core::Result;

use super::act::QUARANTINE_DIR;
use super::load::{LoadedFile, Loader};
use super::Recovery;
use crate::data_file::{parse_file_name, FileName};
use crate::file_set::{FileSet, FILE_SET_NAME};
use crate::merge_commit::{pending_merge_inputs, remove_inputs, MERGE_COMMIT_FILE_NAME};

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
pub(super) struct Listing {
    pub data_ids: Vec<u32>,
    pub hint_ids: BTreeSet<u32>,
    /// Unfinished merge output and temporary files: removed (read-write).
    pub leftovers: Vec<PathBuf>,
}

impl Listing {
    /// The next data file id to hand out: above every data file and hint
    /// here and the file set's `next_id`.
    pub fn next_file_id(&self, set: Option<&FileSet>) -> u64 {
        self.data_ids
            .iter()
            .chain(&self.hint_ids) // a hint whose removal a crash undid must never describe a new file
            .map(|id| u64::from(*id) + 1)
            .chain(set.map(|s| s.next_id))
            .max()
            .unwrap_or(1)
    }
}

impl Recovery<'_> {
    /// The inputs of a merge that committed but did not finish deleting
    /// them: deleted now (read-write; the commit record stays until the
    /// file set no longer lists them), left out (read-only).
    pub(super) fn pending_merge(&mut self) -> Result<Vec<u32>> {
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
    pub(super) fn list_dir(&mut self, retired: &[u32]) -> Result<Listing> {
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

    /// Step 2: loads every data file of `listing` ([`Loader::load`]).
    pub(super) fn load_files(&mut self, listing: &Listing) -> Result<Vec<LoadedFile>> {
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
}
