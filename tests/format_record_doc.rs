//! Pins the hex dumps in `docs/format-record.md` to the encoder: if the
//! record format changes, this test fails until the document is updated.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kv_core::codec::{
    encode_batch, encode_delete, encode_file_header, encode_put, HEADER_BYTES, MAX_RECORD_BYTES,
};
use kv_core::WriteBatch;

/// The bytes of every `hexdump -C` style block in the document, in order.
fn hex_dumps(doc: &str) -> Vec<Vec<u8>> {
    let mut dumps = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    for line in doc.lines() {
        let is_dump_line = line.len() > 10
            && line[..8].bytes().all(|b| b.is_ascii_hexdigit())
            && line[8..].starts_with("  ");
        if is_dump_line {
            let hex_part = line[10..].split('|').next().unwrap();
            let bytes = current.get_or_insert_with(Vec::new);
            assert_eq!(
                usize::from_str_radix(&line[..8], 16).unwrap(),
                bytes.len(),
                "offset column of {line:?}"
            );
            for byte in hex_part.split_whitespace() {
                bytes.push(u8::from_str_radix(byte, 16).unwrap());
            }
        } else if let Some(done) = current.take() {
            dumps.push(done);
        }
    }
    dumps.extend(current);
    dumps
}

#[test]
fn documented_hex_dumps_match_the_encoder() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/format-record.md"
    ))
    .unwrap();
    let dumps = hex_dumps(&doc);
    assert_eq!(
        dumps.len(),
        4,
        "expected file header, put, delete and batch dumps"
    );

    let header = encode_file_header(u64::from_le_bytes(*b"KVBCDATA"), 1);
    assert_eq!(dumps[0], header, "bitcask data file header");
    assert_eq!(&header[12..], &0xd2e4_c40e_u32.to_le_bytes());
    let dumps = &dumps[1..];

    let mut put = Vec::new();
    encode_put(&mut put, 1, b"k", b"v");
    assert_eq!(dumps[0], put, "put k=v seq 1");
    assert_eq!(
        &put[..4],
        &0x846d_bb75_u32.to_le_bytes(),
        "crc named in the text"
    );

    let mut delete = Vec::new();
    encode_delete(&mut delete, 2, b"k");
    assert_eq!(dumps[1], delete, "delete k seq 2");

    let mut batch = WriteBatch::new();
    batch.put(b"a", b"1").delete(b"b");
    let mut group = Vec::new();
    encode_batch(&mut group, 3, &batch);
    assert_eq!(dumps[2], group, "batch put a=1, delete b from seq 3");
}

#[test]
fn documented_sizes_match_the_constants() {
    assert_eq!(HEADER_BYTES, 23);
    assert_eq!(MAX_RECORD_BYTES, 16_781_335);
}
