//! What every command shares for its output: tables that fit the terminal,
//! JSON, the exit code an error ends with, and a quiet end when the reader
//! of standard output goes away (`tandem goal list | head`).
//!
//! Rules:
//! - Tables come from [`table`]: on a terminal they wrap to its width (or
//!   to `COLUMNS` when that is set), piped they are never cut, and the
//!   global `--wide` turns fitting off. Id columns (a header `id` or ending
//!   in ` id`) are never wrapped, so an id can be copied whole.
//! - Every cell goes through `tandem_domain::text::escape` as it is added
//!   ([`Table::add_row`]): a title stored before control and bidi
//!   characters were refused (or imported some other way) shows as
//!   `a\u{7}\u{1b}[31m` instead of ringing or recolouring the terminal.
//! - Exit codes are the documented ones (README, "Exit codes"): see
//!   [`exit_code`]. A new error kind that scripts need to tell apart gets
//!   its own code here and a line in the README.
//! - A closed pipe is not an error: whoever reads stopped reading. The
//!   process ends at once with [`EXIT_BROKEN_PIPE`] and prints nothing,
//!   whether the write was a `println!` (caught by the panic hook installed
//!   by [`end_quietly_on_broken_pipe`]) or returned an `io::Error`.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use comfy_table::{Cell, ColumnConstraint, ContentArrangement, presets::UTF8_BORDERS_ONLY};
use tandem_app::AppError;
use tandem_store::StoreError;

/// Any error not listed below.
pub const EXIT_FAILURE: u8 = 1;
/// Wrong arguments (clap's own code) or a value that names nothing usable:
/// a malformed id, an ambiguous id prefix, a bad filter.
pub const EXIT_USAGE: u8 = 2;
/// The change conflicts with what is stored: a key already taken, or the
/// thing changed since it was read.
pub const EXIT_CONFLICT: u8 = 3;
/// What was named (a team, a goal, a work item…) does not exist.
pub const EXIT_NOT_FOUND: u8 = 4;
/// Standard output was closed by its reader (128 + SIGPIPE, as a shell
/// reports a program ended by a broken pipe).
pub const EXIT_BROKEN_PIPE: u8 = 141;

static WIDE: AtomicBool = AtomicBool::new(false);

/// `--wide`: tables at full width even on a narrow terminal.
pub fn set_wide(wide: bool) {
    WIDE.store(wide, Ordering::Relaxed);
}

/// A `comfy_table::Table` whose cells are escaped for a terminal as they
/// are added; everything else is the comfy table's own (through `Deref`).
pub struct Table(comfy_table::Table);

impl Table {
    /// A plain table with `headers` (never fitted to the terminal).
    pub fn plain(headers: &[&str]) -> Self {
        let mut t = comfy_table::Table::new();
        t.load_preset(UTF8_BORDERS_ONLY)
            .set_header(headers.to_vec());
        Table(t)
    }

    /// Adds a row, each cell passed through `text::escape`.
    pub fn add_row<I, T>(&mut self, row: I) -> &mut Self
    where
        I: IntoIterator<Item = T>,
        T: Into<Cell>,
    {
        let cells: Vec<Cell> = row
            .into_iter()
            .map(|cell| {
                let content = cell.into().content();
                Cell::new(tandem_domain::text::escape(&content))
            })
            .collect();
        self.0.add_row(cells);
        self
    }
}

impl std::ops::Deref for Table {
    type Target = comfy_table::Table;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Table {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A table with `headers`, sized for where it is printed.
pub fn table(headers: &[&str]) -> Table {
    let mut t = Table::plain(headers);
    if !WIDE.load(Ordering::Relaxed) {
        t.set_content_arrangement(ContentArrangement::Dynamic);
        if let Some(columns) = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<u16>().ok())
            .filter(|c| *c > 0)
        {
            t.set_width(columns);
        }
        for (i, header) in headers.iter().enumerate() {
            if (*header == "id" || header.ends_with(" id"))
                && let Some(column) = t.column_mut(i)
            {
                column.set_constraint(ColumnConstraint::ContentWidth);
            }
        }
    }
    t
}

/// Prints `value` as indented JSON on standard output.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

/// Ends the process quietly with [`EXIT_BROKEN_PIPE`] when a `println!`
/// finds standard output closed, instead of the panic Rust's printing
/// macros raise. Every other panic goes to the hook installed before.
pub fn end_quietly_on_broken_pipe() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to std") && message.contains("Broken pipe") {
            std::process::exit(i32::from(EXIT_BROKEN_PIPE));
        }
        previous(info);
    }));
}

/// Whether `err` is a write to a closed pipe.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    // serde_json writing to a closed pipe, wrapped as `io::Error::other`.
    let json_broken = |io: &std::io::Error| {
        io.get_ref()
            .and_then(|inner| inner.downcast_ref::<serde_json::Error>())
            .and_then(serde_json::Error::io_error_kind)
            == Some(std::io::ErrorKind::BrokenPipe)
    };
    let broken =
        |io: &std::io::Error| io.kind() == std::io::ErrorKind::BrokenPipe || json_broken(io);
    err.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(broken)
            // Transparent: the store's I/O error is not a source of its own.
            || matches!(cause.downcast_ref::<StoreError>(), Some(StoreError::Io(io)) if broken(io))
    })
}

/// The exit code `err` ends the process with: the first cause in its chain
/// that has a kind decides.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if is_broken_pipe(err) {
        return EXIT_BROKEN_PIPE;
    }
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<AppError>() {
            match e {
                AppError::NotFound(_) => return EXIT_NOT_FOUND,
                AppError::Conflict { .. } => return EXIT_CONFLICT,
                AppError::BadInput { .. } => return EXIT_USAGE,
                AppError::Invalid(_) | AppError::Forbidden(_) => return EXIT_FAILURE,
                AppError::Unexpected(_) => {}
            }
        }
        if let Some(e) = cause.downcast_ref::<StoreError>() {
            match e {
                StoreError::NotFound { .. } => return EXIT_NOT_FOUND,
                StoreError::Conflict { .. } | StoreError::Stale(_) => return EXIT_CONFLICT,
                _ => return EXIT_FAILURE,
            }
        }
    }
    EXIT_FAILURE
}

/// Prints `err` as `error: …` (nothing for a closed pipe) and returns the
/// exit code it maps to.
pub fn report(err: &anyhow::Error) -> ExitCode {
    if !is_broken_pipe(err) {
        eprintln!("error: {err:#}");
    }
    ExitCode::from(exit_code(err))
}
