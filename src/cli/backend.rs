//! Which engine a directory holds, and opening it: the one module of `kv`
//! that reaches the engine registry (`kv_registry`) and the shared
//! clap-error formatter, so that moving them to their own crate changes only
//! this file.
//!
//! # Which engine
//!
//! A store directory names the engine that wrote it in its marker file
//! (`KVLAB`, see [`kv_core::identity`]). Without `--engine`, `kv` opens the
//! engine the marker names, or `bitcask` for a directory without a marker.
//! With `--engine NAME`, a marker naming another engine is refused with
//! [`kv_core::Error::WrongEngine`] (exit 2) before any engine touches the
//! directory, so a peer engine never writes into one of our stores.
//!
//! # A read never writes
//!
//! [`Access::Read`] and [`Access::Verify`] open with
//! [`kv_core::OpenMode::ReadOnly`] and [`kv_core::OpenMode::Verify`]; on a
//! missing or empty directory they fail with [`kv_core::Error::NoStore`]
//! before opening anything, for every engine (peers open read-write, so this
//! check is what keeps a read from creating a peer store).
//! [`Access::WriteExisting`] (`delete`, `compact`) opens read-write but
//! shares that check, so it creates no store either.

use std::path::Path;

use kv_core::{Error, OpenMode, StdFs, Store, SyncPolicy};
use kv_registry::{self as registry, EngineInfo, OpenConfig};

use super::error::CliError;

/// The engine used for a directory that holds no store yet.
pub const DEFAULT_ENGINE: &str = "bitcask";

/// Names a directory may hold without holding a store (the lock file, an
/// unfinished marker, a file system's own directory).
const NOT_A_STORE: [&str; 3] = ["LOCK", "KVLAB.tmp", "lost+found"];

/// What a command does to the store, which decides how it is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads only (`get`, `scan`, `stats`): `OpenMode::ReadOnly`.
    Read,
    /// Verifies (`check`, the source of `salvage`): `OpenMode::Verify`, which
    /// lists damage instead of refusing to open.
    Verify,
    /// Writes to a store that must exist (`delete`, `compact`).
    WriteExisting,
    /// Writes, creating the store if needed (`put`, `repl`).
    Write,
}

impl Access {
    fn open_mode(self) -> OpenMode {
        match self {
            Self::Read => OpenMode::ReadOnly,
            Self::Verify => OpenMode::Verify,
            Self::WriteExisting | Self::Write => OpenMode::ReadWrite,
        }
    }

    fn needs_store(self) -> bool {
        !matches!(self, Self::Write)
    }
}

/// An open store and the engine it belongs to.
pub struct Opened {
    /// The store.
    pub store: Box<dyn Store>,
    /// The engine's registry name.
    pub engine: &'static str,
}

/// Opens the store in `path` for `access`.
///
/// `engine` is `--engine` (`None`: the engine the directory's marker names,
/// else [`DEFAULT_ENGINE`]).
///
/// # Errors
/// `Usage` for an unknown engine (listing the available ones), a path that
/// is not a directory, or a marker naming an engine missing from this
/// build; `Store(NoStore)` for a read of a missing or empty directory;
/// `Store(WrongEngine)` when the marker names another engine; otherwise
/// the engine's open error (`Locked`, `ForeignDirectory`, `Corruption`, I/O).
pub fn open(
    engine: Option<&str>,
    path: &Path,
    sync: SyncPolicy,
    access: Access,
) -> Result<Opened, CliError> {
    let requested = engine.map(engine_info).transpose()?;
    let state = directory_state(path)?;
    if requested.is_some_and(|info| !info.persistent) {
        // `memory` and `null` keep nothing on disk: the directory is unused.
        return open_engine(requested, path, sync, access);
    }
    let info = match state {
        DirState::Missing | DirState::Empty if access.needs_store() => {
            return Err(Error::NoStore {
                path: path.to_path_buf(),
            }
            .into())
        }
        DirState::Missing | DirState::Empty | DirState::Unmarked => {
            requested.map_or_else(|| engine_info(DEFAULT_ENGINE), Ok)?
        }
        DirState::Marked(found) => match requested {
            Some(info) if info.name != found => {
                return Err(Error::WrongEngine {
                    path: path.to_path_buf(),
                    found,
                    expected: info.name.to_string(),
                }
                .into())
            }
            Some(info) => info,
            None => marked_engine_info(path, &found)?,
        },
    };
    open_engine(Some(info), path, sync, access)
}

