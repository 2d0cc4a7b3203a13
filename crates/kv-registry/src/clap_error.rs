//! The one-line rendering of a command-line error, shared by `kv` and
//! `kv-bench` so both print bad options the same way.

/// clap's error as one line: the message and its tips without the usage
/// block, then `(try 'PROGRAM --help')`.
pub fn clap_error_line(e: &clap::Error, program: &str) -> String {
    let text = e.render().to_string();
    let mut message = String::new();
    let mut in_usage = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            in_usage = false;
        } else if line.starts_with("Usage:") {
            in_usage = true;
        } else if !in_usage && !line.starts_with("For more information") {
            let part = line.strip_prefix("error:").unwrap_or(line).trim();
            if !message.is_empty() {
                message.push_str(if part.starts_with("tip:") { "; " } else { " " });
            }
            message.push_str(part);
        }
    }
    format!("{message} (try '{program} --help')")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser, Debug)]
    struct Args {
        #[arg(long)]
        num: u32,
    }

    #[test]
    fn a_bad_value_is_one_line_naming_the_program() {
        use clap::Parser;
        let e = Args::try_parse_from(["p", "--num", "x"]).unwrap_err();
        let line = clap_error_line(&e, "p");
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains("--num"), "{line}");
        assert!(line.ends_with("(try 'p --help')"), "{line}");
    }
}
