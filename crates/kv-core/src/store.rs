//! The [`Store`] trait every engine implements, with its durability contract.

use std::collections::BTreeMap;
use std::ops::{Bound, RangeBounds};
use std::path::PathBuf;

use serde::Serialize;

use crate::batch::WriteBatch;
use crate::error::{CorruptionKind, Error, Result};
use crate::fs::IoCounters;
use crate::limits::{MAX_BATCH_BYTES, MAX_BATCH_OPS};

/// A key and its value.
pub type KvPair = (Vec<u8>, Vec<u8>);

/// The iterator [`Store::scan`] returns. An item is an `Err` when reading
/// failed mid-scan (I/O or corruption); iteration should stop there.
pub type ScanIter<'a> = Box<dyn Iterator<Item = Result<KvPair>> + Send + 'a>;

/// Order of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Direction {
    /// Ascending byte order of keys.
    #[default]
    Forward,
    /// Descending byte order of keys.
    Reverse,
}

/// A range of keys in byte order, with the bound kinds of `std::ops::Bound`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange {
    /// Lower bound.
    pub start: Bound<Vec<u8>>,
    /// Upper bound.
    pub end: Bound<Vec<u8>>,
}

impl KeyRange {
    /// Every key.
    pub fn all() -> Self {
        Self {
            start: Bound::Unbounded,
            end: Bound::Unbounded,
        }
    }

    /// Keys in any `RangeBounds` over byte vectors or slices, e.g.
    /// `KeyRange::new(b"a".to_vec()..b"m".to_vec())`.
    pub fn new<K: AsRef<[u8]>>(range: impl RangeBounds<K>) -> Self {
        let own = |b: Bound<&K>| match b {
            Bound::Included(k) => Bound::Included(k.as_ref().to_vec()),
            Bound::Excluded(k) => Bound::Excluded(k.as_ref().to_vec()),
            Bound::Unbounded => Bound::Unbounded,
        };
        Self {
            start: own(range.start_bound()),
            end: own(range.end_bound()),
        }
    }

    /// Every key that starts with `prefix`.
    pub fn prefix(prefix: &[u8]) -> Self {
        let end = match prefix_successor(prefix) {
            Some(next) => Bound::Excluded(next),
            None => Bound::Unbounded,
        };
        Self {
            start: Bound::Included(prefix.to_vec()),
            end,
        }
    }

    /// True if `key` lies inside the range.
    pub fn contains(&self, key: &[u8]) -> bool {
        let after_start = match &self.start {
            Bound::Included(s) => key >= s.as_slice(),
            Bound::Excluded(s) => key > s.as_slice(),
            Bound::Unbounded => true,
        };
        let before_end = match &self.end {
            Bound::Included(e) => key <= e.as_slice(),
            Bound::Excluded(e) => key < e.as_slice(),
            Bound::Unbounded => true,
        };
        after_start && before_end
    }

    /// True if no key can lie inside the range (start after end, or an
    /// excluded bound equal to the other bound).
    pub fn is_empty(&self) -> bool {
        match (&self.start, &self.end) {
            (Bound::Included(s), Bound::Included(e)) => s > e,
            (Bound::Included(s), Bound::Excluded(e))
            | (Bound::Excluded(s), Bound::Included(e))
            | (Bound::Excluded(s), Bound::Excluded(e)) => s >= e,
            _ => false,
        }
    }

    /// The bounds as borrowed slices, for `BTreeMap::range` and the like.
    /// Callers check [`KeyRange::is_empty`] first: `BTreeMap::range` panics on
    /// an inverted range.
    pub fn as_slices(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (as_slice_bound(&self.start), as_slice_bound(&self.end))
    }
}

impl Default for KeyRange {
    fn default() -> Self {
        Self::all()
    }
}

fn as_slice_bound(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// The smallest key greater than every key starting with `prefix`, or `None`
/// when there is none (the prefix is empty or all `0xff`).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut next = prefix.to_vec();
    while let Some(last) = next.pop() {
        if last < 0xff {
            next.push(last + 1);
            return Some(next);
        }
    }
    None
}

