//! Step 5 of open (read-write only), once every file has been judged:
//! leftovers and torn creations removed, unaccounted files quarantined,
//! torn tails truncated. Nothing before this step changes the disk.

use kv_core::Result;

use super::judge::Fate;
use super::listing::Listing;
use super::load::LoadedFile;
use super::tails::Truncation;
use super::Recovery;
use crate::data_file::{data_file_name, hint_file_name};

/// Name of the directory files are moved to instead of being deleted.
pub const QUARANTINE_DIR: &str = "quarantine";

impl Recovery<'_> {
    /// Read-write, once everything is judged: removes leftovers and torn
    /// creations, quarantines, truncates.
    pub(super) fn act(
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
