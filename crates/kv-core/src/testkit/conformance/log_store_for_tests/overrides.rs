//! Defects in the `Store` methods with default implementations
//! (`delete_range`, `close`): a wrapper around the test [`LogStore`] that
//! overrides them wrongly, so the correct store keeps inheriting the
//! defaults the suite is meant to check.

use crate::batch::WriteBatch;
use crate::error::Result;
use crate::store::{CheckReport, Direction, KeyRange, ScanIter, Stats, Store};

use super::LogStore;

/// A deliberately wrong override.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::testkit::conformance) enum Override {
    /// `delete_range` treats an excluded end bound as included.
    DeleteRangeIncludesExcludedEnd,
    /// `delete_range` deletes key by key, so a crash can leave part of it.
    DeleteRangeKeyByKey,
    /// `close` returns `Ok` but never releases the directory lock.
    CloseKeepsLock,
}

/// [`LogStore`] with one [`Override`].
pub(in crate::testkit::conformance) struct Overridden {
    pub(in crate::testkit::conformance) store: LogStore,
    pub(in crate::testkit::conformance) defect: Override,
}

impl Overridden {
    /// The keys in `range`, as this defect sees the range.
    fn keys_in(&self, range: &KeyRange) -> Result<Vec<Vec<u8>>> {
        let mut range = range.clone();
        if self.defect == Override::DeleteRangeIncludesExcludedEnd {
            if let std::ops::Bound::Excluded(end) = range.end {
                range.end = std::ops::Bound::Included(end);
            }
        }
        self.store
            .scan(&range, Direction::Forward)?
            .map(|item| item.map(|(k, _)| k))
            .collect()
    }
}

impl Store for Overridden {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.store.get(key)
    }
    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.store.put(key, value)
    }
    fn delete(&self, key: &[u8]) -> Result<()> {
        self.store.delete(key)
    }
    fn write(&self, batch: &WriteBatch) -> Result<()> {
        self.store.write(batch)
    }
    fn scan(&self, range: &KeyRange, direction: Direction) -> Result<ScanIter<'_>> {
        self.store.scan(range, direction)
    }
    fn sync(&self) -> Result<()> {
        self.store.sync()
    }
    fn compact(&self) -> Result<()> {
        self.store.compact()
    }
    fn check(&self) -> Result<CheckReport> {
        self.store.check()
    }
    fn stats(&self) -> Stats {
        self.store.stats()
    }

    fn delete_range(&self, range: &KeyRange) -> Result<()> {
        let keys = self.keys_in(range)?;
        match self.defect {
            Override::DeleteRangeKeyByKey => keys.iter().try_for_each(|k| self.store.delete(k)),
            _ => {
                let mut batch = WriteBatch::new();
                for key in keys {
                    batch.delete(key);
                }
                self.store.write(&batch)
            }
        }
    }

    fn close(self: Box<Self>) -> Result<()> {
        if self.defect == Override::CloseKeepsLock {
            // Leaks the store, its open file and its directory lock.
            std::mem::forget(self);
            return Ok(());
        }
        drop(self);
        Ok(())
    }
}
