//! [`Seps`]: the separators of a branch a write transaction edits, with
//! the search table and the size its edits keep up to date.
//!
//! A batch of random puts descends through the same few hundred owned
//! branches a thousand times, and every visit searches the separators and
//! asks whether the branch still fits in a page. Searching a `Vec<Bytes>`
//! loads a heap pointer per probe and then the key it points at (two cache
//! misses a probe in branches that left the CPU's caches), and summing the
//! separator sizes walks them all. So the separators keep, beside the keys:
//!
//! - each key's [`key_prefix`] in one contiguous table, searched first (the
//!   prefixes of a branch of 160 separators fill 20 cache lines, and a
//!   search reads about 8 of them); whole keys are compared only where a
//!   prefix equals the searched key's, as in a view (`layout`);
//! - their encoded bytes ([`key_bytes`] summed), so a branch's body size is
//!   a sum of three numbers.
//!
//! Every edit goes through the methods below, which keep both in step with
//! the keys; reading goes through `Deref` to the keys as a slice.

use std::ops::{Deref, Range};

use super::view::key_prefix;
use super::{key_bytes, Bytes};

/// A branch's separators, ascending (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seps {
    keys: Vec<Bytes>,
    /// `key_prefix(keys[i])` at `i`.
    prefixes: Vec<u64>,
    /// `key_bytes` of every key, summed.
    bytes: usize,
}

impl Seps {
    /// No separators, with room for `n`.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            keys: Vec::with_capacity(n),
            prefixes: Vec::with_capacity(n),
            bytes: 0,
        }
    }

    /// Encoded bytes of every separator (length varints included).
    pub fn encoded_bytes(&self) -> usize {
        self.bytes
    }

    /// The keys, without the table.
    pub fn into_vec(self) -> Vec<Bytes> {
        self.keys
    }

    /// The prefix table: [`key_prefix`] of each separator.
    pub fn prefixes(&self) -> &[u64] {
        &self.prefixes
    }

    /// Appends `key` (which must sort after every separator).
    pub fn push(&mut self, key: Bytes) {
        self.insert(self.keys.len(), key);
    }

    /// Inserts `key` at `i` (where it sorts).
    pub fn insert(&mut self, i: usize, key: Bytes) {
        self.bytes += key_bytes(&key);
        self.prefixes.insert(i, key_prefix(&key));
        self.keys.insert(i, key);
    }

    /// Replaces the separators in `range` with `with` (which must sort
    /// where they were).
    pub fn splice(&mut self, range: Range<usize>, with: impl IntoIterator<Item = Bytes>) {
        let with: Vec<Bytes> = with.into_iter().collect();
        let removed = self.keys.get(range.clone()).unwrap_or_default();
        self.bytes -= removed.iter().map(|k| key_bytes(k)).sum::<usize>();
        self.bytes += with.iter().map(|k| key_bytes(k)).sum::<usize>();
        self.prefixes
            .splice(range.clone(), with.iter().map(|k| key_prefix(k)));
        self.keys.splice(range, with);
    }

    /// The child of the branch that holds `key`: the number of separators
    /// at or below it (child `i` holds the keys `k` with
    /// `sep[i-1] <= k < sep[i]`).
    pub fn child_index(&self, key: &[u8]) -> usize {
        let prefix = key_prefix(key);
        let from = self.prefixes.partition_point(|&p| p < prefix);
        let tied = self
            .prefixes
            .get(from..)
            .unwrap_or_default()
            .partition_point(|&p| p == prefix);
        let run = self.keys.get(from..from + tied).unwrap_or_default();
        from + run.partition_point(|k| k[..] <= *key)
    }
}

impl Deref for Seps {
    type Target = [Bytes];

    fn deref(&self) -> &[Bytes] {
        &self.keys
    }
}

impl Extend<Bytes> for Seps {
    fn extend<I: IntoIterator<Item = Bytes>>(&mut self, keys: I) {
        for key in keys {
            self.push(key);
        }
    }
}

impl FromIterator<Bytes> for Seps {
    fn from_iter<I: IntoIterator<Item = Bytes>>(keys: I) -> Self {
        let mut seps = Self::default();
        seps.extend(keys);
        seps
    }
}

