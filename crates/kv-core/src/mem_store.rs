//! [`MemStore`]: the in-memory reference store. It is the executable
//! statement of the [`Store`] contract without durability: the conformance
//! suite is proven against it, the `kv` command offers it as the `memory`
//! engine, and the benchmark uses it as a baseline. It is part of kv-core
//! proper (not of the test kit), so binaries can use it without linking the
//! test kit; `kv_core::testkit::MemStore` re-exports it for existing users.
//! Nothing persists: every write is lost when the store is dropped.

use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock};

use crate::batch::{BatchOp, WriteBatch};
use crate::error::Result;
use crate::limits::{check_batch, check_key, check_put};
use crate::store::{CheckReport, Direction, KeyRange, ScanIter, Stats, Store};

/// A `BTreeMap` behind a lock, implementing [`Store`]. Writes are atomic and
/// scans see a snapshot (copied at the call). Nothing survives a drop.
#[derive(Debug, Default)]
pub struct MemStore {
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>> {
        self.map.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_map(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>> {
        self.map.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Store for MemStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        Ok(self.read().get(key).cloned())
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        check_put(key, value)?;
        self.write_map().insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        check_key(key)?;
        self.write_map().remove(key);
        Ok(())
    }

    fn write(&self, batch: &WriteBatch) -> Result<()> {
        check_batch(batch)?;
        let mut map = self.write_map();
        for op in batch.ops() {
            match op {
                BatchOp::Put { key, value } => {
                    map.insert(key.clone(), value.clone());
                }
                BatchOp::Delete { key } => {
                    map.remove(key);
                }
            }
        }
        Ok(())
    }

    fn scan(&self, range: &KeyRange, direction: Direction) -> Result<ScanIter<'_>> {
        if range.is_empty() {
            return Ok(Box::new(std::iter::empty()));
        }
        let map = self.read();
        let mut items: Vec<_> = map
            .range::<[u8], _>(range.as_slices())
            .map(|(k, v)| Ok((k.clone(), v.clone())))
            .collect();
        if direction == Direction::Reverse {
            items.reverse();
        }
        Ok(Box::new(items.into_iter()))
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }

    fn compact(&self) -> Result<()> {
        Ok(())
    }

    fn check(&self) -> Result<CheckReport> {
        let map = self.read();
        Ok(CheckReport {
            items_checked: map.len() as u64,
            live_keys: map.len() as u64,
            ..CheckReport::default()
        })
    }

    fn stats(&self) -> Stats {
        let map = self.read();
        Stats {
            engine: "memory".into(),
            live_keys_exact: true,
            live_keys: map.len() as u64,
            live_bytes: map.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum(),
            ..Stats::default()
        }
    }
}
