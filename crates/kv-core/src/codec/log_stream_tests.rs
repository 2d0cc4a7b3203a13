//! A stream agrees with a reader over the whole log in memory, whatever the
//! damage, yields a group's members only once the group checked whole, and
//! its window stays bounded.

use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::*;
use crate::batch::WriteBatch;
use crate::codec::{
    encode_batch, encode_delete, encode_engine_record, encode_frontier, encode_put,
    next_valid_record, EngineKind,
};

/// One record as a test compares it: offset, key, value.
type Rec = (u64, Vec<u8>, Vec<u8>);

/// What a reader makes of a log: the entries as (offset, records), the
/// error, the valid end, the tail, whether valid records were dropped, and
/// the durable frontier.
type Verdict = (Vec<(u64, Vec<Rec>)>, Option<String>, u64, Tail, bool, u64);

fn rec(r: &Located<'_>) -> Rec {
    (r.offset, r.record.key.to_vec(), r.record.value.to_vec())
}

fn engine_kind() -> EngineKind {
    EngineKind::new(0x80).unwrap()
}

fn in_memory(data: &[u8], rule: bool) -> Verdict {
    let mut r = LogReader::new(Path::new("log"), data, 0)
        .accept_engine_kinds(EngineKinds::of(&[engine_kind()]));
    if rule {
        r = r.with_frontier_rule();
    }
    let (mut entries, mut error) = (Vec::new(), None);
    for item in r.by_ref() {
        match item {
            Ok(super::super::LogEntry::Single(one)) => entries.push((one.offset, vec![rec(&one)])),
            Ok(super::super::LogEntry::Batch { offset, members }) => {
                entries.push((offset, members.iter().map(rec).collect()));
            }
            Err(e) => error = Some(format!("{e:?}")),
        }
    }
    let frontier = r.durable_frontier();
    let (end, tail, dropped) = (r.valid_end(), r.tail(), r.dropped_valid_records());
    (entries, error, end, tail, dropped, frontier)
}

/// Streams `file[0..len)` with reads of `chunk` and groups kept in the
/// window up to `keep` bytes; checks the group framing on the way (a
/// `GroupBegin` announces exactly the members that follow, then its end).
fn streamed(file: &dyn File, len: u64, rule: bool, chunk: usize, keep: usize) -> Verdict {
    let mut s = LogStream::new(Path::new("log"), file, 0, len)
        .with_limits(chunk, keep)
        .accept_engine_kinds(EngineKinds::of(&[engine_kind()]));
    if rule {
        s = s.with_frontier_rule();
    }
    let (mut entries, mut error) = (Vec::new(), None);
    let mut open: Option<(u64, u32, Vec<Rec>)> = None;
    while let Some(item) = s.next_entry() {
        match item {
            Ok(StreamEntry::Single(one)) => {
                assert!(open.is_none(), "a lone record inside a group");
                entries.push((one.offset, vec![rec(&one)]));
            }
            Ok(StreamEntry::GroupBegin { offset, members }) => {
                assert!(open.is_none(), "a group inside a group");
                open = Some((offset, members, Vec::new()));
            }
            Ok(StreamEntry::Member(m)) => open
                .as_mut()
                .expect("a member outside a group")
                .2
                .push(rec(&m)),
            Ok(StreamEntry::GroupEnd { offset, end }) => {
                let (at, n, members) = open.take().expect("an end outside a group");
                assert_eq!((at, n as usize), (offset, members.len()), "group framing");
                let last = members
                    .last()
                    .map(|m| m.0 + 23 + (m.1.len() + m.2.len()) as u64);
                assert_eq!(last, Some(end), "group end");
                entries.push((offset, members));
            }
            Err(e) => {
                assert!(open.is_none(), "an error inside a group: {e:?}");
                error = Some(format!("{e:?}"));
            }
        }
    }
    assert!(open.is_none(), "a group never ended");
    let frontier = s.durable_frontier();
    let (end, tail, dropped) = (s.valid_end(), s.tail(), s.dropped_valid_records());
    (entries, error, end, tail, dropped, frontier)
}

