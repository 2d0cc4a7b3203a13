//! The `kv` command line, as a library so that every piece is testable:
//! [`args`] (the grammar), [`run`] (open the store, dispatch, sync),
//! [`backend`] (which engine a directory holds, and opening it: the one
//! module that uses the engine registry), [`commands`], [`salvage`],
//! [`repl`] and its [`lines`], [`encoding`] (text or hex), [`output`]
//! (tables and JSON) and [`error`] (one-line messages and exit codes).
//!
//! # A read never writes
//!
//! `get`, `scan` and `stats` open the store read-only, `check` and the
//! source of `salvage` in verify mode: no file is created or changed, and
//! a directory that holds no store is an error (exit 2) that creates
//! nothing. `delete` and `compact` write but need an existing store.
//!
//! # Exit codes
//!
//! 0 success; 1 not found; 2 usage error; 3 store error; 4 corruption
//! (see [`args::EXIT_CODES_HELP`]). A bug that panics exits 101 after one
//! `kv: internal error ...` line ([`install_panic_hook`]).
//!
//! # Durability
//!
//! `--sync always` (the default) syncs every write before it is
//! acknowledged; with either policy, every command that may write calls
//! [`kv_core::Store::sync`] before it returns, so a `kv put` that exited 0
//! is durable.

pub mod args;
pub mod backend;
pub mod commands;
pub mod encoding;
pub mod error;
pub mod lines;
pub mod output;
pub mod repl;
pub mod salvage;
pub mod stress;
pub mod tokens;

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use kv_core::limits::MAX_VALUE_BYTES;
use kv_core::Store;

pub use args::{Cli, Command, ScanArgs, SyncArg};
pub use backend::Access;
pub use encoding::Codec;
pub use error::CliError;

use commands::ScanSpec;
use error::one_line;
use lines::{LineSource, StreamLines, TerminalLines};
use repl::{run_repl, ReplIo};

/// Most bytes `kv --hex put KEY -` reads from standard input: hex text of a
/// value at the limit, with room for whitespace between the digit pairs.
pub const MAX_HEX_INPUT_BYTES: usize = 3 * MAX_VALUE_BYTES + 2;

/// The standard streams, passed in so tests can run commands in memory.
pub struct Streams<'a> {
    /// Standard input (`put KEY -` and `repl` read it).
    pub stdin: &'a mut dyn BufRead,
    /// True when standard input is a terminal (the REPL prompts then).
    pub stdin_is_terminal: bool,
    /// Standard output.
    pub stdout: &'a mut dyn Write,
    /// Standard error (the REPL's per-command error lines).
    pub stderr: &'a mut dyn Write,
}

/// Runs one parsed `kv` invocation: opens the store, runs the command, and
/// syncs the store before returning when the command may have written.
///
/// # Errors
/// A [`CliError`] whose message is one line and whose
/// [`CliError::exit_code`] is the process exit code.
pub fn run(cli: &Cli, io: Streams<'_>) -> Result<(), CliError> {
    let codec = Codec::from_hex_flag(cli.hex);
    // Decode every argument first: a usage error never opens (or creates)
    // the store.
    let action = match decode_action(&cli.command, codec, &mut *io.stdin)? {
        Some(action) => action,
        None => {
            write_engines(io.stdout)?;
            io.stdout.flush()?;
            return Ok(());
        }
    };
    let path = store_path(cli)?;
    let opened = backend::open(
        cli.engine.as_deref(),
        path,
        cli.sync.into(),
        action.access(),
    )
    .map_err(|e| e.at(path))?;
    let store = &*opened.store;
    let result = match &action {
        Action::Salvage { to } => run_salvage(store, opened.engine, to, io.stdout),
        _ => execute(store, &action, codec, io),
    };
    let result = result.map_err(|e| e.at(path));
    if action.access() == Access::Write || action.access() == Access::WriteExisting {
        // Sync even after a failure: what was acknowledged must be durable.
        // `close` reports a failed final flush that a drop would hide.
        let closed = opened
            .store
            .sync()
            .and_then(|()| opened.store.close())
            .map_err(|e| CliError::store_at(path, e));
        result.and(closed)
    } else {
        result
    }
}

