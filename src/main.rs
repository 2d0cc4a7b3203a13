//! `kv`: the kvlab command line. Parses, dispatches to [`kvlab::cli::run`],
//! and turns errors into one `kv: <message>` line and an exit code.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use kvlab::cli::{self, Cli, Streams};

fn main() -> ExitCode {
    cli::install_panic_hook();
    let args = match Cli::try_parse() {
        Ok(args) => args,
        Err(e) if !e.use_stderr() => {
            // --help or --version: print them as clap does.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => return fail(&cli::clap_error_line(&e), cli::error::EXIT_USAGE),
    };
    let stdin = io::stdin();
    let stdin_is_terminal = stdin.is_terminal();
    let mut input = stdin.lock();
    let mut output = io::BufWriter::new(io::stdout().lock());
    let streams = Streams {
        stdin: &mut input,
        stdin_is_terminal,
        stdout: &mut output,
        stderr: &mut io::stderr(),
    };
    match cli::run(&args, streams) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            let _ = output.flush();
            fail(&e.to_string(), e.exit_code())
        }
    }
}

fn fail(message: &str, code: u8) -> ExitCode {
    let _ = writeln!(io::stderr(), "kv: {message}");
    ExitCode::from(code)
}
