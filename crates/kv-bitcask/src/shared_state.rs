//! [`SharedState`]: the in-memory state that reads, writes, scans, merges
//! and `check` share, and its locks.
//!
//! ```text
//! index:      IndexLock<Index>                 store-wide: leaf index + file handles
//!   Index { keydir: Keydir                     leaves, each behind its own RwLock
//!           handles: id -> Arc<DataFile> }
//! accounting: Mutex<Accounting>                file table counts, totals, expiry index
//! ```
//!
//! # Who takes what
//! - A `get` takes the index lock's read side, then its key's leaf read
//!   lock, and clones its file's handle under both (so a merge cannot have
//!   dropped the file: it drops a file only after moving every key off it,
//!   under each key's leaf lock). Nothing else; it never waits for a write
//!   to another leaf, and never for the accounting.
//! - A single put or delete (and each deferred one under
//!   `SyncPolicy::Always`, and each key of a merge's switch) takes the
//!   index read side and one leaf's write lock, and updates the accounting
//!   under that leaf lock. If its leaf then needs a split or fold, it takes
//!   the index write side for that alone (bounded work: one leaf's bytes).
//! - A batch of more than one operation is published under the index
//!   write side (with the accounting), so a reader sees all of it or none.
//! - File-table changes (a rollover's new file, a merge's outputs and
//!   inputs) take the index write side (handles) and the accounting.
//!
//! So the holds that exclude every reader are only leaf splits and folds,
//! batches and file-table changes (`keydir_write_lock_*`); the per-key
//! holds exclude only the readers of one leaf (`keydir_leaf_lock_*`).
//! Both are timed ([`crate::lock_hold`]); a read's waits are recorded per
//! lock (`keydir_read_lock_wait_max_us.index`, `.leaf`).
//!
//! # Lock order
//! The writer lock (if taken), then the index lock (either side), then at
//! most one leaf lock, then the accounting mutex. The accounting mutex is
//! never held while another of these is requested; no leaf lock is held
//! while a second one is requested; the index write side is never
//! requested while a leaf lock or the index read side is held.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::data_file::DataFile;
use crate::index_lock::{IndexLock, IndexWrite};
use crate::keydir::{Edit, Entry, Keydir, Reshape};
use crate::lock_hold::Holder;
use crate::state::{Accounting, Appended, FileInfo, State};
use crate::stats::EngineCounters;

/// What the index lock guards: the keydir (its leaf index; each leaf has
/// its own lock) and the handle of every data file a key may point at.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// Every live key.
    pub keydir: Keydir,
    /// The shared read handle of every data file, by id.
    pub handles: BTreeMap<u32, Arc<DataFile>>,
}

/// A change of one key by a write.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Change {
    /// The key's new put, and its expiry if it is a TTL put.
    Put {
        /// Where the put is.
        entry: Entry,
        /// Its expiry (TTL puts).
        expiry_unix_ms: Option<u64>,
    },
    /// A tombstone of the key.
    Delete {
        /// Where the tombstone is.
        tombstone: Entry,
    },
}

impl Change {
    /// Accounts the change of `key` from `old` in `accounting`; returns the
    /// keydir edit.
    fn apply(self, key: &[u8], old: Option<Entry>, accounting: &mut Accounting) -> Edit {
        match self {
            Change::Put {
                entry,
                expiry_unix_ms,
            } => {
                accounting.on_put(key, old, entry, expiry_unix_ms);
                Edit::Set(entry)
            }
            Change::Delete { tombstone } => {
                accounting.on_delete(key, old, tombstone);
                Edit::Remove
            }
        }
    }
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct SharedState {
    index: IndexLock<Index>,
    accounting: Mutex<Accounting>,
    /// Where the holds and read waits are recorded.
    counters: Arc<EngineCounters>,
}

impl SharedState {
    /// `state` (as recovery built it), its holds and waits recorded in
    /// `counters`.
    pub fn new(state: State, counters: Arc<EngineCounters>) -> Self {
        let (keydir, accounting) = state.into_parts();
        let handles = accounting
            .files
            .iter()
            .map(|(id, f)| (*id, Arc::clone(&f.handle)))
            .collect();
        Self {
            index: IndexLock::new(Index { keydir, handles }),
            accounting: Mutex::new(accounting),
            counters,
        }
    }

