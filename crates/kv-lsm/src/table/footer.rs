//! The table footer: where the index, filter, properties (and, version 2,
//! range-del) blocks are, the format version and the magic, sealed with a
//! crc32.
//!
//! ```text
//! version 1 (52 bytes):
//! | index offset (u64) | index len (u32) | filter offset (u64) | filter len (u32) |
//! | props offset (u64) | props len (u32) | format version (u32) = 1 | magic (u64) | crc32 (4) |
//! version 2 (64 bytes): the same, with the range-del block's handle before the version:
//! | index | filter | props | range-del offset (u64) | range-del len (u32) |
//! | format version (u32) = 2 | magic (u64) | crc32 (4) |
//! ```
//!
//! Little-endian, at the very end of the file. Lengths include each block's
//! 4-byte crc32 trailer. The last 16 bytes (version, magic, crc32) sit at
//! the same place in both versions, so a reader learns the footer's length
//! from them. A table is written as version 1 unless it holds range
//! tombstones, so tables without any stay readable by a version-1 build.

use kv_core::codec::{open_block, seal_block, LeReader};
use kv_core::{CorruptionKind, Error, Result};
use std::path::Path;

/// Magic at the end of every table ("KVLSMSST").
pub const TABLE_MAGIC: u64 = u64::from_le_bytes(*b"KVLSMSST");
/// The table format version of a table without range tombstones.
pub const TABLE_FORMAT_VERSION: u32 = 1;
/// The table format version of a table with a range-del block.
pub const TABLE_FORMAT_VERSION_RANGE_DEL: u32 = 2;
/// Bytes of a version-1 footer (the smallest a table can end with).
pub const FOOTER_BYTES: usize = 52;
/// Bytes of a version-2 footer.
pub const FOOTER_V2_BYTES: usize = 64;
/// Largest block (a data block holding one 16 MiB value, and index or filter
/// blocks of a big table).
pub const MAX_BLOCK_BYTES: u32 = 64 << 20;

/// Offset and length of a block in a table file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockHandle {
    /// Offset of the block's first byte.
    pub offset: u64,
    /// Length, trailer included.
    pub len: u32,
}

/// The decoded footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    /// The index block.
    pub index: BlockHandle,
    /// The bloom filter block.
    pub filter: BlockHandle,
    /// The properties block.
    pub props: BlockHandle,
    /// The range-del block (version 2 only).
    pub range_del: Option<BlockHandle>,
}

impl Footer {
    /// The footer's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FOOTER_V2_BYTES);
        let handles = [
            Some(self.index),
            Some(self.filter),
            Some(self.props),
            self.range_del,
        ];
        for h in handles.into_iter().flatten() {
            out.extend_from_slice(&h.offset.to_le_bytes());
            out.extend_from_slice(&h.len.to_le_bytes());
        }
        let version = match self.range_del {
            Some(_) => TABLE_FORMAT_VERSION_RANGE_DEL,
            None => TABLE_FORMAT_VERSION,
        };
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&TABLE_MAGIC.to_le_bytes());
        seal_block(&mut out);
        out
    }

    /// The footer length a table ends with, from its last bytes `tail` (at
    /// least 16): [`FOOTER_V2_BYTES`] when they name version 2, else
    /// [`FOOTER_BYTES`] (a wrong version is reported by [`Footer::decode`]).
    pub fn len_from_tail(tail: &[u8]) -> usize {
        let version = tail
            .len()
            .checked_sub(16)
            .and_then(|at| tail.get(at..at + 4))
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        if version == Some(TABLE_FORMAT_VERSION_RANGE_DEL) {
            FOOTER_V2_BYTES
        } else {
            FOOTER_BYTES
        }
    }

    /// Decodes the footer (the last [`FOOTER_BYTES`] or [`FOOTER_V2_BYTES`]
    /// bytes) of a `file_len`-byte table; every handle must lie inside the
    /// file before the footer.
    ///
    /// # Errors
    /// `Corruption` naming `file` at the footer's offset.
    pub fn decode(bytes: &[u8], file: &Path, file_len: u64) -> Result<Self> {
        let at = file_len.saturating_sub(bytes.len() as u64);
        let corrupt = |kind| Error::corruption(file, at, kind);
        if bytes.len() != FOOTER_BYTES && bytes.len() != FOOTER_V2_BYTES {
            return Err(corrupt(CorruptionKind::BadLength {
                got: bytes.len() as u64,
                max: FOOTER_BYTES as u64,
            }));
        }
        let payload = open_block(bytes, file, at)?;
        let mut r = LeReader::new(payload);
        let mut handle = || -> Option<BlockHandle> {
            Some(BlockHandle {
                offset: r.u64()?,
                len: r.u32()?,
            })
        };
        let short = || corrupt(CorruptionKind::BadLength { got: 0, max: 0 });
        let (index, filter, props) = (
            handle().ok_or_else(short)?,
            handle().ok_or_else(short)?,
            handle().ok_or_else(short)?,
        );
        let range_del = if bytes.len() == FOOTER_V2_BYTES {
            Some(handle().ok_or_else(short)?)
        } else {
            None
        };
        let version = r.u32().ok_or_else(short)?;
        let magic = r.u64().ok_or_else(short)?;
        if magic != TABLE_MAGIC {
            return Err(corrupt(CorruptionKind::BadMagic {
                expected: TABLE_MAGIC,
                got: magic,
            }));
        }
        let expected = match range_del {
            Some(_) => TABLE_FORMAT_VERSION_RANGE_DEL,
            None => TABLE_FORMAT_VERSION,
        };
        if version != expected {
            return Err(corrupt(CorruptionKind::BadVersion {
                supported: expected,
                got: version,
            }));
        }
        for h in [Some(index), Some(filter), Some(props), range_del]
            .into_iter()
            .flatten()
        {
            let end = h.offset.checked_add(u64::from(h.len));
            if end.is_none_or(|end| end > at) || h.len > MAX_BLOCK_BYTES || h.len < 4 {
                return Err(corrupt(CorruptionKind::BadLength {
                    got: h.offset.saturating_add(u64::from(h.len)),
                    max: at,
                }));
            }
        }
        Ok(Self {
            index,
            filter,
            props,
            range_del,
        })
    }
}
