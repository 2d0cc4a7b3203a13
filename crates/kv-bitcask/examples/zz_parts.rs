#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
use std::time::Instant;
use kv_bitcask::keydir::{Entry, Keydir};
use kv_core::{Fs, StdFs};
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
fn key(i: u64) -> [u8; 16] {
    let mut k = [0; 16];
    k[..8].copy_from_slice(&mix(i).to_be_bytes());
    k[8..].copy_from_slice(&i.to_be_bytes());
    k
}
fn main() {
    let n = 1_000_000u64;
    let mut kd = Keydir::new();
    let t = Instant::now();
    for i in 0..n { kd.insert(&key(i), Entry { file_id: 1, offset: i as u32, len: 139, stored_seq: i }); }
    println!("insert: {:.0} ns/op", t.elapsed().as_nanos() as f64 / n as f64);
    let t = Instant::now();
    let mut s = 0u64;
    for i in 0..n { s += kd.get(&key(mix(i ^ 0x5555) % n)).map_or(0, |e| e.offset as u64); }
    println!("get: {:.0} ns/op ({s})", t.elapsed().as_nanos() as f64 / n as f64);
    for small in [10_000u64, 100_000] {
        let mut kd2 = Keydir::new();
        for i in 0..small { kd2.insert(&key(i), Entry { file_id: 1, offset: i as u32, len: 139, stored_seq: i }); }
        let t = Instant::now();
        for i in 0..n { s += kd2.get(&key(mix(i ^ 0x5555) % small)).map_or(0, |e| e.offset as u64); }
        println!("get with {small} keys: {:.0} ns/op ({s})", t.elapsed().as_nanos() as f64 / n as f64);
    }
    let mut bt = std::collections::BTreeMap::new();
    for i in 0..n { bt.insert(key(i).to_vec(), i); }
    let t = Instant::now();
    for i in 0..n { s += bt.get(&key(mix(i ^ 0x5555) % n)[..]).copied().unwrap_or(0); }
    println!("btreemap get: {:.0} ns/op ({s})", t.elapsed().as_nanos() as f64 / n as f64);
    let mut hm = std::collections::HashMap::new();
    for i in 0..n { hm.insert(key(i).to_vec(), i); }
    let t = Instant::now();
    for i in 0..n { s += hm.get(&key(mix(i ^ 0x5555) % n)[..]).copied().unwrap_or(0); }
    println!("hashmap get: {:.0} ns/op ({s})", t.elapsed().as_nanos() as f64 / n as f64);
    let dir = tempfile::tempdir().unwrap();
    let f = StdFs.create(&dir.path().join("x")).unwrap();
    f.append(&vec![7u8; 139 * n as usize]).unwrap();
    let mut buf = vec![0u8; 139];
    let t = Instant::now();
    for i in 0..n { f.read_exact_at(&mut buf, (mix(i) % n) * 139).unwrap(); }
    println!("pread: {:.0} ns/op", t.elapsed().as_nanos() as f64 / n as f64);
    let t = Instant::now();
    for _ in 0..n { s += crc32fast::hash(&buf) as u64; let v = buf[23..].to_vec(); s += v.len() as u64; }
    println!("crc+alloc: {:.0} ns/op ({s})", t.elapsed().as_nanos() as f64 / n as f64);
}
