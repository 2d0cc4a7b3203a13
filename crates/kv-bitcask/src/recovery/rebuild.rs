//! Step 6 of open: the keydir and file table rebuilt from the newest
//! record per key of every file ([`super::resolve`]: sequence numbers
//! decide, not file ids), the expiry index of the live TTL puts, and the
//! next sequence number.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use kv_core::{CorruptionKind, Error, Result};

use super::load::{Findings, LoadedFile};
use super::resolve::{resolve, Run};
use super::settle::pick_active;
use super::Recovery;
use crate::data_file::verify_put;
use crate::entry_list::EntryList;
use crate::expiry_index::ExpiryIndex;
use crate::keydir::KeydirBuilder;
use crate::state::{payload_bytes, FileInfo, State};

impl Recovery<'_> {
    /// Step 6 whole: the state (keydir, file table, expiry index) built from
    /// `files`, and the next sequence number.
    ///
    /// # Errors
    /// I/O errors reading a TTL put's expiry; `Corruption` if the sequence
    /// numbers are used up.
    pub(super) fn rebuild_state(&mut self, files: &mut [LoadedFile]) -> Result<(State, u64)> {
        let keep = self.runs_needed_later(files);
        let (mut state, live_ttl) = build_state(files, keep);
        index_expiries(&mut state, &live_ttl, &mut self.found)?;
        let next_seq = next_sequence(self.dir, files)?;
        Ok((state, next_seq))
    }

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
