//! End-to-end tests of the `kv` binary over the bitcask engine in a temporary
//! directory: every command and flag, the exit codes, and the promise that
//! every error is one `kv: ...` line and never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use kv_registry::{self as registry, OpenConfig};

const ENGINE: &str = "bitcask";

/// Runs `kv` with `args` as given, feeding `stdin`.
fn kv_raw(args: &[&str], stdin: &[u8]) -> Output {
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
fn kv_in(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut full = vec!["--engine", ENGINE, "--path", dir.to_str().unwrap()];
    full.extend_from_slice(args);
    kv_raw(&full, stdin)
}

fn kv(dir: &Path, args: &[&str]) -> Output {
    kv_in(dir, args, b"")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// Asserts success with nothing on standard error; returns standard output.
fn ok(out: Output) -> String {
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
fn fails_with(out: Output, code: i32) -> String {
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(!err.contains("internal error"), "bug: {err}");
    assert!(!err.contains("RUST_BACKTRACE"), "backtrace hint: {err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    assert!(err.starts_with("kv: ") && err.ends_with('\n'), "{err:?}");
    err.trim_end().to_string()
}

fn fill(dir: &Path, keys: &[&str]) {
    for k in keys {
        ok(kv(dir, &["put", k, &format!("v-{k}")]));
    }
}

fn scan_keys(dir: &Path, args: &[&str]) -> Vec<String> {
    let mut full = vec!["scan"];
    full.extend_from_slice(args);
    ok(kv(dir, &full))
        .lines()
        .map(|l| {
            let (k, v) = l.split_once('\t').expect("KEY<TAB>VALUE");
            assert_eq!(v, format!("v-{k}"));
            k.to_string()
        })
        .collect()
}

#[test]
fn put_get_delete_round_trip_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(ok(kv(d, &["put", "greeting", "hello world"])), "");
    assert_eq!(ok(kv(d, &["get", "greeting"])), "hello world\n");
    ok(kv(d, &["put", "greeting", "again"]));
    assert_eq!(ok(kv(d, &["get", "greeting"])), "again\n");
    assert_eq!(ok(kv(d, &["delete", "greeting"])), "");
    let line = fails_with(kv(d, &["get", "greeting"]), 1);
    assert_eq!(line, "kv: not found: greeting");
    // Deleting a missing key is fine; `del` is an alias.
    ok(kv(d, &["del", "greeting"]));
    // Empty key and empty value are valid.
    ok(kv(d, &["put", "", ""]));
    assert_eq!(ok(kv(d, &["get", ""])), "\n");
}

#[test]
fn scan_honours_prefix_from_to_limit_and_reverse() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fill(d, &["c", "a", "b2", "b1", "b3"]);
    assert_eq!(scan_keys(d, &[]), ["a", "b1", "b2", "b3", "c"]);
    assert_eq!(scan_keys(d, &["--prefix", "b"]), ["b1", "b2", "b3"]);
    assert_eq!(scan_keys(d, &["--from", "b2"]), ["b2", "b3", "c"]);
    assert_eq!(scan_keys(d, &["--to", "b2"]), ["a", "b1"]);
    assert_eq!(
        scan_keys(d, &["--to", "b2", "--to-inclusive"]),
        ["a", "b1", "b2"]
    );
    assert_eq!(
        scan_keys(d, &["--from", "b1", "--to", "c"]),
        ["b1", "b2", "b3"]
    );
    assert_eq!(scan_keys(d, &["--limit", "2"]), ["a", "b1"]);
    assert_eq!(scan_keys(d, &["--reverse"]), ["c", "b3", "b2", "b1", "a"]);
    assert_eq!(
        scan_keys(d, &["--reverse", "--prefix", "b", "--limit", "2"]),
        ["b3", "b2"]
    );
    assert_eq!(
        scan_keys(d, &["--reverse", "--from", "a", "--to", "b2"]),
        ["b1", "a"]
    );
    assert!(scan_keys(d, &["--prefix", "zz"]).is_empty());
    assert!(scan_keys(d, &["--limit", "0"]).is_empty());
}

#[test]
fn hex_mode_takes_and_prints_hex() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(kv(d, &["--hex", "put", "00ff", "0102"]));
    ok(kv(d, &["--hex", "put", "0x6B31", "76"]));
    assert_eq!(ok(kv(d, &["--hex", "get", "00ff"])), "0102\n");
    assert_eq!(ok(kv(d, &["get", "k1"])), "v\n");
    assert_eq!(ok(kv(d, &["--hex", "scan"])), "00ff\t0102\n6b31\t76\n");
    assert_eq!(
        ok(kv(d, &["scan", "--hex", "--prefix", "6b"])),
        "6b31\t76\n"
    );
    assert_eq!(
        ok(kv(d, &["--hex", "scan", "--reverse", "--limit", "1"])),
        "6b31\t76\n"
    );
    let line = fails_with(kv(d, &["--hex", "get", "xyz"]), 2);
    assert!(line.contains("not valid hex"), "{line}");
    fails_with(kv(d, &["--hex", "put", "00", "abc"]), 2);
    // A usage error never opens, let alone creates, the store.
    let fresh = d.join("fresh");
    fails_with(kv(&fresh, &["--hex", "put", "zz", "00"]), 2);
    assert!(!fresh.exists());
}

#[test]
fn put_reads_the_value_from_stdin_with_dash() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(kv_in(
        d,
        &["put", "doc", "-"],
        b"line one\nline two\n\x00\xff",
    ));
    assert_eq!(
        kv(d, &["get", "doc"]).stdout,
        b"line one\nline two\n\x00\xff\n"
    );
    ok(kv_in(d, &["--hex", "put", "6b", "-"], b"dead beef\n"));
    assert_eq!(ok(kv(d, &["--hex", "get", "6b"])), "deadbeef\n");
}

