//! Flush: the oldest immutable memtable becomes an L0 table.
//!
//! # Crash barriers, in order
//! 1. the table is written and synced, then the directory is synced (the
//!    table and its name are durable);
//! 2. the manifest edit naming it (with the new log number, the next file
//!    number and the last sequence number) is appended and synced;
//! 3. only then is the memtable's WAL removed.
//!
//! A crash before 2 leaves an unnamed table (removed at open) and the WAL
//! (replayed): nothing lost. A crash after 2 leaves the table named and the
//! WAL obsolete (its number is below the log number): nothing resurrected.

use std::ops::Bound;
use std::sync::Arc;

use kv_core::merge_iter::{MergeIter, MergeMode, SortedSource, VersionedEntry};
use kv_core::{Direction, Result};

use crate::files::{file_name, FileKind};
use crate::inner::{lock, Inner};
use crate::manifest::VersionEdit;
use crate::memtable::MemSource;
use crate::table::{BuildOptions, BuiltTable, Table, TableBuilder};
use crate::wal::wal_path;

/// The table build options of `inner`.
pub fn build_options(inner: &Inner) -> BuildOptions {
    BuildOptions {
        block_bytes: inner.options.block_bytes,
        restart_interval: inner.options.restart_interval,
        bloom_bits_per_key: inner.options.bloom_bits_per_key,
    }
}

/// Writes the versions `entries` yields (internal-key order) into tables,
/// cut at about `split_bytes` (never inside one user key's versions), each
/// synced; then syncs the directory. Returns the tables written (none for
/// an empty input).
///
/// # Errors
/// I/O failures and errors of `entries`.
pub fn write_tables(
    inner: &Inner,
    entries: &mut dyn Iterator<Item = Result<VersionedEntry>>,
    split_bytes: Option<u64>,
) -> Result<Vec<BuiltTable>> {
    write_tables_with(inner, entries, split_bytes, Vec::new(), &[])
}

/// As [`write_tables`], and writes `range_dels` into the first table (into
/// a table of its own, with `anchor` as its key range, when `entries`
/// yields nothing).
///
/// # Errors
/// As [`write_tables`].
pub fn write_tables_with(
    inner: &Inner,
    entries: &mut dyn Iterator<Item = Result<VersionedEntry>>,
    split_bytes: Option<u64>,
    range_dels: Vec<crate::range_del::RangeTombstone>,
    anchor: &[u8],
) -> Result<Vec<BuiltTable>> {
    let mut range_dels = Some(range_dels).filter(|r| !r.is_empty());
    let mut out = Vec::new();
    let mut builder: Option<TableBuilder> = None;
    let mut last_key: Option<Vec<u8>> = None;
    for entry in entries {
        let entry = entry?;
        let new_key = last_key.as_deref() != Some(entry.key.as_slice());
        if let (Some(b), Some(limit), true) = (&builder, split_bytes, new_key) {
            if b.estimated_bytes() >= limit {
                if let Some(done) = builder.take() {
                    out.push(done.finish()?);
                }
            }
        }
        if builder.is_none() {
            builder = Some(new_builder(inner)?);
        }
        if let (Some(b), Some(r)) = (builder.as_mut(), range_dels.take()) {
            b.set_range_dels(r, anchor);
        }
        if let Some(b) = builder.as_mut() {
            b.add(&entry.key, entry.seq, entry.value.as_deref())?;
        }
        if new_key {
            last_key = Some(entry.key);
        }
    }
    if builder.is_none() && range_dels.is_some() {
        // Range tombstones and no point entry: a table of its own.
        builder = Some(new_builder(inner)?);
    }
    if let Some(mut b) = builder {
        if let Some(r) = range_dels.take() {
            b.set_range_dels(r, anchor);
        }
        out.push(b.finish()?);
    }
    if !out.is_empty() {
        inner.fs.sync_dir(&inner.dir)?;
    }
    Ok(out)
}

fn new_builder(inner: &Inner) -> Result<TableBuilder> {
    let number = inner.alloc_file();
    let path = inner.dir.join(file_name(FileKind::Table, number));
    TableBuilder::create(&*inner.fs, &path, number, build_options(inner))
}

/// Opens the tables just written.
///
/// # Errors
/// As [`Table::open`].
pub fn open_built(inner: &Inner, built: &[BuiltTable]) -> Result<Vec<Arc<Table>>> {
    built
        .iter()
        .map(|b| {
            let path = inner.dir.join(file_name(FileKind::Table, b.number));
            Table::open(&inner.ctx, &path, b.number).map(Arc::new)
        })
        .collect()
}

/// Flushes the oldest immutable memtable; `Ok(false)` when there is none.
///
/// # Errors
/// I/O failures (the caller poisons the store).
pub fn flush_oldest(inner: &Inner) -> Result<bool> {
    let _one = lock(&inner.flush_lock);
    let Some(imm) = inner.current().imms.last().cloned() else {
        return Ok(false);
    };
    let source: Box<dyn SortedSource> =
        Box::new(MemSource::new(Arc::clone(&imm), Direction::Forward));
    let mode = MergeMode::Compaction {
        snapshots: inner.live_snapshots(),
        drop_tombstones: false,
    };
    let mut merged = MergeIter::new(vec![source], Direction::Forward, mode);
    merged.seek(Bound::Unbounded)?;
    let range_dels = imm.range_dels();
    let anchor = range_dels
        .iter()
        .map(|t| t.start.clone())
        .min()
        .unwrap_or_default();
    let built = write_tables_with(inner, &mut merged, None, range_dels, &anchor)?;
    let tables = open_built(inner, &built)?;
    let mut manifest = lock(&inner.manifest);
    let cur = inner.current();
    // The WAL of the next newer memtable is the oldest one still needed.
    let pos = cur.imms.iter().position(|m| Arc::ptr_eq(m, &imm));
    let log_number = match pos {
        Some(p) if p > 0 => cur.imms[p - 1].wal_number(),
        _ => cur.mem.wal_number(),
    };
    let edit = VersionEdit {
        log_number: Some(log_number),
        next_file: Some(inner.next_file.load(std::sync::atomic::Ordering::SeqCst)),
        last_seq: Some(inner.visible_seq.load(std::sync::atomic::Ordering::SeqCst)),
        added: built.iter().map(|b| (0, b.number, b.size)).collect(),
        ..VersionEdit::default()
    };
    if let Some(m) = manifest.as_mut() {
        m.append(&edit)?;
    }
    let added: Vec<_> = tables.into_iter().map(|t| (0, t)).collect();
    inner.install(|sv| crate::version::SuperVersion {
        mem: Arc::clone(&sv.mem),
        imms: sv
            .imms
            .iter()
            .filter(|m| !Arc::ptr_eq(m, &imm))
            .cloned()
            .collect(),
        version: Arc::new(sv.version.apply(&[], &added)),
    });
    drop(manifest);
    // Best effort: a WAL left behind is below the log number, so open
    // removes it.
    let _ = inner.fs.remove(&wal_path(&inner.dir, imm.wal_number()));
    let bytes: u64 = built.iter().map(|b| b.size).sum();
    inner.counters.add(&inner.counters.flushes, 1);
    inner
        .counters
        .add(&inner.counters.flush_bytes_written, bytes);
    inner.signal.wake();
    Ok(true)
}
