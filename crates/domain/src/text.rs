//! Text rules shared by every entity. Lengths count characters, not bytes.
//!
//! Characters that a terminal or a text renderer acts on instead of showing
//! are refused in every free-text field ([`unsafe_char`]): C0 and C1 control
//! characters (an escape sequence can recolour, retitle or rewrite a
//! terminal; a bell rings it) and the bidirectional overrides and isolates
//! U+202A–U+202E and U+2066–U+2069 (they reorder what is shown, "Trojan
//! Source"). Multi-line text ([`bounded`]) may hold line feeds, tabs and
//! CR LF pairs; single-line text ([`required`], [`line`]) none of them.
//! Text that arrives from elsewhere (webhook payloads) is not refused but
//! cleaned with [`clean`], and what is printed to a terminal goes through
//! [`escape`] as a second defence for anything stored before these rules.

use std::borrow::Cow;

use crate::error::FieldError;

/// Names, titles, keys: one line.
pub const SHORT: usize = 200;
/// Descriptions, plans, context: a few paragraphs.
pub const LONG: usize = 20_000;

/// A required single-line text: trimmed, non-empty, at most `SHORT` characters.
pub fn required(field: &str, value: &str) -> Result<(), FieldError> {
    if value.trim().is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    line(field, value, SHORT)
}

/// A single line (possibly empty) up to `max` characters: no line breaks,
/// tabs or other [`unsafe_char`]s.
pub fn line(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    length(field, value, max)?;
    if value.contains(['\n', '\r']) {
        return Err(FieldError::new(field, "must be a single line"));
    }
    match value.char_indices().find(|&(_, c)| unsafe_char(c)) {
        Some((at, c)) => Err(refused(field, value, at, c)),
        None => Ok(()),
    }
}

/// Multi-line text up to `max` characters: line feeds, tabs and CR LF
/// pairs are allowed, other [`unsafe_char`]s are not.
pub fn bounded(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    length(field, value, max)?;
    match first_unsafe_in_text(value) {
        Some((at, c)) => Err(refused(field, value, at, c)),
        None => Ok(()),
    }
}

fn length(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    let len = value.chars().count();
    if len > max {
        return Err(FieldError::new(
            field,
            format!("is {len} characters long; the limit is {max}"),
        ));
    }
    Ok(())
}

/// Whether `c` is acted on by terminals or text renderers rather than
/// shown: a C0 or C1 control character (tab and line feed included), DEL,
/// or a bidirectional override or isolate (U+202A–U+202E, U+2066–U+2069).
pub fn unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The byte offset and character of the first [`unsafe_char`] in
/// multi-line text, where `\n`, `\t` and `\r\n` are allowed.
fn first_unsafe_in_text(value: &str) -> Option<(usize, char)> {
    let bytes = value.as_bytes();
    value.char_indices().find(|&(at, c)| match c {
        '\n' | '\t' => false,
        '\r' => bytes.get(at + 1) != Some(&b'\n'),
        c => unsafe_char(c),
    })
}

fn refused(field: &str, value: &str, at: usize, c: char) -> FieldError {
    let position = value[..at].chars().count() + 1;
    let what = if c.is_control() {
        "a control character"
    } else {
        "a bidirectional-override character"
    };
    FieldError::new(
        field,
        format!(
            "contains {what} (U+{:04X}) at character {position}; terminals and browsers act on it instead of showing it, so it is not accepted",
            c as u32
        ),
    )
}

/// Text from elsewhere made safe to keep: every [`unsafe_char`] except
/// `\n`, `\t` and `\r\n` becomes U+FFFD. Borrows when nothing changes.
pub fn clean(value: &str) -> Cow<'_, str> {
    if first_unsafe_in_text(value).is_none() {
        return Cow::Borrowed(value);
    }
    let bytes = value.as_bytes();
    Cow::Owned(
        value
            .char_indices()
            .map(|(at, c)| match c {
                '\n' | '\t' => c,
                '\r' if bytes.get(at + 1) == Some(&b'\n') => c,
                c if unsafe_char(c) => '\u{FFFD}',
                c => c,
            })
            .collect(),
    )
}

