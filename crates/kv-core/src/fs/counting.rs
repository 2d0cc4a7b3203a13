//! [`CountingFs`]: counts every byte and call that passes through another
//! [`Fs`], which is what `stats()` reports and `kv-bench` turns into write,
//! read and space amplification.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{DirLock, File, Fs};

/// A snapshot of I/O counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoCounters {
    /// Bytes returned by reads.
    pub bytes_read: u64,
    /// Read calls.
    pub read_calls: u64,
    /// Bytes written (appends and positioned writes).
    pub bytes_written: u64,
    /// Write calls.
    pub write_calls: u64,
    /// File syncs.
    pub file_syncs: u64,
    /// Directory syncs.
    pub dir_syncs: u64,
    /// Files created.
    pub files_created: u64,
    /// Files removed.
    pub files_removed: u64,
    /// Renames.
    pub renames: u64,
}

impl IoCounters {
    /// Counters accumulated since `earlier` was taken.
    pub fn since(&self, earlier: &IoCounters) -> IoCounters {
        IoCounters {
            bytes_read: self.bytes_read.saturating_sub(earlier.bytes_read),
            read_calls: self.read_calls.saturating_sub(earlier.read_calls),
            bytes_written: self.bytes_written.saturating_sub(earlier.bytes_written),
            write_calls: self.write_calls.saturating_sub(earlier.write_calls),
            file_syncs: self.file_syncs.saturating_sub(earlier.file_syncs),
            dir_syncs: self.dir_syncs.saturating_sub(earlier.dir_syncs),
            files_created: self.files_created.saturating_sub(earlier.files_created),
            files_removed: self.files_removed.saturating_sub(earlier.files_removed),
            renames: self.renames.saturating_sub(earlier.renames),
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    bytes_read: AtomicU64,
    read_calls: AtomicU64,
    bytes_written: AtomicU64,
    write_calls: AtomicU64,
    file_syncs: AtomicU64,
    dir_syncs: AtomicU64,
    files_created: AtomicU64,
    files_removed: AtomicU64,
    renames: AtomicU64,
}

/// Wraps an [`Fs`] and counts its I/O. Every engine wraps the `Fs` it is
/// given in its own `CountingFs` at open, so its counters are its own even
/// when several stores share one file system.
#[derive(Debug)]
pub struct CountingFs {
    inner: Arc<dyn Fs>,
    counters: Arc<Counters>,
}

impl CountingFs {
    /// Counts the I/O of `inner`.
    pub fn new(inner: Arc<dyn Fs>) -> Self {
        Self {
            inner,
            counters: Arc::default(),
        }
    }

    /// The counters so far.
    pub fn counters(&self) -> IoCounters {
        let c = &self.counters;
        IoCounters {
            bytes_read: c.bytes_read.load(Relaxed),
            read_calls: c.read_calls.load(Relaxed),
            bytes_written: c.bytes_written.load(Relaxed),
            write_calls: c.write_calls.load(Relaxed),
            file_syncs: c.file_syncs.load(Relaxed),
            dir_syncs: c.dir_syncs.load(Relaxed),
            files_created: c.files_created.load(Relaxed),
            files_removed: c.files_removed.load(Relaxed),
            renames: c.renames.load(Relaxed),
        }
    }

    fn wrap(&self, file: Arc<dyn File>) -> Arc<dyn File> {
        Arc::new(CountingFile {
            inner: file,
            counters: Arc::clone(&self.counters),
        })
    }
}

#[derive(Debug)]
struct CountingFile {
    inner: Arc<dyn File>,
    counters: Arc<Counters>,
}

impl File for CountingFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let n = self.inner.read_at(buf, offset)?;
        self.counters.read_calls.fetch_add(1, Relaxed);
        self.counters.bytes_read.fetch_add(n as u64, Relaxed);
        Ok(n)
    }

    fn write_at(&self, data: &[u8], offset: u64) -> io::Result<()> {
        self.inner.write_at(data, offset)?;
        self.counters.write_calls.fetch_add(1, Relaxed);
        self.counters
            .bytes_written
            .fetch_add(data.len() as u64, Relaxed);
        Ok(())
    }

    fn append(&self, data: &[u8]) -> io::Result<u64> {
        let at = self.inner.append(data)?;
        self.counters.write_calls.fetch_add(1, Relaxed);
        self.counters
            .bytes_written
            .fetch_add(data.len() as u64, Relaxed);
        Ok(at)
    }

    fn sync(&self) -> io::Result<()> {
        self.inner.sync()?;
        self.counters.file_syncs.fetch_add(1, Relaxed);
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        self.inner.truncate(len)
    }
}

impl Fs for CountingFs {
    fn create(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        let file = self.inner.create(path)?;
        self.counters.files_created.fetch_add(1, Relaxed);
        Ok(self.wrap(file))
    }

    fn open(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        Ok(self.wrap(self.inner.open(path)?))
    }

    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        Ok(self.wrap(self.inner.open_read(path)?))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)?;
        self.counters.renames.fetch_add(1, Relaxed);
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.inner.remove(path)?;
        self.counters.files_removed.fetch_add(1, Relaxed);
        Ok(())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.list(dir)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.inner.exists(path)
    }

    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        self.inner.create_dir(dir)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.inner.sync_dir(dir)?;
        self.counters.dir_syncs.fetch_add(1, Relaxed);
        Ok(())
    }

    fn lock_dir_shared(&self, dir: &Path) -> io::Result<Box<dyn DirLock>> {
        self.inner.lock_dir_shared(dir)
    }

    fn lock_dir(&self, dir: &Path) -> io::Result<Box<dyn DirLock>> {
        self.inner.lock_dir(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::StdFs;

    #[test]
    fn counts_bytes_and_calls() {
        let dir = tempfile::tempdir().unwrap();
        let fs = CountingFs::new(Arc::new(StdFs));
        let f = fs.create(&dir.path().join("x")).unwrap();
        f.append(b"0123456789").unwrap();
        f.write_at(b"ab", 2).unwrap();
        f.sync().unwrap();
        let mut buf = [0; 4];
        f.read_exact_at(&mut buf, 0).unwrap();
        fs.sync_dir(dir.path()).unwrap();
        let c = fs.counters();
        assert_eq!(c.bytes_written, 12);
        assert_eq!(c.write_calls, 2);
        assert_eq!(c.file_syncs, 1);
        assert_eq!(c.dir_syncs, 1);
        assert_eq!(c.bytes_read, 4);
        assert_eq!(c.read_calls, 1);
        assert_eq!(c.files_created, 1);
        assert_eq!(c.since(&c), IoCounters::default());
    }
}
