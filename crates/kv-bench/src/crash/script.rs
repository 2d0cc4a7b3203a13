//! The writes of one crash round, derived from `(seed, round, index)` only,
//! so the parent can replay what the child acknowledged without being told
//! the data, and every engine gets the same writes.

use std::collections::BTreeMap;

use kv_core::{Result, Store, WriteBatch};

use crate::workload::keys::splitmix64;

/// The contents of a store as the checker models it.
pub type Contents = BTreeMap<Vec<u8>, Vec<u8>>;

/// Most operations in one batch of the script.
pub const MAX_BATCH: u64 = 8;

/// One acknowledged unit of the script: a put, a delete or a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrashOp {
    /// Set a key.
    Put(Vec<u8>, Vec<u8>),
    /// Remove a key.
    Delete(Vec<u8>),
    /// Several puts (`Some`) and deletes (`None`), all or nothing.
    Batch(Vec<(Vec<u8>, Option<Vec<u8>>)>),
}

/// What defines the writes of a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Script {
    /// The run's seed.
    pub seed: u64,
    /// The round number.
    pub round: u64,
    /// Keys are drawn from `0..key_space` (small, so writes overwrite and
    /// delete each other's keys).
    pub key_space: u64,
}

impl Script {
    fn draw(&self, index: u64, salt: u64) -> u64 {
        splitmix64(
            self.seed
                ^ splitmix64(self.round.wrapping_mul(0x1000_0000_01b3) ^ splitmix64(index))
                ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        )
    }

    fn key(&self, index: u64, salt: u64) -> Vec<u8> {
        format!("key-{:05}", self.draw(index, salt) % self.key_space.max(1)).into_bytes()
    }

    /// A value naming its round, write and slot, 1 to 300 bytes long.
    fn value(&self, index: u64, slot: u64) -> Vec<u8> {
        let len = 1 + (self.draw(index, 1000 + slot) % 300) as usize;
        let tag = format!("r{}-w{index}-s{slot}-", self.round);
        let mut value: Vec<u8> = tag.into_bytes();
        let fill = b'a' + (self.draw(index, 2000 + slot) % 26) as u8;
        value.resize(len.max(value.len()), fill);
        value
    }

    /// Write number `index` of the round: 60% puts, 20% deletes, 20%
    /// batches of 2 to [`MAX_BATCH`] operations.
    pub fn op(&self, index: u64) -> CrashOp {
        match self.draw(index, 0) % 10 {
            0..=5 => CrashOp::Put(self.key(index, 1), self.value(index, 0)),
            6 | 7 => CrashOp::Delete(self.key(index, 1)),
            _ => {
                let n = 2 + self.draw(index, 2) % (MAX_BATCH - 1);
                let ops = (0..n)
                    .map(|slot| {
                        let key = self.key(index, 10 + slot);
                        let put = !self.draw(index, 100 + slot).is_multiple_of(4);
                        (key, put.then(|| self.value(index, slot)))
                    })
                    .collect();
                CrashOp::Batch(ops)
            }
        }
    }
}

impl CrashOp {
    /// Applies the write to the model.
    pub fn apply_to(&self, model: &mut Contents) {
        match self {
            Self::Put(key, value) => {
                model.insert(key.clone(), value.clone());
            }
            Self::Delete(key) => {
                model.remove(key);
            }
            Self::Batch(ops) => {
                for (key, value) in ops {
                    match value {
                        Some(value) => model.insert(key.clone(), value.clone()),
                        None => model.remove(key),
                    };
                }
            }
        }
    }

    /// Applies the write to a store; it is acknowledged when this returns
    /// `Ok`.
    ///
    /// # Errors
    /// The store's.
    pub fn apply_to_store(&self, store: &dyn Store) -> Result<()> {
        match self {
            Self::Put(key, value) => store.put(key, value),
            Self::Delete(key) => store.delete(key),
            Self::Batch(ops) => {
                let mut batch = WriteBatch::new();
                for (key, value) in ops {
                    match value {
                        Some(value) => batch.put(key.clone(), value.clone()),
                        None => batch.delete(key.clone()),
                    };
                }
                store.write(&batch)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_is_a_function_of_seed_round_and_index() {
        let a = Script {
            seed: 7,
            round: 3,
            key_space: 64,
        };
        assert_eq!(a.op(5), a.op(5));
        let other_round = Script { round: 4, ..a };
        let differs = (0..20).any(|i| a.op(i) != other_round.op(i));
        assert!(differs);
        let kinds: Vec<u8> = (0..200)
            .map(|i| match a.op(i) {
                CrashOp::Put(..) => 0,
                CrashOp::Delete(_) => 1,
                CrashOp::Batch(ops) => {
                    assert!((2..=MAX_BATCH as usize).contains(&ops.len()));
                    2
                }
            })
            .collect();
        for kind in 0..3 {
            assert!(kinds.contains(&kind), "kind {kind} never drawn");
        }
    }
}
