//! Writes one table: data blocks, then the filter, properties and index
//! blocks, then the footer, then a sync.
//!
//! ```text
//! | data block 0 | ... | data block n-1 | filter | properties | index | footer (52) |
//! ```
//!
//! Writes collect in a buffer and reach the file system in large appends.
//!
//! The index has one entry per data block, keyed by a shortened separator
//! (see [`separator`]): a block's entry is written when the next block's
//! first key is known, the last block's when the table is finished.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kv_core::codec::put_varint;
use kv_core::{File, Fs, Result};

use super::block::BlockBuilder;
use super::bloom;
use super::footer::{BlockHandle, Footer};
use super::props::Props;
use super::separator;
use crate::ikey;

/// Bytes buffered before an append.
const WRITE_BUFFER_BYTES: usize = 256 << 10;

/// Sizes a table is built to.
#[derive(Debug, Clone, Copy)]
pub struct BuildOptions {
    /// Target data block size.
    pub block_bytes: usize,
    /// Restart interval inside data blocks.
    pub restart_interval: usize,
    /// Bloom filter bits per key.
    pub bloom_bits_per_key: usize,
}

/// What a finished table holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltTable {
    /// File number.
    pub number: u64,
    /// File size in bytes.
    pub size: u64,
    /// Its properties.
    pub props: Props,
}

/// Builds a table file.
#[derive(Debug)]
pub struct TableBuilder {
    file: Arc<dyn File>,
    path: PathBuf,
    number: u64,
    options: BuildOptions,
    block: BlockBuilder,
    index: BlockBuilder,
    buffer: Vec<u8>,
    offset: u64,
    hashes: Vec<u64>,
    last_user_key: Option<Vec<u8>>,
    /// The last written data block's handle and last key, waiting for the
    /// next block's first key to choose its separator.
    pending_index: Option<(BlockHandle, Vec<u8>)>,
    props: Props,
    /// Range tombstones and the anchor key of a table without point entries
    /// (`table/range_del_block.rs`).
    range_dels: (Vec<crate::range_del::RangeTombstone>, Vec<u8>),
}

impl TableBuilder {
    /// Creates table `number` at `path`.
    ///
    /// # Errors
    /// I/O failures.
    pub fn create(fs: &dyn Fs, path: &Path, number: u64, options: BuildOptions) -> Result<Self> {
        let file = fs.create(path)?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            number,
            options,
            block: BlockBuilder::new(options.restart_interval),
            index: BlockBuilder::new(1),
            buffer: Vec::with_capacity(WRITE_BUFFER_BYTES),
            offset: 0,
            hashes: Vec::new(),
            last_user_key: None,
            pending_index: None,
            props: Props {
                min_seq: u64::MAX,
                ..Props::default()
            },
            range_dels: (Vec::new(), Vec::new()),
        })
    }

    /// The table's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a version. REQUIRES: (key, seq) sorts after every version
    /// added before (user key ascending, seq descending).
    ///
    /// # Errors
    /// I/O failures.
    pub fn add(&mut self, key: &[u8], seq: u64, value: Option<&[u8]>) -> Result<()> {
        let kind = if value.is_some() {
            ikey::KIND_PUT
        } else {
            ikey::KIND_DELETE
        };
        let ik = ikey::encode(key, seq, kind);
        if self.last_user_key.as_deref() != Some(key) {
            self.hashes.push(bloom::hash(key));
            self.last_user_key = Some(key.to_vec());
        }
        if self.props.entries == 0 {
            self.props.smallest = ik.clone();
        }
        if let Some((handle, last)) = self.pending_index.take() {
            self.add_index_entry(&separator::separator(&last, &ik), handle);
        }
        self.props.entries += 1;
        self.props.tombstones += u64::from(value.is_none());
        self.props.min_seq = self.props.min_seq.min(seq);
        self.props.max_seq = self.props.max_seq.max(seq);
        self.block.add(&ik, value.unwrap_or(&[]));
        self.props.largest = ik;
        if self.block.estimated_bytes() >= self.options.block_bytes {
            self.finish_data_block()?;
        }
        Ok(())
    }

    /// Gives the table range tombstones (written in a range-del block, table
    /// format version 2) and the `anchor` key it takes as its key range if
    /// it gets no point entry.
    pub fn set_range_dels(
        &mut self,
        tombstones: Vec<crate::range_del::RangeTombstone>,
        anchor: &[u8],
    ) {
        self.range_dels = (tombstones, anchor.to_vec());
    }

    /// Bytes written so far (an estimate of the file size).
    pub fn estimated_bytes(&self) -> u64 {
        self.offset + self.block.estimated_bytes() as u64
    }

    /// Entries added.
    pub fn entries(&self) -> u64 {
        self.props.entries
    }

    fn write_block(&mut self, sealed: &[u8]) -> Result<BlockHandle> {
        let handle = BlockHandle {
            offset: self.offset,
            len: sealed.len() as u32,
        };
        self.buffer.extend_from_slice(sealed);
        self.offset += sealed.len() as u64;
        if self.buffer.len() >= WRITE_BUFFER_BYTES {
            self.file.append(&self.buffer)?;
            self.buffer.clear();
        }
        Ok(handle)
    }

    fn finish_data_block(&mut self) -> Result<()> {
        if self.block.is_empty() {
            return Ok(());
        }
        let last = self.block.last_key().to_vec();
        let sealed = self.block.finish();
        let handle = self.write_block(&sealed)?;
        self.pending_index = Some((handle, last));
        self.props.data_blocks += 1;
        Ok(())
    }

    /// Adds the index entry of the block at `handle` under `key` (a
    /// shortened separator, see [`separator`]).
    fn add_index_entry(&mut self, key: &[u8], handle: BlockHandle) {
        let mut value = Vec::new();
        put_varint(&mut value, handle.offset);
        put_varint(&mut value, u64::from(handle.len));
        self.index.add(key, &value);
    }

    /// Writes the meta blocks and footer and syncs the file. The caller syncs
    /// the directory before naming the table in the manifest.
    ///
    /// # Errors
    /// I/O failures.
    pub fn finish(mut self) -> Result<BuiltTable> {
        self.finish_data_block()?;
        if let Some((handle, last)) = self.pending_index.take() {
            self.add_index_entry(&separator::successor(&last), handle);
        }
        if self.props.entries == 0 {
            self.props.min_seq = 0;
        }
        let filter = bloom::build(&self.hashes, self.options.bloom_bits_per_key);
        let filter = self.write_block(&filter)?;
        let (tombstones, anchor) = std::mem::take(&mut self.range_dels);
        super::range_del_block::fold_into_props(&mut self.props, &tombstones, &anchor);
        let props = self.props.encode();
        let props = self.write_block(&props)?;
        let index = self.index.finish();
        let index = self.write_block(&index)?;
        let range_del = match tombstones.is_empty() {
            true => None,
            false => Some(self.write_block(&super::range_del_block::encode(&tombstones))?),
        };
        let footer = Footer {
            index,
            filter,
            props,
            range_del,
        }
        .encode();
        self.buffer.extend_from_slice(&footer);
        self.offset += footer.len() as u64;
        self.file.append(&self.buffer)?;
        self.file.sync()?;
        Ok(BuiltTable {
            number: self.number,
            size: self.offset,
            props: self.props,
        })
    }
}
