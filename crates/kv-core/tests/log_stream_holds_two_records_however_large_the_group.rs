//! A log stream holds at most about two maximal records and a read chunk
//! (`STREAM_MEMORY_BYTES`), however large a batch group: a group near
//! `MAX_GROUP_BYTES` (three maximal values and half a million small
//! members, about 75 MiB) is streamed member by member, whole, with the
//! default limits; the same group cut short yields no member at all.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use kv_core::codec::{
    encode_batch_begin, encode_put, LogStream, StreamEntry, Tail, MAX_GROUP_BYTES,
    STREAM_MEMORY_BYTES,
};
use kv_core::limits::MAX_VALUE_BYTES;
use kv_core::{File, Fs, StdFs};

const BIG: u32 = 3;
const SMALL: u32 = 500_000;

fn small_value(i: u32) -> [u8; 24] {
    let mut v = [0u8; 24];
    v[..4].copy_from_slice(&i.to_le_bytes());
    v
}

/// Writes the group (members `0..BIG` maximal values, then `SMALL` small
/// ones) and a lone record after it; returns the file and the group's end.
fn write_log(path: &Path) -> (Arc<dyn File>, u64) {
    let file = StdFs.create(path).unwrap();
    let mut buf = Vec::new();
    encode_batch_begin(&mut buf, 1, BIG + SMALL);
    for i in 0..BIG {
        encode_put(
            &mut buf,
            1 + u64::from(i),
            &[b'B', i as u8],
            &vec![i as u8; MAX_VALUE_BYTES],
        );
        file.append(&buf).unwrap();
        buf.clear();
    }
    for i in 0..SMALL {
        let seq = 1 + u64::from(BIG + i);
        encode_put(&mut buf, seq, &i.to_be_bytes(), &small_value(i));
        if buf.len() > 1 << 20 {
            file.append(&buf).unwrap();
            buf.clear();
        }
    }
    file.append(&buf).unwrap();
    let group_end = file.len().unwrap();
    buf.clear();
    encode_put(&mut buf, 1 + u64::from(BIG + SMALL), b"after", b"v");
    file.append(&buf).unwrap();
    (file, group_end)
}

#[test]
fn log_stream_holds_two_records_however_large_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let (file, group_end) = write_log(&path);
    let len = file.len().unwrap();
    assert!(
        group_end > 2 * STREAM_MEMORY_BYTES as u64 && group_end > (MAX_GROUP_BYTES as u64) * 4 / 5,
        "the group ({group_end} bytes) should be near MAX_GROUP_BYTES and far over the bound"
    );

    let mut s = LogStream::new(&path, &*file, 0, len);
    let (mut members, mut singles, mut began, mut ended) = (0u32, 0, false, None);
    while let Some(item) = s.next_entry() {
        match item.unwrap() {
            StreamEntry::GroupBegin { offset, members: n } => {
                assert_eq!((offset, n), (0, BIG + SMALL));
                began = true;
            }
            StreamEntry::Member(m) => {
                assert!(began, "a member before the group began");
                assert_eq!(m.record.seq, 1 + u64::from(members));
                if members < BIG {
                    assert_eq!(m.record.value.len(), MAX_VALUE_BYTES);
                    assert!(m.record.value.iter().all(|&b| b == members as u8));
                } else {
                    assert_eq!(m.record.value, small_value(members - BIG));
                }
                members += 1;
            }
            StreamEntry::GroupEnd { end, .. } => ended = Some(end),
            StreamEntry::Single(one) => {
                assert_eq!(one.record.key, b"after");
                singles += 1;
            }
        }
    }
    assert_eq!((members, ended, singles), (BIG + SMALL, Some(group_end), 1));
    assert_eq!((s.tail(), s.valid_end()), (Tail::Clean, len));
    let peak = s.peak_window_bytes();
    println!("group {group_end} bytes streamed with a peak window of {peak} bytes");
    assert!(
        peak <= STREAM_MEMORY_BYTES,
        "peak window {peak} over {STREAM_MEMORY_BYTES}"
    );

    // The group torn 1 MiB before its end: nothing of it is yielded, and
    // the torn tail runs from its start.
    let cut = group_end - (1 << 20);
    let mut s = LogStream::new(&path, &*file, 0, cut);
    assert!(s.next_entry().is_none(), "a torn group yielded something");
    assert_eq!(
        s.tail(),
        Tail::Torn {
            offset: 0,
            bytes: cut
        }
    );
    assert!(s.peak_window_bytes() <= STREAM_MEMORY_BYTES);
}