#[test]
fn stats_prints_a_table_or_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fill(d, &["a", "b", "c"]);
    ok(kv(d, &["delete", "b"]));
    let table = ok(kv(d, &["stats"]));
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} row in {table}"))
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string()
    };
    assert_eq!(row("engine"), ENGINE);
    assert_eq!(row("live_keys"), "2");
    assert!(row("disk_bytes").parse::<u64>().unwrap() > 0);
    let json: serde_json::Value = serde_json::from_str(&ok(kv(d, &["stats", "--json"]))).unwrap();
    assert_eq!(json["engine"], ENGINE);
    assert_eq!(json["live_keys"], 2);
    assert!(json["io"].is_object());
}

#[test]
fn compact_and_check_keep_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fill(d, &["a", "b", "c"]);
    for _ in 0..3 {
        fill(d, &["a", "b"]);
    }
    ok(kv(d, &["delete", "c"]));
    let out = ok(kv(d, &["compact"]));
    assert!(out.starts_with("compacted: disk bytes "), "{out}");
    assert_eq!(scan_keys(d, &[]), ["a", "b"]);
    let report = ok(kv(d, &["check"]));
    assert!(report.contains("files_checked"), "{report}");
    let json: serde_json::Value = serde_json::from_str(&ok(kv(d, &["check", "--json"]))).unwrap();
    assert_eq!(json["live_keys"], 2);
}

#[test]
fn sync_manual_still_syncs_before_exit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(kv(d, &["--sync", "manual", "put", "k", "v"]));
    assert_eq!(ok(kv(d, &["--sync", "manual", "get", "k"])), "v\n");
}

#[test]
fn unknown_engine_lists_the_engines_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = kv_raw(
        &[
            "--engine",
            "nosuch",
            "--path",
            dir.path().to_str().unwrap(),
            "get",
            "k",
        ],
        b"",
    );
    let line = fails_with(out, 2);
    assert!(line.contains("unknown engine 'nosuch'"), "{line}");
    for engine in registry::engines() {
        assert!(line.contains(engine.name), "{line} lacks {}", engine.name);
    }
}

#[test]
fn engines_command_lists_every_engine() {
    let out = ok(kv_raw(&["engines"], b""));
    for engine in registry::engines() {
        assert!(
            out.lines().any(|l| l.starts_with(engine.name)),
            "{out} lacks {}",
            engine.name
        );
    }
    assert!(out.contains(ENGINE));
}

#[test]
fn bad_arguments_are_one_line_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let cases: &[&[&str]] = &[
        &[],
        &["--path", d],
        &["--path", d, "frobnicate"],
        &["--path", d, "put", "only-key"],
        &["--path", d, "get"],
        &["--path", d, "get", "a", "b"],
        &["--path", d, "--bogus", "get", "k"],
        &["--path", d, "--sync", "sometimes", "get", "k"],
        &["--path", d, "scan", "--limit", "minus-one"],
        &["--path", d, "scan", "--limit", "-1"],
        &["--path", d, "scan", "--to-inclusive"],
        &["--path", d, "stress-writes"],
        &["--path"],
        &["get", "k"],
    ];
    for args in cases {
        let line = fails_with(kv_raw(args, b""), 2);
        assert!(!line.contains("Usage:"), "{args:?}: {line}");
    }
}

