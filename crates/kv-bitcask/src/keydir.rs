//! The keydir: every live key, in byte order, with where its newest record
//! lives.
//!
//! # Layout and why
//!
//! A `BTreeMap<Vec<u8>, Entry>` costs about 90 bytes per 16-byte key (a heap
//! allocation per key plus half-empty B-tree nodes of 40-byte slots). The
//! keydir instead packs keys into *leaves* of up to [`LEAF_MAX_ENTRIES`]
//! entries; a small `BTreeMap` indexes the leaves by their lower bound:
//!
//! ```text
//! leaves: BTreeMap<LeafBound, RwLock<Leaf>>  (one slot per ~100 keys)
//! Leaf { keys:     k0 k1 k2 ...              (keys back to back, one allocation)
//!        ends:     [u16; n]                  (end offset of key i in `keys`)
//!        prefixes: [u64; n]                  (first 8 bytes of key i, big-endian)
//!        entries:  [Entry; n] }              (20 bytes each, packed)
//! ```
//!
//! Per key that is the key itself, 2 bytes of `ends`, 8 of `prefixes` and a
//! 20-byte [`Entry`]: 30 bytes, plus the slack of partly full leaves
//! (vectors grow by an eighth, not by doubling).
//! `tests/keydir_bytes_per_key.rs` measures the total with a counting
//! allocator.
//!
//! A lookup is one `BTreeMap` range step (comparing [`LeafBound`]s, mostly
//! by their 8-byte prefix, with the leaf headers inline in the nodes) plus
//! a linear, vectorized count over one leaf's prefixes (1 KiB for a full
//! leaf, read sequentially); keys are compared only to break prefix ties.
//! On a keydir far larger than the CPU caches a lookup costs a handful of
//! cache misses; that, not the comparisons, is what the layout minimizes.
//! Inserts and removes move at most one leaf's bytes. Each leaf has its own
//! lock, so an edit excludes only that leaf's readers (see [`Keydir`]'s
//! `# Concurrency`).
//!
//! Invariants: the leaf with lower bound `[]` (the empty key, the smallest
//! key) always exists; every key of a leaf is `>=` its lower bound and `<`
//! the next leaf's; keys within a leaf ascend strictly; `keys.len()` stays
//! below `u16::MAX` (split at [`LEAF_MAX_KEY_BYTES`], one key adds at most
//! `MAX_KEY_BYTES`).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, TryLockError};
use std::time::Instant;

use crate::key_bound::{compare_keys, key_prefix, LeafBound};
use crate::lock_hold::{Holder, LockHolds, ReadWaits, TimedHold};
use crate::ttl::{is_ttl_seq, plain_seq};

/// Most entries in one leaf.
pub const LEAF_MAX_ENTRIES: usize = 128;

/// A leaf splits once its keys take more than this many bytes.
pub const LEAF_MAX_KEY_BYTES: usize = 32 * 1024;

/// Entries per leaf when building from sorted input (room to grow).
const BULK_FILL_ENTRIES: usize = 112;

/// A leaf with fewer entries than this is folded into its predecessor when
/// both fit in one.
const LEAF_MIN_ENTRIES: usize = LEAF_MAX_ENTRIES / 4;

/// Where a key's newest record is: 20 bytes, packed to 4-byte alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, packed(4))]
pub struct Entry {
    /// Data file id.
    pub file_id: u32,
    /// Offset of the record in the file.
    pub offset: u32,
    /// Encoded length of the record.
    pub len: u32,
    /// The record's stored sequence number (with the TTL flag, if any).
    pub stored_seq: u64,
}

impl Entry {
    /// The sequence number, without the TTL flag.
    pub fn seq(&self) -> u64 {
        plain_seq(self.stored_seq)
    }

    /// True if the record is a TTL put.
    pub fn has_ttl(&self) -> bool {
        is_ttl_seq(self.stored_seq)
    }

    /// Offset just past the record.
    pub fn end(&self) -> u64 {
        u64::from(self.offset) + u64::from(self.len)
    }
}

