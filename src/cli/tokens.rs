//! Splitting a REPL line into tokens.
//!
//! Tokens are separated by ASCII whitespace. A `"` starts a quoted part that
//! runs to the next unescaped `"`; inside it whitespace is kept and these
//! escapes work: `\"`, `\\`, `\n`, `\t`, `\r`, `\0` and `\xNN` (one byte in
//! hex). Outside quotes every byte is literal, backslashes included. Quoted
//! and bare parts next to each other form one token (`a"b c"` is `ab c`), and
//! `""` is the empty token (the empty key or value).

/// Splits `line` into tokens; returns what is wrong on a bad quote or escape.
pub fn tokenize(line: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut tokens = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    let mut bytes = line.iter().copied().enumerate();
    while let Some((at, b)) = bytes.next() {
        if b.is_ascii_whitespace() {
            if let Some(token) = current.take() {
                tokens.push(token);
            }
            continue;
        }
        let token = current.get_or_insert_with(Vec::new);
        if b != b'"' {
            token.push(b);
            continue;
        }
        loop {
            let Some((_, q)) = bytes.next() else {
                return Err(format!(
                    "the quote opened at column {} is never closed",
                    at + 1
                ));
            };
            match q {
                b'"' => break,
                b'\\' => token.push(unescape(&mut bytes)?),
                other => token.push(other),
            }
        }
    }
    if let Some(token) = current {
        tokens.push(token);
    }
    Ok(tokens)
}

fn unescape(bytes: &mut impl Iterator<Item = (usize, u8)>) -> Result<u8, String> {
    let Some((at, e)) = bytes.next() else {
        return Err("a backslash ends the line inside a quote".to_string());
    };
    Ok(match e {
        b'"' => b'"',
        b'\\' => b'\\',
        b'n' => b'\n',
        b't' => b'\t',
        b'r' => b'\r',
        b'0' => 0,
        b'x' => {
            let mut value = 0u8;
            for _ in 0..2 {
                let digit = bytes
                    .next()
                    .and_then(|(_, d)| char::from(d).to_digit(16))
                    .ok_or_else(|| format!("\\x at column {at} needs two hex digits"))?;
                value = (value << 4) | digit as u8;
            }
            value
        }
        other => {
            return Err(format!(
                "unknown escape \\{} at column {at} (known: \\\" \\\\ \\n \\t \\r \\0 \\xNN)",
                char::from(other).escape_default()
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(line: &str) -> Vec<String> {
        tokenize(line.as_bytes())
            .unwrap()
            .into_iter()
            .map(|t| String::from_utf8(t).unwrap())
            .collect()
    }

    #[test]
    fn splits_on_whitespace() {
        assert_eq!(toks("  put  k\tv  "), ["put", "k", "v"]);
        assert!(toks("   ").is_empty());
    }

    #[test]
    fn quotes_keep_spaces_and_unescape() {
        assert_eq!(
            toks(r#"put "my key" "say \"hi\"\n""#),
            ["put", "my key", "say \"hi\"\n"]
        );
        assert_eq!(toks(r#"put "" x"#), ["put", "", "x"]);
        assert_eq!(toks(r#"a"b c"d"#), ["ab cd"]);
        assert_eq!(
            tokenize(br#""\x00\xfF\\""#).unwrap(),
            vec![vec![0u8, 0xff, b'\\']]
        );
    }

    #[test]
    fn bare_backslashes_are_literal() {
        assert_eq!(toks(r"a\nb"), [r"a\nb"]);
    }

    #[test]
    fn bad_quotes_and_escapes_are_errors() {
        assert!(tokenize(br#"put "open"#)
            .unwrap_err()
            .contains("never closed"));
        assert!(tokenize(br#""\q""#).unwrap_err().contains("unknown escape"));
        assert!(tokenize(br#""\x4""#)
            .unwrap_err()
            .contains("two hex digits"));
        assert!(tokenize(br#""\"#).is_err());
    }

    #[test]
    fn never_panics_on_any_bytes() {
        for a in 0..=255u8 {
            for b in [b'"', b'\\', b'x', b' ', 0xff] {
                let _ = tokenize(&[b'"', b'\\', a, b]);
                let _ = tokenize(&[a, b, b'"']);
            }
        }
    }
}
