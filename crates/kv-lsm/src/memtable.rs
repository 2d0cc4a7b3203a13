//! The memtable: a concurrent skiplist (`crossbeam-skiplist`) over internal
//! keys (user key ascending, sequence number descending), one per WAL.
//!
//! Writers insert under the engine's write lock; readers and scans read it
//! concurrently without locks. A full memtable becomes immutable (nothing
//! inserts into it again) and is flushed to an L0 table.
//!
//! Range tombstones (`delete_range`) are kept beside the skiplist in a short
//! list: one entry per `delete_range`, whatever the number of keys it covers.

use std::ops::Bound;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use crossbeam_skiplist::SkipMap;
use kv_core::merge_iter::{SortedSource, VersionedEntry};
use kv_core::{Direction, Result};

use crate::range_del::RangeTombstone;

/// Per-entry bookkeeping counted on top of key and value bytes.
///
/// This is what `write_buffer_bytes` counts, not the whole heap cost: a
/// skiplist entry costs its node (value and key headers, 40 + 24 bytes,
/// a reference count, and a tower of two pointers on average: crossbeam's
/// heights are geometric with p = 1/2; about 88 bytes) and two heap
/// allocations for the key and the value, each rounded up by the allocator
/// (about 12 bytes per allocation): about 124 bytes on top of key and
/// value. For 16-byte keys and 100-byte values a memtable counted at 64
/// MiB holds about 93 MiB of heap (x 1.45). Counting the whole cost would
/// make each flushed table a third smaller than fjall's at the same
/// `write_buffer_bytes` (and raise write amplification), so the count stays
/// comparable with fjall's and the real figure is stated here and in
/// `docs/lsm.md` section 4.
const ENTRY_OVERHEAD_BYTES: usize = 48;

/// A key of the skiplist: ordered by user key, then sequence number
/// descending.
///
/// The first 8 bytes of the user key are kept inline as a big-endian `u64`
/// (zero-padded), compared first: most comparisons of a skiplist search
/// then never touch the heap-allocated key (the search was dominated by
/// those cache misses). Zero padding keeps the order: the prefixes order
/// keys as the keys do, ties are broken by the whole key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemKey {
    prefix: u64,
    /// The user key.
    pub user: Vec<u8>,
    /// The sequence number of the write.
    pub seq: u64,
}

impl MemKey {
    /// The key of version `seq` of `user`.
    pub fn new(user: &[u8], seq: u64) -> Self {
        Self {
            prefix: crate::table::reader::key_prefix(user),
            user: user.to_vec(),
            seq,
        }
    }
}

impl Ord for MemKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.prefix
            .cmp(&other.prefix)
            .then_with(|| self.user.cmp(&other.user))
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

impl PartialOrd for MemKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A skiplist key seen through its parts, so a `get` probes the skiplist
/// with a key it borrows ([`Probe`]) instead of copying the user key into
/// a [`MemKey`] per memtable probed. Ordered exactly as [`MemKey`].
pub trait KeyView {
    /// The first 8 bytes of the user key, zero-padded, big-endian.
    fn prefix(&self) -> u64;
    /// The user key.
    fn user(&self) -> &[u8];
    /// The sequence number.
    fn seq(&self) -> u64;
}

impl KeyView for MemKey {
    fn prefix(&self) -> u64 {
        self.prefix
    }
    fn user(&self) -> &[u8] {
        &self.user
    }
    fn seq(&self) -> u64 {
        self.seq
    }
}

/// A borrowed probe key: `user` at `seq`.
#[derive(Debug, Clone, Copy)]
pub struct Probe<'a> {
    prefix: u64,
    user: &'a [u8],
    seq: u64,
}

impl<'a> Probe<'a> {
    /// The probe for version `seq` of `user`.
    pub fn new(user: &'a [u8], seq: u64) -> Self {
        Self {
            prefix: crate::table::reader::key_prefix(user),
            user,
            seq,
        }
    }
}

impl KeyView for Probe<'_> {
    fn prefix(&self) -> u64 {
        self.prefix
    }
    fn user(&self) -> &[u8] {
        self.user
    }
    fn seq(&self) -> u64 {
        self.seq
    }
}