/// Up to [`LEAF_MAX_ENTRIES`] keys in ascending order with their entries
/// (see the module docs for the layout).
#[derive(Debug, Default, Clone)]
pub(crate) struct Leaf {
    /// The keys back to back.
    keys: Vec<u8>,
    /// End offset of key `i` in `keys`.
    ends: Vec<u16>,
    /// First eight bytes of key `i` ([`key_prefix`]): the binary search runs
    /// over this small array and touches the keys only to break ties.
    prefixes: Vec<u64>,
    /// Where key `i`'s newest record is.
    entries: Vec<Entry>,
}

/// Reserves room for `additional` more items, growing by about an eighth
/// rather than doubling, to keep the slack small.
fn reserve_small<T>(v: &mut Vec<T>, additional: usize) {
    if v.capacity() - v.len() < additional {
        v.reserve_exact(additional.max(v.len() / 8 + 4));
    }
}

impl Leaf {
    fn len(&self) -> usize {
        self.entries.len()
    }

    fn start(&self, i: usize) -> usize {
        if i == 0 {
            0
        } else {
            usize::from(self.ends[i - 1])
        }
    }

    fn key(&self, i: usize) -> &[u8] {
        &self.keys[self.start(i)..usize::from(self.ends[i])]
    }

    /// `Ok(i)` if key `i` equals `key`, else `Err(i)` where it would go.
    fn search(&self, key: &[u8]) -> Result<usize, usize> {
        let prefix = key_prefix(key);
        // A branch-free count over the whole (at most 1 KiB) prefix array:
        // sequential reads the prefetcher streams, and vectorized compares,
        // beat a binary search's chain of dependent cache misses.
        let mut lo = self
            .prefixes
            .iter()
            .map(|&p| usize::from(p < prefix))
            .sum::<usize>();
        let mut hi = lo
            + self.prefixes[lo..]
                .iter()
                .take_while(|&&p| p == prefix)
                .count();
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match compare_keys(self.key(mid), key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    /// First index whose key is not below the bound.
    fn lower_index(&self, bound: Bound<&[u8]>) -> usize {
        match bound {
            Bound::Unbounded => 0,
            Bound::Included(k) => self.search(k).unwrap_or_else(|i| i),
            Bound::Excluded(k) => match self.search(k) {
                Ok(i) => i + 1,
                Err(i) => i,
            },
        }
    }

    fn insert_at(&mut self, i: usize, key: &[u8], entry: Entry) {
        let start = self.start(i);
        reserve_small(&mut self.keys, key.len());
        reserve_small(&mut self.ends, 1);
        reserve_small(&mut self.entries, 1);
        self.keys.splice(start..start, key.iter().copied());
        let grow = key.len() as u16; // REQUIRES: keys stay below u16::MAX
        for end in &mut self.ends[i..] {
            *end += grow;
        }
        self.ends.insert(i, start as u16 + grow);
        reserve_small(&mut self.prefixes, 1);
        self.prefixes.insert(i, key_prefix(key));
        self.entries.insert(i, entry);
    }

    fn remove_at(&mut self, i: usize) -> Entry {
        let (start, end) = (self.start(i), usize::from(self.ends[i]));
        self.keys.drain(start..end);
        let shrink = (end - start) as u16;
        self.ends.remove(i);
        for e in &mut self.ends[i..] {
            *e -= shrink;
        }
        self.prefixes.remove(i);
        self.entries.remove(i)
    }

    fn push(&mut self, key: &[u8], entry: Entry) {
        reserve_small(&mut self.keys, key.len());
        reserve_small(&mut self.ends, 1);
        reserve_small(&mut self.entries, 1);
        self.keys.extend_from_slice(key);
        self.ends.push(self.keys.len() as u16);
        reserve_small(&mut self.prefixes, 1);
        self.prefixes.push(key_prefix(key));
        self.entries.push(entry);
    }

    fn is_over_full(&self) -> bool {
        self.len() > LEAF_MAX_ENTRIES || self.keys.len() > LEAF_MAX_KEY_BYTES
    }

    /// Moves entries `at..` into a new leaf.
    fn split_off(&mut self, at: usize) -> Leaf {
        let cut = self.start(at);
        let keys = self.keys[cut..].to_vec();
        let ends = self.ends[at..]
            .iter()
            .map(|e| (usize::from(*e) - cut) as u16)
            .collect();
        let prefixes = self.prefixes[at..].to_vec();
        let entries = self.entries[at..].to_vec();
        self.keys.truncate(cut);
        self.ends.truncate(at);
        self.prefixes.truncate(at);
        self.entries.truncate(at);
        self.shrink_to_fit();
        Leaf {
            keys,
            ends,
            prefixes,
            entries,
        }
    }

    /// A copy of entries `from..to`, in vectors of exactly their size.
    fn copy_range(&self, from: usize, to: usize) -> Leaf {
        let (cut, end) = (self.start(from), self.start(to));
        Leaf {
            keys: self.keys[cut..end].to_vec(),
            ends: self.ends[from..to]
                .iter()
                .map(|e| (usize::from(*e) - cut) as u16)
                .collect(),
            prefixes: self.prefixes[from..to].to_vec(),
            entries: self.entries[from..to].to_vec(),
        }
    }

    /// True if this leaf holds exactly `left`'s entries followed by
    /// `right`'s (same keys, key boundaries and entries).
    fn is_concat_of(&self, left: &Leaf, right: &Leaf) -> bool {
        let (n, cut) = (left.len(), left.keys.len());
        self.len() == n + right.len()
            && self.keys.len() == cut + right.keys.len()
            && self.entries[..n] == left.entries[..]
            && self.entries[n..] == right.entries[..]
            && self.keys[..cut] == left.keys[..]
            && self.keys[cut..] == right.keys[..]
            && self.ends[..n] == left.ends[..]
            && self.ends[n..]
                .iter()
                .zip(&right.ends)
                .all(|(e, r)| usize::from(*e) == cut + usize::from(*r))
    }

    fn shrink_to_fit(&mut self) {
        self.keys.shrink_to_fit();
        self.ends.shrink_to_fit();
        self.prefixes.shrink_to_fit();
        self.entries.shrink_to_fit();
    }

    /// Where to split an over-full leaf: by bytes if the keys are too big,
    /// else by count; at the end if the last insert went there (sequential
    /// inserts then leave full leaves behind).
    fn split_point(&self, inserted_at: usize) -> usize {
        let n = self.len();
        if self.keys.len() > LEAF_MAX_KEY_BYTES {
            let half = self.keys.len() / 2;
            let at = self.ends.partition_point(|&e| usize::from(e) < half);
            return at.clamp(1, n - 1);
        }
        if inserted_at == n - 1 {
            n - 1
        } else {
            n / 2
        }
    }

    fn heap_bytes(&self) -> usize {
        self.keys.capacity()
            + self.ends.capacity() * std::mem::size_of::<u16>()
            + self.prefixes.capacity() * std::mem::size_of::<u64>()
            + self.entries.capacity() * std::mem::size_of::<Entry>()
    }
}

/// What [`Keydir::edit`]'s caller decides to do with a key, given its
/// current entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Edit {
    /// Leave the key as it is.
    Keep,
    /// Point the key at this entry (inserting it if absent).
    Set(Entry),
    /// Remove the key (nothing if absent).
    Remove,
}

/// What a leaf needs after a concurrent [`Keydir::edit`]: a change of the
/// leaf index, which only [`Keydir::reshape`] under exclusive access
/// (`&mut`) may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub(crate) enum Reshape {
    /// Nothing: the leaf is within its bounds.
    None,
    /// The leaf is over-full and must split; the edit inserted at `at`.
    Split {
        /// Where the insert went (the split point depends on it).
        at: usize,
    },
    /// The leaf fell under [`LEAF_MIN_ENTRIES`] and may fold into its
    /// predecessor.
    Fold,
    /// The key has no leaf (the `[]` leaf is missing, which the invariants
    /// rule out): the edit was not made, and must be made under exclusive
    /// access ([`Keydir::edit_mut`]).
    NoLeaf,
}

