//! One record: encode, and decode from untrusted bytes.

use crate::batch::{BatchOp, WriteBatch};
use crate::error::CorruptionKind;
use crate::limits::{MAX_BATCH_OPS, MAX_KEY_BYTES, MAX_VALUE_BYTES};

/// Version of the record format described in `docs/format-record.md`. Files
/// that hold records carry it in their [`super::FileHeader`].
///
/// Version 2 adds the [`RecordKind::Frontier`] record (the durable frontier,
/// see [`super::frontier`]); version 1 logs never hold one.
pub const RECORD_FORMAT_VERSION: u32 = 2;

/// Bytes before the key: crc (4) + len (4) + kind (1) + seq (8) + key_len (2)
/// + value_len (4).
pub const HEADER_BYTES: usize = 23;

/// Bytes of the header that `len` counts (everything after `len`).
const COUNTED_HEADER_BYTES: usize = HEADER_BYTES - 8;

/// Largest possible encoded record.
pub const MAX_RECORD_BYTES: usize = HEADER_BYTES + MAX_KEY_BYTES + MAX_VALUE_BYTES;

/// The type tag of a record.
///
/// Tags 1 to 4 are the codec's own. Tags [`ENGINE_KIND_TAGS`] (`0x80` to
/// `0xFF`) are **engine-private**: an engine gives them a meaning of its own
/// (the LSM's range tombstone) without editing the codec. An engine-private
/// record has the shape of a `Put` (a key and a value within the limits) and
/// may stand alone or be a batch member; the readers yield it only to an
/// engine that declared the tag ([`LogReader::accept_engine_kinds`](super::LogReader::accept_engine_kinds)),
/// and report it as damage (`BadKind`) to any other, so an engine never
/// misreads a record it does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// Set a key to a value.
    Put,
    /// Remove a key (a tombstone); `value_len` is 0.
    Delete,
    /// Start of a batch group; `value_len` holds the member count, no key or
    /// value bytes follow.
    BatchBegin,
    /// The durable frontier (format version 2): `seq` holds the log offset
    /// known to be synced when the record was written; no key or value.
    /// Readers consume it; it is never yielded as an entry.
    Frontier,
    /// An engine-private kind (tag `0x80..=0xFF`).
    Engine(EngineKind),
}

/// The tags reserved for engine-private record kinds.
pub const ENGINE_KIND_TAGS: std::ops::RangeInclusive<u8> = 0x80..=0xFF;

/// An engine-private record kind: a tag in [`ENGINE_KIND_TAGS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EngineKind(u8);

impl EngineKind {
    /// The engine kind with this tag; `None` outside [`ENGINE_KIND_TAGS`].
    pub const fn new(tag: u8) -> Option<Self> {
        if tag >= 0x80 {
            Some(Self(tag))
        } else {
            None
        }
    }

    /// Its tag byte.
    pub const fn tag(self) -> u8 {
        self.0
    }
}

impl RecordKind {
    /// The tag byte written in the record header.
    pub const fn tag(self) -> u8 {
        match self {
            Self::Put => 1,
            Self::Delete => 2,
            Self::BatchBegin => 3,
            Self::Frontier => 4,
            Self::Engine(kind) => kind.0,
        }
    }

    /// The kind a tag byte names; `None` for an unassigned tag (5 to 0x7F, 0).
    pub const fn from_tag(tag: u8) -> Option<Self> {
        match tag {
            1 => Some(Self::Put),
            2 => Some(Self::Delete),
            3 => Some(Self::BatchBegin),
            4 => Some(Self::Frontier),
            _ => match EngineKind::new(tag) {
                Some(kind) => Some(Self::Engine(kind)),
                None => None,
            },
        }
    }
}

/// A set of engine-private kinds an engine declares it reads (a bitset over
/// the 128 engine tags). The empty set is the default: an engine that adds
/// no kind sees every engine-private record as damage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineKinds(u128);

impl EngineKinds {
    /// The empty set.
    pub const NONE: Self = Self(0);

    /// The set of `kinds`.
    pub const fn of(kinds: &[EngineKind]) -> Self {
        let mut bits = 0u128;
        let mut i = 0;
        while i < kinds.len() {
            bits |= 1u128 << (kinds[i].0 - 0x80);
            i += 1;
        }
        Self(bits)
    }

    /// True if `kind` is in the set.
    pub const fn contains(self, kind: EngineKind) -> bool {
        self.0 & (1u128 << (kind.0 - 0x80)) != 0
    }
}

/// A decoded record, borrowing from the buffer it was decoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// Type tag.
    pub kind: RecordKind,
    /// Sequence number (for a `BatchBegin`, the first member's).
    pub seq: u64,
    /// The key (empty for `BatchBegin`).
    pub key: &'a [u8],
    /// The value (empty for `Delete` and `BatchBegin`).
    pub value: &'a [u8],
    /// For `BatchBegin`, the number of member records that follow; else 0.
    pub batch_len: u32,
}

