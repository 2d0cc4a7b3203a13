//! [`StoreDir`]: the store's directory as the running store uses it: its
//! path, the counting [`Fs`] every byte of I/O goes through, the directory
//! lock held while the store is open, and the data file ids handed out.
//!
//! Both the write path (a rollover's new active file) and merge (its
//! output files) take file ids here, so an id is never handed out twice.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use kv_core::fs::DirLock;
use kv_core::{CountingFs, Fs, Result};

use crate::data_file::file_ids_exhausted;
use crate::file_set::{write_file_set, FileSet};
use crate::state::FileInfo;

/// See the module docs.
#[derive(Debug)]
pub(crate) struct StoreDir {
    path: PathBuf,
    fs: Arc<CountingFs>,
    next_file_id: AtomicU64,
    _lock: Box<dyn DirLock>,
}

impl StoreDir {
    /// The directory at `path`, locked by `lock`, whose next unused data
    /// file id is `next_file_id`.
    pub fn new(
        path: PathBuf,
        fs: Arc<CountingFs>,
        lock: Box<dyn DirLock>,
        next_file_id: u64,
    ) -> Self {
        Self {
            path,
            fs,
            next_file_id: AtomicU64::new(next_file_id),
            _lock: lock,
        }
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of `name` in the directory.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }

    /// The file system, counting every byte for `stats().io`.
    pub fn fs(&self) -> &CountingFs {
        &self.fs
    }

    /// Syncs the directory (names created, renamed or removed in it).
    pub fn sync(&self) -> io::Result<()> {
        self.fs.sync_dir(&self.path)
    }

    /// A fresh data file id, never handed out before.
    ///
    /// # Errors
    /// `InvalidArgument` once the `u32` ids are used up (the counter is a
    /// `u64`, so it never wraps back onto ids in use).
    pub fn allocate_file_id(&self) -> Result<u32> {
        let id = self.next_file_id.fetch_add(1, Ordering::Relaxed);
        u32::try_from(id).map_err(|_| file_ids_exhausted())
    }

    /// Every data file id below this was handed out.
    pub fn next_file_id(&self) -> u64 {
        self.next_file_id.load(Ordering::Relaxed)
    }

    /// Writes the file-set record of `files` with `active` as the active
    /// file (see [`crate::file_set`]). REQUIRES: the writer lock, which
    /// serializes the record's writers.
    pub fn record_file_set(&self, files: &BTreeMap<u32, FileInfo>, active: u32) -> io::Result<()> {
        let set = FileSet::of(files, active, self.next_file_id());
        write_file_set(&*self.fs, &self.path, &set)
    }
}
