//! Each kind of damage listed in `docs/format-sstable.md` ("What each kind
//! of damage does") has the outcome the document states, on the document's
//! worked example: a flipped byte in each block kind, a truncated file, a
//! wrong magic and a wrong version (with a valid checksum, so the check
//! behind the checksum is the one that answers).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use kv_core::testkit::SimFs;
use kv_core::{CorruptionKind, Error, Fs};
use kv_lsm::cache::BlockCache;
use kv_lsm::stats::Counters;
use kv_lsm::table::{BuildOptions, Table, TableBuilder, TableContext};
use kv_lsm::table_cache::TableCache;

const PATH: &str = "/t/000001.sst";

/// The worked example's table, with `damage` applied to its bytes.
fn open_damaged(damage: impl FnOnce(&mut Vec<u8>)) -> kv_core::Result<Table> {
    let sim = SimFs::new(1);
    let dir = Path::new("/t");
    sim.create_dir(dir).unwrap();
    let options = BuildOptions {
        block_bytes: 4096,
        restart_interval: 16,
        bloom_bits_per_key: 10,
    };
    let mut b = TableBuilder::create(&sim, Path::new(PATH), 1, options).unwrap();
    b.add(b"a", 1, Some(b"x")).unwrap();
    b.add(b"b", 2, None).unwrap();
    b.finish().unwrap();
    let mut bytes = sim.contents(Path::new(PATH)).unwrap();
    damage(&mut bytes);
    let file = sim.create(Path::new(PATH)).unwrap();
    file.append(&bytes).unwrap();
    let fs: Arc<dyn Fs> = Arc::new(sim);
    let ctx = TableContext {
        fs,
        cache: Arc::new(BlockCache::new(1 << 20)),
        counters: Arc::new(Counters::default()),
        files: Arc::new(TableCache::new(4)),
    };
    Table::open(&ctx, Path::new(PATH), 1)
}

/// The offset and kind of a `Corruption`, or a panic naming what came.
fn corruption<T: std::fmt::Debug>(r: kv_core::Result<T>) -> (u64, CorruptionKind) {
    match r {
        Err(Error::Corruption { offset, kind, .. }) => (offset, kind),
        other => panic!("expected Corruption, got {other:?}"),
    }
}

fn is_checksum(kind: &CorruptionKind) -> bool {
    matches!(kind, CorruptionKind::ChecksumMismatch { .. })
}

/// Rewrites the footer's crc32 so only the field changed is wrong.
fn reseal_footer(bytes: &mut [u8]) {
    let at = bytes.len() - 52;
    let crc = crc32fast::hash(&bytes[at..at + 48]);
    bytes[at + 48..].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn a_flipped_data_block_byte_fails_the_read_of_that_block() {
    let table = open_damaged(|b| b[5] ^= 0x01).expect("data blocks are not read at open");
    let (offset, kind) = corruption(table.get(b"a", 9));
    assert_eq!(offset, 0, "the data block's offset");
    assert!(is_checksum(&kind), "{kind:?}");
}

#[test]
fn a_flipped_meta_block_byte_fails_the_open_at_that_block() {
    // filter at 37, properties at 50, index at 79 (the document's offsets).
    for (at, block) in [(37, 37), (49, 37), (55, 50), (90, 79)] {
        let (offset, kind) = corruption(open_damaged(|b| b[at] ^= 0x80));
        assert_eq!(offset, block, "flip at {at}");
        assert!(is_checksum(&kind), "flip at {at}: {kind:?}");
    }
}

#[test]
fn a_flipped_footer_byte_fails_the_open_at_the_footer() {
    for at in [105, 130, 150, 156] {
        let (offset, kind) = corruption(open_damaged(|b| b[at] ^= 0x01));
        assert_eq!(offset, 105, "flip at {at}");
        assert!(is_checksum(&kind), "flip at {at}: {kind:?}");
    }
}

#[test]
fn a_truncated_table_fails_the_open() {
    // Cut inside the table: the last 52 bytes are no footer.
    let (offset, kind) = corruption(open_damaged(|b| b.truncate(150)));
    assert_eq!(offset, 150 - 52);
    assert!(is_checksum(&kind), "{kind:?}");
    // Shorter than any footer.
    let (offset, kind) = corruption(open_damaged(|b| b.truncate(51)));
    assert_eq!(offset, 0);
    assert!(matches!(kind, CorruptionKind::MissingFile(_)), "{kind:?}");
}

#[test]
fn a_wrong_magic_or_version_fails_the_open_by_name() {
    let (_, kind) = corruption(open_damaged(|b| {
        b[145] ^= 0x20; // 'K' of "KVLSMSST" becomes 'k'
        reseal_footer(b);
    }));
    assert!(matches!(kind, CorruptionKind::BadMagic { .. }), "{kind:?}");
    let (offset, kind) = corruption(open_damaged(|b| {
        b[141] = 3; // format version 3
        reseal_footer(b);
    }));
    assert_eq!(offset, 105);
    assert!(
        matches!(
            kind,
            CorruptionKind::BadVersion {
                supported: 1,
                got: 3
            }
        ),
        "{kind:?}"
    );
}
