//! The range-tombstone decoders (the range-del block of a table, one
//! tombstone of a WAL record, a version-2 footer) never panic on random or
//! truncated bytes: they return a tombstone list or a corruption kind.
//! Proptest cases; a failure prints the bytes to replay.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use kv_lsm::range_del::RangeTombstone;
use kv_lsm::table::footer::{BlockHandle, Footer};
use kv_lsm::table::range_del_block;
use proptest::prelude::*;

fn decode_all(bytes: &[u8]) {
    let _ = range_del_block::decode(bytes);
    let _ = RangeTombstone::decode(bytes);
    let _ = kv_lsm::range_del_log::decode_record(1, bytes);
    let _ = Footer::decode(bytes, Path::new("t"), 1 << 20);
    let _ = Footer::len_from_tail(bytes);
}

fn valid_block() -> Vec<u8> {
    let tombstones = vec![
        RangeTombstone {
            start: b"a".to_vec(),
            end: Some(b"k".to_vec()),
            seq: 7,
        },
        RangeTombstone {
            start: b"m".to_vec(),
            end: None,
            seq: 300,
        },
    ];
    let sealed = range_del_block::encode(&tombstones);
    sealed[..sealed.len() - 4].to_vec()
}

fn valid_footer() -> Vec<u8> {
    let h = |offset| BlockHandle { offset, len: 20 };
    Footer {
        index: h(10),
        filter: h(30),
        props: h(50),
        range_del: Some(h(70)),
    }
    .encode()
}

#[test]
fn every_truncation_of_valid_encodings_is_refused_or_decoded() {
    let block = valid_block();
    assert_eq!(range_del_block::decode(&block).unwrap().len(), 2);
    for cut in 0..block.len() {
        assert!(
            range_del_block::decode(&block[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    let footer = valid_footer();
    assert_eq!(Footer::len_from_tail(&footer), footer.len());
    let decoded = Footer::decode(&footer, Path::new("t"), 1 << 20).unwrap();
    assert_eq!(
        decoded.range_del,
        Some(BlockHandle {
            offset: 70,
            len: 20
        })
    );
    for cut in 0..footer.len() {
        decode_all(&footer[..cut]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        decode_all(&bytes);
    }

    #[test]
    fn flipped_valid_bytes_never_panic(at in 0usize..64, byte in any::<u8>()) {
        for mut valid in [valid_block(), valid_footer()] {
            let i = at % valid.len();
            valid[i] = byte;
            decode_all(&valid);
        }
    }
}