    fn read_index(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read(&self.counters.keydir_index_read_waits)
    }

    fn write_index(&self, holder: Holder) -> IndexWrite<'_, Index> {
        self.index.write(&self.counters.keydir_write_lock, holder)
    }

    /// The accounting (file table, totals, expiry index). REQUIRES: no
    /// index or leaf lock is requested while it is held.
    pub fn accounting(&self) -> MutexGuard<'_, Accounting> {
        self.accounting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The entry of `key`, with the handle of its file (`None` for the
    /// handle if the file is not open, which the invariants rule out).
    pub fn lookup(&self, key: &[u8]) -> Option<(Entry, Option<Arc<DataFile>>)> {
        let index = self.read_index();
        let waits = &self.counters.keydir_leaf_read_waits;
        index.keydir.get_with(key, waits, |entry| {
            (entry, index.handles.get(&entry.file_id).cloned())
        })
    }

    /// The entry of `key`.
    pub fn entry(&self, key: &[u8]) -> Option<Entry> {
        let index = self.read_index();
        let waits = &self.counters.keydir_leaf_read_waits;
        index.keydir.get_with(key, waits, |entry| entry)
    }

    /// Calls `visit(key, entry, handles)` for the keys within
    /// `(start, end)` in order ([`Keydir::visit_range`]), each leaf under
    /// its read lock, until it returns false.
    pub fn visit_range(
        &self,
        (start, end): (Bound<&[u8]>, Bound<&[u8]>),
        reverse: bool,
        mut visit: impl FnMut(&[u8], Entry, &BTreeMap<u32, Arc<DataFile>>) -> bool,
    ) {
        let index = self.read_index();
        let waits = &self.counters.keydir_leaf_read_waits;
        let handles = &index.handles;
        index
            .keydir
            .visit_range(start, end, reverse, waits, |k, e| visit(k, e, handles));
    }

    /// `f` of every key and entry in ascending order, every leaf
    /// read-locked meanwhile ([`Keydir::with_all`]).
    pub fn with_all_keys<R>(
        &self,
        f: impl FnOnce(&mut dyn Iterator<Item = (&[u8], Entry)>) -> R,
    ) -> R {
        self.read_index().keydir.with_all(f)
    }

    /// Keys in the keydir (expired TTL puts included).
    pub fn keydir_len(&self) -> usize {
        self.read_index().keydir.len()
    }

    /// Keys in the keydir (expired TTL puts included), its heap bytes and
    /// its leaves. Takes every leaf's read lock in turn.
    pub fn keydir_figures(&self) -> (usize, usize, usize) {
        let index = self.read_index();
        let k = &index.keydir;
        (k.len(), k.heap_bytes(), k.leaf_count())
    }

    /// Edits `key` under its leaf's write lock (`decide` runs under it, see
    /// [`Keydir::edit`]), then reshapes its leaf under the index write side
    /// if it needs it. A split is copied first under the index read side
    /// and the leaf's read lock ([`Keydir::prepare_split`]), so the
    /// exclusive section only checks and swaps it in.
    fn edit_key(&self, key: &[u8], holder: Holder, decide: impl Fn(Option<Entry>) -> Edit) {
        let reshape = {
            let index = self.read_index();
            let holds = &self.counters.keydir_leaf_lock;
            index.keydir.edit(key, holds, holder, &decide)
        };
        match reshape {
            Reshape::None => {}
            Reshape::NoLeaf => self.write_index(holder).keydir.edit_mut(key, &decide),
            Reshape::Split { at } => {
                let Some(split) = self.read_index().keydir.prepare_split(key, at) else {
                    return;
                };
                let replaced = self
                    .write_index(holder)
                    .keydir
                    .install_split(key, split, at);
                drop(replaced); // freed outside the exclusive section
            }
            Reshape::Fold => self.write_index(holder).keydir.reshape(key, reshape),
        }
    }

    /// Applies one write's change of `key` (and, if given, what the write
    /// appended to the active file) under the key's leaf lock.
    pub fn apply(&self, holder: Holder, key: &[u8], change: Change, appended: Option<&Appended>) {
        self.edit_key(key, holder, |old| {
            let mut accounting = self.accounting();
            if let Some(appended) = appended {
                accounting.on_append(appended);
            }
            change.apply(key, old, &mut accounting)
        });
    }

    /// Applies the changes of one batch (and, if given, what it appended)
    /// under one hold of the index write side: a reader sees all of them or
    /// none.
    pub fn apply_all<'k>(
        &self,
        holder: Holder,
        changes: impl IntoIterator<Item = (&'k [u8], Change)>,
        appended: Option<&Appended>,
    ) {
        let mut index = self.write_index(holder);
        let mut accounting = self.accounting();
        if let Some(appended) = appended {
            accounting.on_append(appended);
        }
        for (key, change) in changes {
            index
                .keydir
                .edit_mut(key, |old| change.apply(key, old, &mut accounting));
        }
    }

    /// Moves `key` to `copy`, a merge's verbatim copy of its record, only
    /// if the key still points at that record (the same stored sequence
    /// number, elsewhere: sequence numbers are never reused, and only a
    /// merge copies a record). Decided and done under the key's leaf lock.
    /// Returns true if it moved.
    pub fn switch_to_copy(&self, key: &[u8], copy: Entry) -> bool {
        let moved = std::cell::Cell::new(false);
        self.edit_key(key, Holder::MergeSwitch, |old| match old {
            Some(old) if old.stored_seq == copy.stored_seq && old != copy => {
                self.accounting().on_switch(old, copy);
                moved.set(true);
                Edit::Set(copy)
            }
            _ => Edit::Keep,
        });
        moved.get()
    }

    /// Removes `key` only if it still points at `old` (expired, by a
    /// merge); decided and done under the key's leaf lock. Returns true if
    /// it did.
    pub fn remove_if_unchanged(&self, key: &[u8], old: Entry) -> bool {
        let removed = std::cell::Cell::new(false);
        self.edit_key(key, Holder::MergeSwitch, |current| {
            if current != Some(old) {
                return Edit::Keep;
            }
            self.accounting().on_removed(key, old);
            removed.set(true);
            Edit::Remove
        });
        removed.get()
    }

    /// Adds data files (their handles, then their table entries) under one
    /// hold of the index write side.
    pub fn add_files(&self, holder: Holder, infos: Vec<FileInfo>) {
        let mut index = self.write_index(holder);
        let mut accounting = self.accounting();
        for info in infos {
            let id = info.handle.id;
            index.handles.insert(id, Arc::clone(&info.handle));
            accounting.files.insert(id, info);
        }
    }

    /// Drops data files `ids` (handles and table entries) under one hold of
    /// the index write side; returns their entries, to be dropped with the
    /// lock released (the last handle of a file closes it). REQUIRES: no
    /// key points at them any more.
    pub fn remove_files(&self, holder: Holder, ids: &[u32]) -> Vec<FileInfo> {
        let mut index = self.write_index(holder);
        let mut accounting = self.accounting();
        for id in ids {
            index.handles.remove(id);
        }
        ids.iter()
            .filter_map(|id| accounting.files.remove(id))
            .collect()
    }
}

#[cfg(test)]
impl SharedState {
    /// True if the leaf of `key` is write-locked right now.
    fn leaf_write_locked_for_tests(&self, key: &[u8]) -> bool {
        self.read_index().keydir.leaf_write_locked_for_tests(key)
    }
}

#[cfg(test)]
#[path = "shared_state_tests.rs"]
mod tests;
