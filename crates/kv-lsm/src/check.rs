//! `check()`: full verification. Reads every byte of every live table and
//! WAL: every block checksum, key order inside every block and across each
//! table, the index against the blocks, the properties against the
//! entries, no bloom false negative for any stored key, no overlap between
//! the tables of a level below L0, every table the manifest names present.
//! Every finding is a damage entry; unknown files are notes.

use std::cmp::Ordering;

use kv_core::{CheckReport, CorruptionKind, Damage, Direction, Error, KeyRange, Result};

use crate::files::{is_fixed_name, parse_file_name};
use crate::ikey;
use crate::inner::Inner;
use crate::table::Table;

fn invariant(report: &mut CheckReport, table: &Table, offset: u64, what: String) {
    report.damage.push(Damage {
        file: table.path().to_path_buf(),
        offset,
        kind: CorruptionKind::Invariant(what),
    });
}

fn record(report: &mut CheckReport, e: Error) -> Result<()> {
    match Damage::from_error(&e) {
        Some(d) => {
            report.damage.push(d);
            Ok(())
        }
        None => Err(e),
    }
}

/// Verifies every block of `table` (as `check()` does) and returns the
/// damage found: a `Verify` open leaves a damaged table out of the store it
/// reads, so reads see no damage.
///
/// # Errors
/// I/O failures other than damage.
pub fn verify_table(table: &Table) -> Result<Vec<Damage>> {
    let mut report = CheckReport::default();
    check_table(&mut report, table)?;
    Ok(report.damage)
}

/// Verifies one table.
fn check_table(report: &mut CheckReport, table: &Table) -> Result<()> {
    report.files_checked += 1;
    report.bytes_checked += table.size();
    let mut prev: Option<Vec<u8>> = None;
    let mut entries = 0u64;
    // A damaged block is listed once; the whole-table invariants (last key,
    // entry count) are then not checked, as the damage already explains them.
    let mut damaged = false;
    for (i, idx) in table.index().iter().enumerate() {
        let block = match table.read_block_uncached(idx.handle) {
            Ok(b) => b,
            Err(e) => {
                record(report, e)?;
                prev = None;
                damaged = true;
                continue;
            }
        };
        let offset = idx.handle.offset;
        let list = match block.entries() {
            Ok(list) => list,
            Err(kind) => {
                report.damage.push(Damage {
                    file: table.path().to_path_buf(),
                    offset,
                    kind,
                });
                prev = None;
                damaged = true;
                continue;
            }
        };
        for (k, _) in &list {
            entries += 1;
            report.items_checked += 1;
            if ikey::decode(k).is_none() {
                invariant(
                    report,
                    table,
                    offset,
                    "entry key is not an internal key".into(),
                );
            }
            if prev
                .as_deref()
                .is_some_and(|p| ikey::compare(p, k) != Ordering::Less)
            {
                invariant(
                    report,
                    table,
                    offset,
                    format!("keys out of order in block {i}"),
                );
            }
            if !table.may_contain(ikey::user_key(k)) {
                invariant(report, table, offset, "bloom filter false negative".into());
            }
            prev = Some(k.clone());
        }
        // The index key is a separator: >= the block's last key, and < the
        // next block's first key (checked with that block).
        if list
            .last()
            .is_none_or(|(k, _)| ikey::compare(k, &idx.last) == Ordering::Greater)
        {
            invariant(
                report,
                table,
                offset,
                format!("index key of block {i} is below its last key"),
            );
        }
        let below_previous_separator = i
            .checked_sub(1)
            .and_then(|p| table.index().get(p))
            .zip(list.first())
            .is_some_and(|(sep, (first, _))| ikey::compare(first, &sep.last) != Ordering::Greater);
        if below_previous_separator {
            invariant(
                report,
                table,
                offset,
                format!("first key of block {i} is not above the previous index key"),
            );
        }
        if i == 0
            && list.first().map(|(k, _)| k.as_slice()) != Some(table.props().smallest.as_slice())
        {
            invariant(
                report,
                table,
                offset,
                "first key differs from the properties".into(),
            );
        }
    }
    if damaged {
        return Ok(());
    }
    if prev
        .as_deref()
        .is_some_and(|p| p != table.props().largest.as_slice())
    {
        invariant(
            report,
            table,
            0,
            "last key differs from the properties".into(),
        );
    }
    if entries != table.props().entries {
        invariant(
            report,
            table,
            0,
            format!(
                "{entries} entries, properties say {}",
                table.props().entries
            ),
        );
    }
    Ok(())
}

/// Runs the full check.
///
/// # Errors
/// I/O failures.
pub fn check(inner: &Inner) -> Result<CheckReport> {
    let mut report = CheckReport::default();
    report.damage.extend(inner.open_damage.iter().cloned());
    report.notes.extend(inner.open_notes.iter().cloned());
    let sv = inner.current();
    for (level, files) in sv.version.levels.iter().enumerate() {
        for t in files {
            if !inner.fs.exists(t.path())? {
                report.damage.push(Damage {
                    file: t.path().to_path_buf(),
                    offset: 0,
                    kind: CorruptionKind::MissingFile(format!(
                        "table {} of level {level}",
                        t.number()
                    )),
                });
                continue;
            }
            check_table(&mut report, t)?;
        }
        if level > 0 {
            for pair in files.windows(2) {
                if pair[0].largest() >= pair[1].smallest() {
                    invariant(
                        &mut report,
                        &pair[1],
                        0,
                        format!("tables overlap in level {level}"),
                    );
                }
            }
        }
    }
    let mut wals: Vec<u64> = sv.imms.iter().map(|m| m.wal_number()).collect();
    wals.push(sv.mem.wal_number());
    for n in wals {
        let path = crate::wal::wal_path(&inner.dir, n);
        if !inner.fs.exists(&path)? {
            continue;
        }
        let replayed = match crate::wal::replay(&*inner.fs, &path, &mut |_, _, _| {}) {
            Ok(replayed) => replayed,
            // A flush that finished after `sv` was taken retired this WAL:
            // its records are in a table now, which the version holds.
            Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        report.files_checked += 1;
        report.items_checked += replayed.records;
        if let Some(e) = replayed.damage {
            record(&mut report, e)?;
        }
    }
    for name in inner.fs.list(&inner.dir)? {
        if !is_fixed_name(&name) && parse_file_name(&name).is_none() {
            let note = format!("unexpected file {name} left alone");
            if !report.notes.contains(&note) {
                report.notes.push(note);
            }
        }
    }
    let mut live = 0u64;
    let scan = crate::read::scan(inner, &KeyRange::all(), Direction::Forward);
    let items: kv_core::ScanIter<'_> = match scan {
        Ok(items) => items,
        Err(e) => {
            record(&mut report, e)?;
            Box::new(std::iter::empty())
        }
    };
    for item in items {
        match item {
            Ok(_) => live += 1,
            Err(e) => {
                record(&mut report, e)?;
                break;
            }
        }
    }
    report.live_keys = live;
    report
        .damage
        .sort_by(|a, b| (&a.file, a.offset).cmp(&(&b.file, b.offset)));
    report.damage.dedup();
    Ok(report)
}
