//! The file-system layer: every byte an engine reads or writes goes through
//! [`Fs`] and [`File`].
//!
//! One seam serves three purposes:
//! - honest amplification figures: [`CountingFs`] counts bytes and calls;
//! - fault injection: `FaultFs` (feature `testkit`) fails chosen operations;
//! - deterministic crash simulation: `SimFs` (feature `testkit`) keeps, for
//!   every file, what is durable and what is only written.
//!
//! # Semantics every implementation gives
//!
//! - Paths are absolute or relative to the process; engines pass their store
//!   directory joined with a file name.
//! - Written data is durable only after [`File::sync`]. A new, renamed or
//!   removed directory entry is durable only after [`Fs::sync_dir`] on its
//!   parent directory.
//! - [`Fs::rename`] is atomic: after a crash the target name refers either to
//!   the old file or to the new one.
//! - An open handle keeps working after its file is removed or renamed (POSIX
//!   semantics), so readers can finish while a merge deletes old files.
//! - Errors are plain [`std::io::Error`]s; engines turn them into
//!   [`crate::Error::Io`] and poison themselves on a failed write or sync.

mod counting;
mod std_fs;

use std::fmt::Debug;
use std::io;
use std::path::Path;
use std::sync::Arc;

pub use counting::{CountingFs, IoCounters};
pub use std_fs::StdFs;

use crate::error::{Error, Result};

/// An open file. All methods take `&self`: one handle is shared by concurrent
/// readers; writers are serialized by the engine.
pub trait File: Send + Sync + Debug {
    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read
    /// (0 at or past the end).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;

    /// Writes all of `data` at `offset`, extending the file if needed.
    fn write_at(&self, data: &[u8], offset: u64) -> io::Result<()>;

    /// Writes all of `data` at the current end of the file and returns the
    /// offset it was written at.
    fn append(&self, data: &[u8]) -> io::Result<u64>;

    /// Makes everything written to this file so far durable (data and length).
    fn sync(&self) -> io::Result<()>;

    /// Current length in bytes, including data not yet synced.
    fn len(&self) -> io::Result<u64>;

    /// True when the file has no bytes.
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Sets the length; shrinking drops the bytes past `len`.
    fn truncate(&self, len: u64) -> io::Result<()>;

    /// Reads exactly `buf.len()` bytes at `offset`; an early end of file is an
    /// [`io::ErrorKind::UnexpectedEof`] error.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let n = self.read_at(&mut buf[done..], offset + done as u64)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "read of {} bytes at offset {offset} ran past the end",
                        buf.len()
                    ),
                ));
            }
            done += n;
        }
        Ok(())
    }

    /// Reads the whole file into memory.
    fn read_all(&self) -> io::Result<Vec<u8>> {
        let len = usize::try_from(self.len()?)
            .map_err(|_| io::Error::other("file too large to read into memory"))?;
        let mut buf = vec![0; len];
        let mut done = 0;
        while done < len {
            let n = self.read_at(&mut buf[done..], done as u64)?;
            if n == 0 {
                break; // shrank under us: return what is there
            }
            done += n;
        }
        buf.truncate(done);
        Ok(buf)
    }
}

/// A held directory lock; dropping it releases the lock.
pub trait DirLock: Send + Sync + Debug {}

/// A file system. Implementations: [`StdFs`] (the real one), [`CountingFs`]
/// (counts I/O of another), and with feature `testkit` `SimFs` and `FaultFs`.
pub trait Fs: Send + Sync + Debug {
    /// Creates `path` (truncating it if it exists) and opens it for reading
    /// and writing. The new directory entry is durable only after
    /// [`Fs::sync_dir`] on the parent.
    fn create(&self, path: &Path) -> io::Result<Arc<dyn File>>;

    /// Opens an existing file for reading and writing;
    /// [`io::ErrorKind::NotFound`] if it does not exist.
    fn open(&self, path: &Path) -> io::Result<Arc<dyn File>>;

