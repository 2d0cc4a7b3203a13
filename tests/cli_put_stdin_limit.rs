//! `kv put KEY -` reads at most the value limit plus one byte from standard
//! input before it refuses: `yes | kv put k -` exits 3 with bounded memory
//! instead of reading forever (an endless input once grew to 6 GB).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{fails_with, ENGINE};
use kv_core::limits::MAX_VALUE_BYTES;

/// What the test offers: four times the limit. A `kv` that read it all would
/// take it all; one that stops at the limit closes the pipe long before.
const OFFERED_BYTES: usize = 4 * MAX_VALUE_BYTES;

fn yes_into_put(extra: &[&str], key: &str) -> (std::process::Output, usize) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kv"))
        .args(["--engine", ENGINE, "--path", store.to_str().unwrap()])
        .args(extra)
        .args(["put", key, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = b"y\n".repeat(32 * 1024);
        let mut written = 0;
        while written < OFFERED_BYTES {
            match stdin.write(&chunk) {
                Ok(n) => written += n,
                Err(e) => {
                    assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
                    break;
                }
            }
        }
        written
    });
    let out = child.wait_with_output().unwrap();
    let written = writer.join().unwrap();
    assert!(!store.exists(), "a refused put created the store");
    (out, written)
}

#[test]
fn endless_stdin_is_refused_after_the_limit_with_exit_3() {
    let (out, written) = yes_into_put(&[], "k");
    let line = fails_with(out, 3);
    assert!(line.contains("over the limit"), "{line}");
    assert!(
        written < 2 * MAX_VALUE_BYTES,
        "kv read {written} bytes of an endless input before refusing"
    );
}

#[test]
fn endless_hex_stdin_is_refused_too() {
    let (out, _) = yes_into_put(&["--hex"], "6b");
    // `y` is not hex, but the limit is checked before decoding.
    let line = fails_with(out, 3);
    assert!(line.contains("over the limit"), "{line}");
}