/// A split of one over-full leaf, copied under the leaf's read lock by
/// [`Keydir::prepare_split`], so that [`Keydir::install_split`]'s exclusive
/// section only checks the copy, swaps it in and indexes the new leaf.
#[derive(Debug)]
pub(crate) struct PreparedSplit {
    /// The split leaf's lower bound.
    bound: LeafBound,
    /// Its entries below the split point.
    left: Leaf,
    /// Its entries from the split point on: the new leaf.
    right: Leaf,
}

/// The ordered in-memory index of live keys.
///
/// # Concurrency
/// Each leaf sits behind its own `RwLock`; the leaf index (the `BTreeMap`
/// of leaf bounds) has no lock of its own: the store wraps the whole
/// `Keydir` in one (`crate::shared_state`). So:
/// - with `&self` (the store's index lock held for read), lookups take one
///   leaf's read lock ([`Keydir::get_with`], [`Keydir::visit_range`]) and
///   edits one leaf's write lock ([`Keydir::edit`]): an edit excludes only
///   the readers of that one leaf (at most [`LEAF_MAX_ENTRIES`] keys);
/// - with `&mut self` (the index lock held for write, or sole ownership),
///   the leaf index may change: [`Keydir::reshape`] splits and folds
///   leaves, and the `_mut` methods edit without taking leaf locks.
///
/// No method holds two leaf locks at once, so leaf locks cannot deadlock
/// among themselves; lock order is the index lock, then one leaf lock,
/// then whatever an edit's `decide` closure takes (the store's accounting
/// mutex).
#[derive(Debug)]
pub struct Keydir {
    leaves: BTreeMap<LeafBound, RwLock<Leaf>>,
    len: AtomicUsize,
}