/// Text made safe to print on a terminal: every [`unsafe_char`] except
/// `\n` is written as an escape (`\u{1b}`, `\u{202e}`), and a backslash
/// before `u{` is doubled so the result cannot be mistaken for one.
/// Borrows when nothing changes.
pub fn escape(value: &str) -> Cow<'_, str> {
    if !value.chars().any(|c| c != '\n' && unsafe_char(c)) && !value.contains("\\u") {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    let mut rest = value.chars().peekable();
    while let Some(c) = rest.next() {
        match c {
            '\n' => out.push(c),
            '\\' if rest.peek() == Some(&'u') => out.push_str("\\\\"),
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A key usable in URLs and CLI arguments: `[a-z0-9][a-z0-9-_.]*`, at most 64.
pub fn key(field: &str, value: &str) -> Result<(), FieldError> {
    let ok_first = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let ok_rest = value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if !ok_first || !ok_rest || value.len() > 64 {
        return Err(FieldError::new(
            field,
            format!(
                "{value:?} is not a valid key: use 1-64 lowercase letters, digits, '-', '_' or '.', starting with a letter or digit"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_characters() {
        assert!(bounded("f", &"é".repeat(SHORT), SHORT).is_ok());
        let err = bounded("f", &"é".repeat(SHORT + 1), SHORT).unwrap_err();
        assert_eq!(err.field, "f");
        assert!(err.message.contains("201 characters"));
    }

    #[test]
    fn required_rejects_blank_and_multiline() {
        assert!(required("name", "  ").is_err());
        assert!(required("name", "a\nb").is_err());
        assert!(required("name", "Payments").is_ok());
    }

    #[test]
    fn control_and_bidi_characters_are_refused_naming_the_field() {
        for bad in [
            "a\u{7}",
            "a\u{1b}[31m",
            "a\u{9b}",
            "a\u{7f}",
            "a\u{202e}b",
            "\u{2066}x",
        ] {
            let err = required("title", bad).unwrap_err();
            assert_eq!(err.field, "title", "{bad:?}");
            assert!(err.message.contains("U+"), "{}", err.message);
            assert!(bounded("description", bad, LONG).is_err(), "{bad:?}");
            assert!(line("unit", bad, 32).is_err(), "{bad:?}");
        }
        let err = required("name", "ab\u{1b}").unwrap_err();
        assert!(
            err.message.contains("(U+001B) at character 3"),
            "{}",
            err.message
        );
        assert!(required("name", "a\tb").is_err());
        assert!(bounded("description", "one\n\ttwo\r\nthree", LONG).is_ok());
        assert!(bounded("description", "over\rwrite", LONG).is_err());
        assert!(required("name", "Zahlungen – עברית – 日本").is_ok());
        // Marks (not overrides) stay allowed: they are ordinary in RTL text.
        assert!(required("name", "a\u{200f}b").is_ok());
    }

    #[test]
    fn clean_and_escape() {
        assert!(matches!(clean("plain\ntext"), Cow::Borrowed(_)));
        assert_eq!(
            clean("a\u{1b}[31m\u{202e}b\r\nc\rd"),
            "a\u{fffd}[31m\u{fffd}b\r\nc\u{fffd}d"
        );
        assert!(matches!(escape("plain\ntext"), Cow::Borrowed(_)));
        assert_eq!(escape("a\u{7}\u{1b}[31m"), "a\\u{7}\\u{1b}[31m");
        assert_eq!(escape("x\u{202e}y\tz"), "x\\u{202e}y\\u{9}z");
        assert_eq!(escape("\\u{7}"), "\\\\u{7}");
        assert!(!escape("a\u{1b}\u{9b}\u{2069}").chars().any(unsafe_char));
    }

    #[test]
    fn keys() {
        assert!(key("key", "payments-api").is_ok());
        assert!(key("key", "Payments").is_err());
        assert!(key("key", "-x").is_err());
        assert!(key("key", "").is_err());
    }
}
