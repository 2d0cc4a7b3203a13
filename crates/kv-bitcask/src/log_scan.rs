//! Walking the records of a data file held in memory, with the codec's
//! torn-tail rules and the optional salvage of damaged records. Used by
//! open (files without a usable hint), merge and check.

use std::path::Path;

use kv_core::codec::{decode_record, Decoded, LogEntry, LogReader, RecordRef, Tail};
use kv_core::{Error, Result};

/// How a scan ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanOutcome {
    /// File offset just past the last complete entry.
    pub valid_end: u64,
    /// Bytes after `valid_end` that are a torn tail (0 if the log ended
    /// cleanly).
    pub torn_bytes: u64,
    /// Bytes skipped over damaged records (salvage only).
    pub salvaged_bytes: u64,
    /// Put and delete records visited.
    pub records: u64,
}

/// Calls `visit(offset, len, record)` for every `Put` and `Delete` record of
/// `data` (the bytes of `path` from file offset `base` on), batch members
/// included; a batch group cut short by the end is part of the torn tail and
/// is not visited.
///
/// # Errors
/// `Corruption` for a damaged record with valid data after it, unless
/// `salvage`, in which case the damaged bytes up to the next valid record
/// are skipped and counted. Errors from `visit` are passed through.
pub fn scan_log(
    path: &Path,
    data: &[u8],
    base: u64,
    salvage: bool,
    mut visit: impl FnMut(u64, u32, &RecordRef<'_>) -> Result<()>,
) -> Result<ScanOutcome> {
    let mut outcome = ScanOutcome::default();
    let mut start = 0usize;
    loop {
        let mut reader = LogReader::new(path, &data[start..], base + start as u64);
        let mut failure = None;
        for item in reader.by_ref() {
            match item {
                Ok(LogEntry::Single(rec)) => {
                    visit(rec.offset, rec.len, &rec.record)?;
                    outcome.records += 1;
                }
                Ok(LogEntry::Batch { members, .. }) => {
                    for rec in &members {
                        visit(rec.offset, rec.len, &rec.record)?;
                    }
                    outcome.records += members.len() as u64;
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        outcome.valid_end = reader.valid_end();
        let Some(error) = failure else {
            if let Tail::Torn { bytes, .. } = reader.tail() {
                outcome.torn_bytes = bytes;
            }
            return Ok(outcome);
        };
        let Error::Corruption { offset, .. } = &error else {
            return Err(error);
        };
        if !salvage {
            return Err(error);
        }
        // Resume at the next byte where a valid record starts (the reader
        // only reports corruption when there is one).
        let from = (offset.saturating_sub(base) as usize + 1).max(start + 1);
        let Some(next) = (from..data.len())
            .find(|&at| matches!(decode_record(&data[at..]), Decoded::Record { .. }))
        else {
            return Err(error);
        };
        outcome.salvaged_bytes += (base + next as u64).saturating_sub(outcome.valid_end);
        start = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kv_core::codec::encode_put;

    fn log() -> (Vec<u8>, usize) {
        let mut buf = Vec::new();
        encode_put(&mut buf, 1, b"a", b"1");
        let first = buf.len();
        encode_put(&mut buf, 2, b"b", b"2");
        encode_put(&mut buf, 3, b"c", b"3");
        (buf, first)
    }

    #[test]
    fn damage_in_the_middle_is_corruption_or_salvaged() {
        let (mut buf, first) = log();
        buf[first + 23] ^= 0xff; // the second record's key
        let p = Path::new("d");
        let err = scan_log(p, &buf, 16, false, |_, _, _| Ok(())).unwrap_err();
        assert!(err.is_corruption());
        let mut keys = Vec::new();
        let out = scan_log(p, &buf, 16, true, |_, _, r| {
            keys.push(r.key.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(keys, vec![b"a".to_vec(), b"c".to_vec()]);
        assert_eq!(out.salvaged_bytes, (buf.len() - first) as u64 / 2);
        assert_eq!(out.torn_bytes, 0);
    }

    #[test]
    fn torn_tail_is_reported() {
        let (buf, _) = log();
        let cut = &buf[..buf.len() - 3];
        let out = scan_log(Path::new("d"), cut, 16, false, |_, _, _| Ok(())).unwrap();
        assert_eq!(out.records, 2);
        assert_eq!(out.torn_bytes, (buf.len() / 3 - 3) as u64);
        assert_eq!(out.valid_end, 16 + (buf.len() / 3 * 2) as u64);
    }
}
