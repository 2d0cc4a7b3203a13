//! Micro-benchmarks of the record codec: encoding a put, decoding it, and the
//! checksum over 1 KiB.
//!
//! Run with `cargo bench --bench codec`.
//!
//! `decode_1KiB_record` decodes a record whose checksummed region (every byte
//! after the crc field) is exactly 1 KiB, and `crc32_1KiB` times crc32fast
//! alone over 1 KiB: the difference is the decoder's own cost.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kv_core::codec::{decode_record, encode_put, encoded_len, Decoded, HEADER_BYTES};

/// Bytes covered by the crc in the 1 KiB benchmark.
const CRC_REGION_BYTES: usize = 1024;

fn record(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(encoded_len(key.len(), value.len()));
    encode_put(&mut buf, 42, key, value);
    buf
}

fn codec(c: &mut Criterion) {
    let key = [7u8; 16];
    let value = [b'v'; 100];
    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Bytes(encoded_len(16, 100) as u64));
    let mut buf = Vec::with_capacity(1024);
    group.bench_function("encode_put_16B_key_100B_value", |b| {
        b.iter(|| {
            buf.clear();
            encode_put(&mut buf, black_box(42), black_box(&key), black_box(&value));
            black_box(buf.len())
        })
    });
    let encoded = record(&key, &value);
    group.bench_function("decode_16B_key_100B_value", |b| {
        b.iter(|| match decode_record(black_box(&encoded)) {
            Decoded::Record { len, .. } => len,
            _ => 0,
        })
    });
    // The crc covers everything after the crc field: HEADER_BYTES - 4 header
    // bytes plus key and value.
    let big_value = vec![b'x'; CRC_REGION_BYTES - (HEADER_BYTES - 4)];
    let big = record(&[], &big_value);
    group.throughput(Throughput::Bytes(CRC_REGION_BYTES as u64));
    group.bench_function("decode_1KiB_record", |b| {
        b.iter(|| match decode_record(black_box(&big)) {
            Decoded::Record { len, .. } => len,
            _ => 0,
        })
    });
    let kib = vec![0xa5_u8; 1024];
    group.throughput(Throughput::Bytes(1024));
    group.bench_function("crc32_1KiB", |b| {
        b.iter(|| crc32fast::hash(black_box(&kib)))
    });
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
