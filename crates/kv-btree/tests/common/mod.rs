//! What the B+tree's own tests share: opening on a `SimFs`, small node
//! shapes, seeded values, and reading a store whole.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use kv_btree::{Btree, BtreeOptions, Shape};
use kv_core::testkit::SimFs;
use kv_core::{Background, Fs, Options, Result, Store, StoreExt, SyncPolicy};

/// The store directory on a `SimFs`.
pub const DIR: &str = "/sim/db";

/// Nodes split past 256 bytes, values over 48 bytes overflow: deep trees
/// from few keys.
pub fn small_shape() -> Shape {
    Shape {
        node_capacity: 256,
        inline_value_max: 48,
    }
}

/// Options on `fs` with `sync`, inline background work and `shape`.
pub fn options(fs: Arc<dyn Fs>, sync: SyncPolicy, shape: Shape) -> BtreeOptions {
    BtreeOptions::new(
        Options::with_fs(fs)
            .sync(sync)
            .background(Background::Inline)
            .cache_bytes(64 << 10),
    )
    .shape(shape)
}

/// Opens the store in [`DIR`] on `sim`.
pub fn try_open(sim: &SimFs, sync: SyncPolicy, shape: Shape) -> Result<Btree> {
    Btree::open(Path::new(DIR), options(Arc::new(sim.clone()), sync, shape))
}

/// Opens the store in [`DIR`] on `sim`; panics if that fails.
pub fn open(sim: &SimFs, sync: SyncPolicy, shape: Shape) -> Btree {
    try_open(sim, sync, shape).unwrap_or_else(|e| panic!("open failed: {e}"))
}

/// Key `i`, zero-padded so keys sort by `i`.
pub fn key(i: usize) -> Vec<u8> {
    format!("key{i:06}").into_bytes()
}

/// A value for key `i` in round `round`, `len` bytes.
pub fn value(i: usize, round: usize, len: usize) -> Vec<u8> {
    let mut v = format!("v{i}-{round}-").into_bytes();
    v.resize(len.max(v.len()), b'a' + (i % 26) as u8);
    v.truncate(len);
    v
}

/// Every pair in the store.
pub fn read_all(store: &dyn Store) -> Vec<(Vec<u8>, Vec<u8>)> {
    store
        .scan_all()
        .unwrap_or_else(|e| panic!("scan failed: {e}"))
}

/// The store's page file on `sim`.
pub fn file() -> std::path::PathBuf {
    Path::new(DIR).join(kv_btree::FILE_NAME)
}

/// A figure from `stats().extra`.
pub fn figure(store: &dyn Store, name: &str) -> u64 {
    store
        .stats()
        .extra
        .get(name)
        .copied()
        .unwrap_or_else(|| panic!("no figure {name}"))
}
