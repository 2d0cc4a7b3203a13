//! A store directory knows its engine: the `KVLAB` marker file.
//!
//! Every kvlab store directory holds a small text file, [`IDENTITY_FILE_NAME`],
//! written durably when the store is created and checked at every open:
//!
//! ```text
//! kvlab store
//! engine: bitcask
//! format: 1
//! crc32: 1c291ca3
//! ```
//!
//! The `crc32` line covers the bytes of the lines above it. Opening a
//! directory as another engine is [`Error::WrongEngine`], naming the engine
//! that wrote it; a read-only open of a directory that holds no store is
//! [`Error::NoStore`] and creates nothing. Variants of one engine (an LSM
//! compaction strategy) share its identity. Engines call [`claim_store_dir`]
//! from `open` before anything else; the benchmark registry does the same for
//! the peer engines.

use std::io;
use std::path::Path;

use crate::error::{CorruptionKind, Error, Result};
use crate::fs::{create_dir_durably, read_file_if_exists, write_file_atomic, Fs};
use crate::options::OpenMode;

/// Name of the marker file inside a store directory.
pub const IDENTITY_FILE_NAME: &str = "KVLAB";

/// Longest marker file accepted (a marker is about 60 bytes).
const MAX_IDENTITY_BYTES: usize = 1024;

/// Files that do not make a directory a store (and that a store may hold
/// before its marker is written).
const IGNORED_NAMES: [&str; 3] = ["LOCK", "KVLAB.tmp", "lost+found"];

/// Which engine wrote a store, and in which of its format versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreIdentity {
    /// The engine's registry name (`bitcask`, `lsm`, `btree`, `redb`, ...).
    pub engine: String,
    /// The engine's on-disk format version.
    pub format_version: u32,
}

impl StoreIdentity {
    /// The identity of `engine` at `format_version`.
    pub fn new(engine: impl Into<String>, format_version: u32) -> Self {
        Self {
            engine: engine.into(),
            format_version,
        }
    }

    /// The marker file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let body = format!(
            "kvlab store\nengine: {}\nformat: {}\n",
            self.engine, self.format_version
        );
        let crc = crc32fast::hash(body.as_bytes());
        format!("{body}crc32: {crc:08x}\n").into_bytes()
    }

    /// Parses a marker file; `Corruption` naming `path` if it is damaged.
    pub fn decode(path: &Path, bytes: &[u8]) -> Result<Self> {
        let bad = |what: &str| {
            Error::corruption(
                path,
                0,
                CorruptionKind::Invariant(format!("store marker {what}")),
            )
        };
        if bytes.len() > MAX_IDENTITY_BYTES {
            return Err(Error::corruption(
                path,
                0,
                CorruptionKind::BadLength {
                    got: bytes.len() as u64,
                    max: MAX_IDENTITY_BYTES as u64,
                },
            ));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| bad("is not text"))?;
        let crc_at = text
            .rfind("crc32: ")
            .ok_or_else(|| bad("has no crc32 line"))?;
        let (body, crc_line) = text.split_at(crc_at);
        let hex = crc_line
            .strip_prefix("crc32: ")
            .and_then(|l| l.strip_suffix('\n'))
            .filter(|h| h.len() == 8 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .ok_or_else(|| bad("has a malformed crc32 line"))?;
        let stored = u32::from_str_radix(hex, 16).map_err(|_| bad("has a malformed crc32 line"))?;
        let computed = crc32fast::hash(body.as_bytes());
        if stored != computed {
            return Err(Error::corruption(
                path,
                crc_at as u64,
                CorruptionKind::ChecksumMismatch {
                    expected: stored,
                    got: computed,
                },
            ));
        }
        let mut lines = body.lines();
        if lines.next() != Some("kvlab store") {
            return Err(bad("does not start with `kvlab store`"));
        }
        let field = |line: Option<&str>, name: &str| -> Result<String> {
            line.and_then(|l| l.strip_prefix(name))
                .and_then(|l| l.strip_prefix(": "))
                .map(str::to_owned)
                .ok_or_else(|| bad(&format!("has no `{name}` line")))
        };
        let engine = field(lines.next(), "engine")?;
        let format_version = field(lines.next(), "format")?
            .parse()
            .map_err(|_| bad("has a malformed format version"))?;
        Ok(Self {
            engine,
            format_version,
        })
    }
}

/// Reads the identity of the store in `dir`: `None` when the directory has no
/// marker (or does not exist). Changes nothing.
///
/// # Errors
/// I/O failures; `Corruption` for a damaged marker.
pub fn read_identity(fs: &dyn Fs, dir: &Path) -> Result<Option<StoreIdentity>> {
    let path = dir.join(IDENTITY_FILE_NAME);
    match read_file_if_exists(fs, &path) {
        Ok(Some(bytes)) => StoreIdentity::decode(&path, &bytes).map(Some),
        Ok(None) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Io(e)),
    }
}

/// What [`claim_store_dir`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The directory was new or empty; it is now a store of this engine
    /// (marker written durably, parents synced).
    Created,
    /// The directory holds a store of this engine: its identity.
    Existing(StoreIdentity),
    /// The directory holds a store of this engine from before markers existed
    /// (recognised by `is_legacy_store`); a read-write open has written the
    /// marker.
    Legacy,
}