/// `--path`, which every command but `engines` needs.
fn store_path(cli: &Cli) -> Result<&Path, CliError> {
    cli.path.as_deref().ok_or_else(|| {
        CliError::Usage(
            "--path DIR is required: the store's directory (`kv --path DIR ...`)".into(),
        )
    })
}

/// `salvage --to`: checks that `to` may take a new store (missing or empty,
/// so never the source), creates it with the source's engine, copies,
/// reports.
fn run_salvage(
    source: &dyn Store,
    engine: &str,
    to: &Path,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    if !backend::is_missing_or_empty(to)? {
        return Err(CliError::Usage(format!(
            "--to {} is not empty: salvage writes a new store into a missing or empty directory",
            to.display()
        )));
    }
    let target = backend::open(Some(engine), to, kv_core::SyncPolicy::Manual, Access::Write)
        .map_err(|e| e.at(to))?;
    let report = salvage::salvage(source, &*target.store).map_err(|e| e.at(to))?;
    target
        .store
        .close()
        .map_err(|e| CliError::store_at(to, e))?;
    salvage::write_report(out, &report, to)?;
    out.flush()?;
    Ok(())
}

/// A command with its keys and values decoded.
enum Action {
    Put(Vec<u8>, Vec<u8>),
    Get(Vec<u8>),
    Delete(Vec<u8>),
    Scan(ScanSpec),
    Stats { json: bool },
    Compact,
    Check { json: bool },
    Salvage { to: PathBuf },
    Repl,
    StressWrites { count: u64 },
}

impl Action {
    /// How the command opens the store.
    fn access(&self) -> Access {
        match self {
            Action::Get(_) | Action::Scan(_) | Action::Stats { .. } => Access::Read,
            Action::Check { .. } | Action::Salvage { .. } => Access::Verify,
            Action::Delete(_) | Action::Compact => Access::WriteExisting,
            Action::Put(..) | Action::Repl | Action::StressWrites { .. } => Access::Write,
        }
    }
}

/// The decoded action, or `None` for `engines` (which opens no store).
fn decode_action(
    command: &Command,
    codec: Codec,
    stdin: &mut dyn BufRead,
) -> Result<Option<Action>, CliError> {
    let action = match command {
        Command::Put { key, value } => {
            let key = codec.decode_arg(key, "key")?;
            let value = if value.as_os_str() == std::ffi::OsStr::new("-") {
                let raw = read_value_input(stdin, codec)?;
                codec.decode(&raw, "value from standard input")?
            } else {
                codec.decode_arg(value, "value")?
            };
            Action::Put(key, value)
        }
        Command::Get { key } => Action::Get(codec.decode_arg(key, "key")?),
        Command::Delete { key } => Action::Delete(codec.decode_arg(key, "key")?),
        Command::Scan(scan) => Action::Scan(scan_spec(scan, codec)?),
        Command::Stats { json } => Action::Stats { json: *json },
        Command::Compact => Action::Compact,
        Command::Check { json } => Action::Check { json: *json },
        Command::Salvage { to } => Action::Salvage { to: to.clone() },
        Command::Repl => Action::Repl,
        Command::StressWrites { count } => Action::StressWrites { count: *count },
        Command::Engines => return Ok(None),
    };
    Ok(Some(action))
}

