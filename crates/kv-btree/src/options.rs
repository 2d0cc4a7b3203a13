//! [`BtreeOptions`]: the kv-core options plus the B+tree's own knobs.

use kv_core::Options;

pub use crate::node::Shape;

/// Default budget of committed-but-unwritten runs under
/// `SyncPolicy::Manual`: 16 MiB.
pub const DEFAULT_DIRTY_BUDGET_BYTES: usize = 16 << 20;

/// How to open a [`crate::Btree`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BtreeOptions {
    /// File system, sync policy, background mode, cache budget
    /// (`cache_bytes` sizes the node cache), open mode.
    pub core: Options,
    /// Under `SyncPolicy::Manual`, commits keep their new runs in memory
    /// (readers see them at once) and write nothing; once the runs held
    /// exceed this many bytes, the next commit is made durable (written and
    /// synced) as `sync()` would. At least one commit's runs are always
    /// held, so a single 16 MiB value goes over it and is written at once.
    pub dirty_budget_bytes: usize,
    /// Node capacity and inline-value limit (the defaults fill 4 KiB
    /// pages; see [`Shape`]).
    pub shape: Shape,
}

impl Default for BtreeOptions {
    fn default() -> Self {
        Self::new(Options::default())
    }
}

impl BtreeOptions {
    /// The B+tree's defaults on top of `core`.
    pub fn new(core: Options) -> Self {
        Self {
            core,
            dirty_budget_bytes: DEFAULT_DIRTY_BUDGET_BYTES,
            shape: Shape::default(),
        }
    }

    /// Returns these options with another node shape.
    pub fn shape(mut self, shape: Shape) -> Self {
        self.shape = shape;
        self
    }

    /// Returns these options with another dirty budget.
    pub fn dirty_budget_bytes(mut self, bytes: usize) -> Self {
        self.dirty_budget_bytes = bytes;
        self
    }
}