/// The outcome of decoding at the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A valid record of `len` encoded bytes.
    Record {
        /// The record.
        record: RecordRef<'a>,
        /// Its encoded length in bytes.
        len: usize,
    },
    /// The buffer ends before the record does: `needed` bytes in all would be
    /// required (as far as the header tells). A torn tail if nothing valid
    /// follows.
    Incomplete {
        /// Bytes the record would need (at least the header).
        needed: usize,
    },
    /// The bytes are not a valid record.
    Invalid(CorruptionKind),
}

/// Encoded size of a record with these key and value lengths.
pub fn encoded_len(key_len: usize, value_len: usize) -> usize {
    HEADER_BYTES + key_len + value_len
}

fn encode(out: &mut Vec<u8>, kind: RecordKind, seq: u64, key: &[u8], value: &[u8], n: u32) {
    debug_assert!(key.len() <= MAX_KEY_BYTES && value.len() <= MAX_VALUE_BYTES);
    let start = out.len();
    let len = (COUNTED_HEADER_BYTES + key.len() + value.len()) as u32;
    out.extend_from_slice(&[0; 4]); // crc, filled below
    out.extend_from_slice(&len.to_le_bytes());
    out.push(kind.tag());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&(key.len() as u16).to_le_bytes());
    let value_field = if kind == RecordKind::BatchBegin {
        n
    } else {
        value.len() as u32
    };
    out.extend_from_slice(&value_field.to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(value);
    let crc = crc32fast::hash(&out[start + 4..]);
    out[start..start + 4].copy_from_slice(&crc.to_le_bytes());
}

/// Appends a `Put` record. REQUIRES: key and value within the limits
/// (callers check with [`crate::limits::check_put`]).
pub fn encode_put(out: &mut Vec<u8>, seq: u64, key: &[u8], value: &[u8]) {
    encode(out, RecordKind::Put, seq, key, value, 0);
}

/// Appends a `Delete` record (a tombstone). REQUIRES: key within the limit.
pub fn encode_delete(out: &mut Vec<u8>, seq: u64, key: &[u8]) {
    encode(out, RecordKind::Delete, seq, key, &[], 0);
}

/// Appends a `BatchBegin` record announcing `count` members starting at
/// sequence `first_seq`. REQUIRES: `1 <= count <= MAX_BATCH_OPS`.
pub fn encode_batch_begin(out: &mut Vec<u8>, first_seq: u64, count: u32) {
    encode(out, RecordKind::BatchBegin, first_seq, &[], &[], count);
}

/// Appends an engine-private record of `kind` (its meaning is the
/// engine's; the codec frames and checksums it like a `Put`). REQUIRES: key
/// and value within the limits.
pub fn encode_engine_record(
    out: &mut Vec<u8>,
    kind: EngineKind,
    seq: u64,
    key: &[u8],
    value: &[u8],
) {
    encode(out, RecordKind::Engine(kind), seq, key, value, 0);
}

/// Appends a `Frontier` record saying the log is synced up to offset
/// `synced_len` (see [`super::frontier`]).
pub fn encode_frontier(out: &mut Vec<u8>, synced_len: u64) {
    encode(out, RecordKind::Frontier, synced_len, &[], &[], 0);
}

/// Appends a whole batch group: `BatchBegin` then one record per operation,
/// with sequence numbers `first_seq..first_seq + batch.len()`. An empty batch
/// appends nothing. REQUIRES: the batch passed [`crate::limits::check_batch`].
pub fn encode_batch(out: &mut Vec<u8>, first_seq: u64, batch: &WriteBatch) {
    if batch.is_empty() {
        return;
    }
    encode_batch_begin(out, first_seq, batch.len() as u32);
    for (i, op) in batch.ops().iter().enumerate() {
        let seq = first_seq + i as u64;
        match op {
            BatchOp::Put { key, value } => encode_put(out, seq, key, value),
            BatchOp::Delete { key } => encode_delete(out, seq, key),
        }
    }
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    let mut b = [0; 4];
    b.copy_from_slice(&buf[at..at + 4]);
    u32::from_le_bytes(b)
}

/// A record header whose fields agree with each other and with the limits.
/// Its checksum is not verified: only [`decode_record`] does that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// The checksum stored in the record.
    pub expected_crc: u32,
    /// Type tag.
    pub kind: RecordKind,
    /// Sequence number.
    pub seq: u64,
    /// Key bytes that follow the header.
    pub key_len: usize,
    /// Value bytes that follow the key (0 for `Delete` and `BatchBegin`).
    pub value_len: usize,
    /// For `BatchBegin`, the member count; else 0.
    pub batch_len: u32,
    /// Encoded length of the whole record, header included.
    pub encoded_len: usize,
}