/// Reads the value of `put KEY -` from standard input: at most the limit
/// plus one byte ([`MAX_VALUE_BYTES`] of text, [`MAX_HEX_INPUT_BYTES`] of
/// hex), so an endless input is refused with bounded memory.
///
/// # Errors
/// `TooLarge` (exit 3) past the limit; `Input` when reading fails.
pub fn read_value_input(stdin: &mut dyn BufRead, codec: Codec) -> Result<Vec<u8>, CliError> {
    let limit = match codec {
        Codec::Text => MAX_VALUE_BYTES,
        Codec::Hex => MAX_HEX_INPUT_BYTES,
    };
    let mut raw = Vec::new();
    stdin
        .take(limit as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(CliError::Input)?;
    if raw.len() > limit {
        let what = match codec {
            Codec::Text => "the value",
            Codec::Hex => "the hex text of the value",
        };
        return Err(CliError::TooLarge(format!(
            "{what} on standard input is over the limit of {limit} bytes \
             (values are at most {MAX_VALUE_BYTES} bytes); nothing was written"
        )));
    }
    Ok(raw)
}

fn execute(
    store: &dyn Store,
    action: &Action,
    codec: Codec,
    io: Streams<'_>,
) -> Result<(), CliError> {
    let out = io.stdout;
    match action {
        Action::Put(key, value) => commands::put(store, key, value)?,
        Action::Get(key) => commands::get(store, codec, key, out)?,
        Action::Delete(key) => commands::delete(store, key)?,
        Action::Scan(spec) => {
            commands::scan(store, codec, spec, out)?;
        }
        Action::Stats { json } => commands::stats(store, *json, out)?,
        Action::Compact => commands::compact(store, out)?,
        Action::Check { json } => commands::check(store, *json, out)?,
        Action::Repl => {
            let mut terminal;
            let mut stream;
            let lines: &mut dyn LineSource = if io.stdin_is_terminal {
                terminal = TerminalLines::new()?;
                &mut terminal
            } else {
                stream = StreamLines::new(io.stdin, false);
                &mut stream
            };
            let interactive = io.stdin_is_terminal;
            let io = ReplIo {
                lines,
                interactive,
                out: &mut *out,
                err: io.stderr,
            };
            let summary = run_repl(store, codec, io)?;
            if !interactive {
                // A script's failed lines make `kv` exit non-zero; at a
                // terminal each error was seen as it happened.
                summary.into_result()?;
            }
        }
        Action::StressWrites { count } => stress::stress_writes(store, *count, out)?,
        // Run by `run`, which opens the new store.
        Action::Salvage { .. } => {}
    }
    out.flush()?;
    Ok(())
}

/// Decodes `kv scan`'s arguments.
///
/// # Errors
/// `Usage` for bad hex.
pub fn scan_spec(args: &ScanArgs, codec: Codec) -> Result<ScanSpec, CliError> {
    let decode = |arg: &Option<std::ffi::OsString>, what| {
        arg.as_deref()
            .map(|a| codec.decode_arg(a, what))
            .transpose()
    };
    let prefix = decode(&args.prefix, "--prefix")?;
    let from = decode(&args.from, "--from")?;
    let to = decode(&args.to, "--to")?;
    let mut spec = ScanSpec::new(
        prefix.as_deref(),
        from.as_deref(),
        to.as_deref(),
        args.to_inclusive,
    );
    spec.limit = args.limit;
    if args.reverse {
        spec.direction = kv_core::Direction::Reverse;
    }
    Ok(spec)
}

/// Writes the engine table of `kv engines`.
///
/// # Errors
/// The writer's.
pub fn write_engines(out: &mut dyn Write) -> std::io::Result<()> {
    let engines = backend::engines();
    let width = engines
        .iter()
        .map(|e| e.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    writeln!(
        out,
        "{:<width$}  {:<7}  {:<10}  DESCRIPTION",
        "NAME", "KIND", "PERSISTENT"
    )?;
    for e in engines {
        let persistent = if e.persistent { "yes" } else { "no" };
        writeln!(
            out,
            "{:<width$}  {:<7}  {persistent:<10}  {}",
            e.name,
            e.kind.label(),
            e.description
        )?;
    }
    Ok(())
}

/// One line for a clap error that is a real error (not `--help` or
/// `--version`): the message and any tip, without the usage block.
pub fn clap_error_line(e: &clap::Error) -> String {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        return format!(
            "a command is required, one of: {} (try 'kv --help')",
            visible_subcommands().join(", ")
        );
    }
    backend::clap_error_line(e)
}

/// Names of the subcommands shown in `kv --help`.
fn visible_subcommands() -> Vec<String> {
    use clap::CommandFactory;
    Cli::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name().to_string())
        .collect()
}

