//! Which data file a crash may have torn.
//!
//! Only the file being appended to when the crash hit, the active file, can
//! end in a torn write. Every other data file was synced whole before it
//! stopped changing: a rollover trims the active file's preallocated space
//! and syncs the file before it creates the next one, and a merge syncs its
//! output before renaming it into place (an output still being written is a
//! `*.tmp` file, which open deletes). So a failing tail in any other file is
//! damage, and truncating it could drop a record that matters, such as the
//! tombstone that hides an older put.
//!
//! The file system does not record which file was active; the contents
//! tell. Records are numbered in the order they are written and the active
//! file only ever holds the newest ones, so the active file is:
//!
//! - a file holding no complete record, if there is one (a rollover or an
//!   open created it after every other file was sealed; it had not reached
//!   the disk whole). A sealed file always holds a record, and one that has
//!   a hint file once had records synced, so neither counts; of two such
//!   files the one with the higher id was created last;
//! - otherwise the one file holding the highest sequence number. If two
//!   files hold it (a merge that crashed between renaming its output into
//!   place and deleting its input leaves copies), neither was active: the
//!   active file then held no complete record and is gone.
//!
//! One case is misjudged: a sealed file without a hint whose every record
//! is damaged, with nothing valid after the damage, looks like a torn new
//! file and is removed as one.

/// What the rule needs to know about one data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TailFacts {
    /// The file's id.
    pub id: u32,
    /// Complete records found in it (from its hint and its scan).
    pub records: u64,
    /// Highest sequence number among them (meaningless without records).
    pub max_seq: u64,
    /// A hint file of this data file exists (usable or not).
    pub has_hint_file: bool,
}

/// The id of the data file that may end in a torn write, if any (see the
/// module docs).
pub fn may_be_torn(files: &[TailFacts]) -> Option<u32> {
    let newly_created = files
        .iter()
        .filter(|f| f.records == 0 && !f.has_hint_file)
        .map(|f| f.id)
        .max();
    if newly_created.is_some() {
        return newly_created;
    }
    let with_records = || files.iter().filter(|f| f.records > 0);
    let newest = with_records().map(|f| f.max_seq).max()?;
    let mut holders = with_records().filter(|f| f.max_seq == newest);
    match (holders.next(), holders.next()) {
        (Some(only), None) => Some(only.id),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(id: u32, records: u64, max_seq: u64, has_hint_file: bool) -> TailFacts {
        TailFacts {
            id,
            records,
            max_seq,
            has_hint_file,
        }
    }

    #[test]
    fn the_file_with_the_newest_records_was_active() {
        // File ids say nothing about age: merge output takes fresh ids.
        let files = [file(3, 10, 50, false), file(7, 10, 20, true)];
        assert_eq!(may_be_torn(&files), Some(3));
    }

    #[test]
    fn a_file_without_records_was_created_last() {
        let files = [file(3, 10, 50, false), file(2, 0, 0, false)];
        assert_eq!(may_be_torn(&files), Some(2));
        let both = [file(4, 0, 0, false), file(2, 0, 0, false)];
        assert_eq!(may_be_torn(&both), Some(4));
    }

    #[test]
    fn a_file_with_a_hint_held_records() {
        let files = [file(3, 10, 50, false), file(9, 0, 0, true)];
        assert_eq!(may_be_torn(&files), Some(3));
    }

    #[test]
    fn copies_of_the_newest_record_mean_no_file_was_active() {
        let files = [file(3, 10, 50, true), file(8, 4, 50, true)];
        assert_eq!(may_be_torn(&files), None);
        assert_eq!(may_be_torn(&[]), None);
    }
}
