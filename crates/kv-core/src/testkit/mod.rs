//! Test support for engines (feature `testkit`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