fn open_engine(
    info: Option<EngineInfo>,
    path: &Path,
    sync: SyncPolicy,
    access: Access,
) -> Result<Opened, CliError> {
    let info = info.map_or_else(|| engine_info(DEFAULT_ENGINE), Ok)?;
    // Every other field (cache budget, file system, threads) keeps its
    // default.
    let config = OpenConfig {
        sync,
        open_mode: access.open_mode(),
        ..OpenConfig::default()
    };
    let store = registry::open(info.name, path, &config)?;
    Ok(Opened {
        store,
        engine: info.name,
    })
}

/// What a directory holds, as far as choosing an engine goes.
enum DirState {
    Missing,
    /// Nothing but the names in [`NOT_A_STORE`].
    Empty,
    /// Files but no marker: an unmarked (legacy or peer) store, or not a
    /// store at all; the engine decides.
    Unmarked,
    /// A marker naming this engine.
    Marked(String),
}

fn directory_state(path: &Path) -> Result<DirState, CliError> {
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_dir() => {
            return Err(CliError::Usage(format!(
                "--path {} is not a directory (give the store's directory)",
                path.display()
            )))
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DirState::Missing),
        Err(e) => return Err(CliError::store_at(path, Error::Io(e))),
    }
    if let Some(identity) =
        kv_core::read_identity(&StdFs, path).map_err(|e| CliError::store_at(path, e))?
    {
        return Ok(DirState::Marked(identity.engine));
    }
    let entries = std::fs::read_dir(path).map_err(|e| CliError::store_at(path, Error::Io(e)))?;
    for entry in entries {
        let entry = entry.map_err(|e| CliError::store_at(path, Error::Io(e)))?;
        if !NOT_A_STORE.iter().any(|name| entry.file_name() == *name) {
            return Ok(DirState::Unmarked);
        }
    }
    Ok(DirState::Empty)
}

/// The engine a marker names, which must be in this build.
fn marked_engine_info(path: &Path, found: &str) -> Result<EngineInfo, CliError> {
    registry::info(found).map_err(|_| {
        CliError::Usage(format!(
            "{} holds a {found} store, but this build of kv has no engine {found} \
             (available engines: {})",
            path.display(),
            registry::engine_names()
        ))
    })
}

/// Looks up `name` in the registry.
///
/// # Errors
/// `Usage` naming the available engines when `name` is unknown.
pub fn engine_info(name: &str) -> Result<EngineInfo, CliError> {
    registry::info(name).map_err(|_| {
        CliError::Usage(format!(
            "unknown engine '{name}'; available engines: {} (`kv engines` describes them)",
            registry::engine_names()
        ))
    })
}

/// Every engine in this build, as `kv engines` lists them.
pub fn engines() -> Vec<EngineInfo> {
    registry::engines()
}

/// True when `path` is missing or an empty directory (only the names a
/// directory may hold without holding a store): where `salvage` may create
/// its new store.
///
/// # Errors
/// `Usage` when `path` is a file; I/O failures naming `path`.
pub fn is_missing_or_empty(path: &Path) -> Result<bool, CliError> {
    Ok(matches!(
        directory_state(path)?,
        DirState::Missing | DirState::Empty
    ))
}

/// One line for a clap error (the formatter `kv` shares with `kv-bench`).
pub fn clap_error_line(e: &clap::Error) -> String {
    kv_registry::clap_error_line(e, "kv")
}
