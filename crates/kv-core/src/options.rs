//! Options every engine shares: the file system and the sync policy.

use std::sync::Arc;

use crate::fs::{Fs, StdFs};

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

/// Options shared by every engine; engine option structs embed this.
#[derive(Debug, Clone)]
pub struct Options {
    /// The file system every byte goes through.
    pub fs: Arc<dyn Fs>,
    /// When writes become durable.
    pub sync: SyncPolicy,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            fs: Arc::new(StdFs),
            sync: SyncPolicy::default(),
        }
    }
}

impl Options {
    /// Options on the given file system with the default sync policy.
    pub fn with_fs(fs: Arc<dyn Fs>) -> Self {
        Self {
            fs,
            sync: SyncPolicy::default(),
        }
    }

    /// Returns these options with another sync policy.
    pub fn sync(mut self, sync: SyncPolicy) -> Self {
        self.sync = sync;
        self
    }
}
