//! [`BtreeOptions`]: the kv-core options plus the B+tree's own knobs.

use kv_core::Options;

pub use crate::node::Shape;

/// Default budget of committed-but-unwritten runs under
/// `SyncPolicy::Manual`: 64 MiB of pages.
///
/// It holds the pages that 10,000 random single-key writes dirty at any
/// tree size (at most one 4 KiB leaf per write, about 40 MiB, plus the
/// branches above them), so a caller that syncs every 10,000 writes (what
/// kv-bench does) gets one durable commit per `sync()` and no page is
/// written twice in between. In memory each dirty node costs about three
/// times its page (its view for readers and its owned copy for the next
/// edit, see [`crate::txn::NodeTable`]): up to about 200 MiB at the
/// budget.
pub const DEFAULT_DIRTY_BUDGET_BYTES: usize = 64 << 20;

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
    /// Make durable commits in two phases, each with its own fsync
    /// (pages, fsync, slot, fsync: LMDB's and bbolt's order) instead of the
    /// default one-fsync commit (pages and slot, one fsync; open verifies
    /// the newest commit's written digest and falls back to the previous
    /// slot if it fails, redb's order). A clean close always uses two.
    pub two_fsync_commit: bool,
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
            two_fsync_commit: false,
        }
    }

    /// Returns these options with another node shape.
    pub fn shape(mut self, shape: Shape) -> Self {
        self.shape = shape;
        self
    }

    /// Returns these options with the two-fsync commit order (see
    /// [`BtreeOptions::two_fsync_commit`]).
    pub fn two_fsync_commit(mut self, on: bool) -> Self {
        self.two_fsync_commit = on;
        self
    }

    /// Returns these options with another dirty budget.
    pub fn dirty_budget_bytes(mut self, bytes: usize) -> Self {
        self.dirty_budget_bytes = bytes;
        self
    }
}