/// Turns panics into one `kv: internal error ...` line on standard error
/// instead of a message and a backtrace hint; the process still exits 101.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".to_string());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let _ = writeln!(
            std::io::stderr(),
            "kv: internal error{place}: {} (a bug in kv; please report it)",
            one_line(&payload)
        );
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn run_memory(args: &[&str], stdin: &[u8]) -> (Result<(), CliError>, String) {
        let dir = tempfile::tempdir().unwrap();
        let mut full = vec!["kv", "--engine", "memory", "--path"];
        let path = dir.path().to_str().unwrap().to_string();
        full.push(&path);
        full.extend_from_slice(args);
        let cli = Cli::try_parse_from(full).unwrap();
        let mut input = stdin;
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let result = run(
            &cli,
            Streams {
                stdin: &mut input,
                stdin_is_terminal: false,
                stdout: &mut out,
                stderr: &mut err,
            },
        );
        (result, String::from_utf8(out).unwrap())
    }

    #[test]
    fn put_from_stdin_in_hex_and_repl() {
        // memory keeps nothing between invocations, so drive one repl.
        let (result, out) = run_memory(&["--hex", "repl"], b"put 6b 7631\nget 6b\n");
        result.unwrap();
        assert_eq!(out, "7631\n");
        let (result, _) = run_memory(&["--hex", "put", "6b", "-"], b"not hex");
        assert_eq!(result.unwrap_err().exit_code(), 2);
        let (result, _) = run_memory(&["put", "k", "-"], b"from stdin");
        result.unwrap();
    }

    fn run_args(args: &[&str]) -> Result<(), CliError> {
        let cli = Cli::try_parse_from(args).unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        run(
            &cli,
            Streams {
                stdin: &mut &b""[..],
                stdin_is_terminal: false,
                stdout: &mut out,
                stderr: &mut err,
            },
        )
    }

    #[test]
    fn unknown_engine_lists_the_available_ones() {
        let err = run_args(&["kv", "--engine", "nope", "--path", "x", "get", "k"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        assert!(text.contains("unknown engine 'nope'"), "{text}");
        assert!(text.contains("memory"), "{text}");
    }

    #[test]
    fn missing_path_and_file_path_are_usage_errors() {
        let err = run_args(&["kv", "--engine", "memory", "get", "k"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("--path DIR is required"));
        let file = tempfile::NamedTempFile::new().unwrap();
        let path = file.path().to_str().unwrap();
        let err = run_args(&["kv", "--engine", "memory", "--path", path, "get", "k"]).unwrap_err();
        assert!(err.to_string().contains("is not a directory"), "{err}");
    }

    /// A reader that never ends, counting the bytes taken from it.
    struct Endless {
        taken: usize,
    }

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            buf.fill(b'y');
            self.taken += buf.len();
            Ok(buf.len())
        }
    }

    #[test]
    fn put_dash_reads_at_most_the_limit_plus_one_byte() {
        for (codec, limit) in [
            (Codec::Text, MAX_VALUE_BYTES),
            (Codec::Hex, MAX_HEX_INPUT_BYTES),
        ] {
            let mut endless = std::io::BufReader::with_capacity(4096, Endless { taken: 0 });
            let err = read_value_input(&mut endless, codec).unwrap_err();
            assert_eq!(err.exit_code(), 3, "{err}");
            assert!(err.to_string().contains("over the limit"), "{err}");
            // What was buffered beyond the limit is at most one buffer.
            assert!(endless.get_ref().taken <= limit + 1 + 4096);
        }
        let mut exact: &[u8] = &[7; 100];
        assert_eq!(read_value_input(&mut exact, Codec::Text).unwrap(), [7; 100]);
    }

    #[test]
    fn clap_errors_become_one_line() {
        let err = Cli::try_parse_from(["kv", "--bogus", "get", "k"]).unwrap_err();
        let line = clap_error_line(&err);
        assert!(!line.contains('\n'));
        assert!(line.contains("--bogus"), "{line}");
        let err = Cli::try_parse_from(["kv", "put", "k"]).unwrap_err();
        let line = clap_error_line(&err);
        assert!(line.contains("<VALUE>"), "{line}");
        assert!(!line.contains("Usage"), "{line}");
        let err = Cli::try_parse_from(["kv", "--pat", "x", "get", "k"]).unwrap_err();
        let line = clap_error_line(&err);
        assert!(
            line.contains("found; tip: a similar argument exists: '--path'"),
            "{line}"
        );
        for args in [&["kv"][..], &["kv", "--path", "x"][..]] {
            let err = Cli::try_parse_from(args).unwrap_err();
            let line = clap_error_line(&err);
            assert!(
                line.starts_with("a command is required, one of: put, get,"),
                "{line}"
            );
            assert!(!line.contains("stress-writes"), "{line}");
        }
    }

    #[test]
    fn engines_table_lists_every_registered_engine() {
        let mut out = Vec::new();
        write_engines(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        for e in backend::engines() {
            assert!(text.lines().any(|l| l.starts_with(e.name)), "{text}");
        }
    }
}
