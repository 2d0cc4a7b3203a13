//! `kv repl`: an interactive session over one open store.
//!
//! Reads one command per line (see [`HELP`]) from a [`LineSource`]: at a
//! terminal, a line editor with history ([`super::lines::TerminalLines`]);
//! otherwise the lines of standard input, as a script. A failed command
//! prints one `error: ...` line on the error stream and the session goes on.
//! A script has no banner and no prompt, its error lines name the line
//! (`error: line 4: not found: k`), and `kv` turns a script's failed lines
//! into [`CliError::Script`] (a non-zero exit) once every line has run
//! ([`ReplSummary::into_result`]); a terminal session exits 0. Tokens
//! follow [`super::tokens`]: double quotes for keys and values with spaces or
//! escapes.

use std::io::Write;

use kv_core::Store;

use super::commands::{self, ScanSpec};
use super::encoding::Codec;
use super::error::CliError;
use super::lines::LineSource;
use super::tokens::tokenize;

/// The REPL's help text.
pub const HELP: &str = "\
commands (one per line; quote keys and values with spaces: put k \"a b\"):
  get KEY            print the value of KEY
  put KEY VALUE      set KEY to VALUE
  del KEY            remove KEY (also: delete)
  scan [PREFIX]      print KEY<TAB>VALUE for every key (with PREFIX)
  stats              print the store's counters
  compact            reclaim space
  check              verify every checksum and invariant
  sync               make every write so far durable
  help               this text
  quit               end the session (also: exit, end of input)
inside quotes: \\\" \\\\ \\n \\t \\r \\0 \\xNN; with --hex, keys and values are hex";

/// One parsed REPL command.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ReplCommand {
    Get(Vec<u8>),
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
    Scan(Option<Vec<u8>>),
    Stats,
    Compact,
    Check,
    Sync,
    Help,
    Quit,
}

/// What a session did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplSummary {
    /// Commands run (blank and comment lines not counted).
    pub commands: u64,
    /// Commands that failed (each printed one error line).
    pub errors: u64,
    /// The first failed line: its number (from 1) and its exit code.
    pub first_error: Option<(u64, u8)>,
}

impl ReplSummary {
    /// `Ok` when no command failed; else [`CliError::Script`] naming the
    /// first failed line, with its exit code.
    ///
    /// # Errors
    /// As said.
    pub fn into_result(self) -> Result<(), CliError> {
        match self.first_error {
            None => Ok(()),
            Some((first_line, code)) => Err(CliError::Script {
                failed: self.errors,
                first_line,
                code,
            }),
        }
    }
}

/// Where a session reads and writes.
pub struct ReplIo<'a> {
    /// Command lines.
    pub lines: &'a mut dyn LineSource,
    /// True at a terminal: show a banner, and errors name no line number.
    /// False for a script: no banner, `line N` in every error.
    pub interactive: bool,
    /// Command output.
    pub out: &'a mut dyn Write,
    /// One `error: ...` line per failed command.
    pub err: &'a mut dyn Write,
}

/// Runs a session until `quit` or the end of input.
///
/// # Errors
/// Only when reading the input or writing the output fails; a failed
/// command is reported on `io.err` and counted in the summary instead
/// (see [`ReplSummary::into_result`]).
pub fn run_repl(store: &dyn Store, codec: Codec, io: ReplIo<'_>) -> Result<ReplSummary, CliError> {
    let ReplIo {
        lines,
        interactive,
        out,
        err,
    } = io;
    let mut summary = ReplSummary::default();
    if interactive {
        let engine = store.stats().engine;
        writeln!(
            out,
            "kv repl on engine {engine}; `help` lists commands, `quit` ends"
        )?;
    }
    let mut number = 0u64;
    while let Some(line) = lines.next_line("kv> ", out)? {
        number += 1;
        let outcome = match parse_line(&line, codec) {
            Ok(None) => continue,
            Ok(Some(ReplCommand::Quit)) => {
                summary.commands += 1;
                break;
            }
            Ok(Some(command)) => {
                lines.remember(&line);
                execute(store, codec, &command, interactive, out)
            }
            Err(e) => {
                lines.remember(&line);
                Err(e)
            }
        };
        summary.commands += 1;
        match outcome {
            Ok(()) => {}
            Err(e @ (CliError::Io(_) | CliError::Input(_))) => return Err(e),
            Err(e) => {
                summary.errors += 1;
                summary.first_error.get_or_insert((number, e.exit_code()));
                out.flush()?;
                let place = (!interactive).then_some(number);
                report(err, place, &e)?;
            }
        }
        out.flush()?;
    }
    if interactive {
        writeln!(out)?;
    }
    out.flush()?;
    Ok(summary)
}

