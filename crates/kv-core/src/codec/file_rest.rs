//! [`FileRest`]: the questions damage raises about the rest of a log (is
//! there a valid record after it? the highest durable frontier after it?)
//! answered by reading the file in chunks, for [`super::LogStream`] and for
//! the salvage helpers [`next_valid_record`] and [`highest_frontier_in_file`].

use std::cell::Cell;
use std::io;

use super::log_reader::Rest;
use super::record::{decode_header, decode_record, Decoded, RecordKind, HEADER_BYTES};
use super::STREAM_CHUNK_BYTES;
use crate::error::Result;
use crate::fs::File;

/// Reads bytes `[from, end)` of a log file to answer [`Rest`] questions.
///
/// # Memory
/// One read of `chunk` bytes (at least a header and a byte), plus, for a
/// candidate record that runs past the chunk, that one record (at most
/// [`super::MAX_RECORD_BYTES`]); both are freed when the question is
/// answered. [`FileRest::peak_bytes`] tells the most held.
#[derive(Debug)]
pub(crate) struct FileRest<'f> {
    pub file: &'f dyn File,
    pub end: u64,
    /// Bytes per read (`STREAM_CHUNK_BYTES`; smaller in tests).
    pub chunk: usize,
    /// The most bytes one answer held (chunk and candidate buffers).
    peak: Cell<usize>,
}

impl<'f> FileRest<'f> {
    /// The rest of `file` up to `end`, read a [`STREAM_CHUNK_BYTES`] chunk at
    /// a time.
    pub fn new(file: &'f dyn File, end: u64) -> Self {
        Self {
            file,
            end,
            chunk: STREAM_CHUNK_BYTES,
            peak: Cell::new(0),
        }
    }

    /// The most bytes an answer held since the last call, and starts over.
    pub fn take_peak_bytes(&self) -> usize {
        self.peak.replace(0)
    }

    /// Calls `found` with each valid record starting at `from` or after, in
    /// file order, until it returns true; returns true if it did.
    fn each_valid(
        &self,
        from: u64,
        mut found: impl FnMut(u64, &Decoded<'_>) -> bool,
    ) -> io::Result<bool> {
        let (mut chunk, mut scratch) = (Vec::new(), Vec::new());
        let read = self.chunk.max(HEADER_BYTES + 1);
        let mut start = from;
        while start < self.end {
            let len = (self.end - start).min(read as u64) as usize;
            grow_exact(&mut chunk, len);
            self.file.read_exact_at(&mut chunk, start)?;
            // Offsets whose header the chunk cuts are tried from the next.
            let starts = if start + len as u64 == self.end {
                len
            } else {
                len - HEADER_BYTES
            };
            for i in 0..starts {
                let Some(Ok(header)) = decode_header(&chunk[i..]) else {
                    continue;
                };
                let at = start + i as u64;
                if at + header.encoded_len as u64 > self.end {
                    continue;
                }
                let bytes = match chunk.get(i..i + header.encoded_len) {
                    Some(bytes) => bytes,
                    None => {
                        grow_exact(&mut scratch, header.encoded_len);
                        self.note(chunk.capacity() + scratch.capacity());
                        self.file.read_exact_at(&mut scratch, at)?;
                        &scratch[..]
                    }
                };
                let decoded = decode_record(bytes);
                if matches!(decoded, Decoded::Record { .. }) && found(at, &decoded) {
                    return Ok(true);
                }
            }
            self.note(chunk.capacity() + scratch.capacity());
            start += starts as u64;
        }
        Ok(false)
    }

    fn note(&self, bytes: usize) {
        self.peak.set(self.peak.get().max(bytes));
    }
}

/// Makes `buf` `len` bytes long, allocating no more than that.
pub(crate) fn grow_exact(buf: &mut Vec<u8>, len: usize) {
    if len > buf.len() {
        buf.reserve_exact(len - buf.len());
    }
    buf.resize(len, 0);
}

impl Rest for FileRest<'_> {
    fn valid_record_from(&self, offset: u64) -> Result<bool> {
        Ok(self.each_valid(offset, |_, _| true)?)
    }

    fn highest_frontier_from(&self, offset: u64) -> Result<u64> {
        let mut highest = 0;
        self.each_valid(offset, |_, d| {
            if let Decoded::Record { record, .. } = d {
                if record.kind == RecordKind::Frontier {
                    highest = highest.max(record.seq);
                }
            }
            false
        })?;
        Ok(highest)
    }
}

/// The first file offset at or after `from` of `file[from..end)` where a
/// valid record starts, read in chunks (salvage resumes there).
///
/// # Errors
/// I/O failures.
pub fn next_valid_record(file: &dyn File, from: u64, end: u64) -> Result<Option<u64>> {
    let mut found = None;
    FileRest::new(file, end).each_valid(from, |at, _| {
        found = Some(at);
        true
    })?;
    Ok(found)
}

/// The highest durable frontier held by a valid `Frontier` record starting
/// anywhere in `file[from..end)` (0 if none), read in chunks: the streaming
/// form of [`super::highest_frontier_in`].
///
/// # Errors
/// I/O failures.
pub fn highest_frontier_in_file(file: &dyn File, from: u64, end: u64) -> Result<u64> {
    FileRest::new(file, end).highest_frontier_from(from)
}