/// What [`Store::stats`] reports. Cheap to compute: no I/O.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// Engine name, e.g. `"bitcask"`.
    pub engine: String,
    /// Live (visible) keys: exact where [`Stats::live_keys_exact`] is true,
    /// else the engine's estimate (an LSM counts versions it has not merged).
    pub live_keys: u64,
    /// True when `live_keys` (and `live_bytes`) are exact, not estimates.
    pub live_keys_exact: bool,
    /// Bytes of keys plus values of the live keys (the logical data size).
    pub live_bytes: u64,
    /// Bytes the store occupies on disk (every file, including dead data).
    pub disk_bytes: u64,
    /// I/O through the engine's `Fs` since open.
    pub io: IoCounters,
    /// Bytes of torn tail truncated at the last open.
    pub torn_bytes_truncated: u64,
    /// Engine-specific figures (levels, files, dead bytes, cache hits, bloom
    /// negatives, merges run, ...), by name.
    pub extra: BTreeMap<String, u64>,
}

impl Stats {
    /// Empty figures for `engine`, with `live_keys_exact` true.
    pub fn new(engine: impl Into<String>) -> Self {
        Self {
            engine: engine.into(),
            live_keys_exact: true,
            ..Self::default()
        }
    }
}

/// One damaged spot that [`Store::check`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Damage {
    /// The file holding the damaged bytes.
    pub file: PathBuf,
    /// Byte offset of the damaged record, block or page (0 when the damage is
    /// the file as a whole: missing, emptied, misplaced).
    pub offset: u64,
    /// What failed to verify.
    pub kind: CorruptionKind,
}

impl Damage {
    /// The damage an `Err(Corruption)` describes, or `None` for any other
    /// error.
    pub fn from_error(error: &Error) -> Option<Self> {
        match error {
            Error::Corruption { file, offset, kind } => Some(Self {
                file: file.clone(),
                offset: *offset,
                kind: kind.clone(),
            }),
            _ => None,
        }
    }

    /// The `Err(Corruption)` for this damage.
    pub fn to_error(&self) -> Error {
        Error::corruption(self.file.clone(), self.offset, self.kind.clone())
    }
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at offset {}: {}",
            self.file.display(),
            self.offset,
            self.kind
        )
    }
}

/// What [`Store::check`] verified, and the damage it found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// Files read.
    pub files_checked: u64,
    /// Records, entries or pages whose checksum and invariants were verified.
    pub items_checked: u64,
    /// Bytes read to do it.
    pub bytes_checked: u64,
    /// Live keys found.
    pub live_keys: u64,
    /// Things worth knowing that are not corruption (e.g. a missing hint file
    /// that open will rebuild, an unexpected file left alone).
    pub notes: Vec<String>,
    /// Every damaged spot found, in file and offset order. Empty on a sound
    /// store.
    pub damage: Vec<Damage>,
}

impl CheckReport {
    /// True when no damage was found.
    pub fn is_clean(&self) -> bool {
        self.damage.is_empty()
    }

    /// Records the damage an `Err(Corruption)` describes; any other error is
    /// returned as it is (an I/O failure is not damage).
    pub fn record(&mut self, error: Error) -> Result<()> {
        match Damage::from_error(&error) {
            Some(damage) => {
                self.damage.push(damage);
                Ok(())
            }
            None => Err(error),
        }
    }

    /// `Err(Corruption)` for the first damaged spot, or `Ok(self)` when clean.
    pub fn into_result(self) -> Result<Self> {
        match self.damage.first() {
            Some(first) => Err(first.to_error()),
            None => Ok(self),
        }
    }
}

/// Keys one batch of the default [`Store::delete_range`] deletes at most.
pub const DELETE_RANGE_BATCH_KEYS: usize = 4096;