    /// Opens an existing file for reading only (writes through the handle
    /// fail), so a store on a read-only file system can be read. The default
    /// is [`Fs::open`]; [`StdFs`] opens the file read-only.
    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        self.open(path)
    }

    /// Atomically renames `from` to `to`, replacing `to` if it exists.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Removes a file.
    fn remove(&self, path: &Path) -> io::Result<()>;

    /// Names (not paths) of the entries of a directory, sorted.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;

    /// True if `path` exists.
    fn exists(&self, path: &Path) -> io::Result<bool>;

    /// Creates a directory and its parents; not an error if it exists.
    fn create_dir(&self, dir: &Path) -> io::Result<()>;

    /// Makes the directory's entries (creations, renames, removals) durable.
    /// The empty path is the current directory (the parent of a relative
    /// path's first component).
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;

    /// Takes an exclusive lock on the directory for as long as the returned
    /// guard lives. If another guard (of this or another process) holds it,
    /// fails at once with [`io::ErrorKind::WouldBlock`].
    fn lock_dir(&self, dir: &Path) -> io::Result<Box<dyn DirLock>>;

    /// Takes a shared lock on the directory: any number of shared locks may be
    /// held at once, but not beside an exclusive one ([`io::ErrorKind::WouldBlock`]
    /// then, both ways). Creates no file: where the directory has no lock file
    /// (a store copied without it, a read-only medium) there is nothing to
    /// lock against and the guard is empty.
    fn lock_dir_shared(&self, dir: &Path) -> io::Result<Box<dyn DirLock>>;
}

/// Locks `dir` through `fs`, turning "already held" into [`Error::Locked`].
pub fn lock_store_dir(fs: &dyn Fs, dir: &Path) -> Result<Box<dyn DirLock>> {
    fs.lock_dir(dir).map_err(|e| {
        if e.kind() == io::ErrorKind::WouldBlock {
            Error::Locked {
                path: dir.to_path_buf(),
            }
        } else {
            Error::Io(e)
        }
    })
}

/// Takes a shared lock on `dir` (for read-only opens), turning "held
/// exclusively" into [`Error::Locked`].
pub fn lock_store_dir_shared(fs: &dyn Fs, dir: &Path) -> Result<Box<dyn DirLock>> {
    fs.lock_dir_shared(dir).map_err(|e| {
        if e.kind() == io::ErrorKind::WouldBlock {
            Error::Locked {
                path: dir.to_path_buf(),
            }
        } else {
            Error::Io(e)
        }
    })
}

/// Creates a store directory durably: creates it and any missing parents,
/// then syncs the parent of every directory it created, so the new directory
/// cannot vanish in a crash. Not an error if it exists.
pub fn create_dir_durably(fs: &dyn Fs, dir: &Path) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(path) = at {
        if path.as_os_str().is_empty() || fs.exists(path)? {
            break;
        }
        missing.push(path);
        at = path.parent();
    }
    if missing.is_empty() {
        return Ok(());
    }
    fs.create_dir(dir)?;
    for created in missing.iter().rev() {
        // A relative path's top directory has the empty parent: the current
        // directory, synced as "." on a real file system.
        let parent = match created.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new(""),
        };
        fs.sync_dir(parent)?;
    }
    Ok(())
}

/// Reads a whole file by path, or `None` if it does not exist.
pub fn read_file_if_exists(fs: &dyn Fs, path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs.open_read(path) {
        Ok(file) => file.read_all().map(Some),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes `data` to `path` atomically and durably: write a temporary file,
/// sync it, rename it over `path`, sync the directory.
pub fn write_file_atomic(fs: &dyn Fs, dir: &Path, name: &str, data: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let file = fs.create(&tmp)?;
    file.append(data)?;
    file.sync()?;
    drop(file);
    fs.rename(&tmp, &dir.join(name))?;
    fs.sync_dir(dir)
}
