//! Shortened index separators (LevelDB's `FindShortestSeparator` and
//! `FindShortSuccessor` idea): the index entry of a data block need not be
//! the block's last key, only a key `sep` with
//!
//! ```text
//! last key of block i  <=  sep_i  <  first key of block i+1
//! ```
//!
//! (internal-key order). Then "the first block whose separator is `>=`
//! target" is still the only block that can hold the first key `>=` target,
//! so lookups find the same block, and the index holds short keys: between
//! `key000123` and `key000200` the separator's user key is `key0002`.
//!
//! The user key chosen, where `n` is the length of the common prefix of the
//! last block's last user key `a` and the next block's first user key `b`:
//! `a[..n] + (a[n] + 1)` if that is still below `b[n]`; else `b[..=n]` if
//! that is a proper prefix of `b`; else `a[..=n]` followed by the rest of
//! `a` cut after its first byte that is not `0xFF`, incremented. The last
//! block of a table gets `a` cut after its first byte that is not `0xFF`,
//! incremented (`key000123` becomes `l`).
//!
//! A shortened separator is the *first* internal key of its user key
//! (sequence number `MAX_SEQ`, kind put): it sorts after every version of
//! the last block's user key and before every version of the next block's.
//! Where no shorter user key fits (the two user keys are equal, one is a
//! prefix of the other, or only `0xFF` bytes could be incremented) the
//! separator is the block's last key itself.

use crate::ikey;

/// A user key `s` with `a < s < b` and `s` shorter than `a`, if one exists
/// by incrementing one byte of `a` after the common prefix. REQUIRES `a < b`.
fn shorten_between(a: &[u8], b: &[u8]) -> Option<Vec<u8>> {
    let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    // `a` a prefix of `b` (or equal): every key between starts with `a`, so
    // none is shorter.
    let (&ab, &bb) = (a.get(common)?, b.get(common)?);
    if ab < 0xff && ab + 1 < bb {
        // a[..common] + (a[common] + 1): above a at byte `common`, below b.
        let mut s = a[..=common].to_vec();
        s[common] = ab + 1;
        return Some(s);
    }
    if b.len() > common + 1 {
        // b[..=common]: above a at byte `common`, a proper prefix of b.
        return Some(b[..=common].to_vec());
    }
    // Keep a[..=common] (already below b at byte `common`) and increment a
    // later byte of a: above a there.
    let tail = successor_prefix(&a[common + 1..])?;
    let mut s = a[..=common].to_vec();
    s.extend_from_slice(&tail);
    (s.len() < a.len()).then_some(s)
}

/// The shortest `s > a` that is a prefix of `a` with its last byte
/// incremented (the first byte that is not `0xFF`); `None` if `a` is all
/// `0xFF` (or empty) or `s` would be no shorter.
fn successor_prefix(a: &[u8]) -> Option<Vec<u8>> {
    let i = a.iter().position(|&b| b != 0xff)?;
    let mut s = a[..=i].to_vec();
    s[i] += 1;
    (s.len() < a.len()).then_some(s)
}

/// The index key of a data block whose last internal key is `last`, when
/// the next block starts with internal key `next`.
pub fn separator(last: &[u8], next: &[u8]) -> Vec<u8> {
    let (a, b) = (ikey::user_key(last), ikey::user_key(next));
    if a < b {
        if let Some(s) = shorten_between(a, b) {
            return ikey::encode(&s, ikey::MAX_SEQ, ikey::KIND_PUT);
        }
    }
    last.to_vec()
}

/// The index key of a table's last data block, whose last internal key is
/// `last`: a short key `>= last`.
pub fn successor(last: &[u8]) -> Vec<u8> {
    match successor_prefix(ikey::user_key(last)) {
        Some(s) => ikey::encode(&s, ikey::MAX_SEQ, ikey::KIND_PUT),
        None => last.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    fn ik(user: &[u8], seq: u64) -> Vec<u8> {
        ikey::encode(user, seq, ikey::KIND_PUT)
    }

    fn assert_separates(a: &[u8], b: &[u8]) -> Vec<u8> {
        let (last, next) = (ik(a, 7), ik(b, 9));
        let sep = separator(&last, &next);
        assert_ne!(ikey::compare(&last, &sep), Ordering::Greater, "{a:?} {b:?}");
        assert_eq!(ikey::compare(&sep, &next), Ordering::Less, "{a:?} {b:?}");
        ikey::user_key(&sep).to_vec()
    }

    #[test]
    fn separators_are_short_and_between() {
        assert_eq!(assert_separates(b"key000123", b"key000200"), b"key0002");
        assert_eq!(assert_separates(b"abc", b"abe"), b"abd");
        assert_eq!(assert_separates(b"apricot", b"banana"), b"b");
        assert_eq!(assert_separates(b"abc", b"abdxyz"), b"abd");
        assert_eq!(assert_separates(b"abc\x01zz", b"abd"), b"abc\x02");
        assert_eq!(assert_separates(b"ab\xff\xffqq", b"ac"), b"ab\xff\xffr");
        assert_eq!(assert_separates(b"ab\xff\xffq", b"ac"), b"ab\xff\xffq");
        // No shorter key fits: the last key itself.
        assert_eq!(assert_separates(b"ab", b"abc"), b"ab");
        assert_eq!(assert_separates(b"abc", b"abd"), b"abc");
        assert_eq!(assert_separates(b"a\xff\xff", b"b"), b"a\xff\xff");
        assert_eq!(assert_separates(b"", b"a"), b"");
        // One user key across two blocks.
        let (last, next) = (ik(b"same", 9), ik(b"same", 3));
        assert_eq!(separator(&last, &next), last);
    }

    #[test]
    fn successors_are_short_and_not_smaller() {
        for a in [&b"key000123"[..], b"\xff\xffa", b"\xff\xff", b"", b"z"] {
            let last = ik(a, 5);
            let s = successor(&last);
            assert_ne!(ikey::compare(&last, &s), Ordering::Greater, "{a:?}");
        }
        assert_eq!(ikey::user_key(&successor(&ik(b"key000123", 5))), b"l");
        assert_eq!(ikey::user_key(&successor(&ik(b"\xff\xff", 5))), b"\xff\xff");
    }

    /// The index-block example of `docs/format-sstable.md` section 4, byte for byte: two data
    /// blocks, the first ending in `"apricot"@8` before `"banana"@3`, the
    /// last ending in `"cherry"@9`.
    #[test]
    fn worked_index_example_in_docs_matches_the_encoder() {
        let first = separator(&ik(b"apricot", 8), &ik(b"banana", 3));
        assert_eq!(ikey::user_key(&first), b"b");
        let last = successor(&ik(b"cherry", 9));
        let mut index = crate::table::block::BlockBuilder::new(1);
        index.add(&first, &[0x00, 0x2c]);
        index.add(&last, &[0x2c, 0x1e]);
        let sealed = index.finish();
        let max_trailer = [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        let mut expected = vec![0x00, 0x09, 0x02, b'b'];
        expected.extend_from_slice(&max_trailer);
        expected.extend_from_slice(&[0x00, 0x2c, 0x00, 0x09, 0x02, b'd']);
        expected.extend_from_slice(&max_trailer);
        expected.extend_from_slice(&[0x2c, 0x1e]);
        expected.extend_from_slice(&[0, 0, 0, 0, 0x0e, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(&sealed[..sealed.len() - 4], &expected[..]);
    }
}
