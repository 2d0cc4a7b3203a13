//! The engine registry: engine name -> factory.
//!
//! Used by the `kv` command line, the benchmark harness and
//! `kv-bench conformance` to open any engine by name at run time as a
//! `Box<dyn Store>`. Three kinds of engines are registered:
//!
//! - **ours**: kvlab's engines (`bitcask`; `lsm` and `btree` as they land);
//! - **peers**: well-known embedded stores behind cargo features (`redb`,
//!   `fjall`, `lmdb`, `sled` on by default, `rocksdb` off), opened through
//!   [`crate::peers`] with the same durability, cache budget and compression
//!   (off) as ours;
//! - **harness**: `memory` (the `BTreeMap` reference store) and `null` (stores
//!   nothing; measures the harness's own cost).

use std::path::Path;
use std::sync::Arc;

use kv_core::{Background, Error, Fs, OpenMode, Options, Result, StdFs, Store, SyncPolicy};

use crate::null::NullStore;
use crate::peers::{PeerConfig, DEFAULT_CACHE_BYTES};

/// Who wrote an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// kvlab's own engine.
    Ours,
    /// A well-known embedded store, compared with ours.
    Peer,
    /// Part of the harness: a reference or a baseline, not a real store.
    Harness,
}

impl EngineKind {
    /// `"ours"`, `"peer"` or `"harness"`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ours => "ours",
            Self::Peer => "peer",
            Self::Harness => "harness",
        }
    }
}

/// What the registry knows about one engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineInfo {
    /// Name used on the command line (`--engine NAME`).
    pub name: &'static str,
    /// One line: what it is.
    pub description: &'static str,
    /// True for kvlab's own engines, false for peers and harness engines
    /// (the same as `kind == EngineKind::Ours`).
    pub ours: bool,
    /// Ours, peer or harness.
    pub kind: EngineKind,
    /// True if data survives reopening the directory.
    pub persistent: bool,
    /// True if every byte the engine reads or writes goes through
    /// [`OpenConfig::fs`] (so `SimFs`, `FaultFs` and the I/O counters reach
    /// it); false for peers and in-memory engines.
    pub uses_fs: bool,
    /// What [`OpenConfig::cache_bytes`] is given to, for reports.
    pub cache: &'static str,
}

/// How to open an engine.
#[derive(Debug, Clone)]
pub struct OpenConfig {
    /// When writes become durable (peers are mapped to the same semantics;
    /// see [`crate::peers`]).
    pub sync: SyncPolicy,
    /// Cache budget in bytes for every engine that has a cache (default
    /// [`DEFAULT_CACHE_BYTES`], 64 MiB).
    pub cache_bytes: usize,
    /// The file system for engines with `uses_fs`; `None` is [`StdFs`].
    /// Peers always use the real file system.
    pub fs: Option<Arc<dyn Fs>>,
    /// Where our engines run background work (peers run their own threads).
    pub background: Background,
    /// Read-write, read-only or verify (our engines; peers open read-write).
    pub open_mode: OpenMode,
}

impl Default for OpenConfig {
    fn default() -> Self {
        Self {
            sync: SyncPolicy::Manual,
            cache_bytes: DEFAULT_CACHE_BYTES,
            fs: None,
            background: Background::Threads,
            open_mode: OpenMode::ReadWrite,
        }
    }
}

impl OpenConfig {
    /// The `kv_core` options our engines embed: the file system, the sync
    /// policy, the cache budget, the background mode and the open mode.
    pub fn core_options(&self) -> Options {
        Options::with_fs(self.fs.clone().unwrap_or_else(|| Arc::new(StdFs)))
            .sync(self.sync)
            .cache_bytes(self.cache_bytes as u64)
            .background(self.background)
            .open_mode(self.open_mode)
    }

    /// The configuration peers are opened with.
    pub fn peer_config(&self) -> PeerConfig {
        PeerConfig {
            sync: self.sync,
            cache_bytes: self.cache_bytes,
        }
    }
}

const fn ours(name: &'static str, description: &'static str, cache: &'static str) -> EngineInfo {
    EngineInfo {
        name,
        description,
        ours: true,
        kind: EngineKind::Ours,
        persistent: true,
        uses_fs: true,
        cache,
    }
}

