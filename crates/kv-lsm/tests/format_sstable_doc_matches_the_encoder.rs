//! Pins the worked example of `docs/format-sstable.md` to the encoder: the
//! tiny table there (`"a"@1 = "x"`, a tombstone for `"b"`@2) is built with
//! [`TableBuilder`] and compared byte for byte with the document's hex dump,
//! and every block the document points at opens where it says. If the table
//! format changes, this test fails until the document is updated.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use kv_core::testkit::SimFs;
use kv_core::Fs;
use kv_lsm::cache::BlockCache;
use kv_lsm::stats::Counters;
use kv_lsm::table::footer::{BlockHandle, FOOTER_BYTES};
use kv_lsm::table::{BuildOptions, Table, TableBuilder, TableContext};
use kv_lsm::table_cache::TableCache;

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

/// `bytes` in the document's dump layout (for pasting after a change).
fn as_dump(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (i, row) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = row.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = row
            .iter()
            .map(|&b| match b {
                0x20..=0x7e => b as char,
                _ => '.',
            })
            .collect();
        out.push_str(&format!(
            "{:08x}  {:<48} |{ascii}|\n",
            i * 16,
            hex.join(" ")
        ));
    }
    out
}

fn example_table(sim: &SimFs) -> Vec<u8> {
    let dir = Path::new("/t");
    sim.create_dir(dir).unwrap();
    let path = dir.join("000001.sst");
    let options = BuildOptions {
        block_bytes: 4096,
        restart_interval: 16,
        bloom_bits_per_key: 10,
    };
    let mut b = TableBuilder::create(sim, &path, 1, options).unwrap();
    b.add(b"a", 1, Some(b"x")).unwrap();
    b.add(b"b", 2, None).unwrap();
    b.finish().unwrap();
    sim.contents(&path).unwrap()
}

#[test]
fn documented_table_dump_matches_the_encoder() {
    let sim = SimFs::new(1);
    let table = example_table(&sim);
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/format-sstable.md"
    ))
    .unwrap();
    let dumps = hex_dumps(&doc);
    assert_eq!(dumps.len(), 1, "expected one dump: the worked example");
    assert_eq!(
        dumps[0],
        table,
        "docs/format-sstable.md is out of date; the table now is:\n{}",
        as_dump(&table)
    );
}

#[test]
fn documented_block_offsets_open_as_stated() {
    let sim = SimFs::new(1);
    let bytes = example_table(&sim);
    // The handles the document names: data 0+37, filter 37+13, props
    // 50+29, index 79+26, footer at 105 (52 bytes), 157 bytes in all.
    assert_eq!(bytes.len(), 157);
    assert_eq!(bytes.len() - FOOTER_BYTES, 105);
    let fs: Arc<dyn Fs> = Arc::new(sim.clone());
    let ctx = TableContext {
        fs,
        cache: Arc::new(BlockCache::new(1 << 20)),
        counters: Arc::new(Counters::default()),
        files: Arc::new(TableCache::new(4)),
    };
    let table = Table::open(&ctx, Path::new("/t/000001.sst"), 1).unwrap();
    assert_eq!(table.index().len(), 1);
    assert_eq!(table.index()[0].handle, BlockHandle { offset: 0, len: 37 });
    assert_eq!(table.props().entries, 2);
    assert_eq!(table.props().tombstones, 1);
    assert_eq!((table.props().min_seq, table.props().max_seq), (1, 2));
    assert_eq!(table.get(b"a", 9).unwrap(), Some(Some(b"x".to_vec())));
    assert_eq!(table.get(b"b", 9).unwrap(), Some(None));
    assert_eq!(
        table.get(b"a", 0).unwrap(),
        None,
        "seq 1 is above snapshot 0"
    );
    assert_eq!(table.get(b"c", 9).unwrap(), None);
}