/// A file in memory (the tests stream many small logs many ways; no
/// system call per read).
#[derive(Debug, Default)]
struct MemFile(Mutex<Vec<u8>>);

impl File for MemFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let data = self.0.lock().unwrap();
        let from = (offset as usize).min(data.len());
        let n = buf.len().min(data.len() - from);
        buf[..n].copy_from_slice(&data[from..from + n]);
        Ok(n)
    }
    fn write_at(&self, bytes: &[u8], offset: u64) -> io::Result<()> {
        let mut data = self.0.lock().unwrap();
        let end = offset as usize + bytes.len();
        if data.len() < end {
            data.resize(end, 0);
        }
        data[offset as usize..end].copy_from_slice(bytes);
        Ok(())
    }
    fn append(&self, bytes: &[u8]) -> io::Result<u64> {
        let mut data = self.0.lock().unwrap();
        let at = data.len() as u64;
        data.extend_from_slice(bytes);
        Ok(at)
    }
    fn sync(&self) -> io::Result<()> {
        Ok(())
    }
    fn len(&self) -> io::Result<u64> {
        Ok(self.0.lock().unwrap().len() as u64)
    }
    fn truncate(&self, len: u64) -> io::Result<()> {
        self.0.lock().unwrap().truncate(len as usize);
        Ok(())
    }
}

fn file_with(bytes: &[u8]) -> Arc<dyn File> {
    Arc::new(MemFile(Mutex::new(bytes.to_vec())))
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

/// (chunk, keep) pairs: every group kept in the window, none kept (each
/// checked, let go and read again), and in between.
const LIMITS: [(usize, usize); 4] = [
    (1, 0),
    (7, 64),
    (64, MAX_RECORD_BYTES),
    (STREAM_CHUNK_BYTES, MAX_RECORD_BYTES),
];

fn assert_agree(data: &[u8], what: &str) {
    let f = file_with(data);
    for rule in [false, true] {
        let want = in_memory(data, rule);
        for (chunk, keep) in LIMITS {
            let got = streamed(&*f, data.len() as u64, rule, chunk, keep);
            assert_eq!(got, want, "{what}, rule {rule}, chunk {chunk}, keep {keep}");
        }
    }
}

#[test]
fn stream_agrees_with_the_reader_on_every_cut() {
    let log = sample_log();
    for cut in 0..=log.len() {
        assert_agree(&log[..cut], &format!("cut {cut}"));
    }
}

#[test]
fn stream_agrees_with_the_reader_on_every_damaged_byte() {
    let log = sample_log();
    for i in 0..log.len() {
        let mut bad = log.clone();
        bad[i] ^= 0x5a;
        assert_agree(&bad, &format!("flip at {i}"));
        bad[i] = 0;
        assert_agree(&bad, &format!("zero at {i}"));
    }
}

/// A random log as writers lay it out: lone puts, deletes and engine
/// records, batch groups, frontier records (each covering what was written
/// before it, as after a sync).
fn random_log(rng: &mut StdRng) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut seq = 1u64;
    for _ in 0..rng.random_range(1..14) {
        let value = vec![rng.random::<u8>(); rng.random_range(0..90)];
        let key = format!("k{seq}").into_bytes();
        match rng.random_range(0..10) {
            0 => encode_delete(&mut buf, seq, &key),
            1 => encode_engine_record(&mut buf, engine_kind(), seq, &key, &value),
            2 | 3 => {
                let synced = buf.len() as u64;
                encode_frontier(&mut buf, synced);
            }
            4..=6 => {
                let mut batch = WriteBatch::new();
                let n = rng.random_range(1..7);
                for i in 0..n {
                    let v = vec![b'b'; rng.random_range(0..70)];
                    match rng.random_range(0..4) {
                        0 => batch.delete(format!("b{seq}.{i}")),
                        _ => batch.put(format!("b{seq}.{i}"), v),
                    };
                }
                encode_batch(&mut buf, seq, &batch);
                seq += n as u64 - 1;
            }
            _ => encode_put(&mut buf, seq, &key, &value),
        }
        seq += 1;
    }
    buf
}