impl From<Vec<Bytes>> for Seps {
    fn from(keys: Vec<Bytes>) -> Self {
        Self {
            prefixes: keys.iter().map(|k| key_prefix(k)).collect(),
            bytes: keys.iter().map(|k| key_bytes(k)).sum(),
            keys,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seps(keys: &[&[u8]]) -> Seps {
        keys.iter().map(|k| Bytes::copy_from_slice(k)).collect()
    }

    fn expected(s: &Seps) -> (Vec<u64>, usize) {
        (
            s.iter().map(|k| key_prefix(k)).collect(),
            s.iter().map(|k| key_bytes(k)).sum(),
        )
    }

    #[test]
    fn every_edit_keeps_prefixes_and_bytes_in_step_with_the_keys() {
        let mut s = seps(&[b"b", b"dddddddddd1", b"dddddddddd3", b"f"]);
        assert_eq!((s.prefixes().to_vec(), s.encoded_bytes()), expected(&s));
        s.insert(0, Bytes::from_static(b"a"));
        s.push(Bytes::from_static(b"zzzzzzzzzzzzzzzzzzzz"));
        s.splice(2..4, [Bytes::from_static(b"c"), Bytes::from_static(b"e")]);
        s.extend([Bytes::from_static(b"zzzzzzzzzzzzzzzzzzzzz")]);
        assert_eq!((s.prefixes().to_vec(), s.encoded_bytes()), expected(&s));
        let keys: Vec<&[u8]> = s.iter().map(|k| &k[..]).collect();
        assert_eq!(
            keys,
            [
                &b"a"[..],
                b"b",
                b"c",
                b"e",
                b"f",
                b"zzzzzzzzzzzzzzzzzzzz",
                b"zzzzzzzzzzzzzzzzzzzzz"
            ]
        );
        assert_eq!(Seps::from(s.to_vec()), s);
    }

    #[test]
    fn child_index_is_the_count_of_separators_at_or_below_the_key() {
        // Separators that share their first eight bytes (equal prefixes),
        // shorter ones, and probes at, between and around each.
        let s = seps(&[
            b"",
            b"abc",
            b"abcdefgh",
            b"abcdefgh0",
            b"abcdefgh5",
            b"abcdefgh55",
            b"abcdefgi",
            b"b",
        ]);
        let probes: [&[u8]; 14] = [
            b"",
            b"\0",
            b"ab",
            b"abc",
            b"abc\0",
            b"abcdefgh",
            b"abcdefgh\0",
            b"abcdefgh0",
            b"abcdefgh4",
            b"abcdefgh5",
            b"abcdefgh56",
            b"abcdefgi",
            b"b",
            b"c",
        ];
        for probe in probes {
            let want = s.partition_point(|k| k[..] <= *probe);
            assert_eq!(s.child_index(probe), want, "{probe:?}");
        }
    }

    #[test]
    fn random_edits_leave_the_table_as_a_rebuild_from_the_keys_would() {
        use rand::{RngExt, SeedableRng};
        let guard = kv_core::testkit::SeedGuard::new(
            "random_edits_leave_the_table_as_a_rebuild_from_the_keys_would",
        );
        let mut rng = rand::rngs::StdRng::seed_from_u64(guard.seed());
        let key = |rng: &mut rand::rngs::StdRng| {
            let len = rng.random_range(0..12usize);
            Bytes::from(
                (0..len)
                    .map(|_| rng.random_range(b'a'..b'd'))
                    .collect::<Vec<u8>>(),
            )
        };
        let mut s = Seps::default();
        for _ in 0..400 {
            let len = s.len();
            match rng.random_range(0..4u8) {
                0 => s.push(key(&mut rng)),
                1 => s.insert(rng.random_range(0..=len), key(&mut rng)),
                2 if len > 0 => {
                    // A merge's splice: more separators out than in.
                    let from = rng.random_range(0..len);
                    let to = rng.random_range(from..=len);
                    let with: Vec<Bytes> =
                        (0..rng.random_range(0..3)).map(|_| key(&mut rng)).collect();
                    s.splice(from..to, with);
                }
                _ => s.extend((0..rng.random_range(0..3)).map(|_| key(&mut rng))),
            }
            assert_eq!(s, Seps::from(s.to_vec()));
        }
    }
}
