//! [`StdFs`]: the real file system, through `std::fs`.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use super::{DirLock, File, Fs};

/// Name of the lock file [`StdFs::lock_dir`] creates inside a store directory.
pub const LOCK_FILE_NAME: &str = "LOCK";

/// The operating system's file system.
///
/// `sync` is `fdatasync` (`File::sync_data`), which makes the data and the
/// file's length durable (it skips only timestamps). Directory locks are `flock`-style locks on
/// a `LOCK` file (`std::fs::File::try_lock`), which the OS releases if the
/// process dies.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdFs;

/// An open file. `append` writes at a length tracked by this handle (no
/// `seek` or `stat` per append), so a file must be appended to through one
/// handle only (engines share that handle with their readers); `len` asks
/// the OS, so it is right whichever handle wrote.
#[derive(Debug)]
struct StdFile {
    file: fs::File,
    /// Length as this handle's appends and truncates left it.
    len: Mutex<u64>,
}

impl StdFile {
    fn new(file: fs::File) -> io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(Self {
            file,
            len: Mutex::new(len),
        })
    }
}

impl File for StdFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.file.read_at(buf, offset)
    }

    fn write_at(&self, data: &[u8], offset: u64) -> io::Result<()> {
        let mut len = self.len.lock().unwrap_or_else(PoisonError::into_inner);
        self.file.write_all_at(data, offset)?;
        *len = (*len).max(offset + data.len() as u64);
        Ok(())
    }

    fn append(&self, data: &[u8]) -> io::Result<u64> {
        let mut len = self.len.lock().unwrap_or_else(PoisonError::into_inner);
        let at = *len;
        self.file.write_all_at(data, at)?;
        *len = at + data.len() as u64;
        Ok(at)
    }

    fn sync(&self) -> io::Result<()> {
        // fdatasync: flushes the data and the metadata needed to read it back,
        // which includes a grown file's size (fdatasync(2)); timestamps are
        // not needed for durability.
        self.file.sync_data()
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn truncate(&self, new_len: u64) -> io::Result<()> {
        let mut len = self.len.lock().unwrap_or_else(PoisonError::into_inner);
        self.file.set_len(new_len)?;
        *len = new_len;
        Ok(())
    }
}

#[derive(Debug)]
struct StdDirLock {
    /// The locked `LOCK` file; `None` for a shared lock on a directory that
    /// has no lock file.
    _file: Option<fs::File>,
}

impl DirLock for StdDirLock {}

impl Fs for StdFs {
    fn create(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        Ok(Arc::new(StdFile::new(file)?))
    }

    fn open(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        Ok(Arc::new(StdFile::new(file)?))
    }

    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        let file = OpenOptions::new().read(true).open(path)?;
        Ok(Arc::new(StdFile::new(file)?))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir)? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        path.try_exists()
    }

    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        fs::File::open(dir)?.sync_all()
    }

    fn lock_dir_shared(&self, dir: &Path) -> io::Result<Box<dyn DirLock>> {
        let file = match fs::File::open(dir.join(LOCK_FILE_NAME)) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Box::new(StdDirLock { _file: None }))
            }
            Err(e) => return Err(e),
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(Box::new(StdDirLock { _file: Some(file) })),
            Err(fs::TryLockError::WouldBlock) => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "directory is locked by a writing handle",
            )),
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }

    fn lock_dir(&self, dir: &Path) -> io::Result<Box<dyn DirLock>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(LOCK_FILE_NAME))?;
        match file.try_lock() {
            Ok(()) => Ok(Box::new(StdDirLock { _file: Some(file) })),
            Err(fs::TryLockError::WouldBlock) => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "directory is locked by another handle",
            )),
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_returns_offsets_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let fs = StdFs;
        let f = fs.create(&dir.path().join("a")).unwrap();
        assert_eq!(f.append(b"hello").unwrap(), 0);
        assert_eq!(f.append(b" world").unwrap(), 5);
        f.sync().unwrap();
        let mut buf = [0; 5];
        f.read_exact_at(&mut buf, 6).unwrap();
        assert_eq!(&buf, b"world");
        assert_eq!(f.len().unwrap(), 11);
        f.truncate(5).unwrap();
        assert_eq!(f.read_all().unwrap(), b"hello");
        let reopened = fs.open(&dir.path().join("a")).unwrap();
        assert_eq!(reopened.len().unwrap(), 5);
        assert_eq!(reopened.append(b"!").unwrap(), 5);
    }

    #[test]
    fn second_lock_in_same_process_would_block() {
        let dir = tempfile::tempdir().unwrap();
        let first = StdFs.lock_dir(dir.path()).unwrap();
        let err = StdFs.lock_dir(dir.path()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        drop(first);
        assert!(StdFs.lock_dir(dir.path()).is_ok());
    }

    #[test]
    fn shared_locks_coexist_but_not_with_an_exclusive_one() {
        let dir = tempfile::tempdir().unwrap();
        let no_lock_file = StdFs.lock_dir_shared(dir.path()).unwrap();
        assert!(
            !dir.path().join(LOCK_FILE_NAME).exists(),
            "a shared lock created a file"
        );
        drop(no_lock_file);
        let writer = StdFs.lock_dir(dir.path()).unwrap();
        let err = StdFs.lock_dir_shared(dir.path()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        drop(writer);
        let a = StdFs.lock_dir_shared(dir.path()).unwrap();
        let _b = StdFs.lock_dir_shared(dir.path()).unwrap();
        assert_eq!(
            StdFs.lock_dir(dir.path()).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        drop(a);
    }

    #[test]
    fn open_read_gives_a_handle_that_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        StdFs.create(&path).unwrap().append(b"abc").unwrap();
        let f = StdFs.open_read(&path).unwrap();
        assert_eq!(f.read_all().unwrap(), b"abc");
        assert!(f.append(b"x").is_err());
    }

    #[test]
    fn list_is_sorted_and_exists_works() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b", "a", "c"] {
            StdFs.create(&dir.path().join(name)).unwrap();
        }
        assert_eq!(StdFs.list(dir.path()).unwrap(), ["a", "b", "c"]);
        assert!(StdFs.exists(&dir.path().join("a")).unwrap());
        StdFs.remove(&dir.path().join("a")).unwrap();
        assert!(!StdFs.exists(&dir.path().join("a")).unwrap());
    }
}