impl<'a> std::borrow::Borrow<dyn KeyView + 'a> for MemKey {
    fn borrow(&self) -> &(dyn KeyView + 'a) {
        self
    }
}

impl Ord for dyn KeyView + '_ {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.prefix()
            .cmp(&other.prefix())
            .then_with(|| self.user().cmp(other.user()))
            .then_with(|| other.seq().cmp(&self.seq()))
    }
}

impl PartialOrd for dyn KeyView + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for dyn KeyView + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for dyn KeyView + '_ {}

/// One memtable and the WAL that holds its writes.
#[derive(Debug)]
pub struct Memtable {
    map: SkipMap<MemKey, Option<Vec<u8>>>,
    bytes: AtomicUsize,
    max_seq: AtomicU64,
    wal_number: u64,
    range_dels: RwLock<Vec<RangeTombstone>>,
    /// Range tombstones held (read without the lock on every `get`).
    range_del_count: AtomicUsize,
}

impl Memtable {
    /// An empty memtable whose writes go to WAL `wal_number`.
    pub fn new(wal_number: u64) -> Self {
        Self {
            map: SkipMap::new(),
            bytes: AtomicUsize::new(0),
            max_seq: AtomicU64::new(0),
            wal_number,
            range_dels: RwLock::new(Vec::new()),
            range_del_count: AtomicUsize::new(0),
        }
    }

    /// The number of the WAL holding this memtable's writes.
    pub fn wal_number(&self) -> u64 {
        self.wal_number
    }

    /// Inserts one version (`None` = tombstone).
    pub fn insert(&self, key: &[u8], seq: u64, value: Option<&[u8]>) {
        let size = key.len() + value.map_or(0, <[u8]>::len) + ENTRY_OVERHEAD_BYTES;
        self.bytes.fetch_add(size, Ordering::Relaxed);
        self.max_seq.fetch_max(seq, Ordering::Relaxed);
        self.map
            .insert(MemKey::new(key, seq), value.map(<[u8]>::to_vec));
    }

    /// Inserts a range tombstone (its `seq` is the delete's).
    pub fn insert_range_del(&self, tombstone: RangeTombstone) {
        let size = tombstone.bound_bytes() + ENTRY_OVERHEAD_BYTES;
        self.bytes.fetch_add(size, Ordering::Relaxed);
        self.max_seq.fetch_max(tombstone.seq, Ordering::Relaxed);
        self.range_dels
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(tombstone);
        self.range_del_count.fetch_add(1, Ordering::Release);
    }

    /// The range tombstones held, in insertion order.
    pub fn range_dels(&self) -> Vec<RangeTombstone> {
        if self.range_del_count.load(Ordering::Acquire) == 0 {
            return Vec::new();
        }
        self.range_dels
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The newest range tombstone covering `key` visible at `snapshot` (0
    /// when none).
    pub fn newest_range_del(&self, key: &[u8], snapshot: u64) -> u64 {
        if self.range_del_count.load(Ordering::Acquire) == 0 {
            return 0;
        }
        let list = self
            .range_dels
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        list.iter()
            .filter(|t| t.seq <= snapshot && t.contains(key))
            .map(|t| t.seq)
            .max()
            .unwrap_or(0)
    }

    /// Approximate bytes held.
    pub fn approximate_bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Number of versions held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when it holds neither a version nor a range tombstone.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
            && self
                .range_dels
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .is_empty()
    }

    /// Largest sequence number inserted (0 when empty).
    pub fn max_seq(&self) -> u64 {
        self.max_seq.load(Ordering::Relaxed)
    }

    /// The newest version of `key` with `seq <= snapshot`: `None` when the
    /// memtable has none, `Some(None)` for a tombstone.
    pub fn get(&self, key: &[u8], snapshot: u64) -> Option<Option<Vec<u8>>> {
        self.lookup(key, snapshot).map(|(_, v)| v)
    }

    /// As [`Memtable::get`], with the sequence number of the version found.
    pub fn lookup(&self, key: &[u8], snapshot: u64) -> Option<(u64, Option<Vec<u8>>)> {
        let probe = Probe::new(key, snapshot);
        let entry = self
            .map
            .lower_bound::<dyn KeyView>(Bound::Included(&probe as &dyn KeyView))?;
        (entry.key().user == key).then(|| (entry.key().seq, entry.value().clone()))
    }

    /// Every version in internal-key order (for flushes).
    pub fn entries(&self) -> impl Iterator<Item = VersionedEntry> + '_ {
        self.map.iter().map(|e| VersionedEntry {
            key: e.key().user.clone(),
            seq: e.key().seq,
            value: e.value().clone(),
        })
    }
}

