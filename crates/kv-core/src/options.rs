//! Options every engine shares: the file system, the sync policy, where
//! background work runs, the cache budget and the open mode.
//!
//! [`Options`] is `#[non_exhaustive]`: build it with [`Options::new`] (or
//! [`Options::default`]) and the builder methods, so a field added later never
//! breaks an engine or a caller outside this crate.
//!
//! ```
//! use kv_core::{Background, OpenMode, Options, SyncPolicy};
//! let options = Options::new()
//!     .sync(SyncPolicy::Always)
//!     .background(Background::Inline)
//!     .cache_bytes(8 << 20)
//!     .open_mode(OpenMode::ReadOnly);
//! assert!(options.open_mode.is_read_only());
//! ```

use std::sync::Arc;

use crate::fs::{Fs, StdFs};

/// Default cache budget (32 MiB): the block or page cache an engine may keep,
/// in the range the anchors choose (fjall 16-32 MiB, RocksDB 32 MiB).
pub const DEFAULT_CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// When acknowledged writes become durable. See the durability contract on
/// [`crate::Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncPolicy {
    /// Every write is synced to stable storage before it returns `Ok`: a write
    /// that returned `Ok` survives power loss.
    Always,
    /// Writes are acknowledged once they are in the engine's buffers or the OS
    /// page cache; [`crate::Store::sync`] makes every earlier write durable.
    #[default]
    Manual,
    /// Group commit: like `Manual`, plus the engine syncs on its own at least
    /// every `interval_ms` milliseconds while there are unsynced writes, so
    /// power loss loses at most about that much acknowledged work.
    Interval {
        /// Longest time an acknowledged write stays unsynced, in milliseconds.
        interval_ms: u64,
    },
}

/// Where an engine runs its background work: flushes, compactions, merges and
/// interval syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Background {
    /// On threads of the engine's own (the default, and what production
    /// wants).
    #[default]
    Threads,
    /// On the caller's thread, at deterministic points: the engine starts no
    /// thread; work that would run in the background runs inside the write
    /// (or `sync`) that makes it due, and a write that would stall runs the
    /// pending work itself. `Interval` syncs happen in the first write or
    /// `sync` after the interval has passed. A single-threaded test then
    /// replays exactly from its seed: every SimFs and FaultFs case of the
    /// conformance suite runs `Inline`.
    Inline,
}

/// How a store is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OpenMode {
    /// Reads and writes; recovery repairs a torn tail on disk (the default).
    #[default]
    ReadWrite,
    /// Reads only. Recovery happens in memory only: no file is created,
    /// changed, truncated or removed, and only a shared lock is taken, so
    /// other read-only opens may run beside it and a store on a read-only
    /// file system can be read. Writes return [`crate::Error::ReadOnly`].
    /// Damage is refused with `Err(Corruption)` as in `ReadWrite`.
    ReadOnly,
    /// Like `ReadOnly`, but damage is recorded instead of failing the open:
    /// the store opens with what it could read, and [`crate::Store::check`]
    /// lists every damaged spot in [`crate::CheckReport::damage`]. What
    /// `kv check` and `kv salvage` use.
    Verify,
}

impl OpenMode {
    /// True for `ReadOnly` and `Verify`: nothing on disk may change.
    pub fn is_read_only(self) -> bool {
        !matches!(self, Self::ReadWrite)
    }
}

/// Options shared by every engine; engine option structs embed this.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// The file system every byte goes through.
    pub fs: Arc<dyn Fs>,
    /// When writes become durable.
    pub sync: SyncPolicy,
    /// Where background work runs.
    pub background: Background,
    /// The budget for the engine's caches (block cache, page cache), in bytes.
    /// Engines without a cache ignore it and say so in their docs.
    pub cache_bytes: u64,
    /// Read-write, read-only or verify.
    pub open_mode: OpenMode,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            fs: Arc::new(StdFs),
            sync: SyncPolicy::default(),
            background: Background::default(),
            cache_bytes: DEFAULT_CACHE_BYTES,
            open_mode: OpenMode::default(),
        }
    }
}

impl Options {
    /// The defaults: the real file system, `Manual` sync, background threads,
    /// a 32 MiB cache, read-write.
    pub fn new() -> Self {
        Self::default()
    }

    /// Options on the given file system, the rest default.
    pub fn with_fs(fs: Arc<dyn Fs>) -> Self {
        Self::default().fs(fs)
    }

    /// Returns these options with another file system.
    pub fn fs(mut self, fs: Arc<dyn Fs>) -> Self {
        self.fs = fs;
        self
    }

    /// Returns these options with another sync policy.
    pub fn sync(mut self, sync: SyncPolicy) -> Self {
        self.sync = sync;
        self
    }

    /// Returns these options with background work run as `background` says.
    pub fn background(mut self, background: Background) -> Self {
        self.background = background;
        self
    }

    /// Returns these options with another cache budget.
    pub fn cache_bytes(mut self, cache_bytes: u64) -> Self {
        self.cache_bytes = cache_bytes;
        self
    }

    /// Returns these options with another open mode.
    pub fn open_mode(mut self, open_mode: OpenMode) -> Self {
        self.open_mode = open_mode;
        self
    }
}
