//! Sorted string tables (format version 1, `docs/format-sstable.md`):
//! [`block`] (prefix-compressed entries with restarts), [`bloom`] (the
//! filter), [`props`] (what a table holds), [`footer`], [`builder`] (writes
//! a table), [`reader`] (an open table), [`iter`] (sorted sources over
//! tables), [`range_del_block`] (the range tombstones of a table).

pub mod block;
pub mod bloom;
pub mod builder;
pub mod footer;
pub mod iter;
pub mod props;
pub mod range_del_block;
pub mod reader;

pub use builder::{BuildOptions, BuiltTable, TableBuilder};
pub use reader::{Table, TableContext};