fn report(err: &mut dyn Write, line: Option<u64>, e: &CliError) -> Result<(), CliError> {
    match line {
        Some(n) => writeln!(err, "error: line {n}: {e}")?,
        None => writeln!(err, "error: {e}")?,
    }
    err.flush()?;
    Ok(())
}

/// Parses one line; `None` for a blank line or a `#` comment.
fn parse_line(line: &[u8], codec: Codec) -> Result<Option<ReplCommand>, CliError> {
    let trimmed = line.trim_ascii();
    if trimmed.is_empty() || trimmed.starts_with(b"#") {
        return Ok(None);
    }
    let tokens = tokenize(trimmed).map_err(CliError::Usage)?;
    let Some((name, args)) = tokens.split_first() else {
        return Ok(None);
    };
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    let key = |i: usize| codec.decode(&args[i], "key");
    let arity = |want: &str, n: usize| -> Result<(), CliError> {
        if args.len() == n {
            Ok(())
        } else {
            Err(CliError::Usage(format!(
                "usage: {want} (got {} argument{}; quote values with spaces)",
                args.len(),
                if args.len() == 1 { "" } else { "s" }
            )))
        }
    };
    let command = match name.as_str() {
        "get" => arity("get KEY", 1).and_then(|()| Ok(ReplCommand::Get(key(0)?)))?,
        "put" | "set" => arity("put KEY VALUE", 2)
            .and_then(|()| Ok(ReplCommand::Put(key(0)?, codec.decode(&args[1], "value")?)))?,
        "del" | "delete" => arity("del KEY", 1).and_then(|()| Ok(ReplCommand::Delete(key(0)?)))?,
        "scan" => match args.len() {
            0 => ReplCommand::Scan(None),
            _ => arity("scan [PREFIX]", 1)
                .and_then(|()| Ok(ReplCommand::Scan(Some(codec.decode(&args[0], "prefix")?))))?,
        },
        "stats" => arity("stats", 0).map(|()| ReplCommand::Stats)?,
        "compact" => arity("compact", 0).map(|()| ReplCommand::Compact)?,
        "check" => arity("check", 0).map(|()| ReplCommand::Check)?,
        "sync" => arity("sync", 0).map(|()| ReplCommand::Sync)?,
        "help" | "?" => ReplCommand::Help,
        "quit" | "exit" => ReplCommand::Quit,
        other => {
            return Err(CliError::Usage(format!(
                "unknown command '{other}' (type `help` for the list)"
            )))
        }
    };
    Ok(Some(command))
}

