//! `check()`: full verification of everything the store holds.
//!
//! For every data file: its length matches what the store expects, its
//! header decodes, and every record decodes with a valid CRC up to the exact
//! end of its data (a torn tail in an open store is corruption); past the
//! data, the active file may hold preallocated space, which must be all
//! zeros, and no other file may hold anything. For every hint file:
//! it decodes and checksums, counts the records it covers right, every one
//! of them has a sequence number inside its stated bounds, and each of its
//! entries names a real record (same offset, length, sequence number, kind
//! and key) within the length it covers. Finally the
//! newest record of every key across all files (resolved as open does) is
//! compared with the keydir: every keydir entry must be exactly that record,
//! and every key whose newest record is a put must be in the keydir.
//!
//! Damage is a list: every damaged spot found is recorded in
//! `CheckReport::damage` (the scan of a data file goes on after a damaged
//! record, as salvage would), and the keydir comparison is skipped when a
//! file is damaged (the damage explains any difference). On a store opened
//! read-only, the torn tail that open left on disk is a note, not damage.
//! Unexpected files in the directory are listed in the notes by open.
//!
//! Cost: reads every byte of every data and hint file once (one file in
//! memory at a time) and holds the newest record per key of every file,
//! about the size of the keydir. It holds the writer lock throughout, so
//! writes wait (reads do not), and no merge runs meanwhile.

use std::path::Path;

use kv_core::codec::{RecordKind, HEADER_BYTES, STREAM_CHUNK_BYTES};
use kv_core::{CheckReport, CorruptionKind, Error, Result};

use crate::data_file::{decode_data_header, hint_file_name, CURRENT_HEADER_BYTES};
use crate::entry_list::EntryList;
use crate::hint::{open_hint, read_hint};
use crate::keydir::Entry;
use crate::log_scan::{scan_log, LogRange};
use crate::resolve::{resolve, Run};
use crate::state::FileInfo;
use crate::store::Inner;
use crate::store_dir::StoreDir;
use crate::ttl::plain_seq;

/// A data file being checked, and what the store knows of it.
#[derive(Debug, Clone, Copy)]
struct FileUnderCheck<'a> {
    id: u32,
    f: &'a FileInfo,
    /// The active file may hold preallocated space past its data.
    is_active: bool,
    /// Its length on disk, if a read-only open left a torn tail there.
    torn_on_disk: Option<u64>,
}

/// One record's place, for cross-checking hints.
#[derive(Debug, Clone, Copy)]
struct Placed {
    offset: u64,
    len: u32,
    stored_seq: u64,
    tombstone: bool,
}

/// Runs the full check (see the module docs).
///
/// # Errors
/// I/O failures; `Poisoned` on a poisoned store (its buffered writes can no
/// longer reach the disk). Damage is not an error: it is listed in
/// `report.damage`, every spot found.
pub(crate) fn check(inner: &Inner) -> Result<CheckReport> {
    let _merging = inner.merger.lock();
    let mut w = inner.log.lock_writer();
    if !inner.options.core.open_mode.is_read_only() {
        w.check_usable()?;
        if let Err(e) = w.flush() {
            return Err(w.poison(e));
        }
    }
    // A copy of the file table: the accounting is never held while a
    // keydir lock is requested (and with the writer lock and the merge
    // lock held, nothing changes either meanwhile).
    let files = inner.state.accounting().files.clone();
    let mut report = CheckReport {
        notes: inner.found_at_open.notes.clone(),
        ..CheckReport::default()
    };
    let mut runs = Vec::with_capacity(files.len());
    for (id, f) in &files {
        let torn_on_disk = inner.found_at_open.disk_lengths.get(id).copied();
        let is_active = *id == w.active.id;
        let file = FileUnderCheck {
            id: *id,
            f,
            is_active,
            torn_on_disk,
        };
        runs.push(check_file(&inner.dir, &file, &mut report)?);
    }
    if report.damage.is_empty() {
        if let Some(what) = inner
            .state
            .with_all_keys(|keydir| compare_keydir(keydir, &runs))
        {
            report.record(Error::corruption(
                inner.dir.path(),
                0,
                CorruptionKind::Invariant(what),
            ))?;
        }
    } else {
        report.notes.push(
            "the keydir was not compared with the files: their damage already explains any difference"
                .into(),
        );
    }
    inner.merger.health().report(&mut report);
    for d in &inner.found_at_open.damage {
        if !report
            .damage
            .iter()
            .any(|e| e.file == d.file && e.offset == d.offset)
        {
            report.damage.push(d.clone());
        }
    }
    report
        .damage
        .sort_by(|a, b| (&a.file, a.offset).cmp(&(&b.file, b.offset)));
    let keys = inner.state.keydir_len();
    let expired = inner
        .state
        .accounting()
        .expired_at(inner.options.clock.now_unix_ms());
    report.live_keys = (keys as u64).saturating_sub(expired.keys);
    Ok(report)
}