/// Damages `log` as crashes and bad disks do: flipped bytes, a zeroed or
/// garbage stretch (a write that never landed), a cut (a torn tail).
fn damage(rng: &mut StdRng, log: &mut Vec<u8>) {
    if log.is_empty() {
        return;
    }
    for _ in 0..rng.random_range(0..3) {
        match rng.random_range(0..4) {
            0 => {
                let at = rng.random_range(0..log.len());
                log[at] ^= rng.random_range(1..=255u8);
            }
            1 | 2 => {
                let at = rng.random_range(0..log.len());
                let end = (at + rng.random_range(1..120)).min(log.len());
                let zero = rng.random_range(0..2) == 0;
                for b in &mut log[at..end] {
                    *b = if zero { 0 } else { rng.random() };
                }
            }
            _ => {
                let cut = rng.random_range(0..=log.len());
                log.truncate(cut);
                if log.is_empty() {
                    return;
                }
            }
        }
    }
}

/// Seeded from `KV_SEED` (the seed helpers are in the test kit).
#[cfg(feature = "testkit")]
#[test]
fn stream_agrees_with_the_reader_on_random_damaged_logs() {
    let guard =
        crate::testkit::SeedGuard::new("stream_agrees_with_the_reader_on_random_damaged_logs");
    let mut rng = StdRng::seed_from_u64(guard.seed());
    for round in 0..600 {
        let mut log = random_log(&mut rng);
        damage(&mut rng, &mut log);
        let f = file_with(&log);
        let limits = [
            (rng.random_range(1..200), rng.random_range(0..400)),
            (STREAM_CHUNK_BYTES, MAX_RECORD_BYTES),
        ];
        for rule in [false, true] {
            let want = in_memory(&log, rule);
            for (chunk, keep) in limits {
                let got = streamed(&*f, log.len() as u64, rule, chunk, keep);
                assert_eq!(
                    got, want,
                    "round {round}, rule {rule}, chunk {chunk}, keep {keep}"
                );
            }
        }
    }
}

#[test]
fn window_holds_one_record_and_a_chunk_however_long_the_log() {
    let mut log = Vec::new();
    for seq in 0..64 {
        encode_put(&mut log, seq, b"k", &[7; 1000]);
    }
    let f = file_with(&log);
    let mut s = LogStream::new(Path::new("log"), &*f, 0, log.len() as u64).with_limits(4096, 4096);
    let mut n = 0;
    while let Some(item) = s.next_entry() {
        item.unwrap();
        n += 1;
    }
    assert_eq!((n, s.tail()), (64, Tail::Clean));
    assert!(
        s.peak_window_bytes() <= 4096,
        "window {}",
        s.peak_window_bytes()
    );
}

/// One group of 200 members of about 1 KiB (200 KiB), then a lone record.
fn big_group_log() -> (Vec<u8>, usize) {
    let mut batch = WriteBatch::new();
    for i in 0..200 {
        batch.put(format!("m{i:03}"), vec![i as u8; 1000]);
    }
    let mut log = Vec::new();
    encode_batch(&mut log, 1, &batch);
    let group = log.len();
    encode_put(&mut log, 201, b"after", b"v");
    (log, group)
}