impl Default for Keydir {
    fn default() -> Self {
        Self::new()
    }
}

/// A leaf's read lock (a poisoned lock still guards consistent data: no
/// leaf method panics between two of its vector edits).
fn read_leaf(cell: &RwLock<Leaf>) -> RwLockReadGuard<'_, Leaf> {
    cell.read().unwrap_or_else(PoisonError::into_inner)
}

/// A leaf's read lock, the wait recorded in `waits` if it was taken.
fn read_leaf_waiting<'a>(cell: &'a RwLock<Leaf>, waits: &ReadWaits) -> RwLockReadGuard<'a, Leaf> {
    match cell.try_read() {
        Ok(guard) => guard,
        Err(TryLockError::Poisoned(p)) => p.into_inner(),
        Err(TryLockError::WouldBlock) => {
            let since = Instant::now();
            let guard = read_leaf(cell);
            waits.record(since.elapsed());
            guard
        }
    }
}

fn leaf_mut(cell: &mut RwLock<Leaf>) -> &mut Leaf {
    cell.get_mut().unwrap_or_else(PoisonError::into_inner)
}

/// Applies `decide`'s edit to `key` in `leaf`; returns the change in the
/// number of keys and where an insert went.
fn apply_edit(
    leaf: &mut Leaf,
    key: &[u8],
    decide: impl FnOnce(Option<Entry>) -> Edit,
) -> (isize, Option<usize>) {
    let found = leaf.search(key);
    let old = found.ok().map(|i| leaf.entries[i]);
    match (decide(old), found) {
        (Edit::Set(e), Ok(i)) => {
            leaf.entries[i] = e;
            (0, None)
        }
        (Edit::Set(e), Err(i)) => {
            leaf.insert_at(i, key, e);
            (1, Some(i))
        }
        (Edit::Remove, Ok(i)) => {
            leaf.remove_at(i);
            (-1, None)
        }
        (Edit::Keep, _) | (Edit::Remove, Err(_)) => (0, None),
    }
}

