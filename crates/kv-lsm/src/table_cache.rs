//! The table cache: open table files, at most about `max_open_files` at a
//! time (a `quick_cache` with one unit per file), so thousands of small
//! tables never exhaust file descriptors. A table whose file was evicted
//! reopens it (`Fs::open_read`) on its next block read; a read in flight
//! keeps its handle alive through its own `Arc`.

use std::path::Path;
use std::sync::Arc;

use kv_core::{File, Fs, Result};
use quick_cache::sync::Cache;

/// Open table files by table number.
pub struct TableCache {
    files: Cache<u64, Arc<dyn File>>,
}

impl std::fmt::Debug for TableCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableCache")
            .field("open", &self.files.len())
            .finish()
    }
}

impl TableCache {
    /// A cache of at most `max_open_files` files (at least 1).
    pub fn new(max_open_files: usize) -> Self {
        Self {
            files: Cache::new(max_open_files.max(1)),
        }
    }

    /// The open file of table `number`, opening `path` if it is not open.
    ///
    /// # Errors
    /// I/O failures of the open.
    pub fn get(&self, fs: &dyn Fs, number: u64, path: &Path) -> Result<Arc<dyn File>> {
        if let Some(f) = self.files.get(&number) {
            return Ok(f);
        }
        let file = fs.open_read(path)?;
        self.files.insert(number, Arc::clone(&file));
        Ok(file)
    }

    /// Remembers a file just opened.
    pub fn insert(&self, number: u64, file: Arc<dyn File>) {
        self.files.insert(number, file);
    }

    /// Forgets table `number` (its file is about to be removed).
    pub fn forget(&self, number: u64) {
        self.files.remove(&number);
    }

    /// Files held open.
    pub fn open_files(&self) -> usize {
        self.files.len()
    }
}