/// Checks, at open, that `dir` holds a store of `identity.engine` (or
/// nothing), and claims it.
///
/// - No directory, or an empty one (only `LOCK`): under `ReadWrite` the
///   directory is created durably and the marker written (`Claim::Created`);
///   under `ReadOnly`/`Verify`, [`Error::NoStore`], with nothing created.
/// - A marker for this engine: `Claim::Existing`; a format version newer than
///   `identity.format_version` is `Corruption` (`BadVersion`).
/// - A marker for another engine: [`Error::WrongEngine`] naming it.
/// - Files but no marker: `is_legacy_store(names)` says whether they are a
///   store of this engine written before markers (the marker is then added
///   under `ReadWrite`: `Claim::Legacy`); otherwise [`Error::ForeignDirectory`].
///
/// # Errors
/// As listed, and I/O failures.
pub fn claim_store_dir(
    fs: &dyn Fs,
    dir: &Path,
    identity: &StoreIdentity,
    mode: OpenMode,
    is_legacy_store: &dyn Fn(&[String]) -> bool,
) -> Result<Claim> {
    if let Some(found) = read_identity(fs, dir)? {
        if found.engine != identity.engine {
            return Err(Error::WrongEngine {
                path: dir.to_path_buf(),
                found: found.engine,
                expected: identity.engine.clone(),
            });
        }
        if found.format_version > identity.format_version {
            return Err(Error::corruption(
                dir.join(IDENTITY_FILE_NAME),
                0,
                CorruptionKind::BadVersion {
                    supported: identity.format_version,
                    got: found.format_version,
                },
            ));
        }
        return Ok(Claim::Existing(found));
    }
    let names = match fs.list(dir) {
        Ok(names) => names,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::Io(e)),
    };
    let names: Vec<String> = names
        .into_iter()
        .filter(|n| !IGNORED_NAMES.contains(&n.as_str()))
        .collect();
    let claim = if names.is_empty() {
        Claim::Created
    } else if is_legacy_store(&names) {
        Claim::Legacy
    } else {
        return Err(Error::ForeignDirectory {
            path: dir.to_path_buf(),
        });
    };
    if mode.is_read_only() {
        return match claim {
            Claim::Created => Err(Error::NoStore {
                path: dir.to_path_buf(),
            }),
            other => Ok(other),
        };
    }
    create_dir_durably(fs, dir)?;
    write_file_atomic(fs, dir, IDENTITY_FILE_NAME, &identity.encode())?;
    Ok(claim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::StdFs;

    fn never(_: &[String]) -> bool {
        false
    }

    #[test]
    fn marker_round_trips_and_detects_damage() {
        let id = StoreIdentity::new("bitcask", 2);
        let bytes = id.encode();
        assert_eq!(StoreIdentity::decode(Path::new("K"), &bytes).unwrap(), id);
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            assert!(
                StoreIdentity::decode(Path::new("K"), &bad).is_err(),
                "flip at {i} passed"
            );
        }
        assert!(StoreIdentity::decode(Path::new("K"), &bytes[..bytes.len() - 3]).is_err());
    }

    #[test]
    fn claim_creates_refuses_other_engines_and_never_creates_on_read() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        let bitcask = StoreIdentity::new("bitcask", 1);
        let err = claim_store_dir(&StdFs, &dir, &bitcask, OpenMode::ReadOnly, &never).unwrap_err();
        assert!(matches!(err, Error::NoStore { .. }), "{err}");
        assert!(!dir.exists(), "a read-only claim created the directory");
        assert_eq!(
            claim_store_dir(&StdFs, &dir, &bitcask, OpenMode::ReadWrite, &never).unwrap(),
            Claim::Created
        );
        assert_eq!(
            claim_store_dir(&StdFs, &dir, &bitcask, OpenMode::Verify, &never).unwrap(),
            Claim::Existing(bitcask.clone())
        );
        let redb = StoreIdentity::new("redb", 1);
        match claim_store_dir(&StdFs, &dir, &redb, OpenMode::ReadWrite, &never).unwrap_err() {
            Error::WrongEngine {
                found, expected, ..
            } => {
                assert_eq!((found.as_str(), expected.as_str()), ("bitcask", "redb"));
            }
            other => panic!("{other}"),
        }
        let older = StoreIdentity::new("bitcask", 0);
        let err = claim_store_dir(&StdFs, &dir, &older, OpenMode::ReadWrite, &never).unwrap_err();
        assert!(err.is_corruption(), "{err}");
    }

    #[test]
    fn unmarked_directories_are_legacy_or_foreign() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("0000000001.data"), b"x").unwrap();
        let id = StoreIdentity::new("bitcask", 1);
        let err =
            claim_store_dir(&StdFs, tmp.path(), &id, OpenMode::ReadWrite, &never).unwrap_err();
        assert!(matches!(err, Error::ForeignDirectory { .. }), "{err}");
        let legacy = |names: &[String]| names.iter().all(|n| n.ends_with(".data"));
        assert_eq!(
            claim_store_dir(&StdFs, tmp.path(), &id, OpenMode::ReadOnly, &legacy).unwrap(),
            Claim::Legacy
        );
        assert!(
            read_identity(&StdFs, tmp.path()).unwrap().is_none(),
            "read-only wrote"
        );
        assert_eq!(
            claim_store_dir(&StdFs, tmp.path(), &id, OpenMode::ReadWrite, &legacy).unwrap(),
            Claim::Legacy
        );
        assert_eq!(read_identity(&StdFs, tmp.path()).unwrap(), Some(id));
    }
}
