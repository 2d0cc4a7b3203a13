//! Size limits, checked at the API boundary before anything is written.
//!
//! Engines call [`check_put`], [`check_key`] and [`check_batch`] first thing in
//! `put`, `delete` and `write`, so an oversized request fails with
//! [`Error::TooLarge`] and leaves no trace on disk.

use crate::batch::{BatchOp, WriteBatch};
use crate::error::{Error, Result};

/// Largest key, in bytes (4 KiB). The empty key is a valid key.
pub const MAX_KEY_BYTES: usize = 4 * 1024;

/// Largest value, in bytes (16 MiB). The empty value is a valid value.
pub const MAX_VALUE_BYTES: usize = 16 * 1024 * 1024;

/// Largest write batch, in bytes of keys plus values (64 MiB).
pub const MAX_BATCH_BYTES: usize = 64 * 1024 * 1024;

/// Largest number of operations in one write batch.
pub const MAX_BATCH_OPS: usize = 1 << 20;

/// Checks a key against [`MAX_KEY_BYTES`].
pub fn check_key(key: &[u8]) -> Result<()> {
    if key.len() > MAX_KEY_BYTES {
        return Err(Error::TooLarge {
            what: "key",
            limit: MAX_KEY_BYTES,
            got: key.len(),
        });
    }
    Ok(())
}

/// Checks a value against [`MAX_VALUE_BYTES`].
pub fn check_value(value: &[u8]) -> Result<()> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(Error::TooLarge {
            what: "value",
            limit: MAX_VALUE_BYTES,
            got: value.len(),
        });
    }
    Ok(())
}

/// Checks a key and a value.
pub fn check_put(key: &[u8], value: &[u8]) -> Result<()> {
    check_key(key)?;
    check_value(value)
}

/// Checks every operation of a batch, then the batch as a whole.
pub fn check_batch(batch: &WriteBatch) -> Result<()> {
    if batch.len() > MAX_BATCH_OPS {
        return Err(Error::TooLarge {
            what: "batch (operations)",
            limit: MAX_BATCH_OPS,
            got: batch.len(),
        });
    }
    for op in batch.ops() {
        match op {
            BatchOp::Put { key, value } => check_put(key, value)?,
            BatchOp::Delete { key } => check_key(key)?,
        }
    }
    if batch.payload_bytes() > MAX_BATCH_BYTES {
        return Err(Error::TooLarge {
            what: "batch",
            limit: MAX_BATCH_BYTES,
            got: batch.payload_bytes(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_inclusive() {
        assert!(check_key(&vec![0; MAX_KEY_BYTES]).is_ok());
        assert!(check_key(&[]).is_ok());
        assert!(matches!(
            check_key(&vec![0; MAX_KEY_BYTES + 1]),
            Err(Error::TooLarge { what: "key", .. })
        ));
        assert!(check_value(&vec![0; MAX_VALUE_BYTES]).is_ok());
        assert!(matches!(
            check_value(&vec![0; MAX_VALUE_BYTES + 1]),
            Err(Error::TooLarge { what: "value", .. })
        ));
    }

    #[test]
    fn batch_checks_each_op() {
        let mut b = WriteBatch::new();
        b.put(b"k", b"v");
        b.delete(vec![0; MAX_KEY_BYTES + 1]);
        assert!(matches!(
            check_batch(&b),
            Err(Error::TooLarge { what: "key", .. })
        ));
    }
}