#[test]
fn help_and_version_succeed_and_document_exit_codes() {
    let help = ok(kv_raw(&["--help"], b""));
    for needle in [
        "Exit codes",
        "not found",
        "usage error",
        "corruption",
        "--hex",
    ] {
        assert!(help.contains(needle), "help lacks {needle}: {help}");
    }
    assert!(ok(kv_raw(&["--version"], b"")).starts_with("kv "));
    assert!(ok(kv_raw(&["scan", "--help"], b"")).contains("--reverse"));
}

#[test]
fn path_problems_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a store").unwrap();
    let line = fails_with(kv(&file, &["put", "k", "v"]), 2);
    assert!(line.contains("is not a directory"), "{line}");
    assert_eq!(std::fs::read(&file).unwrap(), b"not a store");

    let missing = dir.path().join("missing");
    let line = fails_with(kv(&missing, &["get", "k"]), 2);
    assert!(line.contains("no store at"), "{line}");
    assert!(!missing.exists(), "a read must not create the store");
    // A write creates it.
    ok(kv(&missing, &["put", "k", "v"]));
    assert_eq!(ok(kv(&missing, &["get", "k"])), "v\n");
}

#[test]
fn a_locked_store_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(kv(d, &["put", "k", "v"]));
    let held = registry::open(ENGINE, d, &OpenConfig::default()).unwrap();
    let line = fails_with(kv(d, &["get", "k"]), 3);
    assert!(line.contains("locked"), "{line}");
    fails_with(kv(d, &["put", "k", "w"]), 3);
    drop(held);
    assert_eq!(ok(kv(d, &["get", "k"])), "v\n");
}

#[test]
fn repl_runs_piped_commands_without_prompt_noise() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let script = b"put a 1\nput \"b c\" \"two words\"\nget a\nget nope\nfrobnicate\n\
                   scan\ndel a\nscan b\nsync\nquit\nput never written\n";
    let out = kv_in(d, &["repl"], script);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "1\na\t1\nb c\ttwo words\nb c\ttwo words\n");
    let err = stderr(&out);
    assert_eq!(
        err.lines().collect::<Vec<_>>(),
        [
            "error: not found: nope",
            "error: unknown command 'frobnicate' (type `help` for the list)"
        ]
    );
    assert!(!err.contains("panicked"));
    // What the session wrote is in the store.
    assert_eq!(scan_keys_raw(d), "b c\ttwo words\n");
    fails_with(kv(d, &["get", "never"]), 1);
}

fn scan_keys_raw(dir: &Path) -> String {
    ok(kv(dir, &["scan"]))
}

#[test]
fn repl_reports_store_commands() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = kv_in(
        d,
        &["--hex", "repl"],
        b"put 6b 76\nstats\ncheck\ncompact\nhelp\n",
    );
    let text = ok(out);
    assert!(text.contains("live_keys"), "{text}");
    assert!(text.contains("files_checked"), "{text}");
    assert!(text.contains("compacted"), "{text}");
    assert!(text.contains("put KEY VALUE"), "{text}");
    assert_eq!(ok(kv(d, &["get", "k"])), "v\n");
}

#[test]
fn closed_stdout_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let keys: Vec<String> = (0..200).map(|i| format!("key{i:04}")).collect();
    let script: String = keys
        .iter()
        .map(|k| format!("put {k} {}\n", "x".repeat(500)))
        .collect();
    ok(kv_in(d, &["repl"], script.as_bytes()));
    // Close our end of the pipe at once: kv must exit quietly.
    let mut child = Command::new(env!("CARGO_BIN_EXE_kv"))
        .args(["--engine", ENGINE, "--path", d.to_str().unwrap(), "scan"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(
        !err.contains("panicked") && !err.contains("internal error"),
        "{err}"
    );
    assert!(out.status.success(), "{:?}: {err}", out.status);
}

#[test]
fn damaged_data_makes_check_exit_4() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let value = "x".repeat(200);
    for i in 0..20 {
        ok(kv(d, &["put", &format!("key{i:02}"), &value]));
    }
    ok(kv(d, &["check"]));
    // The largest file holds the values; flip a byte of its first record
    // (just past the 16-byte file header), with valid records after it.
    let largest = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let mut bytes = std::fs::read(&largest).unwrap();
    assert!(
        bytes.len() > 20 * 200,
        "{} is not the data",
        largest.display()
    );
    bytes[16 + 30] ^= 0x40;
    std::fs::write(&largest, &bytes).unwrap();
    let line = fails_with(kv(d, &["check"]), 4);
    assert!(line.contains("corruption"), "{line}");
}
