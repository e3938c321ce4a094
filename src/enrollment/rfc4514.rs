//! RFC 4514 strings: splitting at unescaped separators, and values unescaped and escaped.

use crate::error::{Error, Result};

const FLAG: &str = "--subject";

/// The byte offsets of every `separator` in `text` not escaped by a backslash.
fn unescaped(text: &str, separator: char) -> impl Iterator<Item = usize> + '_ {
    let mut escaped = false;
    text.char_indices().filter_map(move |(index, c)| {
        let found = !escaped && c == separator;
        escaped = !escaped && c == '\\';
        found.then_some(index)
    })
}

/// Splits at every `separator` not escaped by a backslash.
pub(crate) fn split_unescaped(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    for index in unescaped(text, separator) {
        parts.push(&text[start..index]);
        start = index + separator.len_utf8();
    }
    parts.push(&text[start..]);
    parts
}

/// Splits at the first `separator` not escaped by a backslash.
pub(crate) fn split_once_unescaped(text: &str, separator: char) -> Option<(&str, &str)> {
    let index = unescaped(text, separator).next()?;
    Some((&text[..index], &text[index + separator.len_utf8()..]))
}

/// An RFC 4514 value, unescaped: `\` before a special character or two hex digits (bytes of
/// UTF-8). Unescaped spaces around the value are dropped.
pub(crate) fn unescape(raw: &str, part: &str) -> Result<String> {
    let wrong = |what: String| Error::invalid_argument(FLAG, format!("'{part}': {what}"));
    let trimmed = raw.trim_start_matches(' ');
    // Trailing spaces are dropped unless the last one is escaped.
    let mut end = trimmed.len();
    while trimmed[..end].ends_with(' ') && !ends_with_escape(&trimmed[..end - 1]) {
        end -= 1;
    }
    let value = &trimmed[..end];
    if value.starts_with('#') {
        return Err(wrong(
            "hex-encoded values (#…) are not supported; write the value as text, or \\# for a leading #".into(),
        ));
    }
    let mut bytes = Vec::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(next @ (',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=' | '#' | ' ')) => {
                    bytes.push(next as u8)
                }
                Some(high) if high.is_ascii_hexdigit() => {
                    let low = chars
                        .next()
                        .filter(char::is_ascii_hexdigit)
                        .ok_or_else(|| {
                            wrong(format!("'\\{high}' must be followed by a second hex digit"))
                        })?;
                    let digit = |c: char| c.to_digit(16).unwrap_or(0) as u8;
                    bytes.push(digit(high) * 16 + digit(low));
                }
                Some(other) => {
                    return Err(wrong(format!(
                        "'\\{other}' is not an escape; escape only , + \" \\ < > ; = # and spaces, or write two hex digits"
                    )));
                }
                None => return Err(wrong("ends with a lone '\\'".into())),
            },
            '"' | '<' | '>' | ';' => {
                return Err(wrong(format!("'{c}' must be escaped as '\\{c}'")));
            }
            '\0' => return Err(wrong("holds a NUL character".into())),
            other => {
                let mut buffer = [0u8; 4];
                bytes.extend_from_slice(other.encode_utf8(&mut buffer).as_bytes());
            }
        }
    }
    String::from_utf8(bytes).map_err(|_| wrong("its \\XX escapes are not UTF-8".into()))
}

/// True when `text` ends with an odd number of backslashes (the next character is escaped).
fn ends_with_escape(text: &str) -> bool {
    text.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

/// An RFC 4514 value escaped so that [`Subject::parse`](super::Subject::parse) reads it back.
pub(crate) fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (index, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (index == 0 && matches!(c, '#' | ' '))
            || (index == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
