//! The properties block: what a table holds, read at open.
//!
//! ```text
//! | entries (varint) | tombstones (varint) | min seq (varint) | max seq (varint) |
//! | data blocks (varint) | smallest key len (varint) | smallest internal key |
//! | largest key len (varint) | largest internal key | crc32 (4, seal_block) |
//! ```

use kv_core::codec::{put_varint, seal_block, LeReader};
use kv_core::limits::MAX_KEY_BYTES;
use kv_core::CorruptionKind;

use crate::ikey::TRAILER_BYTES;

/// Table properties.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Props {
    /// Entries (versions) in the table.
    pub entries: u64,
    /// Tombstones among them.
    pub tombstones: u64,
    /// Smallest sequence number.
    pub min_seq: u64,
    /// Largest sequence number.
    pub max_seq: u64,
    /// Data blocks.
    pub data_blocks: u64,
    /// Smallest internal key.
    pub smallest: Vec<u8>,
    /// Largest internal key.
    pub largest: Vec<u8>,
}

impl Props {
    /// The sealed block.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for v in [
            self.entries,
            self.tombstones,
            self.min_seq,
            self.max_seq,
            self.data_blocks,
        ] {
            put_varint(&mut out, v);
        }
        for k in [&self.smallest, &self.largest] {
            put_varint(&mut out, k.len() as u64);
            out.extend_from_slice(k);
        }
        seal_block(&mut out);
        out
    }

    /// Parses a payload (trailer verified and removed).
    ///
    /// # Errors
    /// The corruption found.
    pub fn decode(payload: &[u8]) -> Result<Self, CorruptionKind> {
        let mut r = LeReader::new(payload);
        let cut = || CorruptionKind::Invariant("properties block cut short".into());
        let mut next = || r.varint().ok_or_else(cut);
        let (entries, tombstones, min_seq, max_seq, data_blocks) =
            (next()?, next()?, next()?, next()?, next()?);
        let mut key = || -> Result<Vec<u8>, CorruptionKind> {
            let len = r.varint().ok_or_else(cut)?;
            let max = (MAX_KEY_BYTES + TRAILER_BYTES) as u64;
            if len > max || len < TRAILER_BYTES as u64 {
                return Err(CorruptionKind::BadLength { got: len, max });
            }
            Ok(r.bytes(len as usize).ok_or_else(cut)?.to_vec())
        };
        let (smallest, largest) = (key()?, key()?);
        if !r.is_empty() || tombstones > entries || min_seq > max_seq {
            return Err(CorruptionKind::Invariant(
                "properties block fields disagree".into(),
            ));
        }
        Ok(Self {
            entries,
            tombstones,
            min_seq,
            max_seq,
            data_blocks,
            smallest,
            largest,
        })
    }
}