/// Reads and checks the header at the start of `buf`: the kind is known, the
/// key and value lengths are within the limits, and `len` equals what they
/// add up to. `None` if `buf` is shorter than a header. This is the one shape
/// rule of the format; [`decode_record`] and salvage paths both use it.
pub fn decode_header(buf: &[u8]) -> Option<Result<RecordHeader, CorruptionKind>> {
    let header = buf.get(..HEADER_BYTES)?;
    let expected_crc = u32_at(header, 0);
    let len = u32_at(header, 4) as usize;
    let tag = header[8];
    let mut seq = [0; 8];
    seq.copy_from_slice(&header[9..17]);
    let seq = u64::from_le_bytes(seq);
    let key_len = u16::from_le_bytes([header[17], header[18]]) as usize;
    let value_field = u32_at(header, 19);

    let Some(kind) = RecordKind::from_tag(tag) else {
        return Some(Err(CorruptionKind::BadKind { got: tag }));
    };
    let (value_len, batch_len) = match kind {
        RecordKind::BatchBegin => (0, value_field),
        _ => (value_field as usize, 0),
    };
    let shape_ok = match kind {
        RecordKind::Put | RecordKind::Engine(_) => {
            key_len <= MAX_KEY_BYTES && value_len <= MAX_VALUE_BYTES
        }
        RecordKind::Delete => key_len <= MAX_KEY_BYTES && value_len == 0,
        RecordKind::BatchBegin => {
            key_len == 0 && batch_len >= 1 && batch_len as usize <= MAX_BATCH_OPS
        }
        RecordKind::Frontier => key_len == 0 && value_len == 0,
    };
    if !shape_ok || len != COUNTED_HEADER_BYTES + key_len + value_len {
        return Some(Err(CorruptionKind::BadLength {
            got: len as u64,
            max: (COUNTED_HEADER_BYTES + MAX_KEY_BYTES + MAX_VALUE_BYTES) as u64,
        }));
    }
    Some(Ok(RecordHeader {
        expected_crc,
        kind,
        seq,
        key_len,
        value_len,
        batch_len,
        encoded_len: 8 + len,
    }))
}

/// Decodes the record at the start of `buf`. Never panics, whatever the bytes.
pub fn decode_record(buf: &[u8]) -> Decoded<'_> {
    let header = match decode_header(buf) {
        None => {
            return Decoded::Incomplete {
                needed: HEADER_BYTES,
            }
        }
        Some(Err(kind)) => return Decoded::Invalid(kind),
        Some(Ok(header)) => header,
    };
    let total = header.encoded_len;
    if buf.len() < total {
        return Decoded::Incomplete { needed: total };
    }
    let got_crc = crc32fast::hash(&buf[4..total]);
    if got_crc != header.expected_crc {
        return Decoded::Invalid(CorruptionKind::ChecksumMismatch {
            expected: header.expected_crc,
            got: got_crc,
        });
    }
    Decoded::Record {
        record: record_from(buf, &header),
        len: total,
    }
}

/// The record at the start of `buf`, which [`decode_record`] has already
/// accepted (the same bytes): its header is parsed and its key and value
/// sliced, without computing the checksum again. `None` if `buf` does not
/// even hold a well-formed header and the record's bytes.
pub(crate) fn record_of_accepted(buf: &[u8]) -> Option<RecordRef<'_>> {
    let header = decode_header(buf)?.ok()?;
    (buf.len() >= header.encoded_len).then(|| record_from(buf, &header))
}

