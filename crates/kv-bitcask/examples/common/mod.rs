//! Helpers the bitcask examples share (a subdirectory module, so Cargo does
//! not build it as an example of its own).

/// splitmix64: a tiny deterministic generator for keys and key orders.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The 16-byte key of item `i`: `mix(i)` then `i`, big-endian, so keys are
/// unique and in random order.
// Not every example uses it (merge_under_reads lays its keys out the other way).
#[allow(dead_code)]
pub fn random_key(i: u64) -> [u8; 16] {
    let mut k = [0; 16];
    k[..8].copy_from_slice(&mix(i).to_be_bytes());
    k[8..].copy_from_slice(&i.to_be_bytes());
    k
}
