//! The byte dumps in `docs/bitcask.md` are what the encoders write: the data
//! file header, a TTL put, a hint file, a merge commit record and the file
//! set. If a format changes, this fails until the chapter is updated.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use kv_bitcask::data_file::data_file_header;
use kv_bitcask::entry_list::EntryList;
use kv_bitcask::file_set::FileSet;
use kv_bitcask::hint::{decode_hint, encode_hint, Hint};
use kv_bitcask::keydir::Entry;
use kv_bitcask::merge_commit::{decode_merge_commit, encode_merge_commit};
use kv_bitcask::ttl::{split_expiry, TTL_SEQ_FLAG};
use kv_core::codec::{decode_record, encode_put, Decoded};

const CHAPTER: &str = include_str!("../../../docs/bitcask.md");

/// `hexdump -C` style lines, as in the chapter.
fn dump(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (i, chunk) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let (left, right) = hex.split_at(hex.len().min(8));
        let ascii: String = chunk
            .iter()
            .map(|&b| {
                if (0x20..0x7f).contains(&b) {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        let line = format!(
            "{:08x}  {:<23}  {:<23}  |{ascii}|",
            i * 16,
            left.join(" "),
            right.join(" ")
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn assert_in_chapter(what: &str, bytes: &[u8]) {
    let text = dump(bytes);
    let normalized: String = CHAPTER
        .lines()
        .map(|l| l.trim_end().to_string() + "\n")
        .collect();
    assert!(
        normalized.contains(&text),
        "the chapter's dump of {what} is stale; it should read:\n{text}"
    );
}

#[test]
fn file_set_dump() {
    let set = FileSet {
        next_id: 9,
        active: Some(8),
        sealed: BTreeMap::from([(3, 1177), (7, 905)]),
    };
    assert_in_chapter("the file set", &set.encode());
}

#[test]
fn data_file_header_dump() {
    assert_in_chapter("the data file header", &data_file_header(1));
}

#[test]
fn ttl_put_dump() {
    let mut stored = 1_700_000_000_000u64.to_le_bytes().to_vec();
    stored.extend_from_slice(b"v");
    let mut record = Vec::new();
    encode_put(&mut record, 5 | TTL_SEQ_FLAG, b"k", &stored);
    assert_in_chapter("a TTL put", &record);
    let Decoded::Record { record: r, .. } = decode_record(&record) else {
        panic!("does not decode")
    };
    assert_eq!(split_expiry(r.value), Some((1_700_000_000_000, &b"v"[..])));
}

#[test]
fn hint_dump() {
    let mut entries = EntryList::new();
    entries.push(
        b"a",
        false,
        Entry {
            file_id: 1,
            offset: 16,
            len: 25,
            stored_seq: 1,
        },
    );
    entries.push(
        b"b",
        true,
        Entry {
            file_id: 1,
            offset: 41,
            len: 24,
            stored_seq: 2,
        },
    );
    let hint = Hint {
        data_file_id: 1,
        covered_len: 65,
        min_seq: 1,
        max_seq: 2,
        records: 2,
        entries,
    };
    let bytes = encode_hint(&hint);
    assert_in_chapter("a hint file", &bytes);
    let back = decode_hint(&bytes, std::path::Path::new("h"), 1).unwrap();
    assert_eq!(back.entries.len(), 2);
}

#[test]
fn merge_commit_dump() {
    let bytes = encode_merge_commit(&[3, 4]);
    assert_in_chapter("a merge commit record", &bytes);
    assert_eq!(
        decode_merge_commit(&bytes, std::path::Path::new("m")).unwrap(),
        vec![3, 4]
    );
}
