//! The record codec: one framed, checksummed record format shared by every
//! log the engines keep (bitcask data files, the LSM write-ahead log, ...).
//!
//! The byte layout, the batch framing and the torn-tail rules are documented
//! in `docs/format-record.md`; the constants here point there.
//!
//! ```text
//! | crc32 (4) | len (4) | kind (1) | seq (8) | key_len (2) | value_len (4) | key | value |
//! ```
//!
//! - All integers are little-endian.
//! - `crc32` (crc32fast, IEEE) covers every byte after it, `len` and `seq`
//!   included, so a misplaced or stale record fails verification when the
//!   reader checks the sequence number it expects.
//! - `len` counts the bytes after the `len` field: `15 + key_len + value_len`.
//! - A write batch is one framed group: a `BatchBegin` record whose
//!   `value_len` field holds the member count `n`, followed by exactly `n`
//!   `Put`/`Delete` records with sequence numbers `seq, seq+1, ... seq+n-1`.
//!   A group is applied only whole.
//!
//! - Format version 2 adds the `Frontier` record (kind 4): the durable
//!   frontier that tells a torn tail from corruption under reordered
//!   writeback ([`frontier`]).
//! - Kinds `0x80..=0xFF` are engine-private ([`EngineKind`]): framed like a
//!   `Put`, given their meaning by the engine, and yielded by the readers
//!   only to an engine that declared them ([`EngineKinds`]).
//!
//! Decoding never panics, never trusts a length (every length is checked
//! against the limits and against the bytes available before use) and never
//! allocates from one: records are borrowed slices of the input.

mod file_header;
mod file_rest;
pub mod frontier;
mod le;
mod log_reader;
mod log_stream;
mod record;

pub use file_header::{decode_file_header, encode_file_header, FileHeader, FILE_HEADER_BYTES};
pub use file_rest::{highest_frontier_in_file, next_valid_record};
pub use frontier::{
    frontier_at_end, highest_frontier_in, judge_damage, DamageVerdict, FrontierTracker,
    FRONTIER_STEP_BYTES,
};
pub use le::{open_block, put_varint, seal_block, LeReader, BLOCK_TRAILER_BYTES};
pub use log_reader::{Located, LogEntry, LogReader, Tail};
pub use log_stream::{
    LogStream, StreamEntry, MAX_GROUP_BYTES, STREAM_CHUNK_BYTES, STREAM_MEMORY_BYTES,
};
pub use record::{
    decode_header, decode_record, encode_batch, encode_batch_begin, encode_delete,
    encode_engine_record, encode_frontier, encode_put, encoded_len, Decoded, EngineKind,
    EngineKinds, RecordHeader, RecordKind, RecordRef, ENGINE_KIND_TAGS, HEADER_BYTES,
    MAX_RECORD_BYTES, RECORD_FORMAT_VERSION,
};
