//! Canonical forms and escaping: the form in which section text is read back
//! (no trailing whitespace, no leading or trailing blank lines), and the one-
//! backslash escape for lines that look like structure.
//!
//! Part of [`super`] (see its documentation for the layout and the
//! round-trip rules).

/// The lines of `text` as a section shows them: trailing whitespace removed,
/// no leading or trailing blank lines.
pub(super) fn canonical_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.split('\n').map(str::trim_end).collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let first = lines
        .iter()
        .position(|l| !l.is_empty())
        .unwrap_or(lines.len());
    lines.drain(..first);
    lines
}

pub(super) fn canonical_text(text: &str) -> String {
    canonical_lines(text).join("\n")
}

/// A hypothesis's lines: canonical, and the first without leading blanks
/// (the parser skips the blanks after a bullet).
pub(super) fn item_lines(item: &str) -> Vec<&str> {
    let mut lines = canonical_lines(item);
    if let Some(first) = lines.first_mut() {
        *first = first.trim_start();
    }
    lines
}

pub(super) fn canonical_item(item: &str) -> String {
    item_lines(item).join("\n")
}

/// A title as the `# ` line shows it: one line, trimmed.
pub(super) fn canonical_title(title: &str) -> String {
    title.replace(['\r', '\n'], " ").trim().to_owned()
}

pub(super) fn needs_escape(line: &str) -> bool {
    line.starts_with('#') || line.starts_with('\\') || line.trim_start().starts_with("<!--")
}

pub(super) fn escape_line(line: &str) -> String {
    if needs_escape(line) {
        format!("\\{line}")
    } else {
        line.to_owned()
    }
}

pub(super) fn unescape_line(line: &str) -> &str {
    line.strip_prefix('\\').unwrap_or(line)
}
