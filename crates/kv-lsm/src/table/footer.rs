//! The table footer: where the index, filter and properties blocks are, the
//! format version and the magic, sealed with a crc32.
//!
//! ```text
//! | index offset (u64) | index len (u32) | filter offset (u64) | filter len (u32) |
//! | props offset (u64) | props len (u32) | format version (u32) | magic (u64) | crc32 (4) |
//! ```
//!
//! 52 bytes, little-endian, at the very end of the file. Lengths include each
//! block's 4-byte crc32 trailer.

use kv_core::codec::{open_block, seal_block, LeReader};
use kv_core::{CorruptionKind, Error, Result};
use std::path::Path;

/// Magic at the end of every table ("KVLSMSST").
pub const TABLE_MAGIC: u64 = u64::from_le_bytes(*b"KVLSMSST");
/// The table format version this build writes and reads.
pub const TABLE_FORMAT_VERSION: u32 = 1;
/// Bytes of the footer.
pub const FOOTER_BYTES: usize = 52;
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
}

impl Footer {
    /// The footer's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FOOTER_BYTES);
        for h in [self.index, self.filter, self.props] {
            out.extend_from_slice(&h.offset.to_le_bytes());
            out.extend_from_slice(&h.len.to_le_bytes());
        }
        out.extend_from_slice(&TABLE_FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&TABLE_MAGIC.to_le_bytes());
        seal_block(&mut out);
        out
    }

    /// Decodes the last [`FOOTER_BYTES`] of a `file_len`-byte table; every
    /// handle must lie inside the file before the footer.
    ///
    /// # Errors
    /// `Corruption` naming `file` at the footer's offset.
    pub fn decode(bytes: &[u8], file: &Path, file_len: u64) -> Result<Self> {
        let at = file_len.saturating_sub(FOOTER_BYTES as u64);
        let corrupt = |kind| Error::corruption(file, at, kind);
        if bytes.len() != FOOTER_BYTES {
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
        let version = r.u32().ok_or_else(short)?;
        let magic = r.u64().ok_or_else(short)?;
        if magic != TABLE_MAGIC {
            return Err(corrupt(CorruptionKind::BadMagic {
                expected: TABLE_MAGIC,
                got: magic,
            }));
        }
        if version != TABLE_FORMAT_VERSION {
            return Err(corrupt(CorruptionKind::BadVersion {
                supported: TABLE_FORMAT_VERSION,
                got: version,
            }));
        }
        for h in [index, filter, props] {
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
        })
    }
}
