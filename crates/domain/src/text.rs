//! Text limits shared by every entity. Lengths count characters, not bytes.

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
    bounded(field, value, SHORT)?;
    if value.contains(['\n', '\r']) {
        return Err(FieldError::new(field, "must be a single line"));
    }
    Ok(())
}

/// Any text up to `max` characters.
pub fn bounded(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    let len = value.chars().count();
    if len > max {
        return Err(FieldError::new(
            field,
            format!("is {len} characters long; the limit is {max}"),
        ));
    }
    Ok(())
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
    fn keys() {
        assert!(key("key", "payments-api").is_ok());
        assert!(key("key", "Payments").is_err());
        assert!(key("key", "-x").is_err());
        assert!(key("key", "").is_err());
    }
}
