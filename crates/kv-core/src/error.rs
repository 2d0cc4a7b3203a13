//! The one error type every engine returns.
//!
//! Every variant says what happened; its `Display` also says what to do next.
//! Variants are structured (expected/got fields, file and offset) so callers
//! and tests can match on them instead of parsing messages.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Result alias used throughout kvlab.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a kvlab store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operating system (or an injected fault) failed an I/O call.
    #[error("I/O error: {0} (check the disk, its free space and permissions; a store that failed a write is poisoned until reopened)")]
    Io(#[from] io::Error),

    /// Bytes read from disk failed verification.
    #[error("corruption in {file} at offset {offset}: {kind} (run `kv check` for a full report; restore from a backup or reopen with salvage enabled to drop the damaged data)", file = file.display())]
    Corruption {
        /// The file holding the damaged bytes.
        file: PathBuf,
        /// Byte offset of the damaged record, page or block in that file.
        offset: u64,
        /// What exactly failed to verify.
        kind: CorruptionKind,
    },

    /// Another handle (in this or another process) holds the directory lock.
    #[error("store directory {path} is locked by another open handle (close the other process or handle first)", path = path.display())]
    Locked {
        /// The locked directory.
        path: PathBuf,
    },

    /// An earlier write or sync failed; the in-memory state may no longer match
    /// the disk, so every later write is refused.
    #[error(
        "store is poisoned by an earlier failure ({cause}); reopen it to recover what is durable"
    )]
    Poisoned {
        /// The failure that poisoned the store.
        cause: String,
    },

    /// A key, value or batch exceeds a limit; nothing was written.
    #[error("{what} too large: {got} bytes, the limit is {limit} bytes (split it or store it elsewhere)")]
    TooLarge {
        /// What was too large: `"key"`, `"value"` or `"batch"`.
        what: &'static str,
        /// The limit in bytes.
        limit: usize,
        /// The size that was passed.
        got: usize,
    },

    /// A caller passed an argument that makes no sense (bad option, bad range).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The store was closed; open it again to use it.
    #[error("store is closed (open it again)")]
    Closed,

    /// The directory holds a store written by another engine.
    #[error("{path} holds a {found} store, not a {expected} store (open it with --engine {found})", path = path.display())]
    WrongEngine {
        /// The store directory.
        path: PathBuf,
        /// The engine that wrote it.
        found: String,
        /// The engine that was asked to open it.
        expected: String,
    },

    /// The directory holds files but no kvlab store marker: it is not a store,
    /// and nothing was written to it.
    #[error("{path} holds files but no kvlab store (use an empty directory or a store's own directory)", path = path.display())]
    ForeignDirectory {
        /// The directory.
        path: PathBuf,
    },

    /// A read-only or verify open found no store in the directory (nothing
    /// was created).
    #[error("{path} holds no store (a read never creates one; write to it first)", path = path.display())]
    NoStore {
        /// The directory.
        path: PathBuf,
    },

    /// A write on a store opened read-only.
    #[error("store is open read-only (reopen it read-write to change it)")]
    ReadOnly,
}

/// What exactly failed to verify in a [`Error::Corruption`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub enum CorruptionKind {
    /// The stored checksum does not match the bytes.
    ChecksumMismatch {
        /// Checksum stored on disk.
        expected: u32,
        /// Checksum computed over the bytes read.
        got: u32,
    },
    /// A length field is impossible (too large, or inconsistent with others).
    BadLength {
        /// The length read.
        got: u64,
        /// The largest length that would have been valid.
        max: u64,
    },
    /// A file or structure does not start with the expected magic number.
    BadMagic {
        /// The magic we expected.
        expected: u64,
        /// The magic found.
        got: u64,
    },
    /// A format version this build does not understand.
    BadVersion {
        /// The newest version this build reads.
        supported: u32,
        /// The version found.
        got: u32,
    },
    /// An unknown record, block or page type tag.
    BadKind {
        /// The tag found.
        got: u8,
    },
    /// A record decoded but is not the one expected at this place (wrong key,
    /// wrong sequence number, a batch with members missing).
    Mismatch(String),
    /// A structural invariant does not hold (ordering, counts, references).
    Invariant(String),
    /// A file the store's own metadata says exists is missing or empty.
    MissingFile(String),
}

impl fmt::Display for CorruptionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ChecksumMismatch { expected, got } => {
                write!(
                    f,
                    "checksum mismatch (expected {expected:#010x}, got {got:#010x})"
                )
            }
            Self::BadLength { got, max } => write!(f, "bad length {got} (at most {max})"),
            Self::BadMagic { expected, got } => {
                write!(f, "bad magic (expected {expected:#018x}, got {got:#018x})")
            }
            Self::BadVersion { supported, got } => {
                write!(
                    f,
                    "format version {got} is not supported (this build reads up to {supported})"
                )
            }
            Self::BadKind { got } => write!(f, "unknown type tag {got}"),
            Self::Mismatch(what) => write!(f, "unexpected record: {what}"),
            Self::Invariant(what) => write!(f, "invariant violated: {what}"),
            Self::MissingFile(what) => write!(f, "missing file: {what}"),
        }
    }
}

impl Error {
    /// Builds a [`Error::Corruption`].
    pub fn corruption(file: impl Into<PathBuf>, offset: u64, kind: CorruptionKind) -> Self {
        Self::Corruption {
            file: file.into(),
            offset,
            kind,
        }
    }

    /// True for [`Error::Corruption`].
    pub fn is_corruption(&self) -> bool {
        matches!(self, Self::Corruption { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line_and_says_what_to_do() {
        let errors = [
            Error::Io(io::Error::other("disk on fire")),
            Error::corruption(
                "/d/000001.log",
                42,
                CorruptionKind::ChecksumMismatch {
                    expected: 1,
                    got: 2,
                },
            ),
            Error::Locked { path: "/d".into() },
            Error::Poisoned {
                cause: "sync failed".into(),
            },
            Error::TooLarge {
                what: "key",
                limit: 4096,
                got: 5000,
            },
            Error::InvalidArgument("bad".into()),
            Error::Closed,
            Error::WrongEngine {
                path: "/d".into(),
                found: "redb".into(),
                expected: "bitcask".into(),
            },
            Error::NoStore { path: "/d".into() },
            Error::ForeignDirectory { path: "/d".into() },
            Error::ReadOnly,
        ];
        for e in errors {
            let text = e.to_string();
            assert!(!text.contains('\n'), "{text}");
            assert!(!text.is_empty());
        }
    }
}
