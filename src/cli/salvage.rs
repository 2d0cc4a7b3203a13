//! `kv salvage --to NEW_DIR`: copy every readable pair of a damaged store
//! into a new store, and say what was left behind.
//!
//! The source is opened with [`kv_core::OpenMode::Verify`] (it opens with
//! what it can read, and changes no byte on disk); its [`Store::check`]
//! report lists the damaged spots, then forward scans copy every pair they
//! yield.
//!
//! A scan stops at the first item that fails to verify (the
//! [`kv_core::ScanIter`] contract), and the error names a file and an
//! offset, not the key. To go on past it, salvage finds that key: it is the
//! smallest key after the last one copied, and "is there a key in
//! `(last, s]`?" is monotone in `s`, so a binary search over the key's bytes
//! (reverse scans that look only at whether a first item exists, never at
//! its value) spells it out, and the next forward scan starts just past it.
//!
//! # Cost
//!
//! One scan of the store, plus about 9 one-item scans per byte of each
//! unreadable key.
//!
//! # Durability
//!
//! The new store is synced before the report is written: when `kv salvage`
//! exits 0, every pair it reports as copied is durable.

use std::io::Write;
use std::ops::Bound;

use kv_core::limits::MAX_KEY_BYTES;
use kv_core::{Damage, Direction, KeyRange, Store};

use super::commands::write_damage;
use super::error::CliError;

/// What a salvage did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SalvageReport {
    /// Pairs copied into the new store.
    pub copied: u64,
    /// Scan items that failed to verify (their pairs were not copied).
    pub unreadable: u64,
    /// Every damaged spot of the source: what was left behind.
    pub left_behind: Vec<Damage>,
}

/// Copies every readable pair of `source` into `target` and syncs `target`.
///
/// # Errors
/// Any error of `target`; errors of `source` other than corruption (an I/O
/// failure stops the salvage: what was copied so far stays in `target`).
pub fn salvage(source: &dyn Store, target: &dyn Store) -> Result<SalvageReport, CliError> {
    let mut report = SalvageReport {
        left_behind: source.check()?.damage,
        ..SalvageReport::default()
    };
    let mut after: Bound<Vec<u8>> = Bound::Unbounded;
    loop {
        let failed = copy_until_damage(source, target, &mut after, &mut report)?;
        let Some(error) = failed else { break };
        let Some(spot) = Damage::from_error(&error) else {
            return Err(error.into());
        };
        report.unreadable += 1;
        if !report.left_behind.contains(&spot) {
            report.left_behind.push(spot);
        }
        // The unreadable item is the smallest key after `after`: skip it.
        match first_key_after(source, &after)? {
            Some(bad) => after = Bound::Excluded(bad),
            None => break,
        }
    }
    target.sync()?;
    Ok(report)
}

/// Copies pairs from just past `after` on, moving `after` past each copied
/// key; returns the error of the item that stopped the scan (`None`: the
/// scan reached the end).
fn copy_until_damage(
    source: &dyn Store,
    target: &dyn Store,
    after: &mut Bound<Vec<u8>>,
    report: &mut SalvageReport,
) -> Result<Option<kv_core::Error>, CliError> {
    let range = KeyRange {
        start: after.clone(),
        end: Bound::Unbounded,
    };
    for item in source.scan(&range, Direction::Forward)? {
        match item {
            Ok((key, value)) => {
                target.put(&key, &value)?;
                report.copied += 1;
                *after = Bound::Excluded(key);
            }
            Err(e) => return Ok(Some(e)),
        }
    }
    Ok(None)
}