/// Entries a [`MemSource`] reads at most per skiplist search.
const SOURCE_BATCH: usize = 128;

/// Entries the first refill after a seek reads: a short scan (a seek and a
/// few nexts) copies a few entries, not [`SOURCE_BATCH`]; each refill
/// then doubles up to [`SOURCE_BATCH`].
const FIRST_BATCH: usize = 16;

/// A [`SortedSource`] over a memtable that stays valid while writers insert:
/// each refill is a fresh skiplist search from the last key examined, then
/// a walk along the bottom level for a batch of entries, [`FIRST_BATCH`]
/// after a seek, doubling up to [`SOURCE_BATCH`] (so a flush or a long scan
/// costs one search per batch, not one per entry, and a short scan copies
/// little more than it reads). An entry inserted into a stretch already
/// examined is missed; it has a sequence number above every snapshot taken
/// before it, so no reader of this source may see it.
///
/// A source made by [`MemSource::visible_at`] (scans) yields of each key
/// only the newest version with `seq <= snapshot`: the other versions of
/// the key in this memtable can never be what the reader sees, so they are
/// stepped over without copying their values (an overwritten key has many
/// versions in one memtable). Flushes and recovery use [`MemSource::new`],
/// which yields every version.
#[derive(Debug)]
pub struct MemSource {
    mem: Arc<Memtable>,
    direction: Direction,
    snapshot: Option<u64>,
    start: Bound<MemKey>,
    cursor: Option<MemKey>,
    /// Forward with a snapshot: the user key last yielded.
    last_user: Option<Vec<u8>>,
    buffered: std::collections::VecDeque<VersionedEntry>,
    batch: usize,
    finished: bool,
}

type MemEntry<'a> = crossbeam_skiplist::map::Entry<'a, MemKey, Option<Vec<u8>>>;

fn owned(e: &MemEntry<'_>) -> VersionedEntry {
    VersionedEntry {
        key: e.key().user.clone(),
        seq: e.key().seq,
        value: e.value().clone(),
    }
}

fn same_user(a: &MemKey, b: &MemKey) -> bool {
    a.prefix == b.prefix && a.user == b.user
}

impl MemSource {
    /// A source over every version of `mem` in `direction`; call `seek`
    /// first.
    pub fn new(mem: Arc<Memtable>, direction: Direction) -> Self {
        Self {
            mem,
            direction,
            snapshot: None,
            start: Bound::Unbounded,
            cursor: None,
            last_user: None,
            buffered: std::collections::VecDeque::new(),
            batch: FIRST_BATCH,
            finished: true,
        }
    }

    /// A source over what a reader at `snapshot` can see of `mem`: per key,
    /// the newest version with `seq <= snapshot` (a tombstone included).
    pub fn visible_at(mem: Arc<Memtable>, direction: Direction, snapshot: u64) -> Self {
        Self {
            snapshot: Some(snapshot),
            ..Self::new(mem, direction)
        }
    }

    /// Takes the next batch of entries after the cursor into the buffer
    /// (with a snapshot, only those a reader may see); false when there
    /// are none left to examine.
    fn refill(&mut self) -> bool {
        let batch = self.batch;
        self.batch = (batch * 2).min(SOURCE_BATCH);
        let lower = match &self.cursor {
            Some(c) => Bound::Excluded(c),
            None => self.start.as_ref(),
        };
        let map = &self.mem.map;
        let last = match self.direction {
            Direction::Forward => {
                let range = map.range::<MemKey, _>((lower, Bound::Unbounded));
                take_forward(
                    range.take(batch),
                    self.snapshot,
                    &mut self.last_user,
                    &mut self.buffered,
                )
            }
            Direction::Reverse => {
                let range = map.range::<MemKey, _>((Bound::Unbounded, lower)).rev();
                take_reverse(range, batch, self.snapshot, &mut self.buffered)
            }
        };
        match last {
            Some(key) => {
                self.cursor = Some(key);
                true
            }
            None => false,
        }
    }
}