/// What the leaf with lower bound `bound` needs after an edit that changed
/// its number of keys by `grown` (inserting at `inserted_at`): a split if
/// it is over full, a fold if a remove left it small (the `[]` leaf is
/// never folded).
fn reshape_after(
    leaf: &Leaf,
    bound: &LeafBound,
    grown: isize,
    inserted_at: Option<usize>,
) -> Reshape {
    if leaf.is_over_full() {
        Reshape::Split {
            at: inserted_at.unwrap_or(0),
        }
    } else if grown < 0 && leaf.len() < LEAF_MIN_ENTRIES && !bound.key().is_empty() {
        Reshape::Fold
    } else {
        Reshape::None
    }
}

impl Keydir {
    /// An empty keydir.
    pub fn new() -> Self {
        let mut leaves = BTreeMap::new();
        leaves.insert(LeafBound::empty(), RwLock::new(Leaf::default()));
        Self {
            leaves,
            len: AtomicUsize::new(0),
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of leaves.
    pub fn leaf_count(&self) -> usize {
        self.leaves.len()
    }

    fn leaf_for(&self, key: &[u8]) -> Option<(&LeafBound, &RwLock<Leaf>)> {
        self.leaves
            .range((Bound::Unbounded, Bound::Included(LeafBound::new(key))))
            .next_back()
    }

    fn leaf_for_mut<'a>(
        leaves: &'a mut BTreeMap<LeafBound, RwLock<Leaf>>,
        key: &[u8],
    ) -> Option<(&'a LeafBound, &'a mut Leaf)> {
        leaves
            .range_mut((Bound::Unbounded, Bound::Included(LeafBound::new(key))))
            .next_back()
            .map(|(b, cell)| (b, leaf_mut(cell)))
    }

    /// The entry of `key` (under its leaf's read lock).
    pub fn get(&self, key: &[u8]) -> Option<Entry> {
        let (_, cell) = self.leaf_for(key)?;
        let leaf = read_leaf(cell);
        leaf.search(key).ok().map(|i| leaf.entries[i])
    }

    /// `found(entry)` for the entry of `key`, called under its leaf's read
    /// lock (so what `found` reads elsewhere is consistent with the entry:
    /// a merge cannot have moved the key on meanwhile). A wait for the
    /// lock is recorded in `waits`.
    pub(crate) fn get_with<R>(
        &self,
        key: &[u8],
        waits: &ReadWaits,
        found: impl FnOnce(Entry) -> R,
    ) -> Option<R> {
        let (_, cell) = self.leaf_for(key)?;
        let leaf = read_leaf_waiting(cell, waits);
        let i = leaf.search(key).ok()?;
        Some(found(leaf.entries[i]))
    }

    /// Edits `key` under its leaf's write lock (timed in `holds` as
    /// `holder`'s): `decide` gets the key's current entry and says what to
    /// do; it runs under the lock, so whatever it records of the change is
    /// recorded in the order the key changed. Returns what the leaf needs
    /// now ([`Reshape`]), to be done by [`Keydir::reshape`] under
    /// exclusive access.
    pub(crate) fn edit(
        &self,
        key: &[u8],
        holds: &LockHolds,
        holder: Holder,
        decide: impl FnOnce(Option<Entry>) -> Edit,
    ) -> Reshape {
        let Some((bound, cell)) = self.leaf_for(key) else {
            return Reshape::NoLeaf;
        };
        let guard = cell.write().unwrap_or_else(PoisonError::into_inner);
        let mut leaf = TimedHold::new(guard, holds, holder);
        let (grown, inserted_at) = apply_edit(&mut leaf, key, decide);
        if grown > 0 {
            self.len.fetch_add(1, Ordering::Relaxed);
        } else if grown < 0 {
            self.len.fetch_sub(1, Ordering::Relaxed);
        }
        reshape_after(&leaf, bound, grown, inserted_at)
    }

    /// [`Keydir::edit`] with exclusive access: no leaf lock, and the leaf
    /// reshaped at once.
    pub(crate) fn edit_mut(&mut self, key: &[u8], decide: impl FnOnce(Option<Entry>) -> Edit) {
        if Self::leaf_for_mut(&mut self.leaves, key).is_none() {
            // Unreachable while the `[]` leaf exists; restore it.
            self.leaves
                .insert(LeafBound::empty(), RwLock::new(Leaf::default()));
        }
        let Some((bound, leaf)) = Self::leaf_for_mut(&mut self.leaves, key) else {
            return;
        };
        let (grown, inserted_at) = apply_edit(leaf, key, decide);
        let len = self.len.get_mut();
        *len = len.saturating_add_signed(grown);
        let reshape = reshape_after(leaf, bound, grown, inserted_at);
        self.reshape(key, reshape);
    }

    /// Does what [`Keydir::edit`] said the leaf of `key` needs, if it still
    /// needs it: splits an over-full leaf, folds a small one into its
    /// predecessor when both fit in one.
    pub(crate) fn reshape(&mut self, key: &[u8], reshape: Reshape) {
        match reshape {
            Reshape::None | Reshape::NoLeaf => {}
            Reshape::Split { at } => {
                let Some((_, leaf)) = Self::leaf_for_mut(&mut self.leaves, key) else {
                    return;
                };
                if !leaf.is_over_full() {
                    return;
                }
                let mid = leaf.split_point(at.min(leaf.len() - 1));
                let right = leaf.split_off(mid);
                self.leaves
                    .insert(LeafBound::new(right.key(0)), RwLock::new(right));
            }
            Reshape::Fold => {
                let Some((bound, leaf)) = Self::leaf_for_mut(&mut self.leaves, key) else {
                    return;
                };
                if leaf.len() < LEAF_MIN_ENTRIES && !bound.key().is_empty() {
                    let bound = bound.clone();
                    self.fold_into_predecessor(&bound);
                }
            }
        }
    }

    /// Copies the split that the over-full leaf of `key` needs (`at`: where
    /// the insert that over-filled it went), under the leaf's read lock:
    /// readers of the leaf are not excluded. `None` if it needs none.
    pub(crate) fn prepare_split(&self, key: &[u8], at: usize) -> Option<PreparedSplit> {
        let (bound, cell) = self.leaf_for(key)?;
        let leaf = read_leaf(cell);
        if !leaf.is_over_full() {
            return None;
        }
        let mid = leaf.split_point(at.min(leaf.len() - 1));
        Some(PreparedSplit {
            bound: bound.clone(),
            left: leaf.copy_range(0, mid),
            right: leaf.copy_range(mid, leaf.len()),
        })
    }

    /// Installs `split` if the leaf of `key` is still exactly what it was
    /// copied from: the leaf becomes the lower half and the upper half is
    /// indexed as a new leaf. Otherwise (a merge edited the leaf between the
    /// copy and now) the leaf is split from scratch. Either way the work
    /// done here is bounded by one leaf's bytes. Returns the replaced
    /// vectors, to be freed after the exclusive section.
    pub(crate) fn install_split(
        &mut self,
        key: &[u8],
        split: PreparedSplit,
        at: usize,
    ) -> Option<Leaf> {
        let (bound, leaf) = Self::leaf_for_mut(&mut self.leaves, key)?;
        if *bound != split.bound || !leaf.is_concat_of(&split.left, &split.right) {
            self.reshape(key, Reshape::Split { at });
            return None;
        }
        let old = std::mem::replace(leaf, split.left);
        let right_bound = LeafBound::new(split.right.key(0));
        self.leaves.insert(right_bound, RwLock::new(split.right));
        Some(old)
    }

    /// Sets the entry of `key`; returns the entry it replaced.
    pub fn insert(&mut self, key: &[u8], entry: Entry) -> Option<Entry> {
        let mut old = None;
        self.edit_mut(key, |current| {
            old = current;
            Edit::Set(entry)
        });
        old
    }

    /// Sets the entry of `key` only if its current entry equals `expected`
    /// (or, for `expected == None`, if the key is absent). Returns true if it
    /// did. Merge uses this to switch only keys that still point where they
    /// did.
    pub fn replace_if(&mut self, key: &[u8], expected: Option<Entry>, new: Entry) -> bool {
        let mut done = false;
        self.edit_mut(key, |current| {
            done = current == expected;
            if done {
                Edit::Set(new)
            } else {
                Edit::Keep
            }
        });
        done
    }

    /// Removes `key`; returns its entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let mut old = None;
        self.edit_mut(key, |current| {
            old = current;
            Edit::Remove
        });
        old
    }