/// Compares the newest record of every key across `runs` (resolved as open
/// does) with the keydir; the first difference, if any.
fn compare_keydir(
    keydir: &mut dyn Iterator<Item = (&[u8], Entry)>,
    runs: &[EntryList],
) -> Option<String> {
    let refs: Vec<Run<'_>> = runs.iter().map(Run::Borrowed).collect();
    let mut mismatch = None;
    resolve(refs, |key, tombstone, newest| {
        if mismatch.is_some() || tombstone {
            return;
        }
        match keydir.next() {
            // Equal sequence numbers are byte-identical copies (a merge that
            // crashed after committing its output but before deleting its
            // input leaves both).
            Some((k, e))
                if k == key
                    && (e == newest
                        || (e.stored_seq == newest.stored_seq && e.len == newest.len)) => {}
            Some((k, e)) => {
                mismatch = Some(format!(
                    "keydir has key {k:?} at {e:?}, but the newest record of key {key:?} is {newest:?}"
                ));
            }
            None => {
                mismatch = Some(format!(
                    "key {key:?} has a live put at {newest:?} that the keydir lacks"
                ));
            }
        }
    });
    if mismatch.is_none() {
        if let Some((k, e)) = keydir.next() {
            mismatch = Some(format!(
                "keydir has key {k:?} at {e:?}, which is not the newest record of any key"
            ));
        }
    }
    mismatch
}

/// Checks one data file and its hint, recording every damaged spot in
/// `report`; returns the file's newest record per key (of what could be
/// read).
///
/// # Errors
/// I/O failures only.
fn check_file(
    dir: &StoreDir,
    file_under_check: &FileUnderCheck<'_>,
    report: &mut CheckReport,
) -> Result<EntryList> {
    let FileUnderCheck {
        id, f, is_active, ..
    } = *file_under_check;
    let path = &f.handle.path;
    let (len, data_end) = check_length(file_under_check, report)?;
    let file = &*f.handle.file;
    if !check_header(path, id, file, data_end, report)? {
        return Ok(EntryList::new());
    }
    let damage_before = report.damage.len();
    let range = LogRange {
        path,
        file,
        from: f.handle.header_len,
        to: data_end,
    };
    let (run, placed) = check_records(id, range, report)?;
    let data_damaged = report.damage.len() > damage_before;
    report.files_checked += 1;
    report.bytes_checked += len;
    let hint_path = dir.join(hint_file_name(id));
    match open_hint(dir.fs(), &hint_path)? {
        None if !is_active => report
            .notes
            .push(format!("{} has no hint; open will scan it", path.display())),
        None => {}
        Some(_) if data_damaged => report.notes.push(format!(
            "{}: not cross-checked, its data file is damaged (the damage explains any difference)",
            hint_path.display()
        )),
        Some(file) => {
            report.files_checked += 1;
            report.bytes_checked += file.len()?;
            if let Err(e) = check_hint(&hint_path, id, &*file, range, &placed, report) {
                report.record(e)?;
            }
        }
    }
    Ok(run)
}

/// Checks a data file's length against what the store wrote (plus, for
/// the active file, its preallocated space, which must be all zeros);
/// returns the file's length and the end of its data.
fn check_length(file: &FileUnderCheck<'_>, report: &mut CheckReport) -> Result<(u64, u64)> {
    let FileUnderCheck {
        f,
        is_active,
        torn_on_disk,
        ..
    } = *file;
    let path = &f.handle.path;
    let invariant = |offset: u64, what: String| {
        Error::corruption(path, offset, CorruptionKind::Invariant(what))
    };
    let len = f.handle.file.len()?;
    let data_len = f.total_bytes;
    let allocated = if is_active {
        f.handle.allocated_len().max(data_len)
    } else {
        data_len
    };
    if let Some(disk_len) = torn_on_disk {
        report.notes.push(format!(
            "{}: {} bytes of torn tail after offset {data_len}, left on disk by a read-only open (a read-write open truncates them)",
            path.display(),
            disk_len.saturating_sub(data_len)
        ));
    }
    if len != torn_on_disk.unwrap_or(allocated) {
        report.record(invariant(
            len.min(data_len),
            format!(
                "data file has {len} bytes, the store wrote {data_len} and preallocated {} past them",
                allocated - data_len
            ),
        ))?;
    }
    let data_end = data_len.min(len);
    if let Some(at) = first_non_zero(&*f.handle.file, data_end, allocated.min(len))? {
        report.record(invariant(
            at,
            "a non-zero byte in the preallocated space past the data".into(),
        ))?;
    }
    Ok((len, data_end))
}

/// Checks the header of data file `id` (including the id it names);
/// false, with the damage recorded, if it is bad.
fn check_header(
    path: &Path,
    id: u32,
    file: &dyn kv_core::File,
    data_end: u64,
    report: &mut CheckReport,
) -> Result<bool> {
    let mut header = vec![0; data_end.min(CURRENT_HEADER_BYTES) as usize];
    file.read_exact_at(&mut header, 0)?;
    let damage = match decode_data_header(&header, path) {
        Ok(Some(h)) => match h.check_id(path, id) {
            Ok(()) => return Ok(true),
            Err(e) => e,
        },
        Ok(None) => Error::corruption(
            path,
            0,
            CorruptionKind::Invariant("data file is shorter than its header".into()),
        ),
        Err(e) => e,
    };
    report.record(damage)?;
    Ok(false)
}