/// A key-value store: the one interface every kvlab engine implements.
///
/// Object-safe: the CLI and the benchmark pick an engine at run time as a
/// `Box<dyn Store>`. Every method takes `&self`; readers run concurrently and
/// writers are serialized inside the engine.
///
/// # Durability
///
/// With [`crate::SyncPolicy::Always`], a write that returned `Ok` survives
/// power loss. With `Manual` (or a group-commit `Interval`), a write that
/// returned `Ok` is acknowledged, and [`Store::sync`] returning `Ok` makes
/// every earlier acknowledged write durable, directory entries included.
///
/// After any crash, the visible state equals the model after some prefix of
/// the acknowledged operations, at least up to the last successful sync:
/// never a hole, never a phantom value, never a resurrected delete, never a
/// half batch.
///
/// Recovery makes what it recovered durable: a state that a reopen after a
/// crash showed is never lost by a later crash (a torn tail is truncated
/// durably, not just skipped in memory).
///
/// # Dropping the store
///
/// Dropping a store is a clean close: it flushes the engine's buffers, so
/// every acknowledged write is visible to the next open even without a
/// `sync()` (durable against power loss only after a sync), and by the time
/// `drop` returns the directory lock is released, so the directory can be
/// reopened at once.
///
/// # Errors
///
/// - A torn tail (incomplete last record) is truncated on open and reported
///   in [`Stats::torn_bytes_truncated`]. A checksum failure with valid data
///   after it is [`crate::Error::Corruption`], never silently skipped.
/// - A failed write or sync poisons the store: every later write returns
///   [`crate::Error::Poisoned`] until it is reopened. No write is ever
///   acknowledged as durable when it is not.
/// - A second open of the same directory returns [`crate::Error::Locked`].
/// - Oversized keys, values and batches return [`crate::Error::TooLarge`]
///   with nothing written (see [`crate::limits`]).
pub trait Store: Send + Sync {
    /// The value of `key`, or `None` if it is missing.
    ///
    /// # Errors
    /// I/O failures, and `Corruption` if the stored record fails its checksum.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Sets `key` to `value`.
    ///
    /// # Durability
    /// Durable on return under `SyncPolicy::Always`; otherwise after the next
    /// successful [`Store::sync`].
    ///
    /// # Errors
    /// `TooLarge` (nothing written), `Poisoned`, I/O failures (which poison).
    fn put(&self, key: &[u8], value: &[u8]) -> Result<()>;

    /// Removes `key`. Deleting a missing key is not an error.
    ///
    /// # Durability
    /// As [`Store::put`]: after a crash a durable delete never comes back.
    ///
    /// # Errors
    /// As [`Store::put`].
    fn delete(&self, key: &[u8]) -> Result<()>;

    /// Applies every operation of `batch` in order, atomically: after a crash
    /// either all of them are visible or none.
    ///
    /// # Durability
    /// As [`Store::put`], for the batch as a whole.
    ///
    /// # Errors
    /// As [`Store::put`]; a batch with any oversized key or value, or over
    /// [`crate::limits::MAX_BATCH_BYTES`], is refused whole.
    fn write(&self, batch: &WriteBatch) -> Result<()>;

    /// The keys in `range` with their values, in `direction` order.
    ///
    /// Engines that can (LSM, B-tree) give a consistent snapshot as of the
    /// call; an engine that cannot documents exactly what a scan sees of
    /// writes made while it runs.
    ///
    /// # Errors
    /// An empty or inverted range is not an error: it yields nothing.
    fn scan(&self, range: &KeyRange, direction: Direction) -> Result<ScanIter<'_>>;

    /// Makes every write acknowledged before this call durable.
    ///
    /// # Errors
    /// I/O failures, which poison the store.
    fn sync(&self) -> Result<()>;

    /// Reclaims space: bitcask merge, LSM full compaction, B-tree vacuum.
    /// Reads and writes may go on meanwhile. Loses nothing across a crash.
    fn compact(&self) -> Result<()>;

