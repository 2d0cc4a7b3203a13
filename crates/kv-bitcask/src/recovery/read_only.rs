//! [`NoFile`]: the writer's stand-in for an active file on a store opened
//! `ReadOnly` or `Verify`, where no file may be created or changed.
//!
//! Writes are refused with `Error::ReadOnly` before they reach the writer;
//! this handle makes sure that even a path that forgot to ask changes
//! nothing: it holds no bytes and every write through it fails.

use std::io;

use kv_core::File;

/// An empty file that refuses every write.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoFile;

fn refused() -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        "the store is open read-only: no file may be written",
    )
}

impl File for NoFile {
    fn read_at(&self, _buf: &mut [u8], _offset: u64) -> io::Result<usize> {
        Ok(0)
    }

    fn write_at(&self, _data: &[u8], _offset: u64) -> io::Result<()> {
        Err(refused())
    }

    fn append(&self, _data: &[u8]) -> io::Result<u64> {
        Err(refused())
    }

    fn sync(&self) -> io::Result<()> {
        Ok(()) // nothing written, nothing to make durable
    }

    fn len(&self) -> io::Result<u64> {
        Ok(0)
    }

    fn truncate(&self, _len: u64) -> io::Result<()> {
        Err(refused())
    }
}