/// Forward: appends the entries of `range` to `out` (with a snapshot, the
/// first visible version of each key only); returns the key of the last
/// entry examined.
fn take_forward<'a>(
    range: impl Iterator<Item = MemEntry<'a>>,
    snapshot: Option<u64>,
    last_user: &mut Option<Vec<u8>>,
    out: &mut std::collections::VecDeque<VersionedEntry>,
) -> Option<MemKey> {
    let mut last = None;
    for e in range {
        let take = match snapshot {
            None => true,
            Some(s) => e.key().seq <= s && last_user.as_deref() != Some(e.key().user.as_slice()),
        };
        if take {
            out.push_back(owned(&e));
            if snapshot.is_some() {
                let user = last_user.get_or_insert_with(Vec::new);
                user.clear();
                user.extend_from_slice(&e.key().user);
            }
        }
        last = Some(e);
    }
    last.map(|e| e.key().clone())
}

/// Reverse: appends up to `batch` entries of `range` to `out`; with a
/// snapshot, of each key only its newest visible version, which comes last
/// of the key's versions in reverse order (one entry of look-ahead tells).
/// Returns the key of the last entry examined.
fn take_reverse<'a>(
    range: impl Iterator<Item = MemEntry<'a>>,
    batch: usize,
    snapshot: Option<u64>,
    out: &mut std::collections::VecDeque<VersionedEntry>,
) -> Option<MemKey> {
    let mut range = range.peekable();
    let mut last = None;
    for _ in 0..batch {
        let Some(e) = range.next() else { break };
        let take = match snapshot {
            None => true,
            Some(s) => {
                e.key().seq <= s
                    && !range
                        .peek()
                        .is_some_and(|n| same_user(n.key(), e.key()) && n.key().seq <= s)
            }
        };
        if take {
            out.push_back(owned(&e));
        }
        last = Some(e);
    }
    last.map(|e| e.key().clone())
}

fn probe(user: &[u8], seq: u64) -> MemKey {
    MemKey::new(user, seq)
}

impl SortedSource for MemSource {
    fn seek(&mut self, start: Bound<&[u8]>) -> Result<()> {
        let max = u64::MAX;
        self.start = match (start, self.direction) {
            (Bound::Unbounded, _) => Bound::Unbounded,
            (Bound::Included(k), Direction::Forward) => Bound::Included(probe(k, max)),
            (Bound::Excluded(k), Direction::Forward) => Bound::Excluded(probe(k, 0)),
            (Bound::Included(k), Direction::Reverse) => Bound::Included(probe(k, 0)),
            (Bound::Excluded(k), Direction::Reverse) => Bound::Excluded(probe(k, max)),
        };
        self.cursor = None;
        self.last_user = None;
        self.buffered.clear();
        self.batch = FIRST_BATCH;
        self.finished = false;
        Ok(())
    }