const fn peer(name: &'static str, description: &'static str, cache: &'static str) -> EngineInfo {
    EngineInfo {
        name,
        description,
        ours: false,
        kind: EngineKind::Peer,
        persistent: true,
        uses_fs: false,
        cache,
    }
}

const fn harness(name: &'static str, description: &'static str) -> EngineInfo {
    EngineInfo {
        name,
        description,
        ours: false,
        kind: EngineKind::Harness,
        persistent: false,
        uses_fs: false,
        cache: "none (in memory)",
    }
}

/// Every engine available in this build: ours first, then peers, then the
/// harness engines.
pub fn engines() -> Vec<EngineInfo> {
    // Our engines, one line each as they land (lsm, btree next).
    let mut list = vec![ours(
        "bitcask",
        "kvlab Bitcask: append-only log segments, in-memory ordered keydir, hint files, merge",
        "none (keydir in memory, values read through the OS page cache)",
    )];
    #[cfg(feature = "redb")]
    list.push(peer(
        "redb",
        "peer: redb, copy-on-write B-tree (pure Rust)",
        "redb Builder::set_cache_size",
    ));
    #[cfg(feature = "fjall")]
    list.push(peer(
        "fjall",
        "peer: fjall, LSM tree (pure Rust)",
        "fjall block cache (cache_size)",
    ));
    #[cfg(feature = "lmdb")]
    list.push(peer(
        "lmdb",
        "peer: LMDB via heed, memory-mapped copy-on-write B+tree (C)",
        "none: LMDB reads through the OS page cache (mmap)",
    ));
    #[cfg(feature = "sled")]
    list.push(peer(
        "sled",
        "peer: sled 0.34, Bw-tree over a log-structured store (pure Rust)",
        "sled page cache (cache_capacity)",
    ));
    #[cfg(feature = "rocksdb")]
    list.push(peer(
        "rocksdb",
        "peer: RocksDB, LSM tree (C++)",
        "RocksDB LRU block cache",
    ));
    list.push(harness(
        "memory",
        "in-memory BTreeMap reference store (nothing persists)",
    ));
    list.push(harness(
        "null",
        "stores nothing: measures the harness's own cost per operation",
    ));
    list
}

/// Names of every engine in this build, comma-separated, for error messages.
pub fn engine_names() -> String {
    engines()
        .iter()
        .map(|e| e.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Looks up an engine by name.
///
/// # Errors
/// `InvalidArgument` naming the engines that exist when `name` is unknown.
pub fn info(name: &str) -> Result<EngineInfo> {
    engines()
        .into_iter()
        .find(|e| e.name == name)
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "unknown engine '{name}'; available engines: {}",
                engine_names()
            ))
        })
}

/// Opens engine `name` on directory `path` (created if missing).
///
/// # Errors
/// `InvalidArgument` for an unknown name; otherwise whatever the engine's
/// open returns (`Locked`, `Corruption`, I/O).
pub fn open(name: &str, path: &Path, config: &OpenConfig) -> Result<Box<dyn Store>> {
    let info = info(name)?;
    let store: Box<dyn Store> = match info.name {
        // Ours (add `lsm` and `btree` here as they land).
        "bitcask" => Box::new(kv_bitcask::Bitcask::open(
            path,
            kv_bitcask::BitcaskOptions {
                core: config.core_options(),
                ..Default::default()
            },
        )?),
        #[cfg(feature = "redb")]
        "redb" => Box::new(crate::peers::redb::open(path, &config.peer_config())?),
        #[cfg(feature = "fjall")]
        "fjall" => Box::new(crate::peers::fjall::open(path, &config.peer_config())?),
        #[cfg(feature = "lmdb")]
        "lmdb" => Box::new(crate::peers::lmdb::open(path, &config.peer_config())?),
        #[cfg(feature = "sled")]
        "sled" => Box::new(crate::peers::sled::open(path, &config.peer_config())?),
        #[cfg(feature = "rocksdb")]
        "rocksdb" => Box::new(crate::peers::rocksdb::open(path, &config.peer_config())?),
        "memory" => Box::new(kv_core::testkit::MemStore::new()),
        "null" => Box::new(NullStore::new()),
        other => {
            return Err(Error::InvalidArgument(format!(
                "engine '{other}' is registered but has no factory"
            )))
        }
    };
    Ok(store)
}
