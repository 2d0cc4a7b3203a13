//! The worked hex examples in `docs/format-btree.md` are what the encoders
//! write: a leaf page, a commit slot and a free-list page are built here
//! and dumped, and each dump must appear in the document byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use kv_btree::commit_slot::{CommitSlot, TreeCounts};
use kv_btree::freelist;
use kv_btree::node::{encode_body, Bytes, Entry, Node, Value};
use kv_btree::page::{open_run, seal_run, Kind, RunRef, PAGE_BYTES};
use kv_btree::written::digest;

/// Hex lines of 16 bytes with offsets, skipping all-zero lines (shown as
/// `…`), always showing the last line (the checksum).
fn dump(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut skipped = false;
    let lines = bytes.len().div_ceil(16);
    for (n, line) in bytes.chunks(16).enumerate() {
        if line.iter().all(|&b| b == 0) && n + 1 != lines {
            if !skipped {
                out.push_str("…\n");
                skipped = true;
            }
            continue;
        }
        skipped = false;
        let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
        out.push_str(&format!("{:04x}: {}\n", n * 16, hex.join(" ")));
    }
    out
}

fn leaf_page() -> Vec<u8> {
    let node = Node::Leaf(vec![
        Entry {
            key: Bytes::from_static(b"apple"),
            value: Value::Inline(Bytes::from_static(b"red")),
        },
        Entry {
            key: Bytes::from_static(b"banana"),
            value: Value::Inline(Bytes::from_static(b"yellow")),
        },
    ]);
    seal_run(Kind::Leaf, 2, 3, &encode_body(&node))
}

fn slot_page() -> Vec<u8> {
    CommitSlot {
        txn: 3,
        root: Some(RunRef {
            page: 2,
            txn: 3,
            pages: 1,
        }),
        depth: 1,
        page_count: 10,
        free_list: Some(RunRef {
            page: 3,
            txn: 3,
            pages: 1,
        }),
        counts: TreeCounts {
            live_keys: 2,
            live_bytes: 20,
            leaf_pages: 1,
            branch_pages: 0,
            overflow_pages: 0,
        },
        clean: false,
        prev_txn: 2,
        digest: written_digest(),
    }
    .encode()
}

/// The digest of the two runs txn 3 wrote: the leaf and the free list.
fn written_digest() -> u32 {
    let run = |page| RunRef {
        page,
        txn: 3,
        pages: 1,
    };
    let (leaf, free) = (
        crc32fast::hash(&leaf_page()),
        crc32fast::hash(&free_list_page()),
    );
    digest(&[run(3), run(2)], |r| {
        Ok(if r.page == 2 { leaf } else { free })
    })
    .unwrap()
}

fn free_list_page() -> Vec<u8> {
    seal_run(Kind::FreeList, 3, 3, &freelist::encode(&[(5, 2), (9, 1)]))
}

fn doc() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/format-btree.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn format_dumps_match_the_docs() {
    let doc = doc();
    let leaf = leaf_page();
    assert_eq!(leaf.len(), PAGE_BYTES);
    open_run(
        &leaf,
        RunRef {
            page: 2,
            txn: 3,
            pages: 1,
        },
        Path::new("f"),
    )
    .unwrap();
    let dumps = [
        ("leaf page", dump(&leaf)),
        ("commit slot", dump(&slot_page())),
        ("free-list page", dump(&free_list_page())),
    ];
    if std::env::var("KV_PRINT_DUMPS").is_ok() {
        for (name, text) in &dumps {
            println!("--- {name}\n{text}");
        }
    }
    for (name, text) in &dumps {
        assert!(
            doc.contains(text.as_str()),
            "docs/format-btree.md lacks the {name} dump:\n{text}"
        );
    }
}
