//! Sorted string tables (format versions 1 and 2, `docs/format-sstable.md`):
//! [`block`] (prefix-compressed entries with restarts), [`block_iter`] (a
//! cursor over a block's entries), [`bloom`] (the
//! filter), [`props`] (what a table holds), [`footer`], [`builder`] (writes
//! a table), [`separator`] (shortened index keys), [`reader`] (an open
//! table), [`iter`] (sorted sources over tables), [`range_del_block`] (the
//! range tombstones of a table, format version 2).

pub mod block;
pub mod block_iter;
pub mod bloom;
pub mod builder;
pub mod footer;
pub mod iter;
pub mod props;
pub mod range_del_block;
pub mod reader;
pub mod separator;

pub use builder::{BuildOptions, BuiltTable, TableBuilder};
pub use reader::{Table, TableContext};