    /// Removes `key` only if its entry equals `expected`.
    pub fn remove_if(&mut self, key: &[u8], expected: Entry) -> bool {
        let mut done = false;
        self.edit_mut(key, |current| {
            done = current == Some(expected);
            if done {
                Edit::Remove
            } else {
                Edit::Keep
            }
        });
        done
    }

    /// Appends the leaf with lower bound `bound` to its predecessor when both
    /// fit in one leaf (or when it is empty).
    fn fold_into_predecessor(&mut self, bound: &LeafBound) {
        let Some(small) = self.leaves.get_mut(bound).map(leaf_mut) else {
            return;
        };
        let (small_len, small_bytes) = (small.len(), small.keys.len());
        let Some((_, prev)) = self
            .leaves
            .range_mut::<LeafBound, _>((Bound::Unbounded, Bound::Excluded(bound)))
            .next_back()
        else {
            return;
        };
        let prev = leaf_mut(prev);
        let fits = prev.len() + small_len <= LEAF_MAX_ENTRIES * 3 / 4
            && prev.keys.len() + small_bytes <= LEAF_MAX_KEY_BYTES;
        if small_len != 0 && !fits {
            return;
        }
        let Some(small) = self.leaves.remove(bound) else {
            return;
        };
        let small = small.into_inner().unwrap_or_else(PoisonError::into_inner);
        let Some((_, prev)) = self
            .leaves
            .range_mut::<LeafBound, _>((Bound::Unbounded, Bound::Excluded(bound)))
            .next_back()
        else {
            return;
        };
        let prev = leaf_mut(prev);
        for i in 0..small.len() {
            prev.push(small.key(i), small.entries[i]);
        }
    }