/// The record `header` describes, borrowed from `buf` (which holds at least
/// `header.encoded_len` bytes).
fn record_from<'a>(buf: &'a [u8], header: &RecordHeader) -> RecordRef<'a> {
    let key_end = HEADER_BYTES + header.key_len;
    RecordRef {
        kind: header.kind,
        seq: header.seq,
        key: buf.get(HEADER_BYTES..key_end).unwrap_or_default(),
        value: buf.get(key_end..header.encoded_len).unwrap_or_default(),
        batch_len: header.batch_len,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn put_round_trips() {
        let mut buf = Vec::new();
        encode_put(&mut buf, 7, b"key", b"value");
        assert_eq!(buf.len(), encoded_len(3, 5));
        let Decoded::Record { record, len } = decode_record(&buf) else {
            panic!("expected a record");
        };
        assert_eq!(len, buf.len());
        assert_eq!(record.kind, RecordKind::Put);
        assert_eq!(
            (record.seq, record.key, record.value),
            (7, &b"key"[..], &b"value"[..])
        );
    }

    #[test]
    fn every_truncation_is_incomplete() {
        let mut buf = Vec::new();
        encode_put(&mut buf, 1, b"k", b"some value");
        for cut in 0..buf.len() {
            assert!(
                matches!(decode_record(&buf[..cut]), Decoded::Incomplete { .. }),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let mut buf = Vec::new();
        encode_put(&mut buf, 99, b"kk", b"vvvv");
        for byte in 0..buf.len() {
            for bit in 0..8 {
                let mut bad = buf.clone();
                bad[byte] ^= 1 << bit;
                match decode_record(&bad) {
                    Decoded::Record { .. } => panic!("flip at {byte}:{bit} went unnoticed"),
                    Decoded::Incomplete { .. } | Decoded::Invalid(_) => {}
                }
            }
        }
    }

    #[test]
    fn seq_is_covered_by_the_checksum() {
        let mut a = Vec::new();
        encode_put(&mut a, 1, b"k", b"v");
        let mut b = Vec::new();
        encode_put(&mut b, 2, b"k", b"v");
        assert_ne!(a[..4], b[..4]);
    }

    #[test]
    fn batch_group_layout() {
        let mut batch = WriteBatch::new();
        batch.put(b"a", b"1").delete(b"b");
        let mut buf = Vec::new();
        encode_batch(&mut buf, 10, &batch);
        let Decoded::Record { record, len } = decode_record(&buf) else {
            panic!()
        };
        assert_eq!(
            (record.kind, record.seq, record.batch_len),
            (RecordKind::BatchBegin, 10, 2)
        );
        let Decoded::Record { record: m, .. } = decode_record(&buf[len..]) else {
            panic!()
        };
        assert_eq!((m.kind, m.seq, m.key), (RecordKind::Put, 10, &b"a"[..]));
    }

    #[test]
    fn every_tag_round_trips_through_its_kind() {
        for tag in 0..=u8::MAX {
            match RecordKind::from_tag(tag) {
                Some(kind) => assert_eq!(kind.tag(), tag),
                None => assert!(tag == 0 || (5..0x80).contains(&tag), "tag {tag}"),
            }
        }
    }

    #[test]
    fn engine_record_round_trips() {
        let kind = EngineKind::new(0x81).unwrap();
        let mut buf = Vec::new();
        encode_engine_record(&mut buf, kind, 3, b"from", b"to");
        let Decoded::Record { record, len } = decode_record(&buf) else {
            panic!("expected a record");
        };
        assert_eq!(len, buf.len());
        assert_eq!(record.kind, RecordKind::Engine(kind));
        assert_eq!((record.key, record.value), (&b"from"[..], &b"to"[..]));
    }

    #[test]
    fn engine_kind_sets_hold_exactly_their_members() {
        let a = EngineKind::new(0x80).unwrap();
        let b = EngineKind::new(0xFF).unwrap();
        let c = EngineKind::new(0x90).unwrap();
        let set = EngineKinds::of(&[a, b]);
        assert!(set.contains(a) && set.contains(b) && !set.contains(c));
        assert!(!EngineKinds::NONE.contains(a));
        assert_eq!(EngineKind::new(0x7F), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100_000))]
        #[test]
        fn decode_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            let _ = decode_record(&bytes);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]
        #[test]
        fn decode_never_panics_on_mutated_records(
            key in proptest::collection::vec(any::<u8>(), 0..64),
            value in proptest::collection::vec(any::<u8>(), 0..256),
            at in any::<usize>(), byte in any::<u8>(),
        ) {
            let mut buf = Vec::new();
            encode_put(&mut buf, 5, &key, &value);
            let i = at % buf.len();
            buf[i] = byte;
            let _ = decode_record(&buf);
        }

        #[test]
        fn round_trip_holds_for_arbitrary_records(
            seq in any::<u64>(),
            key in proptest::collection::vec(any::<u8>(), 0..=MAX_KEY_BYTES),
            value in proptest::collection::vec(any::<u8>(), 0..2048),
            tombstone in any::<bool>(),
        ) {
            let mut buf = Vec::new();
            if tombstone { encode_delete(&mut buf, seq, &key) } else { encode_put(&mut buf, seq, &key, &value) }
            let Decoded::Record { record, len } = decode_record(&buf) else {
                return Err(TestCaseError::fail("did not decode"));
            };
            prop_assert_eq!(len, buf.len());
            prop_assert_eq!(record.seq, seq);
            prop_assert_eq!(record.key, &key[..]);
            if tombstone {
                prop_assert_eq!(record.kind, RecordKind::Delete);
                prop_assert!(record.value.is_empty());
            } else {
                prop_assert_eq!(record.kind, RecordKind::Put);
                prop_assert_eq!(record.value, &value[..]);
            }
        }
    }
}
