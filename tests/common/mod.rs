//! Helpers shared by the end-to-end tests of the `kv` binary: running it,
//! checking its one-line errors, snapshotting a directory, and holding a
//! store's lock from another process ([`LockHolder`]).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Output, Stdio};

/// The engine the tests name with `--engine`.
pub const ENGINE: &str = "bitcask";

/// Runs `kv` with `args` as given, feeding `stdin`.
pub fn kv_raw(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kv"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The child may exit without reading (e.g. on a usage error).
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

/// Runs `kv --engine bitcask --path DIR args...`.
pub fn kv_in(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut full = vec!["--engine", ENGINE, "--path", dir.to_str().unwrap()];
    full.extend_from_slice(args);
    kv_raw(&full, stdin)
}

/// Runs `kv --engine bitcask --path DIR args...` with no input.
pub fn kv(dir: &Path, args: &[&str]) -> Output {
    kv_in(dir, args, b"")
}

/// Runs `kv --path DIR args...` without `--engine`.
pub fn kv_any(dir: &Path, args: &[&str]) -> Output {
    let mut full = vec!["--path", dir.to_str().unwrap()];
    full.extend_from_slice(args);
    kv_raw(&full, b"")
}

/// Standard output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// Asserts success with nothing on standard error; returns standard output.
pub fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "kv failed with {:?}: {}",
        out.status,
        stderr(&out)
    );
    assert_eq!(stderr(&out), "", "unexpected standard error");
    stdout(&out)
}

/// Asserts exit `code` with exactly one `kv: ...` line on standard error and
/// no sign of a panic; returns that line.
pub fn fails_with(out: Output, code: i32) -> String {
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(!err.contains("internal error"), "bug: {err}");
    assert!(!err.contains("RUST_BACKTRACE"), "backtrace hint: {err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    assert!(err.starts_with("kv: ") && err.ends_with('\n'), "{err:?}");
    err.trim_end().to_string()
}

/// Every file under `dir` (recursively) with its bytes; a missing `dir` is
/// the empty map. Two equal snapshots mean nothing was created, removed or
/// changed.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    if dir.exists() {
        add_files(dir, dir, &mut files);
    }
    files
}

fn add_files(root: &Path, dir: &Path, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.strip_prefix(root).unwrap().to_path_buf();
        if path.is_dir() {
            files.insert(name.join(""), Vec::new());
            add_files(root, &path, files);
        } else {
            files.insert(name, std::fs::read(&path).unwrap());
        }
    }
}

/// The names in `snapshot`, for assertion messages.
pub fn names(snapshot: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<String> {
    snapshot.keys().map(|p| p.display().to_string()).collect()
}

/// Holds the store in `dir` open, and so its lock, in a `kv repl` child
/// process: the test process itself never holds a lock descriptor, so no
/// child that another test thread forks can inherit it and keep the lock
/// after [`LockHolder::release`] (see `tests/cli_lock_release.rs`).
pub struct LockHolder {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl LockHolder {
    /// Starts `kv repl` on `dir`, which must hold `key`, and returns once the
    /// session has read `key` back: the store is open and locked then.
    pub fn start(dir: &Path, key: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kv"))
            .args(["--engine", ENGINE, "--path", dir.to_str().unwrap(), "repl"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        let mut output = BufReader::new(child.stdout.take().unwrap());
        writeln!(input, "get {key}").unwrap();
        input.flush().unwrap();
        let mut line = String::new();
        output.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "the lock holder exited early");
        Self {
            child,
            input,
            output,
        }
    }

    /// Ends the session with `quit` (not by closing its input: a child forked
    /// meanwhile may hold a copy of the pipe) and waits for the process to
    /// exit: its lock is released then.
    pub fn release(mut self) {
        writeln!(self.input, "quit").unwrap();
        self.input.flush().unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "lock holder: {status:?}");
    }
}