    /// Calls `visit(key, entry)` for the keys within `(start, end)`, in
    /// ascending order (or descending if `reverse`), until it returns false.
    /// Each leaf is visited under its read lock (so `visit` runs under it),
    /// waits recorded in `waits`; no two leaves are locked at once, so the
    /// visit is not a snapshot: a leaf edited after it was visited is not
    /// seen again.
    pub(crate) fn visit_range(
        &self,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        reverse: bool,
        waits: &ReadWaits,
        mut visit: impl FnMut(&[u8], Entry) -> bool,
    ) {
        let above_start = |k: &[u8]| match start {
            Bound::Included(s) => k >= s,
            Bound::Excluded(s) => k > s,
            Bound::Unbounded => true,
        };
        let below_end = |k: &[u8]| match end {
            Bound::Included(e) => k <= e,
            Bound::Excluded(e) => k < e,
            Bound::Unbounded => true,
        };
        if !reverse {
            let first = match start {
                Bound::Included(s) | Bound::Excluded(s) => self.leaf_for(s).map(|(b, _)| b.clone()),
                Bound::Unbounded => None,
            };
            let first = first.unwrap_or_else(LeafBound::empty);
            for (_, cell) in self.leaves.range(first..) {
                let leaf = read_leaf_waiting(cell, waits);
                for i in leaf.lower_index(start)..leaf.len() {
                    let key = leaf.key(i);
                    if !below_end(key) || !visit(key, leaf.entries[i]) {
                        return;
                    }
                }
            }
        } else {
            let last = match end {
                Bound::Included(e) | Bound::Excluded(e) => self.leaf_for(e),
                Bound::Unbounded => self.leaves.iter().next_back(),
            };
            let Some((last, _)) = last else { return };
            for (_, cell) in self.leaves.range(..=last).rev() {
                let leaf = read_leaf_waiting(cell, waits);
                for i in (0..leaf.len()).rev() {
                    let key = leaf.key(i);
                    if !below_end(key) {
                        continue;
                    }
                    if !above_start(key) || !visit(key, leaf.entries[i]) {
                        return;
                    }
                }
            }
        }
    }