    /// Full integrity verification: every checksum and every invariant. Costs
    /// a read of every byte the store holds; `open` only does cheap checks.
    ///
    /// Damage is a list, not only an error: `check()` returns `Ok(report)`
    /// with every damaged spot it found in [`CheckReport::damage`] (an empty
    /// list on a sound store). It changes nothing on disk. Unexpected files in
    /// the directory are reported in `notes`, never deleted.
    ///
    /// # Errors
    /// I/O failures while reading; `Poisoned` where the engine cannot check a
    /// poisoned store.
    fn check(&self) -> Result<CheckReport>;

    /// Counters and figures; no I/O.
    fn stats(&self) -> Stats;

    /// Deletes every key in `range`.
    ///
    /// The default implementation scans the range and deletes the keys it
    /// finds in [`WriteBatch`]es of at most [`DELETE_RANGE_BATCH_KEYS`] keys
    /// (and within [`crate::limits::MAX_BATCH_BYTES`]): each batch is atomic
    /// across a crash, the whole range is not (a crash may leave a prefix of
    /// the range deleted). Its cost grows with the number of keys in the
    /// range. Keys written into the range while it runs may or may not be
    /// deleted. An engine may override it natively (the LSM writes one range
    /// tombstone) and then documents its own atomicity.
    ///
    /// # Durability
    /// As [`Store::write`], batch by batch.
    ///
    /// # Errors
    /// As [`Store::write`]; an empty or inverted range deletes nothing.
    fn delete_range(&self, range: &KeyRange) -> Result<()> {
        if range.is_empty() {
            return Ok(());
        }
        let mut next = range.clone();
        loop {
            let mut batch = WriteBatch::new();
            let mut bytes = 0usize;
            let mut last = None;
            for item in self.scan(&next, Direction::Forward)? {
                let (key, _) = item?;
                bytes += key.len() + 16;
                batch.delete(key.clone());
                last = Some(key);
                if batch.len() >= DELETE_RANGE_BATCH_KEYS.min(MAX_BATCH_OPS)
                    || bytes >= MAX_BATCH_BYTES / 2
                {
                    break;
                }
            }
            let Some(last) = last else {
                return Ok(());
            };
            self.write(&batch)?;
            next.start = Bound::Excluded(last);
        }
    }

    /// Closes the store, reporting what a drop cannot: a failed final flush,
    /// sync of a clean-close marker or release of the lock.
    ///
    /// The default drops the store and returns `Ok`; engines that can fail
    /// while closing override it. Dropping a store stays a best-effort close
    /// (see "Dropping the store" above).
    ///
    /// # Errors
    /// The I/O error of the final flush; `Poisoned` if the store was poisoned
    /// (its unsynced writes may be lost).
    fn close(self: Box<Self>) -> Result<()> {
        drop(self);
        Ok(())
    }
}

/// Conveniences over [`Store`] that are not part of the object-safe core.
pub trait StoreExt: Store {
    /// Every key and value, ascending, collected.
    fn scan_all(&self) -> Result<Vec<KvPair>> {
        self.scan(&KeyRange::all(), Direction::Forward)?.collect()
    }

    /// Every key with `prefix`, ascending.
    fn scan_prefix(&self, prefix: &[u8]) -> Result<ScanIter<'_>> {
        self.scan(&KeyRange::prefix(prefix), Direction::Forward)
    }
}

impl<S: Store + ?Sized> StoreExt for S {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_successor_handles_ff() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_successor(b"\xff\xff"), None);
        assert_eq!(prefix_successor(b""), None);
    }

    #[test]
    fn range_contains_and_empty() {
        let r = KeyRange::new(b"b".to_vec()..b"d".to_vec());
        assert!(r.contains(b"b") && r.contains(b"c") && !r.contains(b"d"));
        assert!(!r.is_empty());
        assert!(KeyRange::new(b"d".to_vec()..b"b".to_vec()).is_empty());
        assert!(KeyRange::new(b"b".to_vec()..b"b".to_vec()).is_empty());
        assert!(!KeyRange::new(b"b".to_vec()..=b"b".to_vec()).is_empty());
        let p = KeyRange::prefix(b"a\xff");
        assert!(p.contains(b"a\xff\x00") && !p.contains(b"b"));
    }
}
