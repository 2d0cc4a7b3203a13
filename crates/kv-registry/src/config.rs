//! [`OpenConfig`]: how the registry opens an engine, the same for all.

use std::sync::Arc;

use kv_core::{Background, Fs, OpenMode, Options, StdFs, SyncPolicy};

use crate::peers::{PeerConfig, DEFAULT_CACHE_BYTES};

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
    /// Read-write, read-only or verify. Our engines implement all three;
    /// for peers it decides how the directory is claimed (a read-only open
    /// of a missing or empty directory is `Error::NoStore` and creates
    /// nothing), and the peer itself then opens read-write.
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
            open_mode: self.open_mode,
        }
    }
}
