//! Every decoder of on-disk bytes (pages and runs, leaf and branch bodies,
//! the free list, commit slots) fed seeded random, truncated and mutated
//! bytes returns an error or a value, never panics, and never allocates
//! by a length it read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use kv_btree::commit_slot::CommitSlot;
use kv_btree::node::{branch, leaf, Bytes, Entry, Node, Value};
use kv_btree::page::{open_page, open_run, seal_run, Kind, RunRef, PAGE_BYTES};
use kv_btree::{freelist, node};
use kv_core::testkit::SeedGuard;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

fn feed(bytes: &[u8]) {
    let f = Path::new("f");
    let _ = leaf::decode(bytes);
    let _ = branch::decode(bytes);
    let _ = freelist::decode(bytes, 2, 1 << 20);
    if bytes.len() >= PAGE_BYTES {
        let page = &bytes[..PAGE_BYTES];
        let _ = CommitSlot::decode(page, 0, f);
        let _ = open_page(page, 3, f);
        let _ = open_run(
            page,
            RunRef {
                page: 3,
                txn: 1,
                pages: 1,
            },
            f,
        );
    }
}

fn sample_bodies() -> Vec<Vec<u8>> {
    let leaf_node = Node::Leaf(vec![
        Entry {
            key: Bytes::from_static(b"a"),
            value: Value::Inline(Bytes::from_static(b"1")),
        },
        Entry {
            key: Bytes::from(vec![b'k'; 300]),
            value: Value::Overflow {
                run: RunRef {
                    page: 9,
                    txn: 2,
                    pages: 1,
                },
                len: 2000,
            },
        },
    ]);
    let branch_node = Node::Branch {
        keys: vec![Bytes::from_static(b"m")].into(),
        children: vec![
            node::Child::Disk(RunRef {
                page: 4,
                txn: 1,
                pages: 1,
            }),
            node::Child::Disk(RunRef {
                page: 5,
                txn: 1,
                pages: 1,
            }),
        ],
    };
    vec![
        node::encode_body(&leaf_node),
        node::encode_body(&branch_node),
        freelist::encode(&[(2, 3), (9, 1)]),
        CommitSlot::default().encode(),
        seal_run(Kind::Leaf, 3, 1, &node::encode_body(&leaf_node)),
    ]
}

#[test]
fn decoders_never_panic_on_random_bytes() {
    let guard = SeedGuard::new("decoders_never_panic_on_random_bytes");
    let mut rng = StdRng::seed_from_u64(guard.seed());
    for _ in 0..2000 {
        let len = rng.random_range(0..PAGE_BYTES + 64);
        let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        feed(&bytes);
    }
    for body in sample_bodies() {
        for cut in 0..body.len().min(600) {
            feed(&body[..cut]);
        }
        for _ in 0..2000 {
            let mut bad = body.clone();
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..bad.len());
                bad[at] = rng.random();
            }
            feed(&bad);
        }
    }
}
