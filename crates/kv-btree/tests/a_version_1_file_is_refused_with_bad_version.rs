//! A store file whose slots carry format version 1 (before the one-fsync
//! commit's written digest) is refused at open with `BadVersion`, not
//! mistaken for torn slots or an empty store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{file, key, open, small_shape, try_open, value};
use kv_btree::page::PAGE_BYTES;
use kv_core::codec::seal_block;
use kv_core::testkit::SimFs;
use kv_core::{CorruptionKind, Error, Store, SyncPolicy};

#[test]
fn a_version_1_file_is_refused_with_bad_version() {
    let sim = SimFs::new(17);
    let store = open(&sim, SyncPolicy::Always, small_shape());
    for i in 0..20 {
        store.put(&key(i), &value(i, 0, 30)).unwrap();
    }
    drop(store);
    let bytes = sim.contents(&file()).unwrap();
    for index in 0..2 {
        let at = index * PAGE_BYTES;
        let mut slot = bytes[at..at + PAGE_BYTES - 4].to_vec();
        slot[8..12].copy_from_slice(&1u32.to_le_bytes());
        seal_block(&mut slot);
        assert!(sim.corrupt(&file(), at as u64, &slot));
    }
    match try_open(&sim, SyncPolicy::Always, small_shape()) {
        Err(Error::Corruption {
            kind:
                CorruptionKind::BadVersion {
                    supported: 2,
                    got: 1,
                },
            ..
        }) => {}
        Err(e) => panic!("expected BadVersion, got {e}"),
        Ok(_) => panic!("a version 1 file was opened"),
    }
}
