//! [`LiveSet`]: which key indices are live in the store under test.
//!
//! The harness needs the live logical size (for space amplification) and
//! whether every key of the load is present (to know if read workloads can
//! run), without keeping a copy of the data: one bit per key index, updated
//! with atomic operations so writer threads can share it. 200,000 keys cost
//! 25 KB.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A fixed-capacity concurrent bitset over key indices with a live count.
#[derive(Debug)]
pub struct LiveSet {
    words: Vec<AtomicU64>,
    capacity: u64,
    count: AtomicU64,
}

impl LiveSet {
    /// An empty set for indices `0..capacity`.
    pub fn new(capacity: u64) -> Self {
        let words = capacity.div_ceil(64) as usize;
        Self {
            words: (0..words).map(|_| AtomicU64::new(0)).collect(),
            capacity,
            count: AtomicU64::new(0),
        }
    }

    #[inline]
    fn word(&self, index: u64) -> Option<&AtomicU64> {
        if index >= self.capacity {
            return None;
        }
        self.words.get((index / 64) as usize)
    }

    /// Indices this set can hold.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Marks `index` live; true if it was not. Indices past the capacity
    /// are ignored (and reported as not newly live).
    pub fn insert(&self, index: u64) -> bool {
        let Some(word) = self.word(index) else {
            return false;
        };
        let bit = 1u64 << (index % 64);
        let newly = word.fetch_or(bit, Relaxed) & bit == 0;
        if newly {
            self.count.fetch_add(1, Relaxed);
        }
        newly
    }

    /// [`LiveSet::insert`] for a caller that is the only thread writing to
    /// the set while it runs (readers may still call `contains`): plain
    /// loads and stores instead of atomic read-modify-writes, which cost
    /// several times more on the hot path of a single-writer workload.
    #[inline]
    pub fn insert_single_writer(&self, index: u64) -> bool {
        let Some(word) = self.word(index) else {
            return false;
        };
        let bit = 1u64 << (index % 64);
        let old = word.load(Relaxed);
        if old & bit != 0 {
            return false;
        }
        word.store(old | bit, Relaxed);
        self.count.store(self.count.load(Relaxed) + 1, Relaxed);
        true
    }

    /// [`LiveSet::remove`] for the only writing thread (see
    /// [`LiveSet::insert_single_writer`]).
    #[inline]
    pub fn remove_single_writer(&self, index: u64) -> bool {
        let Some(word) = self.word(index) else {
            return false;
        };
        let bit = 1u64 << (index % 64);
        let old = word.load(Relaxed);
        if old & bit == 0 {
            return false;
        }
        word.store(old & !bit, Relaxed);
        self.count.store(self.count.load(Relaxed) - 1, Relaxed);
        true
    }

    /// Marks `index` dead; true if it was live.
    pub fn remove(&self, index: u64) -> bool {
        let Some(word) = self.word(index) else {
            return false;
        };
        let bit = 1u64 << (index % 64);
        let was = word.fetch_and(!bit, Relaxed) & bit != 0;
        if was {
            self.count.fetch_sub(1, Relaxed);
        }
        was
    }

    /// True if `index` is live.
    pub fn contains(&self, index: u64) -> bool {
        self.word(index)
            .is_some_and(|w| w.load(Relaxed) & (1 << (index % 64)) != 0)
    }

    /// Number of live indices.
    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    /// True if every index in `0..n` is live (O(n / 64)).
    pub fn covers(&self, n: u64) -> bool {
        if n > self.capacity {
            return false;
        }
        let full_words = (n / 64) as usize;
        if !self.words[..full_words]
            .iter()
            .all(|w| w.load(Relaxed) == u64::MAX)
        {
            return false;
        }
        let rest = n % 64;
        rest == 0 || {
            let mask = (1u64 << rest) - 1;
            self.words[full_words].load(Relaxed) & mask == mask
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_follows_inserts_and_removes() {
        let live = LiveSet::new(130);
        assert!(live.insert(3));
        assert!(!live.insert(3));
        assert!(live.insert(129));
        assert!(!live.insert(130), "past capacity is ignored");
        assert_eq!(live.count(), 2);
        assert!(live.remove(3));
        assert!(!live.remove(3));
        assert_eq!(live.count(), 1);
        assert!(live.contains(129) && !live.contains(3));
    }

    #[test]
    fn single_writer_paths_agree_with_the_atomic_ones() {
        let a = LiveSet::new(100);
        let b = LiveSet::new(100);
        for (i, put) in [
            (3, true),
            (3, true),
            (70, true),
            (3, false),
            (3, false),
            (99, true),
            (100, true),
        ] {
            if put {
                assert_eq!(a.insert(i), b.insert_single_writer(i));
            } else {
                assert_eq!(a.remove(i), b.remove_single_writer(i));
            }
            assert_eq!(a.count(), b.count());
        }
        assert!(b.contains(70) && b.contains(99) && !b.contains(3));
    }

    #[test]
    fn covers_checks_every_index_below_n() {
        let live = LiveSet::new(200);
        assert!(live.covers(0));
        for i in 0..130 {
            live.insert(i);
        }
        assert!(live.covers(64) && live.covers(130));
        assert!(!live.covers(131));
        live.remove(70);
        assert!(live.covers(70) && !live.covers(71));
        assert!(!live.covers(201));
    }
}
