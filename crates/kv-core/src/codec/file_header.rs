//! The 16-byte header at the start of every log file.
//!
//! ```text
//! | magic (8) | format_version (4) | crc32 of the 12 bytes before (4) |
//! ```
//!
//! Each file type has its own magic, so a file of one kind is never read as
//! another. A header shorter than 16 bytes at the end of a file is a torn
//! creation (the file was created but never synced), not corruption.

use std::path::Path;

use crate::error::{CorruptionKind, Error, Result};

/// Size of a file header.
pub const FILE_HEADER_BYTES: usize = 16;

/// A decoded file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileHeader {
    /// The file type's magic number.
    pub magic: u64,
    /// The format version the file was written with.
    pub version: u32,
}

/// Encodes a header.
pub fn encode_file_header(magic: u64, version: u32) -> [u8; FILE_HEADER_BYTES] {
    let mut out = [0; FILE_HEADER_BYTES];
    out[..8].copy_from_slice(&magic.to_le_bytes());
    out[8..12].copy_from_slice(&version.to_le_bytes());
    let crc = crc32fast::hash(&out[..12]);
    out[12..].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes and checks the header at the start of `buf` (the contents of
/// `file`). Returns `Ok(None)` when `buf` is shorter than a header (a torn
/// creation), the header when it matches `magic` and a version up to
/// `supported_version`, and `Corruption` otherwise.
pub fn decode_file_header(
    buf: &[u8],
    file: &Path,
    magic: u64,
    supported_version: u32,
) -> Result<Option<FileHeader>> {
    let Some(bytes) = buf.get(..FILE_HEADER_BYTES) else {
        return Ok(None);
    };
    let corrupt = |kind| Err(Error::corruption(file, 0, kind));
    let mut crc = [0; 4];
    crc.copy_from_slice(&bytes[12..16]);
    let expected = u32::from_le_bytes(crc);
    let got = crc32fast::hash(&bytes[..12]);
    if expected != got {
        return corrupt(CorruptionKind::ChecksumMismatch { expected, got });
    }
    let mut m = [0; 8];
    m.copy_from_slice(&bytes[..8]);
    let found_magic = u64::from_le_bytes(m);
    if found_magic != magic {
        return corrupt(CorruptionKind::BadMagic {
            expected: magic,
            got: found_magic,
        });
    }
    let mut v = [0; 4];
    v.copy_from_slice(&bytes[8..12]);
    let version = u32::from_le_bytes(v);
    if version == 0 || version > supported_version {
        return corrupt(CorruptionKind::BadVersion {
            supported: supported_version,
            got: version,
        });
    }
    Ok(Some(FileHeader {
        magic: found_magic,
        version,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGIC: u64 = 0x4b56_4c41_4254_4553;

    #[test]
    fn header_round_trip_and_rejections() {
        let p = Path::new("f");
        let h = encode_file_header(MAGIC, 1);
        assert_eq!(
            decode_file_header(&h, p, MAGIC, 1).unwrap(),
            Some(FileHeader {
                magic: MAGIC,
                version: 1
            })
        );
        assert_eq!(decode_file_header(&h[..10], p, MAGIC, 1).unwrap(), None);
        let err = decode_file_header(&h, p, MAGIC + 1, 1).unwrap_err();
        assert!(matches!(
            err,
            Error::Corruption {
                kind: CorruptionKind::BadMagic { .. },
                ..
            }
        ));
        let newer = encode_file_header(MAGIC, 2);
        let err = decode_file_header(&newer, p, MAGIC, 1).unwrap_err();
        assert!(matches!(
            err,
            Error::Corruption {
                kind: CorruptionKind::BadVersion { .. },
                ..
            }
        ));
        let mut flipped = h;
        flipped[3] ^= 1;
        assert!(decode_file_header(&flipped, p, MAGIC, 1).is_err());
    }
}
