//! Seeds for randomized tests: every randomized test takes its seed from
//! `KV_SEED` (or draws a fresh one), prints it when it fails, and replays
//! exactly from it.

use std::time::{SystemTime, UNIX_EPOCH};

/// Name of the environment variable that fixes the seed.
pub const SEED_ENV: &str = "KV_SEED";

/// The seed for a randomized test: `KV_SEED` if set (decimal or `0x` hex),
/// else a fresh one from the clock.
pub fn seed_from_env() -> u64 {
    if let Ok(text) = std::env::var(SEED_ENV) {
        let text = text.trim();
        let parsed = match text.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => text.parse(),
        };
        match parsed {
            Ok(seed) => return seed,
            Err(_) => panic!("{SEED_ENV}={text:?} is not a number"),
        }
    }
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // Mix so that seeds of tests started together differ in many bits.
    nanos.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(std::process::id())
}

/// Prints the seed if the test panics while this guard is alive, so a
/// failure can be replayed with `KV_SEED=<seed> cargo test <name>`.
#[derive(Debug)]
pub struct SeedGuard {
    test: String,
    seed: u64,
}

impl SeedGuard {
    /// Takes the seed for `test` (see [`seed_from_env`]) and guards it.
    pub fn new(test: impl Into<String>) -> Self {
        Self {
            test: test.into(),
            seed: seed_from_env(),
        }
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

impl Drop for SeedGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "test {} failed with {SEED_ENV}={} (rerun with {SEED_ENV}={} to replay)",
                self.test, self.seed, self.seed
            );
        }
    }
}
