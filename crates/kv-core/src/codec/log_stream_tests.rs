//! A stream agrees with a reader over the whole log in memory, whatever the
//! damage, and its window stays bounded.

use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::batch::WriteBatch;
use crate::codec::{encode_batch, encode_delete, encode_frontier, encode_put};
use crate::fs::{Fs, StdFs};

/// What a reader makes of a log: the entries as (offset, keys), the
/// verdict, the valid end and the tail.
type Verdict = (Vec<(u64, Vec<Vec<u8>>)>, Option<String>, u64, Tail, bool);

fn summarize(entry: &LogEntry<'_>) -> (u64, Vec<Vec<u8>>) {
    match entry {
        LogEntry::Single(r) => (r.offset, vec![r.record.key.to_vec()]),
        LogEntry::Batch { offset, members } => (
            *offset,
            members.iter().map(|m| m.record.key.to_vec()).collect(),
        ),
    }
}

fn in_memory(data: &[u8], rule: bool) -> Verdict {
    let mut r = LogReader::new(Path::new("log"), data, 0);
    if rule {
        r = r.with_frontier_rule();
    }
    let (mut entries, mut error) = (Vec::new(), None);
    for item in r.by_ref() {
        match item {
            Ok(e) => entries.push(summarize(&e)),
            Err(e) => error = Some(format!("{e:?}")),
        }
    }
    (
        entries,
        error,
        r.valid_end(),
        r.tail(),
        r.dropped_valid_records(),
    )
}

fn streamed(file: &dyn File, len: u64, rule: bool, chunk: usize) -> Verdict {
    let mut s = LogStream::new(Path::new("log"), file, 0, len).with_chunk_bytes(chunk);
    if rule {
        s = s.with_frontier_rule();
    }
    let (mut entries, mut error) = (Vec::new(), None);
    while let Some(item) = s.next_entry() {
        match item {
            Ok(e) => entries.push(summarize(&e)),
            Err(e) => error = Some(format!("{e:?}")),
        }
    }
    (
        entries,
        error,
        s.valid_end(),
        s.tail(),
        s.dropped_valid_records(),
    )
}

fn file_with(dir: &Path, bytes: &[u8]) -> Arc<dyn File> {
    let path = dir.join("log");
    let _ = StdFs.remove(&path);
    let f = StdFs.create(&path).unwrap();
    f.write_at(bytes, 0).unwrap();
    f
}

fn sample_log() -> Vec<u8> {
    let mut buf = Vec::new();
    encode_put(&mut buf, 1, b"a", &[b'1'; 40]);
    encode_frontier(&mut buf, 30);
    let mut batch = WriteBatch::new();
    batch
        .put(b"b", [b'2'; 30])
        .delete(b"a")
        .put(b"c", [b'3'; 50]);
    encode_batch(&mut buf, 2, &batch);
    encode_delete(&mut buf, 5, b"b");
    encode_frontier(&mut buf, 200);
    encode_put(&mut buf, 6, b"d", &[b'4'; 70]);
    buf
}

fn assert_agree(dir: &Path, data: &[u8], what: &str) {
    let f = file_with(dir, data);
    for rule in [false, true] {
        let want = in_memory(data, rule);
        for chunk in [1, 7, 64, STREAM_CHUNK_BYTES] {
            let got = streamed(&*f, data.len() as u64, rule, chunk);
            assert_eq!(got, want, "{what}, rule {rule}, chunk {chunk}");
        }
    }
}

#[test]
fn stream_agrees_with_the_reader_on_every_cut() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log();
    for cut in 0..=log.len() {
        assert_agree(dir.path(), &log[..cut], &format!("cut {cut}"));
    }
}

#[test]
fn stream_agrees_with_the_reader_on_every_damaged_byte() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log();
    for i in 0..log.len() {
        let mut bad = log.clone();
        bad[i] ^= 0x5a;
        assert_agree(dir.path(), &bad, &format!("flip at {i}"));
        bad[i] = 0;
        assert_agree(dir.path(), &bad, &format!("zero at {i}"));
    }
}

#[test]
fn window_holds_one_record_and_a_chunk_however_long_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Vec::new();
    for seq in 0..64 {
        encode_put(&mut log, seq, b"k", &[7; 1000]);
    }
    let f = file_with(dir.path(), &log);
    let mut s = LogStream::new(Path::new("log"), &*f, 0, log.len() as u64).with_chunk_bytes(4096);
    let mut n = 0;
    while let Some(item) = s.next_entry() {
        item.unwrap();
        n += 1;
    }
    assert_eq!((n, s.tail()), (64, Tail::Clean));
    assert!(
        s.largest_window() <= 4096 + 1023,
        "window {}",
        s.largest_window()
    );
}

#[test]
fn next_valid_record_finds_the_first_record_after_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = vec![0xab; 5000];
    encode_put(&mut log, 1, b"k", b"v");
    let f = file_with(dir.path(), &log);
    let len = log.len() as u64;
    assert_eq!(next_valid_record(&*f, 0, len).unwrap(), Some(5000));
    assert_eq!(next_valid_record(&*f, 5001, len).unwrap(), None);
}
