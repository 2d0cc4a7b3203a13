//! The `null` engine: stores nothing, so a benchmark run against it measures
//! the harness's own cost per operation (key generation, timing, histograms,
//! the `dyn Store` call).
//!
//! Every write succeeds and is forgotten, every get is `None`, every scan is
//! empty, `sync`, `compact` and `check` do nothing. The size limits are still
//! checked, so an oversized request is `TooLarge` as on every other engine
//! and the harness pays for the checks every engine pays for.

use kv_core::limits::{check_batch, check_key, check_put};
use kv_core::{CheckReport, Direction, KeyRange, Result, ScanIter, Stats, Store, WriteBatch};

/// A store that keeps nothing. Not a real store: it fails the conformance
/// suite by design and is left out of `kv-bench conformance` by default.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullStore;

impl NullStore {
    /// The null store.
    pub fn new() -> Self {
        Self
    }
}

impl Store for NullStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        Ok(None)
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        check_put(key, value)
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        check_key(key)
    }

    fn write(&self, batch: &WriteBatch) -> Result<()> {
        check_batch(batch)
    }

    fn scan(&self, _range: &KeyRange, _direction: Direction) -> Result<ScanIter<'_>> {
        Ok(Box::new(std::iter::empty()))
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }

    fn compact(&self) -> Result<()> {
        Ok(())
    }

    fn check(&self) -> Result<CheckReport> {
        Ok(CheckReport {
            notes: vec!["null engine: stores nothing, nothing to check".into()],
            damage: Vec::new(),
            ..CheckReport::default()
        })
    }

    fn stats(&self) -> Stats {
        Stats {
            engine: "null".into(),
            live_keys_exact: true,
            ..Stats::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kv_core::limits::MAX_KEY_BYTES;
    use kv_core::{Error, StoreExt};

    #[test]
    fn keeps_nothing_and_never_fails_valid_requests() {
        let store = NullStore::new();
        store.put(b"k", b"v").unwrap();
        let mut batch = WriteBatch::new();
        batch.put(b"a", b"1").delete(b"k");
        store.write(&batch).unwrap();
        assert_eq!(store.get(b"k").unwrap(), None);
        assert!(store.scan_all().unwrap().is_empty());
        store.delete(b"a").unwrap();
        store.sync().unwrap();
        store.compact().unwrap();
        assert_eq!(store.check().unwrap().live_keys, 0);
        assert_eq!(store.stats().engine, "null");
    }

    #[test]
    fn oversized_requests_are_too_large_as_everywhere() {
        let store = NullStore::new();
        let key = vec![0; MAX_KEY_BYTES + 1];
        assert!(matches!(
            store.put(&key, b"v"),
            Err(Error::TooLarge { what: "key", .. })
        ));
        assert!(matches!(
            store.get(&key),
            Err(Error::TooLarge { what: "key", .. })
        ));
    }
}