/// The offset of the first non-zero byte of `file[from..to)`, read in
/// chunks.
fn first_non_zero(file: &dyn kv_core::File, from: u64, to: u64) -> Result<Option<u64>> {
    let mut buf = Vec::new();
    let mut at = from;
    while at < to {
        let n = (to - at).min(STREAM_CHUNK_BYTES as u64) as usize;
        buf.resize(n, 0);
        file.read_exact_at(&mut buf, at)?;
        if let Some(i) = buf.iter().position(|&b| b != 0) {
            return Ok(Some(at + i as u64));
        }
        at += n as u64;
    }
    Ok(None)
}

/// Verifies every record of `range` (a data file's records up to the end
/// of its data), read in chunks, recording each damaged spot and going on
/// after it; returns the newest record per key and every record's place.
fn check_records(
    id: u32,
    range: LogRange<'_>,
    report: &mut CheckReport,
) -> Result<(EntryList, Vec<Placed>)> {
    let path = range.path;
    let mut run = EntryList::new();
    let mut placed = Vec::new();
    let scanned = scan_log(range, true, false, |offset, rec_len, rec, _| {
        let tombstone = rec.kind == RecordKind::Delete;
        let entry = crate::keydir::Entry {
            file_id: id,
            offset: offset as u32,
            len: rec_len,
            stored_seq: rec.seq,
        };
        run.push(rec.key, tombstone, entry);
        placed.push(Placed {
            offset,
            len: rec_len,
            stored_seq: rec.seq,
            tombstone,
        });
        report.items_checked += 1;
        Ok(())
    });
    match scanned {
        Ok(outcome) => {
            report.damage.extend(outcome.damage);
            if outcome.torn_bytes > 0 {
                report.record(Error::corruption(
                    path,
                    outcome.valid_end,
                    CorruptionKind::Invariant(format!(
                        "{} bytes after the last complete record",
                        outcome.torn_bytes
                    )),
                ))?;
            }
        }
        Err(e) => report.record(e)?,
    }
    run.sort_and_keep_newest();
    Ok((run, placed))
}

/// True if the record at `offset` of `data` holds `key` (read from the file).
fn stored_key_is(data: LogRange<'_>, offset: u64, key: &[u8]) -> Result<bool> {
    let start = offset + HEADER_BYTES as u64;
    let end = start + key.len() as u64;
    if end > data.to {
        return Ok(false);
    }
    let mut stored = vec![0; key.len()];
    data.file.read_exact_at(&mut stored, start)?;
    Ok(stored == key)
}

/// Cross-checks a hint against the records of its data file.
fn check_hint(
    hint_path: &Path,
    id: u32,
    file: &dyn kv_core::File,
    data: LogRange<'_>,
    placed: &[Placed],
    report: &mut CheckReport,
) -> Result<()> {
    let hint = match read_hint(file, hint_path, id) {
        Ok((hint, _)) => hint,
        Err(e @ Error::Io(_)) => return Err(e),
        Err(e) => {
            report
                .notes
                .push(format!("hint unusable ({e}); open will scan its data file"));
            return Ok(());
        }
    };
    let bad = |what: String| Error::corruption(hint_path, 0, CorruptionKind::Invariant(what));
    if hint.covered_len > data.to {
        return Err(bad(format!(
            "hint covers {} bytes of a {}-byte data file",
            hint.covered_len, data.to
        )));
    }
    let covered = placed
        .iter()
        .filter(|p| p.offset < hint.covered_len)
        .count() as u64;
    if covered != hint.records {
        return Err(bad(format!(
            "hint counts {} records, the {} bytes it covers hold {covered}",
            hint.records, hint.covered_len
        )));
    }
    for p in placed.iter().filter(|p| p.offset < hint.covered_len) {
        let seq = plain_seq(p.stored_seq);
        if seq < hint.min_seq || seq > hint.max_seq {
            return Err(bad(format!(
                "record at offset {} has sequence {seq}, outside the hint's bounds {}..={}",
                p.offset, hint.min_seq, hint.max_seq
            )));
        }
    }
    for (key, tombstone, e) in hint.entries.iter() {
        report.items_checked += 1;
        let found = placed
            .binary_search_by_key(&u64::from(e.offset), |p| p.offset)
            .ok()
            .and_then(|i| placed.get(i));
        let matches = found.is_some_and(|p| {
            p.len == e.len && p.stored_seq == e.stored_seq && p.tombstone == tombstone
        }) && stored_key_is(data, u64::from(e.offset), key)?;
        if !matches {
            return Err(bad(format!(
                "entry for key {key:?} names offset {} which does not hold that record",
                e.offset
            )));
        }
    }
    Ok(())
}
