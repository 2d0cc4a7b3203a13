//! `kv stress-writes` (hidden): the writer side of the process-kill test.
//!
//! Puts keys `0..count` one at a time and prints `ok <i>` after each put
//! returned `Ok`, flushing at once, so the parent knows exactly which writes
//! were acknowledged when it kills the process with SIGKILL. The keys and
//! values are a pure function of `i` ([`stress_key`], [`stress_value`]) so the
//! test can verify what it finds after reopening.

use std::io::Write;

use kv_core::Store;

use super::error::CliError;

/// The key of the `i`-th stress write: `stress-` and `i` in 10 zero-padded
/// digits, so key order is write order.
pub fn stress_key(i: u64) -> Vec<u8> {
    format!("stress-{i:010}").into_bytes()
}

/// The value of the `i`-th stress write: 1 to 400 bytes that name `i`, so a
/// value written for another key, or cut short, is told apart.
pub fn stress_value(i: u64) -> Vec<u8> {
    let len = 1 + (i.wrapping_mul(7919) % 400) as usize;
    let pattern = format!("value-{i};");
    pattern.bytes().cycle().take(len).collect()
}

/// Puts keys `0..count`, writing `ok <i>` after each acknowledged put.
///
/// # Errors
/// The store's, or the output's (a closed pipe included).
pub fn stress_writes(store: &dyn Store, count: u64, out: &mut dyn Write) -> Result<(), CliError> {
    for i in 0..count {
        store.put(&stress_key(i), &stress_value(i))?;
        writeln!(out, "ok {i}")?;
        out.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kv_core::testkit::MemStore;
    use kv_core::StoreExt;

    #[test]
    fn keys_sort_in_write_order_and_values_differ() {
        assert!(stress_key(9) < stress_key(10));
        assert!(stress_key(99_999) < stress_key(100_000));
        assert_ne!(stress_value(1), stress_value(2));
        assert!((0..1000).all(|i| (1..=400).contains(&stress_value(i).len())));
    }

    #[test]
    fn writes_and_acknowledges_every_key() {
        let store = MemStore::new();
        let mut out = Vec::new();
        stress_writes(&store, 5, &mut out).unwrap();
        assert_eq!(out, b"ok 0\nok 1\nok 2\nok 3\nok 4\n");
        let all = store.scan_all().unwrap();
        assert_eq!(all.len(), 5);
        assert_eq!(all[3], (stress_key(3), stress_value(3)));
    }
}