/// The bound of the module docs at small limits: a window of at most
/// `max(record, chunk, keep)` bytes (here the chunk), plus a chunk and one
/// record while damage is judged.
#[test]
fn group_far_larger_than_the_window_streams_in_two_records_and_a_chunk() {
    const CHUNK: usize = 4096;
    const KEEP: usize = 2048;
    const RECORD: usize = 23 + 4 + 1000;
    let (log, group) = big_group_log();
    assert!(group > 30 * (2 * RECORD + CHUNK));
    let f = file_with(&log);
    let mut s = LogStream::new(Path::new("log"), &*f, 0, log.len() as u64).with_limits(CHUNK, KEEP);
    let (mut members, mut ends) = (0, 0);
    while let Some(item) = s.next_entry() {
        match item.unwrap() {
            StreamEntry::Member(m) => {
                assert_eq!(m.record.value, &[members as u8; 1000][..]);
                members += 1;
            }
            StreamEntry::GroupEnd { end, .. } => ends = end,
            _ => {}
        }
    }
    assert_eq!((members, ends, s.tail()), (200, group as u64, Tail::Clean));
    assert!(
        s.peak_window_bytes() <= CHUNK,
        "window {}",
        s.peak_window_bytes()
    );

    // A damaged last member with valid data after it: corruption, found
    // with a chunk and a record of search on top of the window.
    let mut bad = log.clone();
    bad[group - 10] ^= 1;
    let f = file_with(&bad);
    let mut s = LogStream::new(Path::new("log"), &*f, 0, bad.len() as u64).with_limits(CHUNK, KEEP);
    let first = s.next_entry().unwrap();
    assert!(matches!(first, Err(Error::Corruption { .. })), "{first:?}");
    assert!(s.next_entry().is_none());
    let bound = CHUNK + CHUNK + RECORD;
    assert!(
        s.peak_window_bytes() <= bound,
        "window {} over {bound}",
        s.peak_window_bytes()
    );
}

/// A group cut short at the end of the log yields neither its begin nor
/// any member, however far the check got before the cut.
#[test]
fn torn_group_yields_no_member() {
    let (log, group) = big_group_log();
    for cut in [24, 2000, group / 2, group - 1] {
        let f = file_with(&log[..cut]);
        for (chunk, keep) in [(4096, 0), (STREAM_CHUNK_BYTES, MAX_RECORD_BYTES)] {
            let mut s =
                LogStream::new(Path::new("log"), &*f, 0, cut as u64).with_limits(chunk, keep);
            assert!(s.next_entry().is_none(), "cut {cut}: something yielded");
            assert_eq!(
                s.tail(),
                Tail::Torn {
                    offset: 0,
                    bytes: cut as u64
                }
            );
        }
    }
}

/// Bytes of a checked group that change before its members are read again
/// are an I/O error (`InvalidData`), never a member that did not check.
#[test]
fn group_changed_between_check_and_read_is_an_io_error() {
    let (log, group) = big_group_log();
    let f = file_with(&log);
    let mut s = LogStream::new(Path::new("log"), &*f, 0, log.len() as u64).with_limits(4096, 0);
    assert!(matches!(
        s.next_entry(),
        Some(Ok(StreamEntry::GroupBegin { members: 200, .. }))
    ));
    f.write_at(&[0xee; 64], (group / 2) as u64).unwrap();
    let mut members = 0;
    let error = loop {
        match s.next_entry() {
            Some(Ok(StreamEntry::Member(_))) => members += 1,
            Some(Err(e)) => break e,
            other => panic!("expected members then an error, got {other:?}"),
        }
    };
    assert!(members < 200);
    match error {
        Error::Io(e) => assert_eq!(e.kind(), std::io::ErrorKind::InvalidData),
        other => panic!("expected an I/O error, got {other:?}"),
    }
    assert!(s.next_entry().is_none());
}

#[test]
fn next_valid_record_finds_the_first_record_after_garbage() {
    let mut log = vec![0xab; 5000];
    encode_put(&mut log, 1, b"k", b"v");
    let f = file_with(&log);
    let len = log.len() as u64;
    assert_eq!(next_valid_record(&*f, 0, len).unwrap(), Some(5000));
    assert_eq!(next_valid_record(&*f, 5001, len).unwrap(), None);
}