fn execute(
    store: &dyn Store,
    codec: Codec,
    command: &ReplCommand,
    interactive: bool,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match command {
        ReplCommand::Get(key) => commands::get(store, codec, key, out)?,
        ReplCommand::Put(key, value) => commands::put(store, key, value)?,
        ReplCommand::Delete(key) => commands::delete(store, key)?,
        ReplCommand::Scan(prefix) => {
            let spec = ScanSpec::new(prefix.as_deref(), None, None, false);
            let n = commands::scan(store, codec, &spec, out)?;
            if interactive {
                writeln!(out, "({n} key{})", if n == 1 { "" } else { "s" })?;
            }
        }
        ReplCommand::Stats => commands::stats(store, false, out)?,
        ReplCommand::Compact => commands::compact(store, out)?,
        ReplCommand::Check => commands::check(store, false, out)?,
        ReplCommand::Sync => store.sync()?,
        ReplCommand::Help => writeln!(out, "{HELP}")?,
        ReplCommand::Quit => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::lines::StreamLines;
    use kv_core::testkit::MemStore;

    fn session(store: &MemStore, codec: Codec, script: &str) -> (String, String, ReplSummary) {
        let mut input = script.as_bytes();
        let mut lines = StreamLines::new(&mut input, false);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let summary = run_repl(
            store,
            codec,
            ReplIo {
                lines: &mut lines,
                interactive: false,
                out: &mut out,
                err: &mut err,
            },
        )
        .unwrap();
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
            summary,
        )
    }

    #[test]
    fn piped_session_has_no_prompt_and_goes_on_after_errors() {
        let store = MemStore::new();
        let script = "put a 1\nput \"b c\" \"two words\"\n\n# comment\nget a\nget missing\nbogus\nget \"b c\"\ndel a\nscan\nquit\nget a\n";
        let (out, err, summary) = session(&store, Codec::Text, script);
        assert_eq!(out, "1\ntwo words\nb c\ttwo words\n");
        let err_lines: Vec<&str> = err.lines().collect();
        assert_eq!(err_lines.len(), 2, "{err}");
        assert_eq!(err_lines[0], "error: line 6: not found: missing");
        assert!(err_lines[1].starts_with("error: line 7: unknown command 'bogus'"));
        assert_eq!(
            summary,
            ReplSummary {
                commands: 9,
                errors: 2,
                first_error: Some((6, 1)),
            }
        );
        let failed = summary.into_result().unwrap_err();
        assert_eq!(failed.exit_code(), 1);
        assert_eq!(
            failed.to_string(),
            "the script had 2 failed lines (the first: line 6)"
        );
        assert_eq!(store.get(b"a").unwrap(), None);
    }

    #[test]
    fn arity_and_quote_errors_are_one_line() {
        let store = MemStore::new();
        let (out, err, summary) =
            session(&store, Codec::Text, "put k a b\nput \"k\nget\nscan a b\n");
        assert_eq!(out, "");
        assert_eq!(summary.errors, 4);
        assert_eq!(err.lines().count(), 4, "{err}");
        assert!(err.lines().all(|l| l.starts_with("error: line ")));
        assert!(err.contains("usage: put KEY VALUE (got 3 arguments"));
        assert!(err.contains("never closed"));
    }

    #[test]
    fn hex_session_and_scan_prefix() {
        let store = MemStore::new();
        let (out, err, _) = session(
            &store,
            Codec::Hex,
            "put 6b31 00ff\nput 6b32 01\nput 7a 02\nscan 6b\nget zz\n",
        );
        assert_eq!(out, "6b31\t00ff\n6b32\t01\n");
        assert!(
            err.starts_with("error: line 5: key is not valid hex"),
            "{err}"
        );
        assert_eq!(store.get(b"k1").unwrap(), Some(vec![0, 0xff]));
    }

    #[test]
    fn empty_key_and_value_via_quotes() {
        let store = MemStore::new();
        let (out, err, _) = session(
            &store,
            Codec::Text,
            "put \"\" \"\"\nget \"\"\nstats\ncheck\nsync\nhelp\n",
        );
        assert_eq!(err, "");
        assert!(out.starts_with("\n"), "{out:?}");
        assert!(out.contains("live_keys"));
        assert!(out.contains("get KEY"));
        assert_eq!(store.get(b"").unwrap(), Some(vec![]));
    }

    #[test]
    fn interactive_session_prompts() {
        let store = MemStore::new();
        let mut input: &[u8] = b"put a 1\nscan\nget nope\n";
        let mut lines = StreamLines::new(&mut input, true);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let summary = run_repl(
            &store,
            Codec::Text,
            ReplIo {
                lines: &mut lines,
                interactive: true,
                out: &mut out,
                err: &mut err,
            },
        )
        .unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("kv repl on engine memory"));
        assert_eq!(out.matches("kv> ").count(), 4);
        assert!(out.contains("a\t1\n(1 key)\n"));
        // At a terminal an error names no line number.
        assert_eq!(String::from_utf8(err).unwrap(), "error: not found: nope\n");
        assert_eq!(summary.errors, 1);
    }
}
