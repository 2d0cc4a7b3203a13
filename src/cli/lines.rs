//! Where `kv repl` gets its lines: a terminal with line editing and history
//! ([`TerminalLines`], through `rustyline`), or any byte stream
//! ([`StreamLines`]: a script on standard input, or a test's bytes).

use std::io::{BufRead, Write};
use std::path::PathBuf;

use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Config, Editor};

use super::error::CliError;

/// Name of the history file `kv repl` keeps in the home directory.
pub const HISTORY_FILE_NAME: &str = ".kv_history";

/// Most lines kept in the history file.
pub const HISTORY_MAX_LINES: usize = 1000;

/// A source of REPL lines.
pub trait LineSource {
    /// The next line without its line break, or `None` at the end of the
    /// input. `prompt` is shown first where there is someone to see it;
    /// `out` is the session's output stream.
    ///
    /// # Errors
    /// `Input` when reading fails.
    fn next_line(&mut self, prompt: &str, out: &mut dyn Write)
        -> Result<Option<Vec<u8>>, CliError>;

    /// Remembers a line the user typed (for the up arrow); streams ignore it.
    fn remember(&mut self, _line: &[u8]) {}
}

/// Lines of a byte stream, split at `\n` (a `\r` before it is kept and
/// trimmed later as whitespace).
pub struct StreamLines<'a> {
    input: &'a mut dyn BufRead,
    prompt: bool,
}

impl<'a> StreamLines<'a> {
    /// Lines of `input`; `prompt` writes the prompt to the output before each
    /// line (for tests of an interactive session).
    pub fn new(input: &'a mut dyn BufRead, prompt: bool) -> Self {
        Self { input, prompt }
    }
}

impl LineSource for StreamLines<'_> {
    fn next_line(
        &mut self,
        prompt: &str,
        out: &mut dyn Write,
    ) -> Result<Option<Vec<u8>>, CliError> {
        if self.prompt {
            write!(out, "{prompt}")?;
            out.flush()?;
        }
        let mut line = Vec::new();
        if self
            .input
            .read_until(b'\n', &mut line)
            .map_err(CliError::Input)?
            == 0
        {
            return Ok(None);
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        Ok(Some(line))
    }
}

/// Lines typed at a terminal, with line editing (arrows, Home/End, Ctrl-R
/// search) and a history kept in `~/.kv_history` ([`HISTORY_FILE_NAME`]):
/// loaded when the session starts, saved when it ends. A history file that
/// cannot be read or written is skipped silently: it never stops a session.
pub struct TerminalLines {
    editor: Editor<(), DefaultHistory>,
    history: Option<PathBuf>,
}

impl TerminalLines {
    /// A line editor on the process's terminal.
    ///
    /// # Errors
    /// `Input` when the terminal cannot be set up.
    pub fn new() -> Result<Self, CliError> {
        let config = Config::builder()
            .max_history_size(HISTORY_MAX_LINES)
            .map_err(readline_error)?
            .auto_add_history(false)
            .build();
        let mut editor = Editor::with_config(config).map_err(readline_error)?;
        let history = std::env::var_os("HOME")
            .filter(|home| !home.is_empty())
            .map(|home| PathBuf::from(home).join(HISTORY_FILE_NAME));
        if let Some(path) = &history {
            // A missing file is the first session's normal case.
            let _ = editor.load_history(path);
        }
        Ok(Self { editor, history })
    }
}

impl LineSource for TerminalLines {
    fn next_line(
        &mut self,
        prompt: &str,
        out: &mut dyn Write,
    ) -> Result<Option<Vec<u8>>, CliError> {
        // What the session printed (the banner) shows before the prompt.
        out.flush()?;
        loop {
            match self.editor.readline(prompt) {
                Ok(line) => return Ok(Some(line.into_bytes())),
                // Ctrl-C drops the line being typed, as in a shell.
                Err(ReadlineError::Interrupted) => continue,
                Err(ReadlineError::Eof) => return Ok(None),
                Err(e) => return Err(readline_error(e)),
            }
        }
    }

    fn remember(&mut self, line: &[u8]) {
        let _ = self
            .editor
            .add_history_entry(String::from_utf8_lossy(line).into_owned());
    }
}

impl Drop for TerminalLines {
    fn drop(&mut self) {
        if let Some(path) = &self.history {
            let _ = self.editor.save_history(path);
        }
    }
}

fn readline_error(e: ReadlineError) -> CliError {
    match e {
        ReadlineError::Io(io) => CliError::Input(io),
        other => CliError::Input(std::io::Error::other(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_lines_split_at_newlines_and_prompt_on_request() {
        let mut input: &[u8] = b"one\r\ntwo\n\nlast";
        let mut out = Vec::new();
        let mut lines = StreamLines::new(&mut input, true);
        let mut got = Vec::new();
        while let Some(line) = lines.next_line("> ", &mut out).unwrap() {
            got.push(line);
        }
        assert_eq!(got, [&b"one\r"[..], b"two", b"", b"last"]);
        assert_eq!(out, b"> > > > > ");
    }
}