    fn next_entry(&mut self) -> Option<Result<VersionedEntry>> {
        if self.finished {
            return None;
        }
        while self.buffered.is_empty() {
            if !self.refill() {
                self.finished = true;
                return None;
            }
        }
        self.buffered.pop_front().map(Ok)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn get_sees_the_newest_version_at_a_snapshot() {
        let mem = Memtable::new(1);
        mem.insert(b"k", 1, Some(b"one"));
        mem.insert(b"k", 3, None);
        assert_eq!(mem.get(b"k", 2), Some(Some(b"one".to_vec())));
        assert_eq!(mem.get(b"k", 3), Some(None));
        assert_eq!(mem.get(b"k", 0), None);
        assert_eq!(mem.get(b"j", 9), None);
    }

    #[test]
    fn inline_prefixes_keep_the_key_order() {
        let keys: [&[u8]; 9] = [
            b"",
            b"\x00",
            b"a",
            b"a\x00",
            b"a\x00\x01",
            b"abcdefgh",
            b"abcdefgh\x00",
            b"abcdefghi",
            b"\xff\xff\xff\xff\xff\xff\xff\xff\xff",
        ];
        for a in keys {
            for b in keys {
                assert_eq!(
                    MemKey::new(a, 1).cmp(&MemKey::new(b, 1)),
                    a.cmp(b),
                    "{a:?} {b:?}"
                );
            }
        }
        assert!(MemKey::new(b"k", 2) < MemKey::new(b"k", 1));
    }

    #[test]
    fn source_refills_across_many_batches_in_both_directions() {
        let mem = Arc::new(Memtable::new(1));
        let key = |i: usize| format!("key{i:05}").into_bytes();
        for i in 0..1000 {
            mem.insert(&key(i), 2 * i as u64 + 1, Some(b"v"));
            mem.insert(&key(i), 2 * i as u64 + 2, None);
        }
        let mut fwd = MemSource::new(Arc::clone(&mem), Direction::Forward);
        fwd.seek(Bound::Excluded(&key(100))).unwrap();
        let got: Vec<_> = std::iter::from_fn(|| fwd.next_entry())
            .map(|e| e.unwrap())
            .map(|e| (e.key, e.seq))
            .collect();
        let want: Vec<_> = (101..1000)
            .flat_map(|i| [(key(i), 2 * i as u64 + 2), (key(i), 2 * i as u64 + 1)])
            .collect();
        assert_eq!(got, want);
        let mut rev = MemSource::new(mem, Direction::Reverse);
        rev.seek(Bound::Included(&key(900))).unwrap();
        let got: Vec<_> = std::iter::from_fn(|| rev.next_entry())
            .map(|e| e.unwrap())
            .map(|e| (e.key, e.seq))
            .collect();
        let want: Vec<_> = (0..=900)
            .rev()
            .flat_map(|i| [(key(i), 2 * i as u64 + 1), (key(i), 2 * i as u64 + 2)])
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn visible_source_yields_the_newest_visible_version_of_each_key_only() {
        let mem = Arc::new(Memtable::new(1));
        let key = |i: usize| format!("key{i:05}").into_bytes();
        // Key i has versions 10i+1 ..= 10i+1+(i % 7); every third key's
        // newest is a tombstone. Many keys span a batch boundary.
        let mut seq_of = Vec::new();
        for i in 0..500 {
            let versions = (i % 7) as u64 + 1;
            for v in 0..versions {
                let seq = 10 * i as u64 + 1 + v;
                let newest = v + 1 == versions;
                let value = (!(newest && i % 3 == 0)).then_some(&b"v"[..]);
                mem.insert(&key(i), seq, value);
            }
            seq_of.push(10 * i as u64 + versions);
        }
        for snapshot in [5u64, 2_503, 10_000] {
            let want: Vec<(Vec<u8>, u64)> = (0..500)
                .filter(|&i| 10 * (i as u64) < snapshot)
                .map(|i| (key(i), seq_of[i].min(snapshot)))
                .collect();
            for direction in [Direction::Forward, Direction::Reverse] {
                let mut src = MemSource::visible_at(Arc::clone(&mem), direction, snapshot);
                src.seek(Bound::Unbounded).unwrap();
                let mut got: Vec<_> = std::iter::from_fn(|| src.next_entry())
                    .map(|e| e.unwrap())
                    .map(|e| (e.key, e.seq))
                    .collect();
                if direction == Direction::Reverse {
                    got.reverse();
                }
                assert!(got == want, "snapshot {snapshot} {direction:?}");
            }
        }
    }

    #[test]
    fn source_walks_both_directions() {
        let mem = Arc::new(Memtable::new(1));
        for (i, k) in [b"a", b"b", b"c"].iter().enumerate() {
            mem.insert(*k, i as u64 + 1, Some(b"v"));
        }
        let mut fwd = MemSource::new(Arc::clone(&mem), Direction::Forward);
        fwd.seek(Bound::Excluded(b"a")).unwrap();
        let keys: Vec<_> = std::iter::from_fn(|| fwd.next_entry())
            .map(|e| e.unwrap().key)
            .collect();
        assert_eq!(keys, vec![b"b".to_vec(), b"c".to_vec()]);
        let mut rev = MemSource::new(mem, Direction::Reverse);
        rev.seek(Bound::Included(b"b")).unwrap();
        let keys: Vec<_> = std::iter::from_fn(|| rev.next_entry())
            .map(|e| e.unwrap().key)
            .collect();
        assert_eq!(keys, vec![b"b".to_vec(), b"a".to_vec()]);
    }
}
