//! Every decoder of untrusted bytes (block, bloom filter, footer,
//! properties, version edit, manifest) returns an error, never panics, on
//! random bytes and on every truncation of a valid encoding.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use kv_lsm::manifest::{self, ManifestState, VersionEdit};
use kv_lsm::table::block::{Block, BlockBuilder};
use kv_lsm::table::bloom::{self, Bloom};
use kv_lsm::table::footer::{BlockHandle, Footer};
use kv_lsm::table::props::Props;
use proptest::prelude::*;

fn exercise(bytes: &[u8]) {
    if let Ok(block) = Block::decode(bytes) {
        let _ = block.entries();
        let _ = block.seek(b"key", Ord::cmp);
    }
    if let Ok(b) = Bloom::decode(bytes) {
        let _ = b.may_contain(bloom::hash(b"x"));
    }
    let _ = Footer::decode(bytes, Path::new("t"), 1 << 20);
    let _ = Props::decode(bytes);
    let _ = VersionEdit::decode(bytes);
    let _ = manifest::replay(Path::new("m"), bytes);
}

fn valid_encodings() -> Vec<Vec<u8>> {
    let mut block = BlockBuilder::new(3);
    for i in 0..20 {
        block.add(format!("key{i:03}").as_bytes(), b"value");
    }
    let footer = Footer {
        index: BlockHandle {
            offset: 10,
            len: 20,
        },
        filter: BlockHandle {
            offset: 30,
            len: 20,
        },
        props: BlockHandle {
            offset: 50,
            len: 20,
        },
        range_del: None,
    };
    let props = Props {
        entries: 3,
        tombstones: 1,
        min_seq: 1,
        max_seq: 9,
        data_blocks: 1,
        smallest: b"a\x01\x01\0\0\0\0\0\0".to_vec(),
        largest: b"z\x01\x09\0\0\0\0\0\0".to_vec(),
    };
    let mut state = ManifestState::empty();
    state.levels[1].insert(5, 100);
    vec![
        block.finish(),
        bloom::build(&[1, 2, 3], 10),
        footer.encode(),
        props.encode(),
        state.snapshot_edit().encode(),
    ]
}

#[test]
fn every_truncation_and_flip_of_valid_encodings_is_handled() {
    for enc in valid_encodings() {
        for cut in 0..=enc.len() {
            exercise(&enc[..cut]);
            // Without the trailer too: decoders see payloads.
            exercise(&enc[..cut.saturating_sub(4)]);
        }
        for i in 0..enc.len() {
            let mut bad = enc.clone();
            bad[i] ^= 0xa5;
            exercise(&bad);
            exercise(&bad[..bad.len().saturating_sub(4)]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]
    #[test]
    fn decoders_never_panic_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        exercise(&bytes);
    }
}