/// The smallest key of `source` after `after`, found without reading its
/// value: byte by byte, the smallest byte `b` such that `(after, P b FF..]`
/// holds a key (FF.. pads to the longest key, so every key starting with
/// `P b` is in it), then whether `P b` itself is the key.
///
/// # Errors
/// The source's, except corruption in the items looked at (only their
/// existence counts).
fn first_key_after(
    source: &dyn Store,
    after: &Bound<Vec<u8>>,
) -> Result<Option<Vec<u8>>, CliError> {
    let padded = |prefix: &[u8]| {
        let mut probe = prefix.to_vec();
        probe.resize(MAX_KEY_BYTES.max(prefix.len()), 0xff);
        probe
    };
    if !has_key_in(source, after, &padded(&[]))? {
        return Ok(None);
    }
    let mut key = Vec::new();
    while key.len() < MAX_KEY_BYTES {
        if has_key_in(source, after, &key)? {
            // Checked before extending: the empty key too.
            return Ok(Some(key));
        }
        // Invariant: the key starts with `key` and is longer.
        let (mut low, mut high) = (0u16, 255u16);
        while low < high {
            let mid = (low + high) / 2;
            key.push(mid as u8);
            let found = has_key_in(source, after, &padded(&key))?;
            key.pop();
            if found {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        key.push(low as u8);
    }
    Ok(Some(key))
}

/// True when `source` holds a key in `(after, upto]`.
fn has_key_in(source: &dyn Store, after: &Bound<Vec<u8>>, upto: &[u8]) -> Result<bool, CliError> {
    let empty = match after {
        Bound::Excluded(low) => upto <= low.as_slice(),
        Bound::Included(low) => upto < low.as_slice(),
        Bound::Unbounded => false,
    };
    if empty {
        // An inverted range holds nothing; not every engine accepts one.
        return Ok(false);
    }
    let range = KeyRange {
        start: after.clone(),
        end: Bound::Included(upto.to_vec()),
    };
    let first = source.scan(&range, Direction::Reverse)?.next();
    match first {
        None => Ok(false),
        Some(Ok(_)) => Ok(true),
        Some(Err(e)) if e.is_corruption() => Ok(true),
        Some(Err(e)) => Err(e.into()),
    }
}

/// Writes the report: `copied N pairs into DIR`, how many scan items were
/// unreadable, and the damaged spots left behind, one per line.
///
/// # Errors
/// The writer's.
pub fn write_report(
    out: &mut dyn Write,
    report: &SalvageReport,
    target: &std::path::Path,
) -> std::io::Result<()> {
    writeln!(
        out,
        "copied {} pair{} into {}",
        report.copied,
        if report.copied == 1 { "" } else { "s" },
        target.display()
    )?;
    if report.unreadable > 0 {
        writeln!(out, "unreadable pairs skipped: {}", report.unreadable)?;
    }
    write_damage(out, "left behind", &report.left_behind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kv_core::testkit::MemStore;
    use kv_core::{CheckReport, CorruptionKind, Stats, StoreExt, WriteBatch};
    use std::collections::BTreeSet;

    /// A store whose listed keys fail to read, and whose scans stop at the
    /// first failure, as the `ScanIter` contract allows.
    struct Damaged {
        inner: MemStore,
        bad: BTreeSet<Vec<u8>>,
    }

    impl Damaged {
        fn error(key: &[u8]) -> kv_core::Error {
            kv_core::Error::corruption(
                "/d/1.data",
                key.len() as u64,
                CorruptionKind::Mismatch(format!("{key:?}")),
            )
        }
    }

    impl Store for Damaged {
        fn get(&self, key: &[u8]) -> kv_core::Result<Option<Vec<u8>>> {
            if self.bad.contains(key) {
                return Err(Self::error(key));
            }
            self.inner.get(key)
        }
        fn put(&self, key: &[u8], value: &[u8]) -> kv_core::Result<()> {
            self.inner.put(key, value)
        }
        fn delete(&self, key: &[u8]) -> kv_core::Result<()> {
            self.inner.delete(key)
        }
        fn write(&self, batch: &WriteBatch) -> kv_core::Result<()> {
            self.inner.write(batch)
        }
        fn scan(
            &self,
            range: &KeyRange,
            direction: Direction,
        ) -> kv_core::Result<kv_core::ScanIter<'_>> {
            let mut items = Vec::new();
            for item in self.inner.scan(range, direction)? {
                let (key, value) = item?;
                if self.bad.contains(&key) {
                    items.push(Err(Self::error(&key)));
                    break;
                }
                items.push(Ok((key, value)));
            }
            Ok(Box::new(items.into_iter()))
        }
        fn sync(&self) -> kv_core::Result<()> {
            Ok(())
        }
        fn compact(&self) -> kv_core::Result<()> {
            Ok(())
        }
        fn check(&self) -> kv_core::Result<CheckReport> {
            let mut report = CheckReport::default();
            for key in &self.bad {
                report.record(Self::error(key))?;
            }
            Ok(report)
        }
        fn stats(&self) -> Stats {
            self.inner.stats()
        }
    }

    #[test]
    fn salvage_goes_on_past_every_unreadable_key() {
        let keys: [&[u8]; 10] = [
            b"",
            b"\x00",
            b"a",
            b"a\x00",
            b"ab",
            b"a\xff",
            b"a\xff\xff",
            b"b",
            b"\xff",
            b"\xff\xff",
        ];
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        // Every subset of unreadable keys, the empty key and keys that are
        // prefixes of others included.
        for mask in 0u32..(1 << keys.len()) {
            let inner = MemStore::new();
            for key in keys {
                inner.put(key, b"v").unwrap();
            }
            let bad: BTreeSet<Vec<u8>> = (0..keys.len())
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| keys[i].to_vec())
                .collect();
            let source = Damaged { inner, bad };
            let target = MemStore::new();
            let report = salvage(&source, &target).unwrap();
            let good: Vec<Vec<u8>> = keys
                .iter()
                .map(|k| k.to_vec())
                .filter(|k| !source.bad.contains(k))
                .collect();
            let copied: Vec<Vec<u8>> = target
                .scan_all()
                .unwrap()
                .into_iter()
                .map(|(k, _)| k)
                .collect();
            assert_eq!(copied, good, "mask {mask:b}");
            assert_eq!(report.unreadable, source.bad.len() as u64, "mask {mask:b}");
            assert_eq!(report.left_behind.len(), source.bad.len());
        }
    }

    #[test]
    fn every_pair_of_a_sound_store_is_copied() {
        let source = MemStore::new();
        for i in 0..50u32 {
            source.put(&i.to_be_bytes(), &[i as u8; 3]).unwrap();
        }
        let target = MemStore::new();
        let report = salvage(&source, &target).unwrap();
        assert_eq!(report.copied, 50);
        assert!(report.left_behind.is_empty());
        assert_eq!(target.scan_all().unwrap(), source.scan_all().unwrap());
        let mut out = Vec::new();
        write_report(&mut out, &report, std::path::Path::new("/new")).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "copied 50 pairs into /new\nleft behind: none\n"
        );
    }
}
