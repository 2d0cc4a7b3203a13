//! The read path after the keydir lookup: a record's value, read with one
//! positioned read (or copied from the write buffer's mirror, never under
//! the writer lock) and verified. `Store::get` and scans share it.

use std::cell::RefCell;

use kv_core::Result;

use crate::data_file::{verify_put, DataFile};
use crate::keydir::Entry;
use crate::ttl::Clock;
use crate::unflushed::UnflushedTail;

/// Records up to this size are read into a per-thread reusable buffer.
const REUSED_READ_BUFFER_BYTES: usize = 64 * 1024;

thread_local! {
    static READ_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The value of `key`, whose keydir entry is `entry`, read from `handle`
/// (or, past what is in the file, from `unflushed`) and verified; `None`
/// if it is a TTL put that has expired by `clock` (asked only for TTL
/// puts).
///
/// # Errors
/// `Corruption` if the record fails its CRC, key or sequence check; I/O
/// errors.
pub(crate) fn read_value(
    key: &[u8],
    entry: Entry,
    handle: &DataFile,
    unflushed: &UnflushedTail,
    clock: &dyn Clock,
) -> Result<Option<Vec<u8>>> {
    let read = |buf: &mut Vec<u8>| read_value_with(key, entry, handle, unflushed, clock, buf);
    if entry.len as usize <= REUSED_READ_BUFFER_BYTES {
        let reused =
            READ_BUFFER.with(|cell| cell.try_borrow_mut().ok().map(|mut buf| read(&mut buf)));
        if let Some(result) = reused {
            return result;
        }
    }
    read(&mut Vec::new())
}

fn read_value_with(
    key: &[u8],
    entry: Entry,
    handle: &DataFile,
    unflushed: &UnflushedTail,
    clock: &dyn Clock,
    buf: &mut Vec<u8>,
) -> Result<Option<Vec<u8>>> {
    // Past what is in the file: still in the writer's buffer, copied from
    // its mirror without the writer lock (never behind I/O).
    let buffered = entry.end() > handle.readable_len() && unflushed.copy(&entry, buf);
    if !buffered {
        handle.read_record(&entry, buf)?;
    }
    let put = verify_put(&handle.path, &entry, key, buf)?;
    if entry.has_ttl() && put.is_expired(clock.now_unix_ms()) {
        return Ok(None);
    }
    Ok(Some(put.value.to_vec()))
}
