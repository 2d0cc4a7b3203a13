#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Bad input to `kv-bench` gets an error message and a non-zero exit status,
//! never a panic or a backtrace.

use std::process::{Command, Output};

fn kv_bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kv-bench"))
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("kv-bench runs")
}

fn assert_clean_failure(args: &[&str], out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(stderr.contains("error"), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert!(!stderr.contains("stack backtrace"), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    stderr
}

#[test]
fn unknown_engine_is_one_line_listing_the_engines() {
    let args = ["--engines", "memory,nosuch", "--no-report"];
    let out = kv_bench(&args);
    let stderr = assert_clean_failure(&args, &out);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("'nosuch'"), "{stderr}");
    for engine in kv_bench::registry::engines() {
        assert!(
            stderr.contains(engine.name),
            "{stderr} does not list {}",
            engine.name
        );
    }
}

#[test]
fn bad_option_values_are_one_line_and_rejected_before_anything_runs() {
    let cases: [&[&str]; 11] = [
        &["--num", "0"],
        &["--num", "lots"],
        &["--key-size", "4"],
        &["--value-size", "-1"],
        &["--batch", "0"],
        &["--threads", "0"],
        &["--sync", "sometimes"],
        &["--workloads", "fillseq,nosuch"],
        &["--duration", "-3"],
        &["--seed", "x"],
        &["--no-such-option"],
    ];
    for args in cases {
        let out = kv_bench(args);
        let stderr = assert_clean_failure(args, &out);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    }
}

#[test]
fn settings_reject_unknown_engines_through_the_library_too() {
    use clap::Parser;
    let cli = kv_bench::cli::Cli::try_parse_from(["kv-bench", "--engines", "nosuch"]).unwrap();
    let err = cli.run.settings().unwrap_err();
    assert!(matches!(err, kv_core::Error::InvalidArgument(_)), "{err}");
    let cli = kv_bench::cli::Cli::try_parse_from(["kv-bench"]).unwrap();
    let settings = cli.run.settings().unwrap();
    assert!(settings.engines.iter().any(|e| e == "null"));
    assert!(!settings.engines.iter().any(|e| e == "memory"));
    assert_eq!(settings.config.num, kv_bench::workload::DEFAULT_NUM);
    assert_eq!(settings.config.num, 50_000);
}

#[test]
fn list_names_every_engine_and_workload() {
    let out = kv_bench(&["list"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    for w in kv_bench::workload::ALL {
        assert!(stdout.contains(w.name()), "{stdout}");
    }
}