    /// `f` of an iterator over every key and entry in ascending order, with
    /// every leaf read-locked for the duration (a consistent view, as long
    /// as nothing waits on `f` to edit the keydir).
    pub fn with_all<R>(&self, f: impl FnOnce(&mut dyn Iterator<Item = (&[u8], Entry)>) -> R) -> R {
        let leaves: Vec<RwLockReadGuard<'_, Leaf>> = self.leaves.values().map(read_leaf).collect();
        let mut all = leaves
            .iter()
            .flat_map(|leaf| (0..leaf.len()).map(move |i| (leaf.key(i), leaf.entries[i])));
        f(&mut all)
    }

    /// Every key and entry in ascending order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&[u8], Entry)> + '_ {
        self.leaves.values_mut().flat_map(|cell| {
            let leaf: &Leaf = leaf_mut(cell);
            (0..leaf.len()).map(move |i| (leaf.key(i), leaf.entries[i]))
        })
    }

    /// Bytes of heap memory the keydir holds: leaf vectors at their capacity,
    /// leaf bounds, and the leaf index's nodes (estimated at 1.5 times their
    /// slots, the typical B-tree fill). `tests/keydir_bytes_per_key.rs`
    /// checks this against a counting allocator. Takes each leaf's read
    /// lock in turn.
    pub fn heap_bytes(&self) -> usize {
        let slot = std::mem::size_of::<(LeafBound, RwLock<Leaf>)>();
        self.leaves
            .iter()
            .map(|(bound, cell)| read_leaf(cell).heap_bytes() + bound.heap_bytes() + slot * 3 / 2)
            .sum()
    }
}

#[cfg(test)]
impl Keydir {
    /// True if the leaf of `key` is write-locked right now.
    pub(crate) fn leaf_write_locked_for_tests(&self, key: &[u8]) -> bool {
        self.leaf_for(key)
            .is_some_and(|(_, cell)| matches!(cell.try_read(), Err(TryLockError::WouldBlock)))
    }
}

/// Builds a [`Keydir`] from keys pushed in strictly ascending order, filling
/// leaves to 112 entries (room to grow): O(n), no searching.
#[derive(Debug, Default)]
pub struct KeydirBuilder {
    leaves: Vec<(LeafBound, Leaf)>,
    current: Leaf,
    len: usize,
}

impl KeydirBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `key`. REQUIRES: `key` is greater than every key pushed so far.
    pub fn push(&mut self, key: &[u8], entry: Entry) {
        let full = self.current.len() >= BULK_FILL_ENTRIES
            || self.current.keys.len() + key.len() > LEAF_MAX_KEY_BYTES * 7 / 8;
        if full && self.current.len() > 0 {
            self.seal();
        }
        self.current.push(key, entry);
        self.len += 1;
    }

    fn seal(&mut self) {
        let mut leaf = std::mem::take(&mut self.current);
        leaf.shrink_to_fit();
        let bound = if self.leaves.is_empty() {
            LeafBound::empty()
        } else {
            LeafBound::new(leaf.key(0))
        };
        self.leaves.push((bound, leaf));
    }

    /// The finished keydir.
    pub fn finish(mut self) -> Keydir {
        if self.current.len() > 0 || self.leaves.is_empty() {
            self.seal();
        }
        Keydir {
            leaves: self
                .leaves
                .into_iter()
                .map(|(bound, leaf)| (bound, RwLock::new(leaf)))
                .collect(),
            len: AtomicUsize::new(self.len),
        }
    }
}

#[cfg(test)]
#[path = "keydir_tests.rs"]
mod tests;
