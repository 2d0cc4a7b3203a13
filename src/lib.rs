//! # kvlab
//!
//! Embeddable key-value storage engines behind one trait
//! ([`kv_core::Store`]), a conformance suite every engine passes, and a
//! benchmark harness (`kv-bench`). This root package holds the `kv` command
//! line, built from the [`cli`] module:
//!
//! ```text
//! kv --path /tmp/db put hello world      # default engine: bitcask
//! kv --path /tmp/db get hello            # prints "world"; exit 1 if missing
//! kv --path /tmp/db scan --prefix he --limit 10 --reverse
//! kv --path /tmp/db --hex put 00ff 0102  # binary keys and values as hex
//! kv engines                             # every engine in this build
//! ```
//!
//! The same commands run in-process, over any engine of the registry:
//!
//! ```
//! use clap::Parser;
//! use kvlab::cli::{run, Cli, Streams};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().to_str().unwrap_or_default();
//! let cli = Cli::try_parse_from(["kv", "--engine", "memory", "--path", path, "repl"])?;
//! let (mut input, mut out, mut err) = (&b"put k v\nget k\n"[..], Vec::new(), Vec::new());
//! run(&cli, Streams { stdin: &mut input, stdin_is_terminal: false, stdout: &mut out, stderr: &mut err })?;
//! assert_eq!(out, b"v\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod cli;
