//! `kv repl` with a script on standard input: every failed line is reported
//! with its number (`error: line N: ...`), the rest of the script still
//! runs, and `kv` exits non-zero with the first failure's exit code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{kv, kv_in, ok, stderr, stdout};

#[test]
fn a_script_with_a_bad_line_names_it_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let script = b"# set up\nput a 1\n\nputt b 2\nput c \"3\nget a\n";
    let out = kv_in(d, &["repl"], script);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(stdout(&out), "1\n");
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(
        lines[0].starts_with("error: line 4: unknown command 'putt'"),
        "{err}"
    );
    assert!(lines[1].starts_with("error: line 5: "), "{err}");
    assert_eq!(
        lines[2],
        "kv: the script had 2 failed lines (the first: line 4)"
    );
    // The good lines ran.
    assert_eq!(ok(kv(d, &["get", "a"])), "1\n");
}

#[test]
fn a_script_whose_first_failure_is_a_missing_key_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = kv_in(dir.path(), &["repl"], b"put a 1\nget nope\nbogus\n");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).starts_with("error: line 2: not found: nope\n"));
}

#[test]
fn a_clean_script_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let out = kv_in(dir.path(), &["repl"], b"put a 1\nget a\nquit\n");
    assert_eq!(ok(out), "1\n");
}
