//! The test store's durable frontier: a tiny side file holding the log
//! length known to be synced, so that open can tell a torn tail from
//! corruption under reordered writeback (damage at or past the frontier is a
//! torn tail: unsynced pages may reach the disk in any order).
//!
//! ```text
//! data.frontier: | synced log length (u64 LE) | crc32 of those 8 bytes (u32 LE) |
//! ```
//!
//! The frontier is written (and synced) only after the log bytes it covers
//! were synced, so it never claims more than is durable; a torn or damaged
//! frontier reads as 0, which only makes open more lenient.

use std::io;
use std::path::Path;
use std::sync::Arc;

use crate::fs::{File, Fs};

/// File name of the frontier.
pub(super) const FRONTIER_NAME: &str = "data.frontier";

fn encode(len: u64) -> [u8; 12] {
    let mut out = [0u8; 12];
    out[..8].copy_from_slice(&len.to_le_bytes());
    let crc = crc32fast::hash(&out[..8]);
    out[8..].copy_from_slice(&crc.to_le_bytes());
    out
}

/// The frontier in `bytes`, or 0 if they are not a valid frontier.
fn decode(bytes: &[u8]) -> u64 {
    let (Some(len), Some(crc)) = (bytes.get(..8), bytes.get(8..12)) else {
        return 0;
    };
    if crc32fast::hash(len).to_le_bytes() != crc {
        return 0;
    }
    let mut le = [0u8; 8];
    le.copy_from_slice(len);
    u64::from_le_bytes(le)
}

/// Opens the frontier of the store in `dir` (creating it, durably, when
/// `create`) and reads it; a missing or unreadable frontier is 0.
pub(super) fn open_frontier(
    fs: &dyn Fs,
    dir: &Path,
    read_only: bool,
) -> io::Result<(Option<Arc<dyn File>>, u64)> {
    let path = dir.join(FRONTIER_NAME);
    let opened = if read_only {
        fs.open_read(&path)
    } else {
        fs.open(&path)
    };
    match opened {
        Ok(file) => {
            let value = decode(&file.read_all()?);
            Ok((Some(file), value))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound && !read_only => {
            let file = fs.create(&path)?;
            store_frontier(&*file, 0)?;
            fs.sync_dir(dir)?;
            Ok((Some(file), 0))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok((None, 0)),
        Err(e) => Err(e),
    }
}

/// Records durably that `len` log bytes are synced.
pub(super) fn store_frontier(file: &dyn File, len: u64) -> io::Result<()> {
    file.write_at(&encode(len), 0)?;
    file.sync()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_frontier_reads_as_zero() {
        assert_eq!(decode(&encode(4242)), 4242);
        let mut bytes = encode(4242);
        bytes[1] ^= 1;
        assert_eq!(decode(&bytes), 0);
        assert_eq!(decode(&bytes[..5]), 0);
    }
}
